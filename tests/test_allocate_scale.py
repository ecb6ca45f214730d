"""The allocation at scale (issue 19: 1,000,000 accounts within 30 s): the core flow's column
pricing, its deadline after a core flow that proved nothing, the whole call's time limit,
and the output table's text columns built from codes. Small generated data only; the
1,000,000-account figures are benchmarks/bench_allocate.py's."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from solver.allocation import bulk
from solver.allocation import portfolio as portfolio_module
from solver.allocation.catalogue import Catalogue
from solver.allocation.gap import coreflow, dual_phase, flow_phases
from solver.allocation.gap import solve as solve_module
from solver.allocation.gap.flow import FORBIDDEN
from solver.allocation.gap.problem import AssignmentProblem
from solver.allocation.gap.solve import solve_assignment
from solver.allocation.teams import Teams
from solver.core.generate import generate_portfolio
from solver.domain import Status


def _transport(seed: int, n: int = 400) -> AssignmentProblem:
    """A transportation-shaped minimisation: an uncapacitated free option and four rows."""
    rng = np.random.default_rng(seed)
    k = 7
    value = rng.uniform(0, 40, size=(k, n)).round(2)
    value[rng.random((k, n)) < 0.2] = -np.inf
    value[0] = rng.uniform(0, 5, size=n).round(2)
    return AssignmentProblem(
        cost=np.where(np.isfinite(value), -value, np.inf),
        weight=np.array([0.0, 20.0, 20.0, 40.0, 15.0, 30.0, 30.0])[:, None],
        row_of=np.array([-1, 0, 0, 1, 2, 3, 3]),
        capacity=np.array([2.0, 1.5, 1.0, 2.5]) * n,
    )


@pytest.mark.parametrize("seed", range(3))
def test_priced_out_pairs_are_the_most_negative_per_row(seed, monkeypatch):
    """The pricing adds, per capacitated node, the pairs of negative reduced cost
    ``c_bj + μ_b − here_j`` -- all of them, or the ``take`` most negative when there are
    more -- and says whether any was new; computed here from the table directly."""
    rng = np.random.default_rng(seed)
    n, r1 = 300, 5
    cost = rng.integers(0, 1_000, size=(n, r1)).astype(np.int64)
    cost[rng.random((n, r1)) < 0.15] = FORBIDDEN
    cost[:, r1 - 1] = np.minimum(cost[:, r1 - 1], 900)
    mu = rng.integers(0, 200, size=r1).astype(np.int64)
    mu[r1 - 1] = 0
    here = rng.integers(200, 900, size=n).astype(np.int64)
    slots = np.array([10, 40, 5, 300])
    monkeypatch.setattr(coreflow, "ROW_CANDIDATES_MIN", 20)
    keep = np.zeros((n, r1), dtype=bool)
    assert coreflow._add_priced_out(keep, cost, mu, here, slots)
    for b in range(r1 - 1):
        rise = np.array(
            [cost[j, b] + mu[b] - here[j] if cost[j, b] < FORBIDDEN else 1 for j in range(n)]
        )
        negative = np.flatnonzero(rise < 0)
        take = min(n, coreflow.ROW_CANDIDATES_MAX, max(20, coreflow.ROW_CANDIDATES * slots[b]))
        chosen = np.flatnonzero(keep[:, b])
        assert chosen.size == min(take, negative.size)
        assert set(chosen) <= set(negative)
        if negative.size > take:  # nothing left out is more negative than what was taken
            assert rise[np.setdiff1d(negative, chosen)].min() >= rise[chosen].max()
    assert (~keep[:, r1 - 1]).all()  # the uncapacitated node is never priced
    assert not coreflow._add_priced_out(keep, cost, mu, here, slots)  # nothing new


def _one_round_core_flow(monkeypatch) -> None:
    """The core flow cut to one round from prices that price every row out (a core that
    proves nothing)."""
    real = flow_phases.solve_core_flow

    def one_round(problem, allowed, slots, prices, **kwargs):
        return real(
            problem, allowed, slots, np.full_like(prices, 10.0), core_jobs=10, **kwargs, rounds=1
        )

    monkeypatch.setattr(flow_phases, "solve_core_flow", one_round)
    monkeypatch.setattr(coreflow, "ROW_CANDIDATES_MAX", 5)
    monkeypatch.setattr(solve_module, "FLOW_MAX_ARCS", 100)
    monkeypatch.setattr(dual_phase, "SAMPLE_MIN_JOBS", 100)
    monkeypatch.setattr(dual_phase, "SAMPLE_JOBS", 100)


def test_a_core_flow_that_proves_nothing_ends_the_run_when_the_dual_would_be_late(monkeypatch):
    """When the phases after the core flow would not fit the wall clock left, its
    assignment and bound are the result, feasible and certified, and the result says the
    clock decided; with time for them the usual phases follow."""
    problem = _transport(0)
    hint = np.zeros(problem.n_jobs, dtype=np.int64)
    _one_round_core_flow(monkeypatch)
    monkeypatch.setattr(flow_phases, "AFTER_CORE_PASSES", 10**12)  # never fits
    late = solve_assignment(problem, time_limit=5, workers=1, hint=hint, exact_max_pairs=0)
    assert late.method == "lagrangian+core-flow" and late.status is Status.FEASIBLE
    assert "dual after the core flow skipped" in late.stats["wall_clock_stop"]
    assert late.stats["core_rounds"] == 1 and "lagrangian_iterations" not in late.stats
    assert problem.is_feasible(late.assignment)
    assert late.bound <= late.objective + 1e-6 and late.gap > 0
    monkeypatch.setattr(flow_phases, "AFTER_CORE_PASSES", 0)  # always fits
    full = solve_assignment(problem, time_limit=5, workers=1, hint=hint, exact_max_pairs=0)
    assert "lagrangian_iterations" in full.stats
    assert "dual after the core flow skipped" not in full.stats["wall_clock_stop"]
    assert full.objective <= late.objective + 1e-6


def test_an_earlier_deadline_stops_the_phases_and_keeps_the_limits_budgets():
    """``deadline`` moves the hard stop, not the budgets: the work account is the limit's,
    and the call returns by the deadline (plus the stop guard's slack)."""
    import time

    problem = _transport(1, n=3_000)
    started = time.perf_counter()
    out = solve_assignment(
        problem, time_limit=30, workers=1, exact_max_pairs=0, deadline=started + 1.0
    )
    assert out.stats["work"]["limit_s"] == 30
    assert time.perf_counter() - started < 1.0 + 0.5


def test_allocate_gives_the_solver_the_limit_less_the_rest_of_the_call(monkeypatch):
    """``allocate``'s limit covers the whole call: the solver's work budget is the limit
    less the estimate of building and the tables (here made 2 s of a 10-s limit), and at
    least half the limit when the estimate is larger."""
    book = generate_portfolio(200, seed=5)
    catalogue, teams = Catalogue.default(), Teams.default()
    monkeypatch.setattr(portfolio_module, "BUILD_SECONDS_PER_ACCOUNT", 1.5 / 200)
    monkeypatch.setattr(portfolio_module, "TABLE_SECONDS_PER_ACCOUNT", 0.5 / 200)
    result = portfolio_module.allocate(book, catalogue, teams, time_limit=10)
    assert result.stats["work"]["limit_s"] == pytest.approx(8.0)
    monkeypatch.setattr(portfolio_module, "BUILD_SECONDS_PER_ACCOUNT", 1.0)
    result = portfolio_module.allocate(book, catalogue, teams, time_limit=10)
    assert result.stats["work"]["limit_s"] == pytest.approx(5.0)


def test_allocate_warms_the_kernels_before_its_clock_starts(monkeypatch):
    """A slow warm-up (a cold numba cache: about 28 s on a fresh install) is not charged to
    ``allocate``'s limit: the warm-up runs before the call's clock, so a 1.5-s warm-up
    leaves a 1-s limit's solve uncut."""
    import time

    calls = []

    def slow_warm_up() -> None:
        calls.append(time.perf_counter())
        time.sleep(1.5)

    monkeypatch.setattr(portfolio_module, "warm_gap_kernels", slow_warm_up)
    book = generate_portfolio(200, seed=5)
    result = portfolio_module.allocate(book, Catalogue.default(), Teams.default(), time_limit=1)
    assert len(calls) == 1
    assert result.stats["wall_clock_stop"] == ""
    assert result.status is Status.OPTIMAL


@pytest.mark.parametrize("codes", [[0, 2, 1, 2, -1], [], [3, 3, 3]])
def test_text_columns_from_codes_are_those_of_the_object_array(codes):
    """The table's text columns built from codes are the columns pandas makes of the object
    array ``labels[codes]`` (the same dtype and values, negative codes as numpy's)."""
    labels = np.array(["none", "sms", "", "phone_call"], dtype=object)
    index = np.array(codes, dtype=np.int64)
    fast = pd.DataFrame({"t": bulk.text_labels(labels, index)})
    plain = pd.DataFrame({"t": labels[index]})
    assert fast.dtypes.iloc[0] == plain.dtypes.iloc[0]
    assert fast.equals(plain)
    assert [str(x) for x in fast["t"]] == [labels[i] for i in codes]


def test_core_flow_work_grows_with_its_rounds():
    """The core flow's work estimate: the set-up once and the same work per round."""
    one, four = (coreflow.core_flow_seconds(30, 1_000_000, 26, rounds=r) for r in (1, 4))
    per_round = coreflow.core_flow_seconds(30, 1_000_000, 26, rounds=2) - one
    assert per_round > 0 and math.isclose(four, one + 3 * per_round)


def test_the_table_of_an_empty_book_keeps_its_object_columns():
    """No account: the table's text columns are what pandas makes of empty object arrays."""
    book = generate_portfolio(20, seed=1).iloc[:0]
    table = portfolio_module.allocate(book, Catalogue.default(), Teams.default()).assignments
    assert len(table) == 0
    for name in ("account_id", "tier", "treatment", "team", "next_best_treatment"):
        assert table[name].dtype == pd.DataFrame({"x": np.array([], dtype=object)})["x"].dtype


def test_allocate_runs_with_small_pages_and_restores_numpy_setting(monkeypatch):
    """numpy's huge-page advice is off while ``allocate`` builds its tables and back as it
    was after the call (the machine's first touch of huge pages is ten times dearer)."""
    from numpy._core.multiarray import _set_madvise_hugepage as switch

    seen = []
    build = portfolio_module.build_allocation_problem

    def spy(*args, **kwargs):
        seen.append(switch(False))  # the setting in force (set again to the same)
        return build(*args, **kwargs)

    monkeypatch.setattr(portfolio_module, "build_allocation_problem", spy)
    before = switch(True)
    try:
        portfolio_module.allocate(generate_portfolio(50, seed=2), time_limit=5)
        assert seen == [False]
        assert switch(True) is True  # restored to what it was before the call
    finally:
        switch(before)
