"""Product review of session 17 (4 Dec 2026): plan-portfolio's schedules, due dates, the
columns sheet, --set messages, the card-vehicle rule and two help texts.

Oracles are the test's own arithmetic from SPEC §2 (cents: payment = interest + principal
+ fees, balance_t = balance_{t-1} + interest_t - payment_t, last balance 0, Σ principal =
the restructured balance), the independent waterfall of ``tests/oracles.py`` (each
schedule amortised again from the account and the plan's terms and payments:
:func:`assert_amortises`, session 18), its own calendar arithmetic for the due dates, and
the public evaluator ``solver.evaluate`` for the NPVs.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_inprocess import run_workout
from oracles import amortise, rate_units, round_half_up, share, to_cents

import solver
from solver.core.account import Account
from solver.core.generate import generate_portfolio

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
AS_OF = dt.date(2026, 1, 31)  # a month end: every due date after it is clipped
SCHEDULE_COLUMNS = [
    "account_id", "family", "month", "due_date", "payment", "interest", "principal", "fees",
    "balance",
]  # fmt: skip


def _due(month: int) -> str:
    """Month ``month`` of a schedule dated AS_OF, by hand: the calendar month ``month``
    after January 2026, on the 31st or that month's last day."""
    year, index = 2026 + month // 12, month % 12  # January + month, 0-based month index
    last = calendar.monthrange(year, index + 1)[1]
    return dt.date(year, index + 1, min(31, last)).isoformat()


def _cents(series: pd.Series) -> np.ndarray:
    return np.rint(series.to_numpy(float) * 100).astype(np.int64)


def _given(value) -> float:
    """A plans-table share or count: 0 where the table leaves it empty."""
    return 0.0 if value is None or pd.isna(value) else float(value)


def assert_amortises(rows: pd.DataFrame, account: Account, plan) -> None:
    """Assert that one account's written schedule ``rows`` is what SPEC §2 gives for its
    payments, amortised again by the oracle's own integer-cent waterfall
    (:func:`oracles.amortise`) from the account and the terms of ``plan`` (its row of the
    plans table), every row to the cent.

    The contract (family ``status_quo``): principal + interest_due bear interest at the
    account's rate and fees_due is owed unpaid, paid first. A plan: the account's
    principal, accrued interest and fees less what it forgives (fee_waiver,
    interest_waiver, haircut), all capitalised, at the plan's rate, interest waived in
    the first deferral_months months when deferral_mode is ``waive``. The last payment is
    what clears the balance. Interest is the oracle's own: a row whose interest is off
    fails even when its balances still chain.
    """
    family = rows["family"].iloc[0]
    payment, interest, principal, fees, balance = (
        _cents(rows[c]).tolist() for c in ("payment", "interest", "principal", "fees", "balance")
    )
    owed = [to_cents(account.principal), to_cents(account.interest_due)]
    if family == "status_quo":
        bearing, unpaid, waived = sum(owed), to_cents(account.fees_due), 0
        rate = account.annual_rate
    else:
        assert family != "waterfall", "the waterfall (interest-free forbearance) is never followed"
        owed.append(to_cents(account.fees_due))
        kept = [1 - share(_given(plan[k])) for k in ("haircut", "interest_waiver", "fee_waiver")]
        exact = sum(c * k for c, k in zip(owed, kept, strict=True))
        bearing, unpaid, rate = round_half_up(exact), 0, float(plan["rate"])
        if exact != sum(owed):  # something forgiven: the table's shares are to 6 decimals
            written = sum(principal) + sum(fees)
            assert abs(written - bearing) <= 1 + sum(owed) // 10**6, (written, bearing)
            bearing = written
        waived = int(_given(plan["deferral_months"])) if plan["deferral_mode"] == "waive" else 0
    waive = [t < waived for t in range(len(payment))]
    got = amortise(bearing, rate_units(rate), payment, unpaid_fees=unpaid, waive=waive)
    assert got is not None, f"{account.account_id}: a payment clears the balance early"
    for name, written in zip(
        ("payment", "interest", "principal", "fees", "balance"),
        (payment, interest, principal, fees, balance),
        strict=True,
    ):
        mine = getattr(got, name)
        bad = [t + 1 for t in range(len(mine)) if mine[t] != written[t]]
        assert not bad, f"{account.account_id} {family}: {name} differs in months {bad[:5]}"


@pytest.fixture(scope="module")
def portfolio_run(tmp_path_factory):
    """plan-portfolio of 40 generated accounts: the book, plans.csv, schedules.csv, p.xlsx."""
    tmp = tmp_path_factory.mktemp("s17ux")
    book = tmp / "book.csv"
    generate_portfolio(40, seed=3).to_csv(book, index=False)
    common = ("--as-of", AS_OF.isoformat(), "--quiet")
    code, _, err = run_workout(
        "plan-portfolio", book, "--out", tmp / "plans.csv", "--schedules", tmp / "s.csv", *common
    )
    assert code == 0, err
    code, _, err = run_workout("plan-portfolio", book, "--out", tmp / "p.xlsx", *common)
    assert code == 0, err
    return {
        "book": pd.read_csv(book),
        "plans": pd.read_csv(tmp / "plans.csv"),
        "schedules": pd.read_csv(tmp / "s.csv", dtype={"due_date": str}),
        "xlsx": pd.read_excel(tmp / "p.xlsx", sheet_name=None),
    }


