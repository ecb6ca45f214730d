"""Recommended plans of a whole portfolio (SPEC §6 at scale): ``plan_portfolio``.

Accounts are planned in batches (one :class:`~solver.plans.context.PlanContext` per batch
and product, so the search is vectorised over the batch) by the logic of
:func:`~solver.plans.options.plan_options`, with only the recommendation reported: one
row per account (:data:`PORTFOLIO_COLUMNS`, the ``plans.csv`` of ``workout
plan-portfolio``) and the schedule each account follows, as arrays for the scenario
engine. An account whose planning fails gets an ``ERROR`` row; the others are
unaffected. :func:`portfolio_summary` counts and totals the table by tier and product.

The written schedules (``plan-portfolio --schedules``, :func:`~solver.plans.followed.schedules_table`) are the
cent rows of the very :class:`~solver.core.schedule.Schedule` each account's plan search
built -- the schedule ``workout plan ACCOUNT --schedule FAMILY`` shows -- carried out of
the workers only when asked for (``schedules=True``): a run without them (the scenario
engine, a plans file alone) neither stacks nor ships them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from solver.core.account import Account, frame_columns
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.core.schedule import stacked_columns
from solver.domain import Status
from solver.engines.local import LocalPool
from solver.plans.context import context_from_columns
from solver.plans.followed import FollowedSchedules, stack_followed
from solver.plans.options import PlanOption, PlanResult, plan_results
from solver.plans.search_types import SearchParams
from solver.plans.terms import TABLE_TERMS, holiday_text

CERTIFIED_GAP = 1e-3  # a recommendation counts as certified within this proven gap (issue 13)
#: The summary's counts of accounts by outcome (:func:`portfolio_summary`): each count's
#: column and the account status it counts, in the summary's column order.
OUTCOME_COUNTS: dict[str, Status] = {
    "restructured": Status.RECOMMENDED,
    "infeasible": Status.INFEASIBLE,
    "npv_test_failed": Status.NPV_TEST_FAILED,
    "contract_affordable": Status.CONTRACT_AFFORDABLE,
    "errors": Status.ERROR,
}

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


@dataclass(frozen=True)
class PortfolioPlans:
    """Recommended plans of a portfolio.

    Attributes
    ----------
    table
        One row per account (``PORTFOLIO_COLUMNS``).
    payments, exposures
        (n, T_max) float arrays of the plan each account follows: the recommended plan,
        or the status quo when no plan is recommended (zeros past ``term``).
    term
        Months of that plan (n,); 0 for accounts that failed with an error.
    holidays
        (n,) that plan's :data:`Holidays` (``((), "0")`` for a failed account).
    schedules
        That plan's cent schedules (:class:`FollowedSchedules`) when the run was asked for
        them (``plan_portfolio(..., schedules=True)``), else ``None``.
    """

    table: pd.DataFrame
    payments: np.ndarray
    exposures: np.ndarray
    term: np.ndarray
    holidays: tuple[Holidays, ...]
    schedules: FollowedSchedules | None = None

    def summary(self) -> pd.DataFrame:
        """Counts and NPV totals by tier and product (plus an ``all`` row)."""
        return portfolio_summary(self.table)


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
    sub = columns if idx.size == len(accounts) else _take(columns, idx)
    ctx = context_from_columns(sub, policy, model)
    return plan_results(ctx, [accounts[i] for i in idx], search, relax=False, lazy=True)


@dataclass(frozen=True)
class _Part:
    """A batch's plans in a compact form (what a worker process sends back): the table's
    rows as tuples in :data:`PORTFOLIO_COLUMNS` order, the followed schedules as
    ``(k, T)`` arrays with their terms and holidays, and their cent rows when asked for."""

    records: list[tuple[Any, ...]]
    payments: np.ndarray
    exposures: np.ndarray
    term: np.ndarray
    holidays: tuple[Holidays, ...]
    schedules: FollowedSchedules | None


def _take(columns: Mapping[str, np.ndarray], rows: Any) -> dict[str, np.ndarray]:
    """The ``rows`` (indices or a slice) of every column."""
    return {name: values[rows] for name, values in columns.items()}


def _batch_worker(
    columns: Mapping[str, np.ndarray],
    n: int,
    policy: Policy | None,
    model: BehaviourModel | None,
    search: SearchParams | None,
    schedules: bool = False,
) -> _Part:
    """The :class:`_Part` of the ``n`` accounts whose frame ``columns`` are given, with
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
    return _Part(records, payments, exposures, term, holidays, followed)


