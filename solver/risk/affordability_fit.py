"""The affordability estimator of :func:`~solver.risk.calibration.calibrate_hazards`.

Account-month rows with an ``afford_prob`` column ``a_t`` (SPEC §4): each month defaults
with ``h_t = h0 + (1 - h0) κ (1 - a_t)``. The tier hazards ``h0`` and ``κ`` are fitted
jointly by maximum likelihood (:func:`_affordability_mle`: L-BFGS-B on
:class:`_AffordabilityLikelihood`, analytic gradient); ``κ`` can also be held fixed.
Intervals are profile-likelihood intervals (:func:`_profile_intervals`, whose inner
minimisation is :func:`_profile_point`), with an exact upper bound for a tier without
defaults.

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
same profiles, but slower. CPU seconds of a whole
:func:`~solver.risk.calibration.calibrate_hazards` (fit, 2 bounds per parameter), the
inner step replaced, same-run alternated pairs: 196,073 rows (the
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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from solver.domain import TIERS
from solver.risk.calibration_result import HazardCalibration, TierHazard
from solver.risk.exact_intervals import binomial_interval

_EPS = 1e-10


def _default_probability(h0: Any, kappa: Any, unaffordable: Any) -> Any:
    """A month's default probability ``h0 + (1 - h0) κ u`` (SPEC §4's hazard in ``u = 1 - a``,
    as the likelihood differentiates it), clipped into (0, 1): the one expression of the
    tier fit and the pooled fit (:meth:`_AffordabilityLikelihood.probability`,
    :meth:`~_AffordabilityLikelihood.pooled_hazard`). The model's own is
    :func:`solver.core.model_kernel.hazard_curve`, written in ``a``; the fit keeps ``u`` so
    that its derivatives below read as the formula."""
    return np.clip(h0 + (1 - h0) * kappa * unaffordable, _EPS, 1 - _EPS)


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
        return _default_probability(h_row, kap, self.unaffordable), h_row, kap

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

    def pooled_hazard(self, slots: list[int], kappa: float) -> float:
        """The maximum-likelihood ``h0`` shared by the tiers in ``slots`` with κ held at
        ``kappa``: the root in ``h0`` of the score of their rows (decreasing: the
        log-likelihood is concave in ``h0``), or the end of ``h0``'s range it is pushed to."""
        rows = np.isin(self.row_slot, slots)
        events, unaffordable = self.events[rows], self.unaffordable[rows]
        g_h = 1 - kappa * unaffordable  # dp / dh0

        def score(h0: float) -> float:
            p = _default_probability(h0, kappa, unaffordable)
            return float(np.sum((events / p - (1 - events) / (1 - p)) * g_h))

        low, high = _EPS, 1 - 1e-6  # the fit's bounds on a tier hazard
        if score(low) <= 0:
            return low
        if score(high) >= 0:
            return high
        return float(optimize.brentq(score, low, high, xtol=1e-16, rtol=1e-14))


def _pooled_hazards(likelihood: _AffordabilityLikelihood, theta: np.ndarray) -> np.ndarray:
    """The fitted tier hazards (in slot order, A to E) made non-decreasing by maximum
    likelihood with κ held at its fit: adjacent violators pooled, each pool's ``h0`` the one
    that maximises the likelihood of the pool's rows (:meth:`pooled_hazard`).

    Decision (s25): the pooled ``h0`` was the exposure-weighted (months at risk) mean of the
    pooled tiers' estimates. That is the maximum-likelihood pooled hazard of the constant
    hazard (``Σd / ΣE``) but not of this model: a month's information about ``h0`` is
    ``(1 - κ u_t)² / (p_t (1 - p_t))``, so a tier whose months are mostly unaffordable says
    less about ``h0`` than its months count. On a book where tier A's months were 60 %
    unaffordable and B's 5 % (3,000 months each, κ 0.31), A 0.0099 and B 0.0050 pooled to
    0.0075 by months against the likelihood's 0.0066. Given κ the log-likelihood is a sum of
    concave terms, one per tier, so pooling adjacent violators with each pool at its own
    maximum is the maximum-likelihood ordered fit (PAVA for separable concave objectives);
    with κ = 0 it is ``Σd / ΣE``, the constant hazard's. κ stays the unconstrained fit's
    (the value reported with its interval is the one written); refitting κ with the tiers
    tied would change a number the output reports for a pooling it only notes.
    """
    kappa = float(theta[-1]) if likelihood.estimate_kappa else likelihood.kappa_fixed
    pools: list[list[int]] = []  # slots of each pool, in order
    values: list[float] = []
    for slot, h0 in enumerate(theta[: likelihood.n_hazards]):
        pools.append([slot])
        values.append(float(h0))
        while len(values) > 1 and values[-2] > values[-1]:
            merged = pools[-2] + pools[-1]
            pools[-2:] = [merged]
            values[-2:] = [likelihood.pooled_hazard(merged, kappa)]
    out = np.empty(likelihood.n_hazards)
    for pool, value in zip(pools, values, strict=True):
        out[pool] = value
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
    pooled = _pooled_hazards(likelihood, theta)
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
        tuple((TIERS[i], float(pooled[slot[i]])) for i in present),
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
