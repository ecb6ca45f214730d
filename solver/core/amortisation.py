"""Building cent-exact schedules: the payment waterfall in integer units of the money grid
and the builders :func:`schedule_from_payments`, :func:`step_plan` and :func:`level_plan`.

Inputs are floats in the currency unit; they are rounded to the grid once, on the way in
(:func:`to_cents` for the default grid). The conventions of the rows (balance, interest,
the payment waterfall, dates) are those of :class:`~solver.core.schedule.Schedule`.

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

Rounding of instalments
    Rounded up, the last payment absorbing the rest; the whole rule (also for a unit coarse
    against the instalment) is stated once, in :func:`level_plan` (:func:`step_plan` too).
Speed
    The waterfall is a compiled int64 loop (numba; a few microseconds a schedule, the
    call included) with an exact fallback: amounts above 2**60 grid units, or a balance
    at which ``balance * rate`` could overflow int64 (monthly interest is computed on the
    rate's fraction reduced by its gcd with the denominator, so a rate below 100 % with 4
    decimals overflows only beyond 10**12 currency units), run the same loop in Python
    integers -- the results are the same, to the cent
    (``tests/test_amortisation_compiled.py``).
    The cross-account hot paths use the vectorised
    :func:`~solver.core.annuity.level_payment`, :func:`~solver.core.annuity.remaining_balance`
    and :func:`~solver.core.actuarial.apr_batch`.

Examples
--------
>>> s = level_plan(10_000, 0.12, 12, rounding=0.01)
>>> float(s.payments[0]), float(s.payments[-1]), s.total_paid
(888.49, 888.47, 10661.86)
>>> s.check()
>>> round(s.apr(), 4)
0.12
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any, Literal, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from solver.core.annuity import level_payment
from solver.core.schedule import CENTS_PER_UNIT, GRID_DIGITS, GRIDS, Schedule
from solver.domain import DEFERRAL_MODES, DeferralMode

__all__ = ["level_plan", "schedule_from_payments", "step_plan", "to_cents", "to_units"]

# The annual rate is used to 12 decimal places so monthly interest can be
# rounded half-up in exact integer arithmetic.
_RATE_SCALE = 10**12
_MONTHLY_DENOMINATOR = 12 * _RATE_SCALE

# ---------------------------------------------------------------------------
# The amortisation engine (integer cents)
# ---------------------------------------------------------------------------


class _ClearedEarly(Exception):
    """The payments clear (or overpay) the balance before the last month."""

    def __init__(self, month: int, owed: int, paid: int) -> None:
        super().__init__(month, owed, paid)
        self.month, self.owed, self.paid = month, owed, paid


def to_cents(amount: float, name: str = "amount", grid: int = CENTS_PER_UNIT) -> int:
    """Round an amount to whole cents (half away from zero) -- to whole units of the
    money ``grid`` (per currency unit) when given; reject NaN and infinities.

    >>> to_cents(12.345), to_cents(0.1 + 0.2), to_cents(1234.5, grid=1)
    (1235, 30, 1235)
    """
    if not math.isfinite(amount):
        raise ValueError(f"{name} must be finite, got {amount}")
    scaled = amount * grid
    # repr-based nudge so that 12.345 (stored as 12.3449999...) rounds as written
    return int(math.floor(abs(scaled) + 0.5 + 1e-9)) * (1 if scaled >= 0 else -1)


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
    return (np.sign(scaled) * np.floor(np.abs(scaled) + 0.5 + 1e-9)).astype(np.int64)


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
        units = np.floor(np.abs(scaled) + 0.5 + 1e-9)
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


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------


def schedule_from_payments(
    principal: float,
    annual_rate: float,
    payments: ArrayLike,
    *,
    fees: float = 0.0,
    waive_interest: ArrayLike | None = None,
    start: date | None = None,
    clear_last: bool = True,
    overpay: Literal["raise", "truncate"] = "raise",
    grid: int = CENTS_PER_UNIT,
) -> Schedule:
    """Schedule for a given payment path.

    Parameters
    ----------
    principal
        Interest-bearing balance at the start, CNY (> 0).
    annual_rate
        Nominal annual rate (decimal, ≥ 0).
    payments
        ``payments[t-1]`` is the amount paid in month ``t`` (CNY, ≥ 0, rounded
        to the cent).  Zero payments are allowed: the interest capitalises.
    fees
        Unpaid fees at the start, CNY: owed but not interest-bearing, paid
        first out of each payment.
    waive_interest
        Optional boolean per month: no interest accrues in a waived month.
    start
        As-of date for the due dates.
    clear_last
        Replace the last payment by exactly what clears the balance (it can be
        more or less than requested).  Without it, the payments must clear the
        balance exactly or ``ValueError`` is raised.
    overpay
        What to do when a month before the last clears the balance, or a
        payment exceeds what is owed: ``"raise"`` (default) raises
        ``ValueError``; ``"truncate"`` makes that month pay exactly what is
        owed and ends the schedule there (so it is shorter than ``payments``).
    grid
        Money grid units per currency unit: 100 (cents, the default) or 1 (whole units,
        JPY); amounts are rounded to it on the way in (see the module docstring).

    Examples
    --------
    Three months at 12 %, the second one skipped (its interest capitalises):

    >>> s = schedule_from_payments(1000, 0.12, [400, 0, 400])
    >>> s.payment.tolist(), s.interest.tolist(), s.principal.tolist()
    ([40000, 0, 62226], [1000, 610, 616], [39000, -610, 61610])
    >>> s.balance.tolist()
    [61000, 61610, 0]

    The same in whole units (a JPY path): every amount is a multiple of 100 cents.

    >>> schedule_from_payments(1000, 0.12, [400, 0, 400], grid=1).interest.tolist()
    [1000, 600, 600]
    """
    _check_start(start)
    _check_grid(grid)
    if overpay not in ("raise", "truncate"):
        raise ValueError(f"overpay must be 'raise' or 'truncate', got {overpay!r}")
    bearing, unpaid_fees = _opening_units(principal, fees, grid)
    rate_units = _rate_units(annual_rate)
    pay = np.ascontiguousarray(payments, dtype=float).ravel()
    if pay.size == 0:
        raise ValueError("payments must hold at least one month")
    pay_cents = _units_or_none(pay, grid)
    if pay_cents is None:  # the checks in numpy, with their words
        if not np.all(np.isfinite(pay)):
            raise ValueError("payments must be finite")
        pay_cents = _to_units_array(pay, grid)
        if np.any(pay_cents < 0):
            raise ValueError(
                f"payments must be at least 0, got {pay.min()} in month {int(pay.argmin()) + 1}"
            )
    waive: NDArray[np.bool_] | None = None
    if waive_interest is not None:
        waive = np.asarray(waive_interest, dtype=bool).ravel()
        if waive.shape != pay.shape:
            raise ValueError(
                f"waive_interest must have one entry per month ({pay.size}), got {waive.size}"
            )
    try:
        columns = _amortise(bearing, unpaid_fees, rate_units, pay_cents, waive, clear_last, grid)
    except _ClearedEarly as early:
        if overpay == "raise":
            raise ValueError(
                f"payments clear the balance in month {early.month} of {pay_cents.size}"
                f" (owed {_text(early.owed, grid)}, paid {_text(early.paid, grid)});"
                " shorten the path or pass overpay='truncate'"
            ) from None
        cut = pay_cents[: early.month]
        waive = None if waive is None else waive[: early.month]
        columns = _amortise(bearing, unpaid_fees, rate_units, cut, waive, True, grid)
    return _make_schedule(columns, bearing + unpaid_fees, annual_rate, start, grid)


def _round_to_unit(amount: float, unit: int, up: bool) -> int:
    """Round a grid amount up or down to a multiple of ``unit`` grid units."""
    q = amount / unit
    # tolerance so that float noise on an exact multiple does not add a unit
    steps = math.ceil(q - 1e-9) if up else math.floor(q + 1e-9)
    return steps * unit


def step_plan(
    principal: float,
    annual_rate: float,
    levels: Sequence[tuple[int, float | None]],
    *,
    fees: float = 0.0,
    capitalize_fees: bool = True,
    deferral_months: int = 0,
    deferral_mode: DeferralMode | str = DeferralMode.CAPITALIZE,
    rounding: float = 1.0,
    start: date | None = None,
    grid: int = CENTS_PER_UNIT,
) -> Schedule:
    """Payment holiday, then segments of level payments (graduated / step plans).

    The term is ``deferral_months + sum(months)``; the last payment of the last
    segment clears the balance.

    Parameters
    ----------
    principal
        Restructured interest-bearing balance, CNY (> 0).
    annual_rate
        Nominal annual rate (decimal, ≥ 0).
    levels
        ``[(months, payment), ...]`` after the holiday, each ``months ≥ 1``.
        The last segment's payment may be ``None``: it is then the level
        payment that amortises the balance left at that point over the
        segment, rounded to ``rounding`` as in :func:`level_plan`.
    fees
        Outstanding fees, CNY.  With ``capitalize_fees`` they join the
        interest-bearing principal; otherwise they are due in month 1 (the
        month-1 payment increases by the fees, also in a holiday month).
    deferral_months
        Length of the payment holiday at the start.
    deferral_mode
        A :class:`~solver.domain.DeferralMode` (or its name): ``"capitalize"``: pay 0,
        interest capitalises; ``"interest_only"``: pay exactly the month's interest;
        ``"waive"``: pay 0, no interest accrues.
    rounding
        Rounding unit for a computed last-segment payment (≥ one grid unit, a whole
        number of them).
    start
        As-of date for the due dates.
    grid
        Money grid units per currency unit, as in :func:`schedule_from_payments`.

    Examples
    --------
    >>> s = step_plan(10_000, 0.06, [(6, 500), (6, None)])
    >>> s.payments.tolist()[:7], float(s.payments[-1])
    ([500.0, 500.0, 500.0, 500.0, 500.0, 500.0, 1233.0], 1228.66)
    """
    _check_start(start)
    _check_grid(grid)
    segments = _check_segments(levels)
    if deferral_mode not in DEFERRAL_MODES:
        raise ValueError(f"deferral_mode must be one of {DEFERRAL_MODES}, got {deferral_mode!r}")
    if deferral_months < 0:
        raise ValueError(f"deferral_months must be at least 0, got {deferral_months}")
    unit = to_cents(rounding, "rounding", grid)
    if unit < 1 or abs(rounding * grid - unit) > 1e-6:
        raise ValueError(
            f"rounding must be a whole number of {_text(1, grid)} (the money grid), at least"
            f" {_text(1, grid)}, got {rounding}"
        )
    base, fee_cents = _opening_units(principal, fees, grid)
    rate_units = _rate_units(annual_rate)

    bearing = base + fee_cents if capitalize_fees else base
    unpaid_fees = 0 if capitalize_fees else fee_cents
    pay, bearing_after_holiday = _holiday(bearing, rate_units, deferral_months, deferral_mode)
    for months, payment in segments[:-1]:
        pay.extend([to_cents(payment, "payment", grid)] * months)  # type: ignore[arg-type]
    last_months, last_payment = segments[-1]
    term = len(pay) + last_months
    waive: NDArray[np.bool_] | None = None
    if deferral_mode == "waive" and deferral_months > 0:  # only holiday months are waived
        waive = np.zeros(term, dtype=np.bool_)
        waive[:deferral_months] = True
    plan = _StepPlan(
        bearing=bearing,
        unpaid_fees=unpaid_fees,
        rate_units=rate_units,
        prefix=pay,
        waive=waive,
        last_months=last_months,
        annual_rate=annual_rate,
        start=start,
        grid=grid,
    )
    if last_payment is not None:
        try:
            return plan.schedule(plan.columns(to_cents(last_payment, "payment", grid)))
        except _ClearedEarly as early:
            raise ValueError(
                f"the step payments clear the balance in month {early.month} of {term};"
                " lower them or shorten the plan"
            ) from None
    if len(segments) > 1:
        bearing_then = plan.bearing_before_last()
    else:
        bearing_then = bearing_after_holiday
    return _level_last_segment(plan, bearing_then, unit)


def _check_segments(levels: Sequence[tuple[int, float | None]]) -> list[tuple[int, float | None]]:
    """The ``(months, payment)`` segments of a step plan, checked."""
    segments = [(int(months), payment) for months, payment in levels]
    if not segments:
        raise ValueError("levels must hold at least one (months, payment) segment")
    for k, (months, payment) in enumerate(segments):
        if months < 1:
            raise ValueError(f"levels[{k}] months must be at least 1, got {months}")
        if payment is None and k != len(segments) - 1:
            raise ValueError(f"levels[{k}] payment may be None only in the last segment")
        if payment is not None and not (math.isfinite(payment) and payment >= 0):
            raise ValueError(
                f"levels[{k}] payment must be a finite amount at least 0, got {payment}"
            )
    return segments


def _holiday(
    bearing: int, rate_units: int, months: int, mode: DeferralMode | str
) -> tuple[list[int], int]:
    """Payments of the holiday months, and the interest-bearing balance after (a
    ``waive`` holiday's months are the plan's waived ones).

    They are known in advance because the interest-bearing balance is constant
    (interest_only, waive) or grows by the capitalised interest (capitalize).
    """
    if months == 0:
        return [], bearing
    if mode == "interest_only":
        return [_monthly_interest(bearing, rate_units)] * months, bearing
    if mode == "waive":
        return [0] * months, bearing
    for _ in range(months):
        bearing += _monthly_interest(bearing, rate_units)
    return [0] * months, bearing


class _StepPlan(NamedTuple):
    """A step plan up to its last segment: the schedule follows from the last level.
    Amounts in grid units. (A named tuple: immutable, and built once per level plan at a
    fraction of a frozen dataclass's cost.)"""

    #: Interest-bearing balance at the start (fees included when capitalised).
    bearing: int
    #: Fees not capitalised, due in month 1.
    unpaid_fees: int
    rate_units: int
    #: Payments of the holiday and of every segment but the last.
    prefix: list[int]
    #: Waived months of the whole plan, or ``None`` when no month is waived.
    waive: NDArray[np.bool_] | None
    last_months: int
    annual_rate: float
    start: date | None
    grid: int

    def columns(self, level: int) -> NDArray[np.int64]:
        """The waterfall's rows (:func:`_amortise`) with ``level`` grid units in the last
        segment (``_ClearedEarly`` when the payments clear the balance before the last month)."""
        k = len(self.prefix)
        path = np.full(k + self.last_months, level, dtype=np.int64)
        if k:
            path[:k] = self.prefix
        path[0] += self.unpaid_fees  # fees not capitalised are due in month 1
        return _amortise(
            self.bearing, self.unpaid_fees, self.rate_units, path, self.waive, True, self.grid
        )

    def schedule(self, columns: NDArray[np.int64]) -> Schedule:
        """The schedule of the plan's waterfall ``columns``."""
        opening = self.bearing + self.unpaid_fees
        return _make_schedule(columns, opening, self.annual_rate, self.start, self.grid)

    def bearing_before_last(self) -> int:
        """Interest-bearing balance at the start of the last segment."""
        prefix = self.prefix.copy()
        prefix[0] += self.unpaid_fees
        k = len(prefix)
        waive = [False] * k if self.waive is None else self.waive[:k].tolist()
        try:
            return _prefix_bearing(self.bearing, self.unpaid_fees, self.rate_units, prefix, waive)
        except _ClearedEarly as early:
            raise ValueError(
                f"the step payments clear the balance in month {early.month} before the last"
                " segment; lower them or shorten the plan"
            ) from None


def _level_last_segment(plan: _StepPlan, bearing_then: int, unit: int) -> Schedule:
    """The schedule whose last segment pays the level that amortises ``bearing_then``
    grid units, chosen by the rule stated in :func:`level_plan` (on multiples of ``unit``
    grid units, else of one grid unit, else 0)."""
    exact = float(level_payment(bearing_then, plan.annual_rate, plan.last_months))
    cols = None
    if plan.bearing <= _INT64_AMOUNT and plan.unpaid_fees <= _INT64_AMOUNT:
        path = np.empty(len(plan.prefix) + plan.last_months, dtype=np.int64)
        path[: len(plan.prefix)] = plan.prefix
        waive = _no_waiver(path.shape[0]) if plan.waive is None else plan.waive
        terms = _interest_terms(plan.rate_units)
        code, out = _level_columns_int64(
            plan.bearing, plan.unpaid_fees, terms, path, len(plan.prefix), waive, exact, unit
        )
        if code == _DONE:
            cols = out
    if cols is None:  # beyond int64: the same walk in Python integers
        cols = _level_columns_exact(plan, exact, unit)
    return plan.schedule(cols)


def _level_columns_exact(plan: _StepPlan, exact: float, unit: int) -> NDArray[np.int64]:
    """The waterfall's rows of the level :func:`level_plan`'s rule chooses for the last
    segment (``exact``: the annuity payment, in grid units), each level tried by
    :meth:`_StepPlan.columns` (any size, exact)."""
    for step in (unit, 1) if unit > 1 else (unit,):
        cols = _level_on_grid(plan, exact, step)
        if cols is not None:
            return cols
    return plan.columns(0)  # 0 never clears early: all paid in the last month


def _try_level(plan: _StepPlan, level: int) -> NDArray[np.int64] | None:
    """:meth:`_StepPlan.columns`, or ``None`` when ``level`` clears the balance early."""
    try:
        return plan.columns(level)
    except _ClearedEarly:
        return None


def _level_on_grid(plan: _StepPlan, exact: float, step: int) -> NDArray[np.int64] | None:
    """Rules 1 and 2 of :func:`level_plan` on the multiples of ``step`` grid units (``None``
    if none is admissible), by a walk from the rounded-up annuity payment: up while the
    last payment is above the level and the next multiple is admissible, else down to the
    first admissible one (a step or two: a step up lowers the last payment by ``step`` a
    month at least)."""
    level = max(_round_to_unit(exact, step, up=True), step)
    cols = _try_level(plan, level)
    if cols is None:  # rule 2: the largest admissible multiple below
        level -= step
        while level >= step:
            cols = _try_level(plan, level)
            if cols is not None:
                return cols
            level -= step
        return None
    while plan.last_months > 1 and cols[0, -1] - cols[3, -1] > level:  # rule 1, else 2
        higher = _try_level(plan, level + step)
        if higher is None:
            break
        cols, level = higher, level + step
    return cols


@njit(cache=True)
def _level_columns_int64(
    bearing: int,
    unpaid_fees: int,
    terms: tuple[int, int, int, int],
    path: NDArray[np.int64],
    k: int,
    waive: NDArray[np.bool_],
    exact: float,
    unit: int,
) -> tuple[int, NDArray[np.int64]]:  # pragma: no cover - compiled
    """:func:`_level_columns_exact` compiled (the same walk, one call instead of one
    waterfall call per level tried): ``(code, columns)``, ``code`` ``_DONE`` or
    ``_OVERFLOW`` (a level or balance beyond int64's reach: the caller takes the exact
    path). ``path`` holds the plan's first ``k`` payments (the holiday and every segment
    but the last); the last segment's months are overwritten with each level tried."""
    none = np.empty((5, 0), dtype=np.int64)
    if not exact <= _INT64_AMOUNT:  # NaN too
        return _OVERFLOW, none
    for attempt in range(2):
        step = unit if attempt == 0 else 1
        if attempt == 1 and unit == 1:
            break
        code, cols = _level_on_grid_int64(bearing, unpaid_fees, terms, path, k, waive, exact, step)
        if code != _EARLY:
            return code, cols
    code, _, _, _, cols = _level_try_int64(bearing, unpaid_fees, terms, path, k, waive, 0)
    return code, cols


@njit(cache=True)
def _level_try_int64(
    bearing: int,
    unpaid_fees: int,
    terms: tuple[int, int, int, int],
    path: NDArray[np.int64],
    k: int,
    waive: NDArray[np.bool_],
    level: int,
) -> tuple[int, int, int, int, NDArray[np.int64]]:  # pragma: no cover - compiled
    """:meth:`_StepPlan.columns` of ``level`` compiled: the waterfall's outcome."""
    first = path[0] if k > 0 else level
    for t in range(k, path.shape[0]):
        path[t] = level
    path[0] = first + unpaid_fees  # fees not capitalised are due in month 1
    out = _waterfall_int64(bearing, unpaid_fees, terms, path, waive, True)
    path[0] = first
    return out


@njit(cache=True)
def _level_on_grid_int64(
    bearing: int,
    unpaid_fees: int,
    terms: tuple[int, int, int, int],
    path: NDArray[np.int64],
    k: int,
    waive: NDArray[np.bool_],
    exact: float,
    step: int,
) -> tuple[int, NDArray[np.int64]]:  # pragma: no cover - compiled
    """:func:`_level_on_grid` compiled: ``(_DONE, columns)``, ``(_EARLY, _)`` when no
    multiple of ``step`` is admissible, or ``(_OVERFLOW, _)``."""
    last = path.shape[0] - 1
    level = max(math.ceil(exact / step - 1e-9) * step, step)  # _round_to_unit, up
    code, _, _, _, cols = _level_try_int64(bearing, unpaid_fees, terms, path, k, waive, level)
    if code == _EARLY:  # rule 2: the largest admissible multiple below
        level -= step
        while level >= step:
            code, _, _, _, cols = _level_try_int64(
                bearing, unpaid_fees, terms, path, k, waive, level
            )
            if code != _EARLY:
                return code, cols
            level -= step
        return _EARLY, cols
    if code == _OVERFLOW:
        return code, cols
    while last - k > 0 and cols[0, last] - cols[3, last] > level:  # rule 1, else 2
        code, _, _, _, higher = _level_try_int64(
            bearing, unpaid_fees, terms, path, k, waive, level + step
        )
        if code == _OVERFLOW:
            return code, higher
        if code == _EARLY:
            break
        cols, level = higher, level + step
    return _DONE, cols


def _prefix_bearing(
    bearing: int, unpaid_fees: int, rate_units: int, payments: list[int], waive: list[bool]
) -> int:
    """Interest-bearing balance after a payment prefix (raises ``_ClearedEarly`` on overpay)."""
    for t, paid in enumerate(payments):
        interest = 0 if waive[t] else _monthly_interest(bearing, rate_units)
        owed = bearing + unpaid_fees + interest
        if paid >= owed:
            raise _ClearedEarly(t + 1, owed, paid)
        fee_part = min(paid, unpaid_fees)
        unpaid_fees -= fee_part
        bearing -= paid - fee_part - interest
    return bearing


def level_plan(
    principal: float,
    annual_rate: float,
    term: int,
    *,
    fees: float = 0.0,
    capitalize_fees: bool = True,
    deferral_months: int = 0,
    deferral_mode: DeferralMode | str = DeferralMode.CAPITALIZE,
    rounding: float = 1.0,
    start: date | None = None,
    grid: int = CENTS_PER_UNIT,
) -> Schedule:
    """Level instalments (等额本息), optionally after a payment holiday.

    ``deferral_months`` of holiday (see ``deferral_mode``), then a level instalment
    ``L`` in every month but the last, on the balance at that point; the last payment
    clears the balance (SPEC §5: "instalments rounded to this unit; last payment absorbs
    the rest"). For graduated payments use :func:`step_plan`.

    The level (the rule; issue 13). A level is *admissible* when the months before the
    last leave something owed (one that clears the balance early is no ``term``-month
    plan; admissible levels are those below some bound, and the last payment falls as
    the level rises). ``L`` is

    1. the smallest multiple of ``rounding`` at or above the exact annuity payment that
       is admissible and leaves a last payment **at most** ``L`` -- the usual case:
       rounded up, the last payment a little lower;
    2. when no admissible multiple leaves that (one more unit would clear the balance
       early: a unit that is large against the instalment), the **largest** admissible
       multiple of ``rounding``; the last payment is then above ``L``;
    3. when no positive multiple of ``rounding`` is admissible, rules 1 and 2 on the
       money grid (whole cents; whole yen on ``grid=1``);
    4. when not even one grid unit is, 0: the balance is paid in the last month.

    How far above the level the last payment may be (rule 2): only as far as the unit
    forces -- the next multiple up would clear the balance early, and every lower
    multiple leaves a larger last payment, so rule 2 gives the smallest last payment and
    the smallest largest payment the unit allows. Rounding down instead would push the
    rest into the last month: 23.23 over 12 months at 6 % in whole units is 2.00 ×11
    then 2.01 here, but 1.00 ×11 then 13.33 rounded down.

    Parameters
    ----------
    principal
        Restructured interest-bearing balance, CNY (> 0).
    annual_rate
        Nominal annual rate (decimal, ≥ 0).
    term
        Total months, holiday included (≥ 1).
    fees, capitalize_fees, deferral_months, deferral_mode, rounding, start, grid
        As in :func:`step_plan`.

    Examples
    --------
    >>> s = level_plan(50_000, 0.08, 24, deferral_months=3, deferral_mode="interest_only")
    >>> s.payments[:5].tolist(), float(s.payments[-1])
    ([333.33, 333.33, 333.33, 2560.0, 2560.0], 2547.0)
    >>> s.check()

    Rule 2, and rule 3 (2 cents a month would clear 0.22 in month 11):

    >>> level_plan(23.23, 0.06, 12).payments.tolist()[-2:]
    [2.0, 2.01]
    >>> level_plan(0.22, 0.2143, 12, rounding=1.0).payments.tolist()[-2:]
    [0.01, 0.11]
    """
    if term < 1:
        raise ValueError(f"term must be at least 1, got {term}")
    if not 0 <= deferral_months < term:
        raise ValueError(
            f"deferral_months must be in [0, term - 1] = [0, {term - 1}], got {deferral_months}"
        )
    return step_plan(
        principal,
        annual_rate,
        [(term - deferral_months, None)],
        fees=fees,
        capitalize_fees=capitalize_fees,
        deferral_months=deferral_months,
        deferral_mode=deferral_mode,
        rounding=rounding,
        start=start,
        grid=grid,
    )
