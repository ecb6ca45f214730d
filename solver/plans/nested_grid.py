"""Payment grids that nest under policy relaxation (study for review finding F2, session 12).

Today's grid (:func:`solver.plans.payment_grid.payment_grids`) hangs from the largest cap with a
step that depends on the caps, so relaxing ``max_dti`` (or any affordability rule) moves
every amount and the looser policy's grid need not contain the tighter one's: its best
custom/step plan can be worse. A *ladder* that does not depend on the caps nests: the
amounts ``unit · round(r^k)`` (k = 0, 1, …) on the rounding unit, kept between
``min_payment`` and the largest cap. A looser cap only adds rungs at the top, a lower
``min_payment`` only adds rungs at the bottom, and the term and holiday limits do not
touch the grid. The ratio is fixed per policy currency (not per account), chosen so
that a typical account gets about as many amounts as today's 12.

What breaks the nesting, and is kept anyway here: the *extra* amounts (the best level
instalments, so custom always matches them) depend on the policy. With them the grids
are nested up to those two or three amounts; without them custom could lose the SPEC §6
guarantee (custom ≥ every level family whose plan is a custom schedule).
"""

from __future__ import annotations

import numpy as np

from solver.plans.context import PlanContext

#: ratio between rungs: 100 → 3,000 (the generated book's typical span) in 12 rungs
LADDER_RATIO = 1.35


def ladder(unit: float, low: float, high: float, ratio: float = LADDER_RATIO) -> np.ndarray:
    """The rungs ``unit · round(ratio^k)`` in ``[low, high]``, distinct, ascending."""
    if high < low or high <= 0:
        return np.zeros(0)
    k_lo = max(0, int(np.floor(np.log(max(low / unit, 1.0)) / np.log(ratio))) - 1)
    k_hi = int(np.ceil(np.log(max(high / unit, 1.0)) / np.log(ratio))) + 1
    rungs = unit * np.round(ratio ** np.arange(k_lo, k_hi + 1, dtype=float))
    rungs = np.unique(np.round(rungs, 2))
    return rungs[(rungs >= low - 1e-9) & (rungs <= high + 1e-9)]


def nested_grids(
    ctx: PlanContext, grid_levels: int, extra: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Drop-in for :func:`solver.plans.payment_grid.payment_grids` with a ladder instead of the
    cap-hung grid: per account the rungs between ``min_payment`` and the largest cap
    (``grid_levels`` is ignored: the ratio fixes the count), plus ``extra`` (n, k).
    Returns the amounts (n, G) NaN-padded and a nominal step (the rung below the top's
    distance to it)."""
    pol = ctx.policy
    unit = pol.rounding
    cap = np.where(np.isfinite(ctx.cap), ctx.cap, -np.inf)
    top = np.floor(np.max(cap, axis=1) / unit + 1e-9) * unit
    low = np.ceil(max(pol.min_payment, unit) / unit - 1e-9) * unit
    rows = []
    for i in range(len(ctx)):
        rungs = ladder(unit, low, float(top[i]))
        if extra is not None and extra.size:
            ex = extra[i][np.isfinite(extra[i])]
            ex = ex[(ex >= pol.min_payment - 1e-9) & (ex <= top[i] + 1e-9)]
            rungs = np.unique(np.round(np.concatenate([rungs, ex]), 2))
        rows.append(rungs)
    width = max(max((r.size for r in rows), default=0), 1)
    amounts = np.full((len(ctx), width), np.nan)
    step = np.full(len(ctx), unit)
    for i, r in enumerate(rows):
        amounts[i, : r.size] = r
        if r.size >= 2:
            step[i] = r[-1] - r[-2]
    return amounts, step
