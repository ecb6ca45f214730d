"""How far a solver's result can be trusted: the certificate every optimisation result
carries, and the relative gaps it reports.

:class:`Certificate` holds the fields an allocation result
(:class:`~solver.allocation.tables.AllocationResult`) and an assignment core's result
(:class:`~solver.allocation.gap.problem.AssignmentResult`) share -- objective, proven
bound, gap, :class:`~solver.domain.Status`, runtime, method and diagnostics -- so they
are defined, and written to JSON, once (MathOpt's ``result.py``, PyVRP's ``Result``).

Two relative gaps, because two kinds of result report them:

* :func:`relative_gap` -- the MIP convention of the assignment core and the allocation,
  ``|objective − bound| / max(1, |objective|)``, either sense (the floor of 1 keeps a
  zero objective finite);
* :func:`gap_to_bound` -- how far below its upper bound a maximisation's value is,
  relative to the bound: the plan search's certificate (:mod:`solver.plans.search`) and
  the contact calendar's gap to its knapsack bound.

They differ when the objective and the bound are far apart or near zero, so they are not
one formula; every gap of a result is one of these two. (The benchmark's
:func:`solver.allocation.gap_benchmark.gap_to_best` is not a certificate but the signed distance to
a published best-known value: it stays apart, with its own guard against a zero value.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from solver.domain import Status

__all__ = ["Certificate", "certified_gap", "gap_to_bound", "relative_gap"]


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


def certified_gap(objective: float, bound: float, status: Status) -> float:
    """The gap a result reports: 0 when ``status`` proves it optimal, else
    :func:`relative_gap` of ``objective`` and ``bound``.

    Examples
    --------
    >>> certified_gap(105.0, 100.0, Status.OPTIMAL)
    0.0
    >>> certified_gap(105.0, 100.0, Status.FEASIBLE)
    0.047619047619047616
    """
    return 0.0 if status is Status.OPTIMAL else relative_gap(objective, bound)


def gap_to_bound(objective: float, bound: float) -> float:
    """How far a maximisation's ``objective`` is below its upper ``bound``, relative to the
    bound: ``(bound − objective) / |bound|``, 0 when the bound is 0.

    Examples
    --------
    >>> gap_to_bound(99.0, 100.0), gap_to_bound(0.0, 0.0)
    (0.01, 0.0)
    """
    return (bound - objective) / abs(bound) if bound != 0 else 0.0


@dataclass(frozen=True, eq=False, kw_only=True)
class Certificate:
    """The optimality certificate of a result (keyword-only fields, after the result's own).

    Attributes
    ----------
    objective
        Objective value of the solution in the result's sense (NaN without a solution).
    bound
        Proven bound on the optimum (lower for minimisation, upper for maximisation);
        NaN or infinite if unknown.
    gap
        The relative gap of ``objective`` and ``bound`` (:func:`relative_gap`); 0 when
        proven optimal.
    status
        :class:`~solver.domain.Status`; never accepted silently.
    runtime
        Wall-clock seconds spent.
    method
        Which path produced the solution (``"cp-sat"``, ``"lagrangian+lns"``, …).
    stats
        Diagnostics: iterations, bounds, work account, phases the wall clock stopped, ….
    """

    objective: float
    bound: float
    gap: float
    status: Status
    runtime: float
    method: str
    stats: Mapping[str, Any] = field(default_factory=dict)

    @property
    def has_solution(self) -> bool:
        """Whether the result holds a feasible solution."""
        return self.status.has_solution

    def certificate(self) -> dict[str, Any]:
        """JSON-ready certificate: ``objective, bound, gap, status`` (its name),
        ``runtime_s`` and ``method``, in that order."""
        return {
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "status": self.status.name,
            "runtime_s": self.runtime,
            "method": self.method,
        }
