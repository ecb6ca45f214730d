"""One dating path for plan documents (session 18 review): ``plan_document`` dates every
schedule from ``as_of`` through the schedules themselves, ``dated_document`` is gone, and
``POST /api/plan`` takes ``as_of`` as ``workout plan --as-of``.

Oracles: due dates by own calendar arithmetic (SPEC §2: month t due t calendar months after
the as-of date, the day clipped to the month's end); the document as main built it -- the
undated document with a ``due_date`` inserted after each row's ``month`` by a walk written
here -- compared byte for byte; the CLI's bytes for the service.
"""

from __future__ import annotations

import calendar
import json
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cli_inprocess import run_workout
from serve_process import in_process_client

import solver.core.schedule as schedule_module
from solver.core import BehaviourModel, Policy
from solver.core.account import as_account
from solver.core.writers import json_text
from solver.officer.documents import plan_document, plan_result
from solver.plans.customer_choice import efficient_frontier

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
ACCOUNT = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
#: A month-end, a leap day and an ordinary day.
DATES = (date(2026, 1, 31), date(2024, 2, 29), date(2026, 5, 4))


def _due(start: date, month: int) -> date:
    """Month ``month`` of a schedule dated ``start`` (own arithmetic, SPEC §2)."""
    total = start.year * 12 + start.month - 1 + month
    year, month0 = divmod(total, 12)
    return date(year, month0 + 1, min(start.day, calendar.monthrange(year, month0 + 1)[1]))


def _dated_as_main_did(document: Any, start: date) -> Any:
    """The walk main's ``dated_document`` made: a ``due_date`` after the ``month`` of every
    row of every ``schedule`` list (the oracle of the bytes)."""
    if isinstance(document, list):
        return [_dated_as_main_did(item, start) for item in document]
    if not isinstance(document, dict):
        return document
    out: dict[str, Any] = {}
    for key, value in document.items():
        if key == "schedule" and isinstance(value, list):
            rows = []
            for row in value:
                dated: dict[str, Any] = {}
                for k, v in row.items():
                    dated[k] = v
                    if k == "month":
                        dated["due_date"] = _due(start, int(v)).isoformat()
                rows.append(dated)
            value = rows
        out[key] = _dated_as_main_did(value, start)
    return out


def _old_document(result: Any, objective: str, within_pct: float, start: date) -> dict:
    """Main's ``dated_document(plan_document(result, ...), start)``."""
    payload = result.to_dict()
    payload["objective"] = {"kind": objective, "within": within_pct / 100.0}
    payload["frontier"] = [o.label for o in efficient_frontier(result)]
    return _dated_as_main_did(payload, start)


CASES = {
    "bank": ({}, {}),
    "customer": ({}, {"objective": "customer", "within_pct": 5.0}),
    "need_test": ({"income": 20000.0}, {"policy": {"need_test": True}}),
    "npv_test_failed": ({"income": 100.0}, {}),
    "infeasible": ({}, {"policy": {"max_term_months": 4, "max_deferral_months": 4}}),
    "jpy": ({}, {"policy": {"currency": "JPY"}}),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request) -> tuple[Any, str, float]:
    what_if, options = CASES[request.param]
    account = as_account({**ACCOUNT, **what_if})
    policy = Policy(**options.get("policy", {}))
    objective = options.get("objective", "bank")
    within = options.get("within_pct", 1.0)
    result = plan_result(account, policy, BehaviourModel(), objective=objective, within_pct=within)
    return result, objective, within


@pytest.mark.parametrize("start", DATES, ids=str)
def test_plan_document_bytes_are_mains(case, start):
    """plan_document(..., as_of) is byte for byte the document main dated afterwards
    (recommended, customer objective, need test, NPV test failed, infeasible, JPY)."""
    result, objective, within = case
    new = plan_document(result, objective, within, as_of=start)
    assert json_text(new) == json_text(_old_document(result, objective, within, start))


