"""Hazard calibration: exact intervals, simulate-and-recover round trips, behaviour TOML format."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
from input_errors import input_error
from risk_data import DATA
from scipy import stats

from solver.domain import TIERS
from solver.errors import InputError
from solver.risk.behaviour_toml import (
    behaviour_toml_text,
    read_behaviour_toml,
    write_behaviour_toml,
)
from solver.risk.calibration import calibrate_hazards, calibrate_outcomes
from solver.risk.calibration_result import DEFAULT_BEHAVIOUR
from solver.risk.exact_intervals import binomial_interval, poisson_rate_interval
from solver.risk.outcomes import read_outcomes, simulate_defaults

TRUE_HAZARD = dict(DEFAULT_BEHAVIOUR["base_hazard"])  # A 0.002 ... E 0.03 (SPEC §4 defaults)


def spec_afford_prob(
    income: np.ndarray,
    income_normal: np.ndarray,
    recovery_months: np.ndarray,
    cv: float,
    payment: np.ndarray,
    expenses: np.ndarray,
    months: int,
) -> np.ndarray:
    """Affordability a_t of SPEC §4, written out independently of the code under test.

    Ī_t = income + (income_normal - income) min(1, t / recovery_months) (Ī_t = income when
    recovery_months = 0); ln I_t ~ N(μ_t, s²), s² = ln(1 + cv²), μ_t = ln Ī_t - s²/2;
    a_t = 1 - Φ((ln(p_t + expenses) - μ_t) / s).
    """
    t = np.arange(1, months + 1)[None, :]
    ramp = np.where(
        recovery_months[:, None] > 0,
        np.minimum(1.0, t / np.maximum(recovery_months[:, None], 1)),
        0.0,
    )
    mean_income = income[:, None] + (income_normal - income)[:, None] * ramp
    s2 = np.log(1 + cv**2)
    mu = np.log(mean_income) - s2 / 2
    threshold = (payment + expenses)[:, None]
    return 1 - stats.norm.cdf((np.log(threshold) - mu) / np.sqrt(s2))


def simulated_portfolio(n_per_tier: int, months: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Tiers and a_t for a portfolio whose income has dropped and recovers (seeded)."""
    rng = np.random.default_rng(seed)
    tiers = np.repeat(np.array(TIERS), n_per_tier)
    n = tiers.size
    income_normal = rng.uniform(5_000, 15_000, n)
    income = income_normal * rng.uniform(0.4, 1.0, n)
    recovery = rng.integers(0, 13, n)
    expenses = 0.45 * income_normal
    payment = rng.uniform(0.15, 0.35, n) * income_normal
    afford = spec_afford_prob(income, income_normal, recovery, 0.3, payment, expenses, months)
    return tiers, afford


def test_clopper_pearson_by_hand_and_by_inversion():
    """k = 0 of 10: upper = 1 - 0.025^(1/10) = 0.30850; bounds invert the binomial tails."""
    lower, upper = binomial_interval(0, 10)
    assert lower == 0.0 and upper == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-12)
    lower, upper = binomial_interval(7, 40)
    assert stats.binom.sf(6, 40, lower) == pytest.approx(0.025, abs=1e-9)
    assert stats.binom.cdf(7, 40, upper) == pytest.approx(0.025, abs=1e-9)
    lower, upper = binomial_interval(10, 10)
    assert upper == 1.0 and lower == pytest.approx(0.025 ** (1 / 10), abs=1e-12)


def test_garwood_poisson_by_hand_and_by_inversion():
    """0 events in 1000 months: upper = -ln(0.025)/1000 = 0.0036889; bounds invert the Poisson tails."""
    lower, upper = poisson_rate_interval(0, 1000.0)
    assert lower == 0.0 and upper == pytest.approx(-np.log(0.025) / 1000, abs=1e-12)
    lower, upper = poisson_rate_interval(12, 1000.0)
    assert stats.poisson.sf(11, lower * 1000) == pytest.approx(0.025, abs=1e-9)
    assert stats.poisson.cdf(12, upper * 1000) == pytest.approx(0.025, abs=1e-9)


