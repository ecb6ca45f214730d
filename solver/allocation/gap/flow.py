"""Assignment problems that are transportation problems, solved exactly by min-cost flow.

When every option of a capacity row uses the same amount of it for every job (the
allocation's teams: a treatment takes a fixed number of minutes) and there are no global
rows, a row of capacity ``b`` and unit use ``w`` can take at most ``⌊b / w⌋`` jobs, and the
assignment problem is a transportation problem: jobs (supply 1 each) → rows (at most
``⌊b / w⌋`` jobs) or the uncapacitated options, the cost of a job–row arc being the job's
cheapest option on that row. Its constraint matrix is totally unimodular, so a min-cost
flow (OR-Tools' ``SimpleMinCostFlow``, integer costs) gives an optimal assignment of the
integer problem itself: a certified optimum, not only a bound. (The LP relaxation of the
original rows is weaker: it can fill the fractional part of ``b / w``.)

Costs are scaled to integers by :func:`~solver.allocation.gap.problem.decimal_scale`; when
that is not exact the flow's optimum, less the worst rounding, is the bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from solver.allocation.gap.problem import AssignmentProblem, decimal_scale

__all__ = ["TransportResult", "row_slots", "solve_transport", "unit_flow"]


@dataclass(frozen=True, eq=False)
class TransportResult:
    """An optimal assignment of a transportation-shaped problem.

    Attributes
    ----------
    assignment
        Option per job (``None`` when the rows cannot take every job).
    bound
        Proven lower bound on the minimum (the optimum when :attr:`exact`).
    exact
        Whether the costs were integral after scaling, so ``assignment`` is optimal.
    arcs
        Arcs of the flow network.
    """

    assignment: np.ndarray | None
    bound: float
    exact: bool
    arcs: int


def row_slots(problem: AssignmentProblem, allowed: np.ndarray) -> np.ndarray | None:
    """Jobs each own row can take, ``⌊b / w⌋``, when the problem is a transportation
    problem (every allowed pair of a row uses the same positive amount of it, no global
    rows); ``None`` otherwise. Options of zero use count as uncapacitated."""
    if problem.global_capacity.size:
        return None
    k, n = problem.cost.shape
    r = problem.capacity.size
    unit = np.full(r, np.nan)
    for o in range(k):
        row = int(problem.row_of[o])
        if row < 0:
            continue
        col = problem.weight[o] if problem.weight.shape[1] > 1 else problem.weight[o, :1]
        mask = allowed[o] if problem.weight.shape[1] > 1 else allowed[o].any(keepdims=True)
        w = col[mask]
        w = w[w > 0]
        if w.size == 0:
            continue
        if w.min() != w.max() or (not math.isnan(unit[row]) and unit[row] != w[0]):
            return None
        unit[row] = w[0]
    slots = np.full(r, n, dtype=np.int64)
    has = ~np.isnan(unit)
    slots[has] = np.minimum(np.floor(problem.capacity[has] / unit[has] + 1e-9).astype(np.int64), n)
    return slots


def solve_transport(
    problem: AssignmentProblem, allowed: np.ndarray, slots: np.ndarray
) -> TransportResult:
    """Min-cost flow of the transportation form (see :func:`row_slots`)."""
    k, n = problem.cost.shape
    r = problem.capacity.size
    w_opt = problem.weight.max(axis=1)
    node_of = np.where((problem.row_of >= 0) & (w_opt > 0), problem.row_of, r)  # r: free
    cost = np.where(allowed, problem.cost, np.inf)
    # each job's cheapest option per node (options of a row use it alike)
    node_cost = np.full((r + 1, n), np.inf)
    node_opt = np.full((r + 1, n), -1, dtype=np.int64)
    for o in range(k):
        better = cost[o] < node_cost[node_of[o]]
        node_cost[node_of[o]] = np.where(better, cost[o], node_cost[node_of[o]])
        node_opt[node_of[o]] = np.where(better, o, node_opt[node_of[o]])
    node, job = np.nonzero(np.isfinite(node_cost))
    values = node_cost[node, job]
    scale, exact = decimal_scale(values)
    unit_cost = np.round(values * scale).astype(np.int64)
    used, total = unit_flow(job, node, unit_cost, n, np.r_[slots, n].astype(np.int64))
    if used is None:
        return TransportResult(None, math.inf, exact, int(job.size))
    assignment = np.empty(n, dtype=np.int64)
    assignment[job[used]] = node_opt[node[used], job[used]]
    rounding = 0.0 if exact else 0.5 * n / scale
    bound = total / scale - rounding
    return TransportResult(assignment, bound, exact, int(job.size))


def unit_flow(
    job: np.ndarray, node: np.ndarray, unit_cost: np.ndarray, jobs: int, capacity: np.ndarray
) -> tuple[np.ndarray | None, int]:
    """Min-cost flow of a transportation network: ``jobs`` sources of one unit each, arcs
    ``job[i] → node[i]`` of capacity one and integer cost ``unit_cost[i]``, and each node
    taking at most ``capacity[node]`` units (OR-Tools' ``SimpleMinCostFlow``). Returns the
    arcs used (``None`` when the units cannot all be placed) and the optimal cost."""
    from ortools.graph.python import min_cost_flow  # noqa: PLC0415  (OR-Tools is slow to import)

    nodes = capacity.size
    flow = min_cost_flow.SimpleMinCostFlow()
    # network nodes: jobs 0..jobs-1, the nodes jobs..jobs+nodes-1, the sink jobs+nodes
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        job.astype(np.int32),
        (jobs + node).astype(np.int32),
        np.ones(job.size, dtype=np.int64),
        unit_cost,
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        np.arange(jobs, jobs + nodes, dtype=np.int32),
        np.full(nodes, jobs + nodes, dtype=np.int32),
        np.minimum(capacity, jobs).astype(np.int64),
        np.zeros(nodes, dtype=np.int64),
    )
    flow.set_nodes_supplies(
        np.arange(jobs + nodes + 1, dtype=np.int32),
        np.r_[np.ones(jobs, dtype=np.int64), np.zeros(nodes, dtype=np.int64), -jobs],
    )
    if flow.solve() != flow.OPTIMAL:
        return None, 0
    return flow.flows(arcs) > 0, int(flow.optimal_cost())
