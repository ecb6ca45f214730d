"""The officer's service (issue 16, part c): CLI/service parity, every endpoint's bad input,
tokens, body limits, decisions and letters, and `workout serve` as a process.

Parity oracle: the bytes `workout plan --format json` / `workout evaluate --format json`
print for the same account file and settings (run in-process through the CLI).
"""

from __future__ import annotations

import json
import signal
import tomllib
from pathlib import Path

import httpx
import pytest
from cli_inprocess import run_workout
from fastapi.testclient import TestClient
from serve_process import serving

from solver.core import Policy, read_portfolio
from solver.service import ServiceConfig, create_app
from solver.service.audit.chain import sha256_text
from solver.service.security import MAX_BODY_BYTES, check_bind, is_loopback

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
TINY = ROOT / "tests" / "data" / "portfolio" / "tiny.csv"
ACCOUNT = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
TOKEN = "t0ken-for-the-tests-0123456789"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("svc") / "audit.db"
    config = ServiceConfig(
        db_url=f"sqlite:///{db}", book=read_portfolio(TINY), book_name="tiny.csv"
    )
    with TestClient(create_app(config)) as c:
        yield c


def _fields(response) -> list[str]:
    return [p["field"] for p in response.json()["detail"]]


# -- parity with the command line ------------------------------------------------------------


@pytest.mark.parametrize(
    "cli_args, body",
    [
        ([], {}),
        (
            ["--set", "income=8000", "--set", "recovery_months=3", "--set", "policy.max_dti=0.6"],
            {"what_if": {"income": 8000, "recovery_months": 3}, "policy": {"max_dti": 0.6}},
        ),
        (["--objective", "customer", "--within", "2"], {"objective": "customer", "within_pct": 2}),
        (
            ["--set", "income=1000", "--set", "income_normal=1000"],  # infeasible: CLI exit 3
            {"what_if": {"income": 1000, "income_normal": 1000}},
        ),
    ],
)
def test_plan_is_byte_identical_to_the_cli(client, cli_args, body):
    """POST /api/plan answers with the bytes `workout plan --format json` prints."""
    code, out, _ = run_workout("plan", SAMPLE, *cli_args, "--format", "json")
    assert code in (0, 3)
    response = client.post("/api/plan", json={"account": ACCOUNT, **body})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == out.encode("utf-8")


def test_book_lookup_then_plan_is_the_cli_of_that_account(client):
    """GET /api/accounts/T002 then POST /api/plan = `workout plan BOOK --account-id T002`."""
    found = client.get("/api/accounts/T002")
    assert found.status_code == 200
    response = client.post("/api/plan", json={"account": found.json()["account"]})
    _, out, _ = run_workout("plan", TINY, "--account-id", "T002", "--format", "json")
    assert response.content == out.encode("utf-8")
    listed = client.get("/api/accounts", params={"prefix": "T00", "limit": 3}).json()
    assert listed["account_ids"] == ["T001", "T002", "T003"]


def test_evaluate_is_byte_identical_to_the_cli(client):
    """POST /api/evaluate answers with the bytes `workout evaluate --format json` prints."""
    for cli_args, proposal in (
        (["--payments", "0*3,2500*40"], {"payments_text": "0*3,2500*40"}),
        (
            ["--term", "36", "--holiday", "3", "--amount", "2000"],
            {"term": 36, "holiday": 3, "amount": 2000},
        ),
    ):
        _, out, _ = run_workout("evaluate", SAMPLE, *cli_args, "--format", "json")
        response = client.post("/api/evaluate", json={"account": ACCOUNT, "proposal": proposal})
        assert response.status_code == 200 and response.content == out.encode("utf-8")


# -- bad input: 422 naming the field, never a traceback ------------------------------------------


def _without(mapping: dict, key: str) -> dict:
    return {k: v for k, v in mapping.items() if k != key}


