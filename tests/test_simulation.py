"""Tests of the Monte Carlo engine (solver.scenarios.paths and its inputs): consistency with the
behaviour model, reproducibility, partition independence, delinquency dynamics and KPIs."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from mc_checks import Z99, discounted_collection

from solver.core.evaluation import evaluate_batch
from solver.core.model import AccountParams, BehaviourModel
from solver.scenarios.decisions import build_path_inputs
from solver.scenarios.frontier import efficient_frontier
from solver.scenarios.path_inputs import PathInputs, analytic_expectation, month_probabilities
from solver.scenarios.path_outcomes import DTI_BIN, dti_quantile
from solver.scenarios.paths import PATH_FIELDS, simulate_paths
from solver.scenarios.plan_stage import Schedules, status_quo_schedules
from solver.scenarios.random_streams import account_streams
from solver.scenarios.shocks import AccountShocks, Shocks, account_shocks

DATA = Path(__file__).parent / "data" / "scenario"


def _schedules(payments: np.ndarray, exposures: np.ndarray, term: np.ndarray) -> Schedules:
    """Schedules (every account restructured) from payment and exposure arrays."""
    return Schedules.uniform(payments, exposures, term, family="test", restructured=True)


def _inputs(
    frame,
    horizon: int,
    model: BehaviourModel | None = None,
    schedules: Schedules | None = None,
    shocks: AccountShocks | None = None,
) -> PathInputs:
    """Path inputs of a portfolio (status quo unless ``schedules``; no shocks unless given)."""
    return build_path_inputs(
        frame,
        schedules or status_quo_schedules(frame),
        model or BehaviourModel(),
        shocks or account_shocks(frame, Shocks()),
        horizon,
    )


@pytest.fixture(scope="module")
def portfolio():
    from solver.core.generate import generate_portfolio

    return generate_portfolio(2000, seed=5)


@pytest.fixture(scope="module")
def sq_inputs(portfolio):
    return _inputs(portfolio, horizon=36)


def test_analytic_expectation_equals_evaluate_batch(portfolio, sq_inputs):
    """With neutral shocks the engine's exact expectation is evaluate_batch's NPV (1e-9 rel.)."""
    params = AccountParams.from_frame(portfolio)
    ev = evaluate_batch(
        params, sq_inputs.payments, sq_inputs.exposures[:, :36], sq_inputs.term, BehaviourModel()
    )
    exact = analytic_expectation(sq_inputs)
    np.testing.assert_allclose(exact["collected_discounted"], ev.npv, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(exact["credit_loss"], ev.expected_loss, rtol=1e-9, atol=1e-6)


def test_mc_mean_converges_to_model_npv(portfolio, sq_inputs):
    """Acceptance (a): the analytic NPV lies in the 99 % CI of the MC mean discounted
    collection on 2,000 accounts, and the CI half-width shrinks like 1/sqrt(paths)."""
    params = AccountParams.from_frame(portfolio)
    npv = evaluate_batch(
        params, sq_inputs.payments, sq_inputs.exposures[:, :36], sq_inputs.term
    ).npv.sum()
    half = {}
    for paths in (100, 400):
        x = discounted_collection(simulate_paths(sq_inputs, paths=paths, seed=17))
        half[paths] = Z99 * x.std(ddof=1) / math.sqrt(paths)
        assert abs(x.mean() - npv) <= half[paths], (paths, x.mean(), npv, half[paths])
    ratio = half[100] / half[400]
    assert 1.7 < ratio < 2.3, ratio  # sqrt(4) = 2 up to the noise of the std estimates


def test_mc_converges_for_a_restructured_schedule(portfolio):
    """A non-contract schedule (3-month holiday then level payments over 48 months) also
    converges: evaluate_batch's NPV lies in the 99 % CI of the MC mean."""
    from solver.core.annuity import level_payment

    model = BehaviourModel()
    n, horizon = len(portfolio), 60
    balance = (
        portfolio["principal"] + portfolio["interest_due"] + portfolio["fees_due"]
    ).to_numpy()
    rate = portfolio["annual_rate"].to_numpy() / 12
    instalment = np.asarray(level_payment(balance, rate * 12, 45), dtype=float)
    pay = np.zeros((n, horizon))
    exp = np.zeros((n, horizon + 1))
    owed = balance.copy()
    for t in range(48):
        exp[:, t] = owed
        owed = owed * (1 + rate)
        p = instalment if t >= 3 else 0.0
        p = np.where(t == 47, owed, np.minimum(p, owed))
        pay[:, t] = p
        owed = owed - p
    term = np.full(n, 48)
    inputs = _inputs(portfolio, horizon, model, schedules=_schedules(pay, exp[:, :horizon], term))
    params = AccountParams.from_frame(portfolio, model)
    npv = evaluate_batch(params, pay, exp[:, :horizon], term, model).npv.sum()
    x = discounted_collection(simulate_paths(inputs, paths=150, seed=4))
    assert abs(x.mean() - npv) <= Z99 * x.std(ddof=1) / math.sqrt(150)


