"""The cent-exact repayment schedule: :class:`Schedule`.

Everything a plan shows or writes is a :class:`Schedule`: one row per month,
held in integer **cents** so that it reconciles exactly (SPEC §2).  The builders
are in :mod:`solver.core.amortisation`.  A schedule computed on a coarser money grid
(``grid = 1``: whole units, the JPY schedules of :mod:`solver.core.currency`) is still
stored in cents, every amount a multiple of 100 of them; :meth:`Schedule.check` checks
that too.

Conventions
-----------
Balance
    ``balance`` is everything still owed after a row: the interest-bearing
    part (principal plus capitalised interest) plus unpaid fees, which bear no
    interest.  The exposure of month ``t`` is the balance before that month's
    payment: the opening balance for ``t = 1``, then ``balance[t-1]``.
Interest
    Accrues monthly at ``annual_rate / 12`` on the interest-bearing part,
    rounded half-up to the grid unit (the cent; the whole unit on ``grid = 1``) every month (the rate is taken to 12 decimal
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
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from solver.core.actuarial import apr
from solver.core.currency import ENGINE_DIGITS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CENTS_PER_UNIT",
    "GRIDS",
    "GRID_DIGITS",
    "Schedule",
    "due_dates_from",
    "exposures_of",
    "long_rows",
    "stacked_columns",
]

#: Cents per currency unit: schedules are stored in hundredths, the finest money grid
#: (:data:`solver.core.currency.ENGINE_DIGITS` decimals).
CENTS_PER_UNIT = 10**ENGINE_DIGITS
#: The money grids a schedule can be computed on, in grid units per currency unit: the
#: values :func:`solver.core.currency.money_grid` takes -- whole units (JPY) and
#: hundredths (the default).
GRIDS = (1, CENTS_PER_UNIT)
#: Decimals of each grid's unit.
GRID_DIGITS = {grid: len(str(grid)) - 1 for grid in GRIDS}

_INT64 = np.dtype(np.int64)
_ROW_FIELDS = ("month", "payment", "interest", "principal", "fees", "balance")


def exposures_of(
    balance: NDArray[np.int64], opening: ArrayLike, live: NDArray[np.bool_] | None = None
) -> NDArray[np.int64]:
    """The exposure of each month of schedules: the balance before its payment (SPEC §2).

    The one definition of the rule: the opening balance for month 1, then the balance
    after the month before, ``balance[t-1]`` (:attr:`Schedule.exposure_cents` of one
    schedule; :func:`solver.plans.metrics.plan_metrics` of many at once).

    Parameters
    ----------
    balance
        Balances after each month's payment in cents, (n, T), one schedule a row.
    opening
        The schedules' opening balances in cents, (n,).
    live
        (n, T): the months each row has (rows of different terms padded); the exposure
        of a month a row does not have is 0. ``None``: every month is live.

    Returns
    -------
    numpy.ndarray
        (n, T) int64 exposures in cents.

    Examples
    --------
    >>> exposures_of(np.array([[700, 300, 0]]), [1000]).tolist()
    [[1000, 700, 300]]
    """
    before = np.zeros(np.shape(balance), dtype=np.int64)
    before[:, 0] = opening
    prior = balance[:, :-1]
    before[:, 1:] = prior if live is None else np.where(live[:, 1:], prior, 0)
    return before


def interest_of_paths(payments: NDArray[Any], exposures: NDArray[Any]) -> NDArray[Any]:
    """Interest charged each month of schedules given as payment and exposure paths (n, T),
    zeros past each schedule's term: the balance after month ``t`` is the exposure of month
    ``t + 1`` (0 after the last), so ``interest_t = balance_t − balance_{t−1} + payment_t``
    (SPEC §2). In the paths' own units (cents in, cents out).

    >>> interest_of_paths(np.array([[1000, 600]]), np.array([[1500, 600]])).tolist()
    [[100, 0]]
    """
    after = np.zeros_like(exposures)
    after[:, :-1] = exposures[:, 1:]
    return after - exposures + payments


def stacked_columns(schedules: Sequence[Schedule]) -> NDArray[np.int64]:
    """The cent rows of ``schedules`` one after another: a ``(5, R)`` int64 array of their
    payment, interest, principal, fee and balance rows (the order of
    :meth:`Schedule.from_columns`), ``R`` the sum of their terms -- many schedules carried
    as one array (a portfolio's followed schedules, :mod:`solver.plans.portfolio`).

    >>> s = Schedule([1], [1000], [10], [990], [0], [0], 990, 0.12)
    >>> stacked_columns([s, s]).tolist()
    [[1000, 1000], [10, 10], [990, 990], [0, 0], [0, 0]]
    """
    if not schedules:
        return np.zeros((5, 0), dtype=np.int64)
    return np.stack(
        [np.concatenate([getattr(s, name) for s in schedules]) for name in _ROW_FIELDS[1:]]
    )


def long_rows(columns: NDArray[np.int64], term: ArrayLike) -> dict[str, NDArray[np.int64]]:
    """Schedules held one after another (:func:`stacked_columns`) as the columns of one
    long table: ``row`` (which schedule: 0, 1, ...), ``month`` (1..its term) and the cent
    columns ``payment``, ``interest``, ``principal``, ``fees``, ``balance`` as they are.

    ``term`` gives each schedule's months in order (0: a schedule with no rows).

    >>> rows = long_rows(np.array([[5, 6, 7]] * 5), [2, 0, 1])
    >>> rows["row"].tolist(), rows["month"].tolist(), rows["payment"].tolist()
    ([0, 0, 2], [1, 2, 1], [5, 6, 7])
    """
    term = np.asarray(term, dtype=np.int64)
    if columns.shape != (5, int(term.sum())):
        raise ValueError(f"columns must be (5, {int(term.sum())}), got {columns.shape}")
    row = np.repeat(np.arange(term.shape[0]), term)
    first = np.cumsum(term) - term  # where each schedule's rows begin
    month = np.arange(row.shape[0]) - first[row] + 1
    return {"row": row, "month": month, **dict(zip(_ROW_FIELDS[1:], columns, strict=True))}


def due_dates_from(start: date, months: int) -> list[date]:
    """The due dates of months ``1..months`` of a schedule dated ``start`` (month ``t`` is
    due ``t`` calendar months later, the day clipped to the month's end): the one rule of
    :attr:`Schedule.due_dates`.

    >>> [d.isoformat() for d in due_dates_from(date(2026, 1, 31), 2)]
    ['2026-02-28', '2026-03-31']
    """
    return [_add_months(start, t) for t in range(1, months + 1)]


def _add_months(start: date, months: int) -> date:
    """``start`` plus whole calendar months, the day clipped to the month's end."""
    year, month0 = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


@lru_cache(maxsize=512)
def _months(term: int) -> NDArray[np.int64]:
    """The read-only month numbers 1..term (shared by every schedule of that term)."""
    arr = np.arange(1, term + 1, dtype=np.int64)
    arr.setflags(write=False)
    return arr


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
    grid
        The money grid it was computed on, units per currency unit (:data:`GRIDS`):
        every amount is a multiple of ``CENTS_PER_UNIT // grid`` cents.
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
    grid: int = CENTS_PER_UNIT

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
        if self.grid not in GRIDS:
            raise ValueError(f"grid must be one of {GRIDS}, got {self.grid!r}")

    @classmethod
    def from_columns(
        cls,
        columns: NDArray[np.int64],
        opening_balance: int,
        annual_rate: float,
        start: date | None = None,
        grid: int = CENTS_PER_UNIT,
    ) -> Schedule:
        """The schedule of a ``(5, T)`` int64 array of cents -- the payment, interest,
        principal, fee and balance rows -- that the caller hands over (the money engine's
        own output: it is made read-only and its rows are used without a copy)."""
        shape = columns.shape
        if columns.dtype != _INT64 or len(shape) != 2 or shape[0] != 5 or shape[1] == 0:
            raise ValueError(f"columns must be a (5, T >= 1) int64 array, got {shape}")
        if grid not in GRIDS:
            raise ValueError(f"grid must be one of {GRIDS}, got {grid!r}")
        columns.setflags(write=False)
        self = object.__new__(cls)
        # a frozen dataclass: its fields set as __post_init__ does, the rows without copies
        self.__dict__.update(
            zip(_ROW_FIELDS, (_months(shape[1]), *columns), strict=True),
            opening_balance=int(opening_balance),
            annual_rate=float(annual_rate),
            start=start,
            grid=grid,
        )
        return self

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
    def exposure_cents(self) -> NDArray[np.int64]:
        """Balance before each month's payment in cents (read-only): the opening balance,
        then ``balance[t-1]``."""
        before = exposures_of(self.balance[None, :], [self.opening_balance])[0]
        before.setflags(write=False)
        return before

    @cached_property
    def exposures(self) -> NDArray[np.float64]:
        """Balance before each month's payment in CNY (:attr:`exposure_cents` / 100)."""
        return _readonly_float(self.exposure_cents / CENTS_PER_UNIT)

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
        return due_dates_from(self.start, self.term)

    def apr(self) -> float:
        """APR of the payments, taking the opening balance as the amount
        (see :func:`~solver.core.actuarial.apr`)."""
        return apr(self.opening_balance / CENTS_PER_UNIT, self.payments)

    # -- checks ---------------------------------------------------------------

    def check(self) -> None:
        """Raise ``ValueError`` unless every money identity holds exactly (in cents).

        Checks, row by row: ``payment = interest + principal + fees``,
        ``balance[t] = balance[t-1] + interest[t] - payment[t]`` (opening
        balance before month 1), no negative balance or payment, the last
        balance is 0, ``sum(principal) + sum(fees) = opening_balance``, and every amount
        lies on the schedule's grid.
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
        step = CENTS_PER_UNIT // self.grid
        if step > 1:
            if self.opening_balance % step:
                raise ValueError(f"opening balance is off the grid of {step} cents")
            for name in _ROW_FIELDS[1:]:
                bad = np.flatnonzero(getattr(self, name) % step)
                if bad.size:
                    raise ValueError(f"month {bad[0] + 1}: {name} is off the grid of {step} cents")

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
