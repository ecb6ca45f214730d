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
  analytic gradient); ``κ`` can also be held fixed. ``κ`` is only identifiable when some
  months are unaffordable. Intervals are profile-likelihood intervals
  (:func:`_profile_intervals`), with an exact upper bound for a tier without defaults.

Decision (session 21): the affordability fit's intervals were Wald intervals from the
expected Fisher information; they under-covered (a simulation of 60 accounts per tier over
12 months: 74 % of h0 intervals held the true value at nominal 95 %, tier A 41 %) because
a tier's h0 rests on a few defaults and the MLE sits at or near the boundary 0, where the
likelihood is far from quadratic; a tier with no default got h0 = 1e-10 and [0, 3e-06].
Exact binomial/Poisson intervals (:mod:`solver.risk.exact_intervals`) do not fit this
estimator: each month has its own probability ``h0 + (1 - h0) κ (1 - a_t)``, so a tier's
default count is not binomial in h0, and κ is estimated from the same rows. Profile
likelihood inverts the likelihood this estimator maximises: the bound is where the
log-likelihood, maximised over κ and the other tiers, has dropped by ``chi2_1(level) / 2``
(same simulation: 95 %). One exact case is kept: with zero defaults in a tier no month had a
base-hazard event, and those events are Binomial(N, h0) whatever κ (a month defaults when a
base event, probability h0, or an affordability event, probability κ (1 - a_t), occurs), so
the tier's interval is Clopper-Pearson's [0, 1 - (α/2)^(1/N)] ≈ 3.7/N (the likelihood-ratio
bound would be 1.92/N). Point estimates are those of the fit, unchanged.

Decision (session 22, review: "prefer scipy to the hand-written Newton"): the profile's inner
minimisation (:func:`_profile_point`, over the nuisance parameters with one held) stays the
projected Newton method. The likelihood's Hessian is exact and cheap (diagonal in the tier
hazards plus a κ row), so Newton converges in a few steps, each warm-started from the last
profile point. scipy's optimisers that accept bounds (needed: a tier without defaults sits at
the hazard's floor, κ may sit at 0; ``trust-exact``/``Newton-CG`` take no bounds) found the
same profiles, but slower. CPU seconds of a whole :func:`calibrate_hazards` (fit, 2 bounds per
parameter), the inner step replaced, same-run alternated pairs: 196,073 rows (the
3000-per-tier round trip of tests/test_risk_calibration.py) Newton 4.0-4.3, L-BFGS-B 9.8-10.2,
TNC 13.2, SLSQP 21.0; 108,127 rows (the behaviour-model round trip) 1.9, L-BFGS-B 7.1, SLSQP
12.0; 27,794 rows (calibrate_history of generate 6000 x 12 months) 0.33, L-BFGS-B 4.4, SLSQP
1.7; books of 60 accounts per tier (~2,500 rows, the coverage test) 0.05-0.10, L-BFGS-B
0.7-3.0, SLSQP 0.3-0.4, trust-constr 8-14. Bounds and estimates agreed to 6e-11 relative (the
printed summaries identical) on 31 data sets, except trust-constr (interior point), which
moved a zero-default case's bound by 1.5e-6 relative. What was duplicated is now one
function: :meth:`_AffordabilityLikelihood.information` gives the observed information (the
Newton steps) and the expected one (the standard errors that place the profile brackets,
kept expected so the brackets, and so every bound, are bit for bit those of session 21).

This module holds the estimators and the outcome tables they read
(:func:`validate_outcomes`, :func:`simulate_defaults`). The result is a
:class:`~solver.risk.calibration_result.HazardCalibration`; the intervals are in
:mod:`solver.risk.exact_intervals`. The calibrated parameters are written as a
behaviour-model TOML in the agreed format (``cost_of_funds``, ``kappa``, ...,
``[base_hazard]``) by :mod:`solver.risk.behaviour_toml`, copying the other parameters
from a base model; the estimates and intervals go in the file's leading comments.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from solver.domain import TIERS
from solver.errors import InputError
from solver.risk._tables import RowProblems, TableSource, read_table, source_label
from solver.risk.behaviour_toml import (
    behaviour_toml_text,
    calibrated_params,
    read_behaviour_toml,
    write_behaviour_toml,
)
from solver.risk.calibration_result import (
    DEFAULT_BEHAVIOUR,
    HazardCalibration,
    TierHazard,
    describe_method,
)
from solver.risk.exact_intervals import binomial_interval, poisson_rate_interval

