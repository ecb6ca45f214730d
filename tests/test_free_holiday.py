"""Holidays mid-plan in the free custom family (issue 13, session 14) against an independent brute force.

The oracle enumerates every schedule of tiny accounts whose payments are 0 (a month
without payment, interest capitalised) or a multiple of the rounding unit from
``min_payment`` to the month's cap, the last one clearing within its cap, with no run of
months without payment longer than ``max_deferral_months``, and values each with the
SPEC §4 code of ``tests/oracles.py`` (its own income path with the forecast, caps,
hazard, recovery) and integer cents with half-up interest. Nothing in it comes from
the plan search, its bound tables or the model kernel.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracles import AccountModel, monthly_interest, rate_units, to_cents

from solver.core import evaluate
from solver.core.account import as_account
from solver.core.amortisation import schedule_from_payments
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.officer import Proposal, policy_violations, proposal_schedule
from solver.officer.counter_offer import schedule_figures
from solver.plans.context import context_from_account
from solver.plans.free_bound import free_bounds, holiday_bounds, rollout
from solver.plans.free_custom import family_bounds
from solver.plans.free_rollout import rollouts
from solver.plans.options import plan_options
from solver.plans.schedules import path_schedule, schedule_ok
from solver.plans.search import SearchParams

# the policy switch these tests are about: holidays anywhere in a custom plan (the default
# policy allows a leading holiday only, see Policy.holidays_mid_plan)
MID_PLAN = {"holidays_mid_plan": True}

# tiny accounts (fields, policy overrides): a month of no income mid-plan, a rate well
# above the cost of funds (carrying the balance pays), a recovering auto loan with collateral
CASES = [
    (
        {"principal": 1400, "annual_rate": 0.18, "income": 1500, "expenses": 1000,
         "income_forecast": (1500, 1500, 0, 1500, 1500, 1500), "tier": "C",
         "product": "card_instalment"},
        {"max_term_months": 6, "max_deferral_months": 1, "min_payment": 100, "rounding": 50},
    ),
    (
        {"principal": 900, "annual_rate": 0.24, "income": 3000, "expenses": 1000,
         "income_cv": 0.5, "tier": "B", "product": "card_instalment"},
        {"max_term_months": 6, "max_deferral_months": 2, "min_payment": 300, "rounding": 200},
    ),
    (
        {"principal": 1500, "interest_due": 20.5, "annual_rate": 0.12, "income": 2500,
         "income_normal": 4000, "recovery_months": 4, "expenses": 2000, "vehicle_value": 8000,
         "tier": "D", "product": "auto_loan"},
        {"max_term_months": 5, "max_deferral_months": 2, "min_payment": 200, "rounding": 100},
    ),
]  # fmt: skip


def _account(fields: dict):
    """The account of a case."""
    return as_account({"account_id": "tiny", "remaining_term": 6, **fields})


def brute_force(fields: dict, over: dict, longest: int) -> tuple[float, list[int]]:
    """The best NPV, and its payments in cents, over every schedule whose runs of months
    without payment are at most ``longest`` long (own enumeration and SPEC §4 values)."""
    acc = _account(fields)
    pol = Policy(**{**MID_PLAN, **over})
    H = pol.max_term_months
    model = AccountModel(acc, BehaviourModel())
    caps = [int(math.floor(c * 100 + 1e-6)) if math.isfinite(c) else -1 for c in model.caps(pol, H)]
    unit = to_cents(pol.rounding)
    low = -(-max(to_cents(pol.min_payment), unit) // unit) * unit
    units = rate_units(acc.annual_rate)
    delta, lag = model.m.delta, model.m.lag
    best: tuple[float, list[int]] = (-math.inf, [])

    def walk(t: int, bal: int, run: int, surv: float, value: float, pay: list[int]) -> None:
        nonlocal best
        owed = bal + monthly_interest(bal, units)
        rec = model.recovery(t + 1, bal / 100)

        def step(p: int) -> tuple[float, float]:
            h = model.hazard(t + 1, p / 100)
            got = value + delta ** (t + 1 + lag) * surv * h * rec
            return got + delta ** (t + 1) * surv * (1 - h) * p / 100, surv * (1 - h)

        if owed <= caps[t]:  # clear now
            v, _ = step(owed)
            if v > best[0]:
                best = (v, [*pay, owed])
        if t == H - 1:
            return
        options = list(range(low, min(caps[t], owed - 1) + 1, unit))
        if run < longest:
            options.insert(0, 0)
        for p in options:
            v, s = step(p)
            walk(t + 1, owed - p, run + 1 if p == 0 else 0, s, v, [*pay, p])

    walk(0, to_cents(acc.principal + acc.interest_due + acc.fees_due), 0, 1.0, 0.0, [])
    return best


def _oracle_value(fields: dict, pay_cents: list[int]) -> float:
    """SPEC §4 NPV of a payment path in cents (the last clears), by the oracle."""
    acc = _account(fields)
    units = rate_units(acc.annual_rate)
    bal = to_cents(acc.principal + acc.interest_due + acc.fees_due)
    exp = []
    for p in pay_cents:
        exp.append(bal)
        bal += monthly_interest(bal, units) - p
    assert bal == 0
    return AccountModel(acc, BehaviourModel()).evaluate_cents(pay_cents, exp)["npv"]


@pytest.fixture(scope="module", params=range(len(CASES)))
def case(request):
    """A tiny case: fields, policy, context, and the brute-force optimum with holidays mid-plan."""
    fields, over = CASES[request.param]
    acc = _account(fields)
    pol = Policy(**{**MID_PLAN, **over}).for_product(acc.product)
    ctx = context_from_account(acc, pol, BehaviourModel())
    return fields, over, ctx, brute_force(fields, over, over["max_deferral_months"])


def test_holiday_bound_lies_above_every_schedule_with_holidays_mid_plan(case):
    """The run-length bound is at least the brute-force optimum with holidays anywhere, and within 1 % of it."""
    _, _, ctx, (best, _) = case
    assert math.isfinite(best)
    bound = holiday_bounds(ctx, 96).bound[0]
    assert best - 1e-6 <= bound <= best * 1.01


def test_the_bound_keeps_the_run_limit():
    """Where longer runs would pay more, the bound stays below the best schedule that breaks the run limit."""
    fields, over = CASES[1]
    acc = _account(fields)
    ctx = context_from_account(
        acc, Policy(**{**MID_PLAN, **over}).for_product(acc.product), BehaviourModel()
    )
    limited, _ = brute_force(fields, over, over["max_deferral_months"])
    unlimited, _ = brute_force(fields, over, over["max_term_months"])
    bound = holiday_bounds(ctx, 96).bound[0]
    assert limited <= bound < unlimited


def test_a_leading_holiday_only_bound_misses_the_month_without_income():
    """With a month of no income mid-plan, the best plan skips it: the leading-holiday bound lies below it."""
    fields, over = CASES[0]
    acc = _account(fields)
    ctx = context_from_account(
        acc, Policy(**{**MID_PLAN, **over}).for_product(acc.product), BehaviourModel()
    )
    best, pay = brute_force(fields, over, over["max_deferral_months"])
    assert 0 in pay[1:-1]
    assert free_bounds(ctx, 96).bound[0] < best <= family_bounds(ctx, 96).bound[0]


def test_rollouts_with_holidays_are_feasible_and_near_the_optimum(case):
    """Compiled and Python rollouts on the run-length tables give the same plan, policy-feasible, oracle-valued within 0.1 % of the optimum."""
    fields, over, ctx, (best, _) = case
    free = holiday_bounds(ctx, 96)
    plan = rollouts(ctx, np.array([0]), free, width=2)[0]
    assert plan is not None
    np.testing.assert_array_equal(plan, rollout(ctx, 0, free, width=2))
    sched = path_schedule(float(ctx.balance[0]), float(ctx.fields["annual_rate"][0]), plan)
    assert schedule_ok(ctx, 0, sched, over["max_deferral_months"], limit_levels=False)[0]
    value = _oracle_value(fields, [round(p * 100) for p in sched.payments])
    assert best * (1 - 1e-3) <= value <= best + 1e-6


# the review's example: two months of no income in the forecast (months 5–6)
REVIEW = {
    "principal": 6000, "annual_rate": 0.12, "remaining_term": 24, "income": 5000,
    "expenses": 3500, "income_forecast": (5000, 5000, 5000, 5000, 0, 0), "tier": "C",
    "product": "card_instalment", "account_id": "review",
}  # fmt: skip
BREAK = (300.0,) * 4 + (0.0, 0.0) + (300.0,) * 30


def test_review_example_bound_and_plan_cover_the_plan_with_a_break():
    """A plan of 300 a month with a two-month break is below the free bound and below the recommended custom plan."""
    acc = as_account(REVIEW)
    pol = Policy(**MID_PLAN).for_product(acc.product)
    ctx = context_from_account(acc, pol, BehaviourModel())
    booked = proposal_schedule(acc, Proposal(payments=BREAK), pol.rounding)
    assert not policy_violations(acc, booked, pol, BehaviourModel())
    pay = [round(p * 100) for p in booked.schedule.payments]
    target = _oracle_value(REVIEW, pay)
    assert family_bounds(ctx, 384).bound[0] >= target
    res = plan_options(acc, pol, search=SearchParams.thorough(), relax=False)
    custom = next(o for o in res.options if o.family == "custom")
    assert custom.feasible and custom.npv >= target - 1e-6
    assert custom.bound_over == "every_amount"
    assert custom.npv <= custom.bound + 1e-6
    # its months without income go without payment: not payment months for the figures
    pay = np.asarray(custom.schedule.payments)
    assert (pay[4:6] == 0).all()
    assert custom.min_afford_prob >= pol.min_afford_prob


def test_zero_months_agree_between_booking_policy_check_and_evaluator():
    """A holiday mid-plan passes the plan check and the officer's check alike, a too-long run fails both, and the evaluator values it as the oracle does."""
    fields, over = CASES[0]
    acc = _account(fields)
    pol = Policy(**{**MID_PLAN, **over}).for_product(acc.product)
    ctx = context_from_account(acc, pol, BehaviourModel())
    for pay, ok in (
        ((400.0, 400.0, 0.0, 400.0, 300.0), True),
        ((400.0, 0.0, 0.0, 400.0, 400.0, 400.0), False),
    ):
        booked = proposal_schedule(acc, Proposal(payments=pay), pol.rounding)
        sched = path_schedule(
            float(ctx.balance[0]), acc.annual_rate, np.array(booked.schedule.payments)
        )
        assert schedule_ok(ctx, 0, sched, over["max_deferral_months"], limit_levels=False)[0] is ok
        rules = {v.rule for v in policy_violations(acc, booked, pol, BehaviourModel())}
        assert ("max_deferral_months" not in rules) is ok
        if ok:  # month 3 has no income: a zero payment there breaks no cap
            assert not rules
            cents = [round(p * 100) for p in sched.payments]
            assert evaluate(acc, sched).npv == pytest.approx(_oracle_value(fields, cents), rel=1e-9)
            # the reported affordability is over the paying months (month 3's is 0 at any payment)
            oracle = AccountModel(acc, BehaviourModel())
            paying = [oracle.afford(t + 1, c / 100) for t, c in enumerate(cents) if c > 0]
            got = schedule_figures(acc, sched)["min_afford_prob"]
            assert got == pytest.approx(min(paying), rel=1e-9) and got >= pol.min_afford_prob