def _rows_worker(
    columns: Mapping[str, np.ndarray],
    policy: Any,
    model: Any,
    search: Any,
    schedules: bool,
    rows: tuple[int, int],
) -> _Part:
    """:func:`_batch_worker` on the rows ``rows[0]:rows[1]`` of a frame's ``columns``."""
    start, end = rows
    part = _take(columns, slice(start, end))
    return _batch_worker(part, end - start, policy, model, search, schedules)


def _assemble(parts: Sequence[_Part], order: np.ndarray | None = None) -> PortfolioPlans:
    """The plans of the batches' accounts one after another -- in the frame's order when
    ``order`` (the frame row of each, in that sequence) is given."""
    records = [r for part in parts for r in part.records]
    holidays = [h for part in parts for h in part.holidays]
    n = len(records)
    T = max([part.payments.shape[1] for part in parts] + [1])
    payments = np.zeros((n, T))
    exposures = np.zeros((n, T))
    term = np.zeros(n, dtype=np.int64)
    rows = np.arange(n) if order is None else np.asarray(order, dtype=np.int64)
    back = None  # the sequence position of each frame row, when they differ
    if order is not None:
        back = np.empty(n, dtype=np.int64)
        back[rows] = np.arange(n)
        records = [records[k] for k in back.tolist()]
        holidays = [holidays[k] for k in back.tolist()]
    start = 0
    for part in parts:
        k, width = part.payments.shape
        at = rows[start : start + k]
        payments[at, :width] = part.payments
        exposures[at, :width] = part.exposures
        term[at] = part.term
        start += k
    stacked = [part.schedules for part in parts if part.schedules is not None]
    followed = None
    if parts and len(stacked) == len(parts):
        followed = stack_followed(stacked, [part.term for part in parts], back)
    table = pd.DataFrame(records, columns=list(PORTFOLIO_COLUMNS))
    return PortfolioPlans(table, payments, exposures, term, tuple(holidays), followed)


def concat_plans(
    parts: Sequence[PortfolioPlans], table: pd.DataFrame | None = None
) -> PortfolioPlans:
    """Stack per-batch (or per-partition) :class:`PortfolioPlans`, in order; their
    schedules too when every part has them. ``table``: the parts' tables already stacked
    (:func:`solver.plans.workloads.combine_portfolio_plans`), else ``pd.concat`` of them."""
    T = max([p.payments.shape[1] for p in parts] + [1])

    def pad(a: np.ndarray) -> np.ndarray:
        return np.pad(a, ((0, 0), (0, T - a.shape[1])))

    stacked = [p.schedules for p in parts if p.schedules is not None]
    followed = stack_followed(stacked, []) if parts and len(stacked) == len(parts) else None
    return PortfolioPlans(
        table=pd.concat([p.table for p in parts], ignore_index=True) if table is None else table,
        payments=np.concatenate([pad(p.payments) for p in parts]) if parts else np.zeros((0, T)),
        exposures=np.concatenate([pad(p.exposures) for p in parts]) if parts else np.zeros((0, T)),
        term=np.concatenate([p.term for p in parts]) if parts else np.zeros(0, np.int64),
        holidays=tuple(h for p in parts for h in p.holidays),
        schedules=followed,
    )


