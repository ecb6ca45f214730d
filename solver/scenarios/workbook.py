"""Tables to an Excel workbook: one sheet per table, readable headers, number formats.

:func:`write_workbook` is the one workbook writer of the reports (scenario runs, sweeps,
experiments): titles from :data:`~solver.scenarios.report_tables.COLUMN_TITLES`, bold,
frozen and filtered headers, and number formats chosen by each row's unit or by the
column's name. The file is written atomically with a fixed creation date, so the same
tables give the same sheets.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from solver.core.atomic import atomic_path
from solver.domain import DEFAULT_CURRENCY
from solver.scenarios.report_tables import UNIT_VALUE_COLUMNS, column_title

__all__ = ["workbook_bytes", "write_workbook"]

_UNIT_FORMATS = {"CNY": "#,##0.00", "ratio": "0.00%", "accounts": "#,##0.00", "DTI": "0.000"}


# --------------------------------------------------------------------------------------
# Excel
# --------------------------------------------------------------------------------------


def write_workbook(
    sheets: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    unit_column: str = "unit",
    notes: Mapping[str, Any] | None = None,
    titles: Mapping[str, str] | None = None,
) -> Path:
    """Write tables to an .xlsx workbook (:func:`workbook_bytes`, titled by the file's stem),
    atomically; returns ``path``."""
    path = Path(path)
    data = workbook_bytes(sheets, path.stem, unit_column=unit_column, notes=notes, titles=titles)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def workbook_bytes(
    sheets: Mapping[str, pd.DataFrame],
    title: str,
    *,
    unit_column: str = "unit",
    notes: Mapping[str, Any] | None = None,
    titles: Mapping[str, str] | None = None,
) -> bytes:
    """Render tables as the bytes of an .xlsx workbook, one sheet each (rendered in memory
    so that a report can hash what it writes without reading the file back,
    :mod:`solver.scenarios.report`).

    Headers are readable titles (:data:`COLUMN_TITLES`), bold, frozen and filtered. Numbers
    get formats by the row's ``unit`` (CNY ``#,##0.00``, ratios as %, DTI ``0.000``) where
    the table has a unit column, else by the column (money-like columns ``#,##0.00``,
    ``*_rate``/``*_prob``/``*_share``/``*_ratio*`` as %). ``notes`` become a first sheet
    ("About"): numbers are written as numbers (a seed or a count is sortable and summable
    in Excel; until session 23 they were text), everything else as text. ``titles``
    overrides headers for columns whose meaning differs in these sheets (an experiment's
    ``ci_low`` is the uplift's interval, not a mean's).
    """
    import xlsxwriter

    # the zip goes to memory, but not in xlsxwriter's in_memory mode: that dates the parts
    # 1 Jan 1980 instead of 31 Jan, so the same tables would give other bytes than before
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer,
        {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "nan_inf_to_errors": True,
        },
    )
    book.set_properties({"created": dt.datetime(2000, 1, 1), "title": title})
    header = book.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
    )
    formats = {key: book.add_format({"num_format": fmt}) for key, fmt in _UNIT_FORMATS.items()}
    formats["int"] = book.add_format({"num_format": "#,##0"})
    formats["float"] = book.add_format({"num_format": "#,##0.00##"})
    bold = book.add_format({"bold": True})
    if notes:
        ws = book.add_worksheet("About")
        ws.set_column(0, 0, 24)
        ws.set_column(1, 1, 100)
        for i, (key, value) in enumerate(notes.items()):
            ws.write_string(i, 0, str(key), bold)
            if (
                isinstance(value, numbers.Real)
                and not isinstance(value, bool | np.bool_)
                and math.isfinite(float(value))
            ):
                ws.write_number(i, 1, float(value))
            else:
                ws.write_string(i, 1, str(value))
    for name, frame in sheets.items():
        ws = book.add_worksheet(str(name)[:31])
        columns = [str(c) for c in frame.columns]
        for j, column in enumerate(columns):
            title = (titles or {}).get(column) or column_title(column)
            ws.write_string(0, j, title, header)
            width = max(len(title) + 2, 12)
            if frame[column].dtype == object and len(frame):
                width = max(width, min(60, int(frame[column].astype(str).str.len().max()) + 2))
            ws.set_column(j, j, min(width, 60))
        ws.freeze_panes(1, 0)
        if columns:
            ws.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)
        units = frame[unit_column].astype(str).tolist() if unit_column in frame else None
        column_formats = [_column_format(c, frame[c].dtype, formats) for c in columns]
        values = frame.astype(object).where(pd.notna(frame), None).to_numpy().tolist()
        for i, row in enumerate(values, start=1):
            for j, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, bool):
                    ws.write_boolean(i, j, value)
                elif isinstance(value, int | float):
                    fmt = column_formats[j]
                    if units is not None and columns[j] in UNIT_VALUE_COLUMNS:
                        # a unit not listed is the policy's currency (money_units)
                        fmt = formats.get(units[i - 1], formats[DEFAULT_CURRENCY])
                    ws.write_number(i, j, float(value), fmt)
                else:
                    ws.write_string(i, j, str(value))
    book.close()
    return buffer.getvalue()


def _column_format(column: str, dtype: Any, formats: Mapping[str, Any]) -> Any:
    if any(
        tag in column for tag in ("_rate", "_prob", "_share", "npl_ratio", "_pct")
    ) or column in (
        "rate",
        "low",
        "high",
        "delta_pct",
    ):
        return formats["ratio"]
    if pd.api.types.is_integer_dtype(dtype):
        return formats["int"]
    if column.startswith("dti"):
        return formats["DTI"]
    if pd.api.types.is_float_dtype(dtype):
        return formats["CNY"]
    return None
