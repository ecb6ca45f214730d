"""A plans table is checked once per ``allocate --plans`` run (session 21): the CLI checks it
(``check_plans``, which returns a ``CheckedPlans``) and every later use -- ``match_plans``,
each week's plan offer with ``--weeks``, the strategy tree with ``--explain-tree`` -- takes
that without checking it again (on main, acd3eae, ``--weeks 3`` checked it 5 times and
``--explain-tree`` 3 times). A raw DataFrame is still checked, once, wherever it enters;
a ``CheckedPlans`` used with another book is checked against that book.

The plans table here is made from the generated book by its own rule (the SPEC §8 columns
``account_id, status, npv_vs_status_quo, term, npv``), not by the code under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_inprocess import run_workout

import solver.allocation.plans_table as plans_table
import solver.core.columns as columns
from solver.allocation.catalogue import Catalogue
from solver.allocation.horizon import plan_horizon
from solver.allocation.horizon_model import build_horizon
from solver.allocation.portfolio import allocate
from solver.allocation.teams import Teams
from solver.core.readers import read_portfolio
from solver.errors import InputError

#: Accounts of the generated book (small: the CLI runs below take a second or two each).
N_ACCOUNTS = 120


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    """A generated book and a plans table for it, as CSV files."""
    folder = tmp_path_factory.mktemp("s21_offers")
    book = folder / "book.csv"
    code, _, err = run_workout(
        "generate", "portfolio", "--n", N_ACCOUNTS, "--seed", 7, "--out", book
    )
    assert code == 0, err
    frame = pd.read_csv(book, dtype={"account_id": str})
    plans = folder / "plans.csv"
    _plans_for(frame).to_csv(plans, index=False)
    return book, plans


def _plans_for(frame: pd.DataFrame) -> pd.DataFrame:
    """A plan-portfolio-shaped table for a book: every account but the last has a row;
    uplifts and NPVs well inside 10 times the balance, a blank uplift and term, a status
    that is not eligible, and a term-0 row without a plan."""
    balance = (frame["principal"] + frame["interest_due"] + frame["fees_due"]).to_numpy()
    m = len(frame) - 1
    rows = np.arange(m)
    uplift = np.round(0.04 * balance[:m] * (1 + rows % 3), 2)
    uplift[rows % 11 == 5] = -25.0
    table = pd.DataFrame(
        {
            "account_id": frame["account_id"].to_numpy()[:m],
            "status": np.where(rows % 7 == 3, "NPV_TEST_FAILED", "RECOMMENDED"),
            "npv_vs_status_quo": uplift,
            "term": np.where(rows % 4 == 0, 24, 60).astype(float),
            "npv": np.round(0.6 * balance[:m], 2),
        }
    )
    table.loc[2, ["npv_vs_status_quo", "term"]] = np.nan
    table.loc[9, ["npv_vs_status_quo", "term"]] = [np.nan, 0.0]
    return table


@pytest.fixture
def count_checks(monkeypatch) -> list[str]:
    """The ``source`` of every ``check_plans`` call from now on (the real check still runs)."""
    calls: list[str] = []
    real = plans_table.check_plans

    def counting(plan_table, frame, source):
        calls.append(source)
        return real(plan_table, frame, source)

    monkeypatch.setattr(plans_table, "check_plans", counting)
    return calls


@pytest.fixture(scope="module")
def book(files) -> pd.DataFrame:
    """The generated book, read and validated as the CLI reads it."""
    return read_portfolio(files[0])


@pytest.fixture(scope="module")
def plans(files) -> pd.DataFrame:
    """The plans table, read as the CLI reads it."""
    return plans_table.read_plans(files[1])


def test_allocate_weeks_checks_the_plans_once(files, tmp_path, count_checks):
    """`allocate --plans F --weeks 3` runs check_plans once, named after --plans."""
    book, plans = files
    code, _, err = run_workout(
        "allocate", book, "--plans", plans, "--weeks", 3, "--paths", 2, "--quiet",
        "--format", "json", "--out", tmp_path / "w.csv",
    )  # fmt: skip
    assert code == 0, err
    assert count_checks == [f"--plans {plans}"]


def test_allocate_explain_tree_checks_the_plans_once(files, tmp_path, count_checks):
    """`allocate --plans F --explain-tree 2` (allocation, then the strategy tree's
    plan_uplift feature) runs check_plans once."""
    book, plans = files
    code, _, err = run_workout(
        "allocate", book, "--plans", plans, "--explain-tree", 2, "--quiet",
        "--format", "csv", "--out", tmp_path / "a.csv",
    )  # fmt: skip
    assert code == 0, err
    assert count_checks == [f"--plans {plans}"]


def test_a_raw_table_in_the_library_is_checked_once(book, plans, count_checks):
    """Library callers passing a raw DataFrame: build_horizon checks it once for all its
    weeks (was once per week and once more), allocate once."""
    catalogue = Catalogue.default()
    teams = Teams.from_toml(compliance=catalogue.compliance)
    build_horizon(book, catalogue, teams, weeks=3, plans=plans)
    assert count_checks == ["plans"]
    allocate(book, catalogue, teams, plans=plans, time_limit=30)
    assert count_checks == ["plans", "plans"]


def test_recommended_plans_still_refuses_a_raw_table_with_a_bad_row(book, plans):
    """A raw DataFrame with a non-numeric npv_vs_status_quo is an InputError naming source,
    row, account and column, even once a good table has been checked for the same book."""
    plans_table.check_plans(plans, book, "good.csv")
    bad = plans.copy()
    bad["npv_vs_status_quo"] = bad["npv_vs_status_quo"].astype(object)
    bad.loc[4, "npv_vs_status_quo"] = "12,000 yuan"
    account = bad.loc[4, "account_id"]
    with pytest.raises(InputError) as caught:
        plans_table.recommended_plans(book, bad, Catalogue.default(), source="bad.csv")
    assert caught.value.problems == [
        f"bad.csv: row 5 (account_id {account}): npv_vs_status_quo: not a finite number: "
        "'12,000 yuan'"
    ]


def test_a_checked_table_used_with_another_book_is_checked_against_it(book, plans):
    """A CheckedPlans made for one book, given with a book whose balances are 100 times
    smaller, is checked again: its NPVs (0.6 times the first book's balance) are now more
    than 10 times the balance (SPEC: a unit mix-up), refused, not used."""
    checked = plans_table.check_plans(plans, book, "plans.csv")
    small = book.copy()
    for column in ("principal", "interest_due", "fees_due"):
        small[column] = small[column] / 100.0
    with pytest.raises(InputError, match=r"npv: .* is more than 10 times the account's balance"):
        plans_table.recommended_plans(small, checked, Catalogue.default(), source="plans.csv")


def test_a_checked_table_is_read_from_the_parsed_values(book, plans, monkeypatch):
    """recommended_plans with a CheckedPlans of this book parses no column again and gives
    the raw table's result: uplift where eligible and positive (else 0), term and npv (NaN
    where blank), as written in the table."""
    catalogue = Catalogue.default()
    checked = plans_table.check_plans(plans, book, "plans.csv")
    parsed: list[object] = []
    real = columns.parse_numeric
    monkeypatch.setattr(columns, "parse_numeric", lambda *a, **k: parsed.append(a) or real(*a, **k))
    uplift, term, npv = plans_table.recommended_plans(book, checked, catalogue)
    assert parsed == []
    # oracle: the table's own numbers, account by account
    row = {a: i for i, a in enumerate(plans["account_id"])}
    want = np.zeros((3, len(book)))
    want[1:] = np.nan
    for j, account in enumerate(book["account_id"].astype(str)):
        i = row.get(account)
        if i is None:
            continue
        gain = plans["npv_vs_status_quo"].iloc[i]
        if plans["status"].iloc[i] == "RECOMMENDED" and gain > 0:
            want[:, j] = [gain, plans["term"].iloc[i], plans["npv"].iloc[i]]
    assert np.array_equal(np.vstack([uplift, term, npv]), want, equal_nan=True)
    raw = plans_table.recommended_plans(book, plans, catalogue)
    assert parsed  # the spy sees the parsing of a raw table
    assert np.array_equal(np.vstack(raw), want, equal_nan=True)


def test_checked_and_raw_tables_plan_alike(book, plans):
    """plan_horizon and allocate give the same tables and figures for the checked table as
    for the raw one (the CLI passes the checked one)."""
    catalogue = Catalogue.default()
    teams = Teams.from_toml(compliance=catalogue.compliance)
    checked = plans_table.check_plans(plans, book, "plans.csv")
    runs = [
        plan_horizon(book, catalogue, teams, weeks=3, paths=2, plans=table)
        for table in (plans, checked)
    ]
    pd.testing.assert_frame_equal(runs[0].assignments, runs[1].assignments)
    assert runs[0].comparison == runs[1].comparison
    solved = [allocate(book, catalogue, teams, plans=t, time_limit=30) for t in (plans, checked)]
    pd.testing.assert_frame_equal(solved[0].assignments, solved[1].assignments)
    assert solved[0].objective == solved[1].objective
