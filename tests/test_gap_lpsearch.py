"""Tests of the LP relaxation and the LP-guided search (solver.allocation.gap.lpsearch), and of
the phase that runs them in parallel solves.

Oracles: ``scipy.optimize.milp`` (HiGHS) on the textbook formulation (tests/oracles.py) for the
integer optimum; the LP's constraints, the objective and the capacities are recomputed here.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from oracles import gap_milp
from test_gap_tabu import check, feasible_start, tight_instance

from solver.allocation.gap import cpsat_phases
from solver.allocation.gap.budget import WorkClock
from solver.allocation.gap.lpsearch import lp_guided_search, lp_relaxation
from solver.allocation.gap.problem import gap_problem
from solver.allocation.gap.solve import solve_gap
from solver.allocation.gap.state import Run


@pytest.fixture(scope="module")
def tight():
    """A 6 × 60 type D instance, its first-fit start and its MILP optimum (one solve)."""
    cost, resource, capacity = tight_instance(5, 6, 60)
    problem, _ = gap_problem(cost, resource, capacity, "min")
    start = feasible_start(cost, resource, capacity)
    return cost, resource, capacity, problem, start, gap_milp(cost, resource, capacity)


def test_lp_relaxation_is_a_fractional_assignment_below_the_integer_optimum(tight):
    """The LP's values assign every job once in all, keep the capacities, and cost no more
    than the MILP optimum and no less than every job on its cheapest agent."""
    cost, resource, capacity, problem, _, milp = tight
    x = lp_relaxation(problem, problem.allowed(), time_limit=60.0)
    assert x is not None and x.shape == cost.shape
    assert (x >= -1e-9).all() and (x <= 1 + 1e-9).all()
    assert np.allclose(x.sum(axis=0), 1.0)
    assert ((x * resource).sum(axis=1) <= capacity + 1e-6).all()
    value = float((x * cost).sum())
    assert cost.min(axis=0).sum() - 1e-6 <= value <= milp["objective"] + 1e-6
    # nearly integral: at most one job per capacity row is split between agents
    split = ((x > 1e-6) & (x < 1 - 1e-6)).any(axis=0).sum()
    assert split <= cost.shape[0]


def test_lp_relaxation_of_loose_capacities_is_the_cheapest_agent_per_job():
    """With capacities that cannot bind, the LP gives every job its cheapest agent (by hand:
    the relaxation then decomposes job by job)."""
    cost = np.array([[4.0, 1.0, 7.0], [2.0, 5.0, 3.0]])
    resource = np.ones((2, 3))
    problem, _ = gap_problem(cost, resource, np.array([10.0, 10.0]), "min")
    x = lp_relaxation(problem, problem.allowed(), time_limit=60.0)
    assert x is not None
    assert np.array_equal(x.argmax(axis=0), [1, 0, 1])
    assert float((x * cost).sum()) == pytest.approx(2.0 + 1.0 + 3.0)


def test_lp_guided_search_improves_reproducibly_within_its_work(tight):
    """From a first-fit start the search finds a feasible assignment within 2 % of the MILP
    optimum (a tight type D instance), the same one twice for the same seed, and stops
    within one sub-problem's work of its budget."""
    cost, resource, capacity, problem, start, milp = tight
    allowed = problem.allowed()
    x = lp_relaxation(problem, allowed, time_limit=60.0)
    assert x is not None
    runs = []
    for _ in range(2):
        stats: dict = {}
        out = lp_guided_search(
            problem, start, x, allowed, deadline=math.inf, work_budget=4.0, seed=3, stats=stats
        )
        runs.append((out, stats))
    (out, stats), (again, _) = runs
    assert np.array_equal(out, again)
    value = check(cost, resource, capacity, out)
    # HiGHS stops at its 0.01 % MIP gap: its bound, not its objective, is the floor
    assert milp["bound"] - 1e-6 <= value < check(cost, resource, capacity, start)
    assert value <= milp["objective"] * 1.02
    assert stats["lp_search_improvements"] > 0 and not stats["lp_search_wall_stop"]
    assert stats["lp_search_work"] <= 4.0 + 1.0  # at most one sub-problem's det (0.6) past it


def test_lp_guided_search_stops_at_its_target(tight):
    """With the start's own cost as the target the search does no sub-problem at all."""
    _, _, _, problem, start, _ = tight
    allowed = problem.allowed()
    x = lp_relaxation(problem, allowed, time_limit=60.0)
    assert x is not None
    stats: dict = {}
    out = lp_guided_search(
        problem,
        start,
        x,
        allowed,
        deadline=math.inf,
        work_budget=4.0,
        seed=0,
        stats=stats,
        target=problem.objective(start),
    )
    assert np.array_equal(out, start) and stats["lp_search_iterations"] == 0


