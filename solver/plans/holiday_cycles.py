"""Holiday cycles: the ``custom`` search's one kind of plan with holidays mid-plan.

The grid search (:mod:`solver.plans.search`) allows a holiday only at the start. The
free family (issue 13, session 14) allows a capitalised holiday in any month, in runs of
at most ``max_deferral_months`` = D. Where the free optimum uses that, it nearly always
takes one shape (session 16, ``docs/free_family.md``: the free plan of every account of
``generate_portfolio(300, seed=11)`` and ``12`` losing more than 1 % to it with holidays
mid-plan): the longest leading holiday, then ``min_payment`` and D months without payment
in turn, for years, and then a run of grid-like payments to the end -- a plan on a low
payment keeps the re-default hazard low while the capitalised balance, and the recovery
on default with it, grows.

:func:`holiday_cycles` walks that prefix (D months of holiday, ``min_payment``, D months
of holiday, ``min_payment``, …) for every ``custom`` row that may hold a holiday and has
``min_payment`` on its grid, cent-exact and valued as the search values its states, and
offers the walk's state at the start of every month from the one after its (K + 1)-th
payment on (K = ``max_payment_levels``) to the search, which continues it like any other
state: grid amounts, no further holiday. So a found plan has at least K + 1 phases and
is never a ``step`` plan (step keeps its holiday at the start). The walk stops at the
first month where ``min_payment`` is above the cap.

Decision: a heuristic extension, not a certified family. The bound tables (and so the
certificate) cover the grid plans with a leading holiday only; the walk's continuations
are bounded by the same tables (they hold no further holiday, so the tables are a valid
bound for them), but other mid-plan holiday patterns are not searched. A plan found this
way can only raise the plan's value: its certificate still says how far no grid plan
with a leading holiday can be above it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from solver.core.schedule import CENTS_PER_UNIT
from solver.plans.context import PlanContext
from solver.plans.payment_grid import MONTHLY_DEN, grid_cents


@dataclass(frozen=True)
class Cycles:
    """The walks offered to the search, one row per walking account ``acc``: the balance
    entering each month ``B`` (cents), the value and survival so far ``v`` and ``s`` (m,
    H + 1: entering month t at column t), the first and last month a walk's state is
    offered (``first``, ``end``), the payment code its states carry (``code``: the grid
    index of ``min_payment`` + 1); ``paid`` (n, H) the walks' payments in cents (to fill
    in a plan's prefix); ``last`` the last month offered (−1: none)."""

    acc: np.ndarray
    B: np.ndarray
    v: np.ndarray
    s: np.ndarray
    first: np.ndarray
    end: np.ndarray
    code: np.ndarray
    paid: np.ndarray
    last: int


