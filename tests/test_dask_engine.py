"""The Dask engine on a 2-worker LocalCluster: identical results whatever the partitions.

One module-scoped cluster (two single-threaded worker processes) serves every test, so the
start-up cost (about 5 s) is paid once. Each identity test compares the Dask engine with
the local code path for 1, 3 and 7 partitions.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

import cloudpickle  # noqa: E402
from dataset_helpers import write_dataset  # noqa: E402

from solver.allocation.pricing import DaskPricing, LocalPricing  # noqa: E402
from solver.core.generate import generate_portfolio  # noqa: E402
from solver.engines.dask import DaskEngine  # noqa: E402
from solver.engines.partitions import prepare_portfolio  # noqa: E402
from solver.errors import InputError  # noqa: E402
from solver.risk.scoring import prepare_uci, score_partition  # noqa: E402

# Functions defined here run on the workers: ship them by value, not by module name.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

PARTITIONS = (1, 3, 7)


@pytest.fixture(scope="module")
def engine():
    """One 2-worker LocalCluster (processes, one thread each) for the whole module."""
    with DaskEngine(n_workers=2) as dask_engine:
        yield dask_engine


def _parquet_roundtrip(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    frame.to_parquet(path, index=False)
    return pd.read_parquet(path)


# -- plan-portfolio ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan_case(tmp_path_factory):
    """A small generated portfolio, as a frame and as a Parquet dataset, with its local plans."""
    from solver.plans.portfolio import plan_portfolio

    frame = generate_portfolio(14, seed=11)
    root = write_dataset(
        tmp_path_factory.mktemp("plans") / "portfolio", frame.drop(columns=["dpd_bucket"])
    )
    return frame, root, plan_portfolio(frame).table


def test_plan_portfolio_on_dask_equals_local(engine, plan_case):
    """plan_partition over 1, 3, 7 dataset partitions on Dask returns the local plan table."""
    from solver.plans.workloads import plan_partition

    frame, root, reference = plan_case
    for count in PARTITIONS:
        got = engine.map_partitions(
            plan_partition, root, partitions=count, prepare=prepare_portfolio, unique="account_id"
        ).frame
        pd.testing.assert_frame_equal(got, reference)


def _cli(argv: list[str]) -> int:
    """Run the ``workout`` CLI in-process; return its exit code."""
    from cli import workout
    from commands.common import run_cli

    return run_cli(workout, argv)


def test_plan_portfolio_cli_on_dask_writes_the_local_table(engine, plan_case, tmp_path):
    """`plan-portfolio DATASET --out DIR --engine dask --address …`: the workers' dataset
    reads back as the local plan table (as the command writes it: with the payments text
    since session 17)."""
    from commands.plan_portfolio_output import plan_partition_table

    frame, root, reference = plan_case
    local = plan_partition_table(frame)
    pd.testing.assert_frame_equal(local.drop(columns="payments"), reference)
    expected = _parquet_roundtrip(local, tmp_path / "local.parquet")
    out = tmp_path / "plans"
    address = engine.client.scheduler.address
    argv = ["plan-portfolio", str(root), "--out", str(out), "--engine", "dask"]
    assert _cli(argv + ["--address", address, "--partitions", "7"]) == 0
    assert len(list(out.iterdir())) == 7
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)


def test_plan_stage_arrays_equal_local(engine, plan_case):
    """plan_portfolio_on (the scenario's plan stage) returns the local table and schedules."""
    from solver.plans.portfolio import plan_portfolio
    from solver.plans.workloads import plan_portfolio_on

    frame, _, reference = plan_case
    local = plan_portfolio(frame)
    for count in (3, 7):
        got = plan_portfolio_on(engine, frame, partitions=count)
        pd.testing.assert_frame_equal(got.table, reference)
        np.testing.assert_array_equal(got.payments, local.payments)
        np.testing.assert_array_equal(got.exposures, local.exposures)
        np.testing.assert_array_equal(got.term, local.term)


# -- risk score --------------------------------------------------------------------------------


def test_risk_scores_on_dask_equal_local(engine, tmp_path):
    """Early-warning scores of a UCI-layout dataset on Dask equal score_uci on the whole table."""
    from test_risk_early_warning import FAST, synthetic_uci

    from solver.risk.early_warning import fit_early_warning, score_uci
    from solver.risk.uci import normalise_uci, uci_features

    accounts = synthetic_uci(400, seed=4)
    fit = fit_early_warning(uci_features(accounts), accounts["default_next_month"].to_numpy(), FAST)
    reference = score_uci(fit.model, normalise_uci(accounts))
    root = write_dataset(tmp_path / "uci", accounts, files=3, row_group=50)
    for count in PARTITIONS:
        got = engine.map_partitions(
            score_partition,
            root,
            fit.model,
            partitions=count,
            prepare=prepare_uci,
            unique="account_id",
        ).frame
        pd.testing.assert_frame_equal(got, reference)


# -- worker failure ----------------------------------------------------------------------------


def _plan_or_die(frame: pd.DataFrame, marker: str, victim: str) -> pd.DataFrame:
    """Plan a partition; the first time the victim account is met, kill this worker process."""
    from solver.plans.workloads import plan_partition

    if victim in set(frame["account_id"].astype(str)) and not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return plan_partition(frame)


def test_a_killed_worker_does_not_change_the_output(engine, plan_case, tmp_path):
    """A worker killed mid-run: Dask reruns its task elsewhere; the dataset is complete and equal."""
    frame, root, reference = plan_case
    marker = tmp_path / "killed"
    out = tmp_path / "plans"
    victim = str(frame["account_id"].iloc[10])
    engine.map_partitions(
        _plan_or_die, root, str(marker), victim, partitions=3, prepare=prepare_portfolio, out=out
    )
    assert marker.is_file(), "the worker was not killed"
    expected = _parquet_roundtrip(reference, tmp_path / "local.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)
    assert sorted(p.name for p in out.iterdir()) == [f"part-{k:05d}.parquet" for k in range(3)]
    engine.client.wait_for_workers(2, timeout=60)


# -- bad input and unreachable clusters --------------------------------------------------------


def test_bad_dataset_rows_fail_on_dask_and_write_nothing(engine, tmp_path):
    """A bad row in a dataset read by the workers: InputError naming the row; no output."""
    from solver.plans.portfolio_batch import plan_batch

    raw = generate_portfolio(12, seed=1).drop(columns=["dpd_bucket"])
    raw.loc[9, "remaining_term"] = 0
    root = write_dataset(tmp_path / "bad", raw)
    out = tmp_path / "plans"
    with pytest.raises(InputError, match="row 10 .*remaining_term"):
        engine.map_partitions(plan_batch, root, partitions=3, prepare=prepare_portfolio, out=out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]


def _worker_settings() -> tuple[str | None, bool]:
    import dask

    return os.environ.get("MALLOC_TRIM_THRESHOLD_"), bool(
        dask.config.get("distributed.worker.profile.enabled")
    )


def test_local_cluster_workers_run_without_malloc_trim_or_profiler(engine):
    """Workers of the engine's own cluster get LOCAL_CLUSTER_CONFIG (not Dask's defaults,
    which cost CPU-bound planning tasks about 30 %), and the client's config is untouched."""
    import dask

    settings = engine.client.run(_worker_settings)
    assert len(settings) == 2
    assert all(v == (None, False) for v in settings.values()), settings
    assert dask.config.get("distributed.worker.profile.enabled") is True


def test_unreachable_scheduler_is_an_input_error(monkeypatch):
    """An address nobody listens on: InputError (exit 2) naming the address, within the timeout."""
    with pytest.raises(InputError, match="tcp://127.0.0.1:9.*cannot reach"):
        DaskEngine("tcp://127.0.0.1:9", timeout=1.0)


# -- allocation pricing ------------------------------------------------------------------------


def test_dask_pricing_is_bit_identical_to_local(engine):
    """The workers' pricing oracle returns the local oracle's sums and choices, bit for bit."""
    from test_engine import _random_problem

    problem = _random_problem(3 * 4096 + 77, seed=5)
    local = LocalPricing(problem)
    rng = np.random.default_rng(0)
    for partitions in PARTITIONS:
        remote = DaskPricing(problem, engine.client, partitions=partitions)
        try:
            for _ in range(3):
                prices, gprices = rng.uniform(0, 5, 3), rng.uniform(0, 2, 1)
                a, b = local.price(prices, gprices), remote.price(prices, gprices)
                assert a.value == b.value
                for x, y in zip(a.usage(), b.usage(), strict=True):
                    np.testing.assert_array_equal(x, y)
                np.testing.assert_array_equal(
                    local.choice(prices, gprices), remote.choice(prices, gprices)
                )
        finally:
            remote.close()


@pytest.mark.slow  # about 20 s: three runs of a 150-iteration dual through the cluster
def test_allocation_on_dask_equals_local(engine, monkeypatch):
    """allocate(..., engine=dask) for 1, 3, 7 column partitions: the local table, prices,
    objective and bound, bit for bit.

    8,000 accounts with a binding budget, on the decomposition path (exact CP-SAT off) and
    without the time-boxed LNS (off by CPSAT_MAX_PAIRS = 0, as at scale where the reduced
    model exceeds it), so both runs stop on the solver's own criteria, not on the clock.
    """
    import solver.allocation.gap.solve as gap_solve
    from solver.allocation.catalogue import Catalogue
    from solver.allocation.portfolio import allocate
    from solver.allocation.teams import Teams

    monkeypatch.setattr(gap_solve, "CPSAT_MAX_PAIRS", 0)
    frame = generate_portfolio(8000, seed=3)
    catalogue = Catalogue.default()
    teams = Teams.from_toml(compliance=catalogue.compliance)
    options = dict(budget=5000.0, time_limit=600, workers=1, exact_max_pairs=0)
    local = allocate(frame, catalogue, teams, **options)
    assert "lns" not in local.method and local.gap > 0  # a real decomposition run
    for count in PARTITIONS:
        engine.partitions = count
        try:
            got = allocate(frame, catalogue, teams, engine=engine, **options)
        finally:
            engine.partitions = None
        pd.testing.assert_frame_equal(got.assignments, local.assignments)
        assert (got.objective, got.bound, got.gap) == (local.objective, local.bound, local.gap)
        np.testing.assert_array_equal(got.stats["global_prices"], local.stats["global_prices"])
        np.testing.assert_array_equal(got.stats["prices"], local.stats["prices"])


def test_lagrangian_dual_with_binding_teams_on_dask_equals_local(engine):
    """The dual with binding team rows: Dask and local prices, bound and choice agree exactly."""
    import time

    from solver.allocation.catalogue import Catalogue
    from solver.allocation.gap.dual import lagrangian_dual
    from solver.allocation.portfolio import build_allocation_problem
    from solver.allocation.teams import Teams

    frame = generate_portfolio(7200, seed=8)
    catalogue = Catalogue.default()
    teams = Teams.from_toml(compliance=catalogue.compliance).scaled(0.01)
    problem = build_allocation_problem(frame, catalogue, teams).problem
    far = time.perf_counter() + 600
    local = lagrangian_dual(problem, deadline=far, max_iterations=25)
    assert local.prices.max() > 0  # team capacities bind
    for count in PARTITIONS:
        got = lagrangian_dual(
            problem,
            deadline=far,
            max_iterations=25,
            pricing=lambda masked, count=count: DaskPricing(masked, engine.client, count),
        )
        assert got.bound == local.bound and got.iterations == local.iterations
        np.testing.assert_array_equal(got.prices, local.prices)
        np.testing.assert_array_equal(got.choice, local.choice)


# -- scenario run ------------------------------------------------------------------------------


def test_scenario_run_on_dask_equals_local(engine, tmp_path):
    """run_scenario with plans, a recession shock and unemployment draws: KPIs, accounts,
    monthly series and roll rates equal the local run for 1, 3 and 7 partitions."""
    from solver.scenarios.run import clear_caches, run_scenario
    from solver.scenarios.spec import load_scenario

    data = Path(__file__).parent / "data" / "scenario"
    path = tmp_path / "scenario.toml"
    path.write_text(
        f'extends = "{(data / "small_recession.toml").as_posix()}"\n'
        "[portfolio]\nn = 12\nseed = 5\n[plans]\nrestructure = true\n"
        "[simulation]\npaths = 40\n"
    )
    scenario = load_scenario(path)
    clear_caches()
    local = run_scenario(scenario)
    for count in PARTITIONS:
        clear_caches()  # no plan-stage cache: the plans are computed on the workers
        engine.partitions = count
        try:
            got = run_scenario(scenario, engine=engine)
        finally:
            engine.partitions = None
        for name in ("kpis", "accounts", "monthly", "roll_rates"):
            pd.testing.assert_frame_equal(getattr(got, name), getattr(local, name))
