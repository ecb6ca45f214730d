"""A bank's own table layout mapped onto the SPEC §3 columns: :class:`Layout` (``--columns``).

A core-banking export names its columns in the bank's language (``账户编号``, ``本金``), codes
products and flags its own way (``汽车贷款``, ``是``/``否``) and may give rates in percent. A
layout file (TOML) says how to read it, and is applied to the raw table *before* validation,
so every check and message of :mod:`solver.core.validation` applies unchanged; problem lines
name the file's own column with the schema column it maps to (``本金 (principal)``)::

    encoding = "GB18030"          # optional: the default --encoding of CSV files (a UTF-8
                                  # BOM still wins; --encoding on the command line overrides)

    [columns]                     # the file's column -> the SPEC §3 column
    "账户编号" = "account_id"
    "本金" = "principal"

    [values.product]              # the file's value -> the schema value, per schema column
    "汽车贷款" = "auto_loan"

    [values.hardship]
    "是" = true
    "否" = false

    [scale]                       # multiply a number column (rates in percent: 0.01)
    annual_rate = 0.01

Columns the layout does not name pass through unchanged (a schema name is read as usual,
any other column is dropped with a warning). A cell whose value the ``[values]`` table does
not list is left as it is, for the validator to report. ``scenarios/layouts/`` holds the
shipped layouts (``cn_core_banking.toml``: a typical Chinese core-banking export).
"""

from __future__ import annotations

import codecs
import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.core.files import read_toml
from solver.core.schema import DERIVED_COLUMNS, SPECS, TEXT_KINDS, normalize_column_name
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Layout", "read_layout"]

_KEYS = ("encoding", "columns", "values", "scale")
_TARGETS = (*SPECS, *DERIVED_COLUMNS)


