"""The free bound's pass to a tolerance, and the zero-payment action (solver.plans.free_dp, session 14).

Validity of tables built to a tolerance is checked as the argument needs it: each
month's interpolant lies above every action's value computed on the pass's *own* next
month (the induction step; the actions' values from the SPEC §4 formula, written here,
with hazards from this file's own SPEC §4 code -- income path, lognormal affordability,
h0 and κ, through ``math`` and ``scipy.stats`` -- checked equal to the hazards the pass
uses, so a wrong kernel hazard fails here; the recoveries are the kernel's), and the root
lies above a brute force over every schedule of tiny accounts (tests/test_free_bound.py's
oracle, extended here to holidays anywhere). With tolerance 0 the pass equals the
reference bit for bit, also with the zero-payment action.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy.stats import norm
from test_free_bound import (
    CASES,
    H0,
    KAPPA,
    _account,
    _brute_force,
    _oracle_setup,
    _policy,
    _value,
)
from test_free_dp import _contexts

from solver.core.account import Account
from solver.core.generate import generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.bounds import _clearable, bound_at, bound_tables
from solver.plans.context import PlanContext, context_from_account
from solver.plans.free_bound import free_bounds, unit_grid
from solver.plans.free_dp import TOLERANCE
from solver.plans.free_prep import free_tables, hazard_inputs
from solver.plans.search import holiday_months

BUCKETS = 48


def _cases(n: int, seed: int, **policy: object) -> list[tuple[Account, PlanContext]]:
    """``test_free_dp._contexts``'s contexts with their accounts (for the own hazards)."""
    out = []
    for acc in Account.from_frame(generate_portfolio(n, seed=seed)):
        pol = Policy(**policy).for_product(acc.product)  # type: ignore[arg-type]
        ctx = context_from_account(acc, pol, BehaviourModel())
        if np.isfinite(unit_grid(ctx)).all():
            out.append((acc, ctx))
    return out


def spec_hazards(acc: Account, t: int, pay: np.ndarray) -> np.ndarray:
    """SPEC §4 default hazards of paying each of ``pay`` in month index ``t`` (plan month
    t + 1), from the account's fields alone: ``Ī = income + (income_normal − income) ·
    min(1, month / recovery_months)``; ``ln I ~ N(μ, s²)``, ``s² = ln(1 + cv²)``,
    ``μ = ln Ī − s²/2``; ``1 − a = Φ((ln(p + expenses + other_debt) − μ) / s)`` (with
    the SPEC's cases for Ī = 0, cv = 0 and a zero threshold); ``h = h0 + (1 − h0) κ (1 − a)``
    with the SPEC's h0 of the tier and κ. No solver code."""
    assert acc.income_forecast is None and not acc.inflows, "the straight-line path only"
    month = t + 1
    income = float(acc.income)
    normal = income if acc.income_normal is None else float(acc.income_normal)
    months = int(acc.recovery_months)
    ibar = income if months == 0 else income + (normal - income) * min(1.0, month / months)
    need = np.asarray(pay, float) + float(acc.expenses) + float(acc.other_debt)
    cv = float(acc.income_cv)
    if ibar <= 0 or cv == 0:
        # no spread: affordable exactly when the income covers the threshold (so with
        # Ī = 0 only a zero threshold is)
        unaffordable = (need > ibar).astype(float)
    else:
        s2 = math.log1p(cv * cv)
        with np.errstate(divide="ignore"):  # a zero threshold: ln 0 = −inf, affordable
            z = (np.log(need) - (math.log(ibar) - s2 / 2)) / math.sqrt(s2)
        unaffordable = norm.cdf(z)
    h0 = H0[str(acc.tier)]
    return h0 + (1 - h0) * KAPPA * unaffordable


