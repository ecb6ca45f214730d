"""The customer's total cost of a plan (issue 13 criterion 7): ``customer_cost``.

The definition (``solver.plans.metrics.customer_costs``): the interest and fees the
customer is charged, in present value at the account's contract rate -- what the opening
balance carries beyond the outstanding principal (accrued interest and fees, less waivers)
at t = 0, plus every month's interest charged, month t discounted by ``(1 + r/12)^-t``.

The oracle here recomputes it from SPEC §2 with its own arithmetic: integer cents, the
monthly interest ``B·r/12`` rounded half-up to the cent, the payment waterfall (unpaid fees,
then interest, then principal), level instalments rounded up to the policy's unit with the
last payment clearing the balance (the rule of ``level_plan``'s docstring, its usual case),
and exact fractions for the annuity and the discounting. It calls no solver code: the
option objects and the ``workout plan`` JSON are only read.
"""

from __future__ import annotations

import json
import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from cli_inprocess import run_workout
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.core.account import Account
from solver.core.amortisation import level_plan
from solver.core.policy import Policy
from solver.core.readers import read_account
from solver.domain import OFFERED_FAMILIES
from solver.plans.metrics import customer_cost
from solver.plans.options import plan_options

SAMPLE = Path(__file__).resolve().parents[1] / "scenarios" / "sample_account.toml"
#: A card instalment at 18 % with fees and accrued interest (written for these tests).
CARD = {
    "account_id": "CARD-7",
    "product": "card_instalment",
    "principal": 24_350.0,
    "interest_due": 612.37,
    "fees_due": 245.5,
    "arrears": 2_100.0,
    "annual_rate": 0.18,
    "remaining_term": 14,
    "dpd": 40,
    "income": 7_000.0,
    "expenses": 3_000.0,
    "other_debt": 400.0,
}


# --------------------------------------------------------------------------------------
# The oracle: SPEC §2 in integer cents, the cost in exact fractions
# --------------------------------------------------------------------------------------


def _cents(amount: float) -> int:
    """An amount as written in decimal, in whole cents (half away from zero)."""
    return int((Decimal(repr(float(amount))) * 100).quantize(Decimal(1), ROUND_HALF_UP))


def _interest(bearing: int, rate: Fraction) -> int:
    """One month's interest on ``bearing`` cents at annual ``rate``, rounded half-up."""
    return math.floor(bearing * rate / 12 + Fraction(1, 2))


def _run(bearing: int, fees: int, rate: Fraction, asked: list[int]) -> tuple[list[int], list[int]]:
    """Payments and interest charged month by month when ``asked`` is paid on ``bearing``
    interest-bearing cents and ``fees`` unpaid fees; the last month pays what is owed."""
    paid: list[int] = []
    charged: list[int] = []
    for t, want in enumerate(asked):
        due = _interest(bearing, rate)
        owed = bearing + fees + due
        pay = owed if t == len(asked) - 1 else want
        assert pay < owed or t == len(asked) - 1, "the path clears the balance early"
        to_fees = min(pay, fees)
        fees -= to_fees
        bearing += due - (pay - to_fees)
        paid.append(pay)
        charged.append(due)
    return paid, charged


def _annuity(balance: int, rate: Fraction, months: int) -> Fraction:
    """Exact level payment (cents) amortising ``balance`` over ``months`` at ``rate``/12."""
    if rate == 0:
        return Fraction(balance, months)
    i = rate / 12
    return balance * i / (1 - (1 + i) ** -months)


def _level(balance: int, rate: Fraction, term: int, unit: int, holiday: int = 0) -> tuple:
    """A capitalised holiday of ``holiday`` months, then level instalments: the smallest
    multiple of ``unit`` at or above the annuity whose last payment is at most it."""
    grown = balance
    for _ in range(holiday):
        grown += _interest(grown, rate)
    level = math.ceil(_annuity(grown, rate, term - holiday) / unit) * unit
    while True:
        paid, charged = _run(balance, 0, rate, [0] * holiday + [level] * (term - holiday))
        if paid[-1] <= level:
            return paid, charged
        level += unit


def _cost(carried: int, charged: list[int], rate: Fraction) -> float:
    """SPEC cost: carried charges at t = 0 plus each month's interest at (1 + r/12)^-t."""
    v = 1 / (1 + rate / 12)
    return float((carried + sum(c * v ** (t + 1) for t, c in enumerate(charged))) / 100)


def _plan_oracle(acc: Account, term: int, unit: float, holiday: int = 0) -> tuple:
    """Payments (cents) and cost of a plan capitalising interest and fees at the contract rate."""
    rate = Fraction(repr(acc.annual_rate))
    carried = _cents(acc.interest_due) + _cents(acc.fees_due)
    paid, charged = _level(_cents(acc.principal) + carried, rate, term, _cents(unit), holiday)
    return paid, _cost(carried, charged, rate)


