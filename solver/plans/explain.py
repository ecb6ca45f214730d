"""Why a plan looks the way it does: binding constraints, infeasibility, minimal relaxations.

* :func:`binding_constraints` names the policy rules that stop a plan from collecting
  more, in words ("max_dti binds in months 1–6", "max_term_months binds").
* :func:`explain_infeasible` says which rules conflict when no plan is feasible
  ("the interest alone (512/month) exceeds the affordable payment (300/month, set by
  max_dti) until month 5").
* :func:`recommendation_text`, :func:`npv_test_text` and :func:`customer_choice_text`
  word the recommendation; every amount in these sentences is printed in the policy
  currency's decimals (:mod:`solver.core.currency`: JPY none, CNY two, KWD three).
* :func:`minimal_relaxations` computes, for each relaxable policy key (longer term,
  longer deferral, higher max_dti, a haircut, lower min_afford_prob), the smallest
  single change that makes some plan feasible — by bisection on that key, re-running
  the optimizer at every step — and verifies it by re-running once more with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from solver.core.currency import format_amount, format_difference, format_value
from solver.domain import Status
from solver.plans.choices import any_offered_feasible
from solver.plans.context import PlanContext, context_from_account, over_cap
from solver.plans.metrics import CUSTOMER_COST_TEXT
from solver.plans.terms import PlanTerms, months_text

#: The per-month rules :func:`binding_constraints` words, in its order.
_BINDING_RULES = ("max_dti", "min_residual_income", "min_afford_prob", "min_payment")


#: How the explanation of an infeasible account starts (the counter-offer verdict quotes it).
NO_PLAN_PREFIX = "No plan satisfies the policy: "


def binding_constraints(
    ctx: PlanContext,
    i: int,
    family: str,
    schedule: Any,
    terms: PlanTerms,
    metrics: dict[str, float],
) -> list[str]:
    """Policy rules that bind on a plan, in words.

    A per-month affordability rule *binds* in a month when a higher payment would break
    it: for custom and step plans, when the next amount of the plan's payment grid is above
    that rule's cap (the grid is what they choose from; a one-step tolerance claimed rules
    that the next amount satisfied, review of 4 Dec 2026) -- at the grid's top amount, when
    one rounding unit more is (the grid, not the rule, stops a higher payment there); for
    level plans, when the payment is within one payment step of the cap
    (:func:`_level_step`: the rounding unit, or the instalment increase of a
    one-month-shorter term while that is small). ``max_deferral_months`` binds in every holiday
    that reaches it, wherever it falls (:attr:`~solver.plans.terms.PlanTerms.holidays`).
    """
    pol = ctx.policy
    pay = np.asarray(schedule.payments, float)
    T = pay.size
    out: list[str] = []
    unit = pol.rounding
    D = terms.holiday  # a level plan's holiday: its first D months
    paying = pay > 0
    # the three caps' rows and the minimum payment's, compared in one pass
    caps = np.stack((ctx.cap_dti[i, :T], ctx.cap_residual[i, :T], ctx.cap_afford[i, :T]))
    if family in ("custom", "step") and terms.grid:
        grid = np.sort(np.asarray(terms.grid, float))
        above = np.searchsorted(grid, pay + 0.005)  # the next grid amount above each payment
        higher = np.where(above < grid.size, grid[np.minimum(above, grid.size - 1)], pay + unit)
        breaks = over_cap(higher, caps)  # the one test of a cap
    else:
        if family in ("custom", "step"):  # no grid recorded: one grid step (or unit)
            tol = max(unit, float(unit if terms.grid_step is None else terms.grid_step))
        else:
            tol = _level_step(float(pay[min(D, T - 1)]), T - D, unit)
        breaks = pay >= caps - tol
    tight = np.empty((4, T), dtype=bool)
    np.logical_and(paying & breaks, np.isfinite(caps), out=tight[:3])
    tight[3] = paying & (np.abs(pay - pol.min_payment) < 0.005)
    tight[3, -1] = False  # the last payment may be below min_payment
    for name, row in zip(_BINDING_RULES, tight.tolist(), strict=True):
        if any(row):
            months = [t + 1 for t, hit in enumerate(row) if hit]
            out.append(f"{name} binds in {months_text(months)}")
    if T >= ctx.horizon:
        out.append("max_term_months binds")
    # every holiday that reaches the limit, wherever it falls (a free custom plan may
    # pause mid-plan): "max_deferral_months binds in months 1–6, 20–25"
    limit = max(pol.max_deferral_months, 1)
    at_limit = [m for a, b in terms.holidays if b - a + 1 >= limit for m in range(a, b + 1)]
    if at_limit:
        out.append(f"max_deferral_months binds in {months_text(at_limit)}")
    rate = math.inf if terms.rate is None else terms.rate
    if family == "concession" and abs(float(rate) - pol.rate_floor) < 1e-9:
        out.append("rate_floor binds")
    f = ctx.fields
    if terms.fee_waiver and f["fees_due"][i] > 0 and terms.fee_waiver >= pol.max_fee_waiver - 1e-9:
        out.append("max_fee_waiver binds")
    if (
        terms.interest_waiver
        and f["interest_due"][i] > 0
        and terms.interest_waiver >= pol.max_interest_waiver - 1e-9
    ):
        out.append("max_interest_waiver binds")
    if terms.haircut and terms.haircut >= pol.max_haircut - 1e-6:
        out.append("max_haircut binds")
    if family == "step" and len(terms.levels or ()) >= pol.max_payment_levels:
        out.append("max_payment_levels binds")
    return out


#: Largest payment step of a level plan, as a share of its instalment, that still counts
#: as "a payment just above" (:func:`_level_step`).
_MAX_LEVEL_STEP = 0.05


def _level_step(level: float, paying_months: int, unit: float) -> float:
    """How far below a cap a level plan's instalment ``level`` still binds on it.

    A level family chooses its term, so the next higher payment it could offer is that of
    a one-month-shorter term, about ``level / (paying_months - 1)`` more: a rule within that
    distance is what stopped the shorter term. That step counts only while it is small (at
    most :data:`_MAX_LEVEL_STEP` of the instalment, plans of about 21 paying months or
    more): for a short plan a shorter term is another plan altogether (one month shorter
    doubles a 2-month plan's payment), and "binds" would name a rule the payment is far
    below (a 1-month settlement at DTI 0.43 said max_dti 0.50 binds, review of 4 Dec 2026).
    One paying month has no shorter term. Never below the rounding ``unit``.
    """
    shorter = level / (paying_months - 1) if paying_months > 1 else 0.0
    return max(unit, min(shorter, _MAX_LEVEL_STEP * level))


def _months(k: int) -> str:
    return f"{k} month" if k == 1 else f"{k} months"


def recommendation_text(best: Any, sq: Any, currency: str) -> str:
    """Why ``best`` (a plan option) is recommended over the status quo ``sq``."""
    v = partial(format_value, code=currency)
    d = partial(format_difference, code=currency)  # a difference of two printed values
    return (
        f"{best.label} recovers {v(best.npv)} in expected NPV, {d(best.npv, sq.npv)} more"
        f" than the status quo ({v(sq.npv)}); PD 12m {best.pd_12m:.1%} vs {sq.pd_12m:.1%}"
        f"{short_contract_text(sq)}."
    )


def short_contract_text(sq: Any) -> str:
    """The caveat on a PD 12m comparison with a contract that ends within 12 months: its
    PD covers only its own months (a review found 'PD 12m 41.6% vs 22.3%' against a
    1-month status quo read as a plan raising the risk)."""
    T = int(sq.terms.term)
    if T >= 12:
        return ""
    return f" (the contract ends in month {T}: its PD covers {_months(T)} only)"


def npv_test_text(best: Any, sq: Any, currency: str) -> str:
    """Why no plan is recommended: the best offered plan ``best`` does not beat ``sq``."""
    v = partial(format_value, code=currency)
    d = partial(format_difference, code=currency)  # a difference of two printed values
    return (
        f"no plan passes the NPV test: the best, {best.label}, recovers {v(best.npv)} against"
        f" {v(sq.npv)} for the status quo ({d(best.npv, sq.npv)}); keep the contract"
        + (" — the customer can afford it" if sq.pd_12m < 0.2 else "")
        + "."
    )


def npv_shortfall(best_npv: float, npv: float) -> float:
    """How far ``npv`` lies below the best, as a share of the best (0 for a best of 0):
    the frontier table's "NPV vs best" column and the customer objective's wording."""
    return (best_npv - npv) / abs(best_npv) if best_npv else 0.0


def customer_choice_text(pick: Any, bank_best: Any, sq: Any, within: float, currency: str) -> str:
    """Why ``pick`` is recommended under the customer's objective (the cheapest plan within
    ``within`` of the bank's best NPV, ``bank_best``): what it costs the customer and saves
    them against the bank's best (``customer_cost``: interest and fees charged, in present
    value at the contract rate)."""
    v = partial(format_value, code=currency)
    d = partial(format_difference, code=currency)  # a difference of two printed values
    # the pick's actual shortfall, as the frontier table's "NPV vs best" column computes it:
    # the tolerance is a ceiling, and stating it as the shortfall misled (review s24: "within
    # 100.0%" for a plan 7.52 % below the best)
    shortfall = npv_shortfall(bank_best.npv, pick.npv)
    # a plan of the frontier at its own terms, not a family's best (REFERENCE: evaluated
    # there, not optimised): say so, or an officer reads it as the family's optimum
    at_terms = (
        f" (the {pick.family} plan at these terms, on the bank-vs-customer frontier)"
        if pick.status == Status.REFERENCE
        else ""
    )
    return (
        f"{pick.label}{at_terms} costs the customer {v(pick.customer_cost)} ({CUSTOMER_COST_TEXT}),"
        f" {d(bank_best.customer_cost, pick.customer_cost)}"
        f" less than the bank's best ({bank_best.label}, {v(bank_best.customer_cost)}),"
        f" and recovers {v(pick.npv)} in expected NPV,"
        f" {shortfall:.2%} below the best ({v(bank_best.npv)}; up to {within * 100:g}% allowed)"
        f" and {d(pick.npv, sq.npv)}"
        f" more than the status quo; PD 12m {pick.pd_12m:.1%} vs {sq.pd_12m:.1%}."
    )


#: The caps :func:`explain_infeasible` names as setting a month's affordable payment, in
#: the order of ``PlanContext.cap_dti``, ``cap_residual``, ``cap_afford`` (a tie names the first).
_CAP_RULES = ("max_dti", "min_residual_income", "min_afford_prob")


def _cap_setter(ctx: PlanContext, i: int, t: int) -> str:
    """The rule whose cap is lowest in month ``t + 1`` of account ``i`` (a NaN cap is no
    limit; when none limits, the first)."""
    caps = (ctx.cap_dti[i, t], ctx.cap_residual[i, t], ctx.cap_afford[i, t])
    low = [math.inf if math.isnan(c) else float(c) for c in caps]
    return _CAP_RULES[low.index(min(low))]


def explain_infeasible(ctx: PlanContext, i: int) -> str:
    """Which policy rules conflict for account ``i`` (no plan of any family is feasible).

    Called for every infeasible account of a portfolio run, so the month scans run on the
    cap row as a Python list (60 months: cheaper than a numpy call each) and the rule
    that sets a month's cap is found only for the months a sentence names; the
    present value of the capped payments stays one numpy sum (its rounding is the text's).
    """
    pol = ctx.policy
    H = ctx.horizon
    money = partial(format_value, code=pol.currency)  # computed amounts, the currency's decimals
    cap = ctx.cap[i]
    caps = cap.tolist()
    f = ctx.fields
    parts: list[str] = []
    lowest = max(pol.min_payment, 0.01)
    first = next((t for t, c in enumerate(caps) if math.isfinite(c) and c >= lowest), None)
    if first is None:
        finite = [c for c in caps if math.isfinite(c)]
        top = max(finite) if finite else -math.inf
        largest = caps.index(top) if finite else 0
        income = float(ctx.income_path[i, 0])
        parts.append(
            f"no month within max_term_months = {H} has an affordable payment of at least min_payment"
            f" = {pol.min_payment:,.0f} (largest affordable payment {money(max(max(finite, default=-1.0), 0))},"
            f" set by {_cap_setter(ctx, i, largest)};"
            f" expected income {income:,.0f}, expenses {f['expenses'][i]:,.0f}, other debt {f['other_debt'][i]:,.0f})"
        )
    elif first > 0:
        parts.append(
            f"no affordable payment of at least min_payment = {pol.min_payment:,.0f} before month {first + 1} ({_cap_setter(ctx, i, 0)} limits month 1 to {money(max(caps[0], 0))})"
        )
    balance = float(ctx.balance[i])
    r = float(f["annual_rate"][i]) / 12.0
    interest = balance * r
    if interest > 0 and not caps[0] >= interest:
        run = next((t for t, c in enumerate(caps) if c >= interest), H)
        until = (
            f"until month {run + 1}" if run < H else f"in every month up to max_term_months = {H}"
        )
        parts.append(
            f"the interest alone ({money(interest)}/month) exceeds the affordable payment ({money(max(caps[0], 0))}/month, set by {_cap_setter(ctx, i, 0)}) {until}"
        )
        if run < H:
            parts.append(
                f"a deferral of at least {_months(run)} would be needed but policy allows {pol.max_deferral_months}"
                if run > pol.max_deferral_months
                else f"a deferral of {_months(run)} would cover the interest"
            )
    # the most the affordable payments could repay within the term
    g = 1.0 + r
    v = 1.0 / g
    capped = np.where(np.isfinite(cap) & (cap >= pol.min_payment), cap, 0.0)
    pv = float(np.sum(capped * v ** np.arange(1, H + 1)))
    if pv < balance:
        parts.append(
            f"paying the largest affordable amount every month for max_term_months = {H} months repays at most"
            f" {money(pv)} of the {format_amount(balance, pol.currency)} balance"
        )
    if not parts:
        parts.append(
            "no plan on the search grids satisfies every policy rule at once (phases, minimum payment and caps)"
        )
    return NO_PLAN_PREFIX + "; ".join(parts) + "."


# --------------------------------------------------------------------------------------
# Minimal single relaxations
# --------------------------------------------------------------------------------------


def any_feasible(account: Any, policy: Any, model: Any, search: Any) -> bool:
    """Whether the optimizer finds at least one feasible offered plan under ``policy``."""
    ctx = context_from_account(account, policy, model)
    return any_offered_feasible(ctx, search)[0]


def minimal_relaxations(account: Any, policy: Any, model: Any, search: Any) -> list[dict[str, Any]]:
    """Smallest single policy changes that make a plan feasible, each verified.

    For each key the feasible set grows monotonically with the relaxation, so the
    smallest feasible value is found by bisection (integers for months, 0.01 steps for
    shares and ratios), re-running the optimizer at every probe. Keys that cannot make
    a plan feasible within their range are left out.

    Returns
    -------
    list of dict
        ``{"key", "current", "value", "text", "verified"}``, smallest change first
        in the order term, deferral, max_dti, haircut, min_afford_prob.
    """
    out: list[dict[str, Any]] = []

    def feasible(**changes: Any) -> bool:
        return any_feasible(account, policy.replace(**changes), model, search)

    # integer keys
    def smallest_int(key: str, lo: int, hi: int, extra: dict[str, Any] | None = None) -> int | None:
        extra = extra or {}
        if lo > hi or not feasible(**{key: hi}, **extra):
            return None
        while lo < hi:
            mid = (lo + hi) // 2
            if feasible(**{key: mid}, **extra):
                hi = mid
            else:
                lo = mid + 1
        return lo

    def smallest_share(
        key: str, lo: float, hi: float, step: float = 0.01, down: bool = False
    ) -> float | None:
        # probe on a grid of `step`; for `down` keys search the largest feasible-making decrease
        n = int(round(abs(hi - lo) / step))
        vals = [round(lo + (-(k) if down else k) * step, 10) for k in range(n + 1)]
        if not feasible(**{key: vals[-1]}):
            return None
        a, b = 1, n
        while a < b:
            mid = (a + b) // 2
            if feasible(**{key: vals[mid]}):
                b = mid
            else:
                a = mid + 1
        return vals[a]

    def add(key: str, value: Any, text: str) -> None:
        out.append({"key": key, "current": getattr(policy, key), "value": value, "text": text})

    term = smallest_int("max_term_months", policy.max_term_months + 1, 360)
    if term is not None:
        add("max_term_months", term, f"max_term_months {policy.max_term_months} → {term}")
    modes = tuple(policy.deferral_interest) or ("capitalize",)
    dmax = min(policy.max_term_months - 1, 60)
    defer = smallest_int(
        "max_deferral_months", policy.max_deferral_months + 1, dmax, {"deferral_interest": modes}
    )
    if defer is not None:
        text = f"max_deferral_months {policy.max_deferral_months} → {defer}"
        if not policy.deferral_interest:
            text += " (with capitalised deferral allowed)"
        add("max_deferral_months", defer, text)
    # shares and ratios: (key, the end of its range, relaxed downwards, a note on the value)
    shares: tuple[tuple[str, float, bool, Callable[[float], str]], ...] = (
        ("max_dti", 3.0, False, lambda v: ""),
        ("max_haircut", 1.0, False, lambda v: f" (a settlement forgiving {v:.0%} of principal)"),
        ("min_afford_prob", 0.0, True, lambda v: ""),
    )
    for key, end, down, note in shares:
        current = getattr(policy, key)
        if (current <= end) if down else (current >= end):
            continue
        if down:  # the grid of 0.01 steps from the current value, rounded towards the change
            start = math.ceil(current * 100 - 1e-9) / 100
        else:
            start = math.floor(current * 100 + 1e-9) / 100
        value = smallest_share(key, start, end, down=down)
        if value is not None and ((value < current) if down else (value > current)):
            add(key, value, f"{key} {current:g} → {value:g}{note(value)}")
    # verify each by re-running with it
    for r in out:
        changes: dict[str, Any] = {r["key"]: r["value"]}
        if r["key"] == "max_deferral_months":
            changes["deferral_interest"] = modes
        r["verified"] = feasible(**changes)
    return [r for r in out if r["verified"]]


def affordable_text(best: Any, sq: Any, policy: Any) -> str:
    """Why no plan is recommended to an account that can pay its contract (the policy's
    ``need_test``): its figures against the rules, and what the best plan (``None``: no
    feasible plan) would give."""
    v = partial(format_value, code=policy.currency)
    text = (
        f"no restructuring needed: the contract is affordable in every month (max DTI"
        f" {sq.max_dti:.2f} ≤ {policy.max_dti:.2f}, lowest affordability"
        f" {sq.min_afford_prob:.0%} ≥ {policy.min_afford_prob:.0%}); keep the contract."
    )
    if best is None:
        return text + " No plan would satisfy the policy either."
    return text + (
        f" The best plan, {best.label}, would recover {v(best.npv)} against {v(sq.npv)}"
        " (with need_test = false it is recommended if that beats the status quo)."
    )


def optional_text(sq: Any, policy: Any) -> str:
    """The note on a recommendation to an account that can pay its contract (the policy's
    ``need_test`` off): restructuring is the bank's choice, not the customer's need."""
    return (
        f"The contract itself is affordable (max DTI {sq.max_dti:.2f}, lowest affordability"
        f" {sq.min_afford_prob:.0%}): the plan is optional; need_test = true keeps the contract."
    )
