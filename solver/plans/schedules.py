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
from typing import cast

import numpy as np

from solver.core.amortisation import level_plan, schedule_from_payments
from solver.core.currency import money_grid
from solver.core.schedule import CENTS_PER_UNIT, GRID_DIGITS, Schedule
from solver.domain import DeferralMode
from solver.plans.context import CAP_TOL, PlanContext
from solver.plans.families import MODE_NAMES, Candidates


def grid_of(ctx: PlanContext) -> int:
    """The money grid of the context's policy currency (:func:`money_grid`)."""
    return money_grid(ctx.policy.currency)


def level_schedule(cand: Candidates, i: int, unit: float, grid: int = CENTS_PER_UNIT) -> Schedule:
    """Row ``i`` of a level family's candidates as a cent-exact schedule on the money
    ``grid``, instalments rounded to ``unit`` (a forborne balloon paid with the last one);
    ``ValueError`` if no such schedule exists."""
    bal, rate, term = float(cand.balance[i]), float(cand.rate[i]), int(cand.term[i])
    if cand.family == "settlement":
        exact = bal / term
        for level in (
            math.ceil(exact / unit - 1e-9) * unit,
            math.floor(exact / unit + 1e-9) * unit,
            round(exact, GRID_DIGITS[grid]),
        ):
            try:
                return schedule_from_payments(bal, 0.0, [level] * term, grid=grid)
            except ValueError:
                continue
        raise ValueError("no settlement instalment clears the amount")
    D = int(cand.deferral[i])
    mode = cast(DeferralMode, MODE_NAMES[int(cand.mode[i])])
    base = level_plan(
        bal, rate, term, deferral_months=D, deferral_mode=mode, rounding=unit, grid=grid
    )
    # the balloon in cents, on the grid
    balloon = int(round(float(cand.balloon[i]) * grid)) * (CENTS_PER_UNIT // grid)
    if balloon <= 0:
        return base
    # principal forbearance: an interest-free balloon owed on top, paid with the last instalment
    pay = base.payment.copy()
    prin = base.principal.copy()
    bal_c = base.balance.copy()
    pay[-1] += balloon
    prin[-1] += balloon
    bal_c[:-1] += balloon
    return Schedule(
        month=base.month,
        payment=pay,
        interest=base.interest,
        principal=prin,
        fees=base.fees,
        balance=bal_c,
        opening_balance=base.opening_balance + balloon,
        annual_rate=base.annual_rate,
        grid=base.grid,
    )


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
    :func:`~solver.plans.context.phases` (the same comparisons on 1-D arrays).
    """
    pol = ctx.policy
    pay = sched.payments
    T = pay.shape[0]
    if T > ctx.horizon:
        return False, f"term {T} exceeds max_term_months {ctx.horizon}"
    paying = pay > 0
    cap = ctx.cap[i, :T]
    over = paying & (pay > cap + CAP_TOL * np.maximum(1.0, np.abs(cap)))
    small = paying[:-1] & (pay[:-1] < pol.min_payment - 1e-9)  # the final payment is exempt
    if over.any() or small.any():
        return False, "a payment exceeds the affordable amount or is below min_payment"
    if limit_levels and phase_count(pay) > pol.max_payment_levels:
        return False, f"more than max_payment_levels = {pol.max_payment_levels} payment levels"
    zeros = int(np.count_nonzero(pay[:-1] == 0))
    if zeros > max_zero:
        return (
            False,
            f"{zeros} months without payment exceed max_deferral_months {pol.max_deferral_months}",
        )
    return True, ""


def phase_count(payments: np.ndarray) -> int:
    """:func:`~solver.plans.context.phases` of one whole payment path."""
    p = np.round(payments, 2)
    prev = np.empty_like(p)
    prev[0] = 0.0
    prev[1:] = p[:-1]
    starts = (p > 0) & (p != prev)
    count = int(np.count_nonzero(starts))
    if starts[-1] and prev[-1] > 0 and p[-1] <= prev[-1]:  # the last phase's remainder
        count -= 1
    return count


def payment_levels(payments: np.ndarray) -> tuple[float, ...]:
    """Distinct payment phases (amounts), in order."""
    out: list[float] = []
    pay = np.round(np.asarray(payments, float), 2).tolist()  # Python floats: the same values
    last = len(pay) - 1
    for k, p in enumerate(pay):
        if p <= 0:
            continue
        if k == last and out and p <= out[-1]:
            break
        if not out or p != out[-1]:
            out.append(p)
    return tuple(out)
