"""Vectorised validation of a whole table of accounts: :func:`validate_portfolio`.

Every row and every column of a raw table (CSV text, Parquet numbers, Excel objects) is
checked against the schema (:mod:`solver.core.schema`) with vectorised operations, in
steps: the header, the cells parsed one kind at a time (:mod:`solver.core.columns`), the
parsed table checked by its pandera schema (:func:`~solver.core.frame_checks.account_schema`:
required values, ranges, whole numbers, allowed values, unique ids, the cross-field check),
then the typed portfolio with its derived tiers and ``dpd_bucket``. Every problem is
collected in a :class:`~solver.core.problems.ProblemLog`, worded as before pandera, and
raised together.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from solver.core.cleaning import arrears_problem
from solver.core.columns import parse_bool, parse_numeric, parse_sequences, strip_text, text_blank
from solver.core.frame_checks import FINITE, WHOLE_NUMBER, Failure, account_schema, failures
from solver.core.messages import fmt_num, fmt_raw, shown_value
from solver.core.problems import ProblemLog
from solver.core.schema import (
    COLUMNS,
    DERIVED_COLUMNS,
    DPD_BUCKETS,
    FIELDS,
    SPECS,
    TIERS,
    FieldSpec,
    InputWarning,
    bound_messages,
    normalize_column_name,
    rate_hint,
)
from solver.core.tiering import TieringRules, bucket_index, derive_tier

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["UnknownColumns", "normalized_columns", "skip_mask", "validate_portfolio"]

UnknownColumns = Literal["warn", "error", "ignore"]


def validate_portfolio(
    frame: pd.DataFrame,
    source: str = "<frame>",
    *,
    tiering: TieringRules | None = None,
    unknown_columns: UnknownColumns = "warn",
    row_numbers: np.ndarray | None = None,
    problems: ProblemLog | None = None,
    skip: Mapping[str, np.ndarray] | None = None,
    row_note: str = "row N = the Nth data row, counting from 1",
    records: bool = False,
) -> pd.DataFrame:
    """Validate a raw table of accounts and return the typed SPEC §3 portfolio.

    Every row and every column is checked with vectorised operations; all problems are
    collected and raised together.

    Parameters
    ----------
    frame
        Raw table (any dtypes: text from a CSV, numbers from Parquet, objects from Excel).
        Column names are normalised (case, surrounding spaces, spaces/hyphens to ``_``).
    source
        File name used in messages.
    tiering
        Rules used to derive blank tiers (default :class:`~solver.core.tiering.TieringRules`).
    unknown_columns
        Columns that are not in the schema: ``"warn"`` (default; a bank's export often
        carries extra columns such as names or branch codes, which are dropped with an
        :class:`~solver.core.schema.InputWarning`), ``"error"`` or ``"ignore"``. An unknown
        column that looks like a typo of an optional schema column absent from the table
        (``hardshp``) is always an error, because silently dropping it would change the
        result.
    row_numbers
        The row number to print for each row (default 1, 2, ...).
    problems
        A log that already holds problems found while reading (merged into the report).
    skip
        Column -> mask of cells already reported by the reader (not checked again).
    row_note
        How row numbers are counted; printed in the error headline.
    records
        The rows are TOML/JSON records rather than table cells: a single number is then
        not a one-month ``income_forecast`` (:mod:`solver.core.cleaning` says why).

    Returns
    -------
    pandas.DataFrame
        Exactly the SPEC §3 columns (defaults applied, tiers derived) plus ``dpd_bucket``,
        with a fresh ``RangeIndex``. ``attrs["warnings"]`` lists non-fatal problems and
        ``attrs["tiers_derived"]`` counts the rows whose tier was derived.

    Raises
    ------
    InputError
        Listing every problem (at most :data:`~solver.core.schema.MAX_PROBLEMS` lines, then a
        count).
    """
    n = len(frame)
    rows = np.arange(1, n + 1) if row_numbers is None else np.asarray(row_numbers)
    log = problems if problems is not None else ProblemLog(source, rows)
    log.row_numbers = rows
    skip = dict(skip or {})
    notes: list[str] = []
    frame = _check_header(frame, source, unknown_columns, log, notes, row_note)
    # a blank income_normal stays NaN: it means "= income" (effective_income_normal)
    out = _parse_columns(frame, log, skip, records)
    log.raise_if_any(row_note)
    result, tiers_derived = _typed_frame(out, n, tiering)
    _card_vehicle_problems(result, log)
    log.raise_if_any(row_note)
    result.attrs["warnings"] = notes
    result.attrs["tiers_derived"] = tiers_derived
    for note in notes:
        warnings.warn(note, InputWarning, stacklevel=2)
    return result


def _card_vehicle_problems(frame: pd.DataFrame, log: ProblemLog) -> None:
    """Log every ``card_instalment`` row with a vehicle value: bad input
    (:func:`solver.core.account_checks.card_vehicles` states the rule and why)."""
    from solver.core.account_checks import card_vehicle_problem, card_vehicles

    if "vehicle_value" not in frame or "product" not in frame:
        return
    values = frame["vehicle_value"].to_numpy(float)
    bad = card_vehicles(frame["product"].to_numpy(object), values)
    log.add("vehicle_value", bad, lambda i: card_vehicle_problem(values[i]))


def normalized_columns(frame: pd.DataFrame, log: ProblemLog, aliases: Mapping[str, str]) -> Any:
    """``frame`` with normalised column names
    (:func:`~solver.core.schema.normalize_column_name`, then ``aliases``); a name that
    appears twice is a problem and only its first column is kept."""
    import pandas as pd

    names = [normalize_column_name(c) for c in frame.columns]
    names = [aliases.get(c, c) for c in names]
    seen: dict[str, int] = {}
    for pos, name in enumerate(names, start=1):
        if name in seen:
            log.file(f"header: {name}: column appears twice (columns {seen[name]} and {pos})")
        else:
            seen[name] = pos
    frame = frame.copy(deep=False)
    frame.columns = names
    return frame.loc[:, ~pd.Index(names).duplicated()].reset_index(drop=True)


def _check_header(
    frame: pd.DataFrame,
    source: str,
    unknown_columns: UnknownColumns,
    log: ProblemLog,
    notes: list[str],
    row_note: str,
) -> pd.DataFrame:
    """The table with normalised column names; header problems logged (raised at once when
    no schema column is found), unknown columns noted for a warning."""
    frame = normalized_columns(frame, log, {})
    present = set(frame.columns)
    unknown = [c for c in frame.columns if c not in SPECS and c not in DERIVED_COLUMNS]
    absent = [c for c in COLUMNS if c not in present]
    typo_of: dict[str, str] = {}
    for col in unknown:
        match = difflib.get_close_matches(col, absent, n=1, cutoff=0.8)
        if match:
            typo_of[col] = match[0]
    if not present & set(COLUMNS):
        preview = ", ".join(repr(str(c)) for c in list(frame.columns)[:4])
        log.file(
            f"header: no known column found (first line: {preview}); the first line must be "
            f"the header with SPEC §3 column names such as account_id, principal, annual_rate"
        )
        log.raise_if_any(row_note)
    for col in absent:
        if SPECS[col].required:
            hint = next((f" (found {u!r}: a typo?)" for u, a in typo_of.items() if a == col), "")
            label = log.labels.get(col, col)
            log.file(f"header: {label}: required column is missing{hint}")
    for col in unknown:
        if col in typo_of:
            if not SPECS[typo_of[col]].required:
                log.file(
                    f"header: {col}: unknown column; did you mean {typo_of[col]!r}? "
                    "(a misspelt optional column would be silently ignored)"
                )
        elif unknown_columns == "error":
            log.file(f"header: {col}: unknown column")
        elif unknown_columns == "warn":
            notes.append(f"{source}: header: {col}: unknown column ignored")
    return frame


def skip_mask(skip: Mapping[str, np.ndarray], column: str, n: int) -> np.ndarray:
    """Cells of ``column`` the reader already reported (all ``False`` when none)."""
    mask = skip.get(column)
    return np.zeros(n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)


#: Problems of one column found while parsing or checking: (rows, how a row is told).
Entries = dict[str, list[tuple[np.ndarray, Callable[[int], str]]]]


def _parse_columns(
    frame: pd.DataFrame, log: ProblemLog, skip: Mapping[str, np.ndarray], records: bool
) -> dict[str, Any]:
    """Every schema column parsed (:mod:`solver.core.columns`) and checked against the
    pandera schema (:func:`~solver.core.frame_checks.account_schema`): the values, defaults
    applied. ``valid`` (the rows whose every cell parsed and passed its checks) limits the
    cross-column check to otherwise clean rows.

    The problems are logged column by column in the schema's order, the parser's before
    the schema's, then the cross-column check: the order of the lines and of the
    ``(by column: ...)`` summary of a long report."""
    import pandas as pd

    n = len(frame)
    present = set(frame.columns)
    out: dict[str, Any] = {}
    given: dict[str, Any] = {}  # the parsed cells pandera checks (present columns only)
    reported: dict[str, np.ndarray] = {}  # cells the parser reported: not checked again
    entries: Entries = {}
    valid = np.ones(n, dtype=bool)
    for spec in FIELDS:
        col = spec.name
        skip_cells = skip_mask(skip, col, n)
        if col not in present:
            if spec.required:
                valid[:] = False
                out[col] = _filler(spec, n)
            else:
                out[col] = _filler(spec, n, spec.default)
            continue
        series = frame[col]
        told = entries.setdefault(col, [])
        if spec.kind == "id":
            ids = strip_text(series)
            blank = text_blank(ids) | skip_cells
            log.account_ids = ids.mask(blank, "")
            given[col] = ids.mask(blank)
            reported[col] = skip_cells
            valid &= ~skip_cells
            out[col] = log.account_ids.array
        elif spec.kind in ("forecast", "inflows"):
            values, messages = parse_sequences(spec, series, skip_cells, records=records)
            bad = np.zeros(n, dtype=bool)
            bad[list(messages)] = True
            told.append((bad, messages.__getitem__))
            valid &= ~(bad | skip_cells)
            out[col] = given[col] = values
        elif spec.kind in ("text", "category"):
            text = strip_text(series)
            blank = text_blank(text) | skip_cells
            if spec.kind == "category":
                text = text.str.upper() if spec.name == "tier" else text.str.lower()
            given[col] = text.mask(blank)
            out[col] = text.mask(blank, spec.default).array
        elif spec.kind == "bool":
            values, bad, blank = parse_bool(series)
            bad &= ~skip_cells
            told.append((bad, _not_a_bool(series)))
            values[blank | skip_cells] = bool(spec.default)
            valid &= ~(bad | skip_cells)
            out[col] = given[col] = values
        else:
            values, bad, blank = parse_numeric(series)
            bad &= ~skip_cells
            told.append((bad, _not_a_number(col, series)))
            if not spec.required and spec.default is not None:
                values[blank & ~skip_cells] = float(spec.default)
            reported[col] = bad | (skip_cells & np.isnan(values))
            valid &= ~(bad | skip_cells)
            out[col] = given[col] = values
    checked = pd.DataFrame(given, index=pd.RangeIndex(n), copy=False)
    cross: list[tuple[np.ndarray, Callable[[int], str]]] = []
    for failure in failures(account_schema(), checked):
        if failure.column is None:  # the arrears check: only rows that are otherwise fine
            cross.append((failure.rows, _arrears_message(out)))
            continue
        rows = failure.rows & ~reported.get(failure.column, np.zeros(n, dtype=bool))
        valid &= ~rows
        entries[failure.column].append((rows, _schema_message(failure, out, frame, log)))
    for col, told in entries.items():
        for rows, describe in told:
            log.add(col, rows, describe)
    for rows, describe in cross:
        log.add("arrears", rows & valid, describe)
    return out


def _schema_message(
    failure: Failure, out: Mapping[str, Any], frame: pd.DataFrame, log: ProblemLog
) -> Callable[[int], str]:
    """How a row failing one of the schema's checks is told (SPEC §3 wording)."""
    col, check = failure.column, failure.check
    assert col is not None
    spec = SPECS[col]
    if check == "not_nullable":
        return lambda i: "missing value (required)"
    if check == "field_uniqueness":
        ids, rows = np.asarray(out[col], dtype=object), log.row_numbers

        def duplicate(i: int) -> str:
            first = int(np.flatnonzero(ids == ids[i])[0])
            return f"duplicate account_id {ids[i]!r} (first in row {rows[first]})"

        return duplicate
    if check == "isin":
        return _unknown_value(spec, frame[col])
    values = out[col]
    if check == FINITE:
        return lambda i: f"infinite value ({fmt_num(values[i])})"
    if check == WHOLE_NUMBER:
        return lambda i: f"must be a whole number, got {shown_value(col, fmt_num(values[i]))}"
    lo_msg, hi_msg = bound_messages(spec)
    if check.startswith("greater_than"):
        return lambda i: f"{lo_msg}, got {shown_value(col, fmt_num(values[i]))}"
    if check.startswith("less_than"):
        return lambda i: (
            f"{hi_msg}, got {shown_value(col, fmt_num(values[i]))}{rate_hint(spec, values[i])}"
        )
    raise AssertionError(f"no message for the check {check!r} of {col}")