# The behaviour TOML's functions and describe_method are re-exported: solver.risk's and
# solver's public names and the risk commands (commands/risk_fit.py, risk_score.py,
# risk_output.py) import them from here.
__all__ = [
    "DEFAULT_BEHAVIOUR",
    "HazardCalibration",
    "TierHazard",
    "behaviour_toml_text",
    "binomial_interval",
    "calibrate_hazards",
    "calibrate_outcome_frame",
    "calibrate_outcomes",
    "calibrated_params",
    "describe_method",
    "poisson_rate_interval",
    "read_behaviour_toml",
    "read_outcomes",
    "simulate_defaults",
    "validate_outcomes",
    "write_behaviour_toml",
]

_EPS = 1e-10


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


@dataclass(frozen=True)
class _AffordabilityLikelihood:
    """Bernoulli likelihood of account-month rows under ``h_t = h0 + (1 - h0) κ u_t``.

    ``u_t = 1 - a_t`` (SPEC §4). The parameters ``theta`` are the hazards of the tiers with
    data (in their slots), then κ when it is estimated; otherwise κ is ``kappa_fixed``.

    Attributes
    ----------
    row_slot
        Each row's hazard slot (index into ``theta``).
    n_hazards
        Hazard parameters (tiers with data).
    events
        Default (1) or not (0) of each row.
    unaffordable
        ``u_t`` of each row.
    estimate_kappa
        Whether κ is the last parameter.
    kappa_fixed
        κ when it is not estimated.
    """

    row_slot: np.ndarray
    n_hazards: int
    events: np.ndarray
    unaffordable: np.ndarray
    estimate_kappa: bool
    kappa_fixed: float

    def probability(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Each row's default probability ``p`` (clipped into (0, 1)), hazard ``h0`` and κ."""
        h = theta[: self.n_hazards]
        kap = theta[-1] if self.estimate_kappa else self.kappa_fixed
        h_row = h[self.row_slot]
        p = h_row + (1 - h_row) * kap * self.unaffordable
        return np.clip(p, _EPS, 1 - _EPS), h_row, kap

    def neg_log_likelihood(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """The negative log-likelihood and its gradient."""
        p, h_row, kap = self.probability(theta)
        events, unaffordable = self.events, self.unaffordable
        nll = -np.sum(events * np.log(p) + (1 - events) * np.log1p(-p))
        dp = -(events / p - (1 - events) / (1 - p))
        grad_h = np.bincount(
            self.row_slot, weights=dp * (1 - kap * unaffordable), minlength=self.n_hazards
        )
        if self.estimate_kappa:
            return float(nll), np.append(grad_h, np.sum(dp * (1 - h_row) * unaffordable))
        return float(nll), grad_h

    def information(self, theta: np.ndarray, *, expected: bool = False) -> np.ndarray:
        """Information matrix at ``theta``: observed (default) or expected (Fisher).

        The observed information is the negative log-likelihood's Hessian (the Newton steps
        of :func:`_profile_point`). The expected one is its mean over the outcomes: the
        curvature ``-d²ℓ/dp²`` becomes ``1 / (p (1 - p))`` and the score term, of mean 0,
        drops out; it is positive semi-definite everywhere, and its pseudo-inverse gives the
        standard errors that place the profile intervals' first brackets.
        """
        p, h_row, kap = self.probability(theta)
        events, unaffordable = self.events, self.unaffordable
        if expected:
            curve = 1.0 / (p * (1 - p))
        else:
            curve = events / p**2 + (1 - events) / (1 - p) ** 2  # - d2 loglik / dp2
        g_h = 1 - kap * unaffordable  # dp / dh0
        n = self.n_hazards
        out = np.zeros((theta.size, theta.size))
        out[np.arange(n), np.arange(n)] = np.bincount(
            self.row_slot, weights=curve * g_h**2, minlength=n
        )
        if self.estimate_kappa:
            g_k = (1 - h_row) * unaffordable  # dp / dkappa
            cross = curve * g_h * g_k
            if not expected:
                # p is bilinear in (h0, kappa): d2p / dh0 dkappa = -u adds the score term
                cross = cross + (events / p - (1 - events) / (1 - p)) * unaffordable
            out[:-1, -1] = out[-1, :-1] = np.bincount(self.row_slot, weights=cross, minlength=n)
            out[-1, -1] = np.sum(curve * g_k**2)
        return out


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
    likelihood = _AffordabilityLikelihood(
        slot[codes], present.size, events, unaffordable, estimate_kappa, kappa_fixed
    )
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
        likelihood.neg_log_likelihood,
        theta0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9},
    )
    theta = fit.x
    covariance = np.linalg.pinv(likelihood.information(theta, expected=True))
    se = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    # Profile-likelihood intervals (the module docstring says why not Wald); the standard
    # errors only seed the bracket of each root.
    lower, upper = _profile_intervals(
        likelihood.neg_log_likelihood,
        likelihood.information,
        theta,
        float(fit.fun),
        bounds,
        se,
        confidence,
    )
    # A tier without defaults: every one of its months had no base-hazard event, and those
    # events are Binomial(months, h0) whatever kappa, so its exact bound holds.
    for j, tier_code in enumerate(present):
        if d[tier_code] == 0:
            lower[j] = 0.0
            upper[j] = float(binomial_interval(0.0, exposure[tier_code], confidence)[1])
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
        "mle-profile",
        confidence,
        int(codes.size),
        bool(fit.success),
    )


