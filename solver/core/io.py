"""Reading and writing portfolios (SPEC §3, §11).

Readers
-------
:func:`read_portfolio` reads a table of accounts and validates **every** row with
:func:`solver.core.account.validate_portfolio`; all problems are reported together (at most
50 lines, then a count) in one :class:`~solver.errors.InputError`, each as
``FILE: row N (account_id X): column: what is wrong``. Nothing is returned (or written
by a caller) when any problem is found.

========================  =================================================================
format                    notes
========================  =================================================================
``.csv``                  UTF-8 (a BOM is fine), comma-separated, header on line 1. Parsed
                          with pyarrow (multi-threaded); "row N" is the Nth data row below
                          the header (= line N+1 when the file has no blank lines).
``.parquet`` / ``.pq``    Any column types; "row N" is the Nth row.
``.xlsx`` / ``.xlsm``     The sheet named ``portfolio``, else the first sheet; header in the
                          first non-empty row. "row N" is the Nth row below the header (=
                          sheet row N+1 for a header in row 1); cell problems also name the
                          cell (``cell D5``). Formulas and merged cells are errors: workout
                          reads stored values only, and a cached formula result may be
                          missing or stale.
``.xls``                  Not supported (Excel 97-2003): save as .xlsx or .csv.
``.json``                 One account (an object, or ``{"account": {...}}``) or a portfolio
                          (a list of objects, or ``{"accounts": [...]}``).
``.toml``                 One account (top-level keys or an ``[account]`` table) or a
                          portfolio (``[[accounts]]``).
========================  =================================================================

Unknown columns in a table (CSV, Parquet, Excel) are dropped with an
:class:`~solver.core.account.InputWarning`, because a bank's export usually carries extra
columns (names, branch codes); a column that looks like a misspelt schema column is an
error. Unknown keys in a hand-written TOML/JSON file are errors. A ``dpd_bucket`` column is
accepted and recomputed.

Income forecasts and inflows
----------------------------
The optional columns ``income_forecast`` (expected income of plan months 1..K) and
``inflows`` (one-off expected inflows) are text in CSV and Excel cells,
``3800;3800;4200`` and ``3:20000;12:5000``; lists in TOML/JSON
(``income_forecast = [3800, 3800]``, ``inflows = [{month = 3, amount = 20000}]`` or
``[[3, 20000]]``); in Parquet a ``list<double>`` (or ``list<struct<month, amount>>``)
column or the text form. A long table given with ``--forecast`` (:func:`read_forecast`:
``account_id, month, income, inflow``) sets them for the accounts it lists.

Writers
-------
:func:`write_table` (and :func:`write_workbook` for several sheets) write CSV, Parquet,
Excel or JSON (a list of records) by extension, always atomically (:mod:`solver.core.atomic`);
it is the one table writer of the command line (``--out FILE`` of every command, see
``commands/output.py``). ``income_forecast`` and ``inflows`` are written in their text form
in CSV and Excel (Parquet keeps the forecast as ``list<double>``, JSON as lists), so every
written portfolio reads back the same. :func:`write_json` writes any JSON document
atomically and :func:`csv_text` gives the CSV bytes of :func:`write_table` as text (for
``--format csv`` on stdout).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import tomllib
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from solver.core.account import (
    COLUMNS,
    MAX_FORECAST_MONTHS,
    MAX_PROBLEMS,
    MONEY_MAX,
    SPECS,
    Account,
    ProblemLog,
    TieringRules,
    normalize_column_name,
    plural,
    sequence_text,
    validate_portfolio,
    where,
)
from solver.core.atomic import atomic_path
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FORECAST_COLUMNS",
    "ForecastTable",
    "INPUT_FORMATS",
    "MAX_EXCEL_BYTES",
    "MAX_TEXT_BYTES",
    "OUTPUT_FORMATS",
    "ManyAccountsError",
    "check_input_file",
    "csv_text",
    "issue_records",
    "iter_portfolio",
    "json_safe",
    "output_format",
    "read_account",
    "read_forecast",
    "read_portfolio",
    "read_toml",
    "validate_forecast",
    "with_forecast",
    "write_json",
    "write_table",
    "write_workbook",
]

INPUT_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "xls",
    ".json": "json",
    ".toml": "toml",
}
OUTPUT_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".xlsx": "excel",
    ".json": "json",
}
#: Other spellings accepted for an output (not listed in messages).
_OUTPUT_ALIASES: dict[str, str] = {".pq": "parquet"}

_UTF8_BOM = b"\xef\xbb\xbf"
#: Schema kinds read from CSV as text (income_forecast "3800;3800", inflows "3:20000").
_TEXT_KINDS = ("id", "text", "category", "forecast", "inflows")
UnknownColumns = Literal["warn", "error", "ignore"]


def _tiering_rules(tiering: TieringRules | str | os.PathLike[str] | None) -> TieringRules | None:
    if tiering is None or isinstance(tiering, TieringRules):
        return tiering
    return TieringRules.from_toml(tiering)


def _input_format(path: Path) -> str:
    fmt = INPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(INPUT_FORMATS))
        raise InputError(f"{path}: unsupported file type {path.suffix or '(none)'!r} (use {known})")
    return fmt


#: Largest TOML/JSON file read (settings files, one account, small portfolios), in bytes;
#: override with ``WORKOUT_MAX_TEXT_MB``. Parsing TOML is slow (a 200 MB file takes
#: minutes), so bigger files are refused before parsing: use CSV or Parquet for portfolios.
MAX_TEXT_BYTES = 16 * 2**20
#: Largest Excel workbook read, in bytes (about 500,000 accounts); override with
#: ``WORKOUT_MAX_EXCEL_MB``. openpyxl holds every cell as a Python object.
MAX_EXCEL_BYTES = 64 * 2**20
_SNIFF_BYTES = 1 << 16
_MAGIC = {"excel": b"PK\x03\x04", "parquet": b"PAR1"}


def _max_bytes(fmt: str) -> int | None:
    env, default = {
        "toml": ("WORKOUT_MAX_TEXT_MB", MAX_TEXT_BYTES),
        "json": ("WORKOUT_MAX_TEXT_MB", MAX_TEXT_BYTES),
        "excel": ("WORKOUT_MAX_EXCEL_MB", MAX_EXCEL_BYTES),
    }.get(fmt, (None, None))
    if env is None:
        return None  # CSV and Parquet: no fixed limit (validated in chunks, see validate)
    try:
        return int(float(os.environ[env]) * 2**20)
    except (KeyError, ValueError):
        return default


@contextlib.contextmanager
def _read_errors(path: Path) -> Iterator[None]:
    """Turn a missing, directory or unreadable ``path`` into an :class:`InputError`."""
    try:
        yield
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None


def check_input_file(path: str | os.PathLike[str], fmt: str | None = None) -> int:
    """Cheap checks of an input file before it is parsed; return its size in bytes.

    Raises :class:`InputError` when the file is missing, a directory, unreadable, empty,
    larger than the limit of its format (TOML/JSON :data:`MAX_TEXT_BYTES`, Excel
    :data:`MAX_EXCEL_BYTES`), or when its first 64 KiB show it is not of its format
    (binary data in a text file, a text file named .xlsx or .parquet).
    """
    path = Path(path)
    try:
        with _read_errors(path):
            size = path.stat().st_size
            if path.is_dir():
                raise InputError(f"{path}: is a directory, expected a file")
            with open(path, "rb") as fh:
                head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if size == 0 or not head:
        raise InputError(f"{path}: file is empty (0 bytes)")
    limit = _max_bytes(fmt or "")
    if limit is not None and size > limit:
        raise InputError(
            f"{path}: file too large for a {fmt} input ({size / 2**20:,.0f} MB > "
            f"{limit / 2**20:,.0f} MB limit); use CSV or Parquet for large portfolios "
            "(see docs/reliability.md)"
        )
    magic = _MAGIC.get(fmt or "")
    if magic is not None:
        if not head.startswith(magic):
            kind = {"excel": "an .xlsx workbook (zip)", "parquet": "a Parquet file"}[fmt or ""]
            raise InputError(f"{path}: not {kind}: the file does not start like one")
    elif fmt in ("csv", "toml", "json", "text"):
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise InputError(
                f"{path}: the file is UTF-16 text (Excel 'Unicode Text'); save it as UTF-8"
            )
        nul = head.find(b"\x00")
        if nul >= 0:
            hint = " (an Excel or zip file?)" if head.startswith(b"PK") else ""
            what = "a text file" if fmt == "text" else f"{fmt.upper()} text"
            raise InputError(f"{path}: binary data, not {what}{hint}: NUL byte at offset {nul}")
    return size


def _open_bytes(path: Path, fmt: str | None = None) -> bytes:
    check_input_file(path, fmt)
    with _read_errors(path):
        data = path.read_bytes()
    if not data:
        raise InputError(f"{path}: file is empty (0 bytes)")
    return data


def read_toml(path: str | os.PathLike[str], what: str = "settings") -> dict[str, Any]:
    """Parse a TOML settings file (data only) with the input checks of :func:`check_input_file`.

    Parameters
    ----------
    what
        What the file is (``"policy"``, ``"scenario"``), used in messages.

    Raises
    ------
    InputError
        Missing, empty, too large, binary, not UTF-8 or not valid TOML; the message names
        the file and the line.
    """
    path = Path(path)
    data = _open_bytes(path, "toml")
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path}: line {line}: not valid UTF-8 (byte {exc.start}); the {what} file must "
            "be UTF-8 TOML text"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({what} file): {exc}") from None


# ----------------------------------------------------------------------------------------
# Public readers
# ----------------------------------------------------------------------------------------


def read_portfolio(
    path: str | os.PathLike[str],
    *,
    tiering: TieringRules | str | os.PathLike[str] | None = None,
    unknown_columns: UnknownColumns | None = None,
    sheet: str | None = None,
    forecast: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Read and validate a portfolio (CSV, Parquet, Excel, or TOML/JSON records).

    Parameters
    ----------
    path
        Input file; the format comes from the extension (see the module docstring).
    tiering
        Tiering rules (or a path to a tiering TOML) used where ``tier`` is blank.
    unknown_columns
        ``"warn"`` (default for tables), ``"error"`` (default for TOML/JSON) or
        ``"ignore"``.
    sheet
        Excel sheet name (default: ``portfolio`` if present, else the first sheet).
    forecast
        A long table of income forecasts and inflows (:func:`read_forecast`) merged into
        the portfolio; its problems and the portfolio's are reported together, and an
        account of the table that is not in the portfolio is an error.

    Returns
    -------
    pandas.DataFrame
        Exactly the SPEC §3 columns plus ``dpd_bucket``; dtypes: text columns ``str``,
        money and rates ``float64`` (a blank ``income_normal`` / ``credit_score`` is
        ``NaN``), ``remaining_term``/``dpd``/``recovery_months`` ``int64``, flags
        ``bool``, ``income_forecast`` / ``inflows`` ``object`` (a tuple or ``None``).
        ``attrs["warnings"]`` lists non-fatal problems.

    Raises
    ------
    InputError
        Naming the file, the row (account_id) and the column of every problem.
    """
    if forecast is not None:
        return with_forecast(
            lambda: read_portfolio(
                path, tiering=tiering, unknown_columns=unknown_columns, sheet=sheet
            ),
            forecast,
            book=str(path),
        )
    path = Path(path)
    rules = _tiering_rules(tiering)
    fmt = _input_format(path)
    source = str(path)
    if fmt == "xls":
        check_input_file(path)
        raise InputError(
            f"{source}: legacy Excel 97-2003 (.xls) files are not supported; "
            "save the sheet as .xlsx or as CSV UTF-8"
        )
    if fmt in ("json", "toml"):
        records, _ = _read_records(path, fmt)
        import pandas as pd

        raw = pd.DataFrame.from_records(records) if records else pd.DataFrame()
        raw = raw.astype(object)
        frame = validate_portfolio(
            raw,
            source,
            tiering=rules,
            unknown_columns=unknown_columns or "error",
            row_note="row N = the Nth account record",
        )
        return frame
    if fmt == "csv":
        raw, rows, log, skip, note = _read_csv(path, source)
    elif fmt == "parquet":
        raw, rows, log, skip, note = _read_parquet(path, source)
    else:
        raw, rows, log, skip, note = _read_excel(path, source, sheet)
    return validate_portfolio(
        raw,
        source,
        tiering=rules,
        unknown_columns=unknown_columns or "warn",
        row_numbers=rows,
        problems=log,
        skip=skip,
        row_note=note,
    )


