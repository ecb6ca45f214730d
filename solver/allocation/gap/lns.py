"""Large-neighbourhood search of the assignment core (agent-subset neighbourhoods).

:func:`large_neighbourhood_search` frees the jobs of a few related rows at a time and
re-optimises them exactly with CP-SAT (:func:`solver.allocation.gap.cpsat.solve_cpsat`). Its
budget is deterministic work (:func:`lns_work`, in CP-SAT deterministic seconds), and the
neighbourhood grows or shrinks with the work sub-problems take, never with the clock.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from solver.allocation.gap.cpsat import solve_cpsat, stopped_by_clock
from solver.allocation.gap.problem import AssignmentProblem
from solver.domain import Status

__all__ = ["large_neighbourhood_search", "lns_work"]

# Work charged per LNS iteration, and per job freed in it (model building, Python).
LNS_ITERATION_WORK = 0.002
LNS_JOB_WORK = 2.0e-5
# Deterministic-time budget of one LNS sub-problem, and the "closes fast" threshold that
# grows the neighbourhood (about 0.25 s and 0.15 s on the project machine).
LNS_SUBSOLVE_DET = 0.125
LNS_FAST_DET = 0.09
# Wall-clock cap of one LNS sub-problem (seconds): a hard stop only, well above the
# deterministic budget's usual wall time.
LNS_SUBSOLVE_LIMIT = 2.0
# CP-SAT linearization level of LNS sub-problems (2: full LP relaxation of the knapsacks).
LNS_LINEARIZATION = 2
# When the LNS is the only search (problems with global rows: allocate --budget), it stops
# after this many iterations in a row without an improvement, at least LNS_STALL_MIN: every
# row has then been a seed about twice (improve.improve passes it; GAPs keep their budget).
LNS_STALL_PER_ROW = 2
LNS_STALL_MIN = 30


def large_neighbourhood_search(
    problem: AssignmentProblem,
    assignment: np.ndarray,
    keep: np.ndarray,
    rc: np.ndarray,
    *,
    deadline: float,
    work_budget: float,
    seed: int,
    stats: dict[str, Any],
    target: float = -math.inf,
    stall: int | None = None,
) -> np.ndarray:
    """Re-optimise the jobs of a few related rows at a time with CP-SAT (agent-subset LNS).

    Stops before its deterministic work would pass ``work_budget`` (see :func:`lns_work`;
    the next iteration is taken to cost the mean of those so far), as
    soon as the objective reaches ``target``, after ``stall`` iterations in a row without an
    improvement when given (``stats["lns_stalled"]``), or, as a hard stop, at ``deadline``. Every
    choice depends on the work done, never on the clock (the neighbourhood grows while
    sub-problems close within ``LNS_FAST_DET``), so the result is reproducible unless the
    deadline stops it (``stats["lns_wall_stop"]``).
    """
    k, n = problem.cost.shape
    rng = np.random.default_rng(seed)
    s = assignment.copy()
    best_cost = problem.objective(s)
    n_rows = problem.capacity.size
    stats.update(
        lns_iterations=0, lns_improvements=0, lns_work=0.0, lns_wall_stop=False, lns_stalled=False
    )
    if n_rows < 2:
        return s
    # Rows related through the jobs' cheap alternatives (reduced-cost ranks).
    ranks = np.argsort(np.where(keep, rc, np.inf), axis=0)[: min(4, k)]
    opt_rows = problem.row_of
    target_jobs = 120
    max_subset = max(2, n_rows - 1) if n_rows > 2 else n_rows
    subset = max(2, min(max_subset, int(round(target_jobs * n_rows / max(n, 1)))))
    iterations = improvements = last_improvement = 0
    stalled = False
    work = 0.0
    wall_stop = False
    started = time.perf_counter()
    while True:
        remaining = deadline - time.perf_counter()
        # stop when the next iteration (as costly as the mean so far) would pass the budget
        mean = work / iterations if iterations else 0.0
        if best_cost <= target or work + mean > work_budget:
            break
        if stall is not None and iterations - last_improvement >= stall:
            stalled = True
            break
        if remaining < 0.02:
            wall_stop = True
            break
        iterations += 1
        seed_row = int(rng.integers(n_rows))
        on_seed = np.flatnonzero(opt_rows[s] == seed_row)
        related = np.zeros(n_rows)
        if on_seed.size:
            alt_rows = opt_rows[ranks[:, on_seed].ravel()]
            alt_rows = alt_rows[alt_rows >= 0]
            related += np.bincount(alt_rows, minlength=n_rows)
        related += rng.random(n_rows) * max(1.0, related.max() * 0.5)
        related[seed_row] = np.inf
        rows = np.argsort(-related, kind="stable")[:subset]
        in_rows = np.zeros(n_rows + 1, dtype=bool)
        in_rows[rows] = True
        free = np.flatnonzero(in_rows[np.where(opt_rows[s] >= 0, opt_rows[s], n_rows)])
        if free.size == 0:
            work += LNS_ITERATION_WORK
            continue
        option_in = in_rows[np.where(opt_rows >= 0, opt_rows, n_rows)] | (opt_rows < 0)
        mask = np.zeros((k, n), dtype=bool)
        mask[:, free] = keep[:, free] & option_in[:, None]
        mask[s[free], free] = True
        usage = problem.row_usage(s) - problem.row_usage_of(s, free)
        gusage = problem.global_usage(s) - problem._global_weight_of(s[free], free).sum(axis=1)
        out = solve_cpsat(
            problem,
            mask,
            time_limit=min(remaining, LNS_SUBSOLVE_LIMIT),
            seed=seed + iterations,
            workers=1,
            hint=s,
            row_capacity=problem.capacity - usage,
            global_capacity=problem.global_capacity - gusage,
            jobs=free,
            linearization=LNS_LINEARIZATION,
            det_limit=LNS_SUBSOLVE_DET,
        )
        work += lns_work(out.det, free.size)
        wall_stop = wall_stop or stopped_by_clock(out, LNS_SUBSOLVE_DET)
        if out.assignment is not None:
            new_cost = problem.objective(out.assignment)
            if new_cost < best_cost - 1e-9 * max(1.0, abs(best_cost)) and problem.is_feasible(
                out.assignment
            ):
                s, best_cost = out.assignment, new_cost
                improvements += 1
                last_improvement = iterations
        # Adapt the neighbourhood size to how much work sub-problems take to close.
        if out.status is Status.OPTIMAL and out.det < LNS_FAST_DET:
            subset = min(max_subset, subset + 1)
        elif out.status is not Status.OPTIMAL and subset > 2:
            subset -= 1
    stats["lns_iterations"] = iterations
    stats["lns_improvements"] = improvements
    stats["lns_final_rows"] = subset
    stats["lns_work"] = work
    stats["lns_wall_s"] = time.perf_counter() - started
    stats["lns_work_budget"] = work_budget
    stats["lns_wall_stop"] = wall_stop
    stats["lns_stalled"] = stalled
    return s


def lns_work(det: float, free_jobs: int) -> float:
    """Work of one LNS iteration in CP-SAT deterministic seconds: the sub-solve's own
    deterministic time plus a charge for building its model (per freed job) and the
    iteration's fixed cost, both measured in deterministic-second equivalents."""
    return det + LNS_ITERATION_WORK + LNS_JOB_WORK * free_jobs
