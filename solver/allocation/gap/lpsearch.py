"""LP-guided large-neighbourhood search: relaxation-induced neighbourhoods solved by CP-SAT.

The LP relaxation of an assignment problem is tight on Yagiura's large GAPs (c201600: LP
18798.6, best known 18802) and its optimum is nearly integral (19 of 1,600 jobs split), so
it says which jobs sit where the optimum probably has them. :func:`lp_relaxation` solves it
(HiGHS, through :func:`scipy.optimize.linprog`); :func:`lp_guided_search` then frees, again
and again, the jobs whose incumbent option the LP does not take whole (the relaxation-induced
neighbourhood of Danna, Rothberg and Le Pape, Math. Programming 102, 2005) together with the
jobs of a few random rows, and re-optimises them exactly with one CP-SAT worker; the rows
grow while sub-problems close fast and shrink when they do not, as in
:mod:`~solver.allocation.gap.lns`.

Measured on c201600 (3-4 Dec 2026, CPU seconds on the loaded project machine, from the
10-s run's 18818): the ejection chains, the tabu search and the elite search with 2 × 10⁸
move evaluations each, and CP-SAT on the full model with two workers, hinted, for 21
deterministic seconds, found nothing better; the agent-subset LNS 18817 in 3.9 s; this
search 18806 in 12.7 s (20 sub-problems). In ``bench_gap.py --time-limit 60`` (4 Dec 2026,
04:03-04:21 UTC, load 5-12) with the search in parallel runs' improvement phase and on the
clock left: c201600 18809 (main 18816, plain CP-SAT in the same run 18874), c801600 16289
(16293), e801600 176860 (176946); 0 of 9 large instances worse than plain CP-SAT.

Determinism: HiGHS is deterministic; the sub-problems run on one CP-SAT worker with a
deterministic-time budget and the rows come from a seeded generator, so the work done
(:func:`~solver.allocation.gap.lns.lns_work`) decides everything and the wall clock is
only the hard stop (``stats["lp_search_wall_stop"]``).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from solver.allocation.gap.cpsat import solve_cpsat, stopped_by_clock
from solver.allocation.gap.lns import lns_work
from solver.allocation.gap.problem import AssignmentProblem
from solver.domain import Status

__all__ = ["lp_guided_search", "lp_relaxation"]

#: An LP value at least ``1 − LP_WHOLE`` takes the pair whole.
LP_WHOLE = 1e-6
#: Deterministic-time budget of one sub-problem, and the "closes fast" threshold that adds a
#: row to the next neighbourhood (c201600: 20 sub-problems at 1.0 gave 18806 from 18818;
#: the first ones took all of it, the later ones 0.2-0.3).
SUBSOLVE_DET = 0.6
FAST_DET = 0.3
#: Jobs of the random rows freed in the first neighbourhood (besides the LP's).
START_JOBS = 40
#: Most of the LP's jobs (those whose incumbent option it does not take whole) the first
#: neighbourhood frees: past it a random sample. The cap shrinks by SPLIT_SHRINK when a
#: sub-problem with one row does not close, and grows by SPLIT_GROW when one closes fast.
#: Small first neighbourhoods that grow did better than large ones that shrink (4 Dec 2026,
#: 4 deterministic seconds, START_JOBS / START_SPLIT 40 / 20 against 150 / 150: c201600
#: 18817 -> 18806 against 18807; d801600 97227 -> 97223 against no improvement in 3
#: sub-problems that all ran out of time; c201600 has 64 such jobs after 10 s, c801600 324).
START_SPLIT = 20
SPLIT_SHRINK = 0.7
SPLIT_GROW = 1.2
MIN_SPLIT = 10
#: Wall-clock cap of one sub-problem (seconds): the hard stop only.
SUBSOLVE_LIMIT = 5.0
#: CP-SAT linearization level of the sub-problems (2: the knapsacks' LP relaxation).
LINEARIZATION = 2


def lp_relaxation(
    problem: AssignmentProblem, allowed: np.ndarray, *, time_limit: float
) -> np.ndarray | None:
    """The LP relaxation's optimal values ``x[o, j]`` (``0`` off the allowed pairs), or
    ``None`` when HiGHS does not solve it within ``time_limit`` wall-clock seconds."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix, vstack

    k, n = problem.cost.shape
    opt, job = np.nonzero(allowed)
    pairs = opt.size
    columns = np.arange(pairs)
    # every job takes one option in all
    one_each = csr_matrix((np.ones(pairs), (job, columns)), shape=(n, pairs))
    # the capacity rows (own rows of the options, then the global rows)
    weight = problem.weight[opt, job if problem.weight.shape[1] > 1 else 0]
    rows = problem.row_of[opt]
    on_row = rows >= 0
    blocks = [
        csr_matrix(
            (weight[on_row], (rows[on_row], columns[on_row])),
            shape=(problem.capacity.size, pairs),
        )
    ]
    for g in range(problem.global_capacity.size):
        gw = problem.global_weight[g]
        values = gw[opt, job if gw.shape[1] > 1 else 0]
        blocks.append(csr_matrix(values[None, :]))
    out = linprog(
        problem.cost[opt, job],
        A_ub=vstack(blocks).tocsr(),
        b_ub=np.r_[problem.capacity, problem.global_capacity],
        A_eq=one_each,
        b_eq=np.ones(n),
        bounds=(0.0, 1.0),
        method="highs",
        options={"time_limit": max(0.0, time_limit)},
    )
    if out.status != 0 or out.x is None:
        return None
    x = np.zeros((k, n))
    x[opt, job] = out.x
    return x


