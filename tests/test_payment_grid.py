"""The default payment grid keeps ``min_payment`` (session 16), and refinement steps one
table size a round (solver.plans.payment_grid, solver.plans.refine).

The oracles are tests/oracles.py's own SPEC code: the per-month caps (SPEC §5) and the exact
dynamic programme over every path of a given grid (``best_path_plan``); nothing in them
comes from the plan search or the model kernel.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracles import best_path_plan, caps

import solver.plans.refine as refine_module
from solver.core.account import Account
from solver.core.generate import generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.domain import Status
from solver.plans.bounds import action_hazards
from solver.plans.context import context_from_frame
from solver.plans.options import plan_options
from solver.plans.payment_grid import holiday_months, payment_grids
from solver.plans.search import SearchParams, solve_runs

MODEL = BehaviourModel()


def _cents(x: float) -> int:
    """An amount in whole cents."""
    return round(x * 100)


@pytest.mark.parametrize(("rounding", "min_payment"), [(1, 100), (10, 105), (20, 250), (100, 100)])
def test_min_payment_is_on_every_grid_that_reaches_it(rounding, min_payment):
    """``min_payment`` rounded up to the unit is a grid amount exactly when the top cap reaches it."""
    frame = generate_portfolio(40, seed=5)
    policy = Policy(min_payment=min_payment, rounding=rounding)
    unit = _cents(rounding)
    low = -(-max(min_payment * 100, unit) // unit) * unit
    for product, part in frame.groupby("product", sort=True):
        pol = policy.for_product(str(product))
        ctx = context_from_frame(part, pol, MODEL)
        amounts, _ = payment_grids(ctx, 12)
        for i, row in enumerate(part.to_dict("records")):
            cap = caps(Account.from_mapping(row), pol, int(pol.max_term_months))
            finite = [c for c in cap if math.isfinite(c)]
            top = math.floor(max(finite) * 100 / unit + 1e-9) * unit if finite else -1
            grid = {_cents(a) for a in amounts[i] if np.isfinite(a)}
            assert (low in grid) == (top >= low), (row["account_id"], sorted(grid), low, top)


# An account whose best schedule on every unit amount starts at min_payment, which the
# three hanging amounts (640, 340, 40 → below min_payment) miss (found by a search over
# tiny accounts with the oracle, session 16)
TINY = {
    "account_id": "tiny", "product": "card_instalment", "principal": 600,
    "annual_rate": 0.36, "remaining_term": 6, "income": 2000, "income_normal": 2600,
    "recovery_months": 0, "expenses": 1300, "income_cv": 0.25, "tier": "C",
}  # fmt: skip
TINY_POLICY = Policy(
    max_term_months=5, max_deferral_months=1, max_payment_levels=2, min_payment=50, rounding=10
)


def test_min_payment_lets_custom_beat_the_hanging_grid():
    """The custom plan pays min_payment and beats every plan on the hanging steps alone, within the free optimum."""
    acc = Account.from_mapping(TINY)
    pol = TINY_POLICY.for_product(acc.product)
    H = int(pol.max_term_months)
    top = math.floor(max(c for c in caps(acc, pol, H) if math.isfinite(c)) / 10 + 1e-9) * 10
    step = max(10, math.ceil((top - 50) / 2 / 10 - 1e-9) * 10)  # 3 levels from the top
    hanging = [float(top - k * step) for k in range(3) if top - k * step >= 50]
    flat = math.floor(min(caps(acc, pol, H)) / 10 + 1e-9) * 10
    res = plan_options(acc, pol, MODEL, search=SearchParams(grid_levels=3), relax=False)
    custom = res.option("custom")
    extra = [float(x) for x in custom.terms.grid if x not in (50.0, float(flat))]
    without = best_path_plan("custom", acc, pol, MODEL, sorted({*hanging, flat, *extra}), 1)
    every = best_path_plan("custom", acc, pol, MODEL, [float(x) for x in range(50, top + 1, 10)], 1)
    assert 50.0 not in without["payments"]
    assert abs(custom.payments[0] - 50.0) < 1e-9
    assert custom.npv > without["npv"] + 1e-6 * abs(without["npv"])
    assert custom.npv <= every["npv"] + 1e-9 * abs(every["npv"])


def test_refine_takes_one_table_size_a_round(monkeypatch):
    """Each refinement round bounds an account with the next table size only, never skipping one."""
    frame = generate_portfolio(64, seed=0)
    pol = Policy().for_product("card_instalment")
    part = frame[frame["product"] == "card_instalment"]
    ctx = context_from_frame(part, pol, MODEL)
    search = SearchParams()
    amounts, step = payment_grids(ctx, search.grid_levels)
    hz = action_hazards(ctx, amounts)
    holiday = holiday_months(ctx)
    # a target no plan meets: every account with a gap goes through every round
    tight = SearchParams(target_gap=1e-12)
    sols = solve_runs(ctx, amounts, step, increasing=False, search=tight, hazards=hz)
    seen: list[tuple[int, int]] = []
    real = refine_module.bound_tables

    def spy(sub, amt, buckets, *args, **kwargs):
        seen.append((buckets, len(sub)))
        return real(sub, amt, buckets, *args, **kwargs)

    monkeypatch.setattr(refine_module, "bound_tables", spy)
    out = refine_module.refine(ctx, sols, amounts, step, holiday, tight, hz)
    wide = sum(s.status == Status.FEASIBLE and s.gap > 1e-12 for s in sols)
    assert wide > 0
    sizes = [b for b, _ in seen]
    assert sizes == sorted(tight.refine_buckets)[: len(sizes)]  # one size a round, in order
    assert len(sizes) <= refine_module.ROUNDS
    assert seen[0][1] == wide  # the first round takes every account with a wide gap
    for old, new in zip(sols, out, strict=True):
        assert new.objective >= old.objective - 1e-9 * abs(old.objective)
        assert new.bound <= old.bound + 1e-9 * abs(old.bound) or not np.isfinite(old.bound)