def _assert_pass_hazards_are_spec(acc: Account, ctx: PlanContext) -> None:
    """The hazards the tolerance passes use (``free_prep.hazard_inputs``, which
    ``free_tables`` and ``holiday_tables`` call: every unit amount, then the holiday's
    amount 0, one row per month) are :func:`spec_hazards`."""
    amounts = unit_grid(ctx)[0]
    hz, row_of, _ = hazard_inputs(ctx, amounts)
    pay = np.concatenate([amounts, [0.0]])
    for t in range(ctx.horizon):
        np.testing.assert_allclose(
            hz[row_of[t]],
            spec_hazards(acc, t, pay),
            rtol=1e-12,
            atol=1e-15,
            err_msg=f"month {t + 1}",
        )


def _best_action(
    acc: Account, ctx: PlanContext, tables: tuple, t: int, b: float, hold: int
) -> float:
    """The largest value of any action at balance ``b`` in month index ``t`` on the
    tables' next month: each unit amount within the cap and below what is owed, the
    payment 0 while ``t < hold``, and clearing when what is owed is within the cap
    (SPEC §4: δ_t (1 − h) p + δ_t^L h R_t(b) + (1 − h) × next month's bound, h from
    :func:`spec_hazards`)."""
    g = 1.0 + float(ctx.monthly_rate[0])
    owed = b * g
    cap = float(ctx.cap[0, t])
    amounts = unit_grid(ctx)[0]
    pay = amounts[(amounts <= cap * (1 + 1e-9)) & (amounts < owed)]
    if t < hold:
        pay = np.concatenate([[0.0], pay])
    clears = owed <= cap
    pay = np.concatenate([pay, [owed]]) if clears else pay
    if pay.size == 0:
        return -math.inf
    h = spec_hazards(acc, t, pay)
    rec = float(ctx.kernel.recovery(np.zeros(1, np.int64), np.array([b]), t)[0])
    nxt = owed - pay
    later = np.full(pay.size, -np.inf)
    if t + 1 < ctx.horizon:
        later = bound_at(tables, np.zeros(pay.size, np.int64), t + 1, nxt)
    if clears:
        later[-1] = 0.0
    value = ctx.discount[t] * (1 - h) * pay + ctx.discount_lag[t] * h * rec + (1 - h) * later
    return float(np.max(value))


def _most_clearable(ctx: PlanContext, amounts: np.ndarray | None = None) -> np.ndarray:
    """The largest balance before each month t that payments within the caps can clear by
    the last month (H + 1,), relaxed: interest at the monthly rate rounded half-up to the
    cent (SPEC §2: a balance grows by at most b·i + 0.005), a month either clears (any
    amount up to the cap, cap·(1 + 1e-9) for float noise) or pays at most the cap —
    at most the largest of ``amounts`` within it, if given (the family's unit amounts):
    ``x_H = 0``, ``x_t = (max(cap_t, a_t + x_{t+1}) + 0.005) / g``. No solver code;
    generated accounts are in CNY."""
    g = 1.0 + float(ctx.monthly_rate[0])
    x = np.zeros(ctx.horizon + 1)
    for t in range(ctx.horizon - 1, -1, -1):
        cap = float(ctx.cap[0, t])
        cap = max(cap * (1 + 1e-9), 0.0) if math.isfinite(cap) else 0.0
        pay = cap
        if amounts is not None:
            within = amounts[amounts <= cap]
            pay = float(within.max()) if within.size else 0.0
        x[t] = (max(cap, pay + x[t + 1]) + 0.005) / g
    return x


