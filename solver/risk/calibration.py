"""Calibration of the behaviour model's base monthly hazard by tier (and kappa) from outcomes.

Outcome data are rows with a ``tier`` (A-E), the ``exposure_months`` observed (1 for
account-month rows) and the number of ``defaults`` in them (0/1 per account). Two
estimators:

* **Constant hazard** (no affordability data). Each exposure month is a Bernoulli trial
  with the tier's hazard ``h``; the likelihood is ``h^d (1 - h)^(E - d)`` whatever the
  stopping rule, so the MLE is ``h = d / E`` (defaults over exposure-months). Intervals
  are exact: Clopper-Pearson for the binomial (default) or Garwood's for a Poisson rate
  (``interval="poisson"``, also valid for fractional exposure).
* **Hazard with affordability** (account-month rows with an ``afford_prob`` column
  ``a_t``, SPEC §4). Each month defaults with ``h_t = h0 + (1 - h0) κ (1 - a_t)``. The
  tier hazards ``h0`` and ``κ`` are fitted jointly by maximum likelihood (L-BFGS-B,
  analytic gradient) with Wald intervals from the expected Fisher information; ``κ`` can
  also be held fixed. ``κ`` is only identifiable when some months are unaffordable.

The calibrated parameters are written as a behaviour-model TOML in the agreed format
(``cost_of_funds``, ``kappa``, ..., ``[base_hazard]``), copying the other parameters
from a base model; the estimates and intervals go in the file's leading comments.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w
from scipy import optimize, stats

from solver.core.atomic import atomic_open
from solver.core.files import read_toml
from solver.core.model import BehaviourModel
from solver.domain import TIERS
from solver.errors import InputError
from solver.risk._tables import (
    RowProblems,
    TableSource,
    problems_error,
    read_table,
    shown,
    source_label,
)

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
_EPS = 1e-10


def binomial_interval(
    successes: np.ndarray | float, trials: np.ndarray | float, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) interval for a binomial proportion, vectorised.

    ``lower = Beta(alpha/2; k, n - k + 1)``, ``upper = Beta(1 - alpha/2; k + 1, n - k)``,
    with ``lower = 0`` when ``k = 0`` and ``upper = 1`` when ``k = n``.

    Not statsmodels' ``proportion_confint(method="beta")``: it takes the upper bound as
    ``beta.isf(alpha/2, ...)``, which differs in the last bit from this ``beta.ppf(1 - alpha/2,
    ...)`` at some levels (15 % of the upper bounds at 90 %), and ``workout risk calibrate
    --confidence`` prints them in full.
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    alpha = 1 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        upper = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    empty = n <= 0
    return np.where(empty, np.nan, lower), np.where(empty, np.nan, upper)


def poisson_rate_interval(
    events: np.ndarray | float, exposure: np.ndarray | float, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a Poisson rate ``events / exposure``, vectorised.

    ``lower = chi2(alpha/2; 2k) / 2E`` (0 when ``k = 0``), ``upper = chi2(1 - alpha/2; 2k + 2) / 2E``.
    """
    k = np.asarray(events, dtype=float)
    e = np.asarray(exposure, dtype=float)
    alpha = 1 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(k > 0, stats.chi2.ppf(alpha / 2, 2 * k) / (2 * e), 0.0)
        upper = stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / (2 * e)
    empty = e <= 0
    return np.where(empty, np.nan, lower), np.where(empty, np.nan, upper)


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
        The value kappa was held at when affordability was used but kappa not estimated.
    method
        ``"exact-binomial"``, ``"exact-poisson"`` or ``"mle-wald"``.
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

    def base_hazard(self, fallback: Mapping[str, float] | None = None) -> dict[str, float]:
        """Hazard per tier; tiers without exposure take ``fallback`` (default model values)."""
        base = dict(fallback if fallback is not None else DEFAULT_BEHAVIOUR["base_hazard"])
        return {t.tier: (t.hazard if t.estimated else float(base[t.tier])) for t in self.tiers}

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
                    f"{t.defaults} defaults in {t.exposure_months:,.0f} exposure-months"
                )
            else:
                lines.append(f"tier {t.tier}: no exposure, base value kept")
        if self.kappa is not None:
            lines.append(
                f"kappa = {self.kappa:.6g} [{self.kappa_lower:.6g}, {self.kappa_upper:.6g}]"
            )
        elif self.kappa_fixed is not None:
            lines.append(f"kappa held at {self.kappa_fixed:g}")
        else:
            lines.append("kappa: not estimated (no affordability data); kept from the base model")
        return "\n".join(lines)


