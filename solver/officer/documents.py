"""The JSON documents of the officer's tools: plan options, a counter-offer, a table row.

One definition each, shared by the command line and the HTTP service, so that
``workout plan --format json`` and ``POST /api/plan`` give the same bytes
(:func:`solver.core.writers.json_text` writes both).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from solver.domain import DEFAULT_CURRENCY
from solver.plans import PlanResult, SearchParams, choose_for, efficient_frontier, plan_options
from solver.plans.objectives import DEFAULT_OBJECTIVE, DEFAULT_WITHIN_PCT

if TYPE_CHECKING:
    from solver.core import Schedule
    from solver.officer.counter_offer import CounterOffer
    from solver.plans import PlanOption

#: The option name of the customer's own proposal: its ``option`` in the tables and
#: ``--option`` of ``workout offer`` (:mod:`solver.officer.offers`).
COUNTER_OFFER = "counter_offer"

#: Columns of a schedule row in the documents (``due_date`` only where the schedule is dated).
SCHEDULE_COLUMNS = ("month", "payment", "interest", "principal", "fees", "balance")


def plan_result(
    account: Any,
    policy: Any,
    model: Any,
    *,
    objective: str = DEFAULT_OBJECTIVE,
    within_pct: float = DEFAULT_WITHIN_PCT,
    thorough: bool = False,
) -> PlanResult:
    """The plan options ``workout plan`` reports: searched, then chosen for ``objective``
    (``within_pct`` percent of the bank's best for the ``customer`` objective)."""
    search = SearchParams.thorough() if thorough else SearchParams()
    result = plan_options(account, policy, model, search=search)
    currency = str(getattr(policy, "currency", DEFAULT_CURRENCY))
    return choose_for(result, objective, within_pct / 100.0, currency=currency)


def plan_document(
    result: PlanResult,
    objective: str = DEFAULT_OBJECTIVE,
    within_pct: float = DEFAULT_WITHIN_PCT,
    *,
    as_of: date,
) -> dict:
    """The ``workout plan --format json`` document of ``result``, every schedule dated
    from ``as_of`` (month t due t months later: ``--as-of``, :mod:`solver.officer.dating`).

    The due dates are the schedules' own (:attr:`~solver.core.Schedule.due_dates` of the
    schedule started at ``as_of``, as an offer's schedule is dated), the one dating path of
    plans and offers; the rest of an option's entry is its ``to_dict`` (the schedule last).
    """
    payload = result.to_dict(schedules=False)
    for entry, option in zip(
        (payload["status_quo"], *payload["options"]),
        (result.status_quo, *result.options),
        strict=True,
    ):
        entry["schedule"] = _dated_rows(option, as_of)
    payload["objective"] = {"kind": objective, "within": within_pct / 100.0}
    payload["frontier"] = [o.label for o in efficient_frontier(result)]
    return payload


def _dated_rows(option: PlanOption, as_of: date) -> list[dict[str, Any]]:
    """The rows of ``option``'s schedule dated from ``as_of`` (none for an infeasible one)."""
    if option.schedule is None:
        return []
    return schedule_rows(replace(option.schedule, start=as_of))


def schedule_rows(schedule: Schedule) -> list[dict[str, Any]]:
    """The rows of ``schedule`` (CNY to the cent), with ``due_date`` when it is dated."""
    keys = (("month", "due_date") + SCHEDULE_COLUMNS[1:]) if schedule.start else SCHEDULE_COLUMNS
    return [{k: row[k] for k in keys} for row in schedule.to_records()]


def counter_offer_document(
    offer: CounterOffer, schedule: bool = True, *, as_of: date | None = None
) -> dict[str, Any]:
    """The ``workout evaluate --format json`` document (the service's ``/api/evaluate``);
    with ``as_of`` its schedule and the nearest plan's are dated from it (``due_date``:
    month t due t months later, as :func:`plan_document` dates the plans)."""
    nearest = offer.nearest
    doc: dict[str, Any] = {
        "account_id": offer.account_id,
        "verdict": offer.verdict,
        "explanation": offer.explanation,
        "proposal": {
            **offer.proposal.to_dict(),
            "text": offer.proposal.describe(offer.policy.currency),
        },
        "npv_test_passed": offer.npv_test_passed,
        "status_quo_npv": offer.status_quo_npv,
        **offer.figures,
        "term": offer.schedule.term,
        "deferral_months": offer.booked.deferral_months,
        "holiday_months": [list(run) for run in offer.booked.holidays],
        "deferral_mode": offer.booked.deferral_mode if offer.booked.deferral_months else None,
        "violations": [v.to_dict() for v in offer.violations],
        "notes": list(offer.booked.notes),
        "recommended": offer.plans.recommended,
        "nearest": None
        if nearest is None
        else {"distance": offer.nearest_distance, **nearest.to_dict(schedule=schedule)},
    }
    if schedule:
        start = offer.schedule.start if as_of is None else as_of
        doc["schedule"] = schedule_rows(replace(offer.schedule, start=start))
        if nearest is not None and as_of is not None:
            doc["nearest"]["schedule"] = _dated_rows(nearest, as_of)
    return doc


def counter_offer_rows(offer: CounterOffer) -> list[dict[str, Any]]:
    """The counter-offer beside the status quo, the recommended and the nearest plan (the
    ``--format csv`` table of ``workout evaluate``)."""
    rows = [
        {
            "option": COUNTER_OFFER,
            "verdict": offer.verdict,
            "term": offer.schedule.term,
            "first_payment": float(offer.schedule.payments[0]),
            **offer.figures,
        }
    ]
    seen = set()
    for role, option in (
        ("status_quo", offer.plans.status_quo),
        ("recommended", offer.plans.recommended_option),
        ("nearest", offer.nearest),
    ):
        if option is None or option.label in seen:
            continue
        seen.add(option.label)
        rows.append(
            {
                "option": option.label,
                "verdict": role,
                "term": option.schedule.term,
                "first_payment": float(option.payments[0]),
                **option.metrics(),
            }
        )
    return rows


def counter_offer_sheets(offer: CounterOffer, *, as_of: date) -> dict[str, Any]:
    """The sheets of ``workout evaluate --out FILE.xlsx``: ``comparison`` (the rows of
    :func:`counter_offer_rows`, the ``--format csv`` table), ``schedule`` (the
    counter-offer's) and ``nearest_schedule`` (the nearest feasible plan's, when one is
    named): the schedules of :func:`counter_offer_document`, dated from ``as_of``.

    Decision (session 24): one sheet per schedule, as the JSON document keeps them apart
    (``schedule`` and ``nearest.schedule``), each led by an ``option`` column holding the
    comparison table's label (``counter_offer``, the plan's label): the nearest plan can
    be the recommended one, which the comparison lists once, under that role.
    """
    import pandas as pd

    sheets = {"comparison": pd.DataFrame(counter_offer_rows(offer))}
    schedules = [("schedule", COUNTER_OFFER, offer.schedule)]
    if offer.nearest is not None and offer.nearest.schedule is not None:
        schedules.append(("nearest_schedule", offer.nearest.label, offer.nearest.schedule))
    for sheet, label, schedule in schedules:
        frame = replace(schedule, start=as_of).to_frame()
        frame.insert(0, "option", label)
        sheets[sheet] = frame
    return sheets
