"""Money maths: level payments, cent-exact repayment schedules and the APR.

Everything a plan shows or writes is a :class:`Schedule`: one row per month,
held in integer **cents** so that it reconciles exactly (SPEC §2).  Inputs to
the builders are CNY floats; they are rounded to the cent once, on the way in.

Conventions
-----------
Balance
    ``balance`` is everything still owed after a row: the interest-bearing
    part (principal plus capitalised interest) plus unpaid fees, which bear no
    interest.  The exposure of month ``t`` is the balance before that month's
    payment: the opening balance for ``t = 1``, then ``balance[t-1]``.
Interest
    Accrues monthly at ``annual_rate / 12`` on the interest-bearing part,
    rounded half-up to the cent every month (the rate is taken to 12 decimal
    places and the rounding is done in exact integer arithmetic).  A month may
    waive interest, in which case its interest is 0.
Payment waterfall
    Each payment goes to unpaid fees first, then to that month's interest,
    then to principal.  Whatever the payment leaves of the month's interest is
    capitalised, which makes that row's ``principal`` negative.  So every row
    has ``payment = interest + principal + fees`` and
    ``balance[t] = balance[t-1] + interest[t] - payment[t]``, and over the
    whole schedule ``sum(principal) + sum(fees) = opening_balance``.
Dates
    ``start`` is the as-of date; month ``t`` is due ``t`` calendar months later
    with the day clipped to the month's end (31 Jan -> 28/29 Feb).
Rounding of instalments
    :func:`level_plan` rounds the level instalment **up** to the rounding unit
    (to the smallest multiple of the unit at or above the exact annuity payment
    for which the per-month interest rounding does not push the last payment
    above it), so the last payment, which clears the balance exactly, is at
    most the others.  If rounding up would clear the balance before the last
    month (a unit that is large against the instalment), the instalment is
    rounded down instead and the last payment is then the larger one; if
    rounding down gives 0, whole cents are used.
Speed
    The builders run a plain Python loop over months in integer cents.  Terms
    are at most a few dozen months, so one 60-month schedule takes tens of
    microseconds; the cross-account hot paths use the vectorised
    :func:`level_payment`, :func:`remaining_balance` and :func:`apr_batch`.

Examples
--------
>>> s = level_plan(10_000, 0.12, 12, rounding=0.01)
>>> float(s.payments[0]), float(s.payments[-1]), s.total_paid
(888.49, 888.47, 10661.86)
>>> s.check()
>>> round(apr(10_000, s.payments), 4)
0.12
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from solver.domain import DEFERRAL_MODES

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFERRAL_MODES",
    "Schedule",
    "apr",
    "apr_batch",
    "level_payment",
    "level_plan",
    "remaining_balance",
    "schedule_from_payments",
    "step_plan",
    "to_cents",
]

DeferralMode = Literal["capitalize", "interest_only", "waive"]

CENTS_PER_UNIT = 100
# The annual rate is used to 12 decimal places so monthly interest can be
# rounded half-up in exact integer arithmetic.
_RATE_SCALE = 10**12
_MONTHLY_DENOMINATOR = 12 * _RATE_SCALE

_ROW_FIELDS = ("month", "payment", "interest", "principal", "fees", "balance")


# ---------------------------------------------------------------------------
# Closed-form annuity maths (float, vectorised)
# ---------------------------------------------------------------------------


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
        with np.errstate(divide="ignore", invalid="ignore"):
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


# ---------------------------------------------------------------------------
# The schedule
# ---------------------------------------------------------------------------


def _add_months(start: date, months: int) -> date:
    """``start`` plus whole calendar months, the day clipped to the month's end."""
    year, month0 = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


def _readonly_int64(values: ArrayLike) -> NDArray[np.int64]:
    arr = np.array(values, dtype=np.int64)  # a copy we own
    arr.setflags(write=False)
    return arr


