"""Intervals of roll rates: per-cell Wilson and Goodman's simultaneous row intervals.

* :func:`wilson_interval` -- a Wilson score interval per cell (marginal coverage for each cell).
* :func:`goodman_intervals` -- Goodman's (1965) simultaneous intervals for the whole row: every
  cell of a row is covered at the same time with probability >= the confidence level
  (chi-square quantile with 1 degree of freedom at ``1 - alpha / k``, Bonferroni over
  the ``k`` cells).

Both take fractional counts (Kish's effective sample size of a balance-weighted row,
:mod:`solver.risk.rollrates`). Moved out of :mod:`solver.risk.rollrates` in s25 (size).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["goodman_intervals", "wilson_interval"]


def wilson_interval(
    successes: np.ndarray, trials: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for binomial proportions (vectorised; NaN where trials = 0).

    ``centre = (p + z²/2n) / (1 + z²/n)``, ``half = z/(1 + z²/n) · sqrt(p(1-p)/n + z²/4n²)``.
    ``trials`` may be fractional (an effective sample size).

    Not statsmodels' ``proportion_confint(method="wilson")``: it agrees to 3e-16 but, by its
    order of operations, differs in the last bit on 2-18 % of the bounds (measured), which
    the CSV and JSON outputs print in full, so the command outputs would change.
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = stats.norm.ppf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    lower = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    upper = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return _exact_ends(k, n, lower, upper)


def _exact_ends(
    k: np.ndarray, n: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The bounds with ``lower = 0`` where ``k = 0`` and ``upper = 1`` where ``k = n``.

    Both formulas give those ends only up to rounding (a lower bound of 1.7e-21 for a count
    of 0, an upper bound of 0.9999999999999999 for p = 1, review s24): an interval must
    contain its estimate, and these are the exact values of the closed forms.
    """
    k, n = np.broadcast_arrays(k, n)
    lower = np.where((k == 0) & (n > 0), 0.0, lower)
    upper = np.where((k == n) & (n > 0), 1.0, upper)
    return lower, upper


def goodman_intervals(
    counts: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Goodman's simultaneous intervals for each row of a multinomial count matrix.

    With ``A = chi2_1(1 - alpha/k)`` (``k`` cells per row) and row total ``N``:
    ``(A + 2n ± sqrt(A (A + 4 n (N - n) / N))) / (2 (N + A))``. Counts may be fractional.

    Not statsmodels' ``multinomial_proportions_confint(method="goodman")`` (one row per call):
    the same bounds to 2e-16, but differing in the last bit on about 10-15 % of them (see
    :func:`wilson_interval`).
    """
    c = np.atleast_2d(np.asarray(counts, dtype=float))
    k = c.shape[1]
    a = stats.chi2.ppf(1 - (1 - confidence) / k, df=1)
    total = c.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        root = np.sqrt(a * (a + 4 * c * (total - c) / total))
        lower = (a + 2 * c - root) / (2 * (total + a))
        upper = (a + 2 * c + root) / (2 * (total + a))
    empty = np.broadcast_to(total == 0, c.shape)
    return _exact_ends(
        c,
        np.broadcast_to(total, c.shape),
        np.where(empty, np.nan, np.clip(lower, 0.0, 1.0)),
        np.where(empty, np.nan, np.clip(upper, 0.0, 1.0)),
    )
