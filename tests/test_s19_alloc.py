"""Session 19 review of ``workout allocate`` (branch s19-alloc): languages, the ``--plans`` and
``--replan`` checks, the ``reason`` column and ``--model``.

Oracles are written here from SPEC §3 (``language`` optional), §5/§8 (the treatment rules,
read from the catalogue TOML as plain data), §7 (``allocate`` takes a calibrated model) and
§11 (exit 2 naming file, row and column, nothing written); the commands run in process
(``tests/cli_inprocess``).

Which of these fail on main (999f004), and why:

* ``test_blank_or_missing_language_puts_no_requirement``, ``test_language_ignores_case_and_spaces``:
  a blank language matched no team, ``ZH`` was not ``zh``;
* ``test_unserved_language_is_warned``: no warning;
* ``test_bad_plans_rows_are_listed``, ``test_bad_replan_rows_are_listed``: accepted (exit 0)
  or only the first problem;
* ``test_reasons_name_a_rule_that_excludes``: 43 "hardship" reasons on accounts the
  treatment was never for;
* ``test_model_reaches_weeks_and_plan_offer``: no ``--model`` option (exit 2).

``test_plan_portfolio_output_is_accepted`` and ``test_same_step_twice_is_accepted`` pass on
main (they guard the checks against refusing good files).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_inprocess import run_workout
from oracles import read_catalogue_file

from solver.allocation.catalogue import Catalogue
from solver.allocation.compliance import eligibility
from solver.allocation.portfolio import allocate
from solver.allocation.teams import Teams
from solver.core.generate import generate_portfolio

ROOT = Path(__file__).resolve().parents[1]
#: Team-served treatments matched by language (SPEC §8: collectors' and the robot's languages).
SPOKEN = {"ai_voice", "agent_call", "senior_call", "field_visit"}


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 generated accounts written by ``workout generate portfolio``."""
    path = tmp_path_factory.mktemp("s19alloc") / "book.csv"
    code, _, err = run_workout("generate", "portfolio", "--n", 40, "--seed", 7, "--out", path)
    assert code == 0, err
    return path


def _allowed(frame: pd.DataFrame, catalogue: Catalogue) -> np.ndarray:
    return eligibility(frame, catalogue, Teams.default()).allowed


def test_blank_or_missing_language_puts_no_requirement():
    """A missing or blank language allows what the rules allow with language matching off."""
    frame = generate_portfolio(300, seed=7)
    catalogue = Catalogue.default()
    unmatched = catalogue.replace(
        compliance=dataclasses.replace(catalogue.compliance, language_match=False)
    )
    expected = _allowed(frame, unmatched)
    assert (_allowed(frame.drop(columns=["language"]), catalogue) == expected).all()
    blank = frame.copy()
    blank["language"] = "  "
    assert (_allowed(blank, catalogue) == expected).all()
    names = list(catalogue.names)
    assert expected[names.index("agent_call")].any()


def test_language_ignores_case_and_spaces():
    """``" ZH "`` and ``"Yue"`` are ``zh`` and ``yue``: the same treatments are allowed."""
    frame = generate_portfolio(300, seed=7)
    catalogue = Catalogue.default()
    shouted = frame.copy()
    shouted["language"] = [f" {x.upper()} " for x in frame["language"].astype(str)]
    assert (_allowed(shouted, catalogue) == _allowed(frame, catalogue)).all()


def test_unserved_language_is_warned(book: Path, tmp_path: Path):
    """Accounts in a language no team lists: one stderr line with the counts, no spoken
    treatment, the reason naming the language; none for a book every team serves."""
    frame = pd.read_csv(book, dtype={"account_id": str})
    frame.loc[:9, "language"] = "fr"
    frame.loc[10:11, "language"] = "DE "
    path = tmp_path / "fr.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "a.csv"
    code, _, err = run_workout("allocate", path, "--out", out, "--quiet", "--format", "json")
    assert code == 0, err
    lines = [x for x in err.splitlines() if x.startswith("warning:")]
    assert lines == [
        "warning: 12 accounts speak a language no team lists (fr: 10, de: 2); they get no "
        "ai_voice, agent_call, senior_call or field_visit treatment"
    ]
    table = pd.read_csv(out, dtype={"account_id": str}, keep_default_na=False).iloc[:12]
    assert not set(table["treatment"]) & SPOKEN
    named = table["reason"][table["reason"].str.contains(" team serves ")]
    assert named.str.endswith((" in fr", " in DE")).all()
    code, _, err = run_workout("allocate", book, "--out", out, "--quiet", "--format", "json")
    assert code == 0 and "warning" not in err


