"""Generalized Assignment Problem core with an optimality certificate.

Two entry points share one machinery:

* :func:`solve_gap` — the classic GAP: ``m`` agents with capacities, ``n`` jobs, every job
  to exactly one agent, cost (or profit) ``c[i, j]`` and resource use ``a[i, j]``;
* :func:`solve_assignment` — the general form used by the portfolio allocation
  (:mod:`solver.allocation.portfolio`): ``K`` *options* per job (treatment × team), each option uses
  capacity on at most one *own row* (its team's minutes) and on any number of *global rows*
  (the budget); options may be forbidden per job (``cost = +inf``) and may be uncapacitated
  (``row_of = -1``, e.g. treatment ``none``).

Method
------
1. **Bound.** Lagrangian relaxation of the capacity rows: for prices ``λ ≥ 0``,
   ``L(λ) = Σ_j min_o (c_oj + λ·w_oj) − λ·b`` is a lower bound on the minimum (weak duality);
   it is maximised by a deflected subgradient method with a Polyak step (vectorised numpy,
   one ``K × n`` pass per iteration). Its maximum equals the LP-relaxation bound. For
   integer costs the bound is rounded up.
2. **Exact search on small instances.** CP-SAT on the full model (one Boolean per allowed
   job–option pair, an exactly-one constraint per job, one linear constraint per capacity
   row), warm-started with ``add_hint`` from the Lagrangian/greedy solution, seeded, with
   ``num_workers`` pinned. Its proven bound is combined with the Lagrangian one.
3. **Decomposition on large instances.** Primal solution from the Lagrangian prices (each job
   takes its cheapest option under prices), a vectorised repair of overloaded rows and a
   shift/fill local search; if repair fails, CP-SAT on the reduced model that keeps for every
   job only the options with the smallest Lagrangian reduced costs. Then large-neighbourhood
   search: free the jobs of a few related rows and re-optimise them exactly with CP-SAT
   (agent-subset neighbourhoods, sizes adapted to how fast the sub-solves close).

The certificate is always known: ``bound`` is a proven bound on the optimum of the full
problem (never of a reduced model) and ``gap`` is the relative gap

    ``gap = |objective − bound| / max(1, |objective|)``

(the CP-SAT / MathOpt convention): 0 when proven optimal, ``inf`` without a solution.
Every path respects the deadline ``time_limit`` (wall clock, seconds).

Determinism: the same problem and seed give the same result whenever the wall clock stops
nothing. Every phase that could run until the deadline has a budget of deterministic work
computed from ``time_limit`` alone (never from the clock): an iteration count for the
Lagrangian ascent, CP-SAT's deterministic time for the exact, reduced and LNS searches, and
the LNS's neighbourhood adapts to that deterministic time, not to seconds. The other phases
(repair, shift/swap local search, regret construction) stop on their own criteria. CP-SAT is
seeded; with one worker its search is reproducible for a given deterministic time, while a
parallel run (``workers > 1``) is not: its threads share solutions as timing allows.
(CP-SAT's deterministic ``interleave_search`` mode overshoots small deterministic budgets by
whole batches — measured 2.7 against a budget of 1.1 — so it does not help here.)
:func:`solver.allocation.portfolio.allocate` therefore uses one worker; ``bench gap`` uses two. The
budgets are sized (``WORK_SAFETY``) to use about half of the time limit on the
project machine, so a machine up to about twice slower, or loaded, gives the same result;
the wall clock is only the hard stop. When it does stop a phase first, the result says which
(``stats["wall_clock_stop"]``): its certificate is still valid, but a rerun may differ.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from solver.domain import Status, cp_sat_status

__all__ = [
    "AssignmentProblem",
    "AssignmentResult",
    "DualResult",
    "Status",
    "lagrangian_dual",
    "relative_gap",
    "solve_assignment",
    "solve_gap",
    "solve_gap_cpsat_plain",
]

# Problems with at most this many allowed job–option pairs go to the exact CP-SAT path.
EXACT_MAX_PAIRS = 6_000
# The reduced CP-SAT model (first solution of large GAPs) keeps this many options per job.
REDUCED_OPTIONS_PER_JOB = 8
# Largest number of pairs for which CP-SAT models (reduced or sub-problems) are built at all.
CPSAT_MAX_PAIRS = 400_000
# With at least this many jobs the dual is first solved on a random sample of SAMPLE_JOBS
# jobs (capacities scaled in proportion) and then refined on all jobs.
SAMPLE_MIN_JOBS = 100_000
SAMPLE_JOBS = 40_000
# Swap local search evaluates all job pairs per round: only for up to this many jobs.
SWAP_MAX_JOBS = 4_000
# Share of the remaining time the exact path gives CP-SAT before switching to LNS.
EXACT_SHARE = 0.25
# Share of the time left after the first CP-SAT run that small problems keep for a final,
# warm-started CP-SAT run (to prove optimality of the LNS solution).
FINAL_EXACT_SHARE = 0.4
# Work budgets (reproducibility). Every phase that could run until the time limit (the
# Lagrangian ascent, the CP-SAT searches, the LNS) gets a budget of deterministic work
# computed from ``time_limit`` alone, never from the clock: iterations of the ascent, CP-SAT's
# deterministic time. The rates below were measured on the project machine (2 shared cores,
# `benchmarks/README.md`) and are multiplied by WORK_SAFETY, so a budget normally uses about
# half of its share of the time limit: the same inputs and seed then give the same result on
# a machine (or a load) up to about twice slower. The wall-clock ``time_limit`` stays the hard
# stop; a result it stopped says so (``stats["wall_clock_stop"]``) and a rerun may differ.
WORK_SAFETY = 0.5
# CP-SAT deterministic seconds per wall-clock second, one worker (measured 30 Nov 2026:
# 0.26–0.5 on full GAP models of 400–5,000 pairs, 0.5–0.75 on LNS sub-problems).
CPSAT_DET_PER_SECOND = 0.3
# Cells of the K × n option matrix priced per second by the Lagrangian ascent (its pricing
# pass is dense: forbidden pairs cost as much as allowed ones; measured 1.2e8 at 200,000
# accounts, 2.0e8 at 20,000).
DUAL_CELLS_PER_SECOND = 1.2e8
# LNS work (see _lns_work, deterministic seconds) per wall-clock second (measured 0.73–0.89
# on 8,000–20,000-account allocations, about 0.4 on GAPs of 100–500 jobs).
LNS_WORK_PER_SECOND = 0.45
# Work charged per LNS iteration, and per job freed in it (model building, Python).
LNS_ITERATION_WORK = 0.002
LNS_JOB_WORK = 2.0e-5
# Deterministic-time budget of one LNS sub-problem, and the "closes fast" threshold that
# grows the neighbourhood (about 0.25 s and 0.15 s on the project machine).
LNS_SUBSOLVE_DET = 0.125
LNS_FAST_DET = 0.09
# Wall-clock cap of one LNS sub-problem (seconds): a hard stop only, well above the
# deterministic budget's usual wall time.
LNS_SUBSOLVE_LIMIT = 2.0
# Share of the time limit of the Lagrangian ascent (small problems / others).
DUAL_SHARE_SMALL = 0.1
DUAL_SHARE = 0.3
# CP-SAT linearization level of LNS sub-problems (2: full LP relaxation of the knapsacks).
LNS_LINEARIZATION = 2


def relative_gap(objective: float, bound: float) -> float:
    """Relative optimality gap ``|objective − bound| / max(1, |objective|)``.

    ``inf`` when either value is missing (NaN or infinite).

    Examples
    --------
    >>> relative_gap(105.0, 100.0)
    0.047619047619047616
    >>> relative_gap(3.0, 3.0)
    0.0
    """
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return math.inf
    return abs(objective - bound) / max(1.0, abs(objective))


@dataclass(frozen=True, eq=False)
class AssignmentResult:
    """Solution of an assignment problem together with its optimality certificate.

    Attributes
    ----------
    assignment
        Agent (option) index per job; ``-1`` everywhere when there is no solution.
    objective
        Objective value of ``assignment`` in the caller's sense (NaN without a solution).
    bound
        Proven bound on the optimum (lower for ``"min"``, upper for ``"max"``); NaN if unknown.
    gap
        :func:`relative_gap` of ``objective`` and ``bound``; 0 when proven optimal.
    status
        :class:`Status`.
    runtime
        Wall-clock seconds spent.
    method
        Which path produced the solution (``"cp-sat"``, ``"lagrangian+lns"``, …).
    sense
        ``"min"`` or ``"max"``.
    message
        A sentence explaining an infeasible or time-limited result.
    stats
        Diagnostics: Lagrangian iterations and bound, LNS iterations, CP-SAT statuses, ….
    """

    assignment: np.ndarray
    objective: float
    bound: float
    gap: float
    status: Status
    runtime: float
    method: str
    sense: str = "min"
    message: str = ""
    stats: Mapping[str, Any] = field(default_factory=dict)

    @property
    def has_solution(self) -> bool:
        """Whether ``assignment`` is a feasible solution."""
        return self.status.has_solution

    def summary(self) -> str:
        """One-line human-readable certificate."""
        parts = [f"status={self.status.name}"]
        if self.has_solution:
            parts.append(f"objective={self.objective:,.2f}")
        if math.isfinite(self.bound):
            parts.append(f"bound={self.bound:,.2f}")
        parts.append(f"gap={self.gap:.4%}" if math.isfinite(self.gap) else "gap=inf")
        parts.append(f"runtime={self.runtime:.2f}s")
        parts.append(f"method={self.method}")
        text = " ".join(parts)
        return f"{text} ({self.message})" if self.message else text


def _per_option(row_values: np.ndarray, row_of: np.ndarray, fill: float) -> np.ndarray:
    """``row_values[row_of[o]]`` per option, ``fill`` for uncapacitated options (``-1``)."""
    extended = np.r_[np.asarray(row_values, dtype=np.float64), fill]
    return extended[np.where(row_of >= 0, row_of, extended.size - 1)]


@dataclass(frozen=True, eq=False)
class AssignmentProblem:
    """Assignment of jobs to options under capacity rows (minimisation, read-only arrays).

    Attributes
    ----------
    cost
        ``K × n`` cost of giving job ``j`` option ``o``; ``+inf`` forbids the pair.
    weight
        ``K × n`` (or ``K × 1``, broadcast) use of the option's own capacity row.
    row_of
        ``K`` own-row index per option, ``-1`` for an uncapacitated option.
    capacity
        ``R`` own-row capacities.
    global_weight
        ``G × K × n`` (or ``G × K × 1``) use of the global rows (e.g. budget), possibly empty.
    global_capacity
        ``G`` global-row capacities.
    """

    cost: np.ndarray
    weight: np.ndarray
    row_of: np.ndarray
    capacity: np.ndarray
    global_weight: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 1)))
    global_capacity: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        k, n = self.cost.shape
        if self.weight.shape not in ((k, n), (k, 1)):
            raise ValueError(f"weight must be {k}×{n} or {k}×1, got {self.weight.shape}")
        if self.row_of.shape != (k,):
            raise ValueError(f"row_of must have {k} entries, got {self.row_of.shape}")
        if self.row_of.size and (self.row_of.max() >= self.capacity.size or self.row_of.min() < -1):
            raise ValueError("row_of must index capacity rows or be -1")
        g = self.global_capacity.size
        gw = self.global_weight
        if g == 0:
            object.__setattr__(self, "global_weight", np.zeros((0, k, 1)))
        elif gw.ndim != 3 or gw.shape[0] != g or gw.shape[1] != k or gw.shape[2] not in (1, n):
            raise ValueError(f"global_weight must be {g}×{k}×{n} or {g}×{k}×1, got {gw.shape}")
        if np.isnan(self.cost).any():
            raise ValueError("cost must not contain NaN (use +inf to forbid a pair)")
        for name in ("weight", "capacity", "global_weight", "global_capacity"):
            arr = getattr(self, name)
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} must be finite")
            if (arr < 0).any():
                raise ValueError(f"{name} must be non-negative")
        for name in ("cost", "weight", "row_of", "capacity", "global_weight", "global_capacity"):
            getattr(self, name).setflags(write=False)

    @property
    def n_jobs(self) -> int:
        """Number of jobs ``n``."""
        return int(self.cost.shape[1])

    @property
    def n_options(self) -> int:
        """Number of options ``K``."""
        return int(self.cost.shape[0])

    def _weight_of(self, assignment: np.ndarray, jobs: np.ndarray | None = None) -> np.ndarray:
        jobs = np.arange(self.n_jobs) if jobs is None else jobs
        col = jobs if self.weight.shape[1] > 1 else np.zeros_like(jobs)
        return self.weight[assignment, col]

    def _global_weight_of(
        self, assignment: np.ndarray, jobs: np.ndarray | None = None
    ) -> np.ndarray:
        jobs = np.arange(self.n_jobs) if jobs is None else jobs
        if self.global_capacity.size == 0:
            return np.zeros((0, jobs.size))
        col = jobs if self.global_weight.shape[2] > 1 else np.zeros_like(jobs)
        return self.global_weight[:, assignment, col]

    def objective(self, assignment: np.ndarray) -> float:
        """Total cost of an assignment (``inf`` if it uses a forbidden pair)."""
        return float(self.cost[assignment, np.arange(self.n_jobs)].sum())

    def row_usage(self, assignment: np.ndarray) -> np.ndarray:
        """Use of each own row by an assignment."""
        rows = self.row_of[assignment]
        w = self._weight_of(assignment)
        mask = rows >= 0
        return np.bincount(rows[mask], weights=w[mask], minlength=self.capacity.size)

    def row_usage_of(self, assignment: np.ndarray, jobs: np.ndarray) -> np.ndarray:
        """Use of each own row by the given jobs only."""
        opts = assignment[jobs]
        rows = self.row_of[opts]
        w = self._weight_of(opts, jobs)
        mask = rows >= 0
        return np.bincount(rows[mask], weights=w[mask], minlength=self.capacity.size)

    def global_usage(self, assignment: np.ndarray) -> np.ndarray:
        """Use of each global row by an assignment."""
        return self._global_weight_of(assignment).sum(axis=1)

    def is_feasible(self, assignment: np.ndarray, tol: float = 1e-9) -> bool:
        """Whether every job has an allowed option and no row is over capacity."""
        if assignment.shape != (self.n_jobs,) or (assignment < 0).any():
            return False
        if not np.isfinite(self.cost[assignment, np.arange(self.n_jobs)]).all():
            return False
        scale = 1.0 + np.abs(self.capacity)
        if (self.row_usage(assignment) > self.capacity + tol * scale).any():
            return False
        gscale = 1.0 + np.abs(self.global_capacity)
        return not (self.global_usage(assignment) > self.global_capacity + tol * gscale).any()

    def allowed(self) -> np.ndarray:
        """``K × n`` mask of pairs that are allowed and fit their rows on their own."""
        mask = np.isfinite(self.cost)
        own_cap = _per_option(self.capacity, self.row_of, np.inf)
        mask &= self.weight <= own_cap[:, None]
        for g in range(self.global_capacity.size):
            mask &= self.global_weight[g] <= self.global_capacity[g]
        return mask

    def reduced_costs(
        self, prices: np.ndarray, global_prices: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Lagrangian reduced costs ``c_oj + λ_row(o)·w_oj + Σ_g μ_g·w^g_oj`` (``K × n``)."""
        own = _per_option(prices, self.row_of, 0.0)
        out = (
            np.multiply(self.weight, own[:, None], out=out)
            if out is not None
            else self.weight * own[:, None]
        )
        if out.shape != self.cost.shape:
            out = np.broadcast_to(out, self.cost.shape).copy()
        out += self.cost
        for g in range(self.global_capacity.size):
            if global_prices[g] != 0.0:
                out += global_prices[g] * self.global_weight[g]
        return out


