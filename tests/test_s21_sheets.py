"""Session 21 review (s21-sheets): the ``columns`` sheet of every .xlsx output describes the
sheets written, numbers are written as numbers, and every printed Δ is the difference of
the printed values.

The oracles are independent of the code under test: the written columns are read back with
openpyxl, and the differences are recomputed with :mod:`decimal` from the printed (or
written) figures themselves.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from cli_inprocess import run_workout
from openpyxl import load_workbook

from solver.core.account import Account
from solver.core.generate import generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.core.schema import SPECS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
#: Input columns that no output table holds (a schedule has its own ``principal``).
INPUT_ONLY = {"annual_rate", "income", "consent_sms", "income_cv", "vehicle_value", "has_plan"}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Path]:
    """The .xlsx outputs of allocate, allocate --weeks, calendar, evaluate, audit export,
    plan and plan-portfolio for a small generated book."""
    tmp = tmp_path_factory.mktemp("s21sheets")
    book = tmp / "book.csv"
    generate_portfolio(30, seed=5).to_csv(book, index=False)
    db = f"sqlite:///{tmp / 'w.db'}"
    runs = {
        "plans": ("plan-portfolio", book, "--out", tmp / "plans.xlsx", "--quiet"),
        "allocate": ("allocate", book, "--plans", tmp / "plans.xlsx", "--out", tmp / "allocate.xlsx", "--quiet"),
        "weeks": ("allocate", book, "--plans", tmp / "plans.xlsx", "--weeks", 3, "--out", tmp / "weeks.xlsx", "--quiet"),
        "calendar": ("calendar", book, "--allocation", tmp / "allocate.xlsx", "--days", 2, "--start", "2026-12-07", "--out", tmp / "calendar.xlsx", "--quiet"),
        "evaluate": ("evaluate", SAMPLE, "--amount", 1500, "--out", tmp / "evaluate.xlsx"),
        "offer": ("offer", SAMPLE, "--option", "custom", "--officer", "OF-7", "--db", db, "--out", tmp / "letter.html"),
        "audit": ("audit", "export", "--db", db, "--out", tmp / "audit.xlsx"),
        "plan": ("plan", SAMPLE, "--out", tmp / "plan.xlsx"),
    }  # fmt: skip
    for name, args in runs.items():
        code, _, err = run_workout(*args)
        assert code == 0, (name, err)
    return {name: tmp / f"{name}.xlsx" for name in runs if name != "offer"}


OUTPUT_SHEETS = {
    "allocate": ["allocation"],
    "weeks": ["week1"],
    "calendar": ["calendar"],
    "evaluate": ["comparison", "schedule", "nearest_schedule"],
    "audit": ["audit"],
    "plan": ["options", "schedules"],
    "plans": ["plans", "schedules"],
}


@pytest.mark.parametrize("name", list(OUTPUT_SHEETS))
def test_columns_sheet_describes_the_columns_written(outputs, name):
    """The columns sheet has one described row (column, sheet, meaning, unit) per column of
    the sheets written, in order, and none of the input book's other columns."""
    book = load_workbook(outputs[name])
    assert book.sheetnames == [*OUTPUT_SHEETS[name], "columns"]
    rows = [[c.value for c in r] for r in book["columns"].iter_rows()]
    assert rows[0] == ["column", "sheet", "meaning", "unit"]
    written = [(c.value, s) for s in OUTPUT_SHEETS[name] for c in book[s][1]]
    assert [(r[0], r[1]) for r in rows[1:]] == written
    assert all(r[2] and len(r[2]) > 5 and r[3] for r in rows[1:]), rows
    assert not INPUT_ONLY & {r[0] for r in rows[1:]}
    assert all(book[s].freeze_panes == "A2" for s in book.sheetnames)


def test_allocation_columns_say_what_the_allocation_holds(outputs):
    """The allocation's own columns are described as outputs, money in money."""
    sheet = load_workbook(outputs["allocate"])["columns"]
    described = {r[0].value: (r[2].value, r[3].value) for r in sheet.iter_rows(min_row=2)}
    assert "treatment" in described["treatment"][0]
    assert described["next_best_value"][1] == "money"
    assert "next best" in described["next_best_value"][0]
    assert described["reason"][0]


def _numeric_text(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value.replace(",", ""))
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("name", ["plan", "plans", "allocate", "weeks", "evaluate"])
def test_no_number_is_written_as_text(outputs, name):
    """No data cell of a plan, allocation or evaluation sheet is a number stored as text
    (levels '2171.00' and holiday_months '1' included)."""
    book = load_workbook(outputs[name])
    for sheet in OUTPUT_SHEETS[name]:
        for row in book[sheet].iter_rows(min_row=2):
            bad = [(c.coordinate, c.value) for c in row if _numeric_text(c.value)]
            assert not bad, (sheet, bad)


def test_plan_rates_are_percentages_with_enough_decimals(outputs):
    """apr, pd_12m, rate are percentages; gap has three decimals (6.6e-05 shows 0.007%);
    money columns are money; levels of one amount is that amount."""
    for name, sheet in (("plan", "options"), ("plans", "plans")):
        ws = load_workbook(outputs[name])[sheet]
        header = [c.value for c in ws[1]]
        for row in ws.iter_rows(min_row=2):
            cells = dict(zip(header, row, strict=True))
            for column in ("apr", "pd_12m", "rate"):
                if cells[column].value is not None:
                    assert cells[column].number_format == "0.00%", column
            if cells["gap"].value is not None:
                assert cells["gap"].number_format == "0.000%"
            for column in ("npv", "npv_vs_status_quo"):
                if cells[column].value is not None:
                    assert cells[column].number_format == "#,##0.00", column
            levels = cells["levels"].value
            if isinstance(levels, str) and levels:
                assert " / " in levels  # text only for a list of several amounts


