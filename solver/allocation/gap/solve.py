"""The assignment core's driver: :func:`solve_assignment` and :func:`solve_gap`.

The phases run in order, each a named step below: presolve, the Lagrangian bound and prices
(:mod:`~solver.allocation.gap.dual`), a greedy primal (:mod:`~solver.allocation.gap.primal`),
exact CP-SAT on small problems (:mod:`~solver.allocation.gap.cpsat`), then a reduced CP-SAT
model when no solution is known yet, large-neighbourhood search
(:mod:`~solver.allocation.gap.lns`) and, on small problems, a final CP-SAT run to prove
optimality. Each phase gets a share of the time limit.

Determinism: the same problem and seed give the same result whenever the wall clock stops
nothing. Every phase that could run until the deadline has a budget of deterministic work
computed from ``time_limit`` alone (never from the clock): an iteration count for the
Lagrangian ascent, CP-SAT's deterministic time for the exact, reduced and LNS searches, and
the LNS's neighbourhood adapts to that deterministic time, not to seconds. The other phases
(repair, shift/swap local search, regret construction) stop on their own criteria. CP-SAT is
seeded; with one worker its search is reproducible for a given deterministic time, while a
parallel run (``workers > 1``) is not: its threads share solutions as timing allows.
(CP-SAT's deterministic ``interleave_search`` mode overshoots small deterministic budgets by
whole batches — measured 2.7 against a budget of 1.1 — so it does not help here.)
:func:`solver.allocation.portfolio.allocate` therefore uses one worker; ``bench gap`` uses two. The
budgets are sized (``WORK_SAFETY``) to use about half of the time limit on the
project machine, so a machine up to about twice slower, or loaded, gives the same result;
the wall clock is only the hard stop. When it does stop a phase first, the result says which
(``stats["wall_clock_stop"]``): its certificate is still valid, but a rerun may differ.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from solver.allocation.gap.cpsat import solve_cpsat, stopped_by_clock
from solver.allocation.gap.dual import DualResult, lagrangian_dual
from solver.allocation.gap.lns import large_neighbourhood_search
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
    relative_gap,
    to_sense,
)
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
# Swap local search evaluates all job pairs per round: only for up to this many jobs.
SWAP_MAX_JOBS = 4_000
# Share of the remaining time the exact path gives CP-SAT before switching to LNS.
EXACT_SHARE = 0.25
# Share of the time left after the first CP-SAT run that small problems keep for a final,
# warm-started CP-SAT run (to prove optimality of the LNS solution).
FINAL_EXACT_SHARE = 0.4
# Work budgets (reproducibility). Every phase that could run until the time limit (the
# Lagrangian ascent, the CP-SAT searches, the LNS) gets a budget of deterministic work
# computed from ``time_limit`` alone, never from the clock: iterations of the ascent, CP-SAT's
# deterministic time. The rates below were measured on the project machine (2 shared cores,
# `benchmarks/README.md`) and are multiplied by WORK_SAFETY, so a budget normally uses about
# half of its share of the time limit: the same inputs and seed then give the same result on
# a machine (or a load) up to about twice slower. The wall-clock ``time_limit`` stays the hard
# stop; a result it stopped says so (``stats["wall_clock_stop"]``) and a rerun may differ.
WORK_SAFETY = 0.5
# CP-SAT deterministic seconds per wall-clock second, one worker (measured 30 Nov 2026:
# 0.26–0.5 on full GAP models of 400–5,000 pairs, 0.5–0.75 on LNS sub-problems).
CPSAT_DET_PER_SECOND = 0.3
# Cells of the K × n option matrix priced per second by the Lagrangian ascent (its pricing
# pass is dense: forbidden pairs cost as much as allowed ones; measured 1.2e8 at 200,000
# accounts, 2.0e8 at 20,000).
DUAL_CELLS_PER_SECOND = 1.2e8
# LNS work (see lns.lns_work, deterministic seconds) per wall-clock second (measured 0.73–0.89
# on 8,000–20,000-account allocations, about 0.4 on GAPs of 100–500 jobs).
LNS_WORK_PER_SECOND = 0.45
# Share of the time limit of the Lagrangian ascent (small problems / others).
DUAL_SHARE_SMALL = 0.1
DUAL_SHARE = 0.3


def _dual_iterations(seconds: float, cells: int, cap: int) -> int:
    """Iteration budget of a Lagrangian ascent over a ``cells``-entry option matrix given
    ``seconds`` of the time limit (see WORK_SAFETY), at most ``cap`` and at least one."""
    per_second = WORK_SAFETY * DUAL_CELLS_PER_SECOND / max(cells, 1)
    return max(1, min(cap, int(seconds * per_second)))


def _cpsat_det(seconds: float) -> float:
    """CP-SAT deterministic-time budget for ``seconds`` of the time limit."""
    return WORK_SAFETY * CPSAT_DET_PER_SECOND * max(0.0, seconds)


def _lns_budget(seconds: float) -> float:
    """LNS work budget (see :func:`~solver.allocation.gap.lns.lns_work`) for ``seconds`` of
    the time limit."""
    return WORK_SAFETY * LNS_WORK_PER_SECOND * max(0.0, seconds)


def _sample_prices(
    problem: AssignmentProblem, *, seed: int, deadline: float, seconds: float
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
        sample, deadline=deadline, max_iterations=_dual_iterations(seconds, sample.cost.size, 1500)
    )
    return dual.prices, dual.global_prices, dual.iterations, dual.timed_out


def _is_integral(values: np.ndarray) -> bool:
    """Whether every finite value is a whole number (the bound may then be rounded up)."""
    finite = values[np.isfinite(values)]
    return bool(np.all(finite == np.round(finite)))


@dataclass
class _Run:
    """One call of :func:`solve_assignment`: its clock, statistics, incumbent and bound."""

    problem: AssignmentProblem
    t0: float
    limit: float
    seed: int
    workers: int
    gap_tolerance: float
    integral_costs: bool
    stats: dict[str, Any]
    # Phases the wall clock stopped before their work budget (see WORK_SAFETY).
    clock_stops: list[str] = field(default_factory=list)
    incumbent: np.ndarray | None = None
    bound: float = -math.inf
    method: str = "lagrangian+greedy"

    @property
    def deadline(self) -> float:
        """``time.perf_counter()`` value of the time limit."""
        return self.t0 + self.limit

    def offer(self, candidate: np.ndarray | None) -> None:
        """Keep ``candidate`` as the incumbent when there is none or it is cheaper."""
        if candidate is not None and (
            self.incumbent is None
            or self.problem.objective(candidate) < self.problem.objective(self.incumbent)
        ):
            self.incumbent = candidate

    def good_enough(self, lower: float) -> float:
        """Objective at which the decomposition path may stop (within ``gap_tolerance``)."""
        if not math.isfinite(lower):
            return -math.inf
        if self.integral_costs:
            lower = math.ceil(lower - 1e-6 * max(1.0, abs(lower)))
            return math.floor(lower + self.gap_tolerance * max(1.0, abs(lower)) + 1e-9)
        return lower + self.gap_tolerance * max(1.0, abs(lower))

    def finish(
        self,
        assignment: np.ndarray | None,
        bound: float,
        status: Status,
        method: str,
        message: str = "",
    ) -> AssignmentResult:
        """The result with its certificate (a bound within rounding of the objective proves it)."""
        runtime = time.perf_counter() - self.t0
        if runtime >= self.limit and not self.clock_stops and method not in ("trivial", "presolve"):
            self.clock_stops.append("time limit")
        self.stats["wall_clock_stop"] = ", ".join(self.clock_stops)
        if assignment is None:
            assignment = np.full(self.problem.n_jobs, -1, dtype=np.int64)
            objective, gap = math.nan, math.inf
        else:
            assignment = assignment.astype(np.int64)
            objective = self.problem.objective(assignment)
            if self.integral_costs and math.isfinite(bound):
                bound = math.ceil(bound - 1e-6 * max(1.0, abs(bound)))
            bound = min(bound, objective)
            gap = relative_gap(objective, bound)
            if gap <= 1e-9 or (self.integral_costs and objective - bound < 1.0 - 1e-9):
                status = Status.OPTIMAL
                gap = 0.0
                bound = objective
            bound = float(bound)
        return AssignmentResult(
            assignment, objective, bound, gap, status, runtime, method, "min", message, self.stats
        )


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
    """
    t0 = time.perf_counter()
    k, n = problem.cost.shape
    run = _Run(
        problem,
        t0,
        max(0.0, float(time_limit)),
        seed,
        workers,
        gap_tolerance,
        _is_integral(problem.cost),
        {"jobs": n, "options": k},
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

    dual, dual_seconds = _lagrangian(
        run, allowed, small=small, dual_method=dual_method, pricing=pricing
    )
    run.bound = dual.bound
    if dual.bound == math.inf:
        return run.finish(
            None,
            math.inf,
            Status.INFEASIBLE,
            "lagrangian",
            "no job–option pair is allowed for some job",
        )
    _greedy(run, allowed, dual)
    exact_seconds = 0.0
    if small and time.perf_counter() < run.deadline:
        final, exact_seconds = _exact(run, allowed, dual, lns=lns)
        if final is not None:
            return final

    keep, rc = _reduced_options(problem, allowed, dual, run.incumbent)
    # Seconds of the time limit left for the next phases (deterministic: from the limit and
    # the shares of the phases that ran, never from the clock).
    rest = run.limit - dual_seconds - exact_seconds
    lns_seconds = rest * (1.0 - FINAL_EXACT_SHARE) if small else rest
    if (
        run.incumbent is None
        and int(keep.sum()) <= CPSAT_MAX_PAIRS
        and time.perf_counter() < run.deadline
    ):
        lns_seconds *= 0.65
        _reduced_cpsat(run, keep, dual, seconds=rest * (0.35 if lns else 1.0), lns=lns)
    if run.incumbent is None:
        return run.finish(
            None,
            run.bound,
            Status.TIME_LIMIT,
            run.method,
            "time limit reached before a feasible assignment was found",
        )
    if problem.objective(run.incumbent) <= run.good_enough(run.bound):
        return run.finish(run.incumbent, run.bound, Status.FEASIBLE, run.method)
    if lns and int(keep.sum()) <= CPSAT_MAX_PAIRS and lns_seconds > 0.0:
        if time.perf_counter() >= run.deadline - 0.05:
            run.clock_stops.append("lns skipped")
        else:
            final = _neighbourhoods(
                run, run.incumbent, allowed, keep, rc, small=small, seconds=lns_seconds, rest=rest
            )
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


def _lagrangian(
    run: _Run, allowed: np.ndarray, *, small: bool, dual_method: str, pricing: Any
) -> tuple[DualResult, float]:
    """Phase 1: the Lagrangian bound and prices, and the seconds of the time limit it had.

    With many jobs the prices start from the dual of a random sample, which also gives a
    first primal solution.
    """
    problem, stats = run.problem, run.stats
    k, n = problem.cost.shape
    dual_budget = (DUAL_SHARE_SMALL if small else DUAL_SHARE) * run.limit
    dual_seconds = dual_budget
    start_prices = None
    if n >= SAMPLE_MIN_JOBS and dual_method == "auto":
        # Prices are intensive quantities: solve the dual on a random sample with
        # proportionally scaled capacities first, then refine on all jobs.
        start_prices = _sample_prices(
            problem,
            seed=run.seed,
            deadline=time.perf_counter() + 0.4 * dual_budget,
            seconds=0.4 * dual_budget,
        )
        dual_seconds = 0.6 * dual_budget
        stats["sample_dual_iterations"] = start_prices[2]
        if start_prices[3]:
            run.clock_stops.append("sample dual")
        run.offer(
            primal_from_prices(
                problem, allowed, start_prices[0], start_prices[1], deadline=run.deadline
            )
        )
    dual = lagrangian_dual(
        problem,
        deadline=min(run.deadline, time.perf_counter() + dual_budget),
        max_iterations=_dual_iterations(dual_seconds, k * n, 300 if small else 3000),
        upper_bound=problem.objective(run.incumbent) if run.incumbent is not None else None,
        allowed=allowed,
        prices=None if start_prices is None else start_prices[0],
        global_prices=None if start_prices is None else start_prices[1],
        step_scale=1.0 if start_prices is None else 0.25,
        pricing=pricing,
    )
    stats["lagrangian_bound"] = dual.bound
    stats["prices"] = dual.prices
    stats["global_prices"] = dual.global_prices
    stats["lagrangian_iterations"] = dual.iterations
    if dual.timed_out:
        run.clock_stops.append("lagrangian")
    return dual, dual_budget


def _greedy(run: _Run, allowed: np.ndarray, dual: DualResult) -> None:
    """Phase 2: the cheapest option under the prices, repaired, then shifted; a regret
    construction when the repair fails; swap moves on small instances."""
    problem, deadline = run.problem, run.deadline
    k, n = problem.cost.shape
    if time.perf_counter() < deadline:
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


def _exact(
    run: _Run, allowed: np.ndarray, dual: DualResult, *, lns: bool
) -> tuple[AssignmentResult | None, float]:
    """Phase 3a (small problems): exact CP-SAT on the full model, warm-started; it often
    proves optimality. Returns the result when it ends the search, and the seconds of the
    time limit the phase had."""
    problem = run.problem
    remaining = run.deadline - time.perf_counter()
    share = (1.0 - DUAL_SHARE_SMALL) * run.limit
    if lns and run.incumbent is not None:
        share *= EXACT_SHARE
    det = _cpsat_det(share)
    out = solve_cpsat(
        problem,
        allowed,
        time_limit=min(remaining, share),
        seed=run.seed,
        workers=run.workers,
        hint=run.incumbent if run.incumbent is not None else dual.choice,
        det_limit=det,
    )
    run.stats["cpsat_status"] = out.status
    if stopped_by_clock(out, det):
        run.clock_stops.append("cp-sat")
    if out.status is Status.INFEASIBLE:
        message = "CP-SAT proved that no assignment satisfies the capacities"
        return run.finish(None, math.inf, Status.INFEASIBLE, "cp-sat", message), share
    run.bound = max(run.bound, out.bound)
    if out.assignment is not None and (
        run.incumbent is None
        or problem.objective(out.assignment) <= problem.objective(run.incumbent)
    ):
        run.incumbent = out.assignment
    run.method = "cp-sat"
    if out.status is Status.OPTIMAL:
        return run.finish(run.incumbent, run.bound, Status.OPTIMAL, run.method), share
    return None, share


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


def _reduced_cpsat(
    run: _Run, keep: np.ndarray, dual: DualResult, *, seconds: float, lns: bool
) -> None:
    """Phase 3b: without a solution yet, CP-SAT on the reduced model for a first one, in
    ``seconds`` of the time limit (a share of the time left when LNS follows)."""
    remaining = run.deadline - time.perf_counter()
    det = _cpsat_det(seconds)
    out = solve_cpsat(
        run.problem,
        keep,
        time_limit=remaining * (0.35 if lns else 1.0),
        seed=run.seed,
        workers=run.workers,
        hint=dual.choice,
        det_limit=det,
    )
    run.stats["reduced_cpsat_status"] = out.status
    if stopped_by_clock(out, det):
        run.clock_stops.append("reduced cp-sat")
    if out.assignment is not None and run.problem.is_feasible(out.assignment):
        run.incumbent = out.assignment
        run.method = "lagrangian+reduced-cp-sat"


def _neighbourhoods(
    run: _Run,
    incumbent: np.ndarray,
    allowed: np.ndarray,
    keep: np.ndarray,
    rc: np.ndarray,
    *,
    small: bool,
    seconds: float,
    rest: float,
) -> AssignmentResult | None:
    """Phase 4: LNS from the incumbent for ``seconds`` of the time limit; on small problems
    then a final warm-started CP-SAT run (``rest`` seconds' share) to prove optimality.
    Returns the result when that proof ends the search."""
    problem, deadline = run.problem, run.deadline
    # Small problems keep a final share of the time for CP-SAT to prove optimality.
    lns_deadline = deadline
    if small:
        lns_deadline = deadline - FINAL_EXACT_SHARE * (deadline - time.perf_counter())
    run.incumbent = incumbent = large_neighbourhood_search(
        problem,
        incumbent,
        keep,
        rc,
        deadline=lns_deadline,
        work_budget=_lns_budget(seconds),
        seed=run.seed,
        stats=run.stats,
        target=run.good_enough(run.bound),
    )
    if run.stats["lns_wall_stop"]:
        run.clock_stops.append("lns")
    run.method += "+lns"
    if not small:
        return None
    if time.perf_counter() >= deadline - 0.05:
        run.clock_stops.append("final cp-sat skipped")
        return None
    det = _cpsat_det(rest * FINAL_EXACT_SHARE)
    out = solve_cpsat(
        problem,
        allowed,
        time_limit=deadline - time.perf_counter(),
        seed=run.seed + 1,
        workers=run.workers,
        hint=incumbent,
        det_limit=det,
    )
    run.stats["final_cpsat_status"] = out.status
    if stopped_by_clock(out, det):
        run.clock_stops.append("final cp-sat")
    run.bound = max(run.bound, out.bound)
    if out.assignment is not None and problem.objective(out.assignment) <= problem.objective(
        incumbent
    ):
        run.incumbent = out.assignment
    if out.status is Status.OPTIMAL:
        return run.finish(run.incumbent, run.bound, Status.OPTIMAL, run.method + "+cp-sat")
    return None


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