@dataclass(frozen=True)
class Layout:
    """A column mapping (see the module docstring); build it with :func:`read_layout`."""

    #: The layout file, for messages.
    source: str
    #: The file's column (stripped) -> the schema column.
    columns: Mapping[str, str] = field(default_factory=dict)
    #: Schema column -> {the file's value (text) -> the schema value}.
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Schema column -> factor its numbers are multiplied by.
    scale: Mapping[str, float] = field(default_factory=dict)
    #: Default text encoding of CSV files in this layout (``None``: UTF-8).
    encoding: str | None = None

    def labels(self) -> dict[str, str]:
        """Schema column (and the file's column, as a reader names it) -> how messages name
        it: ``本金 (principal)``."""
        labels = {normalize_column_name(n): f"{n} ({t})" for n, t in self.columns.items()}
        labels.update({t: f"{n} ({t})" for n, t in self.columns.items()})
        return labels

    def apply(
        self, raw: pd.DataFrame, skip: Mapping[str, np.ndarray] | None = None
    ) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
        """The raw table with the file's columns renamed to schema columns, values mapped and
        numbers scaled; ``skip`` (cells a reader already reported, keyed by the normalised
        file column) re-keyed to the schema columns."""
        import pandas as pd

        by_name = {_key(name): target for name, target in self.columns.items()}
        renamed = [by_name.get(_key(c), c) for c in raw.columns]
        frame = raw.copy(deep=False)
        frame.columns = renamed
        for target, mapping in self.values.items():
            if target in frame.columns and isinstance(frame[target], pd.Series):
                frame[target] = _mapped(frame[target], mapping)
        for target, factor in self.scale.items():
            if target in frame.columns and isinstance(frame[target], pd.Series):
                frame[target] = _scaled(frame[target], factor)
        normalised = {normalize_column_name(n): t for n, t in self.columns.items()}
        moved = {normalised.get(k, k): v for k, v in (skip or {}).items()}
        return frame, moved

    def export(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A validated book in this layout (the inverse of :meth:`apply`): the bank's
        column names, values and scales. Used to produce sample exports
        (``workout generate portfolio --columns``)."""
        import pandas as pd

        out = frame.copy()
        for target, factor in self.scale.items():
            if target in out.columns:
                out[target] = out[target] / factor
        for target, mapping in self.values.items():
            if target in out.columns:
                back: dict[Any, str] = {}
                for text, value in mapping.items():
                    back.setdefault(value, text)
                column = out[target].astype(object)
                out[target] = pd.Series(
                    [back.get(v, v) for v in column], index=out.index, dtype=object
                )
        names = {target: name for name, target in self.columns.items()}
        return out.rename(columns=names)


def _key(name: Any) -> str:
    return str(name).strip()


def _keys(series: pd.Series) -> pd.Series:
    """Each cell as the text a ``[values]`` table is keyed by (stripped; a whole number
    ``1.0`` as ``1``; blanks ``<NA>``), vectorised."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(values) & (values == np.round(values))
        text = np.where(
            whole, np.nan_to_num(values).astype(np.int64).astype(str), values.astype(str)
        )
        return pd.Series(text, index=series.index, dtype="string").mask(np.isnan(values))
    return series.astype("string").str.strip()


def _mapped(series: pd.Series, mapping: Mapping[str, Any]) -> pd.Series:
    import pandas as pd

    keys = _keys(series)
    out: np.ndarray | None = None
    for text, value in mapping.items():  # a few codes: one vectorised comparison each
        mask = (keys == text).to_numpy(dtype=bool, na_value=False)
        if mask.any():
            if out is None:
                out = series.to_numpy(dtype=object).copy()
            out[mask] = value
    return series if out is None else pd.Series(out, index=series.index, dtype=object)


def _scaled(series: pd.Series, factor: float) -> pd.Series:
    """Numbers times ``factor``; a cell that is not a number is left for the validator."""
    import pandas as pd

    numbers = pd.to_numeric(series, errors="coerce")
    ok = numbers.notna().to_numpy()
    if ok.all():
        return numbers.astype(float) * factor
    out = series.astype(object).copy()
    out[ok] = numbers[ok].astype(float) * factor
    return out


def read_layout(path: str | os.PathLike[str]) -> Layout:
    """Read and check a layout file (``--columns``).

    Raises
    ------
    InputError
        Naming the file and the key: an unknown schema column (with the closest name), two
        file columns mapped to one schema column, a ``[scale]`` of a column that is not a
        number, an unknown encoding.
    """
    path = Path(path)
    source = str(path)
    data = read_toml(path, "column-mapping")
    problems: list[str] = []
    for key in sorted(set(data) - set(_KEYS)):
        problems.append(f"{source}: {key}: unknown key (use {', '.join(_KEYS)})")
    columns: dict[str, str] = {}
    seen: dict[str, str] = {}
    for name, target in _table(data, "columns", source, problems).items():
        if not isinstance(target, str) or target not in _TARGETS:
            problems.append(f"{source}: columns.{name}: {_unknown(target)}")
            continue
        if target in seen:
            problems.append(
                f"{source}: columns.{name}: {target} is already mapped from {seen[target]!r}"
            )
            continue
        seen[target] = name
        columns[_key(name)] = target
    values: dict[str, dict[str, Any]] = {}
    for target, mapping in _table(data, "values", source, problems).items():
        if target not in _TARGETS:
            problems.append(f"{source}: values.{target}: {_unknown(target)}")
        elif not isinstance(mapping, Mapping):
            problems.append(f"{source}: values.{target}: expected a table of value = value")
        else:
            values[target] = {_key(k): v for k, v in mapping.items()}
    scale: dict[str, float] = {}
    for target, factor in _table(data, "scale", source, problems).items():
        spec = SPECS.get(target)
        if spec is None or spec.kind in (*TEXT_KINDS, "bool"):
            problems.append(f"{source}: scale.{target}: not a number column of the schema")
        elif isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 0:
            problems.append(f"{source}: scale.{target}: expected a positive number, got {factor!r}")
        else:
            scale[target] = float(factor)
    encoding = data.get("encoding")
    if encoding is not None:
        try:
            codecs.lookup(str(encoding))
        except LookupError:
            problems.append(f"{source}: encoding: unknown text encoding {encoding!r}")
    if problems:
        raise InputError(f"{source}: {len(problems)} problem(s) in the column mapping", problems)
    return Layout(source, columns, values, scale, None if encoding is None else str(encoding))


def _table(data: Mapping[str, Any], key: str, source: str, problems: list[str]) -> Mapping:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        problems.append(f"{source}: {key}: expected a table ([{key}])")
        return {}
    return value


def _unknown(target: Any) -> str:
    close = difflib.get_close_matches(str(target), _TARGETS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else " (see SPEC §3 for the columns)"
    return f"{target!r} is not a column of the account schema{hint}"