def _assert_months_above_actions(
    acc: Account, ctx: PlanContext, tables: tuple, hold: int, seed: int
) -> int:
    """The pass's hazards are the SPEC's, and each month's interpolant at random balances
    of its band is at least every action's value there (on the tables' own next month);
    returns how many balances had one.

    Tables that say "no plan" at every node (``free_tables``' short cut, or a pass that
    found no plan) are checked instead against :func:`_most_clearable` on the unit
    amounts: right only when no plan can clear the opening balance; then no state
    reachable from it can be cleared either (else the path to it and on would be a plan),
    its value is −inf, and there is no step to check (session 18: the states of such a
    band are unreachable, their actions' values moot)."""
    _assert_pass_hazards_are_spec(acc, ctx)
    _, w, U, lo = tables
    if not (tables[0] > -1e17).any():
        most = _most_clearable(ctx, unit_grid(ctx)[0])[0]
        assert float(ctx.balance[0]) > most, "no-plan tables, yet a plan"
        return 0
    rng = np.random.default_rng(seed)
    M = tables[0].shape[2] - 1
    checked = 0
    for t in rng.choice(ctx.horizon, size=min(ctx.horizon, 8), replace=False).tolist():
        top = min(float(lo[0, t] + M * w[0, t]), float(U[0, t]))
        if not top > lo[0, t]:  # no balance of the band can be cleared
            continue
        for b in rng.uniform(float(lo[0, t]), top, size=6).tolist():
            best = _best_action(acc, ctx, tables, t, b, hold)
            if not math.isfinite(best):
                continue
            here = float(bound_at(tables, np.zeros(1, np.int64), t, np.array([b]))[0])
            assert here >= best, (t, b, here, best)
            checked += 1
    return checked


@pytest.mark.parametrize("tolerance", [1e-6, 1e-3])
@pytest.mark.parametrize("zero", [False, True])
def test_each_month_lies_above_every_action_on_its_own_next_month(tolerance, zero):
    """With a tolerance (even a coarse one) the interpolant bounds every action's value on the pass's own tables."""
    checked = 0
    for k, (acc, ctx) in enumerate(_cases(5, 21)):
        H = ctx.horizon
        hold = H if zero else int(holiday_months(ctx)[0])
        tables = free_tables(ctx, unit_grid(ctx), BUCKETS, np.array([hold]), tolerance=tolerance)
        checked += _assert_months_above_actions(acc, ctx, tables, hold, k)
    assert checked >= 60


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(seed=2379, rounding=1, deferral=0, zero=False)  # an account without a plan (session 18)
@given(
    seed=st.integers(0, 10_000),
    rounding=st.sampled_from([1, 10]),
    deferral=st.integers(0, 6),
    zero=st.booleans(),
)
def test_generated_accounts_keep_the_induction_step(seed, rounding, deferral, zero):
    """On generated accounts and policies (hypothesis) the tolerance tables keep the induction step."""
    for acc, ctx in _cases(2, seed, rounding=rounding, max_deferral_months=deferral):
        hold = ctx.horizon if zero else int(holiday_months(ctx)[0])
        tables = free_tables(ctx, unit_grid(ctx), BUCKETS, np.array([hold]), tolerance=1e-5)
        _assert_months_above_actions(acc, ctx, tables, hold, seed)


@pytest.mark.parametrize("seed", [21, 2379])
def test_clearable_limit_lies_above_what_the_caps_can_clear(seed):
    """U, past which the tables say "no plan" (and no pass runs when the opening balance is), is never below the caps' reach."""
    dead = 0
    for rounding in (1, 10):
        for _, ctx in _cases(40, seed, rounding=rounding):
            U, _ = _clearable(ctx)
            most = _most_clearable(ctx)
            assert np.all(U[0] >= most), np.flatnonzero(U[0] < most)
            if ctx.balance[0] > most[0]:  # no plan can clear the opening balance
                tables = free_tables(ctx, unit_grid(ctx), BUCKETS, holiday_months(ctx))
                root = bound_at(tables, np.zeros(1, np.int64), 0, ctx.balance[:1])
                assert root[0] == -math.inf
                dead += 1
    assert dead >= 4


