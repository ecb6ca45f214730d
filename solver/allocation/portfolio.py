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
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

from solver.allocation.bulk import small_pages, text_labels, text_of
from solver.allocation.catalogue import TIERS, Catalogue, Teams
from solver.allocation.compliance import Compliance, eligibility, reason_text
from solver.allocation.gap.problem import AssignmentProblem, AssignmentResult, relative_gap
from solver.allocation.gap.solve import solve_assignment
from solver.allocation.gap.warmup import warm as warm_gap_kernels
from solver.allocation.replan import steer_eligibility
from solver.allocation.values import match_plans, read_plans, treatment_values
from solver.domain import Status
from solver.errors import InfeasibleError, InputError, TimeLimitError

__all__ = [
    "AllocationProblem",
    "AllocationResult",
    "allocate",
    "assignment_objective",
    "build_allocation_problem",
    "match_plans",  # re-exported from solver.allocation.values (where they live)
    "read_plans",
]

#: Portfolio columns the allocation reads (besides optional flags, language, region, ...).
PORTFOLIO_COLUMNS = (
    "account_id",
    "tier",
    "dpd_bucket",
    "principal",
    "interest_due",
    "fees_due",
    "arrears",
    "remaining_term",
)

#: Eligibility codes of product rules (tier, dpd bucket, balance): not reported as reasons.
PRODUCT_RULES = (3, 4, 6)

#: Seconds per account that :func:`allocate` spends outside the solver, at the project
#: machine's usual load: building the problem (values, eligibility, options) and the output
#: tables. 1,000,000 generated accounts, 3 Dec 2026: 4.6 s and 2.2 s of CPU time at load 5
#: (see benchmarks/README.md, "Collection allocation").
BUILD_SECONDS_PER_ACCOUNT = 6.0e-6
TABLE_SECONDS_PER_ACCOUNT = 3.0e-6
#: The solver's share of the time limit at least, whatever the estimate of the rest.
MIN_SOLVER_SHARE = 0.5

#: Output columns of the per-account table.
ASSIGNMENT_COLUMNS = (
    "account_id",
    "tier",
    "dpd_bucket",
    "treatment",
    "team",
    "expected_collected",
    "cost",
    "expected_value",
    "uplift_vs_none",
    "next_best_treatment",
    "next_best_value",
    "reason",
)


@dataclass(frozen=True, eq=False)
class AllocationProblem:
    """The portfolio allocation as an assignment problem, with what each option means.

    Attributes
    ----------
    problem
        Minimisation form (cost = −value, ``+inf`` forbidden) for :func:`solve_assignment`.
    option_treatment, option_team
        Treatment index (catalogue order) and team index (``-1`` = no team) of each option.
    value, collected, cost
        ``K × n`` expected net value, expected collected amount and cost of each option (CNY,
        cents; ``-inf`` value where forbidden).
    treatment_value
        ``T × n`` best value of each treatment over its teams, ignoring capacity (``-inf``
        where not allowed), for next-best alternatives and reasons.
    unconstrained_value
        ``T × n`` value of each treatment ignoring eligibility (for the ``reason`` column).
    code
        ``T × n`` eligibility reason codes.
    plan_value
        ``K × n`` part of ``collected`` (and of ``value``) that comes from offering the
        recommended plan (:func:`solver.allocation.values.plan_offer_value`; zeros without
        plans).
    none_option
        The option of treatment ``none`` (free, no team, always allowed).
    """

    problem: AssignmentProblem
    option_treatment: np.ndarray
    option_team: np.ndarray
    value: np.ndarray
    collected: np.ndarray
    cost: np.ndarray
    treatment_value: np.ndarray
    unconstrained_value: np.ndarray
    code: np.ndarray
    plan_value: np.ndarray
    none_option: int


