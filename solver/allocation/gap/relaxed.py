"""Tabu search from the knapsack relaxation's solutions (tight assignment problems).

On tight GAPs (Chu–Beasley and Yagiura type D: nearly full knapsacks, costs running against
the weights) the optimum packs every knapsack almost exactly, and the searches that start
from the greedy solution — the tabu search (:mod:`~solver.allocation.gap.tabu`), the
ejection chains, the agent-subset LNS, CP-SAT — stall in the basin around it (d20100:
6,236–6,276 against the optimum 6,185, whatever their parameters; benchmarks/README.md).
The knapsack Lagrangian relaxation (:mod:`~solver.allocation.gap.knapsack`: relax "each job
exactly once", keep the capacities) has exact packings for solutions: at the multipliers of
its subgradient ascent each row's knapsack is solved to optimality, and only a few jobs are
picked twice or not at all. :func:`relaxation_search` runs that ascent with ``BOUND_SHARE``
of its work and keeps the relaxation's solutions from ``FROM`` of the ascent on. From
``STARTS`` of them, spread along it, it runs a short tabu search with every job the
relaxation picked exactly once *fixed* to its pick: the search works on the sub-problem of
the other jobs (a fifth to a third of them on type D), whose rows keep the capacity the
fixed jobs leave, starting from the relaxation's choice for them (a job picked twice on its
cheapest pick, an unpicked one on its option of least reduced cost: usually a few rows over
capacity, which the oscillating penalty repairs). The fixed jobs are an exact packing of
each knapsack under near-optimal multipliers, and the small sub-problem is searched
thoroughly: this is what leaves the greedy solution's basin. The rest of the work goes to
the elite search (:mod:`~solver.allocation.gap.relink`) over the pool these searches filled,
on the pairs that can still improve: the knapsack relaxation at the ascent's best
multipliers fixes the others (:func:`~solver.allocation.gap.probing.knapsack_fixing`,
Lagrangian probing against the pool's best), and the elite search runs on the rest with the
pool's assignments that lie within them. When nothing is fixed it runs on the whole problem,
as before; when one pair per job is left, the pool's best is proven optimal and the bound
says so. Its work is counted as what its scans cost (:mod:`~solver.allocation.gap.tabu`:
the moves evaluated and the swap partners looked at, which on the fixed pairs are only
those allowed), so it gets the work left and is charged what it did. Until 5 Dec 2026 the
work was the moves evaluated alone, which fall with the share ``s`` of the pairs kept much
faster than the scan's time did: the search got ``2 s²`` times the work left and was charged
``1/(2 s²)`` times its work, and took 1.0-3.8 times the whole problem's time (4 Dec 2026).
On e10100 at 60 s this search is what reaches the optimum, 11,577
(11,579 before; :mod:`~solver.allocation.gap.probing`).

Measured on Chu–Beasley d05100–d20200, each search alone from the greedy solution with
1.5 × 10⁸ move evaluations (about 1.5–2 CPU seconds), seeds 0–1 (3 Dec 2026): mean gap to
the optimum 0.215–0.249 %, against 0.537–0.605 % for the elite search alone with the same
work and 0.50–0.54 % for these starts without the fixing (the tabu search on the whole
problem from each relaxation solution). 40 starts sharing 0.6 of the work, from 0.3 of the
ascent on, were the best of the settings tried (12–80 starts, 0.5–0.8 of the work, from
0.3–0.75, 0.1–0.2 of the work for the ascent: 0.23–0.30 %, within the seeds' scatter).

Determinism: the ascent's work is counted in DP cells and the searches' in move
evaluations; the starts and the seeds follow from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from solver.allocation.gap.budget import idle_rate
from solver.allocation.gap.knapsack import KnapsackBound, knapsack_bound
from solver.allocation.gap.probing import knapsack_fixing
from solver.allocation.gap.problem import AssignmentProblem
from solver.allocation.gap.relink import POOL, elite_search
from solver.allocation.gap.state import is_integral
from solver.allocation.gap.tabu import (
    TABU_COUNTERS,
    SearchBudget,
    TabuInstance,
    add_counters,
    tabu_search,
    to_pool,
)

__all__ = ["RelaxedResult", "relaxation_search"]

#: Share of the work (in move evaluations' worth of time) of the knapsack ascent.
BOUND_SHARE = 0.1
#: Tabu searches from the relaxation's solutions, and their share of the work.
STARTS = 40
START_SHARE = 0.6
#: The starts are taken from this share of the ascent on (its later, better multipliers).
FROM = 0.3
#: Relaxation solutions kept while the ascent runs (thinned to every other one past it).
KEEP = 1024


class _Collect:
    """The knapsack ascent's callback: keeps its solutions (thinned to at most ``KEEP``)."""

    def __init__(self) -> None:
        self.choices: list[tuple[np.ndarray, np.ndarray]] = []
        self.stride = 1
        self.calls = 0

    def __call__(self, choice: np.ndarray, picks: np.ndarray, cells: int) -> bool:
        self.calls += 1
        if self.calls % self.stride == 0:
            self.choices.append((choice.copy(), picks == 1))
            if len(self.choices) >= KEEP:
                del self.choices[::2]
                self.stride *= 2
        return True


