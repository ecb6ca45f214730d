"""Building the allocation problem: a portfolio, its treatments and teams as an assignment problem.

:func:`build_allocation_problem` values every account × treatment
(:func:`solver.allocation.values.treatment_values`), applies the eligibility rules
(:func:`solver.allocation.compliance.eligibility`), and makes the *options* (treatment ×
team pairs), the teams' capacity rows and the budget row of the
:class:`~solver.allocation.gap.problem.AssignmentProblem` that
:func:`solver.allocation.portfolio.allocate` solves; :class:`AllocationProblem` keeps what
each option means for the result tables (:mod:`solver.allocation.tables`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import numpy as np

from solver.allocation.catalogue import Catalogue
from solver.allocation.compliance import eligibility
from solver.allocation.gap.problem import AssignmentProblem
from solver.allocation.replan import steer_eligibility
from solver.allocation.teams import Teams
from solver.allocation.values import treatment_values
from solver.errors import InputError

__all__ = ["PORTFOLIO_COLUMNS", "AllocationProblem", "budget_cents", "build_allocation_problem"]

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


@dataclass(frozen=True, eq=False)
class AllocationProblem:
    """The portfolio allocation as an assignment problem, with what each option means.

    Attributes
    ----------
    problem
        Minimisation form (cost = −value, ``+inf`` forbidden) for
        :func:`~solver.allocation.gap.solve.solve_assignment`.
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


def budget_cents(budget: float) -> int:
    """A budget in whole cents, rounded down: spending never exceeds it (issue 17).

    >>> budget_cents(3000), budget_cents(2999.999), budget_cents(0.335)
    (300000, 299999, 33)
    """
    return int((Decimal(repr(float(budget))) * 100).to_integral_value(rounding=ROUND_FLOOR))
