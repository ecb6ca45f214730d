"""Collection treatment and team allocation with an optimality certificate (SPEC §8).

Every account gets exactly one treatment this period (possibly ``none``) and, for human
treatments, a team or collector, to maximise expected net recovery (expected collected −
cost) within team capacities (minutes per period), an optional budget and the compliance
rules of :mod:`solver.allocation.compliance`.

Method
------
1. Per-account values, vectorised over accounts × treatments
   (:func:`solver.allocation.values.treatment_values`), and the eligibility mask with the
   rule behind every exclusion (:func:`solver.allocation.compliance.eligibility`).
2. The decision is a generalized assignment problem: accounts are jobs, *options* are
   treatment × team pairs (``none`` and the automated channels need no team and use no
   minutes), each team is a capacity row and the budget a global row. It is solved by the
   same core as the OR-Library benchmark
   (:func:`solver.allocation.gap.solve.solve_assignment`): exact CP-SAT for small
   portfolios; at scale the Lagrangian dual over team and budget prices (each
   account takes its best option under prices — a vectorised argmax), a primal repair and
   shift search, with the dual value as the proven bound, so the gap is always known.

The problem is built by :mod:`solver.allocation.build` and the result tables by
:mod:`solver.allocation.tables` (their ``reason`` column by :mod:`solver.allocation.reasons`);
their names that callers use are importable from here as before.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from solver.allocation.build import (
    PORTFOLIO_COLUMNS,
    AllocationProblem,
    budget_cents,
    build_allocation_problem,
)
from solver.allocation.bulk import small_pages
from solver.allocation.catalogue import Catalogue
from solver.allocation.compliance import Compliance
from solver.allocation.gap.problem import AssignmentResult
from solver.allocation.gap.solve import solve_assignment
from solver.allocation.gap.warmup import warm as warm_gap_kernels
from solver.allocation.plans_table import match_plans, read_plans
from solver.allocation.replan import lift_plan_stop
from solver.allocation.tables import (
    ASSIGNMENT_COLUMNS,
    AllocationResult,
    allocation_result,
    assignment_objective,
)
from solver.allocation.teams import Teams
from solver.domain import DEFAULT_TIME_LIMIT, Status
from solver.errors import InfeasibleError, InputError, TimeLimitError

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "PORTFOLIO_COLUMNS",
    "AllocationProblem",
    "HAD_A_CORE",
    "AllocationResult",
    "allocate",
    "assignment_objective",
    "budget_cents",
    "build_allocation_problem",
    "clock_stop_cause",
    "match_plans",  # re-exported from solver.allocation.plans_table (where they live)
    "read_plans",
]

#: Seconds per account that :func:`allocate` spends outside the solver, at the project
#: machine's usual load: building the problem (values, eligibility, options) and the output
#: tables. 1,000,000 generated accounts, 3 Dec 2026: 4.6 s and 2.2 s of CPU time at load 5
#: (see benchmarks/README.md, "Collection allocation").
BUILD_SECONDS_PER_ACCOUNT = 6.0e-6
TABLE_SECONDS_PER_ACCOUNT = 3.0e-6
#: The solver's share of the time limit at least, whatever the estimate of the rest.
MIN_SOLVER_SHARE = 0.5


def outside_seconds(accounts: int) -> float:
    """Estimated seconds of an allocation's work outside the solver (building the problem
    and the tables) for ``accounts`` accounts."""
    return (BUILD_SECONDS_PER_ACCOUNT + TABLE_SECONDS_PER_ACCOUNT) * accounts


@small_pages()
def allocate(
    portfolio: Any,
    catalogue: Catalogue | None = None,
    teams: Teams | None = None,
    *,
    plans: Any | None = None,
    budget: float | None = None,
    compliance: Compliance | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    seed: int = 0,
    workers: int = 1,
    exact_max_pairs: int = 20_000,
    gap_tolerance: float = 1e-4,
    engine: Any = None,
    steps: Mapping[str, str] | None = None,
    keep_problem: bool = False,
    model: Any = None,
) -> AllocationResult:
    """Allocate one treatment (and team) per account to maximise expected net recovery.

    Parameters
    ----------
    portfolio
        Validated portfolio (SPEC §3 columns + ``tier`` + ``dpd_bucket``).
    catalogue, teams
        Treatment catalogue and teams (default: the bundled ``scenarios`` files).
    plans
        Optional output of ``workout plan-portfolio`` (``account_id, status,
        npv_vs_status_quo``, optional ``term``): the senior call adds ``p_reach · p_accept``
        times the plan's uplift received within ``[plans] valuation_weeks`` periods, as
        expected discounted cash (:func:`solver.allocation.values.plan_offer_value`).
    budget
        Optional cap on the total treatment cost of the period (CNY).
    compliance
        Overrides the catalogue's compliance rules.
    time_limit
        Seconds for the whole call: building the problem, the solve and the output tables
        (the CLI's ``--time-limit``: a user waits for the answer, not for the solver). The
        solver's work budget is the limit less the time the rest takes at the machine's
        usual load, estimated from the number of accounts (``BUILD_SECONDS_PER_ACCOUNT``,
        ``TABLE_SECONDS_PER_ACCOUNT``; at least ``MIN_SOLVER_SHARE`` of the limit): a
        function of the book and the limit, so the result repeats whatever the load. Its
        hard stop is the wall clock the call has left less the tables' estimate: when the
        building took longer, the clock may cut the search (``wall_clock_stop``).
    seed, workers
        CP-SAT seed and workers (1: reproducible; a parallel CP-SAT search is not, see
        :mod:`solver.allocation.gap.solve`).
    exact_max_pairs
        Portfolios with at most this many allowed account–option pairs are solved exactly
        with CP-SAT (the allocation's LP relaxation is tight, so CP-SAT closes them fast).
    gap_tolerance
        The decomposition path (large portfolios) stops once the proven relative gap is at
        most this (default 0.01 %).
    engine
        A :mod:`solver.engines` engine: the per-account step of the Lagrangian dual (each
        account's best option under the prices, usage totals) runs on its workers over
        column blocks of the option-value matrix; prices, bound and assignment are identical
        to the in-process run (``None``).
    steps
        Optional replan steps by account (``workout replan``): broken plans' treatments
        follow them (:mod:`solver.allocation.replan`).
    keep_problem
        Keep the solved :class:`AllocationProblem` in the result (``problem``), for
        :func:`solver.allocation.strategy.explain_result`; off by default (it holds every
        option's values: callers that cache results, like the scenarios, need not keep it).
    model
        The behaviour model (:class:`solver.core.model.BehaviourModel`, default the built-in
        one): its cost of funds discounts the plan offer's value (``--model``).

    Raises
    ------
    InfeasibleError
        When no allocation satisfies the capacities and budget (cannot happen while ``none``
        is free).
    TimeLimitError
        When the time limit passes before any feasible allocation is found.
    """
    catalogue = catalogue or Catalogue.default()
    if compliance is not None:
        catalogue = catalogue.replace(compliance=compliance)
    teams = teams or Teams.from_toml(compliance=catalogue.compliance)
    missing = [c for c in PORTFOLIO_COLUMNS if c not in portfolio.columns]
    if missing:
        raise InputError(f"portfolio: missing column(s) {', '.join(missing)}")
    warm_gap_kernels()  # compiled kernels and CP-SAT's import: before the clock (see warmup)
    started = time.perf_counter()
    if steps is not None:
        # the book as the steps steer it, lifted once: the eligibility reads it (not lifted
        # again) and so do the tables, so that a broken plan's account whose has_plan stop
        # was lifted is not reported as "has_plan: no collection contact" beside the
        # contact it was given (review s24); values do not read has_plan
        portfolio = lift_plan_stop(portfolio, steps)
    built = build_allocation_problem(
        portfolio, catalogue, teams, plans=plans, budget=budget, steps=steps, model=model
    )
    n = len(portfolio)
    outside = outside_seconds(n)
    result = _solve(
        built,
        time_limit=max(time_limit - outside, MIN_SOLVER_SHARE * time_limit),
        deadline=started + time_limit - TABLE_SECONDS_PER_ACCOUNT * n,
        seed=seed,
        workers=workers,
        exact_max_pairs=exact_max_pairs,
        gap_tolerance=gap_tolerance,
        engine=engine,
    )
    result = _within_budget(built, catalogue, result, budget)
    return allocation_result(
        portfolio, catalogue, teams, built, result, budget=budget, keep_problem=keep_problem
    )


def _solve(
    built: AllocationProblem,
    *,
    time_limit: float,
    deadline: float | None = None,
    seed: int,
    workers: int,
    exact_max_pairs: int,
    gap_tolerance: float,
    engine: Any,
) -> AssignmentResult:
    """The assignment core on the allocation problem; raises when it finds no allocation."""
    # `none` is free and uncapacitated: all-none is feasible and a good hint for tiny budgets.
    hint = np.full(built.problem.n_jobs, built.none_option, dtype=np.int64)
    result = solve_assignment(
        built.problem,
        hint=hint,
        time_limit=time_limit,
        seed=seed,
        workers=workers,
        exact_max_pairs=exact_max_pairs,
        gap_tolerance=gap_tolerance,
        pricing=None if engine is None else engine.pricing,
        deadline=deadline,
    )
    if result.status is Status.INFEASIBLE:
        raise InfeasibleError(
            f"no allocation satisfies the capacities and budget: {result.message}"
        )
    if not result.has_solution:
        raise TimeLimitError(
            f"time limit of {time_limit:g}s reached before a feasible allocation was found"
        )
    return result


def _within_budget(
    built: AllocationProblem, catalogue: Catalogue, result: AssignmentResult, budget: float | None
) -> AssignmentResult:
    """The assignment with its cost checked against the budget in integer cents.

    The solvers compare floats with a relative tolerance (1e-9 of the budget: 1 CNY on a
    budget of 10^9); a hard limit holds on the printed cents only when checked there. When
    the cents sum exceeds the budget, the accounts whose treatment loses least value per
    cent freed fall back to ``none`` (free, always allowed) until it fits, and the result is
    no longer called optimal.
    """
    if budget is None:
        return result
    limit = budget_cents(budget)
    cols = np.arange(result.assignment.size)
    cents = np.array([catalogue.treatments[t].cost_cents for t in built.option_treatment])
    spent = cents[result.assignment]
    over = int(spent.sum()) - limit
    if over <= 0:
        return result
    none_opt = built.none_option
    loss = built.value[result.assignment, cols] - built.value[none_opt, cols]
    paying = np.flatnonzero(spent > 0)
    order = paying[np.argsort(loss[paying] / spent[paying], kind="stable")]
    take = order[: int(np.searchsorted(np.cumsum(spent[order]), over)) + 1]
    assignment = result.assignment.copy()
    assignment[take] = none_opt
    status = Status.FEASIBLE if result.status is Status.OPTIMAL else result.status
    return dataclasses.replace(result, assignment=assignment, status=status)


#: Share of one core the search's phases had (their process CPU seconds over their wall
#: seconds, ``stats["work"]["phases"]``) from which the machine's load is ruled out as what
#: cut them: at the usual load (3-5 on the 2 cores) a process gets about half a core.
HAD_A_CORE = 0.8


def clock_stop_cause(
    stats: Any, time_limit: float, accounts: int
) -> tuple[str | None, float | None]:
    """Why the wall clock cut a search short: ``(reason, share)``, ``reason`` the words saying
    the time limit is the cause (``None`` when the machine's load is), ``share`` the share
    of a core the search's phases had (``None`` without phases). ``allocate`` words its note
    from it (``commands/allocate.py``).

    The search's work budgets are shares of the limit, so on a machine that gives the run a
    core they end within it; what can outgrow a short limit is the work around them --
    building the problem and the tables (estimated from the number of accounts:
    ``BUILD_SECONDS_PER_ACCOUNT``, ``TABLE_SECONDS_PER_ACCOUNT``), the greedy and the flows
    -- and then a longer limit helps. The limit is taken as the cause when it is 0, when
    the work the run did at the idle machine's paces (``stats["work"]["spent_s"]``, which
    the load does not change) plus that estimate exceeds it, or when the search's phases
    had the processor (their CPU over their wall seconds, ``stats["work"]["phases"]``, at
    least :data:`HAD_A_CORE`: the load did not slow them). Otherwise they waited for the
    processor and the load cut them: the budgets grow with the limit, so a longer one does
    not help, a quieter machine does. (With ``--engine dask`` the Lagrangian pricing runs on
    the workers, whose CPU seconds the phases do not count: such a run reads as loaded
    unless one of the first two tests holds.)
    """
    work = stats.get("work") or {}
    phases = (work.get("phases") or {}).values()
    wall, cpu = sum(p[2] for p in phases), sum(p[3] for p in phases)
    share = cpu / wall if wall > 0 else None
    outside = outside_seconds(accounts)
    needed = float(work.get("spent_s", 0.0)) + outside
    if time_limit <= 0:
        return "nothing can be searched in 0 s", share
    if needed >= time_limit:
        return f"its work and set-up take about {needed:.2g} s even on an idle machine", share
    if share is not None and share >= HAD_A_CORE:
        return f"the search had {share:.0%} of a core: the machine's load did not stop it", share
    return None, share
