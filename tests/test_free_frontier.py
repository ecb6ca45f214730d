"""The free bound's frontier treatment (bound_dp.frontier_value, session 16) against its own oracles.

An action whose next balance passes next month's clearable limit ``U`` partway through an
interval asks of the interval's right node only the chord from the left node through its
last live point. Checked here: the reference (``bound_tables`` / ``holiday_tables`` every
action at every node) and the pruned passes give the same tables with the treatment bit
for bit; each month's interpolant still lies above every action's value on its own next
month (test_free_fast's SPEC §4 action values); and on an account whose best plan pays
the cap month after month on the clearable frontier, the root lies above the exact
optimum of the free family -- an exact dynamic programme over cent balances written here
from SPEC §4/§5 (test_free_bound's hazards and recoveries, its own clearable limits) --
and never above the bound without the treatment; the plan the free family returns on it
(``plan_options`` with ``free_family``, at target_gap 1e-3 and 1e-4) lies at or below that
exact optimum and within its certified gap of it (``test_s17_free_target``'s oracle checks).
The bit-for-bit comparisons of the reference and pruned passes guard an invariant of the
solver (pruning must not change a table), not its optimum: the oracle checks do. On so
short an account the treatment changes little (the excess it removes builds up month by
month on the frontier); on
the benchmark book's CI00000009, which pays the cap for 38 months, the bound's excess
over the best plan found falls to under a fifth.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache

import numpy as np
import pytest
from test_free_bound import AUCTION, COF, DEPR, LAG, REPO, RHO, _account, _hazard, _oracle_setup
from test_free_dp import _contexts
from test_free_fast import _assert_months_above_actions, _cases
from test_s17_free_target import assert_within_certificate

from solver.core.generate import generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.bounds import bound_tables
from solver.plans.context import context_from_account, context_from_frame
from solver.plans.free_bound import free_bounds, holiday_bounds, unit_grid
from solver.plans.free_custom import plan_values
from solver.plans.free_dp import TOLERANCE
from solver.plans.free_prep import free_tables
from solver.plans.free_rollout import rollouts
from solver.plans.holiday_tables import holiday_tables
from solver.plans.options import plan_options
from solver.plans.search import SearchParams, holiday_months

BUCKETS = 48

# a card whose caps bind: the affordability cap (median income less outgoings) at 1,000.01
# CNY a month, 24 % a year, tier E with a narrow income spread (the hazard rises steeply
# with the payment near the cap), amounts every 10 CNY, 8 months; 7,250 CNY can be
# cleared only by paying close to the cap every month (at most 7,325 can be)
FRONTIER = (
    {"principal": 7250, "annual_rate": 0.24, "remaining_term": 12, "income": 2000,
     "expenses": 990.06, "income_cv": 0.1, "tier": "E", "product": "card_instalment"},
    {"max_term_months": 8, "max_deferral_months": 0, "min_payment": 100, "rounding": 10,
     "max_dti": 1.0, "min_residual_income": 0},
)  # fmt: skip


def _exact_optimum(f: dict, pol: dict) -> float:
    """The best SPEC §4 NPV over every free custom schedule (amounts on the rounding unit
    within each month's cap, at least ``min_payment``; the last payment clears within
    the cap; no holiday), by a dynamic programme over cent balances: ``W(t, B)`` the
    value from balance ``B`` (cents) before month index ``t``, per unit of survival,
    discounted to time 0; balances no schedule can clear any more are cut (their limit
    computed here, by bisection on the half-up interest)."""
    setup = _oracle_setup(f, pol)
    H = pol["max_term_months"]
    unit = round(pol["rounding"] * 100)
    low = -(-max(pol["min_payment"] * 100, unit) // unit) * unit
    rate = Fraction(str(f["annual_rate"])) / 12
    caps = [int(math.floor(c * 100 + 1e-6)) for _, c in setup["months"]]
    tops = [c // unit * unit for c in caps]
    d = 1 / (1 + COF / 12)
    V0 = float(f.get("vehicle_value", 0.0))

    def owed(b: int) -> int:
        return b + int((2 * b * rate + 1) // 2)  # half-up on the cent

    def largest(ok) -> int:
        lo, hi = 0, 10**9  # the largest balance with ok(b): ok is monotone (owed is)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if ok(mid) else (lo, mid - 1)
        return lo

    limit = [0] * H  # the largest balance before month t that a schedule can still clear
    limit[H - 1] = largest(lambda b: owed(b) <= caps[H - 1])
    for t in range(H - 2, -1, -1):
        nxt = limit[t + 1]
        limit[t] = largest(lambda b, t=t, nxt=nxt: owed(b) <= caps[t] or owed(b) - tops[t] <= nxt)

    def recovery(t: int, b: int) -> float:
        C = max(0.0, V0 * (1 - DEPR) ** ((t + 1 + LAG) / 12) * (1 - AUCTION) - REPO) if V0 else 0.0
        ead = b / 100
        return min(ead, C) + RHO * max(0.0, ead - C)

    @cache
    def W(t: int, b: int) -> float:
        if b > limit[t]:
            return -math.inf
        o = owed(b)
        rec = recovery(t, b)
        best = -math.inf
        options = [(o, True)] if o <= caps[t] else []
        if t < H - 1:
            options += [(p, False) for p in range(low, min(caps[t], o - 1) + 1, unit)]
        for p, clears in options:
            h = _hazard(setup, f["tier"], t, p / 100)
            later = 0.0 if clears else W(t + 1, o - p)
            if later == -math.inf:
                continue
            now = d ** (t + 1) * (1 - h) * p / 100 + d ** (t + 1 + LAG) * h * rec
            best = max(best, now + (1 - h) * later)
        return best

    B0 = round((f["principal"] + f.get("interest_due", 0) + f.get("fees_due", 0)) * 100)
    return W(0, B0)


@pytest.mark.parametrize(
    ("seed", "policy"),
    [(11, {}), (12, {"max_deferral_months": 6}), (13, {"rounding": 10, "min_payment": 250})],
)
def test_frontier_tables_equal_the_reference_bit_for_bit(seed, policy):
    """With the frontier treatment the pruned passes give the reference's tables bit for bit."""
    ctxs = _contexts(6, seed, **policy)
    assert len(ctxs) >= 4
    changed = 0
    for ctx in ctxs:
        amounts, hold = unit_grid(ctx), holiday_months(ctx)
        ref = bound_tables(ctx, amounts, BUCKETS, hold, frontier=True)
        new = free_tables(ctx, amounts, BUCKETS, hold, frontier=True)
        for a, b in zip(ref, new, strict=True):
            assert np.array_equal(a, b)
        changed += not np.array_equal(ref[0], bound_tables(ctx, amounts, BUCKETS, hold)[0])
        ref_runs = holiday_tables(ctx, amounts, BUCKETS, hold, frontier=True)[0]
        new_runs = holiday_tables(ctx, amounts, BUCKETS, hold, tolerance=0.0, frontier=True)[0]
        for a, b in zip(ref_runs, new_runs, strict=True):
            assert np.array_equal(a, b)
    assert changed >= 1  # the treatment does change some tables