def _plans(book: Path) -> pd.DataFrame:
    """A plans table written by hand: every account RECOMMENDED, uplift 100, 12 months."""
    ids = pd.read_csv(book, dtype={"account_id": str})["account_id"]
    return pd.DataFrame(
        {"account_id": ids, "status": "RECOMMENDED", "npv_vs_status_quo": "100", "term": "12"}
    )


def test_bad_plans_rows_are_listed(book: Path, tmp_path: Path):
    """Every bad --plans row is named with its row, account and column; exit 2, no output."""
    plans = _plans(book)
    ids = plans["account_id"]
    plans.loc[0, "npv_vs_status_quo"] = "abc"
    plans.loc[1, "npv_vs_status_quo"] = "1e12"
    plans.loc[2, "npv_vs_status_quo"] = "inf"
    plans.loc[3, "term"] = "0"
    plans.loc[4, "term"] = "-12"
    plans.loc[5, "term"] = "abc"
    plans.loc[6, "term"] = "2.5"
    plans = pd.concat([plans, plans.iloc[[7]]], ignore_index=True)
    path, out = tmp_path / "plans.csv", tmp_path / "a.csv"
    plans.to_csv(path, index=False)
    code, _, err = run_workout("allocate", book, "--plans", path, "--out", out)
    assert code == 2
    assert not out.exists()
    expected = [
        (1, ids[0], "npv_vs_status_quo"),
        (2, ids[1], "npv_vs_status_quo"),
        (3, ids[2], "npv_vs_status_quo"),
        (4, ids[3], "term"),
        (5, ids[4], "term"),
        (6, ids[5], "term"),
        (7, ids[6], "term"),
        (len(plans), ids[7], "account_id"),
    ]
    found = re.findall(r"plans\.csv: row (\d+) \(account_id (\w+)\): (\w+): ", err)
    assert found == [(str(r), i, c) for r, i, c in expected], err
    assert "8 problems" in err
    assert "Traceback" not in err


def test_plan_portfolio_output_is_accepted(book: Path, tmp_path: Path):
    """The file ``workout plan-portfolio`` writes passes the --plans checks unchanged."""
    small = tmp_path / "small.csv"
    pd.read_csv(book, dtype={"account_id": str}).iloc[:8].to_csv(small, index=False)
    plans = tmp_path / "plans.csv"
    code, _, err = run_workout("plan-portfolio", small, "--out", plans, "--quiet")
    assert code == 0, err
    out = tmp_path / "a.csv"
    code, _, err = run_workout("allocate", small, "--plans", plans, "--out", out, "--quiet")
    assert code == 0, err
    assert "error" not in err


def test_bad_replan_rows_are_listed(book: Path, tmp_path: Path):
    """--replan: an unknown account, two steps for one account and an unknown step are all
    named (row, account, column); exit 2, no output."""
    ids = pd.read_csv(book, dtype={"account_id": str})["account_id"]
    steps = pd.DataFrame(
        {
            "account_id": [ids[0], ids[0], "ZZ999", ids[1]],
            "status": "broken",
            "step": ["reage", "escalate", "monitor", "later"],
        }
    )
    path, out = tmp_path / "steps.csv", tmp_path / "a.csv"
    steps.to_csv(path, index=False)
    code, _, err = run_workout("allocate", book, "--replan", path, "--out", out)
    assert code == 2
    assert not out.exists()
    found = re.findall(r"steps\.csv: row (\d+) \(account_id (\w+)\): (\w+): ", err)
    assert found == [
        ("1", ids[0], "step"),
        ("2", ids[0], "step"),
        ("3", "ZZ999", "account_id"),
        ("4", ids[1], "step"),
    ], err


def test_same_step_twice_is_accepted(book: Path, tmp_path: Path):
    """One account given the same step on two rows is no conflict."""
    ids = pd.read_csv(book, dtype={"account_id": str})["account_id"]
    steps = pd.DataFrame({"account_id": [ids[0], ids[0]], "step": ["monitor", "monitor"]})
    path, out = tmp_path / "steps.csv", tmp_path / "a.csv"
    steps.to_csv(path, index=False)
    code, _, err = run_workout("allocate", book, "--replan", path, "--out", out, "--quiet")
    assert code == 0, err


def _bucket(dpd: int) -> str:
    """SPEC §5: M0 current, M1 1–30, M2 31–60, M3 61–90, M4+ > 90."""
    for bucket, last in (("M0", 0), ("M1", 30), ("M2", 60), ("M3", 90)):
        if dpd <= last:
            return bucket
    return "M4+"


