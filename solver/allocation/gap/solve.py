"""The assignment core's driver: :func:`solve_assignment` and :func:`solve_gap`.

The phases run in order, each a named step below: presolve, the Lagrangian bound and prices
(:mod:`~solver.allocation.gap.dual`), a greedy primal (:mod:`~solver.allocation.gap.construct`);
on small problems a short ejection-chain search (:mod:`~solver.allocation.gap.ejection`)
then exact CP-SAT from it (:mod:`~solver.allocation.gap.cpsat_phases`), and when that does
not close them HiGHS in a child process beside the searches that follow, whose proof of
optimality is taken at the end (:mod:`~solver.allocation.gap.mip`); the exact min-cost flow of
transportation-shaped problems (:mod:`~solver.allocation.gap.flow`: solved first, offered
after the dual and the greedy); a reduced CP-SAT model
when no solution is known yet; the knapsack Lagrangian bound with its Lagrangian restarts
(:mod:`~solver.allocation.gap.knapsack`); then the improvement phase — rounds of the
ejection-chain search and of the CP-SAT large-neighbourhood search
(:mod:`~solver.allocation.gap.lns`), and, in parallel runs, the LP-guided search
(:mod:`~solver.allocation.gap.lpsearch`); and, in parallel runs that are not reproducible
(``reproducible=False``), on the wall clock left, the LP-guided search again and (small and
medium problems) CP-SAT from the incumbent.

Determinism: the same problem, seed and limit give the same result whenever the wall clock
stops nothing (``stats["reproducible"]``). Every phase that could run until the deadline has
a budget of deterministic work, a share of what the limit's account has left after the
phases before it (:mod:`~solver.allocation.gap.budget`); the others (repair, local search,
regret construction, the min-cost flow) stop on their own criteria and are charged from
their size. CP-SAT is seeded and stops on its deterministic time, with more than one worker
in its interleaved search (it may pass a small budget by a batch, deterministically: d10400,
two workers, 3.7 deterministic seconds for 1.0). The wall clock is only the hard stop; when
it stops a phase first, ``stats["wall_clock_stop"]`` says which: the certificate holds, a
rerun may differ. With ``reproducible=False`` (``bench gap --anytime``) CP-SAT's threads
share solutions as timing allows and the last phases take the wall time the budgets left
(:func:`~solver.allocation.gap.cpsat_phases.finish_on_the_clock`). On small problems
with two workers the MIP child (:mod:`~solver.allocation.gap.mip`) has a deterministic budget
of nodes and stops no phase; its proof is taken at the end, and a child the clock stopped
first is a clock stop like a phase's (``stats["mip"]``, ``stats["mip_nodes"]`` and
``stats["mip_cpu_s"]`` say what it did).

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
    DUAL_CELLS_PER_SECOND,
    FLOW_ARCS_PER_SECOND,
    GREEDY_CELLS_PER_SECOND,
    WORK_SAFETY,
    WorkClock,
    idle_rate,
)
from solver.allocation.gap.construct import greedy_phase, stranded_jobs
from solver.allocation.gap.coreflow import core_flow_seconds, solve_core_flow
from solver.allocation.gap.cpsat_phases import (
    exact_phase,
    finish_on_the_clock,
    lp_on_the_clock,
    reduced_cpsat,
    reduced_options,
)
from solver.allocation.gap.dual import DualResult, lagrangian_dual
from solver.allocation.gap.flow import TransportResult, row_units, solve_transport, unit_slots
from solver.allocation.gap.improve import (
    improve,
    knapsack_phase,
    lp_phase,
    tight_search,
    warm_start,
)
from solver.allocation.gap.mip import MIP_MIN_LIMIT, mip_nodes, start_mip
from solver.allocation.gap.prices import (
    lagrangian_value,
    node_row_prices,
    offer_prices,
    slot_slack,
)
from solver.allocation.gap.primal import primal_from_prices
from solver.allocation.gap.problem import AssignmentProblem, AssignmentResult, gap_problem, to_sense
from solver.allocation.gap.state import Run, is_integral
from solver.allocation.gap.warmup import warm as warm_gap_kernels
from solver.domain import Status

__all__ = ["solve_assignment", "solve_gap"]

# Problems with at most this many allowed job–option pairs go to the exact CP-SAT path.
EXACT_MAX_PAIRS = 6_000
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
# Parallel runs: share of the improvement phase's work of the LP-guided search (after the
# chains and the LNS, which take the rest).
LP_SHARE = 0.4
# ... when that share is at least LP_MIN_MULTIPLE times the LP relaxation's own work (80 ×
# 1,600 GAPs at 10 s: it is not, and the improvement phase keeps all of its work).
LP_MIN_MULTIPLE = 2.0
# Share of the limit's work of the Lagrangian ascent (small problems / others).
DUAL_SHARE_SMALL = 0.1
DUAL_SHARE = 0.3
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


def _dual_iterations(seconds: float, cells: int, cap: int, rate: float) -> int:
    """Iteration budget of a Lagrangian ascent over a ``cells``-entry option matrix for
    ``seconds`` of work at ``rate`` cells per second, at most ``cap`` and at least one."""
    return max(1, min(cap, int(seconds * rate / max(cells, 1))))


def _sample_prices(
    problem: AssignmentProblem,
    *,
    seed: int,
    deadline: float,
    seconds: float,
    cap: int = SAMPLE_MAX_ITERATIONS,
    rate: float,
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
        sample,
        deadline=deadline,
        max_iterations=_dual_iterations(seconds, sample.cost.size, cap, rate),
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
    reproducible: bool = True,
) -> AssignmentResult:
    """Minimise an :class:`AssignmentProblem` with a proven bound (see :mod:`solver.allocation.gap`).

    The result's ``stats`` carry the capacity rows' shadow prices (``prices``,
    ``price_source``) and their certificate (``price_gap``), taken when the run finishes
    (:meth:`~solver.allocation.gap.state.Run.finish`, :mod:`~solver.allocation.gap.prices`).

    Parameters
    ----------
    problem
        Minimisation problem.
    time_limit
        Wall-clock seconds for the whole call.
    seed
        Seed of CP-SAT and of the neighbourhood choice.
    workers
        CP-SAT ``num_workers``.
    exact_max_pairs
        Problems with at most this many allowed pairs are solved with the full CP-SAT model.
    lns
        Run large-neighbourhood search on large instances when time remains.
    hint
        Optional starting assignment (used if feasible, and as the CP-SAT hint).
    gap_tolerance
        The decomposition stops once the relative gap is at most this (0: at an optimum).
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
    reproducible
        ``False`` (with more than one worker): CP-SAT's parallel search and the fill phases
        on the clock, not reproducible (:mod:`~solver.allocation.gap.budget`).
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
        WorkClock(limit),  # budgets in seconds of the idle machine, at each phase's pace
        reproducible=reproducible or workers <= 1,
    )
    try:
        return _phases(
            run, hint, exact_max_pairs=exact_max_pairs, lns=lns, dual_method=dual_method,
            pricing=pricing,
        )  # fmt: skip
    finally:
        if run.mip is not None:  # an exception or an interruption: no child outlives the run
            run.mip.settle(problem, time.perf_counter())


