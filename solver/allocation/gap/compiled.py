"""Primitives shared by the compiled local searches (ejection chains, tabu search).

The ejection-chain search (:mod:`~solver.allocation.gap.ejection`) and the tabu search
(:mod:`~solver.allocation.gap.tabu`) score and move assignments the same way: one test of a
row over capacity, one random-number generator, one weight lookup, one from-scratch
evaluation of an assignment, and the same contiguous copies of the problem's arrays and
penalty floor. Defined once here so the two searches cannot drift apart.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from solver.allocation.gap.problem import AssignmentProblem

__all__ = [
    "EJECTION_MAX_CELLS",
    "assignment_state",
    "is_over",
    "kernel_arrays",
    "penalty_floor",
    "weight_at",
    "xorshift",
]

#: Largest ``rows × jobs`` for the per-row member lists (memory: 4 bytes each).
EJECTION_MAX_CELLS = 60_000_000


@njit(cache=True, inline="always")
def is_over(load: float, cap: float) -> int:
    """1 when ``load`` exceeds ``cap`` beyond rounding, else 0."""
    return 1 if load > cap + 1e-9 * (1.0 + abs(cap)) else 0


@njit(cache=True)
def xorshift(state: np.ndarray) -> int:
    """xorshift64* (state[0] is the 64-bit state, never zero)."""
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    return int((x * np.uint64(2685821657736338717)) >> np.uint64(33))


@njit(cache=True)
def weight_at(weight: np.ndarray, o: int, j: int) -> float:
    """Weight of option ``o`` for job ``j`` (``weight`` is ``K × n`` or ``K × 1``)."""
    return weight[o, j] if weight.shape[1] > 1 else weight[o, 0]


@njit(cache=True)
def assignment_state(
    cost: np.ndarray, weight: np.ndarray, row_of: np.ndarray, cap: np.ndarray, s: np.ndarray,
    load: np.ndarray,
) -> tuple[float, int]:  # fmt: skip
    """Loads of ``s`` from scratch (into ``load``); returns its cost and the number of rows
    over capacity. The one from-scratch evaluation of the compiled searches."""
    load[:] = 0.0
    total = 0.0
    for j in range(s.size):
        o = s[j]
        total += cost[o, j]
        r = row_of[o]
        if r >= 0:
            load[r] += weight_at(weight, o, j)
    n_over = 0
    for r in range(cap.size):
        n_over += is_over(load[r], cap[r])
    return total, n_over


def kernel_arrays(
    problem: AssignmentProblem, allowed: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The compiled searches' contiguous copies: cost (0 where not allowed), weight, the
    options' rows and the capacities.

    Always fresh (writable) copies: numba compiles one version per read-only flag, and the
    problem's own arrays are read-only, so passing them through when their dtype already
    fits (``np.ascontiguousarray``) compiled a second version inside the first timed call
    the warm-up's float weights did not cover (integer weights, as the GAP files give)."""
    return (
        np.ascontiguousarray(np.where(allowed, problem.cost, 0.0)),
        np.array(problem.weight, dtype=np.float64, order="C"),
        np.array(problem.row_of, dtype=np.int64, order="C"),
        np.array(problem.capacity, dtype=np.float64, order="C"),
    )


def penalty_floor(
    problem: AssignmentProblem, allowed: np.ndarray, prices: np.ndarray
) -> np.ndarray:
    """Per capacity row, the least penalty weight per unit of excess: the row's Lagrangian
    price, at least 5 % of a typical cost difference per unit of weight."""
    weight = np.asarray(problem.weight, dtype=np.float64)
    spread = np.where(allowed, problem.cost, np.nan)
    with np.errstate(invalid="ignore"):
        typical = float(np.nanmedian(np.nanmax(spread, axis=0) - np.nanmin(spread, axis=0)))
    wmean = float(np.mean(weight[weight > 0])) if (weight > 0).any() else 1.0
    base = max(typical / max(wmean, 1e-12), 1e-9) if math.isfinite(typical) else 1.0
    return np.maximum(np.asarray(prices, dtype=np.float64), 0.05 * base)
