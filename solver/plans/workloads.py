"""Plans for a portfolio through an engine: the per-partition workloads of
``workout plan-portfolio`` on Dask and of the scenario's plan stage, beside the plans they
compute (issue 14: workloads beside their domains).

:func:`plan_partition` plans one partition in process; :func:`plan_portfolio_on` runs the
partitions on an engine and :func:`combine_portfolio_plans` puts the results back in
order, so the outcome equals :func:`solver.plans.portfolio.plan_portfolio` on the whole book;
:func:`sum_summaries` adds up the partitions' summary tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from solver.engines.base import Engine, ProgressFn
from solver.engines.partitions import concat_partitions
from solver.plans import portfolio

__all__ = ["combine_portfolio_plans", "plan_partition", "plan_portfolio_on", "sum_summaries"]


def combine_portfolio_plans(parts: Sequence[Any]) -> Any:
    """One :class:`solver.plans.portfolio.PortfolioPlans` from per-partition ones, in order.

    Tables are concatenated (:func:`concat_partitions`: the dtypes of one call on all the
    rows) and the rest stacked by :func:`solver.plans.portfolio.concat_plans`: the schedule
    arrays padded with zeros to the longest plan, the holidays, and the cent schedules when
    the partitions carry them, as :func:`solver.plans.portfolio.plan_portfolio` gives them
    for a whole portfolio.
    """
    return portfolio.concat_plans(parts, table=concat_partitions([p.table for p in parts]))


def plan_partition(frame: Any, policy: Any = None, model: Any = None, search: Any = None) -> Any:
    """The plan table of a partition: :func:`solver.plans.portfolio.plan_portfolio` on it, in process.

    ``plan_portfolio`` plans in batches of 64 accounts (what keeps the vectorised search in
    cache and its memory small); an account's plan does not depend on its batch, so the
    table equals :func:`solver.plans.portfolio_batch.plan_batch` on the same rows.
    """
    return _plan_partition(frame, policy, model, search).table


def _plan_partition(
    frame: Any, policy: Any, model: Any, search: Any, schedules: bool = False
) -> Any:
    kwargs: dict[str, Any] = {} if search is None else {"search": search}
    if schedules:
        kwargs["schedules"] = True
    # looked up at call time: the portfolio module's function (tests may stand in for it)
    return portfolio.plan_portfolio(frame, policy, model, jobs=1, **kwargs)


def plan_portfolio_on(
    engine: Engine,
    frame: Any,
    policy: Any = None,
    model: Any = None,
    *,
    search: Any = None,
    partitions: int | None = None,
    progress: ProgressFn | None = None,
    schedules: bool = False,
) -> Any:
    """:func:`solver.plans.portfolio.plan_portfolio` with the partitions run by ``engine``.

    Each partition runs ``plan_portfolio`` itself (the local code path, in batches of 64
    accounts); the results are put back in order by :func:`combine_portfolio_plans`, so the
    outcome is identical. ``schedules``: the workers also send the followed schedules'
    cent rows (as ``plan_portfolio(..., schedules=True)``); off, they are not built.
    """
    result = engine.map_partitions(
        _plan_partition,
        frame,
        policy,
        model,
        search,
        schedules,
        partitions=partitions,
        progress=progress,
        concat=False,
    )
    return combine_portfolio_plans(result.results)


def sum_summaries(parts: Sequence[Any], keys: Sequence[str]) -> Any:
    """Add up per-partition summary tables (counts and sums) by ``keys``.

    Groups of the first key keep the order in which they first appear; rows within a
    group are sorted by the other keys (the order of :func:`solver.plans.portfolio.portfolio_summary`).
    """
    both = pd.concat([p for p in parts if p is not None], ignore_index=True)
    if both.empty:
        return both
    out = both.groupby(list(keys), sort=False, dropna=False).sum(numeric_only=True).reset_index()
    first = {v: k for k, v in enumerate(pd.unique(both[keys[0]]))}
    out["_rank"] = out[keys[0]].map(first)
    out = out.sort_values(["_rank", *keys[1:]], kind="stable").drop(columns="_rank")
    return out.reset_index(drop=True)
