"""Raw tables from Excel workbooks (.xlsx): the cells as stored, with formulas, dates in
number columns and merged cells reported as problems (:class:`~solver.core.formats.RawTable`).

openpyxl and pandas are imported inside the reader: ``import solver`` and the command
line's start-up must not load them.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable, Collection
from functools import partial
from pathlib import Path

import numpy as np

from solver.core.files import check_input_file
from solver.core.formats import RawTable
from solver.core.messages import shown_value
from solver.core.problems import ProblemLog
from solver.core.schema import NUMBER_KINDS, SPECS, normalize_column_name
from solver.errors import InputError

__all__ = ["read_excel_table"]


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


def read_excel_table(
    path: Path,
    source: str,
    sheet: str | None,
    default_sheet: str = "portfolio",
    known: Collection[str] = SPECS,
) -> RawTable:
    """Raw cells of sheet ``sheet`` (else ``default_sheet``, else the first); formulas and
    merged cells in the ``known`` columns are problems."""
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
        dates = _date_mask(column, values)
        cell = partial(_cell_name, letter, rows + header_row)
        log.add(column, dates, _date_message(column, values, cell))
        for k in np.flatnonzero(dates):
            mark(column, int(k))
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
    return RawTable(raw, rows, log, skip, note)


#: Schema kinds whose cells must hold numbers (a date there is a problem named by its cell).


def _date_mask(column: str, values: np.ndarray) -> np.ndarray:
    """Cells of a number column of the schema that Excel stores as a date, time or
    duration (openpyxl reads them as :mod:`datetime` values)."""
    spec = SPECS.get(column)
    if spec is None or spec.kind not in NUMBER_KINDS:
        return np.zeros(len(values), dtype=bool)
    kinds = (dt.date, dt.time, dt.timedelta)  # dt.datetime is a dt.date
    return np.fromiter((isinstance(v, kinds) for v in values), dtype=bool, count=len(values))


def _cell_name(letter: str, sheet_rows: np.ndarray, i: int) -> str:
    """The cell of data row ``i`` in column ``letter`` (``C2``)."""
    return f"{letter}{int(sheet_rows[i])}"


def _date_message(
    column: str, values: np.ndarray, cell: Callable[[int], str]
) -> Callable[[int], str]:
    """The problem of a date in a number column, by its cell and as the date it shows
    ("cell C2 holds a date (2024-01-01), not a number"), not as the Python value read."""

    def describe(i: int) -> str:
        value = values[i]
        if isinstance(value, dt.datetime) and value.time() == dt.time(0):
            kind, text = "a date", value.date().isoformat()
        elif isinstance(value, dt.datetime):
            kind, text = "a date", value.isoformat(sep=" ")
        elif isinstance(value, dt.timedelta):
            kind, text = "a duration", str(value)
        else:
            kind, text = ("a time" if isinstance(value, dt.time) else "a date"), value.isoformat()
        return f"cell {cell(i)} holds {kind} ({shown_value(column, text)}), not a number"

    return describe


def _merged_message(ref: str) -> Callable[[int], str]:
    return lambda i: f"cells {ref} are merged; unmerge them and fill every cell"
