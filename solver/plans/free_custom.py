"""``custom`` as the free month-by-month family: the better of the grid search and the
rollout, certified against the free bound (issue 13; ``SearchParams.free_family``).

The grid search (:mod:`solver.plans.search`) proves its plans on the account's payment
grid only. :func:`free_family_step` takes, for every account with a feasible custom plan
(and, where holidays are allowed, every account the grid search found none for),

* the free bound (:func:`family_bounds`: the bound tables on every unit amount, valid
  for every policy-feasible custom schedule, so for every step schedule too) at
  ``SearchParams.free_buckets``;
* the rollout on its tables (:func:`solver.plans.free_rollout.rollouts`), booked as the
  search's plans are (:func:`solver.plans.schedules.path_schedule`) and valued by the
  model on that schedule; custom's plan is the better of the two;
* custom's certificate: bound = the free bound (never below the plan's value), status and
  gap from it (:func:`regap`). Accounts whose gap stays above ``target_gap`` (at least
  0.1 %: :func:`free_family_step`) get finer
  tables (``free_refine_buckets``, in order; each a valid bound, the smaller kept) and a
  rollout on them. Should a plan ever lie above the free bound (impossible for a valid
  bound), the account keeps the grid search's plan and certificate rather than be
  certified from it.

``step`` keeps its phase limit and its grid search, and its grid certificate, unless the
free bound certifies it within that target or it is worth as much as custom's plan (so
it may be the recommendation): then its certificate is the free bound too. So the
recommended custom or step plan is certified over the free family unless the guard
above kept the grid plan (its status then says so: ``bound_over`` is the payment grid).

The free family: every amount on the rounding unit within each month's cap, and any
month without payment (a capitalised holiday month) as long as no run of them exceeds
``max_deferral_months`` (session 14; the rule is :func:`solver.plans.schedules.schedule_ok`'s,
the bound :func:`solver.plans.free_bound.holiday_bounds`, which tracks the run length;
:mod:`solver.plans.holiday_tables` says why a bound that allows a zero in every month is
too loose). Where the policy allows no holiday (``holiday_months`` 0) the family has none
and the bound is :func:`~solver.plans.free_bound.free_bounds`'s pruned pass. The grid
search still has a leading holiday only: a plan with a holiday mid-plan comes from the
rollout.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from solver.core.result import gap_to_bound
from solver.domain import Status
from solver.plans.context import PlanContext, grid_of, npv
from solver.plans.free_bound import FreeBound, free_bounds, holiday_bounds
from solver.plans.free_dp import TOLERANCE
from solver.plans.free_rollout import rollouts
from solver.plans.schedules import path_schedule, schedule_ok
from solver.plans.search import RunSolution, SearchParams, holiday_months

#: A plan within this share of the free bound is kept rather than replaced by a slightly
#: better rollout (issue 13's certification threshold, 0.1 %; see :func:`_improve`).
KEEP_WITHIN = 1e-3


def regap(sol: RunSolution) -> RunSolution:
    """The solution's gap and status recomputed from its objective and bound."""
    gap = gap_to_bound(sol.objective, sol.bound)
    status = Status.OPTIMAL if gap <= 1e-9 else Status.FEASIBLE
    return replace(
        sol,
        gap=max(gap, 0.0),
        status=status,
        bound=sol.objective if status == Status.OPTIMAL else sol.bound,
    )


