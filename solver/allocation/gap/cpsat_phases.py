"""The CP-SAT phases of the assignment core's driver (:mod:`~solver.allocation.gap.solve`).

* :func:`exact_phase` — phase 3a (small problems): CP-SAT on the full model, reduced-cost
  fixed (:func:`fixed_by_reduced_cost`) and warm-started; it often proves optimality;
* :func:`reduced_cpsat` — phase 3b: without a solution yet, CP-SAT on the reduced options
  (:func:`reduced_options`, also the LNS's options) for a first one;
* :func:`lp_on_the_clock` and :func:`finish_on_the_clock` — phase 5 (parallel runs that are
  not reproducible on purpose, ``reproducible=False``): the wall clock the work budgets
  leave goes to the LP-guided search and to CP-SAT from the incumbent.

Each books its work to the run's account (:mod:`~solver.allocation.gap.budget`); the two on
the clock book only their wall time. CP-SAT with more than one worker runs its interleaved,
deterministic search in a reproducible run (:func:`cpsat_run_det`).
"""

from __future__ import annotations

import math
import time

import numpy as np

from solver.allocation.gap.budget import WORK_SAFETY, idle_rate, lp_work
from solver.allocation.gap.cpsat import solve_cpsat, stopped_by_clock
from solver.allocation.gap.dual import DualResult
from solver.allocation.gap.improve import lp_phase
from solver.allocation.gap.lpsearch import lp_relaxation
from solver.allocation.gap.problem import AssignmentProblem, AssignmentResult
from solver.allocation.gap.state import Run
from solver.domain import Status

__all__ = [
    "cpsat_rate",
    "cpsat_run_det",
    "exact_phase",
    "finish_on_the_clock",
    "fixed_by_reduced_cost",
    "lp_on_the_clock",
    "reduced_cpsat",
    "reduced_options",
]

# The reduced CP-SAT model (first solution of large GAPs) keeps this many options per job.
REDUCED_OPTIONS_PER_JOB = 8
# Small problems: share of the work left of the exact CP-SAT run (warm-started from a short
# ejection-chain search, solver.allocation.gap.improve.WARM_SHARE) before the elite search
# (solver.allocation.gap.improve.tight_search) and the improvement. Easy problems are proven
# optimal within it; on tight ones (Chu–Beasley type D) CP-SAT stalls, and the tabu search
# after it does better with the time (3 Dec 2026, chu-D at 10 s: mean 0.60 % with 0.85 of
# the work to CP-SAT, 0.45 % with 0.7 to the tabu search).
EXACT_SHARE = 0.3
# ... and, in parallel runs that are not reproducible (reproducible=False: the threads share
# solutions as timing allows), CP-SAT's deterministic time there is at least this per second
# of the limit's share not yet spent: the plain CP-SAT baseline's own setting (half its
# wall-clock limit); the wall clock the budgets leave at the end goes to CP-SAT again
# (finish_on_the_clock). A reproducible run keeps its budget, and the result repeats.
EXACT_DET_PER_SECOND = 0.5
# Parallel runs give the wall clock left after the budgets, less FINISH_MARGIN of the limit
# (at least FINISH_MIN_SECONDS of it), to the LP-guided search from the incumbent (when the LP
# was solved) and, on problems of at most FINISH_MAX_PAIRS pairs, to CP-SAT from the
# incumbent: on small and medium GAPs CP-SAT with time is strong. The LP-guided search takes
# LP_CLOCK_SHARE of it there, all of it on larger problems (which ended with the budgets
# before: c401600 after 26.6 s of 60). Session 13 measured the LP search taking all of it on
# medium problems too (7acdebd against 1732694, 4 Dec 2026): at 10 s the CP-SAT half had
# improved 1 of 15 Yagiura instances of 8,000-32,000 pairs, the LP half 11, but alternated
# 10-s runs of the 15 (load 3-7) gave 4 better, 6 worse (C: 4 worse), mean 0.165 -> 0.173 %,
# and e30900 at 60 s stayed at 100,429: the split stays.
FINISH_MAX_PAIRS = 40_000
LP_CLOCK_SHARE = 0.5
FINISH_MARGIN = 0.05
FINISH_MIN_SECONDS = 0.5


