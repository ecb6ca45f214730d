"""max_dti "binds" on a level plan only within a small payment step of the cap (review of 49935c5).

Oracle: the DTI of a constructed plan by SPEC §5, ``(other_debt + p_t) / Ī_t`` with
``Ī_t = income`` (``recovery_months = 0``, SPEC §4), against ``max_dti``; the account's
expenses and income spread leave the other per-month rules slack.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from solver.core import Account, BehaviourModel, Policy
from solver.plans.context import context_from_account
from solver.plans.explain import binding_constraints
from solver.plans.terms import PlanTerms

INCOME, OTHER_DEBT = 10_000.0, 1_000.0
ACCOUNT = {
    "account_id": "S16-BIND",
    "principal": 20_000.0,
    "annual_rate": 0.06,
    "remaining_term": 24,
    "income": INCOME,
    "expenses": 1_000.0,
    "other_debt": OTHER_DEBT,
    "income_cv": 0.05,
}


def _dti(payment: float) -> float:
    """SPEC §5 DTI of a payment in a month with Ī_t = income."""
    return (OTHER_DEBT + payment) / INCOME


def _max_dti_binds(family: str, payments: list[float]) -> bool:
    """Whether binding_constraints says max_dti binds on a level plan of these payments."""
    policy = Policy()
    account = Account.from_mapping(ACCOUNT)
    ctx = context_from_account(account, policy, BehaviourModel())
    schedule = SimpleNamespace(payments=payments)
    terms = PlanTerms(term=len(payments), deferral_months=0)
    words = binding_constraints(ctx, 0, family, schedule, terms, {})
    return any(w.startswith("max_dti binds") for w in words)


@pytest.mark.parametrize("family", ["settlement", "waterfall", "instalment"])
def test_one_month_plan_binds_only_at_the_limit(family):
    """A 1-month plan at DTI 0.43 does not bind max_dti 0.50; one at 0.50 does."""
    limit = Policy().max_dti
    below, at = 3_300.0, 4_000.0
    assert _dti(below) == pytest.approx(0.43) and _dti(at) == pytest.approx(limit)
    assert not _max_dti_binds(family, [below])
    assert _max_dti_binds(family, [at])


def test_short_and_long_level_plans():
    """A 2-month plan at DTI 0.43 does not bind (a shorter term is not a small step); a
    36-month plan 2 % below the cap binds (its shorter term is 1/35 more), 7.5 % below not."""
    assert not _max_dti_binds("instalment", [3_300.0, 3_300.0])
    cap = Policy().max_dti * INCOME - OTHER_DEBT
    assert _dti(cap) == pytest.approx(Policy().max_dti)
    assert _max_dti_binds("instalment", [cap * 0.98] * 36)
    assert not _max_dti_binds("instalment", [cap * 0.925] * 36)
