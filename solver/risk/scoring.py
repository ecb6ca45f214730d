"""Scoring a book with the early-warning model, on one machine or through an engine.

The per-partition workloads of ``workout risk score`` live here, beside the model they
use (issue 14: workloads beside their domains): :func:`prepare_uci` normalises a raw
partition, :func:`score_partition` scores it, :func:`score_summary` sums it per tier, and
:func:`combine_score_summaries` combines the partitions' sums. :func:`tier_summary` is the
same table for scores held in memory; :func:`held_out_hazards` calibrates the behaviour
model's tier hazards on the held-out share of a fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from solver.risk.calibration import HazardCalibration, calibrate_hazards
from solver.risk.early_warning import EarlyWarningFit, assign_tiers, score_uci

if TYPE_CHECKING:
    from solver.engines.partitions import Partition

__all__ = [
    "combine_score_summaries",
    "held_out_hazards",
    "prepare_uci",
    "score_partition",
    "score_summary",
    "tier_summary",
]


def prepare_uci(raw: pd.DataFrame, partition: Partition) -> pd.DataFrame:
    """Normalise a raw partition of a UCI-layout table (rows numbered as in the whole table)."""
    from solver.risk.uci import normalise_uci

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


def held_out_hazards(result: EarlyWarningFit) -> HazardCalibration:
    """The behaviour model's tier hazards calibrated on the held-out share of a fit (its
    scores assigned to tiers by the model's PD bands, against the observed outcome)."""
    tiers = assign_tiers(result.test_pd, result.model.pd_bands)
    return calibrate_hazards(tiers, result.test_outcome)