def test_plan_document_due_dates_are_the_schedules(case):
    """Every schedule row's due_date is month t's date after as_of by own arithmetic, and
    the rows are the option's schedule (no infeasible option gets rows)."""
    result, objective, within = case
    start = date(2026, 1, 31)
    doc = plan_document(result, objective, within, as_of=start)
    for entry, option in zip(
        (doc["status_quo"], *doc["options"]), (result.status_quo, *result.options), strict=True
    ):
        if option.schedule is None:
            assert entry["schedule"] == []
            continue
        rows = entry["schedule"]
        assert [r["due_date"] for r in rows] == [
            _due(start, t).isoformat() for t in range(1, option.schedule.term + 1)
        ]
        assert [r["payment"] for r in rows] == option.schedule.payments.round(2).tolist()
        assert list(rows[0]) == [
            "month",
            "due_date",
            "payment",
            "interest",
            "principal",
            "fees",
            "balance",
        ]


def test_dated_document_is_gone():
    """solver.core.schedule has no second dating path (dated_document) any more."""
    assert not hasattr(schedule_module, "dated_document")
    assert "dated_document" not in schedule_module.__all__


# -- POST /api/plan's as_of -------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with in_process_client(tmp_path_factory, "svc18") as c:
        yield c


@pytest.mark.parametrize("start", ["2026-01-31", "2024-02-29"])
def test_api_plan_as_of_is_the_clis(client, start):
    """POST /api/plan with as_of answers with the bytes of `workout plan --as-of`."""
    code, out, err = run_workout("plan", SAMPLE, "--as-of", start, "--format", "json")
    assert code == 0, err
    response = client.post("/api/plan", json={"account": ACCOUNT, "as_of": start})
    assert response.status_code == 200, response.text
    assert response.content == out.encode("utf-8")
    first = json.loads(response.content)["status_quo"]["schedule"][0]["due_date"]
    assert first == _due(date.fromisoformat(start), 1).isoformat()


def test_api_plan_as_of_defaults_to_today(client):
    """Without as_of (or with null) the schedules are dated from today, as the CLI's
    default --as-of."""
    before = date.today()
    for body in ({"account": ACCOUNT}, {"account": ACCOUNT, "as_of": None}):
        response = client.post("/api/plan", json=body)
        assert response.status_code == 200, response.text
        first = json.loads(response.content)["status_quo"]["schedule"][0]["due_date"]
        assert first in {_due(before, 1).isoformat(), _due(date.today(), 1).isoformat()}


@pytest.mark.parametrize(
    "value",
    ["2026-13-45", "2026-02-30", "31/01/2026", "2026-01-31T00:00:00", "", "today", 1767139200],
)
def test_api_plan_bad_as_of_is_a_422_naming_it(client, value):
    """A bad as_of (not a date written YYYY-MM-DD, as --as-of reads it) is a 422 naming
    the field and the form, without echoing the value."""
    response = client.post("/api/plan", json={"account": ACCOUNT, "as_of": value})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert [p["field"] for p in detail] == ["as_of"]
    assert "YYYY-MM-DD" in detail[0]["message"]
    assert str(value) not in detail[0]["message"] or value == ""


def test_api_letter_takes_the_same_as_of(client):
    """/api/letter reads as_of by the same rule: its letter is dated by it, a bad one is
    a 422 naming as_of; /api/evaluate too (session 21: its schedule is dated)."""
    body = {"account": ACCOUNT, "option": "custom", "lang": "en"}
    letter = client.post("/api/letter", json={**body, "as_of": "2026-01-31"})
    assert letter.status_code == 200, letter.text
    assert _due(date(2026, 1, 31), 1).isoformat() in letter.text
    bad = client.post("/api/letter", json={**body, "as_of": "2026-01-31T00:00:00"})
    assert bad.status_code == 422
    assert "YYYY-MM-DD" in bad.json()["detail"][0]["message"]
    evaluate = {"account": ACCOUNT, "proposal": {"term": 36}, "as_of": "2026-01-31"}
    dated = client.post("/api/evaluate", json=evaluate)
    assert dated.status_code == 200, dated.text
    assert dated.json()["schedule"][0]["due_date"] == _due(date(2026, 1, 31), 1).isoformat()
    refused = client.post("/api/evaluate", json={**evaluate, "as_of": "2026-01-31T00:00:00"})
    assert refused.status_code == 422
    assert [p["field"] for p in refused.json()["detail"]] == ["as_of"]
