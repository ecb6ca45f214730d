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

from dataclasses import dataclass

import numpy as np
import pandas as pd

from solver.core.tiering import dpd_bucket
from solver.domain import ABSORBING_STATES, DEFAULT_DPD, HISTORY_STATUSES, TIERS
from solver.errors import InputError
from solver.risk._tables import TableSource, problems_error, read_table, shown, source_label

__all__ = [
    "HISTORY_OPTIONAL",
    "HISTORY_REQUIRED",
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
    df = frame.copy()
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in HISTORY_REQUIRED if c not in df.columns]
    if missing:
        raise InputError(
            f"{source}: missing required history columns: {', '.join(missing)} (a payment "
            f"history has {', '.join(HISTORY_REQUIRED)}; see docs/history.md)"
        )
    if len(df) == 0:
        raise InputError(f"{source}: the history has no rows")
    problems: list[str] = []
    account_id = df["account_id"].astype(str).str.strip()

    def report(mask: np.ndarray, column: str, what: str) -> None:
        for pos in np.flatnonzero(mask)[:50]:
            problems.append(
                f"{source}: row {pos + 1} (account_id {account_id.iat[pos]}): {column}: "
                f"{what} (got {shown(df[column].iat[pos])})"
            )

    report((df["account_id"].isna() | (account_id == "")).to_numpy(), "account_id", "missing id")
    numbers: dict[str, np.ndarray] = {}
    for column in ("amount_due", "amount_paid", "dpd", "balance", "credit_limit"):
        if column not in df.columns:
            continue
        values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
        report(~np.isfinite(values), column, "not a number")
        numbers[column] = values
    for column in ("amount_due", "amount_paid"):
        report(numbers[column] < 0, column, "must be >= 0")
    dpd = numbers["dpd"]
    report(
        (dpd < 0) | (np.isfinite(dpd) & (dpd != np.round(dpd))),
        "dpd",
        "must be a whole number >= 0",
    )
    if "credit_limit" in numbers:
        report(numbers["credit_limit"] <= 0, "credit_limit", "must be > 0")
    status = df["status"].astype(str).str.strip().str.lower()
    report(
        ~status.isin(HISTORY_STATUSES).to_numpy(),
        "status",
        f"must be one of {', '.join(HISTORY_STATUSES)}",
    )
    if "tier" in df.columns:
        tier = df["tier"].astype(str).str.strip()
        report(~tier.isin(TIERS).to_numpy(), "tier", f"must be one of {', '.join(TIERS)}")
        df["tier"] = tier
    month_index, bad_month = month_ordinal(df["month"])
    report(bad_month, "month", "not a month (use YYYY-MM, a date or an integer)")
    if problems:
        raise problems_error(source, problems)
    # order checks on clean rows: duplicates, gaps, rows after a closing status
    order = np.lexsort((month_index, account_id.to_numpy()))
    ids, months = account_id.to_numpy()[order], month_index[order]
    same = np.r_[False, ids[1:] == ids[:-1]]
    step = np.r_[0, np.diff(months)]
    closed_before = np.r_[False, status.to_numpy()[order][:-1] != "open"] & same
    for mask, what in (
        (same & (step == 0), "duplicate month for this account"),
        (same & (step > 1), "months must be consecutive: the month before is missing"),
        (closed_before, "a row after the account was paid or charged off"),
    ):
        report(np.isin(np.arange(len(df)), order[mask]), "month", what)
    if problems:
        raise problems_error(source, problems)
    df["account_id"] = account_id
    df["status"] = status
    df["month_index"] = month_index
    for column, values in numbers.items():
        df[column] = values
    df["dpd"] = numbers["dpd"].astype(np.int64)
    return df.iloc[order].reset_index(drop=True)


def read_history(path: TableSource) -> pd.DataFrame:
    """Read and validate a payment history (CSV, Parquet or Excel); see :func:`validate_history`."""
    return validate_history(read_table(path), source=source_label(path))


def history_panel(history: pd.DataFrame) -> pd.DataFrame:
    """The status panel of a validated history for roll rates: ``account_id, month,
    dpd_bucket`` (the dpd bucket, or ``paid`` / ``charged_off`` on closing rows) and
    ``balance`` when the history has it."""
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
    if "balance" in history.columns:
        panel["balance"] = history["balance"].to_numpy()
    return panel