def test_constant_hazard_mle_on_the_small_outcome_file():
    """outcomes_small.csv: h = defaults / exposure-months per tier (A 1/200, B 2/100, C 1/24, D 1/24, E 1/10)."""
    result = calibrate_outcomes(read_outcomes(DATA / "outcomes_small.csv"))
    assert result.method == "exact-binomial" and result.kappa is None
    expected = {"A": 1 / 200, "B": 2 / 100, "C": 1 / 24, "D": 1 / 24, "E": 1 / 10}
    for tier, hazard in expected.items():
        assert result.hazard(tier).hazard == pytest.approx(hazard, abs=1e-15)


def test_round_trip_constant_hazard_recovers_every_tier():
    """Simulate 4000 accounts per tier for 24 months at the default hazards (all affordable) and refit.

    Each tier's true hazard lies inside its exact 95 % interval, and the estimate is within
    20 % of the truth (seed 11).
    """
    tiers = np.repeat(np.array(TIERS), 4000)
    rows = simulate_defaults(tiers, TRUE_HAZARD, months=24, seed=11)
    result = calibrate_outcomes(rows[["account_id", "tier", "exposure_months", "defaults"]])
    for tier in TIERS:
        estimate = result.hazard(tier)
        assert estimate.lower <= TRUE_HAZARD[tier] <= estimate.upper, tier
        assert estimate.hazard == pytest.approx(TRUE_HAZARD[tier], rel=0.2)


def test_account_level_and_month_level_outcomes_agree():
    """Aggregating account-months to accounts (exposure, defaults) gives the same MLE and interval."""
    tiers = np.repeat(np.array(TIERS), 500)
    rows = simulate_defaults(tiers, TRUE_HAZARD, months=12, seed=3)
    per_account = rows.groupby("account_id").agg(
        tier=("tier", "first"),
        exposure_months=("exposure_months", "sum"),
        defaults=("defaults", "sum"),
    )
    a = calibrate_outcomes(rows).to_frame()
    b = calibrate_outcomes(per_account.reset_index()).to_frame()
    pd.testing.assert_frame_equal(a, b)


def test_exact_intervals_cover_at_the_nominal_rate():
    """Seeded: over 300 replicates (tier C, 500 accounts x 12 months) the 95 % interval covers >= 93 %."""
    rng = np.random.default_rng(5)
    h, n, months, reps = 0.008, 500, 12, 300
    covered = 0
    for _ in range(reps):
        event = rng.random((n, months)) < h
        first = np.where(event.any(axis=1), event.argmax(axis=1), months)
        exposure = np.minimum(first + 1, months)
        result = calibrate_hazards(np.full(n, "C"), (first < months).astype(float), exposure)
        covered += result.hazard("C").lower <= h <= result.hazard("C").upper
    assert covered / reps >= 0.93


def _assert_recovers_true_model(outcomes: pd.DataFrame):
    """The maximum-likelihood fit of ``outcomes`` converges and every true value (h0 of each
    tier, κ = 0.2) lies in its 95 % interval; returns the fit."""
    result = calibrate_outcomes(outcomes)
    assert result.method == "mle-profile" and result.converged
    for tier in TIERS:
        estimate = result.hazard(tier)
        assert estimate.lower <= TRUE_HAZARD[tier] <= estimate.upper, tier
    assert result.kappa_lower <= 0.2 <= result.kappa_upper
    return result


