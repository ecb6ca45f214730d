"""A table file's column names, read from its header alone (no rows parsed).

What a caller needs before a whole read: which columns a book has (``scenario run
--baseline`` compares balances owed, :mod:`solver.core.owed_read`), which layout a
history table is (``--behaviour-out``, :mod:`solver.risk.history_fit`). The whole
validated read (:mod:`solver.core.readers`) names a file's problems; this one only
says what the header holds, and raises the parser's own error for a file it cannot
read, so that a caller falls back to the whole read.
"""

from __future__ import annotations

from pathlib import Path

from solver.core.files import INPUT_FORMATS

__all__ = ["HEADER_FORMATS", "read_header"]

#: The formats :func:`read_header` reads (of :data:`~solver.core.files.INPUT_FORMATS`).
HEADER_FORMATS: tuple[str, ...] = ("csv", "parquet", "excel")


def read_header(path: str | Path, sheet: str | int = 0) -> list[str]:
    """The column names of a CSV, Parquet or Excel file, as written in its header.

    Parameters
    ----------
    path
        The file; its format by its extension (:data:`~solver.core.files.INPUT_FORMATS`).
    sheet
        Excel only: the sheet's name or position (default the first).

    Returns
    -------
    list of str
        The names in file order, not normalised
        (:func:`~solver.core.schema.normalize_column_name` is the caller's): a CSV's first
        line as pyarrow reads it (its first block only; a UTF-8 byte-order mark dropped), a
        Parquet file's schema, an Excel sheet's first row as pandas reads it (a blank cell
        named ``Unnamed: N``).

    Raises
    ------
    ValueError
        For a file of another format (``.json``, ``.toml``, ``.xls``, no extension).
    OSError, ValueError, pyarrow.ArrowException
        From the parser, for a file that is missing or does not parse (an Excel file's
        reader may raise others, such as ``zipfile.BadZipFile``).
    """
    path = Path(path)
    fmt = INPUT_FORMATS.get(path.suffix.lower())
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if fmt == "csv":
        import pyarrow.csv as pv

        reader = pv.open_csv(path)  # reads the first block only
        try:
            return list(reader.schema.names)
        finally:
            reader.close()
    if fmt == "excel":
        import pandas as pd

        return [str(name) for name in pd.read_excel(path, sheet_name=sheet, nrows=0).columns]
    raise ValueError(f"{path}: no header to read from a {fmt or path.suffix or 'file'!r} file")
