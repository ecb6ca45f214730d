"""Engine abstraction without a cluster: partitions, ordering, staged output, pricing oracle.

The Dask engine itself is tested in ``tests/test_dask_engine.py`` (one 2-worker cluster).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dataset_helpers import write_dataset

from solver.allocation.pricing import PRICING_BLOCK, LocalPricing, Pricing, price_columns
from solver.core.generate import generate_portfolio
from solver.engines.local import LocalEngine
from solver.engines.partitions import (
    concat_partitions,
    default_partitions,
    partition_source,
    prepare_portfolio,
)
from solver.errors import InputError

DATA = Path(__file__).parent / "data"


def _ids(frame: pd.DataFrame) -> list[str]:
    return frame["account_id"].astype(str).tolist()


def test_partitions_of_a_dataset_cover_every_row_once_in_order(tmp_path):
    """Dataset partitions are contiguous, cover all rows once, and read back the same rows."""
    frame = generate_portfolio(103, seed=5)
    root = write_dataset(tmp_path / "dataset", frame, files=3, row_group=10)
    for count in (1, 2, 3, 7, 11, 40, 500):
        parts = partition_source(root, count)
        assert parts[0].start == 0 and parts[-1].stop == 103
        assert all(a.stop == b.start for a, b in zip(parts[:-1], parts[1:], strict=False))
        assert len(parts) <= min(count, 103)
        rows = [r for p in parts for r in _ids(p.read())]
        assert rows == _ids(frame)


def test_partitions_snap_to_row_groups_when_there_are_enough(tmp_path):
    """With more row groups than partitions every partition reads whole row groups."""
    frame = generate_portfolio(120, seed=1)
    root = write_dataset(tmp_path / "dataset", frame, files=2, row_group=10)
    for p in partition_source(root, 4):
        assert all(piece.skip == 0 for piece in p.pieces)
        assert p.start % 10 == 0


def test_frame_partitions_and_default_count():
    """A DataFrame is cut into nearly equal slices; the default is ≥ 2 per worker, ≤ rows."""
    frame = generate_portfolio(10, seed=0)
    parts = partition_source(frame, 3)
    assert [p.rows for p in parts] == [3, 3, 4]
    assert default_partitions(10, workers=4) == 8
    assert default_partitions(3, workers=4) == 3
    assert default_partitions(1_000_000, workers=2) == 40


def _row_count(frame: pd.DataFrame, scale: float) -> pd.DataFrame:
    """A per-account result: the partition's rows with a computed column."""
    return pd.DataFrame({"account_id": frame["account_id"], "value": frame["principal"] * scale})


def test_local_engine_results_do_not_depend_on_partitions(tmp_path):
    """Concatenated results are identical for 1, 3 and 7 partitions, from a frame or a dataset."""
    frame = generate_portfolio(50, seed=3)
    root = write_dataset(tmp_path / "dataset", frame, files=2, row_group=6)
    reference = _row_count(frame, 2.0)
    engine = LocalEngine()
    for count in (1, 3, 7):
        got = engine.map_partitions(_row_count, frame, 2.0, partitions=count).frame
        pd.testing.assert_frame_equal(got, reference)
        got = engine.map_partitions(
            _row_count, root, 2.0, partitions=count, prepare=prepare_portfolio
        ).frame
        pd.testing.assert_frame_equal(got, reference)


