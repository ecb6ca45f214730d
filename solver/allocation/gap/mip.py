"""The MIP phase of small problems: HiGHS's branch and cut (through OR-Tools' MathOpt) in a
child process, beside the elite search and the improvement phase, whose proof of optimality
ends the run.

Why (issue 19, session 22): on the small Yagiura instances our searches stall a few units
above the optimum at 60 s (e20100 8,448 and e20200 22,388 against 8,436 and 22,379), where
plain CP-SAT sometimes proves it. HiGHS alone, one thread, proves e05100, e10100, e10200,
e10400, e20200, c10400 and e20100 optimal in 4, 16, 16, 27, 17, 7 and 44 s (5 Dec 2026,
load 7, priority); hinted with our incumbent e20200 took 14.5 s and e20100 35.5 s. Fixing
pairs by the LP's reduced costs or adding the incumbent's value as a constraint made it
slower (e20200 33 and 40 s). It does not close the tight type D (d10400: 24,984 at 60 s,
ours 24,977).

Why a child process: MathOpt's and scipy's HiGHS calls hold the GIL (a Python loop beside
them ran at half speed, the process at one CPU), and the elite search after the exact
CP-SAT run uses one core of the two a parallel run has. The problem goes to the child, and
its answer comes back, as files in a temporary folder.

Determinism (session 23): HiGHS's search is deterministic (the same model, hint and node
budget give the same nodes: c10400 680 nodes and 60,126 simplex iterations twice), but it has
no deterministic measure of work that tracks time: a node took 4 to 48 ms on these instances.
So the child gets a deterministic budget of branch-and-bound nodes,
:data:`MIP_NODES_PER_SECOND` times the time limit, and the run uses it like a phase:

- its answer is taken only when the searches' own result, which they reach first on every
  run (nothing of the child stops them), is neither proven nor within the caller's gap
  tolerance: then its proven optimum replaces that result, and an unproven assignment
  replaces it when it costs less (HiGHS's bound is used only with a proof);
- a child that spends its nodes ends the same way on every run;
- a child that the wall clock stops first (its own time limit, or the run's deadline while
  the run waits for it) might have found or proven more on a faster or idler machine: that
  is a clock stop like any phase's (``stats["wall_clock_stop"]`` names ``mip``, and
  ``stats["reproducible"]`` is false), and its best assignment is still taken when it costs
  less than the searches' (the run is flagged either way).

The budget is generous, not a fit to this machine's speed (the nodes' cost varies 11-fold
between instances of one size): 150 a second of the limit lets every proof measured here
through (e20100 needs 4,527 nodes, 53.6 s alone; e05100 1,182 in 5.0 s, c10400 680 in 8.3 s),
and so the tight type D, whose nodes are dear (d10400: 29.5 ms a node, never proven) and
children that do not prove by 10 s, are stopped by the clock and flagged. Whether a child
starts depends on the time limit only (:data:`MIP_MIN_LIMIT`), so the phases beside it, which
run CP-SAT on one worker instead of two, are as deterministic as without it (their results
differ from a run without a child).

Clean-up: the child dies with its parent (``PR_SET_PDEATHSIG`` on Linux: even a hard stop,
``os._exit``, ends it), :func:`solver.allocation.gap.solve.solve_assignment` ends it when the
run ends by an exception or an interruption, and its folder is tracked by
:mod:`solver.core.interrupts` (removed by an interrupted CLI run's clean-up).
"""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from solver.allocation.gap.problem import AssignmentProblem
from solver.core import interrupts
from solver.core.atomic import atomic_open

__all__ = ["MipJob", "mip_nodes", "start_mip"]

#: Runs with a time limit under this start no child: starting one and importing HiGHS take
#: about 0.5 s, and the limit, not the wall time left, decides (see Determinism above).
MIP_MIN_LIMIT = 4.0
#: The child stops this long before the run's deadline, by the wall clock it shares with the
#: parent (``time.time``: its own clock starts after its imports, 0.4-0.5 s later).
MIP_MARGIN_SECONDS = 0.2
#: The child's deterministic budget: this many branch-and-bound nodes per second of the time
#: limit (see Determinism above for why 150).
MIP_NODES_PER_SECOND = 150.0


