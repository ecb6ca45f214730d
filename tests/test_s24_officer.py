"""Session 24 review of the officer's tools and the CSV writer: CSV files for Excel (a
byte-order mark, none on stdout), the nearest plan's schedule in ``evaluate --out .xlsx``,
the counter-offer's explanation, the names in proposal messages (``--payments``, the
service's ``proposal``) and ``--set FIELD=nan``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from cli_inprocess import run_workout
from fastapi.testclient import TestClient

from solver.core import read_portfolio
from solver.core.writers import csv_text, write_table
from solver.service import ServiceConfig, create_app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
TINY = ROOT / "tests" / "data" / "portfolio" / "tiny.csv"
ACCOUNT = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
#: The UTF-8 byte-order mark, written out here rather than imported (the oracle's own).
BOM = b"\xef\xbb\xbf"
#: Text Excel shows wrongly from a UTF-8 CSV without the mark (Chinese Windows: GBK).
UNICODE_TEXT = "6× 0 → 100 ×19 – 账户"


# -- 1. CSV files for people: UTF-8 with a byte-order mark; stdout without ---------------------


def test_csv_file_has_bom_and_stdout_text_has_none(tmp_path):
    """A CSV file is the BOM then exactly the bytes --format csv prints (no BOM there)."""
    frame = pd.DataFrame({"account_id": ["A1", "A2"], "payments": [UNICODE_TEXT, "x"]})
    path = write_table(frame, tmp_path / "out.csv")
    data = path.read_bytes()
    text = csv_text(frame)
    assert not text.startswith("\ufeff")
    assert data == BOM + text.encode("utf-8")
    # what Excel does with the mark: the text decodes as UTF-8, not the code page
    assert UNICODE_TEXT in data.decode("utf-8-sig")


@pytest.mark.parametrize("encoding", ["GB18030", "UTF-8"])
def test_csv_with_an_encoding_has_no_bom(tmp_path, encoding):
    """--encoding writes that encoding as given: no mark (UTF-8 gives plain UTF-8)."""
    frame = pd.DataFrame({"账户编号": ["A1"], "note": ["×→"]})
    data = write_table(frame, tmp_path / "out.csv", encoding=encoding).read_bytes()
    assert not data.startswith(BOM)
    assert data.decode(encoding).splitlines()[0] == '"账户编号","note"'


def test_written_book_reads_back_the_same(tmp_path):
    """A book written with the mark reads back as the book without it (our reader skips it)."""
    book = read_portfolio(TINY)
    path = write_table(book, tmp_path / "book.csv")
    assert path.read_bytes().startswith(BOM)
    plain = tmp_path / "plain.csv"
    plain.write_bytes(path.read_bytes()[len(BOM) :])
    pd.testing.assert_frame_equal(read_portfolio(path), read_portfolio(plain))


def test_command_csv_out_has_bom_stdout_none(tmp_path):
    """evaluate --out FILE.csv starts with the mark; --format csv on stdout does not."""
    out = tmp_path / "ev.csv"
    code, printed, _ = run_workout(
        "evaluate", SAMPLE, "--amount", "1500", "--format", "csv", "--out", out
    )
    assert code == 0
    assert out.read_bytes() == BOM + printed.encode("utf-8")
    assert not printed.startswith("\ufeff")


def test_allocate_reads_plan_portfolio_csv_with_bom(tmp_path):
    """allocate --plans gives the same allocation from plan-portfolio's CSV (with the mark)
    as from the same CSV without it."""
    plans = tmp_path / "plans.csv"
    code, _, err = run_workout("plan-portfolio", TINY, "--out", plans, "--quiet")
    assert code == 0, err
    assert plans.read_bytes().startswith(BOM)
    plain = tmp_path / "plain.csv"
    plain.write_bytes(plans.read_bytes()[len(BOM) :])
    written = {}
    for name, source in (("bom", plans), ("plain", plain)):
        out = tmp_path / f"allocation_{name}.csv"
        code, _, err = run_workout("allocate", TINY, "--plans", source, "--out", out, "--quiet")
        assert code == 0, err
        written[name] = out.read_bytes()
    assert written["bom"] == written["plain"]


# -- 2. evaluate --out .xlsx: the nearest plan's schedule too -----------------------------------


def test_evaluate_xlsx_has_the_nearest_plans_schedule(tmp_path):
    """A BREAKS_POLICY evaluation's workbook holds the nearest plan's schedule as the JSON
    document does (same label, months, due dates and amounts), and it reconciles."""
    args = ("evaluate", SAMPLE, "--amount", "1500", "--as-of", "2026-05-04")
    code, printed, _ = run_workout(*args, "--format", "json")
    assert code == 0
    doc = json.loads(printed)
    assert doc["verdict"] == "BREAKS_POLICY" and doc["nearest"] is not None
    out = tmp_path / "ev.xlsx"
    assert run_workout(*args, "--out", out)[0] == 0
    sheets = pd.read_excel(out, sheet_name=None)
    assert {"comparison", "schedule", "nearest_schedule"} <= set(sheets)
    for sheet, label, rows in (
        ("schedule", "counter_offer", doc["schedule"]),
        ("nearest_schedule", doc["nearest"]["label"], doc["nearest"]["schedule"]),
    ):
        frame = sheets[sheet]
        assert set(frame["option"]) == {label}
        assert frame["month"].tolist() == [r["month"] for r in rows]
        assert frame["due_date"].dt.strftime("%Y-%m-%d").tolist() == [r["due_date"] for r in rows]
        for column in ("payment", "interest", "principal", "fees", "balance"):
            assert frame[column].tolist() == pytest.approx([r[column] for r in rows], abs=1e-9)
        # SPEC §2: payment = interest + principal + fees in cents, the last balance 0.00
        cents = (frame[["payment", "interest", "principal", "fees", "balance"]] * 100).round()
        assert (cents["payment"] == cents["interest"] + cents["principal"] + cents["fees"]).all()
        assert cents["balance"].iloc[-1] == 0


def test_acceptable_evaluation_has_no_nearest_sheet(tmp_path):
    """Without a nearest plan (ACCEPTABLE: JSON ``nearest`` null) there is no such sheet."""
    args = ("evaluate", SAMPLE, "--term", "48", "--as-of", "2026-05-04")
    code, printed, _ = run_workout(*args, "--format", "json")
    assert code == 0 and json.loads(printed)["nearest"] is None
    out = tmp_path / "ev.xlsx"
    assert run_workout(*args, "--out", out)[0] == 0
    assert "nearest_schedule" not in pd.ExcelFile(out).sheet_names


# -- 3. the explanation says "No plan satisfies the policy" once --------------------------------


def test_no_plan_explanation_is_not_doubled():
    """A proposal breaking the policy when no plan satisfies it says so once (exit 3)."""
    code, printed, err = run_workout(
        "evaluate", SAMPLE, "--set", "income=5000", "--set", "income_normal=5000",
        "--payments", "0*3,500*40", "--format", "json",
    )  # fmt: skip
    assert code == 3
    explanation = json.loads(printed)["explanation"]
    assert explanation.count("No plan satisfies the policy") == 1
    assert "satisfies the policy: no month within max_term_months" in explanation
    assert err.count("No plan satisfies the policy") == 1


# -- 4. proposal messages name the interface's own fields ---------------------------------------


@pytest.mark.parametrize(
    "payments, words",
    [("0*60", "--payments: every payment is 0"), ("0*601", "--payments: item 1")],
)
def test_payments_problem_names_the_option(payments, words):
    """A proposal the option's payments cannot make: exit 2 naming --payments."""
    code, out, err = run_workout("evaluate", SAMPLE, "--payments", payments)
    assert code == 2 and out == "" and f"Error: {words}" in err


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("svc") / "audit.db"
    with TestClient(create_app(ServiceConfig(db_url=f"sqlite:///{db}"))) as c:
        yield c


