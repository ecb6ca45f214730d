"""Monthly payment history of any book (issue 18): reading, validation, default definition.

The long format (documented in docs/history.md) has one row per account and month:

=============== =========================================================================
column          meaning
=============== =========================================================================
``account_id``  account (text), required
``month``       ``YYYY-MM`` (or a year-first date, or an integer month number), required
``amount_due``  amount due in the month (instalment plus overdue amounts), >= 0, required
``amount_paid`` amount paid in the month, >= 0, required
``dpd``         days past due at the month's end, whole number >= 0, required
``status``      ``open``, ``paid`` (closed, paid off) or ``charged_off``, required
``balance``     outstanding balance at the month's end (any number), optional
``credit_limit`` credit limit (revolving products), > 0, optional
``tier``        risk tier A-E (for calibration without a book), optional
=============== =========================================================================

An account's months are consecutive (no gaps) and nothing follows a ``paid`` or
``charged_off`` row: the status is absorbing. Every problem is reported with the file,
the row (counted from 1 after the header) and the column (SPEC §3 conventions).

**Default** (:class:`DefaultDefinition`): a month is in default when the account is
charged off or ``dpd >=`` the threshold (90 by default, the Basel "90 days past due"
rule; both parts configurable). A *delinquency transition* is any other move to a worse
dpd bucket; the two are kept apart (:mod:`solver.risk.transitions`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from solver.core.columns import parse_numeric
from solver.core.frame_checks import NUMBER, WHOLE_NUMBER, failures, number, whole_number
from solver.core.tiering import dpd_bucket
from solver.domain import ABSORBING_STATES, DEFAULT_DPD, HISTORY_STATUSES, TIERS
from solver.errors import InputError
from solver.risk._tables import RowProblems, TableSource, read_table, source_label

__all__ = [
    "HISTORY_OPTIONAL",
    "HISTORY_REQUIRED",
    "NOT_A_MONTH",
    "DefaultDefinition",
    "history_panel",
    "is_history_table",
    "month_ordinal",
    "read_history",
    "validate_history",
]

HISTORY_REQUIRED: tuple[str, ...] = (
    "account_id",
    "month",
    "amount_due",
    "amount_paid",
    "dpd",
    "status",
)
HISTORY_OPTIONAL: tuple[str, ...] = ("balance", "credit_limit", "tier")


@dataclass(frozen=True)
class DefaultDefinition:
    """What counts as default in a history: charge-off and/or ``dpd >= dpd_threshold``.

    ``dpd_threshold = None`` leaves only the charge-off; ``charge_off = False`` only dpd.
    """

    dpd_threshold: int | None = DEFAULT_DPD
    charge_off: bool = True

    def __post_init__(self) -> None:
        if self.dpd_threshold is None and not self.charge_off:
            raise InputError("the default definition needs charge-off or a dpd threshold")
        if self.dpd_threshold is not None and self.dpd_threshold < 1:
            raise InputError(f"the default dpd threshold must be >= 1, got {self.dpd_threshold}")

    def in_default(self, dpd: np.ndarray, status: np.ndarray) -> np.ndarray:
        """True for months in default."""
        flag = np.zeros(np.shape(dpd), dtype=bool)
        if self.charge_off:
            flag |= np.asarray(status) == "charged_off"
        if self.dpd_threshold is not None:
            flag |= np.asarray(dpd) >= self.dpd_threshold
        return flag

    def describe(self) -> str:
        """E.g. ``charge-off or 90+ dpd``."""
        parts = (["charge-off"] if self.charge_off else []) + (
            [f"{self.dpd_threshold}+ dpd"] if self.dpd_threshold is not None else []
        )
        return " or ".join(parts)


#: The problem of a value :func:`month_ordinal` does not take (the forms it takes).
NOT_A_MONTH = "not a month (use YYYY-MM, a date or an integer)"


def month_ordinal(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Monthly ordinal of each value (integers as given; dates / ``YYYY-MM`` as periods).

    Text must be year-first (``2024-01``, ``2024-01-31``, ``2024/01``, optionally with a
    time): day/month orders such as ``03/04/2024`` are ambiguous and are rejected.
    """
    if pd.api.types.is_integer_dtype(values):
        return values.to_numpy(dtype=np.int64), np.zeros(len(values), dtype=bool)
    if pd.api.types.is_float_dtype(values):  # whole numbers read as floats (Excel, NaN)
        number = values.to_numpy(dtype=float)
        bad = ~np.isfinite(number) | (np.round(number) != number)
        return np.where(bad, 0, number).astype(np.int64), bad
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.Series(values)
    else:
        parts = (
            values.astype(str)
            .str.strip()
            .str.extract(r"^(\d{4})[-/](\d{1,2})(?:[-/](\d{1,2}))?(?:[ T][0-9:.]*)?$")
        )
        iso = parts[0] + "-" + parts[1].str.zfill(2) + "-" + parts[2].fillna("1").str.zfill(2)
        parsed = pd.to_datetime(iso, errors="coerce", format="%Y-%m-%d")
    bad = parsed.isna().to_numpy()
    ordinal = np.zeros(len(values), dtype=np.int64)
    ok = ~bad
    ordinal[ok] = (parsed[ok].dt.year.to_numpy() * 12 + parsed[ok].dt.month.to_numpy() - 1).astype(
        np.int64
    )
    return ordinal, bad


