"""The min-cost-flow phases of :func:`~solver.allocation.gap.solve.solve_assignment` for
transportation-shaped problems (:mod:`~solver.allocation.gap.flow`): the exact flow when its
network fits, else the flow on a priced core with column generation
(:mod:`~solver.allocation.gap.coreflow`), each started only when its work, estimated from the
problem's size, fits what is left."""

from __future__ import annotations

import math
import time

import numpy as np

from solver.allocation.gap.budget import (
    FLOW_ARCS_PER_SECOND,
    GREEDY_CELLS_PER_SECOND,
    WORK_SAFETY,
    idle_rate,
)
from solver.allocation.gap.coreflow import core_flow_seconds, solve_core_flow
from solver.allocation.gap.dual_phase import CORE_SAMPLE_SHARE, sample_phase
from solver.allocation.gap.flow import TransportResult, solve_transport
from solver.allocation.gap.prices import node_row_prices, offer_prices
from solver.allocation.gap.problem import AssignmentResult
from solver.allocation.gap.state import Run
from solver.domain import Status

__all__ = ["after_transport", "core_first", "core_transport", "transport_phase"]

# Passes over the K × n option matrix that the phases after a core flow that proved nothing
# take at least (the start prices' greedy, one dual step and its choice, the greedy's repair
# and shift): they run only when that fits the wall clock left, else the core flow's
# assignment and bound are the result (1,000,000 accounts at load 4: 11 s for them).
AFTER_CORE_PASSES = 12
# The share of the exact phases' work of the core flow's sample dual: dual_phase.py.


def transport_phase(
    run: Run, allowed: np.ndarray, slots: np.ndarray, units: np.ndarray | None
) -> TransportResult | None:
    """Phase 0 (not small problems): a transportation-shaped problem
    (:func:`~solver.allocation.gap.flow.row_slots`; ``units``: its rows' units) is solved
    exactly by min-cost flow, when its network fits the work (estimated from its size, never
    timed). It runs before the dual so that a short limit (issue 19's fast first answer:
    20,000 accounts within 1 s) is not spent before it can start on a loaded machine. Its
    node prices are offered as the shadow prices at once (exact duals: a result returned
    before :func:`after_transport` has them too; the dual after it runs as without them)."""
    seconds = int(run.stats["pairs"]) / FLOW_ARCS_PER_SECOND
    if seconds > run.clock.room:
        return None
    # the flow cannot be interrupted: it starts only with its time's worth of wall clock left
    if time.perf_counter() + seconds / WORK_SAFETY > run.deadline:
        run.clock_stops.append("min-cost flow skipped")
        return None
    started = time.perf_counter()
    out = solve_transport(run.problem, allowed, slots)
    run.clock.charge(
        "min-cost flow", out.arcs / idle_rate("min-cost flow"), wall=time.perf_counter() - started
    )
    run.stats["flow_arcs"] = out.arcs
    if out.node_prices is not None and units is not None:
        unit = np.nan_to_num(units, nan=0.0)
        offer_prices(
            run.stats, node_row_prices(out.node_prices, unit), out.price_bound, "min-cost flow"
        )
    return out


def after_transport(run: Run, out: TransportResult) -> AssignmentResult:
    """The result of the min-cost flow (:func:`transport_phase`), after the dual and greedy
    phases: an optimum (or, costs not integral after scaling, a bound), or infeasibility."""
    problem = run.problem
    if out.assignment is None:
        message = "the capacity rows cannot take every job (min-cost flow)"
        return run.finish(None, math.inf, Status.INFEASIBLE, "min-cost-flow", message)
    run.bound = max(run.bound, out.bound)
    if run.incumbent is None or problem.objective(out.assignment) <= problem.objective(
        run.incumbent
    ):
        run.incumbent = out.assignment
        run.method = "lagrangian+min-cost-flow"
    status = Status.OPTIMAL if out.exact else Status.FEASIBLE
    return run.finish(run.incumbent, run.bound, status, run.method)


