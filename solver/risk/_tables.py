"""Reading and writing the tables of the risk module (CSV, Parquet, Excel), atomically.

The portfolio reader in :mod:`solver.core.readers` validates the SPEC §3 account schema; the risk
module reads other shapes (status panels, behaviour histories, outcome tables) with the
format-by-extension reader of :mod:`solver.core.tables` (:func:`read_table`, re-exported
here) and validates each shape itself.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd

from solver.core.atomic import atomic_path
from solver.core.sources import BookSource
from solver.core.tables import TableSource, read_table
from solver.errors import InputError

__all__ = [
    "TABLE_SUFFIXES",
    "TableSource",
    "problems_error",
    "read_table",
    "shown",
    "source_label",
    "write_table",
]

#: Formats :func:`write_table` writes, by extension.
TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".xlsx", ".xls")
MAX_PROBLEMS = 50


def source_label(path: TableSource) -> str:
    """How messages name a table: the file's path, or ``TABLE@URL`` (password masked)."""
    return str(path) if isinstance(path, BookSource) else str(Path(path))


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