def describe_method(method: str) -> str:
    """One-sentence description of a calibration method."""
    return {
        "exact-binomial": "constant monthly hazard per tier, MLE defaults / exposure-months, "
        "exact binomial (Clopper-Pearson) intervals",
        "exact-poisson": "constant monthly hazard per tier, MLE defaults / exposure-months, "
        "exact Poisson (Garwood) intervals",
        "mle-wald": "h_t = h0 + (1 - h0) kappa (1 - a_t) fitted by maximum likelihood, "
        "Wald intervals from the expected Fisher information",
    }[method]


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
    if np.any(events < 0) or np.any(exposure <= 0) or np.any(events > exposure):
        raise InputError("outcomes: need 0 <= defaults <= exposure_months and exposure_months > 0")
    if afford_prob is None:
        if estimate_kappa:
            raise InputError("kappa can only be estimated from account-month rows with afford_prob")
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
    codes: np.ndarray, events: np.ndarray, exposure: np.ndarray, confidence: float, interval: str
) -> HazardCalibration:
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


def _affordability_mle(
    codes: np.ndarray,
    events: np.ndarray,
    unaffordable: np.ndarray,
    estimate_kappa: bool,
    kappa_fixed: float,
    confidence: float,
) -> HazardCalibration:
    k = len(TIERS)
    exposure = np.bincount(codes, minlength=k).astype(float)
    d = np.bincount(codes, weights=events, minlength=k)
    present = np.flatnonzero(exposure > 0)
    # Parameters: hazards of the tiers with data, then kappa (if estimated).
    slot = np.full(k, -1)
    slot[present] = np.arange(present.size)
    row_slot = slot[codes]

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, float]:
        return theta[: present.size], (theta[-1] if estimate_kappa else kappa_fixed)

    def probability(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        h, kap = unpack(theta)
        h_row = h[row_slot]
        return h_row + (1 - h_row) * kap * unaffordable, h_row, kap

    def neg_log_likelihood(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p, h_row, kap = probability(theta)
        p = np.clip(p, _EPS, 1 - _EPS)
        nll = -np.sum(events * np.log(p) + (1 - events) * np.log1p(-p))
        dp = -(events / p - (1 - events) / (1 - p))
        grad_h = np.bincount(
            row_slot, weights=dp * (1 - kap * unaffordable), minlength=present.size
        )
        if estimate_kappa:
            grad = np.append(grad_h, np.sum(dp * (1 - h_row) * unaffordable))
        else:
            grad = grad_h
        return float(nll), grad

    # Start: hazard from the mostly affordable months of each tier; kappa from the rest.
    affordable = unaffordable < 0.5
    start_h = np.empty(present.size)
    for j, tier_code in enumerate(present):
        in_tier = codes == tier_code
        base = in_tier & affordable if np.any(in_tier & affordable) else in_tier
        start_h[j] = np.clip(events[base].mean(), 1e-4, 0.5)
    theta0 = np.append(start_h, 0.1) if estimate_kappa else start_h
    bounds = [(_EPS, 1 - 1e-6)] * present.size + ([(0.0, 1.0)] if estimate_kappa else [])
    fit = optimize.minimize(
        neg_log_likelihood,
        theta0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9},
    )
    theta = fit.x
    # Expected Fisher information: sum over rows of g g^T / (p (1 - p)), g = dp/dtheta.
    p, h_row, kap = probability(theta)
    p = np.clip(p, _EPS, 1 - _EPS)
    weight = 1.0 / (p * (1 - p))
    g_h = 1 - kap * unaffordable
    n_par = theta.size
    info = np.zeros((n_par, n_par))
    info[np.arange(present.size), np.arange(present.size)] = np.bincount(
        row_slot, weights=weight * g_h**2, minlength=present.size
    )
    if estimate_kappa:
        g_k = (1 - h_row) * unaffordable
        cross = np.bincount(row_slot, weights=weight * g_h * g_k, minlength=present.size)
        info[:-1, -1] = info[-1, :-1] = cross
        info[-1, -1] = np.sum(weight * g_k**2)
    covariance = np.linalg.pinv(info)
    se = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    z = stats.norm.ppf(0.5 + confidence / 2)
    lower = np.clip(theta - z * se, 0.0, 1.0)
    upper = np.clip(theta + z * se, 0.0, 1.0)
    tiers = []
    for i, name in enumerate(TIERS):
        j = slot[i]
        if j < 0:
            tiers.append(TierHazard(name, 0.0, 0, math.nan, math.nan, math.nan))
        else:
            tiers.append(
                TierHazard(
                    name,
                    float(exposure[i]),
                    int(round(d[i])),
                    float(theta[j]),
                    float(lower[j]),
                    float(upper[j]),
                )
            )
    kappa_est: float | None = None
    kappa_lo: float | None = None
    kappa_hi: float | None = None
    fixed: float | None = None
    if estimate_kappa:
        kappa_est, kappa_lo, kappa_hi = float(theta[-1]), float(lower[-1]), float(upper[-1])
    else:
        fixed = float(kappa_fixed)
    return HazardCalibration(
        tuple(tiers),
        kappa_est,
        kappa_lo,
        kappa_hi,
        fixed,
        "mle-wald",
        confidence,
        int(codes.size),
        bool(fit.success),
    )


def validate_outcomes(frame: pd.DataFrame, source: str = "<outcomes>") -> pd.DataFrame:
    """Check an outcome table: ``tier``, ``defaults``, optional ``exposure_months``, ``afford_prob``.

    Raises
    ------
    InputError
        Listing every problem with its row and account id (if an ``account_id`` column exists).
    """
    df = frame.copy()
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in ("tier", "defaults") if c not in df.columns]
    if missing:
        raise InputError(
            f"{source}: missing required columns: {', '.join(missing)} (an outcome table has "
            "tier, defaults and optionally exposure_months, afford_prob)"
        )
    if "exposure_months" not in df.columns:
        df["exposure_months"] = 1
    ids = df["account_id"].astype(str) if "account_id" in df.columns else pd.Series(["-"] * len(df))
    problems = RowProblems(source, df, ids)
    report = problems.report
    tier = df["tier"].astype(str).str.strip()
    report(~tier.isin(TIERS).to_numpy(), "tier", f"must be one of {', '.join(TIERS)}")
    defaults = pd.to_numeric(df["defaults"], errors="coerce").to_numpy(dtype=float)
    exposure = pd.to_numeric(df["exposure_months"], errors="coerce").to_numpy(dtype=float)
    report(
        ~np.isfinite(defaults) | (defaults < 0) | (defaults != np.round(defaults)),
        "defaults",
        "must be a whole number >= 0",
    )
    report(~np.isfinite(exposure) | (exposure <= 0), "exposure_months", "must be a number > 0")
    report(
        np.isfinite(defaults) & np.isfinite(exposure) & (defaults > exposure),
        "defaults",
        "more defaults than exposure months",
    )
    if "afford_prob" in df.columns:
        afford = pd.to_numeric(df["afford_prob"], errors="coerce").to_numpy(dtype=float)
        report(
            ~np.isfinite(afford) | (afford < 0) | (afford > 1), "afford_prob", "must be in [0, 1]"
        )
        report(
            np.isfinite(exposure) & (exposure != 1),
            "exposure_months",
            "must be 1 on account-month rows with afford_prob",
        )
        df["afford_prob"] = afford
    problems.raise_any()
    df["tier"] = tier
    df["defaults"] = defaults
    df["exposure_months"] = exposure
    return df


