"""One sweep of the ejection-chain search (compiled): shift and ejection-chain moves.

The moves of :mod:`~solver.allocation.gap.ejection`, job by job in the sweep's order: a
job's shift to another allowed option, and the chain that moves it onto a row and ejects a
job of that row to one of its promising options. :func:`sweep` keeps the incremental state
(loads, per-row member lists, rows over capacity) and the best feasible assignment met; the
penalty weights' adaptation, the restarts and the driver stay in the ejection module.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from solver.allocation.gap.compiled import is_over, weight_at, xorshift

__all__ = ["sweep"]

_EPS = 1e-9


@njit(cache=True, inline="always")
def _pen(alpha: float, load: float, cap: float) -> float:
    over = load - cap
    return alpha * over if over > 0.0 else 0.0


@njit(cache=True)
def _move(
    s: np.ndarray,
    load: np.ndarray,
    members: np.ndarray,
    pos: np.ndarray,
    count: np.ndarray,
    weight: np.ndarray,
    row_of: np.ndarray,
    cap: np.ndarray,
    ints: np.ndarray,
    j: int,
    o2: int,
) -> None:
    """Give job ``j`` option ``o2``: loads, per-row member lists and the count of rows over
    capacity (``ints[5]``) follow."""
    o1 = s[j]
    a = row_of[o1]
    b = row_of[o2]
    if a >= 0:
        ints[5] -= is_over(load[a], cap[a])
    if b >= 0 and b != a:
        ints[5] -= is_over(load[b], cap[b])
    if a >= 0:
        load[a] -= weight_at(weight, o1, j)
        if a != b:
            p = pos[j]
            last = members[a, count[a] - 1]
            members[a, p] = last
            pos[last] = p
            count[a] -= 1
    if b >= 0:
        load[b] += weight_at(weight, o2, j)
        if a != b:
            members[b, count[b]] = j
            pos[j] = count[b]
            count[b] += 1
    s[j] = o2
    if a >= 0:
        ints[5] += is_over(load[a], cap[a])
    if b >= 0 and b != a:
        ints[5] += is_over(load[b], cap[b])


@njit(cache=True)
def _delta_rows(
    load: np.ndarray,
    cap: np.ndarray,
    alpha: np.ndarray,
    rows: np.ndarray,
    amounts: np.ndarray,
    nr: int,
) -> float:
    """Penalty change of adding ``amounts[i]`` to row ``rows[i]`` (``i < nr``; rows may repeat,
    ``-1`` is uncapacitated)."""
    total = 0.0
    for i in range(nr):
        r = rows[i]
        if r < 0:
            continue
        seen = False
        for q in range(i):
            if rows[q] == r:
                seen = True
                break
        if seen:
            continue
        d = amounts[i]
        for q in range(i + 1, nr):
            if rows[q] == r:
                d += amounts[q]
        if d != 0.0:
            total += _pen(alpha[r], load[r] + d, cap[r]) - _pen(alpha[r], load[r], cap[r])
    return total


@njit(cache=True)
def _keep_best(s: np.ndarray, best: np.ndarray, scalars: np.ndarray, ints: np.ndarray) -> None:
    """Keep ``s`` as the best when it is feasible (no row over) and cheaper."""
    if ints[5] == 0 and scalars[0] < scalars[1] - 1e-9 * (1.0 + abs(scalars[1])):
        scalars[1] = scalars[0]
        best[:] = s
        ints[2] = 0
        ints[3] += 1


# over 120 lines on purpose: one compiled sweep; splitting it would pass a dozen arrays per call
@njit(cache=True)
def sweep(
    cost: np.ndarray,
    allowed: np.ndarray,
    weight: np.ndarray,
    row_of: np.ndarray,
    cap: np.ndarray,
    cand: np.ndarray,
    s: np.ndarray,
    load: np.ndarray,
    alpha: np.ndarray,
    members: np.ndarray,
    pos: np.ndarray,
    count: np.ndarray,
    order: np.ndarray,
    rng: np.ndarray,
    scan: int,
    best_s: np.ndarray,
    scalars: np.ndarray,
    ints: np.ndarray,
    start: int,
    allowance: int,
) -> tuple[bool, int, int]:
    """A pass over the jobs in ``order`` from position ``start``: for each job the best
    shift, else the best ejection chain, applied when it lowers ``pcost``; it stops after
    the job with which its work (evaluations plus one per job) reaches ``allowance``.
    Returns whether anything moved, the work and the position reached (``n``: the sweep is
    complete); ``scalars[0]`` follows the cost, and a feasible assignment cheaper than
    ``scalars[1]`` is kept in ``best_s``."""
    k, n = cost.shape
    n_cand = cand.shape[1]
    rows = np.empty(6, dtype=np.int64)
    amounts = np.empty(6)
    work = 0
    moved = False
    idx = start
    while idx < n:
        if work >= allowance:
            break
        j = order[idx]
        idx += 1
        work += 1
        o1 = s[j]
        a = row_of[o1]
        w1 = weight_at(weight, o1, j)
        c1 = cost[o1, j]
        # --- shifts: every allowed option of j
        best = -_EPS * (1.0 + abs(c1))
        best_o2 = -1
        for o2 in range(k):
            if o2 == o1 or not allowed[o2, j]:
                continue
            work += 1
            rows[0] = a
            amounts[0] = -w1
            rows[1] = row_of[o2]
            amounts[1] = weight_at(weight, o2, j)
            d = cost[o2, j] - c1 + _delta_rows(load, cap, alpha, rows, amounts, 2)
            if d < best:
                best = d
                best_o2 = o2
        if best_o2 >= 0:
            scalars[0] += cost[best_o2, j] - c1
            _move(s, load, members, pos, count, weight, row_of, cap, ints, j, best_o2)
            moved = True
            _keep_best(s, best_s, scalars, ints)
            continue
        # --- ejection chains: j -> o2 (row B), k of B -> o3 (row C != B)
        best_k = -1
        best_o3 = -1
        for ci in range(n_cand):
            o2 = cand[j, ci]
            if o2 < 0:
                break
            b = row_of[o2]
            if b < 0 or b == a or o2 == o1:
                continue
            w2 = weight_at(weight, o2, j)
            base = cost[o2, j] - c1
            m = count[b]
            if m == 0:
                continue
            lim = m if m < scan else scan
            start = xorshift(rng) % m
            for t in range(lim):
                kk = members[b, (start + t) % m]
                ok = s[kk]
                wk = weight_at(weight, ok, kk)
                ck = cost[ok, kk]
                for cj in range(n_cand):
                    o3 = cand[kk, cj]
                    if o3 < 0:
                        break
                    if o3 == ok or row_of[o3] == b:
                        continue
                    work += 1
                    rows[0] = a
                    amounts[0] = -w1
                    rows[1] = b
                    amounts[1] = w2 - wk
                    rows[2] = row_of[o3]
                    amounts[2] = weight_at(weight, o3, kk)
                    d = base + cost[o3, kk] - ck + _delta_rows(load, cap, alpha, rows, amounts, 3)
                    if d < best:
                        best = d
                        best_o2 = o2
                        best_k = kk
                        best_o3 = o3
        if best_k >= 0:
            scalars[0] += cost[best_o2, j] - c1 + cost[best_o3, best_k] - cost[s[best_k], best_k]
            _move(s, load, members, pos, count, weight, row_of, cap, ints, j, best_o2)
            _move(s, load, members, pos, count, weight, row_of, cap, ints, best_k, best_o3)
            moved = True
            _keep_best(s, best_s, scalars, ints)
    return moved, work, idx