def test_schedule_check_counts_runs_not_months():
    """Two holidays of max_deferral_months each pass; one holiday a month longer does not."""
    fields, over = CASES[2]
    acc = _account(fields)
    pol = Policy(**{**MID_PLAN, **over, "max_term_months": 12})
    ctx = context_from_account(acc, pol, BehaviourModel())
    rate = float(ctx.fields["annual_rate"][0])
    for zeros, ok in (((1, 2, 5, 6), True), ((1, 2, 3), False)):
        pay = np.full(12, 200.0)
        pay[list(zeros)] = 0.0
        sched = schedule_from_payments(float(ctx.balance[0]), rate, pay, clear_last=True)
        assert schedule_ok(ctx, 0, sched, 2, limit_levels=False)[0] is ok


def test_compiled_rollouts_follow_runs_as_the_python_rollout_does():
    """On generated accounts the compiled rollouts and the Python rollout give the same plan (or one of equal NPV) on the run-length tables, each keeping the run limit."""
    from solver.core.generate import generate_portfolio
    from solver.plans.context import context_from_frame

    frame = generate_portfolio(16, seed=5)
    checked = 0
    for product, part in frame.groupby("product", sort=True):
        pol = Policy(**MID_PLAN).for_product(str(product))
        ctx = context_from_frame(part, pol, BehaviourModel())
        free = holiday_bounds(ctx, 96)
        new = rollouts(ctx, np.arange(len(ctx)), free)
        for i, plan in enumerate(new):
            old = rollout(ctx, i, free) if np.isfinite(free.bound[i]) else None
            assert (plan is None) == (old is None)
            if plan is None:
                continue
            if not np.array_equal(plan, old):  # a tie between equal scores
                vals = [evaluate_path(ctx, i, p) for p in (plan, old)]
                assert vals[0] == pytest.approx(vals[1], rel=1e-12)
            cents = np.round(plan * 100).astype(np.int64)
            assert _longest_run(cents[:-1]) <= pol.max_deferral_months
            checked += 1
    assert checked >= 8


