"""Monthly status panels: reading and validating the table roll rates are estimated from.

A panel has one row per account and month: ``account_id``, ``month`` and ``dpd_bucket``
(or ``dpd`` in days, bucketed as in SPEC §5: :func:`dpd_to_bucket`), plus optional
``balance`` and segment columns. :func:`validate_panel` checks one (every problem with its
row); :func:`read_panel` reads one from a file, adapting a UCI credit-card file or a
payment history. The estimator is :func:`solver.risk.rollrates.roll_rates`. Moved out of
:mod:`solver.risk.rollrates` in s25 (size).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from solver.domain import ABSORBING_STATES, BUCKETS
from solver.errors import InputError
from solver.risk._tables import RowProblems, TableSource, read_table, source_label
from solver.risk.history import (
    NOT_A_MONTH,
    history_panel,
    is_history_table,
    month_ordinal,
    validate_history,
)
from solver.risk.layouts import PANEL_REQUIRED, closest_layout
from solver.risk.uci import is_uci_table, normalise_uci, uci_panel

__all__ = ["STATES", "dpd_to_bucket", "read_panel", "validate_panel"]

#: The states of a panel and of the roll-rate chain: the delinquency buckets, then the
#: absorbing states.
STATES: tuple[str, ...] = BUCKETS + ABSORBING_STATES


def dpd_to_bucket(dpd: np.ndarray) -> np.ndarray:
    """SPEC §5 bucket of days past due: M0 0, M1 1-30, M2 31-60, M3 61-90, M4+ > 90."""
    labels = np.array(BUCKETS, dtype=object)
    return labels[np.digitize(np.asarray(dpd, dtype=float), [1, 31, 61, 91])]


def validate_panel(
    frame: pd.DataFrame, source: str = "<panel>", month_index: np.ndarray | None = None
) -> pd.DataFrame:
    """Check and normalise a status panel.

    ``month_index``: the months' ordinals when they are parsed already (a validated
    history's, :func:`solver.risk.history.validate_history`); else ``month`` is parsed here.

    Returns a frame with ``account_id`` (str), ``month`` (as given), ``month_index``
    (int64 monthly ordinal), ``dpd_bucket`` (one of :data:`STATES`), ``balance``
    (float64, when present) and every other column unchanged, sorted by account and month.

    Raises
    ------
    InputError
        Listing every problem: missing columns, unknown buckets, unparseable months,
        non-numeric balances and duplicate (account, month) rows.
    """
    df = frame.copy()
    df.columns = [str(c).strip() for c in df.columns]
    missing = [
        f"{options[0]} (or {', '.join(options[1:])})" if len(options) > 1 else options[0]
        for options in PANEL_REQUIRED
        if not set(options) & set(df.columns)
    ]
    if missing:
        raise InputError(f"{source}: missing required columns: {', '.join(missing)}")
    if len(df) == 0:
        raise InputError(f"{source}: the panel has no rows")
    account_id = df["account_id"].astype(str).str.strip()
    problems = RowProblems(source, df, account_id)
    report = problems.report
    report(df["account_id"].isna().to_numpy(), "account_id", "missing account id")
    if "dpd_bucket" in df.columns:
        bucket = df["dpd_bucket"].astype(str).str.strip()
        bad_bucket = ~bucket.isin(STATES).to_numpy()
        report(bad_bucket, "dpd_bucket", f"must be one of {', '.join(STATES)}")
    else:
        dpd = pd.to_numeric(df["dpd"], errors="coerce")
        # an infinity is not a number of days (it passed `< 0` and bucketed as M4+)
        bad_dpd = ~np.isfinite(dpd.to_numpy(dtype=float)) | (dpd < 0).to_numpy()
        report(bad_dpd, "dpd", "days past due must be a number >= 0")
        bucket = pd.Series(dpd_to_bucket(dpd.fillna(0).to_numpy()), index=df.index)
    if month_index is None:
        month_index, bad_month = month_ordinal(df["month"])
    else:
        bad_month = np.zeros(len(df), dtype=bool)
    report(bad_month, "month", NOT_A_MONTH)
    if "balance" in df.columns:
        balance = pd.to_numeric(df["balance"], errors="coerce")
        # an infinity is not a number either (as in a history, docs/history.md); a blank
        # cell is told as a missing value (RowProblems)
        report(~np.isfinite(balance.to_numpy(dtype=float)), "balance", "not a number")
        df["balance"] = balance.astype(float)
    key = pd.DataFrame({"a": account_id, "m": month_index})
    duplicated = key.duplicated(keep="first").to_numpy() & ~bad_month
    report(duplicated, "month", "duplicate month for this account")
    problems.raise_any()
    df["account_id"] = account_id
    df["dpd_bucket"] = bucket.to_numpy(dtype=object)
    df["month_index"] = month_index
    return df.sort_values(["account_id", "month_index"], kind="stable").reset_index(drop=True)


def read_panel(path: TableSource) -> pd.DataFrame:
    """Read and validate a status panel (CSV, Parquet or Excel); see :func:`validate_panel`.

    A UCI credit-card file (``ID,X1..X23,Y``) is recognised and adapted with
    :func:`solver.risk.uci.uci_panel`; a payment history (:mod:`solver.risk.history`) with
    :func:`solver.risk.history.history_panel` (its months parsed once, by the history's
    validation).
    """
    frame = read_table(path)
    source = source_label(path)
    # what a --segment or --weight that is not a column is told it may choose from: the
    # file's columns, or for UCI the adapter's (its X1..X23 are not panel columns)
    shown = ("the file's columns", [str(c).strip() for c in frame.columns])
    if is_uci_table(frame.columns):
        frame = uci_panel(normalise_uci(frame, source=source))
        shown = ("columns of the UCI file's panel", list(frame.columns))
    elif is_history_table(frame.columns) and "dpd_bucket" not in frame.columns:
        history = validate_history(frame, source=source)
        panel = validate_panel(
            history_panel(history), source=source, month_index=history["month_index"].to_numpy()
        )
        panel.attrs["columns_shown"] = shown
        return panel
    else:  # a panel, or a table lacking a column of one of the three layouts
        layout = closest_layout(frame.columns, ("panel", "history", "uci"))
        if layout == "history":
            validate_history(frame, source=source)  # its missing-columns error
        elif layout == "uci":
            normalise_uci(frame, source=source)  # its missing-columns error
    panel = validate_panel(frame, source=source)
    panel.attrs["columns_shown"] = shown
    return panel