def _meant_for(raw: dict, name: str, row: dict) -> bool:
    """Whether treatment ``name``'s own tiers, buckets and balance range fit the account
    (the catalogue TOML's keys; a missing key allows every value)."""
    t = raw["treatments"][name]
    balance = row["principal"] + row["interest_due"] + row["fees_due"]
    return (
        row["tier"] in t.get("tiers", ["A", "B", "C", "D", "E"])
        and _bucket(int(row["dpd"])) in t.get("dpd_buckets", ["M0", "M1", "M2", "M3", "M4+"])
        and t.get("min_balance", 0.0) <= balance <= t.get("max_balance", float("inf"))
    )


@pytest.mark.parametrize("tight", [False, True])
def test_reasons_name_a_rule_that_excludes(tight: bool):
    """A hardship or gentle-treatment reason names a treatment the account was otherwise for,
    and the rule really applies to it (also with teams cut to a sixth and a budget)."""
    raw = read_catalogue_file()
    comp = raw["compliance"]
    frame = generate_portfolio(400, seed=7).copy()
    rng = np.random.default_rng(7)
    frame["hardship"] = frame["hardship"].to_numpy() | (rng.random(len(frame)) < 0.3)
    teams = Teams.default().scaled(1 / 6) if tight else Teams.default()
    result = allocate(
        frame, Catalogue.default(), teams, budget=3000.0 if tight else None, time_limit=20
    )
    rows = frame.set_index("account_id").to_dict(orient="index")
    checked = 0
    for account, reason in zip(
        *(result.assignments[c] for c in ("account_id", "reason")), strict=True
    ):
        row = rows[account]
        hard = re.fullmatch(r"hardship: no (\w+)", reason)
        gentle = re.fullmatch(r"gentle treatment for tier (\w) in (M\S+): no (\w+)", reason)
        if hard:
            name = hard.group(1)
            assert row["hardship"] and name in comp.get(
                "hardship_forbidden", ["field_visit", "legal"]
            )
        elif gentle:
            name = gentle.group(3)
            assert row["tier"] in comp["gentle_tiers"]
            assert _bucket(int(row["dpd"])) in comp["gentle_buckets"]
            assert not raw["treatments"][name].get("gentle", False)
        else:
            continue
        assert _meant_for(raw, name, row), (account, reason)
        checked += 1
    assert checked > 20


def test_model_reaches_weeks_and_plan_offer(book: Path, tmp_path: Path):
    """--model: other hazards change the --weeks figures, another cost of funds the plan
    offer's value; the bundled model file gives the output of no option."""
    default = ROOT / "scenarios" / "behaviour.toml"
    text = default.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^cost_of_funds = [0-9.]+", "cost_of_funds = 0.6", text)
    for tier, value in zip("ABCDE", ("0.05", "0.08", "0.12", "0.2", "0.3"), strict=True):
        text = re.sub(rf"(?m)^{tier} = [0-9.]+", f"{tier} = {value}", text)
    other = tmp_path / "model.toml"
    other.write_text(text, encoding="utf-8")
    plans = tmp_path / "plans.csv"
    _plans(book).to_csv(plans, index=False)

    def run(*extra: object, weeks: bool = False) -> dict:
        out = tmp_path / "a.csv"
        args = ["allocate", book, "--plans", plans, "--out", out, "--format", "json", *extra]
        if weeks:
            args += ["--weeks", 2, "--paths", 2]
        code, stdout, err = run_workout(*args)
        assert code == 0, err
        summary = json.loads(stdout)
        # the figures, not the clock (runtime, work share)
        kept = ("objective", "totals", "by_treatment", "comparison", "bound", "by_week")
        figures = {k: v for k, v in summary.items() if k in kept}
        return {"summary": figures, "table": out.read_text(encoding="utf-8")}

    base, changed, same = run(), run("--model", other), run("--model", default)
    # a dearer cost of funds front-loads the plan's level stream: more of it inside the horizon
    assert changed["summary"]["objective"] != base["summary"]["objective"]
    assert same == base
    base_w, changed_w = run(weeks=True), run("--model", other, weeks=True)
    assert changed_w["summary"]["comparison"] != base_w["summary"]["comparison"]
    assert run("--model", default, weeks=True) == base_w
    code, _, err = run_workout(
        "allocate", book, "--model", tmp_path / "nope.toml", "--out", tmp_path / "x.csv"
    )
    assert code == 2 and "nope.toml" in err