def _readonly_float(values: NDArray[np.floating]) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Schedule:
    """A cent-exact monthly repayment schedule.

    Row arrays are read-only ``int64`` in cents, one entry per month
    ``1..T``; see the module docstring for the conventions.

    Attributes
    ----------
    month
        Month numbers 1..T.
    payment, interest, principal, fees
        What is paid in the month and how it splits:
        ``payment = interest + principal + fees``.  ``interest`` is the
        interest charged in the month; ``principal`` is negative when part of
        it is capitalised.
    balance
        Everything still owed after the month's payment.
    opening_balance
        Everything owed at the start (cents).
    annual_rate
        Nominal annual contract rate of the schedule (decimal).
    start
        As-of date; month ``t`` is due ``t`` months later.  ``None`` when the
        schedule has no calendar.
    """

    month: NDArray[np.int64]
    payment: NDArray[np.int64]
    interest: NDArray[np.int64]
    principal: NDArray[np.int64]
    fees: NDArray[np.int64]
    balance: NDArray[np.int64]
    opening_balance: int
    annual_rate: float
    start: date | None = None

    def __post_init__(self) -> None:
        lengths = set()
        for name in _ROW_FIELDS:
            arr = _readonly_int64(getattr(self, name))
            if arr.ndim != 1:
                raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
            lengths.add(arr.shape[0])
            object.__setattr__(self, name, arr)
        if len(lengths) != 1:
            raise ValueError(f"schedule rows must all have the same length, got {sorted(lengths)}")
        if lengths == {0}:
            raise ValueError("a schedule needs at least one month")
        object.__setattr__(self, "opening_balance", int(self.opening_balance))
        object.__setattr__(self, "annual_rate", float(self.annual_rate))

    # -- sizes and totals ---------------------------------------------------

    @property
    def term(self) -> int:
        """Number of months."""
        return int(self.month.shape[0])

    def __len__(self) -> int:
        return self.term

    @cached_property
    def payments(self) -> NDArray[np.float64]:
        """Payment per month in CNY (read-only float array)."""
        return _readonly_float(self.payment / CENTS_PER_UNIT)

    @cached_property
    def exposures(self) -> NDArray[np.float64]:
        """Balance before each month's payment in CNY: opening balance, then ``balance[t-1]``."""
        before = np.empty(self.term, dtype=np.int64)
        before[0] = self.opening_balance
        before[1:] = self.balance[:-1]
        return _readonly_float(before / CENTS_PER_UNIT)

    @property
    def total_paid(self) -> float:
        """Sum of payments in CNY."""
        return int(self.payment.sum()) / CENTS_PER_UNIT

    @property
    def total_interest(self) -> float:
        """Sum of interest charged in CNY."""
        return int(self.interest.sum()) / CENTS_PER_UNIT

    @property
    def due_dates(self) -> list[date]:
        """Due date of each month (``start`` plus ``t`` months, day clipped)."""
        if self.start is None:
            raise ValueError("schedule has no start date; build it with start=<date>")
        return [_add_months(self.start, int(t)) for t in self.month]

    def apr(self) -> float:
        """APR of the payments, taking the opening balance as the amount (see :func:`apr`)."""
        return apr(self.opening_balance / CENTS_PER_UNIT, self.payments)

    # -- checks ---------------------------------------------------------------

    def check(self) -> None:
        """Raise ``ValueError`` unless every money identity holds exactly (in cents).

        Checks, row by row: ``payment = interest + principal + fees``,
        ``balance[t] = balance[t-1] + interest[t] - payment[t]`` (opening
        balance before month 1), no negative balance or payment, the last
        balance is 0, and ``sum(principal) + sum(fees) = opening_balance``.
        """
        if not np.array_equal(self.month, np.arange(1, self.term + 1)):
            raise ValueError("month must run 1..T")
        split = self.interest + self.principal + self.fees
        bad = np.flatnonzero(split != self.payment)
        if bad.size:
            t = bad[0]
            raise ValueError(
                f"month {t + 1}: payment {self.payment[t]} != interest + principal + fees {split[t]}"
            )
        before = np.concatenate(([self.opening_balance], self.balance[:-1]))
        rolled = before + self.interest - self.payment
        bad = np.flatnonzero(rolled != self.balance)
        if bad.size:
            t = bad[0]
            raise ValueError(
                f"month {t + 1}: balance {self.balance[t]} != previous balance + interest - payment"
                f" {rolled[t]}"
            )
        for name in ("balance", "payment", "interest", "fees"):
            bad = np.flatnonzero(getattr(self, name) < 0)
            if bad.size:
                raise ValueError(f"month {bad[0] + 1}: negative {name}")
        if self.balance[-1] != 0:
            raise ValueError(f"balance after the last month is {self.balance[-1]} cents, not 0")
        repaid = int(self.principal.sum()) + int(self.fees.sum())
        if repaid != self.opening_balance:
            raise ValueError(
                f"sum(principal) + sum(fees) = {repaid} cents != opening balance"
                f" {self.opening_balance}"
            )

    # -- export ---------------------------------------------------------------

    def _due_dates_or_none(self) -> list[date | None]:
        return list(self.due_dates) if self.start is not None else [None] * self.term

    def to_records(self) -> list[dict[str, Any]]:
        """Rows as dicts (month, due_date as ISO text or None, money as CNY floats) for JSON."""
        dues = self._due_dates_or_none()
        cols = {
            name: (getattr(self, name) / CENTS_PER_UNIT).round(2).tolist()
            for name in _ROW_FIELDS[1:]
        }
        return [
            {
                "month": t + 1,
                "due_date": None if dues[t] is None else dues[t].isoformat(),  # type: ignore[union-attr]
                **{name: cols[name][t] for name in _ROW_FIELDS[1:]},
            }
            for t in range(self.term)
        ]

    def to_frame(self) -> pd.DataFrame:
        """Rows as a DataFrame: month, due_date, payment, interest, principal, fees, balance (CNY)."""
        import pandas as pd

        data: dict[str, Any] = {"month": self.month.copy()}
        if self.start is not None:
            data["due_date"] = pd.to_datetime(self.due_dates)
        else:
            data["due_date"] = pd.Series([pd.NaT] * self.term, dtype="datetime64[ns]")
        for name in _ROW_FIELDS[1:]:
            data[name] = (getattr(self, name) / CENTS_PER_UNIT).round(2)
        return pd.DataFrame(data)

    def __repr__(self) -> str:
        return (
            f"Schedule(term={self.term}, opening_balance={self.opening_balance / 100:.2f},"
            f" annual_rate={self.annual_rate:g}, total_paid={self.total_paid:.2f},"
            f" start={self.start})"
        )


