"""Session 25 fixes to `workout serve` and `workout audit verify`: a port in use, the head
kept outside the database, the cold-kernel note, the field a policy problem names, the
--book-table message, 405s and bounded policy months, and the interactive docs.

Oracles are written here from the brief and the SPEC (exit 2 for usage problems, 5 for a
tampered trail), not taken from the code under test.
"""

from __future__ import annotations

import socket
import sqlite3
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_inprocess import run_workout
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import delete, text, update

import commands.serve as serve_command
from solver.core import BehaviourModel, Policy, read_account
from solver.errors import WorkoutError
from solver.officer import choose_offer, render_letter
from solver.officer.documents import plan_result
from solver.service import ServiceConfig, create_app
from solver.service.audit import AuditTrail, decision_record
from solver.service.audit.schema import HEAD_ID, head, records
from solver.service.models import PolicyPatch
from solver.service.security import listen

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
ACCOUNT = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("s25") / "audit.db"
    with TestClient(create_app(ServiceConfig(db_url=f"sqlite:///{db}"))) as c:
        yield c


# -- 1. a port in use ---------------------------------------------------------------------------


def test_port_in_use_is_exit_2_naming_port_before_any_serving_line(tmp_path):
    """A port another process listens on: exit 2 naming --port, no "serving" line."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run_workout("serve", "--port", port, "--db", f"sqlite:///{tmp_path}/a.db")
    assert code == 2
    assert f"--port {port}: address already in use" in err
    assert "serving" not in out and "Traceback" not in err


def test_failed_start_up_is_not_the_infeasible_exit_code():
    """A start-up that fails inside the server is an error of ours, never exit 3."""

    async def broken(app):
        raise RuntimeError("start-up failed")
        yield  # pragma: no cover  (makes this an async generator)

    import contextlib

    app = FastAPI(lifespan=contextlib.asynccontextmanager(broken))
    with pytest.raises(WorkoutError) as caught:
        serve_command._run(app, listen("127.0.0.1", 0))
    assert caught.value.exit_code not in (0, 3)


# -- 2. the head kept outside the database ------------------------------------------------------


@pytest.fixture(scope="module")
def decision():
    """A real decision: the sample account's custom plan offered with its letter."""
    account = read_account(SAMPLE)
    policy, model = Policy(), BehaviourModel()
    plans = plan_result(account, policy, model)
    html = render_letter(choose_offer(account, "custom", plans).offer)
    return decision_record(
        account,
        plans,
        officer_id="OF-25",
        policy=policy,
        model=model,
        chosen_option="custom",
        letter_html=html,
    )


def _truncated(db: Path, decision) -> tuple[str, list[str]]:
    """Five records, then the fifth deleted with the head set back to the fourth (what an
    administrator with write access can do): the URL and the five original row hashes."""
    url = f"sqlite:///{db}"
    with AuditTrail(url) as trail:
        for k in range(5):
            trail.append(decision, now=datetime(2026, 12, 5, 9, k, tzinfo=UTC))
        hashes = [trail.record(seq)["row_hash"] for seq in range(1, 6)]
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER audit_records_no_delete")
    with AuditTrail(url) as trail, trail.engine.begin() as conn:
        conn.execute(delete(records).where(records.c.seq == 5))
        conn.execute(update(head).where(head.c.id == HEAD_ID).values(seq=4, row_hash=hashes[3]))
        assert conn.execute(text("SELECT count(*) FROM audit_records")).scalar() == 4
    return url, hashes


