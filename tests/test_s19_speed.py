"""Session 19 speed work: the faster walks return what the month-by-month rules say.

``seesaw_runs`` now walks blocks of equal amounts and ``holiday_runs`` groups the zero
months; the oracles below are the rules walked month by month, written here from their
docstrings (not the code under test), and compared on many generated payment paths.
"""

from __future__ import annotations

import numpy as np
import pytest

from solver.plans.smooth import MIN_SWITCHES, seesaw_runs
from solver.plans.terms import holiday_runs


def _seesaw_oracle(payments: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs (clearing month aside) of at most two non-zero amounts with at least
    MIN_SWITCHES changes, tried from every month in turn (a run found is skipped over)."""
    body = [float(x) for x in payments[:-1]]
    runs, t = [], 0
    while t < len(body):
        if body[t] <= 0:
            t += 1
            continue
        seen, stop = {body[t]}, t + 1
        while stop < len(body) and body[stop] > 0 and len(seen | {body[stop]}) <= 2:
            seen.add(body[stop])
            stop += 1
        changes = sum(body[k] != body[k - 1] for k in range(t + 1, stop))
        if changes >= MIN_SWITCHES:
            runs.append((t, stop))
            t = stop
        else:
            t += 1
    return runs


def _holiday_oracle(payments: np.ndarray) -> tuple[tuple[int, int], ...]:
    """Runs of zero months before the last month, 1-based and inclusive."""
    runs: list[list[int]] = []
    for month, p in enumerate(payments[:-1], start=1):
        if p == 0:
            if runs and runs[-1][1] == month - 1:
                runs[-1][1] = month
            else:
                runs.append([month, month])
    return tuple((a, b) for a, b in runs)


def _paths(seed: int, count: int) -> list[np.ndarray]:
    """Payment paths with long blocks, dips, zeros and see-saws between a few amounts."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        T = int(rng.integers(0, 40))
        amounts = rng.choice([0.0, 100.0, 375.0, 650.0, 2600.0], size=int(rng.integers(1, 5)))
        path = rng.choice(amounts, size=T)
        if rng.random() < 0.6:  # blocks of equal amounts, as the searches produce
            path = np.repeat(path, rng.integers(1, 6, size=T))[:T]
        out.append(path)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_seesaw_runs_match_the_month_walk(seed: int) -> None:
    """seesaw_runs gives the month-by-month walk's runs on generated payment paths."""
    for path in _paths(seed, 3000):
        assert seesaw_runs(path) == _seesaw_oracle(path), path


@pytest.mark.parametrize("seed", [0, 1])
def test_holiday_runs_match_the_month_walk(seed: int) -> None:
    """holiday_runs gives the zero-month runs (as plain ints) on generated paths, in cents too."""
    for path in _paths(seed, 3000):
        for pay in (path, np.round(path * 100).astype(np.int64)):
            got = holiday_runs(pay)
            assert got == _holiday_oracle(pay), pay
            assert all(type(x) is int for run in got for x in run)
