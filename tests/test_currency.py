"""The policy's currency (issue 18, item 4): any ISO 4217 code labels the money in plan,
validate and scenario output; CNY stays the default (the reference outputs are unchanged)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cli_inprocess import run_workout as invoke

from solver.core.policy import Policy

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
TINY = ROOT / "tests" / "data" / "portfolio" / "tiny.csv"


def test_policy_currency_is_an_iso_code():
    assert Policy().currency == "CNY"
    assert Policy(currency=" usd ").currency == "USD"
    for bad in ("XYZ", "yuan", 156):
        with pytest.raises(ValueError, match="ISO 4217"):
            Policy(currency=bad)


def test_bad_currency_in_a_policy_file_exits_2(tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text('currency = "RMB"\n')
    code, _, err = invoke("plan", SAMPLE, "--policy", policy)
    assert code == 2 and str(policy) in err and "'RMB'" in err


def test_plan_and_validate_label_amounts_with_the_currency(tmp_path):
    code, out, _ = invoke("plan", SAMPLE)
    assert code == 0 and "Restructuring options for AUTO-000123 (CNY)" in out
    code, out, _ = invoke("plan", SAMPLE, "--set", "policy.currency=HKD")
    assert code == 0 and "(HKD)" in out and "(CNY)" not in out
    policy = tmp_path / "usd.toml"
    policy.write_text('currency = "USD"\n')
    code, out, _ = invoke("validate", TINY, "--policy", policy)
    assert code == 0 and "By product (amounts in USD)" in out and "CNY" not in out


def test_scenario_files_label_money_with_the_currency(tmp_path):
    scenarios = ROOT / "scenarios"
    out = tmp_path / "out"
    code, _, err = invoke(
        "scenario", "run", scenarios / "baseline.toml", "--out-dir", out, "--paths", 5,
        "--set", "portfolio.n=40", "--set", "collection.time_limit_seconds=1",
        "--set", "policy.currency=EUR",
    )  # fmt: skip
    assert code == 0, err
    kpis = pd.read_csv(out / "kpis.csv")
    money = kpis[kpis["kpi"] == "opening_balance"]
    assert set(money["unit"]) == {"EUR"} and "CNY" not in set(kpis["unit"])
    assert "<td>EUR</td>" in (out / "report.html").read_text(encoding="utf-8")


# -- the currency's minor unit (ISO 4217) sets how amounts print ------------------------------

#: ISO 4217's minor units of the currencies the tests use (the standard's table, not babel's)
ISO_MINOR = {"CNY": 2, "USD": 2, "JPY": 0, "KRW": 0, "KWD": 3, "BHD": 3}


def test_minor_units_follow_iso_4217():
    from solver.core.currency import minor_digits

    assert {code: minor_digits(code) for code in ISO_MINOR} == ISO_MINOR


def test_rounding_must_be_whole_minor_units(tmp_path):
    """A JPY policy cannot ask for instalments in half yen (the base key or a product's):
    exit 2 naming the file and the key; whole yen are fine."""
    policy = tmp_path / "jpy.toml"
    policy.write_text('currency = "JPY"\nrounding = 0.5\n')
    code, _, err = invoke("plan", SAMPLE, "--policy", policy)
    assert code == 2 and str(policy) in err and "rounding must be a multiple of JPY" in err
    policy.write_text('currency = "JPY"\nrounding = 10\n[product.auto_loan]\nrounding = 2.5\n')
    code, _, err = invoke("plan", SAMPLE, "--policy", policy)
    assert code == 2 and "products.auto_loan.rounding must be a multiple of JPY" in err
    code, _, err = invoke(
        "plan", SAMPLE, "--set", "policy.currency=KRW", "--set", "policy.rounding=0.1"
    )
    assert code == 2 and "--set policy.rounding: rounding must be a multiple of KRW" in err
    assert "Traceback" not in err


def _table_rows(text: str, title: str) -> list[list[str]]:
    """The cells of a rich table printed under ``title`` (until the table's end)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("└"):
            break
        if line.startswith("│"):
            rows.append([cell.strip() for cell in line.strip("│").split("│")])
    return rows


def _decimal(cell: str):
    from decimal import Decimal

    return Decimal(cell.replace(",", ""))


def _check_printed_schedule(out: str, decimals: int) -> list[list[str]]:
    """The printed schedule reconciles with the test's own Decimal arithmetic: every amount
    with ``decimals`` decimals, payment = interest + principal + fees in every month, each
    balance the last one less the principal repaid, the last balance 0."""
    # without the due_date column (printed since session 17; dates are not amounts)
    rows = [[month, *cells] for month, _due, *cells in _table_rows(out, "Schedule: instalment")]
    assert len(rows) > 12
    previous = None
    for month, *cells in rows:
        for cell in cells:
            assert len(cell.rpartition(".")[2]) == decimals if decimals else "." not in cell, cell
        pay, interest, principal, fees, balance = map(_decimal, cells)
        assert pay == interest + principal + fees, month
        if previous is not None:
            assert balance == previous - principal, month
        previous = balance
    assert previous == 0
    return rows


def test_three_decimal_currency_prints_three_decimals_and_reconciles():
    """KWD (3 decimals): every amount of the schedule prints with three decimals, and the
    NPV column too; the printed schedule reconciles exactly."""
    code, out, err = invoke(
        "plan", SAMPLE, "--set", "policy.currency=KWD", "--schedule", "instalment"
    )
    assert code == 0, err
    _check_printed_schedule(out, 3)
    options = _table_rows(out, "Restructuring options for AUTO-000123 (KWD)")
    npv = options[0][3]
    assert len(npv.rpartition(".")[2]) == 3, npv


def test_zero_decimal_currency_whole_instalments_and_exact_schedule():
    """JPY (no decimals): the schedule is computed in whole yen (interest and the clearing
    payment too), prints with no decimals in every column and reconciles exactly; model
    values (NPV) print as whole yen."""
    code, out, err = invoke(
        "plan", SAMPLE, "--set", "policy.currency=JPY", "--schedule", "instalment"
    )
    assert code == 0, err
    rows = _check_printed_schedule(out, 0)
    instalments = {_decimal(row[1]) for row in rows[:-1]}
    assert all(p == p.to_integral_value() for p in instalments), instalments
    options = _table_rows(out, "Restructuring options for AUTO-000123 (JPY)")
    status_quo_npv = options[0][3]
    assert status_quo_npv and "." not in status_quo_npv


def test_validate_prints_a_whole_yen_book_without_decimals(tmp_path):
    """A book of whole-yen amounts validated under a JPY policy prints its sums with no
    decimals; the total is the test's own sum of the file's cells."""
    frame = pd.read_csv(TINY)
    money = ["principal", "arrears", "interest_due", "fees_due", "vehicle_value"]
    frame[money] = frame[money].round(0)
    book = tmp_path / "yen.csv"
    frame.to_csv(book, index=False)
    policy = tmp_path / "jpy.toml"
    policy.write_text('currency = "JPY"\n')
    code, out, err = invoke("validate", book, "--policy", policy)
    assert code == 0, err
    rows = _table_rows(out, "By product (amounts in JPY)")
    total = next(row for row in rows if row[0] == "total")
    assert total[3] == f"{int(frame['principal'].sum()):,}"
    assert all("." not in cell for row in rows for cell in row[3:])


def test_offer_letter_prints_one_number_of_decimals_for_its_currency():
    """The letter's amounts follow its currency: three decimals for KWD everywhere; for JPY
    the schedule's fractional interest makes the whole letter use two (never a mix), and
    its payment column still adds up to the schedule's total with the test's arithmetic."""
    import re
    from datetime import date
    from decimal import Decimal

    from solver.core import read_account
    from solver.officer import LetterSettings, choose_offer, render_letter
    from solver.plans import plan_options

    account = read_account(SAMPLE)
    plans = plan_options(account, Policy())
    offer = choose_offer(account, "instalment", plans, as_of=date(2026, 5, 4)).offer
    for code, digits in (("KWD", 3), ("JPY", 2), ("CNY", 2)):
        html = render_letter(offer, LetterSettings(currency=code), "en")
        payments = re.findall(r"<tr><td>\d+</td><td>[\d-]+</td><td>([\d,.]+)</td>", html)
        assert len(payments) == offer.schedule.term
        assert {len(p.rpartition(".")[2]) for p in payments} == {digits}, code
        total = sum(Decimal(p.replace(",", "")) for p in payments)
        assert total == Decimal(int(offer.schedule.payment.sum())) / 100
        assert f"{total:,.{digits}f}" in html
