"""The Lagrangian phase of :func:`~solver.allocation.gap.solve.solve_assignment`: the dual's
bound and prices (:mod:`~solver.allocation.gap.dual`), warm-started on problems with many jobs
from the dual of a random sample of them, each on its share of the run's deterministic work
(:mod:`~solver.allocation.gap.budget`)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from solver.allocation.gap.budget import DUAL_CELLS_PER_SECOND, idle_rate
from solver.allocation.gap.dual import DualResult, lagrangian_dual
from solver.allocation.gap.prices import lagrangian_value, offer_prices
from solver.allocation.gap.primal import primal_from_prices
from solver.allocation.gap.problem import AssignmentProblem
from solver.allocation.gap.state import Run

__all__ = ["lagrangian_phase", "sample_phase", "starts_from_sample"]

# With at least this many jobs the dual is first solved on a random sample of SAMPLE_JOBS
# jobs (capacities scaled in proportion) and then refined on all jobs.
SAMPLE_MIN_JOBS = 100_000
SAMPLE_JOBS = 40_000
# ... with this share of the Lagrangian phase's work (the rest refines on all jobs).
SAMPLE_SHARE = 0.4
# Before the core flow (transportation problems past FLOW_MAX_ARCS) the sample dual has this
# share of the exact phases' work (WorkClock.room) instead: its prices choose the core, and a
# core priced by a short ascent takes many more rounds of column generation. 1,000,000
# generated accounts, 3 Dec 2026, load 4-7 (sample dual's iterations: wall of sample + core
# flow, rounds): 50: 0.5 + 51 s, 12 rounds, not converged (gap 0.13 %); 100: 1.7 + 21.8 s, 5;
# 200: 2.7 + 13.4 s, 4, optimal; 300: 4.8 + 8.4 s, 3, optimal; 654 (converged): 7.0 + 13.1 s,
# 3, optimal. Before, the share of the paced dual budget gave 48 iterations at a 20-s limit.
# CORE_SAMPLE_WALL: the wall window per second of that work (the rate is for load 3-5).
CORE_SAMPLE_SHARE = 0.15
CORE_SAMPLE_WALL = 2.0
# ... and at most this many iterations (300 gave 3 rounds; a 60-s limit's share, 612, took
# 12 s of wall time at load 7 for nothing the core flow needed).
CORE_SAMPLE_MAX_ITERATIONS = 400
# The sample dual's iterations at most otherwise (its work share decides before this binds).
SAMPLE_MAX_ITERATIONS = 1500
# Share of the limit's work of the Lagrangian ascent (small problems / others).
DUAL_SHARE_SMALL = 0.1
DUAL_SHARE = 0.3


def starts_from_sample(n_jobs: int, dual_method: str) -> bool:
    """Whether the dual starts from the prices of a random sample of the jobs (many jobs,
    ``SAMPLE_MIN_JOBS``, and ``dual_method="auto"``)."""
    return n_jobs >= SAMPLE_MIN_JOBS and dual_method == "auto"


def dual_iterations(seconds: float, cells: int, cap: int, rate: float) -> int:
    """Iteration budget of a Lagrangian ascent over a ``cells``-entry option matrix for
    ``seconds`` of work at ``rate`` cells per second, at most ``cap`` and at least one."""
    return max(1, min(cap, int(seconds * rate / max(cells, 1))))


def sample_prices(
    problem: AssignmentProblem,
    *,
    seed: int,
    deadline: float,
    seconds: float,
    cap: int = SAMPLE_MAX_ITERATIONS,
    rate: float,
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Dual prices of a random sample of jobs with capacities scaled to the sample's share."""
    n = problem.n_jobs
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(n, size=min(SAMPLE_JOBS, n), replace=False))
    share = pick.size / n
    sample = AssignmentProblem(
        cost=problem.cost[:, pick],
        weight=problem.weight[:, pick] if problem.weight.shape[1] > 1 else problem.weight,
        row_of=problem.row_of,
        capacity=problem.capacity * share,
        global_weight=problem.global_weight[:, :, pick]
        if problem.global_weight.shape[2] > 1
        else problem.global_weight,
        global_capacity=problem.global_capacity * share,
    )
    dual = lagrangian_dual(
        sample,
        deadline=deadline,
        max_iterations=dual_iterations(seconds, sample.cost.size, cap, rate),
    )
    return dual.prices, dual.global_prices, dual.iterations, dual.timed_out


