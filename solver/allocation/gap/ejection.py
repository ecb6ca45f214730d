"""Ejection-chain local search with adaptive penalty weights (compiled).

The primal workhorse of large assignment problems, in the spirit of Yagiura, Ibaraki and
Glover's ejection-chain approach to the GAP (INFORMS J. Computing 16, 2004): the search
moves through infeasible assignments too, scoring an assignment by

    ``pcost = Σ_j c[s_j, j] + Σ_r α_r · max(0, load_r − cap_r)``

with one penalty weight ``α_r`` per capacity row that adapts after every sweep (raised on
the rows that are over capacity, lowered towards its floor — the row's Lagrangian price —
while the assignment is feasible), so the search oscillates across the boundary of the
feasible region; the best feasible assignment met on the way is kept. The moves, tried job
by job in a random order each sweep:

* **shift** — job ``j`` to another allowed option (every option is tried);
* **ejection chain** — ``j`` to an option on row ``B`` and a job ``k`` of ``B`` ejected to
  one of its promising options on a row ``C ≠ B`` (``C`` = ``j``'s old row is a swap).

A job's promising options are the ``CANDIDATES`` allowed ones of smallest Lagrangian
reduced cost; a row's ejection candidates are scanned from a random offset, at most
``EJECT_SCAN`` of them, so a move costs the same on a 100-job GAP and a 20,000-account
allocation. After ``STALL`` sweeps without a new best feasible assignment, the search
restarts from the best one with a few random shifts. (A depth-3 chain and a tabu variant
were tried on Yagiura's D instances and did no better; 3 Dec 2026.)

Determinism: the work is counted in move evaluations, never in seconds. The kernel runs
whole sweeps until the work reaches a threshold, so calling it in slices (the driver checks
the wall clock between slices) runs exactly the same sweeps as one call. Own capacity rows
only: problems with global rows (a budget) are not searched here.

The moves of one sweep are in :mod:`~solver.allocation.gap.ejection_sweep`; the primitives
this search shares with the tabu search in :mod:`~solver.allocation.gap.compiled`.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from numba import njit

from solver.allocation.gap.compiled import (
    EJECTION_MAX_CELLS,
    assignment_state,
    kernel_arrays,
    penalty_floor,
    xorshift,
)
from solver.allocation.gap.ejection_sweep import sweep
from solver.allocation.gap.problem import AssignmentProblem

__all__ = ["ejection_search"]


#: Options per job in the candidate list of the chains.
CANDIDATES = 5
#: Jobs of a row scanned for an ejection (from a rotating offset).
EJECT_SCAN = 16
#: Sweeps without a new best feasible assignment before a restart from the best.
STALL = 30
#: Share of the jobs shifted at random by a restart (at least two).
RESTART_SHIFTS = 0.02
#: Penalty adaptation after every sweep: ``α_r ← α_r (1 + RAISE · over_r / max over)`` on
#: the rows over capacity, ``α ← max(floor, LOWER · α)`` when the assignment is feasible.
RAISE = 0.5
LOWER = 0.7
#: Work (move evaluations) per slice between two looks at the wall clock.
SLICE_WORK = 2_000_000


@njit(cache=True)
def _exact_state(
    cost: np.ndarray,
    weight: np.ndarray,
    row_of: np.ndarray,
    s: np.ndarray,
    load: np.ndarray,
    members: np.ndarray,
    pos: np.ndarray,
    count: np.ndarray,
    cap: np.ndarray,
    ints: np.ndarray,
) -> float:
    """Recompute loads, member lists and rows over capacity (``ints[5]``) of ``s`` from
    scratch; returns its cost."""
    total, ints[5] = assignment_state(cost, weight, row_of, cap, s, load)
    count[:] = 0
    for j in range(s.size):
        r = row_of[s[j]]
        if r >= 0:
            members[r, count[r]] = j
            pos[j] = count[r]
            count[r] += 1
    return total


# over 120 lines on purpose: the compiled driver loop keeps its whole state in arrays
@njit(cache=True)
def _search(
    cost: np.ndarray,
    allowed: np.ndarray,
    weight: np.ndarray,
    row_of: np.ndarray,
    cap: np.ndarray,
    cand: np.ndarray,
    s: np.ndarray,
    load: np.ndarray,
    alpha: np.ndarray,
    alpha_floor: np.ndarray,
    members: np.ndarray,
    pos: np.ndarray,
    count: np.ndarray,
    best: np.ndarray,
    scalars: np.ndarray,
    ints: np.ndarray,
    rng: np.ndarray,
    order: np.ndarray,
    work_until: int,
    scan: int,
    init: bool,
) -> None:
    """Sweeps until the total work (``ints[0]``) reaches ``work_until``; a sweep stopped
    there goes on at the next call from where it stopped (``ints[6]``), so slices run the
    same sequence of moves as one call.

    ``scalars``: [current cost, best cost]; ``ints``: [work, local optima, stall count,
    improvements, restarts, rows over capacity, position in the sweep, moved in the sweep].
    """
    n = s.size
    if init:
        scalars[0] = _exact_state(cost, weight, row_of, s, load, members, pos, count, cap, ints)
        scalars[1] = scalars[0]
    while ints[0] < work_until:
        if ints[6] == 0:
            for i in range(n):
                order[i] = i
            for i in range(n - 1, 0, -1):
                q = xorshift(rng) % (i + 1)
                order[i], order[q] = order[q], order[i]
            ints[7] = 0
        moved, work, reached = sweep(
            cost, allowed, weight, row_of, cap, cand, s, load, alpha, members, pos, count,
            order, rng, scan, best, scalars, ints, ints[6], work_until - ints[0],
        )  # fmt: skip
        ints[0] += work
        ints[6] = reached
        if moved:
            ints[7] = 1
        if reached < n:
            continue  # the work reached work_until within the sweep
        ints[6] = 0
        moved = ints[7] == 1
        feasible = ints[5] == 0
        if not moved:
            ints[1] += 1  # a local optimum of pcost
        if feasible:
            ints[2] += 1
            for r in range(cap.size):
                alpha[r] = max(alpha_floor[r], alpha[r] * LOWER)
        else:
            ints[2] += 1
            worst = 0.0
            for r in range(cap.size):
                over = load[r] - cap[r]
                if over > worst:
                    worst = over
            for r in range(cap.size):
                over = load[r] - cap[r]
                if over > 0.0:
                    alpha[r] *= 1.0 + RAISE * over / worst
        if ints[2] >= STALL:
            # restart from the best with a few random shifts
            ints[2] = 0
            ints[4] += 1
            s[:] = best
            shifts = 2 + xorshift(rng) % max(2, int(n * RESTART_SHIFTS))
            for _ in range(shifts):
                j = xorshift(rng) % n
                o = xorshift(rng) % cost.shape[0]
                if allowed[o, j]:
                    s[j] = o
            scalars[0] = _exact_state(cost, weight, row_of, s, load, members, pos, count, cap, ints)
            for r in range(cap.size):
                alpha[r] = alpha_floor[r] * (1.0 + (xorshift(rng) % 100) / 100.0)


def candidate_lists(rc: np.ndarray, allowed: np.ndarray, size: int) -> np.ndarray:
    """``n × size`` options of smallest reduced cost per job (allowed only; ``-1`` pads)."""
    k, n = rc.shape
    size = min(size, k)
    masked = np.where(allowed, rc, np.inf)
    if size < k:
        part = np.argpartition(masked, size - 1, axis=0)[:size]
    else:
        part = np.broadcast_to(np.arange(k)[:, None], (k, n)).copy()
    vals = np.take_along_axis(masked, part, axis=0)
    order = np.argsort(vals, axis=0, kind="stable")
    cand = np.take_along_axis(part, order, axis=0)
    cand = np.where(np.isfinite(np.take_along_axis(vals, order, axis=0)), cand, -1)
    return np.ascontiguousarray(cand.T.astype(np.int64))


def ejection_search(
    problem: AssignmentProblem,
    start: np.ndarray,
    allowed: np.ndarray,
    rc: np.ndarray,
    prices: np.ndarray,
    *,
    work_budget: int,
    deadline: float,
    seed: int,
    stats: dict[str, Any],
    target: float = -math.inf,
) -> np.ndarray:
    """Improve the feasible assignment ``start`` by the ejection-chain search.

    ``rc`` ranks each job's options (Lagrangian reduced costs), ``prices`` (the rows'
    Lagrangian prices) set the penalty weights' floor. Runs ``work_budget`` move
    evaluations (deterministic), or stops at ``deadline`` (wall clock, flagged in
    ``stats["ejection_wall_stop"]``) or once the cost reaches ``target``. Returns the best
    feasible assignment found (``start`` when nothing better).
    """
    k, n = problem.cost.shape
    r_count = problem.capacity.size
    stats.update(ejection_work=0, ejection_budget=int(work_budget), ejection_wall_stop=False)
    if problem.global_capacity.size or r_count == 0 or n == 0 or r_count * n > EJECTION_MAX_CELLS:
        return start
    cost, weight, row_of, cap = kernel_arrays(problem, allowed)
    cand = candidate_lists(rc, allowed, CANDIDATES)
    s = start.astype(np.int64).copy()
    load = np.zeros(r_count)
    members = np.zeros((r_count, n), dtype=np.int32)
    pos = np.zeros(n, dtype=np.int64)
    count = np.zeros(r_count, dtype=np.int64)
    ints = np.zeros(8, dtype=np.int64)
    order = np.zeros(n, dtype=np.int64)
    floor = penalty_floor(problem, allowed, prices)
    alpha = floor.copy()
    best = s.copy()
    scalars = np.zeros(2)
    rng = np.array([np.uint64(0x9E3779B97F4A7C15 ^ (seed * 0x2545F4914F6CDD1D + 1) % 2**64)])
    started = time.perf_counter()
    wall_stop = False
    work_until = 0  # the first call only sets up the state (and compiles, on a cold cache)
    while True:
        _search(
            cost, allowed, weight, row_of, cap, cand, s, load, alpha, floor, members, pos,
            count, best, scalars, ints, rng, order, work_until, EJECT_SCAN, work_until == 0,
        )  # fmt: skip
        if ints[0] >= work_budget or scalars[1] <= target:
            break
        if time.perf_counter() >= deadline:
            wall_stop = True
            break
        work_until = min(work_budget, int(ints[0]) + SLICE_WORK)
    stats.update(
        ejection_work=int(ints[0]),
        ejection_local_optima=int(ints[1]),
        ejection_improvements=int(ints[3]),
        ejection_restarts=int(ints[4]),
        ejection_wall_s=time.perf_counter() - started,
        ejection_wall_stop=wall_stop,
    )
    if ints[3] and problem.is_feasible(best):
        return best
    return start