@pytest.mark.parametrize(
    "body, field",
    [
        ({"account": _without(ACCOUNT, "income")}, "account.income"),
        ({"account": {**ACCOUNT, "principal": "lots"}}, "account.principal"),
        ({"account": {**ACCOUNT, "principal": 0}}, "account.principal"),
        ({"account": {**ACCOUNT, "annual_rate": 6.9}}, "account.annual_rate"),
        ({"account": {**ACCOUNT, "remaining_term": 2.5}}, "account.remaining_term"),
        ({"account": {**ACCOUNT, "incme": 5}}, "account.incme"),
        ({"account": {**ACCOUNT, "product": "boat"}}, "account.product"),
        ({"account": {**ACCOUNT, "account_id": "x" * 200}}, "account.account_id"),
        ({"account": {**ACCOUNT, "income_forecast": [1.0] * 601}}, "account.income_forecast"),
        ({"account": {**ACCOUNT, "income_forecast": 3800}}, "account.income_forecast"),
        ({"account": {**ACCOUNT, "income_forecast": ["3800"]}}, "account.income_forecast"),
        ({"account": {**ACCOUNT, "inflows": [["3", "20000"]]}}, "account.inflows"),
        ({"account": {**ACCOUNT, "inflows": [[3, "20000"]]}}, "account.inflows"),
        ({"account": {**ACCOUNT, "inflows": [[True, 20000]]}}, "account.inflows"),
        ({"account": {**ACCOUNT, "inflows": [{"month": "3", "amount": 1.0}]}}, "account.inflows"),
        ({"account": {**ACCOUNT, "arrears": 1e9}}, "account.arrears"),  # > principal + interest
        ({"account": ACCOUNT, "what_if": {"income": -1}}, "what_if.income"),
        ({"account": ACCOUNT, "what_if": {"dpd": 5000}}, "what_if.dpd"),
        ({"account": ACCOUNT, "what_if": {"salary": 1}}, "what_if.salary"),
        ({"account": ACCOUNT, "policy": {"max_dti": "high"}}, "policy.max_dti"),
        ({"account": ACCOUNT, "policy": {"max_term_months": 0}}, "policy.max_term_months"),
        (
            {"account": ACCOUNT, "policy": {"deferral_interest": ["skip"]}},
            "policy.deferral_interest.0",
        ),
        ({"account": ACCOUNT, "policy": {"max_termz": 3}}, "policy.max_termz"),
        ({"account": ACCOUNT, "objective": "profit"}, "objective"),
        ({"account": ACCOUNT, "within_pct": 500}, "within_pct"),
        ({"account": ACCOUNT, "extra": 1}, "extra"),
        ({}, "account"),
    ],
)
def test_plan_bad_input_is_422_naming_the_field(client, body, field):
    """Every kind of bad plan input is a 422 whose detail names the field."""
    response = client.post("/api/plan", json=body)
    assert response.status_code == 422, response.text
    assert field in _fields(response), response.text
    assert "Traceback" not in response.text


def test_plan_bad_bodies(client):
    """Not JSON, not an object, too large: 422 or 413 naming the body."""
    for content in (b"{not json", b"[1, 2]", b""):
        response = client.post(
            "/api/plan", content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422 and _fields(response)[0] in ("body", "account")
    huge = json.dumps({"account": {**ACCOUNT, "region": "x" * (MAX_BODY_BYTES + 1)}})
    response = client.post("/api/plan", content=huge, headers={"content-type": "application/json"})
    assert response.status_code == 413 and _fields(response) == ["body"]


def test_personal_values_are_not_echoed(client):
    """A refused personal figure is named, not repeated back (pydantic's 'input' dropped)."""
    response = client.post("/api/plan", json={"account": {**ACCOUNT, "income": "12345abc"}})
    assert response.status_code == 422 and "12345abc" not in response.text


@pytest.mark.parametrize(
    "proposal, field",
    [
        (None, "proposal"),
        ({}, "proposal"),
        ({"payments": [100.0], "term": 12}, "proposal.payments"),
        ({"payments": [100.0], "payments_text": "100"}, "proposal.payments_text"),
        ({"payments_text": "15oo"}, "proposal.payments_text"),
        ({"payments": [-5.0]}, "proposal.payments.0"),
        ({"payments": [1.0] * 601}, "proposal.payments"),
        ({"term": 12, "holiday": 12}, "proposal.holiday"),
        ({"term": 0}, "proposal.term"),
        ({"amount": 0}, "proposal.amount"),
        ({"amount": 10}, "proposal.amount"),  # never repays the balance
        ({"term": 12, "holiday_mode": "skip"}, "proposal.holiday_mode"),
    ],
)
def test_evaluate_bad_input_is_422_naming_the_field(client, proposal, field):
    """Every kind of bad counter-offer is a 422 whose detail names the field."""
    body = {"account": ACCOUNT} if proposal is None else {"account": ACCOUNT, "proposal": proposal}
    response = client.post("/api/evaluate", json=body)
    assert response.status_code == 422, response.text
    assert field in _fields(response), response.text


def test_account_lookup_bad_input(client, tmp_path):
    """Unknown id: 404 naming account_id; a prefix too long: 422; no book loaded: 404."""
    response = client.get("/api/accounts/NOPE")
    assert response.status_code == 404 and _fields(response) == ["account_id"]
    assert client.get("/api/accounts", params={"prefix": "x" * 200}).status_code == 422
    assert client.get("/api/accounts", params={"limit": 0}).status_code == 422
    bare = ServiceConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}")
    with TestClient(create_app(bare)) as other:
        response = other.get("/api/accounts/T001")
    assert response.status_code == 404 and "no book" in response.text


