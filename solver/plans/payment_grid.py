"""The search's money: cent-exact interest, amounts on the money grid, and the payment grids.

Balances of the ``custom`` / ``step`` search (:mod:`solver.plans.search`) are tracked in
integer cents with the schedules' own interest rule (:mod:`solver.core.amortisation`:
half-up on the rate taken to 12 decimals, on the policy currency's money grid);
:func:`grid_cents` is the search's one conversion into cents. :func:`payment_grids` builds
each account's payment grid (SPEC §6) and :func:`holiday_months` its longest leading
holiday.
"""

from __future__ import annotations

import numpy as np

from solver.core.amortisation import to_units
from solver.core.schedule import CENTS_PER_UNIT
from solver.plans.context import PlanContext

#: The contract rate is taken to 12 decimals (``rate_units`` = rate · 10¹²), as the money
#: engine takes it; interest of a month is ``balance · rate_units / MONTHLY_DEN``.
RATE_SCALE = 10**12
MONTHLY_DEN = 12 * RATE_SCALE


def interest_cents(balance: np.ndarray, rate_units: np.ndarray) -> np.ndarray:
    """Monthly interest in cents on ``balance`` cents, rounded half-up (vectorised, exact)."""
    balance = np.asarray(balance, dtype=np.int64)
    x = balance.astype(float) * (rate_units.astype(float) / MONTHLY_DEN)
    out = np.floor(x + 0.5).astype(np.int64)
    frac = x - np.floor(x)
    near = np.abs(frac - 0.5) < 1e-5
    if near.any():
        idx = np.flatnonzero(near)
        for i in idx:
            b, ru = int(balance.flat[i]), int(rate_units.flat[i])
            out.flat[i] = (2 * b * ru + MONTHLY_DEN) // (2 * MONTHLY_DEN)
    return out


def grid_cents(amounts: np.ndarray, grid: int) -> np.ndarray:
    """Non-negative amounts (currency units) in integer cents on the money grid of ``grid``
    units per currency unit (:func:`solver.core.currency.money_grid`: 100 hundredths, 1
    whole yen), rounded half-up to the grid as the schedules round them (the money
    engine's own rounding, :func:`solver.core.amortisation.to_cents` vectorised); −1 where
    an amount is missing (NaN).

    The search's one conversion into cents: the opening balances, the payment grid (on
    the rounding unit, so on the grid already) and the seeds' payments."""
    amounts = np.asarray(amounts, dtype=float)
    known = np.isfinite(amounts)
    units = to_units(np.where(known, amounts, 0.0), grid=grid)
    return np.where(known, units * (CENTS_PER_UNIT // grid), -1)


def payment_grids(
    ctx: PlanContext, grid_levels: int, extra: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Payment grid per account: amounts (n, G) in CNY (NaN-padded) and the step Δ (n,).

    The grid hangs from the top: the largest affordable payment of any month (rounded
    down to the rounding unit), then steps of Δ down to ``min_payment``; plus
    ``min_payment`` itself (rounded up to the unit), the largest payment affordable in
    every month (the flat cap) and the ``extra`` amounts (n, k) (e.g. the best level
    instalments). Tight accounts need payments at the caps, so the caps are on the grid.

    Decision (session 16): ``min_payment`` is always on the grid. Hung from the top, the
    grid's lowest step lies anywhere in [``min_payment``, ``min_payment`` + Δ); but the
    best free plan often pays the least allowed for years and the most at the end (a
    small payment keeps the re-default hazard low while the balance, and with it the
    recovery on default, grows). Without it the default ``custom`` plan was > 1 % below
    the free bound on 83 of 518 generated accounts; with it on 1 (``docs/free_family.md``,
    session 16), for one amount more.
    """
    pol = ctx.policy
    unit = pol.rounding
    cap = np.where(np.isfinite(ctx.cap), ctx.cap, -np.inf)
    top = np.floor(np.max(cap, axis=1) / unit + 1e-9) * unit
    low = np.ceil(max(pol.min_payment, unit) / unit - 1e-9) * unit
    span = np.maximum(top - low, 0.0)
    step = np.maximum(unit, np.ceil(span / max(grid_levels - 1, 1) / unit - 1e-9) * unit)
    count = np.where(top >= low, np.floor(span / step + 1e-9).astype(np.int64) + 1, 0)
    count = np.minimum(count, grid_levels)
    G = int(max(count.max(initial=0), 1))
    k = np.arange(G)[None, :]
    amounts = np.where(k < count[:, None], top[:, None] - k * step[:, None], np.nan)
    flat = np.floor(np.min(cap, axis=1) / unit + 1e-9) * unit
    least = np.where(top >= low, low, np.nan)  # min_payment on the unit (see Decision)
    cols = [amounts, least[:, None], np.where(flat >= low, flat, np.nan)[:, None]]
    if extra is not None and extra.size:
        cols.append(extra)
    amounts = np.concatenate(cols, axis=1)
    amounts = np.where(
        (amounts >= pol.min_payment - 1e-9) & (amounts <= top[:, None] + 1e-9), amounts, np.nan
    )
    amounts = np.sort(np.round(amounts, 2), axis=1)  # NaNs last
    dup = np.zeros_like(amounts, dtype=bool)
    dup[:, 1:] = amounts[:, 1:] == amounts[:, :-1]
    amounts = np.sort(np.where(dup, np.nan, amounts), axis=1)
    width = int(max(np.isfinite(amounts).sum(axis=1).max(initial=0), 1))
    return amounts[:, :width], step


def holiday_months(ctx: PlanContext) -> np.ndarray:
    """Months a plan may start with a capitalised holiday, per account: up to
    ``max_deferral_months`` (and before the last month) if ``capitalize`` is allowed."""
    pol = ctx.policy
    can_hold = "capitalize" in pol.deferral_interest
    return np.full(
        len(ctx), min(pol.max_deferral_months, ctx.horizon - 1) if can_hold else 0, dtype=np.int64
    )


def exact_owed(
    owed: np.ndarray,
    near: np.ndarray,
    balance: np.ndarray,
    acc: np.ndarray,
    rate_units: np.ndarray,
    on: int,
) -> None:
    """Redo in place, at the rows ``near`` (interest within float noise of half a grid
    unit), what :func:`solver.plans.beam_clearing.owed_cents` computed in float: balance plus
    the month's interest in cents, by the exact integer rule of :func:`interest_cents`
    (rate ``rate_units`` / 10¹² a year; ``on`` cents per grid unit, 100 for whole yen)."""
    for k in near.tolist():
        b, ru = int(balance[k]) // on, int(rate_units[acc[k]])
        owed[k] = (b + (2 * b * ru + MONTHLY_DEN) // (2 * MONTHLY_DEN)) * on
