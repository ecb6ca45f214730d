"""Writing tables and JSON (SPEC §11): :func:`write_table`, :func:`write_workbook`,
:func:`write_json`.

:func:`write_table` (and :func:`write_workbook` for several sheets) write CSV, Parquet,
Excel or JSON (a list of records) by extension, always atomically (:mod:`solver.core.atomic`);
it is the one table writer of the command line (``--out FILE`` of every command, see
``commands/output.py``). ``income_forecast`` and ``inflows`` are written in their text form
in CSV and Excel (Parquet keeps the forecast as ``list<double>``, JSON as lists), so every
written portfolio reads back the same. :func:`write_json` writes any JSON document
atomically and :func:`csv_text` gives the CSV bytes of :func:`write_table` as text (for
``--format csv`` on stdout).

Decision (session 24): a CSV *file* starts with the UTF-8 byte-order mark (what Excel
writes as "CSV UTF-8"). Our CSV outputs hold ``×``, ``→``, ``–`` and Chinese text, and the
people they are for open them in Excel, which reads a CSV without the mark in the
machine's code page (GBK on a Chinese Windows): mojibake. Every reader of ours skips the
mark (:mod:`solver.core.formats`, :mod:`solver.core.streaming`), as do pandas, pyarrow,
DuckDB and sqlite3's ``.import``; Python's :mod:`csv` module needs
``encoding="utf-8-sig"``. ``--format csv`` on stdout (:func:`csv_text`) has no mark: it
goes to pipes and programs, and a mark in the middle of concatenated output is a
stray character. ``encoding=`` (``generate portfolio --encoding``) writes that encoding
without a mark (``--encoding UTF-8`` for plain UTF-8).

Decision (session 24 review): the mark can be turned off, ``WORKOUT_CSV_BOM=0``
(:data:`CSV_BOM_ENV`, read by :func:`csv_bom`), for people whose tools keep it in the first
column's name (R's ``read.csv``, ``cut``/``awk``, ETL loaders); a value that is neither on
nor off is exit 2, not a guess. Files for a machine, not for Excel, pass ``bom=False``
(``calendar --dialler-dir``'s team files, loaded by a dialler).
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.core.atomic import atomic_open, atomic_path
from solver.core.cleaning import sequence_text
from solver.core.files import UTF8_BOM
from solver.core.output_columns import LIST_COLUMNS, columns_sheet, number_format
from solver.core.schema import SEQUENCE_FIELDS
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CSV_BOM_ENV",
    "OUTPUT_FORMATS",
    "csv_bom",
    "csv_text",
    "json_safe",
    "json_text",
    "output_format",
    "table_records",
    "write_json",
    "write_table",
    "write_workbook",
]

OUTPUT_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".xlsx": "excel",
    ".json": "json",
}
#: Other spellings accepted for an output (not listed in messages).
_OUTPUT_ALIASES: dict[str, str] = {".pq": "parquet"}

#: The environment variable that turns the CSV files' byte-order mark off (``0``) or on.
CSV_BOM_ENV = "WORKOUT_CSV_BOM"
_OFF = frozenset({"0", "false", "no", "off"})
_ON = frozenset({"", "1", "true", "yes", "on"})


def csv_bom() -> bool:
    """Whether a CSV file starts with the byte-order mark: yes unless ``WORKOUT_CSV_BOM``
    is ``0`` (``false``, ``no``, ``off``); any other value than those and ``1`` (``true``,
    ``yes``, ``on``) is an :class:`InputError` naming the variable."""
    value = os.environ.get(CSV_BOM_ENV, "1").strip().lower()
    if value in _OFF:
        return False
    if value in _ON:
        return True
    raise InputError(
        f"{CSV_BOM_ENV}={os.environ[CSV_BOM_ENV]!r}: use 1 (CSV files start with a UTF-8 "
        "byte-order mark, for Excel) or 0 (no mark)"
    )


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
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    sheet_name: str = "portfolio",
    encoding: str | None = None,
    bom: bool | None = None,
) -> Path:
    """Write a table as CSV, Parquet, Excel or JSON (by extension), atomically.

    CSV is UTF-8 with a byte-order mark (for Excel: the module docstring says why),
    ``\\n`` line ends and no index; Parquet keeps dtypes (no index, no
    ``attrs``, so the same frame gives the same bytes); Excel gets a bold frozen header,
    filters, column widths and number formats (money ``#,##0.00``, rates as percentages,
    whole numbers), and a last sheet ``columns`` describing the columns written;
    JSON is a list of records, one per line (missing values ``null``).
    ``encoding`` (CSV only) writes the text in that encoding and without the mark, e.g.
    ``GB18030`` as a Chinese bank's export would be, or ``UTF-8`` for plain UTF-8.
    ``bom`` (CSV only): the mark or not; ``None`` lets :func:`csv_bom` (the environment)
    decide.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    fmt = output_format(path)
    path = Path(path)
    if fmt == "csv" and encoding is None and bom is None:
        bom = csv_bom()  # before any file is opened: a bad value writes nothing
    if fmt == "excel":
        return write_workbook({sheet_name: frame}, path)
    if fmt == "json":
        return write_json(table_records(frame), path)
    # Parquet keeps income_forecast as list<double>; everything else is written as text
    clean = _sequences_as_text(frame, ("inflows",) if fmt == "parquet" else SEQUENCE_FIELDS)
    clean.attrs = {}
    with atomic_path(path) as tmp:
        if fmt == "csv":
            _write_csv(clean, tmp, bom=encoding is None and bool(bom))
            if encoding is not None and codecs.lookup(encoding).name != "utf-8":
                tmp.write_bytes(tmp.read_bytes().decode("utf-8").encode(encoding))
        else:
            clean.to_parquet(tmp, index=False, engine="pyarrow")
    return path


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: numpy scalars and arrays as Python, NaN and infinities
    as ``None``, tuples as lists, timestamps in ISO form, mapping keys as text, a
    DataFrame as its records."""
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
    path = Path(path)
    text = json_text(payload)
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return path


def csv_text(frame: pd.DataFrame) -> str:
    """The CSV that :func:`write_table` writes for ``frame``, as text (``--format csv``),
    without the file's byte-order mark (the module docstring says why)."""
    import pyarrow as pa
    import pyarrow.csv as pv

    clean = _sequences_as_text(frame, SEQUENCE_FIELDS)
    clean.attrs = {}
    # the options of _write_csv, into memory (no file is written here)
    try:
        table = pa.Table.from_pandas(clean, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        return clean.to_csv(index=False, lineterminator="\n")
    sink = io.BytesIO()
    pv.write_csv(table, sink, pv.WriteOptions(quoting_style="needed"))
    return sink.getvalue().decode("utf-8")


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


def _write_csv(frame: pd.DataFrame, path: Path, *, bom: bool) -> None:
    """UTF-8 CSV, after a byte-order mark when ``bom``: pyarrow's writer (about 10x faster
    than pandas; text is quoted, numbers use the shortest round-trip form, booleans are
    true/false); pandas for odd dtypes. :func:`csv_text` writes the same CSV into memory."""
    import pyarrow as pa
    import pyarrow.csv as pv

    with open(path, "wb") as file:  # the caller's temporary file (atomic_path)
        if bom:
            file.write(UTF8_BOM)
        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError):
            frame.to_csv(file, index=False, encoding="utf-8", lineterminator="\n")
            return
        pv.write_csv(table, file, pv.WriteOptions(quoting_style="needed"))


