"""The scoring choice of ``workout risk score`` (session 22: moved from commands/ to
solver.risk.scoring): which scoring applies to a book, and that score_book follows it.

The expected routes are written out here from the command's help and docs/history.md, not
computed by the code under test: a ``history-v1`` model (fitted on a payment history)
scores in this process, an account's months together, and an engine only writes a dataset
``--out``; a UCI model is scored partition by partition on an engine when one is asked for
(``--engine dask`` or ``--partitions``), when ``--out`` is a dataset directory, or when
PORTFOLIO is a Parquet dataset directory; otherwise in this process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cli import workout
from commands.common import run_cli
from solver.core.sources import BookSource
from solver.engines.entry import open_engine
from solver.risk.early_warning import EarlyWarningModel
from solver.risk.scoring import score_book, scoring_route

#: The model kinds, by the feature_set a model file records (docs/history.md).
HISTORY_MODEL = SimpleNamespace(feature_set="history-v1")
UCI_MODEL = SimpleNamespace(feature_set="uci-behaviour-v1")


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Any]:
    """A CSV file, a Parquet dataset directory, a database table and a BookSource file."""
    root = tmp_path_factory.mktemp("sources")
    (root / "book.csv").write_text("x\n1\n")
    (root / "parts").mkdir()
    return {
        "file": root / "book.csv",
        "directory": root / "parts",
        "database": BookSource(url="sqlite:///bank.db", table="history"),
        "booksource file": BookSource(path=root / "book.csv"),
        "booksource directory": BookSource(path=root / "parts"),
    }


# (source, distributed, dataset_out) -> route of a UCI model, from the rule in the docstring
UCI_ROUTES = {
    ("file", False, False): "in-process",
    ("file", True, False): "engine",
    ("file", False, True): "engine",
    ("file", True, True): "engine",
    ("directory", False, False): "engine",
    ("directory", True, True): "engine",
    ("database", False, False): "in-process",
    ("database", True, False): "engine",
    ("database", False, True): "engine",
    ("booksource file", False, False): "in-process",
    ("booksource directory", False, False): "engine",
}


@pytest.mark.parametrize(("source", "distributed", "dataset_out"), list(UCI_ROUTES))
def test_uci_model_route(sources, source, distributed, dataset_out):
    """A UCI model goes to the engine exactly when distributed, a dataset --out or a directory."""
    route = scoring_route(
        UCI_MODEL, sources[source], distributed=distributed, dataset_out=dataset_out
    )
    assert route == UCI_ROUTES[(source, distributed, dataset_out)]


@pytest.mark.parametrize("source", ["file", "directory", "database", "booksource directory"])
@pytest.mark.parametrize(("distributed", "dataset_out"), [(False, False), (True, True)])
def test_history_model_always_scores_in_this_process(sources, source, distributed, dataset_out):
    """A history-v1 model takes the in-process history route whatever the engine and --out."""
    route = scoring_route(
        HISTORY_MODEL, sources[source], distributed=distributed, dataset_out=dataset_out
    )
    assert route == "history"


class _Recording:
    """An engine that records which of its methods ``score_book`` called."""

    def __init__(self, engine: Any, calls: list[str]) -> None:
        self.engine, self.calls = engine, calls

    def map_partitions(self, *args: Any, **kwargs: Any) -> Any:
        """Record, then run on the real engine."""
        self.calls.append("map_partitions")
        return self.engine.map_partitions(*args, **kwargs)

    def write_dataset(self, *args: Any, **kwargs: Any) -> Any:
        """Record, then run on the real engine."""
        self.calls.append("write_dataset")
        return self.engine.write_dataset(*args, **kwargs)


def _recorder(calls: list[str]) -> Any:
    """An ``open_engine`` callable: a local engine of 2 partitions, recording its use."""

    @contextlib.contextmanager
    def opened() -> Iterator[Any]:
        calls.append("open")
        with open_engine("local", partitions=2) as engine:
            yield _Recording(engine, calls)

    return opened


@pytest.fixture(scope="module")
def models(risk_models) -> dict[str, Any]:
    """The UCI model and the history-v1 model of conftest's ``risk_models``, each read, with
    the file it was fitted on and its model file."""
    return {
        "uci": (EarlyWarningModel.read(risk_models["ew"]), risk_models["uci"], risk_models["ew"]),
        "history": (
            EarlyWarningModel.read(risk_models["ewh"]),
            risk_models["history"],
            risk_models["ewh"],
        ),
    }


def _by_account(scores: pd.DataFrame) -> pd.DataFrame:
    """Scores in account order (partitions may return them in another)."""
    return scores.sort_values("account_id").reset_index(drop=True)


def test_uci_file_scores_in_this_process_without_an_engine(models):
    """A UCI model on a file, not distributed, file --out: the engine is never opened."""
    model, path, _ = models["uci"]
    calls: list[str] = []
    run = score_book(model, path, open_engine=_recorder(calls))
    assert calls == [] and run.scores is not None and run.n_scored == 600


def test_uci_distributed_scores_on_the_engine_with_the_same_scores(models):
    """A UCI model with --partitions: partitions scored on the engine, same scores as in process."""
    model, path, _ = models["uci"]
    calls: list[str] = []
    shown: list[tuple[int, int]] = []

    @contextlib.contextmanager
    def progress() -> Iterator[Any]:
        yield lambda done, total: shown.append((done, total))

    run = score_book(model, path, open_engine=_recorder(calls), distributed=True, progress=progress)
    assert calls == ["open", "map_partitions"]
    assert shown and shown[-1][0] == shown[-1][1]  # the progress callback reached the end
    alone = score_book(model, path, open_engine=_recorder([]))
    assert run.scores is not None and alone.scores is not None
    pd.testing.assert_frame_equal(_by_account(run.scores), _by_account(alone.scores))


def test_history_model_with_a_dataset_out_scores_here_and_only_writes_on_the_engine(
    models, tmp_path
):
    """A history-v1 model with a dataset --out: scored in this process (scores kept), the
    engine only writes them; the dataset holds each account once, as scored in process."""
    model, path, _ = models["history"]
    calls: list[str] = []
    out = tmp_path / "scores"
    run = score_book(model, path, open_engine=_recorder(calls), distributed=True, out=out)
    assert calls == ["open", "write_dataset"]
    assert run.scores is not None
    written = pd.read_parquet(out)
    assert written["account_id"].is_unique
    pd.testing.assert_frame_equal(_by_account(written), _by_account(run.scores), check_dtype=False)


def test_uci_dataset_out_is_written_by_the_workers(models, tmp_path):
    """A UCI model with a dataset --out: the workers write the parts, no scores come back,
    and the per-tier counts add up to the accounts."""
    model, path, _ = models["uci"]
    calls: list[str] = []
    out = tmp_path / "scores"
    run = score_book(model, path, open_engine=_recorder(calls), out=out)
    assert calls == ["open", "map_partitions"] and run.scores is None
    assert len(pd.read_parquet(out)) == run.n_scored == 600
    assert np.nansum(run.summary["accounts"]) == 600


def test_cli_history_model_with_partitions_scores_every_account_once(models, tmp_path, capsys):
    """``risk score HISTORY --partitions 3 --out DIR/``: each account once, its scores equal
    to the file --out run's (partitions of the rows would split an account's months)."""
    _, path, toml = models["history"]
    base = ["risk", "score", str(path), "--ew-model", str(toml), "--format", "json"]
    assert run_cli(workout, [*base, "--out", str(tmp_path / "s.csv"), "--no-png"]) == 0
    assert run_cli(workout, [*base, "--out", str(tmp_path / "ds") + "/", "--partitions", "3"]) == 0
    capsys.readouterr()
    parts = pd.read_parquet(tmp_path / "ds")
    whole = pd.read_csv(tmp_path / "s.csv")
    assert parts["account_id"].is_unique and len(parts) == len(whole)
    np.testing.assert_allclose(_by_account(parts)["pd_3m"], _by_account(whole)["pd_3m"], rtol=1e-12)