def test_same_seed_identical_different_seed_within_intervals(sq_inputs):
    """Acceptance (b) at engine level: same seed gives identical sums; another seed's mean
    lies inside the first run's 95 % range of paths and the means agree within 4 se."""
    a = simulate_paths(sq_inputs, paths=80, seed=1)
    b = simulate_paths(sq_inputs, paths=80, seed=1)
    c = simulate_paths(sq_inputs, paths=80, seed=2)
    for key in a.totals:
        np.testing.assert_array_equal(a.totals[key], b.totals[key])
    x, y = discounted_collection(a), discounted_collection(c)
    assert np.quantile(x, 0.025) <= y.mean() <= np.quantile(x, 0.975)
    se = math.sqrt(x.var(ddof=1) / 80 + y.var(ddof=1) / 80)
    assert abs(x.mean() - y.mean()) <= 4 * se
    assert not np.array_equal(x, y)


def _assert_same_outcomes(ref, other) -> None:
    """Two simulations' portfolio totals, per-account and monthly arrays are identical."""
    for part in ("totals", "accounts", "monthly"):
        mine, theirs = getattr(ref, part), getattr(other, part)
        for key in mine:
            np.testing.assert_array_equal(mine[key], theirs[key], err_msg=f"{part}[{key}]")


def test_results_do_not_depend_on_chunks_or_threads(portfolio):
    """Per-account outcomes and portfolio sums are identical for any chunk size and jobs."""
    inputs = _inputs(portfolio.iloc[:300], horizon=24)
    ref = simulate_paths(inputs, paths=40, seed=9, chunk_accounts=300)
    for chunk, jobs in ((37, 1), (64, 2), (16, 2)):
        other = simulate_paths(inputs, paths=40, seed=9, chunk_accounts=chunk, jobs=jobs)
        _assert_same_outcomes(ref, other)


def test_account_stream_depends_only_on_seed_and_id():
    """An account's uniforms do not depend on which other accounts are drawn with it."""
    one = account_streams(5, ["X1"], 100)
    many = account_streams(5, ["A", "X1", "B"], 100)
    np.testing.assert_array_equal(one[0], many[1])
    assert not np.array_equal(many[0], many[1])
    assert not np.array_equal(account_streams(6, ["X1"], 100)[0], one[0])


def test_monthly_series_reconcile_with_totals_to_the_cent(sq_inputs):
    """Monthly payments and recoveries per path sum exactly to the path's totals (cents)."""
    out = simulate_paths(sq_inputs, paths=30, seed=2)
    totals = out.totals[("total", "all")]
    np.testing.assert_array_equal(
        out.monthly["payments"].sum(axis=1), totals[:, PATH_FIELDS.index("payments_nominal")]
    )
    np.testing.assert_array_equal(
        out.monthly["recoveries"].sum(axis=1), totals[:, PATH_FIELDS.index("recoveries_nominal")]
    )
    np.testing.assert_array_equal(
        out.monthly["defaults"].sum(axis=1), totals[:, PATH_FIELDS.index("defaults")]
    )


def test_segment_sums_add_up_to_the_total(sq_inputs):
    """For each segment type the segments' per-path sums add up to the portfolio's."""
    out = simulate_paths(sq_inputs, paths=20, seed=2)
    total = out.totals[("total", "all")]
    for kind in ("tier", "product", "dpd_bucket"):
        parts = sum(v for (k, _), v in out.totals.items() if k == kind)
        np.testing.assert_array_equal(parts, total)