def _status_quo_oracle(acc: Account) -> tuple:
    """Payments (cents) and cost of the contract (SPEC §4): month 1 pays arrears, fees and
    the instalment on principal + interest_due - arrears, later months the instalment."""
    rate = Fraction(repr(acc.annual_rate))
    performing = _cents(acc.principal) + _cents(acc.interest_due) - _cents(acc.arrears)
    inst = math.floor(_annuity(performing, rate, acc.remaining_term) + Fraction(1, 2))
    asked = [inst] * acc.remaining_term
    asked[0] += _cents(acc.arrears) + _cents(acc.fees_due)
    bearing = _cents(acc.principal) + _cents(acc.interest_due)
    paid, charged = _run(bearing, _cents(acc.fees_due), rate, asked)
    return paid, _cost(_cents(acc.interest_due) + _cents(acc.fees_due), charged, rate)


def _accounts() -> list[Account]:
    return [read_account(SAMPLE), Account.from_mapping(CARD)]


# --------------------------------------------------------------------------------------
# The reported figures against the oracle
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("which", "max_term"), [(0, 24), (0, 36), (0, 60), (1, 12), (1, 30), (1, 60)]
)
def test_instalment_cost_matches_the_oracle(which, max_term):
    """The instalment option's customer_cost is the oracle's to the cent, for several terms."""
    acc = _accounts()[which]
    policy = Policy(max_term_months=max_term)
    opt = plan_options(acc, policy, relax=False).option("instalment")
    assert opt.feasible, opt.reason
    paid, cost = _plan_oracle(acc, opt.terms.term, policy.for_product(acc.product).rounding)
    assert opt.schedule.payment.tolist() == paid
    assert opt.customer_cost == pytest.approx(cost, abs=0.005)


def test_capitalised_holiday_interest_counts_once():
    """deferral/capitalize: each holiday month's interest counts when it accrues (oracle)."""
    acc = read_account(SAMPLE)
    opt = plan_options(acc, relax=False).option("deferral/capitalize")
    assert opt.terms.deferral_months >= 1
    paid, cost = _plan_oracle(acc, opt.terms.term, Policy().rounding, opt.terms.deferral_months)
    assert opt.schedule.payment.tolist() == paid
    assert opt.customer_cost == pytest.approx(cost, abs=0.005)


@pytest.mark.parametrize("which", [0, 1])
def test_status_quo_cost_matches_the_oracle(which):
    """The status quo's customer_cost is the oracle's (fees paid in month 1 counted once)."""
    acc = _accounts()[which]
    sq = plan_options(acc, relax=False).status_quo
    paid, cost = _status_quo_oracle(acc)
    assert sq.schedule.payment.tolist() == paid
    assert sq.customer_cost == pytest.approx(cost, abs=0.005)


# --------------------------------------------------------------------------------------
# Properties of the definition
# --------------------------------------------------------------------------------------

_money = st.integers(500_000, 30_000_000).map(lambda c: c / 100)
_rates = st.integers(300, 2400).map(lambda bp: bp / 10_000)


@settings(max_examples=60, deadline=None)
@given(
    principal=_money,
    carried=st.integers(0, 300_000).map(lambda c: c / 100),
    rate=_rates,
    term=st.integers(1, 54),
    longer=st.integers(6, 30),
)
def test_a_longer_term_at_the_contract_rate_costs_more(principal, carried, rate, term, longer):
    """Level instalments at the contract rate: the longer plan costs the customer more."""
    balance = principal + carried
    short = level_plan(balance, rate, term, rounding=1.0)
    long = level_plan(balance, rate, term + longer, rounding=1.0)
    assert customer_cost(long, principal, rate) > customer_cost(short, principal, rate)


@settings(max_examples=60, deadline=None)
@given(
    principal=_money,
    interest_due=st.integers(1_000, 300_000).map(lambda c: c / 100),
    fees_due=st.integers(1_000, 100_000).map(lambda c: c / 100),
    rate=_rates,
    term=st.integers(1, 60),
    cut=st.integers(25, 300).map(lambda bp: bp / 10_000),
)
def test_a_waiver_or_a_rate_cut_costs_less(principal, interest_due, fees_due, rate, term, cut):
    """Same term: waiving fees or interest, or cutting the rate, lowers the customer's cost."""
    full = principal + interest_due + fees_due

    def cost(balance: float, plan_rate: float) -> float:
        # instalments to the cent: a coarser unit re-rounds the level and moves the
        # interest by more than a small waiver (a property of the rounding, not the cost)
        plan = level_plan(balance, plan_rate, term, rounding=0.01)
        return customer_cost(plan, principal, rate)

    base = cost(full, rate)
    # a waiver lowers the carried charges by what it forgives, and the interest with them
    # (a re-rounded cent of the level moves the interest by well under one unit)
    for waived in (fees_due, interest_due / 2):
        lower = cost(full - waived, rate)
        assert lower < base and base - lower > waived - 1.0
    # the cut plan is still discounted at the contract rate
    assert cost(full, rate - cut) < base


