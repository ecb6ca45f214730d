"""The plan optimizer against independent oracles (tests/oracles.py; issue 13 item 5).

The oracles recompute SPEC §2 (cents), §4 (the behaviour model), §5 (the per-month caps)
and §6 (the plan families' grids) with their own plain-Python code; nothing here takes
caps, incomes or values from the engine. Two small policies keep the brute force fast:

* ``LEVEL`` (terms up to 9 months): every level family's reported NPV must equal the
  oracle's best over the family's stated grid;
* ``RUN`` (terms up to 5 months, a 3-amount grid): ``custom`` and ``step`` must be
  optimal on their payment grid, checked by an exact dynamic programme.

Run with ``.venv/bin/pytest tests/test_plan_oracles.py -n 0``.
"""

from __future__ import annotations

import math
import random
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import (
    amortise,
    assert_reconciles,
    best_level_family,
    best_path_plan,
    caps,
    custom_grid,
    expected_income,
    level_schedule,
    monthly_interest,
    npv_of_schedule,
    phase_count,
    policy_feasible,
    rate_units,
    to_cents,
)

from solver.core.account import Account
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.options import plan_options
from solver.plans.search import SearchParams

MODEL = BehaviourModel()
LEVEL = Policy(max_term_months=9, max_deferral_months=3, rate_floor=0.04)
RUN = Policy(
    max_term_months=5, max_deferral_months=2, max_payment_levels=2, min_payment=50, rounding=10
)
RUN_SEARCH = SearchParams(grid_levels=3)
CONFIGS = {"level": (LEVEL, SearchParams()), "run": (RUN, RUN_SEARCH)}
NPV_REL = 1e-6  # engine searches in float and rebuilds in cents: same plan, same cents
SAME_REL = 1e-9  # one schedule evaluated twice
INCOME_PATTERNS = ("steady", "recovering", "flat_below_normal", "slow_recovery")


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(b))


# --------------------------------------------------------------------------------------
# Seeded small accounts
# --------------------------------------------------------------------------------------


def _fields(k: int) -> dict:
    """Fields of seeded account k: products, tiers and income patterns rotate.

    Patterns: ``steady`` (no income_normal), ``recovering`` (half income, recovering in
    2–4 months), ``flat_below_normal`` (income below income_normal but
    ``recovery_months = 0``: SPEC §4 says Ī_t = income), ``slow_recovery`` (6 months,
    beyond the RUN horizon) and, for the last accounts, ``forecast`` (an income forecast
    and one-off inflows, issue 13).
    """
    rng = random.Random(1300 + k)
    product = "auto_loan" if k % 2 == 0 else "card_instalment"
    pattern = _pattern(k)
    normal = rng.choice([2500.0, 3500.0, 5000.0, 7000.0])
    fields = {
        "account_id": f"O{k:02d}",
        "product": product,
        "principal": rng.choice([1800.0, 3200.0, 4500.0, 6000.0, 8000.0]),
        "interest_due": rng.choice([0.0, 120.0, 260.0]),
        "fees_due": rng.choice([0.0, 60.0, 150.0]),
        "arrears": rng.choice([0.0, 300.0]),
        "annual_rate": rng.choice([0.0, 0.06, 0.0899, 0.12, 0.18, 0.24]),
        "remaining_term": rng.randint(3, 12),
        "income_cv": 0.0 if k == 7 else rng.choice([0.1, 0.25, 0.4]),
        "expenses": round(normal * rng.choice([0.3, 0.4, 0.5]), 2),
        "other_debt": rng.choice([0.0, 200.0, 500.0]),
        "vehicle_value": rng.choice([6000.0, 12000.0, 20000.0]) if product == "auto_loan" else 0.0,
        "tier": "ABCDE"[k % 5],
    }
    if pattern == "steady":
        fields["income"] = normal
    elif pattern == "recovering":
        fields.update(income=normal / 2, income_normal=normal, recovery_months=rng.randint(2, 4))
    elif pattern == "flat_below_normal":
        fields.update(income=normal * 0.7, income_normal=normal, recovery_months=0)
    elif pattern == "slow_recovery":
        fields.update(income=normal * 0.6, income_normal=normal, recovery_months=6)
    else:  # forecast: a dip, then the path; a bonus in month 3 or 4
        fields.update(income=normal * 0.6, income_normal=normal, recovery_months=4)
        fields["income_forecast"] = [normal * 0.4, normal * rng.choice([0.5, 0.9])]
        fields["inflows"] = [(rng.choice([3, 4]), normal * rng.choice([0.5, 1.5]))]
    return fields