def exact_phase(
    run: Run, allowed: np.ndarray, dual: DualResult, *, lns: bool
) -> AssignmentResult | None:
    """Phase 3a (small problems): exact CP-SAT on the full model, warm-started; it often
    proves optimality. Returns the result when it ends the search."""
    problem = run.problem
    remaining = run.deadline - time.perf_counter()
    share = EXACT_SHARE if lns and run.incumbent is not None else 1.0
    seconds = share * run.clock.left
    det = cpsat_run_det(run, seconds)
    wall = min(remaining, run.clock.window(seconds))
    if not run.reproducible:
        # at least the plain CP-SAT run's effort on its share of the time (the rest of it
        # follows in finish_on_the_clock)
        det = max(det, EXACT_DET_PER_SECOND * share * (run.limit - run.clock.spent))
        wall = share * remaining
    mask = fixed_by_reduced_cost(run, allowed, dual)
    run.stats["cpsat_pairs"] = int(mask.sum())
    out = solve_cpsat(
        problem,
        mask,
        time_limit=wall,
        seed=run.seed,
        workers=run.cpsat_workers,
        hint=run.incumbent if run.incumbent is not None else dual.choice,
        det_limit=det,
        deterministic=run.reproducible,
    )
    run.clock.charge("cp-sat", out.det / run.cpsat_workers / cpsat_rate(run), seconds, out.wall)
    run.stats["cpsat_status"] = out.status
    if stopped_by_clock(out, det):
        run.clock_stops.append("cp-sat")
    if out.status is Status.INFEASIBLE:
        message = "CP-SAT proved that no assignment satisfies the capacities"
        return run.finish(None, math.inf, Status.INFEASIBLE, "cp-sat", message)
    run.bound = max(run.bound, out.bound)
    if out.assignment is not None and (
        run.incumbent is None
        or problem.objective(out.assignment) <= problem.objective(run.incumbent)
    ):
        run.incumbent = out.assignment
    run.method = "cp-sat"
    if out.status is Status.OPTIMAL:
        return run.finish(run.incumbent, run.bound, Status.OPTIMAL, run.method)
    return None


def cpsat_run_det(run: Run, seconds: float) -> float:
    """CP-SAT's deterministic-time budget for ``seconds`` of the run's work: the work is
    charged as the reported deterministic time over the workers (:func:`exact_phase`), and
    the interleaved search of a reproducible parallel run reports its workers' time summed
    (d10400, 2 workers, 4 Dec 2026: 3.7 deterministic seconds for 3.4-3.6 CPU seconds, one
    worker 2.0 for 2.5), so its budget is the workers' times one worker's."""
    per_worker = seconds * cpsat_rate(run)
    return per_worker * run.cpsat_workers if run.reproducible else per_worker


def cpsat_rate(run: Run) -> float:
    """CP-SAT's deterministic seconds per worker per second of the idle machine: one worker's
    pace, or the parallel interleaved search's (faster per worker, ``budget.PACE``)."""
    return idle_rate("cp-sat" if run.cpsat_workers <= 1 else "parallel cp-sat")


def lp_on_the_clock(run: Run, allowed: np.ndarray, pairs: int) -> np.ndarray | None:
    """The LP relaxation for the LP-guided search on the wall clock left (parallel runs with
    ``reproducible=False`` whose budgets it did not fit), when its work's window fits that
    clock (less ``FINISH_MARGIN`` of the limit); else ``None``.

    On problems of at most ``FINISH_MAX_PAIRS`` pairs, where CP-SAT on the clock follows, the
    window must be at most half of that clock, and HiGHS may take all but the window; past
    them nothing else would use the clock, so HiGHS may take all but ``FINISH_MIN_SECONDS``
    of it (80 × 1,600 GAPs at 10 s ended after 2.2-5.6 s, the LP's 3.2 s of work at the
    rates taking 1.0-1.6 s of wall time at load 4 on c801600 and d801600).

    Not when the budgets' own attempt was stopped by the clock (``"lp relaxation"`` in
    ``run.clock_stops``): HiGHS starts again from nothing, so a second solve would spend the
    clock left on the LP that already took longer than its window there."""
    window = lp_work(pairs) / WORK_SAFETY
    left = run.deadline - FINISH_MARGIN * run.limit - time.perf_counter()
    if pairs <= FINISH_MAX_PAIRS:
        room, limit = 0.5 * left, left - window
    else:
        room = limit = left - FINISH_MIN_SECONDS
    if run.incumbent is None or "lp relaxation" in run.clock_stops or window > room:
        return None
    started = time.perf_counter()
    x = lp_relaxation(run.problem, allowed, time_limit=limit)
    run.clock.charge("lp relaxation on the clock", 0.0, None, time.perf_counter() - started)
    return x