# --------------------------------------------------------------------------------------------
# Lagrangian dual (bound and prices)
# --------------------------------------------------------------------------------------------


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
    masked = AssignmentProblem(
        cost=cost,
        weight=problem.weight,
        row_of=problem.row_of,
        capacity=problem.capacity,
        global_weight=problem.global_weight,
        global_capacity=problem.global_capacity,
    )
    from solver.allocation.pricing import LocalPricing

    oracle = (pricing or LocalPricing)(masked)
    lam = (
        np.zeros(r)
        if prices is None
        else np.maximum(np.asarray(prices, dtype=np.float64), 0.0).copy()
    )
    mu = (
        np.zeros(g)
        if global_prices is None
        else np.maximum(np.asarray(global_prices, dtype=np.float64), 0.0).copy()
    )
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


# --------------------------------------------------------------------------------------------
# Primal heuristics: repair and shift/fill local search (vectorised)
# --------------------------------------------------------------------------------------------


def _slacks(problem: AssignmentProblem, assignment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (
        problem.capacity - problem.row_usage(assignment),
        problem.global_capacity - problem.global_usage(assignment),
    )


def _full(arr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return arr if arr.shape == shape else np.broadcast_to(arr, shape)


def _accept_within(
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


def _repair(
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
        slack, gslack = _slacks(problem, s)
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
            room = _per_option(slack, problem.row_of, np.inf)
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
            acc = _accept_within(grp, tw, room_rows, np.arange(take.size))
            take = take[acc]
            if take.size == 0:
                continue
            s[jobs[take]] = alt[take]
            slack, gslack = _slacks(problem, s)
            moved = True
        for g in over_global.tolist():
            gw = problem.global_weight[g]
            gw_full = gw if gw.shape[1] == n else np.broadcast_to(gw, (k, n))
            cur_g = gw_full[s, np.arange(n)]
            saving = cur_g[None, :] - gw_full
            room = _per_option(slack, problem.row_of, np.inf)
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
            slack, gslack = _slacks(problem, s)
            moved = True
        if not moved:
            return None
    return s if problem.is_feasible(s) else None


def _batch_regret_fill(
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


def _regret_construct(
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


def _improve_shift(
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
        slack, gslack = _slacks(problem, s)
        own = problem.row_of >= 0
        room = _per_option(slack, problem.row_of, np.inf)
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
        acc = _accept_within(grp, amounts, room_rows, np.arange(order.size))
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


def _improve_swap(
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
            shifted = _improve_shift(problem, s, allowed, deadline=deadline, max_rounds=5)
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
        s = _improve_shift(problem, s, allowed, deadline=deadline, max_rounds=3)
    return s


# --------------------------------------------------------------------------------------------
# CP-SAT models
# --------------------------------------------------------------------------------------------


def _decimal_scale(values: np.ndarray, max_power: int = 4) -> tuple[int, bool]:
    """Smallest ``10**k`` (``k ≤ max_power``) that makes all finite values integral."""
    finite = values[np.isfinite(values)]
    for power in range(max_power + 1):
        scaled = finite * 10**power
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return 10**power, True
    return 10**max_power, False


@dataclass
class _CpOutcome:
    status: Status
    assignment: np.ndarray | None
    bound: float  # in original cost units, valid for the model solved
    wall: float
    det: float = 0.0  # CP-SAT's deterministic time (its own measure of work, machine-independent)


def _solve_cpsat(
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
) -> _CpOutcome:
    """Solve the problem restricted to ``mask`` (and optionally to ``jobs``) with CP-SAT.

    Costs are scaled to integers (``10**k``, k ≤ 4; rounding when not exact — the returned
    bound then subtracts the worst-case rounding). Weights are scaled the same way; if they
    are not exact at ``10**4`` they are rounded up and capacities down, which keeps every
    solution feasible for the true data.

    ``det_limit`` is CP-SAT's deterministic-time budget (its work measure, the same on every
    machine); ``time_limit`` (wall clock) is the hard stop. Without ``det_limit`` the budget
    is half the wall-clock time left (the plain-CP-SAT baseline's setting).
    """
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    k, n = problem.cost.shape
    jobs = np.arange(n) if jobs is None else jobs
    sub_mask = mask[:, jobs]
    # Pairs in job-major order: pos = position in `jobs`, opt_idx = option.
    pos, opt_idx = np.nonzero(sub_mask.T)
    job_idx = jobs[pos]
    if np.any(~sub_mask.any(axis=0)):
        return _CpOutcome(Status.INFEASIBLE, None, math.inf, time.perf_counter() - t0)
    costs = problem.cost[opt_idx, job_idx]
    cost_scale, cost_exact = _decimal_scale(costs)
    int_cost = np.round(costs * cost_scale).astype(np.int64)
    wcol = job_idx if problem.weight.shape[1] > 1 else np.zeros_like(job_idx)
    weights = problem.weight[opt_idx, wcol]
    caps = problem.capacity if row_capacity is None else row_capacity
    gcaps = problem.global_capacity if global_capacity is None else global_capacity
    w_scale, w_exact = _decimal_scale(np.r_[weights, caps])
    int_w = (
        np.ceil(weights * w_scale - 1e-6).astype(np.int64)
        if not w_exact
        else np.round(weights * w_scale).astype(np.int64)
    )
    int_caps = (
        np.floor(caps * w_scale + 1e-6).astype(np.int64)
        if not w_exact
        else np.round(caps * w_scale).astype(np.int64)
    )

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
    rows = problem.row_of[opt_idx]
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
    # Global rows (budget): one constraint each.
    for g in range(problem.global_capacity.size):
        gw = problem.global_weight[g]
        gvals = gw[opt_idx, job_idx if gw.shape[1] > 1 else np.zeros_like(job_idx)]
        g_scale, g_exact = _decimal_scale(np.r_[gvals, gcaps[g : g + 1]])
        gi = np.round(gvals * g_scale) if g_exact else np.ceil(gvals * g_scale - 1e-6)
        gc = np.round(gcaps[g] * g_scale) if g_exact else np.floor(gcaps[g] * g_scale + 1e-6)
        model.add(cp_model.LinearExpr.weighted_sum(x, gi.astype(np.int64).tolist()) <= int(gc))
    # Objective: minimise total (scaled) cost.
    model.minimize(cp_model.LinearExpr.weighted_sum(x, int_cost.tolist()))
    if hint is not None:
        chosen = hint[job_idx] == opt_idx
        for var, val in zip(x, chosen.tolist(), strict=True):
            model.add_hint(var, val)

    solver = cp_model.CpSolver()
    remaining = time_limit - (time.perf_counter() - t0)
    if remaining <= 0.0:
        return _CpOutcome(Status.TIME_LIMIT, None, -math.inf, time.perf_counter() - t0)
    solver.parameters.max_time_in_seconds = remaining
    # Reproducibility: a work budget (deterministic time) that normally binds before the wall
    # clock, so the same seed gives the same solution on a loaded machine too; the wall-clock
    # limit stays as the hard stop.
    solver.parameters.max_deterministic_time = (
        0.5 * remaining if det_limit is None else max(0.0, float(det_limit))
    )
    solver.parameters.num_workers = max(1, int(workers))
    solver.parameters.random_seed = int(seed)
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
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = np.array([solver.boolean_value(v) for v in x], dtype=bool)
        out = np.full(n, -1, dtype=np.int64) if hint is None else hint.copy()
        out[job_idx[values]] = opt_idx[values]
        bound = solver.best_objective_bound / cost_scale - rounding
        return _CpOutcome(name, out, bound, time.perf_counter() - t0, det)
    if status == cp_model.INFEASIBLE:
        return _CpOutcome(name, None, math.inf, time.perf_counter() - t0, det)
    return _CpOutcome(name, None, -math.inf, time.perf_counter() - t0, det)


# --------------------------------------------------------------------------------------------
# Large-neighbourhood search
# --------------------------------------------------------------------------------------------


def _lns(
    problem: AssignmentProblem,
    assignment: np.ndarray,
    keep: np.ndarray,
    rc: np.ndarray,
    *,
    deadline: float,
    work_budget: float,
    seed: int,
    stats: dict[str, Any],
    target: float = -math.inf,
) -> np.ndarray:
    """Re-optimise the jobs of a few related rows at a time with CP-SAT (agent-subset LNS).

    Stops when its deterministic work reaches ``work_budget`` (see :func:`_lns_work`), as
    soon as the objective reaches ``target``, or, as a hard stop, at ``deadline``. Every
    choice depends on the work done, never on the clock (the neighbourhood grows while
    sub-problems close within ``LNS_FAST_DET``), so the result is reproducible unless the
    deadline stops it (``stats["lns_wall_stop"]``).
    """
    k, n = problem.cost.shape
    rng = np.random.default_rng(seed)
    s = assignment.copy()
    best_cost = problem.objective(s)
    n_rows = problem.capacity.size
    stats.update(lns_iterations=0, lns_improvements=0, lns_work=0.0, lns_wall_stop=False)
    if n_rows < 2:
        return s
    # Rows related through the jobs' cheap alternatives (reduced-cost ranks).
    ranks = np.argsort(np.where(keep, rc, np.inf), axis=0)[: min(4, k)]
    opt_rows = problem.row_of
    target_jobs = 120
    max_subset = max(2, n_rows - 1) if n_rows > 2 else n_rows
    subset = max(2, min(max_subset, int(round(target_jobs * n_rows / max(n, 1)))))
    iterations = improvements = 0
    work = 0.0
    wall_stop = False
    started = time.perf_counter()
    while True:
        remaining = deadline - time.perf_counter()
        if best_cost <= target or work >= work_budget:
            break
        if remaining < 0.02:
            wall_stop = True
            break
        iterations += 1
        seed_row = int(rng.integers(n_rows))
        on_seed = np.flatnonzero(opt_rows[s] == seed_row)
        related = np.zeros(n_rows)
        if on_seed.size:
            alt_rows = opt_rows[ranks[:, on_seed].ravel()]
            alt_rows = alt_rows[alt_rows >= 0]
            related += np.bincount(alt_rows, minlength=n_rows)
        related += rng.random(n_rows) * max(1.0, related.max() * 0.5)
        related[seed_row] = np.inf
        rows = np.argsort(-related, kind="stable")[:subset]
        in_rows = np.zeros(n_rows + 1, dtype=bool)
        in_rows[rows] = True
        free = np.flatnonzero(in_rows[np.where(opt_rows[s] >= 0, opt_rows[s], n_rows)])
        if free.size == 0:
            work += LNS_ITERATION_WORK
            continue
        option_in = in_rows[np.where(opt_rows >= 0, opt_rows, n_rows)] | (opt_rows < 0)
        mask = np.zeros((k, n), dtype=bool)
        mask[:, free] = keep[:, free] & option_in[:, None]
        mask[s[free], free] = True
        usage = problem.row_usage(s) - problem.row_usage_of(s, free)
        gusage = problem.global_usage(s) - problem._global_weight_of(s[free], free).sum(axis=1)
        out = _solve_cpsat(
            problem,
            mask,
            time_limit=min(remaining, LNS_SUBSOLVE_LIMIT),
            seed=seed + iterations,
            workers=1,
            hint=s,
            row_capacity=problem.capacity - usage,
            global_capacity=problem.global_capacity - gusage,
            jobs=free,
            linearization=LNS_LINEARIZATION,
            det_limit=LNS_SUBSOLVE_DET,
        )
        work += _lns_work(out.det, free.size)
        wall_stop = wall_stop or _stopped_by_clock(out, LNS_SUBSOLVE_DET)
        if out.assignment is not None:
            new_cost = problem.objective(out.assignment)
            if new_cost < best_cost - 1e-9 * max(1.0, abs(best_cost)) and problem.is_feasible(
                out.assignment
            ):
                s, best_cost = out.assignment, new_cost
                improvements += 1
        # Adapt the neighbourhood size to how much work sub-problems take to close.
        if out.status is Status.OPTIMAL and out.det < LNS_FAST_DET:
            subset = min(max_subset, subset + 1)
        elif out.status is not Status.OPTIMAL and subset > 2:
            subset -= 1
    stats["lns_iterations"] = iterations
    stats["lns_improvements"] = improvements
    stats["lns_final_rows"] = subset
    stats["lns_work"] = work
    stats["lns_wall_s"] = time.perf_counter() - started
    stats["lns_work_budget"] = work_budget
    stats["lns_wall_stop"] = wall_stop
    return s


def _lns_work(det: float, free_jobs: int) -> float:
    """Work of one LNS iteration in CP-SAT deterministic seconds: the sub-solve's own
    deterministic time plus a charge for building its model (per freed job) and the
    iteration's fixed cost, both measured in deterministic-second equivalents."""
    return det + LNS_ITERATION_WORK + LNS_JOB_WORK * free_jobs


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def _dual_iterations(seconds: float, cells: int, cap: int) -> int:
    """Iteration budget of a Lagrangian ascent over a ``cells``-entry option matrix given
    ``seconds`` of the time limit (see WORK_SAFETY), at most ``cap`` and at least one."""
    per_second = WORK_SAFETY * DUAL_CELLS_PER_SECOND / max(cells, 1)
    return max(1, min(cap, int(seconds * per_second)))


def _cpsat_det(seconds: float) -> float:
    """CP-SAT deterministic-time budget for ``seconds`` of the time limit."""
    return WORK_SAFETY * CPSAT_DET_PER_SECOND * max(0.0, seconds)


def _lns_budget(seconds: float) -> float:
    """LNS work budget (see :func:`_lns_work`) for ``seconds`` of the time limit."""
    return WORK_SAFETY * LNS_WORK_PER_SECOND * max(0.0, seconds)


def _stopped_by_clock(out: _CpOutcome, det_limit: float) -> bool:
    """Did the wall clock (not the deterministic budget, nor a proof) end this CP-SAT run?"""
    return out.status not in (Status.OPTIMAL, Status.INFEASIBLE) and out.det < 0.999 * det_limit


def _sample_prices(
    problem: AssignmentProblem, *, seed: int, deadline: float, seconds: float
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
        sample, deadline=deadline, max_iterations=_dual_iterations(seconds, sample.cost.size, 1500)
    )
    return dual.prices, dual.global_prices, dual.iterations, dual.timed_out


def _primal_from_prices(
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
    filled = _batch_regret_fill(problem, rc, allowed, deadline=deadline)
    if filled is None:
        filled = rc.argmin(axis=0)
    del rc
    repaired = _repair(problem, filled, allowed, deadline=deadline)
    if repaired is None:
        return None
    return _improve_shift(problem, repaired, allowed, deadline=deadline)


def _is_integral(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return bool(np.all(finite == np.round(finite)))


def solve_assignment(
    problem: AssignmentProblem,
    *,
    time_limit: float = 10.0,
    seed: int = 0,
    workers: int = 2,
    exact_max_pairs: int = EXACT_MAX_PAIRS,
    lns: bool = True,
    hint: np.ndarray | None = None,
    dual_method: str = "auto",
    gap_tolerance: float = 0.0,
    pricing: Any = None,
) -> AssignmentResult:
    """Minimise an :class:`AssignmentProblem` with a proven bound (see the module docstring).

    Parameters
    ----------
    problem
        Minimisation problem.
    time_limit
        Wall-clock seconds for the whole call.
    seed
        Seed of CP-SAT and of the neighbourhood choice.
    workers
        CP-SAT ``num_workers`` (1 makes the exact search reproducible).
    exact_max_pairs
        Problems with at most this many allowed pairs are solved with the full CP-SAT model.
    lns
        Run large-neighbourhood search on large instances when time remains.
    hint
        Optional starting assignment (used if feasible, and as the CP-SAT hint).
    gap_tolerance
        The decomposition path stops early once the relative gap is at most this
        (0: use all the time unless optimality is proven).
    dual_method
        ``"auto"`` warm-starts the dual from a random sample of jobs when there are many
        (``SAMPLE_MIN_JOBS``); ``"subgradient"`` always starts from zero prices.
    pricing
        Pricing-oracle factory of the dual's per-job step (see :func:`lagrangian_dual`); the
        Dask engine's runs on the workers and gives the same result.
    """
    t0 = time.perf_counter()
    limit = max(0.0, float(time_limit))
    deadline = t0 + limit
    k, n = problem.cost.shape
    stats: dict[str, Any] = {"jobs": n, "options": k}
    jobs = np.arange(n)
    # Phases the wall clock stopped before their work budget (see WORK_SAFETY).
    clock_stops: list[str] = []

    def finish(assignment, bound, status, method, message=""):
        runtime = time.perf_counter() - t0
        if runtime >= limit and not clock_stops and method not in ("trivial", "presolve"):
            clock_stops.append("time limit")
        stats["wall_clock_stop"] = ", ".join(clock_stops)
        if assignment is None:
            assignment = np.full(n, -1, dtype=np.int64)
            objective, gap = math.nan, math.inf
        else:
            assignment = assignment.astype(np.int64)
            objective = problem.objective(assignment)
            if integral_costs and math.isfinite(bound):
                bound = math.ceil(bound - 1e-6 * max(1.0, abs(bound)))
            bound = min(bound, objective)
            gap = relative_gap(objective, bound)
            if gap <= 1e-9 or (integral_costs and objective - bound < 1.0 - 1e-9):
                status = Status.OPTIMAL
                gap = 0.0
                bound = objective
            bound = float(bound)
        return AssignmentResult(
            assignment, objective, bound, gap, status, runtime, method, "min", message, stats
        )

    integral_costs = _is_integral(problem.cost)

    def good_enough(lower: float) -> float:
        """Objective at which the decomposition path may stop (within ``gap_tolerance``)."""
        if not math.isfinite(lower):
            return -math.inf
        if integral_costs:
            lower = math.ceil(lower - 1e-6 * max(1.0, abs(lower)))
            return math.floor(lower + gap_tolerance * max(1.0, abs(lower)) + 1e-9)
        return lower + gap_tolerance * max(1.0, abs(lower))

    if n == 0:
        return finish(np.zeros(0, dtype=np.int64), 0.0, Status.OPTIMAL, "trivial")
    allowed = problem.allowed()
    stranded = np.flatnonzero(~allowed.any(axis=0))
    if stranded.size:
        listed = ", ".join(str(j) for j in stranded[:10])
        more = f" and {stranded.size - 10} more" if stranded.size > 10 else ""
        return finish(
            None,
            math.inf,
            Status.INFEASIBLE,
            "presolve",
            f"{stranded.size} job(s) fit no agent/option on their own: {listed}{more}",
        )
    pairs = int(allowed.sum())
    stats["pairs"] = pairs

    incumbent: np.ndarray | None = None
    if hint is not None and hint.shape == (n,) and problem.is_feasible(hint):
        incumbent = hint.astype(np.int64)

    # 1. Lagrangian bound and prices.
    small = pairs <= exact_max_pairs
    dual_budget = (DUAL_SHARE_SMALL if small else DUAL_SHARE) * limit
    dual_seconds = dual_budget
    start_prices = None
    if n >= SAMPLE_MIN_JOBS and dual_method == "auto":
        # Prices are intensive quantities: solve the dual on a random sample with
        # proportionally scaled capacities first, then refine on all jobs.
        start_prices = _sample_prices(
            problem,
            seed=seed,
            deadline=time.perf_counter() + 0.4 * dual_budget,
            seconds=0.4 * dual_budget,
        )
        dual_seconds = 0.6 * dual_budget
        stats["sample_dual_iterations"] = start_prices[2]
        if start_prices[3]:
            clock_stops.append("sample dual")
        first = _primal_from_prices(
            problem, allowed, start_prices[0], start_prices[1], deadline=deadline
        )
        if first is not None and (
            incumbent is None or problem.objective(first) < problem.objective(incumbent)
        ):
            incumbent = first
    dual = lagrangian_dual(
        problem,
        deadline=min(deadline, time.perf_counter() + dual_budget),
        max_iterations=_dual_iterations(dual_seconds, k * n, 300 if small else 3000),
        upper_bound=problem.objective(incumbent) if incumbent is not None else None,
        allowed=allowed,
        prices=None if start_prices is None else start_prices[0],
        global_prices=None if start_prices is None else start_prices[1],
        step_scale=1.0 if start_prices is None else 0.25,
        pricing=pricing,
    )
    stats["lagrangian_bound"] = dual.bound
    stats["prices"] = dual.prices
    stats["global_prices"] = dual.global_prices
    stats["lagrangian_iterations"] = dual.iterations
    if dual.timed_out:
        clock_stops.append("lagrangian")
    bound = dual.bound
    if bound == math.inf:
        return finish(
            None,
            math.inf,
            Status.INFEASIBLE,
            "lagrangian",
            "no job–option pair is allowed for some job",
        )

    # 2. Greedy primal: cheapest option under prices, repaired, then shifted.
    if time.perf_counter() < deadline:
        repaired = _primal_from_prices(
            problem, allowed, dual.prices, dual.global_prices, deadline=deadline
        )
        if repaired is not None:
            repaired = _improve_shift(problem, repaired, allowed, deadline=deadline)
            if incumbent is None or problem.objective(repaired) < problem.objective(incumbent):
                incumbent = repaired
        if repaired is None and n <= 50_000:
            rc0 = np.where(allowed, problem.reduced_costs(dual.prices, dual.global_prices), np.inf)
            built = _regret_construct(problem, rc0, allowed, deadline=deadline)
            if built is None:
                # Martello–Toth's resource-based desirability: places tight instances.
                own_cap = _per_option(problem.capacity, problem.row_of, np.inf)
                relative = (
                    np.broadcast_to(problem.weight, (k, n)) / np.maximum(own_cap, 1e-12)[:, None]
                )
                built = _regret_construct(problem, relative, allowed, deadline=deadline)
            stats["regret_construct"] = built is not None
            if built is not None:
                built = _improve_shift(problem, built, allowed, deadline=deadline)
                if incumbent is None or problem.objective(built) < problem.objective(incumbent):
                    incumbent = built
    stats["greedy_objective"] = problem.objective(incumbent) if incumbent is not None else math.nan
    if incumbent is not None and n <= SWAP_MAX_JOBS:
        incumbent = _improve_swap(problem, incumbent, allowed, deadline=deadline)
        stats["swap_objective"] = problem.objective(incumbent)

    # 3a. Small: exact CP-SAT on the full model, warm-started; it often proves optimality.
    method = "lagrangian+greedy"
    exact_seconds = 0.0
    if small and time.perf_counter() < deadline:
        remaining = deadline - time.perf_counter()
        share = (1.0 - DUAL_SHARE_SMALL) * limit
        if lns and incumbent is not None:
            share *= EXACT_SHARE
        exact_seconds = share
        det = _cpsat_det(share)
        out = _solve_cpsat(
            problem,
            allowed,
            time_limit=min(remaining, share),
            seed=seed,
            workers=workers,
            hint=incumbent if incumbent is not None else dual.choice,
            det_limit=det,
        )
        stats["cpsat_status"] = out.status
        if _stopped_by_clock(out, det):
            clock_stops.append("cp-sat")
        if out.status is Status.INFEASIBLE:
            return finish(
                None,
                math.inf,
                Status.INFEASIBLE,
                "cp-sat",
                "CP-SAT proved that no assignment satisfies the capacities",
            )
        bound = max(bound, out.bound)
        if out.assignment is not None and (
            incumbent is None or problem.objective(out.assignment) <= problem.objective(incumbent)
        ):
            incumbent = out.assignment
        method = "cp-sat"
        if out.status is Status.OPTIMAL:
            return finish(incumbent, bound, Status.OPTIMAL, method)

    # 3b. Reduced CP-SAT for a first solution if the greedy failed, then LNS.
    rc = problem.reduced_costs(dual.prices, dual.global_prices)
    rc = np.where(allowed, rc, np.inf)
    keep = allowed
    if k > REDUCED_OPTIONS_PER_JOB:
        cut = np.partition(rc, REDUCED_OPTIONS_PER_JOB - 1, axis=0)[REDUCED_OPTIONS_PER_JOB - 1]
        keep = allowed & (rc <= cut[None, :])
    keep = keep.copy()
    keep[dual.choice, jobs] = True
    if incumbent is not None:
        keep[incumbent, jobs] = True
    keep &= allowed
    # Seconds of the time limit left for the next phases (deterministic: from the limit and
    # the shares of the phases that ran, never from the clock).
    after_dual = limit - dual_budget
    rest = after_dual - exact_seconds
    lns_seconds = rest * (1.0 - FINAL_EXACT_SHARE) if small else rest
    if incumbent is None and int(keep.sum()) <= CPSAT_MAX_PAIRS and time.perf_counter() < deadline:
        remaining = deadline - time.perf_counter()
        det = _cpsat_det(rest * (0.35 if lns else 1.0))
        lns_seconds *= 0.65
        out = _solve_cpsat(
            problem,
            keep,
            time_limit=remaining * (0.35 if lns else 1.0),
            seed=seed,
            workers=workers,
            hint=dual.choice,
            det_limit=det,
        )
        stats["reduced_cpsat_status"] = out.status
        if _stopped_by_clock(out, det):
            clock_stops.append("reduced cp-sat")
        if out.assignment is not None and problem.is_feasible(out.assignment):
            incumbent = out.assignment
            method = "lagrangian+reduced-cp-sat"
    if incumbent is None:
        return finish(
            None,
            bound,
            Status.TIME_LIMIT,
            method,
            "time limit reached before a feasible assignment was found",
        )
    if problem.objective(incumbent) <= good_enough(bound):
        return finish(incumbent, bound, Status.FEASIBLE, method)
    run_lns = lns and int(keep.sum()) <= CPSAT_MAX_PAIRS and lns_seconds > 0.0
    if run_lns and time.perf_counter() >= deadline - 0.05:
        clock_stops.append("lns skipped")
    elif run_lns:
        # Small problems keep a final share of the time for CP-SAT to prove optimality.
        lns_deadline = deadline
        if small:
            lns_deadline = deadline - FINAL_EXACT_SHARE * (deadline - time.perf_counter())
        incumbent = _lns(
            problem,
            incumbent,
            keep,
            rc,
            deadline=lns_deadline,
            work_budget=_lns_budget(lns_seconds),
            seed=seed,
            stats=stats,
            target=good_enough(bound),
        )
        if stats["lns_wall_stop"]:
            clock_stops.append("lns")
        method += "+lns"
        if small and time.perf_counter() >= deadline - 0.05:
            clock_stops.append("final cp-sat skipped")
        elif small:
            det = _cpsat_det(rest * FINAL_EXACT_SHARE)
            out = _solve_cpsat(
                problem,
                allowed,
                time_limit=deadline - time.perf_counter(),
                seed=seed + 1,
                workers=workers,
                hint=incumbent,
                det_limit=det,
            )
            stats["final_cpsat_status"] = out.status
            if _stopped_by_clock(out, det):
                clock_stops.append("final cp-sat")
            bound = max(bound, out.bound)
            if out.assignment is not None and problem.objective(
                out.assignment
            ) <= problem.objective(incumbent):
                incumbent = out.assignment
            if out.status is Status.OPTIMAL:
                return finish(incumbent, bound, Status.OPTIMAL, method + "+cp-sat")
    return finish(incumbent, bound, Status.FEASIBLE, method)


def _gap_problem(
    cost: np.ndarray, resource: np.ndarray, capacity: np.ndarray, sense: str
) -> tuple[AssignmentProblem, float]:
    cost = np.asarray(cost, dtype=np.float64)
    resource = np.asarray(resource, dtype=np.float64)
    capacity = np.asarray(capacity, dtype=np.float64).ravel()
    if cost.ndim != 2:
        raise ValueError(f"cost must be a 2-D m×n array, got shape {cost.shape}")
    m, _ = cost.shape
    if resource.shape != cost.shape:
        raise ValueError(f"resource must have the shape of cost {cost.shape}, got {resource.shape}")
    if capacity.shape != (m,):
        raise ValueError(f"capacity must have {m} values, got {capacity.size}")
    if sense not in ("min", "max"):
        raise ValueError(f"sense must be 'min' or 'max', got {sense!r}")
    sign = 1.0 if sense == "min" else -1.0
    forbidden = ~np.isfinite(cost)
    internal = np.where(forbidden, np.inf, sign * np.where(forbidden, 0.0, cost))
    problem = AssignmentProblem(
        cost=internal, weight=resource, row_of=np.arange(m, dtype=np.int64), capacity=capacity
    )
    return problem, sign


def _to_sense(result: AssignmentResult, sign: float, sense: str) -> AssignmentResult:
    if sign == 1.0:
        return result
    from dataclasses import replace

    return replace(
        result,
        objective=-result.objective if math.isfinite(result.objective) else result.objective,
        bound=-result.bound if not math.isnan(result.bound) else result.bound,
        sense=sense,
    )


def solve_gap(
    cost: np.ndarray,
    resource: np.ndarray,
    capacity: np.ndarray,
    *,
    sense: str = "min",
    time_limit: float = 10.0,
    seed: int = 0,
    workers: int = 2,
) -> AssignmentResult:
    """Solve a Generalized Assignment Problem with a proven bound.

    Parameters
    ----------
    cost
        ``m × n`` cost (``sense="min"``) or profit (``sense="max"``) of giving job ``j`` to
        agent ``i``; a non-finite entry forbids the pair.
    resource
        ``m × n`` resource that job ``j`` uses on agent ``i`` (non-negative).
    capacity
        ``m`` agent capacities.
    sense
        ``"min"`` or ``"max"``.
    time_limit
        Wall-clock seconds for the whole call (every path respects it).
    seed
        Seed for CP-SAT and the neighbourhood choice.
    workers
        CP-SAT ``num_workers``.

    Returns
    -------
    AssignmentResult
        ``assignment[j]`` is the agent of job ``j``; ``objective`` and ``bound`` are in the
        caller's sense.

    Examples
    --------
    >>> import numpy as np
    >>> r = solve_gap(np.array([[1, 5], [4, 2]]), np.ones((2, 2)), np.array([1, 1]))
    >>> r.assignment.tolist(), r.objective, r.status.name
    ([0, 1], 3.0, 'OPTIMAL')
    """
    problem, sign = _gap_problem(cost, resource, capacity, sense)
    result = solve_assignment(problem, time_limit=time_limit, seed=seed, workers=workers)
    return _to_sense(result, sign, sense)


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
    problem, sign = _gap_problem(cost, resource, capacity, sense)
    n = problem.n_jobs
    mask = np.isfinite(problem.cost)
    out = _solve_cpsat(problem, mask, time_limit=time_limit, seed=seed, workers=workers)
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
        assignment, objective, bound, gap, status, runtime, "cp-sat-plain", "min", "", stats
    )
    return _to_sense(res, sign, sense)
