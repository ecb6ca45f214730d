"""Tests of champion/challenger splits and evaluations (solver.scenarios.experiment, `workout experiment`)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from solver.errors import InputError
from solver.scenarios.experiment import split_portfolio
from solver.scenarios.experiment_eval import evaluate_outcomes
from solver.scenarios.experiment_outcomes import read_outcomes
from solver.scenarios.experiment_stats import welch_test

DATA = Path(__file__).parent / "data" / "scenario"


@pytest.fixture(scope="module")
def portfolio():
    from solver.core.generate import generate_portfolio

    return generate_portfolio(1500, seed=21)


def test_split_is_stratified_and_exact(portfolio):
    """The challenger total is round(share·n) and every stratum is within one account of
    its exact share (largest remainder)."""
    result = split_portfolio(portfolio, 0.1, seed=7, strata=("tier", "dpd_bucket"))
    table = result.table
    assert len(table) == len(portfolio)
    assert (table["group"] == "challenger").sum() == round(0.1 * len(portfolio))
    counts = table.groupby(["tier", "dpd_bucket"])["group"].agg(
        n="size", k=lambda g: (g == "challenger").sum()
    )
    assert (abs(counts["k"] - 0.1 * counts["n"]) < 1.0).all()
    assert result.summary["challenger"].sum() == round(0.1 * len(portfolio))


def test_split_is_seeded_and_ignores_row_order(portfolio):
    """Same seed → same groups, whatever the row order; another seed → another split."""
    a = split_portfolio(portfolio, 0.2, seed=3).table.set_index("account_id")["group"]
    shuffled = portfolio.sample(frac=1.0, random_state=1)
    b = split_portfolio(shuffled, 0.2, seed=3).table.set_index("account_id")["group"]
    pd.testing.assert_series_equal(a.sort_index(), b.sort_index())
    c = split_portfolio(portfolio, 0.2, seed=4).table.set_index("account_id")["group"]
    assert (a != c).any()


def test_split_rejects_bad_share_and_unknown_strata(portfolio):
    """A share outside (0, 1) and an unknown strata column are input errors with a hint."""
    with pytest.raises(InputError, match="share"):
        split_portfolio(portfolio, 1.0)
    with pytest.raises(InputError) as err:
        split_portfolio(portfolio, 0.1, strata=("tire",), source="p.csv")
    assert "p.csv" in str(err.value) and "did you mean 'tier'" in str(err.value)


def test_sample_size_textbook_values():
    """Sample sizes match textbook values: a mean shift of 0.5 sd needs 64 per group
    (Welch's t-test's own power, session 24; Cohen 1988, Table 2.4.1: 64), one more than the
    normal approx. (The cure rate's Fleiss sizes went with its z-test in session 25:
    tests/test_s25_scen_exp.py.)"""
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, 4000)
    b = a + 0.5  # same spread, shifted by 0.5 sd
    w = welch_test(a, b)
    assert w["uplift"] == pytest.approx(0.5)
    normal = math.ceil(2 * (1.959963984540054 + 0.8416212335729143) ** 2 * np.var(a, ddof=1) / 0.25)
    assert w["need_champion"] == normal + 1
    assert abs(w["need_champion"] - 64) <= 2


def test_welch_matches_scipy_confidence_interval():
    """The Welch interval equals scipy's ttest_ind(equal_var=False).confidence_interval()."""
    from scipy.stats import ttest_ind

    rng = np.random.default_rng(1)
    a, b = rng.normal(0.2, 0.1, 300), rng.normal(0.23, 0.15, 60)
    w = welch_test(a, b)
    ci = ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert w["ci_low"] == pytest.approx(ci.low, rel=1e-9)
    assert w["ci_high"] == pytest.approx(ci.high, rel=1e-9)


def test_evaluate_example_outcomes():
    """The shipped example: group counts, cure rates and the metric rows with notes."""
    frame = read_outcomes(DATA / "outcomes.csv")
    result = evaluate_outcomes(frame)
    groups = result.groups.set_index("group")
    assert groups.loc["champion", "accounts"] == 400 and groups.loc["challenger", "accounts"] == 100
    assert groups.loc["champion", "cured"] == 122 and groups.loc["challenger", "cured"] == 34
    uplift = result.uplift.set_index("metric")
    assert set(uplift.index) == {
        "cure_rate",
        "recovery_rate",
        "recovery_rate_pooled",
        "net_recovery_rate",
    }
    # Welch's t on the 0/1 outcomes since session 25 (scipy: ttest_ind(..., equal_var=False))
    assert uplift.loc["cure_rate", "p_value"] == pytest.approx(0.5092, abs=1e-4)
    assert not uplift.loc["cure_rate", "significant"]
    assert (uplift["ci_low"] <= uplift["uplift"]).all() and (
        uplift["uplift"] <= uplift["ci_high"]
    ).all()
    assert len(result.notes) == 4 and "too small" in result.notes[0]
    assert result.segments is not None and set(result.segments["segment_type"]) == {
        "tier",
        "dpd_bucket",
    }


