"""The assignment core keeps its time limit (issue 19 follow-up): a solve returns within its
limit plus a small tolerance on a loaded machine, simulated by a clock that runs faster than
the real one (what the solver measures as one second is a fraction of a second here)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from workout_process import ROOT, workout_env

from solver.allocation.gap import knapsack
from solver.allocation.gap.problem import AssignmentProblem


class StepClock:
    """A ``time`` stand-in whose clock moves only when the wrapped evaluation runs: each
    knapsack evaluation takes ``step`` seconds of it, everything else none."""

    def __init__(self, step: float):
        self.now = 0.0
        self.step = step

    def perf_counter(self) -> float:
        return self.now


def test_a_knapsack_evaluation_starts_only_when_it_fits_before_the_deadline(monkeypatch):
    """Each evaluation (one DP per row) cannot be interrupted: the ascent starts one only
    while the wall time the last one took is left, so it ends before its deadline, and says
    the clock stopped it. (It used to check only that the deadline had not passed: with
    evaluations of 0.3 s and a deadline at 1.0 s it ended at 1.2 s.)"""
    clock = StepClock(0.3)
    evaluate = knapsack._evaluate

    def timed(*args):
        clock.now += clock.step
        return evaluate(*args)

    monkeypatch.setattr(knapsack, "time", clock)
    monkeypatch.setattr(knapsack, "_evaluate", timed)
    rng = np.random.default_rng(3)
    problem = AssignmentProblem(
        cost=rng.integers(10, 50, size=(4, 30)).astype(float),
        weight=rng.integers(5, 25, size=(4, 30)).astype(float),
        row_of=np.arange(4),
        capacity=np.full(4, 60.0),
    )
    out = knapsack.knapsack_bound(
        problem, problem.allowed(), np.zeros(4), upper_bound=1e9, max_cells=10**12, deadline=1.0
    )
    assert clock.now <= 1.0
    assert out.iterations == 3  # evaluations at 0.3, 0.6 and 0.9: a fourth would end at 1.2
    assert out.clock_stop


_FIRST_SOLVE = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, "tests")
from slow_clock import slow_down
import pytest
from solver.allocation.gap.solve import solve_gap
rng = np.random.default_rng(0)
resource = rng.integers(5, 26, size=(3, 12))
cost = rng.integers(10, 51, size=(3, 12))
capacity = np.full(3, int(resource.sum() / 3 * 0.5))
# the solver's clock runs FACTOR times faster than the real one: a machine that much slower
# (or loaded) as the solver sees it
with pytest.MonkeyPatch.context() as mp:
    slow_down(mp, FACTOR)
    result = solve_gap(cost, resource, capacity, time_limit=LIMIT, workers=1)
print(json.dumps({"runtime": result.runtime, "status": result.status.name,
                  "method": result.method}))
"""


@pytest.mark.parametrize("factor", [10.0])
def test_the_first_solve_of_a_process_keeps_its_limit_on_a_slow_machine(factor):
    """In a fresh process, the first solve that builds a CP-SAT model keeps its limit on a
    machine ``factor`` times slower: OR-Tools' CP-SAT import (about 0.4 s idle, 3.7 s as
    such a machine sees it) is in the warm-up, before the clock. It used to be inside the
    first CP-SAT phase, unaccounted: session 9 measured a 3-s solve at 4.6 s of wall time,
    and this probe ran over its 2-s limit by more than 3 s. The tolerance is the last piece
    of work the clock cannot interrupt (slices of the compiled searches, ten times slower
    here than on the project machine)."""
    limit = 2.0
    code = _FIRST_SOLVE.replace("FACTOR", repr(factor)).replace("LIMIT", repr(limit))
    # a fresh interpreter: nothing compiled or imported yet (this one has CP-SAT loaded)
    fresh = {"capture_output": True, "text": True, "check": True, "cwd": ROOT}
    out = subprocess.run([sys.executable, "-c", code], env=workout_env(), **fresh)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert "cp-sat" in got["method"], got  # the path that builds a CP-SAT model
    assert got["runtime"] <= limit + 1.0, got
    assert math.isfinite(got["runtime"])
