"""Lagrangian dual of the assignment problem: a proven lower bound and the row prices.

Relaxing the capacity rows with prices ``λ ≥ 0`` gives
``L(λ) = Σ_j min_o (c_oj + λ·w_oj) − λ·b``, a lower bound on the minimum (weak duality);
:func:`lagrangian_dual` maximises it by a deflected subgradient method with a Polyak step.
Its maximum equals the LP-relaxation bound. The per-job step runs in a pricing oracle
(:mod:`solver.allocation.pricing`), in process or on Dask workers, with bit-identical sums.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from solver.allocation.gap.problem import AssignmentProblem
from solver.allocation.pricing import LocalPricing

__all__ = ["DualResult", "lagrangian_dual"]


@dataclass(frozen=True, eq=False)
class DualResult:
    """Best Lagrangian bound found and the prices that give it.

    Attributes
    ----------
    bound
        ``L(λ*)``, a valid lower bound on the minimum (``-inf`` if no job can be assigned).
    prices
        Own-row prices ``λ*`` (``R``).
    global_prices
        Global-row prices ``μ*`` (``G``).
    choice
        Cheapest option per job under ``λ*`` (the Lagrangian subproblem's solution).
    iterations
        Subgradient iterations done.
    timed_out
        ``True`` when the deadline (wall clock) stopped the ascent, so that a rerun may stop
        at another iteration; ``False`` when it stopped on its own criteria or on
        ``max_iterations``.
    """

    bound: float
    prices: np.ndarray
    global_prices: np.ndarray
    choice: np.ndarray
    iterations: int
    timed_out: bool = False


def lagrangian_dual(
    problem: AssignmentProblem,
    *,
    deadline: float,
    max_iterations: int = 2_000,
    upper_bound: float | None = None,
    allowed: np.ndarray | None = None,
    tolerance: float = 1e-6,
    prices: np.ndarray | None = None,
    global_prices: np.ndarray | None = None,
    step_scale: float = 1.0,
    pricing: Any = None,
) -> DualResult:
    """Maximise the Lagrangian bound over row prices by deflected subgradient ascent.

    Parameters
    ----------
    problem
        The assignment problem (minimisation).
    deadline
        ``time.perf_counter()`` value at which to stop.
    max_iterations
        Iteration cap.
    upper_bound
        Objective of a known feasible solution, used as the Polyak target.
    allowed
        Precomputed :meth:`AssignmentProblem.allowed` mask.
    tolerance
        Stop when the relative gap to ``upper_bound`` falls below it (or the bound rose by
        less than that over the last 100 iterations).
    prices, global_prices
        Starting prices (default zero).
    step_scale
        Initial Polyak step factor (smaller when starting from good prices).
    pricing
        Factory ``pricing(masked_problem) -> PricingOracle`` of the per-job step (each job's
        cheapest option under the prices, the sum of those reduced costs and the row use);
        default :class:`solver.allocation.pricing.LocalPricing`, in process. The Dask engine passes one
        whose column blocks live on the workers (:class:`solver.allocation.pricing.DaskPricing`); both
        return bit-identical sums, so prices and bound do not depend on the engine.
    """
    k, n = problem.cost.shape
    r, g = problem.capacity.size, problem.global_capacity.size
    allowed = problem.allowed() if allowed is None else allowed
    cost = np.where(allowed, problem.cost, np.inf)
    masked = replace(problem, cost=cost)
    oracle = (pricing or LocalPricing)(masked)
    lam, mu = _start_prices(prices, r), _start_prices(global_prices, g)
    best = -math.inf
    best_lam, best_mu = lam.copy(), mu.copy()
    dir_lam, dir_mu = np.zeros(r), np.zeros(g)
    alpha, stall = float(step_scale), 0
    history: list[float] = []
    it = 0
    timed_out = False
    for it in range(1, max_iterations + 1):
        evaluation = oracle.price(lam, mu)
        value = (
            evaluation.value - float(lam @ problem.capacity) - float(mu @ problem.global_capacity)
        )
        if not math.isfinite(value):
            choice = oracle.choice(lam, mu)
            oracle.close()
            return DualResult(math.inf, lam, mu, choice, it)  # a job has no allowed option
        usage, global_usage = evaluation.usage()
        sub_lam = usage - problem.capacity
        sub_mu = global_usage - problem.global_capacity
        if best == -math.inf or value > best + 1e-12 * max(1.0, abs(best)):
            best, best_lam, best_mu = value, lam.copy(), mu.copy()
            stall = 0
        else:
            stall += 1
            if stall >= 15:
                alpha *= 0.5
                stall = 0
        # Projected subgradient: a zero price with negative slack-direction cannot move.
        sub_lam = np.where((lam <= 0) & (sub_lam < 0), 0.0, sub_lam)
        sub_mu = np.where((mu <= 0) & (sub_mu < 0), 0.0, sub_mu)
        if not sub_lam.any() and not sub_mu.any():
            break  # complementary slackness holds: λ is optimal for the dual
        dir_lam = sub_lam + 0.3 * dir_lam
        dir_mu = sub_mu + 0.3 * dir_mu
        norm = float(dir_lam @ dir_lam + dir_mu @ dir_mu)
        if norm <= 0.0:
            break
        if upper_bound is not None and math.isfinite(upper_bound):
            target = upper_bound
            if (upper_bound - best) <= tolerance * max(1.0, abs(upper_bound)):
                break
        else:
            target = best + 0.05 * max(1.0, abs(best)) if math.isfinite(best) else value + 1.0
        step = alpha * max(target - value, 1e-9 * max(1.0, abs(value))) / norm
        lam = np.maximum(0.0, lam + step * dir_lam)
        mu = np.maximum(0.0, mu + step * dir_mu)
        if alpha < 1e-6:
            break
        # Stop on stagnation: the bound rose by less than `tolerance` over the last 100 steps.
        history.append(best)
        if len(history) > 100:
            if best - history[-101] <= tolerance * max(1.0, abs(best)):
                break
        if it < max_iterations and time.perf_counter() >= deadline:
            timed_out = True
            break
    # the cheapest options at the best prices (the oracle keeps no per-job state)
    best_choice = oracle.choice(best_lam, best_mu)
    oracle.close()
    return DualResult(best, best_lam, best_mu, best_choice, it, timed_out)


def _start_prices(prices: np.ndarray | None, size: int) -> np.ndarray:
    """Starting prices: zero, or a copy of ``prices`` with negative entries raised to zero."""
    if prices is None:
        return np.zeros(size)
    return np.maximum(np.asarray(prices, dtype=np.float64), 0.0).copy()
