"""Tests of the run state of the assignment core (solver.allocation.gap.state).

Oracle for :func:`is_integral`: Python's own ``float.is_integer`` on every finite value, one
by one.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from solver.allocation.gap.state import INTEGRAL_CHUNK, is_integral


def _whole(values: np.ndarray) -> bool:
    """Oracle: every finite value is a whole number (element by element, in Python)."""
    return all(float(v).is_integer() for v in values.ravel().tolist() if math.isfinite(v))


@pytest.mark.parametrize("where", [0, INTEGRAL_CHUNK - 1, INTEGRAL_CHUNK, 2 * INTEGRAL_CHUNK + 5])
def test_is_integral_finds_a_fraction_in_any_chunk(where: int) -> None:
    """One fractional value anywhere (either side of a chunk boundary) makes the matrix not
    integral; whole values, ``±inf`` and ``nan`` elsewhere do not."""
    rng = np.random.default_rng(where)
    values = np.floor(rng.random(3 * INTEGRAL_CHUNK) * 1e9) - 5e8
    values[1::97] = np.inf
    values[2::89] = -np.inf
    values[3::83] = np.nan
    values[where] = 0.0
    assert is_integral(values) is _whole(values) is True
    values[where] = 0.25
    assert is_integral(values) is _whole(values) is False


def test_is_integral_matches_the_oracle_on_matrices() -> None:
    """On random 2-D matrices (contiguous, transposed and strided views, integer dtypes) the
    answer is the oracle's."""
    rng = np.random.default_rng(0)
    for trial in range(40):
        shape = (int(rng.integers(1, 6)), int(rng.integers(1, 40_000)))
        values = np.round(rng.normal(0.0, 1e4, shape), int(rng.integers(0, 3)))
        values[rng.random(shape) < 0.05] = np.inf
        whole = np.where(np.isfinite(values), values, 0.0).astype(np.int64)
        for view in (values, values.T, values[:, ::3], whole):
            assert is_integral(view) is _whole(view), (trial, view.shape)
