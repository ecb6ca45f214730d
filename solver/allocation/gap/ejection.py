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
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from numba import njit

from solver.allocation.gap.problem import AssignmentProblem

__all__ = [
    "EJECTION_MAX_CELLS",
    "assignment_state",
    "ejection_search",
    "is_over",
    "kernel_arrays",
    "penalty_floor",
    "weight_at",
    "xorshift",
]

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
#: Largest ``rows × jobs`` for the per-row member lists (memory: 4 bytes each).
EJECTION_MAX_CELLS = 60_000_000
#: Work (move evaluations) per slice between two looks at the wall clock.
SLICE_WORK = 2_000_000

_EPS = 1e-9


@njit(cache=True, inline="always")
def _pen(alpha: float, load: float, cap: float) -> float:
    over = load - cap
    return alpha * over if over > 0.0 else 0.0


@njit(cache=True, inline="always")
def is_over(load: float, cap: float) -> int:
    """1 when ``load`` exceeds ``cap`` beyond rounding, else 0."""
    return 1 if load > cap + 1e-9 * (1.0 + abs(cap)) else 0


@njit(cache=True)
def xorshift(state: np.ndarray) -> int:
    """xorshift64* (state[0] is the 64-bit state, never zero)."""
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    return int((x * np.uint64(2685821657736338717)) >> np.uint64(33))


@njit(cache=True)
def weight_at(weight: np.ndarray, o: int, j: int) -> float:
    """Weight of option ``o`` for job ``j`` (``weight`` is ``K × n`` or ``K × 1``)."""
    return weight[o, j] if weight.shape[1] > 1 else weight[o, 0]


@njit(cache=True)
def _move(
    s: np.ndarray,
    load: np.ndarray,
    members: np.ndarray,
    pos: np.ndarray,
    count: np.ndarray,
    weight: np.ndarray,
    row_of: np.ndarray,
    cap: np.ndarray,
    ints: np.ndarray,
    j: int,
    o2: int,
) -> None:
    """Give job ``j`` option ``o2``: loads, per-row member lists and the count of rows over
    capacity (``ints[5]``) follow."""
    o1 = s[j]
    a = row_of[o1]
    b = row_of[o2]
    if a >= 0:
        ints[5] -= is_over(load[a], cap[a])
    if b >= 0 and b != a:
        ints[5] -= is_over(load[b], cap[b])
    if a >= 0:
        load[a] -= weight_at(weight, o1, j)
        if a != b:
            p = pos[j]
            last = members[a, count[a] - 1]
            members[a, p] = last
            pos[last] = p
            count[a] -= 1
    if b >= 0:
        load[b] += weight_at(weight, o2, j)
        if a != b:
            members[b, count[b]] = j
            pos[j] = count[b]
            count[b] += 1
    s[j] = o2
    if a >= 0:
        ints[5] += is_over(load[a], cap[a])
    if b >= 0 and b != a:
        ints[5] += is_over(load[b], cap[b])


@njit(cache=True)
def _delta_rows(
    load: np.ndarray,
    cap: np.ndarray,
    alpha: np.ndarray,
    rows: np.ndarray,
    amounts: np.ndarray,
    nr: int,
) -> float:
    """Penalty change of adding ``amounts[i]`` to row ``rows[i]`` (``i < nr``; rows may repeat,
    ``-1`` is uncapacitated)."""
    total = 0.0
    for i in range(nr):
        r = rows[i]
        if r < 0:
            continue
        seen = False
        for q in range(i):
            if rows[q] == r:
                seen = True
                break
        if seen:
            continue
        d = amounts[i]
        for q in range(i + 1, nr):
            if rows[q] == r:
                d += amounts[q]
        if d != 0.0:
            total += _pen(alpha[r], load[r] + d, cap[r]) - _pen(alpha[r], load[r], cap[r])
    return total


@njit(cache=True)
def _keep_best(s: np.ndarray, best: np.ndarray, scalars: np.ndarray, ints: np.ndarray) -> None:
    """Keep ``s`` as the best when it is feasible (no row over) and cheaper."""
    if ints[5] == 0 and scalars[0] < scalars[1] - 1e-9 * (1.0 + abs(scalars[1])):
        scalars[1] = scalars[0]
        best[:] = s
        ints[2] = 0
        ints[3] += 1


