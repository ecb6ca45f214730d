"""The policy's need test and its rule on holidays mid-plan (session 16 decisions).

Oracles: the contract's affordability is computed month by month with the SPEC §4
formulas of :class:`oracles.AccountModel` (not the planner's caps); holidays are read off
the booked payments.
"""

from __future__ import annotations

import pytest
from oracles import AccountModel, annuity, rate_units, to_cents
from test_holiday_reporting import MID_PLAN

from solver.core.account import as_account
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.domain import Status
from solver.officer import Proposal, policy_violations, proposal_schedule
from solver.plans.options import plan_options
from solver.plans.search import SearchParams

#: A current card account whose 7-month contract is affordable (DTI 0.47, lowest
#: affordability 73 %) and whose free custom plan, with holidays allowed anywhere, pays
#: nothing in months 1–6, 8–13 and 15–19: test_holiday_reporting's account.
AFFORDABLE = dict(MID_PLAN, account_id="CARD-OK")
#: The same customer with less income: the contract breaks max_dti.
STRETCHED = dict(AFFORDABLE, account_id="CARD-TIGHT", income=9000.0)


def _contract_meets_policy(fields: dict, policy: Policy) -> bool:
    """Whether every payment of the contract meets max_dti, min_residual_income and
    min_afford_prob, by the SPEC §4/§5 formulas (own arithmetic)."""
    acc = as_account(fields)
    oracle = AccountModel(acc, BehaviourModel())
    # the contract (SPEC §4 status quo) by own arithmetic: the level instalment on the
    # non-overdue balance over the remaining term, arrears and fees due in month 1 (the last
    # payment's rounding remainder is far below the rules' margins on these accounts)
    balance = to_cents(acc.principal + acc.interest_due - acc.arrears)
    level = float(annuity(balance, rate_units(acc.annual_rate), acc.remaining_term)) / 100
    pay = [level] * acc.remaining_term
    pay[0] += acc.arrears + acc.fees_due
    for t, p in enumerate(pay, start=1):
        income = oracle.income(t)
        dti = (acc.other_debt + p) / income
        residual = income - acc.expenses - acc.other_debt - p
        if dti > policy.max_dti or residual < policy.min_residual_income:
            return False
        if oracle.afford(t, p) < policy.min_afford_prob:
            return False
    return True


def test_affordable_contract_gets_no_plan_and_says_why():
    """With need_test an account whose contract meets the affordability rules in every
    month (own SPEC check) gets status CONTRACT_AFFORDABLE and no recommendation, the
    options still listed; by default (SPEC §6's NPV test) it is recommended the best
    option that beats the status quo, and the explanation says the plan is optional."""
    policy = Policy(need_test=True)
    assert _contract_meets_policy(AFFORDABLE, policy)
    res = plan_options(AFFORDABLE, policy)
    assert res.status == Status.CONTRACT_AFFORDABLE
    assert res.recommended is None and not res.npv_test_passed
    assert "no restructuring needed" in res.explanation
    offered = [o for o in res.options if o.feasible and o.family != "waterfall"]
    best = max(offered, key=lambda o: o.npv)
    assert best.npv > res.status_quo.npv  # the NPV test alone would restructure it
    plain = plan_options(AFFORDABLE, Policy())
    assert plain.status == Status.RECOMMENDED and plain.recommended == best.label
    assert "The contract itself is affordable" in plain.explanation


def test_stretched_contract_is_restructured():
    """A contract that breaks max_dti (own SPEC check) is planned as before: the need
    test does not apply."""
    policy = Policy(need_test=True)
    assert not _contract_meets_policy(STRETCHED, policy)
    res = plan_options(STRETCHED, policy)
    assert res.status in (Status.RECOMMENDED, Status.NPV_TEST_FAILED, Status.INFEASIBLE)
    plain = plan_options(STRETCHED, Policy())
    assert res.status == plain.status and res.recommended == plain.recommended
    assert "The contract itself is affordable" not in plain.explanation


def _late_zero_months(payments) -> list[int]:
    """Months (1-based) without payment after the first payment, the last month aside."""
    pay = [round(float(p), 2) for p in payments]
    first = next((t for t, p in enumerate(pay) if p > 0), len(pay))
    return [t + 1 for t in range(first, len(pay) - 1) if pay[t] == 0]


@pytest.mark.parametrize("mid_plan", [False, True])
def test_thorough_custom_holidays_follow_the_policy(mid_plan):
    """With holidays_mid_plan false (the default) the thorough custom plan has no month
    without payment after its first payment; with it true this account's plan has
    (the re-age pattern the default rules out)."""
    policy = Policy(need_test=False, holidays_mid_plan=mid_plan)
    res = plan_options(AFFORDABLE, policy, search=SearchParams.thorough())
    custom = res.option("custom")
    assert custom.feasible
    late = _late_zero_months(custom.schedule.payments)
    assert bool(late) == mid_plan, late


def test_counter_offer_with_a_mid_plan_holiday_breaks_the_default_policy():
    """A proposal pausing in months 8–10 after paying from month 1 breaks the default
    policy (rule holidays_mid_plan, naming the months) and passes when it is allowed."""
    acc = as_account(dict(AFFORDABLE, remaining_term=24, principal=5000.0))
    pay = [400.0] * 7 + [0.0] * 3 + [400.0] * 20
    booked = proposal_schedule(acc, Proposal(payments=pay), 1.0)
    found = policy_violations(acc, booked, Policy(), BehaviourModel())
    rules = {v.rule: v for v in found}
    assert "holidays_mid_plan" in rules and rules["holidays_mid_plan"].months == (8, 9, 10)
    allowed = policy_violations(acc, booked, Policy(holidays_mid_plan=True), BehaviourModel())
    assert "holidays_mid_plan" not in {v.rule for v in allowed}


def test_set_flag_values():
    """--set takes true/false for the flags and names a bad value."""
    policy = Policy()
    assert policy.with_setting("policy.need_test=true").need_test is True
    assert policy.with_setting("holidays_mid_plan=true").holidays_mid_plan is True
    with pytest.raises(Exception, match="must be true or false"):
        policy.with_setting("need_test=perhaps")


def test_need_test_comes_before_infeasibility():
    """With need_test, an affordable contract is CONTRACT_AFFORDABLE even where no plan
    satisfies the policy (a 1-month term cap), not INFEASIBLE (exit 3)."""
    policy = Policy(need_test=True, max_term_months=1, max_deferral_months=1)
    assert _contract_meets_policy(AFFORDABLE, policy)
    assert (
        plan_options(AFFORDABLE, Policy(max_term_months=1, max_deferral_months=1)).status
        == Status.INFEASIBLE
    )
    res = plan_options(AFFORDABLE, policy)
    assert res.status == Status.CONTRACT_AFFORDABLE
    assert "No plan would satisfy the policy either" in res.explanation