def test_bad_outcomes_list_every_problem():
    """Every problem of a broken outcomes file is listed with file, row, account_id, column."""
    with pytest.raises(InputError) as err:
        read_outcomes(DATA / "bad_outcomes.csv")
    problems = err.value.problems
    text = "\n".join(problems)
    assert "row 2 (account_id B2): group" in text
    assert "row 3 (account_id B3): balance: must be > 0" in text
    assert "row 4 (account_id B3): account_id: duplicate" in text
    assert "row 4 (account_id B3): collected: not a number" in text
    assert "row 4 (account_id B3): cured" in text
    assert all("bad_outcomes.csv" in p for p in problems)


def test_outcomes_read_by_the_projects_table_reader(tmp_path):
    """Outcomes files go through solver.core.tables.read_table: an unknown suffix and a
    missing file name the file; an Excel copy of a CSV reads to the same table, ids
    keeping their leading zeros."""
    text = tmp_path / "outcomes.txt"
    text.write_text("account_id,group\n")
    with pytest.raises(InputError, match=r"outcomes\.txt: unknown table format '\.txt'"):
        read_outcomes(text)
    with pytest.raises(InputError, match=r"absent\.csv: file not found"):
        read_outcomes(tmp_path / "absent.csv")
    rows = [
        ("007", "champion", "100", "10", "yes", "0"),
        ("A2", "champion", "200", "0", "no", "5"),
        ("A3", "challenger", "150", "30", "1", "2"),
        ("A4", "challenger", "120", "12", "0", "1"),
    ]
    frame = pd.DataFrame(
        rows, columns=["account_id", "group", "balance", "collected", "cured", "cost"]
    )
    frame.to_csv(tmp_path / "o.csv", index=False)
    frame.to_excel(tmp_path / "o.xlsx", index=False)
    from_csv, from_excel = read_outcomes(tmp_path / "o.csv"), read_outcomes(tmp_path / "o.xlsx")
    pd.testing.assert_frame_equal(from_csv, from_excel)
    assert from_csv["collected"].tolist() == [10.0, 0.0, 30.0, 12.0]
    assert from_csv["account_id"].tolist()[0] == "007"


def _cli(args: list[str]) -> int:
    from cli import workout
    from commands.common import run_cli

    return run_cli(workout, args)


def test_cli_split_and_evaluate(tmp_path, capsys):
    """`experiment split` writes the assignment; `experiment evaluate` writes the reports."""
    from solver.core.generate import generate_portfolio
    from solver.core.writers import write_table

    portfolio = tmp_path / "p.csv"
    write_table(generate_portfolio(400, seed=2), portfolio)
    out = tmp_path / "split.csv"
    assert (
        _cli(
            [
                "experiment",
                "split",
                str(portfolio),
                "--share",
                "0.25",
                "--seed",
                "9",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    table = pd.read_csv(out)
    assert (table["group"] == "challenger").sum() == 100
    assert "challenger share" in capsys.readouterr().out
    report = tmp_path / "eval"
    assert (
        _cli(["experiment", "evaluate", str(DATA / "outcomes.csv"), "--out-dir", str(report)]) == 0
    )
    for name in ("uplift.csv", "groups.csv", "report.xlsx", "report.html"):
        assert (report / name).is_file()
    assert "Welch t-test" in capsys.readouterr().out


def test_cli_bad_inputs_exit_2_and_write_nothing(tmp_path, capsys):
    """Bad outcomes or strata exit with 2, print no traceback and write nothing."""
    report = tmp_path / "eval"
    assert (
        _cli(["experiment", "evaluate", str(DATA / "bad_outcomes.csv"), "--out-dir", str(report)])
        == 2
    )
    assert not report.exists()
    from solver.core.generate import generate_portfolio
    from solver.core.writers import write_table

    portfolio = tmp_path / "p.csv"
    write_table(generate_portfolio(50, seed=2), portfolio)
    out = tmp_path / "split.csv"
    assert _cli(["experiment", "split", str(portfolio), "--strata", "tire", "--out", str(out)]) == 2
    assert not out.exists()
    assert "Traceback" not in capsys.readouterr().err
