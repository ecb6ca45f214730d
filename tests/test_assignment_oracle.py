"""The assignment oracle of tests/oracles.py (scipy.optimize.milp) on hand-solved instances."""

from __future__ import annotations

import math

import numpy as np
from oracles import assignment_milp, gap_milp

# 2 agents × 3 jobs, every job needs 1 unit; agent 0 holds 2 units, agent 1 holds 3.
# Costs: agent 0 (1, 4, 5), agent 1 (3, 2, 6). By hand, the seven feasible assignments
# (agent per job; all three on agent 0 does not fit) cost: 001 → 11, 010 → 8, 011 → 9,
# 100 → 12, 101 → 13, 110 → 10, 111 → 11. Minimum 8 at 010, maximum 13 at 101, both unique.
COST = np.array([[1, 4, 5], [3, 2, 6]])
RESOURCE = np.ones((2, 3), dtype=int)
CAPACITY = np.array([2, 3])


def test_gap_milp_hand_solved_minimum_and_maximum():
    """Minimum 8 (agents 0, 1, 0) and maximum 13 (agents 1, 0, 1), both proven optimal."""
    low = gap_milp(COST, RESOURCE, CAPACITY, sense="min")
    assert low["optimal"] and low["objective"] == 8.0
    assert low["assignment"].tolist() == [0, 1, 0]
    assert low["bound"] == 8.0 and low["gap"] == 0.0
    high = gap_milp(COST, RESOURCE, CAPACITY, sense="max")
    assert high["optimal"] and high["objective"] == 13.0
    assert high["assignment"].tolist() == [1, 0, 1]


def test_infeasible_capacity_has_no_solution():
    """Three unit jobs cannot fit in capacities 1 + 1: no objective, no assignment."""
    result = gap_milp(COST, RESOURCE, np.array([1, 1]))
    assert not result["optimal"]
    assert math.isnan(result["objective"]) and result["assignment"] is None


def test_forbidden_pairs_uncapacitated_option_and_budget_row():
    """A non-finite value forbids a pair, row -1 is uncapacitated, and a budget row binds.

    Values: option 0 ("none", no row) pays 1 per job; option 1 pays 10 but job 2 may not
    take it (NaN) and each use costs 4 of a budget of 5. Without the budget: jobs 0 and 1
    take option 1 → 10 + 10 + 1 = 21; with it only one job can → 10 + 1 + 1 = 12.
    """
    value = np.array([[1.0, 1.0, 1.0], [10.0, 10.0, np.nan]])
    weight = np.ones((2, 1))
    row_of = np.array([-1, 0])
    capacity = np.array([5.0])
    free = assignment_milp(value, weight, row_of, capacity)
    assert free["objective"] == 21.0 and free["assignment"].tolist() == [1, 1, 0]
    budget = np.array([[[0.0], [4.0]]])  # G × K × 1
    tight = assignment_milp(
        value, weight, row_of, capacity, global_weight=budget, global_capacity=np.array([5.0])
    )
    assert tight["optimal"] and tight["objective"] == 12.0
    assert tight["assignment"].tolist().count(1) == 1 and tight["assignment"][2] == 0
