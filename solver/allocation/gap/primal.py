"""Primal heuristics of the assignment core: construction and repair.

All vectorised over jobs and options: a start from Lagrangian prices
(:func:`primal_from_prices`: batch regret fill, repair of overloaded rows, shift moves), and
the regret-ordered construction of Martello and Toth (:func:`regret_construct`) for tight
instances. The shift and swap local search is in :mod:`~solver.allocation.gap.localsearch`.
Each stops on its own criteria or at the wall-clock ``deadline``, and keeps its assignment
feasible once it is.
"""

from __future__ import annotations

import time

import numpy as np

from solver.allocation.gap.localsearch import accept_within, improve_shift, slacks
from solver.allocation.gap.problem import AssignmentProblem, per_option

__all__ = ["batch_regret_fill", "primal_from_prices", "regret_construct", "repair"]


def _full(arr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return arr if arr.shape == shape else np.broadcast_to(arr, shape)


def repair(
    problem: AssignmentProblem,
    assignment: np.ndarray,
    allowed: np.ndarray,
    *,
    deadline: float,
    max_rounds: int = 60,
) -> np.ndarray | None:
    """Move jobs off overloaded rows at the least cost per unit of capacity freed.

    Returns a feasible assignment, or ``None`` if the greedy repair gets stuck.
    """
    k, n = problem.cost.shape
    s = assignment.copy()
    weight = _full(problem.weight, (k, n)) if problem.weight.shape[1] == n else None
    for _ in range(max_rounds):
        slack, gslack = slacks(problem, s)
        over_rows = np.flatnonzero(slack < -1e-9 * (1 + problem.capacity))
        over_global = np.flatnonzero(gslack < -1e-9 * (1 + problem.global_capacity))
        if over_rows.size == 0 and over_global.size == 0:
            return s
        if time.perf_counter() >= deadline:
            return None
        moved = False
        for row in over_rows:
            jobs = np.flatnonzero(problem.row_of[s] == row)
            if jobs.size == 0:
                continue
            cur = s[jobs]
            w_cur = weight[cur, jobs] if weight is not None else problem.weight[cur, 0]
            # Alternatives: allowed options on other rows that have room for this job.
            sub_w = (
                weight[:, jobs]
                if weight is not None
                else np.broadcast_to(problem.weight, (k, jobs.size))
            )
            fits = allowed[:, jobs] & (problem.row_of[:, None] != row)
            room = per_option(slack, problem.row_of, np.inf)
            fits &= sub_w <= room[:, None] + 1e-9
            for g in range(problem.global_capacity.size):
                gw = problem.global_weight[g]
                gw_sub = gw[:, jobs] if gw.shape[1] == n else np.broadcast_to(gw, (k, jobs.size))
                gw_cur = gw_sub[cur, np.arange(jobs.size)]
                fits &= gw_sub - gw_cur[None, :] <= max(gslack[g], 0.0) + 1e-9
            alt_cost = np.where(fits, problem.cost[:, jobs], np.inf)
            alt = alt_cost.argmin(axis=0)
            loss = alt_cost[alt, np.arange(jobs.size)] - problem.cost[cur, jobs]
            ok = np.isfinite(loss) & (w_cur > 0)
            if not ok.any():
                continue
            ratio = np.where(ok, loss / np.maximum(w_cur, 1e-12), np.inf)
            order = np.argsort(ratio, kind="stable")
            order = order[np.isfinite(ratio[order])]
            need = -slack[row]
            freed = np.cumsum(w_cur[order])
            take = order[: int(np.searchsorted(freed, need - 1e-9)) + 1]
            # Respect the target rows' room cumulatively.
            targets = problem.row_of[alt[take]]
            tw = sub_w[alt[take], take]
            room_rows = np.r_[np.maximum(slack, 0.0), np.inf]  # index R = uncapacitated
            grp = np.where(targets >= 0, targets, problem.capacity.size)
            acc = accept_within(grp, tw, room_rows, np.arange(take.size))
            take = take[acc]
            if take.size == 0:
                continue
            s[jobs[take]] = alt[take]
            slack, gslack = slacks(problem, s)
            moved = True
        for g in over_global.tolist():
            gw = problem.global_weight[g]
            gw_full = gw if gw.shape[1] == n else np.broadcast_to(gw, (k, n))
            cur_g = gw_full[s, np.arange(n)]
            saving = cur_g[None, :] - gw_full
            room = per_option(slack, problem.row_of, np.inf)
            wfull = weight if weight is not None else np.broadcast_to(problem.weight, (k, n))
            fits = (
                allowed
                & (saving > 0)
                & (
                    (wfull <= room[:, None])
                    | (problem.row_of[:, None] == problem.row_of[s][None, :])
                )
            )
            loss_all = np.where(
                fits,
                (problem.cost - problem.cost[s, np.arange(n)][None, :])
                / np.where(fits, saving, 1.0),
                np.inf,
            )
            alt = loss_all.argmin(axis=0)
            ratio = loss_all[alt, np.arange(n)]
            order = np.argsort(ratio, kind="stable")
            order = order[np.isfinite(ratio[order])]
            if order.size == 0:
                continue
            freed = np.cumsum(saving[alt[order], order])
            take = order[: int(np.searchsorted(freed, -gslack[g] - 1e-9)) + 1]
            s[take] = alt[take]
            slack, gslack = slacks(problem, s)
            moved = True
        if not moved:
            return None
    return s if problem.is_feasible(s) else None


def batch_regret_fill(
    problem: AssignmentProblem,
    desirability: np.ndarray,
    allowed: np.ndarray,
    *,
    deadline: float,
) -> np.ndarray | None:
    """Fill rows in batches: every open job wants its best open option; an over-asked row
    keeps the jobs with the largest regret (second best − best) up to its capacity and closes.

    With near-optimal Lagrangian prices as ``desirability`` this reproduces the LP choice for
    all but a few jobs per row. Each round costs one pass over the open jobs' options and at
    least one row closes per round, so there are at most ``R + 1`` rounds. Global rows are
    not checked here (the caller repairs them). Returns ``None`` if some job is left with no
    open option.
    """
    k, n = problem.cost.shape
    wfull = (
        problem.weight if problem.weight.shape[1] == n else np.broadcast_to(problem.weight, (k, n))
    )
    n_rows = problem.capacity.size
    room = problem.capacity.astype(np.float64).copy()
    open_row = np.ones(n_rows + 1, dtype=bool)  # index n_rows: uncapacitated
    row_idx = np.where(problem.row_of >= 0, problem.row_of, n_rows)
    assignment = np.full(n, -1, dtype=np.int64)
    todo = np.arange(n)
    for _ in range(n_rows + 2):
        if todo.size == 0:
            break
        if time.perf_counter() >= deadline:
            return None
        sub = np.where(allowed[:, todo] & open_row[row_idx][:, None], desirability[:, todo], np.inf)
        if k > 1:
            two = np.argpartition(sub, 1, axis=0)[:2]
            cols = np.arange(todo.size)
            v0, v1 = sub[two[0], cols], sub[two[1], cols]
            best = np.where(v0 <= v1, two[0], two[1])
            with np.errstate(invalid="ignore"):
                regret = np.abs(v1 - v0)
            regret = np.where(np.isfinite(regret), regret, np.inf)
            best_val = np.minimum(v0, v1)
        else:
            best = np.zeros(todo.size, dtype=np.int64)
            best_val = sub[0]
            regret = np.full(todo.size, np.inf)
        if not np.isfinite(best_val).all():
            return None
        rows = row_idx[best]
        w = wfull[best, todo]
        # Within each row, the largest regret first.
        order = np.lexsort((-regret, rows))
        r_sorted = rows[order]
        csum = np.cumsum(w[order])
        starts = np.r_[0, np.flatnonzero(np.diff(r_sorted)) + 1]
        offsets = np.repeat(csum[starts] - w[order][starts], np.diff(np.r_[starts, r_sorted.size]))
        cum = csum - offsets
        room_ext = np.r_[room, np.inf]
        fits_sorted = cum <= room_ext[r_sorted] + 1e-9
        accept = np.zeros(todo.size, dtype=bool)
        accept[order] = fits_sorted
        # Rows that could not take all their candidates close now.
        overflow = np.unique(r_sorted[~fits_sorted])
        taken = todo[accept]
        assignment[taken] = best[accept]
        used = np.bincount(rows[accept], weights=w[accept], minlength=n_rows + 1)
        room -= used[:n_rows]
        open_row[overflow[overflow < n_rows]] = False
        todo = todo[~accept]
    if todo.size:
        return None
    return assignment


def regret_construct(
    problem: AssignmentProblem,
    desirability: np.ndarray,
    allowed: np.ndarray,
    *,
    deadline: float,
) -> np.ndarray | None:
    """Regret-ordered construction (Martello & Toth's MTHG idea) on own rows.

    Jobs are placed one at a time, the job with the largest regret (second-best minus best
    feasible desirability) first, on its best option that still fits; ``desirability`` is
    typically the Lagrangian reduced cost. Returns ``None`` when some job no longer fits.
    Global rows are checked as well. Work is ``O(n·K)`` plus an update per placement.
    """
    k, n = problem.cost.shape
    wfull = (
        problem.weight if problem.weight.shape[1] == n else np.broadcast_to(problem.weight, (k, n))
    )
    n_rows = problem.capacity.size
    room = problem.capacity.astype(np.float64).copy()
    groom = problem.global_capacity.astype(np.float64).copy()
    fits = allowed.copy()
    f = np.where(fits, desirability, np.inf)
    assignment = np.full(n, -1, dtype=np.int64)
    open_jobs = np.ones(n, dtype=bool)
    # best and second-best feasible option per job, recomputed only where feasibility changes
    two = np.argpartition(f, 1, axis=0)[:2] if k > 1 else np.zeros((2, n), dtype=np.int64)
    cols = np.arange(n)
    b1 = np.where(f[two[0], cols] <= f[two[1], cols], two[0], two[1])
    b2 = np.where(b1 == two[0], two[1], two[0])

    def refresh(jobs: np.ndarray) -> None:
        if jobs.size == 0:
            return
        sub = f[:, jobs]
        if k > 1:
            t = np.argpartition(sub, 1, axis=0)[:2]
            c0 = sub[t[0], np.arange(jobs.size)]
            c1 = sub[t[1], np.arange(jobs.size)]
            first = np.where(c0 <= c1, t[0], t[1])
            b1[jobs] = first
            b2[jobs] = np.where(first == t[0], t[1], t[0])
        else:
            b1[jobs] = 0
            b2[jobs] = 0

    row_options = [np.flatnonzero(problem.row_of == r) for r in range(n_rows)]
    for step in range(n):
        if step % 256 == 0 and time.perf_counter() >= deadline:
            return None
        best = f[b1, cols]
        if k > 1:
            with np.errstate(invalid="ignore"):
                regret = f[b2, cols] - best
        else:
            regret = np.zeros(n)
        if not np.isfinite(best[open_jobs]).all():
            return None
        regret = np.where(open_jobs, np.where(np.isfinite(regret), regret, np.inf), -np.inf)
        # ties: larger regret first, then the more expensive job (harder to place later)
        j = int(np.argmax(regret))
        o = int(b1[j])
        assignment[j] = o
        open_jobs[j] = False
        f[:, j] = np.inf
        changed = np.zeros(n, dtype=bool)
        row = int(problem.row_of[o])
        if row >= 0:
            room[row] -= wfull[o, j]
            opts = row_options[row]
            now_bad = (wfull[opts] > room[row] + 1e-9) & np.isfinite(f[opts])
            if now_bad.any():
                f[opts] = np.where(now_bad, np.inf, f[opts])
                changed |= now_bad.any(axis=0)
        for g in range(problem.global_capacity.size):
            gw = problem.global_weight[g]
            gfull = gw if gw.shape[1] == n else np.broadcast_to(gw, (k, n))
            groom[g] -= gfull[o, j]
            now_bad = (gfull > groom[g] + 1e-9) & np.isfinite(f)
            if now_bad.any():
                f[now_bad] = np.inf
                changed |= now_bad.any(axis=0)
        changed &= open_jobs
        refresh(np.flatnonzero(changed))
    return assignment if problem.is_feasible(assignment) else None


def primal_from_prices(
    problem: AssignmentProblem,
    allowed: np.ndarray,
    prices: np.ndarray,
    global_prices: np.ndarray,
    *,
    deadline: float,
) -> np.ndarray | None:
    """Cheapest option per job under prices, repaired and improved by shift moves."""
    rc = problem.reduced_costs(prices, global_prices)
    rc[~allowed] = np.inf
    filled = batch_regret_fill(problem, rc, allowed, deadline=deadline)
    if filled is None:
        filled = rc.argmin(axis=0)
    del rc
    repaired = repair(problem, filled, allowed, deadline=deadline)
    if repaired is None:
        return None
    return improve_shift(problem, repaired, allowed, deadline=deadline)
