"""The policy check of a customer's counter-offer (SPEC §5): the rules its booked schedule
breaks, month by month.

The check is the one of the ``custom`` family, because a proposal is a customised schedule:
term, holiday length and where holidays fall, interest treatment, the minimum and the
rounding of instalments, and, in every month with a payment, ``max_dti``,
``min_residual_income`` and ``min_afford_prob`` -- the plan search's own caps on the payment
(:func:`solver.plans.context.build_context`), tested as it tests them
(:func:`~solver.plans.context.over_cap`). ``max_payment_levels`` limits graduated and level
plans, not a customised schedule (issue 13), so it is not applied.
:func:`solver.officer.counter_offer.evaluate_counter_offer` gives the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from solver.core import BehaviourModel, Policy
from solver.core.currency import format_amount
from solver.officer.proposal import ProposalSchedule
from solver.plans.context import context_from_account, over_cap
from solver.plans.terms import mid_plan_months, months_text


@dataclass(frozen=True)
class Violation:
    """One broken policy rule: the policy key, the months concerned (may be empty), in words."""

    rule: str
    months: tuple[int, ...]
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "months": list(self.months), "text": self.text}


def policy_violations(
    account: Any, booked: ProposalSchedule, policy: Policy, model: Any = None
) -> list[Violation]:
    """The SPEC §5 rules ``booked`` breaks under ``policy`` (empty when it is feasible).

    ``policy`` should already be the one for the account's product
    (:meth:`~solver.core.Policy.for_product`).
    """
    model = model or BehaviourModel()
    schedule = booked.schedule
    pay = np.asarray(schedule.payments, dtype=float)
    T = pay.size
    out: list[Violation] = []
    if T > policy.max_term_months:
        out.append(
            Violation(
                "max_term_months",
                (),
                f"the term of {T} months exceeds max_term_months {policy.max_term_months}",
            )
        )
    D, mode = booked.deferral_months, booked.deferral_mode
    # SPEC §5: max_deferral_months limits each holiday (run of months without
    # instalments), wherever it falls; the total may be larger
    longest = booked.longest_holiday
    if longest > policy.max_deferral_months:
        months = tuple(
            m
            for first, last in booked.holidays
            if last - first + 1 > policy.max_deferral_months
            for m in range(first, last + 1)
        )
        out.append(
            Violation(
                "max_deferral_months",
                months,
                f"{longest} months in a row without instalments ({months_text(months)}) "
                f"exceed max_deferral_months {policy.max_deferral_months}",
            )
        )
    # ... and, unless the policy allows holidays mid-plan, falls at the start only
    late = mid_plan_months(booked.holidays)
    if late and not policy.holidays_mid_plan:
        out.append(
            Violation(
                "holidays_mid_plan",
                late,
                f"months without instalments after the first payment ({months_text(late)}): "
                "the policy allows a holiday only at the start (holidays_mid_plan = false)",
            )
        )
    if D > 0 and mode not in policy.deferral_interest:
        out.append(
            Violation(
                "deferral_interest",
                (),
                f"a holiday with interest treated as {mode} is not allowed (the policy allows "
                f"{', '.join(policy.deferral_interest) or 'none'})",
            )
        )
    month = np.arange(1, T + 1)
    paying = pay > 0
    not_last = month < T
    unit = round(policy.rounding * 100)
    # interest-only months (nothing to principal) pay the interest as it falls due: no
    # instalment to round
    monthly = (
        (
            "min_payment",
            paying & not_last & (pay < policy.min_payment - 1e-9),
            f"payments below min_payment {format_amount(policy.min_payment, policy.currency)} in {{}}",
        ),
        (
            "rounding",
            paying & not_last & (schedule.principal != 0) & (schedule.payment % unit != 0),
            f"instalments are not multiples of {format_amount(policy.rounding, policy.currency)} in {{}}",
        ),
    )
    for rule, mask, text in monthly:
        if mask.any():
            out.append(
                Violation(rule, tuple(month[mask].tolist()), text.format(months_text(month[mask])))
            )
    out.extend(_affordability_violations(account, pay, policy, model))
    return out


def _affordability_violations(
    account: Any, pay: np.ndarray, policy: Policy, model: Any
) -> list[Violation]:
    """``max_dti``, ``min_residual_income``, ``min_afford_prob`` in every payment month,
    as the plan search's caps on the payment (:func:`solver.plans.context.build_context`),
    tested as it tests them (:func:`~solver.plans.context.over_cap`)."""
    T = pay.size
    ctx = context_from_account(account, policy, model, horizon=T)
    kernel = ctx.kernel
    income = kernel.income[0, :T]
    other_debt = float(account.other_debt)
    caps = {
        "max_dti": ctx.cap_dti[0, :T],
        "min_residual_income": ctx.cap_residual[0, :T],
        "min_afford_prob": ctx.cap_afford[0, :T],
    }
    month = np.arange(1, T + 1)
    paying = pay > 0
    out: list[Violation] = []
    for rule, cap in caps.items():
        over = paying & over_cap(pay, cap)
        if not over.any():
            continue
        where = months_text(month[over])
        if rule == "max_dti":
            with np.errstate(divide="ignore", invalid="ignore"):
                worst = float(np.max((other_debt + pay[over]) / income[over]))
            text = f"max_dti {policy.max_dti:.2f} is exceeded in {where} (up to {worst:.2f})"
        elif rule == "min_residual_income":
            worst = float(np.min(income[over] - kernel.outgo[0] - pay[over]))
            text = (
                f"min_residual_income {policy.min_residual_income:,.2f} is not left in "
                f"{where} (lowest {worst:,.2f})"
            )
        else:
            afford = kernel.afford(np.zeros(1, dtype=int), pay[None, :])[0]
            worst = float(np.min(afford[over]))
            text = (
                f"min_afford_prob {policy.min_afford_prob:.2f} is not met in {where} "
                f"(lowest {worst:.2f})"
            )
        out.append(Violation(rule, tuple(month[over].tolist()), text))
    return out