def read_outcomes(path: TableSource) -> pd.DataFrame:
    """Read and validate an outcome table (CSV, Parquet or Excel)."""
    return validate_outcomes(read_table(path), source=source_label(path))


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


def simulate_defaults(
    tier: np.ndarray,
    base_hazard: Mapping[str, float],
    months: int,
    afford_prob: np.ndarray | None = None,
    kappa: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulate monthly defaults under the behaviour model's hazard (SPEC §4).

    Account ``i`` in month ``t`` defaults with probability
    ``h = h0[tier_i] + (1 - h0) * kappa * (1 - afford_prob[i, t])`` given it has not
    defaulted before; observation stops at the default or after ``months``.

    Returns
    -------
    DataFrame
        Account-month rows ``account_id, tier, month, [afford_prob,] exposure_months,
        defaults`` (an outcome table for :func:`calibrate_outcomes`); ``afford_prob`` only
        when it was given.
    """
    tiers = np.asarray(tier).astype(str)
    n = tiers.size
    h0 = np.array([base_hazard[t] for t in tiers], dtype=float)[:, None]
    afford = np.ones((n, months)) if afford_prob is None else np.asarray(afford_prob, dtype=float)
    if afford.shape != (n, months):
        raise ValueError(f"afford_prob must have shape {(n, months)}, got {afford.shape}")
    hazard = h0 + (1 - h0) * kappa * (1 - afford)
    rng = np.random.default_rng(seed)
    event = rng.random((n, months)) < hazard
    first = np.where(event.any(axis=1), event.argmax(axis=1), months)
    month = np.arange(months)[None, :]
    observed = month <= first[:, None]
    rows, cols = np.nonzero(observed)
    frame = pd.DataFrame(
        {"account_id": np.char.add("S", rows.astype(str)), "tier": tiers[rows], "month": cols + 1}
    )
    if afford_prob is not None:
        frame["afford_prob"] = afford[rows, cols]
    frame["exposure_months"] = 1
    frame["defaults"] = (cols == first[rows]).astype(np.int64)
    return frame


def read_behaviour_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a behaviour-model TOML into a dict with every agreed key (defaults filled in)."""
    source = Path(path)
    data = read_toml(source, "behaviour-model")
    unknown = sorted(set(data) - set(DEFAULT_BEHAVIOUR))
    if unknown:
        raise InputError(f"{source}: unknown behaviour-model keys: {', '.join(unknown)}")
    problems = [
        f"{source}: {key}: must be a number, got {shown(value)}"
        for key, value in data.items()
        if key != "base_hazard" and (isinstance(value, bool) or not isinstance(value, int | float))
    ]
    hazards = data.get("base_hazard", {})
    if not isinstance(hazards, dict):
        problems.append(f"{source}: base_hazard: must be a table of tier = hazard")
        hazards = {}
    problems += [
        f"{source}: base_hazard.{tier}: must be a number, got {shown(value)}"
        for tier, value in hazards.items()
        if isinstance(value, bool) or not isinstance(value, int | float)
    ]
    if problems:
        raise problems_error(str(source), problems)
    merged = {key: data.get(key, value) for key, value in DEFAULT_BEHAVIOUR.items()}
    merged["base_hazard"] = {**DEFAULT_BEHAVIOUR["base_hazard"], **hazards}
    BehaviourModel.from_dict(merged, source=str(source))  # ranges and tiers (InputError)
    return merged


def calibrated_params(
    calibration: HazardCalibration, base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The behaviour-model parameters a calibration writes: ``base`` (default: the agreed
    defaults) with the calibrated ``base_hazard`` (and ``kappa`` if estimated)."""
    params = {key: value for key, value in (base or DEFAULT_BEHAVIOUR).items()}
    params["base_hazard"] = calibration.base_hazard(params["base_hazard"])
    if calibration.kappa is not None:
        params["kappa"] = calibration.kappa
    return {key: params[key] for key in DEFAULT_BEHAVIOUR}


def behaviour_toml_text(
    calibration: HazardCalibration, base: Mapping[str, Any] | None = None, source: str = "outcomes"
) -> str:
    """The behaviour-model TOML with calibrated ``base_hazard`` (and ``kappa`` if estimated).

    Other parameters are copied from ``base`` (default: the agreed defaults). The leading
    comments record the data, the method, and each estimate with its interval.
    """
    ordered = calibrated_params(calibration, base)
    header = [
        f"# Behaviour model calibrated by workout risk from {source}",
        f"# {calibration.confidence:.0%} intervals; " + describe_method(calibration.method),
        *(f"# {line}" for line in calibration.summary().splitlines()[1:]),
    ]
    return "\n".join(header) + "\n" + tomli_w.dumps(ordered)


def write_behaviour_toml(
    path: str | os.PathLike[str],
    calibration: HazardCalibration,
    base: Mapping[str, Any] | None = None,
    source: str = "outcomes",
) -> Path:
    """Write :func:`behaviour_toml_text` to ``path`` atomically and return the path."""
    text = behaviour_toml_text(calibration, base, source)
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(path)
