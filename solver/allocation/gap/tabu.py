"""Tabu search over shift and swap moves with strategic oscillation (compiled).

The primal side of *tight* assignment problems (Chu–Beasley and Yagiura type D/E GAPs, whose
knapsacks are nearly full and whose costs run against the resources), where the descent of
the ejection chains (:mod:`~solver.allocation.gap.ejection`) stalls 0.5–1.3 % above the
optimum. Written for this project after the published tabu searches for the GAP (Díaz and
Fernández, EJOR 132, 2001; Yagiura, Ibaraki and Glover, INFORMS JoC 16, 2004): the search
moves through infeasible assignments, scoring one by

    ``pcost = Σ_j c[s_j, j] + μ · Σ_r β_r · max(0, load_r − cap_r)``

with ``β_r`` the row's penalty scale (its Lagrangian price, at least a typical cost per unit
of weight) and one multiplier ``μ`` that oscillates: raised by ``OSCILLATION`` after every
move that leaves a row over capacity, lowered by as much after one that ends feasible, so
the search keeps crossing the boundary of the feasible region, where the good solutions of
tight problems lie. Every iteration evaluates the whole neighbourhood — every **shift** (a
job to another allowed option) and every **swap** (two jobs on different rows exchange
their options; on problems with more than ``SWAP_FULL_JOBS`` jobs, each job's partners are
a rotating window of ``SWAP_WINDOW`` jobs) — and applies the best move that is not tabu,
even when it is worse (the difference from a descent). Moving job ``j`` off option ``o``
makes ``(o, j)`` tabu for a random tenure of ``TENURE_MIN`` plus up to ``TENURE_SPAN`` jobs'
share of iterations; a tabu move is taken only when it reaches a feasible assignment
cheaper than the best (aspiration). The best feasible assignment met is kept; after
``STALL`` iterations without a new one the search restarts from an elite assignment (the
best, or one of the ``ELITE`` best distinct ones met, in turn) with a few random shifts and
``μ`` back to 1.

Determinism: the work is counted in units of a move evaluation, never in seconds (an
iteration's work is what its scan costs: the moves it evaluates, the swap partners it looks
at, at ``STEP_WORK`` each, and ``ITERATION_WORK`` for the rest), and the kernel only stops
between iterations, so calling it in slices (the driver looks at the wall clock
between slices) runs exactly the same iterations as one call. Own capacity rows only:
problems with global rows (a budget) are not searched here.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from solver.allocation.gap.compiled import (
    EJECTION_MAX_CELLS,
    assignment_state,
    is_over,
    kernel_arrays,
    penalty_floor,
    xorshift,
)
from solver.allocation.gap.problem import AssignmentProblem
from solver.allocation.gap.tabu_moves import EPS, apply_move, best_move

__all__ = [
    "TABU_COUNTERS",
    "SearchBudget",
    "TabuInstance",
    "add_counters",
    "tabu_search",
    "to_pool",
]

#: The stats a tabu search counts (a search built of several runs adds them up).
TABU_COUNTERS = ("tabu_work", "tabu_iterations", "tabu_improvements", "tabu_wall_s")


def add_counters(totals: dict[str, Any], part: dict[str, Any]) -> None:
    """Add one search's counters (``TABU_COUNTERS``) into a search's running ``totals``."""
    for key in TABU_COUNTERS:
        totals[key] += part[key]


#: Relative change of the penalty multiplier ``μ`` after each move.
OSCILLATION = 0.02
# One multiplier for all rows: per-row multipliers (raised on the rows over capacity, after
# Yagiura, Ibaraki and Glover) did worse on Chu–Beasley d05100–d20200 (benchmarks/README.md).
#: Tabu tenure: ``TENURE_MIN`` plus a random share up to ``TENURE_SPAN`` of the jobs.
TENURE_MIN = 3
TENURE_SPAN = 0.1
#: Iterations without a new best feasible assignment before a restart.
STALL = 100
#: Jobs shifted at random by a restart: this share of the jobs, at least two.
RESTART_SHIFTS = 0.1
#: Up to this many jobs every swap pair is evaluated; above, each job's swap partners are a
#: window of ``SWAP_WINDOW`` jobs from a rotating offset.
SWAP_FULL_JOBS = 600
SWAP_WINDOW = 256
#: The work an iteration counts, in units of a move evaluation, besides the moves it
#: evaluates: ``STEP_WORK`` per swap partner looked at, and ``ITERATION_WORK`` for the move,
#: the bookkeeping and the scan's per-job part. Fitted by least squares to the CPU time of
#: the 391 tabu searches of solve_gap(..., time_limit=10) on c10400, d10400, e05100,
#: e10100, e10200, e10400, e20100 and e20200 (5 Dec 2026, idle machine, raised priority):
#: 4.17 ns an evaluation, 3.16 ns a partner looked at, 223 ns an iteration; the model's
#: CPU time is within 0.92-1.14 of the measured per instance. Until then the work was the
#: evaluations plus ``n`` an iteration, which left out the partners looked at: a search's
#: CPU time per unit of work then varied 2.2-fold across these instances (most on the
#: elite search of a fixed sub-problem, where few pairs are allowed), and so did the share
#: of the limit the small problems' runs took (benchmarks/README.md, "Issue 19, session 21").
STEP_WORK = 0.75
ITERATION_WORK = 54
#: Elite assignments kept for the restarts.
ELITE = 4
#: Move evaluations per slice of the kernel (the wall clock is looked at between slices).
SLICE_WORK = 4_000_000


@njit(cache=True)
def _iterate(
    cost: np.ndarray, allowed: np.ndarray, weight: np.ndarray, row_of: np.ndarray,
    cap: np.ndarray, scale: np.ndarray, s: np.ndarray, load: np.ndarray, tabu: np.ndarray,
    ptr: np.ndarray, cols: np.ndarray, elite: np.ndarray, elite_cost: np.ndarray,
    scalars: np.ndarray, ints: np.ndarray, rng: np.ndarray, work_until: int,
    params: np.ndarray,
) -> None:  # fmt: skip
    """Tabu iterations until the work (``ints[0]``) reaches ``work_until``.

    ``scalars``: [current cost, μ]; ``ints``: [work, iteration, last improvement's iteration,
    improvements, restarts, rows over capacity, swap window offset, feasible iterations,
    swaps]; ``elite[0]`` is the best feasible assignment (``elite_cost`` ascending, ``inf``
    when empty). Each iteration: the scan
    (:func:`~solver.allocation.gap.tabu_moves.best_move`), the move
    (:func:`~solver.allocation.gap.tabu_moves.apply_move`), then the bookkeeping (elite,
    ``μ``, restart).
    """
    n = cost.shape[1]
    osc = params[0]
    job_tabu = params[5] > 0.0
    full = n <= SWAP_FULL_JOBS
    window = n if full else SWAP_WINDOW
    while ints[0] < work_until:
        it = ints[1]
        mu = scalars[1]
        kind, mj1, mo2, mj2, work, steps = best_move(
            cost, allowed, weight, row_of, cap, scale, s, load, tabu, ptr, cols, scalars[0],
            elite_cost[0], mu, it, ints[5], ints[6], job_tabu, full, window,
        )  # fmt: skip
        ints[0] += work + int(STEP_WORK * steps) + ITERATION_WORK
        ints[9] += steps
        ints[1] = it + 1
        if not full:
            ints[6] = (ints[6] + window) % (n - 1)
        if kind == 0:
            scalars[1] = 1.0
            continue
        tenure = int(params[1]) + xorshift(rng) % (1 + int(params[2] * n))
        apply_move(
            cost, weight, row_of, s, load, tabu, scalars, kind, mj1, mo2, mj2, it + tenure,
            job_tabu,
        )  # fmt: skip
        n_over = 0
        for r in range(cap.size):
            n_over += is_over(load[r], cap[r])
        ints[5] = n_over
        ints[8] += 1 if kind == 2 else 0
        if n_over == 0:
            ints[7] += 1
            _offer_elite(s, scalars[0], elite, elite_cost, ints, it)
        # μ oscillates: lowered after a move that ends feasible, raised after one that does not
        if n_over == 0:
            scalars[1] = max(1e-3, mu / (1.0 + osc))
        else:
            scalars[1] = min(1e3, mu * (1.0 + osc))
        if it - ints[2] >= params[3] and math.isfinite(elite_cost[0]):
            _restart(
                cost, allowed, weight, row_of, cap, s, load, elite, elite_cost, scalars, ints,
                rng, params[4],
            )  # fmt: skip


@njit(cache=True)
def _offer_elite(
    s: np.ndarray, c: float, elite: np.ndarray, elite_cost: np.ndarray, ints: np.ndarray, it: int
) -> None:
    """Keep the feasible ``s`` (cost ``c``) among the elite when it is new and good enough."""
    size = elite_cost.size
    if c >= elite_cost[size - 1] - EPS * (1.0 + abs(c)):
        return
    for e in range(size):
        if abs(elite_cost[e] - c) <= EPS * (1.0 + abs(c)):
            same = True
            for j in range(s.size):
                if elite[e, j] != s[j]:
                    same = False
                    break
            if same:
                return
    if c < elite_cost[0] - EPS * (1.0 + abs(c)):
        ints[2] = it
        ints[3] += 1
    e = size - 1
    while e > 0 and elite_cost[e - 1] > c:
        elite_cost[e] = elite_cost[e - 1]
        elite[e, :] = elite[e - 1, :]
        e -= 1
    elite_cost[e] = c
    elite[e, :] = s


@njit(cache=True)
def _restart(
    cost: np.ndarray, allowed: np.ndarray, weight: np.ndarray, row_of: np.ndarray,
    cap: np.ndarray, s: np.ndarray, load: np.ndarray, elite: np.ndarray,
    elite_cost: np.ndarray, scalars: np.ndarray, ints: np.ndarray, rng: np.ndarray,
    shift_share: float,
) -> None:  # fmt: skip
    """From the next elite assignment (in turn), a few random shifts; ``μ`` back to 1."""
    k, n = cost.shape
    filled = 0
    for e in range(elite_cost.size):
        if math.isfinite(elite_cost[e]):
            filled += 1
    e = ints[4] % filled
    ints[4] += 1
    ints[2] = ints[1]
    s[:] = elite[e]
    shifts = 2 + xorshift(rng) % max(1, int(n * shift_share))
    for _ in range(shifts):
        j = xorshift(rng) % n
        o = xorshift(rng) % k
        if allowed[o, j]:
            s[j] = o
    total, n_over = assignment_state(cost, weight, row_of, cap, s, load)
    scalars[0] = total
    scalars[1] = 1.0
    ints[5] = n_over


@dataclass(frozen=True)
class SearchBudget:
    """What a search may spend: ``work`` move evaluations (deterministic), the wall-clock
    ``deadline`` (``time.perf_counter()``; the hard stop), the ``seed``, and the ``target``
    cost at which it stops early."""

    work: int
    deadline: float
    seed: int
    target: float = -math.inf


@dataclass(frozen=True)
class TabuInstance:
    """What the tabu search works on: the ``problem``, its ``allowed`` (option, job) cells
    and the rows' Lagrangian ``prices`` (they set the penalty scales). One object, so the
    searches built on the tabu search (:mod:`~solver.allocation.gap.relink`) pass it on
    whole."""

    problem: AssignmentProblem
    allowed: np.ndarray
    prices: np.ndarray


def tabu_search(
    instance: TabuInstance,
    start: np.ndarray,
    budget: SearchBudget,
    stats: dict[str, Any],
    *,
    params: np.ndarray | None = None,
    pool: list[tuple[float, np.ndarray]] | None = None,
    pool_size: int = ELITE,
) -> np.ndarray:
    """Improve the assignment ``start`` by the tabu search (an infeasible start is repaired
    on the way: the search oscillates around the boundary of the feasible region).

    ``instance.prices`` (the rows' Lagrangian prices) set the penalty scales. Runs ``budget.work``
    move evaluations (deterministic), or stops at ``budget.deadline`` (wall clock, flagged in
    ``stats["tabu_wall_stop"]``) or once the cost reaches ``budget.target``. Returns the best
    feasible assignment found (``start`` when nothing better); the elite ones are added to
    ``pool`` (cost-ordered, distinct, at most ``pool_size``) when given.
    """
    problem, allowed, prices = instance.problem, instance.allowed, instance.prices
    k, n = problem.cost.shape
    r_count = problem.capacity.size
    stats.update(
        tabu_work=0, tabu_budget=int(budget.work), tabu_iterations=0, tabu_improvements=0,
        tabu_wall_s=0.0, tabu_wall_stop=False,
    )  # fmt: skip
    if problem.global_capacity.size or r_count == 0 or n < 2 or k * n > EJECTION_MAX_CELLS:
        return start
    cost, weight, row_of, cap = kernel_arrays(problem, allowed)
    ptr, cols = _allowed_jobs(allowed)
    scale = penalty_floor(problem, allowed, prices)
    s = start.astype(np.int64).copy()
    load = np.zeros(r_count)
    tabu = np.zeros((k, n), dtype=np.int64)
    elite = np.tile(s, (ELITE, 1))
    elite_cost = np.full(ELITE, np.inf)
    total, n_over = assignment_state(cost, weight, row_of, cap, s, load)
    if n_over == 0:
        elite_cost[0] = total
    scalars = np.array([total, 1.0])
    ints = np.zeros(10, dtype=np.int64)
    ints[5] = n_over
    rng = np.array([np.uint64(0x9E3779B97F4A7C15 ^ (budget.seed * 0x2545F4914F6CDD1D + 7) % 2**64)])
    if params is None:
        params = np.array([OSCILLATION, TENURE_MIN, TENURE_SPAN, STALL, RESTART_SHIFTS, 0.0])
    started = time.perf_counter()
    wall_stop = False
    first = float(elite_cost[0])
    while ints[0] < budget.work and elite_cost[0] > budget.target:
        if time.perf_counter() >= budget.deadline:
            wall_stop = True
            break
        work_until = min(budget.work, int(ints[0]) + SLICE_WORK)
        _iterate(
            cost, allowed, weight, row_of, cap, scale, s, load, tabu, ptr, cols, elite,
            elite_cost, scalars, ints, rng, work_until, params,
        )  # fmt: skip
    stats.update(
        tabu_work=int(ints[0]),
        tabu_iterations=int(ints[1]),
        tabu_improvements=int(ints[3]),
        tabu_restarts=int(ints[4]),
        tabu_wall_s=time.perf_counter() - started,
        tabu_wall_stop=wall_stop,
        tabu_feasible_iterations=int(ints[7]),
        tabu_swaps=int(ints[8]),
        tabu_steps=int(ints[9]),
        tabu_mu=float(scalars[1]),
    )
    if pool is not None:
        to_pool(pool, pool_size, elite, elite_cost)
    best = elite[0]
    if elite_cost[0] < first and problem.is_feasible(best):
        return best.copy()
    return start


def _allowed_jobs(allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each option's allowed jobs in ascending order, compressed by rows: option ``o``'s are
    ``cols[ptr[o]:ptr[o + 1]]`` (the scan's swap partners on small problems)."""
    ptr = np.zeros(allowed.shape[0] + 1, dtype=np.int64)
    np.cumsum(allowed.sum(axis=1), out=ptr[1:])
    return ptr, np.ascontiguousarray(np.nonzero(allowed)[1], dtype=np.int64)


def to_pool(
    pool: list[tuple[float, np.ndarray]], size: int, elite: np.ndarray, elite_cost: np.ndarray
) -> None:
    """Add the feasible assignments ``elite`` (rows; ``elite_cost``, ``inf`` for none) to
    ``pool`` (cost-ordered, distinct, at most ``size``)."""
    for e in range(elite_cost.size):
        if np.isfinite(elite_cost[e]) and not any((elite[e] == x).all() for _, x in pool):
            pool.append((float(elite_cost[e]), elite[e].copy()))
    pool.sort(key=lambda entry: entry[0])
    del pool[size:]
