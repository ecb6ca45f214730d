"""The tabu search's moves (compiled): the neighbourhood scan, the aspiration test, the move.

One iteration of :mod:`~solver.allocation.gap.tabu` scans every shift and swap
(:func:`best_move`: one loop nest, because a compiled call per job inside it cost about 20 %
of the scan's time), takes the best that is not tabu or aspires, and applies it
(:func:`apply_move`: loads, cost, tabu tenures). The penalty multiplier's oscillation, the
elite assignments and the restarts stay in the tabu module.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from solver.allocation.gap.compiled import is_over, weight_at

__all__ = ["EPS", "apply_move", "best_move"]

#: Relative tolerance of the cost comparisons (of the scan and of the elite).
EPS = 1e-9


@njit(cache=True, inline="always")
def _over(load: float, cap: float) -> float:
    d = load - cap
    return d if d > 0.0 else 0.0


@njit(cache=True, inline="always")
def _dpen(
    load: np.ndarray, cap: np.ndarray, scale: np.ndarray, mu: float, r: int, d: float
) -> float:
    """Penalty change of adding ``d`` to row ``r`` (``-1``: none) at the multiplier ``mu``."""
    if r < 0 or d == 0.0:
        return 0.0
    return scale[r] * mu * (_over(load[r] + d, cap[r]) - _over(load[r], cap[r]))


@njit(cache=True, inline="always")
def _over_after(
    load: np.ndarray, cap: np.ndarray, n_over: int, a: int, da: float, b: int, db: float
) -> int:
    """Rows over capacity after adding ``da`` to row ``a`` and ``db`` to row ``b`` (``a ≠ b``)."""
    out = n_over
    if a >= 0:
        out += is_over(load[a] + da, cap[a]) - is_over(load[a], cap[a])
    if b >= 0:
        out += is_over(load[b] + db, cap[b]) - is_over(load[b], cap[b])
    return out


@njit(cache=True, inline="always")
def _first_after(cols: np.ndarray, lo: int, hi: int, j: int) -> int:
    """The first index in ``[lo, hi)`` of the ascending ``cols`` whose job is after ``j``
    (``hi`` when none): a bisection."""
    while lo < hi:
        mid = (lo + hi) // 2
        if cols[mid] <= j:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def best_move(
    cost: np.ndarray, allowed: np.ndarray, weight: np.ndarray, row_of: np.ndarray,
    cap: np.ndarray, scale: np.ndarray, s: np.ndarray, load: np.ndarray, tabu: np.ndarray,
    ptr: np.ndarray, cols: np.ndarray, current: float, best_cost: float, mu: float, it: int,
    n_over: int, offset: int, job_tabu: bool, full: bool, window: int,
) -> tuple[int, int, int, int, int, int]:  # fmt: skip
    """The scan: the best admissible move of the whole neighbourhood at the multiplier ``mu``.

    Jobs in order, each one's shifts then its swaps with later jobs (a rotating window of
    them from ``offset`` on large problems); a move replaces the best so far only when
    strictly better (beyond the relative tolerance), so the first of equal moves is kept; a
    tabu move only by aspiration (:func:`_aspires`). Returns ``(kind, j1, o2, j2, moves
    evaluated)``: kind 0 none, 1 the shift ``j1 -> o2``, 2 the swap ``j1 <-> j2`` (``o2``:
    ``j2``'s option), then the moves evaluated and the swap partners looked at. On small
    problems a job's partners are the later jobs its option allows, in order, from the
    option's compressed list (``ptr``, ``cols``): the same moves in the same order as
    testing every later job, without the tests of the pairs not allowed, whose unpredictable
    branches made the scan 2.4-2.9 times slower on sub-problems with about half their pairs
    allowed (e10200's and e10400's elite searches, 5 Dec 2026; 5 % faster with all pairs
    allowed, d10400). One loop nest on purpose: split into a compiled call per job's shifts
    and one per its swaps, the scan ran about 20 % slower (CPU time, Chu–Beasley d10200 and
    d20200, 4 Dec 2026), inlined or not; the swap's evaluation as an inlined compiled
    function returning a tuple ran 2-7 times slower (5 Dec 2026).
    """
    k, n = cost.shape
    best_d = math.inf
    kind = 0  # 1 shift (j1 -> o2), 2 swap (j1 <-> j2)
    mj1 = -1
    mo2 = -1
    mj2 = -1
    work = 0
    steps = 0  # swap partners looked at
    for j1 in range(n):
        o1 = s[j1]
        a = row_of[o1]
        w1 = weight_at(weight, o1, j1)
        c1 = cost[o1, j1]
        rem = _dpen(load, cap, scale, mu, a, -w1)
        # shifts
        for o2 in range(k):
            if o2 == o1 or not allowed[o2, j1]:
                continue
            work += 1
            b = row_of[o2]
            w2 = weight_at(weight, o2, j1)
            if b == a:
                dp = _dpen(load, cap, scale, mu, a, w2 - w1)
            else:
                dp = rem + _dpen(load, cap, scale, mu, b, w2)
            dc = cost[o2, j1] - c1
            d = dc + dp
            if d < best_d - EPS * (1.0 + abs(d)):
                if tabu[o2, j1] > it or (job_tabu and tabu[o1, j1] > it):
                    if b == a or not _aspires(
                        current + dc, best_cost, load, cap, n_over, a, -w1, b, w2
                    ):
                        continue
                best_d = d
                kind = 1
                mj1 = j1
                mo2 = o2
        # swaps with a later job: on small problems every later job that option o1 allows,
        # in order (its allowed jobs, cols[ptr[o1]:ptr[o1 + 1]], from the first after j1);
        # on large problems a rotating window of later jobs from ``offset``
        if full:
            first = _first_after(cols, ptr[o1], ptr[o1 + 1], j1)
            count = ptr[o1 + 1] - first
        else:
            first = 0
            count = min(window, n - 1)
        steps += count
        for t in range(count):
            j2 = cols[first + t] if full else (j1 + 1 + (offset + t) % (n - 1)) % n
            o2 = s[j2]
            b = row_of[o2]
            if b == a or o2 == o1 or not allowed[o2, j1] or not allowed[o1, j2]:
                continue
            work += 1
            da = weight_at(weight, o1, j2) - w1
            db = weight_at(weight, o2, j1) - weight_at(weight, o2, j2)
            dc = cost[o2, j1] + cost[o1, j2] - c1 - cost[o2, j2]
            d = dc + _dpen(load, cap, scale, mu, a, da) + _dpen(load, cap, scale, mu, b, db)
            if d < best_d - EPS * (1.0 + abs(d)):
                if (
                    tabu[o2, j1] > it
                    or tabu[o1, j2] > it
                    or (job_tabu and (tabu[o1, j1] > it or tabu[o2, j2] > it))
                ):
                    if not _aspires(current + dc, best_cost, load, cap, n_over, a, da, b, db):
                        continue
                best_d = d
                kind = 2
                mj1 = j1
                mo2 = o2
                mj2 = j2
    return kind, mj1, mo2, mj2, work, steps


@njit(cache=True, inline="always")
def _aspires(
    cost_after: float, best_cost: float, load: np.ndarray, cap: np.ndarray, n_over: int,
    a: int, da: float, b: int, db: float,
) -> bool:  # fmt: skip
    """Aspiration: a tabu move is taken only when it reaches a feasible assignment cheaper
    than the best (``cost_after``: its cost; ``da``, ``db``: the loads it adds to rows
    ``a`` and ``b``)."""
    if cost_after >= best_cost - EPS * (1.0 + abs(best_cost)):
        return False
    return _over_after(load, cap, n_over, a, da, b, db) == 0


@njit(cache=True)
def apply_move(
    cost: np.ndarray, weight: np.ndarray, row_of: np.ndarray, s: np.ndarray, load: np.ndarray,
    tabu: np.ndarray, scalars: np.ndarray, kind: int, mj1: int, mo2: int, mj2: int,
    until: int, job_tabu: bool,
) -> None:  # fmt: skip
    """Make the move (kind 1: shift ``mj1 -> mo2``; 2: swap ``mj1 <-> mj2``, ``mo2`` being
    ``mj2``'s option): the assignment, the cost (``scalars[0]``), the row loads, and the
    options left made tabu until iteration ``until`` (the options taken too with
    ``job_tabu``)."""
    o1 = s[mj1]
    a = row_of[o1]
    b = row_of[mo2]
    if kind == 1:
        scalars[0] += cost[mo2, mj1] - cost[o1, mj1]
        if a >= 0:
            load[a] -= weight_at(weight, o1, mj1)
        if b >= 0:
            load[b] += weight_at(weight, mo2, mj1)
        s[mj1] = mo2
        tabu[o1, mj1] = until
        if job_tabu:
            tabu[mo2, mj1] = until
    else:
        scalars[0] += cost[mo2, mj1] + cost[o1, mj2] - cost[o1, mj1] - cost[mo2, mj2]
        if a >= 0:
            load[a] += weight_at(weight, o1, mj2) - weight_at(weight, o1, mj1)
        if b >= 0:
            load[b] += weight_at(weight, mo2, mj1) - weight_at(weight, mo2, mj2)
        s[mj1] = mo2
        s[mj2] = o1
        tabu[o1, mj1] = until
        tabu[mo2, mj2] = until
        if job_tabu:
            tabu[mo2, mj1] = until
            tabu[o1, mj2] = until