def _phases(
    run: Run,
    hint: np.ndarray | None,
    *,
    exact_max_pairs: int,
    lns: bool,
    dual_method: str,
    pricing: Any,
) -> AssignmentResult:
    """The phases of :func:`solve_assignment` on its ``run``, in order (the module's
    docstring), until one of them ends it."""
    problem = run.problem
    k, n = problem.cost.shape
    if n == 0:
        return run.finish(np.zeros(0, dtype=np.int64), 0.0, Status.OPTIMAL, "trivial")
    allowed = problem.allowed()
    stranded = stranded_jobs(allowed)
    if stranded:
        return run.finish(None, math.inf, Status.INFEASIBLE, "presolve", stranded)
    pairs = int(allowed.sum())
    run.stats["pairs"] = pairs
    if hint is not None and hint.shape == (n,) and problem.is_feasible(hint):
        run.incumbent = hint.astype(np.int64)
    small = pairs <= exact_max_pairs
    units = None if small else row_units(problem, allowed)  # transportation-shaped: the rows' units
    slots = None if units is None else unit_slots(problem, units)
    if units is not None and slots is not None:  # the prices' dual value in whole jobs (prices.py)
        run.stats["slot_slack"] = slot_slack(problem.capacity, units, slots)
    # transportation-shaped problems: the exact min-cost flow when its network fits, else
    # the flow on a priced core (its own dual proves the result; the usual phases follow
    # when it cannot)
    flow_slots = slots if pairs <= FLOW_MAX_ARCS else None
    core_slots = None if flow_slots is not None else slots
    # the exact flow first, while the whole limit is left (its assignment is offered after
    # the dual, which is called as without it: the same dual prices; its node prices are
    # the shadow prices' first candidate at once)
    flow = None if flow_slots is None else _transport(run, allowed, flow_slots, units)
    sample = None
    first = run.incumbent is not None and n >= SAMPLE_MIN_JOBS and dual_method == "auto"
    if core_slots is not None and first:
        run.stats["core_first"] = True
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
    greedy_phase(run, allowed, dual)
    if small and time.perf_counter() < run.deadline:
        if lns:
            warm_start(run, allowed, dual)
        if (
            lns
            and run.workers > 1
            and run.incumbent is not None
            and run.clock.limit >= MIP_MIN_LIMIT
        ):
            # HiGHS beside the phases that follow, on one of the two cores (mip.py); they
            # run CP-SAT on one worker (with two, the LNS's wall time stretched past the
            # deadline: e10400, e20100 and e20200 at 10 s were stopped by the clock)
            run.mip = start_mip(
                run.problem,
                allowed,
                run.incumbent,
                deadline=run.deadline,
                nodes=mip_nodes(run.limit),
                integral_costs=run.integral_costs,
            )
            if run.mip is not None:
                run.workers = 1
        final = exact_phase(run, allowed, dual, lns=lns)
        if final is not None:
            return final
        if lns:  # the child's proof stops nothing: it is taken at the end (gap/mip.py)
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
    keep, rc = reduced_options(run.problem, allowed, dual, run.incumbent)
    if (
        run.incumbent is None
        and int(keep.sum()) <= CPSAT_MAX_PAIRS
        and time.perf_counter() < run.deadline
    ):
        reduced_cpsat(run, keep, dual, share=0.35 if lns else 1.0)
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
            if lp_seconds < LP_MIN_MULTIPLE * pairs / idle_rate("lp relaxation"):
                lp_seconds = 0.0  # the LP would take most of it: the chains and LNS take all
            improve(
                run, allowed, keep, rc, dual, run.incumbent, seconds=run.clock.left - lp_seconds
            )
            if lp_seconds > 0.0:
                lp = lp_phase(run, allowed, keep, seconds=run.clock.left)
    if lns and not run.reproducible:
        if lp is None and not small:  # the LP did not fit the budgets: on the clock
            lp = lp_on_the_clock(run, allowed, pairs)
        final = finish_on_the_clock(run, allowed, keep, dual, lp, pairs=pairs)
        if final is not None:
            return final
    return run.finish(run.incumbent, run.bound, Status.FEASIBLE, run.method)


