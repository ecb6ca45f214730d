"""The MIP phase of small problems (sessions 22-23, issue 19): HiGHS in a child process with a
budget of nodes, whose proof of optimality is taken at the end of the run, and nothing of it
used otherwise; a child the clock stops is a clock stop."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from solver.allocation.gap import solve as solve_module
from solver.allocation.gap.mip import (
    ANSWER,
    MIP_MIN_LIMIT,
    NODE_LIMIT,
    TIME_LIMIT,
    MipJob,
    solve_mip,
    start_mip,
)
from solver.allocation.gap.problem import AssignmentProblem
from solver.allocation.gap.solve import solve_assignment
from solver.domain import Status


def _tiny(seed: int, *, whole: bool = True) -> AssignmentProblem:
    """4 options over 7 jobs: options 0 and 1 share row 0, option 2 has row 1, option 3 no
    row (uncapacitated, dear); one forbidden pair; costs whole numbers or not."""
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 40, (4, 7)).astype(float)
    if not whole:
        cost += rng.random((4, 7)).round(2)
    cost[3] += 60.0
    cost[2, 0] = np.inf
    weight = rng.integers(1, 6, (4, 7)).astype(float)
    return AssignmentProblem(
        cost=cost,
        weight=weight,
        row_of=np.array([0, 0, 1, -1]),
        capacity=np.array([9.0, 7.0]),
    )


def _brute_force(problem: AssignmentProblem) -> float:
    """The least cost of every assignment that keeps each row within its capacity (the
    test's own enumeration of the 4**7 assignments)."""
    return _brute_force_choice(problem)[0]


def _brute_force_choice(problem: AssignmentProblem) -> tuple[float, list[int]]:
    """The least cost (as in :func:`_brute_force`) and an assignment that has it."""
    k, n = problem.cost.shape
    best, best_choice = np.inf, [-1] * n
    for choice in itertools.product(range(k), repeat=n):
        used = np.zeros(problem.capacity.size)
        total = 0.0
        for job, option in enumerate(choice):
            total += problem.cost[option, job]
            if problem.row_of[option] >= 0:
                used[problem.row_of[option]] += problem.weight[option, job]
        if np.all(used <= problem.capacity + 1e-9) and total < best:
            best, best_choice = total, list(choice)
    return float(best), best_choice


def _args(
    problem: AssignmentProblem, seconds: float, whole: bool, nodes: int = 10**6, hint=None
) -> tuple:
    allowed = problem.allowed()
    if hint is None:
        hint = np.full(problem.n_jobs, 3)  # the uncapacitated option: always feasible
    cost = np.where(allowed, problem.cost, 0.0)
    until = time.time() + seconds
    weight = np.broadcast_to(problem.weight, problem.cost.shape)
    return (cost, weight, problem.row_of, problem.capacity, allowed, hint, until, nodes, whole)


def test_solve_mip_finds_the_brute_force_optimum() -> None:
    """solve_mip's assignment is feasible and costs the brute-force optimum, with whole and
    with cent costs."""
    for seed, whole in ((1, True), (2, True), (3, False), (4, False)):
        problem = _tiny(seed, whole=whole)
        status, assignment, _, bound, _ = solve_mip(*_args(problem, 20.0, whole))
        assert status == "optimal"
        found = np.array(assignment)
        assert problem.is_feasible(found)
        best = _brute_force(problem)
        assert abs(problem.objective(found) - best) < 1e-6
        assert bound is not None and best - (0.99 if whole else 1e-6) <= bound <= best + 1e-6


def _start(problem: AssignmentProblem) -> MipJob:
    """A child on ``problem``, hinted with the uncapacitated option, 30 s to answer."""
    hint = np.full(problem.n_jobs, 3)
    deadline = time.perf_counter() + 30.0
    job = start_mip(
        problem, problem.allowed(), hint, deadline=deadline, nodes=10**6, integral_costs=True
    )
    assert job is not None
    return job


def test_start_mip_answers_through_its_child_and_cleans_up() -> None:
    """The child process proves the optimum, settle returns it and records it, and the
    child's folder is removed."""
    problem = _tiny(5)
    job = _start(problem)
    folder = Path(job.folder.name)
    found = job.settle(problem, time.perf_counter() + 30.0)
    assert found is not None and problem.objective(found) == _brute_force(problem)
    assert job.outcome.startswith("proven optimal")
    assert job.process.poll() is not None and not folder.exists()


def test_no_child_for_global_rows_or_a_short_limit() -> None:
    """No child starts for a problem with a global row (a budget), nor in a run whose time
    limit is under MIP_MIN_LIMIT (the limit decides, not the wall time left)."""
    problem = _tiny(6)
    hint = np.full(problem.n_jobs, 3)
    budget = replace(problem, global_weight=np.ones((1, 4, 1)), global_capacity=np.array([7.0]))
    later = time.perf_counter() + 30.0
    job = start_mip(budget, budget.allowed(), hint, deadline=later, nodes=99, integral_costs=True)
    assert job is None
    result = solve_assignment(problem, time_limit=MIP_MIN_LIMIT - 0.5, workers=2)
    assert "mip" not in result.stats


def _job_answering(answer: tuple, *, sleep: float = 0.0) -> MipJob:
    """A MipJob whose 'child' writes ``answer`` (status, assignment, seconds, bound, nodes;
    after ``sleep`` seconds) as the real one would."""
    folder = tempfile.TemporaryDirectory(prefix="workout-mip-test-")
    path = Path(folder.name) / ANSWER
    keys = ("status", "assignment", "seconds", "bound", "nodes")
    data = json.dumps(dict(zip(keys, answer, strict=True))).encode()
    code = (
        f"import time, pathlib; time.sleep({sleep}); "
        f"pathlib.Path({str(path)!r}).write_bytes({data!r})"
    )
    process = subprocess.Popen([sys.executable, "-c", code])
    return MipJob(process, folder)


def test_what_the_child_answers_and_when_the_clock_stopped_it() -> None:
    """A time-limited or node-limited answer without an assignment, and one over a row's
    capacity, give nothing; a time-limited feasible assignment is given, unproven; a child
    that does not answer by the deadline is ended. Only the time limit and the deadline count
    as stops by the clock."""
    problem = _tiny(7)
    job = _job_answering((TIME_LIMIT, None, 3.0, None, 40))
    assert job.settle(problem, time.perf_counter() + 20.0) is None
    assert job.outcome == "time limit after 3.0 s, no assignment (unused)"
    assert job.clock_stopped and job.nodes == 40
    job = _job_answering((NODE_LIMIT, None, 2.0, None, 99))
    assert job.settle(problem, time.perf_counter() + 20.0) is None
    assert job.outcome == "node budget spent after 2.0 s, no assignment (unused)"
    assert not job.clock_stopped
    over = [0] * problem.n_jobs  # every job to option 0: row 0 over its capacity
    job = _job_answering(("optimal", over, 1.0, 0.0, 1))
    assert job.settle(problem, time.perf_counter() + 20.0) is None
    assert "tolerances only" in job.outcome and not job.clock_stopped
    feasible = [3] * problem.n_jobs  # the uncapacitated option
    job = _job_answering((TIME_LIMIT, feasible, 3.0, None, 40))
    found = job.settle(problem, time.perf_counter() + 20.0)
    assert found is not None and found.tolist() == feasible
    assert not job.proven and job.clock_stopped and job.bound == -np.inf
    job = _job_answering(("optimal", feasible, 1.0, 0.0, 1), sleep=30.0)
    started = time.perf_counter()
    assert job.settle(problem, time.perf_counter() + 0.5) is None
    assert time.perf_counter() - started < 5.0
    assert job.outcome == "no answer by the deadline (unused)"
    assert job.process.poll() is not None and job.clock_stopped and job.nodes is None


def test_a_proof_of_the_child_closes_an_unproven_run(monkeypatch) -> None:
    """With the warm start, the exact CP-SAT run and the searches after it made to close nothing, the
    child's proof makes the run OPTIMAL at the brute-force optimum ('+mip')."""
    problem = _tiny(8)

    monkeypatch.setattr(solve_module, "warm_start", _closes_nothing)
    monkeypatch.setattr(solve_module, "exact_phase", _closes_nothing)
    monkeypatch.setattr(solve_module, "tight_search", _closes_nothing)
    monkeypatch.setattr(solve_module, "_search_phases", _finish_unproven)
    result = solve_assignment(problem, time_limit=20.0, workers=2)
    assert result.status is Status.OPTIMAL
    assert result.method.endswith("+mip")
    assert result.stats["mip"].startswith("proven optimal")
    assert result.objective == _brute_force(problem)


def _finish_unproven(run, *args, **kwargs):
    """The search phases replaced by their end: the incumbent as found, unproven."""
    run.bound = -np.inf
    return run.finish(run.incumbent, run.bound, Status.FEASIBLE, run.method)


def test_a_child_stopped_by_the_clock_is_a_clock_stop(monkeypatch) -> None:
    """A child the clock stops while the run waits for it makes the run not reproducible
    (a faster machine might find or prove more) and names 'mip' among the clock stops; a
    child that spends its node budget does not; an unproven assignment of the child that
    costs less than the search's replaces it (FEASIBLE, '+mip'), and otherwise the result is
    the search's own."""
    monkeypatch.setattr(solve_module, "warm_start", _closes_nothing)
    monkeypatch.setattr(solve_module, "exact_phase", _closes_nothing)
    monkeypatch.setattr(solve_module, "tight_search", _closes_nothing)
    monkeypatch.setattr(solve_module, "_search_phases", _finish_unproven)
    problem = _tiny(11)
    optimum, best = _brute_force_choice(problem)
    searched = None
    for answer, sleep, stopped, used in (
        ((NODE_LIMIT, None, 0.1, None, 7), 0.0, False, False),
        ((TIME_LIMIT, None, 4.0, None, 7), 0.0, True, False),
        (("optimal", best, 0.1, optimum, 7), 60.0, True, False),  # late: killed
        ((NODE_LIMIT, best, 0.1, None, 7), 0.0, False, True),
        ((TIME_LIMIT, best, 4.0, None, 7), 0.0, True, True),
    ):

        def child(*args, **kwargs):
            return _job_answering(answer, sleep=sleep)  # noqa: B023 (called in this loop)

        monkeypatch.setattr(solve_module, "start_mip", child)
        result = solve_assignment(problem, time_limit=MIP_MIN_LIMIT, workers=2)
        assert result.status is Status.FEASIBLE, result.stats["mip"]
        assert result.stats["reproducible"] is not stopped, result.stats["mip"]
        assert ("mip" in result.stats["wall_clock_stop"].split(", ")) is stopped
        assert result.method.endswith("+mip") is used, result.stats["mip"]
        if searched is None:
            searched = result.objective  # the search's own (the greedy, deterministic)
            assert optimum < searched  # so that the child's assignment is better
        assert result.objective == (optimum if used else searched)


def test_the_node_budget_stops_highs_the_same_way_twice() -> None:
    """HiGHS stopped by its node budget (not the clock) searches exactly that many nodes and
    gives the same status twice: the budget is deterministic."""
    from test_gap import _tight_instance

    from solver.allocation.gap.problem import gap_problem

    problem, _ = gap_problem(*_tight_instance(10, 200, seed=3), "min")
    hint = np.zeros(problem.n_jobs, dtype=np.int64)
    runs = [solve_mip(*_args(problem, 60.0, True, nodes=3, hint=hint)) for _ in range(2)]
    assert runs[0][0] == runs[1][0] == NODE_LIMIT, runs[0][0]
    assert runs[0][4] == runs[1][4] == 3


def test_the_child_ends_with_an_exception_and_dies_with_its_parent(monkeypatch, tmp_path) -> None:
    """A run that ends by an exception ends its child and removes its folder; a child whose
    parent exits at once (os._exit, no clean-up) dies with it; and a child started from a
    folder holding another 'solver' package still imports the parent's (python -P)."""
    from solver.allocation.gap import mip
    from solver.core import interrupts

    started: list[MipJob] = []

    def recorded(*args, **kwargs):
        job = mip.start_mip(*args, **kwargs)
        assert job is not None and job.folder.name in interrupts._trees  # tracked
        started.append(job)
        return job

    def fails(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(solve_module, "start_mip", recorded)
    monkeypatch.setattr(solve_module, "warm_start", _closes_nothing)
    monkeypatch.setattr(solve_module, "exact_phase", fails)
    try:
        solve_assignment(_tiny(9), time_limit=20.0, workers=2)
    except RuntimeError:
        pass
    (job,) = started
    assert job.process.poll() is not None and not Path(job.folder.name).exists()
    assert job.folder.name not in interrupts._trees

    shadow = tmp_path / "solver"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise SystemExit('the wrong solver package')\n")
    monkeypatch.chdir(tmp_path)
    problem = _tiny(10)
    child = _start(problem)
    assert child.settle(problem, time.perf_counter() + 30.0) is not None, child.outcome

    code = (
        "import sys, os, time, numpy as np; sys.path.insert(0, sys.argv[1]);"
        "from test_gap import _tight_instance; from solver.allocation.gap.mip import start_mip;"
        "from solver.allocation.gap.problem import gap_problem;"
        "p, _ = gap_problem(*_tight_instance(20, 600, seed=5), 'min');"  # minutes for HiGHS
        "j = start_mip(p, p.allowed(), np.zeros(p.n_jobs, dtype=np.int64),"
        " deadline=time.perf_counter() + 120, nodes=10**6, integral_costs=True);"
        "print(j.process.pid, j.folder.name, flush=True); time.sleep(1.5); os._exit(0)"
    )
    parent = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
        timeout=60,
    )
    number, folder = parent.stdout.split()
    pid = int(number)
    shutil.rmtree(folder)  # os._exit left it (the CLI's clean-up removes a tracked folder)
    for _ in range(100):  # the kernel kills it when the parent ends
        if not Path(f"/proc/{pid}").exists() or "Z" in _state(pid):
            break
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid)


