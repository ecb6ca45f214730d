"""The run-length tables with P(t) by the pruned pass (solver.plans.holiday_tables, session 14).

At tolerance 0 (exact pruning) the tables equal the reference pass's bit for bit; with a
tolerance each run length's interpolant lies above every action's value computed on the
pass's *own* next month (the induction step): the paying actions (each unit amount within
the cap and below what is owed, clearing) on run length 0, the zero action (interest
capitalised) on run length r + 1 while r is below the longest run. The actions' hazards
are test_free_fast's own SPEC §4 code (``spec_hazards``), checked equal to the hazards the
pass uses; the recoveries are the kernel's.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_free_dp import _contexts
from test_free_fast import _assert_pass_hazards_are_spec, _best_action, _cases, spec_hazards

from solver.core.account import Account
from solver.plans.bounds import bound_at
from solver.plans.context import PlanContext
from solver.plans.free_bound import holiday_bounds, unit_grid
from solver.plans.holiday_tables import holiday_tables
from solver.plans.search import holiday_months

BUCKETS = 48


def _zero_action(acc: Account, ctx: PlanContext, tables: tuple, t: int, b: float, r: int) -> float:
    """The zero action's value at balance ``b`` in month index ``t`` after ``r`` months
    without payment (SPEC §4 with payment 0: δ_t^L h R_t(b) + (1 − h) × run r + 1's bound
    at the capitalised balance; h from ``spec_hazards``)."""
    g = 1.0 + float(ctx.monthly_rate[0])
    h = float(spec_hazards(acc, t, np.zeros(1))[0])
    rec = float(ctx.kernel.recovery(np.zeros(1, np.int64), np.array([b]), t)[0])
    later = float(bound_at(tables, np.array([r + 1]), t + 1, np.array([b * g]))[0])
    return float(ctx.discount_lag[t] * h * rec + (1 - h) * later)


def _balances(ctx: PlanContext, tables: tuple, seed: int) -> list[tuple[int, float]]:
    """Random (month index, balance) pairs: up to 8 months, 4 balances each, drawn in the
    part of each month's band that can still be cleared."""
    _, w, U, lo = tables
    rng = np.random.default_rng(seed)
    M = tables[0].shape[2] - 1
    months = rng.choice(ctx.horizon, size=min(ctx.horizon, 8), replace=False)
    tops = np.minimum(lo[0, months] + M * w[0, months], U[0, months])
    return [
        (int(t), float(b))
        for t, top in zip(months, tops, strict=True)
        if top > lo[0, t]
        for b in rng.uniform(float(lo[0, t]), float(top), size=4)
    ]


def _assert_runs_above_actions(
    acc: Account, ctx: PlanContext, tables: tuple, D: int, seed: int
) -> int:
    """The pass's hazards are the SPEC's, and each run length's interpolant at random
    balances is at least every action's value there on the tables' own next month;
    returns how many were checked."""
    _assert_pass_hazards_are_spec(acc, ctx)
    checked = 0
    for t, b in _balances(ctx, tables, seed):
        paying = _best_action(acc, ctx, tables, t, b, 0)  # reads run length 0 next month
        for r in range(D + 1):
            best = paying
            if r < D and t + 1 < ctx.horizon:
                best = max(best, _zero_action(acc, ctx, tables, t, b, r))
            if not math.isfinite(best):
                continue
            here = float(bound_at(tables, np.array([r]), t, np.array([b]))[0])
            assert here >= best, (t, b, r, here, best)
            checked += 1
    return checked


@pytest.mark.parametrize(("seed", "deferral"), [(11, 3), (12, 6)])
def test_exact_pruning_gives_the_reference_run_tables(seed, deferral):
    """At tolerance 0 the pruned P(t) gives the reference run-length tables bit for bit."""
    compared = 0
    for ctx in _contexts(5, seed, max_deferral_months=deferral):
        amounts, runs = unit_grid(ctx), holiday_months(ctx)
        ref = holiday_tables(ctx, amounts, BUCKETS, runs)[0]
        work = np.zeros(2, np.int64)
        new = holiday_tables(ctx, amounts, BUCKETS, runs, tolerance=0.0, work=work)[0]
        for a, b in zip(new, ref, strict=True):
            assert np.array_equal(a, b)
        compared += int(runs[0] > 0)
        assert work.sum() > 0
    assert compared >= 2


@pytest.mark.parametrize("tolerance", [1e-5, 1e-3])
def test_each_run_length_lies_above_every_action_on_its_own_next_month(tolerance):
    """With a tolerance (even a coarse one) every run table bounds every action on the pass's own tables."""
    checked = 0
    for k, (acc, ctx) in enumerate(_cases(5, 23, max_deferral_months=3)):
        runs = holiday_months(ctx)
        tables = holiday_tables(ctx, unit_grid(ctx), BUCKETS, runs, tolerance=tolerance)[0]
        checked += _assert_runs_above_actions(acc, ctx, tables, int(runs[0]), k)
    assert checked >= 60


def test_holiday_bounds_to_a_tolerance_stay_near_the_exact_root():
    """The root with a tolerance lies at most tolerance × months above the exact one, never far below."""
    ctx = _contexts(1, 24, max_deferral_months=3)[0]
    exact = holiday_bounds(ctx, BUCKETS).bound[0]
    fast = holiday_bounds(ctx, BUCKETS, tolerance=1e-5).bound[0]
    assert math.isfinite(exact)
    assert abs(fast - exact) <= 1e-5 * ctx.horizon * abs(exact)