def _pattern(k: int) -> str:
    return "forecast" if k >= N_SEEDED else INCOME_PATTERNS[(k // 2) % 4]


N_SEEDED = 24  # accounts with the four SPEC §3 income patterns
N_ACCOUNTS = N_SEEDED + 4  # and a few with a forecast
FIELDS = [_fields(k) for k in range(N_ACCOUNTS)]
IDS = [
    f"{f['account_id']}-{f['product'].split('_')[0]}-{f['tier']}-{_pattern(k)}"
    for k, f in enumerate(FIELDS)
]


@cache
def _account(k: int) -> Account:
    # built on first use: a test of an account the schema refuses fails alone
    return Account.from_mapping(FIELDS[k])


@cache
def _engine(config: str, k: int):
    policy, search = CONFIGS[config]
    return plan_options(_account(k), policy, MODEL, search=search, relax=False)


def _labels(policy: Policy) -> list[str]:
    modes = [f"deferral/{m}" for m in policy.deferral_interest]
    return ["instalment", *modes, "concession", "settlement"]


@cache
def _oracle_level(config: str, k: int, label: str):
    return best_level_family(_account(k), CONFIGS[config][0], MODEL, label)


def _holiday(policy: Policy) -> int:
    can_hold = "capitalize" in policy.deferral_interest
    return min(policy.max_deferral_months, policy.max_term_months - 1) if can_hold else 0


def _cents(values) -> list[int]:
    return [to_cents(float(v)) for v in values]


# --------------------------------------------------------------------------------------
# Oracle self-checks (hand derivations; they fail if the oracle is wrong)
# --------------------------------------------------------------------------------------


def test_monthly_interest_rounds_half_up_by_hand():
    """Monthly interest is balance × rate / 12 rounded half-up to the cent (hand values)."""
    twelve = rate_units(0.12)
    assert monthly_interest(100_000, twelve) == 1000  # 1,000.00 at 1 %/month: 10.00
    assert monthly_interest(50, twelve) == 1  # 0.5 cent rounds up
    assert monthly_interest(49, twelve) == 0  # 0.49 cent rounds down
    assert monthly_interest(150, twelve) == 2  # 1.5 cents rounds up
    # 0.069/12 = 0.00575: 10,000.00 × 0.00575 = 57.50 exactly
    assert monthly_interest(1_000_000, rate_units(0.069)) == 5750
    assert monthly_interest(123_456, 0) == 0


def test_amortise_by_hand():
    """The payment waterfall in cents matches a hand-computed three-month schedule.

    1,000 at 12 % paying 400, 0, then clearing: interest 10.00, 6.10, 6.161 → 6.16; the
    last payment is 622.26.
    By hand: month 1 owes 1,010.00, pays 400 → 610.00; month 2 capitalises 6.10 → 616.10;
    month 3 charges 6.161 → 6.16 and clears 622.26 (principal −6.10 in month 2).
    """
    s = amortise(100_000, rate_units(0.12), [40_000, 0, 40_000])
    assert s is not None
    assert s.payment == [40_000, 0, 62_226]
    assert s.interest == [1_000, 610, 616]
    assert s.principal == [39_000, -610, 61_610]
    assert s.balance == [61_000, 61_610, 0]
    assert s.exposures == [100_000, 61_000, 61_610]
    s.check()
    assert amortise(100_000, rate_units(0.12), [101_000, 0]) is None  # clears in month 1


def test_level_schedule_rounds_up_and_last_absorbs():
    """Level instalments round up to the unit and the last payment clears the rest.

    10,000 at 12 % over 12 months is 888.49 × 11 and 888.47 (annuity 888.4879 by hand; the
    last payment agrees with the solver.core.amortisation doctest, an implementation this one does not
    share).
    """
    s = level_schedule(1_000_000, rate_units(0.12), 12, unit=1)
    assert s is not None and s.payment[:11] == [88_849] * 11 and s.payment[11] == 88_847
    assert sum(s.payment) == 1_066_186
    s.check()
    # 50,000 at 8 %, 3 interest-only months (333.33 each by hand), 21 level payments rounded
    # up to 1 CNY (annuity 2,559.11 → 2,560): solver.core.amortisation doctest gives the last as 2,547
    s = level_schedule(5_000_000, rate_units(0.08), 24, unit=100, deferral=3, mode="interest_only")
    assert s is not None and s.payment[:4] == [33_333, 33_333, 33_333, 256_000]
    assert s.payment[-1] == 254_700
    s.check()


@settings(max_examples=300, deadline=None)
@given(
    balance=st.integers(1_000, 5_000_000),
    rate=st.sampled_from([0.0, 0.0399, 0.06, 0.0899, 0.12, 0.18, 0.24, 0.36]),
    term=st.integers(1, 24),
    deferral=st.integers(0, 6),
    mode=st.sampled_from(["capitalize", "interest_only", "waive"]),
    unit=st.sampled_from([1, 100, 1000]),
)
def test_level_schedules_reconcile(balance, rate, term, deferral, mode, unit):
    """Oracle level schedules reconcile to the cent and the last payment exceeds the level only if rounding up overpays.

    (SPEC §2 identities; ``solver.core.amortisation.level_plan``'s documented rounding rule.)
    """
    deferral = min(deferral, term - 1)
    units = rate_units(rate)
    s = level_schedule(balance, units, term, unit, deferral, mode)
    assert s is not None
    s.check()
    assert s.term == term
    level = s.payment[deferral]
    if deferral == 0 and term > 1 and s.payment[-1] > level:
        up = (level // unit + 1) * unit
        assert amortise(balance, units, [up] * term) is None


def test_npv_one_month_by_hand():
    """npv_of_schedule equals a hand-derived one-month NPV with certain income (995.7087405863).

    NPV = δ·0.998·1000 + δ⁵·0.002·100. By hand: a_1 = 1 (5,000 ≥ 1,000 + 1,000), h_1 = h0(A) = 0.002, S_1 = 0.998, δ =
    1/1.0025, R_1 = ρ·1000 = 100 (no vehicle): 995.5112219451 + 0.1975186412 =
    995.7087405863 (decimal arithmetic, 30 digits).
    """
    acc = Account.from_mapping(
        {
            "account_id": "hand1",
            "principal": 1000,
            "annual_rate": 0.0,
            "remaining_term": 1,
            "income": 5000,
            "income_cv": 0.0,
            "expenses": 1000,
            "tier": "A",
        }
    )
    ev = npv_of_schedule(acc, [1000.0], [1000.0], MODEL)
    assert abs(ev["npv"] - 995.708740586307) < 1e-9
    assert ev["survival"] == [pytest.approx(0.998, abs=1e-15)]
    assert ev["pd_12m"] == pytest.approx(0.002, abs=1e-15) == ev["pd_life"]


def test_npv_two_months_by_hand():
    """npv_of_schedule equals a hand-derived two-month NPV with lognormal income and a vehicle.

    By hand (SPEC §4): Ī = 5,000, 6,000 (income 4,000 → 6,000 over 2 months); s² = ln 1.0625,
    s = 0.2462206771; outgo 2,000; z_t = (ln(p_t + 2000) − ln Ī_t + s²/2)/s = −1.9515554850,
    −2.6650496406 for p = 1,000, 1,020; a = 0.9745044987, 0.9961511520 (normal tail);
    h = 0.008 + 0.992·0.2·(1 − a) = 0.0130583075, 0.0087636114; C_t = 20,000·0.85^((t+4)/12)
    ·0.75 − 3,000 = 11,017.88, 10,829.32 > exposures 2,000, 1,010 so R_t = EAD_t;
    NPV = δS_1·1000 + δ²S_2·1020 + δ⁵h_1·2000 + δ⁶S_1h_2·1010 = 2011.766577224
    (scipy.stats.norm for Φ, float64; tolerance 1e-9 relative).
    """
    acc = Account.from_mapping(
        {
            "account_id": "hand2",
            "principal": 2000,
            "annual_rate": 0.06,
            "remaining_term": 2,
            "income": 4000,
            "income_normal": 6000,
            "recovery_months": 2,
            "income_cv": 0.25,
            "expenses": 1500,
            "other_debt": 500,
            "vehicle_value": 20000,
            "tier": "C",
        }
    )
    ev = npv_of_schedule(acc, [1000.0, 1020.0], [2000.0, 1010.0], MODEL)
    assert _rel(ev["npv"], 2011.766577224) < 1e-9
    assert abs(ev["pd_life"] - 0.0217074810) < 1e-9
    assert abs(ev["survival"][0] - 0.9869416925) < 1e-9


def test_caps_by_hand():
    """Per-month caps (SPEC §5) equal hand-derived values, each of the three rules binding once.

    Income 4,000, cv 0.25, expenses 1,200, other debt 300 (outgo 1,500). max_dti 0.5:
    2,000 − 300 = 1,700 binds. max_dti 0.8 and residual 200: min(2,900, 2,300, afford)
    where afford(q = 0.5) = Ī/√1.0625 − 1,500 = 2,380.570000581 → 2,300 binds. q = 0.9:
    exp(ln Ī − s²/2 + s·Φ⁻¹(0.1)) − 1,500 = 1,330.455226230 (Φ⁻¹(0.1) = −1.2815515655).
    """
    acc = Account.from_mapping(
        {
            "account_id": "caps",
            "principal": 5000,
            "annual_rate": 0.1,
            "remaining_term": 6,
            "income": 4000,
            "income_cv": 0.25,
            "expenses": 1200,
            "other_debt": 300,
        }
    )
    assert caps(acc, Policy(), 2) == pytest.approx([1700.0, 1700.0], abs=1e-9)
    loose = Policy(max_dti=0.8, min_residual_income=200)
    assert caps(acc, loose, 1) == pytest.approx([2300.0], abs=1e-9)
    assert caps(acc, loose.replace(min_residual_income=0), 1)[0] == pytest.approx(
        2380.570000581, abs=1e-6
    )
    assert caps(acc, loose.replace(min_afford_prob=0.9), 1)[0] == pytest.approx(
        1330.455226230, abs=1e-6
    )


def test_expected_income_follows_spec():
    """Ī_t: linear recovery, Ī_t = income when recovery_months = 0, forecast and inflows."""
    base = {
        "account_id": "inc",
        "principal": 1000,
        "annual_rate": 0.1,
        "remaining_term": 3,
        "expenses": 0,
    }
    rec = Account.from_mapping(
        {**base, "income": 1000, "income_normal": 3000, "recovery_months": 4}
    )
    assert expected_income(rec, 5) == [1500.0, 2000.0, 2500.0, 3000.0, 3000.0]
    flat = Account.from_mapping({**base, "income": 1000, "income_normal": 3000})
    assert expected_income(flat, 3) == [1000.0, 1000.0, 1000.0]

    class WithForecast:  # an account that carries a forecast and one-off inflows
        income, income_normal, recovery_months = 1000.0, 3000.0, 4
        income_forecast = [800.0, None, float("nan")]
        inflows = [(2, 500.0), (5, 100.0), (2, 50.0)]

    assert expected_income(WithForecast(), 5) == [800.0, 2550.0, 2500.0, 3000.0, 3100.0]


def test_phase_count_follows_policy_rule():
    """Phases are runs of equal payments; a final payment not above the one before is a remainder."""
    assert phase_count([0, 0, 500, 500, 300]) == 1
    assert phase_count([500, 500, 600]) == 2
    assert phase_count([500, 600, 500, 600]) == 4
    assert phase_count([0, 700]) == 1
    assert phase_count([500, 500, 500]) == 1


TINY = Policy(max_term_months=5, max_deferral_months=2, max_payment_levels=2, min_payment=50)


def test_path_oracle_refuses_a_family_it_does_not_solve():
    """The path oracle takes the family names of solver.domain and refuses any other: a
    misspelt step must not be solved as custom (whose optimum is at least step's)."""
    acc = _account(0)
    for family in ("Step", "steps", "instalment"):
        with pytest.raises(ValueError, match="custom or step"):
            best_path_plan(family, acc, TINY, MODEL, [100.0], 0)


@pytest.mark.parametrize("k", range(0, N_ACCOUNTS, 3), ids=IDS[::3])
def test_custom_and_step_dp_agree_with_enumeration(k):
    """Plain enumeration and the cent-state DP give the same custom and step optimum; step ≤ custom.

    Tiny instances: 5 months, a 3-amount grid, a holiday of up to 2 months.
    """
    acc = _account(k)
    cap = caps(acc, TINY, 5)
    top = max(c for c in cap if math.isfinite(c))
    grid = [round(top * f) for f in (0.35, 0.6, 0.95) if top * f >= 50]
    found = {}
    for name in ("custom", "step"):
        dp = best_path_plan(name, acc, TINY, MODEL, grid, 2, method="dp")
        enum = best_path_plan(name, acc, TINY, MODEL, grid, 2, method="enumerate")
        assert (dp["payments"] is None) == (enum["payments"] is None), name
        if dp["payments"] is not None:
            assert _rel(dp["npv"], enum["npv"]) < 1e-12, (name, dp, enum)
        found[name] = enum["npv"]
    assert found["step"] <= found["custom"] + 1e-9


# --------------------------------------------------------------------------------------
# The engine against the oracles
# --------------------------------------------------------------------------------------

LEVEL_CASES = [
    (config, k, label)
    for config in CONFIGS
    for k in range(N_ACCOUNTS)
    for label in _labels(CONFIGS[config][0])
]


@pytest.mark.parametrize(
    ("config", "k", "label"),
    LEVEL_CASES,
    ids=[f"{c}-{IDS[k]}-{label}" for c, k, label in LEVEL_CASES],
)
def test_level_family_npv_equals_oracle_best(config, k, label):
    """A level family's reported NPV equals the brute-force best over its stated grid (1e-6 rel).

    The family is feasible exactly when some grid point is.
    """
    res = _engine(config, k)
    opt = res.option(label)
    best = _oracle_level(config, k, label)
    if best is None:
        assert not opt.feasible, (
            f"engine offers {label} (NPV {opt.npv:.6f}, {opt.terms}) but no grid point is feasible"
        )
        return
    assert opt.feasible, (
        f"engine finds no {label} plan ({opt.reason}); oracle best NPV {best['npv']:.6f} at "
        f"{best['params']}, payments {[p / 100 for p in best['schedule'].payment]}"
    )
    assert _rel(opt.npv, best["npv"]) <= NPV_REL, (
        f"{label}: engine NPV {opt.npv:.6f} ({opt.terms}) vs oracle best {best['npv']:.6f} "
        f"({best['params']}); difference {opt.npv - best['npv']:+.6f}"
    )


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("k", range(N_ACCOUNTS), ids=IDS)
def test_reported_figures_equal_independent_evaluation(config, k):
    """Reported schedules reconcile and their NPV, PDs and expected loss equal the oracle's (1e-9 rel)."""
    acc = _account(k)
    res = _engine(config, k)
    for opt in (res.status_quo, *res.options):
        s = opt.schedule
        if s is None:
            continue
        assert_reconciles(
            s.payment.tolist(),
            s.interest.tolist(),
            s.principal.tolist(),
            s.fees.tolist(),
            s.balance.tolist(),
            int(s.opening_balance),
        )
        # exposures from the reconciled rows themselves: the balance before each payment
        exposures = [int(s.opening_balance), *s.balance.tolist()[:-1]]
        ev = npv_of_schedule(
            acc, [p / 100 for p in s.payment.tolist()], [e / 100 for e in exposures], MODEL
        )
        for key in ("npv", "pd_12m", "pd_life", "expected_loss"):
            assert _rel(getattr(opt, key), ev[key]) < SAME_REL, (
                f"{opt.label} {key}: reported {getattr(opt, key)!r}, oracle {ev[key]!r}"
            )


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("k", range(N_ACCOUNTS), ids=IDS)
def test_offered_plans_meet_independent_caps(config, k):
    """Every offered plan meets SPEC §5 under the oracle's own per-month caps.

    Payments within each month's cap, min_payment, term, holiday length and (except
    custom) the phase limit.
    """
    acc = _account(k)
    policy = CONFIGS[config][0]
    cap = caps(acc, policy, policy.max_term_months)
    res = _engine(config, k)
    for opt in res.options:
        if not opt.feasible or opt.family == "waterfall":
            continue
        pay = opt.schedule.payment.tolist()
        max_zero = opt.terms.holiday
        ok = policy_feasible(pay, cap, policy, max_zero, limit_levels=opt.family != "custom")
        over = [
            (t + 1, p / 100, round(cap[t], 4))
            for t, p in enumerate(pay)
            if p > 0 and t < len(cap) and p / 100 > cap[t] + 1e-9 * max(1.0, abs(cap[t]))
        ]
        assert ok, f"{opt.label}: payments {[p / 100 for p in pay]} break SPEC §5; over cap: {over}"


def _run_grid(k: int, family: str) -> list[float]:
    """The engine's grid for custom/step, or the documented rule when it reports none."""
    res = _engine("run", k)
    opt = res.option(family)
    if opt.feasible:
        return list(opt.terms.grid)
    return _documented_grid(k)


def _documented_grid(k: int) -> list[float]:
    """The payment grid by solver.plans.search's documented rule, with the oracle's own best
    instalment and capitalised-deferral level instalments as the extra amounts."""
    acc = _account(k)
    extra = []
    for label in ("instalment", "deferral/capitalize"):
        best = _oracle_level("run", k, label)
        if best is not None:
            first = int(best["params"].get("deferral_months", 0))
            extra.append(best["schedule"].payment[first] / 100)
    return custom_grid(acc, RUN, RUN_SEARCH.grid_levels, extra)


@pytest.mark.parametrize("family", ["custom", "step"])
@pytest.mark.parametrize("k", range(N_ACCOUNTS), ids=IDS)
def test_custom_and_step_are_optimal_on_their_grid(k, family):
    """No path on the engine's grid beats an OPTIMAL custom/step plan, and every bound is valid (exact DP).

    OPTIMAL means equal to the oracle optimum (1e-9 rel); any reported plan is a grid path
    (so at most the optimum), any reported bound is at least the optimum, and an
    infeasible family means no path exists.
    """
    acc = _account(k)
    res = _engine("run", k)
    opt = res.option(family)
    grid = _run_grid(k, family)
    best = best_path_plan(family, acc, RUN, MODEL, grid, _holiday(RUN))
    where = f"{family} on grid {grid}: oracle best {best['npv']:.6f} with {best['payments']}"
    if not opt.feasible:
        assert best["payments"] is None, f"engine: {opt.status} ({opt.reason}); {where}"
        return
    found = f"engine {opt.status} NPV {opt.npv:.6f} with {opt.payments.tolist()}"
    assert opt.npv <= best["npv"] + SAME_REL * abs(best["npv"]), f"{found}; {where}"
    if opt.status == "OPTIMAL":
        assert best["npv"] <= opt.npv + SAME_REL * abs(opt.npv), f"{found}; {where}"
    assert opt.bound >= best["npv"] - SAME_REL * abs(best["npv"]), (
        f"engine bound {opt.bound:.6f} below the optimum; {found}; {where}"
    )


@pytest.mark.parametrize("k", range(N_ACCOUNTS), ids=IDS)
def test_custom_grid_follows_documented_rule(k):
    """The engine's custom grid follows the rule solver.plans.search documents.

    The top cap down in equal unit steps to min_payment, the flat cap, and the best
    instalment and capitalised-deferral level instalments.
    """
    opt = _engine("run", k).option("custom")
    if not opt.feasible:
        pytest.skip("custom infeasible: the engine reports no grid")
    assert list(opt.terms.grid) == _documented_grid(k)
