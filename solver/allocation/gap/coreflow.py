"""Large transportation problems: min-cost flow on a priced core, proven by its dual.

A transportation-shaped assignment problem (:func:`~solver.allocation.gap.flow.row_slots`:
every option of a row uses the same amount of it, no global rows) has only ``R + 1`` *nodes*
a job can go to — its ``R`` rows (at most ``slots_r`` jobs each) and the uncapacitated
options — whatever the number of jobs. Its linear relaxation is integral, and its dual has
one price ``μ`` per node. That makes a book of a million accounts solvable exactly without a
flow network of a million × ``R`` arcs (:data:`~solver.allocation.gap.solve.FLOW_MAX_ARCS`):

1. **Core.** With prices ``μ`` from the Lagrangian dual, each job's nodes are ranked by
   reduced cost ``c_bj + μ_b``. The ``CORE_JOBS`` jobs of smallest regret (second best less
   best) form the core and keep their nodes within ``δ`` of their best (``δ``: the largest
   of those regrets; at most ``CORE_NODES_PER_JOB`` nodes, and the uncapacitated node, so
   the core is feasible); every other job is *fixed* to its best node (it only takes one of
   its slots). Per row, the ``ROW_CANDIDATES`` jobs per slot for which the row is cheapest
   relative to their best join too, so that a row whose price is off can still fill. A row
   whose fixed jobs overfill it frees them (they join the core with their two best nodes).
2. **Exact flow on the core**, by :func:`~solver.allocation.gap.flow.solve_transport`'s
   network (OR-Tools' ``SimpleMinCostFlow``): an assignment of the whole problem.
3. **Dual and certificate.** The assignment ``x`` is optimal for the whole problem exactly
   when node prices ``μ`` exist with ``μ ≥ 0``, ``μ_b = 0`` on rows with a free slot and
   ``c_aj + μ_a ≤ c_bj + μ_b`` for every job ``j`` on node ``a`` and every node ``b`` it may
   use (complementary slackness). These are difference constraints on ``R + 1`` values:
   Bellman–Ford on the ``(R + 1)²`` tightest ones (each the minimum over the jobs of a node,
   one vectorised pass) finds such ``μ`` or a negative cycle. Whatever ``μ ≥ 0`` it ends
   with, the Lagrangian value

       ``L(μ) = Σ_j min_b (c_bj + μ_b) − Σ_r μ_r · slots_r``

   is a proven lower bound (weak duality for the slot form, whose integer solutions include
   every feasible assignment), and it equals the objective when the constraints hold.
4. **Column generation.** When they do not (the core missed a better move), ``μ`` is taken
   from the core's own constraints (feasible: the core's flow is optimal for the core), the
   pairs that price out under it (``c_bj + μ_b < c_aj + μ_a``) join the core, and the flow
   is solved again, at most ``CORE_ROUNDS`` times.

Everything runs on costs scaled to integers (:func:`~solver.allocation.gap.problem.decimal_scale`),
so the certificate is exact when the scaling is (the allocation's cents); otherwise the bound
subtracts the worst rounding, as the full flow does. The node table, the scaling, the
rounding allowance and the rows' units are the full flow's (:mod:`~solver.allocation.gap.flow`).
Deterministic: no clock decides anything here (the caller checks that the work fits the time
left) except the deadline between rounds (``stats["core_clock_stop"]``).

Warm-up (first use, not import): :func:`solver.allocation.gap.warmup.warm` compiles or
loads the kernels of both flows (numba; a cold cache takes several seconds) and imports
OR-Tools by a tiny solve of this one, once per process, before the solver's clock starts;
importing the solver runs no solve.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from solver.allocation.gap.flow import FORBIDDEN as _FORBIDDEN
from solver.allocation.gap.flow import (
    node_prices,
    node_table,
    option_nodes,
    rounding_allowance,
    row_units,
    scaled_costs,
    slot_lagrangian,
    unit_flow,
)
from solver.allocation.gap.problem import AssignmentProblem

__all__ = ["CoreFlowResult", "core_flow_seconds", "solve_core_flow", "warm_pricing"]

#: Jobs left in the core (not fixed to their best node) in the first round.
CORE_JOBS = 150_000
#: Nodes kept per core job (its best ones within the threshold; the uncapacitated node too).
CORE_NODES_PER_JOB = 4
#: Candidates per row added to the core (per slot of the row, within [min, max]): a row whose
#: Lagrangian price is off still has jobs to fill it.
ROW_CANDIDATES = 2
ROW_CANDIDATES_MIN = 100
ROW_CANDIDATES_MAX = 5_000
#: Rounds of column generation (flow on the core, dual, pricing).
CORE_ROUNDS = 6
#: Rounds the work estimate counts on (measured 3 and 4 at 200,000 and 1,000,000 accounts
#: from a converged sample dual; 12 and not converged from a 50-iteration one, see
#: :data:`solver.allocation.gap.dual_phase.CORE_SAMPLE_SHARE`).
CORE_ROUNDS_EXPECTED = 4
#: Job–node cells per second of the compiled and vectorised passes (an estimate for the usual
#: load of 3–5). The set-up passes over the ``K × n`` option table and the ``n × (R + 1)``
#: node table count ``SETUP_PASSES`` passes of the latter, a round of column generation
#: ``ROUND_PASSES`` (the dual's two scans, the Lagrangian, the pricing, the core's mask).
CORE_CELLS_PER_SECOND = 2.0e8
SETUP_PASSES = 6
ROUND_PASSES = 6
#: Arcs per core job of a round's network (measured 2.6-3.0), and arcs of the core's
#: min-cost flow solved per second: a core network is harder than the full flow's
#: (:data:`~solver.allocation.gap.budget.FLOW_ARCS_PER_SECOND`): 1,000,000 accounts,
#: 400,000-450,000 arcs in 1.5-2.2 s at load 4-7, 3 Dec 2026.
CORE_ARCS_PER_JOB = 3
CORE_ARCS_PER_SECOND = 2.5e5


@dataclass(frozen=True, eq=False)
class CoreFlowResult:
    """The outcome of :func:`solve_core_flow`.

    Attributes
    ----------
    assignment
        Option per job (``None`` when the core's flow found none).
    bound
        Proven lower bound on the minimum (``L(μ)`` of the best prices met).
    optimal
        Whether the bound proves the assignment optimal.
    node_prices
        The prices ``μ`` (cost per job on the node; index ``R``: the uncapacitated node).
    stats
        Rounds, core jobs and network arcs per round.
    """

    assignment: np.ndarray | None
    bound: float
    optimal: bool
    node_prices: np.ndarray
    stats: dict = field(default_factory=dict)


def core_flow_seconds(
    options: int, jobs: int, rows: int, rounds: int = CORE_ROUNDS_EXPECTED
) -> float:
    """The work of :func:`solve_core_flow` with ``rounds`` rounds of column generation, in
    seconds of the project machine at its usual load, from the problem's size (never
    timed): the set-up passes over the job–option and job–node tables, and per round its
    passes over the node table and a flow on a core of ``CORE_ARCS_PER_JOB`` arcs per core
    job."""
    table = (rows + 1) * jobs
    setup = (options * jobs + SETUP_PASSES * table) / CORE_CELLS_PER_SECOND
    per_round = (
        ROUND_PASSES * table / CORE_CELLS_PER_SECOND
        + CORE_ARCS_PER_JOB * min(jobs, CORE_JOBS) / CORE_ARCS_PER_SECOND
    )
    return setup + max(1, rounds) * per_round


@njit(cache=True)
def _ranked(cost: np.ndarray, mu: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
    """Per job, its ``top`` nodes of smallest reduced cost ``c_bj + μ_b`` (ascending) and those
    reduced costs (``_FORBIDDEN`` padding)."""
    n, r1 = cost.shape
    order = np.full((n, top), -1, dtype=np.int64)
    value = np.full((n, top), _FORBIDDEN, dtype=np.int64)
    for j in range(n):
        for b in range(r1):
            if cost[j, b] >= _FORBIDDEN:
                continue
            v = cost[j, b] + mu[b]
            if v >= value[j, top - 1]:
                continue
            q = top - 1
            while q > 0 and value[j, q - 1] > v:
                value[j, q] = value[j, q - 1]
                order[j, q] = order[j, q - 1]
                q -= 1
            value[j, q] = v
            order[j, q] = b
    return order, value


@njit(cache=True)
def _reduced(c: int, mu_b: int, base_j: int) -> int:
    """A pair's reduced cost above the job's ``base``, ``c_bj + μ_b − base_j``
    (``_FORBIDDEN`` for a forbidden pair: it never prices out, and no row takes it)."""
    return _FORBIDDEN if c >= _FORBIDDEN else c + mu_b - base_j


@njit(cache=True)
def _rise(cost: np.ndarray, mu: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Row-major ``(R + 1) × n``: :func:`_reduced` of every pair."""
    n, r1 = cost.shape
    out = np.empty((r1, n), dtype=np.int64)
    for j in range(n):
        for b in range(r1):
            out[b, j] = _reduced(cost[j, b], mu[b], base[j])
    return out


