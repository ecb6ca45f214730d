"""The annual percentage rate of a payment stream by the actuarial method
(Regulation Z Appendix J, regular monthly periods): :func:`apr` and :func:`apr_batch`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["apr", "apr_batch"]


def apr_batch(
    amounts: ArrayLike, payments: ArrayLike, periods_per_year: float = 12
) -> NDArray[np.float64]:
    """APR of many payment streams at once (see :func:`apr`).

    Parameters
    ----------
    amounts
        Amount financed per row, shape ``(n,)``, each > 0.
    payments
        Payments at unit-periods ``1..T``, shape ``(n, T)``, each ≥ 0 with at
        least one positive per row (pad shorter streams with zeros).
    periods_per_year
        Unit-periods per year (12 for monthly).

    Returns
    -------
    numpy.ndarray
        Nominal annual rates as decimals, shape ``(n,)``.

    Notes
    -----
    With non-negative payments ``f(i) = Σ p_t (1+i)^-t - A`` is strictly
    decreasing and convex on ``(-1, ∞)``, so the root is unique.  Newton's
    method is run on all rows together, safeguarded by a bracket
    ``lo < i < hi`` kept from the signs of ``f`` (bisection whenever a step
    leaves it); it stops when every row has converged to 1e-15.
    """
    amount = np.atleast_1d(np.asarray(amounts, dtype=float))
    pay = np.atleast_2d(np.asarray(payments, dtype=float))
    if pay.shape[0] != amount.shape[0]:
        raise ValueError(
            f"payments must have one row per amount ({amount.shape[0]}), got {pay.shape[0]}"
        )
    if not (np.all(np.isfinite(amount)) and np.all(np.isfinite(pay))):
        raise ValueError("amounts and payments must be finite")
    if np.any(amount <= 0):
        raise ValueError(f"amount must be positive, got {amount.min()}")
    if np.any(pay < 0):
        raise ValueError(f"payments must be at least 0, got {pay.min()}")
    if not periods_per_year > 0:
        raise ValueError(f"periods_per_year must be positive, got {periods_per_year}")
    if np.any(pay.max(axis=1) <= 0):
        raise ValueError("payments must include a positive amount; a zero stream has no APR")

    t = np.arange(1, pay.shape[1] + 1, dtype=float)
    total = pay.sum(axis=1)
    ratio = total / amount
    even = np.isclose(total, amount, rtol=1e-12, atol=1e-9)
    # Start from the rate of one bullet payment at the payment-weighted mean time.
    mean_time = (pay * t).sum(axis=1) / total
    rate = np.expm1(np.log(ratio) / mean_time)
    lo = np.full_like(amount, -1.0)
    hi = np.full_like(amount, np.inf)
    done = even.copy()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(200):
            if done.all():
                break
            discount = np.exp(-np.outer(np.log1p(rate), t))  # (1+i)^-t
            pv = pay * discount
            f = pv.sum(axis=1) - amount
            slope = -(pv * t).sum(axis=1) / (1.0 + rate)
            lo = np.where(f > 0, rate, lo)
            hi = np.where(f < 0, rate, hi)
            step = f / slope
            candidate = rate - step
            bad = ~np.isfinite(candidate) | (candidate <= lo) | (candidate >= hi)
            midpoint = np.where(np.isfinite(hi), 0.5 * (lo + hi), 2.0 * rate + 1.0)
            candidate = np.where(bad, midpoint, candidate)
            converged = (f == 0) | (np.abs(candidate - rate) <= 1e-15 * (1.0 + np.abs(rate)))
            converged |= np.isfinite(hi) & (hi - lo <= 1e-15 * (1.0 + np.abs(rate)))
            rate = np.where(done, rate, candidate)
            done |= converged
        else:  # pragma: no cover - Newton with bisection converges long before
            raise ValueError("APR iteration did not converge")
    rate = np.where(even, 0.0, rate)
    return rate * periods_per_year


def apr(amount: float, payments: ArrayLike, periods_per_year: float = 12) -> float:
    """Annual percentage rate by the actuarial method (Regulation Z Appendix J).

    Returns ``periods_per_year * i`` where ``i`` solves
    ``amount = Σ_t payments[t-1] / (1 + i)**t`` with payments at unit-periods
    ``t = 1..T`` (the first one period after the advance; zero payments stand
    for skipped periods such as deferral months).  This is also the figure
    China's 明示年化利率 rule asks lenders to disclose.  The result is 0.0 when
    the payments add up to the amount, and negative when they add up to less
    (a concession below zero interest).

    Parameters
    ----------
    amount
        Amount financed (> 0).
    payments
        Payment per unit-period, each ≥ 0, at least one positive.
    periods_per_year
        Unit-periods per year: 12 for monthly payments.

    Examples
    --------
    Regulation Z Appendix J (c)(1)(i): $5,000 repaid by 24 monthly payments
    of $230 has an APR of 9.69 %.

    >>> round(100 * apr(5000, [230] * 24), 2)
    9.69
    >>> apr(1200, [100] * 12)
    0.0
    """
    pay = np.asarray(payments, dtype=float).ravel()
    if pay.size == 0:
        raise ValueError("payments must hold at least one period")
    if not (math.isfinite(amount) and np.all(np.isfinite(pay))):
        raise ValueError("amount and payments must be finite")
    if amount <= 0:
        raise ValueError(f"amount must be positive, got {amount}")
    if pay.min() < 0:
        raise ValueError(f"payments must be at least 0, got {pay.min()}")
    if not periods_per_year > 0:
        raise ValueError(f"periods_per_year must be positive, got {periods_per_year}")
    total = float(pay.sum())
    if total <= 0:
        raise ValueError("payments must include a positive amount; a zero stream has no APR")
    if math.isclose(total, amount, rel_tol=1e-12, abs_tol=1e-9):
        return 0.0
    # Same safeguarded Newton iteration as apr_batch, for one stream (faster).
    t = np.arange(1, pay.size + 1, dtype=float)
    rate = math.expm1(math.log(total / amount) / (float(pay @ t) / total))
    lo, hi = -1.0, math.inf
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(200):
            pv = pay * np.exp(-t * math.log1p(rate))
            f = float(pv.sum()) - amount
            if f == 0:
                break
            if f > 0:
                lo = rate
            else:
                hi = rate
            candidate = rate + f * (1.0 + rate) / float(pv @ t)
            if not (math.isfinite(candidate) and lo < candidate < hi):
                candidate = 0.5 * (lo + hi) if math.isfinite(hi) else 2.0 * rate + 1.0
            tolerance = 1e-15 * (1.0 + abs(rate))
            if abs(candidate - rate) <= tolerance or hi - lo <= tolerance:
                rate = candidate
                break
            rate = candidate
        else:  # pragma: no cover - Newton with bisection converges long before
            raise ValueError("APR iteration did not converge")
    return rate * periods_per_year
