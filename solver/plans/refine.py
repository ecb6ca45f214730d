"""Tighter certificates for ``custom``: finer bound tables where the gap is wide.

A ``custom`` plan proved no closer than ``SearchParams.target_gap`` gets finer tables (the
next size of ``SearchParams.refine_buckets`` each round), and is searched again only where
their root value does not certify it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from solver.domain import Status
from solver.plans.bounds import bound_at, bound_tables
from solver.plans.context import PlanContext, grid_of
from solver.plans.free_custom import regap
from solver.plans.schedules import path_schedule
from solver.plans.search import solve_runs
from solver.plans.search_types import RunSolution, SearchParams

#: Rounds of refinement at most (each one size finer): 192 → 384 → 768 → 1,536 buckets at
#: the default parameters, where the former formula's two rounds reached 3,072.
ROUNDS = 3


def refine(
    ctx: PlanContext,
    sols: list[RunSolution],
    amounts: np.ndarray,
    grid_step: np.ndarray,
    holiday: np.ndarray,
    search: SearchParams,
    hazards: np.ndarray,
) -> list[RunSolution]:
    """Certify ``custom`` more tightly where the gap is wider than ``search.target_gap``.

    Each round, an account whose gap is still wider gets the next of
    ``search.refine_buckets`` above the tables it was last bounded with (one size a
    round, at most :data:`ROUNDS` rounds). The finer tables' root value is itself a valid
    bound; only where that does not certify the plan is the family searched again
    (seeded with the plan found, keeping the best plan and the smaller bound).
    ``hazards``: the grid's actions' hazards (:func:`solver.plans.bounds.action_hazards`),
    for every table and search.

    Decision (session 16): one size a round, not the size the gap would need if it
    shrank with the square of the node spacing (``buckets·1.5·√(gap / target)``, until
    session 15). Wide gaps at 192 buckets do not shrink that way: on the 116 accounts of
    ``generate_portfolio(1000, seed=0)`` refined once ``min_payment`` joined the grid,
    gaps of 0.7–4.6 % at 192 buckets were 0.004–0.07 % at 384 or 768 (the coarse
    tables' nodes likely span balances a plan paying ``min_payment`` for years can reach), so
    the formula's 1,536 and 3,072 buckets (8–16× the CPU) bought nothing the next size
    did not (``docs/free_family.md``, session 16).
    """
    out = list(sols)
    levels = sorted(search.refine_buckets)
    if not levels:
        return out
    current = np.full(len(out), search.buckets, dtype=np.int64)
    for _ in range(ROUNDS):
        wide = [
            i
            for i, s in enumerate(out)
            if s.status == Status.FEASIBLE and s.gap > search.target_gap
        ]
        want: dict[int, list[int]] = {}
        for i in wide:
            bigger = [m for m in levels if m > current[i]]
            if bigger:
                want.setdefault(bigger[0], []).append(i)
        if not want:
            break
        for buckets, rows in sorted(want.items()):
            todo = np.array(rows, dtype=np.int64)
            current[todo] = buckets
            sub = ctx.take(todo)
            tables = bound_tables(  # no tail table
                sub, amounts[todo], buckets, holiday[todo], hazards=hazards[todo]
            )
            root = bound_at(tables, np.arange(todo.size), 0, ctx.balance[todo])
            again: list[int] = []
            for k, i in enumerate(rows):
                old = out[i]
                if np.isfinite(root[k]) and root[k] < old.bound:
                    out[i] = old = regap(replace(old, bound=max(float(root[k]), old.objective)))
                if old.gap > search.target_gap:
                    again.append(k)
            if not again:
                continue
            ka = np.array(again, dtype=np.int64)
            seeds: list[list[tuple[np.ndarray, np.ndarray]]] = []
            for i in todo[ka].tolist():
                pay = out[i].payments
                if pay is None:
                    seeds.append([])
                    continue
                sched = path_schedule(
                    float(ctx.balance[i]), float(ctx.fields["annual_rate"][i]), pay, grid_of(ctx)
                )
                seeds.append([(sched.payments, sched.exposures)])
            found = solve_runs(
                sub.take(ka),
                amounts[todo[ka]],
                grid_step[todo[ka]],
                increasing=False,
                search=replace(search, buckets=buckets),
                seeds=seeds,
                tables=tuple(x[ka] for x in tables),
                hazards=hazards[todo[ka]],
            )
            for i, new in zip(todo[ka].tolist(), found, strict=True):
                old = out[i]
                best = new if new.payments is not None and new.objective > old.objective else old
                bound = min(old.bound, new.bound) if np.isfinite(new.bound) else old.bound
                out[i] = regap(
                    replace(
                        best,
                        bound=max(bound, best.objective),
                        states=old.states + new.states,
                    )
                )
    return out