def evaluate_path(ctx, i: int, pay: np.ndarray) -> float:
    """Model NPV of account ``i``'s cent schedule of a payment path (booked, then evaluated)."""
    from solver.plans.context import npv

    sched = path_schedule(float(ctx.balance[i]), float(ctx.fields["annual_rate"][i]), pay)
    T = np.array([sched.term])
    return float(npv(ctx, np.array([i]), sched.payments[None], sched.exposures[None], T)[0])


def _longest_run(cents: np.ndarray) -> int:
    """The longest run of zeros (own count, for the oracle side)."""
    best = run = 0
    for c in cents.tolist():
        run = run + 1 if c == 0 else 0
        best = max(best, run)
    return best


def test_without_holidays_the_run_tables_are_the_reference_tables(case):
    """With no holiday allowed (runs 0) the run-length pass gives bound_tables' reference tables bit for bit."""
    from solver.plans.bounds import bound_tables
    from solver.plans.free_bound import unit_grid
    from solver.plans.holiday_tables import holiday_tables

    _, _, ctx, _ = case
    amounts = unit_grid(ctx)
    none = np.zeros(1, np.int64)
    ref = bound_tables(ctx, amounts, 96, none)
    got = holiday_tables(ctx, amounts, 96, none)[0]
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_array_equal(a, b)