@njit(cache=True)
def _price_pass(
    cost: np.ndarray,
    mu: np.ndarray,
    here: np.ndarray,
    fill: np.ndarray,
    jobs: np.ndarray,
    rise: np.ndarray,
    write: bool,
) -> None:
    """One pass over the pairs that price out, :func:`_reduced` ``c_bj + μ_b − here_j < 0`` on
    a capacitated node ``b``: each advances ``fill[b]``, and with ``write`` is first stored at
    ``jobs[fill[b]]`` (the job) and ``rise[fill[b]]`` (its value)."""
    n, r1 = cost.shape
    for j in range(n):
        for b in range(r1 - 1):
            v = _reduced(cost[j, b], mu[b], here[j])
            if v < 0:
                if write:
                    jobs[fill[b]] = j
                    rise[fill[b]] = v
                fill[b] += 1


def _priced_out(
    cost: np.ndarray, mu: np.ndarray, here: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs that price out (:func:`_price_pass`) grouped by node: the jobs of node ``b``
    are ``jobs[start[b]:start[b + 1]]``, with their values in ``rise`` (a counting pass, then
    a filling one; the ``(R + 1) × n`` table of :func:`_rise` is not built)."""
    count = np.zeros(cost.shape[1], dtype=np.int64)
    none = np.empty(0, dtype=np.int64)
    _price_pass(cost, mu, here, count, none, none, False)
    start = np.r_[0, np.cumsum(count)].astype(np.int64)
    jobs = np.empty(start[-1], dtype=np.int64)
    rise = np.empty(start[-1], dtype=np.int64)
    _price_pass(cost, mu, here, start[:-1].copy(), jobs, rise, True)
    return start, jobs, rise


def warm_pricing() -> None:
    """Compile (or load) :func:`_price_pass` (called by
    :func:`solver.allocation.gap.warmup.warm`, once per process: its tiny core flow is
    optimal in its first round and never prices columns)."""
    _priced_out(
        np.zeros((1, 2), dtype=np.int64), np.zeros(2, dtype=np.int64), np.ones(1, dtype=np.int64)
    )


def solve_core_flow(
    problem: AssignmentProblem,
    allowed: np.ndarray,
    slots: np.ndarray,
    prices: np.ndarray,
    *,
    units: np.ndarray | None = None,
    core_jobs: int = CORE_JOBS,
    rounds: int = CORE_ROUNDS,
    deadline: float = math.inf,
) -> CoreFlowResult:
    """Solve a transportation-shaped problem (:func:`~solver.allocation.gap.flow.row_slots`
    gives ``slots``) by min-cost flow on a priced core (see the module). ``prices`` are the
    rows' Lagrangian prices per unit of row use; ``units`` the rows' units
    (:func:`~solver.allocation.gap.flow.row_units`, computed here when not given). A round of column generation starts only
    when the time the last one took is left before ``deadline`` (``stats["core_clock_stop"]``
    says when the clock ended the rounds: a rerun may then differ)."""
    n = problem.cost.shape[1]
    r = problem.capacity.size
    if units is None:
        units = row_units(problem, allowed)
    if units is None:
        raise ValueError("solve_core_flow needs a transportation-shaped problem (row_slots)")
    unit = np.nan_to_num(units, nan=0.0)
    node_cost, node_opt = node_table(
        np.ascontiguousarray(problem.cost),
        np.ascontiguousarray(allowed),
        option_nodes(problem),
        r + 1,
    )
    # the scale from a sample of the jobs (every job's costs are checked at it all the same)
    cost, scale, exact = scaled_costs(node_cost, node_cost[:: max(1, n // 20_000)])
    del node_cost
    slots = np.asarray(slots, dtype=np.int64)
    start = np.r_[np.round(np.maximum(prices, 0.0) * unit * scale), 0.0].astype(np.int64)
    keep = _core(cost, start, slots, core_jobs)
    stats: dict = {
        "core_rounds": 0,
        "core_jobs": [],
        "core_arcs": [],
        "core_round_objectives": [],
        "core_round_bounds": [],
    }
    # the start prices' own Lagrangian value is a bound already (weak duality holds for any
    # μ ≥ 0): a run the clock cuts after a round or two keeps it, not only the core's
    best_bound, best_mu = slot_lagrangian(cost, start, slots), start
    jobs = np.arange(n)
    x = None
    optimal = False
    stats["core_clock_stop"] = False
    last = 0.0
    for _ in range(max(1, rounds)):
        # the longest round so far must fit (a later round's core is larger)
        if stats["core_rounds"] and time.perf_counter() + last > deadline:
            stats["core_clock_stop"] = True
            break
        began = time.perf_counter()
        stats["core_rounds"] += 1
        x, core, arcs = _flow_on(cost, keep, slots)
        stats["core_jobs"].append(core)
        stats["core_arcs"].append(arcs)
        if x is None:
            break
        full = np.bincount(x, minlength=r + 1)[:r] >= slots
        mu = node_prices(cost, x, full, None, start)
        if mu is not None:  # x is optimal: these prices prove it
            best_mu, best_bound, optimal = mu, slot_lagrangian(cost, mu, slots), True
            break
        mu = node_prices(cost, x, full, keep, start)
        if mu is None:  # cannot happen for an optimal core flow: stop with the bound as is
            break
        value = slot_lagrangian(cost, mu, slots)
        stats["core_round_objectives"].append(int(cost[jobs, x].sum()) / scale)
        stats["core_round_bounds"].append(value / scale)
        if value > best_bound:
            best_bound, best_mu = value, mu
        # pairs that price out under the core's prices join the core: per row, the jobs
        # that gain most by it, so that a row the core left empty fills
        here = cost[jobs, x] + mu[x]
        if not _add_priced_out(keep, cost, mu, here, slots):
            break
        last = max(last, time.perf_counter() - began)
    stats["row_units"] = unit
    if x is None:
        return CoreFlowResult(None, best_bound / scale, False, best_mu / scale, stats)
    objective_int = int(cost[jobs, x].sum())
    optimal = optimal and exact and best_bound >= objective_int
    stats["core_scale"] = scale
    return CoreFlowResult(
        node_opt[jobs, x].astype(np.int64),
        best_bound / scale - rounding_allowance(n, scale, exact),
        optimal,
        best_mu / scale,
        stats,
    )


def _core(cost: np.ndarray, mu: np.ndarray, slots: np.ndarray, core_jobs: int) -> np.ndarray:
    """The first core: job-major ``n × (R + 1)`` mask of the pairs kept (module, step 1)."""
    n, r1 = cost.shape
    jobs = np.arange(n)
    top = min(CORE_NODES_PER_JOB, r1)
    order, ranked = _ranked(cost, mu, top)
    regret = ranked[:, 1] - ranked[:, 0] if top > 1 else np.full(n, _FORBIDDEN)
    # the core_jobs jobs of smallest regret (exactly so many: ties do not grow the core)
    chosen = np.argpartition(regret, core_jobs - 1)[:core_jobs] if n > core_jobs else jobs
    delta = regret[chosen].max()
    keep = np.zeros((n, r1), dtype=bool)
    keep[jobs, order[:, 0]] = True
    within = (ranked[chosen] - ranked[chosen, :1] <= delta) & (order[chosen] >= 0)
    rows, cols = np.nonzero(within)
    keep[chosen[rows], order[chosen[rows], cols]] = True
    _row_candidates(keep, _rise(cost, mu, ranked[:, 0]), slots)
    # a row its fixed jobs overfill frees them: they join the core with their two best nodes
    fixed = keep.sum(axis=1) == 1
    counts = np.bincount(order[fixed, 0], minlength=r1)[: r1 - 1]
    over = np.flatnonzero(counts > slots)
    if over.size and top > 1:
        freed = np.flatnonzero(fixed & np.isin(order[:, 0], over) & (order[:, 1] >= 0))
        keep[freed, order[freed, 1]] = True
    # a core job keeps the uncapacitated node too, so the core is feasible
    keep[:, r1 - 1] |= (cost[:, r1 - 1] < _FORBIDDEN) & (keep.sum(axis=1) > 1)
    return keep


def _row_take(slots: int, n: int) -> int:
    """Candidates a row of ``slots`` slots takes: ``ROW_CANDIDATES`` per slot within
    ``[ROW_CANDIDATES_MIN, ROW_CANDIDATES_MAX]``, at most ``n``."""
    return int(min(n, ROW_CANDIDATES_MAX, max(ROW_CANDIDATES_MIN, ROW_CANDIDATES * slots)))


def _keep_smallest(
    keep: np.ndarray, row: int, jobs: np.ndarray | None, rise: np.ndarray, take: int
) -> bool:
    """Mark in column ``row`` of ``keep`` the ``take`` candidates of smallest ``rise`` (all of
    them when there are no more), forbidden ones (``rise ≥ _FORBIDDEN // 2``) left out;
    candidate ``i`` is job ``jobs[i]`` (job ``i`` when ``jobs`` is ``None``). Returns whether
    any mark was new."""
    pick = np.argpartition(rise, take - 1)[:take] if take < rise.size else np.arange(rise.size)
    pick = pick[rise[pick] < _FORBIDDEN // 2]
    if jobs is not None:
        pick = jobs[pick]
    new = not bool(keep[pick, row].all())
    keep[pick, row] = True
    return new


def _row_candidates(keep: np.ndarray, rise: np.ndarray, slots: np.ndarray) -> None:
    """Add to ``keep``, per row, the :func:`_row_take` jobs of smallest ``rise`` (row-major;
    the row's reduced cost above the job's best node)."""
    r1, n = rise.shape
    for r in range(r1 - 1):
        _keep_smallest(keep, r, None, rise[r], _row_take(slots[r], n))


def _add_priced_out(
    keep: np.ndarray, cost: np.ndarray, mu: np.ndarray, here: np.ndarray, slots: np.ndarray
) -> bool:
    """Add to ``keep``, per row, the :func:`_row_take` pairs that price out most under ``mu``
    (``here``: each job's reduced cost on its current node); whether any pair was new."""
    n, r1 = cost.shape
    start, jobs, rise = _priced_out(cost, mu, here)
    added = False
    for r in range(r1 - 1):
        a, b = int(start[r]), int(start[r + 1])
        added = _keep_smallest(keep, r, jobs[a:b], rise[a:b], _row_take(slots[r], n)) or added
    return added


def _flow_on(
    cost: np.ndarray, keep: np.ndarray, slots: np.ndarray
) -> tuple[np.ndarray | None, int, int]:
    """Min-cost flow on the kept pairs: a job with one kept node takes it (and one of its
    slots); the others (the core) go through the network. Returns each job's node (``None``
    when the core is infeasible), the core's jobs and the network's arcs."""
    n, r1 = cost.shape
    single = keep.sum(axis=1) == 1
    x = np.full(n, -1, dtype=np.int64)
    x[single] = keep[single].argmax(axis=1)
    left = np.r_[slots, n].astype(np.int64) - np.bincount(x[single], minlength=r1)
    core = np.flatnonzero(~single)
    m = core.size
    if (left < 0).any():
        return None, m, 0
    if m == 0:
        return x, 0, 0
    pos, node = np.nonzero(keep[core])
    unit_cost = cost[core[pos], node]
    # each job sends one unit: its cheapest arc's cost off all of its arcs changes no
    # choice, and the narrower cost range speeds up the cost-scaling algorithm
    unit_cost -= np.minimum.reduceat(unit_cost, np.r_[0, np.flatnonzero(np.diff(pos)) + 1])[pos]
    used, _ = unit_flow(pos, node, unit_cost, m, left)
    if used is None:
        return None, m, int(pos.size)
    x[core[pos[used]]] = node[used]
    return x, m, int(pos.size)
