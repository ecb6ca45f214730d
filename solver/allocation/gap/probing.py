"""Fixing by the knapsack Lagrangian relaxation: the pairs an improving assignment can use.

At multipliers ``u`` the knapsack relaxation (:mod:`~solver.allocation.gap.knapsack`) gives
the lower bound ``L(u) = Σ_j u_j − Σ_r K_r(u) − Σ_{uncapacitated (o,j)} max(0, u_j − c_oj)``,
``K_r`` the best profit of row ``r``'s 0-1 knapsack (profits ``u_j − c_oj``). Forcing a pair
into row ``r``'s knapsack (or out of it) turns ``K_r`` into the best profit with that item
taken (left out), and ``L`` rises by the difference: a lower bound on every assignment
that uses the pair (does not use it). When that bound passes the incumbent's cost (less one
unit for integer costs), no better assignment uses the pair (uses another option for the
job). :func:`knapsack_fixing` computes these rises for every pair at once -- per row, one
forward and one backward knapsack table (best profit of the items before / after each item
within each capacity), combined per item -- and returns the pairs that stay.

This is Lagrangian probing (Fisher, Jaikumar and Van Wassenhove's fixing by the relaxation
of the assignment constraints): much stronger than the reduced costs of the capacity-row
relaxation (:func:`~solver.allocation.gap.cpsat_phases.fixed_by_reduced_cost`), whose
bound is only the LP's. Its user is the elite search of the small-problem path
(:func:`~solver.allocation.gap.relaxed.relaxation_search`), which then searches only the
pairs that can improve. Measured on Yagiura's e10100 (10 × 100, 1,000 pairs; optimum
11,577) from an incumbent of 11,579, 4 Dec 2026: the LP's reduced costs (bound 11,543) keep
409 pairs; the knapsack rises at the ascent's multipliers (bound 11,567) keep 265 and fix
18 jobs. The elite search on those 265 reaches 11,577 with 5 × 10⁷ move evaluations
(seeds 0, 1, 2), where on the whole problem it stays at 11,579 with 2 × 10⁸. CP-SAT on them
(one worker, 20 deterministic seconds) does not prove the optimum, even started from it:
its bound stays at 11,566-11,567 -- so the fixing feeds the search, not an exact phase.

Weights and capacities are put on the knapsack bound's integer scale (rounded down: a
relaxation, so the rises stay valid bounds). The work is counted in DP cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from solver.allocation.gap.knapsack import integer_weights, row_cells
from solver.allocation.gap.problem import AssignmentProblem

__all__ = ["Fixing", "knapsack_fixing", "fixing_cells"]

#: Largest DP table (items × (capacity + 1)) of one row the fixing builds: two of them per
#: row, 8 bytes a cell (16 MB each at this size).
MAX_ROW_CELLS = 2_000_000


@dataclass(frozen=True, eq=False)
class Fixing:
    """What :func:`knapsack_fixing` leaves: the ``mask`` (``k × n``) of the pairs that stay
    -- the incumbent's own pairs always do --, the ``bound`` ``L(u)`` it recomputed at the
    multipliers (a lower bound of the problem) and the DP ``cells`` it evaluated (its work)."""

    mask: np.ndarray
    bound: float
    cells: int


@njit(cache=True)
def _row_rises(
    profit: np.ndarray, weight: np.ndarray, cap: int, rise_in: np.ndarray, rise_out: np.ndarray
) -> float:
    """Row ``r``'s best knapsack profit ``K`` (items of ``profit`` and integer ``weight``
    within ``cap``; items of profit ≤ 0 are never worth taking) and, per item, how much
    ``K`` falls when the item is forced in (``rise_in``, ``inf`` when it does not fit) and
    when it is forced out (``rise_out``)."""
    m = profit.size
    before = np.zeros((m + 1, cap + 1))  # best of items < i within capacity c
    after = np.zeros((m + 1, cap + 1))  # best of items ≥ i within capacity c
    for i in range(m):
        before[i + 1, :] = before[i, :]
        w, p = weight[i], profit[i]
        if p > 0.0 and w <= cap:
            for c in range(w, cap + 1):
                v = before[i, c - w] + p
                if v > before[i + 1, c]:
                    before[i + 1, c] = v
    for i in range(m - 1, -1, -1):
        after[i, :] = after[i + 1, :]
        w, p = weight[i], profit[i]
        if p > 0.0 and w <= cap:
            for c in range(w, cap + 1):
                v = after[i + 1, c - w] + p
                if v > after[i, c]:
                    after[i, c] = v
    best = before[m, cap]
    for i in range(m):
        out = -np.inf
        for c in range(cap + 1):
            v = before[i, c] + after[i + 1, cap - c]
            if v > out:
                out = v
        rise_out[i] = max(0.0, best - out)
        w = weight[i]
        if w > cap:
            rise_in[i] = np.inf
            continue
        room = cap - w
        taken = -np.inf
        for c in range(room + 1):
            v = before[i, c] + after[i + 1, room - c]
            if v > taken:
                taken = v
        rise_in[i] = max(0.0, best - (taken + profit[i]))
    return best


def fixing_cells(problem: AssignmentProblem, allowed: np.ndarray) -> int:
    """DP cells of :func:`knapsack_fixing` (three passes over each row's table); ``0`` when
    it does not apply (global rows, no capacity rows, capacities past the knapsack bound's
    scale, or a row's table past ``MAX_ROW_CELLS``)."""
    per_row = row_cells(problem, allowed)
    if per_row is None:
        return 0
    if per_row.size and per_row.max() > MAX_ROW_CELLS:
        return 0
    return int(3 * per_row.sum())


def knapsack_fixing(
    problem: AssignmentProblem,
    allowed: np.ndarray,
    multipliers: np.ndarray,
    incumbent: np.ndarray,
    *,
    integral_costs: bool,
) -> Fixing | None:
    """The allowed pairs an assignment cheaper than ``incumbent`` can use, by the knapsack
    relaxation at ``multipliers`` (module docstring); ``None`` when it does not apply
    (:func:`fixing_cells` is 0). With ``integral_costs`` an assignment must be at least one
    unit cheaper to count. The incumbent's pairs stay, so the problem restricted to the mask
    has the same optimum as the whole problem whenever the incumbent is not optimal, and
    the incumbent's cost otherwise."""
    cells = fixing_cells(problem, allowed)
    if cells == 0:
        return None
    wint, capint = integer_weights(problem)  # type: ignore[misc]
    k, n = problem.cost.shape
    u = np.asarray(multipliers, dtype=np.float64)
    profit = np.where(allowed, u[None, :] - problem.cost, -np.inf)
    rise_in = np.zeros((k, n))  # L's rise when the pair is used
    rise_out = np.zeros((k, n))  # ... when it is not
    bound = float(u.sum())
    free = problem.row_of < 0
    if free.any():  # uncapacitated options: each pair its own choice
        gain = np.where(allowed[free], profit[free], 0.0)
        bound -= float(np.maximum(gain, 0.0).sum())
        rise_in[free] = np.maximum(-gain, 0.0)
        rise_out[free] = np.maximum(gain, 0.0)
    for r in range(capint.size):
        opts = np.flatnonzero(problem.row_of == r)
        opt, job = np.nonzero(allowed[opts])
        opt = opts[opt]
        if opt.size == 0:
            continue
        w = wint[opt, job if wint.shape[1] > 1 else 0].astype(np.int64)
        r_in = np.empty(opt.size)
        r_out = np.empty(opt.size)
        bound -= _row_rises(np.ascontiguousarray(profit[opt, job]), w, int(capint[r]), r_in, r_out)
        rise_in[opt, job] = r_in
        rise_out[opt, job] = r_out
    slack = problem.objective(incumbent) - bound - (1.0 if integral_costs else 0.0)
    slack += 1e-6 * max(1.0, abs(bound))
    mask = allowed & (rise_in <= slack)
    # a pair whose absence passes the incumbent is in every better assignment: its job's
    # other options go
    forced = allowed & (rise_out > slack)
    jobs = np.flatnonzero(forced.any(axis=0))
    if jobs.size:
        mask[:, jobs] &= forced[:, jobs]
    mask[incumbent, np.arange(n)] = True
    if not math.isfinite(bound):
        return None
    return Fixing(mask, bound, cells)
