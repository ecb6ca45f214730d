"""The assignment problem's data and its result with the optimality certificate.

:class:`AssignmentProblem` is the general form the whole core solves (minimisation, ``K``
options per job, own capacity rows and global rows), validated when built; :func:`gap_problem`
builds it from a classic ``m × n`` GAP. :class:`AssignmentResult` carries a solution with its
proven bound, :func:`relative_gap` and status.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from solver.core.result import Certificate, relative_gap

__all__ = [
    "AssignmentProblem",
    "AssignmentResult",
    "decimal_scale",
    "gap_problem",
    "per_option",
    "relative_gap",
    "to_sense",
]


@dataclass(frozen=True, eq=False)
class AssignmentResult(Certificate):
    """Solution of an assignment problem together with its optimality certificate
    (:class:`~solver.core.result.Certificate`: objective, bound, gap, status, runtime,
    method, stats, given by keyword).

    Attributes
    ----------
    assignment
        Agent (option) index per job; ``-1`` everywhere when there is no solution.
    sense
        ``"min"`` or ``"max"``: the sense of ``objective`` and ``bound`` (lower bound for
        ``"min"``, upper for ``"max"``).
    message
        A sentence explaining an infeasible or time-limited result.

    The ``gap`` is :func:`relative_gap` of ``objective`` and ``bound``; ``stats`` holds
    Lagrangian iterations and bound, LNS iterations, CP-SAT statuses, ….
    """

    assignment: np.ndarray
    sense: str = "min"
    message: str = ""

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


def decimal_scale(values: np.ndarray, max_power: int = 4) -> tuple[int, bool]:
    """Smallest ``10**k`` (``k ≤ max_power``) that makes all finite values integral."""
    finite = values[np.isfinite(values)]
    for power in range(max_power + 1):
        scaled = finite * 10**power
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return 10**power, True
    return 10**max_power, False


def per_option(row_values: np.ndarray, row_of: np.ndarray, fill: float) -> np.ndarray:
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
        own_cap = per_option(self.capacity, self.row_of, np.inf)
        mask &= self.weight <= own_cap[:, None]
        for g in range(self.global_capacity.size):
            mask &= self.global_weight[g] <= self.global_capacity[g]
        return mask

    def reduced_costs(
        self, prices: np.ndarray, global_prices: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Lagrangian reduced costs ``c_oj + λ_row(o)·w_oj + Σ_g μ_g·w^g_oj`` (``K × n``)."""
        own = per_option(prices, self.row_of, 0.0)
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


def gap_problem(
    cost: np.ndarray, resource: np.ndarray, capacity: np.ndarray, sense: str
) -> tuple[AssignmentProblem, float]:
    """A classic ``m × n`` GAP (``sense`` ``"min"`` or ``"max"``) as a minimisation
    :class:`AssignmentProblem` (one own row per agent), and the sign that maps its objective
    back (``-1`` for ``"max"``); non-finite costs forbid their pairs."""
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


def to_sense(result: AssignmentResult, sign: float, sense: str) -> AssignmentResult:
    """``result`` of :func:`gap_problem`'s minimisation in the caller's ``sense``."""
    if sign == 1.0:
        return result
    return replace(
        result,
        objective=-result.objective if math.isfinite(result.objective) else result.objective,
        bound=-result.bound if not math.isnan(result.bound) else result.bound,
        sense=sense,
    )