def test_portfolio_schedules_reconcile_to_the_cent(portfolio_run):
    """Every written schedule row pays interest + principal + fees, balances chain from the
    account's restructured balance to 0.00, each schedule is what the oracle's own
    waterfall gives for the account, the plan's terms and its payments (interest to the
    cent), and months are due t months after --as-of."""
    sched, plans, book = (portfolio_run[k] for k in ("schedules", "plans", "book"))
    assert list(sched.columns) == SCHEDULE_COLUMNS
    owed = book.set_index("account_id")[["principal", "interest_due", "fees_due"]].sum(axis=1)
    accounts = {a.account_id: a for a in map(Account.from_mapping, book.to_dict("records"))}
    plans = plans.set_index("account_id")
    checked = 0
    for account_id, rows in sched.groupby("account_id", sort=False):
        assert_amortises(rows, accounts[account_id], plans.loc[account_id])
        pay, interest, principal, fees, balance = (
            _cents(rows[c]) for c in ("payment", "interest", "principal", "fees", "balance")
        )
        assert (pay == interest + principal + fees).all()
        assert rows["month"].tolist() == list(range(1, len(rows) + 1))
        assert rows["due_date"].tolist() == [_due(m) for m in rows["month"]]
        assert balance[-1] == 0
        opening = int(principal.sum() + fees.sum())
        before = np.concatenate(([opening], balance[:-1]))
        assert (balance == before + interest - pay).all(), account_id
        plan = plans.loc[account_id]
        assert len(rows) == plan["term"]
        forgiven = [plan[k] for k in ("fee_waiver", "interest_waiver", "haircut")]
        if all(pd.isna(x) or x == 0 for x in forgiven):  # nothing forgiven: all still owed
            assert opening == round(owed[account_id] * 100), account_id
            checked += 1
    assert checked >= 20
    assert set(sched["account_id"]) == set(plans.index[plans["status"] != "ERROR"])


def test_portfolio_schedules_give_the_table_npv(portfolio_run):
    """Re-evaluating each account's written payments with solver.evaluate gives the NPV of
    its row in the plans table."""
    sched, plans, book = (portfolio_run[k] for k in ("schedules", "plans", "book"))
    accounts = {a.account_id: a for a in map(Account.from_mapping, book.to_dict("records"))}
    npv = plans.set_index("account_id")["npv"]
    for account_id, rows in sched.groupby("account_id", sort=False):
        pay = rows["payment"].to_numpy(float)
        balance = rows["balance"].to_numpy(float)
        # exposure of month t: the balance before its payment (SPEC §2)
        opening = float(rows["principal"].sum() + rows["fees"].sum())
        exposures = np.concatenate(([opening], balance[:-1]))
        got = solver.evaluate(accounts[account_id], pay, exposures).npv
        assert got == pytest.approx(npv[account_id], rel=1e-9, abs=1e-6), account_id


def test_xlsx_holds_the_schedules_and_documents_its_own_columns(portfolio_run):
    """The .xlsx has the schedules sheet (the --schedules rows) and a columns sheet that
    describes every column of the sheets written, and nothing else."""
    book = portfolio_run["xlsx"]
    assert list(book) == ["plans", "schedules", "columns"]
    written = book["schedules"].assign(
        due_date=lambda f: pd.to_datetime(f["due_date"]).dt.strftime("%Y-%m-%d")
    )
    pd.testing.assert_frame_equal(written, portfolio_run["schedules"], check_dtype=False)
    columns = book["columns"]
    expected = [(s, c) for s in ("plans", "schedules") for c in book[s].columns]
    assert list(zip(columns["sheet"], columns["column"], strict=True)) == expected
    assert columns["meaning"].notna().all() and (columns["meaning"].str.len() > 5).all()
    assert "income_cv" not in set(columns["column"])  # an input column, not written


def _expand(text: str) -> list[tuple[str, int]]:
    """A payments text ("3× 0 → 806 ×24 → last 812.34") as (amount text, months) phases."""
    phases = []
    for part in text.split(" → "):
        if m := re.fullmatch(r"(\d+)× (0|interest)", part):
            phases.append((m[2], int(m[1])))
        elif m := re.fullmatch(r"last ([\d,.]+)", part):
            phases.append((m[1], 1))
        else:
            amount, _, count = part.partition(" ×")
            phases.append((amount, int(count or 1)))
    return phases


