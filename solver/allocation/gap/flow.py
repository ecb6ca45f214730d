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

The pieces both flows use are defined here once, and
:mod:`~solver.allocation.gap.coreflow` (the flow on a priced core, for problems too large
for this network) imports them: the node of each option (:func:`option_nodes`), each
row's use per job (:func:`row_units`), each job's cheapest option per node
(:func:`node_table`), the costs as scaled integers (:func:`scaled_costs`) and the bound's
rounding allowance (:func:`rounding_allowance`). The two compiled kernels compile (or load
from numba's on-disk cache) in the warm-up (:func:`solver.allocation.gap.warmup.warm`, through
the core flow), before a solve's clock starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from solver.allocation.gap.problem import AssignmentProblem, decimal_scale

__all__ = [
    "FORBIDDEN",
    "TransportResult",
    "node_table",
    "option_nodes",
    "rounding_allowance",
    "row_slots",
    "row_units",
    "scaled_costs",
    "solve_transport",
    "unit_flow",
    "unit_slots",
]

#: Cost of a forbidden job–node pair, in scaled integer units (far above any cost, far
#: below int64 overflow when a few are added).
FORBIDDEN = 2**60


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


def row_units(problem: AssignmentProblem, allowed: np.ndarray) -> np.ndarray | None:
    """Each own row's use per job (NaN for a row no allowed pair uses) when the problem is
    transportation-shaped (every allowed pair of a row uses the same positive amount of it,
    no global rows); ``None`` otherwise. Options of zero use count as uncapacitated."""
    if problem.global_capacity.size:
        return None
    unit = np.full(problem.capacity.size, np.nan)
    for o in range(problem.cost.shape[0]):
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
    return unit


def row_slots(problem: AssignmentProblem, allowed: np.ndarray) -> np.ndarray | None:
    """Jobs each own row can take, ``⌊b / w⌋``, when the problem is a transportation
    problem (:func:`row_units`); ``None`` otherwise."""
    unit = row_units(problem, allowed)
    return None if unit is None else unit_slots(problem, unit)


def unit_slots(problem: AssignmentProblem, unit: np.ndarray) -> np.ndarray:
    """Jobs each own row can take, ``⌊b / w⌋``, from the rows' units (:func:`row_units`;
    ``n`` for a row no allowed pair uses)."""
    n = problem.cost.shape[1]
    slots = np.full(unit.size, n, dtype=np.int64)
    has = ~np.isnan(unit)
    slots[has] = np.minimum(np.floor(problem.capacity[has] / unit[has] + 1e-9).astype(np.int64), n)
    return slots


def option_nodes(problem: AssignmentProblem) -> np.ndarray:
    """The node of each option: its own row, or ``R`` (the uncapacitated node) for an
    option without a row or of zero use."""
    r = problem.capacity.size
    w_opt = problem.weight.max(axis=1)
    return np.where((problem.row_of >= 0) & (w_opt > 0), problem.row_of, r).astype(np.int64)


@njit(cache=True)
def node_table(
    cost: np.ndarray, allowed: np.ndarray, node_of: np.ndarray, r1: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each job's cheapest allowed cost and option per node (the first option of the least
    cost), job-major ``n × (R + 1)`` (``inf`` / ``-1`` where none). The options of a node
    use it alike (transportation-shaped), so only the cheapest matters."""
    k, n = cost.shape
    node_cost = np.full((n, r1), np.inf)
    node_opt = np.full((n, r1), -1, dtype=np.int32)
    for o in range(k):
        b = node_of[o]
        for j in range(n):
            if allowed[o, j] and cost[o, j] < node_cost[j, b]:
                node_cost[j, b] = cost[o, j]
                node_opt[j, b] = o
    return node_cost, node_opt


@njit(cache=True)
def _to_int(node_cost: np.ndarray, scale: float) -> tuple[np.ndarray, bool]:
    """Costs times ``scale`` as integers (``FORBIDDEN`` where not finite), and whether that
    was exact (every value integral within 1e-6, as ``decimal_scale`` checks)."""
    n, r1 = node_cost.shape
    out = np.empty((n, r1), dtype=np.int64)
    exact = True
    for j in range(n):
        for b in range(r1):
            v = node_cost[j, b]
            if math.isfinite(v):
                sv = v * scale
                rv = np.round(sv)
                if abs(sv - rv) > 1e-6 * max(1.0, abs(sv)):
                    exact = False
                out[j, b] = np.int64(rv)
            else:
                out[j, b] = FORBIDDEN
    return out, exact


def scaled_costs(node_cost: np.ndarray, sample: np.ndarray) -> tuple[np.ndarray, int, bool]:
    """A node table's costs as integers in units of ``1 / scale`` (``FORBIDDEN`` where not
    finite), the scale (:func:`~solver.allocation.gap.problem.decimal_scale` of ``sample``,
    a part of the costs or all of them) and whether every cost is integral at it."""
    scale, exact = decimal_scale(sample)
    cost, exact_all = _to_int(node_cost, float(scale))
    return cost, scale, exact and exact_all


def rounding_allowance(jobs: int, scale: int, exact: bool) -> float:
    """What the bound of a flow on costs rounded to ``1 / scale`` subtracts: half a unit
    per job (the worst rounding of the ``jobs`` costs of an assignment), 0 when exact."""
    return 0.0 if exact else 0.5 * jobs / scale


def solve_transport(
    problem: AssignmentProblem, allowed: np.ndarray, slots: np.ndarray
) -> TransportResult:
    """Min-cost flow of the transportation form (see :func:`row_slots`)."""
    n = problem.cost.shape[1]
    r = problem.capacity.size
    node_cost, node_opt = node_table(
        np.ascontiguousarray(problem.cost),
        np.ascontiguousarray(allowed),
        option_nodes(problem),
        r + 1,
    )
    # the arcs node by node (the order of the flow's network), each job's cheapest option
    # per node (options of a row use it alike)
    node, job = np.nonzero(np.isfinite(node_cost.T))
    cost, scale, exact = scaled_costs(node_cost, node_cost)
    used, total = unit_flow(job, node, cost[job, node], n, np.r_[slots, n].astype(np.int64))
    if used is None:
        return TransportResult(None, math.inf, exact, int(job.size))
    assignment = np.empty(n, dtype=np.int64)
    assignment[job[used]] = node_opt[job[used], node[used]]
    bound = total / scale - rounding_allowance(n, scale, exact)
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