def plan_portfolio(
    frame: pd.DataFrame,
    policy: Policy | None = None,
    model: BehaviourModel | None = None,
    *,
    jobs: int = 1,
    batch_size: int = 64,
    search: SearchParams | None = None,
    progress: Callable[[int], None] | None = None,
    schedules: bool = False,
) -> PortfolioPlans:
    """Recommended plan for every account of a portfolio (SPEC §6, at scale).

    Parameters
    ----------
    frame
        Validated portfolio (``solver.core.readers.read_portfolio`` or ``generate_portfolio``).
    jobs
        Local worker processes; batches of ``batch_size`` accounts are planned by
        :func:`plan_batch` logic in each.
    progress
        Called with the number of accounts finished after each batch.
    schedules
        Also carry the followed schedules' cent rows out of the workers
        (:attr:`PortfolioPlans.schedules`, :func:`~solver.plans.followed.schedules_table`); off by default: a
        run that does not write them does not stack or ship them.

    Returns
    -------
    PortfolioPlans
        The table and the followed schedules as arrays for the scenario engine.
    """

    n = len(frame)
    # batches of one product each (an account's plan does not depend on its batch): one
    # plan context per batch instead of one per product and batch
    # each column read from the frame once, here: the batches take slices of the arrays
    columns = frame_columns(frame)
    order = np.argsort(columns["product"].astype(object), kind="stable") if n else np.arange(0)
    grouped = _take(columns, order)
    products = grouped["product"].astype(object)
    cuts = [0, *np.flatnonzero(products[1:] != products[:-1]) + 1, n]
    bounds = [
        (s, min(s + batch_size, end))
        for start, end in zip(cuts[:-1], cuts[1:], strict=True)
        for s in range(start, end, batch_size)
    ]
    sizes = [e - s for s, e in bounds]
    work = partial(_rows_worker, grouped, policy, model, search, schedules)
    parts: list[_Part] = []
    if jobs <= 1 or len(bounds) <= 1:
        for rows in bounds:
            parts.append(work(rows))
            if progress:
                progress(rows[1] - rows[0])
    else:
        # solver.engines.local.LocalPool, not ProcessPoolExecutor: an interruption (SIGINT/SIGTERM
        # becomes an exception here, see commands.common.handle_signals) kills the workers
        # at once and can never leave the parent waiting on a dead worker (issue 15)
        # the largest batches first: the small ones left at the end even out the workers
        sequence = sorted(range(len(bounds)), key=lambda k: -sizes[k])
        done: list[_Part | None] = [None] * len(bounds)
        # the forked workers have the grouped columns and the settings already: a task is
        # only a batch's row range (nothing pickled on the way out)
        with LocalPool(work, min(jobs, len(bounds))) as pool:
            for j, ok, value in pool.run([bounds[k] for k in sequence]):
                if not ok:
                    raise value
                done[sequence[j]] = value
                if progress:
                    progress(sizes[sequence[j]])
        for part in done:
            assert part is not None
            parts.append(part)
    return _assemble(parts, order)


def portfolio_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Accounts restructured / not feasible / failing the NPV test / not needing a plan and NPV uplifts, by tier and product.

    ``certified_0_1pct`` counts the recommendations proved within 0.1 % of their family's
    optimum (status ``OPTIMAL``, or a gap ≤ :data:`CERTIFIED_GAP` from a valid bound).
    """
    t = table.copy()
    for count, status in OUTCOME_COUNTS.items():
        t[count] = t["status"] == status
    t["uplift_vs_status_quo"] = pd.to_numeric(t["npv_vs_status_quo"], errors="coerce").fillna(0.0)
    wf = pd.to_numeric(t["waterfall_npv"], errors="coerce")
    wf_use = wf.where(
        t["waterfall_feasible"].fillna(False).astype(bool),
        pd.to_numeric(t["status_quo_npv"], errors="coerce"),
    )
    t["uplift_vs_waterfall"] = (pd.to_numeric(t["npv"], errors="coerce") - wf_use).fillna(0.0)
    gap = pd.to_numeric(t["gap"], errors="coerce") if "gap" in t else pd.Series(0.0, t.index)
    t["certified_0_1pct"] = t["restructured"] & (gap.fillna(0.0) <= CERTIFIED_GAP)
    aggs = {
        "accounts": ("account_id", "size"),
        **{count: (count, "sum") for count in OUTCOME_COUNTS},
        "certified_0_1pct": ("certified_0_1pct", "sum"),
        "npv": ("npv", "sum"),
        "uplift_vs_status_quo": ("uplift_vs_status_quo", "sum"),
        "uplift_vs_waterfall": ("uplift_vs_waterfall", "sum"),
    }
    parts = []
    for key in ("tier", "product"):
        g = t.groupby(key, dropna=False).agg(**aggs).reset_index().rename(columns={key: "segment"})
        g.insert(0, "by", key)
        parts.append(g)
    t["_all"] = "all"
    g = t.groupby("_all").agg(**aggs).reset_index().rename(columns={"_all": "segment"})
    g.insert(0, "by", "all")
    parts.append(g)
    return pd.concat(parts, ignore_index=True)