def _arrears_message(out: Mapping[str, Any]) -> Callable[[int], str]:
    """Row ``i``'s arrears problem, in the words of the one-account check
    (:func:`solver.core.cleaning.arrears_problem`)."""
    cap = out["principal"] + out["interest_due"]
    arrears = out["arrears"]
    return lambda i: arrears_problem(float(arrears[i]), float(cap[i]))


def _typed_frame(
    out: dict[str, Any], n: int, tiering: TieringRules | None
) -> tuple[pd.DataFrame, int]:
    """The validated portfolio (blank tiers derived, the columns typed, ``dpd_bucket``
    added) and how many tiers were derived."""
    import pandas as pd

    dpd = out["dpd"].astype(np.int64)
    tier = pd.Series(out["tier"])
    blank_tier = (tier == "").to_numpy(dtype=bool)
    if blank_tier.any():
        derived = derive_tier(out["credit_score"], dpd, tiering)
        codes = np.searchsorted(np.asarray(TIERS), derived)
        tier = tier.mask(blank_tier, pd.Series(_labels(codes, TIERS)))
    out["tier"] = tier.array
    result = pd.DataFrame(
        {name: _to_column(SPECS[name], out[name]) for name in COLUMNS}, index=pd.RangeIndex(n)
    )
    result["dpd_bucket"] = _labels(bucket_index(dpd), DPD_BUCKETS)
    return result, int(blank_tier.sum())


