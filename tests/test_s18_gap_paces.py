"""Per-phase paces of the assignment core's work budgets (issue 19, session 18): every phase
turns its budget -- seconds of the idle machine -- into its own units at its own pace
(``budget.PACE``), books what it did back at that pace, and records the CPU seconds it took.

The oracles here are the rates and the table themselves (``rate × pace`` units per second), not
the solver's conversions."""

from __future__ import annotations

import time

import numpy as np
import pytest
from test_gap import _tight_instance

from solver.allocation.gap import budget, improve
from solver.allocation.gap.budget import PACE, TARGET_SHARE, WorkClock, idle_rate
from solver.allocation.gap.cpsat_phases import cpsat_run_det
from solver.allocation.gap.dual import lagrangian_dual
from solver.allocation.gap.knapsack import KnapsackBound
from solver.allocation.gap.problem import gap_problem
from solver.allocation.gap.state import Run

# The rate (units per second at load) each kind of work's pace applies to, restated from
# budget.py's documentation: the test's own table.
RATES = {
    "lagrangian": budget.DUAL_CELLS_PER_SECOND,
    "greedy": budget.GREEDY_CELLS_PER_SECOND,
    "cp-sat": budget.CPSAT_DET_PER_SECOND,
    "parallel cp-sat": budget.CPSAT_DET_PER_SECOND,
    "ejection chains": budget.EJECTION_WORK_PER_SECOND,
    "tabu search": budget.TABU_WORK_PER_SECOND,
    "knapsack bound": budget.KNAPSACK_CELLS_PER_SECOND,
    "lns": budget.LNS_WORK_PER_SECOND,
    "lp relaxation": budget.LP_PAIRS_PER_SECOND,
    "lp search": budget.LNS_WORK_PER_SECOND,
    "min-cost flow": budget.FLOW_ARCS_PER_SECOND,
    "core flow": 1.0,
}


def _run(workers: int, limit: float = 10.0) -> Run:
    """A reproducible run of a small tight GAP with ``workers`` CP-SAT workers."""
    problem, _ = gap_problem(*_tight_instance(8, 40, seed=3), "min")
    return Run(problem, time.perf_counter(), limit, 0, workers, 0.0, True, {}, WorkClock(limit))


def test_every_kind_of_work_has_its_own_pace():
    """Each kind of work the phases book is priced at its rate times its own pace, and the
    paces are not one number (the single pace the budgets had until session 18)."""
    assert set(PACE) == set(RATES)
    for kind, rate in RATES.items():
        assert idle_rate(kind) == pytest.approx(rate * PACE[kind])
    assert min(PACE.values()) > 0.0
    assert len(set(PACE.values())) > 3


@pytest.mark.parametrize("workers", [1, 2])
def test_cpsat_budget_is_its_seconds_at_its_pace(workers):
    """CP-SAT's deterministic budget for s seconds is s × its rate × its pace per worker (the
    interleaved two-worker search at its own, faster pace), summed over the workers."""
    kind = "cp-sat" if workers == 1 else "parallel cp-sat"
    expected = 2.0 * budget.CPSAT_DET_PER_SECOND * PACE[kind] * workers
    assert cpsat_run_det(_run(workers), 2.0) == pytest.approx(expected)


def test_ejection_chains_get_their_seconds_at_their_pace(monkeypatch):
    """The ejection-chain search is given s seconds × its rate × its pace of move
    evaluations, and books the moves it made back over the same product."""
    seen: dict[str, int] = {}

    def search(problem, start, *args, work_budget, stats, **kwargs):
        seen["budget"] = work_budget
        stats.update(ejection_work=work_budget // 2, ejection_wall_stop=False)
        return start

    monkeypatch.setattr(improve, "ejection_search", search)
    run = _run(1)
    start = np.zeros(run.problem.n_jobs, dtype=np.int64)
    allowed = run.problem.allowed()
    rc = np.zeros(allowed.shape)
    improve._chains(run, start, allowed, rc, np.zeros(run.problem.capacity.size), 1.5, 0)
    units = 1.5 * budget.EJECTION_WORK_PER_SECOND * PACE["ejection chains"]
    # whole moves of the product, up to the last one (its float order may differ: s20)
    assert abs(seen["budget"] - units) <= 1.0
    spent, booked, _, cpu = run.clock.phases["ejection chains"]
    assert booked == pytest.approx(1.5)
    assert spent == pytest.approx((seen["budget"] // 2) / units * 1.5)
    assert cpu >= 0.0


def test_the_knapsack_phase_books_every_cell_to_the_bound(monkeypatch):
    """Every dynamic-programme cell of the knapsack ascent is booked to the bound at the
    knapsack's pace, the cells done past the bound's own budget for the restarts too (an
    ascent that used its whole budget, restarts' part included); the restarts book only
    their own work."""
    given: dict[str, int] = {}

    def ascent(problem, allowed, prices, *, upper_bound, max_cells, deadline, on_choice):
        given["max_cells"] = max_cells
        return KnapsackBound(
            bound=upper_bound - 1.0, start=0.0, iterations=3, cells=max_cells, picks=np.ones(1)
        )

    monkeypatch.setattr(improve, "knapsack_bound", ascent)
    run = _run(1)
    allowed = run.problem.allowed()
    run.incumbent = np.zeros(run.problem.n_jobs, dtype=np.int64)
    dual = lagrangian_dual(run.problem, deadline=time.perf_counter() + 5.0, allowed=allowed)
    rc = np.where(allowed, run.problem.reduced_costs(dual.prices, dual.global_prices), np.inf)
    left = run.clock.left
    improve.knapsack_phase(run, allowed, dual, rc)
    units = RATES["knapsack bound"] * PACE["knapsack bound"]
    # the bound's own budget and the restarts', both in the knapsack's cells
    bound_s, restart_s = improve.KNAPSACK_SHARE * left, improve.RESTART_SHARE * left
    assert given["max_cells"] == int(bound_s * units) + int(restart_s * units)
    phases = run.clock.phases
    assert phases["knapsack bound"][0] == pytest.approx(given["max_cells"] / units)
    assert phases["knapsack bound"][1] == pytest.approx(bound_s)
    assert phases["lagrangian restarts"][0] == pytest.approx(0.0)  # no restart ran
    assert phases["lagrangian restarts"][1] == pytest.approx(restart_s)


def test_the_account_is_in_seconds_of_the_idle_machine():
    """The work clock's budget is TARGET_SHARE of the limit, its share of the limit the
    seconds booked over the limit, and each booking records the CPU seconds since the one
    before (or those given)."""
    clock = WorkClock(8.0)
    assert clock.total == pytest.approx(TARGET_SHARE * 8.0)
    sum(i * i for i in range(200_000))  # some CPU time for the first booking
    clock.charge("lns", 1.0, 2.0, 0.5)
    clock.charge("tabu search", 2.0, 2.0, 0.7, cpu=0.25)
    report = clock.report()
    assert report["spent_s"] == pytest.approx(3.0)
    assert report["share_of_limit"] == pytest.approx(3.0 / 8.0)
    assert report["share_of_budget"] == pytest.approx(3.0 / (TARGET_SHARE * 8.0))
    assert report["phases"]["lns"][3] > 0.0
    assert report["phases"]["tabu search"][3] == pytest.approx(0.25)
    assert report["cpu_s"] == pytest.approx(report["phases"]["lns"][3] + 0.25, abs=1e-5)
    assert clock.left == pytest.approx(TARGET_SHARE * 8.0 - 3.0)
