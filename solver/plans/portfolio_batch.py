"""The recommended plans of one batch of a portfolio (SPEC §6 at scale): the per-account
work of :func:`solver.plans.portfolio.plan_portfolio`.

A batch's accounts are planned under one :class:`~solver.plans.context.PlanContext` per
product (so the search is vectorised over them) by the logic of
:func:`~solver.plans.options.plan_options`, with only the recommendation reported: one
row per account (:data:`PORTFOLIO_COLUMNS`, the ``plans.csv`` of ``workout
plan-portfolio``) and the plan each account follows. An account whose planning fails gets
an ``ERROR`` row; the others are unaffected. :func:`plan_batch` is that work on a frame
(the function the engines call per partition); :func:`rows_worker` on a row range of the
columns a worker process already holds, its answer a compact :class:`BatchPart`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from solver.core.account import Account, frame_columns
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.core.schedule import stacked_columns
from solver.domain import Status
from solver.plans.context import context_from_columns
from solver.plans.followed import FollowedSchedules
from solver.plans.options import plan_results
from solver.plans.plan_records import PlanOption, PlanResult
from solver.plans.search_types import SearchParams
from solver.plans.terms import TABLE_TERMS, holiday_text

PORTFOLIO_COLUMNS = (
    "account_id",
    "product",
    "tier",
    "status",
    "family",
    "label",
    *TABLE_TERMS,
    "levels",
    "first_payment",
    "max_payment",
    "npv",
    "npv_vs_status_quo",
    "status_quo_npv",
    "waterfall_npv",
    "waterfall_feasible",
    "pd_12m",
    "apr",
    "customer_cost",
    "solver_status",
    "bound",
    "gap",
    "bound_over",
    "explanation",
    "error",
)

#: A row's values as a tuple in :data:`PORTFOLIO_COLUMNS` order (one C-level call a row)
_in_column_order = itemgetter(*PORTFOLIO_COLUMNS)

#: An account's holidays as its payments text shows them: the runs of months (first, last)
#: and what a holiday month pays (:attr:`~solver.plans.terms.PlanTerms.holidays`,
#: :attr:`~solver.plans.terms.PlanTerms.holiday_pays`).
Holidays = tuple[tuple[tuple[int, int], ...], str]
_NO_HOLIDAYS: Holidays = ((), "0")


def _row(res: PlanResult, acc: Any) -> dict[str, Any]:
    opt = res.recommended_option
    wf = res.option("waterfall")
    follow = opt or res.status_quo
    pay = follow.payments
    row: dict[str, Any] = {
        "account_id": str(acc.account_id),
        "product": acc.product,
        "tier": acc.tier,
        "status": res.status,
        "family": None if opt is None else opt.family,
        "label": res.recommended,
        "term": int(follow.schedule.term) if follow.schedule is not None else 0,
        "deferral_months": None if opt is None else opt.terms.deferral_months,
        # where the holidays are ("1–3, 8–13"): a free custom plan may pause mid-plan
        "holiday_months": (holiday_text(opt.terms.holidays) or None) if opt is not None else None,
        "deferral_mode": None if opt is None else opt.terms.deferral_mode,
        "rate": None if opt is None else opt.terms.rate,
        "fee_waiver": None if opt is None else _share(opt.terms.fee_waiver),
        "interest_waiver": None if opt is None else _share(opt.terms.interest_waiver),
        "haircut": None if opt is None else _share(opt.terms.haircut),
        "levels": None if opt is None else " / ".join(f"{x:.2f}" for x in opt.terms.levels or ()),
        "first_payment": float(pay[0]) if pay.size else None,
        "max_payment": float(pay.max()) if pay.size else None,
        "npv": follow.npv,
        "npv_vs_status_quo": follow.npv_vs_status_quo,
        "status_quo_npv": res.status_quo.npv,
        "waterfall_npv": wf.npv if wf.schedule is not None else None,
        "waterfall_feasible": bool(wf.feasible),
        "pd_12m": follow.pd_12m,
        "apr": follow.apr,
        "customer_cost": follow.customer_cost,
        "solver_status": None if opt is None else opt.status,
        "bound": None if opt is None else opt.bound,
        "gap": None if opt is None else opt.gap,
        # what custom's / step's certificate is proved over (payment_grid / every_amount);
        # empty for the level families, which are exact over their own stated grids
        "bound_over": (opt.bound_over or None) if opt is not None else None,
        "explanation": res.explanation,
        "error": None,
    }
    return row


def _share(value: float | None) -> float:
    """A waiver or haircut share for the table: 0 for a family without one."""
    return 0.0 if value is None else value


def plan_batch(
    frame: pd.DataFrame,
    policy: Policy | None = None,
    model: BehaviourModel | None = None,
    search: SearchParams | None = None,
) -> pd.DataFrame:
    """Recommended plan of every account of a validated portfolio frame (pure function).

    One row per account (``PORTFOLIO_COLUMNS``) in the frame's order. An account whose
    planning raises gets ``status = "ERROR"`` and the message in ``error``; the others
    are unaffected. Same input, same output: no randomness, no global state — the
    function the local process pool and the Dask engine call per partition.
    """
    rows, _ = _plan_rows(frame_columns(frame), len(frame), policy, model, search)
    return pd.DataFrame(rows, columns=list(PORTFOLIO_COLUMNS))


def _plan_rows(
    columns: Mapping[str, np.ndarray],
    n: int,
    policy: Policy | None,
    model: BehaviourModel | None,
    search: SearchParams | None,
) -> tuple[list[Any], list[PlanOption | None]]:
    """The table rows and the followed options (the recommended plan, else the status quo;
    ``None`` for an account that failed or has no schedule) of the ``n`` accounts whose
    frame ``columns`` (:func:`~solver.core.account.frame_columns`) are given."""
    policy = policy or Policy()
    model = model or BehaviourModel()
    search = search or SearchParams()
    accounts = Account.from_columns(columns, n)
    rows: list[dict[str, Any] | None] = [None] * n
    follow: list[PlanOption | None] = [None] * n
    products = np.asarray(columns["product"], dtype=object)
    for product in sorted(set(products.tolist())):
        idx = np.flatnonzero(products == product)
        pol = policy.for_product(product)
        results: list[Any]
        try:
            results = _solve_group(columns, idx, accounts, pol, model, search)
        except Exception:  # one bad account must not stop the others: retry one by one
            results = []
            for i in idx:
                try:
                    one = np.array([i])
                    results.extend(_solve_group(columns, one, accounts, pol, model, search))
                except Exception as exc:  # noqa: BLE001 - reported in the row
                    results.append(exc)
        for i, res in zip(idx, results, strict=True):
            acc = accounts[i]
            if isinstance(res, Exception):
                rows[i] = _error_row(acc, res)
                continue
            rows[i] = _row(res, acc)
            f = res.recommended_option or res.status_quo
            if f.schedule is not None:
                follow[i] = f
    return rows, follow


def _error_row(acc: Any, exc: Exception) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in PORTFOLIO_COLUMNS}
    row.update(
        account_id=str(acc.account_id),
        product=acc.product,
        tier=acc.tier,
        status=Status.ERROR,
        error=f"{type(exc).__name__}: {exc}",
    )
    return row


def _solve_group(
    columns: Mapping[str, np.ndarray],
    idx: np.ndarray,
    accounts: list[Any],
    policy: Policy,
    model: BehaviourModel,
    search: SearchParams,
) -> list[PlanResult]:
    # a batch of one product: all its rows
    sub = columns if idx.size == len(accounts) else take_rows(columns, idx)
    ctx = context_from_columns(sub, policy, model)
    return plan_results(ctx, [accounts[i] for i in idx], search, relax=False, lazy=True)


@dataclass(frozen=True)
class BatchPart:
    """A batch's plans in a compact form (what a worker process sends back): the table's
    rows as tuples in :data:`PORTFOLIO_COLUMNS` order, the followed schedules as
    ``(k, T)`` arrays with their terms and holidays, and their cent rows when asked for."""

    records: list[tuple[Any, ...]]
    payments: np.ndarray
    exposures: np.ndarray
    term: np.ndarray
    holidays: tuple[Holidays, ...]
    schedules: FollowedSchedules | None


def take_rows(columns: Mapping[str, np.ndarray], rows: Any) -> dict[str, np.ndarray]:
    """The ``rows`` (indices or a slice) of every column."""
    return {name: values[rows] for name, values in columns.items()}


def _batch_worker(
    columns: Mapping[str, np.ndarray],
    n: int,
    policy: Policy | None,
    model: BehaviourModel | None,
    search: SearchParams | None,
    schedules: bool = False,
) -> BatchPart:
    """The :class:`BatchPart` of the ``n`` accounts whose frame ``columns`` are given, with
    their cent schedules when ``schedules``."""
    rows, follow = _plan_rows(columns, n, policy, model, search)
    scheds = [None if f is None else f.schedule for f in follow]
    built = [s for s in scheds if s is not None]
    term = np.array([0 if s is None else s.term for s in scheds], dtype=np.int64)
    T = int(term.max(initial=1))
    payments = np.zeros((len(follow), T))
    exposures = np.zeros((len(follow), T))
    live = np.arange(T)[None, :] < term[:, None]  # row r's months, in row order
    if built:
        payments[live] = np.concatenate([s.payments for s in built])
        exposures[live] = np.concatenate([s.exposures for s in built])
    holidays = tuple(
        _NO_HOLIDAYS if f is None else (f.terms.holidays, f.terms.holiday_pays) for f in follow
    )
    followed = None
    if schedules:  # the Schedule objects the search built, as they are: nothing rebuilt
        family = np.array([None if f is None else f.family for f in follow], dtype=object)
        followed = FollowedSchedules(family, stacked_columns(built))
    records = [_in_column_order(row) for row in rows]
    return BatchPart(records, payments, exposures, term, holidays, followed)


def rows_worker(
    columns: Mapping[str, np.ndarray],
    policy: Any,
    model: Any,
    search: Any,
    schedules: bool,
    rows: tuple[int, int],
) -> BatchPart:
    """:func:`_batch_worker` on the rows ``rows[0]:rows[1]`` of a frame's ``columns``."""
    start, end = rows
    part = take_rows(columns, slice(start, end))
    return _batch_worker(part, end - start, policy, model, search, schedules)
