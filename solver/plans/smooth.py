"""Level payments where a ``custom`` plan see-saws between two amounts.

The grid search pays an amount between two of its grid points by alternating them:
``650 → 100 → 650 → 100 …`` for years on the sample account, the grid's way to pay about
375 a month. No bank hands a customer that schedule. :func:`smooth_custom` offers the level
amount instead (the best of a few levels from the run's mean up, the last payment still
clearing) when the booked plan passes the policy check and keeps the plan's certificate within the target gap (0.1 %) of the same bound --
or, where the certificate was already wider, costs at most :data:`SMOOTH_TOLERANCE`.

Decision (session 16, from a review that found ``502 → 650 → 502 → 650`` under
``--thorough``; the default search's ``min_payment`` grid point then made it
``650 → 100``): the certificate stays honest -- the plan's gap is recomputed from the
same bound and the smoothed plan's own NPV (a smoothed plan is off the grid; a bound over
the grid's plans still bounds what the grid could have offered); smoothing never takes
a recommendation outside the 0.1 % its certificate promises.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from solver.plans.context import PlanContext, grid_of
from solver.plans.free_custom import plan_values, regap
from solver.plans.schedules import path_schedule
from solver.plans.search_types import RunSolution

__all__ = [
    "LEVEL_SHARES",
    "MIN_SWITCHES",
    "SMOOTH_TOLERANCE",
    "level_runs",
    "seesaw_runs",
    "smooth_custom",
]

#: Largest share of the plan's NPV a level run may cost the bank where its certificate is
#: already wider than the target; otherwise the limit is the target itself (the smoothed
#: plan's gap to the same bound stays within it, e.g. up to 0.1 % less that gap).
SMOOTH_TOLERANCE = 1e-4
#: Fewest switches between the two amounts that make a see-saw.
MIN_SWITCHES = 3
#: Candidate levels: this share of the way from a run's mean up to its larger amount.
LEVEL_SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)


def seesaw_runs(payments: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` month indices of each maximal run (the clearing month aside) that
    pays only two different non-zero amounts and switches between them at least
    :data:`MIN_SWITCHES` times (``650 ×4 → 100 → 650 ×3 → 100 …``); one dip or one step is
    not a see-saw."""
    body = np.asarray(payments, dtype=float)[:-1]
    # Walked over the blocks of equal amounts, not month by month (session 19, speed: the
    # month walk rescanned a long level plan from every month, 8 % of a portfolio run's
    # CPU). The same runs: a walk started inside a block reaches the same stop with the
    # same switches as one started at the block's first month (its amounts begin with
    # the block's), so a failed start fails for the whole block; a run stops at a block
    # boundary, and every switch is one.
    if body.size == 0:
        return []
    starts = [0, *(np.flatnonzero(body[1:] != body[:-1]) + 1).tolist()]
    values = body[starts].tolist()
    starts.append(body.size)
    runs: list[tuple[int, int]] = []
    b, m = 0, len(values)
    while b < m:
        if values[b] <= 0:
            b += 1
            continue
        amounts = {values[b]}
        stop = b + 1
        while stop < m and values[stop] > 0 and (values[stop] in amounts or len(amounts) < 2):
            amounts.add(values[stop])
            stop += 1
        if stop - b - 1 >= MIN_SWITCHES:  # one switch at every block boundary crossed
            runs.append((starts[b], starts[stop]))
            b = stop
        else:  # the next run may start where this one's first amount ends
            b += 1
    return runs


def level_runs(
    payments: np.ndarray, runs: list[tuple[int, int]], unit: float, share: float
) -> np.ndarray:
    """``payments`` with each run replaced by one level amount on the ``unit``: its mean
    plus ``share`` of the way up to its larger amount (0: the mean)."""
    out = np.array(payments, dtype=float)
    for start, stop in runs:
        mean, top = out[start:stop].mean(), out[start:stop].max()
        out[start:stop] = min(np.ceil((mean + share * (top - mean)) / unit - 1e-9) * unit, top)
    return out


def smooth_custom(
    ctx: PlanContext,
    custom: list[RunSolution],
    target_gap: float,
    floor: np.ndarray | None = None,
) -> list[RunSolution]:
    """The ``custom`` solutions with see-saw runs made level where the smoothed plan keeps
    its certificate within ``target_gap`` of the same bound (or, where the certificate was
    already wider, costs at most :data:`SMOOTH_TOLERANCE`). Candidate levels: the run's mean
    and :data:`LEVEL_SHARES` of the way up to its larger amount (a lower level may not
    clear the balance by the term). Runs before the step search, so that a step plan
    better than the smoothed one is found (and recommended) in portfolio runs too.
    ``floor`` (per account, optional): a smoothed plan is never below it (a thorough run
    passes the default search's values: it never recommends less)."""
    rows, plans = [], []
    for i, sol in enumerate(custom):
        # a see-saw needs MIN_SWITCHES changes of amount: most plans are passed over here,
        # without the month-by-month scan (every custom plan of a portfolio run comes by)
        pay = sol.payments
        if pay is None or np.count_nonzero(np.diff(np.asarray(pay)[:-1])) < MIN_SWITCHES:
            continue
        runs = seesaw_runs(pay)
        for share in LEVEL_SHARES if runs else ():
            rows.append(i)
            plans.append(level_runs(pay, runs, float(ctx.policy.rounding), share))
    if not rows:
        return custom
    values = plan_values(ctx, np.array(rows, np.int64), list(plans))
    out = list(custom)
    for i, pay, value in zip(rows, plans, values.tolist(), strict=True):
        sol = custom[i]
        loss = SMOOTH_TOLERANCE * abs(sol.objective)
        keep = min(sol.objective - loss, sol.bound - target_gap * abs(sol.bound))
        keep = keep if floor is None else max(keep, float(floor[i]))
        best = out[i].objective if out[i] is not sol else -np.inf
        if value >= keep and value > best:
            # the booked payments: the last one re-cleared (the level moved the balance)
            booked = path_schedule(
                float(ctx.balance[i]), float(ctx.fields["annual_rate"][i]), pay, grid_of(ctx)
            ).payments
            out[i] = regap(
                replace(sol, payments=booked, objective=value, bound=max(sol.bound, value))
            )
    return out
