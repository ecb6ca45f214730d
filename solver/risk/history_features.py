"""Behaviour features and fitting samples from a payment history (issue 18).

:func:`history_features` turns the last ``window`` months of a validated history
(:mod:`solver.risk.history`) up to an observation month into one row per account; the
feature set ``history-v1`` is the same for every source (a bank's own book, the generated
history of ``workout generate portfolio --history``, the UCI file through
:func:`solver.risk.uci.uci_history`). Index 0 is the observation month, k months before it
is index k; months an account was not yet observed are NaN (the gradient-boosted trees
send missing values down a learned branch).

Per month: ``dpd_k``, ``due_k``, ``paid_k``, ``pay_ratio_k`` (paid / due; NaN when nothing
was due) and ``util_k`` (balance / credit limit when the history has ``credit_limit``,
else balance / the account's largest balance in the window: a utilisation-like ratio).
Summaries: months delinquent, worst and mean dpd, dpd trend, roll history (moves to a
worse and to a better bucket), months paid in full, months without a payment while
something was due, months with nothing due, total pay ratio and its trend, utilisation
mean / max / trend, mean payment, last payment against the mean, growth of the amount due,
months since the last delinquency (``window`` = none) and months observed.

:func:`history_sample` builds the fitting sample: the observation month is ``horizon``
months before the history's last month; accounts open and not in default then are
followed for ``horizon`` months, and the outcome is default (per the
:class:`~solver.risk.history.DefaultDefinition`) within them. Accounts whose rows stop
early without closing are censored and left out; paid-off accounts count as 0.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from solver.core.tiering import bucket_index
from solver.domain import ABSORBING_STATES
from solver.errors import InputError
from solver.risk.history import DefaultDefinition

__all__ = ["FEATURE_SET", "HistorySample", "history_features", "history_sample"]

FEATURE_SET = "history-v1"
DEFAULT_WINDOW = 6
DEFAULT_HORIZON = 3


@dataclass(frozen=True)
class HistorySample:
    """Accounts observed at one month: their features and (for fitting) their outcome.

    Attributes
    ----------
    account_id
        One per feature row.
    features
        :func:`history_features` table.
    outcome
        0/1 default within ``horizon`` months (``None`` when scoring).
    as_of
        Monthly ordinal of the observation month.
    window, horizon
        Months of history used and months followed.
    censored
        Accounts left out because their rows stop before the outcome is known.
    """

    account_id: np.ndarray
    features: pd.DataFrame
    outcome: np.ndarray | None
    as_of: int
    window: int
    horizon: int
    censored: int = 0


def _wide(
    history: pd.DataFrame, column: str, codes: np.ndarray, lag: np.ndarray, n: int, window: int
) -> np.ndarray:
    """(n, window) array of ``column``, lag 0 = the observation month, NaN where absent."""
    out = np.full((n, window), np.nan)
    out[codes, lag] = history[column].to_numpy(dtype=float)
    return out


def history_features(
    history: pd.DataFrame, as_of: int | None = None, window: int = DEFAULT_WINDOW
) -> tuple[np.ndarray, pd.DataFrame]:
    """Account ids and ``history-v1`` features of the accounts with a row at ``as_of``.

    ``as_of`` is a monthly ordinal (``month_index`` of the validated history; default its
    last month). Only rows within ``window`` months up to ``as_of`` are used.
    """
    if window < 2:
        raise InputError(f"the feature window must be >= 2 months, got {window}")
    month = history["month_index"].to_numpy()
    as_of = int(month.max()) if as_of is None else int(as_of)
    observed_ids = history.loc[month == as_of, "account_id"].to_numpy()
    ids = np.unique(observed_ids)
    lag = as_of - month
    rows = history[(lag >= 0) & (lag < window) & history["account_id"].isin(ids).to_numpy()]
    codes = np.searchsorted(ids, rows["account_id"].to_numpy())
    row_lag = (as_of - rows["month_index"].to_numpy()).astype(np.int64)
    n = ids.size

    def wide(column: str) -> np.ndarray:
        return _wide(rows, column, codes, row_lag, n, window)

    dpd, due, paid = wide("dpd"), wide("amount_due"), wide("amount_paid")
    seen = ~np.isnan(dpd)
    with np.errstate(invalid="ignore", divide="ignore"):
        pay_ratio = np.where(due > 0, paid / due, np.nan)
        if "balance" in rows.columns:
            balance = wide("balance")
            if "credit_limit" in rows.columns:
                util = balance / wide("credit_limit")
            else:
                largest = np.nanmax(np.where(seen, np.abs(balance), 0.0), axis=1)
                util = balance / np.where(largest > 0, largest, np.nan)[:, None]
        else:
            util = np.full((n, window), np.nan)
    columns: dict[str, np.ndarray] = {}
    for name, values in (
        ("dpd", dpd),
        ("due", due),
        ("paid", paid),
        ("pay_ratio", pay_ratio),
        ("util", util),
    ):
        for k in range(window):
            columns[f"{name}_{k}"] = values[:, k]
    columns.update(_summaries(dpd, due, paid, pay_ratio, util, seen, window))
    if "credit_limit" in rows.columns:
        columns["credit_limit"] = wide("credit_limit")[:, 0]
    return ids, pd.DataFrame(columns)


def _summaries(
    dpd: np.ndarray,
    due: np.ndarray,
    paid: np.ndarray,
    pay_ratio: np.ndarray,
    util: np.ndarray,
    seen: np.ndarray,
    window: int,
) -> dict[str, np.ndarray]:
    """The summary features of :func:`history_features` (NaN-aware over observed months)."""
    delinquent = seen & (np.nan_to_num(dpd) > 0)
    bucket = np.where(seen, bucket_index(np.nan_to_num(dpd).astype(np.int64)), -1)
    # lag k+1 -> k is a month forward; compare buckets of consecutive observed months
    both = seen[:, :-1] & seen[:, 1:]
    move = bucket[:, :-1] - bucket[:, 1:]
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        # an account seen only in the observation month has no earlier months: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        earlier_ratio = np.nanmean(np.where(seen[:, 1:], pay_ratio[:, 1:], np.nan), axis=1)
        earlier_dpd = np.nanmean(np.where(seen[:, 1:], dpd[:, 1:], np.nan), axis=1)
        paid_mean = np.nanmean(paid, axis=1)
        out = {
            "months_observed": seen.sum(axis=1).astype(float),
            "months_delinquent": delinquent.sum(axis=1).astype(float),
            "max_dpd": np.nanmax(dpd, axis=1),
            "mean_dpd": np.nanmean(dpd, axis=1),
            "dpd_trend": dpd[:, 0] - earlier_dpd,
            "rolls_forward": (both & (move > 0)).sum(axis=1).astype(float),
            "cures": (both & (move < 0)).sum(axis=1).astype(float),
            "months_paid_in_full": (seen & (due > 0) & (paid >= due)).sum(axis=1).astype(float),
            "months_no_payment": (seen & (due > 0) & (paid == 0)).sum(axis=1).astype(float),
            "months_nothing_due": (seen & (due == 0)).sum(axis=1).astype(float),
            "pay_ratio_total": np.nansum(paid, axis=1) / np.maximum(np.nansum(due, axis=1), 1.0),
            "pay_ratio_trend": pay_ratio[:, 0] - earlier_ratio,
            "util_mean": np.nanmean(util, axis=1),
            "util_max": np.nanmax(util, axis=1),
            "util_trend": util[:, 0] - _last_observed(util, seen),
            "payment_mean": paid_mean,
            "payment_last_to_mean": paid[:, 0] / np.maximum(paid_mean, 1.0),
            "due_growth": (due[:, 0] - due[:, 1]) / np.maximum(np.nanmean(due, axis=1), 1.0),
            "months_since_delinquent": np.where(
                delinquent.any(axis=1), np.argmax(delinquent, axis=1), window
            ).astype(float),
        }
    return out


def _last_observed(values: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Each row's value at its oldest observed month in the window."""
    oldest = seen.shape[1] - 1 - np.argmax(seen[:, ::-1], axis=1)
    return values[np.arange(values.shape[0]), oldest]