def lp_guided_search(
    problem: AssignmentProblem,
    assignment: np.ndarray,
    x: np.ndarray,
    mask: np.ndarray,
    *,
    work_budget: float,
    deadline: float,
    seed: int,
    stats: dict[str, Any],
    target: float = -math.inf,
) -> np.ndarray:
    """Re-optimise, with CP-SAT, the jobs the LP relaxation ``x`` does not give their
    incumbent option whole, with the jobs of a few random rows (see the module).

    ``mask`` holds the options a freed job may take (the LP's options are added). Stops
    before its work (:func:`~solver.allocation.gap.lns.lns_work`) would pass
    ``work_budget`` (the next iteration taken to cost the mean so far), once the objective
    reaches ``target``, or, as a hard stop, at ``deadline``. Returns the best assignment.
    """
    k, n = problem.cost.shape
    n_rows = problem.capacity.size
    rng = np.random.default_rng(seed)
    options = mask | (x > LP_WHOLE)
    best = assignment.copy()
    best_cost = problem.objective(best)
    rows = max(1, min(n_rows, round(START_JOBS * n_rows / max(n, 1))))
    split_cap = START_SPLIT
    work, iterations, improvements = 0.0, 0, 0
    wall_stop = False
    started = time.perf_counter()
    while n_rows and best_cost > target:
        if iterations and work + work / iterations > work_budget or work >= work_budget:
            break
        left = deadline - time.perf_counter()
        if left < 0.02:
            wall_stop = True
            break
        iterations += 1
        free = _neighbourhood(problem, best, x, rows, split_cap, rng)
        sub, room, global_room = _subproblem(problem, best, free, options)
        out = solve_cpsat(
            problem,
            sub,
            jobs=free,
            hint=best,
            row_capacity=room,
            global_capacity=global_room,
            seed=seed + iterations,
            workers=1,
            linearization=LINEARIZATION,
            det_limit=SUBSOLVE_DET,
            time_limit=min(left, SUBSOLVE_LIMIT),
        )
        work += lns_work(out.det, free.size)
        wall_stop = wall_stop or stopped_by_clock(out, SUBSOLVE_DET)
        found = out.assignment
        cost = math.inf if found is None else problem.objective(found)
        if found is not None and cost < best_cost - 1e-9 * max(1.0, abs(best_cost)):
            if problem.is_feasible(found):
                best, best_cost = found, cost
                improvements += 1
        # the neighbourhood follows the work sub-problems take to close
        if out.status is Status.OPTIMAL and out.det < FAST_DET:
            rows = min(n_rows, rows + 1)
            split_cap = max(split_cap + 1, int(split_cap * SPLIT_GROW))
        elif out.status is not Status.OPTIMAL:
            if rows == 1:
                split_cap = max(MIN_SPLIT, int(split_cap * SPLIT_SHRINK))
            rows = max(1, rows - 1)
    stats.update(
        lp_search_iterations=iterations,
        lp_search_improvements=improvements,
        lp_search_rows=rows,
        lp_search_split_cap=split_cap,
        lp_search_work=work,
        lp_search_wall_s=time.perf_counter() - started,
        lp_search_wall_stop=wall_stop,
    )
    return best


def _subproblem(
    problem: AssignmentProblem, assignment: np.ndarray, free: np.ndarray, options: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sub-problem of the ``free`` jobs, the others staying as in ``assignment``: the
    options they may take (``options`` and their own) and the capacity the others leave."""
    k, n = problem.cost.shape
    sub = np.zeros((k, n), dtype=bool)
    sub[:, free] = options[:, free]
    sub[assignment[free], free] = True
    fixed_rows = problem.row_usage(assignment) - problem.row_usage_of(assignment, free)
    fixed_global = problem.global_usage(assignment) - problem._global_weight_of(
        assignment[free], free
    ).sum(axis=1)
    return sub, problem.capacity - fixed_rows, problem.global_capacity - fixed_global


def _neighbourhood(
    problem: AssignmentProblem,
    assignment: np.ndarray,
    x: np.ndarray,
    rows: int,
    split_cap: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The jobs one iteration frees: those whose option the LP does not take whole (a
    random ``split_cap`` of them when more), and those on ``rows`` random rows."""
    n = problem.n_jobs
    split = np.flatnonzero(x[assignment, np.arange(n)] < 1.0 - LP_WHOLE)
    if split.size > split_cap:
        split = np.sort(rng.choice(split, size=split_cap, replace=False))
    picked = rng.choice(problem.capacity.size, size=rows, replace=False)
    on_rows = np.flatnonzero(np.isin(problem.row_of[assignment], picked))
    return np.union1d(split, on_rows)