def test_round_trip_with_affordability_recovers_hazards_and_kappa():
    """Simulate the SPEC §4 hazard h0 + (1 - h0) κ (1 - a_t) with κ = 0.2, then fit h0 by tier and κ.

    3000 accounts per tier, 24 months, incomes that dropped and recover (seed 21). Every true
    h0 and κ lies inside its 95 % interval, and κ is estimated within 0.03.
    """
    tiers, afford = simulated_portfolio(3000, 24, seed=21)
    rows = simulate_defaults(tiers, TRUE_HAZARD, months=24, afford_prob=afford, kappa=0.2, seed=22)
    result = _assert_recovers_true_model(rows)
    assert result.kappa == pytest.approx(0.2, abs=0.03)


def test_round_trip_through_the_behaviour_model():
    """Defaults simulated from solver.core.model's own hazards on a generated portfolio are recovered.

    generate_portfolio(15000, seed=3) with status-quo schedules; h_t comes from
    ``evaluate_batch(...).hazard`` (default model: κ = 0.2, A-E 0.002-0.03); each account
    defaults in month t with probability h_t given survival, up to its remaining term
    (seed 0). Fitting h0 by tier and κ from (tier, a_t, default) puts every true value in
    its 95 % interval. The hazard formula of ``simulate_defaults`` equals the model's.
    """
    model_module = pytest.importorskip("solver.core.model")
    contract = pytest.importorskip("solver.core.contract")
    evaluation_module = pytest.importorskip("solver.core.evaluation")
    generate = pytest.importorskip("solver.core.generate")
    portfolio = generate.generate_portfolio(15_000, seed=3)
    payments, exposures, term = contract.status_quo_batch(portfolio)
    params = model_module.AccountParams.from_frame(portfolio)
    evaluation = evaluation_module.evaluate_batch(params, payments, exposures, term)
    hazard, afford = evaluation.hazard, evaluation.afford_prob
    active = np.arange(1, hazard.shape[1] + 1)[None, :] <= term[:, None]
    h0 = params.base_hazard[:, None]
    np.testing.assert_allclose(
        np.where(active, h0 + (1 - h0) * 0.2 * (1 - np.nan_to_num(afford)), 0.0), hazard, atol=1e-15
    )
    rng = np.random.default_rng(0)
    event = (rng.random(hazard.shape) < hazard) & active
    first = np.where(event.any(axis=1), event.argmax(axis=1), hazard.shape[1])
    observed = active & (np.arange(hazard.shape[1])[None, :] <= first[:, None])
    rows, cols = np.nonzero(observed)
    outcomes = pd.DataFrame(
        {
            "tier": portfolio["tier"].to_numpy(object)[rows],
            "afford_prob": afford[rows, cols],
            "defaults": (cols == first[rows]).astype(int),
        }
    )
    _assert_recovers_true_model(outcomes)


@pytest.mark.slow
def test_kappa_intervals_cover_at_about_the_nominal_rate():
    """Seeded: over 40 replicates (600 accounts per tier, 12 months) κ's Wald interval covers >= 85 %.

    Measured: 39 of 40 (0.975); the tier hazards' intervals covered 0.975-1.0.
    """
    covered = 0
    reps = 40
    for rep in range(reps):
        tiers, afford = simulated_portfolio(600, 12, seed=100 + rep)
        rows = simulate_defaults(
            tiers, TRUE_HAZARD, months=12, afford_prob=afford, kappa=0.2, seed=200 + rep
        )
        result = calibrate_outcomes(rows)
        covered += result.kappa_lower <= 0.2 <= result.kappa_upper
    assert covered / reps >= 0.85


def test_kappa_can_be_held_fixed():
    """With --no-kappa, κ stays at the given value and only the tier hazards are fitted."""
    tiers, afford = simulated_portfolio(1000, 12, seed=4)
    rows = simulate_defaults(tiers, TRUE_HAZARD, months=12, afford_prob=afford, kappa=0.2, seed=5)
    result = calibrate_outcomes(rows, estimate_kappa=False, kappa=0.2)
    assert result.kappa is None and result.kappa_fixed == 0.2
    assert "kappa held at 0.2" in result.summary()


