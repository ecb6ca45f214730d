"""Building cent-exact schedules: the builders :func:`schedule_from_payments`,
:func:`step_plan` and :func:`level_plan` (:func:`to_cents` and :func:`to_units`, the one
rounding to the money grid, are the engine's: :mod:`solver.core.waterfall`).

Inputs are floats in the currency unit; they are rounded to the grid once, on the way in
(:func:`to_cents` for the default grid). The conventions of the rows (balance, interest,
the payment waterfall, dates) are those of :class:`~solver.core.schedule.Schedule`.

The money grid
    ``grid`` is the number of grid units per currency unit (100, or 1 for whole units);
    the waterfall runs in integer grid units and the schedule is stored in cents: the
    engine, :mod:`solver.core.waterfall`, says how.

Rounding of instalments
    Rounded up, the last payment absorbing the rest; the whole rule (also for a unit coarse
    against the instalment) is stated once, in :func:`level_plan` (:func:`step_plan` too).
Speed
    The waterfall is compiled (:mod:`solver.core.waterfall`), and so is the walk that
    chooses a level plan's level (one call a plan), each with an exact fallback beyond
    int64. The cross-account hot paths use the vectorised
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
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from solver.core.level_walk import _level_last_segment, _StepPlan
from solver.core.schedule import CENTS_PER_UNIT, Schedule
from solver.core.waterfall import (
    _amortise,
    _check_grid,
    _check_start,
    _ClearedEarly,
    _make_schedule,
    _monthly_interest,
    _opening_units,
    _rate_units,
    _text,
    _to_units_array,
    _units_or_none,
    to_cents,
    to_units,
)
from solver.domain import DEFERRAL_MODES, DeferralMode

__all__ = ["level_plan", "schedule_from_payments", "step_plan", "to_cents", "to_units"]

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
    pay, bearing_after_holiday, waived = _holiday(
        bearing, rate_units, deferral_months, deferral_mode
    )
    for months, payment in segments[:-1]:
        pay.extend([to_cents(payment, "payment", grid)] * months)  # type: ignore[arg-type]
    last_months, last_payment = segments[-1]
    term = len(pay) + last_months
    waive: NDArray[np.bool_] | None = None
    if waived:
        waive = np.zeros(term, dtype=np.bool_)
        waive[:waived] = True
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
) -> tuple[list[int], int, int]:
    """Payments of the holiday months, the interest-bearing balance after, and how many
    of the plan's first months are waived (no interest accrues): a ``waive`` holiday's
    months, and only they -- the one place that says which months a plan waives.

    They are known in advance because the interest-bearing balance is constant
    (interest_only, waive) or grows by the capitalised interest (capitalize).
    """
    if months == 0:
        return [], bearing, 0
    if mode == "interest_only":
        return [_monthly_interest(bearing, rate_units)] * months, bearing, 0
    if mode == "waive":
        return [0] * months, bearing, months
    for _ in range(months):
        bearing += _monthly_interest(bearing, rate_units)
    return [0] * months, bearing, 0


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
