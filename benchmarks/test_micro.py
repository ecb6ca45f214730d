"""Micro-benchmarks (pytest-benchmark): fixed work per call, a baseline in every group.

The first benchmark tier (``benchmarks/README.md``): each group times one call of our
code and, in the same run, a baseline doing the same work another way; every test also
checks its result against a reference value, so a fast wrong answer fails. Run with
``make bench-micro`` (not part of ``make test``, whose test paths are ``tests/``)::

    .venv/bin/python -m pytest benchmarks/test_micro.py -p no:cacheprovider --benchmark-only

Compare two runs with pytest-benchmark's own ``--benchmark-autosave`` and
``--benchmark-compare`` (saved runs go to ``.benchmarks/``, not tracked).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy_financial as npf
import pytest
from bench_plans import slsqp_plan
from mc_checks import discounted_collection, half_width_99
from oracles import gap_milp, npv_of_schedule

import solver
from solver.scenarios.decisions import build_path_inputs, status_quo_schedules
from solver.scenarios.path_inputs import analytic_expectation
from solver.scenarios.paths import simulate_paths
from solver.scenarios.shocks import account_shocks
from solver.scenarios.spec import load_scenario

ROOT = Path(__file__).resolve().parents[1]


# -- APR of a 60-month level schedule --------------------------------------------------------

AMOUNT = 10_000.0
LEVEL_PAYMENTS = [float(npf.pmt(0.01, 60, -AMOUNT))] * 60  # 1 % a month: APR 12 % exactly


@pytest.mark.benchmark(group="apr: 60-month level schedule")
def test_apr(benchmark):
    """solver.apr recovers the 12 % a level schedule was built at (to 1e-12)."""
    rate = benchmark(solver.apr, AMOUNT, LEVEL_PAYMENTS)
    assert rate == pytest.approx(0.12, abs=1e-12)


@pytest.mark.benchmark(group="apr: 60-month level schedule")
def test_apr_baseline_numpy_financial(benchmark):
    """Baseline: numpy_financial.rate on the same schedule gives the same 12 %."""
    rate = benchmark(lambda: 12 * float(npf.rate(60, -LEVEL_PAYMENTS[0], AMOUNT, 0)))
    assert rate == pytest.approx(0.12, abs=1e-12)


# -- behaviour-model NPV of status-quo schedules ------------------------------------------------

MODEL_ACCOUNTS = 200


@pytest.fixture(scope="module")
def status_quo_book():
    """200 generated accounts (seed 3) on their status-quo schedules, and the model."""
    frame = solver.generate_portfolio(MODEL_ACCOUNTS, seed=3)
    payments, exposures, term = solver.status_quo_batch(frame)
    accounts = solver.Account.from_frame(frame)
    return frame, accounts, payments, exposures, term, solver.BehaviourModel()


def _oracle_npvs(accounts, payments, exposures, term, model) -> np.ndarray:
    return np.array(
        [
            npv_of_schedule(acc, payments[i, : term[i]], exposures[i, : term[i]], model)["npv"]
            for i, acc in enumerate(accounts)
        ]
    )


@pytest.mark.benchmark(group="model NPV: 200 status-quo schedules")
def test_model_kernel_batch(benchmark, status_quo_book):
    """evaluate_batch (vectorised) equals the independent per-account oracle to 1e-9."""
    frame, accounts, payments, exposures, term, model = status_quo_book
    params = solver.AccountParams.from_frame(frame)
    result = benchmark(solver.evaluate_batch, params, payments, exposures, term, model)
    expected = _oracle_npvs(accounts, payments, exposures, term, model)
    np.testing.assert_allclose(result.npv, expected, rtol=1e-9)


@pytest.mark.benchmark(group="model NPV: 200 status-quo schedules")
def test_model_baseline_oracle_per_account(benchmark, status_quo_book):
    """Baseline: the plain-Python SPEC §4 oracle (tests/oracles.py), one account at a time."""
    _, accounts, payments, exposures, term, model = status_quo_book
    npvs = benchmark.pedantic(
        _oracle_npvs, args=(accounts, payments, exposures, term, model), rounds=3, warmup_rounds=1
    )
    assert npvs.shape == (MODEL_ACCOUNTS,) and np.all(npvs > 0)


# -- one account, all plan families ----------------------------------------------------------


@pytest.fixture(scope="module")
def sample_account():
    """scenarios/sample_account.toml (the demo's account), its policy and model."""
    account = solver.read_account(ROOT / "scenarios" / "sample_account.toml")
    return account, solver.Policy().for_product(account.product), solver.BehaviourModel()


@pytest.mark.benchmark(group="plan one account (sample_account.toml)")
def test_plan_options(benchmark, sample_account):
    """plan_options recommends a plan that passes the NPV test and beats the waterfall."""
    account, policy, model = sample_account
    result = benchmark(solver.plan_options, account, policy, model, relax=False)
    best = result.option(result.recommended)
    assert best.npv > result.status_quo.npv
    assert best.npv >= result.option("waterfall").npv


@pytest.mark.benchmark(group="plan one account (sample_account.toml)")
def test_plan_baseline_slsqp(benchmark, sample_account):
    """Baseline: per-account SLSQP over 60 monthly payments (bench_plans.slsqp_plan)."""
    account, policy, model = sample_account
    seconds, cpu, npv, success = benchmark.pedantic(
        slsqp_plan, args=(account, policy, model), rounds=3, warmup_rounds=1
    )
    ours = solver.plan_options(account, policy, model, relax=False)
    assert success and math.isfinite(npv)
    # SLSQP solves a continuous relaxation; it is a speed baseline, its NPV is context
    assert ours.option(ours.recommended).npv >= 0.9 * npv


# -- a small Generalized Assignment Problem ----------------------------------------------------


@pytest.fixture(scope="module")
def gap_instance():
    """A seeded 5 × 60 GAP (Chu–Beasley type C style: capacities at 80 % of the mean load)."""
    rng = np.random.default_rng(41)
    resource = rng.integers(5, 26, size=(5, 60))
    cost = rng.integers(10, 51, size=(5, 60))
    capacity = np.floor(0.8 * resource.sum(axis=1) / 5).astype(np.int64)
    optimum = gap_milp(cost, resource, capacity, sense="min")
    assert optimum["optimal"]
    return cost, resource, capacity, optimum["objective"]


@pytest.mark.benchmark(group="GAP 5 x 60 to optimality")
def test_solve_gap(benchmark, gap_instance):
    """solve_gap proves the optimum scipy.optimize.milp finds."""
    cost, resource, capacity, optimum = gap_instance
    result = benchmark.pedantic(
        solver.solve_gap,
        args=(cost, resource, capacity),
        kwargs={"time_limit": 20.0, "seed": 0, "workers": 1},
        rounds=5,
        warmup_rounds=1,
    )
    assert result.objective == optimum and result.bound >= optimum - 1e-9


@pytest.mark.benchmark(group="GAP 5 x 60 to optimality")
def test_gap_baseline_milp(benchmark, gap_instance):
    """Baseline: the textbook MILP with scipy.optimize.milp (HiGHS), tests/oracles.py."""
    cost, resource, capacity, optimum = gap_instance
    result = benchmark.pedantic(
        gap_milp,
        args=(cost, resource, capacity),
        kwargs={"sense": "min"},
        rounds=5,
        warmup_rounds=1,
    )
    assert result["optimal"] and result["objective"] == optimum


# -- Monte Carlo paths ---------------------------------------------------------------------------

SIM_ACCOUNTS, SIM_PATHS, SIM_MONTHS = 1_000, 200, 36


@pytest.fixture(scope="module")
def path_inputs():
    """1,000 generated accounts (seed 2025) on status-quo schedules under the recession shocks."""
    frame = solver.generate_portfolio(SIM_ACCOUNTS, seed=2025)
    shocks = account_shocks(
        frame,
        load_scenario(
            ROOT / "scenarios" / "recession.toml", overrides={"collection.enabled": False}
        ).shocks,
    )
    return build_path_inputs(
        frame, status_quo_schedules(frame), solver.BehaviourModel(), shocks, SIM_MONTHS
    )


@pytest.mark.benchmark(group="Monte Carlo 1,000 accounts x 200 paths x 36 months")
def test_simulate_paths(benchmark, path_inputs):
    """The MC mean discounted collection lies in the 99 % interval of the exact expectation."""
    outcomes = benchmark.pedantic(
        simulate_paths,
        args=(path_inputs,),
        kwargs={"paths": SIM_PATHS, "seed": 7},
        rounds=3,
        warmup_rounds=1,
    )
    collected = discounted_collection(outcomes)
    assert collected.size == SIM_PATHS
    exact = float(analytic_expectation(path_inputs)["collected_discounted"].sum())
    assert abs(float(collected.mean()) - exact) <= half_width_99(collected)


@pytest.mark.benchmark(group="Monte Carlo 1,000 accounts x 200 paths x 36 months")
def test_simulate_baseline_uniform_draws(benchmark):
    """Baseline: numpy drawing one float32 uniform per account-path-month (one thread)."""
    rng = np.random.default_rng(0)
    cells = SIM_ACCOUNTS * SIM_PATHS * SIM_MONTHS
    draws = benchmark.pedantic(
        rng.random, args=(cells,), kwargs={"dtype": np.float32}, rounds=3, warmup_rounds=1
    )
    assert draws.size == cells and 0.49 < float(draws.mean()) < 0.51
