"""Vectorised parsing of raw table columns (any dtype: CSV text, Parquet numbers, Excel objects).

Each parser returns the values of a column with masks of its blank and its unparseable
cells, for the validators (:mod:`solver.core.validation`, :mod:`solver.core.forecast`) to
check and report. ``income_forecast`` and ``inflows`` cells are parsed with pyarrow kernels
where they are clean, and through the scalar parser of :mod:`solver.core.cleaning`
otherwise, so both give the same values and the same messages.

pandas and pyarrow are imported inside the functions: ``import solver`` and the command
line's start-up must not load them.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.core.cleaning import BLANK, clean_scalar, is_blank
from solver.core.schema import BOOL_WORDS, MAX_FORECAST_MONTHS, MONEY_MAX, NAN_WORDS, FieldSpec

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["parse_bool", "parse_numeric", "parse_sequences", "strip_text", "text_blank"]


def _is_text_dtype(dtype: Any) -> bool:
    import pandas as pd

    return dtype == np.dtype(object) or isinstance(dtype, pd.StringDtype)


def strip_text(series: pd.Series) -> pd.Series:
    """Text of a column as a stripped ``str`` Series (numbers print without ``.0``)."""
    import pandas as pd

    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        out = np.empty(values.size, dtype=object)
        integral = np.isfinite(values) & (np.floor(values) == values)
        out[integral] = values[integral].astype(np.int64).astype(str)
        out[~integral] = values[~integral].astype(str)
        out[np.isnan(values)] = None
        return pd.Series(out, dtype="str", index=series.index)
    if not _is_text_dtype(series.dtype):
        return series.astype("str")
    text = series if isinstance(series.dtype, pd.StringDtype) else series.astype("str")
    return text.str.strip()


def text_blank(text: pd.Series) -> np.ndarray:
    """Blank cells of a stripped text Series: missing, empty, or a NaN word."""
    blank = text.isna().to_numpy(dtype=bool).copy()
    blank |= text.isin(["", *NAN_WORDS]).to_numpy(dtype=bool)
    return blank


def _object_is_bool(series: pd.Series) -> np.ndarray:
    if series.dtype != object:
        return np.zeros(len(series), dtype=bool)
    return np.fromiter(
        (isinstance(v, bool | np.bool_) for v in series.to_numpy()), dtype=bool, count=len(series)
    )


def parse_numeric(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(float values, bad-text mask, blank mask) of a column of any dtype."""
    import pandas as pd

    n = len(series)
    if pd.api.types.is_bool_dtype(series.dtype):
        missing = series.isna().to_numpy(dtype=bool).copy()
        return np.full(n, np.nan), ~missing, missing
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan).copy()
        return values, np.zeros(n, dtype=bool), np.isnan(values)
    if isinstance(series.dtype, pd.StringDtype):
        # a database's VARCHAR numbers: every cell missing or a number without spaces is one
        # cast; any other cell (empty, spaced, a NaN word, "nan") goes the full parse below
        blank = series.isna().to_numpy(dtype=bool).copy()  # writable: callers add to it
        values = _text_floats(series)
        if values is not None and not np.isnan(values[~blank]).any():
            return values, np.zeros(n, dtype=bool), blank
    is_bool = _object_is_bool(series)
    text = strip_text(series)
    blank = text_blank(text) & ~is_bool
    values = _text_floats(text, blank | is_bool)
    if values is None:  # some cell is not a number: pandas finds which (slower, per cell)
        numbers = pd.to_numeric(text.where(~blank), errors="coerce")
        values = np.asarray(numbers.to_numpy(dtype=float, na_value=np.nan), dtype=float).copy()
    bad = (~blank & np.isnan(values)) | is_bool
    values[bad | blank] = np.nan
    return values, bad, blank


