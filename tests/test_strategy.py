"""Tests of the readable strategy (solver.allocation.strategy, ``allocate --explain-tree``).

Oracles: scikit-learn's own ``predict`` for the rounded rules; SQLite running the exported
SQL on the book loaded into a table; treatment values and eligibility computed from SPEC
§5/§8 and the catalogue file by tests/oracles.py (not the allocation's code) for the tree's
value; minutes counted from the catalogue for capacity.
"""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from oracles import oracle_week_values, read_catalogue_file
from sklearn.tree import DecisionTreeClassifier

from solver.allocation.catalogue import Catalogue
from solver.allocation.portfolio import allocate, build_allocation_problem
from solver.allocation.strategy import explain_allocation, explain_result
from solver.allocation.strategy_features import book_features
from solver.allocation.teams import Teams
from solver.core.generate import generate_portfolio
from solver.errors import InputError


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.default()


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    frame = generate_portfolio(250, seed=3).copy()
    rng = np.random.default_rng(3)
    frame["hardship"] = frame["hardship"].to_numpy() | (rng.random(len(frame)) < 0.1)
    frame["dispute"] = frame["dispute"].to_numpy() | (rng.random(len(frame)) < 0.05)
    return frame


@pytest.fixture(scope="module")
def team_specs(book) -> list[dict]:
    """Small teams of every type serving every region and language (no collectors)."""
    langs, regions = sorted(set(book["language"])), sorted(set(book["region"]))
    spec = [("agents", "agent", 3000), ("seniors", "senior", 2000), ("field", "field", 2000)]
    spec += [("legal", "legal", 600), ("robot", "robot", 4000)]
    return [
        {"name": n, "type": t, "members": 1, "minutes_per_period": m,
         "languages": langs, "regions": regions}
        for n, t, m in spec
    ]  # fmt: skip


@pytest.fixture(scope="module")
def teams(team_specs, catalogue) -> Teams:
    return Teams.from_mapping({"teams": team_specs}, compliance=catalogue.compliance)


@pytest.fixture(scope="module")
def solved(book, catalogue, teams):
    result = allocate(
        book, catalogue, teams, time_limit=2, workers=1, exact_max_pairs=0, keep_problem=True
    )
    return result, {d: explain_result(book, catalogue, teams, result, d) for d in (2, 4)}


def test_rounded_rules_route_the_book_as_the_fitted_tree(book, solved):
    """The exported (rounded-threshold) rules predict what scikit-learn's tree predicts."""
    result, explained = solved
    x, _ = book_features(book)
    optimal = result.assignments["treatment"].to_numpy(dtype=object)
    for depth, e in explained.items():
        fitted = DecisionTreeClassifier(max_depth=depth, random_state=0).fit(x, optimal)
        assert (fitted.predict(x) == e.predicted).all()
        assert e.agreement == pytest.approx(float((e.predicted == optimal).mean()))
    assert explained[4].agreement >= explained[2].agreement


def test_sql_case_gives_the_tree_treatments_in_sqlite(book, solved, tmp_path):
    """The SQL export runs in SQLite on the book as a table and returns the tree's treatments."""
    _, explained = solved
    table = book.copy()
    for col in table.columns:
        if table[col].dtype == bool:
            table[col] = table[col].astype(int)
    con = sqlite3.connect(":memory:")
    table.to_sql("book", con, index=False)
    for e in explained.values():
        rows = dict(con.execute(e.to_sql()).fetchall())
        got = np.array([rows[a] for a in book["account_id"].astype(str)], dtype=object)
        assert (got == e.predicted).all()
        # the JSON export carries the same rules and figures
        doc = json.loads(json.dumps(e.to_json()))
        assert doc["fidelity"]["agreement"] == e.agreement
        assert e.to_text().count("→") == doc["fidelity"]["leaves"]


def test_tree_value_by_catalogue_and_eligibility(book, team_specs, solved):
    """The tree's value: each account's value of the tree treatment (none where forbidden),
    from the oracle's values and eligibility (SPEC §5/§8, the catalogue file); no
    collectors, so no team changes a value."""
    result, explained = solved
    names, value = oracle_week_values(
        read_catalogue_file(), book.to_dict(orient="records"), team_specs
    )
    allowed = np.isfinite(value)
    for e in explained.values():
        t = np.array([names.index(p) for p in e.predicted])
        cols = np.arange(len(book))
        ok = allowed[t, cols]
        total = np.where(ok, value[t, cols], value[names.index("none"), cols]).sum()
        assert e.tree_value == pytest.approx(round(float(total), 2), abs=0.011)
        assert sum(e.forbidden.values()) == int((~ok).sum())
        assert e.optimum_value == result.objective
        assert e.value_lost == pytest.approx(result.objective - e.tree_value, abs=0.011)


def test_capacity_overrun_is_reported(book, catalogue, teams):
    """Imitating an assignment that ignores capacity, the tree overruns teams: every team
    whose minutes (counted from the catalogue) exceed its capacity is named, and only those."""
    built = build_allocation_problem(book, catalogue, teams)
    greedy = np.argmax(np.where(np.isfinite(built.value), built.value, -1e18), axis=0)
    e = explain_allocation(book, catalogue, teams, built, greedy, 3)
    minutes = {k: 0.0 for k in teams.names}
    for opt in e.assignment:
        k = built.option_team[opt]
        if k >= 0:
            minutes[teams.names[k]] += catalogue.treatments[built.option_treatment[opt]].minutes
    over = {
        k
        for k, used in minutes.items()
        if used > teams.teams[teams.names.index(k)].minutes_per_period
    }
    assert over, "the test needs an overrun"
    assert {k.split(" ")[1] for k in e.overruns} == over
    assert not e.respects_capacity


def test_cli_explain_tree_writes_three_exports(tmp_path, capsys, book):
    from cli import workout
    from commands.common import run_cli

    source = tmp_path / "p.csv"
    book.to_csv(source, index=False)
    prefix = tmp_path / "rules"
    argv = ["allocate", str(source), "--out", str(tmp_path / "a.csv"), "--time-limit", "5"]
    code = run_cli(workout, [*argv, "--explain-tree", "3", "--explain-tree-out", str(prefix),
                             "--format", "json"])  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert {"agreement", "value_lost", "respects_capacity"} <= set(summary["explain_tree"])
    for suffix in (".txt", ".json", ".sql"):
        assert (tmp_path / f"rules{suffix}").stat().st_size > 0
    # a prefix without --explain-tree is a usage error; nothing is written
    out = tmp_path / "b.csv"
    bad = ["allocate", str(source), "--out", str(out), "--explain-tree-out", str(tmp_path / "x")]
    assert run_cli(workout, bad) == 2
    assert not out.exists()


def test_depth_out_of_range_is_an_input_error(book, catalogue, teams):
    built = build_allocation_problem(book, catalogue, teams)
    with pytest.raises(InputError, match="depth"):
        explain_allocation(book, catalogue, teams, built, np.zeros(len(book), dtype=int), 9)


def test_explain_result_uses_the_solved_problem(book, catalogue, teams, solved):
    """--explain-tree explains the problem allocate solved (kept in the result), not a
    rebuilt one; a result solved without keeping it is refused."""
    result, explained = solved
    assert result.problem is not None
    assert explained[2].optimum_value == result.objective
    small = book.head(30)
    plain = allocate(small, catalogue, teams, time_limit=2, workers=1)
    assert plain.problem is None
    with pytest.raises(ValueError, match="keep_problem"):
        explain_result(small, catalogue, teams, plain, 2)
