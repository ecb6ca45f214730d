"""The last segment of a step or level plan and the walk that chooses its level: the
rule stated in :func:`~solver.core.amortisation.level_plan`, run on the payment
waterfall of :mod:`solver.core.waterfall`.

The walk is compiled (:func:`_level_columns_int64`: one call a plan, every level it tries
run inside it) with the exact walk (:func:`_level_columns_exact`, one waterfall per level,
in Python integers beyond int64) as its fallback and its reference
(``tests/test_amortisation_compiled.py`` checks that they agree).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from solver.core.annuity import level_payment
from solver.core.schedule import Schedule
from solver.core.waterfall import (
    _DONE,
    _EARLY,
    _INT64_AMOUNT,
    _OVERFLOW,
    _amortise,
    _ClearedEarly,
    _interest_terms,
    _make_schedule,
    _monthly_interest,
    _no_waiver,
    _waterfall_int64,
)


def _round_to_unit(amount: float, unit: int, up: bool) -> int:
    """Round a grid amount up or down to a multiple of ``unit`` grid units."""
    q = amount / unit
    # tolerance so that float noise on an exact multiple does not add a unit
    steps = math.ceil(q - 1e-9) if up else math.floor(q + 1e-9)
    return steps * unit


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
        waive = None if self.waive is None else self.waive[: len(prefix)].tolist()
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
    if not exact <= _INT64_AMOUNT:  # NaN too
        return _OVERFLOW, np.empty((5, 0), dtype=np.int64)
    plan = (bearing, unpaid_fees, terms, path, k, waive)
    for attempt in range(2):
        step = unit if attempt == 0 else 1
        if attempt == 1 and unit == 1:
            break
        code, cols = _level_on_grid_int64(plan, exact, step)
        if code != _EARLY:
            return code, cols
    return _level_try_int64(plan, 0)


@njit(cache=True)
def _level_try_int64(plan: Any, level: int) -> tuple[int, NDArray[np.int64]]:  # pragma: no cover
    """:meth:`_StepPlan.columns` of ``level`` compiled: the waterfall's code and rows
    (``plan``: the arguments of :func:`_level_columns_int64` before ``exact``)."""
    bearing, unpaid_fees, terms, path, k, waive = plan
    first = path[0] if k > 0 else level
    path[k:] = level
    path[0] = first + unpaid_fees  # fees not capitalised are due in month 1
    code, _, _, _, cols = _waterfall_int64(bearing, unpaid_fees, terms, path, waive, True)
    path[0] = first
    return code, cols


@njit(cache=True)
def _level_on_grid_int64(
    plan: Any, exact: float, step: int
) -> tuple[int, NDArray[np.int64]]:  # pragma: no cover - compiled
    """:func:`_level_on_grid` compiled: ``(_DONE, columns)``, ``(_EARLY, _)`` when no
    multiple of ``step`` is admissible, or ``(_OVERFLOW, _)``."""
    path, k = plan[3], plan[4]
    last = path.shape[0] - 1
    level = max(math.ceil(exact / step - 1e-9) * step, step)  # _round_to_unit, up
    code, cols = _level_try_int64(plan, level)
    if code == _EARLY:  # rule 2: the largest admissible multiple below
        level -= step
        while level >= step:
            code, cols = _level_try_int64(plan, level)
            if code != _EARLY:
                return code, cols
            level -= step
        return _EARLY, cols
    if code == _OVERFLOW:
        return code, cols
    while last - k > 0 and cols[0, last] - cols[3, last] > level:  # rule 1, else 2
        code, higher = _level_try_int64(plan, level + step)
        if code == _OVERFLOW:
            return code, higher
        if code == _EARLY:
            break
        cols, level = higher, level + step
    return _DONE, cols


def _prefix_bearing(
    bearing: int,
    unpaid_fees: int,
    rate_units: int,
    payments: list[int],
    waive: list[bool] | None,
) -> int:
    """Interest-bearing balance after a payment prefix (raises ``_ClearedEarly`` on overpay);
    ``waive`` as in :func:`~solver.core.waterfall._amortise_exact` (``None``: no month)."""
    for t, paid in enumerate(payments):
        interest = 0 if waive is not None and waive[t] else _monthly_interest(bearing, rate_units)
        owed = bearing + unpaid_fees + interest
        if paid >= owed:
            raise _ClearedEarly(t + 1, owed, paid)
        fee_part = min(paid, unpaid_fees)
        unpaid_fees -= fee_part
        bearing -= paid - fee_part - interest
    return bearing
