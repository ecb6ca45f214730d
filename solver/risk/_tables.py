"""Reading and writing the tables of the risk module (CSV, Parquet, Excel), atomically.

The portfolio reader in :mod:`solver.core.readers` validates the SPEC §3 account schema; the risk
module reads other shapes (status panels, behaviour histories, outcome tables), so it
only needs a format-by-extension reader here and validates each shape itself.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd

from solver.core.atomic import atomic_path
from solver.core.files import check_input_file
from solver.core.sources import BookSource
from solver.errors import InputError

TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".xlsx", ".xls")
MAX_PROBLEMS = 50

#: Where a risk table comes from: a file, or a database table or query (``--db``).
TableSource = str | os.PathLike[str] | BookSource


def source_label(path: TableSource) -> str:
    """How messages name a table: the file's path, or ``TABLE@URL`` (password masked)."""
    return str(path) if isinstance(path, BookSource) else str(Path(path))


def read_table(path: TableSource) -> pd.DataFrame:
    """Read a CSV, Parquet or Excel table chosen by the file extension, or a database
    table or query (a :class:`~solver.core.sources.BookSource` with a URL).

    A database is read by the books' reader (:func:`solver.core.sql.read_sql_table`, in
    chunks): its row N is the Nth row in the query's order, as a file's is its Nth row
    after the header, so the validators' messages mean the same for both.

    Raises
    ------
    InputError
        When the file is missing, has an unknown extension or cannot be parsed; for a
        database, every error of :mod:`solver.core.sql` (a missing table is named).
    """
    if isinstance(path, BookSource):
        if path.url is not None:
            from solver.core.sql import read_sql_table

            return read_sql_table(path.url, path.table, path.query).raw
        assert path.path is not None
        path = path.path
    source = Path(path)
    suffix = source.suffix.lower()
    if not source.is_file():
        raise InputError(f"{source}: file not found")
    if suffix not in TABLE_SUFFIXES:
        raise InputError(
            f"{source}: unknown table format {suffix!r} (use one of {', '.join(TABLE_SUFFIXES)})"
        )
    if suffix == ".xls":
        raise InputError(
            f"{source}: legacy Excel 97-2003 (.xls) files are not supported; save as .xlsx or CSV"
        )
    kind = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(suffix, "excel")
    check_input_file(source, kind)
    try:
        if suffix == ".csv":
            frame = pd.read_csv(source)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(source)
        else:
            _refuse_formulas_and_merges(source)
            frame = pd.read_excel(source)
    except InputError:
        raise
    except (ValueError, OSError, ImportError) as exc:
        raise InputError(f"{source}: cannot read table: {exc}") from None
    except Exception as exc:  # pyarrow, openpyxl and zipfile raise their own errors
        raise InputError(f"{source}: cannot read table ({type(exc).__name__}: {exc})") from None
    return frame


def _refuse_formulas_and_merges(source: Path) -> None:
    """Excel cells must hold values: a formula's cached result may be stale or absent."""
    from openpyxl import load_workbook  # start-up time: only Excel input needs openpyxl

    workbook = load_workbook(source, read_only=False, data_only=False)
    try:
        sheet = workbook.worksheets[0]
        merged = [str(r) for r in sheet.merged_cells.ranges]
        if merged:
            raise InputError(
                f"{source}: sheet {sheet.title!r}: cells {merged[0]} are merged; unmerge them "
                "and fill every cell"
            )
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    raise InputError(
                        f"{source}: sheet {sheet.title!r}: cell {cell.coordinate} holds a "
                        f"formula {str(cell.value)[:40]!r}; replace formulas with values"
                    )
    finally:
        workbook.close()


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` to CSV, Parquet or Excel (by extension) atomically; return the path."""
    dest = Path(path)
    suffix = dest.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(
            f"{dest}: unknown output format {suffix!r} (use one of {', '.join(TABLE_SUFFIXES)})"
        )
    if suffix == ".xls":
        raise InputError(f"{dest}: legacy .xls cannot be written; use .xlsx")
    with atomic_path(dest) as tmp:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        elif suffix in (".parquet", ".pq"):
            frame.to_parquet(tmp, index=False)
        else:
            # xlsxwriter keeps text as text (an id such as "=HYPERLINK(...)" never becomes a
            # formula, as it would with openpyxl) and a fixed creation time keeps the bytes
            # the same for the same data
            options = {"strings_to_formulas": False, "strings_to_urls": False}
            with pd.ExcelWriter(
                tmp, engine="xlsxwriter", engine_kwargs={"options": options}
            ) as writer:
                writer.book.set_properties({"created": dt.datetime(2000, 1, 1)})
                frame.to_excel(writer, index=False)
    return dest


def problems_error(source: str, problems: list[str]) -> InputError:
    """An :class:`InputError` with a headline counting ``problems`` (listing at most 50)."""
    shown = problems[:MAX_PROBLEMS]
    if len(problems) > MAX_PROBLEMS:
        shown.append(f"... and {len(problems) - MAX_PROBLEMS} more")
    noun = "problem" if len(problems) == 1 else "problems"
    return InputError(f"{source}: {len(problems)} {noun}", shown)


def shown(value: object) -> str:
    """A cell value for an error message: ``'x'`` for text, ``12`` for numbers (no numpy repr)."""
    item = getattr(value, "item", None)
    return repr(item() if callable(item) else value)