# ---------------------------------------------------------------------------
# The amortisation engine (integer cents)
# ---------------------------------------------------------------------------


class _ClearedEarly(Exception):
    """The payments clear (or overpay) the balance before the last month."""

    def __init__(self, month: int, owed: int, paid: int) -> None:
        super().__init__(month, owed, paid)
        self.month, self.owed, self.paid = month, owed, paid


def to_cents(amount: float, name: str = "amount") -> int:
    """Round a CNY amount to whole cents (half away from zero); reject NaN and infinities.

    >>> to_cents(12.345), to_cents(0.1 + 0.2)
    (1235, 30)
    """
    if not math.isfinite(amount):
        raise ValueError(f"{name} must be finite, got {amount}")
    scaled = amount * CENTS_PER_UNIT
    # repr-based nudge so that 12.345 (stored as 12.3449999...) rounds as written
    return int(math.floor(abs(scaled) + 0.5 + 1e-9)) * (1 if scaled >= 0 else -1)


def _to_cents_array(amounts: NDArray[np.float64]) -> NDArray[np.int64]:
    """Vectorised :func:`to_cents` (same rounding) for finite amounts."""
    scaled = amounts * CENTS_PER_UNIT
    return (np.sign(scaled) * np.floor(np.abs(scaled) + 0.5 + 1e-9)).astype(np.int64)


