"""Tests of the Generalized Assignment Problem core (solver.allocation.gap).

Oracle: ``scipy.optimize.milp`` (HiGHS) on the textbook formulation, and independent
recomputation of objective and capacity use from the returned assignment.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from oracles import assignment_milp
from scipy.optimize import Bounds, LinearConstraint, milp
from slow_clock import slow_down

from solver.allocation.gap import coreflow, ejection
from solver.allocation.gap import solve as solve_module
from solver.allocation.gap.budget import TARGET_SHARE
from solver.allocation.gap.coreflow import solve_core_flow
from solver.allocation.gap.cpsat import solve_gap_cpsat_plain
from solver.allocation.gap.dual import lagrangian_dual
from solver.allocation.gap.flow import row_slots, solve_transport
from solver.allocation.gap.knapsack import knapsack_bound
from solver.allocation.gap.primal import primal_from_prices, regret_construct
from solver.allocation.gap.problem import (
    AssignmentProblem,
    AssignmentResult,
    gap_problem,
    relative_gap,
)
from solver.allocation.gap.solve import solve_assignment, solve_gap
from solver.domain import Status


def random_instance(seed: int, *, tight: float | None = None):
    """A seeded random GAP: 2–8 agents, 5–200 jobs, integer data (Chu–Beasley type C style)."""
    rng = np.random.default_rng(seed)
    m = int(rng.integers(2, 9))
    n = int(rng.integers(5, 201)) if seed % 5 == 0 else int(rng.integers(5, 61))
    resource = rng.integers(5, 26, size=(m, n))
    cost = rng.integers(10, 51, size=(m, n))
    factor = tight if tight is not None else float(rng.uniform(0.9, 1.4))
    capacity = np.maximum(
        resource.max(axis=0).max(), np.floor(factor * resource.sum(axis=1) / m)
    ).astype(np.int64)
    return cost, resource, capacity


def _tight_instance(m: int, n: int, seed: int):
    """A seeded random m × n GAP with capacities at 80 % of the average load (tight)."""
    rng = np.random.default_rng(seed)
    resource = rng.integers(5, 26, size=(m, n))
    cost = rng.integers(10, 51, size=(m, n))
    capacity = (0.8 * resource.sum(axis=1) / m).astype(int)
    return cost, resource, capacity


def milp_optimum(cost, resource, capacity, sense="min"):
    """Optimal value with scipy.optimize.milp (None when infeasible)."""
    m, n = cost.shape
    c = cost.ravel().astype(float) * (1.0 if sense == "min" else -1.0)
    assign = np.zeros((n, m * n))
    for j in range(n):
        assign[j, j::n] = 1.0
    cap = np.zeros((m, m * n))
    for i in range(m):
        cap[i, i * n : (i + 1) * n] = resource[i]
    res = milp(
        c,
        constraints=[LinearConstraint(assign, 1, 1), LinearConstraint(cap, -np.inf, capacity)],
        integrality=np.ones(m * n),
        bounds=Bounds(0, 1),
        options={"time_limit": 60},
    )
    if res.status == 2:
        return None
    assert res.status == 0, res.message
    return float(res.fun) * (1.0 if sense == "min" else -1.0)


def check_assignment(result: AssignmentResult, cost, resource, capacity):
    """Independent feasibility and objective check; returns the recomputed objective."""
    n = cost.shape[1]
    a = result.assignment
    assert a.shape == (n,)
    assert ((a >= 0) & (a < cost.shape[0])).all()
    used = np.bincount(a, weights=resource[a, np.arange(n)], minlength=cost.shape[0])
    assert (used <= capacity + 1e-9).all(), "capacity exceeded"
    return float(cost[a, np.arange(n)].sum())


@pytest.mark.parametrize("seed", range(56))
def test_random_instances_reach_milp_optimum(seed):
    """solve_gap proves the milp optimum; the objective recomputed from the assignment matches."""
    cost, resource, capacity = random_instance(seed)
    sense = "max" if seed % 3 == 0 else "min"
    expected = milp_optimum(cost, resource, capacity, sense)
    result = solve_gap(cost, resource, capacity, sense=sense, time_limit=20.0, workers=1, seed=seed)
    if expected is None:
        assert result.status is Status.INFEASIBLE
        return
    assert result.status is Status.OPTIMAL, result.summary()
    recomputed = check_assignment(result, cost, resource, capacity)
    assert recomputed == result.objective
    assert result.objective == pytest.approx(expected, abs=1e-6)
    assert result.gap == 0.0 and result.bound == result.objective


def test_infeasible_when_a_job_fits_no_agent():
    """A job bigger than every capacity is reported INFEASIBLE at once, with a message."""
    cost = np.array([[1, 2], [3, 4]])
    resource = np.array([[1, 9], [1, 9]])
    result = solve_gap(cost, resource, np.array([5, 5]), time_limit=5)
    assert result.status is Status.INFEASIBLE
    assert "fit no agent" in result.message
    assert not result.has_solution and math.isnan(result.objective)


def test_infeasible_when_total_capacity_is_short():
    """Every job fits somewhere, but not all together: CP-SAT proves INFEASIBLE."""
    cost = np.ones((2, 5), dtype=int)
    resource = np.full((2, 5), 4)
    result = solve_gap(cost, resource, np.array([8, 8]), time_limit=5)
    assert result.status is Status.INFEASIBLE
    assert milp_optimum(cost, resource, np.array([8, 8])) is None


def test_tiny_time_limit_never_hangs():
    """A 0.05 s limit on a 30×900 instance returns promptly: TIME_LIMIT, or FEASIBLE with a gap."""
    cost, resource, capacity = _tight_instance(30, 900, seed=7)
    started = time.perf_counter()
    result = solve_gap(cost, resource, capacity, time_limit=0.05)
    elapsed = time.perf_counter() - started
    assert elapsed < 3.0
    assert result.status in (Status.TIME_LIMIT, Status.FEASIBLE)
    if result.status is Status.FEASIBLE:
        check_assignment(result, cost, resource, capacity)
        assert math.isfinite(result.gap)
    else:
        assert (result.assignment == -1).all() and result.gap == math.inf


def test_large_path_gives_valid_certificate():
    """The decomposition path (no full CP-SAT) returns a feasible solution, bound ≤ objective."""
    cost, resource, capacity = _tight_instance(20, 600, seed=11)
    result = solve_gap(cost, resource, capacity, time_limit=2.0, seed=1)
    assert result.status in (Status.FEASIBLE, Status.OPTIMAL)
    assert "lagrangian" in result.method
    assert check_assignment(result, cost, resource, capacity) == result.objective
    assert result.bound <= result.objective + 1e-9
    assert result.gap == pytest.approx(relative_gap(result.objective, result.bound))
    assert result.runtime < 2.0 + 1.0


def test_lagrangian_bound_is_valid():
    """The Lagrangian bound never exceeds the milp optimum (weak duality), on 10 instances."""
    for seed in (1, 2, 3, 4, 6, 7, 8, 9):
        cost, resource, capacity = random_instance(seed, tight=1.1)
        expected = milp_optimum(cost, resource, capacity)
        if expected is None:
            continue
        problem = AssignmentProblem(
            cost=cost.astype(float),
            weight=resource.astype(float),
            row_of=np.arange(cost.shape[0]),
            capacity=capacity.astype(float),
        )
        dual = lagrangian_dual(problem, deadline=time.perf_counter() + 5)
        assert dual.bound <= expected + 1e-6


def test_max_sense_bound_above_objective():
    """For maximisation the bound is an upper bound and the objective is the total profit."""
    cost, resource, capacity = random_instance(3, tight=0.8)
    result = solve_gap(cost, resource, capacity, sense="max", time_limit=10, workers=1)
    assert result.sense == "max"
    assert result.bound >= result.objective - 1e-9
    assert check_assignment(result, cost, resource, capacity) == result.objective


def test_forbidden_pairs_never_used():
    """Non-finite costs forbid a pair; the solver never assigns it."""
    rng = np.random.default_rng(5)
    cost = rng.integers(1, 20, size=(4, 40)).astype(float)
    cost[rng.random((4, 40)) < 0.4] = np.inf
    cost[0, np.isinf(cost).all(axis=0)] = 3.0  # every job keeps one allowed agent
    resource = rng.integers(1, 5, size=(4, 40))
    result = solve_gap(cost, resource, np.full(4, 60), time_limit=5, workers=1)
    assert result.has_solution
    assert np.isfinite(cost[result.assignment, np.arange(40)]).all()


def test_same_seed_same_result():
    """Same instance and seed (one worker) gives the same assignment."""
    cost, resource, capacity = random_instance(12)
    first = solve_gap(cost, resource, capacity, time_limit=10, seed=4, workers=1)
    second = solve_gap(cost, resource, capacity, time_limit=10, seed=4, workers=1)
    assert np.array_equal(first.assignment, second.assignment)
    assert first.objective == second.objective


@pytest.mark.parametrize(
    "shape, expected_method",
    [((8, 400), "cp-sat"), ((20, 600), "lns")],
    ids=["exact-path", "decomposition-lns"],
)
def test_work_budgets_make_a_slower_machine_give_the_same_result(
    monkeypatch, shape, expected_method
):
    """Budgets are work, not seconds: on a machine 1.1x slower (simulated clock) the result
    is the same, as long as the wall clock stopped nothing (flagged in the stats). (The
    budgets use about 75 % of the limit on the idle machine, so the margin is about 1.3x;
    on a loaded one the clock stops phases and the test skips.)"""
    cost, resource, capacity = _tight_instance(*shape, seed=5)
    normal = solve_gap(cost, resource, capacity, time_limit=3.0, seed=2, workers=1)
    slow_down(monkeypatch, 1.1)
    slower = solve_gap(cost, resource, capacity, time_limit=3.0, seed=2, workers=1)
    assert check_assignment(normal, cost, resource, capacity) == normal.objective
    if normal.stats["wall_clock_stop"] or slower.stats["wall_clock_stop"]:
        # this machine is more than ~1.3x slower than the idle project machine right now
        # (the clock may then have skipped the phases the method names)
        pytest.skip(
            f"wall clock stopped {normal.stats['wall_clock_stop']!r} /"
            f" {slower.stats['wall_clock_stop']!r}: not a reproducibility case"
        )
    assert expected_method in normal.method
    assert np.array_equal(normal.assignment, slower.assignment)
    assert (normal.objective, normal.bound, normal.status) == (
        slower.objective,
        slower.bound,
        slower.status,
    )


def test_a_much_slower_machine_is_flagged_as_stopped_by_the_clock(monkeypatch):
    """On a machine 50x slower the budgets cannot be met: the result still carries a valid
    certificate and names the phases the wall clock stopped."""
    cost, resource, capacity = _tight_instance(20, 600, seed=5)
    slow_down(monkeypatch, 50.0)
    result = solve_gap(cost, resource, capacity, time_limit=3.0, seed=2, workers=2)
    assert result.stats["wall_clock_stop"] != ""
    if result.status is not Status.TIME_LIMIT:
        assert check_assignment(result, cost, resource, capacity) == result.objective
        assert result.bound <= result.objective + 1e-9


def test_plain_baseline_agrees_on_small_instance():
    """The plain CP-SAT baseline reaches the same optimum on an easy instance."""
    cost, resource, capacity = random_instance(1)
    ours = solve_gap(cost, resource, capacity, time_limit=10, workers=1)
    base = solve_gap_cpsat_plain(cost, resource, capacity, time_limit=10, workers=1)
    assert base.status is Status.OPTIMAL and base.objective == ours.objective
    assert base.method == "cp-sat-plain"


def test_global_row_budget_respected():
    """A global row (budget) caps total use across options in solve_assignment."""
    rng = np.random.default_rng(2)
    n = 30
    value = rng.uniform(1, 10, size=(3, n)).round(2)
    value[0] = 0.0  # option 0: do nothing, free
    spend = np.array([0.0, 2.0, 5.0])
    problem = AssignmentProblem(
        cost=-value,
        weight=np.zeros((3, 1)),
        row_of=np.full(3, -1),
        capacity=np.zeros(0),
        global_weight=spend[None, :, None],
        global_capacity=np.array([40.0]),
    )
    result = solve_assignment(problem, time_limit=5, workers=1)
    assert result.status is Status.OPTIMAL
    assert spend[result.assignment].sum() <= 40.0 + 1e-9
    assert problem.is_feasible(result.assignment)


def test_input_validation_messages():
    """Shape mismatches raise ValueError naming the field."""
    with pytest.raises(ValueError, match="resource"):
        solve_gap(np.ones((2, 3)), np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="capacity"):
        solve_gap(np.ones((2, 3)), np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match="sense"):
        solve_gap(np.ones((2, 3)), np.ones((2, 3)), np.ones(2), sense="maximise")


def test_summary_and_relative_gap():
    """summary() names the status and gap; relative_gap follows |obj − bound| / max(1, |obj|)."""
    assert relative_gap(200.0, 190.0) == pytest.approx(0.05)
    assert relative_gap(0.5, 0.0) == pytest.approx(0.5)
    assert relative_gap(math.nan, 1.0) == math.inf
    result = solve_gap(np.array([[1, 5], [4, 2]]), np.ones((2, 2)), np.array([1, 1]), workers=1)
    text = result.summary()
    assert "status=OPTIMAL" in text and "gap=0.0000%" in text


@pytest.mark.parametrize("seed", range(8))
def test_knapsack_bound_lies_between_lp_bound_and_optimum(seed):
    """The knapsack Lagrangian bound is valid (≤ the MILP optimum) and, started from the
    capacity prices, at least their LP bound."""
    cost, resource, capacity = random_instance(seed, tight=0.95)
    optimum = milp_optimum(cost, resource, capacity)
    if optimum is None:
        pytest.skip("infeasible instance")
    problem, _ = gap_problem(cost, resource, capacity, "min")
    allowed = problem.allowed()
    dual = lagrangian_dual(problem, deadline=time.perf_counter() + 30, allowed=allowed)
    kb = knapsack_bound(
        problem,
        allowed,
        dual.prices,
        upper_bound=optimum,
        max_cells=10**8,
        deadline=time.perf_counter() + 30,
    )
    assert kb.start >= dual.bound - 1e-6 * max(1.0, abs(dual.bound))
    assert kb.bound >= kb.start
    assert kb.bound <= optimum + 1e-6


def _greedy_start(problem: AssignmentProblem, allowed, dual):
    start = primal_from_prices(
        problem, allowed, dual.prices, dual.global_prices, deadline=time.perf_counter() + 30
    )
    if start is None:
        k, n = problem.cost.shape
        share = np.broadcast_to(problem.weight, (k, n)) / problem.capacity[:, None]
        start = regret_construct(problem, share, allowed, deadline=time.perf_counter() + 30)
    assert start is not None
    return start


def test_ejection_search_is_feasible_better_and_independent_of_its_slices(monkeypatch):
    """The ejection-chain search returns a feasible assignment no worse than its start, the
    same for the same seed, and the same whether the kernel runs in one slice or many."""
    cost, resource, capacity = _tight_instance(15, 300, seed=3)
    problem, _ = gap_problem(cost, resource, capacity, "min")
    allowed = problem.allowed()
    dual = lagrangian_dual(problem, deadline=time.perf_counter() + 30, allowed=allowed)
    rc = np.where(allowed, problem.reduced_costs(dual.prices, dual.global_prices), np.inf)
    start = _greedy_start(problem, allowed, dual)

    def run(seed: int) -> np.ndarray:
        stats: dict = {}
        out = ejection.ejection_search(
            problem, start, allowed, rc, dual.prices, work_budget=3_000_000,
            deadline=math.inf, seed=seed, stats=stats,
        )  # fmt: skip
        assert stats["ejection_work"] >= 3_000_000 and not stats["ejection_wall_stop"]
        return out

    first = run(1)
    assert problem.is_feasible(first)
    assert problem.objective(first) <= problem.objective(start)
    assert np.array_equal(first, run(1))
    monkeypatch.setattr(ejection, "SLICE_WORK", 50_000)
    assert np.array_equal(first, run(1))


def _transport_instance(seed: int, n: int = 60):
    """Per-row constant use (minutes per call), an uncapacitated option, forbidden pairs."""
    rng = np.random.default_rng(seed)
    k = 5
    value = rng.uniform(1, 50, size=(k, n)).round(2)
    value[rng.random((k, n)) < 0.2] = -np.inf  # forbidden pairs
    value[0] = rng.uniform(0, 5, size=n).round(2)  # option 0: no action, always allowed
    row_of = np.array([-1, 0, 0, 1, 2])
    minutes = np.array([0.0, 20.0, 20.0, 40.0, 15.0])
    capacity = np.array([200.0, 150.0, 100.0])
    problem = AssignmentProblem(
        cost=np.where(np.isfinite(value), -value, np.inf),
        weight=minutes[:, None],
        row_of=row_of,
        capacity=capacity,
    )
    return problem, value, minutes, row_of, capacity


@pytest.mark.parametrize("seed", range(5))
def test_min_cost_flow_matches_the_milp_optimum(seed):
    """A transportation-shaped problem (each row's options use it alike) is solved exactly by
    the min-cost flow: the optimum of the MILP of tests/oracles.py, capacity respected."""
    problem, value, minutes, row_of, capacity = _transport_instance(seed)
    allowed = problem.allowed()
    slots = row_slots(problem, allowed)
    assert slots is not None and slots.tolist() == [10, 3, 6]
    out = solve_transport(problem, allowed, slots)
    assert out.exact and out.assignment is not None
    assert problem.is_feasible(out.assignment)
    reference = assignment_milp(value, minutes[:, None], row_of, capacity, sense="max")
    assert reference["optimal"]
    assert -problem.objective(out.assignment) == pytest.approx(reference["objective"], abs=1e-6)
    assert out.bound == pytest.approx(problem.objective(out.assignment), abs=1e-6)
    result = solve_assignment(problem, time_limit=5, workers=1, exact_max_pairs=0)
    assert result.status is Status.OPTIMAL and "min-cost-flow" in result.method
    assert -result.objective == pytest.approx(reference["objective"], abs=1e-6)


def _large_transport_instance(seed: int, n: int = 1500):
    """A transportation-shaped problem with four rows, a few hundred slots in all."""
    rng = np.random.default_rng(seed)
    k = 7
    value = rng.uniform(1, 50, size=(k, n)).round(2)
    value[rng.random((k, n)) < 0.2] = -np.inf
    value[0] = rng.uniform(0, 5, size=n).round(2)  # no action, always allowed
    row_of = np.array([-1, 0, 0, 1, 2, 3, 3])
    minutes = np.array([0.0, 20.0, 20.0, 40.0, 15.0, 30.0, 30.0])
    capacity = np.array([2.0, 1.5, 1.0, 2.5]) * n
    problem = AssignmentProblem(
        cost=np.where(np.isfinite(value), -value, np.inf),
        weight=minutes[:, None],
        row_of=row_of,
        capacity=capacity,
    )
    reference = assignment_milp(value, minutes[:, None], row_of, capacity, sense="max")
    assert reference["optimal"]
    return problem, -reference["objective"]


@pytest.mark.parametrize("seed", range(2))
def test_core_flow_proves_the_optimum_from_poor_prices(seed, monkeypatch):
    """The flow on a priced core, started from prices that price every row out, a core of
    40 jobs and 30 row
    candidates per row and round, reaches the MILP's optimum by column generation, and its
    dual proves it (bound = objective)."""
    problem, optimum = _large_transport_instance(seed)
    allowed = problem.allowed()
    slots = row_slots(problem, allowed)
    monkeypatch.setattr(coreflow, "ROW_CANDIDATES_MAX", 30)
    out = solve_core_flow(problem, allowed, slots, np.full(4, 10.0), core_jobs=40, rounds=100)
    assert out.assignment is not None and problem.is_feasible(out.assignment)
    assert out.stats["core_rounds"] > 1  # the first core missed the optimum
    assert out.optimal
    assert problem.objective(out.assignment) == pytest.approx(optimum, abs=1e-6)
    assert out.bound == pytest.approx(optimum, abs=1e-6)
    # the prices are the LP duals: no job gains by another node at them
    prices = out.node_prices[:-1] / out.stats["row_units"]
    rc = np.where(allowed, problem.reduced_costs(prices, np.zeros(0)), np.inf)
    chosen = rc[out.assignment, np.arange(problem.n_jobs)]
    assert (chosen <= rc.min(axis=0) + 1e-6).all()


def test_core_flow_cut_short_keeps_a_valid_bound(monkeypatch):
    """One round on a poor core: a feasible assignment and a bound no higher than the
    optimum (weak duality), whether or not it proves anything."""
    problem, optimum = _large_transport_instance(2)
    monkeypatch.setattr(coreflow, "ROW_CANDIDATES_MAX", 5)
    allowed = problem.allowed()
    out = solve_core_flow(
        problem, allowed, row_slots(problem, allowed), np.zeros(4), core_jobs=10, rounds=1
    )
    assert out.assignment is not None and problem.is_feasible(out.assignment)
    assert problem.objective(out.assignment) >= optimum - 1e-6
    assert out.bound <= optimum + 1e-6
    assert out.optimal == (problem.objective(out.assignment) - out.bound < 1e-6)


def test_large_transportation_problems_take_the_core_flow(monkeypatch):
    """Past the full flow's size the solver takes the core flow and returns the proven
    optimum, with the exact dual prices as its shadow prices."""
    problem, optimum = _large_transport_instance(3)
    monkeypatch.setattr(solve_module, "FLOW_MAX_ARCS", 1_000)
    result = solve_assignment(problem, time_limit=10, workers=1, exact_max_pairs=0, lns=False)
    assert "core-flow" in result.method and result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(optimum, abs=1e-6)
    assert result.bound == pytest.approx(optimum, abs=1e-6)
    prices = result.stats["prices"]
    used = problem.row_usage(result.assignment)
    # complementary slackness: a priced row is full (to within one job's use)
    minutes = np.array([20.0, 40.0, 15.0, 30.0])
    assert ((prices <= 1e-9) | (used > problem.capacity - minutes)).all()


def test_row_slots_only_for_transportation_shaped_problems():
    """Job-dependent use of a row, or a global row, is not a transportation problem."""
    problem, *_ = _transport_instance(0)
    assert row_slots(problem, problem.allowed()) is not None
    cost, resource, capacity = random_instance(3)
    gap, _ = gap_problem(cost, resource, capacity, "min")
    assert row_slots(gap, gap.allowed()) is None
    budget = AssignmentProblem(
        cost=problem.cost,
        weight=problem.weight,
        row_of=problem.row_of,
        capacity=problem.capacity,
        global_weight=np.ones((1, 5, 1)),
        global_capacity=np.array([30.0]),
    )
    assert row_slots(budget, budget.allowed()) is None


def test_work_account_in_the_statistics():
    """stats["work"] says how much of the limit the work stood for, per phase."""
    cost, resource, capacity = _tight_instance(20, 600, seed=11)
    started = time.process_time()
    result = solve_gap(cost, resource, capacity, time_limit=3.0, seed=1, workers=1)
    process_cpu = time.process_time() - started
    work = result.stats["work"]
    # the budgets: TARGET_SHARE of the limit in seconds of the idle machine, whatever the
    # workers (each phase at its own pace)
    assert work["limit_s"] == 3.0
    assert work["budget_s"] == pytest.approx(TARGET_SHARE * 3.0)
    assert work["share_of_budget"] == pytest.approx(work["spent_s"] / work["budget_s"])
    assert work["share_of_limit"] == pytest.approx(work["spent_s"] / 3.0)
    # every phase's CPU seconds are measured (the paces' measure), and add up to at most the
    # process's
    assert all(len(v) == 4 and v[3] >= 0.0 for v in work["phases"].values())
    assert work["cpu_s"] == pytest.approx(sum(v[3] for v in work["phases"].values()), abs=1e-5)
    assert 0.0 < work["cpu_s"] <= process_cpu
    assert {"lagrangian", "greedy", "ejection chains"} <= set(work["phases"])
    spent = sum(v[0] for v in work["phases"].values())
    assert spent == pytest.approx(work["spent_s"], rel=1e-4)
    # the budgets are work: not more than the limit's share, with a small overrun ...
    assert work["share_of_budget"] <= 1.1
    if result.stats["wall_clock_stop"]:
        pytest.skip(f"the wall clock stopped {result.stats['wall_clock_stop']!r}: machine loaded")
    # ... and, when the clock stopped nothing, most of it, the LNS's part too
    assert work["share_of_budget"] >= 0.9
    assert "lns" in work["phases"]