class ManyAccountsError(InputError):
    """A file given as one account holds several (a portfolio given to ``plan``).

    Attributes
    ----------
    path
        The file.
    count
        How many accounts (rows or records) it holds.
    account_ids
        The first few account ids, for a hint.
    """

    def __init__(self, path: str, count: int, account_ids: list[str], unit: str = ""):
        self.path = path
        self.count = count
        self.account_ids = account_ids
        super().__init__(f"{path}: expected one account, found {count}{unit}")


def read_account(
    path: str | os.PathLike[str],
    *,
    tiering: TieringRules | str | os.PathLike[str] | None = None,
    forecast: str | os.PathLike[str] | None = None,
    account_id: str | None = None,
) -> Account:
    """Read one account from TOML or JSON (or a table with exactly one row).

    A TOML/JSON file holds the SPEC §3 fields as top-level keys (or in an ``[account]``
    table / ``"account"`` object); unknown keys are errors (a typo would otherwise be
    ignored silently). ``income_forecast = [3800, 3800, 4200]`` and
    ``inflows = [{month = 3, amount = 20000}]`` (or ``[[3, 20000]]``) are lists.

    ``forecast`` is a long table (:func:`read_forecast`) whose rows must all be about
    this account.

    With ``account_id`` the file may be a whole portfolio (any format :func:`read_portfolio`
    reads): it is read and validated as a book, ``forecast`` is checked against the whole
    book, and the account with that id is returned.

    Raises
    ------
    ManyAccountsError
        (an :class:`InputError`) when the file holds several accounts and no
        ``account_id`` was given.
    InputError
        For any other problem, when the file holds no account, or when no account has
        the id ``account_id``.
    """
    if account_id is not None:
        return _account_of_book(path, account_id, tiering=tiering, forecast=forecast)
    if forecast is not None:
        return with_forecast(lambda: read_account(path, tiering=tiering), forecast, book=str(path))
    path = Path(path)
    rules = _tiering_rules(tiering)
    fmt = _input_format(path)
    if fmt in ("json", "toml"):
        records, single = _read_records(path, fmt)
        if len(records) > 1:
            ids = [str(r.get("account_id", "")) for r in records[:5]]
            raise ManyAccountsError(str(path), len(records), [i for i in ids if i])
        if len(records) != 1:
            raise InputError(f"{path}: expected one account, found {len(records)}")
        return Account.from_mapping(
            records[0], source=str(path), row=None if single else 1, tiering=rules
        )
    frame = read_portfolio(path, tiering=rules)
    if len(frame) > 1:
        ids = frame["account_id"].astype(str).head(5).tolist()
        raise ManyAccountsError(str(path), len(frame), ids, unit=" rows")
    if len(frame) != 1:
        raise InputError(f"{path}: expected one account, found {len(frame)} rows")
    values = {name: frame[name].iloc[0] for name in COLUMNS}
    if frame.attrs.get("tiers_derived", 0):
        values["tier"] = ""
    return Account.from_mapping(values, source=str(path), row=1, tiering=rules)


