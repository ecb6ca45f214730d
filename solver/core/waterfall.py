"""The money engine: amounts rounded to the money grid and the payment waterfall in
integer units of it, compiled, with an exact fallback. The builders of
:mod:`solver.core.amortisation` (:func:`~solver.core.amortisation.schedule_from_payments`,
:func:`~solver.core.amortisation.step_plan`, :func:`~solver.core.amortisation.level_plan`)
run every schedule through it.

The money grid
    ``grid`` is the number of grid units per currency unit: 100 (hundredths, the
    default; CNY, USD, and -- decided in :mod:`solver.core.currency` -- the 3-decimal
    currencies) or 1 (whole units: JPY, KRW, ISK; ``currency.money_grid``). The
    waterfall runs in integer grid units -- every amount (instalments, interest, fees,
    the clearing payment, balances) is a whole number of them, interest rounded half-up
    to the grid unit -- and the schedule stores the result in cents (``x`` grid units
    are ``x * 100 // grid`` cents), so every consumer of a :class:`Schedule` reads
    cents whatever the currency. With ``grid=100`` nothing is converted: the CNY path
    is the one it always was.
Speed
    The waterfall is a compiled int64 loop (numba; a few microseconds a schedule, the
    call included) with an exact fallback: amounts above 2**60 grid units, or a balance
    at which ``balance * rate`` could overflow int64 (monthly interest is computed on the
    rate's fraction reduced by its gcd with the denominator, so a rate below 100 % with 4
    decimals overflows only beyond 10**12 currency units), run the same loop in Python
    integers -- the results are the same, to the cent
    (``tests/test_amortisation_compiled.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from solver.core.schedule import CENTS_PER_UNIT, GRID_DIGITS, GRIDS, Schedule

__all__ = ["to_cents", "to_units"]

# The annual rate is used to 12 decimal places so monthly interest can be
# rounded half-up in exact integer arithmetic.
_RATE_SCALE = 10**12
_MONTHLY_DENOMINATOR = 12 * _RATE_SCALE


class _ClearedEarly(Exception):
    """The payments clear (or overpay) the balance before the last month."""

    def __init__(self, month: int, owed: int, paid: int) -> None:
        super().__init__(month, owed, paid)
        self.month, self.owed, self.paid = month, owed, paid


#: The allowance for float error below a half unit: an amount whose scaled value is within
#: the larger of 10⁻⁹ of a grid unit and this share of itself (4–8 ulps, by where it sits in its binade) below a half counts
#: as the half. A half written in decimal (12.345 is stored as 12.3449999…, 1048576.005 as
#: 1048576.00499999…) or a float product of written amounts (0.045 × 3 =
#: 0.13499999999999998) misses it by at most about 1.3 ulps of the scaled amount (half an
#: ulp of the amount times the grid, plus the product's rounding). The fixed 10⁻⁹ alone
#: falls below that from about 10⁵ CNY (1048576.005 gave 104857600 cents); the relative
#: part takes over only above 2⁵⁰·10⁻⁹ units (11,259 CNY in cents), so smaller amounts
#: round exactly as before. The price: from about 10¹⁰ CNY an amount up to 8 ulps below a
#: written half cent (not itself a written half) also rounds up -- far beyond a consumer
#: loan, and within about a thousandth of a cent of the half (8 ulps of 10¹² cents).
_HALF_ALLOWANCE = 2.0**-50


def to_cents(amount: float, name: str = "amount", grid: int = CENTS_PER_UNIT) -> int:
    """Round an amount to whole cents (half away from zero, as written in decimal) -- to
    whole units of the money ``grid`` (per currency unit) when given; reject NaN and
    infinities.

    >>> to_cents(12.345), to_cents(0.1 + 0.2), to_cents(1234.5, grid=1), to_cents(1048576.005)
    (1235, 30, 1235, 104857601)
    """
    if not math.isfinite(amount):
        raise ValueError(f"{name} must be finite, got {amount}")
    scaled = abs(amount * grid)
    # the allowance (_HALF_ALLOWANCE) so that 12.345 (stored as 12.3449999...) rounds as written
    units = int(math.floor(scaled + 0.5 + max(1e-9, scaled * _HALF_ALLOWANCE)))
    return units * (1 if amount * grid >= 0 else -1)


def to_units(
    amounts: NDArray[np.float64], name: str = "amount", grid: int = CENTS_PER_UNIT
) -> NDArray[Any]:
    """:func:`to_cents` of every element (the same rounding, the same error for a
    non-finite amount): int64 grid units (Python integers, in an object array, when an
    amount is beyond 2**53 units)."""
    bad = ~np.isfinite(amounts)
    if bad.any():
        to_cents(float(amounts[bad][0]), name, grid)  # raises, with the words
    if amounts.size and np.abs(amounts).max() * grid >= 2**53:  # beyond int64's exact floats
        return np.array([to_cents(x, name, grid) for x in amounts.tolist()], dtype=object)
    return _to_units_array(amounts, grid)


def _to_units_array(amounts: NDArray[np.float64], grid: int) -> NDArray[np.int64]:
    """Vectorised :func:`to_cents` (same rounding) for finite amounts, in grid units."""
    scaled = amounts * grid
    size = np.abs(scaled)
    allowance = np.maximum(1e-9, size * _HALF_ALLOWANCE)
    return (np.sign(scaled) * np.floor(size + 0.5 + allowance)).astype(np.int64)


@njit(cache=True)
def _units_or_none(
    amounts: NDArray[np.float64], grid: int
) -> NDArray[np.int64] | None:  # pragma: no cover - compiled
    """:func:`_to_units_array` compiled (the same float operations), or ``None`` when an
    amount is not finite, rounds below 0 or above :data:`_INT64_AMOUNT` (the caller then
    takes the numpy path, which words the error)."""
    out = np.empty(amounts.shape[0], dtype=np.int64)
    for t in range(amounts.shape[0]):
        scaled = amounts[t] * grid
        if not np.isfinite(scaled):
            return None
        size = np.abs(scaled)
        units = np.floor(size + 0.5 + max(1e-9, size * _HALF_ALLOWANCE))
        if units > _INT64_AMOUNT or (scaled < 0 and units > 0):
            return None
        out[t] = np.int64(units)
    return out


def _check_grid(grid: int) -> None:
    if grid not in GRIDS:
        raise ValueError(f"grid must be one of {GRIDS} units per currency unit, got {grid!r}")


def _text(units: int, grid: int) -> str:
    """``units`` of the grid as an amount for an error message."""
    return f"{units / grid:.{GRID_DIGITS[grid]}f}"


def _rate_units(annual_rate: float) -> int:
    if not math.isfinite(annual_rate) or annual_rate < 0:
        raise ValueError(f"annual_rate must be a finite number at least 0, got {annual_rate}")
    return round(annual_rate * _RATE_SCALE)


def _monthly_interest(bearing: int, rate_units: int) -> int:
    """Interest for one month on ``bearing`` grid units, rounded half-up to the grid unit."""
    return (2 * bearing * rate_units + _MONTHLY_DENOMINATOR) // (2 * _MONTHLY_DENOMINATOR)


#: Largest balance, fee or payment (grid units) the compiled waterfall takes in int64: every
#: sum it forms (owed = bearing + fees + interest) then stays below 2**63.
_INT64_AMOUNT = 2**60
# outcome codes of the compiled waterfall
_DONE, _EARLY, _OVERFLOW = 0, 1, 2


@lru_cache(maxsize=1024)
def _no_waiver(n: int) -> NDArray[np.bool_]:
    """``n`` read-only ``False`` flags: the waiver of a schedule that waives no month,
    shared by every such schedule of that length (the compiled waterfall only reads it)."""
    flags = np.zeros(n, dtype=np.bool_)
    flags.setflags(write=False)
    return flags


@lru_cache(maxsize=256)
def _interest_terms(rate_units: int) -> tuple[int, int, int, int]:
    """``(mul, add, den, limit)``: monthly interest on ``b`` grid units is
    ``(b * mul + add) // den``, exactly :func:`_monthly_interest` -- its fraction
    ``(2·b·rate + M) / 2M`` reduced by ``gcd(2·rate, M)`` -- and ``b * mul + add`` fits in
    int64 for every ``b <= limit`` (a rate with few decimals, 0.1899, reduces to a
    multiplier of a few hundred; one with all 12 decimals used, to about 2·10¹²)."""
    g = math.gcd(2 * rate_units, _MONTHLY_DENOMINATOR)
    mul, add, den = 2 * rate_units // g, _MONTHLY_DENOMINATOR // g, 2 * _MONTHLY_DENOMINATOR // g
    limit = _INT64_AMOUNT if mul == 0 else min(_INT64_AMOUNT, (2**63 - 1 - add) // mul)
    return mul, add, den, limit


@njit(cache=True)
def _waterfall_int64(
    bearing: int,
    unpaid_fees: int,
    terms: tuple[int, int, int, int],
    payments: NDArray[np.int64],
    waive: NDArray[np.bool_],
    clear_last: bool,
) -> tuple[int, int, int, int, NDArray[np.int64]]:  # pragma: no cover - compiled
    """:func:`_amortise_exact` compiled, in int64: ``(code, month, owed, paid, columns)``.

    ``code`` is ``_DONE`` (``columns``: payment, interest, principal, fee and balance rows),
    ``_EARLY`` (month ``month`` clears the balance early or overpays: ``owed``, ``paid``)
    or ``_OVERFLOW`` (a payment outside ``[0, _INT64_AMOUNT]``, or the interest-bearing
    balance of month ``month`` above ``limit``: the caller redoes the schedule in Python
    integers). The caller keeps ``bearing`` and ``unpaid_fees`` at most
    :data:`_INT64_AMOUNT`."""
    mul, add, den, limit = terms
    n = payments.shape[0]
    cols = np.empty((5, n), dtype=np.int64)
    for t in range(n):
        if payments[t] < 0 or payments[t] > _INT64_AMOUNT:
            return _OVERFLOW, t + 1, 0, 0, cols
    last = n - 1
    for t in range(n):
        if bearing > limit:
            return _OVERFLOW, t + 1, 0, 0, cols
        interest = 0 if waive[t] else (bearing * mul + add) // den
        owed = bearing + unpaid_fees + interest
        if t == last:
            paid = owed if clear_last else payments[t]
            if paid > owed:
                return _EARLY, t + 1, owed, paid, cols
        else:
            paid = payments[t]
            if paid >= owed:
                return _EARLY, t + 1, owed, paid, cols
        fee_part = paid if paid < unpaid_fees else unpaid_fees
        unpaid_fees -= fee_part
        principal = paid - fee_part - interest
        bearing -= principal
        cols[0, t] = paid
        cols[1, t] = interest
        cols[2, t] = principal
        cols[3, t] = fee_part
        cols[4, t] = bearing + unpaid_fees
    return _DONE, n, 0, 0, cols


def _amortise(
    bearing: int,
    unpaid_fees: int,
    rate_units: int,
    payments: NDArray[np.int64],
    waive: NDArray[np.bool_] | None,
    clear_last: bool,
    grid: int = CENTS_PER_UNIT,
) -> NDArray[np.int64]:
    """Run the payment waterfall month by month, in integer grid units (``grid`` only
    words the error).

    Returns the payment, interest, principal, fee and balance rows of a ``(5, n)`` int64
    array.  Raises ``_ClearedEarly`` when a month before the last clears the balance or
    any payment exceeds what is owed, and ``ValueError`` when the last month leaves
    something unpaid (only possible without ``clear_last``).

    The compiled int64 loop (:func:`_waterfall_int64`) runs it when its products cannot
    overflow (amounts up to :data:`_INT64_AMOUNT`, balances up to the rate's ``limit``:
    :func:`_interest_terms`); otherwise, or when a balance grows past the limit, the same
    loop in Python integers does (:func:`_amortise_exact`): the same results, exact.
    """
    n = payments.shape[0]
    cols: NDArray[np.int64] | None = None
    if bearing <= _INT64_AMOUNT and unpaid_fees <= _INT64_AMOUNT:
        flags = _no_waiver(n) if waive is None else waive
        code, month, owed, paid, out = _waterfall_int64(
            bearing, unpaid_fees, _interest_terms(rate_units), payments, flags, clear_last
        )
        if code == _EARLY:
            raise _ClearedEarly(month, owed, paid)
        if code == _DONE:
            cols = out
    if cols is None:
        exact = _amortise_exact(
            bearing,
            unpaid_fees,
            rate_units,
            payments.tolist(),
            None if waive is None else waive.tolist(),
            clear_last,
        )
        cols = np.array(exact, dtype=np.int64)
    left = int(cols[4, -1])
    if left != 0:
        raise ValueError(
            f"payments leave {_text(left, grid)} unpaid after month {n};"
            " pass clear_last=True to make the last payment clear the balance"
        )
    return cols


def _amortise_exact(
    bearing: int,
    unpaid_fees: int,
    rate_units: int,
    payments: Sequence[int],
    waive: Sequence[bool] | None,
    clear_last: bool,
) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    """The waterfall of :func:`_amortise` in Python integers (any size): the payment,
    interest, principal, fee and balance columns (``_ClearedEarly`` as there)."""
    pay_col: list[int] = []
    int_col: list[int] = []
    prin_col: list[int] = []
    fee_col: list[int] = []
    bal_col: list[int] = []
    last = len(payments) - 1
    for t, due in enumerate(payments):
        interest = 0 if waive is not None and waive[t] else _monthly_interest(bearing, rate_units)
        owed = bearing + unpaid_fees + interest
        paid = owed if t == last and clear_last else due
        if paid > owed or (paid == owed and t < last):
            raise _ClearedEarly(t + 1, owed, paid)
        fee_part = min(paid, unpaid_fees)
        unpaid_fees -= fee_part
        principal = paid - fee_part - interest
        bearing -= principal
        pay_col.append(paid)
        int_col.append(interest)
        prin_col.append(principal)
        fee_col.append(fee_part)
        bal_col.append(bearing + unpaid_fees)
    return pay_col, int_col, prin_col, fee_col, bal_col


def _make_schedule(
    columns: NDArray[np.int64],
    opening_balance: int,
    annual_rate: float,
    start: date | None,
    grid: int = CENTS_PER_UNIT,
) -> Schedule:
    """The schedule of the waterfall's ``columns`` (grid units, a ``(5, n)`` array),
    stored in cents."""
    if grid != CENTS_PER_UNIT:
        step = CENTS_PER_UNIT // grid
        columns = columns * step
        opening_balance *= step
    return Schedule.from_columns(columns, opening_balance, annual_rate, start, grid)


def _opening_units(principal: float, fees: float, grid: int) -> tuple[int, int]:
    """Principal (> 0) and fees (>= 0) in grid units, checked."""
    principal_cents = to_cents(principal, "principal", grid)
    if principal_cents <= 0:
        raise ValueError(f"principal must be positive, got {principal}")
    fee_cents = to_cents(fees, "fees", grid)
    if fee_cents < 0:
        raise ValueError(f"fees must be at least 0, got {fees}")
    return principal_cents, fee_cents


def _check_start(start: date | None) -> None:
    if start is not None and not isinstance(start, date):
        raise ValueError(f"start must be a datetime.date or None, got {start!r}")