def mip_nodes(limit: float) -> int:
    """The node budget of a child in a run with time limit ``limit`` (seconds)."""
    return max(1, int(MIP_NODES_PER_SECOND * limit))


@dataclass
class MipJob:
    """A running MIP child: its process and what became of it."""

    process: subprocess.Popen[bytes]
    folder: tempfile.TemporaryDirectory[str]
    outcome: str = "running"
    #: The child's CPU time, once settled (it runs beside the searches, on the other core):
    #: the CPU time of this process's children that ended meanwhile, so another solve's child
    #: ending at the same time would count too (a statistic, nothing depends on it).
    cpu_seconds: float = 0.0
    #: Its best assignment, once settled (``None``: none, or not usable), whether it proved
    #: it optimal, and HiGHS's bound then.
    answer: np.ndarray | None = None
    proven: bool = False
    bound: float = -math.inf
    #: This process's reaped children's CPU time when the child started.
    children_cpu: float = 0.0
    #: The nodes it searched (``None``: unknown, it was stopped before it answered).
    nodes: int | None = None
    #: Whether the wall clock stopped it before its node budget and a proof: a rerun on a
    #: faster machine might prove what this one did not (set when it is settled).
    clock_stopped: bool = False

    def __post_init__(self) -> None:
        # a run that ends without finish (an exception, an interrupt) still ends its child
        weakref.finalize(self, _end, self.process, self.folder)

    def settle(self, problem: AssignmentProblem, deadline: float) -> np.ndarray | None:
        """The child's best assignment when it answered by ``deadline`` (waiting for it until
        then) with a feasible one (:attr:`proven` says whether it proved it optimal), else
        ``None``; the child is ended either way and :attr:`outcome` records what happened
        (and :attr:`clock_stopped` whether the wall clock ended it before its node budget
        and a proof). Once settled, the same answer without waiting."""
        if self.outcome != "running":
            return self.answer
        wait = deadline - time.perf_counter()
        try:
            self.process.wait(timeout=max(0.0, wait))
        except subprocess.TimeoutExpired:
            # still running: stopped by the clock (the caller counts it only when it waited)
            self.clock_stopped = True
            if wait > 0.0:
                self.outcome = "no answer by the deadline (unused)"
            else:
                self.outcome = "stopped: the run ended first (unused)"
        else:
            self.answer = self._receive(problem)
        _end(self.process, self.folder)
        self.cpu_seconds = _children_cpu() - self.children_cpu  # the child, reaped by now
        return self.answer

    def _receive(self, problem: AssignmentProblem) -> np.ndarray | None:
        try:
            with open(Path(self.folder.name) / ANSWER, encoding="utf-8") as file:
                answer = json.load(file)
            status, assignment = str(answer["status"]), answer["assignment"]
            seconds, bound = float(answer["seconds"]), answer["bound"]
            self.nodes = None if answer["nodes"] is None else int(answer["nodes"])
        except (OSError, ValueError, TypeError, KeyError):
            self.outcome = f"failed (exit code {self.process.returncode}, no answer)"
            return None
        # its own time limit is the run's deadline: a stop by the clock, not by the budget
        self.clock_stopped = status == TIME_LIMIT
        if assignment is None:
            self.outcome = f"{status} after {seconds:.1f} s, no assignment (unused)"
            return None
        found = np.asarray(assignment, dtype=np.int64)
        fits = found.shape == (problem.n_jobs,) and bool(
            ((found >= 0) & (found < problem.n_options)).all()
        )
        if not fits or not problem.is_feasible(found):  # HiGHS's tolerances: a row by 1e-6
            self.outcome = f"{status}: feasible within HiGHS's tolerances only (unused)"
            return None
        self.proven = status == OPTIMAL
        if self.proven:
            self.outcome = f"proven optimal in {seconds:.1f} s"
            self.bound = -math.inf if bound is None else float(bound)
        else:
            self.outcome = f"{status} after {seconds:.1f} s"
        return found


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended and been reaped."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _end(process: subprocess.Popen[bytes], folder: tempfile.TemporaryDirectory[str]) -> None:
    """Kill the child if it still runs, and remove its folder."""
    if process.poll() is None:
        process.kill()
        process.wait()
    folder.cleanup()
    interrupts.untrack(folder.name)