@pytest.mark.parametrize("tolerance", [0.0, 1e-5])
def test_each_month_lies_above_every_action_with_the_frontier(tolerance):
    """With the treatment each month's interpolant bounds every action's value on its own next month."""
    checked = 0
    for acc, ctx in _cases(8, 21):
        hold = int(holiday_months(ctx)[0])
        tables = free_tables(
            ctx, unit_grid(ctx), BUCKETS, np.array([hold]), tolerance=tolerance, frontier=True
        )
        checked += _assert_months_above_actions(acc, ctx, tables, hold, 21)
    assert checked >= 100


def test_frontier_bound_lies_above_the_exact_optimum():
    """On an account cleared only by paying near the cap the bound stays above the exact optimum, never looser than before."""
    fields, over = FRONTIER
    acc = _account(fields)
    ctx = context_from_account(acc, Policy(**over).for_product(acc.product), BehaviourModel())
    caps = [c for _, c in _oracle_setup(fields, over)["months"]]
    np.testing.assert_allclose(ctx.cap[0], caps, rtol=1e-9)  # the oracle's caps, about 1,000
    best = _exact_optimum(fields, over)
    assert math.isfinite(best)
    for buckets in (32, 64, 128):
        old = free_bounds(ctx, buckets, frontier=False).bound[0]
        new = free_bounds(ctx, buckets, frontier=True).bound[0]
        fast = free_bounds(ctx, buckets, tolerance=1e-5, frontier=True).bound[0]
        runs = holiday_bounds(ctx, buckets, frontier=True).bound[0]  # no holiday: the same family
        assert min(new, fast, runs) >= best
        assert new <= old + 1e-9 * abs(old)


@pytest.mark.parametrize("params", [SearchParams(free_family=True), SearchParams.thorough()])
def test_free_plan_is_within_its_gap_of_the_exact_optimum(params):
    """On the frontier account custom's free plan stays within its certified gap of this file's exact optimum, under its bound."""
    fields, over = FRONTIER
    acc = _account(fields)
    policy = Policy(**over).for_product(acc.product)
    custom = plan_options(acc, policy, search=params).option("custom")
    assert custom.bound_over == "every_amount"
    assert_within_certificate(acc, policy, custom, _exact_optimum(fields, over))


def test_frontier_bound_is_far_closer_on_a_frontier_account():
    """CI00000009 (benchmark book) pays the cap from month 22 on: the bound's excess over its plan falls to under a fifth."""
    frame = generate_portfolio(20000, seed=11).head(40)  # the benchmark book
    part = frame[frame.account_id == "CI00000009"]
    ctx = context_from_frame(part, Policy().for_product("card_instalment"), BehaviourModel())
    old = holiday_bounds(ctx, 96, tolerance=TOLERANCE, frontier=False)
    new = holiday_bounds(ctx, 96, tolerance=TOLERANCE, frontier=True)
    rows = np.array([0])
    plan = max(plan_values(ctx, rows, rollouts(ctx, rows, fb))[0] for fb in (old, new))
    assert new.bound[0] >= plan
    assert new.bound[0] - plan <= 0.2 * (old.bound[0] - plan)