def _toy(afford: float, kappa: float, h0: float, bucket: int, horizon: int = 6, n: int = 1, **kw):
    """Hand-set inputs: the SPEC §4 month probabilities for a constant a, κ and h0."""
    hazard = h0 + (1.0 - h0) * kappa * (1.0 - afford)
    fields = dict(
        account_id=[f"T{i}" for i in range(n)],
        payments=np.full((n, horizon), 100.0),
        exposures=np.tile(np.arange(horizon, -1, -1, dtype=float) * 100.0, (n, 1)),
        term=np.full(n, horizon),
        hazard=np.full((n, horizon), hazard),
        short_or_default=np.full((n, horizon), 1.0 - afford * (1.0 - h0)),
        recovery=np.full((n, horizon), 10.0),
        discount=np.ones(horizon),
        discount_lag=np.ones(horizon),
        recovery_lag=2,
        unemployment_prob=np.zeros(n),
        initial_bucket=np.full(n, bucket),
        segments={"tier": ["C"] * n, "product": ["auto_loan"] * n, "dpd_bucket": ["M1"] * n},
    )
    fields.update(kw)
    return PathInputs(**fields)


def test_short_months_roll_and_covered_months_cure():
    """Hand-checkable delinquency: a = 0, κ = 0, h0 = 0 rolls M1 → M4+ and never defaults;
    a = 1 cures to M0 in month 1; roll-rate table counts match."""
    rolling = simulate_paths(_toy(0.0, 0.0, 0.0, bucket=1), paths=5, seed=1)
    col = PATH_FIELDS.index
    total = rolling.totals[("total", "all")]
    assert np.all(total[:, col("defaults")] == 0)
    # months 1.. end in M2, M3, M4+, M4+, ...: NPL (M3+) from month 2 while a balance is open
    npl_accounts = rolling.monthly["npl_accounts"][0]
    np.testing.assert_array_equal(npl_accounts, [0, 1, 1, 1, 1, 0])  # closed after month 6
    counts = rolling.roll_counts.sum(axis=0)  # (5 buckets, cure/roll/default)
    np.testing.assert_array_equal(counts[:, 0], 0)
    assert counts[1, 1] == 5 and counts[2, 1] == 5 and counts[3, 1] == 5 and counts[4, 1] == 15
    curing = simulate_paths(_toy(1.0, 0.0, 0.0, bucket=3), paths=5, seed=1)
    assert np.all(curing.monthly["npl_accounts"] == 0)
    assert curing.roll_counts.sum(axis=0)[3, 0] == 5  # M3 → M0 in month 1 on every path


def test_certain_default_in_month_one_pays_recovery_after_lag():
    """h0 = 1: every path defaults in month 1, pays nothing, recovers R_1 at month 1 + L."""
    out = simulate_paths(_toy(1.0, 0.0, 1.0, bucket=0), paths=4, seed=1)
    col = PATH_FIELDS.index
    total = out.totals[("total", "all")]
    assert np.all(total[:, col("defaults")] == 1)
    assert np.all(total[:, col("payments_nominal")] == 0)
    assert np.all(total[:, col("recoveries_nominal")] == 1000)  # 10.00 CNY in cents
    assert np.all(total[:, col("credit_loss")] == 60000 - 1000)  # EAD_1 = 600.00
    assert np.all(out.monthly["recoveries"][:, 2] == 1000)  # month 3 = 1 + L


def test_treatment_months_without_hazard_have_no_defaults():
    """Hazard 0 in months 1-2 (a treatment factor of 0) and 1 after: every path defaults in
    month 3 after two payments; the exact expectation agrees."""
    toy = _toy(0.0, 1.0, 0.0, bucket=0, n=50)
    hazard = np.array(toy.hazard)
    hazard[:, :2] = 0.0
    inputs = replace(toy, hazard=hazard)
    out = simulate_paths(inputs, paths=10, seed=3)
    defaults = out.monthly["defaults"].sum(axis=0)
    assert defaults[0] == 0 and defaults[1] == 0 and defaults[2] == 500  # κ = 1, a = 0: all default
    exact = analytic_expectation(inputs)
    np.testing.assert_allclose(exact["default_prob"], 1.0)
    np.testing.assert_allclose(exact["collected_nominal"], 200.0 + 10.0)  # 2 payments + R_3


