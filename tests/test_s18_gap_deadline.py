"""Deadline and reproducibility guards of session 18 (issue 19): the LP relaxation is not
started when it cannot end before the deadline (scipy's set-up and HiGHS stop on their time
limit only after a while: an LP started at the deadline of a 60-s c801600 run at load 12
ended it 2.15 s late), and a CP-SAT run its wall-clock limit ended is flagged as such even
past its deterministic budget."""

from __future__ import annotations

import time

import numpy as np
import pytest
from test_gap import _tight_instance

from solver.allocation.gap import improve
from solver.allocation.gap.budget import WorkClock, idle_rate
from solver.allocation.gap.cpsat import CpOutcome, solve_cpsat, stopped_by_clock
from solver.allocation.gap.problem import gap_problem
from solver.allocation.gap.state import Run
from solver.domain import Status


def _run(limit: float) -> tuple[Run, np.ndarray]:
    """A two-worker run of a tight 10 × 300 GAP with ``limit`` seconds on the clock from now
    and an incumbent (all jobs on agent 0: the LP phase only needs one), and its allowed
    pairs."""
    problem, _ = gap_problem(*_tight_instance(10, 300, seed=4), "min")
    run = Run(problem, time.perf_counter(), limit, 0, 2, 0.0, True, {}, WorkClock(limit))
    run.incumbent = np.zeros(problem.n_jobs, dtype=np.int64)
    return run, problem.allowed()


@pytest.mark.parametrize("share", [0.0, 0.5])
def test_no_lp_past_what_the_clock_has_left(monkeypatch, share):
    """With less wall clock left than the LP's work on an idle core (none, or half of it),
    the LP phase returns without calling HiGHS, books nothing, and names the skip as a
    clock stop (the run is then not reproducible)."""
    calls: list[float] = []
    monkeypatch.setattr(improve, "lp_relaxation", lambda *a, **k: calls.append(1.0))
    pairs = 10 * 300
    lp_seconds = pairs / idle_rate("lp relaxation")
    run, allowed = _run(share * lp_seconds)
    assert improve.lp_phase(run, allowed, allowed, seconds=10 * lp_seconds) is None
    assert calls == []
    assert "lp relaxation skipped" in run.clock_stops
    assert "lp relaxation" not in run.clock.phases


def test_the_lp_runs_when_the_clock_has_room(monkeypatch):
    """With the wall clock to spare the LP phase solves the LP and books its work at the
    LP's pace (the guard above stops only what could not end in time)."""
    calls: list[float] = []

    def lp(problem, allowed, *, time_limit):
        calls.append(time_limit)
        return None  # as if HiGHS had not solved it: the search is not run

    monkeypatch.setattr(improve, "lp_relaxation", lp)
    run, allowed = _run(60.0)
    improve.lp_phase(run, allowed, allowed, seconds=10.0)
    assert len(calls) == 1 and calls[0] > 0.0
    pairs = int(allowed.sum())
    assert run.clock.phases["lp relaxation"][0] == pytest.approx(pairs / idle_rate("lp relaxation"))
    assert "lp relaxation skipped" not in run.clock_stops


def test_a_cpsat_run_cut_past_its_budget_counts_as_stopped_by_the_clock():
    """A CP-SAT run that its wall-clock limit ended counts as stopped by the clock even when
    it reports more deterministic time than its budget (the interleaved search passes its
    budget by a batch); one its budget ended does not, nor a proof."""
    over = CpOutcome(Status.FEASIBLE, None, 0.0, 1.0, det=3.0, timed_out=True)
    assert stopped_by_clock(over, 1.0)
    assert not stopped_by_clock(CpOutcome(Status.FEASIBLE, None, 0.0, 1.0, det=3.0), 1.0)
    assert stopped_by_clock(CpOutcome(Status.FEASIBLE, None, 0.0, 1.0, det=0.5), 1.0)
    assert not stopped_by_clock(CpOutcome(Status.OPTIMAL, None, 0.0, 1.0, det=0.5), 1.0)


def test_solve_cpsat_says_when_its_wall_clock_limit_ended_it():
    """CP-SAT on a tight 20 × 600 GAP with a large deterministic budget and a 4-s wall
    limit reports the clock's stop; with a small budget and a 60-s limit it does not."""
    problem, _ = gap_problem(*_tight_instance(20, 600, seed=5), "min")
    mask = problem.allowed()
    cut = solve_cpsat(
        problem, mask, time_limit=4.0, seed=0, workers=2, det_limit=100.0, deterministic=True
    )
    assert cut.status is not Status.OPTIMAL and cut.timed_out
    assert stopped_by_clock(cut, 100.0)
    ended = solve_cpsat(problem, mask, time_limit=60.0, seed=0, workers=1, det_limit=0.05)
    assert not ended.timed_out
    assert not stopped_by_clock(ended, 0.05)
