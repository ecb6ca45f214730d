"""Shift and swap local search of the assignment core (vectorised over jobs and options).

:func:`improve_shift` moves jobs to cheaper options with room, :func:`improve_swap`
exchanges the agents of two jobs on the classic GAP; both keep a feasible assignment
feasible and stop on their own criteria or at the wall-clock ``deadline``. The two
feasibility helpers of the moves, :func:`slacks` and :func:`accept_within`, serve the repair
of :mod:`~solver.allocation.gap.primal` too.
"""

from __future__ import annotations

import time

import numpy as np

from solver.allocation.gap.problem import AssignmentProblem, per_option

__all__ = ["accept_within", "improve_shift", "improve_swap", "slacks"]


def slacks(problem: AssignmentProblem, assignment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The room left on the own capacity rows and on the global rows by ``assignment``."""
    return (
        problem.capacity - problem.row_usage(assignment),
        problem.global_capacity - problem.global_usage(assignment),
    )


def accept_within(
    groups: np.ndarray, amounts: np.ndarray, room: np.ndarray, order: np.ndarray
) -> np.ndarray:
    """Accept candidates in ``order`` while each group's cumulative amount fits its room."""
    ranked_groups = groups[order]
    ranked_amounts = amounts[order]
    accept = np.zeros(order.size, dtype=bool)
    # Cumulative use within each group, in ranking order.
    sort = np.argsort(ranked_groups, kind="stable")
    g_sorted = ranked_groups[sort]
    a_sorted = ranked_amounts[sort]
    csum = np.cumsum(a_sorted)
    starts = np.r_[0, np.flatnonzero(np.diff(g_sorted)) + 1]
    offsets = np.repeat(csum[starts] - a_sorted[starts], np.diff(np.r_[starts, g_sorted.size]))
    cum = csum - offsets
    ok_sorted = cum <= room[g_sorted] + 1e-9
    accept[sort] = ok_sorted
    out = np.zeros(order.size, dtype=bool)
    out[order] = accept
    return out


def improve_shift(
    problem: AssignmentProblem,
    assignment: np.ndarray,
    allowed: np.ndarray,
    *,
    deadline: float,
    max_rounds: int = 50,
) -> np.ndarray:
    """Shift local search: move jobs to cheaper options that fit the remaining room.

    Each round takes every job's best improving move, ranks them by gain and accepts them
    while the target rows (and global rows) keep room; the source rows' freed room is used
    only in the next round, so the assignment stays feasible throughout.
    """
    k, n = problem.cost.shape
    s = assignment.copy()
    jobs = np.arange(n)
    wfull = (
        problem.weight if problem.weight.shape[1] == n else np.broadcast_to(problem.weight, (k, n))
    )
    for _ in range(max_rounds):
        if time.perf_counter() >= deadline:
            break
        slack, gslack = slacks(problem, s)
        own = problem.row_of >= 0
        room = per_option(slack, problem.row_of, np.inf)
        same_row = (problem.row_of[:, None] == problem.row_of[s][None, :]) & own[:, None]
        # Moving within the same row only needs room for the weight difference.
        extra = np.where(same_row, wfull - wfull[s, jobs][None, :], wfull)
        fits = allowed & (extra <= room[:, None] + 1e-9)
        for g in range(problem.global_capacity.size):
            gw = problem.global_weight[g]
            gfull = gw if gw.shape[1] == n else np.broadcast_to(gw, (k, n))
            fits &= gfull - gfull[s, jobs][None, :] <= max(gslack[g], 0.0) + 1e-9
        cur_cost = problem.cost[s, jobs]
        gain_all = np.where(fits, cur_cost[None, :] - problem.cost, -np.inf)
        best = gain_all.argmax(axis=0)
        gain = gain_all[best, jobs]
        cand = np.flatnonzero(gain > 1e-9 * (1.0 + np.abs(cur_cost)))
        if cand.size == 0:
            break
        order = cand[np.argsort(-gain[cand], kind="stable")]
        targets = problem.row_of[best[order]]
        grp = np.where(targets >= 0, targets, problem.capacity.size)
        room_rows = np.r_[np.maximum(slack, 0.0), np.inf]
        amounts = extra[best[order], order]
        acc = accept_within(grp, amounts, room_rows, np.arange(order.size))
        for g in range(problem.global_capacity.size):
            gw = problem.global_weight[g]
            gfull = gw if gw.shape[1] == n else np.broadcast_to(gw, (k, n))
            delta = gfull[best[order], order] - gfull[s[order], order]
            csum = np.cumsum(np.where(acc, delta, 0.0))
            acc &= csum <= max(gslack[g], 0.0) + 1e-9
        take = order[acc]
        if take.size == 0:
            break
        s[take] = best[take]
    return s


def improve_swap(
    problem: AssignmentProblem,
    assignment: np.ndarray,
    allowed: np.ndarray,
    *,
    deadline: float,
    max_rounds: int = 200,
    block: int = 2048,
) -> np.ndarray:
    """Swap local search for own-row problems without global rows (the classic GAP).

    Exchanges the agents of two jobs when both agents keep within capacity and the cost
    falls. Each round evaluates all job pairs (in blocks, vectorised), then applies the
    best improving swaps greedily with each agent touched at most once per round, which
    keeps every intermediate assignment feasible. Alternates with shift moves.
    """
    k, n = problem.cost.shape
    if problem.global_capacity.size or n < 2 or problem.weight.shape[1] != n:
        return assignment
    s = assignment.copy()
    cost, weight = problem.cost, problem.weight
    cols = np.arange(n)
    for _ in range(max_rounds):
        if time.perf_counter() >= deadline:
            break
        slack = problem.capacity - problem.row_usage(s)
        own_cost = cost[s, cols]
        own_w = weight[s, cols]
        rows = problem.row_of[s]
        best_gain = np.zeros(n)
        best_partner = np.full(n, -1, dtype=np.int64)
        for start in range(0, n, block):
            js = np.arange(start, min(n, start + block))
            sj = s[js]
            # cost of job k on j's agent (rows of cost) and of job j on k's agent
            c_jk = cost[sj]  # (b, n): job k moved to agent of j
            c_kj = cost[s][:, js].T  # (b, n): job j moved to agent of k
            gain = own_cost[js][:, None] + own_cost[None, :] - c_jk - c_kj
            ok = allowed[sj] & allowed[s][:, js].T
            ok &= rows[js][:, None] != rows[None, :]
            w_jk = weight[sj]
            w_kj = weight[s][:, js].T
            ok &= slack[rows[js]][:, None] + own_w[js][:, None] - w_jk >= -1e-9
            ok &= slack[rows][None, :] + own_w[None, :] - w_kj >= -1e-9
            gain = np.where(ok, gain, 0.0)
            arg = gain.argmax(axis=1)
            val = gain[np.arange(js.size), arg]
            best_gain[js] = val
            best_partner[js] = arg
        cand = np.flatnonzero(best_gain > 1e-9)
        if cand.size == 0:
            shifted = improve_shift(problem, s, allowed, deadline=deadline, max_rounds=5)
            if problem.objective(shifted) < problem.objective(s) - 1e-9:
                s = shifted
                continue
            break
        order = cand[np.argsort(-best_gain[cand], kind="stable")]
        used_rows = np.zeros(problem.capacity.size, dtype=bool)
        applied = 0
        for j in order.tolist():
            p = int(best_partner[j])
            rj, rp = int(rows[j]), int(rows[p])
            if used_rows[rj] or used_rows[rp]:
                continue
            used_rows[rj] = used_rows[rp] = True
            s[j], s[p] = s[p], s[j]
            applied += 1
        if applied == 0:
            break
        s = improve_shift(problem, s, allowed, deadline=deadline, max_rounds=3)
    return s
