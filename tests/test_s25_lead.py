"""Session 25 lead's mends: ``offer --option`` refuses a plainly wrong label before the plan
search, and ``evaluate``'s comparison table shows the policy's currency and its decimals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli_inprocess import run_workout

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"


@pytest.fixture
def no_search(monkeypatch):
    """The plan search replaced by one that fails the test if it is called."""
    import solver.officer.documents as documents

    def searched(*args, **kwargs):
        raise AssertionError("the plan search ran before the label was refused")

    monkeypatch.setattr(documents, "plan_result", searched)


def test_offer_refuses_a_misspelt_family_before_the_search(tmp_path, no_search):
    """offer --option custm: exit 2 without searching, no letter written, a hint to custom."""
    letter = tmp_path / "letter.html"
    code, stdout, err = run_workout("offer", SAMPLE, "--option", "custm", "--out", letter)
    assert code == 2, err
    assert not letter.exists() and stdout == ""
    assert "--option custm" in err and "did you mean custom" in err


def test_evaluate_table_in_yen_has_no_minor_units():
    """evaluate --set policy.currency=JPY: the table's title says JPY and every amount and
    NPV is a whole number of yen (the yen has no minor unit), never CNY's two decimals."""
    code, stdout, err = run_workout(
        "evaluate", SAMPLE, "--amount", "1500", "--set", "policy.currency=JPY"
    )
    assert code == 0, err
    assert "(JPY)" in stdout and "(CNY)" not in stdout
    rows = [line for line in stdout.splitlines() if line.startswith("│")]
    assert len(rows) >= 3
    for line in rows:
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        first_payment, npv = cells[2], cells[3]
        assert re.fullmatch(r"[\d,]+", first_payment), line
        assert re.fullmatch(r"[\d,]+", npv), line


def test_calendar_holds_back_a_cure_window_call_that_another_rule_also_rules_out(tmp_path):
    """calendar --replan: a cure-window account allocated a senior call (not gentle) is held
    back even when the call is also outside the catalogue's balance rule (min_balance 5,000),
    i.e. the step's rule binds on its own, not only where every other rule passed."""
    import datetime as dt
    import json
    import tomllib

    import pandas as pd
    from calendar_helpers import allocation_file, flagged_book

    senior = tomllib.loads((ROOT / "scenarios" / "treatments.toml").read_text("utf-8"))[
        "treatments"
    ]["senior_call"]
    assert senior["gentle"] is False and senior["min_balance"] == 5000.0
    row = 4  # flagged_book's (seed 11) row 4 is in a dpd bucket the senior call admits
    book, ids = flagged_book(tmp_path, {row: ["has_plan"]})
    frame = pd.read_csv(book, dtype={"account_id": str})
    frame.loc[row, ["principal", "interest_due", "fees_due", "arrears"]] = [3000.0, 0.0, 0.0, 500.0]
    frame.to_csv(book, index=False)
    alloc = allocation_file(
        tmp_path / "alloc.csv", ids, {ids[row]: ("senior_call", "senior-beijing")}
    )
    steps = tmp_path / "steps.csv"
    pd.DataFrame({"account_id": [ids[row]], "step": ["cure_window"]}).to_csv(steps, index=False)
    out = tmp_path / "cal.csv"
    start = dt.date(2026, 12, 7).isoformat()
    code, stdout, err = run_workout(
        "calendar", book, "--allocation", alloc, "--replan", steps, "--start", start,
        "--out", out, "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(stdout)
    assert ids[row] not in set(pd.read_csv(out, dtype={"account_id": str})["account_id"])
    assert summary["blocked_replan_step"] == 1
    assert [e["account_id"] for e in summary["blocked"]] == [ids[row]]


def test_frontier_best_plan_is_plus_zero_not_minus_zero():
    """plan --objective customer: the bank's best plan is 0 % below itself, printed "+0.00%",
    never "-0.00%" (the negated zero shortfall)."""
    code, stdout, err = run_workout(
        "plan", SAMPLE, "--objective", "customer", "--within", "2", "--as-of", "2026-12-04"
    )
    assert code == 0, err
    assert "-0.00%" not in stdout
    assert "+0.00%" in stdout


@pytest.mark.parametrize("where", ["set", "product"])
def test_a_term_beyond_fifty_years_is_refused(tmp_path, where):
    """max_term_months above 600 (50 years) is exit 2 naming the key, from --set and from a
    policy file's per-product override; 600 itself is accepted (checked with --set)."""
    if where == "set":
        args = ["--set", "policy.max_term_months=100000"]
    else:
        policy = tmp_path / "policy.toml"
        policy.write_text("[product.auto_loan]\nmax_term_months = 100000\n", encoding="utf-8")
        args = ["--policy", policy]
    code, stdout, err = run_workout("plan", SAMPLE, *args)
    assert code == 2, err
    assert "max_term_months" in err and "600" in err and stdout == ""


def test_a_fifty_year_term_is_accepted():
    """max_term_months = 600 is the largest accepted (the bound is inclusive)."""
    code, _, err = run_workout(
        "plan", SAMPLE, "--set", "policy.max_term_months=600", "--format", "json"
    )
    assert code == 0, err


def test_the_deferral_rule_is_blamed_on_a_key_it_is_about():
    """--set max_deferral_months=100 --set max_dti=0.6: the broken rule (deferral over the
    term) is reported against --set policy.max_deferral_months, not the unrelated last key."""
    code, _, err = run_workout(
        "plan", SAMPLE, "--set", "policy.max_deferral_months=100", "--set", "policy.max_dti=0.6"
    )
    assert code == 2, err
    assert "--set policy.max_deferral_months: max_deferral_months (100)" in err
    assert "--set policy.max_dti" not in err


def test_a_sweep_value_given_twice_as_1_and_1_0_is_refused(tmp_path):
    """scenario sweep --set simulation.seed=1,1.0: one grid point given twice (1 and 1.0 are
    one number) is exit 2 naming the key, before any run; true stays apart from 1."""

    out = tmp_path / "sweep"
    code, _, err = run_workout(
        "scenario", "sweep", ROOT / "scenarios" / "baseline.toml", "--out-dir", out,
        "--set", "portfolio.seed=1,1.0",
    )  # fmt: skip
    assert code == 2, err
    assert "portfolio.seed" in err and "given twice" in err and not out.exists()


def test_a_one_path_run_marks_no_delta_significant(tmp_path):
    """scenario run with simulation.paths = 1 against a baseline: one path gives no spread,
    so no interval is known and no delta is marked significant (an interval of width 0
    marked every non-zero delta significant)."""
    import pandas as pd

    files = {}
    for name in ("recession", "baseline"):  # both one path: the deltas are paired
        parent = (ROOT / "scenarios" / f"{name}.toml").as_posix()
        files[name] = tmp_path / f"{name}_one_path.toml"
        files[name].write_text(f'extends = "{parent}"\n[simulation]\npaths = 1\n', "utf-8")
    out = tmp_path / "out"
    code, _, err = run_workout(
        "scenario", "run", files["recession"], "--baseline", files["baseline"],
        "--set", "portfolio.n=60", "--set", "collection.time_limit_seconds=3",
        "--out-dir", out,
    )  # fmt: skip
    assert code == 0, err
    deltas = pd.read_csv(next(out.glob("deltas.csv")), encoding="utf-8-sig")
    moved = deltas[deltas["delta"].abs() > 0]
    assert len(moved) > 0  # the one path of each run differs somewhere
    assert not moved["significant"].astype(bool).any()
    assert moved["delta_ci_low"].isna().all()