def is_history_table(columns: object) -> bool:
    """True when ``columns`` hold every required history column."""
    names = {str(c).strip() for c in columns}  # type: ignore[attr-defined]
    return set(HISTORY_REQUIRED) <= names


def validate_history(frame: pd.DataFrame, source: str = "<history>") -> pd.DataFrame:
    """Check and normalise a payment history.

    Returns the rows sorted by account and month with ``account_id`` (str), ``month`` (as
    given), ``month_index`` (int64 monthly ordinal), ``amount_due``, ``amount_paid``
    (float64), ``dpd`` (int64), ``status`` (str) and the optional columns present.

    Raises
    ------
    InputError
        Listing every problem (missing columns, numbers, ranges, statuses, months,
        duplicate or missing months, rows after a closing status).
    """
    df = frame.reset_index(drop=True)  # a copy; rows by position
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in HISTORY_REQUIRED if c not in df.columns]
    if missing:
        raise InputError(
            f"{source}: missing required history columns: {', '.join(missing)} (a payment "
            f"history has {', '.join(HISTORY_REQUIRED)}; see docs/history.md)"
        )
    if len(df) == 0:
        raise InputError(f"{source}: the history has no rows")
    account_id = df["account_id"].astype(str).str.strip()
    status = df["status"].astype(str).str.strip().str.lower()
    month_index, bad_month = month_ordinal(df["month"])  # parsed once: checked, then used
    # the project's one numeric parser (solver.core.columns): its blank cells are reported
    # as missing, the rest of what is not a finite number as not a number
    parsed = {c: parse_numeric(df[c]) for c in _NUMBERS if c in df.columns}
    checked = pd.DataFrame(
        {
            "account_id": account_id.mask(df["account_id"].isna() | (account_id == "")),
            **{c: values for c, (values, _, _) in parsed.items()},
            "status": status,
            **({"tier": df["tier"].astype(str).str.strip()} if "tier" in df.columns else {}),
        },
    )
    problems = RowProblems(source, df, account_id)
    found = {
        (f.column, f.check): f.rows
        for f in failures(_history_schema(), checked, one_per_cell=False)
    }
    for column, checks, what in _CELL_PROBLEMS:
        hit = [found[column, check] for check in checks if (column, check) in found]
        if not hit:
            continue
        rows = np.logical_or.reduce(hit)  # a cell failing two checks of one problem: one line
        if checks == (NUMBER,):  # a blank cell is missing; any other, not a number
            blank = parsed[column][2]
            problems.report(rows & blank, column, "missing value (a number is required)", got=False)
            rows &= ~blank
        problems.report(rows, column, what)
    problems.report(bad_month, "month", NOT_A_MONTH)
    problems.raise_any()
    # order checks on clean rows, in account and month order: duplicates, gaps, rows after
    # a closing status (the sorted frame keeps the rows' positions as its index)
    order = np.lexsort((month_index, account_id.to_numpy()))
    ids = account_id.to_numpy()[order]
    closed = status.to_numpy()[order] != "open"
    in_order = pd.DataFrame(
        {
            "same_account": np.r_[False, ids[1:] == ids[:-1]],
            "month_step": np.r_[0, np.diff(month_index[order])],
            "closed_before": np.r_[False, closed[:-1]],
        },
        index=order,
    )
    out_of_order = {f.check: f.rows for f in failures(_sequence_schema(), in_order)}
    for check, what in _SEQUENCE_PROBLEMS:
        if check in out_of_order:
            problems.report(out_of_order[check], "month", what)
    problems.raise_any()
    df["account_id"] = account_id
    df["status"] = status
    if "tier" in df.columns:
        df["tier"] = checked["tier"]
    df["month_index"] = month_index
    for column in parsed:
        df[column] = checked[column].to_numpy()
    df["dpd"] = checked["dpd"].to_numpy().astype(np.int64)
    return df.iloc[order].reset_index(drop=True)


# ----------------------------------------------------------------------------------------
# The history's schema (pandera, solver.core.frame_checks): one problem line per failing
# problem of _CELL_PROBLEMS (at most 50 rows each), listed by row, then column, then the
# order of _CELL_PROBLEMS (RowProblems, session 19: until then problem by problem); unlike
# the account book a cell may fail two problems (-inf: not a number, < 0). The months are checked by month_ordinal's parse (a month that does not parse is
# the one month problem a cell can have).
# ----------------------------------------------------------------------------------------

