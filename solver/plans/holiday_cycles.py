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

from dataclasses import dataclass

import numpy as np

from solver.core.schedule import CENTS_PER_UNIT
from solver.plans.beam_step import owed_cents
from solver.plans.context import PlanContext
from solver.plans.payment_grid import exact_owed, grid_cents


@dataclass(frozen=True)
class Cycles:
    """The walks' states offered to the search: per month index t (a dict), the accounts,
    their balances (cents), values and survivals entering month t, and the payment code
    they carry (the grid index of ``min_payment`` + 1); ``paid`` (n, H) the walks'
    payments in cents (to fill in a plan's prefix); ``last`` the last month offered
    (−1: none)."""

    at: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
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
    numbers, so a plan's value is the one the search would give it.
    """
    n, H = len(ctx), ctx.horizon
    G = amt_c.shape[1]
    A = G + 1
    pol = ctx.policy
    unit = pol.rounding
    low = np.ceil(max(pol.min_payment, unit) / unit - 1e-9) * unit
    low_c = int(grid_cents(np.array([low]), CENTS_PER_UNIT // on)[0])
    on_grid = amt_c == low_c
    g_low = np.argmax(on_grid, axis=1)
    K = int(pol.max_payment_levels)
    D = holiday.astype(np.int64)
    first = (K + 1) * (D + 1)  # the month after the (K + 1)-th payment of min_payment
    alive = custom_rows & (D >= 1) & on_grid.any(axis=1) & (first <= H - 1)
    paid = np.zeros((n, H), np.int64)
    at: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    acc = np.flatnonzero(alive)
    if acc.size == 0:
        return Cycles(at, paid, -1)
    rate_f, rate_units = rates
    B = grid_cents(ctx.balance, CENTS_PER_UNIT // on)[acc]
    v = np.zeros(acc.size)
    s = np.ones(acc.size)
    last = -1
    for t in range(H - 1):
        rec = ctx.kernel.recovery(acc, B / CENTS_PER_UNIT, t)
        owed, near = owed_cents(B, acc, rate_f, on)
        if near.size:
            exact_owed(owed, near, B, acc, rate_units, on)
        pays = t % (D[acc] + 1) == D[acc]
        ai = np.where(pays, g_low[acc], G)
        p = np.where(pays, low_c, 0)
        ok = ~pays | (act_ok[t, acc, g_low[acc]] & (p < owed))
        if not ok.all():  # min_payment above the cap (or clearing): the walk ends
            acc, B, v, s, rec, owed, ai, p = (x[ok] for x in (acc, B, v, s, rec, owed, ai, p))
            if acc.size == 0:
                break
        vals = act_vals[t, acc * A + ai]
        v = v + s * (vals[:, 0] + vals[:, 1] * rec)
        s = s * vals[:, 2]
        B = owed - p
        paid[acc, t] = p
        offer = first[acc] <= t + 1
        if offer.any():
            code = g_low[acc[offer]] + 1  # a custom state that last paid min_payment
            at[t + 1] = (acc[offer], B[offer], v[offer], s[offer], code)
            last = t + 1
    return Cycles(at, paid, last)


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
    if t not in cyc.at:
        return frontier, layer
    acc, B, v, s, code = cyc.at[t]
    f_acc = np.concatenate([frontier[0], acc])
    order = np.argsort(f_acc, kind="stable")
    added = (code, B, v, s)  # a custom row: family 0, its code is its state code
    rest = tuple(np.concatenate([f, x])[order] for f, x in zip(frontier[1:], added, strict=True))
    parent = np.concatenate([layer[0], np.full(acc.size, -1, np.int64)])[order]
    paid = np.concatenate([layer[1], cyc.paid[acc, t - 1]])[order]
    return (f_acc[order], *rest), (parent, paid)
