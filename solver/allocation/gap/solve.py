"""The assignment core's driver: :func:`solve_assignment` and :func:`solve_gap`.

The phases run in order, each a named step below: presolve, the Lagrangian bound and prices
(:mod:`~solver.allocation.gap.dual`), a greedy primal (:mod:`~solver.allocation.gap.primal`);
on small problems a short ejection-chain search (:mod:`~solver.allocation.gap.ejection`)
then exact CP-SAT from it (:mod:`~solver.allocation.gap.cpsat`); the exact min-cost flow of
transportation-shaped problems (:mod:`~solver.allocation.gap.flow`: solved first, offered
after the dual and the greedy); a reduced CP-SAT model
when no solution is known yet; the knapsack Lagrangian bound with its Lagrangian restarts
(:mod:`~solver.allocation.gap.knapsack`); then the improvement phase — rounds of the
ejection-chain search and of the CP-SAT large-neighbourhood search
(:mod:`~solver.allocation.gap.lns`), and, in parallel runs, the LP-guided search
(:mod:`~solver.allocation.gap.lpsearch`); and, in parallel runs, on the wall clock left, the
LP-guided search again and (small and medium problems) CP-SAT from the incumbent.

Determinism: the same problem and seed give the same result whenever the wall clock stops
nothing. Every phase that could run until the deadline has a budget of deterministic work
(:mod:`~solver.allocation.gap.budget`): iterations of the Lagrangian ascent, CP-SAT's
deterministic time, move evaluations of the ejection chains, LNS work; each budget is a
share of what the limit's work account has left after the phases before it, so time a phase
leaves unused goes to the next. A parallel run's budgets add up to most of its limit on the
project machine; a one-worker run's to a quarter of that, so that at the machine's usual
load the clock stops nothing (the decision and its figures: :mod:`~solver.allocation.gap.budget`).
The other phases (repair, shift/swap local search, regret construction, the
min-cost flow) stop on their own criteria; their work is charged to the account from their
size. CP-SAT is seeded; with one worker its search is reproducible for a given deterministic
time, while a parallel run (``workers > 1``) is not: its threads share solutions as timing
allows. (CP-SAT's deterministic ``interleave_search`` mode overshoots small deterministic
budgets by whole batches — measured 2.7 against a budget of 1.1 — so it does not help here.)
:func:`solver.allocation.portfolio.allocate` therefore uses one worker; ``bench gap`` uses
two. The wall clock is only the hard stop. When it does stop a phase first, the result says
which (``stats["wall_clock_stop"]``): its certificate is still valid, but a rerun may differ.
``stats["work"]`` is the account (seconds the work stands for, per phase, and the share of
the limit). The one phase that runs on the clock by design is the last CP-SAT run of a
parallel (``workers > 1``, hence not reproducible) solve, which takes the wall time the
budgets left: a parallel run uses its whole limit, a one-worker run its budgets.

The deadline: the phases stop at ``STOP_GUARD`` of the limit before it (at most
``STOP_GUARD_MAX`` seconds), so that the last piece of work the clock cannot interrupt ends
within the limit; the warm-up (compiled kernels, CP-SAT's import) runs before the clock.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from solver.allocation.gap.budget import (
    CPSAT_DET_PER_SECOND,
    DUAL_CELLS_PER_SECOND,
    FLOW_ARCS_PER_SECOND,
    GREEDY_CELLS_PER_SECOND,
    REPRODUCIBLE_PACE,
    WORK_SAFETY,
    WorkClock,
    lp_work,
)
from solver.allocation.gap.coreflow import core_flow_seconds, solve_core_flow
from solver.allocation.gap.cpsat import solve_cpsat, stopped_by_clock
from solver.allocation.gap.dual import DualResult, lagrangian_dual
from solver.allocation.gap.flow import TransportResult, row_units, solve_transport, unit_slots
from solver.allocation.gap.improve import (
    improve,
    knapsack_phase,
    lp_phase,
    tight_search,
    warm_start,
)
from solver.allocation.gap.lpsearch import lp_relaxation
from solver.allocation.gap.primal import (
    improve_shift,
    improve_swap,
    primal_from_prices,
    regret_construct,
)
from solver.allocation.gap.problem import (
    AssignmentProblem,
    AssignmentResult,
    gap_problem,
    per_option,
    to_sense,
)
from solver.allocation.gap.state import Run, is_integral
from solver.allocation.gap.warmup import warm as warm_gap_kernels
from solver.domain import Status

__all__ = ["solve_assignment", "solve_gap"]

# Problems with at most this many allowed job–option pairs go to the exact CP-SAT path.
EXACT_MAX_PAIRS = 6_000
# The reduced CP-SAT model (first solution of large GAPs) keeps this many options per job.
REDUCED_OPTIONS_PER_JOB = 8
# Largest number of pairs for which CP-SAT models (reduced or sub-problems) are built at all.
CPSAT_MAX_PAIRS = 400_000
# With at least this many jobs the dual is first solved on a random sample of SAMPLE_JOBS
# jobs (capacities scaled in proportion) and then refined on all jobs.
SAMPLE_MIN_JOBS = 100_000
SAMPLE_JOBS = 40_000
# ... with this share of the Lagrangian phase's work (the rest refines on all jobs).
SAMPLE_SHARE = 0.4
# Before the core flow (transportation problems past FLOW_MAX_ARCS) the sample dual has this
# share of the exact phases' work (WorkClock.room) instead: its prices choose the core, and a
# core priced by a short ascent takes many more rounds of column generation. 1,000,000
# generated accounts, 3 Dec 2026, load 4-7 (sample dual's iterations: wall of sample + core
# flow, rounds): 50: 0.5 + 51 s, 12 rounds, not converged (gap 0.13 %); 100: 1.7 + 21.8 s, 5;
# 200: 2.7 + 13.4 s, 4, optimal; 300: 4.8 + 8.4 s, 3, optimal; 654 (converged): 7.0 + 13.1 s,
# 3, optimal. Before, the share of the paced dual budget gave 48 iterations at a 20-s limit.
# CORE_SAMPLE_WALL: the wall window per second of that work (the rate is for load 3-5).
CORE_SAMPLE_SHARE = 0.15
CORE_SAMPLE_WALL = 2.0
# ... and at most this many iterations (300 gave 3 rounds; a 60-s limit's share, 612, took
# 12 s of wall time at load 7 for nothing the core flow needed).
CORE_SAMPLE_MAX_ITERATIONS = 400
# The sample dual's iterations at most otherwise (its work share decides before this binds).
SAMPLE_MAX_ITERATIONS = 1500
# Passes over the K × n option matrix that the phases after a core flow that proved nothing
# take at least (the start prices' greedy, one dual step and its choice, the greedy's repair
# and shift): they run only when that fits the wall clock left, else the core flow's
# assignment and bound are the result (1,000,000 accounts at load 4: 11 s for them).
AFTER_CORE_PASSES = 12
# Swap local search evaluates all job pairs per round: only for up to this many jobs (the
# ejection chains, which include swaps, take over on larger problems).
SWAP_MAX_JOBS = 1_000
# Small problems: share of the work left of the exact CP-SAT run (warm-started from a short
# ejection-chain search, solver.allocation.gap.improve.WARM_SHARE) before the elite search
# (solver.allocation.gap.improve.tight_search) and the improvement. Easy problems are proven
# optimal within it; on tight ones (Chu–Beasley type D) CP-SAT stalls, and the tabu search
# after it does better with the time (3 Dec 2026, chu-D at 10 s: mean 0.60 % with 0.85 of
# the work to CP-SAT, 0.45 % with 0.7 to the tabu search).
EXACT_SHARE = 0.3
# ... and, with parallel workers (not reproducible anyway: the threads share solutions as
# timing allows), CP-SAT's deterministic time there is at least this per second of the
# limit's share not yet spent: the plain CP-SAT baseline's own setting (half its wall-clock
# limit); the wall clock the budgets leave at the end goes to CP-SAT again
# (_finish_on_the_clock). With one worker (allocate) the budget stands, and the result
# repeats.
EXACT_DET_PER_SECOND = 0.5
# Parallel runs: share of the improvement phase's work of the LP-guided search (after the
# chains and the LNS, which take the rest).
LP_SHARE = 0.4
# ... when that share is at least LP_MIN_MULTIPLE times the LP relaxation's own work (80 ×
# 1,600 GAPs at 10 s: it is not, and the improvement phase keeps all of its work).
LP_MIN_MULTIPLE = 2.0
# Share of the limit's work of the Lagrangian ascent (small problems / others).
DUAL_SHARE_SMALL = 0.1
DUAL_SHARE = 0.3
# Parallel runs give the wall clock left after the budgets, less FINISH_MARGIN of the limit
# (at least FINISH_MIN_SECONDS of it), to the LP-guided search from the incumbent (when the LP
# was solved) and, on problems of at most FINISH_MAX_PAIRS pairs, to CP-SAT from the
# incumbent: on small and medium GAPs CP-SAT with time is strong. The LP-guided search takes
# LP_CLOCK_SHARE of it there, all of it on larger problems (which ended with the budgets
# before: c401600 after 26.6 s of 60).
FINISH_MAX_PAIRS = 40_000
LP_CLOCK_SHARE = 0.5
FINISH_MARGIN = 0.05
FINISH_MIN_SECONDS = 0.5
# Largest flow network (arcs ≈ allowed pairs) solved: the flow cannot be interrupted, and its
# time grows faster than its size on a loaded machine (200,000 accounts, 2.8 million arcs:
# 15.8 s of wall time at load 5, 3 Dec 2026); 1,000,000 accounts take the Lagrangian path.
FLOW_MAX_ARCS = 2_000_000
# The phases' hard stop comes this share of the limit (at most STOP_GUARD_MAX seconds) before
# the limit itself: the last piece of work the clock cannot interrupt -- a slice of a
# compiled search, a knapsack evaluation, a CP-SAT run's wind-down -- then ends within it
# (at load 8-10 such a piece takes up to about 0.3 s; measured overruns: benchmarks/README.md,
# "Deadline").
STOP_GUARD = 0.03
STOP_GUARD_MAX = 0.5


def _dual_iterations(seconds: float, cells: int, cap: int) -> int:
    """Iteration budget of a Lagrangian ascent over a ``cells``-entry option matrix for
    ``seconds`` of work, at most ``cap`` and at least one."""
    return max(1, min(cap, int(seconds * DUAL_CELLS_PER_SECOND / max(cells, 1))))


def _sample_prices(
    problem: AssignmentProblem,
    *,
    seed: int,
    deadline: float,
    seconds: float,
    cap: int = SAMPLE_MAX_ITERATIONS,
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Dual prices of a random sample of jobs with capacities scaled to the sample's share."""
    n = problem.n_jobs
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(n, size=min(SAMPLE_JOBS, n), replace=False))
    share = pick.size / n
    sample = AssignmentProblem(
        cost=problem.cost[:, pick],
        weight=problem.weight[:, pick] if problem.weight.shape[1] > 1 else problem.weight,
        row_of=problem.row_of,
        capacity=problem.capacity * share,
        global_weight=problem.global_weight[:, :, pick]
        if problem.global_weight.shape[2] > 1
        else problem.global_weight,
        global_capacity=problem.global_capacity * share,
    )
    dual = lagrangian_dual(
        sample, deadline=deadline, max_iterations=_dual_iterations(seconds, sample.cost.size, cap)
    )
    return dual.prices, dual.global_prices, dual.iterations, dual.timed_out