def sample_phase(
    run: Run, phase: str, seconds: float | None = None
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """The dual of a random sample of jobs (:func:`sample_prices`) with ``SAMPLE_SHARE`` of
    the Lagrangian phase's work and wall share (problems that are not small), or ``seconds``
    of work at the dual's rate at load (``DUAL_CELLS_PER_SECOND``: the core flow's gate, not
    paced) and ``CORE_SAMPLE_WALL`` times that of wall clock, booked as ``phase``; solved
    once per call (the core flow and the dual start from the same one)."""
    cap = SAMPLE_MAX_ITERATIONS
    rate = idle_rate("lagrangian")
    if seconds is None:
        seconds = SAMPLE_SHARE * DUAL_SHARE * run.clock.total
        wall = run.clock.window(seconds)
    else:
        cap, rate = CORE_SAMPLE_MAX_ITERATIONS, DUAL_CELLS_PER_SECOND
        seconds = min(seconds, cap * run.problem.cost.shape[0] * SAMPLE_JOBS / rate)
        wall = CORE_SAMPLE_WALL * seconds
    started = time.perf_counter()
    sample = sample_prices(
        run.problem,
        seed=run.seed,
        deadline=min(run.deadline, time.perf_counter() + wall),
        seconds=seconds,
        cap=cap,
        rate=rate,
    )
    k = run.problem.cost.shape[0]
    run.stats["sample_dual_iterations"] = sample[2]
    run.clock.charge(
        phase,
        sample[2] * k * SAMPLE_JOBS / idle_rate("lagrangian"),
        seconds * rate / idle_rate("lagrangian"),
        time.perf_counter() - started,
    )
    if sample[3]:
        run.clock_stops.append(phase)
    return sample


def lagrangian_phase(
    run: Run,
    allowed: np.ndarray,
    *,
    small: bool,
    dual_method: str,
    pricing: Any,
    sample: tuple[np.ndarray, np.ndarray, int, bool] | None = None,
) -> DualResult:
    """Phase 1: the Lagrangian bound and prices.

    With many jobs the prices start from the dual of a random sample (``sample`` when the
    core flow solved it already), which also gives a first primal solution.
    """
    problem, stats = run.problem, run.stats
    k, n = problem.cost.shape
    share = DUAL_SHARE_SMALL if small else DUAL_SHARE
    budget = share * run.clock.total  # its work, in seconds
    wall = run.clock.window(budget)  # the phase's hard stop
    dual_seconds = budget
    start_prices = None
    if starts_from_sample(n, dual_method):
        # Prices are intensive quantities: solve the dual on a random sample with
        # proportionally scaled capacities first, then refine on all jobs.
        start_prices = sample_phase(run, "sample dual") if sample is None else sample
        dual_seconds = (1.0 - SAMPLE_SHARE) * budget
        run.offer(
            primal_from_prices(
                problem, allowed, start_prices[0], start_prices[1], deadline=run.deadline
            )
        )
    started = time.perf_counter()
    dual = lagrangian_dual(
        problem,
        deadline=min(run.deadline, time.perf_counter() + wall),
        max_iterations=dual_iterations(
            dual_seconds, k * n, 300 if small else 3000, idle_rate("lagrangian")
        ),
        upper_bound=problem.objective(run.incumbent) if run.incumbent is not None else None,
        allowed=allowed,
        prices=None if start_prices is None else start_prices[0],
        global_prices=None if start_prices is None else start_prices[1],
        step_scale=1.0 if start_prices is None else 0.25,
        pricing=pricing,
    )
    run.clock.charge(
        "lagrangian",
        dual.iterations * k * n / idle_rate("lagrangian"),
        dual_seconds,
        time.perf_counter() - started,
    )
    stats["lagrangian_bound"] = dual.bound
    value = lagrangian_value(stats, dual.prices, dual.bound)
    offer_prices(stats, dual.prices, value, "lagrangian")
    stats["global_prices"] = dual.global_prices
    stats["lagrangian_iterations"] = dual.iterations
    if dual.timed_out:
        run.clock_stops.append("lagrangian")
    return dual
