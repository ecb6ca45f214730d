"""Session 23 review of `workout scenario`: the book's opening balance and the concessions
KPI, the HTML deltas' colours, reused output folders, the summary of what ran, numbers in
the About sheets, baselines on another book, frontier names checked first, roll labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from solver.core.generate import generate_portfolio

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Keep the CLI's plan cache out of the home directory."""
    monkeypatch.setenv("WORKOUT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "plan-cache"))


def _scenario_file(root: Path, name: str, tables: str, book: str = "book.csv") -> Path:
    """The scenario file ``name``: the TOML ``tables`` and the CSV ``book`` as portfolio."""
    path = root / f"{name}.toml"
    path.write_text(f'name = "{name}"\n{tables}\n[portfolio]\npath = "{book}"\n', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def generous_pair(tmp_path_factory):
    """generous_policy and baseline on 12 accounts of the review's 300-account book (seed
    2025), among them CI00000003 (owes 74,633.10; generous_policy gives it a concession)."""
    from solver.scenarios.run import run_scenario
    from solver.scenarios.spec import load_scenario

    root = tmp_path_factory.mktemp("s23gen")
    book = generate_portfolio(300, seed=2025).iloc[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 182]]
    book.to_csv(root / "book.csv", index=False)
    runs = {
        name: run_scenario(
            load_scenario(
                _scenario_file(
                    root,
                    name,
                    f'extends = "{(SCENARIOS / name).as_posix()}.toml"\n'
                    "[collection]\nenabled = false\n"
                    "[simulation]\npaths = 6\nhorizon_months = 12\nseed = 3",
                )
            )
        )
        for name in ("generous_policy", "baseline")
    }
    return book, runs


def test_opening_balance_is_the_books_balance_owed_in_every_run(generous_pair):
    """opening_balance = Σ(principal + interest_due + fees_due) of the book (hand sum of the
    CSV columns) for both runs, so their rates share one denominator; CI00000003's row
    shows 74,633.10 (the review's figure)."""
    book, runs = generous_pair
    owed = book["principal"] + book["interest_due"] + book["fees_due"]
    expected = round(float(owed.sum()), 2)
    for result in runs.values():
        assert result.kpi("opening_balance") == pytest.approx(expected, abs=0.011)
        row = result.accounts.set_index("account_id").loc["CI00000003"]
        assert float(row["opening_balance"]) == pytest.approx(74633.10, abs=0.005)


def test_concessions_are_a_kpi_that_reconciles(generous_pair):
    """concession_forgiven = book balance − the plans' month-1 balance (> 0 under the
    generous policy, which waives/cuts for CI00000003), equals the accounts' column summed,
    and forgiven_rate = concession_forgiven / opening_balance."""
    from solver.scenarios.kpi_defs import KPIS

    _, runs = generous_pair
    generous = runs["generous_policy"]
    forgiven = generous.kpi("concession_forgiven")
    assert forgiven > 0
    column = generous.accounts["concession_forgiven"]
    assert forgiven == pytest.approx(float(column.sum()), abs=0.02)
    row = generous.accounts.set_index("account_id").loc["CI00000003"]
    assert float(row["concession_forgiven"]) > 0
    assert generous.kpi("forgiven_rate") == pytest.approx(
        forgiven / generous.kpi("opening_balance"), abs=1e-6
    )
    assert "waiver" in KPIS["concession_forgiven"][1]
    # the status quo forgives nothing: every non-restructured account's row is 0
    quo = generous.accounts[~generous.accounts["restructured"]]
    assert np.all(np.abs(quo["concession_forgiven"].to_numpy(float)) < 0.005)


def _cell_classes(page: str) -> dict[str, list[str]]:
    """KPI name → the CSS classes of its row's numeric cells in an html_table page."""
    import re

    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", page):
        cells = re.findall(r'<td(?: class="([^"]*)")?>([^<]*)</td>', row)
        if cells:
            out[cells[0][1]] = [c for c, _ in cells[1:]]
    return out


def test_html_deltas_are_coloured_by_what_is_good_for_the_bank():
    """report.html's delta cells: a higher credit_loss or collection_cost is red (.neg), a
    higher recovery_rate green (.pos), a lower credit_loss green; a zero delta and the
    book's opening_balance get no colour (the review: colour by sign showed losses green)."""
    from solver.scenarios.report_html import html_table

    frame = pd.DataFrame(
        {
            "kpi": [
                "credit_loss",
                "collection_cost",
                "recovery_rate",
                "default_rate",
                "npl_ratio_at_horizon",
                "opening_balance",
            ],
            "delta": [1000.0, 5.0, 0.01, -0.02, 0.0, 12.0],
            "delta_pct": [0.1, 0.2, 0.05, -0.1, 0.0, 0.001],
        }
    )
    classes = _cell_classes(html_table(frame))
    assert classes["credit_loss"] == ["num neg", "num neg"]
    assert classes["collection_cost"] == ["num neg", "num neg"]
    assert classes["recovery_rate"] == ["num pos", "num pos"]
    assert classes["default_rate"] == ["num pos", "num pos"]
    assert classes["npl_ratio_at_horizon"] == ["num", "num"]
    assert classes["opening_balance"] == ["num", "num"]


def test_chart_and_html_share_one_definition_of_better():
    """kpi_deltas.png's colours come from kpis.better_for_bank, the HTML's rule: the chart
    module holds no list of its own (one definition)."""
    import solver.scenarios.report_charts as charts
    from solver.scenarios.kpi_defs import better_for_bank

    assert not hasattr(charts, "_HIGHER_IS_BETTER")
    assert "better_for_bank" in Path(charts.__file__).read_text(encoding="utf-8")
    assert better_for_bank("credit_loss", 1.0) is False
    assert better_for_bank("recovery_rate_total", 1.0) is True


def _quick_scenario(root: Path, name: str, book: str, extra: str = "") -> Path:
    """A scenario without plans or treatments on the CSV ``book``: 12 months, 4 paths."""
    return _scenario_file(
        root,
        name,
        f'[model]\npath = "{(SCENARIOS / "behaviour.toml").as_posix()}"\n'
        "[plans]\nrestructure = false\n"
        "[simulation]\npaths = 4\nhorizon_months = 12\nseed = 5\n" + extra,
        book,
    )


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """A 40-account book; its run with no shock and with an unemployment shock (20 %,
    income x0.4) on tiers C-E."""
    from solver.scenarios.run import run_scenario
    from solver.scenarios.spec import load_scenario

    root = tmp_path_factory.mktemp("s23quick")
    generate_portfolio(40, seed=11).to_csv(root / "book.csv", index=False)
    base = _quick_scenario(root, "base", "book.csv")
    shock = _quick_scenario(
        root,
        "shock",
        "book.csv",
        "[shocks]\nunemployment_months = 6\n[[shocks.segments]]\n"
        'tier = ["C", "D", "E"]\nunemployment_probability = 0.2\n'
        "unemployment_income_multiplier = 0.4\n",
    )
    return root, run_scenario(load_scenario(base)), run_scenario(load_scenario(shock))


def test_a_run_into_a_used_folder_replaces_the_earlier_runs_files(quick_runs, tmp_path):
    """A run without a baseline into the folder of a run with one leaves no deltas.csv or
    kpi_deltas.png; a user's file there stays, even one with a name the tool writes, and so
    does an earlier output the user has edited; every file a run writes is in OUTPUT_FILES."""
    from solver.scenarios.report import MANIFEST, OUTPUT_FILES, write_scenario_report

    _, base, shock = quick_runs
    out = tmp_path / "out"
    first = write_scenario_report(shock, out, baseline=base)
    assert {p.name for p in first} <= OUTPUT_FILES
    assert (out / "deltas.csv").exists() and (out / "kpi_deltas.png").exists()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    second = write_scenario_report(shock, out)
    names = [*(p.name for p in second), "notes.txt", MANIFEST]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    assert not (out / "deltas.csv").exists() and not (out / "kpi_deltas.png").exists()
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    # a folder the tool never wrote to: a user's file named like an output stays
    user = tmp_path / "user"
    user.mkdir()
    (user / "deltas.csv").write_text("the user's own", encoding="utf-8")
    write_scenario_report(shock, user)
    assert (user / "deltas.csv").read_text(encoding="utf-8") == "the user's own"
    # an earlier output the user edited since is not removed either
    write_scenario_report(shock, out, baseline=base)
    (out / "deltas.csv").write_text("edited", encoding="utf-8")
    write_scenario_report(shock, out)
    assert (out / "deltas.csv").read_text(encoding="utf-8") == "edited"
    assert not (out / "kpi_deltas.png").exists()


def test_summary_describes_what_ran(quick_runs):
    """With paths/seed overridden (the CLI's --paths/--seed), the result's summary (report
    About sheet and report.html) gives the paths and seed that ran, and the shocks line
    names the segment unemployment shock instead of "unemployment 0"."""
    from solver.scenarios.report_html import scenario_html
    from solver.scenarios.run import run_scenario
    from solver.scenarios.spec import load_scenario

    root, _, _ = quick_runs
    result = run_scenario(load_scenario(root / "shock.toml"), paths=3, seed=9)
    text = result.scenario.summary()
    assert "3 paths x 12 months, seed 9" in text
    shocks = next(line for line in text.splitlines() if line.strip().startswith("shocks"))
    assert "unemployment 0," not in shocks and "unemployment 0 " not in shocks
    assert "tier=C|D|E: unemployment 0.2 (income x0.4)" in shocks
    assert "lasts 6 months" in shocks
    assert "3 paths x 12 months, seed 9" in scenario_html(result, {})


def test_about_sheet_numbers_are_numbers_and_uplift_interval_is_labelled(quick_runs, tmp_path):
    """report.xlsx's About sheet holds the seed, paths and horizon as numbers (not text);
    the experiment's Uplift sheet and page title its interval as the uplift's, not a
    mean's."""
    import openpyxl

    from solver.scenarios.experiment_eval import evaluate_outcomes, write_evaluation
    from solver.scenarios.experiment_outcomes import read_outcomes
    from solver.scenarios.report import write_scenario_report

    _, base, _ = quick_runs
    write_scenario_report(base, tmp_path / "run")
    about = openpyxl.load_workbook(tmp_path / "run" / "report.xlsx")["About"]
    values = {row[0]: row[1] for row in about.iter_rows(values_only=True)}
    assert values["Seed"] == 5 and not isinstance(values["Seed"], str)
    assert values["Paths"] == 4 and values["Horizon months"] == 12
    evaluation = evaluate_outcomes(
        read_outcomes(ROOT / "tests" / "data" / "scenario" / "outcomes.csv")
    )
    write_evaluation(evaluation, tmp_path / "exp")
    uplift = openpyxl.load_workbook(tmp_path / "exp" / "report.xlsx")["Uplift"]
    headers = [cell.value for cell in uplift[1]]
    assert "95% CI of uplift: low" in headers and "95% CI of uplift: high" in headers
    assert not any("of mean" in str(h) for h in headers)
    page = (tmp_path / "exp" / "report.html").read_text(encoding="utf-8")
    assert "95% CI of uplift: low" in page


def test_a_baseline_on_another_book_is_refused_before_running(quick_runs, tmp_path):
    """`scenario run A --baseline B` where B's book has other accounts exits 2 with a
    message naming the baseline file and the account counts, and writes no file; the
    library's compare() refuses the pair too."""
    from cli_inprocess import run_workout

    from solver.scenarios.run import run_scenario
    from solver.scenarios.scenario_result import compare
    from solver.scenarios.spec import load_scenario

    root, base, _ = quick_runs
    generate_portfolio(25, seed=11).iloc[5:].to_csv(root / "other.csv", index=False)
    other = _quick_scenario(root, "other", "other.csv")
    out = tmp_path / "out"
    code, _, err = run_workout(
        "scenario", "run", root / "base.toml", "--baseline", other, "--out-dir", out, "--quiet"
    )
    assert code == 2, err
    assert "other.toml" in err and "another book" in err
    assert "40 accounts vs the baseline's 20" in err
    assert "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())
    with pytest.raises(ValueError, match="another book"):
        compare(base, run_scenario(load_scenario(other)))


def test_a_bad_frontier_name_is_refused_before_the_grid_runs(quick_runs, monkeypatch):
    """run_sweep with an unknown frontier_x or frontier_y raises InputError (exit 2) naming
    the option and a close match, before any scenario of the grid runs."""
    import solver.scenarios.sweep as sweep
    from solver.errors import InputError
    from solver.scenarios.spec import load_scenario

    root, _, _ = quick_runs
    ran = []
    monkeypatch.setattr(sweep, "run_scenario", lambda *a, **k: ran.append(1) or 1 / 0)
    scenario = load_scenario(root / "base.toml")
    grid = [("simulation.horizon_months", [6, 12])]
    with pytest.raises(InputError, match=r"--frontier-y 'credit_los'.*'credit_loss'"):
        sweep.run_sweep(scenario, grid, frontier_y="credit_los")
    with pytest.raises(InputError, match="--frontier-x 'cost'"):
        sweep.run_sweep(scenario, grid, frontier_x="cost")
    assert ran == []


def test_roll_rate_labels_name_the_move(quick_runs):
    """roll_rates.csv: M0 → M0 and M4+ → M4+ are "stay", Mk → M0 (k ≥ 1) "cure", Mk →
    Mk+1 "roll", → charged_off "default" (the review: M0 → M0 read "cure", M4+ → M4+
    "roll")."""
    _, base, _ = quick_runs
    table = base.roll_rates
    for row in table.itertuples(index=False):
        if row.to == "charged_off":
            expected = "default"
        elif row.to == row.from_bucket:
            expected = "stay"
        elif row.to == "M0":
            expected = "cure"
        else:
            expected = "roll"
        assert row.outcome == expected, (row.from_bucket, row.to, row.outcome)
    assert {"stay", "cure", "roll", "default"} == set(table["outcome"])


def test_every_kpi_has_exactly_one_direction():
    """HIGHER_IS_BETTER, LOWER_IS_BETTER and NO_DIRECTION split KPIS's keys with no overlap,
    and a rise of cash or recoveries is good for the bank, of credit loss bad."""
    from solver.scenarios.kpi_defs import (
        HIGHER_IS_BETTER,
        KPIS,
        LOWER_IS_BETTER,
        NO_DIRECTION,
        better_for_bank,
    )

    sets = (HIGHER_IS_BETTER, LOWER_IS_BETTER, NO_DIRECTION)
    assert sum(len(group) for group in sets) == len(KPIS)
    assert set().union(*sets) == set(KPIS)
    assert better_for_bank("payments_collected", 1.0) and better_for_bank("recoveries", 1.0)
    assert better_for_bank("credit_loss", 1.0) is False
    assert better_for_bank("unemployed_accounts", 5.0) is None
