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
(:func:`node_table`), the costs as scaled integers (:func:`scaled_costs`), the bound's
rounding allowance (:func:`rounding_allowance`), and the dual: node prices that prove an
assignment optimal (:func:`node_prices`) and their dual value (:func:`slot_lagrangian`).
This flow reports its least such prices with its assignment (``TransportResult.node_prices``:
the shadow prices of the full-flow path, :mod:`~solver.allocation.gap.prices`). The compiled kernels compile (or load
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
    "node_prices",
    "node_table",
    "option_nodes",
    "rounding_allowance",
    "row_slots",
    "row_units",
    "scaled_costs",
    "slot_lagrangian",
    "solve_transport",
    "tightest",
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
    node_prices
        The least node prices that prove the assignment optimal (:func:`node_prices`; cost
        per job on the node, index ``R`` the uncapacitated node), ``None`` without one.
    price_bound
        Their dual value in the slot form (:func:`slot_lagrangian`, less the rounding
        allowance): :attr:`bound` itself, computed from the prices as their certificate.
    """

    assignment: np.ndarray | None
    bound: float
    exact: bool
    arcs: int
    node_prices: np.ndarray | None = None
    price_bound: float = -math.inf


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


@njit(cache=True)
def tightest(
    cost: np.ndarray, x: np.ndarray, keep: np.ndarray, use_keep: bool, big: int
) -> np.ndarray:
    """``W_ab = min over jobs j on node a (and pairs kept, with ``use_keep``) of
    ``c_bj − c_aj``: the tightest difference constraint ``μ_a − μ_b ≤ W_ab``."""
    n, r1 = cost.shape
    w = np.full((r1, r1), big, dtype=np.int64)
    for j in range(n):
        a = x[j]
        ca = cost[j, a]
        for b in range(r1):
            if b == a or cost[j, b] >= FORBIDDEN or (use_keep and not keep[j, b]):
                continue
            d = cost[j, b] - ca
            if d < w[a, b]:
                w[a, b] = d
    return w


@njit(cache=True)
def slot_lagrangian(cost: np.ndarray, mu: np.ndarray, slots: np.ndarray) -> int:
    """``L(μ) = Σ_j min_b (c_bj + μ_b) − Σ_r μ_r slots_r`` in scaled integer units: the dual
    value of node prices ``μ ≥ 0`` in the slot form, a lower bound on every assignment."""
    n, r1 = cost.shape
    total = 0
    for j in range(n):
        best = FORBIDDEN
        for b in range(r1):
            if cost[j, b] < FORBIDDEN and cost[j, b] + mu[b] < best:
                best = cost[j, b] + mu[b]
        total += best
    for r in range(r1 - 1):
        total -= mu[r] * slots[r]
    return total


def node_prices(
    cost: np.ndarray,
    x: np.ndarray,
    full: np.ndarray,
    keep: np.ndarray | None = None,
    start: np.ndarray | None = None,
) -> np.ndarray | None:
    """Node prices ``μ`` (integer, scaled units) that make ``x`` (each job's node) optimal --
    over every pair, or over the ``keep`` pairs only -- or ``None`` (a negative cycle: no
    such prices).

    They are the slot form's LP duals (complementary slackness with ``x``): difference
    constraints ``μ_a − μ_b ≤ W_ab`` (:func:`tightest`); ``μ_r ≥ 0`` (``μ_R − μ_r ≤ 0``) and
    ``μ_r ≤ 0`` on rows with a free slot (``full`` false); ``μ_R = 0``. Their solutions are
    closed under the element-wise minimum and maximum, so Bellman–Ford picks one:

    * with ``start`` (the core flow: the Lagrangian prices, ``start_R = 0``), the largest
      prices below ``start``, shifted to ``μ_R = 0``: near the Lagrangian ones, which price
      the pairs outside a core sensibly;
    * without (the full flow), the least prices: each row's is what one more slot of it
      saves (the shadow price of one more job's capacity, whatever the time limit), found as
      the largest ``ν ≤ 0`` of the reversed constraints ``ν_b − ν_a ≤ W_ab`` (``ν = −μ``;
      any solution shifted to ``μ_R = 0`` is ``≥ 0``, so ``ν_R`` stays 0).
    """
    r1 = cost.shape[1]
    big = np.iinfo(np.int64).max // 4
    mask = np.zeros((1, 1), dtype=bool) if keep is None else keep
    w = tightest(cost, x, mask, keep is not None, big)
    free = r1 - 1
    for r in range(r1 - 1):
        w[free, r] = min(w[free, r], 0)  # μ_free − μ_r ≤ 0: μ_r ≥ 0
        if not full[r]:
            w[r, free] = min(w[r, free], 0)  # μ_r − μ_free ≤ 0: no price on a row with room
    np.fill_diagonal(w, big)
    if start is None:
        w, dist = w.T.copy(), np.zeros(r1, dtype=np.int64)
    else:
        dist = start.astype(np.int64).copy()
        dist[free] = 0
    for _ in range(r1 + 1):
        new = np.minimum(dist, (dist[None, :] + w).min(axis=1))  # dist[a] ≤ dist[b] + W_ab
        if np.array_equal(new, dist):
            return dist - dist[free] if start is not None else dist[free] - dist
        dist = new
    return None


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
    allowance = rounding_allowance(n, scale, exact)
    # the shadow prices: the flow's node prices, certified by their own dual value (prices.py)
    x = np.empty(n, dtype=np.int64)
    x[job[used]] = node[used]
    slots = np.asarray(slots, dtype=np.int64)
    mu = node_prices(cost, x, np.bincount(x, minlength=r + 1)[:r] >= slots)
    value = -math.inf if mu is None else slot_lagrangian(cost, mu, slots) / scale - allowance
    return TransportResult(
        assignment,
        total / scale - allowance,
        exact,
        int(job.size),
        None if mu is None else mu / scale,
        value,
    )


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