def test_parallel_solves_run_the_lp_search_and_one_worker_solves_do_not():
    """A GAP past the exact path's size: with two workers the work account shows the LP
    relaxation and then the LP-guided search (unless the wall clock stopped or skipped the
    LP, which the result then names), with one worker neither; both results feasible."""
    cost, resource, capacity = tight_instance(11, 20, 400)  # 8,000 pairs
    phases, stops = {}, {}
    for workers in (1, 2):
        result = solve_gap(cost, resource, capacity, time_limit=10.0, workers=workers)
        assert result.has_solution
        assert check(cost, resource, capacity, result.assignment) == pytest.approx(result.objective)
        phases[workers] = result.stats["work"]["phases"]
        stops[workers] = result.stats["wall_clock_stop"]
    assert "lp relaxation" in phases[2] or "lp relaxation skipped" in stops[2]
    assert "lp search" in phases[2] or "lp relaxation" in stops[2]
    assert "lp relaxation" not in phases[1] and "lp search" not in phases[1]


def _parallel_run(problem, start, limit: float = 60.0) -> Run:
    """A two-worker run of ``problem`` with ``start`` as its incumbent and ``limit`` seconds
    on the clock from now."""
    return Run(
        problem,
        time.perf_counter(),
        limit,
        0,
        2,
        0.0,
        True,
        {},
        WorkClock(limit),
        incumbent=start.copy(),
    )


def _count_lp_solves(monkeypatch) -> list[float]:
    """Make the phase on the clock record the time limit of each LP it solves; returns the
    list it records into."""
    calls: list[float] = []

    def counted(*args, **kwargs):
        calls.append(kwargs["time_limit"])
        return lp_relaxation(*args, **kwargs)

    monkeypatch.setattr(cpsat_phases, "lp_relaxation", counted)
    return calls


def test_the_lp_on_the_clock_is_not_solved_again_after_the_clock_stopped_it(tight, monkeypatch):
    """When the budgets' LP relaxation was stopped by the wall clock, the phase on the clock
    does not start HiGHS a second time; without that stop it solves the LP once and returns
    its values."""
    _, _, _, problem, start, _ = tight
    allowed = problem.allowed()
    calls = _count_lp_solves(monkeypatch)
    stopped = _parallel_run(problem, start)
    stopped.clock_stops.append("lp relaxation")
    assert cpsat_phases.lp_on_the_clock(stopped, allowed, int(allowed.sum())) is None
    assert calls == []
    fresh = _parallel_run(problem, start)
    x = cpsat_phases.lp_on_the_clock(fresh, allowed, int(allowed.sum()))
    assert len(calls) == 1 and 0.0 < calls[0] < 60.0
    assert x is not None and np.allclose(x.sum(axis=0), 1.0)
    assert "lp relaxation on the clock" in fresh.clock.phases


def test_the_lp_on_the_clock_past_the_finish_size_takes_the_clock_nothing_else_uses(
    tight, monkeypatch
):
    """With 2 s on the clock and an LP window of 1.25 s (40,000 pairs at the rates): at
    FINISH_MAX_PAIRS pairs (CP-SAT on the clock follows) the window passes half of the
    clock left and the LP is not tried; one pair more (nothing follows) it is, HiGHS getting
    the clock left less FINISH_MIN_SECONDS."""
    _, _, _, problem, start, _ = tight
    allowed = problem.allowed()
    calls = _count_lp_solves(monkeypatch)
    size = cpsat_phases.FINISH_MAX_PAIRS
    assert size == 40_000  # the window below: 40,000 / 4e4 pairs per second / 0.8 = 1.25 s
    medium = _parallel_run(problem, start, limit=2.0)
    assert cpsat_phases.lp_on_the_clock(medium, allowed, size) is None and calls == []
    large = _parallel_run(problem, start, limit=2.0)
    x = cpsat_phases.lp_on_the_clock(large, allowed, size + 1)
    clock_left = 2.0 - 0.05 * 2.0 - 0.5  # less FINISH_MARGIN of the limit and the search's 0.5 s
    assert len(calls) == 1 and clock_left - 0.2 < calls[0] <= clock_left
    assert x is not None and np.allclose(x.sum(axis=0), 1.0)
