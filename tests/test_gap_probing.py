"""Tests of the fixing by the knapsack Lagrangian relaxation (solver.allocation.gap.probing).

Oracles, computed here without the code under test: every assignment of a small GAP
enumerated (its cost and feasibility recomputed), and every subset of a small knapsack.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from test_gap_tabu import tight_instance

from solver.allocation.gap.dual import lagrangian_dual
from solver.allocation.gap.knapsack import knapsack_bound
from solver.allocation.gap.probing import _row_rises, knapsack_fixing
from solver.allocation.gap.problem import gap_problem


def _all_assignments(cost: np.ndarray, resource: np.ndarray, capacity: np.ndarray):
    """Every feasible assignment of a small GAP with its cost (brute force)."""
    m, n = cost.shape
    jobs = np.arange(n)
    found = []
    for agents in itertools.product(range(m), repeat=n):
        a = np.array(agents)
        use = np.bincount(a, weights=resource[a, jobs], minlength=m)
        if (use <= capacity + 1e-9).all():
            found.append((float(cost[a, jobs].sum()), a))
    return found


def _instance(seed: int):
    """A 3 × 8 type D instance, its problem and every feasible assignment (cost-ordered)."""
    cost, resource, capacity = tight_instance(seed, 3, 8)
    problem, _ = gap_problem(cost, resource, capacity, "min")
    everything = sorted(_all_assignments(cost, resource, capacity), key=lambda e: e[0])
    assert len(everything) > 2, "the instance has too few feasible assignments"
    return problem, everything


def _multipliers(problem, upper_bound: float) -> np.ndarray:
    """The knapsack ascent's best multipliers from the capacity dual's prices."""
    allowed = problem.allowed()
    dual = lagrangian_dual(problem, deadline=math.inf, max_iterations=200, allowed=allowed)
    kb = knapsack_bound(
        problem, allowed, dual.prices, upper_bound=upper_bound, max_cells=10**6, deadline=math.inf
    )
    assert kb.multipliers is not None
    return kb.multipliers


def _best_subset(profit: np.ndarray, weight: np.ndarray, cap: int, force: int, into: bool) -> float:
    """The best profit of a subset of items within ``cap`` with item ``force`` in (``into``)
    or out (brute force over all subsets)."""
    best = -math.inf
    for bits in itertools.product((0, 1), repeat=profit.size):
        take = np.array(bits, dtype=bool)
        if take[force] != into or weight[take].sum() > cap:
            continue
        best = max(best, float(profit[take].sum()))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_row_rises_match_the_knapsack_with_the_item_forced_in_and_out(seed):
    """Per item, the fall of the best knapsack profit when it is forced in / out equals the
    brute-force optimum's."""
    rng = np.random.default_rng(seed)
    m = 9
    profit = rng.integers(-5, 30, m).astype(np.float64)
    weight = rng.integers(1, 12, m).astype(np.int64)
    cap = int(weight.sum() // 2)
    rise_in, rise_out = np.empty(m), np.empty(m)
    best = _row_rises(profit, weight, cap, rise_in, rise_out)
    free = max(
        _best_subset(profit, weight, cap, 0, True), _best_subset(profit, weight, cap, 0, False)
    )
    assert best == pytest.approx(free)
    for i in range(m):
        forced_in = _best_subset(profit, weight, cap, i, True)
        expected_in = math.inf if forced_in == -math.inf else best - forced_in
        assert rise_in[i] == pytest.approx(expected_in)
        assert rise_out[i] == pytest.approx(best - _best_subset(profit, weight, cap, i, False))


@pytest.mark.parametrize("seed", [1, 3])
def test_fixing_keeps_every_cheaper_assignment_and_prunes_pairs(seed):
    """Every feasible assignment cheaper than the incumbent uses only kept pairs, the bound is
    at most the optimum, and some pairs go (3 agents × 8 jobs, enumerated)."""
    problem, everything = _instance(seed)
    optimum = everything[0][0]
    allowed = problem.allowed()
    jobs = np.arange(8)
    # incumbents: the median feasible assignment and the second-best one (a tight one)
    incumbents = (everything[len(everything) // 2], everything[1])
    u = _multipliers(problem, incumbents[0][0])
    pruned = 0
    for limit, incumbent in incumbents:
        fixing = knapsack_fixing(problem, allowed, u, incumbent, integral_costs=True)
        assert fixing is not None
        assert fixing.bound <= optimum + 1e-6
        assert fixing.mask[incumbent, jobs].all()
        for c, a in everything:
            if c < limit:
                assert fixing.mask[a, jobs].all(), (c, a)
        pruned += int(allowed.sum() - fixing.mask.sum())
    assert pruned > 0


def test_fixing_of_an_optimal_incumbent_keeps_the_optimum_and_nothing_cheaper():
    """With the optimum as incumbent the fixed problem's cheapest feasible assignment is the
    optimum, and pairs go."""
    problem, everything = _instance(0)
    optimum, best = everything[0]
    allowed = problem.allowed()
    fixing = knapsack_fixing(
        problem, allowed, _multipliers(problem, optimum), best, integral_costs=True
    )
    assert fixing is not None
    jobs = np.arange(8)
    kept = [c for c, a in everything if fixing.mask[a, jobs].all()]
    assert min(kept) == optimum
    assert fixing.mask.sum() < allowed.sum()
