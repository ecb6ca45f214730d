"""One behaviour-model kernel drives evaluation and the plan search (issue 13, item 1).

A deliberately different model (a steeper hazard curve) plugged in through
``BehaviourModel.kernel`` must change what the optimizers choose, not only how the
chosen plans are scored.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from oracles import AccountModel

from solver.core.evaluation import evaluate
from solver.core.model import AccountParams, BehaviourModel, ModelKernel, expected_income
from solver.core.policy import Policy
from solver.core.readers import read_account
from solver.plans.options import plan_options


class SteepKernel(ModelKernel):
    """Hazard ``h0 + (1 − h0)·min(1, 3κ)·(1 − a)²``: mild misses cost little, deep ones a lot.

    Still non-decreasing in the payment, as the plan search's bound requires.
    """

    def hazard_of_afford(self, rows, afford):
        h0 = self.base_hazard[rows]
        return h0 + (1.0 - h0) * min(1.0, 3.0 * self.model.kappa) * (1.0 - afford) ** 2


class SteepModel(BehaviourModel):
    """The default parameters with :class:`SteepKernel`."""

    def kernel(self, params, horizon):
        return SteepKernel(self, params, horizon)


@pytest.fixture(scope="module")
def account():
    return read_account("scenarios/sample_account.toml")


def test_steep_model_changes_evaluation(account):
    """The same schedule is worth something else under the steep model."""
    pay = np.full(24, 3000.0)
    default, steep = evaluate(account, pay), evaluate(account, pay, model=SteepModel())
    assert abs(default.npv - steep.npv) > 1.0
    # the hazard follows the formula of the plugged-in kernel, month by month
    a = default.afford_prob
    h0 = BehaviourModel().base_hazard[account.tier]
    assert steep.hazard == pytest.approx(h0 + (1 - h0) * 0.6 * (1 - a) ** 2, rel=1e-12)


def test_plan_search_follows_the_plugged_in_model(account):
    """Plans found under the steep model are scored by it and are at least as good under it."""
    policy = Policy()
    steep_model = SteepModel()
    steep = plan_options(account, policy, steep_model)
    default = plan_options(account, policy, BehaviourModel())
    changed = 0
    for option in steep.options:
        if not option.feasible or option.schedule is None:
            continue
        # every reported figure is the plugged-in model's evaluation of the schedule
        assert option.npv == pytest.approx(
            evaluate(account, option.schedule, model=steep_model).npv, rel=1e-9
        )
        other = default.option(option.label)
        if option.label == "status_quo" or not other.feasible or other.schedule is None:
            continue
        # the default model's choice, scored by the steep model, is no better than the
        # steep search's own choice (the search optimised the steep model)
        theirs = evaluate(account, other.schedule, model=steep_model).npv
        assert option.npv >= theirs - 1e-6 * abs(theirs), option.label
        changed += not np.array_equal(option.schedule.payments, other.schedule.payments)
    assert changed >= 1  # the steep model leads to other plans


def test_recovery_months_zero_means_current_income():
    """SPEC §4: with recovery_months = 0 the expected income is the current income."""
    params = AccountParams(
        income=[3800.0, 3800.0],
        income_normal=[6000.0, np.nan],
        recovery_months=[0.0, 4.0],
        income_cv=[0.2, 0.2],
        expenses=[0.0, 0.0],
        other_debt=[0.0, 0.0],
        vehicle_value=[0.0, 0.0],
        base_hazard=[0.01, 0.01],
    )
    income = expected_income(params, 6)
    assert income[0] == pytest.approx([3800.0] * 6)  # not income_normal
    assert income[1] == pytest.approx([3800.0] * 6)  # missing income_normal is income


def test_forecast_and_inflows_set_expected_income():
    """A month-by-month forecast replaces the path for its months; inflows are added."""
    params = AccountParams(
        income=[4000.0],
        income_normal=[5000.0],
        recovery_months=[10.0],
        income_cv=[0.2],
        expenses=[0.0],
        other_debt=[0.0],
        vehicle_value=[0.0],
        base_hazard=[0.01],
        income_forecast=[[3000.0, 3100.0, np.nan]],
        inflows=[[0.0, 0.0, 0.0, 20000.0]],
    )
    income = expected_income(params, 5)[0]
    # months 1-2 from the forecast; month 3 (no forecast) and 5 on the SPEC path
    # 4000 + 1000·t/10; month 4 the path plus the inflow
    assert income == pytest.approx([3000.0, 3100.0, 4300.0, 4400.0 + 20000.0, 4500.0])


def test_custom_follows_a_forecast_bonus_month():
    """A one-off inflow lets custom schedule a large payment in that month (within that month's cap)."""
    account = read_account("tests/data/forecast/account.toml")  # inflows: month 3 and 12
    result = plan_options(account)
    custom = result.option("custom")
    assert custom.feasible
    pay = custom.schedule.payments
    ordinary = np.median(pay[3:11])
    assert pay[2] > 5 * ordinary  # month 3: the 20,000 inflow
    assert pay[11] > 3 * ordinary  # month 12: the 8,000 of inflows
    # the forecast income drives the caps: the month-3 payment is allowed only with the inflow
    ev = evaluate(account, custom.schedule)
    assert ev.expected_income[2] == pytest.approx(4200 + 20000)
    assert (account.other_debt + pay[2]) / ev.expected_income[2] <= Policy().max_dti + 1e-9
    assert custom.npv == pytest.approx(ev.npv, rel=1e-12)
    without = plan_options(account.replace(inflows=None)).option("custom")
    assert custom.npv > without.npv  # the inflow is worth something to the bank


@pytest.mark.parametrize("vehicles", [[0.0, 0.0, 0.0], [0.0, 90_000.0, 40_000.0]])
def test_recovery_matches_spec_for_every_index_form(vehicles):
    """R_t = min(EAD, C_t) + ρ·max(0, EAD − C_t) (SPEC §4) in each shape the callers use,
    unsecured kernels (no collateral at all: no gather) and secured ones alike."""
    model = BehaviourModel()
    params = AccountParams(
        income=[3800.0] * 3,
        income_normal=[np.nan] * 3,
        recovery_months=[0.0] * 3,
        income_cv=[0.2] * 3,
        expenses=[0.0] * 3,
        other_debt=[0.0] * 3,
        vehicle_value=vehicles,
        base_hazard=[0.01] * 3,
    )
    H = 12
    kernel = model.kernel(params, H)
    # the independent one-account SPEC §4 model of tests/oracles.py (its own C_t and R_t),
    # on the same accounts
    oracles = [
        AccountModel(SimpleNamespace(tier="A", income=3800.0, expenses=0.0, vehicle_value=v), model)
        for v in vehicles
    ]

    def oracle(acc: int, month_index: int, ead: float) -> float:
        return oracles[acc].recovery(month_index + 1, ead)  # month t = index + 1

    rng = np.random.default_rng(4)
    E = rng.uniform(-500.0, 120_000.0, size=(3, H))
    cases = [  # (rows, exposures, cols) -> the oracle's (account, month) per element
        (np.arange(3), E, None),  # months 1…m of each account
        (np.arange(3), E[:, :5], None),
        (np.array([2, 0, 2]), E[:, 0], 4),  # one month
        (np.arange(3)[:, None], E, np.arange(H)[None, :]),
        (np.arange(3)[None, :, None], E.T[:, :, None] * np.ones(4), np.arange(H)[:, None, None]),
        (1, E[0, :6], np.arange(6)),
    ]
    for rows, ead, cols in cases:
        got = kernel.recovery(rows, ead, cols)
        # the (account, month index) of each element: with cols=None, months 1…m of each row
        r = np.asarray(rows)[:, None] if cols is None else np.asarray(rows)
        c = np.arange(ead.shape[-1])[None, :] if cols is None else np.asarray(cols)
        rr, cc, ee = np.broadcast_arrays(r, c, ead)
        assert got.shape == ee.shape
        want = [
            oracle(int(a), int(t), float(x))
            for a, t, x in zip(rr.ravel(), cc.ravel(), ee.ravel(), strict=True)
        ]
        assert np.allclose(got.ravel(), want, rtol=1e-12, atol=1e-9)
    secured = [any(o.collateral(t) > 0 for t in range(1, H + 1)) for o in oracles]
    assert kernel.any_collateral == any(secured)
    # a subset of a secured kernel with no collateral left takes the unsecured path
    sub = kernel.take(np.array([0]))
    assert sub.any_collateral is secured[0] is False
    assert kernel.take(np.array([2, 0])).any_collateral == secured[2]
    assert np.allclose(
        sub.recovery(np.array([0]), E[:1], None), [oracle(0, t, E[0, t]) for t in range(H)]
    )


class _ItsOwnRecovery(ModelKernel):
    """The default model with :meth:`recovery` overridden (by the same formula)."""

    def recovery(self, rows, exposures, cols=None):
        return super().recovery(rows, exposures, cols)


def _three_accounts(vehicles):
    return AccountParams(
        income=[3800.0, 2100.0, 9000.0],
        income_normal=[np.nan, 4200.0, np.nan],
        recovery_months=[0.0, 6.0, 0.0],
        income_cv=[0.2, 0.35, 0.1],
        expenses=[1500.0, 900.0, 2500.0],
        other_debt=[300.0, 0.0, 1200.0],
        vehicle_value=vehicles,
        base_hazard=[0.01, 0.004, 0.03],
    )


@pytest.mark.parametrize("vehicles", [[0.0, 0.0, 0.0], [0.0, 90_000.0, 40_000.0]])
def test_compiled_recovery_is_the_kernels_to_the_bit(vehicles):
    """``recovery_at`` with ``recovery_table``'s ``(C_t, ρ)`` -- what the level scoring's
    compiled pass evaluates -- and :meth:`ModelKernel.recovery` both give SPEC §4's
    recovery computed here in Python floats, bit for bit (exposures below, at and above
    the collateral value, negative and zero ones); the table's ``C_t`` is SPEC §4's; a
    kernel with its own recovery gives no table (its callers then ask it)."""
    from solver.core.model import recovery_at

    H = 12
    model = BehaviourModel()
    kernel = model.kernel(_three_accounts(vehicles), H)
    collateral, rho = kernel.recovery_table()
    assert rho == model.unsecured_recovery
    # C_t = max(0, V0·(1 − d)^((t+L)/12)·(1 − auction_discount) − repo_cost), 0 without a car
    for a, v0 in enumerate(vehicles):
        for t in range(1, H + 1):
            worth = v0 * (1 - model.vehicle_depreciation) ** ((t + model.recovery_lag_months) / 12)
            c_t = max(0.0, worth * (1 - model.auction_discount) - model.repo_cost) if v0 else 0.0
            assert math.isclose(collateral[a, t - 1], c_t, rel_tol=1e-12, abs_tol=1e-9)
    rng = np.random.default_rng(7)
    E = rng.uniform(-500.0, 120_000.0, size=(3, H))
    E[:, 0] = 0.0
    E[:, 1] = collateral[:, 1]  # exactly at the kink
    E[:, 2] = -E[:, 2]
    # R_t = min(EAD, C) + ρ·max(0, EAD − C), one IEEE operation each (+ and × commute
    # exactly, so any correct order of these operations gives these bits)
    spec = [
        [
            min(e, c) + rho * max(0.0, e - c)
            for e, c in zip(E[a].tolist(), collateral[a].tolist(), strict=True)
        ]
        for a in range(3)
    ]
    got = kernel.recovery(np.arange(3), E)
    assert got.tolist() == spec
    table = [[recovery_at(E[a, t], collateral[a, t], rho) for t in range(H)] for a in range(3)]
    assert table == spec
    own = _ItsOwnRecovery(BehaviourModel(), _three_accounts(vehicles), H)
    assert own.recovery_table() is None


def test_hazard_in_place_is_the_formula_to_the_bit():
    """:meth:`ModelKernel.afford` and :meth:`ModelKernel.hazard` compute in place; their
    values are the SPEC §4 formulas written out (``Φ((μ − ln(p + outgo))/σ)``,
    ``h0 + (1 − h0)·κ·(1 − a)``) bit for bit, in every index form, the inputs untouched."""
    from scipy.special import ndtr

    H = 10
    kernel = BehaviourModel().kernel(_three_accounts([0.0, 0.0, 0.0]), H)
    kappa = BehaviourModel().kappa
    rng = np.random.default_rng(11)
    pay = rng.uniform(0.0, 4000.0, size=(3, H))
    keep = pay.copy()
    cases = [
        (np.arange(3), pay, None),
        (np.array([2, 0, 1, 1]), pay[[0, 1, 2, 0], 3], np.array([3, 9, 0, 5])),
        (np.arange(3)[:, None], pay[:, :1], np.arange(H)[None, :]),  # payments broadcast
        (1, np.float64(1234.5), 4),  # one scalar index
        # index vectors (the large calls' form: a flat gather), negative rows as numpy's
        (rng.integers(-3, 3, 200), rng.uniform(0.0, 4000.0, 200), rng.integers(0, H, 200)),
    ]
    for rows, p, cols in cases:
        r = np.asarray(rows)[:, None] if cols is None else np.asarray(rows)
        c = np.arange(np.shape(p)[-1])[None, :] if cols is None else np.asarray(cols)
        outgo = kernel.params.expenses + kernel.params.other_debt
        a_want = ndtr((kernel.mu[r, c] - np.log(p + outgo[r])) * kernel.inv_sigma[r])
        h0 = kernel.params.base_hazard[r]
        a = kernel.afford(rows, p, cols)
        assert np.array_equal(a, a_want)
        h = kernel.hazard(rows, p, cols)
        assert np.array_equal(h, h0 + (1.0 - h0) * kappa * (1.0 - a_want))
        assert np.array_equal(h, kernel.hazard_of_afford(r, a))
    assert np.array_equal(pay, keep)
    with pytest.raises(IndexError):  # a month past the horizon is an error, as in numpy
        kernel.afford(np.zeros(100, int), np.ones(100), np.full(100, H))
    # a kernel with its own hazard curve is asked for it
    steep = SteepKernel(BehaviourModel(), _three_accounts([0.0, 0.0, 0.0]), H)
    a = steep.afford(np.arange(3), pay)
    assert np.array_equal(
        steep.hazard(np.arange(3), pay), steep.hazard_of_afford(np.arange(3)[:, None], a)
    )


@pytest.mark.parametrize("kernel_cls", [ModelKernel, SteepKernel])
def test_hazard_of_stacked_payments_is_one_call_each_to_the_bit(kernel_cls):
    """The plan bounds ask the hazards of several payments at the same (account, month)
    points in one call, the payments stacked on a leading axis and the index broadcast
    (the inputs gathered once): each slice is, bit for bit, the call for those payments
    alone, for the default kernel and for one with its own hazard curve."""
    H = 10
    kernel = kernel_cls(BehaviourModel(), _three_accounts([0.0, 8000.0, 0.0]), H)
    rng = np.random.default_rng(5)
    rows, cols = rng.integers(0, 3, 300), rng.integers(0, H, 300)  # the flat-gather form
    pay = rng.uniform(0.0, 5000.0, size=(2, 300))
    pay[0, :20] = 0.0  # a clamped payment
    both = kernel.hazard(rows, pay, cols)
    for j in range(2):
        assert np.array_equal(both[j], kernel.hazard(rows, pay[j], cols))
    # actions × months for every account: (n, A, H) against one amount at a time
    amounts = rng.uniform(0.0, 5000.0, size=(3, 4))
    grid = np.repeat(amounts[:, :, None], H, axis=2)
    table = kernel.hazard(np.arange(3)[:, None, None], grid, np.arange(H)[None, None, :])
    for g in range(4):
        alone = kernel.hazard(np.arange(3), np.repeat(amounts[:, g : g + 1], H, axis=1))
        assert np.array_equal(table[:, g], alone)
