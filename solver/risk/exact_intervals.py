"""Exact intervals for a binomial proportion and a Poisson rate.

Clopper-Pearson for defaults over account-months (:func:`binomial_interval`) and Garwood
for defaults over exposure (:func:`poisson_rate_interval`, also valid for fractional
exposure), vectorised over tiers or bins. Hand-written rather than statsmodels' so that
every printed digit is reproducible (the reason is in :func:`binomial_interval`); the
calibration of hazards and the early-warning calibration table use them.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["binomial_interval", "poisson_rate_interval"]


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
