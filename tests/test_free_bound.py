"""The free-family bound and polish (solver.plans.free_bound) against an independent brute force.

The oracle enumerates every free custom schedule of tiny accounts (short terms, every
payment on the rounding unit) and values it with its own SPEC §4/§5 code: Python
integers for the cents and the half-up interest, the model formulas with the SPEC's
default parameters, the caps from the SPEC's policy rules. Nothing in it comes from
the plan search or the model kernel.
"""

from __future__ import annotations

import math
from fractions import Fraction
from statistics import NormalDist

import numpy as np
import pytest

from solver.core.account import as_account
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.context import context_from_account
from solver.plans.free_bound import free_bounds, polish, rollout, unit_grid

# SPEC §4 defaults
H0 = {"A": 0.002, "B": 0.004, "C": 0.008, "D": 0.015, "E": 0.03}
KAPPA, LAG, RHO, COF = 0.2, 4, 0.10, 0.03
DEPR, AUCTION, REPO = 0.15, 0.25, 3000.0

# tiny accounts: (fields, policy overrides)
CASES = [
    (
        {"principal": 600, "annual_rate": 0.12, "remaining_term": 3, "income": 1500,
         "expenses": 1000, "tier": "C", "product": "card_instalment"},
        {"max_term_months": 3, "max_deferral_months": 1, "min_payment": 50},
    ),
    (
        {"principal": 900, "interest_due": 35.5, "fees_due": 12.25, "annual_rate": 0.18,
         "remaining_term": 6, "income": 1200, "income_normal": 2200, "recovery_months": 3,
         "expenses": 900, "other_debt": 50, "income_cv": 0.4, "tier": "E",
         "product": "card_instalment"},
        {"max_term_months": 4, "max_deferral_months": 2, "min_payment": 100, "rounding": 10},
    ),
    (
        {"principal": 5200, "annual_rate": 0.09, "remaining_term": 12, "income": 9000,
         "expenses": 4000, "vehicle_value": 9000, "tier": "B", "product": "auto_loan"},
        {"max_term_months": 3, "max_deferral_months": 0, "min_payment": 400, "rounding": 20,
         "max_dti": 0.4},
    ),
]  # fmt: skip


def _policy(over: dict) -> Policy:
    """The policy of a case (SPEC §5 defaults with its overrides)."""
    return Policy(**over)


def _account(fields: dict):
    """The account of a case."""
    base = {"account_id": "tiny", "remaining_term": 3}
    return as_account({**base, **fields})


def _oracle_setup(f: dict, pol: dict) -> dict:
    """Per-month SPEC quantities of an account: income path, caps, lognormal parameters."""
    H = pol["max_term_months"]
    inc, cv = float(f["income"]), float(f.get("income_cv", 0.25))
    normal = float(f.get("income_normal", inc))
    rec_m = int(f.get("recovery_months", 0))
    outgo = float(f["expenses"]) + float(f.get("other_debt", 0.0))
    s2 = math.log(1 + cv * cv)
    s = math.sqrt(s2)
    months = []
    for t in range(1, H + 1):
        ibar = inc if rec_m == 0 else inc + (normal - inc) * min(1.0, t / rec_m)
        mu = math.log(ibar) - s2 / 2
        z = NormalDist().inv_cdf(1 - pol.get("min_afford_prob", 0.5))
        caps = (
            pol.get("max_dti", 0.5) * ibar - float(f.get("other_debt", 0.0)),
            ibar - outgo - pol.get("min_residual_income", 0.0),
            math.exp(mu + s * z) - outgo,
        )
        months.append((mu, min(caps)))
    return {"s": s, "outgo": outgo, "months": months}


def _hazard(setup: dict, tier: str, t: int, p: float) -> float:
    """SPEC §4 hazard of paying ``p`` in month index ``t``."""
    mu = setup["months"][t][0]
    a = 1 - NormalDist().cdf((math.log(p + setup["outgo"]) - mu) / setup["s"])
    h0 = H0[tier]
    return h0 + (1 - h0) * KAPPA * (1 - a)


def _value(f: dict, setup: dict, pay: list[int], exp: list[int]) -> float:
    """SPEC §4 NPV of a schedule in cents (payments and exposures)."""
    d = 1 / (1 + COF / 12)
    V0 = float(f.get("vehicle_value", 0.0))
    surv, out = 1.0, 0.0
    for t, (p, e) in enumerate(zip(pay, exp, strict=True), start=1):
        h = _hazard(setup, f["tier"], t - 1, p / 100)
        C = max(0.0, V0 * (1 - DEPR) ** ((t + LAG) / 12) * (1 - AUCTION) - REPO) if V0 else 0.0
        ead = e / 100
        rec = min(ead, C) + RHO * max(0.0, ead - C)
        out += d ** (t + LAG) * surv * h * rec
        surv *= 1 - h
        out += d**t * surv * p / 100
    return out


