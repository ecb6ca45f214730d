"""CP-SAT models of the assignment problem, and the plain CP-SAT baseline of ``bench gap``.

:func:`solve_cpsat` builds the model of the jobs and options of a mask (one Boolean per
allowed job–option pair, an exactly-one constraint per job, one linear constraint per
capacity row, the total cost as objective) on integer-scaled data, warm-starts it with
``add_hint``, solves it with a seed, a worker count and a deterministic-time budget, and maps
CP-SAT's status through :func:`solver.domain.cp_sat_status`.
:func:`solve_gap_cpsat_plain` is the textbook model with CP-SAT's default search.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from solver.allocation.gap.problem import (
    AssignmentProblem,
    AssignmentResult,
    decimal_scale,
    gap_problem,
    to_sense,
)
from solver.core.result import relative_gap
from solver.domain import Status, cp_sat_status

__all__ = ["CpOutcome", "solve_cpsat", "solve_gap_cpsat_plain", "stopped_by_clock"]

#: A run whose CP-SAT wall time reached this share of its wall-clock limit was ended by that
#: limit: the interleaved search stops a little past it once it has a solution (3.89 s for
#: 3.80), and before it without one (1.52 s for 1.82, status UNKNOWN: tight 20 x 600 GAP, two
#: workers, load 11, 5 Dec 2026); a run its budget ends this close to its limit is counted as
#: stopped too (the conservative side: the run says a rerun may differ).
TIMED_OUT_SHARE = 0.8


def _integer_rows(weights: np.ndarray, capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights and capacities of capacity rows on one integer scale (``10**k``, k ≤ 4).

    Exact when that scale makes them integral; otherwise weights are rounded up and
    capacities down, which keeps every solution of the model feasible for the true data.
    """
    scale, exact = decimal_scale(np.r_[weights, capacity])
    if exact:
        return (
            np.round(weights * scale).astype(np.int64),
            np.round(capacity * scale).astype(np.int64),
        )
    return (
        np.ceil(weights * scale - 1e-6).astype(np.int64),
        np.floor(capacity * scale + 1e-6).astype(np.int64),
    )


@dataclass
class CpOutcome:
    """One CP-SAT run: its status, the assignment it found (``None`` without one), its bound,
    wall-clock seconds, deterministic time and whether its wall-clock limit ended it."""

    status: Status
    assignment: np.ndarray | None
    bound: float  # in original cost units, valid for the model solved
    wall: float
    det: float = 0.0  # CP-SAT's deterministic time (its own measure of work, machine-independent)
    timed_out: bool = False  # CP-SAT's own timer reached its wall-clock limit