def core_transport(
    run: Run,
    allowed: np.ndarray,
    prices: np.ndarray,
    slots: np.ndarray,
    units: np.ndarray | None,
) -> AssignmentResult | None:
    """Phase 3c (transportation problems past ``FLOW_MAX_ARCS``): the min-cost flow on a
    priced core with column generation (:mod:`~solver.allocation.gap.coreflow`), when its
    work (estimated from the problem's size, never timed) fits what is left. Returns the
    result when its dual proves the assignment optimal; otherwise its assignment and bound
    are offered and the search goes on."""
    problem = run.problem
    k, n = problem.cost.shape
    # its set-up and first round must fit: the later rounds start only while the longest
    # round so far fits the wall clock left (solve_core_flow)
    first = core_flow_seconds(k, n, problem.capacity.size, rounds=1)
    if first > run.clock.room:
        run.stats["core_flow"] = "skipped: not enough work left"
        return None
    # the flow cannot be interrupted: it starts only with its time's worth of wall clock left
    if time.perf_counter() + first / WORK_SAFETY > run.deadline:
        run.clock_stops.append("core flow skipped")
        return None
    started = time.perf_counter()
    out = solve_core_flow(problem, allowed, slots, prices, units=units, deadline=run.deadline)
    if out.stats["core_clock_stop"]:
        run.clock_stops.append("core flow rounds")
    seconds = core_flow_seconds(k, n, problem.capacity.size, rounds=out.stats["core_rounds"])
    run.clock.charge(
        "core flow", seconds / idle_rate("core flow"), wall=time.perf_counter() - started
    )
    run.stats.update(out.stats)
    if out.assignment is None:
        return None
    # its node prices are a dual point of the whole problem (its bound prices every job, not
    # only the core's): kept when their dual value beats the Lagrangian's (prices.py)
    unit = out.stats["row_units"]
    offer_prices(run.stats, node_row_prices(out.node_prices, unit), out.bound, "core flow")
    run.offer(out.assignment)
    run.bound = max(run.bound, out.bound)
    if run.incumbent is out.assignment:
        run.method = "lagrangian+core-flow"
    if out.optimal and run.incumbent is out.assignment:
        return run.finish(run.incumbent, run.bound, Status.OPTIMAL, run.method)
    return None


def core_first(
    run: Run, allowed: np.ndarray, slots: np.ndarray, units: np.ndarray | None
) -> tuple[AssignmentResult | None, tuple[np.ndarray, np.ndarray, int, bool]]:
    """Phase 0b (many jobs, transportation-shaped, past ``FLOW_MAX_ARCS``): the flow on a
    core priced by the sample dual, usually proven optimal and cheaper than the full dual
    and the greedy over a million jobs. Returns the result when it ends the run -- proven,
    or when the phases after it would not fit the clock -- and the sample's prices (the
    dual starts from them, not solving the sample again); otherwise its assignment and bound
    stay and the usual phases follow."""
    sample = sample_phase(run, "core sample dual", seconds=CORE_SAMPLE_SHARE * run.clock.room)
    final = core_transport(run, allowed, sample[0], slots, units)
    if final is None and "core_scale" in run.stats and after_core_late(run, allowed.size):
        final = run.finish(run.incumbent, run.bound, Status.FEASIBLE, run.method)
    return final, sample


def after_core_late(run: Run, cells: int) -> bool:
    """Whether the phases after a core flow that proved nothing (``AFTER_CORE_PASSES``
    passes over the ``cells`` of the option matrix) would end past the deadline; the core
    flow's assignment and bound are then the result (``stats["wall_clock_stop"]`` says so)."""
    seconds = AFTER_CORE_PASSES * cells / GREEDY_CELLS_PER_SECOND
    if run.incumbent is None or time.perf_counter() + seconds / WORK_SAFETY <= run.deadline:
        return False
    run.clock_stops.append("dual after the core flow skipped")
    return True