@pytest.mark.parametrize(
    "changes, status, field",
    [
        ({"option": "holiday"}, 422, "option"),
        ({"option": "waterfall"}, 422, "option"),
        ({"option": "settlement"}, 409, "option"),
        ({"option": "counter_offer"}, 422, "proposal"),
        ({"option": "counter_offer", "proposal": {"term": 36, "amount": 2000}}, 409, "option"),
        ({"option": ""}, 422, "option"),
        ({"lang": "fr"}, 422, "lang"),
        ({"as_of": "2026-13-45"}, 422, "as_of"),
    ],
)
def test_letter_bad_input(client, changes, status, field):
    """Letters of what cannot be offered: 422 (unknown, reference) or 409 (infeasible)."""
    body = {"account": ACCOUNT, "option": "custom", **changes}
    response = client.post("/api/letter", json=body)
    assert response.status_code == status, response.text
    assert _fields(response) == [field]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"officer_id": ""}, "officer_id"),
        ({"officer_id": "x" * 65}, "officer_id"),
        ({"officer_id": "tab\there"}, "officer_id"),
        ({"officer_id": None}, "officer_id"),
        ({"option": "nonsense"}, "option"),
    ],
)
def test_decision_bad_input(client, changes, field):
    """A decision needs a printable officer id and an option that can be offered."""
    body = {"account": ACCOUNT, "option": "custom", "officer_id": "OF-1", **changes}
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post("/api/decisions", json=body)
    assert response.status_code == 422 and field in _fields(response), response.text


def test_recorded_letter_bad_input(client):
    """An unknown record: 404 naming seq; not a number: 422 naming seq."""
    response = client.get("/api/decisions/999999/letter")
    assert response.status_code == 404 and _fields(response) == ["seq"]
    response = client.get("/api/decisions/abc/letter")
    assert response.status_code == 422 and _fields(response) == ["seq"]


# -- decisions, letters, audit ----------------------------------------------------------------


def test_decision_records_and_serves_the_letter(client):
    """A decision is recorded with its letter; the served letter has the recorded hash and
    equals the preview; a counter-offer and a no-offer decision are recorded too."""
    body = {
        "account": ACCOUNT,
        "option": "deferral/capitalize",
        "officer_id": "OF-9",
        "as_of": "2026-05-04",
    }
    receipt = client.post("/api/decisions", json=body).json()
    letter = client.get(receipt["letter_url"])
    assert letter.status_code == 200 and letter.headers["content-type"].startswith("text/html")
    assert sha256_text(letter.text) == receipt["letter_sha256"]
    preview = client.post("/api/letter", json=_without(body, "officer_id"))
    assert preview.text == letter.text
    counter = client.post(
        "/api/decisions",
        json={**body, "option": "counter_offer", "proposal": {"payments_text": "0*3,2500*40"}},
    ).json()
    assert counter["option"] == "counter_offer" and counter["seq"] == receipt["seq"] + 1
    none = client.post("/api/decisions", json={**body, "option": "none"}).json()
    assert none["letter_url"] is None and none["letter_sha256"] is None
    assert client.get(f"/api/decisions/{none['seq']}/letter").status_code == 404
    report = client.get("/api/audit/verify").json()
    assert report["ok"] and report["rows"] >= 3