def solve_cpsat(
    problem: AssignmentProblem,
    mask: np.ndarray,
    *,
    time_limit: float,
    seed: int,
    workers: int,
    hint: np.ndarray | None = None,
    row_capacity: np.ndarray | None = None,
    global_capacity: np.ndarray | None = None,
    jobs: np.ndarray | None = None,
    linearization: int | None = None,
    det_limit: float | None = None,
    deterministic: bool = False,
) -> CpOutcome:
    """Solve the problem restricted to ``mask`` (and optionally to ``jobs``) with CP-SAT.

    Costs are scaled to integers (``10**k``, k ≤ 4; rounding when not exact — the returned
    bound then subtracts the worst-case rounding). Weights are scaled the same way; if they
    are not exact at ``10**4`` they are rounded up and capacities down, which keeps every
    solution feasible for the true data.

    ``det_limit`` is CP-SAT's deterministic-time budget (its work measure, the same on every
    machine); ``time_limit`` (wall clock) is the hard stop. Without ``det_limit`` the budget
    is half the wall-clock time left (the plain-CP-SAT baseline's setting).
    ``deterministic`` with ``workers > 1``: CP-SAT's interleaved search (its subsolvers run
    in batches on ``workers`` threads and share what they found between batches only), whose
    result, for a given deterministic time, does not depend on the threads' timing; the
    budget is then checked between batches only, so a run may pass it by up to a batch.
    """
    # OR-Tools takes about 0.4 s to import (1.5-2 s at load 8): only when a model is solved
    # (the Lagrangian path of a large allocation, past CPSAT_MAX_PAIRS, never builds one).
    # The warm-up (solver.allocation.gap.warmup) imports it before a solve's clock starts;
    # the wall-clock limit counts from before the import all the same.
    t0 = time.perf_counter()
    from ortools.sat.python import cp_model

    k, n = problem.cost.shape
    jobs = np.arange(n) if jobs is None else jobs
    sub_mask = mask[:, jobs]
    # Pairs in job-major order: pos = position in `jobs`, opt_idx = option.
    pos, opt_idx = np.nonzero(sub_mask.T)
    job_idx = jobs[pos]
    if np.any(~sub_mask.any(axis=0)):
        return CpOutcome(Status.INFEASIBLE, None, math.inf, time.perf_counter() - t0)
    costs = problem.cost[opt_idx, job_idx]
    cost_scale, cost_exact = decimal_scale(costs)
    int_cost = np.round(costs * cost_scale).astype(np.int64)
    wcol = job_idx if problem.weight.shape[1] > 1 else np.zeros_like(job_idx)
    caps = problem.capacity if row_capacity is None else row_capacity
    gcaps = problem.global_capacity if global_capacity is None else global_capacity
    int_w, int_caps = _integer_rows(problem.weight[opt_idx, wcol], caps)

    model = cp_model.CpModel()
    # Variables: one Boolean per allowed (job, option) pair.
    x = [
        model.new_bool_var(f"x{o}_{j}")
        for o, j in zip(opt_idx.tolist(), job_idx.tolist(), strict=True)
    ]
    # Every job gets exactly one option.
    starts = np.r_[0, np.flatnonzero(np.diff(pos)) + 1, pos.size]
    for a, b in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
        model.add_exactly_one(x[a:b])
    # Capacity of each own row (team minutes / agent capacity).
    _add_row_capacities(model, x, problem.row_of[opt_idx], int_w, int_caps)
    # Global rows (budget): one constraint each.
    for g in range(problem.global_capacity.size):
        gw = problem.global_weight[g]
        gvals = gw[opt_idx, job_idx if gw.shape[1] > 1 else np.zeros_like(job_idx)]
        gi, gc = _integer_rows(gvals, gcaps[g : g + 1])
        model.add(cp_model.LinearExpr.weighted_sum(x, gi.tolist()) <= int(gc[0]))
    # Objective: minimise total (scaled) cost.
    model.minimize(cp_model.LinearExpr.weighted_sum(x, int_cost.tolist()))
    if hint is not None:
        chosen = hint[job_idx] == opt_idx
        for var, val in zip(x, chosen.tolist(), strict=True):
            model.add_hint(var, val)

    solver = cp_model.CpSolver()
    remaining = time_limit - (time.perf_counter() - t0)
    if remaining <= 0.0:
        return CpOutcome(Status.TIME_LIMIT, None, -math.inf, time.perf_counter() - t0, 0.0, True)
    solver.parameters.max_time_in_seconds = remaining
    # Reproducibility: a work budget (deterministic time) that normally binds before the wall
    # clock, so the same seed gives the same solution on a loaded machine too; the wall-clock
    # limit stays as the hard stop.
    solver.parameters.max_deterministic_time = (
        0.5 * remaining if det_limit is None else max(0.0, float(det_limit))
    )
    solver.parameters.num_workers = max(1, int(workers))
    # Ctrl-C is the CLI's (commands.common.handle_signals): CP-SAT's own SIGINT handler
    # swallowed it during the solve and reset SIGINT to SIG_DFL at the OS level after it,
    # so a later Ctrl-C killed the run with no clean-up (session 20).
    solver.parameters.catch_sigint_signal = False
    solver.parameters.random_seed = int(seed)
    if deterministic and workers > 1:
        solver.parameters.interleave_search = True
    if linearization is not None:
        solver.parameters.linearization_level = linearization
    status = solver.solve(model)
    name = cp_sat_status(solver.status_name(status))
    if name is Status.MODEL_INVALID:  # never a time limit: the model built here is wrong
        raise RuntimeError(
            "CP-SAT rejected the assignment model (MODEL_INVALID): "
            + (model.validate() or "no reason given")
        )
    rounding = 0.0 if cost_exact else 0.5 / cost_scale * len(jobs)
    det = float(solver.response_proto.deterministic_time)
    # on CP-SAT's own clock, in its own units (tests slow the solver's clock, not CP-SAT's)
    timed_out = solver.wall_time >= TIMED_OUT_SHARE * remaining
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = np.array([solver.boolean_value(v) for v in x], dtype=bool)
        out = np.full(n, -1, dtype=np.int64) if hint is None else hint.copy()
        out[job_idx[values]] = opt_idx[values]
        bound = solver.best_objective_bound / cost_scale - rounding
        return CpOutcome(name, out, bound, time.perf_counter() - t0, det, timed_out)
    if status == cp_model.INFEASIBLE:
        return CpOutcome(name, None, math.inf, time.perf_counter() - t0, det, timed_out)
    return CpOutcome(name, None, -math.inf, time.perf_counter() - t0, det, timed_out)


