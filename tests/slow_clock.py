"""A stand-in clock for tests of the solver's work budgets (shared by several test modules)."""

from __future__ import annotations

import importlib
import pkgutil
import time

import pytest


class FastClock:
    """Stand-in for the ``time`` module of the modules of :mod:`solver.allocation.gap` whose
    ``perf_counter`` runs ``factor`` times faster than the real one: the solver sees a machine
    ``factor`` times slower (less wall time for the same work), including CP-SAT's wall-clock
    limits."""

    def __init__(self, factor: float):
        self.factor = factor
        self.origin = time.perf_counter()

    def perf_counter(self) -> float:
        return self.origin + (time.perf_counter() - self.origin) * self.factor


def slow_down(monkeypatch: pytest.MonkeyPatch, factor: float) -> None:
    """Give every module of the assignment core (:mod:`solver.allocation.gap`) one
    :class:`FastClock`: the whole solve sees a machine ``factor`` times slower."""
    import solver.allocation.gap as core

    clock = FastClock(factor)
    for info in pkgutil.iter_modules(core.__path__, core.__name__ + "."):
        module = importlib.import_module(info.name)
        if hasattr(module, "time"):
            monkeypatch.setattr(module, "time", clock)