def test_root_is_within_the_tolerance_budget_of_the_exact_pass():
    """The root bound is at most tolerance × months above the exact pass's (and the pass does less work)."""
    tol = TOLERANCE
    for ctx in _contexts(8, 22):
        exact = free_bounds(ctx, 96)
        fast = free_bounds(ctx, 96, tolerance=tol)
        if not np.isfinite(exact.bound[0]):
            assert not np.isfinite(fast.bound[0])
            continue
        assert fast.bound[0] <= exact.bound[0] + tol * ctx.horizon * abs(exact.bound[0])
    ctx = _contexts(3, 22)[0]
    hold = holiday_months(ctx)
    work_exact, work_fast = np.zeros(2, np.int64), np.zeros(2, np.int64)
    free_tables(ctx, unit_grid(ctx), 96, hold, work_exact)
    free_tables(ctx, unit_grid(ctx), 96, hold, work_fast, tolerance=tol)
    assert work_fast.sum() < work_exact.sum()


@pytest.mark.parametrize("seed", [11, 12])
def test_zero_payment_tables_are_the_reference_with_an_amount_zero(seed):
    """At tolerance 0 the zero action gives bound_tables with a holiday every month, and with an amount 0 added."""
    compared = 0
    for ctx in _contexts(6, seed):
        amounts, H = unit_grid(ctx), ctx.horizon
        new = free_tables(ctx, amounts, BUCKETS, np.array([H]))
        ref = bound_tables(ctx, amounts, BUCKETS, np.array([H]))
        for a, b in zip(new, ref, strict=True):
            assert np.array_equal(a, b)
        if np.all(ctx.cap[0] >= 0):  # an amount 0 is then allowed every month too
            with_zero = np.concatenate([np.zeros((1, 1)), amounts], axis=1)
            ref0 = bound_tables(ctx, with_zero, BUCKETS, holiday_months(ctx))
            for a, b in zip(new, ref0, strict=True):
                assert np.array_equal(a, b)
            compared += 1
    assert compared >= 3


def _brute_force_holidays(f: dict, pol: dict) -> float:
    """The best NPV over every free schedule whose months may also pay 0 anywhere (not the
    last), interest capitalised: the largest value of every path of payments, walked
    month by month (test_free_bound's SPEC valuation of each complete schedule)."""
    setup = _oracle_setup(f, pol)
    step = round(pol.get("rounding", 1) * 100)
    smallest = max(pol["min_payment"] * 100, step)
    smallest += -smallest % step  # up to the rounding unit
    monthly = Fraction(str(f["annual_rate"])) / 12
    opening = round(sum(f.get(key, 0) for key in ("principal", "interest_due", "fees_due")) * 100)
    found = [-math.inf]

    def extend(paid: list[int], exposures: list[int], balance: int) -> None:
        t = len(paid)
        cap = int(math.floor(setup["months"][t][1] * 100 + 1e-6))
        owed = balance + int((2 * balance * monthly + 1) // 2)  # half-up on the cent
        if owed <= cap:
            found[0] = max(found[0], _value(f, setup, [*paid, owed], [*exposures, balance]))
        if t + 1 < pol["max_term_months"]:
            for pay in [0, *range(smallest, min(cap, owed - 1) + 1, step)]:
                extend([*paid, pay], [*exposures, balance], owed - pay)

    extend([], [], opening)
    return found[0]


@pytest.mark.parametrize("index", range(len(CASES)))
def test_roots_lie_above_the_brute_force_of_tiny_accounts(index):
    """The tolerance pass's root is at least every free schedule's NPV, with holidays anywhere when allowed."""
    fields, over = CASES[index]
    acc = _account(fields)
    ctx = context_from_account(acc, _policy(over).for_product(acc.product), BehaviourModel())
    plain = _brute_force(fields, over)
    anywhere = _brute_force_holidays(fields, over)
    assert anywhere >= plain
    fast = free_bounds(ctx, 96, tolerance=1e-4).bound[0]
    fast_zero = free_bounds(ctx, 96, tolerance=1e-4, zero_payment=True).bound[0]
    assert fast >= plain - 1e-6
    assert fast_zero >= anywhere - 1e-6
    assert fast_zero <= anywhere * 1.02  # a bound far above the optimum would certify nothing
