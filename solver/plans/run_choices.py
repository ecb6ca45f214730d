"""The ``custom`` and ``step`` plans of a batch: the payment-grid search and its choices.

:func:`run_choices` builds the payment grids (with the best level plans' amounts), their
bound tables and the actions' hazards once, searches ``custom`` (certified more tightly
by :func:`solver.plans.refine.refine`) and ``step`` (only where custom's plan does not
settle it), applies the free family where asked (:mod:`solver.plans.free_custom`), and
turns every solution into a :class:`~solver.plans.choice.Choice` with its certificate.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from solver.domain import Status
from solver.plans.bounds import action_hazards, bound_tables
from solver.plans.choice import OVER_EVERY_AMOUNT, OVER_GRID, Choice
from solver.plans.context import PlanContext, grid_of
from solver.plans.free_custom import free_family_step, regap
from solver.plans.payment_grid import holiday_months, payment_grids
from solver.plans.refine import refine
from solver.plans.schedules import (
    path_schedule,
    payment_levels,
    phase_count,
    schedule_levels,
    schedule_ok,
)
from solver.plans.search import solve_runs
from solver.plans.search_types import RunSolution, SearchParams
from solver.plans.smooth import smooth_custom
from solver.plans.terms import PlanTerms, holiday_runs, run_months

SMALL_BATCH = 2  # up to this many accounts, custom and step are searched in one pass


def run_choices(
    ctx: PlanContext,
    search: SearchParams,
    lazy: bool,
    out: list[list[Choice]],
    seeds: list[list[tuple[np.ndarray, np.ndarray]]],
    extra_amounts: np.ndarray,
) -> None:
    """Append the best ``step`` and ``custom`` plans (exact search on the payment grid)."""
    pol = ctx.policy
    n = len(ctx)
    K = pol.max_payment_levels
    holiday = holiday_months(ctx)
    base_floor = None  # a thorough run's plans never below the default's (issue 13)
    if search.includes_default:
        # the default search first: its grid joins this one and its custom and step plans
        # seed this search, so a thorough run never finds less than a default run
        base = SearchParams()
        base_amounts, base_step = payment_grids(ctx, base.grid_levels, extra_amounts)
        base_hz = action_hazards(ctx, base_amounts)
        base_tables = bound_tables(ctx, base_amounts, base.buckets, holiday, hazards=base_hz)
        base_custom, base_steps = _custom_and_step(
            ctx,
            base_amounts,
            base_step,
            holiday,
            base,
            seeds,
            (base_tables, base_hz),
            K,
            lazy=False,
        )
        for i in range(n):
            for sol in (base_custom[i], base_steps[i]):
                if sol.payments is not None:
                    bal, rate = float(ctx.balance[i]), float(ctx.fields["annual_rate"][i])
                    sched = path_schedule(bal, rate, sol.payments, grid_of(ctx))
                    seeds[i].append((sched.payments, sched.exposures))
        base_floor = np.array([sol.objective for sol in base_custom])
        extra_amounts = np.concatenate([extra_amounts, base_amounts], axis=1)
    amounts, step = payment_grids(ctx, search.grid_levels, extra_amounts)
    # the actions' hazards once per grid: the bound tables and every search of it share them
    hz = action_hazards(ctx, amounts)
    tables = bound_tables(ctx, amounts, search.buckets, holiday, tail=search.tail_bound, hazards=hz)
    custom, steps = _custom_and_step(
        ctx, amounts, step, holiday, search, seeds, (tables, hz), K, lazy, base_floor
    )
    if search.includes_default:
        # never less than the default run: its plan may be levelled off this grid (smooth),
        # and a seed off the grid is not searched from (the bound is this run's, valid for
        # every plan of the larger grid; a levelled plan is judged against it as elsewhere)
        for i, mine in enumerate(base_custom):
            if mine.payments is not None and mine.objective > custom[i].objective:
                custom[i] = regap(
                    replace(
                        custom[i],
                        payments=mine.payments,
                        objective=mine.objective,
                        bound=max(custom[i].bound, mine.objective),
                    )
                )
    for i in range(n):
        st, cu = steps[i], custom[i]
        if st.status == Status.NOT_EVALUATED:
            continue
        if np.isfinite(cu.bound) and cu.bound < st.bound:
            # step ⊆ custom: custom's bound bounds step too
            steps[i] = st = regap(replace(st, bound=max(cu.bound, st.objective)))
        if st.payments is not None and st.objective > cu.objective:  # a step plan is a custom plan
            custom[i] = cu = RunSolution(
                st.payments,
                cu.status if cu.status != Status.OPTIMAL else Status.OPTIMAL,
                st.objective,
                max(cu.bound, st.objective),
                0.0,
                cu.states,
                cu.grid_step,
                cu.grid,
            )
            custom[i] = regap(cu)
    free_cu = free_st = np.zeros(n, bool)
    if search.free_family:
        custom, steps, free_cu, free_st = free_family_step(ctx, custom, steps, search)
    for i in range(n):
        st = steps[i]
        hol = int(holiday[i])
        if st.status == Status.NOT_EVALUATED:
            out[i].append(Choice("step", "step", False, reason="not evaluated"))
            out[i].append(_run_choice(ctx, i, custom[i], "custom", hol, free=free_cu[i]))
            continue
        step_choice = _run_choice(ctx, i, st, "step", hol, free=free_st[i])
        out[i].append(step_choice)
        cu_pay = custom[i].payments
        same = (
            st.payments is not None
            and cu_pay is not None
            and np.array_equal(st.payments, cu_pay)
            and free_st[i] == free_cu[i]
        )
        # the same payment path (and certificate family): one schedule, checked once
        out[i].append(
            _run_choice(
                ctx,
                i,
                custom[i],
                "custom",
                hol,
                built=step_choice if same else None,
                free=free_cu[i],
            )
        )


def _custom_and_step(
    ctx: PlanContext,
    amounts: np.ndarray,
    grid_step: np.ndarray,
    holiday: np.ndarray,
    search: SearchParams,
    seeds: list[list[tuple[np.ndarray, np.ndarray]]],
    prepared: tuple[tuple[np.ndarray, ...], np.ndarray],
    K: int,
    lazy: bool,
    floor: np.ndarray | None = None,
) -> tuple[list[RunSolution], list[RunSolution]]:
    """Best ``custom`` (certified by :func:`refine`, see-saw runs made level by
    :func:`~solver.plans.smooth.smooth_custom`, never below ``floor``: the default search's
    custom values in a thorough run) and ``step`` plans of every account.

    ``step`` ⊆ ``custom``: a custom plan that is optimal and a step plan is the best step
    plan, so step is searched only for the other accounts (and, in portfolio runs, where
    only the recommendation is reported, not where custom is optimal: step can then at
    best tie it). Where step is searched and custom's plan is also a step plan, the
    better of the two is step's plan. ``prepared``: the grid's bound tables and its
    actions' hazards (:func:`solver.plans.bounds.action_hazards`), shared by every search.
    """
    tables, hz = prepared
    n = len(ctx)
    searched: list[RunSolution | None]
    if n <= SMALL_BATCH and not lazy:
        # few accounts: per-call overhead dominates, so search both families in one pass
        # (rows are independent: the same result as two searches)
        both = np.concatenate([np.arange(n), np.arange(n)])
        found = solve_runs(
            ctx.take(both),
            amounts[both],
            grid_step[both],
            increasing=np.repeat([False, True], n),
            search=search,
            seeds=seeds + seeds,
            tables=tuple(x[both] for x in tables),
            hazards=hz[both],
        )
        custom, searched = found[:n], list(found[n:])
        custom = refine(ctx, custom, amounts, grid_step, holiday, search, hz)
        custom = smooth_custom(ctx, custom, search.target_gap, floor)  # level see-saw runs
        todo = np.arange(n)
    else:
        custom = solve_runs(
            ctx,
            amounts,
            grid_step,
            increasing=False,
            search=search,
            seeds=seeds,
            tables=tables,
            hazards=hz,
        )
        custom = refine(ctx, custom, amounts, grid_step, holiday, search, hz)
        custom = smooth_custom(ctx, custom, search.target_gap, floor)  # level see-saw runs
        skip = [
            sol.status == Status.OPTIMAL and (lazy or _is_step(sol.payments, K)) for sol in custom
        ]
        todo = np.array([i for i in range(n) if not skip[i]], dtype=np.int64)
        searched = []
        if todo.size:
            # only the recommendation is reported: a step plan matters only if it beats
            # custom's, so only those are sought
            floor = np.array([custom[i].objective for i in todo]) if lazy else None
            # with the floor, no seed: a seed that qualifies for step qualifies for custom
            # (step's tests are custom's and more) with the same value, so it is worth at
            # most custom's plan, the floor, and would be dropped as an incumbent
            searched = list(
                solve_runs(
                    ctx.take(todo),
                    amounts[todo],
                    grid_step[todo],
                    increasing=True,
                    search=search,
                    seeds=None if lazy else [seeds[i] for i in todo],
                    tables=tuple(x[todo] for x in tables),
                    floor=floor,
                    hazards=hz[todo],
                )
            )
            if floor is not None:  # no step plan beats custom's: as if not searched
                searched = [
                    None if sol is not None and sol.payments is None and np.isfinite(f) else sol
                    for sol, f in zip(searched, floor, strict=True)
                ]
    steps: list[RunSolution] = []
    by_row = dict(zip(todo.tolist(), searched, strict=True))
    for i, cu in enumerate(custom):
        st = by_row.get(i)
        if (st is None or cu.objective >= st.objective) and _is_step(cu.payments, K):
            st = cu  # custom's plan is a step plan and at least as good
        if st is None:  # portfolio run: custom optimal and not a step plan, or none beats it
            st = replace(cu, payments=None, status=Status.NOT_EVALUATED)
        steps.append(st)
    return custom, steps


def _is_step(payments: np.ndarray | None, max_levels: int) -> bool:
    """Whether a payment path is also a ``step`` plan: rising phases, at most ``max_levels``."""
    if payments is None:
        return False
    lv = payment_levels(payments)
    rising = all(b >= a for a, b in zip(lv, lv[1:], strict=False))
    return rising and phase_count(payments) <= max_levels


def _run_choice(
    ctx: PlanContext,
    i: int,
    sol: RunSolution,
    family: str,
    holiday: int,
    built: Choice | None = None,
    free: bool = False,
) -> Choice:
    """The choice of a ``custom`` / ``step`` solution; ``free``: its certificate is over
    every amount (then its terms carry no payment grid, which would mark it "on its
    grid"); ``built``: the same path already built and checked (its schedule and terms)."""
    over = OVER_EVERY_AMOUNT if free else OVER_GRID
    cert: dict[str, Any] = {
        "status": sol.status,
        "bound": sol.bound,
        "gap": sol.gap,
        "bound_over": over,
    }
    if built is not None and built.schedule is not None:
        return Choice(
            family, family, True, built.schedule, built.terms, search_npv=sol.objective, **cert
        )
    if sol.payments is None:
        if sol.status == Status.INFEASIBLE:
            reason = "no payment path on the grid repays the balance within max_term_months under the affordability caps"
        else:
            reason = "search limit reached before a feasible path was found"
        return Choice(family, family, False, reason=reason, **cert)
    sched = path_schedule(
        float(ctx.balance[i]), float(ctx.fields["annual_rate"][i]), sol.payments, grid_of(ctx)
    )
    ok, why = schedule_ok(ctx, i, sched, holiday, limit_levels=family != "custom")
    if not ok:  # the search tracks the money grid exactly, so this would be a bug
        raise RuntimeError(f"{family} search returned a policy-infeasible schedule: {why}")
    # every month without payment is a holiday, mid-plan ones too (the free family's)
    runs = holiday_runs(sched.payment)
    months = run_months(runs)
    terms = PlanTerms(
        term=sched.term,
        deferral_months=months,
        deferral_mode="capitalize" if months else None,
        holiday_months=runs,
        rate=float(ctx.fields["annual_rate"][i]),
        levels=schedule_levels(sched),
        grid_step=None if free else sol.grid_step,
        grid=None if free else tuple(float(x) for x in sol.grid),
    )
    return Choice(family, family, True, sched, terms, search_npv=sol.objective, **cert)