def solve_assignment(
    problem: AssignmentProblem,
    *,
    time_limit: float = 10.0,
    seed: int = 0,
    workers: int = 2,
    exact_max_pairs: int = EXACT_MAX_PAIRS,
    lns: bool = True,
    hint: np.ndarray | None = None,
    dual_method: str = "auto",
    gap_tolerance: float = 0.0,
    pricing: Any = None,
    deadline: float | None = None,
) -> AssignmentResult:
    """Minimise an :class:`AssignmentProblem` with a proven bound (see :mod:`solver.allocation.gap`).

    Parameters
    ----------
    problem
        Minimisation problem.
    time_limit
        Wall-clock seconds for the whole call.
    seed
        Seed of CP-SAT and of the neighbourhood choice.
    workers
        CP-SAT ``num_workers`` (1 makes the exact search reproducible).
    exact_max_pairs
        Problems with at most this many allowed pairs are solved with the full CP-SAT model.
    lns
        Run large-neighbourhood search on large instances when time remains.
    hint
        Optional starting assignment (used if feasible, and as the CP-SAT hint).
    gap_tolerance
        The decomposition path stops early once the relative gap is at most this
        (0: use all the time unless optimality is proven).
    dual_method
        ``"auto"`` warm-starts the dual from a random sample of jobs when there are many
        (``SAMPLE_MIN_JOBS``); ``"subgradient"`` always starts from zero prices.
    pricing
        Pricing-oracle factory of the dual's per-job step (see :func:`lagrangian_dual`); the
        Dask engine's runs on the workers and gives the same result.
    deadline
        An earlier hard stop (a ``time.perf_counter()`` value) than the limit's: a caller
        whose own limit covers work around the solve (``allocate``) keeps the budgets of
        ``time_limit`` (reproducible) and the wall clock it has left.
    """
    warm_gap_kernels()  # before the clock (cached: a no-op when allocate warmed up already)
    t0 = time.perf_counter()
    k, n = problem.cost.shape
    limit = max(0.0, float(time_limit))
    wall = limit if deadline is None else max(0.0, min(limit, deadline - t0))
    run = Run(
        problem,
        t0,
        wall - min(STOP_GUARD * wall, STOP_GUARD_MAX),  # the phases' hard stop
        seed,
        workers,
        gap_tolerance,
        is_integral(problem.cost),
        {"jobs": n, "options": k},
        # one worker: a reproducible run, budgets sized for a loaded machine (budget.py)
        WorkClock(limit, REPRODUCIBLE_PACE if workers <= 1 else 1.0),
    )
    if n == 0:
        return run.finish(np.zeros(0, dtype=np.int64), 0.0, Status.OPTIMAL, "trivial")
    allowed = problem.allowed()
    stranded = _stranded(allowed)
    if stranded:
        return run.finish(None, math.inf, Status.INFEASIBLE, "presolve", stranded)
    pairs = int(allowed.sum())
    run.stats["pairs"] = pairs
    if hint is not None and hint.shape == (n,) and problem.is_feasible(hint):
        run.incumbent = hint.astype(np.int64)
    small = pairs <= exact_max_pairs
    units = None if small else row_units(problem, allowed)  # transportation-shaped: the rows' units
    slots = None if units is None else unit_slots(problem, units)
    # transportation-shaped problems: the exact min-cost flow when its network fits, else
    # the flow on a priced core (its own dual proves the result; the usual phases follow
    # when it cannot)
    flow_slots = slots if pairs <= FLOW_MAX_ARCS else None
    core_slots = None if flow_slots is not None else slots
    # the exact flow first, while the whole limit is left (its result is offered after the
    # dual, which is called as without it: the same prices, the same shadow prices)
    flow = None if flow_slots is None else _transport(run, allowed, flow_slots)
    sample = None
    first = run.incumbent is not None and n >= SAMPLE_MIN_JOBS and dual_method == "auto"
    if core_slots is not None and first:
        final, sample = _core_first(run, allowed, core_slots, units)
        if final is not None:
            return final
        core_slots = None
    dual = _lagrangian(
        run, allowed, small=small, dual_method=dual_method, pricing=pricing, sample=sample
    )
    run.bound = max(run.bound, dual.bound)
    if dual.bound == math.inf:
        message = "no job–option pair is allowed for some job"
        return run.finish(None, math.inf, Status.INFEASIBLE, "lagrangian", message)
    _greedy(run, allowed, dual)
    if small and time.perf_counter() < run.deadline:
        if lns:
            warm_start(run, allowed, dual)
        final = _exact(run, allowed, dual, lns=lns)
        if final is not None:
            return final
        if lns:
            tight_search(run, allowed, dual)
    if run.incumbent is not None and problem.objective(run.incumbent) <= run.good_enough(run.bound):
        return run.finish(run.incumbent, run.bound, Status.FEASIBLE, run.method)
    if flow is not None:
        return _after_transport(run, flow)
    if core_slots is not None:
        final = _core_transport(run, allowed, dual.prices, core_slots, units)
        if final is not None:
            return final

    return _search_phases(run, allowed, dual, pairs=pairs, lns=lns, small=small)