_NUMBERS = ("amount_due", "amount_paid", "dpd", "balance", "credit_limit")


@cache
def _history_schema() -> pa.DataFrameSchema:
    """The cells of a payment history (the required columns are checked before)."""

    def amount(*checks: pa.Check, required: bool = True) -> pa.Column:
        return pa.Column("float64", [number(), *checks], nullable=True, required=required)

    return pa.DataFrameSchema(
        {
            "account_id": pa.Column("str", nullable=False),
            "amount_due": amount(pa.Check.ge(0)),
            "amount_paid": amount(pa.Check.ge(0)),
            "dpd": amount(pa.Check.ge(0), whole_number()),
            "balance": amount(required=False),
            "credit_limit": amount(pa.Check.gt(0), required=False),
            "status": pa.Column("str", pa.Check.isin(HISTORY_STATUSES, ignore_na=False)),
            "tier": pa.Column("str", pa.Check.isin(TIERS, ignore_na=False), required=False),
        },
        name="payment history",
    )


#: (column, the checks of one problem, what is wrong), in the order the problems are listed.
_CELL_PROBLEMS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("account_id", ("not_nullable",), "missing id"),
    *((column, (NUMBER,), "not a number") for column in _NUMBERS),
    ("amount_due", ("greater_than_or_equal_to",), "must be >= 0"),
    ("amount_paid", ("greater_than_or_equal_to",), "must be >= 0"),
    ("dpd", ("greater_than_or_equal_to", WHOLE_NUMBER), "must be a whole number >= 0"),
    ("credit_limit", ("greater_than",), "must be > 0"),
    ("status", ("isin",), f"must be one of {', '.join(HISTORY_STATUSES)}"),
    ("tier", ("isin",), f"must be one of {', '.join(TIERS)}"),
)


@cache
def _sequence_schema() -> pa.DataFrameSchema:
    """An account's months, sorted by account and month: consecutive, closing absorbs.

    The frame holds, for each row, whether the row before is of the same account
    (``same_account``), the months since that row (``month_step``) and whether it closed
    the account (``closed_before``), computed once by :func:`validate_history`."""

    def after_same(problem: Callable[[pd.DataFrame], pd.Series]) -> Callable[..., Any]:
        return lambda frame: ~(frame["same_account"] & problem(frame))

    return pa.DataFrameSchema(
        checks=[
            pa.Check(after_same(lambda f: f["month_step"] == 0), name="no_duplicate_month"),
            pa.Check(after_same(lambda f: f["month_step"] > 1), name="consecutive_months"),
            pa.Check(after_same(lambda f: f["closed_before"]), name="closing_absorbs"),
        ],
        name="payment history months",
    )


_SEQUENCE_PROBLEMS: tuple[tuple[str, str], ...] = (
    ("no_duplicate_month", "duplicate month for this account"),
    ("consecutive_months", "months must be consecutive: the month before is missing"),
    ("closing_absorbs", "a row after the account was paid or charged off"),
)


def read_history(path: TableSource) -> pd.DataFrame:
    """Read and validate a payment history (CSV, Parquet or Excel); see :func:`validate_history`."""
    return validate_history(read_table(path), source=source_label(path))


def history_panel(history: pd.DataFrame) -> pd.DataFrame:
    """The status panel of a validated history for roll rates: ``account_id, month,
    dpd_bucket`` (the dpd bucket, or ``paid`` / ``charged_off`` on closing rows), then the
    history's other columns (``balance``, ``tier``, ``credit_limit``, any of the file's own).

    Decision (s24): every column is kept, so that ``risk rollrates HISTORY --segment tier``
    (or any column of the file) and ``--weight balance`` work as on a panel; until then only
    ``balance`` was kept and ``--segment tier`` failed on the documented ``tier`` column.
    A history's columns may change from month to month (a tier is re-rated): as on any panel,
    a transition belongs to the segment of its start month (:func:`~solver.risk.rollrates.roll_rates`).
    """
    bucket = np.where(
        np.isin(history["status"].to_numpy(), ABSORBING_STATES),
        history["status"].to_numpy(dtype=object),
        np.asarray(dpd_bucket(history["dpd"].to_numpy()), dtype=object),
    )
    panel = pd.DataFrame(
        {
            "account_id": history["account_id"].to_numpy(),
            "month": history["month"].to_numpy(),
            "dpd_bucket": bucket,
        }
    )
    for column in history.columns:
        if column not in panel.columns and column != "month_index":
            panel[column] = history[column].to_numpy()
    return panel