# over 120 lines on purpose: one compiled sweep; splitting it would pass a dozen arrays per call
@njit(cache=True)
def _sweep(
    cost: np.ndarray,
    allowed: np.ndarray,
    weight: np.ndarray,
    row_of: np.ndarray,
    cap: np.ndarray,
    cand: np.ndarray,
    s: np.ndarray,
    load: np.ndarray,
    alpha: np.ndarray,
    members: np.ndarray,
    pos: np.ndarray,
    count: np.ndarray,
    order: np.ndarray,
    rng: np.ndarray,
    scan: int,
    best_s: np.ndarray,
    scalars: np.ndarray,
    ints: np.ndarray,
    start: int,
    allowance: int,
) -> tuple[bool, int, int]:
    """A pass over the jobs in ``order`` from position ``start``: for each job the best
    shift, else the best ejection chain, applied when it lowers ``pcost``; it stops after
    the job with which its work (evaluations plus one per job) reaches ``allowance``.
    Returns whether anything moved, the work and the position reached (``n``: the sweep is
    complete); ``scalars[0]`` follows the cost, and a feasible assignment cheaper than
    ``scalars[1]`` is kept in ``best_s``."""
    k, n = cost.shape
    n_cand = cand.shape[1]
    rows = np.empty(6, dtype=np.int64)
    amounts = np.empty(6)
    work = 0
    moved = False
    idx = start
    while idx < n:
        if work >= allowance:
            break
        j = order[idx]
        idx += 1
        work += 1
        o1 = s[j]
        a = row_of[o1]
        w1 = weight_at(weight, o1, j)
        c1 = cost[o1, j]
        # --- shifts: every allowed option of j
        best = -_EPS * (1.0 + abs(c1))
        best_o2 = -1
        for o2 in range(k):
            if o2 == o1 or not allowed[o2, j]:
                continue
            work += 1
            rows[0] = a
            amounts[0] = -w1
            rows[1] = row_of[o2]
            amounts[1] = weight_at(weight, o2, j)
            d = cost[o2, j] - c1 + _delta_rows(load, cap, alpha, rows, amounts, 2)
            if d < best:
                best = d
                best_o2 = o2
        if best_o2 >= 0:
            scalars[0] += cost[best_o2, j] - c1
            _move(s, load, members, pos, count, weight, row_of, cap, ints, j, best_o2)
            moved = True
            _keep_best(s, best_s, scalars, ints)
            continue
        # --- ejection chains: j -> o2 (row B), k of B -> o3 (row C != B)
        best_k = -1
        best_o3 = -1
        for ci in range(n_cand):
            o2 = cand[j, ci]
            if o2 < 0:
                break
            b = row_of[o2]
            if b < 0 or b == a or o2 == o1:
                continue
            w2 = weight_at(weight, o2, j)
            base = cost[o2, j] - c1
            m = count[b]
            if m == 0:
                continue
            lim = m if m < scan else scan
            start = xorshift(rng) % m
            for t in range(lim):
                kk = members[b, (start + t) % m]
                ok = s[kk]
                wk = weight_at(weight, ok, kk)
                ck = cost[ok, kk]
                for cj in range(n_cand):
                    o3 = cand[kk, cj]
                    if o3 < 0:
                        break
                    if o3 == ok or row_of[o3] == b:
                        continue
                    work += 1
                    rows[0] = a
                    amounts[0] = -w1
                    rows[1] = b
                    amounts[1] = w2 - wk
                    rows[2] = row_of[o3]
                    amounts[2] = weight_at(weight, o3, kk)
                    d = base + cost[o3, kk] - ck + _delta_rows(load, cap, alpha, rows, amounts, 3)
                    if d < best:
                        best = d
                        best_o2 = o2
                        best_k = kk
                        best_o3 = o3
        if best_k >= 0:
            scalars[0] += cost[best_o2, j] - c1 + cost[best_o3, best_k] - cost[s[best_k], best_k]
            _move(s, load, members, pos, count, weight, row_of, cap, ints, j, best_o2)
            _move(s, load, members, pos, count, weight, row_of, cap, ints, best_k, best_o3)
            moved = True
            _keep_best(s, best_s, scalars, ints)
    return moved, work, idx


@njit(cache=True)
def assignment_state(
    cost: np.ndarray, weight: np.ndarray, row_of: np.ndarray, cap: np.ndarray, s: np.ndarray,
    load: np.ndarray,
) -> tuple[float, int]:  # fmt: skip
    """Loads of ``s`` from scratch (into ``load``); returns its cost and the number of rows
    over capacity. The one from-scratch evaluation of the compiled searches."""
    load[:] = 0.0
    total = 0.0
    for j in range(s.size):
        o = s[j]
        total += cost[o, j]
        r = row_of[o]
        if r >= 0:
            load[r] += weight_at(weight, o, j)
    n_over = 0
    for r in range(cap.size):
        n_over += is_over(load[r], cap[r])
    return total, n_over


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
        moved, work, reached = _sweep(
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


def kernel_arrays(
    problem: AssignmentProblem, allowed: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The compiled searches' contiguous copies: cost (0 where not allowed), weight, the
    options' rows and the capacities.

    Always fresh (writable) copies: numba compiles one version per read-only flag, and the
    problem's own arrays are read-only, so passing them through when their dtype already
    fits (``np.ascontiguousarray``) compiled a second version inside the first timed call
    the warm-up's float weights did not cover (integer weights, as the GAP files give)."""
    return (
        np.ascontiguousarray(np.where(allowed, problem.cost, 0.0)),
        np.array(problem.weight, dtype=np.float64, order="C"),
        np.array(problem.row_of, dtype=np.int64, order="C"),
        np.array(problem.capacity, dtype=np.float64, order="C"),
    )


def penalty_floor(
    problem: AssignmentProblem, allowed: np.ndarray, prices: np.ndarray
) -> np.ndarray:
    """Per capacity row, the least penalty weight per unit of excess: the row's Lagrangian
    price, at least 5 % of a typical cost difference per unit of weight."""
    weight = np.asarray(problem.weight, dtype=np.float64)
    spread = np.where(allowed, problem.cost, np.nan)
    with np.errstate(invalid="ignore"):
        typical = float(np.nanmedian(np.nanmax(spread, axis=0) - np.nanmin(spread, axis=0)))
    wmean = float(np.mean(weight[weight > 0])) if (weight > 0).any() else 1.0
    base = max(typical / max(wmean, 1e-12), 1e-9) if math.isfinite(typical) else 1.0
    return np.maximum(np.asarray(prices, dtype=np.float64), 0.05 * base)


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
