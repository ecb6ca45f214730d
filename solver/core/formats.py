"""Raw tables from the input formats: CSV, Parquet and TOML/JSON records (Excel, with
its merged cells and formulas, in :mod:`solver.core.excel_table`).

Each reader returns a :class:`RawTable`: the cells as read (before any validation), the
row number to print for each row, a :class:`~solver.core.problems.ProblemLog` holding the
problems found while reading (a ragged CSV row, an Excel formula or merged cell), the
cells already reported (not checked again) and how rows are counted. The validators
(:mod:`solver.core.validation`, :mod:`solver.core.forecast`) take it from there.

pandas and pyarrow are imported inside the readers: ``import solver`` and the
command line's start-up must not load them.
"""

from __future__ import annotations

import csv
import json
import re
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from solver.core.files import UTF8_BOM, check_input_file, open_bytes, to_utf8, utf8_text
from solver.core.messages import where
from solver.core.problems import ProblemLog
from solver.core.schema import SPECS, TEXT_KINDS, normalize_column_name
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "RawTable",
    "csv_header",
    "read_csv_table",
    "read_parquet_table",
    "read_records",
]


class RawTable(NamedTuple):
    """A table as read, before validation."""

    #: The cells (column names as in the file).
    raw: pd.DataFrame
    #: The row number to print for each row.
    rows: np.ndarray
    #: Problems found while reading.
    log: ProblemLog
    #: Column -> mask of cells already reported (not checked again).
    skip: dict[str, np.ndarray]
    #: How rows are counted, for the error headline.
    note: str


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
    try:
        data.decode("gb18030")
        shown = "gb18030"  # name the columns and ids as the bank wrote them
    except UnicodeDecodeError:
        shown = "utf-8"
    lines = data.split(b"\n")
    header = _split_line(lines[0].decode(shown, "replace").lstrip("\ufeff").rstrip("\r"))
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
            fields = _split_line(line.decode(shown, "replace").rstrip("\r"))
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
    hint = "; give its encoding with --encoding (e.g. GB18030)"
    if shown == "gb18030":
        hint = (
            "; it looks GBK/GB18030-encoded (Chinese Excel's default): read it with "
            "--encoding GB18030, or save it as 'CSV UTF-8'"
        )
    raise InputError(f"{source}: the file is not UTF-8 text{hint}", bad)


def _sniff_delimiter(header: str) -> str | None:
    for delimiter, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
        if delimiter in header:
            return name
    return None


def csv_header(data: bytes, source: str) -> tuple[int, list[str]]:
    """Offset after a BOM and the header fields (first non-blank line) of CSV ``data``."""
    start = len(UTF8_BOM) if data.startswith(UTF8_BOM) else 0
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


def read_csv_table(
    path: Path,
    source: str,
    numbers: Collection[str] | None = None,
    encoding: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> RawTable:
    """Raw columns of a CSV; ``numbers`` are the (normalised) names of number columns
    (default: the number columns of a portfolio); ``encoding`` the text's encoding
    (:func:`~solver.core.files.to_utf8`; default UTF-8, a BOM auto-detected); ``aliases``
    the file's column -> schema column of a layout (:mod:`solver.core.layouts`), so that
    mapped columns are parsed by their schema kind (an id stays text)."""
    import pyarrow as pa
    import pyarrow.csv as pv

    data = to_utf8(open_bytes(path, "csv"), source, encoding)
    _check_utf8(data, source)
    start, header = csv_header(data, source)
    aliases = aliases or {}

    def canon(name: str) -> str:
        return aliases.get(name.strip()) or normalize_column_name(name)

    text_columns = {
        name: pa.string()
        for name in header
        if SPECS.get(canon(name)) is not None and SPECS[canon(name)].kind in TEXT_KINDS
    }
    # number columns are parsed as floats, never inferred: pyarrow's integer inference
    # accepts hexadecimal (``0x10`` read as 16), its float parser refuses it, and a cell
    # that does not parse sends the whole file to the all-text path below, where the
    # validator names it "not a number" (issue 15)
    if numbers is None:
        numbers = {n for n, spec in SPECS.items() if spec.kind not in (*TEXT_KINDS, "bool")}
    number_columns = {name: pa.float64() for name in header if canon(name) in numbers}
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
    return RawTable(raw, rows, log, {}, note)


# ----------------------------------------------------------------------------------------
# Parquet
# ----------------------------------------------------------------------------------------


def read_parquet_table(path: Path, source: str) -> RawTable:
    """Raw columns of a Parquet file (any column types)."""
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
    return RawTable(raw, rows, ProblemLog(source, rows), {}, "row N = the Nth row of the table")


# ----------------------------------------------------------------------------------------
# TOML / JSON records
# ----------------------------------------------------------------------------------------


def read_records(path: Path, fmt: str) -> tuple[list[Mapping[str, Any]], bool]:
    """Account records of a TOML/JSON file and whether it was a single account."""
    source = str(path)
    text = utf8_text(open_bytes(path, fmt), source)
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
