"""The simulation follows the behaviour model's kernel, not a copy of the default model.

A deliberately different model (:class:`OtherModel`: a convex hazard curve, another
recovery curve and a risk premium in the discount rate, all in its ``ModelKernel``
subclass) must move the simulation's exact expectation, its Monte Carlo paths and the
value beyond the horizon to what :func:`solver.core.model.evaluate_batch` gives under that
model, and away from the default model's (issue 13, item 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from solver.core.evaluation import evaluate_batch
from solver.core.model import AccountParams, BehaviourModel, ModelKernel
from solver.scenarios.decisions import build_path_inputs
from solver.scenarios.path_inputs import analytic_expectation, month_probabilities
from solver.scenarios.paths import PATH_FIELDS, simulate_paths
from solver.scenarios.plan_stage import status_quo_schedules
from solver.scenarios.shocks import Shocks, account_shocks
from solver.scenarios.treatment_stage import Treatments

DATA = Path(__file__).parent / "data" / "scenario"
Z99 = 2.5758293035489004


class OtherKernel(ModelKernel):
    """SPEC §4 with three parts changed on purpose.

    * hazard ``h0 + (1 − h0)·min(1, 2κ·(1 − a)²)`` (convex in the shortfall: lower than the
      default where the payment is mostly affordable, higher where it is not);
    * recovery ``0.8·min(EAD, C) + 0.3·max(0, EAD − C)``;
    * discount at the cost of funds plus a 6 % risk premium.
    """

    def __init__(self, model: Any, params: AccountParams, horizon: int) -> None:
        super().__init__(model, params, horizon)
        delta = 1.0 / (1.0 + (model.cost_of_funds + 0.06) / 12.0)
        self.discount = delta ** np.arange(1, self.horizon + 1, dtype=float)
        self.discount_lag = self.discount * delta**model.recovery_lag_months

    def hazard_of_afford(self, rows: Any, afford: np.ndarray) -> np.ndarray:
        h0 = self.base_hazard[rows]
        return h0 + (1.0 - h0) * np.minimum(1.0, 2.0 * self.model.kappa * (1.0 - afford) ** 2)

    def recovery(self, rows: Any, exposures: Any, cols: Any = None) -> np.ndarray:
        exposures = np.asarray(exposures, dtype=float)
        rows, cols = self._index(rows, exposures, cols)
        collateral = self.collateral[rows, cols]
        return 0.8 * np.minimum(exposures, collateral) + 0.3 * np.maximum(
            0.0, exposures - collateral
        )


@dataclass(frozen=True)
class OtherModel(BehaviourModel):
    """The default parameters with :class:`OtherKernel` as the model."""

    def kernel(self, params: AccountParams, horizon: int) -> ModelKernel:
        return OtherKernel(self, params, horizon)


@pytest.fixture(scope="module")
def portfolio():
    from solver.core.generate import generate_portfolio

    return generate_portfolio(1500, seed=21)


def _inputs(frame, horizon: int, model: Any, shocks: Any = None, **kw: Any):
    """Status-quo path inputs under ``model`` (no shocks unless given)."""
    return build_path_inputs(
        frame,
        status_quo_schedules(frame),
        model,
        shocks if shocks is not None else account_shocks(frame, Shocks()),
        horizon,
        **kw,
    )


def _evaluate(frame, horizon: int | None, model: Any, params: AccountParams | None = None):
    """evaluate_batch of the status quo over ``horizon`` months (None: the whole schedule)."""
    payments, exposures, term = status_quo_batch_cut(frame, horizon)
    params = params or AccountParams.from_frame(frame, model)
    return evaluate_batch(params, payments, exposures, term, model=model)


def status_quo_batch_cut(frame, horizon: int | None):
    """Status-quo payments, exposures and terms cut to the first ``horizon`` months."""
    from solver.core.contract import status_quo_batch

    payments, exposures, term = status_quo_batch(frame)
    if horizon is None:
        return payments, exposures, term
    width = payments.shape[1]
    pay = np.zeros((len(frame), horizon))
    exp = np.zeros((len(frame), horizon))
    pay[:, : min(width, horizon)] = payments[:, :horizon]
    exp[:, : min(width, horizon)] = exposures[:, :horizon]
    return pay, exp, np.minimum(term, horizon)


def test_exact_expectation_is_the_other_models_evaluation(portfolio):
    """With no shock the simulation's exact expectation is evaluate_batch under the other
    model (NPV, expected loss, default probability; 1e-9 rel.) and not the default model's."""
    other, default = OtherModel(), BehaviourModel()
    exact = analytic_expectation(_inputs(portfolio, 24, other))
    ev = _evaluate(portfolio, 24, other)
    np.testing.assert_allclose(exact["collected_discounted"], ev.npv, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(exact["credit_loss"], ev.expected_loss, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(exact["default_prob"], ev.pd_life, rtol=1e-9, atol=1e-12)
    base = _evaluate(portfolio, 24, default)
    assert abs(ev.pd_life.sum() / base.pd_life.sum() - 1.0) > 0.05
    assert abs(ev.npv.sum() / base.npv.sum() - 1.0) > 0.01
    assert abs(ev.expected_loss.sum() / base.expected_loss.sum() - 1.0) > 0.05


def test_simulated_defaults_and_collections_follow_the_other_model(portfolio):
    """Monte Carlo: the mean number of defaults and of discounted collections per path lie
    in the 99 % CI around the other model's evaluate_batch figures, and the default
    model's expected defaults lie far outside it."""
    other = OtherModel()
    paths = 200
    out = simulate_paths(_inputs(portfolio, 24, other), paths=paths, seed=13)
    totals = out.totals[("total", "all")]
    defaults = totals[:, PATH_FIELDS.index("defaults")]
    collected = (
        totals[:, PATH_FIELDS.index("payments_discounted")]
        + totals[:, PATH_FIELDS.index("recoveries_discounted")]
    ) / 100.0
    ev = _evaluate(portfolio, 24, other)
    half = Z99 * defaults.std(ddof=1) / math.sqrt(paths)
    assert abs(defaults.mean() - ev.pd_life.sum()) <= half, (defaults.mean(), ev.pd_life.sum())
    half_cash = Z99 * collected.std(ddof=1) / math.sqrt(paths)
    assert abs(collected.mean() - ev.npv.sum()) <= half_cash
    default_model = _evaluate(portfolio, 24, BehaviourModel())
    assert abs(defaults.mean() - default_model.pd_life.sum()) > 5 * half


def test_value_beyond_horizon_is_the_other_models_value(portfolio):
    """With a 12-month horizon, collections plus the value beyond the horizon (exact
    expectation) equal the other model's NPV of the whole schedules (1e-9 rel.)."""
    other = OtherModel()
    assert status_quo_schedules(portfolio).term.max() > 12
    exact = analytic_expectation(_inputs(portfolio, 12, other))
    whole = _evaluate(portfolio, None, other)
    np.testing.assert_allclose(
        exact["collected_discounted"] + exact["value_beyond_horizon"], whole.npv, rtol=1e-9
    )
    default_whole = _evaluate(portfolio, None, BehaviourModel())
    assert abs(whole.npv.sum() / default_whole.npv.sum() - 1.0) > 0.01


def test_shocks_are_transformations_of_the_other_models_inputs(portfolio):
    """Every shock at once (income x0.8, unemployment of everybody for the whole horizon
    at x0.5, hazard x1.5, vehicle prices x0.8, cost of funds +2 pp), on accounts some of
    which give an income forecast and inflows: the exact expectation is evaluate_batch
    under the other model of inputs transformed by hand (income x0.4, h0 x1.5, vehicle
    x0.8, cof + 0.02)."""
    frame = portfolio.iloc[:400].copy()
    forecast = [None] * len(frame)
    inflows = [None] * len(frame)
    for i in range(0, len(frame), 7):
        forecast[i] = (1500.0, 2500.0, 4000.0)
        inflows[i] = ((2, 8000.0),)
    frame["income_forecast"] = forecast
    frame["inflows"] = inflows
    n, horizon = len(frame), 24
    shocks = replace(
        account_shocks(frame, Shocks()),
        income_multiplier=np.full(n, 0.8),
        hazard_multiplier=np.full(n, 1.5),
        unemployment_probability=np.ones(n),
        unemployment_income_multiplier=np.full(n, 0.5),
        unemployment_months=horizon,
        vehicle_price_index=0.8,
        cost_of_funds_change=0.02,
    )
    other = OtherModel()
    exact = analytic_expectation(_inputs(frame, horizon, other, shocks))

    shocked_model = other.replace(cost_of_funds=other.cost_of_funds + 0.02)
    assert isinstance(shocked_model, OtherModel)
    base = AccountParams.from_frame(frame, other)
    assert base.has_forecast
    by_hand = replace(
        base,
        income=base.income * 0.4,
        income_normal=base.income_normal * 0.4,
        income_forecast=base.income_forecast * 0.4,
        inflows=base.inflows * 0.4,
        vehicle_value=base.vehicle_value * 0.8,
        base_hazard=base.base_hazard * 1.5,
    )
    ev = _evaluate(frame, horizon, shocked_model, by_hand)
    np.testing.assert_allclose(exact["collected_discounted"], ev.npv, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(exact["credit_loss"], ev.expected_loss, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(exact["default_prob"], ev.pd_life, rtol=1e-9, atol=1e-12)


def test_treatment_scales_the_other_models_hazard(portfolio):
    """A kernel with its own hazard curve and no treated_hazard of its own: in the
    treatment months the hazard is min(1, factor·h_t) of its curve, elsewhere its curve."""
    frame = portfolio.iloc[:300]
    other = OtherModel()
    n, horizon = len(frame), 12
    factor = np.linspace(0.0, 4.0, n)
    inputs = _inputs(
        frame,
        horizon,
        other,
        treatments=Treatments(
            treatment=np.full(n, "x", dtype=object),
            team=np.full(n, "", dtype=object),
            cost=np.zeros(n),
            factor=factor,
        ),
        effect_months=2,
    )
    kernel = other.kernel(AccountParams.from_frame(frame, other), horizon)
    rows = np.arange(n)
    hazard = kernel.hazard(rows, inputs.payments)
    active = np.arange(1, horizon + 1)[None, :] <= inputs.term[:, None]
    expected = np.where(active, hazard, 0.0)
    expected[:, :2] = np.where(active[:, :2], np.minimum(1.0, factor[:, None] * hazard[:, :2]), 0.0)
    np.testing.assert_allclose(inputs.hazard, expected, rtol=1e-12, atol=0.0)
    # the short-or-default cell uses the curve's hazard of a covered month (a = 1)
    afford = kernel.afford(rows, inputs.payments)
    h_cov = np.minimum(1.0, factor[:, None] * kernel.base_hazard[:, None])
    short = np.maximum(expected[:, :2], 1.0 - afford[:, :2] * (1.0 - h_cov))
    np.testing.assert_allclose(
        inputs.short_or_default[:, :2], np.where(active[:, :2], short, 0.0), rtol=1e-12
    )


def test_default_kernel_treated_hazard_is_its_hazard_at_factor_one(portfolio):
    """ModelKernel.treated_hazard: factor 1 gives hazard_of_afford bit for bit; another
    factor scales h0 and κ (each capped at 1), the SPEC §4 formula by hand."""
    model = BehaviourModel()
    params = AccountParams.from_frame(portfolio.iloc[:50], model)
    kernel = model.kernel(params, 6)
    rows = np.arange(50)[:, None]
    afford = np.random.default_rng(1).uniform(size=(50, 6))
    np.testing.assert_array_equal(
        kernel.treated_hazard(rows, afford, 1.0), kernel.hazard_of_afford(rows, afford)
    )
    h0 = np.minimum(1.0, params.base_hazard[:, None] * 7.0)
    kappa = min(1.0, model.kappa * 7.0)
    np.testing.assert_allclose(
        kernel.treated_hazard(rows, afford, 7.0), h0 + (1 - h0) * kappa * (1 - afford), rtol=1e-14
    )


def test_month_probabilities_keep_the_default_cell_exact_for_any_curve(portfolio):
    """For the other model's curve P(default) is its hazard and the short-or-default
    probability is never below it."""
    frame = portfolio.iloc[:200]
    other = OtherModel()
    payments, _, term = status_quo_batch_cut(frame, 18)
    kernel = other.kernel(AccountParams.from_frame(frame, other), 18)
    hazard, short = month_probabilities(kernel, payments, term)
    active = np.arange(1, 19)[None, :] <= term[:, None]
    np.testing.assert_array_equal(
        hazard, np.where(active, kernel.hazard(np.arange(200), payments), 0.0)
    )
    assert np.all(short >= hazard)


def test_run_scenario_simulates_the_scenarios_model():
    """run_scenario with the other model as the scenario's model: the per-account exact
    expectation is evaluate_batch under that model, and the MC mean agrees with it."""
    from solver.core.generate import generate_portfolio
    from solver.scenarios.run import run_scenario
    from solver.scenarios.spec import load_scenario

    scenario = load_scenario(DATA / "small.toml")
    other = OtherModel(**{k: v for k, v in scenario.model.to_dict().items()})
    result = run_scenario(replace(scenario, model=other))
    frame = generate_portfolio(300, seed=11)
    ev = _evaluate(frame, 24, other)
    accounts = result.accounts.set_index("account_id").loc[frame["account_id"]]
    np.testing.assert_allclose(
        accounts["expected_collected_discounted"], np.round(ev.npv, 2), atol=0.011
    )
    default = run_scenario(scenario).accounts["expected_collected_discounted"].sum()
    assert abs(accounts["expected_collected_discounted"].sum() / default - 1.0) > 0.01
    se = result.path_values[("total", "all")]["cash_collected_discounted"].std(ddof=1)
    assert (
        abs(accounts["mc_collected_discounted"].sum() - ev.npv.sum())
        <= Z99 * se / math.sqrt(result.paths) + 1.0
    )
