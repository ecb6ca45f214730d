"""Reading a table of any shape (CSV, Parquet, Excel, or a database) into a DataFrame.

The portfolio reader (:mod:`solver.core.readers`) validates the SPEC §3 account schema;
the other tables a run reads -- the risk module's status panels, behaviour histories and
outcome tables, the plans ``allocate --plans`` offers, the steps ``allocate --replan``
follows -- have shapes of their own, which each reader checks itself. They are read here,
the format chosen by the file's extension (:data:`~solver.core.files.INPUT_FORMATS`),
after the cheap checks of :func:`~solver.core.files.check_input_file`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from solver.core.files import INPUT_FORMATS, check_input_file
from solver.core.sources import BookSource
from solver.errors import InputError

__all__ = ["TABLE_FORMATS", "TableSource", "read_table"]

#: Formats a table file may have (by :data:`~solver.core.files.INPUT_FORMATS`; ``xls`` is
#: refused with a message saying how to convert it).
TABLE_FORMATS = ("csv", "parquet", "excel", "xls")

#: Where a table comes from: a file, or a database table or query (``--db``).
TableSource = str | os.PathLike[str] | BookSource


def read_table(
    path: TableSource,
    *,
    text_columns: Sequence[str] = (),
    all_text: bool = False,
    datasets: bool = False,
) -> pd.DataFrame:
    """Read a CSV, Parquet or Excel table chosen by the file extension, or a database
    table or query (a :class:`~solver.core.sources.BookSource` with a URL).

    ``text_columns`` are read as text from CSV and Excel (ids such as ``007`` keep their
    zeros); with ``all_text`` every CSV and Excel column is read as text and a blank cell
    is ``""`` rather than NaN (for readers that parse each cell themselves and name the
    row and column of a bad one: the contact calendar's inputs, the experiment's
    outcomes); with ``datasets`` a directory is read as a Parquet dataset (``plan-portfolio
    --out DIR``). A database is read by the books' reader
    (:func:`solver.core.sql.read_sql_table`, in chunks): its row N is the Nth row in the
    query's order, as a file's is its Nth row after the header, so the validators'
    messages mean the same for both.

    Raises
    ------
    InputError
        When the file is missing, has an unknown extension or cannot be parsed; for a
        database, every error of :mod:`solver.core.sql` (a missing table is named).
    """
    if isinstance(path, BookSource):
        if path.url is not None:
            from solver.core.sql import read_sql_table  # only database input needs SQLAlchemy

            return read_sql_table(path.url, path.table, path.query).raw
        assert path.path is not None
        path = path.path
    source = Path(path)
    if datasets and source.is_dir():
        return _parsed(source, lambda: pd.read_parquet(source))
    suffix = source.suffix.lower()
    if not source.is_file():
        raise InputError(f"{source}: file not found")
    kind = INPUT_FORMATS.get(suffix)
    if kind not in TABLE_FORMATS:
        known = ", ".join(s for s, f in INPUT_FORMATS.items() if f in TABLE_FORMATS)
        raise InputError(f"{source}: unknown table format {suffix!r} (use one of {known})")
    if kind == "xls":
        raise InputError(
            f"{source}: legacy Excel 97-2003 (.xls) files are not supported; save as .xlsx or CSV"
        )
    check_input_file(source, kind)
    dtype: type[str] | dict[str, type[str]] | None = (
        str if all_text else {column: str for column in text_columns} or None
    )
    if kind == "csv":
        return _parsed(
            source, lambda: pd.read_csv(source, dtype=dtype, keep_default_na=not all_text)
        )
    if kind == "parquet":
        return _parsed(source, lambda: pd.read_parquet(source))

    def excel() -> pd.DataFrame:
        _refuse_formulas_and_merges(source)
        return pd.read_excel(source, dtype=dtype, keep_default_na=not all_text)

    return _parsed(source, excel)


def _parsed(source: Path, read: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``read()``, its errors as :class:`InputError` naming ``source``."""
    try:
        return read()
    except InputError:
        raise
    except (ValueError, OSError, ImportError) as exc:
        raise InputError(f"{source}: cannot read table: {exc}") from None
    except Exception as exc:  # pyarrow, openpyxl and zipfile raise their own errors
        raise InputError(f"{source}: cannot read table ({type(exc).__name__}: {exc})") from None


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