@dataclass(frozen=True, eq=False)
class RelaxedResult:
    """What :func:`relaxation_search` found: the ``assignment`` and the knapsack ``bound``
    (``-inf`` when the ascent did not run)."""

    assignment: np.ndarray
    bound: float


@dataclass(frozen=True, eq=False)
class _Fixed:
    """The elite search's ground after the fixing (:func:`_fixed_instance`)."""

    instance: TabuInstance  # the pairs an assignment cheaper than the best can use
    pool: list[tuple[float, np.ndarray]]  # the elite assignments within them
    proven: bool  # one pair per job is left: the best assignment is optimal


def _fixed_instance(
    instance: TabuInstance,
    kb: KnapsackBound,
    pool: list[tuple[float, np.ndarray]],
    totals: dict[str, Any],
    cells_per_work: float,
) -> _Fixed | None:
    """The pairs an assignment cheaper than the pool's best can use, by the knapsack
    relaxation at the ascent's best multipliers (:func:`~solver.allocation.gap.probing.knapsack_fixing`,
    its DP cells booked to ``totals["tabu_work"]``); ``None`` when it does not apply or
    fixes nothing (the elite search then runs on the whole problem, as before)."""
    if kb.multipliers is None or not math.isfinite(kb.bound):
        return None
    problem, allowed = instance.problem, instance.allowed
    fixing = knapsack_fixing(
        problem, allowed, kb.multipliers, pool[0][1], integral_costs=is_integral(problem.cost)
    )
    if fixing is None:
        return None
    totals["tabu_work"] += int(fixing.cells / cells_per_work)
    kept, pairs = int(fixing.mask.sum()), int(allowed.sum())
    if kept == pairs:
        return None
    jobs = np.arange(problem.n_jobs)
    within = [(cost, x) for cost, x in pool if fixing.mask[x, jobs].all()]
    mask = np.ascontiguousarray(fixing.mask)
    return _Fixed(replace(instance, allowed=mask), within, kept == jobs.size)


def _fixed_search(
    instance: TabuInstance,
    start: np.ndarray,
    once: np.ndarray,
    budget: SearchBudget,
    stats: dict[str, Any],
    pool: list[tuple[float, np.ndarray]],
) -> None:
    """The tabu search from the relaxation's assignment ``start`` with every job the
    relaxation picked exactly once (``once``) fixed there: on the sub-problem of the other
    jobs, whose rows keep the capacity the fixed jobs leave. Its feasible assignments, made
    whole again, go to ``pool``."""
    problem = instance.problem
    free = np.flatnonzero(~once)
    fixed = np.flatnonzero(once)
    weight = problem.weight if problem.weight.shape[1] == 1 else problem.weight[:, free]
    used = problem.row_usage_of(start, fixed)
    sub = AssignmentProblem(
        cost=problem.cost[:, free],
        weight=weight,
        row_of=problem.row_of,
        capacity=np.maximum(problem.capacity - used, 0.0),
    )
    found: list[tuple[float, np.ndarray]] = []
    part = TabuInstance(sub, np.ascontiguousarray(instance.allowed[:, free]), instance.prices)
    tabu_search(part, start[free], budget, stats, pool=found, pool_size=POOL)
    whole = np.tile(start, (len(found), 1))
    costs = np.full(len(found), np.inf)
    for e, (_, assignment) in enumerate(found):
        whole[e, free] = assignment
        if problem.is_feasible(whole[e]):
            costs[e] = problem.objective(whole[e])
    to_pool(pool, POOL, whole, costs)