def family_bounds(ctx: PlanContext, buckets: int) -> FreeBound:
    """The free bound of the accounts of ``ctx``: over the family with holidays mid-plan
    where the policy allows them (``holidays_mid_plan`` and a capitalised holiday), else
    the pruned pass of the family with a leading holiday only (none where the policy
    allows no holiday).

    Decision: both passes run to :data:`solver.plans.free_dp.TOLERANCE` (1e-5: a node
    stops pruning once no block can beat its best by that share, and stores the larger
    of the two, so the bound stays valid). Measured on the first 1,000 accounts of
    ``generate_portfolio(20000, seed=11)`` with ``free_family`` (session 14, the two runs
    side by side, CPU time): exact pruning 104.6 CPU-ms per account, the tolerance 67.2;
    99.72 % of the 705 recommendations within 0.1 % and none above 1 % in both; gap p50
    0.034 → 0.038 %, p90 0.078 → 0.083 %, max 0.170 → 0.180 %."""
    if ctx.policy.holidays_mid_plan and holiday_months(ctx).max(initial=0) > 0:
        return holiday_bounds(ctx, buckets, tolerance=TOLERANCE)
    return free_bounds(ctx, buckets, tolerance=TOLERANCE)


def plan_values(ctx: PlanContext, rows: np.ndarray, plans: list[np.ndarray | None]) -> np.ndarray:
    """Model NPV of each plan booked as a cent-exact schedule (−inf for none, for a path
    that clears before its last month, and for a plan whose schedule fails the policy
    check: it is never adopted)."""
    out = np.full(rows.size, -np.inf)
    holiday = holiday_months(ctx)
    for k, (i, pay) in enumerate(zip(rows.tolist(), plans, strict=True)):
        if pay is None:
            continue
        try:
            sched = path_schedule(
                float(ctx.balance[i]), float(ctx.fields["annual_rate"][i]), pay, grid_of(ctx)
            )
        except ValueError:  # the path clears before its last month: not this plan
            continue
        if not schedule_ok(ctx, i, sched, int(holiday[i]), limit_levels=False)[0]:
            continue
        T = sched.term
        out[k] = float(
            npv(ctx, np.array([i]), sched.payments[None, :], sched.exposures[None, :],
                np.array([T]))[0]
        )  # fmt: skip
    return out


def _improve(
    ctx: PlanContext,
    rows: np.ndarray,
    custom: list[RunSolution],
    buckets: int,
    bound: np.ndarray,
    target_gap: float,
) -> None:
    """Free bound at ``buckets`` and a rollout on it for accounts ``rows``: the smaller
    bound into ``bound`` (indexed like ``custom``), the better plan into ``custom``.

    Decision (session 13 review): the plan in hand is kept when it is already within
    :data:`KEEP_WITHIN` of the bound, even if the rollout is a little better. The rollout
    moves its amount almost every month (60 different amounts on the sample account for
    +0.011 %), while the grid plan uses a few amounts a customer can follow; the
    certificate is over every amount either way."""
    free = family_bounds(ctx.take(rows), buckets)
    plans = rollouts(ctx, rows, free)
    values = plan_values(ctx, rows, plans)
    for k, i in enumerate(rows.tolist()):
        bound[i] = min(bound[i], float(free.bound[k]))
        cu = custom[i]
        certified = cu.payments is not None and (
            bound[i] - cu.objective <= max(target_gap, KEEP_WITHIN) * abs(bound[i])
        )
        if plans[k] is not None and values[k] > cu.objective and not certified:
            custom[i] = replace(cu, payments=plans[k], objective=float(values[k]))


def next_tier(gap: float, buckets: int, finer: tuple[int, ...], target_gap: float) -> int:
    """The finer table size to try next for a plan whose gap at ``buckets`` is ``gap``:
    the first of ``finer`` (ascending) at which the gap would be within ``target_gap`` if
    it shrank in proportion to the node spacing, else the finest.

    Decision (session 15): the free bound's excess over the optimum is first order in the
    spacing (docs/free_family.md §1; on 175 accounts of the benchmark book the gap to the
    best plan found halves per doubling down to a floor of about 0.015 %), so a plan at
    0.25 % at 384 buckets would still be above 0.1 % at 768: it goes to 1,536 directly
    instead of paying for the 768 tables too. The estimate ignores the floor, so it
    never skips a size that it expects to certify; every size tried is a valid bound."""
    for finer_buckets in finer:
        if gap * buckets / finer_buckets <= target_gap:
            return finer_buckets
    return finer[-1]


