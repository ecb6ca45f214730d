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
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from solver.core.model import BehaviourModel
from solver.domain import TIERS
from solver.risk.pd_tiers import pool_adjacent_violators

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
    pooled
        The estimated tiers' hazards made non-decreasing by the estimator, as ``(tier,
        hazard)`` pairs, when pooling by exposure months is not its maximum likelihood (the
        fit with kappa, :func:`~solver.risk.affordability_fit._pooled_hazards`); ``None``:
        :meth:`pooled_hazards` pools the estimates weighted by exposure months.
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
    pooled: tuple[tuple[str, float], ...] | None = None

    def hazard(self, tier: str) -> TierHazard:
        """The estimate for ``tier``."""
        for item in self.tiers:
            if item.tier == tier:
                return item
        raise KeyError(tier)

    def pooled_hazards(self) -> dict[str, float]:
        """The estimated tiers' hazards made non-decreasing from A to E: adjacent tiers whose
        estimates invert are pooled (PAVA weighted by exposure months; the fit with kappa
        pools by its own likelihood, :attr:`pooled`).

        Decision (s24): what is written is ordered, as ``risk score``'s tier hazards are
        (:func:`~solver.risk.pd_tiers.tier_hazards`): plans and allocation rank tiers by
        their hazard, and a calibration that wrote A 0.1 and B-E 0.01 (A 10 defaults in 100
        exposure-months, the others 1) made the best tier the worst without a word (review
        s24). For the constant hazard the pooled ``sum d / sum E`` is the maximum-likelihood
        estimate under the ordering; for the fit with kappa (``mle-profile``) the pooled
        ``h0`` maximises the pooled tiers' likelihood with kappa as fitted (s25: it was the
        exposure-weighted mean of their estimates, which is not; the fit says why). The raw
        estimates stay in the table, the JSON and the TOML's comments.
        """
        return dict(self._pooled)

    @cached_property
    def _pooled(self) -> dict[str, float]:
        """:meth:`pooled_hazards`, pooled once per result: the summary, the note, the table,
        the JSON and the TOML all ask for it (PAVA ran about five times per ``risk calibrate``
        before s25). A frozen dataclass allows this: ``cached_property`` writes the
        instance's ``__dict__``, not through ``__setattr__``."""
        if self.pooled is not None:
            return dict(self.pooled)
        used = [t for t in self.tiers if t.estimated]
        if not used:
            return {}
        rates = pool_adjacent_violators(
            np.array([t.hazard for t in used]), np.array([t.exposure_months for t in used])
        )
        return {t.tier: float(r) for t, r in zip(used, rates, strict=True)}

    def pooled_groups(self) -> list[list[str]]:
        """The estimated tiers that :meth:`pooled_hazards` pooled, by pool (``[["A", "B"]]``):
        only the tiers whose pooled hazard differs from their own estimate."""
        pooled = self.pooled_hazards()
        runs: list[list[TierHazard]] = []  # estimated tiers of one pooled value, in order
        for t in (t for t in self.tiers if t.estimated):
            if runs and pooled[runs[-1][-1].tier] == pooled[t.tier]:
                runs[-1].append(t)
            else:
                runs.append([t])
        groups = [[t.tier for t in run if _moved(t.hazard, pooled[t.tier])] for run in runs]
        return [g for g in groups if g]

    def base_hazard(self, fallback: Mapping[str, float] | None = None) -> dict[str, float]:
        """Hazard per tier as written, non-decreasing from A to E in every case.

        Tiers with exposure take :meth:`pooled_hazards`. A tier without exposure takes
        ``fallback`` (default: the model's values) held between the hazards written for the
        nearest estimated tiers on either side: raised to the better neighbour's, lowered to
        the worse one's. Where fallback values of consecutive tiers without exposure
        themselves decrease (a ``--base`` file may), they are pooled (equal weights) first.

        Decision (s24-pool): a tier without data was written at its fallback whatever its
        neighbours' estimates, so A, C-E pooled at 0.0325 around B's default 0.004 wrote a
        worse tier below a better one while the note said the tiers were ordered (review
        s24). The fallback carries no data, so it must not move an estimated tier; holding
        it between its neighbours is the least change that restores the order, and what
        weighted isotonic regression gives in the limit of a zero weight on the fallback
        (a bounded isotonic fit is the clamped unbounded one). :meth:`pooling_note` names
        each tier held.
        """
        base = dict(fallback if fallback is not None else DEFAULT_BEHAVIOUR["base_hazard"])
        pooled = self.pooled_hazards()
        names = [t.tier for t in self.tiers]
        written: dict[str, float] = {}
        i = 0
        while i < len(names):
            if names[i] in pooled:
                written[names[i]] = pooled[names[i]]
                i += 1
                continue
            j = i  # names[i:j]: a maximal run of tiers without exposure
            while j < len(names) and names[j] not in pooled:
                j += 1
            low = pooled[names[i - 1]] if i > 0 else -math.inf
            high = pooled[names[j]] if j < len(names) else math.inf
            own = np.array([float(base[name]) for name in names[i:j]])
            ordered = (
                own
                if np.all(np.diff(own) >= 0)
                else pool_adjacent_violators(own, np.ones_like(own))
            )
            for name, value in zip(names[i:j], ordered, strict=True):
                written[name] = float(min(max(float(value), low), high))
            i = j
        return written

    def held_tiers(self, fallback: Mapping[str, float] | None = None) -> dict[str, str]:
        """The tiers without exposure whose written hazard is not their fallback value, each
        with why (``{"B": "raised from the base 0.004 to tier A's 0.0325"}``)."""
        base = dict(fallback if fallback is not None else DEFAULT_BEHAVIOUR["base_hazard"])
        written = self.base_hazard(fallback)
        names = [t.tier for t in self.tiers]
        held: dict[str, str] = {}
        for k, t in enumerate(self.tiers):
            own, value = float(base[t.tier]), written[t.tier]
            if t.estimated or not _moved(own, value):
                continue
            better = [n for n in names[:k] if self.hazard(n).estimated]
            worse = [n for n in names[k + 1 :] if self.hazard(n).estimated]
            if better and value > own and value == written[better[-1]]:
                why = f"raised from the base {own:.6g} to tier {better[-1]}'s {value:.6g}"
            elif worse and value < own and value == written[worse[0]]:
                why = f"lowered from the base {own:.6g} to tier {worse[0]}'s {value:.6g}"
            else:  # pooled with other tiers without exposure whose base values decrease
                why = f"base {own:.6g} pooled to {value:.6g} (the base hazards decrease here)"
            held[t.tier] = why
        return held

    def pooling_note(self, fallback: Mapping[str, float] | None = None) -> str | None:
        """One line naming each tier whose written hazard (:meth:`base_hazard`) differs from
        its own estimate or fallback, and why; ``None`` when none does."""
        pooled = self.pooled_hazards()
        parts: list[str] = []
        groups = self.pooled_groups()
        if groups:
            parts.append(
                "tiers pooled: "
                + "; ".join(f"{_tier_list(g)} at {pooled[g[0]]:.6g}" for g in groups)
                + " (their estimates decrease from a better tier to a worse one; the written "
                + (
                    "hazards pool adjacent violators, weighted by exposure months)"
                    if self.pooled is None
                    else "hazards pool adjacent violators by maximum likelihood, kappa as fitted)"
                )
            )
        held = self.held_tiers(fallback)
        if held:
            parts.append(
                "no exposure, held in order: "
                + "; ".join(f"tier {tier} {why}" for tier, why in held.items())
            )
        if not parts:
            return None
        return "; ".join(parts) + "; so a worse tier never gets a lower hazard"

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

    def to_dict(self, fallback: Mapping[str, float] | None = None) -> dict[str, Any]:
        """JSON-ready summary; each tier's ``written`` is the hazard the behaviour TOML gets
        (:meth:`base_hazard` with ``fallback``), as in :meth:`written_frame`'s table."""
        written = self.base_hazard(fallback)
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
                    "written": written[t.tier],
                }
                for t in self.tiers
            ],
            "pooled_tiers": self.pooled_groups(),
            "kappa": self.kappa,
            "kappa_lower": self.kappa_lower,
            "kappa_upper": self.kappa_upper,
            "kappa_fixed": self.kappa_fixed,
        }

    def summary(self, fallback: Mapping[str, float] | None = None) -> str:
        """Human-readable lines, one per tier, plus kappa (``fallback`` as in
        :meth:`base_hazard`)."""
        held = self.held_tiers(fallback)
        lines = [f"method: {describe_method(self.method)}"]
        for t in self.tiers:
            if t.estimated:
                lines.append(
                    f"tier {t.tier}: h0 = {t.hazard:.6g} [{t.lower:.6g}, {t.upper:.6g}] from "
                    f"{t.defaults:,} default{'' if t.defaults == 1 else 's'} in "
                    f"{t.exposure_months:,.0f} exposure-months"
                )
            elif t.tier in held:
                lines.append(f"tier {t.tier}: no exposure, {held[t.tier]} to keep the order")
            else:
                lines.append(f"tier {t.tier}: no exposure, base value kept")
        note = self.pooling_note(fallback)
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


_TIER_INDEX = {tier: i for i, tier in enumerate(TIERS)}


def _moved(own: float, written: float) -> bool:
    """True when a written hazard differs from the tier's own value by more than rounding
    (PAVA's weighted means may differ from an unpooled estimate in the last bit)."""
    return not math.isclose(own, written, rel_tol=1e-12, abs_tol=1e-15)


def _tier_list(tiers: list[str]) -> str:
    """``["A", "C", "D", "E"]`` as ``"A, C-E"``: runs of consecutive tiers as ranges."""
    runs: list[list[str]] = []
    for tier in tiers:
        if runs and _TIER_INDEX[tier] == _TIER_INDEX[runs[-1][-1]] + 1:
            runs[-1].append(tier)
        else:
            runs.append([tier])
    return ", ".join(run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


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
