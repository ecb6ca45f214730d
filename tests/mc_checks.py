"""The Monte Carlo engine against the exact expectation (SPEC §9): the per-path figure the
tests and benchmarks compare, and the half-width of its 99 % interval.

Shared by ``tests/test_simulation.py``, ``benchmarks/test_micro.py`` and
``benchmarks/bench_scenario.py``.
"""

from __future__ import annotations

import math

import numpy as np

from solver.scenarios.paths import PATH_FIELDS

#: The standard normal's 99.5 % quantile: a two-sided 99 % interval is the mean ± Z99 · SE.
Z99 = 2.5758293035489004


def discounted_collection(outcomes) -> np.ndarray:
    """Per path, the portfolio's discounted payments plus recoveries in CNY (the realised NPV
    whose expectation :func:`solver.scenarios.path_inputs.analytic_expectation` gives)."""
    totals = outcomes.totals[("total", "all")]
    i, j = PATH_FIELDS.index("payments_discounted"), PATH_FIELDS.index("recoveries_discounted")
    return (totals[:, i] + totals[:, j]) / 100.0


def half_width_99(values: np.ndarray) -> float:
    """Half-width of the 99 % interval of the mean of ``values`` (one per path)."""
    return Z99 * float(values.std(ddof=1)) / math.sqrt(values.size)