def _search_phases(
    run: Run, allowed: np.ndarray, dual: DualResult, *, pairs: int, lns: bool, small: bool
) -> AssignmentResult:
    """The decomposition's search after the dual and the greedy (large problems, or small
    ones the exact model did not close): CP-SAT on the reduced options when there is no
    incumbent yet, the knapsack phase, the neighbourhood search (with two workers and past
    the exact path, the LP-guided search too) and, with two workers, the LP-guided search
    and CP-SAT on what is left of the clock; each stops once the incumbent is good enough."""
    keep, rc = _reduced_options(run.problem, allowed, dual, run.incumbent)
    if (
        run.incumbent is None
        and int(keep.sum()) <= CPSAT_MAX_PAIRS
        and time.perf_counter() < run.deadline
    ):
        _reduced_cpsat(run, keep, dual, share=0.35 if lns else 1.0)
    if run.incumbent is None:
        return run.finish(
            None,
            run.bound,
            Status.TIME_LIMIT,
            run.method,
            "time limit reached before a feasible assignment was found",
        )
    if run.problem.objective(run.incumbent) <= run.good_enough(run.bound):
        return run.finish(run.incumbent, run.bound, Status.FEASIBLE, run.method)
    knapsack_phase(run, allowed, dual, rc)
    if run.problem.objective(run.incumbent) <= run.good_enough(run.bound):
        return run.finish(run.incumbent, run.bound, Status.FEASIBLE, run.method)
    lp = None  # the LP relaxation's values, once solved
    if lns and int(keep.sum()) <= CPSAT_MAX_PAIRS and run.clock.left > 0.0:
        if time.perf_counter() >= run.deadline - 0.05:
            run.clock_stops.append("search skipped")
        else:
            # parallel runs past the exact path: the LP-guided search takes LP_SHARE of it
            # (lpsearch.py: it improves where the chains and the LNS are stuck); one-worker
            # runs (allocate) keep their phases and results (the search was measured on
            # GAPs only), and small problems theirs (the exact CP-SAT run and the elite
            # search, then CP-SAT on the clock, which proves e10100-e10400 optimal)
            lp_seconds = LP_SHARE * run.clock.left if run.workers > 1 and not small else 0.0
            if lp_seconds < LP_MIN_MULTIPLE * lp_work(pairs):
                lp_seconds = 0.0  # the LP would take most of it: the chains and LNS take all
            improve(
                run, allowed, keep, rc, dual, run.incumbent, seconds=run.clock.left - lp_seconds
            )
            if lp_seconds > 0.0:
                lp = lp_phase(run, allowed, keep, seconds=run.clock.left)
    if lns and run.workers > 1:
        if lp is None and not small:  # the LP did not fit the budgets: on the clock
            lp = _lp_on_the_clock(run, allowed, pairs)
        final = _finish_on_the_clock(run, allowed, keep, dual, lp, pairs=pairs)
        if final is not None:
            return final
    return run.finish(run.incumbent, run.bound, Status.FEASIBLE, run.method)


