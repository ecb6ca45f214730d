"""The state of one call of :func:`~solver.allocation.gap.solve.solve_assignment`.

:class:`Run` holds the problem, the wall clock and the work account
(:class:`~solver.allocation.gap.budget.WorkClock`), the incumbent and the proven bound, the
statistics, and finishes the call with its certificate (:meth:`Run.finish`). The phases
(:mod:`~solver.allocation.gap.solve`, :mod:`~solver.allocation.gap.improve`) read and
update it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from solver.allocation.gap.budget import WorkClock
from solver.allocation.gap.mip import MipJob
from solver.allocation.gap.prices import certificate_required, certify_prices
from solver.allocation.gap.problem import AssignmentProblem, AssignmentResult
from solver.core.result import relative_gap
from solver.domain import Status

__all__ = ["Run", "is_integral"]


#: Values :func:`is_integral` tests per pass: its temporaries stay this small (a cost matrix
#: of a million accounts is tens of megabytes, and the test used to copy it).
INTEGRAL_CHUNK = 1 << 16


def is_integral(values: np.ndarray) -> bool:
    """Whether every finite value is a whole number (the bound may then be rounded up).

    A value passes when it equals its rounding (so do ``±inf``) or is ``nan``; the array is
    read in chunks of ``INTEGRAL_CHUNK`` through a flat view (no copy unless the array is
    not contiguous)."""
    flat = values.ravel(order="K")
    for lo in range(0, flat.size, INTEGRAL_CHUNK):
        part = flat[lo : lo + INTEGRAL_CHUNK]
        if not np.all((np.round(part) == part) | np.isnan(part)):
            return False
    return True


@dataclass
class Run:
    """One call of :func:`~solver.allocation.gap.solve.solve_assignment`: its clocks, statistics,
    incumbent and bound."""

    problem: AssignmentProblem
    t0: float
    limit: float
    seed: int
    workers: int
    gap_tolerance: float
    integral_costs: bool
    stats: dict[str, Any]
    # The account of the deterministic work (see solver.allocation.gap.budget).
    clock: WorkClock
    # Phases the wall clock stopped before their work budget.
    clock_stops: list[str] = field(default_factory=list)
    # Every phase deterministic given its budget (False: the parallel search and the fill
    # phases on the clock; see solver.allocation.gap.budget).
    reproducible: bool = True
    incumbent: np.ndarray | None = None
    bound: float = -math.inf
    method: str = "lagrangian+greedy"
    # The MIP child of a small problem (solver.allocation.gap.mip), settled by finish.
    mip: MipJob | None = None

    @property
    def cpsat_workers(self) -> int:
        """CP-SAT's workers in the run's phases: the caller's, or one while a MIP child has
        the other core (gap/mip.py; whether one starts depends on the limit only)."""
        return 1 if self.mip is not None else self.workers

    @property
    def deadline(self) -> float:
        """``time.perf_counter()`` value of the time limit."""
        return self.t0 + self.limit

    def offer(self, candidate: np.ndarray | None) -> None:
        """Keep ``candidate`` as the incumbent when there is none or it is cheaper."""
        if candidate is not None and (
            self.incumbent is None
            or self.problem.objective(candidate) < self.problem.objective(self.incumbent)
        ):
            self.incumbent = candidate

    def good_enough(self, lower: float) -> float:
        """Objective at which the decomposition path may stop (within ``gap_tolerance``)."""
        if not math.isfinite(lower):
            return -math.inf
        if self.integral_costs:
            # whole-number objectives: the optimum is at least the bound rounded up (as in
            # _rounded), and an objective is within a real target when it is within the
            # target rounded down
            lower = math.ceil(lower - 1e-6 * max(1.0, abs(lower)))
            return math.floor(lower + self.gap_tolerance * max(1.0, abs(lower)) + 1e-9)
        return lower + self.gap_tolerance * max(1.0, abs(lower))

    def finish(
        self,
        assignment: np.ndarray | None,
        bound: float,
        status: Status,
        method: str,
        message: str = "",
    ) -> AssignmentResult:
        """The result with its certificate (a bound within rounding of the objective proves it)
        and its shadow prices' (``price_gap``, the prices left out where a certificate is
        required and fails: :func:`~solver.allocation.gap.prices.certify_prices`): every
        phase ends the run here, so both are taken once, at this single point.

        A MIP child (:mod:`~solver.allocation.gap.mip`) is waited for until the deadline
        when the result is neither proven nor within the gap tolerance; its proof, or an
        assignment that costs less, replaces it, and a child the clock stopped while the run
        waited for it is a clock stop (:meth:`_settle_mip`)."""
        runtime = time.perf_counter() - self.t0
        if runtime >= self.limit and not self.clock_stops and method not in ("trivial", "presolve"):
            self.clock_stops.append("time limit")
        if self.mip is not None:
            assignment, bound, status, method = self._settle_mip(assignment, bound, status, method)
            runtime = time.perf_counter() - self.t0
        self.stats["wall_clock_stop"] = ", ".join(self.clock_stops)
        # a rerun at the same limit returns the same result: deterministic phases (and MIP
        # child: gap/mip.py) that the clock stopped none of
        self.stats["reproducible"] = self.reproducible and not self.clock_stops
        self.stats["work"] = self.clock.report()
        if assignment is None:
            assignment = np.full(self.problem.n_jobs, -1, dtype=np.int64)
            objective, gap = math.nan, math.inf
        else:
            assignment = assignment.astype(np.int64)
            objective = self.problem.objective(assignment)
            bound = min(self._rounded(bound), objective)
            gap = relative_gap(objective, bound)
            if self._proves(objective, bound):
                status = Status.OPTIMAL
                gap = 0.0
                bound = objective
            bound = float(bound)
        stats = certify_prices(self.stats, objective, required=certificate_required(self.stats))
        return AssignmentResult(
            assignment,
            message=message,
            objective=objective,
            bound=bound,
            gap=gap,
            status=status,
            runtime=runtime,
            method=method,
            stats=stats,
        )

    def _rounded(self, bound: float) -> float:
        """A bound of whole-number costs rounded up to the next whole number."""
        if self.integral_costs and math.isfinite(bound):
            return math.ceil(bound - 1e-6 * max(1.0, abs(bound)))
        return bound

    def _proves(self, objective: float, bound: float) -> bool:
        """Whether ``bound`` proves ``objective`` optimal (within rounding)."""
        bound = min(self._rounded(bound), objective)
        gap = relative_gap(objective, bound)
        return gap <= 1e-9 or (self.integral_costs and objective - bound < 1.0 - 1e-9)

    def _settle_mip(
        self, assignment: np.ndarray | None, bound: float, status: Status, method: str
    ) -> tuple[np.ndarray | None, float, Status, str]:
        """The result after the MIP child (waited for until the deadline only when the result
        is a feasible one that is neither proven nor within the gap tolerance): its proven
        optimum, or its unproven assignment when that costs less, else the result unchanged;
        the child is stopped, ``stats["mip"]`` says what it did, and a child the clock
        stopped while the run waited for it is a clock stop (a faster machine might have
        found or proven more: gap/mip.py, Determinism)."""
        job = self.mip
        assert job is not None
        unproven = status is Status.FEASIBLE and assignment is not None
        if assignment is not None and unproven:
            objective = self.problem.objective(assignment)
            # within the caller's gap tolerance (good_enough) is as good as proven here
            unproven = not self._proves(objective, bound) and objective > self.good_enough(bound)
        try:  # an interrupt while waiting leaves it to solve_assignment's finally to end
            found = job.settle(self.problem, self.deadline if unproven else time.perf_counter())
        finally:
            if job.outcome != "running":
                self.mip = None
        self.stats["mip"] = job.outcome
        self.stats["mip_cpu_s"] = round(job.cpu_seconds, 2)
        self.stats["mip_nodes"] = job.nodes
        if unproven and job.clock_stopped:
            self.clock_stops.append("mip")
        if found is None:
            return assignment, bound, status, method
        if not unproven:  # proven or good enough: the child is never waited for (deterministic)
            self.stats["mip"] += "; the search's result needs no proof (unused)"
            return assignment, bound, status, method
        cost = self.problem.objective(found)
        if assignment is not None and (
            cost > self.problem.objective(assignment)  # HiGHS's tolerances (not whole costs)
            or (cost == self.problem.objective(assignment) and not job.proven)
        ):
            self.stats["mip"] += "; no better than the search's (unused)"
            return assignment, bound, status, method
        # HiGHS's bound with a proof, checked by the one test of a closed bound (finish)
        return found, max(bound, job.bound), status, method + "+mip"
