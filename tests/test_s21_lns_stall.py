"""The LNS stops once it stalls when it is the only search (session 21): problems with a
global row (``allocate --budget``), where the ejection chains do not apply."""

from __future__ import annotations

import math

import numpy as np

from solver.allocation.gap import improve as improve_module
from solver.allocation.gap.lns import LNS_STALL_MIN, LNS_STALL_PER_ROW, large_neighbourhood_search
from solver.allocation.gap.problem import AssignmentProblem


def _budget_problem(seed: int, n: int = 60, rows: int = 4) -> AssignmentProblem:
    """One option per row plus a free option (row -1, cost 0, no capacity); costs negative
    (a gain for using a row), a global budget on the row options' weights."""
    rng = np.random.default_rng(seed)
    cost = np.vstack([-rng.integers(5, 50, (rows, n)), np.zeros((1, n))]).astype(float)
    weight = np.vstack([rng.integers(1, 6, (rows, n)), np.zeros((1, n))]).astype(float)
    global_weight = weight[None, :, :].copy()  # the budget counts every row option's weight
    return AssignmentProblem(
        cost=cost,
        weight=weight,
        row_of=np.array([*range(rows), -1], dtype=np.int64),
        capacity=np.full(rows, 25.0),
        global_weight=global_weight,
        global_capacity=np.array([40.0]),
    )


def _optimum(problem: AssignmentProblem) -> np.ndarray:
    """The optimal assignment by scipy's MILP (written here, not the LNS's CP-SAT)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    k, n = problem.cost.shape
    c = problem.cost.ravel()
    rows = []
    lo, hi = [], []
    for j in range(n):  # one option per job
        a = np.zeros((k, n))
        a[:, j] = 1
        rows.append(a.ravel())
        lo.append(1)
        hi.append(1)
    for r in range(problem.capacity.size):
        a = np.where(problem.row_of[:, None] == r, problem.weight, 0.0)
        rows.append(a.ravel())
        lo.append(-np.inf)
        hi.append(problem.capacity[r])
    rows.append(problem.global_weight[0].ravel())
    lo.append(-np.inf)
    hi.append(problem.global_capacity[0])
    res = milp(
        c,
        constraints=LinearConstraint(np.array(rows), lo, hi),
        integrality=np.ones_like(c),
        bounds=Bounds(0, 1),
    )
    assert res.success
    return res.x.reshape(k, n).argmax(axis=0)


def test_lns_from_the_optimum_stops_after_stall_iterations() -> None:
    """From an optimal assignment no iteration can improve: the LNS stops after exactly
    ``stall`` iterations, says so, and returns the assignment unchanged."""
    problem = _budget_problem(1)
    best = _optimum(problem)
    keep = problem.allowed()
    stats: dict = {}
    out = large_neighbourhood_search(
        problem, best, keep, problem.cost.copy(), deadline=math.inf, work_budget=1e9,
        seed=0, stats=stats, stall=7,
    )  # fmt: skip
    assert stats["lns_stalled"] and stats["lns_iterations"] == 7
    assert problem.objective(out) == problem.objective(best)


def test_lns_without_stall_uses_its_budget() -> None:
    """Without ``stall`` (GAPs) the same search runs on until its work budget."""
    problem = _budget_problem(1)
    best = _optimum(problem)
    stats: dict = {}
    large_neighbourhood_search(
        problem, best, problem.allowed(), problem.cost.copy(), deadline=math.inf,
        work_budget=0.5, seed=0, stats=stats,
    )  # fmt: skip
    assert not stats["lns_stalled"]
    assert stats["lns_work"] >= 0.5 - stats["lns_work"] / stats["lns_iterations"]


def test_improve_passes_a_stall_only_to_a_lone_lns(monkeypatch) -> None:
    """``improve`` gives the LNS a stall of ``LNS_STALL_PER_ROW`` per row (at least
    ``LNS_STALL_MIN``) on a problem with a global row, and ends the phase after a stalled
    round (one LNS call, not ``SEARCH_ROUNDS``)."""
    calls: list = []

    def fake_lns(problem, assignment, keep, rc, **kw):
        calls.append(kw["stall"])
        kw["stats"].update(lns_work=0.0, lns_wall_s=0.0, lns_wall_stop=False, lns_stalled=True)
        return assignment

    monkeypatch.setattr(improve_module, "large_neighbourhood_search", fake_lns)
    problem = _budget_problem(2)

    class _Clock:
        spent = 0.0

        def charge(self, *a, **k):
            pass

    class _Run:
        pass

    run = _Run()
    run.problem, run.deadline, run.seed, run.bound = problem, math.inf, 0, -math.inf
    run.clock, run.clock_stops, run.stats, run.method = _Clock(), [], {}, ""
    run.good_enough = lambda bound: -math.inf
    start = np.full(problem.cost.shape[1], problem.cost.shape[0] - 1)  # all on the free option

    class _Dual:
        prices = np.zeros(problem.capacity.size)

    improve_module.improve(
        run, problem.allowed(), problem.allowed(), problem.cost.copy(), _Dual(), start,
        seconds=10.0,
    )  # fmt: skip
    assert calls == [max(LNS_STALL_MIN, LNS_STALL_PER_ROW * problem.capacity.size)]
