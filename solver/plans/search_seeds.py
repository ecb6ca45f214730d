"""The first incumbents of the ``custom`` / ``step`` search: known schedules as seeds.

A seed is a cent-exact schedule (the best ``instalment`` and capitalised ``deferral``
plans, a plan found by an earlier search); :func:`seed_values` values it when it is a
feasible path of the family on the account's grid, and :func:`seed_incumbents` keeps each
account's best as the search's first incumbent (:mod:`solver.plans.search`).
"""

from __future__ import annotations

import numpy as np

from solver.plans.bounds import grid_slack
from solver.plans.context import PlanContext, feasible_paths, grid_of, npv, phases
from solver.plans.payment_grid import grid_cents
from solver.plans.schedules import longest_holiday


def seed_incumbents(
    ctx: PlanContext,
    seeds: list[list[tuple[np.ndarray, np.ndarray]]] | None,
    amt_c: np.ndarray,
    holiday: np.ndarray,
    increasing: bool | np.ndarray,
) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Value and payment path of each account's best qualifying seed (:func:`seed_values`;
    −inf and ``None`` where none qualifies): the search's first incumbents. ``amt_c``:
    the grid in cents (:func:`grid_cents`)."""
    n = len(ctx)
    start = np.full(n, -np.inf)
    inc_path: list[np.ndarray | None] = [None] * n
    if seeds is not None:
        values = seed_values(ctx, seeds, amt_c, holiday, increasing)
        for i, lst in enumerate(seeds):
            for (pay, _), val in zip(lst, values[i], strict=True):
                if val > start[i]:
                    start[i], inc_path[i] = val, np.asarray(pay, float)
    return start, inc_path


def seed_values(
    ctx: PlanContext,
    seeds: list[list[tuple[np.ndarray, np.ndarray]]],
    amt_c: np.ndarray,
    holiday: np.ndarray,
    increasing: bool | np.ndarray,
) -> list[list[float]]:
    """Model value of each seed schedule that is a feasible path of the family, else −inf.

    A seed is ``(payments, exposures)`` of a cent-exact schedule at the contract rate on
    the account's full balance. It qualifies when its non-final payments are grid
    amounts (``amt_c``, the grid in cents: :func:`grid_cents`), its zero months form a leading holiday of at most ``holiday``
    months (for ``custom``: runs of at most ``holiday`` months anywhere before the last),
    (for ``step``) its phases never go down, and it passes the policy caps.
    """
    out: list[list[float]] = [[-np.inf] * len(lst) for lst in seeds]
    rows = [(i, k) for i, lst in enumerate(seeds) for k in range(len(lst))]
    if not rows:
        return out
    H = ctx.horizon
    R = len(rows)
    P = np.zeros((R, H))
    E = np.zeros((R, H))
    term = np.zeros(R, np.int64)
    for r, (i, k) in enumerate(rows):
        pay, exp = seeds[i][k]
        T = min(np.size(pay), H)
        term[r] = np.size(pay)
        P[r, :T] = np.asarray(pay, float)[:T]
        E[r, :T] = np.asarray(exp, float)[:T]
    acc = np.array([i for i, _ in rows])
    cents = grid_cents(P, grid_of(ctx))
    # the seed opens on the balance rounded to the money grid: within half a grid step
    # (half a cent; half a yen for JPY, whose balances may come in with sen)
    half, _ = grid_slack(ctx)
    ok = (term >= 1) & (term <= H) & (np.abs(E[:, 0] - ctx.balance[acc]) <= half)
    j = np.arange(H)[None, :]
    body = j < (term - 1)[:, None]
    zero = body & (cents == 0)
    n_zero = zero.sum(axis=1)
    rising = np.broadcast_to(np.asarray(increasing, dtype=bool), (len(seeds),))[acc]
    # step: zeros only as a leading holiday; custom: runs of at most the holiday anywhere
    # (the holiday-cycle plans of solver.plans.holiday_cycles, e.g. a default plan
    # seeding the thorough search)
    leading = (zero == (j < n_zero[:, None])).all(axis=1) & (n_zero <= holiday[acc])
    runs = np.array([longest_holiday(c[: max(k, 1)]) for c, k in zip(cents, term, strict=True)])
    ok &= np.where(rising, leading, runs <= holiday[acc])
    paid = body & (cents > 0)
    grid_c = amt_c[acc]
    on_grid = (cents[:, :, None] == grid_c[:, None, :]).any(axis=2)
    ok &= ~(paid & ~on_grid).any(axis=1)
    if rising.any():
        down = paid[:, 1:] & paid[:, :-1] & (cents[:, 1:] < cents[:, :-1])
        ok &= ~(down.any(axis=1) & rising)
    ok &= feasible_paths(ctx, acc, P, term)
    ok &= ~rising | (phases(P, term) <= ctx.policy.max_payment_levels)  # custom has no limit
    good = np.flatnonzero(ok)
    if good.size:
        val = npv(ctx, acc[good], P[good], E[good], term[good])
        for r, v in zip(good.tolist(), val.tolist(), strict=True):
            a, k = rows[r]
            out[a][k] = float(v)
    return out
