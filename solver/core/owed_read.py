"""The account ids and balances owed of a CSV or Parquet book, read alone (no whole
validated read): what ``scenario run --baseline`` compares before anything runs
(:func:`solver.scenarios.same_book.check_same_book`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from solver.core.account import OWED_COLUMNS
from solver.core.columns import parse_numeric, strip_text, text_blank
from solver.core.files import INPUT_FORMATS
from solver.core.schema import SPECS, normalize_column_name
from solver.core.table_header import read_header

__all__ = ["read_owed_columns"]


def read_owed_columns(source: Any) -> dict[str, np.ndarray] | None:
    """``account_id`` and the :data:`~solver.core.account.OWED_COLUMNS` of a CSV or Parquet
    book, read alone and parsed as the validator parses them (its parsers; a blank
    ``interest_due`` / ``fees_due`` is its default), or ``None`` for any other book and
    for one with a missing, ambiguous or unparseable column, a blank or repeated id or a
    non-finite amount: the whole validated read names those problems."""
    import pyarrow as pa

    path = source.path
    if source.db is not None or path is None:
        return None
    fmt = INPUT_FORMATS.get(path.suffix.lower())
    if fmt not in ("csv", "parquet"):
        return None
    try:
        names = _table_columns(path)
        if names is None:
            return None
        raw = _read_columns(path, fmt, list(names.values()))
    except (OSError, ValueError, pa.ArrowException):
        return None
    ids = strip_text(raw[names["account_id"]])
    if text_blank(ids).any() or ids.duplicated().any():
        return None
    parsed = {"account_id": ids.to_numpy(dtype=object)}
    for column in OWED_COLUMNS:
        default = float(SPECS[column].default or 0.0)
        if column not in names:  # optional columns: the validator gives them their default
            parsed[column] = np.full(len(raw), default)
            continue
        values, bad, blank = parse_numeric(raw[names[column]])
        if bad.any() or (SPECS[column].required and blank.any()):
            return None
        values[blank] = default
        if not np.isfinite(values).all():
            return None
        parsed[column] = values
    return parsed


def _table_columns(path: Path) -> dict[str, str] | None:
    """The file's column names by their schema names (``account_id``, :data:`OWED_COLUMNS`;
    the header normalised as the validator does), or ``None`` when ``account_id`` or
    ``principal`` is missing or two headers name one column."""
    header = read_header(path)
    wanted = ("account_id", *OWED_COLUMNS)
    names: dict[str, str] = {}
    for name in header:
        key = normalize_column_name(name)
        if key in wanted:
            if key in names:
                return None
            names[key] = name
    return names if {"account_id", "principal"} <= set(names) else None


def _read_columns(path: Path, fmt: str, columns: list[str]) -> pd.DataFrame:
    """Only ``columns`` of a CSV (as text, parsed by the caller) or Parquet file."""
    import pyarrow as pa
    import pyarrow.csv as pv
    import pyarrow.parquet as pq

    if fmt == "parquet":
        return pq.read_table(path, columns=columns).to_pandas()
    options = pv.ConvertOptions(
        include_columns=columns,
        column_types={name: pa.string() for name in columns},
        strings_can_be_null=True,
    )
    return pv.read_csv(path, convert_options=options).to_pandas()
