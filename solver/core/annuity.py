"""Closed-form annuity maths in floats, vectorised: the level payment (等额本息) that
amortises a balance, and the balance left after level payments.

These are the cross-account hot paths of the plan search and the simulation (numpy
ufuncs that broadcast); the cent-exact schedules shown to anyone are built by
:mod:`solver.core.amortisation`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["level_payment", "remaining_balance"]


def level_payment(balance: ArrayLike, annual_rate: ArrayLike, n_months: ArrayLike) -> Any:
    """Level monthly payment (等额本息) that amortises ``balance`` in ``n_months``.

    ``payment = balance * i / (1 - (1 + i)**-n)`` with ``i = annual_rate / 12``,
    and ``balance / n`` when the rate is 0.  Arguments broadcast like numpy
    ufuncs; the result is unrounded.

    Parameters
    ----------
    balance
        Amount to amortise (any currency unit; the result is in the same unit).
    annual_rate
        Nominal annual rate as a decimal (0.12 for 12 %), at least 0.
    n_months
        Number of monthly payments, at least 1.

    Returns
    -------
    float or numpy.ndarray
        A float when every argument is a scalar, else an array.

    Examples
    --------
    >>> round(level_payment(10_000, 0.12, 12), 4)
    888.4879
    >>> level_payment(1200, 0.0, 12)
    100.0
    >>> level_payment([1000, 2000], 0.06, 24).round(2)
    array([44.32, 88.64])
    """
    if (
        isinstance(balance, int | float)
        and isinstance(annual_rate, int | float)
        and isinstance(n_months, int | float)
    ):
        return _level_payment_scalar(float(balance), float(annual_rate), float(n_months))
    bal = np.asarray(balance, dtype=float)
    rate = np.asarray(annual_rate, dtype=float) / 12.0
    n = np.asarray(n_months, dtype=float)
    if np.any(n < 1):
        raise ValueError(f"n_months must be at least 1, got {np.min(n)}")
    if np.any(rate < 0):
        raise ValueError(f"annual_rate must be at least 0, got {np.min(rate) * 12}")
    with np.errstate(divide="ignore", invalid="ignore"):
        # rate / (1 - (1+rate)^-n), written with expm1/log1p for small rates
        factor = np.where(rate == 0, 1.0 / n, rate / -np.expm1(-n * np.log1p(rate)))
    out = bal * factor
    return float(out) if out.ndim == 0 else out


def _level_payment_scalar(balance: float, annual_rate: float, n_months: float) -> float:
    """:func:`level_payment` of three scalars: the same ufuncs, without the array overhead."""
    rate = annual_rate / 12.0
    if n_months < 1:
        raise ValueError(f"n_months must be at least 1, got {n_months}")
    if rate < 0:
        raise ValueError(f"annual_rate must be at least 0, got {rate * 12}")
    if rate == 0:
        factor = 1.0 / n_months
    else:
        # no errstate needed (it costs more than the rest): with rate > 0 and n >= 1 the
        # divisor is below 0, and errstate only silences warnings, it changes no value
        factor = float(rate / -np.expm1(-n_months * np.log1p(rate)))
    return balance * factor


def remaining_balance(
    balance: ArrayLike, annual_rate: ArrayLike, payment: ArrayLike, months: ArrayLike
) -> Any:
    """Balance left after ``months`` level payments of ``payment`` (unrounded).

    ``B_k = B (1 + i)**k - P ((1 + i)**k - 1) / i`` with ``i = annual_rate / 12``
    (``B - P k`` at rate 0).  Arguments broadcast; negative results mean the
    payments overpay.

    Examples
    --------
    >>> p = level_payment(10_000, 0.12, 12)
    >>> abs(remaining_balance(10_000, 0.12, p, 12)) < 1e-9
    True
    >>> remaining_balance(1200, 0.0, 100, [0, 6, 12])
    array([1200.,  600.,    0.])
    """
    bal = np.asarray(balance, dtype=float)
    rate = np.asarray(annual_rate, dtype=float) / 12.0
    pay = np.asarray(payment, dtype=float)
    k = np.asarray(months, dtype=float)
    log_growth = k * np.log1p(rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        annuity = np.where(rate == 0, k, np.expm1(log_growth) / rate)
    out = bal * np.exp(log_growth) - pay * annuity
    return float(out) if out.ndim == 0 else out
