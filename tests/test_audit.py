"""The audit trail (issue 16, part b): append-only, hash-chained, any SQLAlchemy database.

Runs on a SQLite file and, when ``WORKOUT_TEST_PG_URL`` names a PostgreSQL server (``.ci/run``
starts one), on PostgreSQL too, each test in a schema of its own. Without a server the
PostgreSQL cases are skipped on a developer's machine and fail under ``CI=true``.

Tampering is done as a database administrator would: the append-only triggers are dropped
first (the application cannot change a row), then rows are edited or deleted with plain
SQL; ``verify`` must name the row.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from cli_inprocess import run_workout
from pg_helpers import postgres_schema
from sqlalchemy import create_engine, delete, text, update
from sqlalchemy.exc import DBAPIError

from solver.core import BehaviourModel, Policy, read_account
from solver.errors import InputError
from solver.officer import choose_offer, render_letter
from solver.officer.documents import plan_result
from solver.service.audit import AuditTrail, DecisionRecord, decision_record
from solver.service.audit.chain import GENESIS, canonical_json, row_hash, sha256_text, verify_rows
from solver.service.audit.schema import HEAD_ID, head, records

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"


@pytest.fixture(scope="module")
def decision():
    """A real decision: the sample account's custom plan offered with its letter."""
    account = read_account(SAMPLE)
    policy, model = Policy(), BehaviourModel()
    plans = plan_result(account, policy, model)
    choice = choose_offer(account, "custom", plans)
    html = render_letter(choice.offer)
    return decision_record(
        account,
        plans,
        officer_id="OF-1024",
        policy=policy,
        model=model,
        chosen_option="custom",
        letter_html=html,
        settings=("income=9000",),
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """An empty database: a SQLite file, or a fresh schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.db'}"
        return
    with postgres_schema("audit", "PostgreSQL audit") as url:
        yield url


def _fill(url: str, decision, n: int = 5) -> AuditTrail:
    trail = AuditTrail(url)
    for k in range(n):
        trail.append(decision, now=datetime(2026, 5, 4, 9, k, tzinfo=UTC))
    return trail


def _drop_triggers(trail: AuditTrail) -> None:
    """What an administrator does before editing the table by hand."""
    statements = {
        "sqlite": [
            "DROP TRIGGER audit_records_no_update",
            "DROP TRIGGER audit_records_no_delete",
        ],
        "postgresql": [
            "DROP TRIGGER audit_records_no_change ON audit_records",
            "DROP TRIGGER audit_records_no_truncate ON audit_records",
        ],
    }[trail.engine.dialect.name]
    with trail.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


# -- appending and reading ----------------------------------------------------------------------


def test_records_hold_what_was_decided(db_url, decision):
    """A record holds the inputs, versions (content hashes), options with NPV, the choice,
    the officer, the time and the letter's hash; the chain starts at GENESIS."""
    with _fill(db_url, decision, 2) as trail:
        first, second = trail.rows()
        assert trail.verify().ok
    assert first["seq"] == 1 and first["prev_hash"] == GENESIS
    assert second["prev_hash"] == first["row_hash"] == row_hash(first)
    assert first["officer_id"] == "OF-1024" and first["chosen_option"] == "custom"
    assert first["policy_hash"] == sha256_text(canonical_json(Policy().to_dict()))
    assert first["model_hash"] == sha256_text(first["model"])
    assert first["letter_sha256"] == sha256_text(decision.letter_html)
    assert first["recorded_at"] == "2026-05-04T09:00:00.000000+00:00"
    inputs = json.loads(first["inputs"])
    assert inputs["account"]["account_id"] == "AUTO-000123" and inputs["settings"] == [
        "income=9000"
    ]
    options = {o["label"]: o for o in json.loads(first["options"])}
    assert {"status_quo", "custom", "settlement"} <= set(options) and options["custom"][
        "recommended"
    ]
    assert all(o["npv"] is None or isinstance(o["npv"], float) for o in options.values())


def test_triggers_make_the_table_append_only(db_url, decision):
    """The application's own connection cannot update or delete a record."""
    with _fill(db_url, decision, 2) as trail:
        for statement in (update(records).values(officer_id="X"), delete(records)):
            with pytest.raises(DBAPIError, match="append-only"):
                with trail.engine.begin() as conn:
                    conn.execute(statement)
        assert trail.verify().ok


def test_concurrent_writers_keep_one_chain(db_url, decision):
    """Four threads appending at once: 40 rows, numbered 1..40, one intact chain."""
    trail = AuditTrail(db_url)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(10):
                trail.append(decision)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = trail.verify()
    assert report.ok and report.rows == 40 and report.head_seq == 40
    assert [r["seq"] for r in trail.rows(letters=False)] == list(range(1, 41))
    trail.close()


# -- tampering ----------------------------------------------------------------------------------


def _problem(report, seq, kind):
    return [p for p in report.problems if p.seq == seq and p.kind == kind]


def _tampered(db_url, decision, *statements):
    """Five records, the triggers dropped, ``statements`` run: the verify report."""
    with _fill(db_url, decision) as trail:
        _drop_triggers(trail)
        with trail.engine.begin() as conn:
            for statement in statements:
                conn.execute(statement)
        return trail.verify()


def test_edited_row_is_named(db_url, decision):
    """An edited column: verify names that row as edited."""
    edit = update(records).where(records.c.seq == 3).values(chosen_option="settlement")
    report = _tampered(db_url, decision, edit)
    assert not report.ok and _problem(report, 3, "edited")
    assert "row 3 was edited" in report.summary()


def test_rehashed_row_breaks_the_next_link(db_url, decision):
    """An edit whose hash was recomputed too: the next row no longer follows it."""
    with _fill(db_url, decision) as trail:
        _drop_triggers(trail)
        row = trail.record(2)
        row["officer_id"] = "someone-else"
        with trail.engine.begin() as conn:
            conn.execute(
                update(records)
                .where(records.c.seq == 2)
                .values(officer_id="someone-else", row_hash=row_hash(row))
            )
        report = trail.verify()
    assert _problem(report, 3, "chain") and "row 2 was rewritten" in report.problems[0].text


def test_deleted_middle_row_is_named(db_url, decision):
    """A deleted row: the gap in the sequence names it."""
    report = _tampered(db_url, decision, delete(records).where(records.c.seq == 2))
    assert _problem(report, 2, "deleted") and "row 2 deleted" in report.problems[0].text


def test_deleted_last_rows_are_named_by_the_head(db_url, decision):
    """Deleting the newest rows: the head still counts them."""
    report = _tampered(db_url, decision, delete(records).where(records.c.seq >= 4))
    assert _problem(report, 4, "deleted") and "rows 4–5 deleted" in report.problems[0].text


def test_consistent_truncation_is_caught_by_an_anchor(db_url, decision):
    """Deleting the last row and fixing the head too is caught by a hash kept outside."""
    with _fill(db_url, decision) as trail:
        anchor = trail.record(5)["row_hash"]
        _drop_triggers(trail)
        with trail.engine.begin() as conn:
            conn.execute(delete(records).where(records.c.seq == 5))
            conn.execute(
                update(head)
                .where(head.c.id == HEAD_ID)
                .values(seq=4, row_hash=trail.record(4)["row_hash"])
            )
        assert trail.verify().ok  # undetectable from inside the database alone
        report = trail.verify(anchor=anchor)
    assert [p.kind for p in report.problems] == ["anchor"]


def test_edited_letter_is_named(db_url, decision):
    """A stored letter changed after the fact: verify names the row; fetching refuses it."""
    with _fill(db_url, decision) as trail:
        _drop_triggers(trail)
        with trail.engine.begin() as conn:
            conn.execute(
                update(records).where(records.c.seq == 4).values(letter_html="<p>other terms</p>")
            )
        report = trail.verify()
        assert _problem(report, 4, "letter")
        with pytest.raises(Exception, match="does not match"):
            trail.letter(4)


def test_verify_rows_without_a_database():
    """The pure verifier: a reordered chain and a missing head are named."""
    rows = []
    prev = GENESIS
    for seq in (1, 2, 3):
        row = {
            "seq": seq,
            "recorded_at": "t",
            "officer_id": "o",
            "account_id": "a",
            "action": "no_offer",
            "chosen_option": "none",
            "inputs": "{}",
            "policy_hash": sha256_text("{}"),
            "policy": "{}",
            "model_hash": sha256_text("{}"),
            "model": "{}",
            "options": "[]",
            "letter_sha256": None,
            "letter_html": None,
            "software_version": "dev",
            "prev_hash": prev,
        }
        row["row_hash"] = row_hash(row)
        prev = row["row_hash"]
        rows.append(row)
    good = verify_rows(rows, {"seq": 3, "row_hash": prev})
    assert good.ok and good.rows == 3
    swapped = verify_rows([rows[0], rows[2], rows[1]], {"seq": 3, "row_hash": prev})
    assert not swapped.ok
    assert [p.kind for p in verify_rows(rows, None).problems] == ["head"]


# -- records and URLs ------------------------------------------------------------------------


def test_record_fields_are_checked(decision):
    """Officer id, action and the letter of an offer are checked when a record is built."""
    for officer in ("", " ", "x" * 65, "tab\there"):
        with pytest.raises(InputError, match="officer_id"):
            DecisionRecord(**{**decision.__dict__, "officer_id": officer})
    with pytest.raises(InputError, match="action"):
        DecisionRecord(**{**decision.__dict__, "action": "approve"})
    with pytest.raises(InputError, match="letter_html"):
        DecisionRecord(**{**decision.__dict__, "letter_html": None})


def test_bad_urls_and_missing_trails_are_input_errors(tmp_path):
    """Not a URL, an unknown driver, a missing SQLite file, a database without a trail."""
    for url, words in (
        ("not a url", "not a database URL"),
        ("nosuchdb://x/y", "unknown database kind"),
        (f"sqlite:///{tmp_path / 'missing.db'}", "no such database file"),
    ):
        with pytest.raises(InputError, match=words):
            AuditTrail(url, create=False)
    assert not (tmp_path / "missing.db").exists()
    empty = tmp_path / "empty.db"
    create_engine(f"sqlite:///{empty}").connect().close()
    with pytest.raises(InputError, match="holds no audit trail"):
        AuditTrail(f"sqlite:///{empty}", create=False)


# -- the command line -------------------------------------------------------------------------


def _offer_custom(*args: object) -> tuple[int, str, str]:
    """``workout offer`` of the sample account's ``custom`` plan with ``args``."""
    return run_workout("offer", SAMPLE, "--option", "custom", *args)


def test_offer_records_and_audit_commands(tmp_path):
    """`workout offer --officer` records; list, export, letter and verify read it back;
    after an edit verify exits 5 naming the row."""
    db = f"sqlite:///{tmp_path / 'w.db'}"
    letter = tmp_path / "letter.html"
    code, out, err = _offer_custom(
        "--officer", "OF-7", "--db", db, "--out", letter, "--format", "json"
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["audit_record"] == 1
    code, out, _ = run_workout("audit", "verify", "--db", db, "--anchor", summary["audit_row_hash"])
    assert code == 0 and "intact: 1 rows" in out
    code, out, _ = run_workout("audit", "list", "--db", db, "--format", "json")
    assert code == 0 and json.loads(out)[0]["officer_id"] == "OF-7"
    for suffix in (".csv", ".xlsx"):
        path = tmp_path / f"audit{suffix}"
        code, _, err = run_workout("audit", "export", "--db", db, "--out", path)
        assert code == 0, err
        frame = pd.read_csv(path) if suffix == ".csv" else pd.read_excel(path)
        assert frame["letter_sha256"].tolist() == [summary["sha256"]]
        assert "letter_html" not in frame.columns
    fetched = tmp_path / "again.html"
    code, _, err = run_workout("audit", "letter", "1", "--db", db, "--out", fetched)
    assert code == 0 and fetched.read_bytes() == letter.read_bytes()
    trail = AuditTrail(db)
    _drop_triggers(trail)
    with trail.engine.begin() as conn:
        conn.execute(update(records).where(records.c.seq == 1).values(officer_id="OF-8"))
    trail.close()
    code, out, err = run_workout("audit", "verify", "--db", db)
    assert code == 5 and "row 1 was edited" in out and "altered" in err


def test_offer_without_officer_records_nothing_and_bad_officer_fails_first(tmp_path):
    """No --officer: no database is touched; a bad --officer is exit 2 before any work."""
    db = tmp_path / "w.db"
    code, _, err = _offer_custom("--db", f"sqlite:///{db}", "--out", tmp_path / "l.html")
    assert code == 0, err
    assert not db.exists()
    code, _, err = _offer_custom("--officer", " ", "--out", tmp_path / "m.html")
    assert code == 2 and "--officer" in err and not (tmp_path / "m.html").exists()


def test_audit_reading_commands_refuse_a_missing_database(tmp_path):
    """verify/list/export/letter on a missing file: exit 2 naming --db, nothing created."""
    db = f"sqlite:///{tmp_path / 'none.db'}"
    for args in (
        ["verify"],
        ["list"],
        ["export", "--out", tmp_path / "a.csv"],
        ["letter", "1", "--out", tmp_path / "l.html"],
    ):
        code, _, err = run_workout("audit", *args, "--db", db)
        assert code == 2 and "--db" in err and "Traceback" not in err, args
    assert list(tmp_path.iterdir()) == []