def _state(pid: int) -> str:
    """The process state letter from /proc (Z: a zombie, ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return "Z"


def _closes_nothing(run, *args, **kwargs):
    return None


def test_a_result_within_the_gap_tolerance_does_not_wait(monkeypatch) -> None:
    """A run whose result is within the caller's gap tolerance does not wait for the child
    (library callers' gap_tolerance; the child is stopped, its outcome says so)."""
    monkeypatch.setattr(solve_module, "warm_start", _closes_nothing)
    monkeypatch.setattr(solve_module, "exact_phase", _closes_nothing)
    monkeypatch.setattr(solve_module, "tight_search", _closes_nothing)
    monkeypatch.setattr(solve_module, "_search_phases", _finish_within)
    started = time.perf_counter()
    result = solve_assignment(_tiny(12), time_limit=30.0, workers=2, gap_tolerance=10.0)
    assert time.perf_counter() - started < 20.0
    assert result.status is Status.FEASIBLE and not result.method.endswith("+mip")
    assert result.stats["mip"].endswith("(unused)")


def _finish_within(run, *args, **kwargs):
    """The search phases replaced by their end, with a bound the tolerance accepts."""
    objective = run.problem.objective(run.incumbent)
    return run.finish(run.incumbent, objective * 0.5, Status.FEASIBLE, run.method)