def test_portfolio_columns_sheet_keeps_defaults_as_numbers(tmp_path):
    """A generated book's columns sheet describes the input columns (SPEC §3) with numeric
    and boolean defaults as numbers and booleans, and a frozen header."""
    code, _, err = run_workout("generate", "portfolio", "--n", 5, "--out", tmp_path / "b.xlsx")
    assert code == 0, err
    book = load_workbook(tmp_path / "b.xlsx")
    sheet = book["columns"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header == ["column", "sheet", "meaning", "unit", "default", "required"]
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    assert rows["principal"][2].value == SPECS["principal"].description
    assert rows["interest_due"][4].value == 0 and rows["interest_due"][4].data_type == "n"
    assert rows["income_cv"][4].value == pytest.approx(0.25)
    assert rows["consent_sms"][4].value is True
    assert rows["account_id"][5].value == "yes"


# -- Δ vs status quo: the difference of the printed values ------------------------------------


def _value(text: str) -> Decimal:
    return Decimal(text.replace(",", "").replace("+", ""))


def _cents(x: float) -> int:
    """``x`` rounded to the cent as Decimal rounds its exact binary value (half-even)."""
    return int((Decimal(x) * 100).quantize(Decimal(1), rounding="ROUND_HALF_EVEN"))


def _accounts() -> list[Account]:
    frame = generate_portfolio(12, seed=21)
    return Account.from_frame(frame)[:12]


#: The differences the recommendation states, with the identity each must satisfy on the
#: printed figures (m: the match; sq: the status quo's printed NPV).
SENTENCES = (
    (
        r"recovers ([\d,.]+) in expected NPV, ([\d,.]+) more than the status quo \(([\d,.]+)\)",
        lambda m, sq: _value(m[2]) == _value(m[1]) - _value(m[3]),
    ),
    (
        r"costs the customer ([\d,.]+) .*?, ([\d,.]+) less than the bank's best \([^,]+, ([\d,.]+)\)",
        lambda m, sq: _value(m[2]) == _value(m[3]) - _value(m[1]),
    ),
    (
        r"recovers ([\d,.]+) in expected NPV, within .*? and ([\d,.]+) more than the status quo",
        lambda m, sq: _value(m[2]) == _value(m[1]) - sq,
    ),
)


@pytest.mark.parametrize("objective", ["bank", "customer"])
def test_printed_differences_are_differences_of_printed_values(objective):
    """In the options table and the recommendation of several accounts, each Δ vs status
    quo and each 'less'/'more' amount equals the difference of the printed figures."""
    from commands.plan_output import option_rows
    from solver.officer.documents import plan_result

    checked = explained = 0
    for account in _accounts():
        result = plan_result(account, Policy(), BehaviourModel(), objective=objective, within_pct=2)
        rows = option_rows(result, "CNY")
        sq_npv = _value(rows[0][0][3])
        for cells, _ in rows[1:]:
            if cells[4]:
                assert _value(cells[4]) == _value(cells[3]) - sq_npv, (account.account_id, cells)
                checked += 1
        text = result.explanation
        for pattern, check in SENTENCES:
            if m := re.search(pattern, text):
                assert check(m, sq_npv), text
                explained += 1
    assert checked > 20 and explained > 3


def test_sample_account_deltas_reconcile_to_the_cent():
    """The reviewer's case: instalment 81,787.57 - 77,379.09 prints +4,408.48."""
    code, out, err = run_workout("plan", SAMPLE)
    assert code == 0, err
    assert "+4,408.48" in out and "+4,259.99" in out and "+6,421.01" in out
    assert "6,421.01 more than the status quo (77,379.09)" in out.replace("\n", " ")


def test_json_and_csv_npv_vs_status_quo_is_the_cent_difference(tmp_path):
    """npv_vs_status_quo equals npv minus the status quo's npv in cents in plan --format
    json, plan-portfolio's CSV and evaluate --format json."""
    code, out, err = run_workout("plan", SAMPLE, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    sq = doc["status_quo"]["npv"]
    for option in doc["options"]:
        if option["npv"] is not None:
            assert _cents(option["npv_vs_status_quo"]) == _cents(option["npv"]) - _cents(sq)
    book = tmp_path / "book.csv"
    generate_portfolio(25, seed=8).to_csv(book, index=False)
    code, _, err = run_workout("plan-portfolio", book, "--out", tmp_path / "p.csv", "--quiet")
    assert code == 0, err
    plans = pd.read_csv(tmp_path / "p.csv").dropna(subset=["npv", "npv_vs_status_quo"])
    assert len(plans) > 10
    for row in plans.itertuples():
        assert _cents(row.npv_vs_status_quo) == _cents(row.npv) - _cents(row.status_quo_npv)
    code, out, err = run_workout("evaluate", SAMPLE, "--amount", 1500, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    rows = _records_with(doc, "npv_vs_status_quo")  # the counter-offer and the plans named
    assert len(rows) > 1
    for r in rows:
        assert _cents(r["npv_vs_status_quo"]) == _cents(r["npv"]) - _cents(doc["status_quo_npv"])


def _records_with(doc: object, key: str) -> list[dict]:
    """Every mapping inside ``doc`` that has ``key`` and an ``npv``."""
    found: list[dict] = []
    if isinstance(doc, dict):
        if key in doc and doc.get("npv") is not None and doc.get(key) is not None:
            found.append(doc)
        for value in doc.values():
            found += _records_with(value, key)
    elif isinstance(doc, list):
        for value in doc:
            found += _records_with(value, key)
    return found