def _brute_force(f: dict, pol: dict) -> float:
    """The best NPV over every policy-feasible free custom schedule (own enumeration)."""
    setup = _oracle_setup(f, pol)
    H = pol["max_term_months"]
    unit = round(pol.get("rounding", 1) * 100)
    low = -(-max(pol["min_payment"] * 100, unit) // unit) * unit
    rate = Fraction(str(f["annual_rate"])) / 12
    B0 = round((f["principal"] + f.get("interest_due", 0) + f.get("fees_due", 0)) * 100)
    caps = [int(math.floor(c * 100 + 1e-6)) for _, c in setup["months"]]
    hold = pol["max_deferral_months"]
    best = -math.inf

    def walk(t: int, bal: int, pay: list[int], exp: list[int]) -> None:
        nonlocal best
        owed = bal + int((2 * bal * rate + 1) // 2)  # half-up on the cent
        if owed <= caps[t]:  # clear now
            best = max(best, _value(f, setup, [*pay, owed], [*exp, bal]))
        if t == H - 1:
            return
        options = list(range(low, min(caps[t], owed - 1) + 1, unit))
        if t < hold and all(p == 0 for p in pay):
            options.insert(0, 0)
        for p in options:
            walk(t + 1, owed - p, [*pay, p], [*exp, bal])

    walk(0, B0, [], [])
    return best


@pytest.fixture(scope="module", params=range(len(CASES)))
def case(request):
    """A tiny case with its context and its brute-force optimum."""
    fields, over = CASES[request.param]
    acc = _account(fields)
    pol = _policy(over).for_product(acc.product)
    ctx = context_from_account(acc, pol, BehaviourModel())
    return fields, over, ctx, _brute_force(fields, over)


def test_unit_grid_is_every_rounding_unit_up_to_the_top_cap(case):
    """The unit grid holds every multiple of the rounding unit from min_payment to the largest cap."""
    fields, over, ctx, _ = case
    grid = unit_grid(ctx)[0]
    grid = grid[np.isfinite(grid)]
    setup = _oracle_setup(fields, over)
    unit = over.get("rounding", 1)
    top = max(c for _, c in setup["months"])
    low = math.ceil(over["min_payment"] / unit) * unit
    expect = np.arange(low, math.floor(top / unit + 1e-9) * unit + unit / 2, unit)
    np.testing.assert_allclose(grid, expect)


def test_free_bound_lies_above_every_free_schedule(case):
    """The free bound is at least the brute-force optimum over all free schedules, and near it."""
    _, _, ctx, best = case
    assert math.isfinite(best)
    bound = free_bounds(ctx, 96).bound[0]
    assert bound >= best - 1e-6
    assert bound <= best * 1.02  # a bound far above the optimum would certify nothing


def test_pruned_tables_are_the_reference_tables(case):
    """The default (pruned) free bound's tables equal the reference pass's, bit for bit."""
    _, _, ctx, _ = case
    new, ref = free_bounds(ctx, 96), free_bounds(ctx, 96, exact_reference=True)
    assert np.array_equal(new.bound, ref.bound)
    for a, b in zip(new.tables[0], ref.tables[0], strict=True):
        assert np.array_equal(a, b)


def test_rollout_and_polish_give_feasible_schedules_valued_by_the_oracle(case):
    """The rollout and its polish are free schedules whose oracle value matches and is at most the optimum."""
    fields, over, ctx, best = case
    free = free_bounds(ctx, 96)
    start = rollout(ctx, 0, free)
    assert start is not None
    pay, value = polish(ctx, 0, start)
    setup = _oracle_setup(fields, over)
    cents = [round(x * 100) for x in pay]
    # the oracle's own walk of the body: half-up interest on the cent, each month's
    # exposure the balance before its payment, the last payment what is then owed
    rate = Fraction(str(fields["annual_rate"])) / 12
    bal = round(
        (fields["principal"] + fields.get("interest_due", 0) + fields.get("fees_due", 0)) * 100
    )
    exp = []
    for p in cents[:-1]:
        exp.append(bal)
        bal += int((2 * bal * rate + 1) // 2) - p
    exp.append(bal)
    assert cents[-1] == bal + int((2 * bal * rate + 1) // 2)
    assert cents[-1] <= math.floor(setup["months"][len(cents) - 1][1] * 100 + 1e-6)
    oracle = _value(fields, setup, cents, exp)
    assert value == pytest.approx(oracle, rel=1e-9, abs=1e-6)
    assert oracle <= best + 1e-6
    assert oracle >= best * (1 - 1e-3)  # rollout + polish reach the optimum within 0.1 %


def test_free_bound_lies_above_thorough_plans_of_generated_accounts():
    """On generated accounts the free bound is above every custom/step plan of the thorough search."""
    from solver.core.account import Account
    from solver.core.generate import generate_portfolio
    from solver.plans.free_custom import family_bounds
    from solver.plans.options import plan_options
    from solver.plans.search import SearchParams

    book = generate_portfolio(12, seed=11)
    checked = 0
    for acc in Account.from_frame(book):
        pol = Policy().for_product(acc.product)
        # thorough custom plans may skip months mid-plan: the bound of that family
        bound = family_bounds(context_from_account(acc, pol, BehaviourModel()), 192).bound[0]
        res = plan_options(acc, pol, search=SearchParams.thorough(), relax=False)
        for opt in res.options:
            if opt.family in ("custom", "step") and opt.feasible:
                assert opt.npv <= bound + 1e-6
                checked += 1
    assert checked >= 6
