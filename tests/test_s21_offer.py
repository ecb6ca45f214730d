"""Session 21: ``workout offer`` writes the letter of any plan ``workout plan`` prints (its
``--objective``/``--within`` and frontier labels), and ``workout evaluate`` dates its
schedules (``due_date``, ``--as-of``) as ``plan`` does.

Oracles: ``workout plan --format json`` run through the command line (the plan the officer
was shown), the letter's HTML parsed here, and due dates computed here from the rule of
SPEC §2 / ``--as-of`` (month t due t calendar months after the as-of date, the day clipped
to the month's end), not by the code under test.
"""

from __future__ import annotations

import calendar
import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import click
import pandas as pd
import pytest
from cli_inprocess import run_workout

import cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
#: A month's last day: its due dates clip (2026-02-28, 2026-04-30, ...).
AS_OF = date(2026, 1, 31)
CUSTOMER = ("--objective", "customer", "--within", "2")
#: A letter's schedule row: month, due date and the five amounts.
LETTER_ROW = re.compile(
    r"<tr(?: class=\"holiday\")?><td>(\d+)</td><td>([\d-]+)</td>"
    r"<td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>"
)
AMOUNTS = ("payment", "interest", "principal", "fees", "balance")


def _due(start: date, month: int) -> date:
    """Month ``month``'s due date of a schedule dated ``start``: ``month`` calendar months
    later, the day clipped to the month's end (own arithmetic)."""
    total = start.year * 12 + start.month - 1 + month
    year, month0 = divmod(total, 12)
    return date(year, month0 + 1, min(start.day, calendar.monthrange(year, month0 + 1)[1]))


def _plan(*args: object) -> dict:
    """``workout plan SAMPLE ARGS --format json`` dated :data:`AS_OF`, as a document."""
    code, out, err = run_workout(
        "plan", SAMPLE, *args, "--as-of", AS_OF.isoformat(), "--format", "json"
    )
    assert code == 0, err
    return json.loads(out)