def test_verify_prints_the_head_it_verified(tmp_path, decision):
    """An intact trail's verify prints its head as SEQ:HASH (table and JSON)."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with AuditTrail(url) as trail:
        for k in range(2):
            trail.append(decision, now=datetime(2026, 12, 5, 9, k, tzinfo=UTC))
        newest = trail.record(2)["row_hash"]
    code, out, _ = run_workout("audit", "verify", "--db", url)
    assert code == 0 and f"2:{newest}" in out
    code, out, _ = run_workout("audit", "verify", "--db", url, "--format", "json")
    assert code == 0 and f'"head": "2:{newest}"' in out.replace('":"', '": "')


def test_expect_head_catches_newest_records_deleted_with_the_head(tmp_path, decision):
    """The newest record deleted with the head row: intact alone, exit 5 with the old head."""
    url, hashes = _truncated(tmp_path / "t.db", decision)
    assert run_workout("audit", "verify", "--db", url)[0] == 0  # the documented limit
    code, out, err = run_workout("audit", "verify", "--db", url, "--expect-head", f"5:{hashes[4]}")
    assert code == 5
    assert "record 5" in out + err and "gone" in out + err


def test_expect_head_accepts_an_ancestor_and_refuses_another_hash(tmp_path, decision):
    """An earlier head still in the trail verifies; the same seq with another hash is exit 5."""
    url, hashes = _truncated(tmp_path / "t.db", decision)
    assert run_workout("audit", "verify", "--db", url, "--expect-head", f"3:{hashes[2]}")[0] == 0
    code, out, err = run_workout("audit", "verify", "--db", url, "--expect-head", f"3:{hashes[1]}")
    assert code == 5 and "record 3" in out + err


@pytest.mark.parametrize("given", ["5", "x:" + "0" * 64, "5:abc", "0:" + "0" * 64, "5:" + "g" * 64])
def test_expect_head_of_the_wrong_shape_is_exit_2(tmp_path, decision, given):
    """--expect-head that is not SEQ:HASH is bad input (exit 2 naming the option)."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with AuditTrail(url) as trail:
        trail.append(decision, now=datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    code, _, err = run_workout("audit", "verify", "--db", url, "--expect-head", given)
    assert code == 2 and "--expect-head" in err


# -- 3. the cold-kernel note --------------------------------------------------------------------


@pytest.mark.parametrize("cold", [True, False])
def test_serve_announces_cold_kernels_on_stderr(tmp_path, monkeypatch, cold):
    """On a cold numba cache serve says so on stderr at start-up; warm, it says nothing."""
    import solver.plans.kernel_cache as kernel_cache

    served = []
    monkeypatch.setattr(kernel_cache, "kernels_cold", lambda: cold)
    monkeypatch.setattr(serve_command, "_run", lambda app, sock: served.append(sock.close()))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _, err = run_workout("serve", "--port", port, "--db", f"sqlite:///{tmp_path}/a.db")
    assert code == 0 and served
    assert ("compiled kernels" in err) is cold


# -- 4. the field a policy problem is about -----------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [{"currency": "JPY", "rounding": 0.5}, {"rounding": 0.5, "currency": "JPY"}],
)
def test_rounding_against_currency_names_rounding(client, policy):
    """JPY with rounding 0.5: the 422 names policy.rounding, in either key order."""
    response = client.post("/api/plan", json={"account": ACCOUNT, "policy": policy})
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["detail"]] == ["policy.rounding"]


def test_a_lone_currency_change_still_names_currency(tmp_path):
    """Only the currency changed (base rounding 0.5): the change named is policy.currency."""
    config = ServiceConfig(policy=Policy(rounding=0.5), db_url=f"sqlite:///{tmp_path}/a.db")
    with TestClient(create_app(config)) as c:
        response = c.post("/api/plan", json={"account": ACCOUNT, "policy": {"currency": "JPY"}})
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["detail"]] == ["policy.currency"]


# -- 5. --book-table ----------------------------------------------------------------------------


def test_missing_book_table_names_book_table(tmp_path):
    """serve --book-db with an unknown --book-table: the message names --book-table."""
    book = tmp_path / "bank.db"
    with sqlite3.connect(book) as conn:
        conn.execute("CREATE TABLE accounts (account_id TEXT)")
    code, _, err = run_workout(
        "serve", "--book-db", f"sqlite:///{book}", "--book-table", "nope",
        "--db", f"sqlite:///{tmp_path}/a.db",
    )  # fmt: skip
    assert code == 2 and "--book-table nope" in err
    assert " --table" not in err and not err.startswith("Error: --table")


# -- 6. routing errors and bounded months -------------------------------------------------------


def test_wrong_method_and_unknown_path_use_the_field_message_shape(client):
    """A 405 names the method and a 404 the path, as {field, message} like every error."""
    wrong = client.get("/api/plan")
    assert wrong.status_code == 405 and "allow" in {k.lower() for k in wrong.headers}
    assert [p["field"] for p in wrong.json()["detail"]] == ["method"]
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert [p["field"] for p in missing.json()["detail"]] == ["path"]


def test_policy_months_are_bounded(client):
    """max_term_months of 100000 is a 422 naming it (not a worker held for a minute)."""
    body = {"account": ACCOUNT, "policy": {"max_term_months": 100_000}}
    response = client.post("/api/plan", json=body)
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["detail"]] == ["policy.max_term_months"]


@pytest.mark.parametrize("key", ["max_term_months", "max_deferral_months", "max_payment_levels"])
def test_policy_whole_numbers_stop_at_fifty_years(key):
    """Every whole-number policy key takes 600 (50 years of months) and refuses 601."""
    PolicyPatch.model_validate({key: 600})
    with pytest.raises(ValidationError):
        PolicyPatch.model_validate({key: 601})


# -- 7. the interactive docs --------------------------------------------------------------------


def test_docs_are_off_by_default_and_the_openapi_json_is_served(client):
    """By default no CDN page: /docs and /redoc are 404, /openapi.json is served, and the
    page's docs link goes to the JSON."""
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert "/api/plan" in client.get("/openapi.json").json()["paths"]
    assert 'href="/openapi.json"' in client.get("/?lang=en").text


def test_docs_on_request(tmp_path):
    """ServiceConfig(docs=True) (serve --docs) serves Swagger UI at /docs, linked from the page."""
    config = ServiceConfig(db_url=f"sqlite:///{tmp_path}/a.db", docs=True)
    with TestClient(create_app(config)) as c:
        docs = c.get("/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        assert 'href="/docs"' in c.get("/?lang=en").text
