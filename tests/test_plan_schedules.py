"""Tests for the cent-exact schedules of the winning plans (solver.plans.schedules):
settlement instalments follow the settlement rule of the independent oracle."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from solver.plans.schedules import settlement_schedule
from tests import oracles


@settings(max_examples=300, deadline=None)
@given(
    cents=st.integers(1, 5 * 10**6),
    # off the cent grid, clear of the half cent (where the float's nudge decides)
    fraction=st.one_of(st.floats(0.0, 0.45), st.floats(0.55, 0.999)),
    months=st.integers(1, 6),
    unit=st.sampled_from([1, 100, 1000]),
)
def test_settlement_schedule_is_the_oracles_on_the_rounded_amount(cents, fraction, months, unit):
    """An amount off the cent grid (a forgiven share of a balance) is settled as its cent
    amount is by the oracle: instalments rounded up to the unit, else down, else to the
    cent, derived from the rounded amount (not the raw float)."""
    amount = (cents + fraction) / 100  # rounds to cents + (fraction >= 0.5) cents
    rounded = cents + (1 if fraction >= 0.5 else 0)
    want = oracles.settlement_schedule(rounded, months, unit)
    got = settlement_schedule(amount, months, unit / 100)
    got.check()
    assert want is not None
    assert got.payment.tolist() == want.payment and got.opening_balance == rounded


def test_settlement_instalment_from_the_cent_amount():
    """23.280379 over 3 months: the cent amount 23.28 is 7.76 three times (worked by hand:
    23.28 / 3 = 7.76 exactly), not 7.77, 7.77, 7.74 from the raw 7.76013 rounded up."""
    assert settlement_schedule(23.280379, 3, 0.01).payment.tolist() == [776, 776, 776]


def test_the_search_scores_the_settlement_instalments_it_reports():
    """Every settlement candidate the scorer keeps is scored with the payments of its
    schedule: the oracle's settlement rule on the candidate's cent amount (instalments
    rounded up to the unit, the last clearing the rest), to the cent (issue: the scorer
    took the unrounded amount, 7.77, 7.77, 7.74 for a reported 7.76 three times)."""
    import numpy as np

    from solver.core.generate import generate_portfolio
    from solver.core.model import BehaviourModel
    from solver.core.policy import Policy
    from solver.plans.context import context_from_frame
    from solver.plans.families import settlement_candidates
    from solver.plans.scoring import paths

    frame = generate_portfolio(60, seed=5)
    policy = Policy().for_product("card_instalment")
    ctx = context_from_frame(frame, policy, BehaviourModel())
    cand = settlement_candidates(ctx)
    unit = policy.rounding
    payments, _, valid, _ = paths(ctx, cand, unit)
    checked = 0
    for i in np.flatnonzero(valid):
        months = int(cand.term[i])
        want = oracles.settlement_schedule(
            oracles.to_cents(float(cand.balance[i])), months, oracles.to_cents(unit)
        )
        # a kept row's instalment rounded up leaves something for the last month: the
        # oracle's first rule, the scorer's one rule
        assert want is not None
        got = [round(float(p) * 100) for p in payments[i, :months]]
        assert got == want.payment, (i, float(cand.balance[i]), months)
        checked += 1
    assert checked > 100