@pytest.mark.parametrize(
    "path, changes",
    [
        ("/api/decisions", {"option": "counter_offer"}),
        ("/api/letter", {"option": "counter_offer"}),
        ("/api/letter", {"option": "custom", "proposal": {"term": 36}}),
        ("/api/decisions", {"option": "counter-offer"}),
    ],
)
def test_service_names_the_proposal_field(client, path, changes):
    """A counter-offer without a proposal (or a plan with one): a 422 naming the request's
    ``proposal`` field in the API's words, not the command line's options."""
    body = {"account": ACCOUNT, "officer_id": "OF-1", **changes}
    if path == "/api/letter":
        del body["officer_id"]
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert [p["field"] for p in detail] == ["proposal"]
    assert "--" not in detail[0]["message"] and "counter_offer" in detail[0]["message"]


# -- 5. --set FIELD=nan is not a number ---------------------------------------------------------


@pytest.mark.parametrize(
    "setting, field", [("income=nan", "income"), ("credit_score=NaN", "credit_score")]
)
def test_set_nan_is_not_a_number(setting, field):
    """--set FIELD=nan: exit 2, "not a number" naming --set FIELD (not "missing value")."""
    code, out, err = run_workout("plan", SAMPLE, "--set", setting)
    assert code == 2 and out == ""
    assert f"--set {field}: not a number" in err and "missing value" not in err
