"""A stand-in clock for tests of the solver's work budgets (shared by several test modules)."""

from __future__ import annotations

import time


class FastClock:
    """Stand-in for the ``time`` module of :mod:`solver.allocation.gap` whose ``perf_counter`` runs
    ``factor`` times faster than the real one: the solver sees a machine ``factor`` times
    slower (less wall time for the same work), including CP-SAT's wall-clock limits."""

    def __init__(self, factor: float):
        self.factor = factor
        self.origin = time.perf_counter()

    def perf_counter(self) -> float:
        return self.origin + (time.perf_counter() - self.origin) * self.factor
