"""Scoring a book with the early-warning model, on one machine or through an engine.

``workout risk score`` runs :func:`score_file` (one process) or :func:`score_on_engine` on
a :func:`scoring_source` (partitions on an engine, results back to the client or written
by the workers as a Parquet dataset); both return a :class:`ScoreRun` with the per-tier
summary.

The per-partition workloads live here, beside the model they use (issue 14: workloads
beside their domains): :func:`prepare_uci` normalises a raw partition,
:func:`score_partition` scores it, :func:`score_summary` sums it per tier, and
:func:`combine_score_summaries` combines the partitions' sums. :func:`tier_summary` is the
same table for scores held in memory.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from solver.core.sources import BookSource
from solver.domain import TIERS
from solver.engines.base import Engine, ProgressFn
from solver.engines.partitions import Partition, is_dataset
from solver.risk._tables import TableSource
from solver.risk.early_warning import EarlyWarningModel, score_uci
from solver.risk.history_features import FEATURE_SET
from solver.risk.history_fit import read_history_or_uci, score_history
from solver.risk.uci import normalise_uci, read_uci

__all__ = [
    "ScoreRun",
    "combine_score_summaries",
    "prepare_uci",
    "score_file",
    "score_on_engine",
    "score_partition",
    "score_summary",
    "scoring_source",
    "tier_summary",
]


@dataclass(frozen=True)
class ScoreRun:
    """What scoring a book gives ``workout risk score``.

    Attributes
    ----------
    scores
        ``account_id, pd_next_month, tier, base_hazard[, exposure_months, defaults]``
        (``None`` when the workers wrote them as a dataset).
    summary
        Per tier A-E (in that order, NaN rows for tiers without accounts): ``accounts,
        mean_pd, base_hazard[, observed_rate]``.
    n_scored
        Accounts scored.
    """

    scores: pd.DataFrame | None
    summary: pd.DataFrame
    n_scored: int


def score_file(model: EarlyWarningModel, path: TableSource) -> ScoreRun:
    """Score a file in this process: a UCI-layout file with a UCI model; a payment history
    (or a UCI file through its history adapter) with a ``history-v1`` model."""
    if model.feature_set == FEATURE_SET:
        scores = score_history(model, read_history_or_uci(path))
    else:
        scores = score_uci(model, read_uci(path))
    return ScoreRun(scores, tier_summary(scores).reindex(list(TIERS)), len(scores))


def scoring_source(path: TableSource) -> Any:
    """What :func:`score_on_engine` partitions: a Parquet file or dataset as its path (the
    workers read it), another file (or a database table) read and normalised here."""
    if isinstance(path, BookSource):
        return read_uci(path)
    return path if is_dataset(path) else read_uci(path)


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
        return ScoreRun(None, summary.reindex(list(TIERS)), result.rows)
    scores = result.frame
    return ScoreRun(scores, tier_summary(scores).reindex(list(TIERS)), len(scores))


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
        pd_sum=("pd_next_month", "sum"),
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
        mean_pd=("pd_next_month", "mean"),
        base_hazard=("base_hazard", "first"),
    )
    if "defaults" in scores.columns:
        summary["observed_rate"] = scores.groupby("tier")["defaults"].mean()
    return summary
