"""The assignment core's driver: :func:`solve_assignment` and :func:`solve_gap`.

The phases run in order, each a named step below: presolve, the Lagrangian bound and prices
(:mod:`~solver.allocation.gap.dual`), a greedy primal (:mod:`~solver.allocation.gap.construct`);
on small problems a short ejection-chain search (:mod:`~solver.allocation.gap.ejection`)
then exact CP-SAT from it (:mod:`~solver.allocation.gap.cpsat_phases`), and when that does
not close them HiGHS in a child process beside the searches that follow, with a budget of
nodes, whose proof of optimality (or cheaper assignment) is taken at the end
(:mod:`~solver.allocation.gap.mip`); the exact min-cost flow of
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
    WorkClock,
    idle_rate,
)
from solver.allocation.gap.construct import greedy_phase, stranded_jobs
from solver.allocation.gap.cpsat_phases import (
    exact_phase,
    finish_on_the_clock,
    lp_on_the_clock,
    reduced_cpsat,
    reduced_options,
)
from solver.allocation.gap.dual import DualResult
from solver.allocation.gap.dual_phase import lagrangian_phase, starts_from_sample
from solver.allocation.gap.flow import row_units, unit_slots
from solver.allocation.gap.flow_phases import (
    after_transport,
    core_first,
    core_transport,
    transport_phase,
)
from solver.allocation.gap.improve import (
    improve,
    knapsack_phase,
    lp_phase,
    tight_search,
    warm_start,
)
from solver.allocation.gap.mip import MIP_MIN_LIMIT, mip_nodes, start_mip
from solver.allocation.gap.prices import (
    slot_slack,
)
from solver.allocation.gap.problem import AssignmentProblem, AssignmentResult, gap_problem, to_sense
from solver.allocation.gap.state import Run, is_integral
from solver.allocation.gap.warmup import warm as warm_gap_kernels
from solver.domain import Status

__all__ = ["solve_assignment", "solve_gap"]

# Problems with at most this many allowed job–option pairs go to the exact CP-SAT path.
EXACT_MAX_PAIRS = 6_000
# Largest number of pairs for which CP-SAT models (reduced or sub-problems) are built at all.
CPSAT_MAX_PAIRS = 400_000
# Parallel runs: share of the improvement phase's work of the LP-guided search (after the
# chains and the LNS, which take the rest).
LP_SHARE = 0.4
# ... when that share is at least LP_MIN_MULTIPLE times the LP relaxation's own work (80 ×
# 1,600 GAPs at 10 s: it is not, and the improvement phase keeps all of its work).
LP_MIN_MULTIPLE = 2.0
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
        (:func:`~solver.allocation.gap.dual_phase.starts_from_sample`); ``"subgradient"`` always starts from zero prices.
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
    flow = None if flow_slots is None else transport_phase(run, allowed, flow_slots, units)
    sample = None
    first = run.incumbent is not None and starts_from_sample(n, dual_method)
    if core_slots is not None and first:
        run.stats["core_first"] = True
        final, sample = core_first(run, allowed, core_slots, units)
        if final is not None:
            return final
        core_slots = None
    dual = lagrangian_phase(
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
            # run CP-SAT on one worker (Run.cpsat_workers: with two, the LNS's wall time
            # stretched past the deadline: e10400, e20100 and e20200 at 10 s were stopped by
            # the clock)
            run.mip = start_mip(
                run.problem,
                allowed,
                run.incumbent,
                deadline=run.deadline,
                nodes=mip_nodes(run.clock.limit),  # the caller's limit: not the wall time left
                integral_costs=run.integral_costs,
            )
        final = exact_phase(run, allowed, dual, lns=lns)
        if final is not None:
            return final
        if lns:  # the child's proof stops nothing: it is taken at the end (gap/mip.py)
            tight_search(run, allowed, dual)
    if run.incumbent is not None and problem.objective(run.incumbent) <= run.good_enough(run.bound):
        return run.finish(run.incumbent, run.bound, Status.FEASIBLE, run.method)
    if flow is not None:
        return after_transport(run, flow)
    if core_slots is not None:
        final = core_transport(run, allowed, dual.prices, core_slots, units)
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