def _account_of_book(
    path: str | os.PathLike[str],
    account_id: str,
    *,
    tiering: TieringRules | str | os.PathLike[str] | None,
    forecast: str | os.PathLike[str] | None,
) -> Account:
    """The account ``account_id`` of the portfolio ``path`` (validated as a whole book)."""
    import difflib

    rules = _tiering_rules(tiering)
    wanted = str(account_id).strip()
    frame = read_portfolio(path, tiering=rules, forecast=forecast)
    ids = frame["account_id"].astype(str)
    hits = np.flatnonzero(ids.to_numpy(dtype=object) == wanted)
    if hits.size == 0:
        close = difflib.get_close_matches(wanted, ids.tolist()[:100_000], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InputError(
            f"{path}: account_id: no account {wanted!r} among its "
            f"{plural(len(frame), 'account')}{hint}"
        )
    i = int(hits[0])
    values = {name: frame[name].iloc[i] for name in COLUMNS}
    # a book tells how many tiers were derived, not which: re-derive only when all were
    if len(frame) and frame.attrs.get("tiers_derived", 0) == len(frame):
        values["tier"] = ""
    return Account.from_mapping(values, source=str(path), row=i + 1, tiering=rules)


#: A problem line: ``FILE: LOCATION: COLUMN: message`` (the location and column optional).
_LOCATION = re.compile(r"^(?:row (?P<row>\d+)(?: \(account_id (?P<id>.*?)\))?|header)(?=: )")
_COLUMN = re.compile(r"^(?P<column>[A-Za-z_][A-Za-z0-9_.]*): ")


def issue_records(
    error: InputError | Iterable[str], sources: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The problems of an :class:`InputError` (or problem lines, e.g. warnings) as records
    (for machine-readable reports).

    Each problem line ``FILE: row N (account_id X): column: what is wrong`` becomes
    ``{"file", "row", "account_id", "column", "message"}`` (``None`` where a part is not
    given: a file-level problem has no row, a header problem has no row but a column).
    ``sources`` are the file names the lines may start with (longest first is tried);
    an error without problem lines gives one record of its headline. A line that counts
    the problems left out (``... and 12 more problems``) is kept as a record with only a
    message.
    """
    names = sorted({str(s) for s in sources if s}, key=len, reverse=True)
    if isinstance(error, InputError):
        lines = list(error.problems) or [str(error.args[0]) if error.args else str(error)]
    else:
        lines = [str(line) for line in error]
    records: list[dict[str, Any]] = []
    for line in lines:
        record: dict[str, Any] = {
            "file": None,
            "row": None,
            "account_id": None,
            "column": None,
            "message": line,
        }
        rest = line
        for name in names:
            if rest.startswith(name + ": "):
                record["file"] = name
                rest = rest[len(name) + 2 :]
                break
        else:
            if not names and not rest.startswith("... "):  # no names given: up to ": "
                head, sep, tail = rest.partition(": ")
                if sep and not head.startswith("--"):
                    record["file"], rest = head, tail
        location = _LOCATION.match(rest)
        if location is not None and record["file"] is not None:
            if location.group("row") is not None:
                record["row"] = int(location.group("row"))
                record["account_id"] = location.group("id")
            rest = rest[location.end() + 2 :]
            column = _COLUMN.match(rest)
            if column is not None:
                record["column"] = column.group("column")
                rest = rest[column.end() :]
        record["message"] = rest
        records.append(record)
    return records


#: About this many rows per chunk of :func:`iter_portfolio` (8 MB blocks of CSV text).
CHUNK_ROWS = 50_000
#: Files smaller than this are read whole by :func:`iter_portfolio` (one chunk).
STREAM_MIN_BYTES = 32 * 2**20


def iter_portfolio(
    path: str | os.PathLike[str],
    *,
    chunk_rows: int = CHUNK_ROWS,
    stream_min_bytes: int = STREAM_MIN_BYTES,
    tiering: TieringRules | str | os.PathLike[str] | None = None,
    unknown_columns: UnknownColumns | None = None,
    sheet: str | None = None,
    forecast: str | os.PathLike[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """Read and validate a portfolio in chunks of validated accounts (bounded memory).

    CSV and Parquet files of ``stream_min_bytes`` or more are streamed: each block of
    about ``chunk_rows`` rows is validated like :func:`read_portfolio` (same checks, same
    messages, rows numbered across the whole file) and yielded; account ids are checked
    for duplicates across blocks (128-bit hashes of the ids seen so far, 16 bytes per
    account). Smaller files, Excel, TOML and JSON are read whole and yielded as one chunk.

    Problems of every block are collected and raised together as one :class:`InputError`
    after the last block, exactly like :func:`read_portfolio`; once a problem is found no
    further chunk is yielded. A caller must therefore not write any output before the
    iterator is exhausted (``workout validate`` only accumulates a summary). A file whose
    blocks cannot be streamed cleanly (invalid UTF-8, ragged rows) is re-read whole for
    the detailed message.

    With ``forecast`` (:func:`read_forecast`) every chunk gets the table's forecasts; the
    table's problems are reported with the portfolio's, and its accounts missing from the
    portfolio are reported after the last chunk.
    """
    chunks = _iter_portfolio(
        path,
        chunk_rows=chunk_rows,
        stream_min_bytes=stream_min_bytes,
        tiering=tiering,
        unknown_columns=unknown_columns,
        sheet=sheet,
    )
    if forecast is None:
        yield from chunks
        return
    fmt = _input_format(Path(path))
    if fmt not in ("csv", "parquet") or check_input_file(path, fmt) < stream_min_bytes:
        # read whole: the table's accounts are checked against the portfolio with its rows
        yield with_forecast(lambda: next(chunks), forecast, book=str(path))
        return
    table: ForecastTable | None = None
    errors: list[InputError] = []
    try:
        table = read_forecast(forecast)
    except InputError as exc:
        errors.append(exc)
    found: set[str] = set()
    try:
        for chunk in chunks:
            if table is not None:  # else: read on, for the portfolio's own problems
                found.update(table.found_in(chunk["account_id"]))
                yield table.apply(chunk)
    except InputError as exc:
        errors.insert(0, exc)
    if errors:
        raise _combined(errors)
    assert table is not None
    table.check_accounts(found, book=str(path))


def _iter_portfolio(
    path: str | os.PathLike[str],
    *,
    chunk_rows: int,
    stream_min_bytes: int,
    tiering: TieringRules | str | os.PathLike[str] | None,
    unknown_columns: UnknownColumns | None,
    sheet: str | None,
) -> Iterator[pd.DataFrame]:
    path = Path(path)
    fmt = _input_format(path)
    size = check_input_file(path, None if fmt == "xls" else fmt)
    if fmt not in ("csv", "parquet") or size < stream_min_bytes:
        yield read_portfolio(path, tiering=tiering, unknown_columns=unknown_columns, sheet=sheet)
        return
    rules = _tiering_rules(tiering)
    source = str(path)
    batches = _csv_batches(path, source, chunk_rows) if fmt == "csv" else None
    if batches is None and fmt == "csv":
        # not streamable cleanly: the whole-file reader gives the exact messages
        yield read_portfolio(path, tiering=rules, unknown_columns=unknown_columns)
        return
    if fmt == "parquet":
        batches = _parquet_batches(path, source, chunk_rows)
        note = "row N = the Nth row of the table"
    else:
        note = "row N = the Nth data row below the header, i.e. line N+1 of the file"
    assert batches is not None  # csv returned above when not streamable
    yield from _validated_chunks(
        path, batches, rules, unknown_columns or "warn", note, tiering, unknown_columns
    )


def _csv_batches(path: Path, source: str, chunk_rows: int) -> Iterator[Any] | None:
    """Record batches of a CSV read as text, or ``None`` if the head is not clean UTF-8."""
    import pyarrow as pa
    import pyarrow.csv as pv

    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    cut = head.rfind(b"\n")
    try:
        head[: cut if cut > 0 else len(head)].decode("utf-8")
    except UnicodeDecodeError:
        return None
    start, header = _csv_header(head, source)

    ragged: list[int] = []

    def on_invalid_row(row: Any) -> str:
        ragged.append(1)  # (an exception raised here would be printed, not propagated)
        return "skip"

    def batches() -> Iterator[Any]:
        import pyarrow.compute as pc

        # every column as text (a bad cell cannot stop the reader); number and flag columns
        # are then cast by pyarrow (the parser the whole-file reader uses) and left as text,
        # for the validator to explain, only when a cell does not parse
        casts = {}
        for name in header:
            spec = SPECS.get(normalize_column_name(name))
            if spec is not None and spec.kind not in _TEXT_KINDS:
                casts[name] = pa.bool_() if spec.kind == "bool" else pa.float64()
        reader = pv.open_csv(
            path,
            read_options=pv.ReadOptions(
                use_threads=False, block_size=max(1 << 20, min(1 << 23, chunk_rows * 160))
            ),
            parse_options=pv.ParseOptions(invalid_row_handler=on_invalid_row),
            convert_options=pv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
            ),
        )
        for batch in reader:
            if ragged:
                raise _NotStreamable()
            table = pa.Table.from_batches([batch])
            for name, kind in casts.items():
                k = table.column_names.index(name)
                try:
                    table = table.set_column(k, name, pc.cast(table.column(k), kind))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    pass
            yield table
        if ragged:
            raise _NotStreamable()

    return batches()


def _parquet_batches(path: Path, source: str, chunk_rows: int) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{source}: not a readable Parquet file ({exc})") from None
    for batch in parquet.iter_batches(batch_size=chunk_rows):
        yield pa.Table.from_batches([batch])


class _NotStreamable(Exception):
    """A CSV block that the whole-file reader must explain (a ragged row)."""


def _validated_chunks(
    path: Path,
    batches: Iterator[Any],
    rules: TieringRules | None,
    unknown_columns: UnknownColumns,
    note: str,
    tiering: Any,
    unknown_arg: UnknownColumns | None,
) -> Iterator[pd.DataFrame]:
    import warnings

    import pandas as pd
    import pyarrow as pa

    from solver.core.account import MAX_PROBLEMS, InputWarning, plural

    source = str(path)
    offset = 0
    lines: list[str] = []
    total = 0
    seen: list[tuple[np.ndarray, np.ndarray]] = []  # per block: sorted id hashes, their rows
    warned: set[str] = set()
    try:
        for table in batches:
            raw = table.to_pandas()
            n = len(raw)
            rows = np.arange(offset + 1, offset + n + 1)
            log = ProblemLog(source, rows)
            hashes, blank = _id_hashes(raw)
            dup = np.zeros(n, dtype=bool)
            if hashes is not None and seen:
                dup, first = _seen_before(seen, hashes, blank)
                ids = raw.loc[:, _id_column(raw)].astype(str).str.strip()

                def duplicate(i: int, ids: Any = ids, first: Any = first) -> str:
                    return f"duplicate account_id {ids.iloc[i]!r} (first in row {first[i]})"

                log.add("account_id", dup, duplicate)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", InputWarning)
                try:
                    frame = validate_portfolio(
                        raw,
                        source,
                        tiering=rules,
                        unknown_columns=unknown_columns,
                        row_numbers=rows,
                        problems=log,
                        row_note=note,
                    )
                except InputError:
                    frame = None
            for w in caught:
                if str(w.message) not in warned:
                    warned.add(str(w.message))
                    warnings.warn(str(w.message), w.category, stacklevel=3)
            if frame is None:
                total += log.count
                for line in log.lines(MAX_PROBLEMS):
                    if line.startswith("... and ") or line in lines:
                        continue
                    if len(lines) < MAX_PROBLEMS:
                        lines.append(line)
                if log.file_level:
                    break  # a header problem repeats in every block: stop reading
            if hashes is not None:
                # remember first occurrences only (a repeat within the block is reported by
                # validate_portfolio, a repeat of an earlier block above)
                again = pd.MultiIndex.from_arrays([hashes[:, 0], hashes[:, 1]]).duplicated()
                order = np.flatnonzero(~blank & ~dup & ~np.asarray(again))
                order = order[np.argsort(hashes[order, 0], kind="stable")]
                seen.append((hashes[order], rows[order]))
                # merge equal-sized runs (binary-counter style): O(log n) runs to search
                while len(seen) > 1 and len(seen[-1][1]) >= len(seen[-2][1]):
                    (h_a, r_a), (h_b, r_b) = seen.pop(-2), seen.pop()
                    merged_h, merged_r = np.concatenate([h_a, h_b]), np.concatenate([r_a, r_b])
                    by_hash = np.argsort(merged_h[:, 0], kind="stable")
                    seen.append((merged_h[by_hash], merged_r[by_hash]))
            offset += n
            if frame is not None and total == 0:
                yield frame
    except (_NotStreamable, pa.ArrowInvalid) as exc:
        # the whole-file reader explains it (row, column); if it finds nothing, say what failed
        read_portfolio(path, tiering=tiering, unknown_columns=unknown_arg)
        what = "a row has the wrong number of fields" if isinstance(exc, _NotStreamable) else exc
        raise InputError(f"{source}: cannot read as CSV ({what})") from None
    if total:
        if total > len(lines):
            lines.append(f"... and {plural(total - len(lines), 'more problem')}")
        head = f"{source}: {plural(total, 'problem')} found; nothing was read ({note})"
        raise InputError(head, lines)
    if offset == 0:
        raise InputError(f"{source}: header only, no data rows")


def _id_column(raw: pd.DataFrame) -> Any:
    for column in raw.columns:
        if normalize_column_name(column) == "account_id":
            return column
    return None


def _id_hashes(raw: pd.DataFrame) -> tuple[np.ndarray | None, np.ndarray]:
    """Two independent 64-bit hashes per account id (blank ids flagged)."""
    import pandas as pd

    column = _id_column(raw)
    if column is None:
        return None, np.zeros(len(raw), dtype=bool)
    ids = raw[column].astype(str).str.strip().to_numpy(dtype=object)
    blank = pd.isna(raw[column]).to_numpy() | (ids == "")
    h1 = pd.util.hash_array(ids, hash_key="workout-ids-0001")
    h2 = pd.util.hash_array(ids, hash_key="workout-ids-0002")
    return np.stack([h1, h2], axis=1), blank


def _seen_before(
    seen: list[tuple[np.ndarray, np.ndarray]], hashes: np.ndarray, blank: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose id was seen in an earlier block, and the row it was first seen in."""
    dup = np.zeros(len(hashes), dtype=bool)
    first = np.zeros(len(hashes), dtype=np.int64)
    for known, known_rows in seen:  # ids are unique across runs: at most one match
        left = np.searchsorted(known[:, 0], hashes[:, 0], side="left")
        right = np.searchsorted(known[:, 0], hashes[:, 0], side="right")
        for i in np.flatnonzero((right > left) & ~blank & ~dup):  # almost always 1 candidate
            for k in range(left[i], right[i]):
                if known[k, 1] == hashes[i, 1]:
                    dup[i] = True
                    first[i] = known_rows[k]
                    break
    return dup, first


# ----------------------------------------------------------------------------------------
# CSV
# ----------------------------------------------------------------------------------------


def _split_line(text: str) -> list[str]:
    """Fields of one CSV line; a line the csv module rejects (a stray CR) splits on commas."""
    try:
        return next(csv.reader([text]), [])
    except csv.Error:
        return text.replace("\r", " ").split(",")


def _check_utf8(data: bytes, source: str) -> None:
    """Raise InputError naming the line, row, account and column of every non-UTF-8 byte."""
    try:
        data.decode("utf-8")
        return
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    header = _split_line(lines[0].decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r"))
    names = [normalize_column_name(h) for h in header]
    id_index = names.index("account_id") if "account_id" in names else None
    bad: list[str] = []
    total = 0
    for number, line in enumerate(lines, start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            total += 1
            if len(bad) >= 10:
                continue
            byte = line[exc.start : exc.start + 1].hex()
            fields = _split_line(line.decode("utf-8", "replace").rstrip("\r"))
            field = line[: exc.start].count(b",")  # the field holding the bad byte
            column = names[field] if field < len(names) else f"field {field + 1}"
            ident = fields[id_index] if id_index is not None and id_index < len(fields) else None
            location = "header" if number == 1 else where(number - 1, ident)
            bad.append(
                f"{source}: {location}: {column}: byte 0x{byte} is not valid UTF-8 "
                f"(line {number}, byte {exc.start + 1})"
            )
    if total > len(bad):
        bad.append(f"... and {total - len(bad)} more line(s) with invalid UTF-8")
    hint = ""
    try:
        data.decode("gb18030")
        hint = (
            "; it looks GBK/GB18030-encoded (Chinese Excel's default): save it as "
            "'CSV UTF-8' or convert it with `iconv -f GB18030 -t UTF-8`"
        )
    except UnicodeDecodeError:
        pass
    raise InputError(f"{source}: the file is not UTF-8 text{hint}", bad)


def _sniff_delimiter(header: str) -> str | None:
    for delimiter, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
        if delimiter in header:
            return name
    return None


def _csv_header(data: bytes, source: str) -> tuple[int, list[str]]:
    """Offset after a BOM and the header fields (first non-blank line) of CSV ``data``."""
    start = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    # the header is the first non-blank line (scan only the leading blanks: no copies)
    leading = re.match(rb"[ \t\r\n]*", data[start : start + 4096])
    header_start = (leading.end() if leading else 0) + start
    if header_start >= len(data):
        raise InputError(f"{source}: the file holds only blank lines (no header, no data)")
    header_end = data.find(b"\n", header_start)
    header_end = len(data) if header_end < 0 else header_end
    first_line = data[header_start:header_end].decode("utf-8", "replace").rstrip("\r")
    header = _split_line(first_line)
    if len(header) == 1:
        style = _sniff_delimiter(first_line)
        if style is not None:
            shown = first_line if len(first_line) <= 60 else first_line[:57] + "..."
            raise InputError(
                f"{source}: header: expected comma-separated columns; found one column "
                f"{shown!r} (the file looks {style}-separated: save it as comma-separated CSV)"
            )
    return start, header


def _read_csv(path: Path, source: str, numbers: Collection[str] | None = None):
    """Raw columns of a CSV; ``numbers`` are the (normalised) names of number columns
    (default: the number columns of a portfolio)."""
    import pyarrow as pa
    import pyarrow.csv as pv

    data = _open_bytes(path, "csv")
    _check_utf8(data, source)
    start, header = _csv_header(data, source)
    text_columns = {
        name: pa.string()
        for name in header
        if SPECS.get(normalize_column_name(name)) is not None
        and SPECS[normalize_column_name(name)].kind in _TEXT_KINDS
    }
    # number columns are parsed as floats, never inferred: pyarrow's integer inference
    # accepts hexadecimal (``0x10`` read as 16), its float parser refuses it, and a cell
    # that does not parse sends the whole file to the all-text path below, where the
    # validator names it "not a number" (issue 15)
    if numbers is None:
        numbers = {n for n, spec in SPECS.items() if spec.kind not in (*_TEXT_KINDS, "bool")}
    number_columns = {
        name: pa.float64() for name in header if normalize_column_name(name) in numbers
    }
    invalid: list[tuple[int | None, int, int, str]] = []

    def on_invalid_row(row: Any) -> str:
        invalid.append((row.number, row.expected_columns, row.actual_columns, row.text))
        return "skip"

    def parse(use_threads: bool, all_text: bool) -> Any:
        invalid.clear()
        types = (
            {name: pa.string() for name in header} if all_text else text_columns | number_columns
        )
        return pv.read_csv(
            pa.BufferReader(pa.py_buffer(data).slice(start)),
            read_options=pv.ReadOptions(use_threads=use_threads, block_size=1 << 22),
            parse_options=pv.ParseOptions(invalid_row_handler=on_invalid_row),
            convert_options=pv.ConvertOptions(
                column_types=types,
                strings_can_be_null=True,
                true_values=["true", "True", "TRUE"],
                false_values=["false", "False", "FALSE"],
            ),
        )

    try:
        try:
            table = parse(True, False)
        except pa.ArrowInvalid as exc:
            if "conversion error" not in str(exc).lower():
                raise
            table = parse(True, True)  # type inference failed late: read text, coerce later
        if invalid and any(r[0] is None for r in invalid):
            table = parse(False, False)  # single-threaded parsing reports line numbers
    except pa.ArrowInvalid as exc:
        raise InputError(f"{source}: cannot parse as CSV: {exc}") from None
    raw = table.to_pandas()
    n_kept = len(raw)
    skipped_rows = sorted((r[0] or 0) - 1 for r in invalid)
    if n_kept == 0 and not invalid:
        raise InputError(
            f"{source}: header only, no data rows (columns: {', '.join(header[:6])}...)"
        )
    rows = np.arange(1, n_kept + len(invalid) + 1)
    if invalid:
        rows = np.setdiff1d(rows, np.asarray(skipped_rows), assume_unique=False)[:n_kept]
    log = ProblemLog(source, rows)
    for number, expected, actual, text in invalid:
        shown = text if len(text) <= 50 else text[:47] + "..."
        log.file(
            f"row {(number or 1) - 1}: expected {expected} comma-separated values, found "
            f"{actual} (line {number}: {shown!r}); quote values that contain commas"
        )
    note = "row N = the Nth data row below the header, i.e. line N+1 of the file"
    return raw, rows, log, {}, note


# ----------------------------------------------------------------------------------------
# Parquet
# ----------------------------------------------------------------------------------------


def _read_parquet(path: Path, source: str):
    import pyarrow as pa
    import pyarrow.parquet as pq

    check_input_file(path, "parquet")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{source}: not a readable Parquet file ({exc})") from None
    try:
        raw = table.to_pandas()
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise InputError(
            f"{source}: unsupported column types in the Parquet file ({exc})"
        ) from None
    raw = raw.reset_index(drop=True)
    if len(raw) == 0:
        raise InputError(f"{source}: header only, no data rows (the table has 0 rows)")
    rows = np.arange(1, len(raw) + 1)
    return raw, rows, ProblemLog(source, rows), {}, "row N = the Nth row of the table"


# ----------------------------------------------------------------------------------------
# Excel
# ----------------------------------------------------------------------------------------

_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')


_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PKG_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _merged_ranges(path: Path, title: str) -> list[tuple[str, int, int, int, int]]:
    """Merged ranges of sheet ``title`` as (ref, min_col, min_row, max_col, max_row).

    A read-only openpyxl worksheet does not list its merged cells (only through private
    attributes), so they are read from the workbook package itself (the OOXML parts
    ``xl/workbook.xml``, its relationships and the sheet's XML) with :mod:`zipfile` and
    :mod:`xml.etree.ElementTree` (the sheet's merge list by a pattern: sheets are large).
    """
    from xml.etree import ElementTree

    from openpyxl.utils.cell import range_boundaries

    with zipfile.ZipFile(path) as package:
        names = set(package.namelist())
        book = ElementTree.fromstring(package.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
        rel_id = next(
            (e.get(_REL_ID) for e in book.iter(f"{_MAIN_NS}sheet") if e.get("name") == title),
            None,
        )
        target = next(
            (e.get("Target") for e in rels.iter(f"{_PKG_NS}Relationship") if e.get("Id") == rel_id),
            None,
        )
        if rel_id is None or target is None:
            return []
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if part not in names:
            return []
        refs = [m.decode() for m in _MERGE_RE.findall(package.read(part))]
    out = []
    for ref in refs:
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        out.append((ref, min_col, min_row, max_col, max_row))
    return out


def _read_excel(
    path: Path,
    source: str,
    sheet: str | None,
    default_sheet: str = "portfolio",
    known: Collection[str] = SPECS,
):
    import pandas as pd
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    check_input_file(path, "excel")
    try:
        workbook = load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(f"{source}: not a readable .xlsx workbook ({exc})") from None
    except Exception as exc:  # openpyxl raises its own InvalidFileException and others
        raise InputError(f"{source}: not a readable .xlsx workbook ({exc})") from None
    try:
        if sheet is not None:
            if sheet not in workbook.sheetnames:
                raise InputError(
                    f"{source}: no sheet named {sheet!r} (sheets: {', '.join(workbook.sheetnames)})"
                )
            worksheet = workbook[sheet]
        elif default_sheet in workbook.sheetnames:
            worksheet = workbook[default_sheet]
        else:
            worksheet = workbook.worksheets[0]
        sheet_rows = [tuple(r) for r in worksheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    title = worksheet.title
    merged = _merged_ranges(path, title)
    where_sheet = f"sheet {title!r}"

    def is_empty(row: tuple) -> bool:
        return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)

    header_index = next((i for i, r in enumerate(sheet_rows) if not is_empty(r)), None)
    if header_index is None:
        raise InputError(f"{source}: {where_sheet} is empty (no header, no data)")
    header_row = header_index + 1  # 1-based sheet row of the header
    header_cells = list(sheet_rows[header_index])
    while header_cells and header_cells[-1] is None:
        header_cells.pop()
    width = len(header_cells)
    log_lines: list[str] = []
    names: list[str] = []
    for j, cell in enumerate(header_cells):
        letter = get_column_letter(j + 1)
        if isinstance(cell, str) and cell.startswith("="):
            log_lines.append(f"header: cell {letter}{header_row} holds a formula {cell!r}")
        names.append(str(cell) if cell is not None else f"column_{letter}")
    body = sheet_rows[header_index + 1 :]
    # sheet positions of the data rows; completely empty rows are dropped
    keep = [i for i, r in enumerate(body) if not is_empty(r[:width])]
    if not keep:
        raise InputError(f"{source}: {where_sheet}: header only, no data rows")
    data = [tuple(body[i][:width]) + (None,) * max(0, width - len(body[i])) for i in keep]
    raw = pd.DataFrame(data, columns=names, dtype=object)
    rows = np.asarray(keep, dtype=np.int64) + 1  # row N = Nth row below the header
    log = ProblemLog(source, rows)
    for line in log_lines:
        log.file(line)
    position = {int(r): k for k, r in enumerate(rows)}
    skip: dict[str, np.ndarray] = {}
    normalized = [normalize_column_name(c) for c in names]

    def mark(column: str, k: int) -> None:
        skip.setdefault(column, np.zeros(len(rows), dtype=bool))[k] = True

    # formulas: workout reads stored values only, a formula's cached result may be absent
    for j, column in enumerate(normalized):
        if column not in known:
            continue
        values = raw.iloc[:, j].to_numpy(dtype=object)
        is_formula = np.fromiter(
            (isinstance(v, str) and v.startswith("=") for v in values),
            dtype=bool,
            count=len(values),
        )
        letter = get_column_letter(j + 1)
        for k in np.flatnonzero(is_formula):
            mark(column, int(k))

        def describe(i: int, values=values, letter=letter) -> str:
            formula = values[i] if len(values[i]) <= 40 else values[i][:37] + "..."
            return (
                f"cell {letter}{int(rows[i]) + header_row} holds a formula {formula!r}; "
                "workout reads values only: replace formulas with values (Paste Special > Values)"
            )

        log.add(column, is_formula, describe)
    # merged cells: only the top-left cell holds the value, the others read as blank
    for ref, min_col, min_row, max_col, max_row in merged:
        if min_row <= header_row:
            log.file(f"header: cells {ref} of {where_sheet} are merged; unmerge them")
            continue
        first_data = min_row - header_row
        first_k = position.get(first_data)
        if first_k is None:
            continue
        column = normalized[min_col - 1] if min_col - 1 < len(normalized) else f"column {min_col}"
        for row_number in range(first_data, max_row - header_row + 1):
            kk = position.get(row_number)
            if kk is None:
                continue
            for j in range(min_col - 1, min(max_col, len(normalized))):
                mark(normalized[j], kk)
        log.add(column, np.asarray([first_k]), _merged_message(ref))
    note = f"row N = the Nth row below the header of {where_sheet}, i.e. sheet row N+{header_row}"
    return raw, rows, log, skip, note


def _merged_message(ref: str) -> Callable[[int], str]:
    return lambda i: f"cells {ref} are merged; unmerge them and fill every cell"


# ----------------------------------------------------------------------------------------
# Income forecasts (``--forecast FILE``): a long table account_id, month, income, inflow
# ----------------------------------------------------------------------------------------

#: Columns of a forecast table (``income`` and/or ``inflow`` besides the first two).
FORECAST_COLUMNS: tuple[str, ...] = ("account_id", "month", "income", "inflow")
#: Other accepted headers (the portfolio's column names).
_FORECAST_ALIASES = {"income_forecast": "income", "inflows": "inflow"}


@dataclass(frozen=True)
class ForecastTable:
    """Income forecasts and inflows per account, read from a long table (``--forecast``).

    Attributes
    ----------
    source
        The file, for messages.
    income_forecast
        account_id -> expected income of months 1..K (the table's ``income`` column).
    inflows
        account_id -> ``(month, amount)`` pairs (the table's ``inflow`` column).
    rows
        account_id -> the row number of its first row (in table order), for messages.

    Notes
    -----
    Merging (:meth:`apply`) sets, for each account of the table, ``income_forecast`` when
    the table gives income for it and ``inflows`` when it gives inflows; what the
    table does not give is kept from the portfolio. Like ``--set``, the table wins over
    the portfolio file.
    """

    source: str
    income_forecast: Mapping[str, tuple[float, ...]]
    inflows: Mapping[str, tuple[tuple[int, float], ...]]
    rows: Mapping[str, int]

    @property
    def account_ids(self) -> list[str]:
        """Accounts of the table, in order of their first row."""
        return list(self.rows)

    def found_in(self, account_ids: Any) -> list[str]:
        """The table's accounts among ``account_ids``."""
        import pandas as pd

        ids = pd.Index(pd.Series(account_ids, dtype=object).astype(str))
        return [str(a) for a in ids[ids.isin(list(self.rows))]]

    def check_accounts(self, account_ids: Iterable[str], book: str) -> None:
        """Raise :class:`InputError` for each account of the table not in ``account_ids``."""
        known = set(account_ids)
        unknown = [a for a in self.rows if a not in known]
        if not unknown:
            return
        lines = [
            f"{self.source}: {where(self.rows[a], a)}: account_id: not an account of {book}"
            for a in unknown[:MAX_PROBLEMS]
        ]
        if len(unknown) > MAX_PROBLEMS:
            lines.append(f"... and {plural(len(unknown) - MAX_PROBLEMS, 'more account')}")
        raise InputError(
            f"{self.source}: {plural(len(unknown), 'account')} of the forecast not in "
            f"{book}; nothing was read",
            lines,
        )

    def apply(self, frame: pd.DataFrame, *, book: str | None = None) -> pd.DataFrame:
        """A validated portfolio with the table's forecasts and inflows set.

        With ``book`` (the portfolio's name) an account of the table that is not in
        ``frame`` is an error; without it (a chunk of a portfolio) it is ignored.
        """
        if book is not None:
            self.check_accounts(frame["account_id"].astype(str), book)
        out = frame.copy(deep=False)
        ids = frame["account_id"].astype(str).to_numpy(dtype=object)
        n = len(frame)
        for column, mapping in (
            ("income_forecast", self.income_forecast),
            ("inflows", self.inflows),
        ):
            if not mapping:
                continue
            hits = np.flatnonzero(np.fromiter((a in mapping for a in ids), dtype=bool, count=n))
            if hits.size == 0:
                continue
            values = (
                out[column].to_numpy(dtype=object).copy()
                if column in out.columns
                else np.full(n, None, dtype=object)
            )
            for i in hits:
                values[i] = mapping[ids[i]]
            out[column] = values
        return out

    def apply_to_account(self, account: Account, *, book: str) -> Account:
        """The account with the table's forecast and inflows (every row must be about it)."""
        self.check_accounts([account.account_id], book)
        changes: dict[str, Any] = {}
        if account.account_id in self.income_forecast:
            changes["income_forecast"] = self.income_forecast[account.account_id]
        if account.account_id in self.inflows:
            changes["inflows"] = self.inflows[account.account_id]
        return account.replace(**changes) if changes else account


def read_forecast(
    path: str | os.PathLike[str],
    *,
    sheet: str | None = None,
    accounts: Iterable[str] | None = None,
    book: str = "the portfolio",
) -> ForecastTable:
    """Read and validate a long table of income forecasts and inflows.

    One row per account and month: ``account_id``, ``month`` (1, 2, ...), and ``income``
    (expected monthly net income) and/or ``inflow`` (a one-off expected inflow); either
    may be blank on a row, not both. CSV, Parquet or Excel (sheet ``forecast`` if present,
    else the first). Headers are normalised like a portfolio's; ``income_forecast`` and
    ``inflows`` are accepted for ``income`` and ``inflow``.

    Rules: months are whole numbers in [1, 600]; an account's income months run 1..K
    without gaps; an (account_id, month) pair appears once; amounts are finite and
    >= 0; unknown columns are errors (a misspelt ``income`` would drop the forecast).
    With ``accounts`` (the ids of the portfolio ``book``), an account of the table that is
    not among them is an error too, reported with the others (at its first row).

    Raises
    ------
    InputError
        Listing every problem as ``FILE: row N (account_id X): column: what is wrong``.
    """
    path = Path(path)
    source = str(path)
    fmt = _input_format(path)
    if fmt == "csv":
        numbers = {"month", "income", "inflow", *_FORECAST_ALIASES}
        raw, rows, log, skip, note = _read_csv(path, source, numbers=numbers)
    elif fmt == "parquet":
        raw, rows, log, skip, note = _read_parquet(path, source)
    elif fmt == "excel":
        raw, rows, log, skip, note = _read_excel(
            path, source, sheet, default_sheet="forecast", known=FORECAST_COLUMNS
        )
    else:
        raise InputError(
            f"{source}: a forecast table must be .csv, .parquet or .xlsx "
            f"(columns {', '.join(FORECAST_COLUMNS)})"
        )
    return validate_forecast(
        raw,
        source,
        row_numbers=rows,
        problems=log,
        skip=skip,
        row_note=note,
        accounts=accounts,
        book=book,
    )


def validate_forecast(
    frame: pd.DataFrame,
    source: str = "<forecast>",
    *,
    row_numbers: np.ndarray | None = None,
    problems: ProblemLog | None = None,
    skip: Mapping[str, np.ndarray] | None = None,
    row_note: str = "row N = the Nth data row, counting from 1",
    accounts: Iterable[str] | None = None,
    book: str = "the portfolio",
) -> ForecastTable:
    """Validate a raw forecast table (see :func:`read_forecast`); all problems together."""
    import pandas as pd

    from solver.core.account import _fmt_num, _fmt_raw, _parse_numeric, _strip_text, _text_blank

    n = len(frame)
    rows = np.arange(1, n + 1) if row_numbers is None else np.asarray(row_numbers)
    log = problems if problems is not None else ProblemLog(source, rows)
    log.row_numbers = rows
    skip = dict(skip or {})

    # -- header -------------------------------------------------------------------------
    names = [normalize_column_name(c) for c in frame.columns]
    names = [_FORECAST_ALIASES.get(c, c) for c in names]
    seen: dict[str, int] = {}
    for pos, name in enumerate(names, start=1):
        if name in seen:
            log.file(f"header: {name}: column appears twice (columns {seen[name]} and {pos})")
        seen.setdefault(name, pos)
    frame = frame.copy(deep=False)
    frame.columns = names
    frame = frame.loc[:, ~pd.Index(names).duplicated()].reset_index(drop=True)
    present = set(frame.columns)
    for column in frame.columns:
        if column not in FORECAST_COLUMNS:
            log.file(
                f"header: {column}: unknown column (a forecast table has the columns "
                f"account_id, month, income and/or inflow)"
            )
    for column in ("account_id", "month"):
        if column not in present:
            log.file(f"header: {column}: required column is missing")
    if not present & {"income", "inflow"}:
        log.file("header: give an income column, an inflow column or both")
    log.raise_if_any(row_note)

    def skipped(column: str) -> np.ndarray:
        mask = skip.get(column)
        return np.zeros(n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)

    # -- cells --------------------------------------------------------------------------
    ids = _strip_text(frame["account_id"])
    blank_id = _text_blank(ids) | skipped("account_id")
    ids = ids.mask(blank_id, "")
    log.account_ids = ids
    log.add("account_id", blank_id & ~skipped("account_id"), lambda i: "missing value (required)")
    ok = ~blank_id

    months, bad, blank = _parse_numeric(frame["month"])
    bad &= ~skipped("month")
    log.add("month", bad, lambda i: f"not a number: {_fmt_raw(frame['month'].iloc[i])}")
    log.add("month", blank & ~skipped("month"), lambda i: "missing value (required)")
    finite = np.isfinite(months)
    with np.errstate(invalid="ignore"):
        whole = finite & (np.floor(months) == months)
        outside = whole & ((months < 1) | (months > MAX_FORECAST_MONTHS))
    fraction = finite & ~whole
    infinite = np.isinf(months)
    log.add(
        "month", fraction | infinite, lambda i: f"must be a whole number, got {_fmt_num(months[i])}"
    )
    log.add(
        "month",
        outside,
        lambda i: f"must be in [1, {MAX_FORECAST_MONTHS}], got {_fmt_num(months[i])}",
    )
    ok &= whole & ~outside & ~skipped("month")

    amounts: dict[str, np.ndarray] = {}
    given = np.zeros(n, dtype=bool)
    for column, personal in (("income", "income"), ("inflow", "inflows")):
        if column not in present:
            continue
        values, bad, blank = _parse_numeric(frame[column])
        bad &= ~skipped(column)
        blank |= skipped(column)
        problem = _check_amounts(log, column, personal, frame[column], values, bad)
        ok &= ~(problem | skipped(column))
        amounts[column] = np.where(blank, np.nan, values)
        given |= ~blank & ~bad
    neither = ~given & ok
    first_amount = "income" if "income" in present else "inflow"
    log.add(first_amount, neither, lambda i: "neither income nor inflow given for this month")
    ok &= ~neither

    # -- per account: known to the portfolio, one row per month, income months 1..K -------
    codes, uniques = pd.factorize(ids)
    if accounts is not None:
        known = pd.Index(uniques).isin(pd.Index(list(accounts), dtype=object).astype(str))
        first_of_code = np.full(len(uniques), n, dtype=np.int64)
        np.minimum.at(first_of_code, codes[codes >= 0], np.flatnonzero(codes >= 0))
        unknown_first = first_of_code[~known & (np.asarray(uniques) != "")]
        log.add("account_id", unknown_first, lambda i: f"not an account of {book}")
        ok &= known[codes] | (codes < 0)
    month_int = np.where(ok, months, 0).astype(np.int64)
    key = codes.astype(np.int64) * (MAX_FORECAST_MONTHS + 1) + month_int
    first_of_key: dict[int, int] = {}
    dup = np.zeros(n, dtype=bool)
    first_row = np.zeros(n, dtype=np.int64)
    order = np.flatnonzero(ok)
    keys_ok = key[order]
    sorted_pos = order[np.argsort(keys_ok, kind="stable")]
    sorted_keys = key[sorted_pos]
    repeat = np.r_[False, sorted_keys[1:] == sorted_keys[:-1]]
    if repeat.any():
        for p, k, again in zip(sorted_pos, sorted_keys, repeat, strict=True):
            if not again:
                first_of_key[int(k)] = int(p)
            else:
                dup[p] = True
                first_row[p] = rows[first_of_key[int(k)]]
    log.add(
        "month",
        dup,
        lambda i: (
            f"month {int(months[i])} appears twice for this account (first in row {first_row[i]})"
        ),
    )
    ok &= ~dup

    income = amounts.get("income")
    income_rows = ok & ~np.isnan(income) if income is not None else np.zeros(n, dtype=bool)
    gap_account: dict[int, tuple[int, int, int]] = {}  # code -> (first row pos, K, missing)
    if income_rows.any():
        k = len(uniques)
        count = np.bincount(codes[income_rows], minlength=k)
        top = np.zeros(k, dtype=np.int64)
        np.maximum.at(top, codes[income_rows], month_int[income_rows])
        for code in np.flatnonzero((count > 0) & (count < top)):
            positions = np.flatnonzero(income_rows & (codes == code))
            have = set(month_int[positions].tolist())
            missing = next(m for m in range(1, int(top[code]) + 1) if m not in have)
            gap_account[int(code)] = (int(positions[0]), int(top[code]), missing)
    gap_rows = np.asarray(sorted(v[0] for v in gap_account.values()), dtype=np.int64)
    gap_of_row = {v[0]: v for v in gap_account.values()}
    log.add(
        "income",
        gap_rows,
        lambda i: (
            f"income months must run 1..{gap_of_row[i][1]} without gaps; month "
            f"{gap_of_row[i][2]} is missing"
        ),
    )
    log.raise_if_any(row_note)

    # -- the per-account tuples ----------------------------------------------------------
    first_pos = np.full(len(uniques), n, dtype=np.int64)
    np.minimum.at(first_pos, codes, np.arange(n))
    by_first = np.argsort(first_pos, kind="stable")
    rows_of = {str(uniques[c]): int(rows[first_pos[c]]) for c in by_first}

    def grouped(column: str, mask: np.ndarray) -> dict[str, list[tuple[int, float]]]:
        values = amounts[column]
        pos = np.flatnonzero(mask)
        pos = pos[np.lexsort((month_int[pos], codes[pos]))]
        out: dict[str, list[tuple[int, float]]] = {}
        for p in pos:
            out.setdefault(str(uniques[codes[p]]), []).append((int(month_int[p]), float(values[p])))
        return out

    forecasts = (
        {a: tuple(v for _, v in pairs) for a, pairs in grouped("income", income_rows).items()}
        if income is not None
        else {}
    )
    inflow = amounts.get("inflow")
    inflows = (
        {a: tuple(pairs) for a, pairs in grouped("inflow", ok & ~np.isnan(inflow)).items()}
        if inflow is not None
        else {}
    )
    return ForecastTable(source=source, income_forecast=forecasts, inflows=inflows, rows=rows_of)


def _check_amounts(
    log: ProblemLog,
    column: str,
    personal: str,
    series: pd.Series,
    values: np.ndarray,
    bad: np.ndarray,
) -> np.ndarray:
    """Log the bad amounts of a forecast table's column; return the rows with a problem.

    ``personal`` is the portfolio field whose privacy rule applies (values withheld).
    """
    from solver.core.account import _fmt_num, _fmt_raw, _shown

    def not_a_number(i: int) -> str:
        return f"not a number: {_shown(personal, _fmt_raw(series.iloc[i]))}"

    def infinite_value(i: int) -> str:
        return f"infinite value ({_fmt_num(values[i])})"

    def negative_amount(i: int) -> str:
        return f"negative amount, must be >= 0, got {_shown(personal, _fmt_num(values[i]))}"

    def too_large(i: int) -> str:
        return (
            f"implausibly large (> {MONEY_MAX:.0e} CNY; amounts are in yuan, not fen), "
            f"got {_shown(personal, _fmt_num(values[i]))}"
        )

    with np.errstate(invalid="ignore"):
        infinite = np.isinf(values)
        negative = np.isfinite(values) & (values < 0)
        huge = np.isfinite(values) & (values > MONEY_MAX)
    for mask, describe in (
        (bad, not_a_number),
        (infinite, infinite_value),
        (negative, negative_amount),
        (huge, too_large),
    ):
        log.add(column, mask, describe)
    return bad | infinite | negative | huge


def with_forecast(read: Callable[[], Any], forecast: str | os.PathLike[str], book: str) -> Any:
    """``read()`` (a validated portfolio or an :class:`Account`) with the forecast table
    ``forecast`` merged (:meth:`ForecastTable.apply`); the problems of both files are
    reported together. ``book`` names the portfolio in messages."""
    errors: list[InputError] = []
    data = None
    try:
        data = read()
    except InputError as exc:
        errors.append(exc)
    if isinstance(data, Account):
        ids: Any = [data.account_id]
    else:
        ids = None if data is None else data["account_id"].astype(str)
    try:
        table = read_forecast(forecast, accounts=ids, book=book)
    except InputError as exc:
        errors.append(exc)
    if errors:
        raise _combined(errors)
    if isinstance(data, Account):
        return table.apply_to_account(data, book=book)
    return table.apply(data)


def _combined(errors: list[InputError]) -> InputError:
    """One :class:`InputError` with the problems of several files (portfolio, forecast)."""
    if len(errors) == 1:
        return errors[0]
    head = "; ".join(str(e.args[0]) for e in errors)
    lines = [line for e in errors for line in (e.problems or [str(e.args[0])])]
    return InputError(head, lines)


# ----------------------------------------------------------------------------------------
# TOML / JSON records
# ----------------------------------------------------------------------------------------


def _read_records(path: Path, fmt: str) -> tuple[list[Mapping[str, Any]], bool]:
    """Account records of a TOML/JSON file and whether it was a single account."""
    source = str(path)
    data = _open_bytes(path, fmt)
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{source}: line {line}: not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise InputError(f"{source}: the file holds only whitespace")
    if fmt == "toml":
        try:
            doc: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{source}: not valid TOML: {exc}") from None
    else:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{source}: line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}"
            ) from None
    if isinstance(doc, dict) and set(doc) == {"accounts"}:
        doc = doc["accounts"]
    elif isinstance(doc, dict) and set(doc) == {"account"}:
        doc = doc["account"]
    if isinstance(doc, dict):
        return [doc], True
    if isinstance(doc, list):
        bad = [i + 1 for i, r in enumerate(doc) if not isinstance(r, dict)]
        if bad:
            raise InputError(
                f"{source}: row {bad[0]}: expected an object of account fields, got "
                f"{type(doc[bad[0] - 1]).__name__}"
            )
        if not doc:
            raise InputError(f"{source}: no accounts (empty list)")
        return doc, False
    raise InputError(f"{source}: expected an account object or a list of them")


# ----------------------------------------------------------------------------------------
# Writers
# ----------------------------------------------------------------------------------------


def output_format(path: str | os.PathLike[str], option: str | None = None) -> str:
    """The output format (``csv``, ``parquet``, ``excel``, ``json``) of a path, or raise
    InputError.

    Call it before doing any work so that a bad ``--out`` fails fast and writes nothing;
    ``option`` (``"--out"``) names the command-line option in the message.
    """
    suffix = Path(path).suffix.lower()
    fmt = OUTPUT_FORMATS.get(suffix) or _OUTPUT_ALIASES.get(suffix)
    if fmt is None:
        where = f"{option} {path}" if option else str(path)
        raise InputError(
            f"{where}: unsupported output file type {suffix or '(none)'!r} "
            f"(use {', '.join(OUTPUT_FORMATS)})"
        )
    return fmt


def write_table(
    frame: pd.DataFrame, path: str | os.PathLike[str], *, sheet_name: str = "portfolio"
) -> Path:
    """Write a table as CSV, Parquet, Excel or JSON (by extension), atomically.

    CSV is UTF-8 with ``\\n`` line ends and no index; Parquet keeps dtypes (no index, no
    ``attrs``, so the same frame gives the same bytes); Excel gets a bold frozen header,
    filters, column widths and number formats (money ``#,##0.00``, rates as percentages,
    whole numbers), and for a portfolio a second sheet ``columns`` describing the schema;
    JSON is a list of records, one per line (missing values ``null``).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    fmt = output_format(path)
    path = Path(path)
    if fmt == "excel":
        return write_workbook({sheet_name: frame}, path)
    if fmt == "json":
        return write_json(table_records(frame), path)
    # Parquet keeps income_forecast as list<double>; everything else is written as text
    clean = _sequences_as_text(frame, ("inflows",) if fmt == "parquet" else _SEQUENCE_COLUMNS)
    clean.attrs = {}
    with atomic_path(path) as tmp:
        if fmt == "csv":
            _write_csv(clean, tmp)
        else:
            clean.to_parquet(tmp, index=False, engine="pyarrow")
    return path


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: numpy scalars and arrays as Python, NaN and infinities
    as ``None``, tuples as lists, timestamps in ISO form, mapping keys as text, a
    DataFrame as its records."""
    import math

    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if type(value).__name__ == "DataFrame":
        return table_records(value)
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    if value is not None and not isinstance(value, str | int | float | bool):
        import pandas as pd

        return None if pd.isna(value) else str(value)
    return value


def table_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as JSON-safe records (missing values ``None``)."""
    import pandas as pd

    columns = [str(c) for c in frame.columns]
    values = frame.astype(object).where(pd.notna(frame), None).to_numpy().tolist()
    return [dict(zip(columns, json_safe(row), strict=True)) for row in values]


def json_text(payload: Any) -> str:
    """The JSON text of ``payload`` as written by :func:`write_json` (a list of records
    has one record per line)."""
    data = json_safe(payload)
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        lines = [json.dumps(r, ensure_ascii=False, allow_nan=False) for r in data]
        return "[\n" + ",\n".join(lines) + "\n]\n"
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(payload: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``payload`` (made JSON-safe by :func:`json_safe`) as UTF-8 JSON, atomically."""
    from solver.core.atomic import atomic_open

    path = Path(path)
    text = json_text(payload)
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return path


def csv_text(frame: pd.DataFrame) -> str:
    """The CSV that :func:`write_table` writes for ``frame``, as text (``--format csv``)."""
    import io

    import pyarrow as pa
    import pyarrow.csv as pv

    clean = _sequences_as_text(frame, _SEQUENCE_COLUMNS)
    clean.attrs = {}
    # the options of _write_csv, into memory (no file is written here)
    try:
        table = pa.Table.from_pandas(clean, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        return clean.to_csv(index=False, lineterminator="\n")
    sink = io.BytesIO()
    pv.write_csv(table, sink, pv.WriteOptions(quoting_style="needed"))
    return sink.getvalue().decode("utf-8")


#: Columns holding a tuple per account (SPEC §3 extension: income forecast and inflows).
_SEQUENCE_COLUMNS = ("income_forecast", "inflows")


def _sequences_as_text(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """A shallow copy with the tuple columns among ``columns`` in their text form
    (``3800;3800;4200``, ``3:20000;12:5000``), which every reader accepts."""
    clean = frame.copy(deep=False)
    for column in columns:
        if column in clean.columns and clean[column].dtype == object:
            clean[column] = [
                sequence_text(v) if isinstance(v, tuple | list | np.ndarray) else v
                for v in clean[column].to_numpy()
            ]
    return clean


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 CSV: pyarrow's writer (about 10x faster than pandas; text is quoted, numbers
    use the shortest round-trip form, booleans are true/false); pandas for odd dtypes.
    :func:`csv_text` writes the same CSV into memory."""
    import pyarrow as pa
    import pyarrow.csv as pv

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        return
    pv.write_csv(table, path, pv.WriteOptions(quoting_style="needed"))


def _excel_number_format(column: str, dtype: Any) -> str | None:
    import pandas as pd

    spec = SPECS.get(column)
    if spec is not None and spec.kind == "money":
        return "#,##0.00"
    if column in ("annual_rate", "income_cv") or column.endswith("_rate"):
        return "0.00%"
    if pd.api.types.is_integer_dtype(dtype):
        return "0"
    if pd.api.types.is_float_dtype(dtype):
        return "#,##0.00##"
    return None


def write_workbook(tables: Mapping[str, pd.DataFrame], path: str | os.PathLike[str]) -> Path:
    """Write several tables to one .xlsx workbook (one sheet each), atomically."""
    import datetime as dt

    import pandas as pd
    import xlsxwriter

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise InputError(f"{path}: a workbook must be an .xlsx file")
    with atomic_path(path) as tmp:
        workbook = xlsxwriter.Workbook(
            str(tmp),
            {
                "constant_memory": True,
                "strings_to_formulas": False,  # text is text, never a formula
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "nan_inf_to_errors": True,
            },
        )
        # fixed creation time so that the same data gives the same bytes
        workbook.set_properties({"created": dt.datetime(2000, 1, 1), "title": path.stem})
        header_format = workbook.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
        )
        formats: dict[str, Any] = {}
        schema_used = False
        for sheet_name, frame in tables.items():
            worksheet = workbook.add_worksheet(str(sheet_name)[:31])
            columns = [str(c) for c in frame.columns]
            schema_used |= any(c in SPECS for c in columns)
            for j, (column, dtype) in enumerate(zip(columns, frame.dtypes, strict=True)):
                number_format = _excel_number_format(column, dtype)
                cell_format = None
                if number_format is not None:
                    if number_format not in formats:
                        formats[number_format] = workbook.add_format({"num_format": number_format})
                    cell_format = formats[number_format]
                width = min(max(len(column) + 2, 12), 40)
                worksheet.set_column(j, j, width, cell_format)
                worksheet.write_string(0, j, column, header_format)
            worksheet.freeze_panes(1, 0)
            if columns:
                worksheet.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)
            frame = _sequences_as_text(frame, _SEQUENCE_COLUMNS)
            values = frame.astype(object).where(pd.notna(frame), None).to_numpy().tolist()
            for i, row in enumerate(values, start=1):
                worksheet.write_row(i, 0, row)
        if schema_used and "columns" not in tables:
            worksheet = workbook.add_worksheet("columns")
            for j, title in enumerate(("column", "meaning", "default", "required")):
                worksheet.write_string(0, j, title, header_format)
            worksheet.set_column(0, 0, 20)
            worksheet.set_column(1, 1, 60)
            worksheet.set_column(2, 3, 14)
            for i, spec in enumerate(SPECS.values(), start=1):
                default = spec.default_from or ("" if spec.default is None else str(spec.default))
                worksheet.write_row(
                    i, 0, [spec.name, spec.description, default, "yes" if spec.required else ""]
                )
        workbook.close()
    return path