def test_progress_reports_rows_done():
    """The progress callback sees the rows finished so far and the total, ending at the total."""
    frame = generate_portfolio(20, seed=3)
    seen: list[tuple[int, int]] = []
    LocalEngine().map_partitions(
        _row_count, frame, 1.0, partitions=4, progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (20, 20) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def _maybe_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Some partitions have a column entirely missing (object dtype), as plan tables do."""
    term = frame["remaining_term"].to_numpy()
    rate = np.where(term > 40, frame["annual_rate"].to_numpy(), np.nan)
    column = pd.Series(list(rate), dtype=object).where(~np.isnan(rate), None)
    if not np.isnan(rate).all():
        column = pd.Series(rate)
    return pd.DataFrame({"account_id": frame["account_id"].to_numpy(), "rate": column})


def test_concat_restores_the_dtype_of_an_all_missing_column():
    """A column missing in a whole partition gets the dtype the other partitions agree on."""
    parts = [
        pd.DataFrame({"x": [None, None], "s": [None, None]}, dtype=object),
        pd.DataFrame({"x": [1.5, np.nan], "s": ["a", None]}),
    ]
    whole = concat_partitions(parts)
    assert whole["x"].dtype == np.float64 and whole["x"].isna().sum() == 3
    assert whole["s"].dtype == parts[1]["s"].dtype


def test_dataset_output_is_written_once_complete_and_reads_back_identical(tmp_path):
    """``out`` gets one part per partition, common dtypes, no staging left behind."""
    frame = generate_portfolio(40, seed=8)
    out = tmp_path / "result"
    reference = LocalEngine().map_partitions(_maybe_missing, frame, partitions=1).frame
    LocalEngine().map_partitions(_maybe_missing, frame, partitions=5, out=out)
    assert sorted(p.name for p in out.iterdir()) == [f"part-{k:05d}.parquet" for k in range(5)]
    back = pd.read_parquet(out)
    pd.testing.assert_frame_equal(back, reference, check_dtype=True)
    assert [p.name for p in tmp_path.iterdir()] == ["result"]


def test_dataset_output_replaces_an_existing_dataset(tmp_path):
    """Running again into the same directory replaces the dataset (no stale parts)."""
    frame = generate_portfolio(30, seed=8)
    out = tmp_path / "result"
    LocalEngine().map_partitions(_row_count, frame, 1.0, partitions=6, out=out)
    LocalEngine().map_partitions(_row_count, frame, 1.0, partitions=2, out=out)
    assert len(list(out.iterdir())) == 2 and len(pd.read_parquet(out)) == 30


def test_bad_rows_in_a_dataset_are_all_reported_and_nothing_is_written(tmp_path):
    """Problems from several partitions are reported together with dataset row numbers."""
    frame = generate_portfolio(30, seed=2)
    raw = frame.drop(columns=["dpd_bucket"]).copy()
    raw.loc[3, "principal"] = -5.0
    raw.loc[25, "annual_rate"] = 2.0
    root = write_dataset(tmp_path / "dataset", raw, files=2, row_group=5)
    out = tmp_path / "plans"
    with pytest.raises(InputError) as err:
        LocalEngine().map_partitions(
            _row_count, root, 1.0, partitions=4, prepare=prepare_portfolio, out=out
        )
    text = str(err.value)
    assert "row 4 " in text and "principal" in text
    assert "row 26 " in text and "annual_rate" in text
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]


def test_duplicate_ids_across_partitions_are_rejected(tmp_path):
    """An account id repeated in two partitions is an input error naming the second row."""
    frame = generate_portfolio(20, seed=2).drop(columns=["dpd_bucket"])
    frame.loc[15, "account_id"] = frame.loc[2, "account_id"]
    root = write_dataset(tmp_path / "dataset", frame, files=2, row_group=5)
    with pytest.raises(InputError, match="row 16 .*duplicate account id"):
        LocalEngine().map_partitions(
            _row_count, root, 1.0, partitions=3, prepare=prepare_portfolio, unique="account_id"
        )


def test_missing_dataset_is_an_input_error(tmp_path):
    """A dataset path that does not exist or holds no Parquet files: InputError (exit 2)."""
    with pytest.raises(InputError, match="not found"):
        partition_source(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no Parquet files"):
        partition_source(tmp_path / "empty")


def test_local_process_pool_gives_the_same_result():
    """``LocalEngine(jobs=2)`` (a process pool) returns what ``jobs=1`` returns."""
    frame = generate_portfolio(30, seed=4)
    one = LocalEngine(1).map_partitions(_row_count, frame, 3.0, partitions=5).frame
    two = LocalEngine(2).map_partitions(_row_count, frame, 3.0, partitions=5).frame
    pd.testing.assert_frame_equal(one, two)


# -- pricing oracle ------------------------------------------------------------------------


def _random_problem(n: int, seed: int = 0, budget: bool = True):
    from solver.allocation.gap.problem import AssignmentProblem

    rng = np.random.default_rng(seed)
    k = 7
    cost = np.round(rng.uniform(-100, 0, (k, n)), 2)
    cost[0] = 0.0  # "none": free, uncapacitated
    cost[rng.random((k, n)) < 0.2] = np.inf
    cost[0] = 0.0
    row_of = np.array([-1, 0, 0, 1, 1, 2, -1])
    weight = rng.uniform(1, 10, (k, 1)).round(1)
    cap = np.array([n * 1.5, n * 2.0, n * 0.7])
    gw = np.zeros((0, k, 1))
    gcap = np.zeros(0)
    if budget:
        gw = rng.uniform(0, 3, (1, k, 1)).round(2)
        gcap = np.array([n * 0.9])
    return AssignmentProblem(
        cost=cost,
        weight=weight,
        row_of=row_of,
        capacity=cap,
        global_weight=gw,
        global_capacity=gcap,
    )


def test_pricing_matches_the_reduced_costs_of_the_problem():
    """The oracle's choice is the argmin of the reduced costs; its value their sum (1e-9)."""
    problem = _random_problem(3000, seed=1)
    prices, gprices = np.array([1.2, 0.0, 3.5]), np.array([0.7])
    rc = problem.reduced_costs(prices, gprices)
    oracle = LocalPricing(problem)
    choice = oracle.choice(prices, gprices)
    np.testing.assert_array_equal(choice, rc.argmin(axis=0))
    pricing = oracle.price(prices, gprices)
    best = rc[choice, np.arange(3000)]
    assert pricing.value == pytest.approx(best.sum(), rel=1e-12)
    rows, glob = pricing.usage()
    np.testing.assert_allclose(rows, problem.row_usage(choice), rtol=1e-12)
    np.testing.assert_allclose(glob, problem.global_usage(choice), rtol=1e-12)


def test_pricing_over_block_aligned_ranges_is_bit_identical():
    """Pricing column ranges cut at block boundaries and joining gives the same bits."""
    n = 5 * PRICING_BLOCK + 123
    problem = _random_problem(n, seed=2)
    prices, gprices = np.array([0.3, 2.0, 0.01]), np.array([1.1])
    whole = LocalPricing(problem).price(prices, gprices)
    for cuts in ([0, n], [0, PRICING_BLOCK, n], [0, 2 * PRICING_BLOCK, 3 * PRICING_BLOCK, n]):
        parts = []
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            p, _ = price_columns(
                problem.cost[:, a:b],
                problem.weight,
                problem.row_of,
                problem.global_weight,
                3,
                prices,
                gprices,
            )
            parts.append(p)
        joined = Pricing.join(parts)
        assert joined.value == whole.value
        for x, y in zip(joined.usage(), whole.usage(), strict=True):
            np.testing.assert_array_equal(x, y)


def test_pricing_reports_a_job_without_options_as_infinite():
    """A job whose options are all forbidden makes the Lagrangian value +inf."""
    problem = _random_problem(50, seed=3, budget=False)
    cost = problem.cost.copy()
    cost[:, 7] = np.inf
    from dataclasses import replace

    bad = replace(problem, cost=cost)
    assert LocalPricing(bad).price(np.zeros(3), np.zeros(0)).value == math.inf


# -- CLI options ------------------------------------------------------------------------------


def test_engine_options_reject_address_without_dask():
    """``--address`` without ``--engine dask`` is a usage error (exit 2), before any work."""
    import click
    from click.testing import CliRunner

    from commands.engine_opts import engine_options

    @click.command()
    @engine_options
    def cmd(engine):
        click.echo(f"{engine.name} {engine.address} {engine.partitions} {engine.distributed}")

    runner = CliRunner()
    assert runner.invoke(cmd, []).output.strip() == "local None None False"
    assert runner.invoke(cmd, ["--partitions", "3"]).output.strip() == "local None 3 True"
    ok = runner.invoke(cmd, ["--engine", "dask", "--address", "tcp://h:1"])
    assert ok.output.strip() == "dask tcp://h:1 None True"
    bad = runner.invoke(cmd, ["--address", "tcp://h:1"])
    assert bad.exit_code == 2 and "--address needs --engine dask" in bad.output


def test_dataset_output_detection(tmp_path):
    """A path without extension, ending in '/', or an existing directory is a dataset output."""
    from commands.engine_opts import is_dataset_output

    assert is_dataset_output(tmp_path / "plans")
    assert is_dataset_output(str(tmp_path) + "/")
    assert is_dataset_output(tmp_path)
    assert not is_dataset_output(tmp_path / "plans.csv")
    assert not is_dataset_output(tmp_path / "plans.parquet")


def test_plan_portfolio_cli_local_partitions_write_the_same_table(tmp_path, capsys):
    """`plan-portfolio --partitions 2 --out DIR` (local engine) writes the table of the file path."""
    from cli import workout
    from commands.common import run_cli

    source = DATA / "portfolio" / "tiny.csv"
    single = tmp_path / "plans.parquet"
    assert run_cli(workout, ["plan-portfolio", str(source), "--out", str(single)]) == 0
    dataset = tmp_path / "plans"
    argv = ["plan-portfolio", str(source), "--out", str(dataset), "--partitions", "2"]
    assert run_cli(workout, argv) == 0
    assert len(list(dataset.iterdir())) == 2
    pd.testing.assert_frame_equal(pd.read_parquet(dataset), pd.read_parquet(single))
    assert "Plans for" in capsys.readouterr().out


def test_unreachable_address_on_the_cli_is_exit_2_and_writes_nothing(tmp_path, monkeypatch, capsys):
    """`--engine dask --address` nobody serves: exit 2, the address named, no output file."""
    pytest.importorskip("distributed")
    from cli import workout
    from commands.common import run_cli

    monkeypatch.setenv("WORKOUT_DASK_TIMEOUT", "1")
    out = tmp_path / "plans.csv"
    argv = ["plan-portfolio", str(DATA / "portfolio" / "tiny.csv"), "--out", str(out)]
    code = run_cli(workout, argv + ["--engine", "dask", "--address", "tcp://127.0.0.1:9"])
    assert code == 2
    assert "tcp://127.0.0.1:9" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
