"""Elite search for tight assignment problems: tabu search, then relinking of elite solutions.

:func:`elite_search` runs the tabu search (:mod:`~solver.allocation.gap.tabu`) from a feasible
assignment with ``FIRST_SHARE`` of its work, collecting the ``POOL`` best distinct feasible
assignments it meets; then, in ``ROUNDS`` rounds, it picks two elite assignments, starts a
short tabu search from a point between them (the first one with a random half of the jobs on
which they differ given the second one's options: an intermediate point of the path between
them, usually infeasible, which the oscillating search repairs) and adds what it finds to the
pool. It is path relinking in the spirit of Yagiura, Ibaraki and Glover (EJOR 169, 2006),
with random intermediate points instead of a walk along the path.

Deterministic: the pairs and the intermediate points come from a seeded generator, the tabu
search counts work in move evaluations.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from solver.allocation.gap.tabu import (
    TABU_COUNTERS,
    SearchBudget,
    TabuInstance,
    add_counters,
    tabu_search,
)

__all__ = ["elite_search"]

#: Share of the work of the first tabu search; the rest is split over the relinking rounds.
FIRST_SHARE = 0.3
#: Relinking rounds.
ROUNDS = 10
#: Elite assignments kept.
POOL = 8


def elite_search(
    instance: TabuInstance,
    start: np.ndarray,
    budget: SearchBudget,
    stats: dict[str, Any],
    *,
    pool: list[tuple[float, np.ndarray]] | None = None,
) -> np.ndarray:
    """Improve the feasible ``start`` by the tabu search and relinking (``budget.work`` move
    evaluations in all; the wall-clock ``budget.deadline`` stops it, flagged in
    ``stats["tabu_wall_stop"]``; it ends once the cost reaches ``budget.target``). Returns
    the best feasible assignment found (``start`` when nothing better). ``pool``: elite
    assignments met before (cost-ordered ``(cost, assignment)`` pairs), relinked too; it is
    updated in place."""
    problem = instance.problem
    start_cost = problem.objective(start)
    if pool is None:
        pool = [(start_cost, start.copy())]
    elif not any((start == x).all() for _, x in pool):
        pool.append((start_cost, start.copy()))
        pool.sort(key=lambda entry: entry[0])
    part: dict[str, Any] = {}
    first_budget = replace(budget, work=int(FIRST_SHARE * budget.work))
    tabu_search(instance, start, first_budget, part, pool=pool, pool_size=POOL)
    totals = {key: part[key] for key in TABU_COUNTERS}
    wall_stop = bool(part["tabu_wall_stop"])
    rng = np.random.default_rng(budget.seed)
    per_round = int((budget.work - totals["tabu_work"]) / ROUNDS)
    relinks = 0
    for round_ in range(ROUNDS):
        if wall_stop or len(pool) < 2 or pool[0][0] <= budget.target or per_round <= 0:
            break
        i, j = rng.choice(len(pool), size=2, replace=False)
        first, second = pool[i][1], pool[j][1]
        differ = np.flatnonzero(first != second)
        middle = first.copy()
        moved = differ[rng.random(differ.size) < 0.5]
        middle[moved] = second[moved]
        rounds = replace(budget, work=per_round, seed=budget.seed + round_ + 1)
        tabu_search(instance, middle, rounds, part, pool=pool, pool_size=POOL)
        add_counters(totals, part)
        wall_stop = bool(part["tabu_wall_stop"])
        relinks += 1
    stats.update(totals, tabu_relinks=relinks, tabu_wall_stop=wall_stop)
    best = pool[0][1]
    if pool[0][0] < start_cost and problem.is_feasible(best):
        return best
    return start