def relaxation_search(
    instance: TabuInstance, start: np.ndarray, budget: SearchBudget, stats: dict[str, Any]
) -> RelaxedResult:
    """Improve the feasible ``start``: the knapsack ascent, tabu searches from its solutions,
    then the elite search (module docstring). ``budget.work`` is in move evaluations (the
    ascent's DP cells are converted at the rates of :mod:`~solver.allocation.gap.budget`);
    ``stats`` gets the searches' counters (``tabu_work`` is all the work, the ascent's
    included) and ``relaxed_*``. Returns the best feasible assignment found (``start`` when
    nothing better) and the ascent's bound."""
    problem, allowed = instance.problem, instance.allowed
    start_cost = problem.objective(start)
    cells_per_work = idle_rate("knapsack bound") / idle_rate("tabu search")
    collect = _Collect()
    kb = knapsack_bound(
        problem,
        allowed,
        instance.prices,
        upper_bound=start_cost,
        max_cells=int(BOUND_SHARE * budget.work * cells_per_work),
        deadline=budget.deadline,
        on_choice=collect,
    )
    spent = int(kb.cells / cells_per_work)
    totals: dict[str, Any] = dict.fromkeys(TABU_COUNTERS, 0)
    totals["tabu_work"] = spent
    pool: list[tuple[float, np.ndarray]] = [(start_cost, start.copy())]
    choices = collect.choices[int(FROM * len(collect.choices)) :]
    wall_stop = False
    if choices and math.isfinite(kb.bound):
        cheapest = np.where(
            allowed, problem.reduced_costs(instance.prices, np.zeros(0)), np.inf
        ).argmin(axis=0)
        picked = np.unique(np.linspace(0, len(choices) - 1, STARTS).astype(np.int64))
        per_start = int(START_SHARE * budget.work) // picked.size
        for q, index in enumerate(picked):
            if pool[0][0] <= budget.target:
                break
            choice, once = choices[int(index)]
            part: dict[str, Any] = {}
            _fixed_search(
                instance,
                np.where(choice >= 0, choice, cheapest),
                once,
                replace(budget, work=per_start, seed=budget.seed + 101 + q),
                part,
                pool,
            )
            add_counters(totals, part)
            if part["tabu_wall_stop"]:
                wall_stop = True
                break
    best = pool[0][1]
    bound = kb.bound
    fixed = None
    rest = budget.work - int(totals["tabu_work"])
    if not wall_stop and rest > 0 and pool[0][0] > budget.target:
        fixed = _fixed_instance(instance, kb, pool, totals, cells_per_work)
        if fixed is not None and fixed.proven:
            bound = max(bound, pool[0][0])  # no cheaper assignment: the best is optimal
        else:
            part = {}
            search, elite = (instance, pool) if fixed is None else (fixed.instance, fixed.pool)
            rest = budget.work - int(totals["tabu_work"])
            best = elite_search(search, best, replace(budget, work=rest), part, pool=elite)
            add_counters(totals, part)
            wall_stop = bool(part["tabu_wall_stop"])
            totals["tabu_relinks"] = part["tabu_relinks"]
    stats.update(
        totals,
        tabu_wall_stop=wall_stop,
        relaxed_bound=kb.bound,
        relaxed_iterations=kb.iterations,
        relaxed_starts=len(choices),
        relaxed_fixed_pairs=int(fixed.instance.allowed.sum()) if fixed is not None else -1,
    )
    if problem.objective(best) < start_cost and problem.is_feasible(best):
        return RelaxedResult(best, bound)
    return RelaxedResult(start, bound)