def _offer(out: Path, label: str, *args: object) -> dict:
    """``workout offer SAMPLE --option LABEL ARGS`` dated :data:`AS_OF`: its summary."""
    code, stdout, err = run_workout(
        "offer", SAMPLE, "--option", label, *args, "--as-of", AS_OF.isoformat(),
        "--lang", "en", "--out", out, "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    return json.loads(stdout)


def _letter_rows(html: str) -> list[dict]:
    """The letter's schedule rows, amounts as numbers (the letter's thousands commas off)."""
    rows = []
    for month, due, *amounts in LETTER_ROW.findall(html):
        money = [float(a.replace(",", "").replace("−", "-")) for a in amounts]
        rows.append(
            {"month": int(month), "due_date": due, **dict(zip(AMOUNTS, money, strict=True))}
        )
    return rows


def test_offer_writes_the_letter_of_the_plan_customer_objective_recommends(tmp_path):
    """plan --objective customer --within 2 recommends a plan at chosen terms; offer with the
    same options and that label writes its letter: the schedule row by row (due dates and
    cents) and the figures are those plan's JSON shows for it."""
    doc = _plan(*CUSTOMER)
    label = doc["recommended_label"]
    assert label not in {o["family"] for o in doc["options"]}  # a plan at terms (4+29m)
    shown = next(o for o in doc["options"] if o["label"] == label)
    summary = _offer(tmp_path / "letter.html", label, *CUSTOMER)
    rows = _letter_rows((tmp_path / "letter.html").read_text(encoding="utf-8"))
    assert rows == shown["schedule"] and len(rows) == shown["params"]["term"]
    assert [r["due_date"] for r in rows] == [
        _due(AS_OF, m).isoformat() for m in range(1, len(rows) + 1)
    ]
    assert summary["option"] == label and summary["term"] == len(rows)
    assert summary["npv"] == shown["npv"]
    assert summary["apr"] == pytest.approx(shown["apr"], abs=1e-12)
    assert summary["total_of_payments"] == pytest.approx(shown["total_paid"], abs=0.005)


def test_offer_takes_a_frontier_label_and_records_it_among_the_options(tmp_path):
    """A frontier plan's label (plan --frontier's table and JSON) is an --option too; the
    letter's totals are that plan's and the audit record lists it among the options shown."""
    doc = _plan("--frontier")
    families = {o["label"] for o in doc["options"]}
    entry = next(o for o in doc["frontier_options"] if o["label"] not in families)
    db = tmp_path / "audit.db"
    summary = _offer(
        tmp_path / "f.html", entry["label"], "--officer", "OF-21", "--db", f"sqlite:///{db}"
    )
    rows = _letter_rows((tmp_path / "f.html").read_text(encoding="utf-8"))
    assert summary["option"] == entry["label"] and summary["npv"] == entry["npv"]
    assert len(rows) == entry["params"]["term"]
    assert round(sum(r["payment"] for r in rows), 2) == pytest.approx(entry["total_paid"])
    with sqlite3.connect(db) as con:
        chosen, options = con.execute("SELECT chosen_option, options FROM audit_records").fetchone()
    assert chosen == entry["label"]
    assert entry["label"] in [o["label"] for o in json.loads(options)]


@pytest.mark.parametrize(
    "args, words",
    [
        (
            ["--option", "custom", "--within", "2"],
            "--within applies only with --objective customer",
        ),
        (["--option", "instalment 99m"], "a frontier plan's label"),
    ],
)
def test_offer_usage_errors_name_the_option_and_write_nothing(tmp_path, args, words):
    """--within without the customer objective and an unknown label: exit 2, no letter."""
    letter = tmp_path / "x.html"
    code, out, err = run_workout("offer", SAMPLE, *args, "--out", letter)
    assert code == 2 and words in err and "Traceback" not in err
    assert not letter.exists()


def test_plan_and_offer_share_one_objective_definition():
    """plan's and offer's --objective/--within are the same options (type, default, help),
    and evaluate's --as-of is plan's and offer's."""

    def params(command: str) -> dict[str, dict]:
        found = cli.workout.get_command(click.Context(cli.workout), command).params
        return {p.name: p.to_info_dict() for p in found if p.name is not None}

    plan, offer, evaluate = params("plan"), params("offer"), params("evaluate")
    for name in ("objective", "within_pct"):
        assert plan[name] == offer[name]
    assert evaluate["as_of"]["type"] == plan["as_of"]["type"] == offer["as_of"]["type"]


def test_evaluate_json_schedules_carry_due_dates_from_as_of():
    """evaluate --format json: the counter-offer's and the nearest plan's schedule rows have
    due_date, month t t calendar months after --as-of (clipped to the month's end)."""
    code, out, err = run_workout(
        "evaluate", SAMPLE, "--term", "36", "--holiday", "3", "--amount", "2000",
        "--as-of", AS_OF.isoformat(), "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["nearest"] is not None
    for schedule in (doc["schedule"], doc["nearest"]["schedule"]):
        assert list(schedule[0]) == ["month", "due_date", *AMOUNTS]
        assert [r["due_date"] for r in schedule] == [
            _due(AS_OF, r["month"]).isoformat() for r in schedule
        ]
    assert doc["schedule"][0]["due_date"] == "2026-02-28"


def test_evaluate_xlsx_schedule_sheet_has_due_dates(tmp_path):
    """The .xlsx --out's schedule sheet has the due_date column, dated from --as-of."""
    path = tmp_path / "evaluation.xlsx"
    code, _, err = run_workout(
        "evaluate", SAMPLE, "--payments", "0*3,2500*40", "--as-of", AS_OF.isoformat(),
        "--out", path,
    )  # fmt: skip
    assert code == 0, err
    sheet = pd.read_excel(path, sheet_name="schedule")
    assert list(sheet.columns[:3]) == ["option", "month", "due_date"]
    due = [pd.Timestamp(d).date() for d in sheet["due_date"]]
    assert due == [_due(AS_OF, int(m)) for m in sheet["month"]]


def test_evaluate_refuses_a_bad_as_of_naming_it():
    """evaluate --as-of 2026-02-30: exit 2 naming --as-of, as plan and offer do."""
    code, out, err = run_workout("evaluate", SAMPLE, "--amount", "1500", "--as-of", "2026-02-30")
    assert code == 2 and "--as-of" in err and "not a calendar date" in err and out == ""
