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

from solver.engine import (  # noqa: E402
    DaskEngine,
    DaskPricing,
    LocalPricing,
    prepare_portfolio,
    prepare_uci,
    score_partition,
)
from solver.errors import InputError  # noqa: E402
from solver.generate import generate_portfolio  # noqa: E402

# Functions defined here run on the workers: ship them by value, not by module name.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

PARTITIONS = (1, 3, 7)


@pytest.fixture(scope="module")
def engine():
    """One 2-worker LocalCluster (processes, one thread each) for the whole module."""
    with DaskEngine(n_workers=2) as dask_engine:
        yield dask_engine


def _dataset(root: Path, frame: pd.DataFrame, files: int = 2, row_group: int = 4) -> Path:
    root.mkdir()
    cuts = np.linspace(0, len(frame), files + 1).astype(int)
    for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        frame.iloc[a:b].to_parquet(
            root / f"part{k:02d}.parquet", index=False, row_group_size=row_group
        )
    return root


def _parquet_roundtrip(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    frame.to_parquet(path, index=False)
    return pd.read_parquet(path)


# -- plan-portfolio ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan_case(tmp_path_factory):
    """A small generated portfolio, as a frame and as a Parquet dataset, with its local plans."""
    from solver.plans import plan_portfolio

    frame = generate_portfolio(14, seed=11)
    root = _dataset(tmp_path_factory.mktemp("plans") / "portfolio", frame.drop(columns=["dpd_bucket"]))
    return frame, root, plan_portfolio(frame).table


def test_plan_portfolio_on_dask_equals_local(engine, plan_case):
    """plan_batch over 1, 3, 7 dataset partitions on Dask returns the local plan table."""
    from solver.plans import plan_batch

    frame, root, reference = plan_case
    for count in PARTITIONS:
        got = engine.map_partitions(
            plan_batch, root, partitions=count, prepare=prepare_portfolio, unique="account_id"
        ).frame
        pd.testing.assert_frame_equal(got, reference)


def test_plan_portfolio_dataset_output_equals_local(engine, plan_case, tmp_path):
    """Plans written by the workers as a partitioned dataset read back as the local table."""
    from solver.plans import plan_batch

    frame, root, reference = plan_case
    expected = _parquet_roundtrip(reference, tmp_path / "local.parquet")
    out = tmp_path / "plans"
    engine.map_partitions(plan_batch, root, partitions=7, prepare=prepare_portfolio, out=out)
    assert len(list(out.iterdir())) == 7
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)


def test_plan_stage_arrays_equal_local(engine, plan_case):
    """plan_portfolio_on (the scenario's plan stage) returns the local table and schedules."""
    from solver.engine import plan_portfolio_on
    from solver.plans import plan_portfolio

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

    accounts = synthetic_uci(600, seed=4)
    fit = fit_early_warning(uci_features(accounts), accounts["default_next_month"].to_numpy(), FAST)
    reference = score_uci(fit.model, normalise_uci(accounts))
    root = _dataset(tmp_path / "uci", accounts, files=3, row_group=50)
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
    from solver.plans import plan_batch

    if victim in set(frame["account_id"].astype(str)) and not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return plan_batch(frame)


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
    from solver.plans import plan_batch

    raw = generate_portfolio(12, seed=1).drop(columns=["dpd_bucket"])
    raw.loc[9, "remaining_term"] = 0
    root = _dataset(tmp_path / "bad", raw)
    out = tmp_path / "plans"
    with pytest.raises(InputError, match="row 10 .*remaining_term"):
        engine.map_partitions(plan_batch, root, partitions=3, prepare=prepare_portfolio, out=out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]


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