def _sample_phase(
    run: Run, phase: str, seconds: float | None = None
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """The dual of a random sample of jobs (:func:`_sample_prices`) with ``SAMPLE_SHARE`` of
    the Lagrangian phase's work and wall share (problems that are not small), or ``seconds``
    of work at the dual's rate at load (``DUAL_CELLS_PER_SECOND``: the core flow's gate, not
    paced) and ``CORE_SAMPLE_WALL`` times that of wall clock, booked as ``phase``; solved
    once per call (the core flow and the dual start from the same one)."""
    cap = SAMPLE_MAX_ITERATIONS
    rate = idle_rate("lagrangian")
    if seconds is None:
        seconds = SAMPLE_SHARE * DUAL_SHARE * run.clock.total
        wall = run.clock.window(seconds)
    else:
        cap, rate = CORE_SAMPLE_MAX_ITERATIONS, DUAL_CELLS_PER_SECOND
        seconds = min(seconds, cap * run.problem.cost.shape[0] * SAMPLE_JOBS / rate)
        wall = CORE_SAMPLE_WALL * seconds
    started = time.perf_counter()
    sample = _sample_prices(
        run.problem,
        seed=run.seed,
        deadline=min(run.deadline, time.perf_counter() + wall),
        seconds=seconds,
        cap=cap,
        rate=rate,
    )
    k = run.problem.cost.shape[0]
    run.stats["sample_dual_iterations"] = sample[2]
    run.clock.charge(
        phase,
        sample[2] * k * SAMPLE_JOBS / idle_rate("lagrangian"),
        seconds * rate / idle_rate("lagrangian"),
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
    budget = share * run.clock.total  # its work, in seconds
    wall = run.clock.window(budget)  # the phase's hard stop
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
        max_iterations=_dual_iterations(
            dual_seconds, k * n, 300 if small else 3000, idle_rate("lagrangian")
        ),
        upper_bound=problem.objective(run.incumbent) if run.incumbent is not None else None,
        allowed=allowed,
        prices=None if start_prices is None else start_prices[0],
        global_prices=None if start_prices is None else start_prices[1],
        step_scale=1.0 if start_prices is None else 0.25,
        pricing=pricing,
    )
    run.clock.charge(
        "lagrangian",
        dual.iterations * k * n / idle_rate("lagrangian"),
        dual_seconds,
        time.perf_counter() - started,
    )
    stats["lagrangian_bound"] = dual.bound
    value = lagrangian_value(stats, dual.prices, dual.bound)
    offer_prices(stats, dual.prices, value, "lagrangian")
    stats["global_prices"] = dual.global_prices
    stats["lagrangian_iterations"] = dual.iterations
    if dual.timed_out:
        run.clock_stops.append("lagrangian")
    return dual


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
    run.clock.charge(
        "core flow", seconds / idle_rate("core flow"), wall=time.perf_counter() - started
    )
    run.stats.update(out.stats)
    if out.assignment is None:
        return None
    # its node prices are a dual point of the whole problem (its bound prices every job, not
    # only the core's): kept when their dual value beats the Lagrangian's (prices.py)
    unit = out.stats["row_units"]
    offer_prices(run.stats, node_row_prices(out.node_prices, unit), out.bound, "core flow")
    run.offer(out.assignment)
    run.bound = max(run.bound, out.bound)
    if run.incumbent is out.assignment:
        run.method = "lagrangian+core-flow"
    if out.optimal and run.incumbent is out.assignment:
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


def _transport(
    run: Run, allowed: np.ndarray, slots: np.ndarray, units: np.ndarray | None
) -> TransportResult | None:
    """Phase 0 (not small problems): a transportation-shaped problem
    (:func:`~solver.allocation.gap.flow.row_slots`; ``units``: its rows' units) is solved
    exactly by min-cost flow, when its network fits the work (estimated from its size, never
    timed). It runs before the dual so that a short limit (issue 19's fast first answer:
    20,000 accounts within 1 s) is not spent before it can start on a loaded machine. Its
    node prices are offered as the shadow prices at once (exact duals: a result returned
    before :func:`_after_transport` has them too; the dual after it runs as without them)."""
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
        "min-cost flow", out.arcs / idle_rate("min-cost flow"), wall=time.perf_counter() - started
    )
    run.stats["flow_arcs"] = out.arcs
    if out.node_prices is not None and units is not None:
        unit = np.nan_to_num(units, nan=0.0)
        offer_prices(
            run.stats, node_row_prices(out.node_prices, unit), out.price_bound, "min-cost flow"
        )
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


def solve_gap(
    cost: np.ndarray,
    resource: np.ndarray,
    capacity: np.ndarray,
    *,
    sense: str = "min",
    time_limit: float = 10.0,
    seed: int = 0,
    workers: int = 2,
    reproducible: bool = True,
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
    reproducible
        ``False``: CP-SAT's parallel search and the fill phases on the clock (see
        :func:`solve_assignment`).

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
    result = solve_assignment(
        problem, time_limit=time_limit, seed=seed, workers=workers, reproducible=reproducible
    )
    return to_sense(result, sign, sense)