def _stranded(allowed: np.ndarray) -> str:
    """Presolve: the jobs that fit no option on their own, as a message ("" when none)."""
    stranded = np.flatnonzero(~allowed.any(axis=0))
    if not stranded.size:
        return ""
    listed = ", ".join(str(j) for j in stranded[:10])
    more = f" and {stranded.size - 10} more" if stranded.size > 10 else ""
    return f"{stranded.size} job(s) fit no agent/option on their own: {listed}{more}"


def _sample_phase(
    run: Run, phase: str, seconds: float | None = None
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """The dual of a random sample of jobs (:func:`_sample_prices`) with ``SAMPLE_SHARE`` of
    the Lagrangian phase's work and wall share (problems that are not small), or ``seconds``
    of work and ``CORE_SAMPLE_WALL`` times that of wall clock, booked as ``phase``; solved
    once per call (the core flow and the dual start from the same one)."""
    cap = SAMPLE_MAX_ITERATIONS
    if seconds is None:
        seconds = SAMPLE_SHARE * DUAL_SHARE * run.clock.total
        wall = SAMPLE_SHARE * DUAL_SHARE * run.limit
    else:
        cap = CORE_SAMPLE_MAX_ITERATIONS
        seconds = min(
            seconds, cap * run.problem.cost.shape[0] * SAMPLE_JOBS / DUAL_CELLS_PER_SECOND
        )
        wall = CORE_SAMPLE_WALL * seconds
    started = time.perf_counter()
    sample = _sample_prices(
        run.problem,
        seed=run.seed,
        deadline=min(run.deadline, time.perf_counter() + wall),
        seconds=seconds,
        cap=cap,
    )
    k = run.problem.cost.shape[0]
    run.stats["sample_dual_iterations"] = sample[2]
    run.clock.charge(
        phase,
        sample[2] * k * SAMPLE_JOBS / DUAL_CELLS_PER_SECOND,
        seconds,
        time.perf_counter() - started,
    )
    if sample[3]:
        run.clock_stops.append(phase)
    return sample


def _lagrangian(
    run: Run,
    allowed: np.ndarray,
    *,
    small: bool,
    dual_method: str,
    pricing: Any,
    sample: tuple[np.ndarray, np.ndarray, int, bool] | None = None,
) -> DualResult:
    """Phase 1: the Lagrangian bound and prices.

    With many jobs the prices start from the dual of a random sample (``sample`` when the
    core flow solved it already), which also gives a first primal solution.
    """
    problem, stats = run.problem, run.stats
    k, n = problem.cost.shape
    share = DUAL_SHARE_SMALL if small else DUAL_SHARE
    wall = share * run.limit  # the phase's hard stop
    budget = share * run.clock.total  # its work, in seconds
    dual_seconds = budget
    start_prices = None
    if n >= SAMPLE_MIN_JOBS and dual_method == "auto":
        # Prices are intensive quantities: solve the dual on a random sample with
        # proportionally scaled capacities first, then refine on all jobs.
        start_prices = _sample_phase(run, "sample dual") if sample is None else sample
        dual_seconds = (1.0 - SAMPLE_SHARE) * budget
        run.offer(
            primal_from_prices(
                problem, allowed, start_prices[0], start_prices[1], deadline=run.deadline
            )
        )
    started = time.perf_counter()
    dual = lagrangian_dual(
        problem,
        deadline=min(run.deadline, time.perf_counter() + wall),
        max_iterations=_dual_iterations(dual_seconds, k * n, 300 if small else 3000),
        upper_bound=problem.objective(run.incumbent) if run.incumbent is not None else None,
        allowed=allowed,
        prices=None if start_prices is None else start_prices[0],
        global_prices=None if start_prices is None else start_prices[1],
        step_scale=1.0 if start_prices is None else 0.25,
        pricing=pricing,
    )
    run.clock.charge(
        "lagrangian",
        dual.iterations * k * n / DUAL_CELLS_PER_SECOND,
        dual_seconds,
        time.perf_counter() - started,
    )
    stats["lagrangian_bound"] = dual.bound
    stats["prices"] = dual.prices
    stats["global_prices"] = dual.global_prices
    stats["lagrangian_iterations"] = dual.iterations
    if dual.timed_out:
        run.clock_stops.append("lagrangian")
    return dual


def _greedy(run: Run, allowed: np.ndarray, dual: DualResult) -> None:
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
    run.clock.charge("greedy", cells / GREEDY_CELLS_PER_SECOND, wall=time.perf_counter() - started)


def _exact(
    run: Run, allowed: np.ndarray, dual: DualResult, *, lns: bool
) -> AssignmentResult | None:
    """Phase 3a (small problems): exact CP-SAT on the full model, warm-started; it often
    proves optimality. Returns the result when it ends the search."""
    problem = run.problem
    remaining = run.deadline - time.perf_counter()
    share = EXACT_SHARE if lns and run.incumbent is not None else 1.0
    seconds = share * run.clock.left
    det = seconds * CPSAT_DET_PER_SECOND
    wall = min(remaining, run.clock.window(seconds))
    if run.workers > 1:
        # a parallel run is not reproducible anyway: at least the plain CP-SAT run's effort
        # on its share of the time (the rest of it follows in _finish_on_the_clock)
        det = max(det, EXACT_DET_PER_SECOND * share * (run.limit - run.clock.spent))
        wall = share * remaining
    mask = _fixed_by_reduced_cost(run, allowed, dual)
    run.stats["cpsat_pairs"] = int(mask.sum())
    out = solve_cpsat(
        problem,
        mask,
        time_limit=wall,
        seed=run.seed,
        workers=run.workers,
        hint=run.incumbent if run.incumbent is not None else dual.choice,
        det_limit=det,
    )
    run.clock.charge("cp-sat", out.det / run.workers / CPSAT_DET_PER_SECOND, seconds, out.wall)
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


def _lp_on_the_clock(run: Run, allowed: np.ndarray, pairs: int) -> np.ndarray | None:
    """The LP relaxation for the LP-guided search on the wall clock left (parallel runs
    whose budgets it did not fit: 80 × 1,600 GAPs at 10 s, which ended after 2.4-6 s),
    when its work is at most half of that clock (less ``FINISH_MARGIN``); else ``None``."""
    lp_seconds = lp_work(pairs)
    left = run.deadline - FINISH_MARGIN * run.limit - time.perf_counter()
    if run.incumbent is None or lp_seconds / WORK_SAFETY > 0.5 * left:
        return None
    started = time.perf_counter()
    x = lp_relaxation(run.problem, allowed, time_limit=left - lp_seconds / WORK_SAFETY)
    run.clock.charge("lp relaxation on the clock", 0.0, None, time.perf_counter() - started)
    return x


def _finish_on_the_clock(
    run: Run,
    allowed: np.ndarray,
    keep: np.ndarray,
    dual: DualResult,
    lp: np.ndarray | None,
    *,
    pairs: int,
) -> AssignmentResult | None:
    """Phase 5 (parallel runs): the wall clock left after the work budgets, less
    ``FINISH_MARGIN`` of the limit, goes to the LP-guided search (when the LP was solved:
    ``LP_CLOCK_SHARE`` of it on problems of at most ``FINISH_MAX_PAIRS`` pairs, all of it on
    larger ones) and, on problems of at most ``FINISH_MAX_PAIRS`` pairs, to CP-SAT on the
    full model (reduced-cost fixed) from the incumbent.

    A parallel run is not reproducible anyway (CP-SAT's threads share solutions as timing
    allows), so nothing is lost by letting the clock stop these; one worker (allocate)
    never gets here and keeps its reproducible result. Returns the result when CP-SAT proves
    optimality.
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
    mask = _fixed_by_reduced_cost(run, allowed, dual)
    out = solve_cpsat(
        problem,
        mask,
        time_limit=remaining,
        seed=run.seed + 1,
        workers=run.workers,
        hint=run.incumbent,
        det_limit=remaining * run.workers,  # the clock, not the work, ends this one
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


def _fixed_by_reduced_cost(run: Run, allowed: np.ndarray, dual: DualResult) -> np.ndarray:
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


def _core_transport(
    run: Run,
    allowed: np.ndarray,
    prices: np.ndarray,
    slots: np.ndarray,
    units: np.ndarray | None,
) -> AssignmentResult | None:
    """Phase 3c (transportation problems past ``FLOW_MAX_ARCS``): the min-cost flow on a
    priced core with column generation (:mod:`~solver.allocation.gap.coreflow`), when its
    work (estimated from the problem's size, never timed) fits what is left. Returns the
    result when its dual proves the assignment optimal; otherwise its assignment and bound
    are offered and the search goes on."""
    problem = run.problem
    k, n = problem.cost.shape
    # its set-up and first round must fit: the later rounds start only while the longest
    # round so far fits the wall clock left (solve_core_flow)
    first = core_flow_seconds(k, n, problem.capacity.size, rounds=1)
    if first > run.clock.room:
        run.stats["core_flow"] = "skipped: not enough work left"
        return None
    # the flow cannot be interrupted: it starts only with its time's worth of wall clock left
    if time.perf_counter() + first / WORK_SAFETY > run.deadline:
        run.clock_stops.append("core flow skipped")
        return None
    started = time.perf_counter()
    out = solve_core_flow(problem, allowed, slots, prices, units=units, deadline=run.deadline)
    if out.stats["core_clock_stop"]:
        run.clock_stops.append("core flow rounds")
    seconds = core_flow_seconds(k, n, problem.capacity.size, rounds=out.stats["core_rounds"])
    run.clock.charge("core flow", seconds, wall=time.perf_counter() - started)
    run.stats.update(out.stats)
    if out.assignment is None:
        return None
    run.offer(out.assignment)
    run.bound = max(run.bound, out.bound)
    if run.incumbent is out.assignment:
        run.method = "lagrangian+core-flow"
    if out.optimal and run.incumbent is out.assignment:
        unit = out.stats["row_units"]
        run.stats["prices"] = np.where(
            unit > 0, out.node_prices[:-1] / np.maximum(unit, 1e-300), 0.0
        )
        return run.finish(run.incumbent, run.bound, Status.OPTIMAL, run.method)
    return None


def _core_first(
    run: Run, allowed: np.ndarray, slots: np.ndarray, units: np.ndarray | None
) -> tuple[AssignmentResult | None, tuple[np.ndarray, np.ndarray, int, bool]]:
    """Phase 0b (many jobs, transportation-shaped, past ``FLOW_MAX_ARCS``): the flow on a
    core priced by the sample dual, usually proven optimal and cheaper than the full dual
    and the greedy over a million jobs. Returns the result when it ends the run -- proven,
    or when the phases after it would not fit the clock -- and the sample's prices (the
    dual starts from them, not solving the sample again); otherwise its assignment and bound
    stay and the usual phases follow."""
    sample = _sample_phase(run, "core sample dual", seconds=CORE_SAMPLE_SHARE * run.clock.room)
    final = _core_transport(run, allowed, sample[0], slots, units)
    if final is None and "core_scale" in run.stats and _after_core_late(run, allowed.size):
        final = run.finish(run.incumbent, run.bound, Status.FEASIBLE, run.method)
    return final, sample


def _after_core_late(run: Run, cells: int) -> bool:
    """Whether the phases after a core flow that proved nothing (``AFTER_CORE_PASSES``
    passes over the ``cells`` of the option matrix) would end past the deadline; the core
    flow's assignment and bound are then the result (``stats["wall_clock_stop"]`` says so)."""
    seconds = AFTER_CORE_PASSES * cells / GREEDY_CELLS_PER_SECOND
    if run.incumbent is None or time.perf_counter() + seconds / WORK_SAFETY <= run.deadline:
        return False
    run.clock_stops.append("dual after the core flow skipped")
    return True


def _transport(run: Run, allowed: np.ndarray, slots: np.ndarray) -> TransportResult | None:
    """Phase 0 (not small problems): a transportation-shaped problem
    (:func:`~solver.allocation.gap.flow.row_slots`) is solved exactly by min-cost flow, when
    its network fits the work (estimated from its size, never timed). It runs before the
    dual so that a short limit (issue 19's fast first answer: 20,000 accounts within 1 s)
    is not spent before it can start on a loaded machine."""
    seconds = int(run.stats["pairs"]) / FLOW_ARCS_PER_SECOND
    if seconds > run.clock.room:
        return None
    # the flow cannot be interrupted: it starts only with its time's worth of wall clock left
    if time.perf_counter() + seconds / WORK_SAFETY > run.deadline:
        run.clock_stops.append("min-cost flow skipped")
        return None
    started = time.perf_counter()
    out = solve_transport(run.problem, allowed, slots)
    run.clock.charge(
        "min-cost flow", out.arcs / FLOW_ARCS_PER_SECOND, wall=time.perf_counter() - started
    )
    run.stats["flow_arcs"] = out.arcs
    return out


def _after_transport(run: Run, out: TransportResult) -> AssignmentResult:
    """The result of the min-cost flow (:func:`_transport`), after the dual and greedy
    phases: an optimum (or, costs not integral after scaling, a bound), or infeasibility."""
    problem = run.problem
    if out.assignment is None:
        message = "the capacity rows cannot take every job (min-cost flow)"
        return run.finish(None, math.inf, Status.INFEASIBLE, "min-cost-flow", message)
    run.bound = max(run.bound, out.bound)
    if run.incumbent is None or problem.objective(out.assignment) <= problem.objective(
        run.incumbent
    ):
        run.incumbent = out.assignment
        run.method = "lagrangian+min-cost-flow"
    status = Status.OPTIMAL if out.exact else Status.FEASIBLE
    return run.finish(run.incumbent, run.bound, status, run.method)


def _reduced_options(
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


def _reduced_cpsat(run: Run, keep: np.ndarray, dual: DualResult, *, share: float) -> None:
    """Phase 3b: without a solution yet, CP-SAT on the reduced model for a first one, with
    ``share`` of the work left (less when the search follows)."""
    seconds = share * run.clock.left
    det = seconds * CPSAT_DET_PER_SECOND
    out = solve_cpsat(
        run.problem,
        keep,
        time_limit=min(run.deadline - time.perf_counter(), run.clock.window(seconds)),
        seed=run.seed,
        workers=run.workers,
        hint=dual.choice,
        det_limit=det,
    )
    run.clock.charge(
        "reduced cp-sat", out.det / run.workers / CPSAT_DET_PER_SECOND, seconds, out.wall
    )
    run.stats["reduced_cpsat_status"] = out.status
    if stopped_by_clock(out, det):
        run.clock_stops.append("reduced cp-sat")
    if out.assignment is not None and run.problem.is_feasible(out.assignment):
        run.incumbent = out.assignment
        run.method = "lagrangian+reduced-cp-sat"


def solve_gap(
    cost: np.ndarray,
    resource: np.ndarray,
    capacity: np.ndarray,
    *,
    sense: str = "min",
    time_limit: float = 10.0,
    seed: int = 0,
    workers: int = 2,
) -> AssignmentResult:
    """Solve a Generalized Assignment Problem with a proven bound.

    Parameters
    ----------
    cost
        ``m × n`` cost (``sense="min"``) or profit (``sense="max"``) of giving job ``j`` to
        agent ``i``; a non-finite entry forbids the pair.
    resource
        ``m × n`` resource that job ``j`` uses on agent ``i`` (non-negative).
    capacity
        ``m`` agent capacities.
    sense
        ``"min"`` or ``"max"``.
    time_limit
        Wall-clock seconds for the whole call (every path respects it).
    seed
        Seed for CP-SAT and the neighbourhood choice.
    workers
        CP-SAT ``num_workers``.

    Returns
    -------
    AssignmentResult
        ``assignment[j]`` is the agent of job ``j``; ``objective`` and ``bound`` are in the
        caller's sense.

    Examples
    --------
    >>> import numpy as np
    >>> r = solve_gap(np.array([[1, 5], [4, 2]]), np.ones((2, 2)), np.array([1, 1]))
    >>> r.assignment.tolist(), r.objective, r.status.name
    ([0, 1], 3.0, 'OPTIMAL')
    """
    problem, sign = gap_problem(cost, resource, capacity, sense)
    result = solve_assignment(problem, time_limit=time_limit, seed=seed, workers=workers)
    return to_sense(result, sign, sense)