def _text_floats(text: pd.Series, skip: np.ndarray | None = None) -> np.ndarray | None:
    """Floats of text cells (``NaN`` where missing or ``skip``), or ``None`` when a cell is
    not a number. pyarrow's float parser is the one the CSV reader uses for number columns
    (:func:`~solver.core.formats.read_csv_table`), so a number given as text (a database's
    VARCHAR column, a CSV read as text) gets the CSV's value to the bit; it accepts what
    ``pandas.to_numeric`` accepts (``1e3``, ``.5``, ``+5``, ``inf``; not ``0x10``,
    ``1_000``, ``1,5``, nor spaces) at a tenth of its time."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = pa.array(text, pa.string())
    if skip is not None:
        cells = pc.if_else(pa.array(skip), pa.scalar(None, pa.string()), cells)
    try:
        floats = pc.cast(cells, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return np.asarray(floats.to_numpy(zero_copy_only=False), dtype=float).copy()


def parse_bool(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bool values, bad mask, blank mask) of a column of any dtype."""
    import pandas as pd

    n = len(series)
    if pd.api.types.is_bool_dtype(series.dtype) and not series.isna().any():
        return series.to_numpy(dtype=bool).copy(), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan).copy()
        blank = np.isnan(values)
        bad = ~blank & (values != 0) & (values != 1)
        return values == 1, bad, blank
    if series.dtype == object or pd.api.types.is_bool_dtype(series.dtype):
        # Excel / JSON cells: Python bools and numbers mixed with words
        def word(v: Any) -> Any:
            if isinstance(v, bool | np.bool_):
                return bool(v)
            if isinstance(v, int | float | np.integer | np.floating) and v in (0, 1):
                return bool(v)
            if isinstance(v, str):
                return BOOL_WORDS.get(v.strip().lower())
            return None

        raw = series.to_numpy(dtype=object)
        mapped = pd.Series([word(v) for v in raw], dtype=object)
        blank = np.fromiter((is_blank(v) for v in raw), dtype=bool, count=n)
        unknown = mapped.isna().to_numpy(dtype=bool).copy()
        values = mapped.to_numpy(dtype=object, na_value=False) == True  # noqa: E712
        return np.asarray(values, dtype=bool), ~blank & unknown, blank
    import pyarrow as pa  # the text paths' kernels
    import pyarrow.compute as pc

    if _is_text_dtype(series.dtype):  # a clean column (a database's true/false, 1/0): one cast
        cells = pa.array(series, pa.string())
        with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # pyarrow's words (true/false/1/0, any case) are flag words of the same meaning
            flags = pc.cast(cells, pa.bool_())
            blank = np.asarray(flags.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            values = np.asarray(flags.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
            return values, np.zeros(n, dtype=bool), blank
    text = strip_text(series)
    blank = text_blank(text)
    # the words looked up by pyarrow's hash kernel (a pandas .map calls Python per cell)
    words = pa.array(list(BOOL_WORDS), pa.string())
    index = pc.index_in(pc.utf8_lower(pa.array(text, pa.string())), value_set=words)
    position = np.asarray(index.to_numpy(zero_copy_only=False), dtype=float)
    unknown = np.isnan(position)
    truth = np.array(list(BOOL_WORDS.values()), dtype=bool)
    values = np.where(unknown, False, truth[np.where(unknown, 0, position).astype(np.int64)])
    return values, ~blank & unknown, blank


def parse_sequences(
    spec: FieldSpec, series: pd.Series, skip: np.ndarray, *, records: bool = False
) -> tuple[np.ndarray, dict[int, str]]:
    """Tuples (or None) of an ``income_forecast`` / ``inflows`` column and its problems.

    ``records``: the column comes from TOML/JSON records, not table cells, so a single
    number is not a one-month forecast (:mod:`solver.core.cleaning` says why).

    Blank cells are found vectorised. Clean text cells (``3800;3800``, ``3:20000;12:5000``)
    and numeric arrays (Parquet ``list<double>``) are parsed vectorised; every other
    cell, and every cell with a problem, goes through the scalar parser, so both paths
    give the same values and the same messages.
    """
    import pandas as pd

    n = len(series)
    values = np.full(n, None, dtype=object)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        cells = series.to_numpy(dtype=float, na_value=np.nan)
        blank = np.isnan(cells)
    elif isinstance(series.dtype, pd.StringDtype):
        text = strip_text(series)
        cells = text.to_numpy(dtype=object)
        blank = text_blank(text)
    else:
        cells = series.to_numpy(dtype=object)
        blank = series.isna().to_numpy(dtype=bool).copy()  # None / NaN, vectorised
        for i in np.flatnonzero(~blank):
            blank[i] = is_blank(cells[i])
    messages: dict[int, str] = {}
    filled = np.flatnonzero(~blank & ~skip)
    if filled.size:
        fast = _forecasts_fast if spec.kind == "forecast" else _inflows_fast
        done = fast(cells[filled], values, filled)
        filled = filled[~done]
    for i in filled:
        value, problem = clean_scalar(spec, cells[i], cell=not records)
        if problem is not None:
            messages[int(i)] = problem
        elif value is not BLANK:
            values[i] = value
    return values, messages


def _split_cells(texts: np.ndarray, sep: str) -> tuple[Any, np.ndarray]:
    """The ``sep``-separated parts of text cells (a stripped pyarrow string array) and the
    cell of each part (pyarrow kernels: a million cells take well under a second)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lists = pc.split_pattern(pa.array(texts, type=pa.string()), sep)
    parts = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    return parts, pc.list_parent_indices(lists).to_numpy()


def _to_float(strings: Any) -> np.ndarray:
    """Floats of a pyarrow string array; NaN where a string is not a number."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return np.asarray(pc.cast(strings, pa.float64()).to_numpy(zero_copy_only=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # some part is not a number
        text = pd.Series(strings.to_numpy(zero_copy_only=False), dtype=object)
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _group_ok(part_ok: np.ndarray, owner: np.ndarray, cells: int) -> np.ndarray:
    """Per cell: every one of its parts is fine."""
    bad = np.bincount(owner[~part_ok], minlength=cells)
    return bad == 0


def _forecasts_fast(cells: np.ndarray, values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Vectorised ``income_forecast`` of clean cells; returns which cells were done."""
    m = cells.size
    done = np.zeros(m, dtype=bool)
    kinds = np.fromiter(
        (
            1
            if isinstance(c, str)
            else 2
            if isinstance(c, np.ndarray) and c.dtype.kind in "fiu"
            else 0
            for c in cells
        ),
        dtype=np.int8,
        count=m,
    )
    for kind in (1, 2):
        which = np.flatnonzero(kinds == kind)
        if which.size == 0:
            continue
        if kind == 1:
            parts, owner = _split_cells(cells[which], ";")
            amounts = _to_float(parts)
        else:
            arrays = [np.asarray(c, dtype=float).ravel() for c in cells[which]]
            owner = np.repeat(np.arange(which.size), [a.size for a in arrays])
            amounts = np.concatenate(arrays) if arrays else np.zeros(0)
        with np.errstate(invalid="ignore"):
            part_ok = (amounts >= 0) & (amounts <= MONEY_MAX)  # NaN and inf fail
        count = np.bincount(owner, minlength=which.size)
        ok = _group_ok(part_ok, owner, which.size) & (count >= 1)
        ok &= count <= MAX_FORECAST_MONTHS
        ends = np.cumsum(count)
        floats = amounts.tolist()
        for j in np.flatnonzero(ok):
            values[positions[which[j]]] = tuple(floats[ends[j] - count[j] : ends[j]])
        done[which[ok]] = True
    return done


def _inflows_fast(cells: np.ndarray, values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Vectorised ``inflows`` of clean text cells (months increasing); returns which were done."""
    import pyarrow.compute as pc

    m = cells.size
    done = np.zeros(m, dtype=bool)
    which = np.flatnonzero(np.fromiter((isinstance(c, str) for c in cells), dtype=bool, count=m))
    if which.size == 0:
        return done
    parts, owner = _split_cells(cells[which], ";")
    colon = pc.equal(pc.count_substring(parts, ":"), 1)
    pair = pc.split_pattern(pc.if_else(colon, parts, "nan:nan"), ":")
    month = _to_float(pc.utf8_trim_whitespace(pc.list_element(pair, 0)))
    amount = _to_float(pc.utf8_trim_whitespace(pc.list_element(pair, 1)))
    colon = colon.to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        part_ok = colon & (month >= 1) & (month <= MAX_FORECAST_MONTHS)
        part_ok &= np.floor(month) == month
        part_ok &= (amount >= 0) & (amount <= MONEY_MAX)
    # months strictly increasing within a cell (else the scalar parser sorts and sums)
    same_cell = np.r_[False, owner[1:] == owner[:-1]]
    with np.errstate(invalid="ignore"):
        part_ok &= ~same_cell | (month > np.r_[-np.inf, month[:-1]])
    ok = _group_ok(part_ok, owner, which.size)
    count = np.bincount(owner, minlength=which.size)
    ends = np.cumsum(count)
    months = np.where(part_ok, month, 0).astype(np.int64).tolist()
    amounts = amount.tolist()
    for j in np.flatnonzero(ok):
        a, b = ends[j] - count[j], ends[j]
        values[positions[which[j]]] = tuple(zip(months[a:b], amounts[a:b], strict=True))
    done[which[ok]] = True
    return done
