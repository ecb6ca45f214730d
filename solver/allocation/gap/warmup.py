"""The assignment core's warm-up: its compiled kernels ready before a timed solve.

The kernels are numba functions (``cache=True``): the first call in a process compiles them
or loads them from numba's on-disk cache (a cold cache takes several seconds, a warm one a
fraction of a second). :func:`warm` does that once per process for every kernel of the
core -- the ejection chains, the tabu search, the knapsack bound, and both flows (with
OR-Tools' import) -- by a tiny call of each. It runs at first use, never at import, so that
importing the solver (the CLI's start-up, ``workout --help``) does no work:
:func:`solver.allocation.portfolio.allocate` calls it before the allocation's clock starts
and :func:`~solver.allocation.gap.solve.solve_assignment` before its own, so no time limit
pays for a compilation.
"""

from __future__ import annotations

from solver.allocation.gap import coreflow, ejection, knapsack, tabu

__all__ = ["warm"]


def warm() -> None:
    """Compile (or load) every kernel of the assignment core, once per process."""
    ejection.warm()
    tabu.warm()
    knapsack.warm()
    coreflow.warm()