def test_payments_text_states_every_month(portfolio_run):
    """The plans' payments text gives each phase its months: expanded, it has the term's
    months and each amount within rounding of the schedule's payment."""
    sched = portfolio_run["schedules"]
    plans = portfolio_run["plans"].set_index("account_id")
    assert list(plans.columns).index("payments") == list(plans.columns).index("levels") + 1
    for account_id, rows in sched.groupby("account_id", sort=False):
        pay = rows["payment"].to_numpy(float)
        t = 0
        for amount, months in _expand(plans.loc[account_id, "payments"]):
            if amount != "interest":
                value = float(amount.replace(",", ""))
                assert np.abs(pay[t : t + months] - value).max() <= 0.5, account_id
            t += months
        assert t == len(pay), account_id


def test_plan_json_and_xlsx_schedules_are_dated(tmp_path):
    """workout plan --as-of dates every schedule row of its JSON and of its .xlsx."""
    code, out, err = run_workout("plan", SAMPLE, "--as-of", AS_OF, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    for option in (doc["status_quo"], *doc["options"]):
        rows = option["schedule"]
        assert [r["due_date"] for r in rows] == [_due(r["month"]) for r in rows]
        assert all(list(r)[:2] == ["month", "due_date"] for r in rows)
    code, _, err = run_workout("plan", SAMPLE, "--as-of", AS_OF, "--out", tmp_path / "o.xlsx")
    assert code == 0, err
    sheets = pd.read_excel(tmp_path / "o.xlsx", sheet_name=None)
    dues = pd.to_datetime(sheets["schedules"]["due_date"]).dt.strftime("%Y-%m-%d")
    assert dues.tolist() == [_due(m) for m in sheets["schedules"]["month"]]
    assert set(sheets["columns"]["column"]) == set(sheets["options"].columns) | set(
        sheets["schedules"].columns
    )


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("policy.max_term_months=abc", "--set policy.max_term_months: max_term_months must be a whole number, got 'abc'"),
        ("policy.max_dti=high", "--set policy.max_dti: max_dti must be a number, got 'high'"),
    ],
)  # fmt: skip
def test_set_names_the_key_and_the_expected_type(setting, expected):
    """A --set policy value of the wrong type exits 2 naming the key and what it expects."""
    code, _, err = run_workout("plan", SAMPLE, "--set", setting)
    assert code == 2
    assert expected in err and "invalid literal" not in err


def test_card_account_with_a_vehicle_is_bad_input():
    """--set vehicle_value on a card_instalment account exits 2 naming --set and the column
    (it was counted as collateral)."""
    code, _, err = run_workout(
        "plan", SAMPLE, "--set", "product=card_instalment", "--set", "vehicle_value=20000"
    )
    assert code == 2
    assert "--set" in err and "vehicle_value: must be 0 for a card_instalment account" in err


def test_help_and_baseline_comment_state_measured_and_real_figures():
    """plan-portfolio --thorough's help gives the measured 75 ms CPU per account (session
    17), and baseline.toml's comment gives SearchParams' own defaults."""
    from solver.plans.search_types import SearchParams

    _, out, _ = run_workout("plan-portfolio", "--help")
    assert "about 75 ms CPU per account" in " ".join(out.split())
    text = (ROOT / "scenarios" / "baseline.toml").read_text(encoding="utf-8")
    tomllib.loads(text)  # still a valid TOML file
    p = SearchParams()
    stated = f"grid_levels {p.grid_levels} / beam_width {p.beam_width} / buckets {p.buckets}"
    assert stated in " ".join(line.lstrip("# ") for line in text.splitlines())


def test_large_book_workbook_leaves_the_schedules_out_and_says_so(tmp_path, monkeypatch):
    """An .xlsx --out whose schedules pass XLSX_SCHEDULE_ROWS has no schedules sheet and a
    note naming --schedules; --schedules FILE.xlsx splits its rows over sheets of at most
    EXCEL_ROWS rows, losing none."""
    import commands.plan_portfolio_output as pp

    book = tmp_path / "book.csv"
    generate_portfolio(6, seed=3).to_csv(book, index=False)
    monkeypatch.setattr(pp, "XLSX_SCHEDULE_ROWS", 10)
    monkeypatch.setattr(pp, "EXCEL_ROWS", 50)
    code, _, err = run_workout(
        "plan-portfolio", book, "--out", tmp_path / "p.xlsx", "--schedules", tmp_path / "s.xlsx",
        "--as-of", AS_OF.isoformat(), "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert "--schedules" in err and "not in p.xlsx" in err
    assert list(pd.read_excel(tmp_path / "p.xlsx", sheet_name=None)) == ["plans", "columns"]
    sheets = {
        name: sheet
        for name, sheet in pd.read_excel(tmp_path / "s.xlsx", sheet_name=None).items()
        if name.startswith("schedules")
    }
    assert len(sheets) > 1 and all(len(s) <= 50 for s in sheets.values())
    rows = pd.concat(sheets.values(), ignore_index=True)
    assert list(rows.columns) == SCHEDULE_COLUMNS
    lengths = rows.groupby("account_id").size()
    assert len(lengths) == 6 and (rows.groupby("account_id")["month"].max() == lengths).all()
