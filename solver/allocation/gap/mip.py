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

Determinism: HiGHS's search is deterministic, but it has no deterministic work limit that
paces it (nodes took 5 to 220 ms on these instances). So its answer is used only when it
proves optimality before the deadline: the result is then the same on every run in which it
proves it, and otherwise it is the deterministic phases' own. A run whose child proves
optimality only on some machines or loads may differ between them (``stats["mip"]`` says
which happened); its certificate holds either way. Nothing of an unproven child is used
(neither its solution nor its bound), so an unproven MIP changes nothing.
"""

from __future__ import annotations

import math
import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solver.allocation.gap.problem import AssignmentProblem

__all__ = ["MipJob", "start_mip"]

#: The child needs this long at least after it starts (spawning it and importing HiGHS take
#: about 0.5 s); a shorter window starts none.
MIP_MIN_SECONDS = 2.0
#: The child's time limit ends this long before the run's deadline (the parent's last wait).
MIP_MARGIN_SECONDS = 0.3


@dataclass
class MipJob:
    """A running MIP child: its process and what became of it."""

    process: subprocess.Popen[bytes]
    folder: tempfile.TemporaryDirectory[str]
    outcome: str = "running"
    #: The child's CPU time, once settled (it runs beside the searches, on the other core).
    cpu_seconds: float = 0.0
    #: Its proven optimum, once settled (``None``: none, or not used).
    answer: np.ndarray | None = None
    #: This process's reaped children's CPU time when the child started.
    children_cpu: float = 0.0

    def __post_init__(self) -> None:
        # a run that ends without finish (an exception, an interrupt) still ends its child
        weakref.finalize(self, _end, self.process, self.folder)

    def proven(self, problem: AssignmentProblem) -> bool:
        """Whether the child has ended with a proof of optimality (without waiting; a child
        that ended without one is settled as unused)."""
        if self.outcome == "running" and self.process.poll() is None:
            return False
        return self.settle(problem, time.perf_counter()) is not None

    def settle(self, problem: AssignmentProblem, deadline: float) -> np.ndarray | None:
        """The child's assignment if it proved it optimal by ``deadline`` (waiting for it
        until then), else ``None``; the child is ended either way and :attr:`outcome`
        records what happened. Once settled, the same answer without waiting."""
        if self.outcome != "running":
            return self.answer
        wait = deadline - time.perf_counter()
        try:
            self.process.wait(timeout=max(0.0, wait))
        except subprocess.TimeoutExpired:
            if wait > 0.0:
                self.outcome = "not proven by the deadline (unused)"
            else:
                self.outcome = "stopped: the run ended first (unused)"
        else:
            self.answer = self._receive(problem)
        _end(self.process, self.folder)
        self.cpu_seconds = _children_cpu() - self.children_cpu  # the child, reaped by now
        return self.answer

    def _receive(self, problem: AssignmentProblem) -> np.ndarray | None:
        try:
            with open(Path(self.folder.name) / ANSWER, "rb") as file:
                status, assignment, seconds = pickle.load(file)
        except (OSError, EOFError, pickle.UnpicklingError, ValueError):
            self.outcome = f"failed (exit code {self.process.returncode}, no answer)"
            return None
        if status != "optimal":
            self.outcome = f"{status} after {seconds:.1f} s (unused)"
            return None
        assignment = np.asarray(assignment, dtype=np.int64)
        if not problem.is_feasible(assignment):  # HiGHS's tolerances let a row pass by 1e-6
            self.outcome = "optimal within HiGHS's tolerances only (unused)"
            return None
        self.outcome = f"proven optimal in {seconds:.1f} s"
        return assignment


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


#: The child's files in its folder: the problem it is given and the answer it writes. The
#: folder is this user's alone (``tempfile`` makes it mode 0700), so pickles are safe there.
PROBLEM, ANSWER = "problem.pkl", "answer.pkl"


def start_mip(
    problem: AssignmentProblem,
    allowed: np.ndarray,
    hint: np.ndarray,
    *,
    deadline: float,
    integral_costs: bool,
) -> MipJob | None:
    """Start HiGHS on ``problem`` (``allowed`` pairs, hinted with ``hint``) in a child
    process that stops ``MIP_MARGIN_SECONDS`` before ``deadline``; ``None`` when the window
    is shorter than ``MIP_MIN_SECONDS`` or the problem has global rows (budgets: their MIP
    is not what was measured).

    The child is ``python -m solver.allocation.gap.mip FOLDER``, not a multiprocessing
    process: spawning one runs the caller's main script again (a script without a
    ``__main__`` guard solved its problem twice, then failed), and forking copies
    CP-SAT's and the compiled kernels' threads. It ignores Ctrl-C (the parent ends it) and
    its output goes nowhere (its answer is a file)."""
    window = deadline - time.perf_counter() - MIP_MARGIN_SECONDS
    if window < MIP_MIN_SECONDS or problem.global_capacity.size:
        return None
    folder = tempfile.TemporaryDirectory(prefix="workout-mip-")
    weight = np.broadcast_to(problem.weight, problem.cost.shape)
    args = (
        np.where(allowed, problem.cost, 0.0),
        np.ascontiguousarray(weight),
        np.asarray(problem.row_of),
        np.asarray(problem.capacity),
        allowed,
        hint,
        window,
        integral_costs,
    )
    with open(Path(folder.name) / PROBLEM, "wb") as file:
        pickle.dump(args, file, protocol=pickle.HIGHEST_PROTOCOL)
    root = str(Path(__file__).resolve().parents[3])  # the folder that holds solver/
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    children_cpu = _children_cpu()
    process = subprocess.Popen(
        [sys.executable, "-m", __name__, folder.name],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    return MipJob(process, folder, children_cpu=children_cpu)


def _child(folder: Path) -> None:
    """The child process: :func:`solve_mip` on the folder's problem, its answer written
    there (a failure as a status: the parent reads it as unused)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with open(folder / PROBLEM, "rb") as file:
        args = pickle.load(file)
    try:
        answer = solve_mip(*args)
    except Exception as exc:
        answer = (f"failed ({type(exc).__name__})", None, 0.0)
    partial = folder / (ANSWER + ".part")
    with open(partial, "wb") as file:
        pickle.dump(answer, file)
    os.replace(partial, folder / ANSWER)


def solve_mip(
    cost: np.ndarray,
    weight: np.ndarray,
    row_of: np.ndarray,
    capacity: np.ndarray,
    allowed: np.ndarray,
    hint: np.ndarray,
    seconds: float,
    integral_costs: bool,
) -> tuple[str, list[int] | None, float]:
    """HiGHS on the assignment MIP: one binary per allowed pair, each job assigned once, each
    own row within its capacity, hinted with ``hint``. Returns ``(status, assignment,
    seconds)``: status ``"optimal"`` (within one unit of the objective when the costs are
    whole numbers, else exactly) with the assignment, or another status without it."""
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
        time_limit=timedelta(seconds=max(0.0, seconds - (time.perf_counter() - started))),
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
    reason = result.termination.reason
    if reason != mathopt.TerminationReason.OPTIMAL or not result.has_primal_feasible_solution():
        return reason.name.lower(), None, elapsed
    taken = np.array(result.variable_values(x)) > 0.5
    assignment = np.full(allowed.shape[1], -1, dtype=np.int64)
    assignment[jobs[taken]] = options[taken]
    if (assignment < 0).any() or not math.isfinite(float(values[taken].sum())):
        return "failed (incomplete assignment)", None, elapsed
    return "optimal", assignment.tolist(), elapsed


if __name__ == "__main__":
    _child(Path(sys.argv[1]))
