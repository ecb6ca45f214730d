"""Calibration of the behaviour model's base monthly hazard by tier (and kappa) from outcomes.

Outcome data (:mod:`solver.risk.outcomes`) are rows with a ``tier`` (A-E), the
``exposure_months`` observed (1 for account-month rows) and the number of ``defaults`` in
them (0/1 per account). Two estimators, chosen by :func:`calibrate_hazards`:

* **Constant hazard** (no affordability data). Each exposure month is a Bernoulli trial
  with the tier's hazard ``h``; the likelihood is ``h^d (1 - h)^(E - d)`` whatever the
  stopping rule, so the MLE is ``h = d / E`` (defaults over exposure-months). Intervals
  are exact: Clopper-Pearson for the binomial (default) or Garwood's for a Poisson rate
  (``interval="poisson"``, also valid for fractional exposure).
* **Hazard with affordability** (account-month rows with an ``afford_prob`` column
  ``a_t``, SPEC §4). Each month defaults with ``h_t = h0 + (1 - h0) κ (1 - a_t)``. The
  tier hazards ``h0`` and ``κ`` are fitted jointly by maximum likelihood (L-BFGS-B,
  analytic gradient); ``κ`` can also be held fixed. ``κ`` is only identifiable when some
  months are unaffordable. Intervals are profile-likelihood intervals, with an exact upper
  bound for a tier without defaults: :mod:`solver.risk.affordability_fit`, which also
  records why (sessions 21 and 22).

This module holds the estimators' entry points (:func:`calibrate_hazards` on arrays,
:func:`calibrate_outcomes` and :func:`calibrate_outcome_frame` on an outcome table) and
the constant-hazard estimator. The result is a
:class:`~solver.risk.calibration_result.HazardCalibration`; the intervals are in
:mod:`solver.risk.exact_intervals`. The calibrated parameters are written as a
behaviour-model TOML in the agreed format (``cost_of_funds``, ``kappa``, ...,
``[base_hazard]``) by :mod:`solver.risk.behaviour_toml`, copying the other parameters
from a base model; the estimates and intervals go in the file's leading comments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from solver.domain import TIERS
from solver.errors import InputError
from solver.risk.affordability_fit import _affordability_mle
from solver.risk.behaviour_toml import write_behaviour_toml
from solver.risk.calibration_result import DEFAULT_BEHAVIOUR, HazardCalibration, TierHazard
from solver.risk.exact_intervals import binomial_interval, poisson_rate_interval
from solver.risk.outcomes import validate_outcomes

# write_behaviour_toml is re-exported: it is in solver's public API under this module
# since before the behaviour TOML had its own (solver/__init__.py); every caller in the
# project imports it from solver.risk.behaviour_toml.
__all__ = [
    "calibrate_hazards",
    "calibrate_outcome_frame",
    "calibrate_outcomes",
    "write_behaviour_toml",
]


def _tier_codes(tier: np.ndarray) -> np.ndarray:
    index = {t: i for i, t in enumerate(TIERS)}
    codes = np.array([index.get(str(t), -1) for t in tier], dtype=np.int64)
    if np.any(codes < 0):
        bad = sorted({str(t) for t in np.asarray(tier)[codes < 0]})
        raise InputError(f"tier must be one of {', '.join(TIERS)}, got {', '.join(bad)}")
    return codes


def calibrate_hazards(
    tier: np.ndarray,
    defaults: np.ndarray,
    exposure_months: np.ndarray | None = None,
    afford_prob: np.ndarray | None = None,
    estimate_kappa: bool | None = None,
    kappa: float = DEFAULT_BEHAVIOUR["kappa"],
    confidence: float = 0.95,
    interval: str = "binomial",
) -> HazardCalibration:
    """Estimate base monthly hazards by tier (and kappa) from observed outcomes.

    Parameters
    ----------
    tier
        Tier label (A-E) of each row.
    defaults
        Default events in each row (0/1 for an account or account-month).
    exposure_months
        Months observed in each row (default 1: account-month rows).
    afford_prob
        Affordability probability ``a_t`` of each account-month row (optional).
    estimate_kappa
        Estimate kappa jointly (default: when ``afford_prob`` is given and some months
        are unaffordable); when False with ``afford_prob``, kappa is held at ``kappa``.
    kappa
        Value kappa is held at when it is not estimated.
    confidence
        Interval level.
    interval
        ``"binomial"`` (Clopper-Pearson) or ``"poisson"`` (Garwood) for the constant hazard.

    Returns
    -------
    HazardCalibration
    """
    codes = _tier_codes(np.asarray(tier))
    events = np.asarray(defaults, dtype=float)
    exposure = (
        np.ones_like(events)
        if exposure_months is None
        else np.asarray(exposure_months, dtype=float)
    )
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be in (0, 1), got {confidence}")
    if interval not in ("binomial", "poisson"):
        raise InputError(f"interval must be 'binomial' or 'poisson', got {interval!r}")
    if not (np.all(np.isfinite(events)) and np.all(np.isfinite(exposure))) or (
        np.any(events < 0) or np.any(exposure <= 0) or np.any(events > exposure)
    ):
        raise InputError("outcomes: need 0 <= defaults <= exposure_months and exposure_months > 0")
    if afford_prob is None:
        if estimate_kappa:
            raise InputError("kappa can only be estimated from account-month rows with afford_prob")
        # No affordability data: h0 = d / E is each tier's whole default rate, unaffordable
        # months included, and kappa cannot be fitted. Decision (session 20, after trying
        # kappa = 0): the base model's kappa is kept. With kappa = 0 the hazard no longer
        # depends on affordability, so no plan could lower a PD and every plan would be valued
        # on cash flow alone (a review measured custom's 12-month PD 38.7 % against 38.7 % for
        # the status quo on the sample account); keeping it over-predicts defaults in the
        # months a schedule leaves unaffordable, which the summary and the file say. A
        # payment history with --book fits both (calibrate_history).
        return _constant_hazard(codes, events, exposure, confidence, interval)
    afford = np.asarray(afford_prob, dtype=float)
    if np.any(exposure != 1) or np.any((events != 0) & (events != 1)):
        raise InputError(
            "afford_prob needs account-month rows (exposure_months = 1, defaults 0 or 1)"
        )
    if np.any(~np.isfinite(afford)) or np.any((afford < 0) | (afford > 1)):
        raise InputError("afford_prob must be in [0, 1]")
    unaffordable = 1.0 - afford
    if estimate_kappa is not True and not np.any(unaffordable > 0):
        # Every month affordable: the hazard is h0 whatever kappa, so use the exact estimator.
        return _constant_hazard(codes, events, exposure, confidence, interval)
    if estimate_kappa is None:
        estimate_kappa = bool(unaffordable.sum() >= 1.0)
    if estimate_kappa and unaffordable.sum() <= 0:
        raise InputError("kappa is not identifiable: every month is affordable (afford_prob = 1)")
    return _affordability_mle(codes, events, unaffordable, estimate_kappa, kappa, confidence)


def _constant_hazard(
    codes: np.ndarray,
    events: np.ndarray,
    exposure: np.ndarray,
    confidence: float,
    interval: str,
) -> HazardCalibration:
    """The exact estimator (no kappa: the base model's is kept, :func:`calibrate_hazards`)."""
    k = len(TIERS)
    d = np.bincount(codes, weights=events, minlength=k)
    e = np.bincount(codes, weights=exposure, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = np.where(e > 0, d / e, np.nan)
    if interval == "binomial":
        lower, upper = binomial_interval(d, e, confidence)
        method = "exact-binomial"
    else:
        lower, upper = poisson_rate_interval(d, e, confidence)
        method = "exact-poisson"
    tiers = tuple(
        TierHazard(
            TIERS[i], float(e[i]), int(round(d[i])), float(h[i]), float(lower[i]), float(upper[i])
        )
        for i in range(k)
    )
    return HazardCalibration(tiers, None, None, None, None, method, confidence, int(codes.size))


def calibrate_outcomes(outcomes: pd.DataFrame, **options: Any) -> HazardCalibration:
    """:func:`calibrate_hazards` on an outcome table (``exposure_months`` defaults to 1)."""
    return calibrate_hazards(
        outcomes["tier"].to_numpy(),
        outcomes["defaults"].to_numpy(),
        outcomes["exposure_months"].to_numpy() if "exposure_months" in outcomes.columns else None,
        outcomes["afford_prob"].to_numpy() if "afford_prob" in outcomes.columns else None,
        **options,
    )


def calibrate_outcome_frame(
    frame: pd.DataFrame,
    source: str,
    base: Mapping[str, Any] | None = None,
    *,
    estimate_kappa: bool | None = None,
    confidence: float = 0.95,
    interval: str = "binomial",
) -> HazardCalibration:
    """Calibrate an outcome table already read (:func:`validate_outcomes`; ``source`` names
    it in messages); a base behaviour model (:func:`read_behaviour_toml`) gives the kappa
    held when kappa is not estimated."""
    options: dict[str, Any] = {
        "estimate_kappa": estimate_kappa,
        "confidence": confidence,
        "interval": interval,
    }
    table = validate_outcomes(frame, source=source)
    kappa = base["kappa"] if base else None
    if kappa is not None:
        options["kappa"] = kappa
    return calibrate_outcomes(table, **options)