def _profile_point(
    neg_log_likelihood: Callable[[np.ndarray], tuple[float, np.ndarray]],
    information: Callable[[np.ndarray], np.ndarray],
    point: np.ndarray,
    others: np.ndarray,
    bounds: list[tuple[float, float]],
) -> tuple[float, np.ndarray]:
    """Minimise the negative log-likelihood over the parameters ``others`` from ``point``.

    Projected Newton steps (``information``: the observed information, the Hessian), halved until the value
    falls; a parameter at a bound its gradient pushes against stays there. Returns the
    minimum and the parameters reaching it.
    """
    low = np.array([bounds[k][0] for k in others])
    high = np.array([bounds[k][1] for k in others])
    point = point.copy()
    current, grad = neg_log_likelihood(point)
    for _ in range(100):
        g = grad[others]
        held = ((point[others] <= low) & (g > 0)) | ((point[others] >= high) & (g < 0))
        free = others[~held]
        if free.size == 0:
            break
        block = information(point)[np.ix_(free, free)]
        try:
            step = -np.linalg.solve(block, grad[free])
        except np.linalg.LinAlgError:
            step = -grad[free] / np.maximum(np.abs(np.diag(block)), 1e-12)
        if not np.all(np.isfinite(step)) or grad[free] @ step >= 0:  # not a descent direction
            step = -grad[free] / np.maximum(np.abs(np.diag(block)), 1e-12)
        # stop when the predicted fall is below rounding (a step then cannot lower it)
        if -(grad[free] @ step) < 1e-13 * max(1.0, abs(current)):
            break
        for _ in range(40):
            trial = point.copy()
            trial[free] = np.clip(point[free] + step, low[~held], high[~held])
            value, trial_grad = neg_log_likelihood(trial)
            if value <= current:
                break
            step = step / 2
        else:
            break
        fall = current - value
        point, current, grad = trial, value, trial_grad
        if fall < 1e-13 * max(1.0, abs(current)):
            break
    return current, point


def _profile_intervals(
    neg_log_likelihood: Callable[[np.ndarray], tuple[float, np.ndarray]],
    information: Callable[[np.ndarray], np.ndarray],
    theta: np.ndarray,
    minimum: float,
    bounds: list[tuple[float, float]],
    se: np.ndarray,
    confidence: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Profile-likelihood interval of every parameter of a fitted negative log-likelihood.

    Parameter ``i``'s bounds are where the signed root ``sqrt(2 (nll_i(v) - minimum))`` of
    the profile ``nll_i(v)`` (the minimum over the other parameters with ``theta_i = v``,
    :func:`_profile_point`) reaches the normal quantile of ``confidence``, i.e. the
    log-likelihood has dropped by ``chi2_1(confidence) / 2``; a bound not reached inside
    ``bounds`` is the end of the parameter's range (0 for a hazard's ``_EPS``). ``se`` (Wald
    standard errors) only place the first bracket. The signed root is nearly linear in ``v``,
    so Brent's method needs few profile evaluations, each started from the previous one's
    nuisance values.
    """
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    lower = np.empty(theta.size)
    upper = np.empty(theta.size)
    for i in range(theta.size):
        others = np.flatnonzero(np.arange(theta.size) != i)
        warm = [theta.copy()]

        def drop(value: float, i: int = i, others: np.ndarray = others, warm: list = warm) -> float:
            """Signed root of the profile's rise at ``theta_i = value``, less ``z``."""
            start = warm[0].copy()
            start[i] = value
            nll, warm[0] = _profile_point(neg_log_likelihood, information, start, others, bounds)
            return math.sqrt(2 * max(nll - minimum, 0.0)) - z

        lo, hi = bounds[i]
        step = se[i] if se[i] > 0 else max(abs(theta[i]), 1e-6)
        for side, end in ((-1, lo), (1, hi)):
            warm[0] = theta.copy()
            inner, outer = theta[i], theta[i] + side * z * step
            while (outer - end) * side < 0 and drop(outer) < 0:
                inner, outer = outer, theta[i] + 2 * (outer - theta[i])
            if (outer - end) * side >= 0:
                outer = end
                if drop(end) < 0:  # the likelihood never drops enough: the range's end
                    bound = 0.0 if side < 0 and end == _EPS else end
                    (lower if side < 0 else upper)[i] = bound
                    continue
            root = optimize.brentq(
                drop, min(inner, outer), max(inner, outer), xtol=1e-14, rtol=1e-11
            )
            (lower if side < 0 else upper)[i] = root
    return lower, upper


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