def holiday_cycles(
    ctx: PlanContext,
    amt_c: np.ndarray,
    holiday: np.ndarray,
    custom_rows: np.ndarray,
    act_ok: np.ndarray,
    act_vals: np.ndarray,
    rates: tuple[np.ndarray, np.ndarray],
    on: int,
) -> Cycles:
    """The holiday-cycle walks of the ``custom`` rows (``custom_rows``, bool (n,)).

    ``amt_c``: the grid in cents; ``holiday``: the longest holiday D per account
    (:func:`solver.plans.payment_grid.holiday_months`); ``act_ok`` / ``act_vals``: the
    search's actions (:func:`solver.plans.search_tables.search_actions`; the holiday is
    the last action); ``rates``: the monthly rate as a float factor and in units of 10⁻¹²
    a year (as the search owes interest); ``on``: cents per money-grid step. Values and
    survivals grow as :func:`solver.plans.beam_step._grow` grows a state, on the same
    numbers in the same order (so a plan's value is the one the search would give it):
    the balances first (compiled, :func:`_walk`), then the recoveries in one call of the
    model and the values by running sums.
    """
    n, H = len(ctx), ctx.horizon
    G = amt_c.shape[1]
    pol = ctx.policy
    unit = pol.rounding
    low = np.ceil(max(pol.min_payment, unit) / unit - 1e-9) * unit
    low_c = int(grid_cents(np.array([low]), CENTS_PER_UNIT // on)[0])
    on_grid = amt_c == low_c
    g_low = np.argmax(on_grid, axis=1)
    K = int(pol.max_payment_levels)
    D = holiday.astype(np.int64)
    first = (K + 1) * (D + 1)  # the month after the (K + 1)-th payment of min_payment
    acc = np.flatnonzero(custom_rows & (D >= 1) & on_grid.any(axis=1) & (first <= H - 1))
    paid = np.zeros((n, H), np.int64)
    if acc.size == 0:
        z = np.zeros((0, H + 1))
        return Cycles(acc, z.astype(np.int64), z, z, acc, acc, acc, paid, -1)
    rate_f, rate_units = rates
    B0 = grid_cents(ctx.balance, CENTS_PER_UNIT // on)[acc]
    pays_ok = np.ascontiguousarray(act_ok[:, acc, g_low[acc]].T)  # (m, H)
    B, pay, end, near = _walk(B0, rate_f[acc], on, D[acc], low_c, pays_ok)
    for k in np.flatnonzero(near).tolist():  # interest within float noise of half a unit
        B[k], pay[k], end[k] = _walk_exact(
            int(B0[k]), int(rate_units[acc[k]]), on, int(D[acc[k]]), low_c, pays_ok[k]
        )
    paid[acc] = pay
    rec = ctx.kernel.recovery(acc, B[:, :H] / CENTS_PER_UNIT)  # (m, H): month t at column t
    t = np.arange(H)
    ai = np.where(pay > 0, g_low[acc][:, None], G)
    vals = act_vals[t[None, :], acc[:, None] * (G + 1) + ai]  # (m, H, 3)
    grow = vals[..., 0] + vals[..., 1] * rec
    s = np.ones((acc.size, H + 1))
    np.cumprod(vals[..., 2], axis=1, out=s[:, 1:])
    v = np.zeros((acc.size, H + 1))
    np.cumsum(s[:, :-1] * grow, axis=1, out=v[:, 1:])
    fa = first[acc]
    live = end >= fa
    last = int(end[live].max(initial=-1))
    return Cycles(acc, B, v, s, fa, np.where(live, end, -1), g_low[acc] + 1, paid, last)


@njit(cache=True)
def _walk(
    B0: np.ndarray, rate_f: np.ndarray, on: int, D: np.ndarray, low_c: int, pays_ok: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Balances entering each month (m, H + 1), payments (m, H) and the last month entered
    (m,) of the walks from ``B0``: month t pays ``low_c`` if t % (D + 1) == D (while it is
    within the cap, ``pays_ok``, and below what is owed), else nothing; interest as
    :func:`solver.plans.beam_clearing.owed_cents` owes it; ``near``: a walk whose interest came
    within float noise of half a unit (the caller redoes it exactly)."""
    m, H = pays_ok.shape
    B = np.zeros((m, H + 1), np.int64)
    pay = np.zeros((m, H), np.int64)
    end = np.zeros(m, np.int64)
    near = np.zeros(m, np.bool_)
    for k in range(m):
        b = B0[k]
        B[k, 0] = b
        for t in range(H - 1):
            units = b // on
            x = units * rate_f[k]
            if abs((x - math.floor(x)) - 0.5) < 1e-5:
                near[k] = True
            owed = (units + np.int64(math.floor(x + 0.5))) * on
            p = 0
            if t % (D[k] + 1) == D[k]:
                if not pays_ok[k, t] or low_c >= owed:
                    break
                p = low_c
            pay[k, t] = p
            b = owed - p
            B[k, t + 1] = b
            end[k] = t + 1
    return B, pay, end, near


def _walk_exact(
    B0: int, rate_units: int, on: int, D: int, low_c: int, pays_ok: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`_walk` of one account with the interest in exact integers (the rule of
    :func:`solver.plans.payment_grid.exact_owed`)."""
    H = pays_ok.size
    B = np.zeros(H + 1, np.int64)
    pay = np.zeros(H, np.int64)
    b, end = B0, 0
    B[0] = b
    for t in range(H - 1):
        units = b // on
        owed = (units + (2 * units * rate_units + MONTHLY_DEN) // (2 * MONTHLY_DEN)) * on
        p = 0
        if t % (D + 1) == D:
            if not pays_ok[t] or low_c >= owed:
                break
            p = low_c
        pay[t] = p
        b = owed - p
        B[t + 1] = b
        end = t + 1
    return B, pay, end


def with_cycles(
    cyc: Cycles,
    t: int,
    frontier: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    layer: tuple[np.ndarray, np.ndarray],
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, np.ndarray]]:
    """The frontier entering month t (``f_acc``, ``f_fam_sc``, ``f_B``, ``f_v``, ``f_s``)
    with the walks' states of month t added, still grouped by account (each account's
    walk state after its searched states), and the month's layer (parent, payment cents)
    in the same order: a walk state's parent is −1 (its path before month t is the walk,
    ``cyc.paid``) and its payment the walk's in month t − 1."""
    if t > cyc.last:
        return frontier, layer
    rows = np.flatnonzero((cyc.first <= t) & (t <= cyc.end))
    if rows.size == 0:
        return frontier, layer
    acc = cyc.acc[rows]
    f_acc = np.concatenate([frontier[0], acc])
    order = np.argsort(f_acc, kind="stable")
    # a custom row: family 0, its code is its state code
    added = (cyc.code[rows], cyc.B[rows, t], cyc.v[rows, t], cyc.s[rows, t])
    rest = tuple(np.concatenate([f, x])[order] for f, x in zip(frontier[1:], added, strict=True))
    parent = np.concatenate([layer[0], np.full(acc.size, -1, np.int64)])[order]
    paid = np.concatenate([layer[1], cyc.paid[acc, t - 1]])[order]
    return (f_acc[order], *rest), (parent, paid)