def finish_on_the_clock(
    run: Run,
    allowed: np.ndarray,
    keep: np.ndarray,
    dual: DualResult,
    lp: np.ndarray | None,
    *,
    pairs: int,
) -> AssignmentResult | None:
    """Phase 5 (parallel runs with ``reproducible=False``): the wall clock left after the
    work budgets, less
    ``FINISH_MARGIN`` of the limit, goes to the LP-guided search (when the LP was solved:
    ``LP_CLOCK_SHARE`` of it on problems of at most ``FINISH_MAX_PAIRS`` pairs, all of it on
    larger ones) and, on problems of at most ``FINISH_MAX_PAIRS`` pairs, to CP-SAT on the
    full model (reduced-cost fixed) from the incumbent.

    Such a run is not reproducible anyway (CP-SAT's threads share solutions as timing
    allows), so nothing is lost by letting the clock stop these; a reproducible run never
    gets here. Returns the result when CP-SAT proves optimality.
    """
    problem = run.problem
    end = run.deadline - FINISH_MARGIN * run.limit
    if run.incumbent is None or end - time.perf_counter() < FINISH_MIN_SECONDS:
        return None
    cpsat = pairs <= FINISH_MAX_PAIRS
    if lp is not None:
        share = LP_CLOCK_SHARE if cpsat else 1.0
        lp_phase(
            run,
            allowed,
            keep,
            seconds=0.0,
            x=lp,
            until=time.perf_counter() + share * (end - time.perf_counter()),
        )
    remaining = end - time.perf_counter()
    if not cpsat or remaining < FINISH_MIN_SECONDS:
        return None
    mask = fixed_by_reduced_cost(run, allowed, dual)
    out = solve_cpsat(
        problem,
        mask,
        time_limit=remaining,
        seed=run.seed + 1,
        workers=run.cpsat_workers,
        hint=run.incumbent,
        det_limit=remaining * run.cpsat_workers,  # the clock, not the work, ends this one
    )
    run.clock.charge("cp-sat on the clock", 0.0, None, out.wall)
    run.stats["finish_cpsat_status"] = out.status
    run.bound = max(run.bound, out.bound)
    if out.assignment is not None and problem.objective(out.assignment) < problem.objective(
        run.incumbent
    ):
        run.incumbent = out.assignment
    run.method += "+cp-sat"
    if out.status is Status.OPTIMAL:
        return run.finish(run.incumbent, run.bound, Status.OPTIMAL, run.method)
    return None


def fixed_by_reduced_cost(run: Run, allowed: np.ndarray, dual: DualResult) -> np.ndarray:
    """The pairs an assignment better than the incumbent can use (reduced-cost fixing).

    Giving job ``j`` option ``o`` raises the Lagrangian bound ``L(λ)`` by at least
    ``rc_oj − min_o' rc_o'j``; a pair for which that passes the incumbent's cost (less one
    unit for integer costs: an equal cost is no improvement) is in no better assignment.
    The incumbent's own pairs are kept, so the model's optimum is the problem's optimum and
    its proven bound holds for the problem.
    """
    problem, incumbent = run.problem, run.incumbent
    if incumbent is None or not math.isfinite(dual.bound):
        return allowed
    rc = np.where(allowed, problem.reduced_costs(dual.prices, dual.global_prices), np.inf)
    rise = rc - rc.min(axis=0)
    slack = problem.objective(incumbent) - dual.bound - (1.0 if run.integral_costs else 0.0)
    mask = allowed & (rise <= slack + 1e-6 * max(1.0, abs(dual.bound)))
    mask[incumbent, np.arange(problem.n_jobs)] = True
    return mask


def reduced_options(
    problem: AssignmentProblem,
    allowed: np.ndarray,
    dual: DualResult,
    incumbent: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The options the reduced CP-SAT model and the LNS may use, and the reduced costs.

    Per job: the ``REDUCED_OPTIONS_PER_JOB`` allowed options of smallest Lagrangian reduced
    cost, the dual's choice and the incumbent's option.
    """
    k, n = problem.cost.shape
    jobs = np.arange(n)
    rc = problem.reduced_costs(dual.prices, dual.global_prices)
    rc = np.where(allowed, rc, np.inf)
    keep = allowed
    if k > REDUCED_OPTIONS_PER_JOB:
        cut = np.partition(rc, REDUCED_OPTIONS_PER_JOB - 1, axis=0)[REDUCED_OPTIONS_PER_JOB - 1]
        keep = allowed & (rc <= cut[None, :])
    keep = keep.copy()
    keep[dual.choice, jobs] = True
    if incumbent is not None:
        keep[incumbent, jobs] = True
    keep &= allowed
    return keep, rc


def reduced_cpsat(run: Run, keep: np.ndarray, dual: DualResult, *, share: float) -> None:
    """Phase 3b: without a solution yet, CP-SAT on the reduced model for a first one, with
    ``share`` of the work left (less when the search follows)."""
    seconds = share * run.clock.left
    det = cpsat_run_det(run, seconds)
    out = solve_cpsat(
        run.problem,
        keep,
        time_limit=min(run.deadline - time.perf_counter(), run.clock.window(seconds)),
        seed=run.seed,
        workers=run.cpsat_workers,
        hint=dual.choice,
        det_limit=det,
        deterministic=run.reproducible,
    )
    run.clock.charge(
        "reduced cp-sat", out.det / run.cpsat_workers / cpsat_rate(run), seconds, out.wall
    )
    run.stats["reduced_cpsat_status"] = out.status
    if stopped_by_clock(out, det):
        run.clock_stops.append("reduced cp-sat")
    if out.assignment is not None and run.problem.is_feasible(out.assignment):
        run.incumbent = out.assignment
        run.method = "lagrangian+reduced-cp-sat"
