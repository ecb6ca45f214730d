"""The waterfall reference plan under the whole policy (issue 13 item 4, session 17).

SPEC §6's HAMP-style waterfall walks its steps in order -- capitalise, rate cuts, term
extensions, forbearance -- and stops at the first plan whose payment meets ``max_dti``
on current income; the engine makes every policy limit part of that stop test. The
oracle (``tests/oracles.waterfall_plan``) walks the same steps with its own annuity,
cent schedules and SPEC §5 caps, never the engine's.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracles import rate_units, waterfall_plan
from test_plan_monotone import RELAXATIONS, accounts, policy_pair

from solver.core.account import Account
from solver.core.generate import generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.context import context_from_frame
from solver.plans.families import waterfall_walk
from solver.plans.options import plan_options
from solver.plans.portfolio import plan_portfolio
from solver.plans.schedules import level_schedule, schedule_ok


def _check_against_oracle(account: Account, policy: Policy) -> dict | None:
    """Assert the engine's waterfall is the oracle's first passing step; return that step."""
    option = plan_options(account, policy, BehaviourModel()).option("waterfall")
    want = waterfall_plan(account, policy)
    assert option.feasible == (want is not None), (option.reason, want)
    if want is None:
        assert option.schedule is None and math.isnan(option.npv)
        return None
    assert option.terms.waterfall_step == want["step"]
    assert option.terms.term == want["term"]
    assert rate_units(option.terms.rate) == want["units"]
    assert [round(p * 100) for p in option.schedule.payments] == want["payments"]
    return want


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    account=accounts(),
    which=st.sampled_from(RELAXATIONS),
    relaxed=st.booleans(),
    rate_floor=st.sampled_from([0.0, 0.05]),
)
def test_waterfall_is_the_first_step_that_passes_the_policy(account, which, relaxed, rate_floor):
    """The waterfall plan is the first step in SPEC order that meets max_dti on current income and passes SPEC §5 (oracle)."""
    base, wider = policy_pair(which)
    _check_against_oracle(account, (wider if relaxed else base).replace(rate_floor=rate_floor))


# A tight account: its capitalised plan meets max_dti on current income, but the tighter
# min_afford_prob is, the later the first step whose payment also meets that
ACCOUNT = {
    "account_id": "W1",
    "product": "card_instalment",
    "principal": 30_000.0,
    "interest_due": 600.0,
    "fees_due": 300.0,
    "arrears": 1_500.0,
    "annual_rate": 0.18,
    "remaining_term": 12,
    "income": 7_000.0,
    "income_normal": 7_000.0,
    "recovery_months": 0,
    "income_cv": 0.45,
    "expenses": 3_500.0,
    "other_debt": 500.0,
    "tier": "C",
}


def test_a_tighter_policy_stops_the_walk_later():
    """On a tight account the waterfall walks past steps min_afford_prob rejects, stopping later as it tightens (oracle)."""
    account = Account.from_mapping(ACCOUNT)
    stops = []
    for q in (0.3, 0.5, 0.6, 0.7):
        want = _check_against_oracle(account, Policy().replace(min_afford_prob=q))
        assert want is not None
        stops.append((want["step"], want["term"]))
    # hand-read from the oracle: capitalised over the remaining 12 months at 0.3, then
    # longer terms at the 2 % floor
    assert stops[0] == ("capitalize", 12)
    assert all(step == "term_extension" for step, _ in stops[1:])
    assert [t for _, t in stops] == sorted({t for _, t in stops})


@pytest.mark.parametrize(
    ("income", "reason"),
    [
        (1_000.0, "no waterfall step brings"),
        (6_000.0, "every waterfall step that brings"),
    ],
)
def test_no_waterfall_plan_reports_no_npv(income, reason):
    """An infeasible waterfall has no schedule and no NPV, in the option and in its JSON, with its reason."""
    account = Account.from_mapping({**ACCOUNT, "income": income, "income_normal": income})
    option = plan_options(account, Policy().replace(min_afford_prob=0.7), BehaviourModel()).option(
        "waterfall"
    )
    assert _check_against_oracle(account, Policy().replace(min_afford_prob=0.7)) is None
    assert option.reason.startswith(reason), option.reason
    data = option.to_dict()
    assert data["npv"] is None and data["schedule"] == [] and data["status"] == "INFEASIBLE"


def test_portfolio_waterfall_columns():
    """Portfolio rows: waterfall_npv is empty exactly where waterfall_feasible is false."""
    table = plan_portfolio(generate_portfolio(150, seed=17)).table
    feasible = table["waterfall_feasible"].astype(bool)
    assert feasible.any() and not feasible.all()
    assert table.loc[~feasible, "waterfall_npv"].isna().all()
    assert table.loc[feasible, "waterfall_npv"].notna().all()


@pytest.mark.parametrize("rounding", [0.01, 1.0, 100.0])
def test_float_screen_never_rejects_a_step_the_cent_check_passes(rounding):
    """Every waterfall step the float screen rejects also fails the policy check of its cent schedule.

    A consistency check between two engine parts, not an oracle test: the float screen
    (``waterfall_walk``'s ``screened``) must be conservative against the engine's own cent
    check (``schedule_ok``). That the waterfall plan itself meets SPEC §5 is checked against
    the oracle (``tests/oracles.waterfall_plan``) by the tests above.
    """
    frame = generate_portfolio(40, seed=3)
    checked = 0
    for product in ("auto_loan", "card_instalment"):
        part = frame[frame["product"] == product]
        policy = Policy().replace(rounding=rounding).for_product(product)
        ctx = context_from_frame(part, policy, BehaviourModel())
        walk = waterfall_walk(ctx)
        for i, col in zip(*np.nonzero(walk.meets & ~walk.screened), strict=True):
            try:
                sched = level_schedule(walk.plans(np.array([i]), np.array([col])), 0, rounding)
            except ValueError:
                continue
            assert not schedule_ok(ctx, int(i), sched, 0)[0], (product, i, col)
            checked += 1
    assert checked > 100