def test_month_probabilities_apply_the_treatment_in_its_months(portfolio):
    """month_probabilities: the kernel's hazard outside the treatment months; inside them
    h0' + (1 − h0')·κ'·(1 − a) with h0', κ' scaled by the factor (hand formula); a factor
    of 0 gives no hazard and no defaulting short months; 0 after the term."""
    model = BehaviourModel()
    frame = portfolio.iloc[:40]
    params = AccountParams.from_frame(frame, model)
    kernel = model.kernel(params, 12)
    payments = np.full((40, 12), 2500.0)
    term = np.full(40, 10)
    factor = np.linspace(0.0, 3.0, 40)
    hazard, short = month_probabilities(kernel, payments, term, factor, 2)
    rows = np.arange(40)
    a = kernel.afford(rows, payments)
    h0 = params.base_hazard[:, None]
    np.testing.assert_array_equal(hazard[:, 2:10], kernel.hazard(rows, payments)[:, 2:10])
    np.testing.assert_array_equal(hazard[:, 10:], 0.0)
    h0t = np.minimum(1.0, h0 * factor[:, None])
    kt = np.minimum(1.0, model.kappa * factor[:, None])
    np.testing.assert_allclose(hazard[:, :2], h0t + (1 - h0t) * kt * (1 - a[:, :2]), rtol=1e-12)
    np.testing.assert_allclose(short[:, :2], 1 - a[:, :2] * (1 - h0t), rtol=1e-12)
    np.testing.assert_allclose(short[:, 2:10], 1 - a[:, 2:10] * (1 - h0), rtol=1e-12)
    assert np.all(hazard[0, :2] == 0) and np.all(short >= hazard)


def test_path_inputs_refuse_inconsistent_probabilities():
    """PathInputs refuses a hazard above the short-or-default probability, a hazard after
    the term, probabilities outside [0, 1] and a lone unemployed array."""
    with pytest.raises(ValueError, match="short_or_default must be >= hazard"):
        _toy(0.0, 0.5, 0.1, bucket=0, short_or_default=np.full((1, 6), 0.2))
    with pytest.raises(ValueError, match="after each account's term"):
        _toy(0.0, 0.5, 0.1, bucket=0, term=np.array([4]))
    with pytest.raises(ValueError, match=r"hazard must be in \[0, 1\]"):
        _toy(0.0, 0.5, 0.1, bucket=0, hazard=np.full((1, 6), np.nan))
    with pytest.raises(ValueError, match="go together"):
        _toy(0.0, 0.5, 0.1, bucket=0, hazard_unemployed=np.zeros((1, 6)))


def test_unemployment_shock_matches_its_analytic_mixture(portfolio):
    """With an unemployment shock (q = 0.3, income x0.3 for 12 months) the MC mean is in
    the 99 % CI around the exact mixture expectation, and the hit share is about q."""
    n = len(portfolio)
    base = _inputs(portfolio, horizon=24)
    shocks = replace(
        account_shocks(portfolio, Shocks()),
        unemployment_probability=np.full(n, 0.3),
        unemployment_income_multiplier=np.full(n, 0.3),
        unemployment_months=12,
    )
    inputs = _inputs(portfolio, horizon=24, shocks=shocks)
    exact = analytic_expectation(inputs)["collected_discounted"].sum()
    assert exact < analytic_expectation(base)["collected_discounted"].sum()
    out = simulate_paths(inputs, paths=120, seed=8)
    x = discounted_collection(out)
    assert abs(x.mean() - exact) <= Z99 * x.std(ddof=1) / math.sqrt(120)
    hit = out.totals[("total", "all")][:, PATH_FIELDS.index("unemployed")].mean()
    assert abs(hit / len(portfolio) - 0.3) < 0.01


def test_dti_quantile_from_histogram_matches_numpy():
    """The histogram p90 is within one bin width of numpy's quantile of the same values."""
    rng = np.random.default_rng(0)
    values = rng.gamma(2.0, 0.3, 5000)
    hist = np.bincount(np.minimum(np.floor(values / DTI_BIN), 500).astype(int), minlength=501)
    assert abs(dti_quantile(hist, 0.9)[0] - np.quantile(values, 0.9)) <= DTI_BIN


def test_efficient_frontier_marks_undominated_points():
    """Frontier = no other point has lower-or-equal cost and higher-or-equal value."""
    cost = np.array([1.0, 2.0, 2.0, 3.0, 0.5])
    value = np.array([10.0, 12.0, 11.0, 11.5, 5.0])
    np.testing.assert_array_equal(efficient_frontier(cost, value), [True, True, False, False, True])


