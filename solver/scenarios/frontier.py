"""The efficient frontier of a sweep (SPEC §9): the runs no other run beats on two KPIs
(:func:`efficient_frontier`; used by :mod:`solver.scenarios.sweep` and its chart)."""

from __future__ import annotations

import numpy as np

__all__ = ["efficient_frontier"]


def efficient_frontier(cost: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Points not dominated by another (no other has cost ≤ and value ≥, one strictly)."""
    cost = np.asarray(cost, dtype=float)
    value = np.asarray(value, dtype=float)
    better_or_equal = (cost[None, :] <= cost[:, None]) & (value[None, :] >= value[:, None])
    strictly = (cost[None, :] < cost[:, None]) | (value[None, :] > value[:, None])
    return ~np.any(better_or_equal & strictly, axis=1)
