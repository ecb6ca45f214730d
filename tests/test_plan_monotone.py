"""Level plan families are solved exactly over fixed grids (issue 13, item 4).

Each level family (instalment, deferral in each mode, concession, settlement) searches a
grid that does not move with the policy: the policy only cuts it. So relaxing any
policy limit can only add plans, and a family's best NPV can never fall.

The waterfall is a first-fit heuristic (SPEC §6): it stops at the first step, in its
fixed order, that meets ``max_dti`` on current income and passes the policy. Relaxing a
limit keeps that step feasible, so a feasible waterfall stays feasible; its NPV can move
either way (an earlier step may now pass), so only feasibility is asserted for it
(its first-fit rule against an oracle: ``tests/test_s17_waterfall.py``).
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from solver.core.account import Account
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.core.readers import read_account
from solver.plans.options import plan_options

LEVEL_LABELS = (
    "instalment",
    "deferral/capitalize",
    "deferral/interest_only",
    "deferral/waive",
    "concession",
    "settlement",
)

# (policy key, base value, relaxed value): each relaxation only widens what is allowed
RELAXATIONS = (
    ("max_term_months", 18, 24),
    ("max_deferral_months", 2, 4),
    ("max_haircut", 0.1, 0.3),
    ("max_fee_waiver", 0.5, 1.0),
    ("max_interest_waiver", 0.0, 0.5),
    ("max_dti", 0.35, 0.5),
    ("min_afford_prob", 0.6, 0.4),
)


@st.composite
def accounts(draw: st.DrawFn) -> Account:
    """Small delinquent accounts, secured or not, with incomes from tight to comfortable."""
    principal = draw(st.floats(2_000, 60_000))
    income = draw(st.floats(2_000, 20_000))
    product = draw(st.sampled_from(["auto_loan", "card_instalment"]))
    return Account.from_mapping(
        {
            "account_id": "H1",
            "product": product,
            "principal": round(principal, 2),
            "interest_due": round(draw(st.floats(0, 0.05)) * principal, 2),
            "fees_due": round(draw(st.floats(0, 2_000)), 2),
            "arrears": round(draw(st.floats(0, 0.1)) * principal, 2),
            "annual_rate": round(draw(st.floats(0.0, 0.24)), 4),
            "remaining_term": draw(st.integers(3, 24)),
            "income": round(income, 2),
            "income_normal": round(income * draw(st.floats(1.0, 1.6)), 2),
            "recovery_months": draw(st.integers(0, 12)),
            "income_cv": draw(st.floats(0.05, 0.5)),
            "expenses": round(income * draw(st.floats(0.2, 0.6)), 2),
            "other_debt": round(income * draw(st.floats(0.0, 0.2)), 2),
            "vehicle_value": round(principal * draw(st.floats(0.3, 1.2)), 2)
            if product == "auto_loan"
            else 0.0,
            "tier": draw(st.sampled_from(list("ABCDE"))),
        }
    )


def policy_pair(which: tuple[str, float, float]) -> tuple[Policy, Policy]:
    """The base policy (18 months, 2 months of deferral) with one limit at its base value,
    and the same with that limit relaxed."""
    key, base_value, relaxed_value = which
    base = Policy().replace(**{"max_term_months": 18, "max_deferral_months": 2, key: base_value})
    return base, base.replace(**{key: relaxed_value})


def _best_by_label(account: Account, policy: Policy) -> dict[str, float]:
    result = plan_options(account, policy, BehaviourModel())
    return {o.label: (o.npv if o.feasible else -math.inf) for o in result.options}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(account=accounts(), which=st.sampled_from(RELAXATIONS))
def test_relaxing_a_policy_limit_never_lowers_a_level_familys_best_npv(account, which):
    """Relaxing any one policy limit never lowers the best NPV of any level family."""
    base, relaxed = policy_pair(which)
    before = _best_by_label(account, base)
    after = _best_by_label(account, relaxed)
    for label in LEVEL_LABELS:
        b, a = before.get(label, -math.inf), after.get(label, -math.inf)
        assert a >= b - 1e-6 * max(1.0, abs(b)), (label, which, b, a)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(account=accounts(), which=st.sampled_from(RELAXATIONS))
def test_relaxing_a_policy_limit_never_makes_a_feasible_waterfall_infeasible(account, which):
    """Relaxing any one policy limit never turns a policy-feasible waterfall plan infeasible."""
    base, relaxed = policy_pair(which)
    before = plan_options(account, base, BehaviourModel()).option("waterfall")
    if which[0] == "max_term_months":
        # a longer cap moves two steps (not only adds some): the capitalised term of a
        # contract longer than the old cap, and the forbearance term; their lower
        # instalment can fall below min_payment (solver.plans.families.waterfall_walk)
        assume(account.remaining_term <= base.max_term_months)
        assume(before.terms.waterfall_step != "forbearance")
    after = plan_options(account, relaxed, BehaviourModel()).option("waterfall")
    assert after.feasible or not before.feasible, (which, before.terms, after.reason)


def test_concession_longer_term_cap_keeps_the_shorter_plan():
    """The reported bug: raising max_term_months from 48 to 60 must not lower concession's NPV."""
    account = read_account("scenarios/sample_account.toml")
    npv = {}
    for cap in (48, 60, 72):
        result = plan_options(account, Policy().replace(max_term_months=cap), BehaviourModel())
        option = result.option("concession")
        assert option.feasible, cap
        npv[cap] = option.npv
    assert npv[48] <= npv[60] + 1e-6 and npv[60] <= npv[72] + 1e-6, npv
