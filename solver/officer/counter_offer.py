"""Evaluate a customer's counter-offer: its figures, the policy check, the NPV test and
the nearest feasible plan.

Every figure comes from the one behaviour-model evaluator (:func:`solver.core.evaluate`
and the kernel's affordability caps), so a counter-offer reads on the same scale as the
options ``workout plan`` shows; a test checks that the optimizer's own plans, evaluated
here, give their reported figures and pass this policy check.

The policy check (SPEC §5) is the one of the ``custom`` family, because a proposal is a
customised schedule (:mod:`solver.officer.policy_check`).

The **nearest feasible plan** is the offered plan (from :func:`solver.plans.plan_options`)
whose payments differ least from the proposal's: the root-mean-square difference of the
monthly payments over the longer of the two terms (a month past a schedule's end pays 0).
Plans that pass the NPV test are preferred; among equally near plans the higher NPV wins.

The **need test** is ``workout plan``'s own decision, read from the plan options (not
decided again here): :attr:`PlanResult.contract_affordable <solver.plans.PlanResult>` and,
with the policy's ``need_test``, the status ``CONTRACT_AFFORDABLE``. Then the verdict is
``CONTRACT_AFFORDABLE`` before any other check, as ``workout plan`` reports
``CONTRACT_AFFORDABLE`` before infeasibility (decision, session 17: the proposal is not
needed whatever its figures; they and any broken rule are still reported), and the
explanation opens with the plan options' explanation (one sentence,
:func:`solver.plans.explain.affordable_text`). Without ``need_test`` the explanation ends
with the sentence ``workout plan`` adds to its recommendation: the contract itself is
affordable (:func:`solver.plans.explain.optional_text`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from solver.core import BehaviourModel, Policy, Schedule, evaluate, status_quo
from solver.core.currency import format_amount, format_difference, format_value, value_difference
from solver.core.evaluation import Evaluation
from solver.domain import OFFERED_FAMILIES, Status
from solver.officer.documents import counter_offer_document
from solver.officer.policy_check import Violation, policy_violations
from solver.officer.proposal import Proposal, ProposalSchedule, proposal_schedule
from solver.officer.verdict import Verdict
from solver.plans import PlanResult, plan_options
from solver.plans.explain import NO_PLAN_PREFIX, optional_text
from solver.plans.metrics import customer_cost


def schedule_figures(
    account: Any, schedule: Schedule, model: Any = None, baseline: Schedule | None = None
) -> dict[str, float]:
    """The SPEC §6 figures of ``schedule`` for ``account`` (the plan options' metrics).

    Parameters
    ----------
    account
        An :class:`~solver.core.Account`.
    schedule
        The schedule to evaluate.
    model
        Behaviour model (default parameters when omitted).
    baseline
        The status quo (computed when omitted): ``npv_vs_status_quo`` and
        ``concession_cost`` are measured against it.
    """
    model = model or BehaviourModel()
    baseline = baseline if baseline is not None else status_quo(account, grid=schedule.grid)
    return _figures(account, schedule, model, baseline, evaluate(account, baseline, model=model))


def _figures(
    account: Any, schedule: Schedule, model: Any, baseline: Schedule, base: Evaluation
) -> dict[str, float]:
    """:func:`schedule_figures` given the status quo ``baseline`` and its evaluation
    ``base`` (:func:`evaluate_counter_offer` evaluates it once, for its NPV test too)."""
    ev = evaluate(account, schedule, model=model)
    pay = np.asarray(schedule.payments, dtype=float)
    months = np.arange(1, pay.size + 1, dtype=float)
    base_pay = np.asarray(baseline.payments, dtype=float)
    delta = model.monthly_discount
    pv = float(pay @ delta**months)
    base_pv = float(base_pay @ delta ** np.arange(1, base_pay.size + 1, dtype=float))
    paying = pay > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        dti = (float(account.other_debt) + pay) / ev.expected_income
    return {
        "npv": ev.npv,
        # to the cent: the difference of the two NPVs as every output rounds them
        "npv_vs_status_quo": value_difference(ev.npv, base.npv),
        "pd_12m": ev.pd_12m,
        "pd_life": ev.pd_life,
        "expected_loss": ev.expected_loss,
        "concession_cost": base_pv - pv,
        "total_paid": schedule.total_paid,
        "customer_cost": customer_cost(
            schedule, float(account.principal), float(account.annual_rate)
        ),
        "apr": schedule.apr(),
        "max_dti": float(dti[paying].max()) if paying.any() else 0.0,
        "min_afford_prob": float(ev.afford_prob[paying].min()) if paying.any() else 1.0,
    }


def payment_distance(a: Any, b: Any) -> float:
    """Root-mean-square difference of two payment paths over the longer one (0 past an end)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    T = max(a.size, b.size)
    pa, pb = np.zeros(T), np.zeros(T)
    pa[: a.size], pb[: b.size] = a, b
    return float(np.sqrt(np.mean((pa - pb) ** 2)))


def nearest_option(plans: PlanResult, payments: Any) -> tuple[Any, float]:
    """The offered feasible plan nearest to ``payments`` and its distance (``None``, nan).

    Plans that pass the NPV test are preferred; ties go to the higher NPV.
    """
    offered = [o for o in plans.options if o.feasible and o.family in OFFERED_FAMILIES]
    passing = [o for o in offered if o.npv > plans.status_quo.npv]
    pool = passing or offered
    if not pool:
        return None, math.nan
    best = min(pool, key=lambda o: (payment_distance(o.payments, payments), -o.npv))
    return best, payment_distance(best.payments, payments)


@dataclass(frozen=True)
class CounterOffer:
    """A counter-offer evaluated: figures, policy check, NPV test and what to offer instead.

    Attributes
    ----------
    verdict
        :class:`Verdict`; ``explanation`` says why in words.
    figures
        The figures of the booked schedule (:func:`schedule_figures`: the plan options'
        metrics).
    violations
        Broken policy rules (empty unless ``BREAKS_POLICY``).
    nearest, nearest_distance
        The nearest feasible plan (a :class:`~solver.plans.PlanResult` option) when the
        verdict is ``NPV_TEST_FAILED`` or ``BREAKS_POLICY``, and its RMS payment distance
        (CNY a month).
    plans
        The account's plan options (the comparison and the alternatives).
    contract_affordable
        Whether the contract meets the affordability rules in every month (the need test,
        whatever the policy's ``need_test``): the plan options' ``contract_affordable``.
    """

    account_id: str
    proposal: Proposal
    booked: ProposalSchedule
    figures: dict[str, float]
    status_quo_npv: float
    npv_test_passed: bool
    violations: tuple[Violation, ...]
    verdict: Verdict
    explanation: str
    plans: PlanResult
    nearest: Any = None
    nearest_distance: float = math.nan
    policy: Policy = field(default_factory=Policy)
    contract_affordable: bool = False

    @property
    def schedule(self) -> Schedule:
        return self.booked.schedule

    def to_dict(self, schedule: bool = True) -> dict[str, Any]:
        """The ``workout evaluate --format json`` document (see :mod:`solver.officer.documents`)."""
        return counter_offer_document(self, schedule=schedule)


def evaluate_counter_offer(
    account: Any,
    proposal: Proposal,
    policy: Policy | None = None,
    model: Any = None,
    *,
    plans: PlanResult | None = None,
) -> CounterOffer:
    """Evaluate the customer's ``proposal`` for ``account`` (SPEC §4-§6).

    Parameters
    ----------
    account
        An :class:`~solver.core.Account`.
    proposal
        The counter-offer.
    policy, model
        As for :func:`solver.plans.plan_options` (defaults when omitted); the policy for
        the account's product applies.
    plans
        The account's plan options when already computed (else computed here), under
        the same policy and model: their need test (``contract_affordable``, the status
        ``CONTRACT_AFFORDABLE``) is the counter-offer's.
    """
    policy = (policy or Policy()).for_product(account.product)
    model = model or BehaviourModel()
    booked = proposal_schedule(account, proposal, policy.rounding, currency=policy.currency)
    baseline = status_quo(account, grid=booked.schedule.grid)
    base = evaluate(account, baseline, model=model)  # once: the figures and the NPV test
    figures = _figures(account, booked.schedule, model, baseline, base)
    # unrounded, as workout plan's NPV test (npv_vs_status_quo is rounded to the cent)
    sq_npv = base.npv
    violations = tuple(policy_violations(account, booked, policy, model))
    passed = figures["npv"] > sq_npv
    if plans is None:
        plans = plan_options(account, policy, model)
    # the need test is `workout plan`'s decision, taken once by plan_options
    affordable = plans.contract_affordable
    keep_contract = plans.status == Status.CONTRACT_AFFORDABLE
    verdict = _verdict(keep_contract, bool(violations), passed)
    nearest, distance = (None, math.nan)
    if verdict in (Verdict.BREAKS_POLICY, Verdict.NPV_TEST_FAILED):
        nearest, distance = nearest_option(plans, booked.proposed_payments)
    explanation = _explain(
        verdict, figures, sq_npv, violations, plans, nearest, distance, policy.currency
    )
    if verdict == Verdict.CONTRACT_AFFORDABLE:  # workout plan's sentence, then the proposal's
        explanation = plans.explanation + " " + explanation
    elif affordable:
        explanation += " " + optional_text(plans.status_quo, policy)
    return CounterOffer(
        account_id=str(account.account_id),
        proposal=proposal,
        booked=booked,
        figures=figures,
        status_quo_npv=sq_npv,
        npv_test_passed=passed,
        violations=violations,
        verdict=verdict,
        explanation=explanation,
        plans=plans,
        nearest=nearest,
        nearest_distance=distance,
        policy=policy,
        contract_affordable=affordable,
    )


def _verdict(keep_contract: bool, breaks_policy: bool, npv_test_passed: bool) -> Verdict:
    """The verdict, in the order of the checks: the need test first (as ``workout plan``
    reports ``CONTRACT_AFFORDABLE`` before infeasibility), then the policy, then the NPV
    test."""
    if keep_contract:
        return Verdict.CONTRACT_AFFORDABLE
    if breaks_policy:
        return Verdict.BREAKS_POLICY
    return Verdict.ACCEPTABLE if npv_test_passed else Verdict.NPV_TEST_FAILED


def _explain(
    verdict: Verdict,
    figures: dict[str, float],
    sq_npv: float,
    violations: tuple[Violation, ...],
    plans: PlanResult,
    nearest: Any,
    distance: float,
    currency: str,
) -> str:
    """The verdict in words, amounts in ``currency``'s decimals (solver.core.currency)."""

    def money(x: float, sign: bool = False) -> str:
        return format_value(x, currency, sign=sign)

    npv = figures["npv"]
    # the Δ printed is the difference of the two NPVs printed beside it
    delta = format_difference(npv, sq_npv, currency, sign=True)
    worth = (
        f"it recovers {money(npv)} in expected NPV against {money(sq_npv)} for the status quo "
        f"({delta}); PD 12m {figures['pd_12m']:.1%}"
    )
    if verdict == Verdict.CONTRACT_AFFORDABLE:  # after the need test's own sentence
        rules = "; ".join(v.text for v in violations)
        within = f"it would break the policy ({rules})" if violations else "it is within policy"
        test = "passes" if npv > sq_npv else "fails"
        return f"The counter-offer is not needed; as proposed, {within} and {test} the NPV test: {worth}."
    if verdict == Verdict.ACCEPTABLE:
        text = f"within policy and it passes the NPV test: {worth}."
        best = plans.recommended_option
        if best is not None and best.npv > npv:
            text += f" The recommended plan, {best.label}, recovers {money(best.npv)}."
        return text
    if verdict == Verdict.BREAKS_POLICY:
        text = (
            "breaks the policy: "
            + "; ".join(v.text for v in violations)
            + f". As proposed, {worth}."
        )
    else:
        text = f"within policy but it fails the NPV test: {worth}."
    if nearest is None:
        # the plans' explanation (solver.plans.explain.explain_infeasible) opens with these
        # words itself: said once, not "No plan satisfies the policy: No plan ..."
        reason = plans.explanation.removeprefix(NO_PLAN_PREFIX)
        return text + f" {NO_PLAN_PREFIX}{reason}"
    test = "passes" if nearest.npv > plans.status_quo.npv else "fails"
    return text + (
        f" Nearest feasible plan: {nearest.label} (term {nearest.schedule.term}, first payment "
        f"{format_amount(float(nearest.payments[0]), currency)}; its payments differ from the "
        f"proposed ones by {money(distance)} a month, root mean square), NPV {money(nearest.npv)},"
        f" which {test} "
        "the NPV test."
    )