def test_a_concession_waiver_costs_less_than_the_same_plan_without_it():
    """The sample's concession (a fee waiver, 48 months) costs less than an unwaived 48-month plan."""
    acc = read_account(SAMPLE)
    opt = plan_options(acc, relax=False).option("concession")
    assert opt.terms.fee_waiver or opt.terms.interest_waiver or opt.terms.rate < acc.annual_rate
    _, unwaived = _plan_oracle(acc, opt.terms.term, Policy().rounding)
    assert opt.customer_cost < unwaived


def test_a_settlement_haircut_counts_against_the_carried_charges():
    """CARD-7's settlement: waivers and the forgiven principal make the cost negative."""
    acc = Account.from_mapping(CARD)
    opt = plan_options(acc, relax=False).option("settlement")
    terms = opt.terms
    assert opt.feasible and terms.haircut > 0 and not opt.schedule.interest.any()
    carried = (
        acc.interest_due * (1 - terms.interest_waiver)
        + acc.fees_due * (1 - terms.fee_waiver)
        - acc.principal * terms.haircut
    )
    # the terms' shares are rounded to 6 decimals: 24,350 × 5e-7 ≈ 0.012 of principal
    assert opt.customer_cost == pytest.approx(carried, abs=0.02)
    assert opt.customer_cost < 0


# --------------------------------------------------------------------------------------
# The customer's objective
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("within_pct", [0, 1, 2, 5, 20])
def test_customer_objective_picks_the_cheapest_plan_within_x_percent(within_pct):
    """--objective customer --within X: NPV within X % of the best, least cost among those."""
    code, out, err = run_workout(
        "plan", SAMPLE, "--objective", "customer", "--within", within_pct, "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    offered = [
        o
        for o in doc["options"]
        if o["feasible"] and o["family"] in OFFERED_FAMILIES and o["npv"] > doc["status_quo"]["npv"]
    ]
    best = max(o["npv"] for o in offered)
    allowed = [o for o in offered if o["npv"] >= best - within_pct / 100 * abs(best)]
    cheapest = min(allowed, key=lambda o: (o["customer_cost"], -o["npv"]))
    assert doc["recommended_label"] == cheapest["label"]


def test_the_sample_frontier_trades_npv_for_a_cheaper_shorter_plan():
    """On the sample account the frontier has several plans and 2 % buys a shorter, cheaper one."""
    code, out, err = run_workout(
        "plan", SAMPLE, "--objective", "customer", "--within", 2, "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    by_label = {o["label"]: o for o in doc["options"]}
    assert len(doc["frontier"]) >= 2
    bank_best = by_label[doc["frontier"][0]]
    pick = by_label[doc["recommended_label"]]
    assert pick["label"] != bank_best["label"]
    assert pick["customer_cost"] < bank_best["customer_cost"]
    assert pick["params"]["term"] < bank_best["params"]["term"]
    # the difference of the two costs as printed (review of s21: 3,300.54, not 3,300.53)
    printed = round(bank_best["customer_cost"], 2) - round(pick["customer_cost"], 2)
    saved = f"{printed:,.2f} less than the bank's best"
    assert saved in doc["explanation"]


def test_the_table_note_help_and_frontier_say_what_the_api_says():
    """The plan table's note and --help define the cost in the API's words; the frontier
    table prints each frontier plan's customer_cost as the API reports it."""
    import re

    from solver.plans.customer_choice import efficient_frontier
    from solver.plans.metrics import CUSTOMER_COST_TEXT

    code, out, err = run_workout("plan", SAMPLE, "--objective", "customer", "--within", 2)
    assert code == 0, err
    plain = " ".join(out.split())
    assert f"customer cost: {CUSTOMER_COST_TEXT}" in plain
    code, helped, _ = run_workout("plan", "--help")
    assert code == 0 and CUSTOMER_COST_TEXT in " ".join(helped.split())
    frontier = efficient_frontier(plan_options(read_account(SAMPLE)))
    rows = out.split("Bank vs customer")[1].splitlines()
    for o in frontier:
        # the whole option cell: frontier labels now carry terms ("instalment 36m",
        # "concession 36m at 4.90%, fees −100%") -- one may start another or end in "%"
        cell = rf"│ (★ )?{re.escape(o.label)} +│"
        row = next(line for line in rows if re.search(cell, line))
        assert f"{o.customer_cost:,.2f}" in row and f"{o.npv:,.2f}" in row


def test_plan_portfolio_reports_the_options_customer_cost():
    """plan-portfolio's customer_cost is the recommended (else status quo) option's own."""
    from solver.core.generate import generate_portfolio
    from solver.plans.portfolio import plan_portfolio

    frame = generate_portfolio(40, seed=5)
    table = plan_portfolio(frame, jobs=1).table.set_index("account_id")
    for acc in Account.from_frame(frame):
        alone = plan_options(acc, relax=False)
        follow = alone.recommended_option or alone.status_quo
        assert table.loc[acc.account_id, "customer_cost"] == pytest.approx(
            follow.customer_cost, rel=1e-12, abs=1e-9
        ), acc.account_id
