"""The first feasible assignments of the assignment core's driver (:mod:`~solver.allocation.gap.solve`).

* :func:`stranded_jobs` — presolve: the jobs no option can take on its own;
* :func:`greedy_phase` — phase 2: the cheapest option under the dual's prices, repaired and
  shifted (:mod:`~solver.allocation.gap.primal`); a regret construction when the repair
  fails; swap moves on small problems (:mod:`~solver.allocation.gap.localsearch`). It
  stops on its own criteria and its work is charged from its size.
"""

from __future__ import annotations

import math
import time

import numpy as np

from solver.allocation.gap.budget import idle_rate
from solver.allocation.gap.dual import DualResult
from solver.allocation.gap.localsearch import improve_shift, improve_swap
from solver.allocation.gap.primal import primal_from_prices, regret_construct
from solver.allocation.gap.problem import per_option
from solver.allocation.gap.state import Run

__all__ = ["greedy_phase", "stranded_jobs"]

# Swap local search evaluates all job pairs per round: only for up to this many jobs (the
# ejection chains, which include swaps, take over on larger problems).
SWAP_MAX_JOBS = 1_000


def stranded_jobs(allowed: np.ndarray) -> str:
    """Presolve: the jobs that fit no option on their own, as a message ("" when none)."""
    stranded = np.flatnonzero(~allowed.any(axis=0))
    if not stranded.size:
        return ""
    listed = ", ".join(str(j) for j in stranded[:10])
    more = f" and {stranded.size - 10} more" if stranded.size > 10 else ""
    return f"{stranded.size} job(s) fit no agent/option on their own: {listed}{more}"


def greedy_phase(run: Run, allowed: np.ndarray, dual: DualResult) -> None:
    """Phase 2: the cheapest option under the prices, repaired, then shifted; a regret
    construction when the repair fails; swap moves on small instances."""
    problem, deadline = run.problem, run.deadline
    k, n = problem.cost.shape
    started = time.perf_counter()
    if started < deadline:
        repaired = primal_from_prices(
            problem, allowed, dual.prices, dual.global_prices, deadline=deadline
        )
        if repaired is not None:
            run.offer(improve_shift(problem, repaired, allowed, deadline=deadline))
        if repaired is None and n <= 50_000:
            rc0 = np.where(allowed, problem.reduced_costs(dual.prices, dual.global_prices), np.inf)
            built = regret_construct(problem, rc0, allowed, deadline=deadline)
            if built is None:
                # Martello–Toth's resource-based desirability: places tight instances.
                own_cap = per_option(problem.capacity, problem.row_of, np.inf)
                relative = (
                    np.broadcast_to(problem.weight, (k, n)) / np.maximum(own_cap, 1e-12)[:, None]
                )
                built = regret_construct(problem, relative, allowed, deadline=deadline)
            run.stats["regret_construct"] = built is not None
            if built is not None:
                run.offer(improve_shift(problem, built, allowed, deadline=deadline))
    run.stats["greedy_objective"] = (
        problem.objective(run.incumbent) if run.incumbent is not None else math.nan
    )
    if run.incumbent is not None and n <= SWAP_MAX_JOBS:
        run.incumbent = improve_swap(problem, run.incumbent, allowed, deadline=deadline)
        run.stats["swap_objective"] = problem.objective(run.incumbent)
    # charged from its size: it stops on its own criteria (swap rounds are quadratic)
    cells = 4 * k * n + (10 * n * n if n <= SWAP_MAX_JOBS else 0)
    run.clock.charge("greedy", cells / idle_rate("greedy"), wall=time.perf_counter() - started)