def build_allocation_problem(
    portfolio: Any,
    catalogue: Catalogue,
    teams: Teams,
    *,
    plans: Any | None = None,
    budget: float | None = None,
    steps: Mapping[str, str] | None = None,
    valuation_weeks: int | None = None,
    model: Any = None,
) -> AllocationProblem:
    """Options, values and capacity rows of a portfolio allocation (vectorised); ``steps``:
    replan steps by account (:func:`solver.allocation.replan.steer_eligibility`);
    ``valuation_weeks`` and ``model``: the plan offer's valuation horizon and cost of funds
    (:func:`solver.allocation.values.treatment_values`)."""
    n = len(portfolio)
    if steps is None:
        elig = eligibility(portfolio, catalogue, teams)
    else:
        elig = steer_eligibility(portfolio, catalogue, teams, steps)
    collected_t, cost_t, plan_t = treatment_values(
        portfolio, catalogue, plans, valuation_weeks=valuation_weeks, model=model
    )
    value_t = np.round(collected_t + plan_t - cost_t, 2)  # the plan offer's value included
    allowed_t = elig.allowed

    opt_treatment: list[int] = []
    opt_team: list[int] = []
    for t_idx, t in enumerate(catalogue.treatments):
        if not t.human:
            opt_treatment.append(t_idx)
            opt_team.append(-1)
            continue
        for k, team in enumerate(teams.teams):
            if team.type == t.team_type:
                opt_treatment.append(t_idx)
                opt_team.append(k)
    o_t = np.array(opt_treatment, dtype=np.int64)
    o_k = np.array(opt_team, dtype=np.int64)
    k_opts = o_t.size

    # this period's cash; the plan offer's value is added after the continuity uplift (a
    # plan is signed with p_reach · p_accept whoever calls, as in the multi-week model)
    collected = collected_t[o_t]
    # An option's value is its treatment's (`value_t`: the same sums in the same order,
    # `collected + plan - cost`, a treatment's cost being the same for every account) except
    # on the rows the continuity uplift changes, which are valued again below. K × n arrays
    # are made once each (1,000,000 accounts × 30 options: 240 MB apiece).
    value = value_t[o_t]
    # Continuity: a collector's current accounts respond a little better to that collector.
    uplifted = []
    if catalogue.continuity_uplift:
        ids = None
        for o in range(k_opts):
            owner = teams.teams[o_k[o]] if o_k[o] >= 0 else None
            if owner is None or not owner.accounts:
                continue
            if ids is None:
                ids = portfolio["account_id"].astype(str).to_numpy(dtype=object)
            mine = np.isin(ids, list(owner.accounts))
            collected[o, mine] = np.round(collected[o, mine] * (1 + catalogue.continuity_uplift), 2)
            uplifted.append(o)
    plan_value = plan_t[o_t] if plans is not None else np.broadcast_to(np.zeros(1), (k_opts, n))
    if plans is not None:
        collected += plan_value
    cost = np.broadcast_to(cost_t[o_t, :1], (k_opts, n)) if n else cost_t[o_t]
    for o in uplifted:
        value[o] = np.round(collected[o] - cost[o], 2)
    ok = allowed_t[o_t]
    has_team = o_k >= 0
    ok[has_team] &= elig.team_ok[o_k[has_team]]
    value[~ok] = -np.inf

    minutes = np.array([catalogue.treatments[t].minutes for t in o_t], dtype=np.float64)
    action_cost = np.array([catalogue.treatments[t].cost for t in o_t], dtype=np.float64)
    if budget is not None:
        if not math.isfinite(budget) or budget < 0:
            raise InputError(f"budget must be a non-negative amount, got {budget}")
        # The budget row in whole cents as printed (costs: Treatment.cost_cents; the budget
        # rounded down), expressed in CNY for the dual's step sizes: every sum is a multiple
        # of 0.01 and the exact check of `_within_budget` closes the float tolerance.
        global_weight = action_cost[None, :, None]
        global_capacity = np.array([budget_cents(budget) / 100])
    else:
        global_weight = np.zeros((0, k_opts, 1))
        global_capacity = np.zeros(0)
    problem = AssignmentProblem(
        cost=np.negative(value),  # +inf where forbidden (value −inf)
        weight=np.where(has_team, minutes, 0.0)[:, None],
        row_of=o_k,
        capacity=teams.capacity(),
        global_weight=global_weight,
        global_capacity=global_capacity,
    )
    treatment_value = np.where(allowed_t, value_t, -np.inf)
    # a human treatment with no team for the account is already excluded by the eligibility code
    return AllocationProblem(
        problem=problem,
        option_treatment=o_t,
        option_team=o_k,
        value=value,
        collected=collected,
        cost=cost,  # a read-only view: the same cost for every account of an option
        treatment_value=treatment_value,
        unconstrained_value=value_t,
        code=elig.code,
        plan_value=plan_value,
        none_option=int(np.flatnonzero(o_t == catalogue.none_index)[0]),
    )