def test_internal_errors_are_500_without_a_traceback(tmp_path, monkeypatch):
    """An unexpected error: 500 with a generic message, no traceback in the answer."""
    import solver.service.api as api

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api, "plan_result", broken)
    app = create_app(ServiceConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}"))
    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.post("/api/plan", json={"account": ACCOUNT})
    assert response.status_code == 500 and response.json() == {"detail": "internal error"}
    assert "secret internals" not in response.text and "Traceback" not in response.text


# -- security ---------------------------------------------------------------------------------


def test_token_guards_the_api(tmp_path):
    """With a token: no or wrong bearer token is 401, the right one works; the page and
    the docs stay readable."""
    config = ServiceConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", token=TOKEN)
    with TestClient(create_app(config)) as c:
        assert c.get("/api/health").status_code == 401
        assert c.get("/api/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/health", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
        ok = c.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.json()["status"] == "ok"
        assert c.post("/api/plan", json={"account": ACCOUNT}).status_code == 401
        page = c.get("/")
        assert page.status_code == 200 and 'id="token"' in page.text
        assert c.get("/openapi.json").status_code == 200


def test_binds_beyond_loopback_need_a_token():
    """127.0.0.0/8, ::1 and localhost are loopback; anything else needs a long token."""
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "10.0.0.5", "::", "example.org"))
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", TOKEN)
    for host, token in (("0.0.0.0", None), ("127.0.0.1", "short")):
        with pytest.raises(Exception, match="--token|--host"):
            check_bind(host, token)


def test_page_and_docs(client):
    """The page in both languages (with security headers), its script, and the OpenAPI
    description (/docs, a CDN page, is off by default: tests/test_s25_serve.py)."""
    zh = client.get("/")
    en = client.get("/?lang=en")
    assert "重组专员工作台" in zh.text and "Restructuring officer" in en.text
    assert "default-src 'self'" in zh.headers["content-security-policy"]
    assert client.get("/?lang=fr").status_code == 422
    assert client.get("/static/officer.js").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/plan", "/api/evaluate", "/api/accounts/{account_id}", "/api/decisions"} <= set(
        paths
    )


# -- workout serve ------------------------------------------------------------------------------


def test_serve_refuses_an_open_bind_without_a_token():
    """`workout serve --host 0.0.0.0` without a token: exit 2 before listening."""
    code, _, err = run_workout("serve", "--host", "0.0.0.0")
    assert code == 2 and "--token" in err
    code, _, err = run_workout("serve", "--token", "short")
    assert code == 2 and "16 characters" in err


def test_serve_runs_as_a_process(tmp_path):
    """`workout serve` listens on 127.0.0.1, answers, and stops on SIGTERM."""
    with serving(db=tmp_path / "a.db") as (url, proc):
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}api/health", timeout=30).json()["status"] == "ok"
        plan = httpx.post(f"{url}api/plan", json={"account": ACCOUNT}, timeout=60)
        assert plan.json()["recommended"] == "custom"
    assert proc.returncode in (0, 128 + signal.SIGTERM)
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()


def test_policy_file_is_the_services_policy(tmp_path):
    """A service started with a policy plans under it (as `workout plan --policy`)."""
    path = tmp_path / "policy.toml"
    Policy(max_dti=0.45).to_toml(path)
    config = ServiceConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", policy=Policy.from_toml(path))
    with TestClient(create_app(config)) as c:
        response = c.post("/api/plan", json={"account": ACCOUNT})
    _, out, _ = run_workout("plan", SAMPLE, "--policy", path, "--format", "json")
    assert response.content == out.encode("utf-8")


def test_policy_flags_reach_the_plan_through_the_api(client):
    """A JSON true for the policy's flags (need_test, holidays_mid_plan) is accepted and
    planned as `workout plan --set policy.need_test=true` plans it (a bool is not a whole
    number: the review found a 422)."""
    from test_holiday_reporting import MID_PLAN

    account = {k: v for k, v in MID_PLAN.items()}
    body = {"account": account, "policy": {"need_test": True, "holidays_mid_plan": False}}
    response = client.post("/api/plan", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "CONTRACT_AFFORDABLE"
    plain = client.post("/api/plan", json={"account": account}).json()
    assert plain["status"] == "RECOMMENDED"
