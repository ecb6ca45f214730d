"""Session 24 review of the officer's tools and the CSV writer: CSV files for Excel (a
byte-order mark, none on stdout), the nearest plan's schedule in ``evaluate --out .xlsx``,
the counter-offer's explanation, the names in proposal messages (``--payments``, the
service's ``proposal``) and ``--set FIELD=nan``."""

from __future__ import annotations

import json
import tomllib
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import openpyxl
import pandas as pd
import pytest
from cli_inprocess import run_workout
from fastapi.testclient import TestClient
from oracles import AccountModel, monthly_interest, rate_units, to_cents

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


#: SPEC §4's default behaviour model, written out here (the oracle's own numbers).
SPEC_MODEL = {
    "base_hazard": {"A": 0.002, "B": 0.004, "C": 0.008, "D": 0.015, "E": 0.03},
    "kappa": 0.2,
    "recovery_lag_months": 4,
    "vehicle_depreciation": 0.15,
    "auction_discount": 0.25,
    "repo_cost": 3000.0,
    "unsecured_recovery": 0.10,
    "cost_of_funds": 0.03,
}
#: SPEC §5's default ``max_interest_waiver`` (fees may be waived in full).
MAX_INTEREST_WAIVER = 0.5
TIERS = "ABCDE"


def _tier(score: int, dpd: int) -> str:
    """SPEC §5 tiering by hand from scenarios/tiering.toml: the best tier whose score band
    the score reaches, moved down by the dpd bucket's downgrade (at most to E)."""
    rules = tomllib.loads((ROOT / "scenarios" / "tiering.toml").read_text(encoding="utf-8"))
    base = next(t for t in TIERS if score >= rules["score_bands"][t])
    bucket = next(
        (b for b, top in (("M0", 0), ("M1", 30), ("M2", 60), ("M3", 90)) if dpd <= top), "M4+"
    )
    return TIERS[min(TIERS.index(base) + int(rules["dpd_downgrade"][bucket]), len(TIERS) - 1)]


def _workbook(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every sheet of the workbook at ``path`` as rows (dicts by the header row), read with
    openpyxl (cell values as stored, not the product's reader)."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheets = {}
        for sheet in book.worksheets:
            header, *rows = sheet.iter_rows(values_only=True)
            sheets[sheet.title] = [dict(zip(header, row, strict=True)) for row in rows]
        return sheets
    finally:
        book.close()


def _check_schedule(
    rows: list[dict[str, Any]], label: str, owed: int, waivable: int
) -> dict[str, Any]:
    """SPEC §2 on one schedule sheet, in cents: the rows are ``label``'s months 1…T, a month
    apart; payment = interest + principal + fees; balance_t = balance_{t−1} + interest_t −
    payment_t from an opening balance between ``owed − waivable`` and ``owed``; the last
    balance 0.00; interest = round-half-up(balance_{t−1} × annual_rate / 12) in every month
    (no holiday: every month pays, so interest accrues every month; the contract rate: this
    input's nearest plan, a concession, waives fees and interest rather than cutting the
    rate). Returns the SPEC §4 oracle's evaluation of the payments and exposures (the
    balance before each payment)."""
    assert {r["option"] for r in rows} == {label}
    assert [r["month"] for r in rows] == list(range(1, len(rows) + 1))
    dues = [r["due_date"].date() for r in rows]
    assert all((b.year - a.year) * 12 + b.month - a.month == 1 for a, b in pairwise(dues))
    cents = {
        c: [to_cents(r[c]) for r in rows]
        for c in ("payment", "interest", "principal", "fees", "balance")
    }
    opening = cents["balance"][0] - cents["interest"][0] + cents["payment"][0]
    assert owed - waivable <= opening <= owed, (opening, owed)
    assert all(p > 0 for p in cents["payment"])  # no holiday month
    before = opening
    units = rate_units(ACCOUNT["annual_rate"])
    for t in range(len(rows)):
        payment, interest = cents["payment"][t], cents["interest"][t]
        assert payment == interest + cents["principal"][t] + cents["fees"][t], t + 1
        assert interest == monthly_interest(before, units), t + 1
        assert cents["balance"][t] == before + interest - payment, t + 1
        before = cents["balance"][t]
    assert before == 0
    exposures = [opening, *cents["balance"][:-1]]
    account = SimpleNamespace(**ACCOUNT, tier=_tier(ACCOUNT["credit_score"], ACCOUNT["dpd"]))
    return AccountModel(account, SPEC_MODEL).evaluate_cents(cents["payment"], exposures)


def test_evaluate_xlsx_has_the_nearest_plans_schedule(tmp_path):
    """A BREAKS_POLICY evaluation's workbook holds the counter-offer's and the nearest plan's
    schedules; each reconciles by hand (SPEC §2) and the NPV the comparison sheet shows for
    it is the SPEC §4 oracle's (tests/oracles.py) within a cent."""
    out = tmp_path / "ev.xlsx"
    args = ("evaluate", SAMPLE, "--amount", "1500", "--as-of", "2026-05-04", "--out", out)
    assert run_workout(*args)[0] == 0
    book = _workbook(out)
    assert {"comparison", "schedule", "nearest_schedule"} <= set(book)
    shown = {r["verdict"]: r for r in book["comparison"]}
    assert shown["BREAKS_POLICY"]["option"] == "counter_offer" and "nearest" in shown
    owed = sum(to_cents(ACCOUNT[c]) for c in ("principal", "interest_due", "fees_due"))
    for sheet, row, waivable in (
        # the counter-offer capitalises everything owed; a plan may waive fees and interest
        ("schedule", shown["BREAKS_POLICY"], 0),
        ("nearest_schedule", shown["nearest"],
         to_cents(ACCOUNT["fees_due"]) + to_cents(MAX_INTEREST_WAIVER * ACCOUNT["interest_due"])),
    ):  # fmt: skip
        rows = book[sheet]
        oracle = _check_schedule(rows, row["option"], owed, waivable)
        assert row["term"] == len(rows) and to_cents(row["first_payment"]) == to_cents(
            rows[0]["payment"]
        )
        assert row["npv"] == pytest.approx(oracle["npv"], abs=0.01), sheet
        assert row["pd_12m"] == pytest.approx(oracle["pd_12m"], abs=1e-9), sheet


def test_acceptable_evaluation_has_no_nearest_sheet(tmp_path):
    """Without a nearest plan (ACCEPTABLE: JSON ``nearest`` null) there is no such sheet."""
    args = ("evaluate", SAMPLE, "--term", "48", "--as-of", "2026-05-04")
    code, printed, _ = run_workout(*args, "--format", "json")
    assert code == 0 and json.loads(printed)["nearest"] is None
    out = tmp_path / "ev.xlsx"
    assert run_workout(*args, "--out", out)[0] == 0
    assert "nearest_schedule" not in _workbook(out)


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
