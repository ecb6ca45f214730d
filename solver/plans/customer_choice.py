"""The bank-vs-customer trade-off of one account's plans (issue 13 criterion 7):
:func:`efficient_frontier`, the offered plans passing the NPV test that no other beats on
both the bank's NPV and the customer's cost, and :func:`choose_for`, the recommendation
made under the customer's objective from it (``plan --objective customer --within x``).

The records it reads and returns: :mod:`solver.plans.plan_records`; the plans at every
term it draws on: :class:`solver.plans.frontier.TradeOffs`.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from solver.core.schedule import Schedule
from solver.domain import DEFAULT_CURRENCY, OFFERED_FAMILIES, Status
from solver.plans.choice import Choice
from solver.plans.explain import customer_choice_text
from solver.plans.frontier import undominated
from solver.plans.objectives import DEFAULT_OBJECTIVE, DEFAULT_WITHIN_PCT, OBJECTIVES
from solver.plans.plan_records import PlanOption, PlanResult, choice_option


def efficient_frontier(result: PlanResult) -> list[PlanOption]:
    """The bank-vs-customer efficient frontier of one account, by NPV descending: the
    offered plans passing the NPV test that no other such plan beats on both bank NPV and
    customer cost.

    The candidates are every family's best plan and, for a result of
    :func:`~solver.plans.options.plan_options`, the level families' plans at every term
    (:class:`solver.plans.frontier.TradeOffs`), each a full option (cent schedule, the
    model's metrics, binding constraints) labelled with its terms (``instalment 36m``,
    ``deferral/waive 3+33m``). A term plan with a family best's schedule is that option.
    """
    sq = result.status_quo
    offered = [
        o for o in result.options if o.feasible and o.family in OFFERED_FAMILIES and o.npv > sq.npv
    ]
    known = {o.label for o in offered} | {_plan_key(o.family, o.schedule) for o in offered}
    points: list[tuple[float, float, Any]] = [(o.npv, o.customer_cost, o) for o in offered]
    trade = result.trade_offs
    if trade is not None and sq.schedule is not None:
        for ch, m in trade.points(sq.schedule, sq.npv):
            if ch.label not in known and _plan_key(ch.family, ch.schedule) not in known:
                points.append((m["npv"], m["customer_cost"], (ch, m)))
    front = undominated(points, lambda p: p[0], lambda p: p[1])
    return [p[2] if isinstance(p[2], PlanOption) else _term_option(trade, *p[2]) for p in front]


def _plan_key(family: str, schedule: Schedule | None) -> tuple[str, bytes, int]:
    """What makes two plans the same plan: family, payments and opening balance."""
    if schedule is None:
        return (family, b"", 0)
    return (family, schedule.payment.tobytes(), int(schedule.opening_balance))


def _term_option(trade: Any, ch: Choice, metrics: dict[str, float]) -> PlanOption:
    """The full option of a frontier term plan (its binding constraints worded once)."""
    option = trade.options.get(ch.label)
    if option is None:
        option = trade.options[ch.label] = choice_option(trade.ctx, 0, ch, metrics, False)
    return option


def choose_for(
    result: PlanResult,
    objective: str = DEFAULT_OBJECTIVE,
    within: float = DEFAULT_WITHIN_PCT / 100,
    *,
    currency: str = DEFAULT_CURRENCY,
) -> PlanResult:
    """The result with the recommendation made under ``objective`` (the explanation's
    amounts in ``currency``'s decimals).

    ``bank`` (the default of :func:`~solver.plans.options.plan_options`): the plan with the
    highest NPV that passes the NPV test. ``customer``: among the :func:`efficient_frontier`
    plans whose NPV is within ``within`` (a share, 0.01 = 1 %; by default
    :data:`~solver.plans.objectives.DEFAULT_WITHIN_PCT` / 100) of the best, the one that
    costs the customer least (:data:`~solver.plans.metrics.METRICS` ``customer_cost``); ties
    go to the higher NPV. A frontier plan at a term that is not a family's best
    (``instalment 36m``) is appended to the options, so it is reported in full like every
    option.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if not (0.0 <= within <= 1.0) or math.isnan(within):
        raise ValueError(f"within must be a share in [0, 1], got {within}")
    if objective == DEFAULT_OBJECTIVE or result.status != Status.RECOMMENDED:
        return result  # plan_options recommended the bank's best: nothing to trade
    frontier = efficient_frontier(result)
    best_npv = frontier[0].npv
    floor = best_npv - within * abs(best_npv)
    pick = min((o for o in frontier if o.npv >= floor), key=lambda o: (o.customer_cost, -o.npv))
    if pick.label == result.recommended:
        return result
    options = result.options
    if all(o.label != pick.label for o in options):
        options = (*options, pick)
    explanation = customer_choice_text(pick, frontier[0], result.status_quo, within, currency)
    return replace(result, options=options, recommended=pick.label, explanation=explanation)
