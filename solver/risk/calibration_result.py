"""What a hazard calibration found: the estimates by tier, kappa, and how they were made.

:class:`HazardCalibration` holds each tier's base monthly hazard with its interval
(:class:`TierHazard`), kappa when estimated, the method (:func:`describe_method`) and the
confidence level, and shows them as a table, JSON and text; :data:`DEFAULT_BEHAVIOUR`
(the behaviour model's parameters in the order a calibrated TOML lists them) gives the
values kept where a tier has no exposure. Estimated by :mod:`solver.risk.calibration`,
written by :mod:`solver.risk.behaviour_toml`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from solver.core.model import BehaviourModel

__all__ = ["DEFAULT_BEHAVIOUR", "HazardCalibration", "TierHazard", "describe_method"]

_DEFAULT_MODEL = BehaviourModel()
#: The behaviour model's defaults (SPEC §4, defined in :class:`solver.core.model.BehaviourModel`)
#: in the order a calibrated TOML file lists them.
DEFAULT_BEHAVIOUR: dict[str, Any] = {
    "cost_of_funds": _DEFAULT_MODEL.cost_of_funds,
    "kappa": _DEFAULT_MODEL.kappa,
    "recovery_lag_months": _DEFAULT_MODEL.recovery_lag_months,
    "vehicle_depreciation": _DEFAULT_MODEL.vehicle_depreciation,
    "auction_discount": _DEFAULT_MODEL.auction_discount,
    "repo_cost": _DEFAULT_MODEL.repo_cost,
    "unsecured_recovery": _DEFAULT_MODEL.unsecured_recovery,
    "base_hazard": dict(_DEFAULT_MODEL.base_hazard),
}


@dataclass(frozen=True)
class TierHazard:
    """Estimated base monthly hazard of one tier.

    Attributes
    ----------
    tier
        Tier label.
    exposure_months
        Account-months observed.
    defaults
        Default events observed.
    hazard
        Point estimate (MLE), NaN when the tier has no exposure.
    lower, upper
        Interval bounds at the calibration's confidence level.
    """

    tier: str
    exposure_months: float
    defaults: int
    hazard: float
    lower: float
    upper: float

    @property
    def estimated(self) -> bool:
        """True when the tier had exposure (otherwise the base value is kept)."""
        return self.exposure_months > 0


@dataclass(frozen=True)
class HazardCalibration:
    """Result of :func:`calibrate_hazards`.

    Attributes
    ----------
    tiers
        One entry per tier A-E (tiers without exposure have NaN estimates).
    kappa, kappa_lower, kappa_upper
        Estimated share of unaffordable months that end in default and its interval
        (``None`` when not estimated).
    kappa_fixed
        The value kappa was held at when affordability was used but kappa not estimated
        (what :func:`~solver.risk.behaviour_toml.calibrated_params` writes); ``None`` when
        there was no affordability data or every month was affordable: the base model's
        kappa is kept.
    method
        ``"exact-binomial"``, ``"exact-poisson"`` or ``"mle-profile"`` (``"mle-wald"`` before
        session 21, when the affordability fit's intervals were Wald intervals).
    confidence
        Interval level.
    n_rows
        Outcome rows used.
    converged
        Optimizer status for the MLE (always True for the closed form).
    """

    tiers: tuple[TierHazard, ...]
    kappa: float | None
    kappa_lower: float | None
    kappa_upper: float | None
    kappa_fixed: float | None
    method: str
    confidence: float
    n_rows: int
    converged: bool = True

    def hazard(self, tier: str) -> TierHazard:
        """The estimate for ``tier``."""
        for item in self.tiers:
            if item.tier == tier:
                return item
        raise KeyError(tier)

    def pooled_hazards(self) -> dict[str, float]:
        """The estimated tiers' hazards made non-decreasing from A to E: adjacent tiers whose
        estimates invert are pooled (PAVA weighted by exposure months).

        Decision (s24): what is written is ordered, as ``risk score``'s tier hazards are
        (:func:`~solver.risk.pd_tiers.tier_hazards`): plans and allocation rank tiers by
        their hazard, and a calibration that wrote A 0.1 and B-E 0.01 (A 10 defaults in 100
        exposure-months, the others 1) made the best tier the worst without a word (review
        s24). For the constant hazard the pooled ``sum d / sum E`` is the maximum-likelihood
        estimate under the ordering; for the fit with kappa (``mle-profile``) the pooled
        ``h0`` is the exposure-weighted mean of the pooled tiers' estimates, kappa as fitted.
        The raw estimates stay in the table, the JSON and the TOML's comments.
        """
        used = [t for t in self.tiers if t.estimated]
        if not used:
            return {}
        from solver.risk.pd_tiers import pool_adjacent_violators

        rates = pool_adjacent_violators(
            np.array([t.hazard for t in used]), np.array([t.exposure_months for t in used])
        )
        return {t.tier: float(r) for t, r in zip(used, rates, strict=True)}

    def pooled_groups(self) -> list[list[str]]:
        """The runs of two or more tiers that :meth:`pooled_hazards` pooled (``[["A", "B"]]``)."""
        pooled = self.pooled_hazards()
        runs: list[list[TierHazard]] = []  # consecutive estimated tiers of one pooled value
        for t in (t for t in self.tiers if t.estimated):
            if runs and pooled[runs[-1][-1].tier] == pooled[t.tier]:
                runs[-1].append(t)
            else:
                runs.append([t])
        return [
            [t.tier for t in run]
            for run in runs
            if len(run) > 1 and any(pooled[t.tier] != t.hazard for t in run)
        ]

    def pooling_note(self) -> str | None:
        """One line saying which tiers were pooled and why, or ``None``."""
        groups = self.pooled_groups()
        if not groups:
            return None
        pooled = self.pooled_hazards()
        parts = ", ".join(f"{g[0]}-{g[-1]} at {pooled[g[0]]:.6g}" for g in groups)
        return (
            f"tiers pooled: {parts} (their estimates decrease from a better tier to a worse "
            "one; the written hazards pool adjacent violators, weighted by exposure months, "
            "so a worse tier never gets a lower hazard)"
        )

    def base_hazard(self, fallback: Mapping[str, float] | None = None) -> dict[str, float]:
        """Hazard per tier as written: :meth:`pooled_hazards` for the tiers with exposure;
        tiers without exposure take ``fallback`` (default model values)."""
        base = dict(fallback if fallback is not None else DEFAULT_BEHAVIOUR["base_hazard"])
        pooled = self.pooled_hazards()
        return {t.tier: pooled.get(t.tier, float(base[t.tier])) for t in self.tiers}

    def to_frame(self) -> pd.DataFrame:
        """Table: tier, exposure_months, defaults, hazard, lower, upper."""
        return pd.DataFrame(
            [
                {
                    "tier": t.tier,
                    "exposure_months": t.exposure_months,
                    "defaults": t.defaults,
                    "hazard": t.hazard,
                    "lower": t.lower,
                    "upper": t.upper,
                }
                for t in self.tiers
            ]
        )

    def written_frame(self, fallback: Mapping[str, float] | None = None) -> pd.DataFrame:
        """:meth:`to_frame` with ``estimated`` and the hazard ``written`` to the behaviour
        TOML of each tier (``fallback`` as in :meth:`base_hazard`)."""
        written = self.base_hazard(fallback)
        table = self.to_frame()
        table["estimated"] = [t.estimated for t in self.tiers]
        table["written"] = [written[t.tier] for t in self.tiers]
        return table

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "method": self.method,
            "confidence": self.confidence,
            "n_rows": self.n_rows,
            "converged": self.converged,
            "tiers": [
                {
                    "tier": t.tier,
                    "exposure_months": t.exposure_months,
                    "defaults": t.defaults,
                    "hazard": None if math.isnan(t.hazard) else t.hazard,
                    "lower": None if math.isnan(t.lower) else t.lower,
                    "upper": None if math.isnan(t.upper) else t.upper,
                }
                for t in self.tiers
            ],
            "pooled_tiers": self.pooled_groups(),
            "kappa": self.kappa,
            "kappa_lower": self.kappa_lower,
            "kappa_upper": self.kappa_upper,
            "kappa_fixed": self.kappa_fixed,
        }

    def summary(self) -> str:
        """Human-readable lines, one per tier, plus kappa."""
        lines = [f"method: {describe_method(self.method)}"]
        for t in self.tiers:
            if t.estimated:
                lines.append(
                    f"tier {t.tier}: h0 = {t.hazard:.6g} [{t.lower:.6g}, {t.upper:.6g}] from "
                    f"{t.defaults:,} default{'' if t.defaults == 1 else 's'} in "
                    f"{t.exposure_months:,.0f} exposure-months"
                )
            else:
                lines.append(f"tier {t.tier}: no exposure, base value kept")
        note = self.pooling_note()
        if note is not None:  # before the kappa line: the commands print the last line
            lines.append(note)
        if self.kappa is not None:
            lines.append(
                f"kappa = {self.kappa:.6g} [{self.kappa_lower:.6g}, {self.kappa_upper:.6g}]"
            )
        elif self.kappa_fixed is not None:
            lines.append(f"kappa held at {self.kappa_fixed:g}")
        else:
            lines.append(
                "kappa: not estimated (no affordability data, or every month affordable); kept "
                "from the base model. Each tier's h0 is its whole default rate, so the model "
                "over-predicts defaults in months a schedule leaves unaffordable; calibrate "
                "from a payment history with --book to fit both"
            )
        return "\n".join(lines)


def describe_method(method: str) -> str:
    """One-sentence description of a calibration method."""
    return {
        "exact-binomial": "constant monthly hazard per tier, MLE defaults / exposure-months, "
        "exact binomial (Clopper-Pearson) intervals",
        "exact-poisson": "constant monthly hazard per tier, MLE defaults / exposure-months, "
        "exact Poisson (Garwood) intervals",
        "mle-profile": "h_t = h0 + (1 - h0) kappa (1 - a_t) fitted by maximum likelihood, "
        "profile-likelihood intervals (exact binomial upper bound for a tier without defaults)",
    }[method]
