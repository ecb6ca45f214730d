"""Reproducible runs of the assignment core (issue 19): a rerun at the same limit repeats the
result and the statistics say how much of the limit the work used; a run the wall clock cut
says it is not reproducible.

The runs here see a simulated clock (``slow_clock.slow_down``): slower than the real one
for the reproducible runs, so that the shared machine's load does not stop a phase (the
case the flag is for), much faster for the flagged run."""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import pytest
from slow_clock import slow_down
from test_gap import _tight_instance, check_assignment

import solver.allocation.gap as core
from solver.allocation.gap.budget import TARGET_SHARE
from solver.allocation.gap.solve import solve_gap

LIMIT = 2.0
# The reproducible runs' simulated machine is this many times faster than the real one (10
# until session 18, whose per-phase paces give CP-SAT more work per second: at load 11 with
# two test processes the clock cut a run at 10).
SPEED = 20.0


def _faster_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The solver sees a machine ``SPEED`` times faster: its clock (``slow_down``) and the
    wall-clock limits it gives CP-SAT, which keeps its own, real clock."""
    slow_down(monkeypatch, 1.0 / SPEED)
    for info in pkgutil.iter_modules(core.__path__, core.__name__ + "."):
        module = importlib.import_module(info.name)
        original = getattr(module, "solve_cpsat", None)
        if original is None or info.name.endswith(".cpsat"):
            continue

        def scaled(*args, time_limit, _solve=original, **kwargs):
            return _solve(*args, time_limit=time_limit * SPEED, **kwargs)

        monkeypatch.setattr(module, "solve_cpsat", scaled)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("shape", [(8, 400), (20, 600)], ids=["exact-path", "decomposition"])
def test_a_rerun_at_the_same_limit_repeats_the_result_and_reports_its_work(
    monkeypatch, shape, workers
):
    """Two solves of one instance at one limit (one or two CP-SAT workers) return the same
    assignment, objective and bound, flagged reproducible, with the work account's share of
    the limit (its phases' seconds over the limit) near the budgets' target."""
    cost, resource, capacity = _tight_instance(*shape, seed=5)
    _faster_machine(monkeypatch)  # the shared machine's load stops nothing here
    runs = [
        solve_gap(cost, resource, capacity, time_limit=LIMIT, seed=2, workers=workers)
        for _ in range(2)
    ]
    first, second = runs
    for run in runs:
        assert run.stats["wall_clock_stop"] == ""
        assert run.stats["reproducible"] is True
    assert np.array_equal(first.assignment, second.assignment)
    assert (first.objective, first.bound) == (second.objective, second.bound)
    assert first.objective == check_assignment(first, cost, resource, capacity)
    for run in runs:
        work = run.stats["work"]
        seconds = sum(phase[0] for phase in work["phases"].values())
        assert work["share_of_limit"] == pytest.approx(seconds / LIMIT, rel=1e-4)
    if first.status.name != "OPTIMAL":  # a proven optimum ends the run before its budgets
        # most of the target (75 % of the limit); a budget's last step may pass it a little
        assert 0.8 * TARGET_SHARE <= first.stats["work"]["share_of_limit"] <= 1.0


def test_a_phase_the_clock_stops_flags_the_run_not_reproducible(monkeypatch):
    """On a machine 50x slower the clock stops a phase before its budget: the statistics name
    it and flag the result not reproducible, and the assignment is still feasible."""
    cost, resource, capacity = _tight_instance(20, 600, seed=5)
    slow_down(monkeypatch, 50.0)
    result = solve_gap(cost, resource, capacity, time_limit=LIMIT, seed=2, workers=1)
    assert result.stats["wall_clock_stop"] != ""
    assert result.stats["reproducible"] is False
    if result.has_solution:
        assert result.objective == check_assignment(result, cost, resource, capacity)


def test_an_anytime_run_is_never_flagged_reproducible(monkeypatch):
    """A parallel run that gives up reproducibility on purpose (its search fills the wall
    clock) is flagged not reproducible even when the clock stopped none of its budgets."""
    cost, resource, capacity = _tight_instance(20, 600, seed=5)
    _faster_machine(monkeypatch)
    result = solve_gap(
        cost, resource, capacity, time_limit=LIMIT, seed=2, workers=2, reproducible=False
    )
    assert result.stats["reproducible"] is False
    assert result.objective == check_assignment(result, cost, resource, capacity)
