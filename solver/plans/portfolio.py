"""Recommended plans of a whole portfolio (SPEC §6 at scale): ``plan_portfolio``.

Accounts are planned in batches of one product each, in this process or in worker
processes, by :mod:`solver.plans.portfolio_batch` (one row per account,
:data:`~solver.plans.portfolio_batch.PORTFOLIO_COLUMNS`, and the schedule each account
follows); :func:`plan_portfolio` cuts the batches, runs them and puts the rows back in the
frame's order, with the followed schedules as arrays for the scenario engine.
:func:`portfolio_summary` counts and totals the table by tier and product.

The written schedules (``plan-portfolio --schedules``, :func:`~solver.plans.followed.schedules_table`) are the
cent rows of the very :class:`~solver.core.schedule.Schedule` each account's plan search
built -- the schedule ``workout plan ACCOUNT --schedule FAMILY`` shows -- carried out of
the workers only when asked for (``schedules=True``): a run without them (the scenario
engine, a plans file alone) neither stacks nor ships them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from solver.core.account import frame_columns
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.domain import Status
from solver.engines.local import LocalPool
from solver.plans.followed import FollowedSchedules, stack_followed
from solver.plans.portfolio_batch import (
    PORTFOLIO_COLUMNS,
    BatchPart,
    Holidays,
    rows_worker,
    take_rows,
)
from solver.plans.search_types import SearchParams

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


def _assemble(parts: Sequence[BatchPart], order: np.ndarray | None = None) -> PortfolioPlans:
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
    grouped = take_rows(columns, order)
    products = grouped["product"].astype(object)
    cuts = [0, *np.flatnonzero(products[1:] != products[:-1]) + 1, n]
    bounds = [
        (s, min(s + batch_size, end))
        for start, end in zip(cuts[:-1], cuts[1:], strict=True)
        for s in range(start, end, batch_size)
    ]
    sizes = [e - s for s, e in bounds]
    work = partial(rows_worker, grouped, policy, model, search, schedules)
    parts: list[BatchPart] = []
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
        done: list[BatchPart | None] = [None] * len(bounds)
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
