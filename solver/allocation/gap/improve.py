"""The improvement phases of the assignment core: from a feasible assignment to a better one.

* :func:`warm_start` — small problems: a short ejection-chain search, so that the exact
  CP-SAT run starts from a better hint;
* :func:`tight_search` — small problems the exact run did not close: tabu searches from the
  knapsack relaxation's solutions, then the elite search (:mod:`~solver.allocation.gap.relaxed`,
  :mod:`~solver.allocation.gap.relink`: tabu search and relinking);
* :func:`knapsack_phase` — the knapsack Lagrangian bound
  (:mod:`~solver.allocation.gap.knapsack`) and, on its way, the Lagrangian heuristic
  (:class:`Restarts`): the relaxation's solutions at successive multipliers, repaired and
  improved by short ejection-chain searches;
* :func:`improve` — rounds of the ejection-chain search (:mod:`~solver.allocation.gap.ejection`)
  and of the CP-SAT large-neighbourhood search (:mod:`~solver.allocation.gap.lns`);
* :func:`lp_phase` — the LP relaxation and the LP-guided search from it
  (:mod:`~solver.allocation.gap.lpsearch`).

Every one has a budget of deterministic work, a share of what the run's work account has
left (:mod:`~solver.allocation.gap.budget`), and books what it did there.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from time import process_time  # by name: tests replace the modules' `time` clocks
from typing import Any

import numpy as np

from solver.allocation.gap.budget import idle_rate
from solver.allocation.gap.dual import DualResult
from solver.allocation.gap.ejection import ejection_search
from solver.allocation.gap.knapsack import knapsack_bound
from solver.allocation.gap.lns import LNS_STALL_MIN, LNS_STALL_PER_ROW, large_neighbourhood_search
from solver.allocation.gap.localsearch import improve_shift
from solver.allocation.gap.lpsearch import lp_guided_search, lp_relaxation
from solver.allocation.gap.primal import repair
from solver.allocation.gap.relaxed import relaxation_search
from solver.allocation.gap.state import Run
from solver.allocation.gap.tabu import SearchBudget, TabuInstance

__all__ = ["Restarts", "improve", "knapsack_phase", "lp_phase", "tight_search", "warm_start"]

# Small problems: share of the work left of the short ejection-chain search before CP-SAT.
WARM_SHARE = 0.1
# Small problems the exact run did not close: share of the work left of the elite search.
TIGHT_SHARE = 0.85
# Share of the work left of the knapsack Lagrangian bound, and of the Lagrangian heuristic on
# its way: every RESTART_EVERY iterations a restart of RESTART_WORK ejection-chain moves.
KNAPSACK_SHARE = 0.1
RESTART_SHARE = 0.3
RESTART_EVERY = 5
RESTART_WORK = 5_000_000
# The LP relaxation's wall-clock window, in multiples of its work's window.
LP_WINDOW = 3.0
# The improvement phase: rounds of ejection chains then LNS, and the chains' share of each.
SEARCH_ROUNDS = 3
EJECTION_SHARE = 0.6


def warm_start(run: Run, allowed: np.ndarray, dual: DualResult) -> None:
    """Phase 3a′ (small problems): a short ejection-chain search from the greedy solution,
    ``WARM_SHARE`` of the work left, so that CP-SAT starts from a better hint."""
    problem = run.problem
    if run.incumbent is None or problem.global_capacity.size or problem.capacity.size == 0:
        return
    rc = np.where(allowed, problem.reduced_costs(dual.prices, dual.global_prices), np.inf)
    run.incumbent, _ = _chains(
        run, run.incumbent, allowed, rc, dual.prices, WARM_SHARE * run.clock.left, run.seed
    )


def tight_search(run: Run, allowed: np.ndarray, dual: DualResult) -> None:
    """Phase 3a″ (small problems the exact run did not close: tight ones, such as
    Chu–Beasley's type D): tabu searches from the knapsack relaxation's solutions and the
    elite search (:mod:`~solver.allocation.gap.relaxed`, :mod:`~solver.allocation.gap.relink`)
    from the incumbent, ``TIGHT_SHARE`` of the work left; the relaxation's bound is kept."""
    problem = run.problem
    if run.incumbent is None or problem.global_capacity.size or problem.capacity.size == 0:
        return
    seconds = TIGHT_SHARE * run.clock.left
    ts: dict[str, Any] = {}
    budget = SearchBudget(
        int(seconds * idle_rate("tabu search")),
        run.deadline,
        run.seed,
        run.good_enough(run.bound),
    )
    instance = TabuInstance(problem, allowed, dual.prices)
    found = relaxation_search(instance, run.incumbent, budget, ts)
    run.incumbent = found.assignment
    run.bound = max(run.bound, found.bound)
    run.clock.charge(
        "tabu search", ts["tabu_work"] / idle_rate("tabu search"), seconds, ts["tabu_wall_s"]
    )
    run.stats.update(ts)
    if ts["tabu_wall_stop"]:
        run.clock_stops.append("tabu search")
    run.method += "+tabu"


def _chains(
    run: Run,
    start: np.ndarray,
    allowed: np.ndarray,
    rc: np.ndarray,
    prices: np.ndarray,
    seconds: float,
    seed: int,
    deadline: float | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The ejection-chain search from ``start`` for ``seconds`` of work, booked to the run
    (and a wall-clock stop noted); returns the assignment and the search's statistics."""
    ej: dict[str, Any] = {}
    out = ejection_search(
        run.problem,
        start,
        allowed,
        rc,
        prices,
        work_budget=int(seconds * idle_rate("ejection chains")),
        deadline=run.deadline if deadline is None else deadline,
        seed=seed,
        stats=ej,
        target=run.good_enough(run.bound),
    )
    run.clock.charge(
        "ejection chains",
        ej["ejection_work"] / idle_rate("ejection chains"),
        seconds,
        ej.get("ejection_wall_s", 0.0),
    )
    if ej["ejection_wall_stop"]:
        run.clock_stops.append("ejection chains")
    return out, ej


def knapsack_phase(run: Run, allowed: np.ndarray, dual: DualResult, rc: np.ndarray) -> None:
    """Phase 3d: the knapsack Lagrangian bound (:mod:`~solver.allocation.gap.knapsack`) from
    the dual's prices, with ``KNAPSACK_SHARE`` of the work left, and the Lagrangian
    heuristic on its way (:class:`Restarts`, ``RESTART_SHARE`` of the work left)."""
    problem = run.problem
    seconds = KNAPSACK_SHARE * run.clock.left
    if problem.global_capacity.size or run.incumbent is None or seconds <= 0.0:
        return
    rate = idle_rate("knapsack bound")
    cells = int(seconds * rate)
    restarts = Restarts(run, allowed, rc, dual.prices, RESTART_SHARE * run.clock.left, cells)
    started, cpu_started = time.perf_counter(), process_time()
    kb = knapsack_bound(
        problem,
        allowed,
        dual.prices,
        upper_bound=problem.objective(run.incumbent),
        max_cells=cells + int(restarts.seconds * rate),
        deadline=min(run.deadline, started + run.clock.window(seconds + restarts.seconds)),
        on_choice=restarts,
    )
    wall, cpu = time.perf_counter() - started, process_time() - cpu_started
    # every cell to the bound (the cells past its own budget were for the restarts: their
    # budget paid for them, Restarts.__call__), so that each phase's pace is one kind of work
    run.clock.charge(
        "knapsack bound", kb.cells / rate, seconds, wall - restarts.wall, cpu - restarts.cpu
    )
    run.clock.charge(
        "lagrangian restarts", restarts.spent, restarts.seconds, restarts.wall, restarts.cpu
    )
    if kb.iterations == 0:
        return
    if kb.clock_stop:  # the clock ended the ascent (the bound's or the restarts' part)
        run.clock_stops.append("knapsack bound")
    run.stats.update(
        knapsack_bound=kb.bound,
        knapsack_start=kb.start,
        knapsack_iterations=kb.iterations,
        lagrangian_restarts=restarts.count,
        lagrangian_restart_improvements=restarts.improvements,
    )
    run.bound = max(run.bound, kb.bound)


@dataclass
class Restarts:
    """The Lagrangian heuristic run along the knapsack bound's ascent: every
    ``RESTART_EVERY`` iterations, the relaxation's solution (each job on its cheapest picked
    option, on its cheapest reduced cost when unpicked) is repaired and improved by a short
    ejection-chain search (``RESTART_WORK`` move evaluations), within ``seconds`` of work.
    The relaxation's solutions at successive multipliers are diverse, good starting points."""

    run: Run
    allowed: np.ndarray
    rc: np.ndarray
    prices: np.ndarray
    seconds: float
    bound_cells: int  # the bound's own budget: past it, the ascent goes on for the restarts
    spent: float = 0.0
    wall: float = 0.0
    cpu: float = 0.0  # process CPU seconds of the restarts (the work account's measure)
    calls: int = 0
    count: int = 0
    improvements: int = 0
    # each job's cheapest reduced cost: its option in a start when the relaxation picks none
    cheapest: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.cheapest = self.rc.argmin(axis=0)

    def __call__(self, choice: np.ndarray, picks: np.ndarray, cells: int) -> bool:
        """The knapsack bound's callback, after each of its evaluations: whether the ascent
        goes on (past its own budget, while the restarts have work left)."""
        self.calls += 1
        extra = max(0, cells - self.bound_cells) / idle_rate("knapsack bound")
        if self.spent + extra >= self.seconds:
            return cells < self.bound_cells
        if self.calls % RESTART_EVERY:
            return True
        run, problem = self.run, self.run.problem
        started, cpu_started = time.perf_counter(), process_time()
        k, n = problem.cost.shape
        start = np.where(choice >= 0, choice, self.cheapest)
        self.spent += 4 * k * n / idle_rate("greedy")
        repaired = repair(problem, start, self.allowed, deadline=run.deadline)
        if repaired is not None:
            repaired = improve_shift(problem, repaired, self.allowed, deadline=run.deadline)
            ej: dict[str, Any] = {}
            rate = idle_rate("ejection chains")
            work = min(RESTART_WORK, int((self.seconds - self.spent) * rate))
            improved = ejection_search(
                problem,
                repaired,
                self.allowed,
                self.rc,
                self.prices,
                work_budget=max(0, work),
                deadline=run.deadline,
                seed=run.seed + self.calls,
                stats=ej,
            )
            self.spent += ej["ejection_work"] / rate
            self.count += 1
            if run.incumbent is not None and problem.objective(improved) < problem.objective(
                run.incumbent
            ):
                self.improvements += 1
            run.offer(improved)
        self.wall += time.perf_counter() - started
        self.cpu += process_time() - cpu_started
        return True


def improve(
    run: Run,
    allowed: np.ndarray,
    keep: np.ndarray,
    rc: np.ndarray,
    dual: DualResult,
    incumbent: np.ndarray,
    *,
    seconds: float,
) -> None:
    """Phase 4: ``SEARCH_ROUNDS`` rounds of the ejection-chain search (``EJECTION_SHARE`` of
    each round's work) and the CP-SAT LNS from the incumbent, ``seconds`` of work in all;
    the LNS has it all when the chains do not apply (global rows), and is then the only
    search: it stops, and the phase with it, once it stalls (``lns.LNS_STALL_PER_ROW``).
    Decision (session 21, from a review): ``allocate --budget`` on the 2,000-account demo
    book ran 190 LNS iterations over its 60 s without one improvement (the same objective at
    ``--time-limit 5``); a search that has tried every row about twice and found nothing
    ends, instead of using the limit for nothing."""
    problem = run.problem
    chains = problem.global_capacity.size == 0 and problem.capacity.size > 0
    end = run.deadline
    totals: dict[str, float] = {}
    until = run.clock.spent + seconds
    stall = None if chains else max(LNS_STALL_MIN, LNS_STALL_PER_ROW * problem.capacity.size)
    for round_ in range(SEARCH_ROUNDS):
        # this round's share of what is left (so an overrun of the last round is made up)
        share = max(0.0, until - run.clock.spent) / (SEARCH_ROUNDS - round_)
        if chains:
            ej_seconds = EJECTION_SHARE * share
            incumbent, ej = _chains(
                run, incumbent, allowed, rc, dual.prices, ej_seconds, run.seed + round_, end
            )
            _add_stats(totals, ej)
            share -= ej_seconds
            if ej["ejection_wall_stop"]:
                break
        if problem.objective(incumbent) <= run.good_enough(run.bound):
            break
        ln: dict[str, Any] = {}
        incumbent = large_neighbourhood_search(
            problem,
            incumbent,
            keep,
            rc,
            deadline=end,
            work_budget=share * idle_rate("lns"),
            seed=run.seed + round_,
            stats=ln,
            target=run.good_enough(run.bound),
            stall=stall,
        )
        run.clock.charge("lns", ln["lns_work"] / idle_rate("lns"), share, ln["lns_wall_s"])
        _add_stats(totals, ln)
        if ln["lns_wall_stop"]:
            run.clock_stops.append("lns")
            break
        if ln["lns_stalled"]:
            break
        if problem.objective(incumbent) <= run.good_enough(run.bound):
            break
    run.incumbent = incumbent
    run.stats.update(totals)
    run.method += "+chains+lns" if chains else "+lns"


def _add_stats(totals: dict[str, float], part: dict[str, Any]) -> None:
    """Sum a search round's numeric statistics into ``totals`` (flags are or-ed)."""
    for key, value in part.items():
        if isinstance(value, bool):
            totals[key] = bool(totals.get(key, False)) or value
        elif isinstance(value, (int, float)):
            totals[key] = totals.get(key, 0) + value


def lp_phase(
    run: Run,
    allowed: np.ndarray,
    keep: np.ndarray,
    *,
    seconds: float,
    x: np.ndarray | None = None,
    until: float | None = None,
) -> np.ndarray | None:
    """Phase 4′: the LP relaxation (unless given as ``x``) and the LP-guided search from
    the incumbent (:mod:`~solver.allocation.gap.lpsearch`), ``seconds`` of work in all; or,
    given ``until`` (a ``time.perf_counter()`` value), the search on the wall clock until
    then, outside the work budgets (the last phase of runs with ``reproducible=False``).
    Returns the LP's values (``None`` when they did not fit the work or the clock), for a
    later call."""
    problem = run.problem
    if run.incumbent is None:
        return x
    if x is None:
        lp_seconds = int(allowed.sum()) / idle_rate("lp relaxation")
        if lp_seconds >= seconds:
            return None
        started = time.perf_counter()
        if run.deadline - started < lp_seconds:
            # it could not end before the deadline even on an idle core, and HiGHS (and
            # scipy's set-up before it) stops on its limit only after a while: at load 12 an
            # LP started at the deadline ended a 60-s c801600 run 2.15 s late (5 Dec 2026)
            run.clock_stops.append("lp relaxation skipped")
            return None
        # HiGHS cannot be paused: a wide window, so that load does not lose the LP (it is
        # cheap next to the search it guides)
        window = min(run.deadline - started, LP_WINDOW * run.clock.window(lp_seconds))
        x = lp_relaxation(problem, allowed, time_limit=window)
        run.clock.charge("lp relaxation", lp_seconds, wall=time.perf_counter() - started)
        seconds -= lp_seconds
        if x is None:
            run.clock_stops.append("lp relaxation")
            return None
    ls: dict[str, Any] = {}
    run.incumbent = lp_guided_search(
        problem,
        run.incumbent,
        x,
        keep,
        deadline=run.deadline if until is None else min(run.deadline, until),
        work_budget=math.inf if until is not None else seconds * idle_rate("lp search"),
        seed=run.seed if until is None else run.seed + 1,
        stats=ls,
        target=run.good_enough(run.bound),
    )
    if until is None:
        work = ls["lp_search_work"] / idle_rate("lp search")
        run.clock.charge("lp search", work, seconds, ls["lp_search_wall_s"])
        if ls["lp_search_wall_stop"]:
            run.clock_stops.append("lp search")
    else:
        run.clock.charge("lp search on the clock", 0.0, None, ls["lp_search_wall_s"])
    _add_stats(run.stats, ls)
    run.stats["lp_search_rows"] = ls["lp_search_rows"]  # the last neighbourhood's, not a sum
    if "+lp" not in run.method:
        run.method += "+lp"
    return x