def test_same_seed_same_simulation():
    """simulate_defaults is a pure function of its seed."""
    tiers = np.repeat(np.array(TIERS), 50)
    a = simulate_defaults(tiers, TRUE_HAZARD, months=6, seed=9)
    b = simulate_defaults(tiers, TRUE_HAZARD, months=6, seed=9)
    pd.testing.assert_frame_equal(a, b)


def test_behaviour_toml_has_the_agreed_format(tmp_path):
    """The written TOML parses with tomllib, has exactly the agreed keys in order, and the estimates."""
    result = calibrate_outcomes(read_outcomes(DATA / "outcomes_small.csv"))
    path = write_behaviour_toml(tmp_path / "behaviour.toml", result, source="outcomes_small.csv")
    data = tomllib.loads(path.read_text())
    assert list(data) == list(DEFAULT_BEHAVIOUR)
    assert list(data["base_hazard"]) == list(TIERS)
    for tier in TIERS:
        assert data["base_hazard"][tier] == result.hazard(tier).hazard
    assert data["kappa"] == DEFAULT_BEHAVIOUR["kappa"]  # no affordability data: base kept
    assert isinstance(data["recovery_lag_months"], int)
    assert path.read_text().startswith("# Behaviour model calibrated")
    assert read_behaviour_toml(path)["base_hazard"] == data["base_hazard"]


def test_behaviour_toml_loads_in_the_behaviour_model(tmp_path):
    """When solver.core.model exists, BehaviourModel.from_toml accepts the calibrated file."""
    model_module = pytest.importorskip("solver.core.model")
    result = calibrate_outcomes(read_outcomes(DATA / "outcomes_small.csv"))
    path = write_behaviour_toml(tmp_path / "behaviour.toml", result)
    model = model_module.BehaviourModel.from_toml(path)
    assert model.base_hazard["B"] == pytest.approx(0.02)


def test_base_parameters_are_kept_and_missing_tiers_fall_back(tmp_path):
    """Other parameters come from --base; a tier without exposure keeps the base hazard."""
    base_path = tmp_path / "base.toml"
    base_path.write_text("cost_of_funds = 0.05\nrepo_cost = 2500.0\n[base_hazard]\nE = 0.05\n")
    base = read_behaviour_toml(base_path)
    result = calibrate_hazards(
        np.array(["A", "A", "B"]), np.array([0, 1, 1]), np.array([1000, 1000, 500])
    )  # A 0.0005 < B 0.002 < the fallbacks: nothing pooled or held (s24, tests/test_s24_pool.py)
    data = tomllib.loads(behaviour_toml_text(result, base))
    assert data["cost_of_funds"] == 0.05 and data["repo_cost"] == 2500.0
    assert data["base_hazard"]["A"] == 0.0005 and data["base_hazard"]["B"] == 0.002
    assert data["base_hazard"]["E"] == 0.05 and data["base_hazard"]["C"] == TRUE_HAZARD["C"]


def test_bad_outcomes_and_bad_base_are_input_errors(tmp_path):
    """Unknown tiers, defaults above exposure, and unknown behaviour keys are reported."""
    bad = tmp_path / "outcomes.csv"
    bad.write_text("account_id,tier,exposure_months,defaults\nx1,F,10,1\nx2,A,2,3\nx3,B,0,0\n")
    text = input_error(read_outcomes, bad)
    assert "row 1 (account_id x1): tier" in text
    assert "row 2 (account_id x2): defaults: more defaults than exposure months" in text
    assert "row 3 (account_id x3): exposure_months" in text
    base = tmp_path / "base.toml"
    base.write_text("kapa = 0.3\n")
    with pytest.raises(InputError, match="unknown behaviour-model keys: kapa"):
        read_behaviour_toml(base)
    with pytest.raises(InputError, match="afford_prob"):
        calibrate_hazards(np.array(["A"]), np.array([0]), estimate_kappa=True)