def _excel_number_format(column: str, dtype: Any) -> str | None:
    import pandas as pd

    described = number_format(column)  # the unit of solver.core.output_columns (money too)
    if described is not None:
        return described
    if column.endswith("_rate"):  # a rate no unit describes
        return "0.00%"
    if column == "due_date" or pd.api.types.is_datetime64_any_dtype(dtype):
        return "yyyy-mm-dd"  # a schedule's dates (SPEC §2), without a time
    if pd.api.types.is_integer_dtype(dtype):
        return "0"
    if pd.api.types.is_float_dtype(dtype):
        return "#,##0.00##"
    return None


def _list_cell(value: Any) -> Any:
    """A cell of a list column (:data:`~solver.core.output_columns.LIST_COLUMNS`): one
    number as a number (``"2171.00"`` -> 2171.0, ``"1"`` -> 1), a list as its text."""
    if not isinstance(value, str):
        return value
    try:
        number = float(value.replace(",", ""))
    except ValueError:
        return value
    if not math.isfinite(number):
        return value
    return int(number) if number.is_integer() and "." not in value else number


def write_workbook(tables: Mapping[str, pd.DataFrame], path: str | os.PathLike[str]) -> Path:
    """Write several tables to one .xlsx workbook (one sheet each), atomically.

    Every sheet gets a bold frozen header, filters and number formats; unless ``tables``
    has its own, a last sheet ``columns`` describes every column written (its meaning and
    unit: :func:`solver.core.output_columns.columns_sheet`), when any is described.
    """
    import pandas as pd
    import xlsxwriter

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise InputError(f"{path}: a workbook must be an .xlsx file")
    if "columns" not in tables:
        described = columns_sheet(tables)
        if described is not None:
            tables = {**tables, "columns": described}
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
        for sheet_name, frame in tables.items():
            worksheet = workbook.add_worksheet(str(sheet_name)[:31])
            columns = [str(c) for c in frame.columns]
            for j, (column, dtype) in enumerate(zip(columns, frame.dtypes, strict=True)):
                shown = _excel_number_format(column, dtype)
                cell_format = None
                if shown is not None:
                    if shown not in formats:
                        formats[shown] = workbook.add_format({"num_format": shown})
                    cell_format = formats[shown]
                width = _MEANING_WIDTH if column == "meaning" else min(max(len(column) + 2, 12), 40)
                worksheet.set_column(j, j, width, cell_format)
                worksheet.write_string(0, j, column, header_format)
            worksheet.freeze_panes(1, 0)
            if columns:
                worksheet.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)
            frame = _sequences_as_text(frame, SEQUENCE_FIELDS)
            lists = [j for j, c in enumerate(columns) if c in LIST_COLUMNS]
            values = frame.astype(object).where(pd.notna(frame), None).to_numpy().tolist()
            for i, row in enumerate(values, start=1):
                for j in lists:
                    row[j] = _list_cell(row[j])
                worksheet.write_row(i, 0, row)
        workbook.close()
    return path


#: Width of the columns sheet's ``meaning`` column (characters).
_MEANING_WIDTH = 60
