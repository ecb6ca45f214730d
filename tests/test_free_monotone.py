"""Relaxing a policy limit and the free ``custom`` family (issue 13, item 4).

``custom`` is planned by a search, not by exhaustive enumeration, so its NPV under a
looser policy can fall short of the tighter policy's by at most the looser certificate's
gap. What must hold exactly is that the certificate is valid across policies: the looser
policy's bound over every amount is at least the tighter policy's plan, because every
schedule the tighter policy allows the looser one allows too. Together the two say
``looser NPV ≥ tighter NPV · (1 − looser gap)`` — relaxing never costs more than the
certified gap. (The level families are exactly monotone: ``tests/test_plan_monotone.py``.)
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_plan_monotone import RELAXATIONS, accounts

from solver.core.account import Account
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.options import plan_options
from solver.plans.search import SearchParams

FREE = SearchParams(free_family=True)


def _custom(account: Account, policy: Policy):
    result = plan_options(account, policy, BehaviourModel(), search=FREE, relax=False)
    return next(o for o in result.options if o.label == "custom")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(account=accounts(), which=st.sampled_from(RELAXATIONS))
def test_relaxing_a_limit_costs_custom_at_most_its_certified_gap(account, which):
    """The looser policy's free bound is ≥ the tighter policy's custom plan, and its plan
    is within its certified gap of it."""
    key, tight, loose = which
    tight_custom = _custom(account, replace(Policy(), **{key: tight}))
    loose_custom = _custom(account, replace(Policy(), **{key: loose}))
    if not tight_custom.feasible:
        return
    assert loose_custom.feasible, f"{key} {tight} → {loose}: custom became infeasible"
    if loose_custom.bound_over != "every_amount":
        return  # a grid certificate (the free step kept the grid plan): no claim over every amount
    event(f"{key}: certified over every amount")
    tol = 1e-9 * abs(tight_custom.npv) + 1e-6
    assert loose_custom.bound >= tight_custom.npv - tol, (key, loose_custom.bound, tight_custom.npv)
    # the *reported* gap must cover the drop (it is what the output promises)
    assert loose_custom.npv >= tight_custom.npv * (1 - loose_custom.gap) - tol