#: The child's status when HiGHS proved optimality, when its own time limit (the run's
#: deadline) stopped it, and when its node budget did.
OPTIMAL, TIME_LIMIT, NODE_LIMIT = "optimal", "time limit", "node budget spent"

#: The child's files in its folder: the problem it is given (numpy arrays, no pickles) and the
#: answer it writes (JSON).
PROBLEM, ANSWER = "problem.npz", "answer.json"


def start_mip(
    problem: AssignmentProblem,
    allowed: np.ndarray,
    hint: np.ndarray,
    *,
    deadline: float,
    nodes: int,
    integral_costs: bool,
) -> MipJob | None:
    """Start HiGHS on ``problem`` (``allowed`` pairs, hinted with ``hint``) in a child
    process that stops after ``nodes`` branch-and-bound nodes (:func:`mip_nodes`) or
    ``MIP_MARGIN_SECONDS`` before ``deadline``, whichever comes first; ``None`` when the problem
    has global rows (budgets: their MIP is not what was measured) or the child cannot be
    started. The caller decides by the time limit whether to start one
    (:data:`MIP_MIN_LIMIT`).

    The child is ``python -m solver.allocation.gap.mip FOLDER``, not a multiprocessing
    process: spawning one runs the caller's main script again (a script without a
    ``__main__`` guard solved its problem twice, then failed), and forking copies
    CP-SAT's and the compiled kernels' threads. It ignores Ctrl-C (the parent ends it, and
    it dies with the parent) and its output goes nowhere (its answer is a file)."""
    if problem.global_capacity.size:
        return None
    window = deadline - time.perf_counter() - MIP_MARGIN_SECONDS
    arrays: dict[str, Any] = {
        "cost": np.where(allowed, problem.cost, 0.0),
        "weight": np.broadcast_to(problem.weight, problem.cost.shape),
        "row_of": np.asarray(problem.row_of),
        "capacity": np.asarray(problem.capacity),
        "allowed": allowed,
        "hint": np.asarray(hint, dtype=np.int64),
        "until": np.float64(time.time() + window),  # the wall clock it shares: it starts later
        "nodes": np.int64(nodes),
        "integral_costs": np.bool_(integral_costs),
    }
    root = str(Path(__file__).resolve().parents[3])  # the folder that holds solver/
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    folder = None
    try:
        folder = tempfile.TemporaryDirectory(prefix="workout-mip-")
        interrupts.track(folder.name, tree=True)
        with atomic_open(Path(folder.name) / PROBLEM, "wb") as file:
            np.savez(file, **arrays)
        children_cpu = _children_cpu()
        # -P: the child imports this solver package (PYTHONPATH), not one in its folder
        process = subprocess.Popen(
            [sys.executable, "-P", "-m", __name__, folder.name],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    except OSError:  # no interpreter to start, no room for the folder: the run goes on
        if folder is not None:
            interrupts.untrack(folder.name)
            folder.cleanup()
        return None
    return MipJob(process, folder, children_cpu=children_cpu)


def _child(folder: Path) -> None:
    """The child process: :func:`solve_mip` on the folder's problem, its answer written
    there (a failure as a status: the parent reads it as unused)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the parent ended before the line above
        return
    try:
        with np.load(folder / PROBLEM, allow_pickle=False) as data:
            status, assignment, seconds, bound, nodes = solve_mip(
                data["cost"],
                data["weight"],
                data["row_of"],
                data["capacity"],
                data["allowed"],
                data["hint"],
                float(data["until"]),
                int(data["nodes"]),
                bool(data["integral_costs"]),
            )
    except Exception as exc:
        status, assignment, seconds, bound = f"failed ({type(exc).__name__})", None, 0.0, None
        nodes = None
    answer = {
        "status": status,
        "assignment": assignment,
        "seconds": seconds,
        "bound": bound,
        "nodes": nodes,
    }
    with atomic_open(folder / ANSWER, "w") as file:
        json.dump(answer, file)


def _die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent ends (Linux; elsewhere the parent's
    own clean-up must do)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG


def solve_mip(
    cost: np.ndarray,
    weight: np.ndarray,
    row_of: np.ndarray,
    capacity: np.ndarray,
    allowed: np.ndarray,
    hint: np.ndarray,
    until: float,
    nodes: int,
    integral_costs: bool,
) -> tuple[str, list[int] | None, float, float | None, int | None]:
    """HiGHS on the assignment MIP for at most ``nodes`` branch-and-bound nodes and until the
    wall clock (``time.time()``) reads ``until``: one binary per allowed pair, each job
    assigned once, each own row within its capacity, hinted with ``hint``. Returns
    ``(status, assignment, seconds, bound, nodes searched)``: status :data:`OPTIMAL` (within
    one unit of the objective when the costs are whole numbers, else exactly, by HiGHS's
    tolerances) with the assignment and HiGHS's dual bound (the caller's certificate decides),
    or another status (:data:`TIME_LIMIT`, :data:`NODE_LIMIT`, HiGHS's reason) with the best
    assignment found, if any, and no bound."""
    from datetime import timedelta

    from ortools.math_opt.python import mathopt

    started = time.perf_counter()
    options, jobs = np.nonzero(allowed)
    model = mathopt.Model(name="gap")
    x = [model.add_binary_variable() for _ in range(options.size)]
    by_job: list[list[int]] = [[] for _ in range(allowed.shape[1])]
    by_row: list[list[int]] = [[] for _ in range(capacity.size)]
    for k, (o, j) in enumerate(zip(options.tolist(), jobs.tolist(), strict=True)):
        by_job[j].append(k)
        if row_of[o] >= 0:
            by_row[row_of[o]].append(k)
    for members in by_job:
        model.add_linear_constraint(mathopt.fast_sum(x[k] for k in members) == 1)
    use = weight[options, jobs]
    for r, members in enumerate(by_row):
        if members:
            used = mathopt.fast_sum(float(use[k]) * x[k] for k in members)
            model.add_linear_constraint(used <= float(capacity[r]))
    values = cost[options, jobs]
    model.minimize(mathopt.fast_sum(float(values[k]) * x[k] for k in range(options.size)))
    chosen = hint[jobs] == options
    solution = mathopt.SolutionHint(
        variable_values={x[k]: float(chosen[k]) for k in range(options.size)}
    )
    params = mathopt.SolveParameters(
        time_limit=timedelta(seconds=max(0.0, until - time.time())),
        node_limit=nodes,
        relative_gap_tolerance=0.0,
        absolute_gap_tolerance=0.99 if integral_costs else 0.0,
    )
    result = mathopt.solve(
        model,
        mathopt.SolverType.HIGHS,
        params=params,
        model_params=mathopt.ModelSolveParameters(solution_hints=[solution]),
    )
    elapsed = time.perf_counter() - started
    searched = int(result.solve_stats.node_count)
    reason = result.termination.reason
    status = OPTIMAL
    if reason != mathopt.TerminationReason.OPTIMAL:
        limit = result.termination.limit
        status = {mathopt.Limit.TIME: TIME_LIMIT, mathopt.Limit.NODE: NODE_LIMIT}.get(
            limit, reason.name.lower()
        )
    if not result.has_primal_feasible_solution():
        return status, None, elapsed, None, searched
    taken = np.array(result.variable_values(x)) > 0.5
    assignment = np.full(allowed.shape[1], -1, dtype=np.int64)
    assignment[jobs[taken]] = options[taken]
    if (assignment < 0).any() or not math.isfinite(float(values[taken].sum())):
        return "failed (incomplete assignment)", None, elapsed, None, searched
    if status != OPTIMAL:
        return status, assignment.tolist(), elapsed, None, searched
    bound = float(result.termination.objective_bounds.dual_bound)
    return OPTIMAL, assignment.tolist(), elapsed, bound, searched


if __name__ == "__main__":
    _child(Path(sys.argv[1]))