def history_sample(
    history: pd.DataFrame,
    *,
    window: int = DEFAULT_WINDOW,
    horizon: int = DEFAULT_HORIZON,
    definition: DefaultDefinition | None = None,
) -> HistorySample:
    """The fitting sample of a history: features at ``last month - horizon`` and default
    within the next ``horizon`` months (module docstring)."""
    definition = definition or DefaultDefinition()
    if horizon < 1:
        raise InputError(f"the outcome horizon must be >= 1 month, got {horizon}")
    month = history["month_index"].to_numpy()
    as_of = int(month.max()) - horizon
    if as_of < int(month.min()):
        raise InputError(
            f"the history spans {int(month.max() - month.min()) + 1} months: too few to follow "
            f"accounts for {horizon} months after an observed month"
        )
    ids, features = history_features(history, as_of, window)
    at = history[month == as_of].set_index("account_id").loc[ids]
    at_risk = (at["status"].to_numpy() == "open") & ~definition.in_default(
        at["dpd"].to_numpy(), at["status"].to_numpy()
    )
    after = history[(month > as_of) & (month <= as_of + horizon)]
    in_default = definition.in_default(after["dpd"].to_numpy(), after["status"].to_numpy())
    defaulted = set(after.loc[in_default, "account_id"])
    last = after.groupby("account_id").agg(
        last_month=("month_index", "max"), last_status=("status", "last")
    )
    last = last.reindex(ids)
    followed = (last["last_month"].to_numpy() == as_of + horizon) | (
        last["last_status"].isin(ABSORBING_STATES).to_numpy()
    )
    outcome = pd.Index(ids).isin(list(defaulted))
    keep = at_risk & (followed | outcome)
    return HistorySample(
        account_id=ids[keep],
        features=features[keep].reset_index(drop=True),
        outcome=outcome[keep].astype(np.int64),
        as_of=as_of,
        window=window,
        horizon=horizon,
        censored=int((at_risk & ~(followed | outcome)).sum()),
    )
