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