def free_family_step(
    ctx: PlanContext, custom: list[RunSolution], steps: list[RunSolution], search: SearchParams
) -> tuple[list[RunSolution], list[RunSolution], np.ndarray, np.ndarray]:
    """Custom = the better of the grid plan and the rollout, certified against the free
    bound (refined where its gap exceeds the target below); step certified against
    it where that certifies it or where it is worth custom's value.

    Returns the new custom and step solutions and, per account, whether each one's
    certificate is over the free family (every amount) rather than the payment grid.

    Decision (session 17): the free tables are refined, and step certified, toward
    ``max(search.target_gap, KEEP_WITHIN)``, not below issue 13's 0.1 %. With a smaller
    ``target_gap`` (``SearchParams.thorough()``, 1e-4) the refinement went to 1,536
    buckets on most accounts without changing the plans: the tolerance's floor (about
    1e-4 of the root) leaves no table size that certifies 0.01 %. Measured on the first
    250 accounts of ``generate_portfolio(20000, seed=11)`` with ``thorough()``
    (alternated, CPU, load 8–10): 280 / 284 → 72 / 73 CPU-ms per account, the same 169
    recommended plans to the cent (Σ NPV 9,324,648.08 both ways), every one within 0.1 % of the free
    bound (gap p50 0.025 → 0.057 %, max 0.087 → 0.099 %). The grid search's refinement
    and the smoothing still use ``search.target_gap`` (``docs/free_family.md``, session 17).
    """
    target = max(search.target_gap, KEEP_WITHIN)
    grid_custom = custom
    custom, steps = list(custom), list(steps)
    n = len(custom)
    bound = np.full(n, np.inf)
    free_cu = np.zeros(n, bool)
    free_st = np.zeros(n, bool)
    # accounts without a grid plan too where holidays are allowed: a holiday mid-plan may
    # carry a plan over months the grid search (a leading holiday only) cannot pass
    skip = (holiday_months(ctx) > 0) & bool(ctx.policy.holidays_mid_plan)
    todo = np.array(
        [i for i, cu in enumerate(custom) if cu.payments is not None or (skip[i] and
         cu.status == Status.INFEASIBLE)], np.int64
    )  # fmt: skip
    tiers = (search.free_buckets, *sorted(search.free_refine_buckets))
    queued = {buckets: np.zeros(0, np.int64) for buckets in tiers}
    queued[tiers[0]] = todo
    for k, buckets in enumerate(tiers):
        todo, queued[buckets] = np.sort(queued[buckets]), np.zeros(0, np.int64)
        if todo.size == 0:
            continue
        _improve(ctx, todo, custom, buckets, bound, target)
        todo = todo[np.array([custom[i].payments is not None for i in todo.tolist()], bool)]
        for i in todo.tolist():
            custom[i] = regap(replace(custom[i], bound=max(bound[i], custom[i].objective)))
            if custom[i].gap > target and k + 1 < len(tiers):
                later = next_tier(custom[i].gap, buckets, tiers[k + 1 :], target)
                queued[later] = np.append(queued[later], i)
    rows = np.array([i for i, cu in enumerate(custom) if cu.payments is not None], np.int64)
    for i in rows.tolist():
        if not bound[i] >= custom[i].objective - 1e-9 * abs(custom[i].objective):
            # a plan above a valid bound cannot be: never certify from it (the grid's
            # plan and certificate stay; not seen on the benchmark books)
            custom[i] = grid_custom[i]
            continue
        free_cu[i] = True
        st = steps[i]
        if st.payments is None:
            continue
        cert = regap(replace(st, bound=max(bound[i], st.objective)))
        if cert.gap <= target or st.objective >= custom[i].objective:
            steps[i], free_st[i] = cert, True
    return custom, steps, free_cu, free_st