def _add_row_capacities(
    model: Any, x: list, rows: np.ndarray, int_w: np.ndarray, int_caps: np.ndarray
) -> None:
    """One capacity constraint per own row that can bind (``rows``: each pair's row, -1 for
    none; integer weights and capacities)."""
    from ortools.sat.python import cp_model

    order = np.argsort(rows, kind="stable")
    r_sorted = rows[order]
    bounds = np.r_[0, np.flatnonzero(np.diff(r_sorted)) + 1, r_sorted.size]
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if a == b:
            continue
        row = int(r_sorted[a])
        if row < 0:
            continue
        idx = order[a:b]
        if int_w[idx].sum() <= int_caps[row]:
            continue  # cannot bind
        model.add(
            cp_model.LinearExpr.weighted_sum([x[i] for i in idx.tolist()], int_w[idx].tolist())
            <= int(int_caps[row])
        )


def stopped_by_clock(out: CpOutcome, det_limit: float) -> bool:
    """Did the wall clock (not the deterministic budget, nor a proof) end this CP-SAT run?

    Short of its deterministic budget, or at its wall-clock limit: the interleaved parallel
    search checks its budget between batches only, so a run the clock cut inside the batch
    that passed the budget reports more than the budget (two 2-worker runs of a tight 8 × 400
    GAP, the clock seen as stopping nothing, gave two assignments at load 11, 5 Dec 2026)."""
    if out.status in (Status.OPTIMAL, Status.INFEASIBLE):
        return False
    return out.det < 0.999 * det_limit or out.timed_out


def solve_gap_cpsat_plain(
    cost: np.ndarray,
    resource: np.ndarray,
    capacity: np.ndarray,
    *,
    sense: str = "min",
    time_limit: float = 10.0,
    seed: int = 0,
    workers: int = 2,
) -> AssignmentResult:
    """Baseline: the textbook CP-SAT model of a GAP, no hint, no Lagrangian, no LNS.

    One Boolean per agent–job pair, exactly one agent per job, one knapsack row per agent,
    the objective; CP-SAT's default search with the given time limit, seed and workers.
    """
    t0 = time.perf_counter()
    problem, sign = gap_problem(cost, resource, capacity, sense)
    n = problem.n_jobs
    mask = np.isfinite(problem.cost)
    out = solve_cpsat(problem, mask, time_limit=time_limit, seed=seed, workers=workers)
    runtime = time.perf_counter() - t0
    stats = {"cpsat_status": out.status}
    if out.assignment is None or out.status is Status.INFEASIBLE:
        infeasible = out.status is Status.INFEASIBLE
        assignment = np.full(n, -1, dtype=np.int64)
        objective, gap = math.nan, math.inf
        bound = math.inf if infeasible else out.bound
        status = Status.INFEASIBLE if infeasible else Status.TIME_LIMIT
    else:
        assignment = out.assignment
        objective = problem.objective(out.assignment)
        status = Status.OPTIMAL if out.status is Status.OPTIMAL else Status.FEASIBLE
        bound = objective if status is Status.OPTIMAL else out.bound
        gap = relative_gap(objective, bound)
    res = AssignmentResult(
        assignment,
        objective=objective,
        bound=bound,
        gap=gap,
        status=status,
        runtime=runtime,
        method="cp-sat-plain",
        stats=stats,
    )
    return to_sense(res, sign, sense)
