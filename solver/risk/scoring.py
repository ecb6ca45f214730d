"""Scoring a book with the early-warning model, on one machine or through an engine.

``workout risk score`` calls :func:`score_book`, which applies the scoring
:func:`scoring_route` chooses: :func:`score_file` (one process) or :func:`score_on_engine`
on a :func:`scoring_source` (partitions on an engine, results back to the client or written
by the workers as a Parquet dataset); both return a :class:`ScoreRun` with the per-tier
summary. The choice lives here, not in the command (session 22 review: commands/ parse
options, call the solver and write the output).

The per-partition workloads live here, beside the model they use (issue 14: workloads
beside their domains): :func:`prepare_uci` normalises a raw partition,
:func:`score_partition` scores it, :func:`score_summary` sums it per tier, and
:func:`combine_score_summaries` combines the partitions' sums. :func:`tier_summary` is the
same table for scores held in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from solver.core.sources import BookSource
from solver.domain import TIERS
from solver.engines.base import Engine, ProgressFn
from solver.engines.partitions import Partition, is_dataset, runs_on_engine
from solver.errors import InputError
from solver.risk._tables import TableSource, source_label
from solver.risk.early_warning import EarlyWarningModel, score_uci
from solver.risk.early_warning_model import PD_NEXT_MONTH, pd_column_horizon, pd_column_of
from solver.risk.history_features import FEATURE_SET
from solver.risk.history_fit import read_history_or_uci, read_layout, score_history
from solver.risk.layouts import closest_layout
from solver.risk.uci import normalise_uci

__all__ = [
    "ScoreRun",
    "ScoringRoute",
    "combine_score_summaries",
    "prepare_uci",
    "score_book",
    "score_file",
    "score_on_engine",
    "score_partition",
    "score_summary",
    "scoring_route",
    "scoring_source",
    "tier_summary",
]

#: How :func:`score_book` scores a book (:func:`scoring_route` says when each applies).
ScoringRoute = Literal["history", "engine", "in-process"]


@dataclass(frozen=True)
class ScoreRun:
    """What scoring a book gives ``workout risk score``.

    Attributes
    ----------
    scores
        ``account_id, pd_next_month`` (or ``pd_<h>m`` for a model of an ``h``-month
        horizon), ``tier, base_hazard[, exposure_months, defaults]`` (``None`` when the
        workers wrote them as a dataset).
    summary
        Per tier A-E (in that order, NaN rows for tiers without accounts): ``accounts,
        mean_pd, base_hazard[, observed_rate]``.
    n_scored
        Accounts scored.
    pd_column
        The name of the PD (:func:`~solver.risk.early_warning_model.pd_column_name`).
    """

    scores: pd.DataFrame | None
    summary: pd.DataFrame
    n_scored: int
    pd_column: str = PD_NEXT_MONTH

    @property
    def pd_label(self) -> str:
        """What the PD is of, for headers: ``next month`` or ``within 3 months``."""
        horizon = pd_column_horizon(self.pd_column)
        return "next month" if horizon == 1 else f"within {horizon} months"


def scoring_route(
    model: EarlyWarningModel, source: TableSource, *, distributed: bool, dataset_out: bool
) -> ScoringRoute:
    """Which scoring :func:`score_book` applies to ``source`` with ``model``.

    Parameters
    ----------
    model
        The early-warning model.
    source
        The book: a file or Parquet dataset directory (a path), or a
        :class:`~solver.core.sources.BookSource` (a database table, or a file).
    distributed
        Whether the user asked for an engine (``--engine dask`` or ``--partitions``).
    dataset_out
        Whether the scores go to a Parquet dataset directory (written by the workers).

    Returns
    -------
    ScoringRoute
        * ``"history"`` for a ``history-v1`` model (fitted on a payment history), whatever
          the other arguments: it scores an account from all of its months, which partitions
          of the rows would split, so it scores in this process (:func:`score_file`) and an
          engine only writes a dataset output;
        * ``"engine"`` for a UCI-layout model when the work is distributed, the output is a
          dataset, or ``source`` is a directory (a Parquet dataset the workers read): the
          rule of :func:`~solver.engines.partitions.runs_on_engine`, which gives each
          reason; :func:`score_on_engine`, partition by partition;
        * ``"in-process"`` otherwise: :func:`score_file`.
    """
    if model.feature_set == FEATURE_SET:
        return "history"
    # the engine rule of every book command (distributed, dataset out, dataset directory)
    if runs_on_engine(source, distributed=distributed, dataset_out=dataset_out):
        return "engine"
    return "in-process"


def score_book(
    model: EarlyWarningModel,
    source: TableSource,
    *,
    open_engine: Callable[[], AbstractContextManager[Engine]],
    distributed: bool = False,
    out: str | os.PathLike[str] | None = None,
    partitions: int | None = None,
    progress: Callable[[], AbstractContextManager[ProgressFn]] | None = None,
) -> ScoreRun:
    """Score a book by the route :func:`scoring_route` chooses (``workout risk score``).

    Parameters
    ----------
    model
        The early-warning model.
    source
        The book (see :func:`scoring_route`).
    open_engine
        Opens the engine (entered only when one is used: scoring partitions, or writing a
        dataset ``out``).
    distributed
        Whether the user asked for an engine (``--engine dask`` or ``--partitions``).
    out
        A Parquet dataset directory the scores are written to by the engine (``None``: the
        scores come back in :attr:`ScoreRun.scores` for the caller to write).
    partitions
        Partitions of the book (``None``: the engine's default).
    progress
        Opens a progress callback for the partitions scored on an engine.

    Returns
    -------
    ScoreRun
        ``scores`` is ``None`` when the workers wrote a dataset ``out`` from partitions; a
        ``history-v1`` model's scores are kept (they were computed here).
    """
    route = scoring_route(model, source, distributed=distributed, dataset_out=out is not None)
    if route != "engine":
        run = score_file(model, source)
        if out is not None:  # a history-v1 model's scores, written in parts by the workers
            with open_engine() as runner:
                runner.write_dataset(run.scores, out, partitions=partitions)
        return run
    partitioned = scoring_source(model, source)  # read (and checked) before any engine starts
    bar_opened = progress() if progress is not None else nullcontext(None)
    with open_engine() as runner, bar_opened as bar:
        return score_on_engine(
            runner, model, partitioned, out=out, partitions=partitions, progress=bar
        )


def score_file(model: EarlyWarningModel, path: TableSource) -> ScoreRun:
    """Score a file in this process: a UCI-layout file with a UCI model; a payment history
    (or a UCI file through its history adapter) with a ``history-v1`` model."""
    if model.feature_set == FEATURE_SET:
        scores = score_history(model, read_history_or_uci(path))
    else:
        scores = score_uci(model, _read_uci_for(model, path))
    return ScoreRun(scores, tier_summary(scores).reindex(list(TIERS)), len(scores), model.pd_column)


def _read_uci_for(model: EarlyWarningModel, path: TableSource) -> pd.DataFrame:
    """The UCI table a UCI-layout ``model`` scores; a payment history is refused saying
    so (it was told the UCI columns it lacks, review s24)."""
    frame, kind = read_layout(path)
    source = source_label(path)
    if kind == "history" or (
        kind == "unknown" and closest_layout(frame.columns, ("uci", "history")) == "history"
    ):
        raise InputError(
            f"{source}: this is a payment history, and the model ({model.feature_set}, fitted "
            "on a UCI table) scores UCI "
            "credit-card tables, not histories: fit a model on the history "
            f"(workout risk fit {source} --out MODEL.toml) and score with it"
        )
    return normalise_uci(frame, source)


def scoring_source(model: EarlyWarningModel, path: TableSource) -> Any:
    """What :func:`score_on_engine` partitions: a Parquet file or dataset as its path (the
    workers read it), another file (or a database table) read and normalised here."""
    if isinstance(path, BookSource) or not is_dataset(path):
        return _read_uci_for(model, path)
    return path


def score_on_engine(
    engine: Engine,
    model: EarlyWarningModel,
    source: Any,
    *,
    out: str | os.PathLike[str] | None = None,
    partitions: int | None = None,
    progress: ProgressFn | None = None,
) -> ScoreRun:
    """Score a :func:`scoring_source` partition by partition on ``engine``.

    With ``out`` the workers write the scores as a Parquet dataset and only per-tier sums
    come back.
    """
    result = engine.map_partitions(
        score_partition,
        source,
        model,
        out=out,
        partitions=partitions,
        prepare=prepare_uci,
        unique="account_id",
        summary=score_summary if out is not None else None,
        progress=progress,
    )
    if out is not None:
        summary = combine_score_summaries(result.summaries)
        return ScoreRun(None, summary.reindex(list(TIERS)), result.rows, model.pd_column)
    scores = result.frame
    return ScoreRun(scores, tier_summary(scores).reindex(list(TIERS)), len(scores), model.pd_column)


def prepare_uci(raw: pd.DataFrame, partition: Partition) -> pd.DataFrame:
    """Normalise a raw partition of a UCI-layout table (rows numbered as in the whole table)."""
    if partition.frame is not None:
        return raw
    return normalise_uci(raw, source=partition.source, row_offset=partition.start)


def score_partition(frame: Any, model: Any) -> Any:
    """:func:`solver.risk.early_warning.score_uci` on a partition (argument order of the engine)."""
    return score_uci(model, frame)


def score_summary(scores: Any) -> Any:
    """Per-tier sums of a partition's scores (accounts, PD sum, defaults), combined later."""
    grouped = scores.groupby("tier")
    out = grouped.agg(
        accounts=("account_id", "size"),
        pd_sum=(pd_column_of(scores), "sum"),
        base_hazard=("base_hazard", "first"),
    )
    if "defaults" in scores.columns:
        out["defaults"] = grouped["defaults"].sum()
    return out


def combine_score_summaries(parts: Sequence[Any]) -> Any:
    """Per-tier ``accounts, mean_pd, base_hazard[, observed_rate]`` from partition summaries."""
    both = pd.concat(list(parts))
    grouped = both.groupby(level=0)
    out = pd.DataFrame({"accounts": grouped["accounts"].sum()})
    out["mean_pd"] = grouped["pd_sum"].sum() / out["accounts"]
    out["base_hazard"] = grouped["base_hazard"].first()
    if "defaults" in both.columns:
        out["observed_rate"] = grouped["defaults"].sum() / out["accounts"]
    out.index.name = "tier"
    return out


def tier_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Per-tier ``accounts, mean_pd, base_hazard[, observed_rate]`` of scores in memory."""
    summary = scores.groupby("tier").agg(
        accounts=("account_id", "size"),
        mean_pd=(pd_column_of(scores), "mean"),
        base_hazard=("base_hazard", "first"),
    )
    if "defaults" in scores.columns:
        summary["observed_rate"] = scores.groupby("tier")["defaults"].mean()
    return summary