@dataclass(frozen=True, eq=False)
class AllocationResult:
    """Result of :func:`allocate`: the table, utilisation, totals and the certificate.

    Attributes
    ----------
    assignments
        One row per account (:data:`ASSIGNMENT_COLUMNS`).
    utilisation
        One row per team: capacity, used minutes, share, accounts, shadow price per minute.
    by_treatment
        Per treatment: accounts, expected collected, cost, net, and counts by tier.
    totals
        Expected collected, cost, net, budget and budget used.
    objective, bound, gap, status, runtime, method
        The optimality certificate (maximisation: ``bound ≥ objective``).
    """

    assignments: Any
    utilisation: Any
    by_treatment: Any
    totals: Mapping[str, float | None]
    objective: float
    bound: float
    gap: float
    status: Status
    runtime: float
    method: str
    core: AssignmentResult | None = None
    stats: Mapping[str, Any] = field(default_factory=dict)
    problem: AllocationProblem | None = field(default=None, repr=False)

    def summary(self) -> str:
        """Short text: totals and certificate."""
        t = self.totals
        return (
            f"expected collected {t['expected_collected']:,.2f}, cost {t['cost']:,.2f}, "
            f"net {t['net']:,.2f} | objective {self.objective:,.2f}, bound {self.bound:,.2f}, "
            f"gap {self.gap:.4%}, status {self.status.name}, {self.runtime:.2f}s ({self.method})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (keys objective, bound, gap, status, runtime_s, by_treatment, utilisation)."""
        by_t = {}
        for row in self.by_treatment.to_dict(orient="records"):
            name = row.pop("treatment")
            by_t[name] = {
                k: (
                    int(v)
                    if isinstance(v, np.integer | int) and not isinstance(v, bool)
                    else float(v)
                )
                for k, v in row.items()
            }
        util = {}
        for row in self.utilisation.to_dict(orient="records"):
            util[row["team"]] = {
                "type": row["type"],
                "capacity_minutes": float(row["capacity_minutes"]),
                "used_minutes": float(row["used_minutes"]),
                "utilisation": float(row["utilisation"]),
                "accounts": int(row["accounts"]),
            }
        return {
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "status": self.status.name,
            "runtime_s": self.runtime,
            "method": self.method,
            # phases the wall clock stopped before their work budget ("" = reproducible run)
            "wall_clock_stop": str(self.stats.get("wall_clock_stop", "")),
            "totals": {k: float(v) if v is not None else None for k, v in self.totals.items()},
            "by_treatment": by_t,
            "utilisation": util,
        }


@small_pages()
def allocate(
    portfolio: Any,
    catalogue: Catalogue | None = None,
    teams: Teams | None = None,
    *,
    plans: Any | None = None,
    budget: float | None = None,
    compliance: Compliance | None = None,
    time_limit: float = 60.0,
    seed: int = 0,
    workers: int = 1,
    exact_max_pairs: int = 20_000,
    gap_tolerance: float = 1e-4,
    engine: Any = None,
    steps: Mapping[str, str] | None = None,
    keep_problem: bool = False,
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
    built = build_allocation_problem(
        portfolio, catalogue, teams, plans=plans, budget=budget, steps=steps
    )
    n = len(portfolio)
    outside = (BUILD_SECONDS_PER_ACCOUNT + TABLE_SECONDS_PER_ACCOUNT) * n
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
    chosen = _Chosen.of(built, catalogue, result.assignment)
    table = _assignment_table(portfolio, catalogue, teams, built, result, chosen)
    objective = int(chosen.value_cents.sum()) / 100.0
    bound = -result.bound if math.isfinite(result.bound) else math.inf
    bound = max(bound, objective)
    gap = 0.0 if result.status is Status.OPTIMAL else relative_gap(objective, bound)
    return AllocationResult(
        assignments=table,
        utilisation=_utilisation(teams, built, result, chosen),
        by_treatment=_by_treatment(table, catalogue),
        totals=_totals(chosen, objective, budget),
        objective=objective,
        bound=round(bound, 2),
        gap=gap,
        status=result.status,
        runtime=result.runtime,
        method=result.method,
        core=result,
        stats=dict(result.stats),
        problem=built if keep_problem else None,
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


def budget_cents(budget: float) -> int:
    """A budget in whole cents, rounded down: spending never exceeds it (issue 17).

    >>> budget_cents(3000), budget_cents(2999.999), budget_cents(0.335)
    (300000, 299999, 33)
    """
    return int((Decimal(repr(float(budget))) * 100).to_integral_value(rounding=ROUND_FLOOR))


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


@dataclass(frozen=True, eq=False)
class _Chosen:
    """The chosen option of every account: its treatment and team (``-1``: none), expected
    collected amount, cost, value in cents and uplift over no action."""

    treatment: np.ndarray
    team: np.ndarray
    collected: np.ndarray
    cost: np.ndarray
    value_cents: np.ndarray
    uplift: np.ndarray

    @classmethod
    def of(cls, built: AllocationProblem, catalogue: Catalogue, assignment: np.ndarray) -> _Chosen:
        """The chosen options of ``assignment`` (an option per account)."""
        cols = np.arange(assignment.size)
        none_t = catalogue.none_index
        return cls(
            treatment=built.option_treatment[assignment],
            team=built.option_team[assignment],
            collected=built.collected[assignment, cols],
            cost=built.cost[assignment, cols],
            value_cents=np.round(built.value[assignment, cols] * 100).astype(np.int64),
            uplift=np.round(built.value[assignment, cols] - built.unconstrained_value[none_t], 2),
        )


def assignment_objective(
    built: AllocationProblem, catalogue: Catalogue, assignment: np.ndarray
) -> float:
    """The objective of any option-per-account ``assignment`` of ``built`` (CNY), computed
    as :func:`allocate` computes its own (a sum of cents); capacities are not checked."""
    return int(_Chosen.of(built, catalogue, assignment).value_cents.sum()) / 100.0


def _assignment_table(
    portfolio: Any,
    catalogue: Catalogue,
    teams: Teams,
    built: AllocationProblem,
    result: AssignmentResult,
    chosen: _Chosen,
) -> pd.DataFrame:
    """One row per account (:data:`ASSIGNMENT_COLUMNS`)."""
    import pandas as pd

    t_of = chosen.treatment
    cols = np.arange(t_of.size)
    names = np.array(catalogue.names, dtype=object)
    team_names = np.array([*teams.names, ""], dtype=object)
    # Next best: the best allowed treatment other than the assigned one (capacity ignored).
    alt = built.treatment_value.copy()
    alt[t_of, cols] = -np.inf
    nb = alt.argmax(axis=0)
    nb_value = alt[nb, cols]
    has_nb = np.isfinite(nb_value)
    reasons = _reasons(portfolio, catalogue, teams, built, t_of, result)
    return pd.DataFrame(
        {
            "account_id": text_of(portfolio["account_id"]),
            "tier": text_of(portfolio["tier"]),
            "dpd_bucket": text_of(portfolio["dpd_bucket"]),
            "treatment": text_labels(names, t_of),
            "team": text_labels(team_names, chosen.team),
            "expected_collected": np.round(chosen.collected, 2),
            "cost": np.round(chosen.cost, 2),
            "expected_value": chosen.value_cents / 100.0,
            "uplift_vs_none": chosen.uplift,
            "next_best_treatment": text_labels(
                np.append(names, ""), np.where(has_nb, nb, names.size)
            ),
            "next_best_value": np.where(has_nb, nb_value, np.nan),
            "reason": reasons,
        }
    )


def _utilisation(
    teams: Teams, built: AllocationProblem, result: AssignmentResult, chosen: _Chosen
) -> pd.DataFrame:
    """Team utilisation with shadow prices (value of one more minute, from the dual)."""
    import pandas as pd

    k_of = chosen.team
    minutes = built.problem.weight[result.assignment, 0]
    used = np.bincount(
        np.where(k_of >= 0, k_of, len(teams.teams)), weights=minutes, minlength=len(teams.teams) + 1
    )[:-1]
    count = np.bincount(
        np.where(k_of >= 0, k_of, len(teams.teams)), minlength=len(teams.teams) + 1
    )[:-1]
    capacity = teams.capacity()
    prices = result.stats.get("prices")
    return pd.DataFrame(
        {
            "team": list(teams.names),
            "type": [t.type for t in teams.teams],
            "capacity_minutes": np.round(capacity, 1),
            "used_minutes": np.round(used, 1),
            "utilisation": np.where(capacity > 0, used / np.maximum(capacity, 1e-12), 0.0),
            "accounts": count,
            "shadow_price_per_minute": np.round(prices, 4) if prices is not None else np.nan,
        }
    )


def _totals(chosen: _Chosen, objective: float, budget: float | None) -> dict[str, float | None]:
    """Expected collected, cost, net, uplift, budget and budget used (CNY, cents)."""
    total_cost = round(float(np.round(chosen.cost, 2).sum()), 2)
    return {
        "accounts": float(chosen.treatment.size),
        "expected_collected": round(float(np.round(chosen.collected, 2).sum()), 2),
        "cost": round(total_cost, 2),
        "net": objective,
        "uplift_vs_none": round(float(chosen.uplift.sum()), 2),
        "budget": float(budget) if budget is not None else None,
        "budget_used": total_cost,
    }


def _by_treatment(table: Any, catalogue: Catalogue) -> Any:
    import pandas as pd

    grouped = table.groupby("treatment", sort=False).agg(
        accounts=("account_id", "size"),
        expected_collected=("expected_collected", "sum"),
        cost=("cost", "sum"),
        net=("expected_value", "sum"),
    )
    tiers = pd.crosstab(table["treatment"], table["tier"]).reindex(
        columns=list(TIERS), fill_value=0
    )
    out = grouped.join(tiers, how="left").reindex(list(catalogue.names)).fillna(0)
    out["accounts"] = out["accounts"].astype(np.int64)
    for t in TIERS:
        out[t] = out[t].astype(np.int64)
    for c in ("expected_collected", "cost", "net"):
        out[c] = out[c].round(2)
    return out.reset_index().rename(columns={"index": "treatment"})


def _forced_reasons(
    accounts: Any, codes: np.ndarray, treatments: np.ndarray, catalogue: Catalogue
) -> np.ndarray:
    """Vectorised :func:`solver.allocation.compliance.reason_text` for many accounts."""
    import pandas as pd

    n = len(accounts)
    t_name = pd.Series(np.array(catalogue.names, dtype=object)[treatments], dtype=object)
    consent = pd.Series(
        np.array([t.consent or "consent" for t in catalogue.treatments], dtype=object)[treatments],
        dtype=object,
    )
    team_type = pd.Series(
        np.array([t.team_type for t in catalogue.treatments], dtype=object)[treatments],
        dtype=object,
    )

    def col(name: str) -> Any:
        if name not in accounts.columns:
            return pd.Series(["?"] * n, dtype=object)
        values = accounts[name].fillna("").astype(str).to_numpy(dtype=object)
        return pd.Series(np.where(values == "", "?", values), dtype=object)

    tier, bucket, region, language = col("tier"), col("dpd_bucket"), col("region"), col("language")
    text = pd.Series([""] * n, dtype=object)
    for code in np.unique(codes).tolist():
        pick = codes == code
        if code == 2:
            part = "hardship: no " + t_name[pick]
        elif code == 5:
            part = (
                "gentle treatment for tier "
                + tier[pick]
                + " in "
                + bucket[pick]
                + ": no "
                + t_name[pick]
            )
        elif code == 7:
            part = "no " + consent[pick] + ": no " + t_name[pick]
        elif code == 8:
            part = (
                "no " + team_type[pick] + " team serves " + region[pick] + " in " + language[pick]
            )
        else:  # other codes are rare here: format one by one
            rows = accounts.iloc[np.flatnonzero(pick)].to_dict(orient="records")
            for pos, rec in zip(np.flatnonzero(pick).tolist(), rows, strict=True):
                rec["balance"] = (
                    rec.get("principal", 0.0)
                    + rec.get("interest_due", 0.0)
                    + rec.get("fees_due", 0.0)
                )
                text[pos] = reason_text(
                    int(code), account=rec, treatment=catalogue.treatments[int(treatments[pos])]
                )
            continue
        text[pick] = part.to_numpy(dtype=object)
    return text.to_numpy(dtype=object)


def _reasons(
    portfolio: Any,
    catalogue: Catalogue,
    teams: Teams,
    built: AllocationProblem,
    t_of: np.ndarray,
    result: AssignmentResult,
) -> np.ndarray:
    """Why an account did not get its most valuable treatment (empty when it did).

    A compliance or eligibility rule when the best treatment ignoring the rules is excluded
    (e.g. "hardship: no field_visit"), else "capacity" or "budget" when the best allowed
    treatment could not be given.
    """
    n = t_of.size
    cols = np.arange(n)
    out = np.full(n, "", dtype=object)
    comp = catalogue.compliance
    flag_cols = [f for f in comp.blocking_flags() if f in portfolio.columns]
    flags = np.zeros(n, dtype=bool)
    for f in flag_cols:
        flags |= portfolio[f].to_numpy(dtype=bool, na_value=False)
    if flags.any():
        idx = np.flatnonzero(flags)
        sub = portfolio.iloc[idx]
        names = np.array([""] * idx.size, dtype=object)
        for f in flag_cols:
            on = sub[f].to_numpy(dtype=bool, na_value=False)
            names = np.where(on, np.where(names == "", f, names + "/" + f), names)
        out[idx] = [f"{nm}: no collection contact" for nm in names]
    # Product eligibility (tier, dpd bucket, balance range) defines what a treatment is for;
    # only the compliance rules "force" a different treatment and give a reason.
    applicable = ~np.isin(built.code, PRODUCT_RULES)
    best_any = np.where(applicable, built.unconstrained_value, -np.inf).argmax(axis=0)
    best_code = built.code[best_any, cols]
    forced = (best_code > 0) & ~flags & (t_of != best_any)
    if forced.any():
        idx = np.flatnonzero(forced)
        out[idx] = _forced_reasons(portfolio.iloc[idx], best_code[idx], best_any[idx], catalogue)
    best_allowed = built.treatment_value.argmax(axis=0)
    short = (
        (out == "")
        & (t_of != best_allowed)
        & np.isfinite(built.treatment_value[best_allowed, cols])
    )
    short &= built.treatment_value[best_allowed, cols] > built.treatment_value[t_of, cols] + 0.005
    if short.any():
        lacking = np.array(
            [
                f"capacity: {catalogue.treatments[t].team_type or catalogue.treatments[t].name} teams full"
                if catalogue.treatments[t].human
                else "budget"
                for t in range(len(catalogue.treatments))
            ],
            dtype=object,
        )
        if built.problem.global_capacity.size:
            lacking = np.where(
                [catalogue.treatments[t].human for t in range(len(catalogue.treatments))],
                np.char.add(lacking.astype(str), " or budget"),
                lacking,
            ).astype(object)
        out[short] = lacking[best_allowed[short]]
    return out