def test_run_scenario_small_file_kpis_and_self_compare():
    """run_scenario on a small file gives KPIs for every segment, the exact expectation
    per account, and comparing a result with itself gives zero deltas."""
    from solver.scenarios.run import run_scenario
    from solver.scenarios.scenario_result import compare
    from solver.scenarios.spec import load_scenario

    result = run_scenario(load_scenario(DATA / "small.toml"))
    kpis = result.kpis
    assert set(kpis["segment_type"]) == {"total", "tier", "product", "dpd_bucket"}
    total = result.total()
    assert total.loc["accounts", "mean"] == 300
    assert total.loc["cash_collected", "ci_low"] <= total.loc["cash_collected", "mean"]
    cash = total.loc["cash_collected", "mean"]
    parts = total.loc["payments_collected", "mean"] + total.loc["recoveries", "mean"]
    assert abs(cash - parts) <= 0.011
    accounts = result.accounts
    assert len(accounts) == 300 and accounts["account_id"].is_unique
    mc, exact = (
        accounts["mc_collected_discounted"].sum(),
        accounts["expected_collected_discounted"].sum(),
    )
    se = result.path_values[("total", "all")]["cash_collected_discounted"].std(ddof=1) / math.sqrt(
        60
    )
    assert abs(mc - exact) <= Z99 * se + 1.0
    deltas = compare(result, result)
    assert (deltas["delta"].fillna(0) == 0).all()


def test_recession_lowers_collections_and_raises_losses():
    """The small recession scenario collects less and loses more than its baseline, and the
    paired delta intervals exclude zero (common random numbers)."""
    from solver.scenarios.run import run_scenario
    from solver.scenarios.scenario_result import compare
    from solver.scenarios.spec import load_scenario

    base = run_scenario(load_scenario(DATA / "small.toml"))
    shock = run_scenario(load_scenario(DATA / "small_recession.toml"))
    deltas = compare(shock, base).set_index(["segment_type", "segment", "kpi"])
    cash = deltas.loc[("total", "all", "cash_collected_discounted")]
    loss = deltas.loc[("total", "all", "credit_loss")]
    assert cash["delta"] < 0 and cash["delta_ci_high"] < 0
    assert loss["delta"] > 0 and loss["delta_ci_low"] > 0
    assert shock.kpi("unemployed_accounts") > 0


def test_engine_path_gives_identical_results(portfolio):
    """Chunks run through an execution engine (solver.engines.local.LocalEngine) give the same
    per-path sums, monthly series and per-account means as the threaded local path."""
    from solver.engines.local import LocalEngine

    inputs = _inputs(portfolio.iloc[:200], horizon=24)
    ref = simulate_paths(inputs, paths=30, seed=4, jobs=2, chunk_accounts=50)
    got = simulate_paths(
        inputs, paths=30, seed=4, engine=LocalEngine(partitions=3), chunk_accounts=50
    )
    _assert_same_outcomes(ref, got)


def test_total_value_converges_to_full_term_npv(portfolio):
    """With a 12-month horizon, discounted collections plus the value beyond the horizon
    converge to evaluate_batch's NPV of the whole schedules (99 % CI of the MC mean)."""
    model = BehaviourModel()
    schedules = status_quo_schedules(portfolio)
    assert schedules.term.max() > 12
    inputs = _inputs(portfolio, 12, model)
    params = AccountParams.from_frame(portfolio, model)
    full = evaluate_batch(params, schedules.payments, schedules.exposures, schedules.term, model)
    out = simulate_paths(inputs, paths=200, seed=12)
    totals = out.totals[("total", "all")]
    value = (
        discounted_collection(out) + totals[:, PATH_FIELDS.index("value_beyond_horizon")] / 100.0
    )
    half = Z99 * value.std(ddof=1) / math.sqrt(200)
    assert abs(value.mean() - full.npv.sum()) <= half, (value.mean(), full.npv.sum(), half)
    exact = analytic_expectation(inputs)
    np.testing.assert_allclose(
        (exact["collected_discounted"] + exact["value_beyond_horizon"]).sum(),
        full.npv.sum(),
        rtol=1e-9,
    )