def _rate_units(annual_rate: float) -> int:
    if not math.isfinite(annual_rate) or annual_rate < 0:
        raise ValueError(f"annual_rate must be a finite number at least 0, got {annual_rate}")
    return round(annual_rate * _RATE_SCALE)


def _monthly_interest(bearing: int, rate_units: int) -> int:
    """Interest for one month on ``bearing`` cents, rounded half-up to the cent."""
    return (2 * bearing * rate_units + _MONTHLY_DENOMINATOR) // (2 * _MONTHLY_DENOMINATOR)


def _amortise(
    bearing: int,
    unpaid_fees: int,
    rate_units: int,
    payments: Sequence[int],
    waive: Sequence[bool] | None,
    clear_last: bool,
) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    """Run the payment waterfall month by month.

    Returns the payment, interest, principal, fee and balance columns.  Raises
    ``_ClearedEarly`` when a month before the last clears the balance or any
    payment exceeds what is owed, and ``ValueError`` when the last month leaves
    something unpaid (only possible without ``clear_last``).
    """
    n = len(payments)
    pay_col: list[int] = []
    int_col: list[int] = []
    prin_col: list[int] = []
    fee_col: list[int] = []
    bal_col: list[int] = []
    # _monthly_interest inlined (the hot loop of every schedule): the same integer formula
    twice_rate = 2 * rate_units
    half = _MONTHLY_DENOMINATOR
    denominator = 2 * _MONTHLY_DENOMINATOR
    last = n - 1
    for t in range(n):
        if waive is not None and waive[t]:
            interest = 0
        else:
            interest = (bearing * twice_rate + half) // denominator
        owed = bearing + unpaid_fees + interest
        if t == last:
            paid = owed if clear_last else payments[t]
            if paid > owed:
                raise _ClearedEarly(t + 1, owed, paid)
        else:
            paid = payments[t]
            if paid >= owed:
                raise _ClearedEarly(t + 1, owed, paid)
        fee_part = paid if paid < unpaid_fees else unpaid_fees
        unpaid_fees -= fee_part
        principal = paid - fee_part - interest
        bearing -= principal
        pay_col.append(paid)
        int_col.append(interest)
        prin_col.append(principal)
        fee_col.append(fee_part)
        bal_col.append(bearing + unpaid_fees)
    if bal_col[-1] != 0:
        raise ValueError(
            f"payments leave {bal_col[-1] / 100:.2f} unpaid after month {n};"
            " pass clear_last=True to make the last payment clear the balance"
        )
    return pay_col, int_col, prin_col, fee_col, bal_col


