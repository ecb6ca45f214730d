"""Session 21, help: every command's --help examples run in order from an empty folder.

A newcomer copies the examples of ``workout CMD --help`` one after the other; each must
find the files it reads and finish in seconds (measured by hand on 2 cores, session 21:
``bench gap --quick`` about 18 CPU-s with its CP-SAT baseline, every other one at most
11 CPU-s).
Running all of them takes a few CPU-minutes (plan-portfolio, allocate and scenario on
generated books, the GAP benchmark), too long for the suite, so the order is checked
statically: every file an example reads is shipped in the repository or written by an
earlier example. ``tests/test_s20_riskux.py`` runs the examples of ``risk``,
``experiment`` and ``scenario`` for real.

The examples come from the command tree and parser of ``test_cli_consistency`` (one
definition of "the examples of a help").
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import click
from test_cli_consistency import COMMANDS, _command_lines, _parse

ROOT = Path(__file__).resolve().parents[1]

# The order a newcomer follows: data first (generate writes the book and its history that
# replan, allocate and risk read), then one account, the book, collections, scenarios.
ORDER = (
    "",
    "generate",
    "validate",
    "plan",
    "evaluate",
    "offer",
    "audit",
    "plan-portfolio",
    "replan",
    "allocate",
    "calendar",
    "experiment",
    "risk",
    "scenario",
    "bench",
    "serve",
)

# Parameters that name what a command writes (everything else of click.Path type is read).
WRITES = {"out", "out_dir", "out_path", "behaviour_out", "dialler_dir", "schedules_path", "png"}
# Commands whose --db is the audit trail they create (the others read the database).
CREATES_DB = {("workout", "offer"), ("workout", "serve")}

# Files that stand for the user's own data (no example can write them), each with why; the
# test fails when one is no longer read, so that the list stays short.
USER_DATA: dict[str, str] = {
    "bank.db": "the bank's database; README 'A bank's own book' makes one with sqlite3 .import",
    "out/history.csv": "the contact history of the user's dialler; no command writes one",
    "book_dataset": "the user's partitioned Parquet dataset; generate writes single files",
    "out/demo/portfolio.csv": "written by `make demo`, the README's first step",
}


def ordered_examples() -> list[tuple[tuple[str, ...], str]]:
    """Every ``workout ...`` example line of every --help, in ORDER, first occurrence only."""
    seen: set[str] = set()
    lines: list[tuple[tuple[str, ...], str]] = []
    paths = [p for p in COMMANDS if (p[1] if len(p) > 1 else "") in ORDER]
    assert len(paths) == len(COMMANDS), "a command is missing from ORDER"
    for path in sorted(paths, key=lambda p: (ORDER.index(p[1] if len(p) > 1 else ""), p)):
        command = COMMANDS[path]
        text = command.get_help(click.Context(command, info_name=" ".join(path)))
        for line in _command_lines(text.split("Example", 1)[1]):
            if line not in seen:
                seen.add(line)
                lines.append((path, line))
    return lines


def _norm(value: object) -> str:
    """A path as the example spells it, normalised (``./out/x/`` → ``out/x``)."""
    return str(PurePosixPath(str(value)))


def _db_file(url: object) -> str | None:
    """The file of an embedded-database URL (``sqlite:///bank.db`` → ``bank.db``)."""
    text = str(url)
    for scheme in ("sqlite:///", "duckdb:///"):
        if text.startswith(scheme):
            return _norm(text[len(scheme) :])
    return None


def reads_and_writes(line: str) -> tuple[set[str], set[str]]:
    """(files read, files written) by the example ``line``, from its parsed parameters."""
    ctx = _parse(line)
    path = tuple(ctx.command_path.split())
    reads: set[str] = set()
    writes: set[str] = set()
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if value is None or param.get_default(ctx) == value:
            continue  # defaults are shipped (scenarios/*.toml) or created on use
        values = value if isinstance(value, tuple) else (value,)
        if "--db" in param.opts or "--book-db" in param.opts:
            files = {f for f in map(_db_file, values) if f}
            (writes if path in CREATES_DB else reads).update(files)
        elif "--out-db" in param.opts:
            writes.update(f for f in map(_db_file, values) if f)
        elif isinstance(param.type, click.Path):
            (writes if param.name in WRITES else reads).update(map(_norm, values))
    if path == ("workout", "generate", "portfolio") and ctx.params.get("history_months"):
        out = PurePosixPath(str(ctx.params["out"]))
        writes.add(str(out.with_name(f"{out.stem}_history{out.suffix}")))
    return reads, writes


def _shipped(name: str) -> bool:
    """A file of the repository (``out/`` holds outputs, never shipped files)."""
    return not name.startswith("out/") and (ROOT / name).exists()


def test_every_example_reads_what_is_shipped_or_written_before():
    """In ORDER, every file an example reads is in the repository or written earlier."""
    written: set[str] = set()
    missing: list[str] = []
    placeholders: set[str] = set()
    examples = ordered_examples()
    assert len(examples) > 50  # not vacuous: every command's examples
    for _, line in examples:
        reads, writes = reads_and_writes(line)
        for name in sorted(reads):
            if name in written or _shipped(name):
                continue
            if name in USER_DATA:
                placeholders.add(name)
                continue
            missing.append(f"{line}\n    reads {name}: not shipped, not written before")
        written |= writes
    assert missing == [], "\n".join(missing)
    assert placeholders == set(USER_DATA), "USER_DATA lists a file no example reads"
