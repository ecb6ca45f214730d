"""The plan options of one account and the recommendation (SPEC §6): ``plan_options``.

For one account, :func:`plan_options` returns, for every plan family, the
policy-feasible plan with the highest expected-recovery NPV under the behaviour model,
with its cent-exact schedule, its metrics, the binding constraints in words, and the
recommended option (the best NPV that passes the NPV test against the status quo).

How a plan is found and reported
--------------------------------
1. Each family's grid is searched in float, vectorised over accounts and candidates
   (:mod:`solver.plans.families`, :mod:`solver.plans.scoring`; ``custom`` and ``step``
   by the exact branch and bound of :mod:`solver.plans.search`).
2. The winner is rebuilt as a cent-exact :class:`~solver.core.schedule.Schedule` and checked
   against the policy again; if cent rounding made it infeasible, the next candidate
   is used (:mod:`solver.plans.choices`).
3. Every metric is then computed from that schedule by the behaviour model
   (:mod:`solver.plans.metrics`: ``solver.core.model.evaluate_batch`` over all reported
   schedules at once — the same computation as :func:`solver.core.evaluation.evaluate`,
   which a test checks to 1e-6).

The records (:class:`~solver.plans.plan_records.PlanOption`,
:class:`~solver.plans.plan_records.PlanResult`) and what each metric means:
:mod:`solver.plans.plan_records`. :func:`~solver.plans.customer_choice.choose_for` makes the
recommendation under the customer's objective instead, from the
:func:`~solver.plans.customer_choice.efficient_frontier` of the bank's NPV against the
customer's cost (:mod:`solver.plans.customer_choice`).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from solver.core.account import as_account
from solver.core.contract import status_quos
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.domain import OFFERED_FAMILIES, Status
from solver.errors import InfeasibleError
from solver.plans.choices import family_choices
from solver.plans.context import PlanContext, context_from_account, grid_of
from solver.plans.explain import (
    affordable_text,
    explain_infeasible,
    minimal_relaxations,
    npv_test_text,
    optional_text,
    recommendation_text,
)
from solver.plans.frontier import TradeOffs
from solver.plans.metrics import plan_metrics
from solver.plans.plan_records import STATUS_QUO, PlanOption, PlanResult, choice_option
from solver.plans.schedules import contract_affordable, schedule_levels
from solver.plans.search_types import SearchParams
from solver.plans.terms import PlanTerms


def plan_results(
    ctx: PlanContext,
    accounts: list[Any],
    search: SearchParams,
    relax: bool,
    lazy: bool = False,
) -> list[PlanResult]:
    """Plan results of the context's accounts.

    With ``lazy`` (portfolio runs: only the recommendation is reported) level families
    that cannot be the best are not rebuilt in cents (see
    :func:`~solver.plans.choices.family_choices`) and no binding constraints are worded.
    """
    t0 = time.perf_counter()
    choices = family_choices(ctx, search, lazy)
    sq = status_quos(ctx.fields, grid=grid_of(ctx))
    mets = plan_metrics(ctx, [[ch.schedule for ch in chs] for chs in choices], sq)
    results: list[PlanResult] = []
    for i, acc in enumerate(accounts):
        sq_m: dict[str, Any] = mets[i][-1]
        sq_opt = PlanOption(
            STATUS_QUO,
            STATUS_QUO,
            True,
            PlanTerms(
                term=sq[i].term,
                rate=float(acc.annual_rate),
                levels=schedule_levels(sq[i]),
            ),
            sq[i],
            **sq_m,
            status=Status.REFERENCE,
        )
        options = [choice_option(ctx, i, ch, mets[i][k], lazy) for k, ch in enumerate(choices[i])]
        affordable = contract_affordable(ctx, i, sq_opt)
        status, rec, explanation, relaxations = _recommend(
            ctx, i, acc, sq_opt, options, search, relax, affordable
        )
        results.append(
            PlanResult(
                account_id=str(acc.account_id),
                status=status,
                recommended=rec,
                npv_test_passed=status == Status.RECOMMENDED,
                explanation=explanation,
                status_quo=sq_opt,
                options=tuple(options),
                relaxations=relaxations,
                runtime=(time.perf_counter() - t0) / max(len(accounts), 1),
                contract_affordable=affordable,
            )
        )
    return results


def _recommend(
    ctx: PlanContext,
    i: int,
    acc: Any,
    sq_opt: PlanOption,
    options: list[PlanOption],
    search: SearchParams,
    relax: bool,
    affordable: bool,
) -> tuple[Status, str | None, str, tuple[dict[str, Any], ...]]:
    """Status, recommended label, explanation and (if none is feasible and ``relax``) the
    smallest single relaxations of account ``i``: the offered plan with the best NPV if
    it beats the status quo (the NPV test). ``affordable``: whether the contract passes
    the need test (:func:`~solver.plans.schedules.contract_affordable`)."""
    offered = [o for o in options if o.feasible and o.family in OFFERED_FAMILIES]
    best = max(offered, key=lambda o: o.npv) if offered else None
    if affordable and ctx.policy.need_test:  # before the rest: the contract needs no plan
        return Status.CONTRACT_AFFORDABLE, None, affordable_text(best, sq_opt, ctx.policy), ()
    if best is None:
        explanation = explain_infeasible(ctx, i)
        relaxations: tuple[dict[str, Any], ...] = ()
        if relax:
            relaxations = tuple(minimal_relaxations(acc, ctx.policy, ctx.model, search))
            if relaxations:
                explanation += (
                    " Smallest single relaxations that make a plan feasible: "
                    + "; ".join(r["text"] for r in relaxations)
                    + "."
                )
        return Status.INFEASIBLE, None, explanation, relaxations
    if best.npv > sq_opt.npv:
        explanation = recommendation_text(best, sq_opt, ctx.policy.currency)
        if affordable:
            explanation += " " + optional_text(sq_opt, ctx.policy)
        return Status.RECOMMENDED, best.label, explanation, ()
    return Status.NPV_TEST_FAILED, None, npv_test_text(best, sq_opt, ctx.policy.currency), ()


def plan_options(
    account: Any,
    policy: Policy | None = None,
    model: BehaviourModel | None = None,
    *,
    search: SearchParams | None = None,
    relax: bool = True,
) -> PlanResult:
    """Restructuring options for one account, ranked by NPV (SPEC §6).

    Parameters
    ----------
    account
        An :class:`~solver.core.account.Account` or a mapping of SPEC §3 fields.
    policy
        Restructuring policy (defaults when omitted); per-product overrides apply.
    model
        Behaviour-model parameters (defaults when omitted).
    search
        Solver parameters of the ``custom`` / ``step`` search.
    relax
        When no plan is feasible, compute the smallest single policy relaxations that
        make one feasible (re-running the optimizer).

    Returns
    -------
    PlanResult
        Check ``status``; ``INFEASIBLE`` results carry the explanation and relaxations
        (the CLI turns them into exit code 3).
    """
    acc = as_account(account)
    policy = (policy or Policy()).for_product(acc.product)
    model = model or BehaviourModel()
    search = search or SearchParams()
    t0 = time.perf_counter()
    ctx = context_from_account(acc, policy, model)
    res = plan_results(ctx, [acc], search, relax)[0]
    return replace(res, runtime=time.perf_counter() - t0, trade_offs=TradeOffs(ctx))


def require_feasible(result: PlanResult) -> PlanResult:
    """Raise :class:`InfeasibleError` (exit 3) with the explanation if no plan is feasible."""
    if result.status == Status.INFEASIBLE:
        raise InfeasibleError(
            f"account {result.account_id}: no feasible plan. {result.explanation}"
        )
    return result