def _make_schedule(
    columns: tuple[list[int], list[int], list[int], list[int], list[int]],
    opening_balance: int,
    annual_rate: float,
    start: date | None,
) -> Schedule:
    pay, interest, principal, fees, balance = columns
    return Schedule(
        month=np.arange(1, len(pay) + 1, dtype=np.int64),
        payment=pay,  # type: ignore[arg-type]
        interest=interest,  # type: ignore[arg-type]
        principal=principal,  # type: ignore[arg-type]
        fees=fees,  # type: ignore[arg-type]
        balance=balance,  # type: ignore[arg-type]
        opening_balance=opening_balance,
        annual_rate=annual_rate,
        start=start,
    )


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

    Examples
    --------
    Three months at 12 %, the second one skipped (its interest capitalises):

    >>> s = schedule_from_payments(1000, 0.12, [400, 0, 400])
    >>> s.payment.tolist(), s.interest.tolist(), s.principal.tolist()
    ([40000, 0, 62226], [1000, 610, 616], [39000, -610, 61610])
    >>> s.balance.tolist()
    [61000, 61610, 0]
    """
    _check_start(start)
    if overpay not in ("raise", "truncate"):
        raise ValueError(f"overpay must be 'raise' or 'truncate', got {overpay!r}")
    bearing = to_cents(principal, "principal")
    if bearing <= 0:
        raise ValueError(f"principal must be positive, got {principal}")
    unpaid_fees = to_cents(fees, "fees")
    if unpaid_fees < 0:
        raise ValueError(f"fees must be at least 0, got {fees}")
    rate_units = _rate_units(annual_rate)
    pay = np.asarray(payments, dtype=float).ravel()
    if pay.size == 0:
        raise ValueError("payments must hold at least one month")
    if not np.all(np.isfinite(pay)):
        raise ValueError("payments must be finite")
    pay_cents = _to_cents_array(pay)
    if np.any(pay_cents < 0):
        raise ValueError(
            f"payments must be at least 0, got {pay.min()} in month {int(pay.argmin()) + 1}"
        )
    waive: list[bool] | None = None
    if waive_interest is not None:
        waive_arr = np.asarray(waive_interest, dtype=bool).ravel()
        if waive_arr.shape != pay.shape:
            raise ValueError(
                f"waive_interest must have one entry per month ({pay.size}), got {waive_arr.size}"
            )
        waive = waive_arr.tolist()
    cents = pay_cents.tolist()
    try:
        columns = _amortise(bearing, unpaid_fees, rate_units, cents, waive, clear_last)
    except _ClearedEarly as early:
        if overpay == "raise":
            raise ValueError(
                f"payments clear the balance in month {early.month} of {len(cents)}"
                f" (owed {early.owed / 100:.2f}, paid {early.paid / 100:.2f});"
                " shorten the path or pass overpay='truncate'"
            ) from None
        cents = cents[: early.month]
        waive = None if waive is None else waive[: early.month]
        columns = _amortise(bearing, unpaid_fees, rate_units, cents, waive, clear_last=True)
    return _make_schedule(columns, bearing + unpaid_fees, annual_rate, start)


def _round_to_unit(amount: float, unit: int, up: bool) -> int:
    """Round a cent amount up or down to a multiple of ``unit`` cents."""
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
    deferral_mode: DeferralMode = "capitalize",
    rounding: float = 1.0,
    start: date | None = None,
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
        ``"capitalize"``: pay 0, interest capitalises; ``"interest_only"``: pay
        exactly the month's interest; ``"waive"``: pay 0, no interest accrues.
    rounding
        Rounding unit for a computed last-segment payment (CNY, ≥ 0.01).
    start
        As-of date for the due dates.

    Examples
    --------
    >>> s = step_plan(10_000, 0.06, [(6, 500), (6, None)])
    >>> s.payments.tolist()[:7], float(s.payments[-1])
    ([500.0, 500.0, 500.0, 500.0, 500.0, 500.0, 1233.0], 1228.66)
    """
    _check_start(start)
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
    if deferral_mode not in DEFERRAL_MODES:
        raise ValueError(f"deferral_mode must be one of {DEFERRAL_MODES}, got {deferral_mode!r}")
    if deferral_months < 0:
        raise ValueError(f"deferral_months must be at least 0, got {deferral_months}")
    unit = to_cents(rounding, "rounding")
    if unit < 1 or abs(rounding * CENTS_PER_UNIT - unit) > 1e-6:
        raise ValueError(f"rounding must be a whole number of cents, at least 0.01, got {rounding}")
    base = to_cents(principal, "principal")
    if base <= 0:
        raise ValueError(f"principal must be positive, got {principal}")
    fee_cents = to_cents(fees, "fees")
    if fee_cents < 0:
        raise ValueError(f"fees must be at least 0, got {fees}")
    rate_units = _rate_units(annual_rate)

    bearing = base + fee_cents if capitalize_fees else base
    unpaid_fees = 0 if capitalize_fees else fee_cents
    opening = bearing + unpaid_fees

    # Holiday months: payments and waivers are known in advance because the
    # interest-bearing balance is constant (interest_only, waive) or grows by
    # the capitalised interest (capitalize).
    pay: list[int] = []
    waive: list[bool] = []
    holiday_interest = _monthly_interest(bearing, rate_units)
    for _ in range(deferral_months):
        if deferral_mode == "interest_only":
            pay.append(holiday_interest)
            waive.append(False)
        elif deferral_mode == "waive":
            pay.append(0)
            waive.append(True)
        else:
            pay.append(0)
            waive.append(False)
            bearing += _monthly_interest(bearing, rate_units)
    for months, payment in segments[:-1]:
        pay.extend([to_cents(payment, "payment")] * months)  # type: ignore[arg-type]
        waive.extend([False] * months)
    last_months, last_payment = segments[-1]
    waive.extend([False] * last_months)
    any_waiver = deferral_mode == "waive" and deferral_months > 0

    def build(level: int) -> Schedule:
        path = pay + [level] * last_months
        path[0] += unpaid_fees  # fees not capitalised are due in month 1
        columns = _amortise(
            base + (fee_cents if capitalize_fees else 0),
            unpaid_fees,
            rate_units,
            path,
            waive if any_waiver else None,
            clear_last=True,
        )
        return _make_schedule(columns, opening, annual_rate, start)

    if last_payment is not None:
        try:
            return build(to_cents(last_payment, "payment"))
        except _ClearedEarly as early:
            raise ValueError(
                f"the step payments clear the balance in month {early.month} of {len(waive)};"
                " lower them or shorten the plan"
            ) from None

    # Interest-bearing balance at the start of the last segment.
    if len(segments) > 1:
        prefix = pay.copy()
        prefix[0] += unpaid_fees
        try:
            bearing_then = _prefix_bearing(
                base + (fee_cents if capitalize_fees else 0),
                unpaid_fees,
                rate_units,
                prefix,
                waive[: len(prefix)],
            )
        except _ClearedEarly as early:
            raise ValueError(
                f"the step payments clear the balance in month {early.month} before the last"
                " segment; lower them or shorten the plan"
            ) from None
    else:
        bearing_then = bearing
    exact = float(level_payment(bearing_then, annual_rate, last_months))
    # Round up; per-month interest rounding can still leave the last payment a
    # few cents above the level, so step up a unit until it does not.
    level = _round_to_unit(exact, unit, up=True)
    built: Schedule | None = None
    for _ in range(4):
        try:
            schedule = build(level)
        except _ClearedEarly:
            break
        built = schedule
        if last_months == 1 or schedule.payment[-1] - schedule.fees[-1] <= level:
            return schedule
        level += unit
    if built is not None:
        return built
    # Rounding up clears the balance early: round down instead, else use cents.
    down = _round_to_unit(exact, unit, up=False)
    candidates = [down] if down > 0 else []
    candidates += [math.ceil(exact - 1e-9), math.floor(exact + 1e-9)]
    for level in candidates:
        try:
            return build(level)
        except _ClearedEarly:
            continue
    raise ValueError(  # not reachable for positive balances; kept as a guard
        f"no level payment clears {bearing_then / 100:.2f} in exactly {last_months} months"
    )


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
    deferral_mode: DeferralMode = "capitalize",
    rounding: float = 1.0,
    start: date | None = None,
) -> Schedule:
    """Level instalments (等额本息), optionally after a payment holiday.

    ``deferral_months`` of holiday (see ``deferral_mode``), then level
    instalments over the remaining ``term - deferral_months`` months on the
    balance at that point, rounded **up** to ``rounding``; the last payment
    clears the balance (so it is at most the others).  For graduated payments
    use :func:`step_plan`.

    Parameters
    ----------
    principal
        Restructured interest-bearing balance, CNY (> 0).
    annual_rate
        Nominal annual rate (decimal, ≥ 0).
    term
        Total months, holiday included (≥ 1).
    fees, capitalize_fees, deferral_months, deferral_mode, rounding, start
        As in :func:`step_plan`.

    Examples
    --------
    >>> s = level_plan(50_000, 0.08, 24, deferral_months=3, deferral_mode="interest_only")
    >>> s.payments[:5].tolist(), float(s.payments[-1])
    ([333.33, 333.33, 333.33, 2560.0, 2560.0], 2547.0)
    >>> s.check()
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
    )


# ---------------------------------------------------------------------------
# APR (Regulation Z Appendix J actuarial method, regular monthly periods)
# ---------------------------------------------------------------------------


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
