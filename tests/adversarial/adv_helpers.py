"""Helpers of the adversarial suite (issue 8; docs/reliability.md).

Every case runs the real CLI in-process through ``commands.common.run_cli`` (the same
function as the ``workout`` entry point, so exit codes match) and checks the contract
of SPEC §11 for bad input: exit code 2, one message naming the file and the row/key and
column, no Python traceback, and nothing written.

Malformed inputs are built here from a small valid base (three accounts) with one planted
problem each; big and binary files are generated in ``tmp_path`` at test time (sparse
where possible), never committed.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from base_accounts import BASE_HEADER, base_rows, typed_cell

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SCENARIOS = ROOT / "scenarios"
DATA = ROOT / "tests" / "data"

#: A 200 MB file: the size the issue asks the readers to refuse or stream quickly.
BIG_BYTES = 200 * 2**20

# Three valid accounts (SPEC §3 columns; the others take their defaults).
HEADER = [*BASE_HEADER, "other_debt", "vehicle_value", "region", "language", "hardship"]
GOOD_ROWS = base_rows(
    ["ADV001", "ADV002", "ADV003"],
    [
        ["500", "70000", "Guangdong", "yue", "false"],
        ["0", "0", "Beijing", "zh", "false"],
        ["0", "30000", "Sichuan", "zh", "true"],
    ],
)


@dataclass(frozen=True)
class Outcome:
    """What one CLI run returned."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def run_workout(*args: object) -> Outcome:
    """Run ``workout ARGS`` in-process via run_cli, capturing stdout and stderr."""
    import contextlib

    import cli
    from commands.common import run_cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_cli(cli.workout, [str(a) for a in args])
    return Outcome(code, out.getvalue(), err.getvalue())


def assert_rejected(
    result: Outcome,
    fragments: Iterable[str],
    *,
    absent: Sequence[Path] = (),
) -> None:
    """Exit 2, every fragment in the message, no traceback, and no output at ``absent``."""
    text = result.text
    assert result.code == 2, f"exit {result.code}, expected 2:\n{text}"
    assert "Traceback" not in text, text
    assert "internal error" not in text, text
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in:\n{text}"
    for path in absent:
        assert not path.exists(), f"{path} was written"
        leftovers = list(path.parent.glob(f".{path.name}.*")) if path.parent.exists() else []
        assert not leftovers, f"temporary files left: {leftovers}"


# ----------------------------------------------------------------------------------------
# Building malformed inputs
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A malformed input file: case name, file name, builder, what the message must say.

    ``build(path)`` returns the file's content, or writes the file itself and returns
    ``None`` (big files, workbooks).
    """

    name: str
    filename: str
    build: Callable[[Path], str | bytes | None]
    fragments: tuple[str, ...]


def build_case(case: Case, tmp_path: Path) -> Path:
    """Write the case's file under ``tmp_path/in``; its path."""
    path = tmp_path / "in" / case.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    content = case.build(path)
    if content is not None:
        write(path, content)
    return path


def assert_case_rejected(
    workout: Callable[..., Outcome],
    case: Case,
    tmp_path: Path,
    command: Callable[[Path, Path], Sequence[object]],
) -> None:
    """Write ``case``'s file, run ``workout(*command(path, out))`` with ``out`` =
    ``tmp_path/out``, and check the refusal: exit 2, the file's name and the case's
    fragments in the message, nothing written under ``out``."""
    path = build_case(case, tmp_path)
    out = tmp_path / "out"
    assert_rejected(workout(*command(path, out)), (path.name, *case.fragments), absent=[out])


def const(content: str | bytes) -> Callable[[Path], str | bytes]:
    """A builder that always gives ``content``."""
    return lambda path: content


def rows_with(row: int, column: str, value: str, rows: list[list[str]] | None = None):
    """The good rows with one cell replaced (row is the 1-based data row)."""
    out = [list(r) for r in (rows or GOOD_ROWS)]
    out[row - 1][HEADER.index(column)] = value
    return out


def csv_text(rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def garbage(n: int = 4096, seed: int = 8) -> bytes:
    """Deterministic binary garbage (with NUL bytes, invalid UTF-8)."""
    import numpy as np

    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def big_file(path: Path, head: bytes = b"", size: int = BIG_BYTES) -> Path:
    """A ``size``-byte file starting with ``head`` (sparse: the rest reads as NUL bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(head)
        fh.truncate(size)
    return path


def big_text_file(path: Path, head: str, filler: bytes = b"#", size: int = BIG_BYTES) -> Path:
    """A ``size``-byte *text* file: ``head`` then comment-like filler lines (written out)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = filler * 1023 + b"\n"
    block = line * 1024  # 1 MiB
    with open(path, "wb") as fh:
        fh.write(head.encode())
        written = len(head)
        while written + len(block) <= size:
            fh.write(block)
            written += len(block)
    return path


def big(head: bytes = b"") -> Callable[[Path], None]:
    """A case builder: a 200 MB :func:`big_file` starting with ``head`` (then NUL bytes)."""

    def build(path: Path) -> None:
        big_file(path, head)

    return build


def big_text(head: str) -> Callable[[Path], None]:
    """A case builder: a 200 MB :func:`big_text_file` starting with ``head``."""

    def build(path: Path) -> None:
        big_text_file(path, head)

    return build


def xlsx_with(path: Path, rows: list[list[object]], *, merge: str | None = None) -> Path:
    """An .xlsx workbook (sheet 'portfolio') with header + rows; optionally merged cells."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "portfolio"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def typed_rows() -> list[list[object]]:
    """GOOD_ROWS with numbers as numbers (for Excel and Parquet)."""
    out: list[list[object]] = []
    for row in GOOD_ROWS:
        text = ("account_id", "product", "tier", "region", "language")
        out.append([typed_cell(c, value, text) for c, value in zip(HEADER, row, strict=True)])
    return out


def write_uci_sample(path: Path, seed: int, n: int = 400) -> Path:
    """A random valid UCI-layout table (ID, X1..X23, Y) of ``n`` accounts as CSV."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = {"ID": np.arange(1, n + 1), "X1": rng.integers(1, 50, n) * 10000}
    for k in range(2, 24):
        frame[f"X{k}"] = rng.integers(0, 3, n) if k < 12 else rng.integers(0, 5000, n)
    frame["X5"] = rng.integers(21, 70, n)
    frame["Y"] = (rng.random(n) < 0.3).astype(int)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(frame).to_csv(path, index=False)
    return path


def quick_scenario(name: str, portfolio: str, *, model: bool = True) -> str:
    """A fast scenario TOML: ``portfolio`` is the body of its [portfolio] table; the shipped
    behaviour model (``model``), no restructuring, 2 paths of 3 months, seed 1."""
    model_table = f"[model]\npath = {str(SCENARIOS / 'behaviour.toml')!r}\n" if model else ""
    return (
        f'name = "{name}"\n[portfolio]\n{portfolio}{model_table}'
        "[plans]\nrestructure = false\n"
        "[simulation]\npaths = 2\nhorizon_months = 3\nseed = 1\n"
    )


def toml_text(mapping: dict[str, object]) -> str:
    import tomli_w

    return tomli_w.dumps(mapping)


def env_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}