def _labels(codes: np.ndarray, labels: tuple[str, ...]) -> Any:
    """A ``str`` column from integer codes into ``labels`` (fast for millions of rows)."""
    import pandas as pd

    return pd.Series(pd.Categorical.from_codes(codes, categories=list(labels))).astype("str").array


def _unknown_value(spec: FieldSpec, series: pd.Series) -> Callable[[int], str]:
    allowed = ", ".join(spec.allowed or ())
    return lambda i: f"unknown {spec.name} {fmt_raw(series.iloc[i])} (allowed: {allowed})"


def _not_a_number(col: str, series: pd.Series) -> Callable[[int], str]:
    return lambda i: f"not a number: {shown_value(col, fmt_raw(series.iloc[i]))}"


def _not_a_bool(series: pd.Series) -> Callable[[int], str]:
    return lambda i: f"expected true/false, got {fmt_raw(series.iloc[i])}"


def _filler(spec: FieldSpec, n: int, value: Any = None) -> Any:
    import pandas as pd

    if spec.kind in ("forecast", "inflows"):
        return np.full(n, None, dtype=object)
    if spec.kind in ("id", "text", "category"):
        return pd.array(np.full(n, value if value is not None else "", dtype=object), dtype="str")
    if spec.kind == "bool":
        return np.full(n, bool(value))
    fill = np.nan if value is None else float(value)
    return np.full(n, fill, dtype=float)


def _to_column(spec: FieldSpec, values: Any) -> Any:
    import pandas as pd

    if spec.kind in ("id", "text", "category"):
        if isinstance(values, np.ndarray):
            return pd.array(values.astype(object), dtype="str")
        return values
    if spec.kind == "int":
        return np.where(np.isfinite(values), values, 0).astype(np.int64)
    if spec.kind == "bool":
        return np.asarray(values, dtype=bool)
    if spec.kind in ("forecast", "inflows"):
        return values  # an object array of tuples / None (never a 2-D array)
    return np.asarray(values, dtype=np.float64)
