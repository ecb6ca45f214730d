"""Tests of the tabu searches from the knapsack relaxation's solutions
(solver.allocation.gap.relaxed).

Oracle: ``scipy.optimize.milp`` (HiGHS) on the textbook formulation (tests/oracles.py); the
objective and the capacities are recomputed here from the returned assignments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracles import gap_milp
from test_gap_tabu import check, setup

from solver.allocation.gap.relaxed import relaxation_search
from solver.allocation.gap.tabu import SearchBudget, TabuInstance


@pytest.fixture(scope="module")
def tight():
    """A 4 × 24 type D instance, a first-fit start and the MILP's optimum (one solve)."""
    cost, resource, capacity, problem, start = setup(2, 4, 24)
    optimum = gap_milp(cost, resource, capacity)
    return cost, resource, capacity, problem, start, optimum


def test_relaxation_search_is_feasible_reproducible_and_its_bound_holds(tight):
    cost, resource, capacity, problem, start, milp = tight
    instance = TabuInstance(problem, problem.allowed(), np.ones(4))
    runs = []
    for _ in range(2):
        stats: dict = {}
        found = relaxation_search(instance, start, SearchBudget(3_000_000, math.inf, 3), stats)
        runs.append((found, stats))
    (found, stats), (again, _) = runs
    assert np.array_equal(found.assignment, again.assignment) and found.bound == again.bound
    optimum = milp["objective"]
    value = check(cost, resource, capacity, found.assignment)
    assert optimum <= value < check(cost, resource, capacity, start)
    assert value <= optimum * 1.01  # within 1 % of the optimum on 4 × 24
    assert found.bound <= optimum + 1e-6  # a lower bound
    assert found.bound > optimum * 0.98  # and a strong one (the knapsack relaxation)
    assert stats["relaxed_starts"] > 0 and stats["tabu_work"] <= 3_000_000 + 200_000


def test_relaxation_search_keeps_the_start_when_it_finds_nothing_better(tight):
    problem, milp = tight[3], tight[5]
    best = np.asarray(milp["assignment"], dtype=np.int64)
    instance = TabuInstance(problem, problem.allowed(), np.ones(4))
    found = relaxation_search(instance, best, SearchBudget(500_000, math.inf, 0), {})
    assert np.array_equal(found.assignment, best)
