"""Tests of the tabu search and the elite relinking for tight GAPs (solver.allocation.gap.tabu,
solver.allocation.gap.relink).

Oracle: ``scipy.optimize.milp`` (HiGHS) on the textbook formulation (tests/oracles.py), and
the objective and capacity use recomputed here from the returned assignment.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracles import gap_milp

from solver.allocation.gap import tabu
from solver.allocation.gap.problem import AssignmentProblem, gap_problem
from solver.allocation.gap.relink import elite_search
from solver.allocation.gap.tabu import SearchBudget, TabuInstance, tabu_search


def tight_instance(seed: int, m: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A Chu–Beasley type D instance: resources 1–100, cost 111 − resource ± 10, capacity
    80 % of an agent's share of its resources (tight, costs against resources)."""
    rng = np.random.default_rng(seed)
    resource = rng.integers(1, 101, size=(m, n)).astype(float)
    cost = 111.0 - resource + rng.integers(-10, 11, size=(m, n))
    capacity = np.floor(0.8 * resource.sum(axis=1) / m)
    return cost, resource, capacity


def feasible_start(cost: np.ndarray, resource: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """A feasible assignment by first fit in decreasing size (independent of the solver)."""
    m, n = cost.shape
    load = np.zeros(m)
    out = np.full(n, -1)
    for j in np.argsort(-resource.min(axis=0), kind="stable"):
        for i in np.argsort(resource[:, j], kind="stable"):
            if load[i] + resource[i, j] <= capacity[i]:
                out[j] = i
                load[i] += resource[i, j]
                break
    assert (out >= 0).all(), "the first fit found no feasible start"
    return out


def check(cost, resource, capacity, assignment) -> float:
    """The objective, after checking every capacity (own code)."""
    m, n = cost.shape
    use = np.zeros(m)
    np.add.at(use, assignment, resource[assignment, np.arange(n)])
    assert (use <= capacity + 1e-9).all()
    return float(cost[assignment, np.arange(n)].sum())


def setup(seed: int, m: int, n: int):
    cost, resource, capacity = tight_instance(seed, m, n)
    problem, _ = gap_problem(cost, resource, capacity, "min")
    start = feasible_start(cost, resource, capacity)
    return cost, resource, capacity, problem, start


@pytest.mark.parametrize("seed", [1, 3])
def test_tabu_reaches_the_milp_optimum_on_small_tight_instances(seed):
    cost, resource, capacity, problem, start = setup(seed, 4, 24)
    stats: dict = {}
    budget = SearchBudget(3_000_000, math.inf, 0)
    out = tabu_search(TabuInstance(problem, problem.allowed(), np.ones(4)), start, budget, stats)
    optimum = gap_milp(cost, resource, capacity)["objective"]
    assert check(cost, resource, capacity, out) == pytest.approx(optimum)
    assert check(cost, resource, capacity, start) > optimum  # the start was not optimal
    assert stats["tabu_improvements"] > 0 and not stats["tabu_wall_stop"]


def test_tabu_is_the_same_in_slices_and_repairs_an_infeasible_start(monkeypatch):
    cost, resource, capacity, problem, start = setup(7, 6, 60)
    allowed = problem.allowed()
    crowded = np.zeros(60, dtype=np.int64)  # every job on agent 0: far over capacity
    runs = []
    for slice_work in (tabu.SLICE_WORK, 20_000):
        monkeypatch.setattr(tabu, "SLICE_WORK", slice_work)
        stats: dict = {}
        budget = SearchBudget(2_000_000, math.inf, 3)
        out = tabu_search(TabuInstance(problem, allowed, np.zeros(6)), crowded, budget, stats)
        runs.append((out, stats["tabu_work"], stats["tabu_iterations"]))
    assert np.array_equal(runs[0][0], runs[1][0])
    assert runs[0][1:] == runs[1][1:]
    check(cost, resource, capacity, runs[0][0])  # feasible, though the start was not
    assert not problem.is_feasible(crowded)


def test_tabu_stops_at_the_target_and_leaves_global_rows_alone():
    cost, resource, capacity, problem, start = setup(4, 4, 24)
    optimum = round(gap_milp(cost, resource, capacity)["objective"])  # integer costs
    stats: dict = {}
    budget = SearchBudget(50_000_000, math.inf, 0, target=optimum)
    out = tabu_search(TabuInstance(problem, problem.allowed(), np.ones(4)), start, budget, stats)
    assert check(cost, resource, capacity, out) == optimum
    assert stats["tabu_work"] <= 2 * tabu.SLICE_WORK  # stopped in the slice it got there
    budgeted = AssignmentProblem(
        cost=problem.cost, weight=problem.weight, row_of=problem.row_of,
        capacity=problem.capacity, global_weight=np.ones((1, 4, 1)),
        global_capacity=np.array([1e9]),
    )  # fmt: skip
    stats = {}
    budget = SearchBudget(1_000_000, math.inf, 0)
    out = tabu_search(TabuInstance(budgeted, problem.allowed(), np.ones(4)), start, budget, stats)
    assert out is start and stats["tabu_work"] == 0


def test_elite_search_is_reproducible_and_no_worse_than_the_tabu_search_alone():
    cost, resource, capacity, problem, start = setup(11, 8, 80)
    allowed = problem.allowed()
    results = []
    for _ in range(2):
        stats: dict = {}
        instance = TabuInstance(problem, allowed, np.ones(8))
        out = elite_search(instance, start, SearchBudget(4_000_000, math.inf, 5), stats)
        results.append((out, stats))
    assert np.array_equal(results[0][0], results[1][0])
    assert results[0][1]["tabu_relinks"] > 0
    assert results[0][1]["tabu_work"] <= 4_000_000 + 200_000  # whole iterations past it
    value = check(cost, resource, capacity, results[0][0])
    assert value <= check(cost, resource, capacity, start)
    first = SearchBudget(int(0.3 * 4_000_000), math.inf, 5)
    alone = tabu_search(TabuInstance(problem, allowed, np.ones(8)), start, first, {})
    assert value <= check(cost, resource, capacity, alone)
