"""The knapsack Lagrangian bound: relax the assignment constraints, keep the capacities.

The capacity-row relaxation of :mod:`~solver.allocation.gap.dual` is as strong as the LP.
Relaxing instead each job's "exactly one option" constraint with a multiplier ``u_j`` leaves
one 0-1 knapsack per capacity row:

    ``L(u) = Σ_j u_j − Σ_r max{ Σ_{(o,j) on r} (u_j − c_oj) x_oj : Σ w_oj x_oj ≤ b_r }
             − Σ_{uncapacitated (o,j)} max(0, u_j − c_oj)``

a lower bound on the minimum for every real ``u`` (Ross and Soland; Fisher, Jaikumar and
Van Wassenhove), and at least as strong as the LP bound: at ``u_j = min_o (c_oj + λ·w_oj)``
for LP-optimal prices ``λ`` it already equals or exceeds it, because the knapsacks keep
their integrality. :func:`knapsack_bound` starts there and raises ``L`` by subgradient
ascent (``g_j = 1 −`` the number of times job ``j`` is picked), each knapsack solved exactly
by dynamic programming over integer capacities (compiled). Weights are put on an integer
scale (``10**k``); when that is not exact they are rounded down and the capacities too, which
keeps every assignment feasible in the knapsacks, so the bound stays valid.

Only own capacity rows (no global rows), and only when the dynamic programmes fit the work
budget. The work is counted in DP cells, so the result does not depend on the clock.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from solver.allocation.gap.problem import AssignmentProblem, decimal_scale

__all__ = ["KnapsackBound", "integer_weights", "knapsack_bound", "knapsack_cells", "row_cells"]

#: Largest scaled capacity of a row the dynamic programme takes.
MAX_SCALED_CAPACITY = 200_000


@dataclass(frozen=True, eq=False)
class KnapsackBound:
    """The best knapsack Lagrangian bound found.

    Attributes
    ----------
    bound
        ``L(u)`` at the best multipliers (``-inf`` when not computed).
    start
        ``L`` at the starting multipliers (from the capacity prices).
    iterations
        Subgradient iterations (knapsack rounds) done.
    cells
        DP cells evaluated (the work).
    picks
        Per job, how many times it is picked at the best multipliers (1 everywhere means
        the relaxation's solution is an assignment).
    clock_stop
        Whether the wall clock (``deadline``) ended the ascent before its work budget.
    multipliers
        The best multipliers ``u`` (``None`` when not computed): the fixing of
        :mod:`~solver.allocation.gap.probing` starts from them.
    """

    bound: float
    start: float
    iterations: int
    cells: int
    picks: np.ndarray
    clock_stop: bool = False
    multipliers: np.ndarray | None = None


@njit(cache=True)
def _knapsack(
    profit: np.ndarray, weight: np.ndarray, cap: int, take: np.ndarray, keep: np.ndarray
) -> float:
    """0-1 knapsack: the largest total ``profit`` of items of integer ``weight`` within
    ``cap``; ``take[i]`` is set to whether item ``i`` is in the optimum. ``keep`` is scratch
    of at least ``len(profit) × (cap + 1)``."""
    m = profit.size
    dp = np.zeros(cap + 1)
    for i in range(m):
        w = weight[i]
        p = profit[i]
        for c in range(cap + 1):
            keep[i, c] = False
        if w > cap:
            continue
        for c in range(cap, w - 1, -1):
            v = dp[c - w] + p
            if v > dp[c]:
                dp[c] = v
                keep[i, c] = True
    c = cap
    for i in range(m - 1, -1, -1):
        if keep[i, c]:
            take[i] = 1
            c -= weight[i]
        else:
            take[i] = 0
    return dp[cap]


# over 120 lines on purpose: one compiled evaluation of L(u) over all rows
@njit(cache=True)
def _evaluate(
    cost: np.ndarray,
    allowed: np.ndarray,
    wint: np.ndarray,
    row_of: np.ndarray,
    capint: np.ndarray,
    u: np.ndarray,
    picks: np.ndarray,
    choice: np.ndarray,
) -> tuple[float, int]:
    """``L(u)``, the times each job is picked (``picks``) and its cheapest picked option
    (``choice``, ``-1`` when none); returns the DP cells used."""
    k, n = cost.shape
    r_count = capint.size
    picks[:] = 0
    choice[:] = -1
    total = 0.0
    for j in range(n):
        total += u[j]
    cells = 0
    profit = np.empty(n * k)
    weight = np.empty(n * k, dtype=np.int64)
    item_o = np.empty(n * k, dtype=np.int64)
    item_j = np.empty(n * k, dtype=np.int64)
    for o in range(k):
        if row_of[o] >= 0:
            continue
        for j in range(n):
            if allowed[o, j] and u[j] - cost[o, j] > 0.0:
                total -= u[j] - cost[o, j]
                picks[j] += 1
                if choice[j] < 0 or cost[o, j] < cost[choice[j], j]:
                    choice[j] = o
    for r in range(r_count):
        m = 0
        for o in range(k):
            if row_of[o] != r:
                continue
            for j in range(n):
                if allowed[o, j] and u[j] - cost[o, j] > 0.0:
                    w = wint[o, j] if wint.shape[1] > 1 else wint[o, 0]
                    if w == 0:
                        total -= u[j] - cost[o, j]
                        picks[j] += 1
                        if choice[j] < 0 or cost[o, j] < cost[choice[j], j]:
                            choice[j] = o
                        continue
                    if w > capint[r]:
                        continue
                    profit[m] = u[j] - cost[o, j]
                    weight[m] = w
                    item_o[m] = o
                    item_j[m] = j
                    m += 1
        if m == 0:
            continue
        cap = capint[r]
        keep = np.empty((m, cap + 1), dtype=np.bool_)
        take = np.zeros(m, dtype=np.int64)
        total -= _knapsack(profit[:m], weight[:m], cap, take, keep)
        cells += m * (cap + 1)
        for i in range(m):
            if take[i]:
                jj = item_j[i]
                oo = item_o[i]
                picks[jj] += 1
                if choice[jj] < 0 or cost[oo, jj] < cost[choice[jj], jj]:
                    choice[jj] = oo
    return total, cells


def integer_weights(problem: AssignmentProblem) -> tuple[np.ndarray, np.ndarray] | None:
    """Weights and capacities on one integer scale, rounded down (a relaxation)."""
    scale, _ = decimal_scale(np.r_[problem.weight.ravel(), problem.capacity])
    capint = np.floor(problem.capacity * scale + 1e-9).astype(np.int64)
    if capint.size and capint.max() > MAX_SCALED_CAPACITY:
        return None
    wint = np.floor(problem.weight * scale + 1e-9).astype(np.int64)
    return np.ascontiguousarray(wint), capint


def row_cells(problem: AssignmentProblem, items: np.ndarray) -> np.ndarray | None:
    """Per capacity row, the DP cells of one knapsack over the pairs of ``items`` (``k × n``
    booleans): its items × (scaled capacity + 1); ``None`` when the bound does not apply
    (global rows, no capacity rows, capacities past ``MAX_SCALED_CAPACITY``)."""
    if problem.global_capacity.size or problem.capacity.size == 0:
        return None
    ints = integer_weights(problem)
    if ints is None:
        return None
    _, capint = ints
    rows = problem.row_of
    per_row = np.bincount(
        rows[rows >= 0], weights=items[rows >= 0].sum(axis=1), minlength=capint.size
    )
    return per_row * (capint + 1)


def knapsack_cells(problem: AssignmentProblem, allowed: np.ndarray, u: np.ndarray) -> int:
    """DP cells of one evaluation at ``u`` (``0`` when the bound does not apply): the
    caller's estimate of the work per iteration."""
    with np.errstate(invalid="ignore"):
        items = allowed & (u[None, :] - problem.cost > 0)
    cells = row_cells(problem, items)
    return 0 if cells is None else int(cells.sum())


def knapsack_bound(
    problem: AssignmentProblem,
    allowed: np.ndarray,
    prices: np.ndarray,
    *,
    upper_bound: float,
    max_cells: int,
    deadline: float,
    on_choice: Any = None,
) -> KnapsackBound:
    """Raise the knapsack Lagrangian bound from the capacity prices ``λ`` (module
    docstring) by at most ``max_cells`` DP cells of work, stopping early at ``upper_bound``
    (an incumbent's cost: the Polyak target) or, as a hard stop, at ``deadline``: an
    evaluation (one DP per row, not interruptible: 0.25 s on Yagiura's d801600 idle, over
    1 s at load 8) starts only while the wall time the last one took is left before it.

    ``on_choice(choice, picks, cells)``, when given, is called after every evaluation with
    each job's cheapest picked option (``-1`` when unpicked), the pick counts and the cells
    so far; the ascent stops when it returns false."""
    k, n = problem.cost.shape
    nothing = KnapsackBound(-math.inf, -math.inf, 0, 0, np.zeros(n, dtype=np.int64))
    if problem.global_capacity.size or problem.capacity.size == 0:
        return nothing
    ints = integer_weights(problem)
    if ints is None or time.perf_counter() >= deadline:
        return nothing
    wint, capint = ints
    cost = np.ascontiguousarray(np.where(allowed, problem.cost, 0.0))
    own = np.r_[np.asarray(prices, dtype=np.float64), 0.0]
    rows = np.where(problem.row_of >= 0, problem.row_of, own.size - 1)
    reduced = np.where(allowed, problem.cost + own[rows][:, None] * problem.weight, np.inf)
    u = reduced.min(axis=0)
    allowed_c = np.ascontiguousarray(allowed)
    row_of = np.ascontiguousarray(problem.row_of, dtype=np.int64)
    picks = np.zeros(n, dtype=np.int64)
    choice = np.zeros(n, dtype=np.int64)
    began = time.perf_counter()
    value, cells = _evaluate(cost, allowed_c, wint, row_of, capint, u, picks, choice)
    last = time.perf_counter() - began  # the wall time of the last evaluation
    start = value
    best, best_picks, best_u = value, picks.copy(), u
    step, stall, iterations = 0.5, 0, 1
    scale = max(1.0, abs(upper_bound))
    clock_stop = False
    while cells < max_cells:
        if upper_bound - best <= 1e-9 * scale:
            break
        g = 1.0 - picks
        norm = float(g @ g)
        if norm == 0.0:
            break  # the relaxation's solution is an assignment: optimal for the bound
        began = time.perf_counter()
        if began + last >= deadline:
            clock_stop = True
            break
        u = u + step * max(upper_bound - value, 1e-6 * scale) / norm * g
        value, used = _evaluate(cost, allowed_c, wint, row_of, capint, u, picks, choice)
        last = time.perf_counter() - began
        cells += used
        if on_choice is not None and not on_choice(choice, picks, cells):
            break
        iterations += 1
        if value > best + 1e-12 * scale:
            best, best_picks, best_u, stall = value, picks.copy(), u, 0
        else:
            stall += 1
            if stall >= 10:
                step *= 0.5
                stall = 0
                if step < 1e-4:
                    break
    return KnapsackBound(best, start, iterations, cells, best_picks, clock_stop, best_u)
