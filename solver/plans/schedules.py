"""Cent-exact schedules of the winning plans and their policy check (SPEC §2, §5).

The searches work in floats (level families) or on a payment grid (``custom``,
``step``); a winner is rebuilt here as a cent-exact
:class:`~solver.core.schedule.Schedule` and checked against the policy again, and its
payment phases are read off for the report.

Every builder takes the policy currency's money ``grid``
(:func:`solver.core.currency.money_grid`: 100 hundredths, 1 whole units for JPY) and
passes it to the engine, so a JPY winner is rebuilt in whole yen.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
from numba import njit

from solver.core.amortisation import level_plan, schedule_from_payments, to_cents
from solver.core.schedule import CENTS_PER_UNIT, Schedule
from solver.domain import DeferralMode
from solver.plans.context import CAP_TOL, PlanContext, level_amounts, path_phases
from solver.plans.families import MODE_NAMES, Candidates
from solver.plans.terms import holiday_runs, mid_plan_months


def level_schedule(cand: Candidates, i: int, unit: float, grid: int = CENTS_PER_UNIT) -> Schedule:
    """Row ``i`` of a level family's candidates as a cent-exact schedule on the money
    ``grid``, instalments rounded to ``unit`` (a forborne balloon paid with the last one);
    ``ValueError`` if no such schedule exists. Amounts are rounded to the grid as every
    amount is (:func:`~solver.core.amortisation.to_cents`, half away from zero)."""
    bal, rate, term = float(cand.balance[i]), float(cand.rate[i]), int(cand.term[i])
    if cand.family == "settlement":
        return settlement_schedule(bal, term, unit, grid)
    D = int(cand.deferral[i])
    mode = cast(DeferralMode, MODE_NAMES[int(cand.mode[i])])
    base = level_plan(
        bal, rate, term, deferral_months=D, deferral_mode=mode, rounding=unit, grid=grid
    )
    # the balloon in cents, on the grid
    balloon = to_cents(float(cand.balloon[i]), "balloon", grid) * (CENTS_PER_UNIT // grid)
    if balloon <= 0:
        return base
    # principal forbearance: an interest-free balloon owed on top, paid with the last instalment
    cols = np.stack([base.payment, base.interest, base.principal, base.fees, base.balance])
    cols[0, -1] += balloon
    cols[2, -1] += balloon
    cols[4, :-1] += balloon
    return Schedule.from_columns(
        cols, base.opening_balance + balloon, base.annual_rate, grid=base.grid
    )


def settlement_schedule(
    amount: float, months: int, unit: float, grid: int = CENTS_PER_UNIT
) -> Schedule:
    """``amount`` paid interest-free in ``months`` equal instalments, the last one clearing
    the rest: the instalment rounded up to ``unit``, else (the months before the last would
    clear the amount) down to it, else to the grid unit.

    The amount is rounded to the money ``grid`` first and the instalment derived from that
    (in integer grid units): the schedule's own balance, as every builder rounds its inputs
    once on the way in. (Deriving it from the unrounded amount, as this did before, rounded
    23.280379 over 3 months to 7.77, 7.77, 7.74 where the schedule's 23.28 gives 7.76 three
    times.) Unlike :func:`~solver.core.amortisation.level_plan`'s rule 3, a unit above the
    instalment rounds it down to 0 -- nothing until the last month -- as the settlement
    rule of ``tests/oracles.py`` states; ``ValueError`` if no instalment clears the amount.
    """
    total = to_cents(amount, "amount", grid)  # grid units
    step = max(to_cents(unit, "unit", grid), 1)  # a unit finer than the grid is the grid
    exact = total / months
    for level in (
        math.ceil(exact / step - 1e-9) * step,
        math.floor(exact / step + 1e-9) * step,
        math.floor(exact + 0.5),
    ):
        try:
            return schedule_from_payments(
                total / grid, 0.0, np.full(months, level / grid), grid=grid
            )
        except ValueError:
            continue
    raise ValueError("no settlement instalment clears the amount")


def path_schedule(
    balance: float, rate: float, payments: np.ndarray, grid: int = CENTS_PER_UNIT
) -> Schedule:
    """The cent-exact schedule of a ``custom`` / ``step`` payment path on the money
    ``grid`` (the last payment clears the balance)."""
    return schedule_from_payments(balance, rate, payments, clear_last=True, grid=grid)


def schedule_ok(
    ctx: PlanContext, i: int, sched: Schedule, max_zero: int, limit_levels: bool = True
) -> tuple[bool, str]:
    """Policy check of a cent-exact schedule (SPEC §5), with the reason when it fails.

    ``limit_levels=False`` for ``custom``, the free month-by-month schedule: issue 13
    decided that ``max_payment_levels`` limits graduated (``step``) and level plans,
    not the customised schedule fitted to the customer's cash flow.

    The one-row case of :func:`~solver.plans.context.feasible_paths` and
    :func:`~solver.plans.context.phases` (the same comparisons on 1-D arrays; compiled,
    :func:`_check_schedule`).
    """
    pol = ctx.policy
    T = sched.term
    if T > ctx.horizon:
        return False, f"term {T} exceeds max_term_months {ctx.horizon}"
    code, count = _check_schedule(
        sched.payment,
        ctx.cap[i, :T],
        float(pol.min_payment),
        int(pol.max_payment_levels) if limit_levels else T + 1,
        int(max_zero),
    )
    if code == _OVER_OR_SMALL:
        return False, "a payment exceeds the affordable amount or is below min_payment"
    if code == _TOO_MANY_LEVELS:
        return False, f"more than max_payment_levels = {pol.max_payment_levels} payment levels"
    if code == _TOO_MANY_ZEROS:
        return (
            False,
            f"{count} months in a row without payment exceed max_deferral_months "
            f"{pol.max_deferral_months}",
        )
    late = mid_plan_months(holiday_runs(sched.payment))
    if late and not pol.holidays_mid_plan:
        return (
            False,
            f"month {late[0]} has no payment after the first payment (holidays_mid_plan = false)",
        )
    return True, ""


# outcomes of _check_schedule
_OK, _OVER_OR_SMALL, _TOO_MANY_LEVELS, _TOO_MANY_ZEROS = 0, 1, 2, 3


@njit(cache=True)
def _check_schedule(
    cents: np.ndarray, cap: np.ndarray, min_payment: float, max_levels: int, max_zero: int
) -> tuple[int, int]:  # pragma: no cover - compiled
    """``(outcome, count)`` of :func:`schedule_ok`'s checks, in its order, on a schedule's
    payments in cents: a paying month above its cap (beyond ``CAP_TOL``) or one before the
    last below ``min_payment``; more than ``max_levels`` phases
    (:func:`~solver.plans.context.path_phases`);
    a run of more than ``max_zero`` months in a row without payment before the last
    (``count``: the longest; :func:`longest_holiday`).
    Amounts are compared in currency units (``cents / 100``, the schedule's ``payments``).

    Decision (issue 13, session 14): a month without payment may fall anywhere in a plan
    (a capitalised holiday month: the payment is 0, the interest is added to the
    balance); SPEC §5's ``max_deferral_months`` limits each run of such months, the
    leading holiday being one. The caps (``max_dti``, ``min_residual_income``,
    ``min_afford_prob``) limit the payment asked, so a month without payment passes them
    (as the leading holiday always has): the holiday is the remedy for a month the
    customer cannot pay, and other_debt / Ī_t is not the plan's to change."""
    T = cents.shape[0]
    for t in range(T):
        if cents[t] > 0:
            pay = cents[t] / CENTS_PER_UNIT
            c = cap[t]
            if pay > c + CAP_TOL * max(1.0, abs(c)) or (t < T - 1 and pay < min_payment - 1e-9):
                return _OVER_OR_SMALL, 0
    phases = path_phases(cents, T)
    if phases > max_levels:
        return _TOO_MANY_LEVELS, phases
    zeros = longest_holiday(cents)
    if zeros > max_zero:
        return _TOO_MANY_ZEROS, zeros
    return _OK, 0


@njit(cache=True)
def longest_holiday(cents: np.ndarray) -> int:  # pragma: no cover - compiled
    """The longest run of months in a row without payment before the last month of a
    payment path (the last month clears: it is never one)."""
    best = run = 0
    for t in range(cents.shape[0] - 1):
        run = run + 1 if cents[t] == 0 else 0
        best = max(best, run)
    return best


def phase_count(payments: np.ndarray) -> int:
    """:func:`~solver.plans.context.path_phases` of one whole payment path (amounts)."""
    amounts = np.round(np.asarray(payments, dtype=float), 2)
    return int(path_phases(amounts, amounts.shape[0]))


def payment_levels(payments: np.ndarray) -> tuple[float, ...]:
    """Distinct payment phases (amounts), in order (:func:`~solver.plans.context.level_amounts`
    of the amounts rounded to cents)."""
    return tuple(level_amounts(np.round(np.asarray(payments, dtype=float), 2)).tolist())


def schedule_levels(sched: Schedule) -> tuple[float, ...]:
    """:func:`payment_levels` of a schedule's payments, read from its cents (the same
    values: a payment of ``c`` cents is ``c / 100`` rounded to 2 decimals; numpy's
    division of the int64 cents is Python's ``c / 100``, both correctly rounded)."""
    return tuple((level_amounts(sched.payment) / CENTS_PER_UNIT).tolist())


def contract_affordable(ctx: PlanContext, i: int, status_quo: Any) -> bool:
    """Whether account ``i``'s contract (``status_quo``: its reported option, with its
    schedule and metrics) meets the affordability rules in every payment month: ``max_dti``,
    ``min_afford_prob`` (the option's figures, over its whole term) and
    ``min_residual_income`` (against ``ctx.cap_residual``; months past the plan horizon
    are read at its last month). The policy's ``need_test`` recommends no plan then."""
    pol = ctx.policy
    if not (status_quo.max_dti <= pol.max_dti + 1e-12):
        return False
    if not (status_quo.min_afford_prob >= pol.min_afford_prob - 1e-12):
        return False
    pay = status_quo.schedule.payment / CENTS_PER_UNIT
    months = np.minimum(np.arange(pay.size), ctx.horizon - 1)
    room = ctx.cap_residual[i, months]
    return bool(np.all((pay <= 0) | (pay <= room + 1e-9 * np.maximum(np.abs(room), 1.0))))
