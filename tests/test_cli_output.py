"""One command line, part II (issue 15): --out/--format, 80-column tables, plan of a book,
shared options, cached stages.

* Every command that writes a table takes ``--out FILE`` with the format from the
  extension (.csv, .parquet, .xlsx, .json; anything else is exit 2 naming the option,
  before any work) and ``--format table|json|csv`` for stdout; ``--format csv`` prints the
  same text ``--out FILE.csv`` writes (one writer, :func:`solver.core.writers.write_table`).
* ``validate`` has a machine-readable report: one record per issue (file, row,
  account_id, column, message) plus the summary.
* The tables of validate, allocate and scenario fit an 80-column terminal: every line
  fits and every number printed is whole (rendered with ``rich.console.Console(width=80)``).
* ``workout plan BOOK`` points to plan-portfolio and --account-id; ``--account-id`` plans
  that account exactly as a one-account file of the same row.
* ``--quiet``, ``--seed``: where they apply, with one meaning.
* Stages served from a cache are reported as cached (``ScenarioResult.cached_stages``)
  and printed "cached", never as a time.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import click
import pandas as pd
import pytest

import cli
from commands.common import run_cli
from commands.output import FORMATS

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "portfolio" / "tiny.csv"
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
PANEL = ROOT / "tests" / "data" / "risk" / "panel_small.csv"
GAP = ROOT / "tests" / "data" / "allocation" / "gap_single"
SMALL_SCENARIO = ROOT / "tests" / "data" / "scenario" / "small.toml"
RECESSION = ROOT / "tests" / "data" / "scenario" / "small_recession.toml"


def _invoke(*args: object) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_cli(cli.workout, [str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def _commands() -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        if isinstance(command, click.Group):
            ctx = click.Context(command, info_name=path[-1])
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, (*path, name))
        else:
            found[" ".join(path[1:])] = command

    walk(cli.workout, ("workout",))
    return found


COMMANDS = _commands()


def _option(command: click.Command, flag: str) -> click.Option | None:
    for p in command.params:
        if isinstance(p, click.Option) and flag in p.opts and not p.hidden:
            return p
    return None


# -- 1. --out FILE and --format table|json|csv ---------------------------------------------


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_format_table_json_csv(name):
    """Every command has --format with exactly table, json, csv (default table)."""
    option = _option(COMMANDS[name], "--format")
    assert option is not None, f"workout {name} has no --format"
    assert tuple(option.type.choices) == FORMATS and option.default == "table"


#: Commands whose --out FILE is a table: (command line before --out, extra after it).
TABLE_OUT = {
    "validate": ["validate", TINY],
    "generate portfolio": ["generate", "portfolio", "--n", "5"],
    "plan": ["plan", SAMPLE],
    "evaluate": ["evaluate", SAMPLE, "--amount", "2000"],
    "audit export": ["audit", "export", "--db", "sqlite:///no-such-audit.db"],
    "plan-portfolio": ["plan-portfolio", TINY],
    "allocate": ["allocate", TINY],
    "calendar": ["calendar", TINY, "--allocation", "no-such-allocation.csv"],
    "replan": ["replan", TINY, "--history", "no-such-history.csv"],
    "experiment split": ["experiment", "split", TINY],
    "bench gap": ["bench", "gap", "--instances", GAP, "--time-limit", "1", "--no-baseline"],
    "risk rollrates": ["risk", "rollrates", PANEL, "--no-png"],
    "risk score": ["risk", "score", TINY, "--ew-model", "missing-model.toml", "--no-png"],
}


def test_table_out_list_is_complete():
    """Every command with an --out that names its extensions is in TABLE_OUT (and back)."""
    with_table_out = {
        name
        for name, command in COMMANDS.items()
        if (o := _option(command, "--out")) is not None and ".json" in (o.help or "")
    }
    assert with_table_out == set(TABLE_OUT)


@pytest.mark.parametrize("name", sorted(TABLE_OUT))
def test_out_help_names_the_four_formats(name):
    """--out FILE of a table says the format comes from the extension, .json included."""
    option = _option(COMMANDS[name], "--out")
    assert "the format comes from the extension: .csv, .parquet, .xlsx or .json" in option.help


@pytest.mark.parametrize("name", sorted(TABLE_OUT))
def test_unknown_out_extension_is_exit_2_naming_the_option(name, tmp_path):
    """--out x.txt: exit 2 naming --out and the file, before any work, nothing written."""
    out = tmp_path / "result.txt"
    code, stdout, err = _invoke(*TABLE_OUT[name], "--out", out)
    assert code == 2, err
    assert err.startswith("Error: --out ") and str(out) in err and "'.txt'" in err
    assert ".json" in err and "Traceback" not in err
    assert stdout == "" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name", ["validate", "generate portfolio", "plan", "allocate", "experiment split"]
)
def test_format_csv_prints_what_out_csv_writes(name, tmp_path):
    """--format csv on stdout is byte for byte the --out .csv file after the file's UTF-8
    byte-order mark (one writer; the mark for Excel, solver.core.writers)."""
    out = tmp_path / "t.csv"
    code, stdout, err = _invoke(*TABLE_OUT[name], "--out", out, "--format", "csv")
    assert code == 0, err
    assert out.read_bytes() == b"\xef\xbb\xbf" + stdout.encode("utf-8")
    assert len(pd.read_csv(io.StringIO(stdout))) >= 1


@pytest.mark.parametrize(
    "name",
    [
        "generate portfolio",
        "plan-portfolio",
        "allocate",
        "experiment split",
        "bench gap",
        "risk rollrates",
    ],
)
def test_out_json_is_the_table_as_records(name, tmp_path):
    """--out x.json writes the same rows as --out x.csv, as a list of JSON records."""
    as_json, as_csv = tmp_path / "t.json", tmp_path / "t.csv"
    for path in (as_json, as_csv):
        code, _, err = _invoke(*TABLE_OUT[name], "--out", path)
        assert code == 0, err
    records = json.loads(as_json.read_text(encoding="utf-8"))
    table = pd.read_csv(as_csv)
    assert isinstance(records, list) and len(records) == len(table)
    assert list(records[0]) == list(table.columns)


def test_plan_out_csv_works_with_the_default_format(tmp_path):
    """`workout plan ACCOUNT --out x.csv`: the options table in the file, the table on stdout."""
    out = tmp_path / "options.csv"
    code, stdout, err = _invoke("plan", SAMPLE, "--out", out)
    assert code == 0, err
    options = pd.read_csv(out)
    _, payload, _ = _invoke("plan", SAMPLE, "--format", "json")
    result = json.loads(payload)
    assert list(options["label"]) == ["status_quo"] + [o["label"] for o in result["options"]]
    assert options.loc[options["recommended"], "label"].tolist() == [result["recommended"]]
    assert "Restructuring options" in stdout and stdout.rstrip().endswith(f"wrote {out}")


def test_plan_out_json_and_xlsx(tmp_path):
    """plan --out .json holds the whole result (as --format json); .xlsx options + schedules."""
    from openpyxl import load_workbook

    code, stdout, err = _invoke("plan", SAMPLE, "--format", "json", "--out", tmp_path / "p.json")
    assert code == 0, err
    assert json.loads((tmp_path / "p.json").read_text(encoding="utf-8")) == json.loads(stdout)
    code, _, err = _invoke("plan", SAMPLE, "--out", tmp_path / "p.xlsx")
    assert code == 0, err
    assert load_workbook(tmp_path / "p.xlsx").sheetnames[:2] == ["options", "schedules"]


def test_out_is_checked_before_the_work(tmp_path, monkeypatch):
    """An unknown extension is refused before the portfolio is read (no work done)."""
    import solver.core.readers

    def boom(*args, **kwargs):
        raise AssertionError("the portfolio was read before --out was checked")

    monkeypatch.setattr(solver.core.readers, "read_portfolio", boom)
    code, _, err = _invoke("allocate", TINY, "--out", tmp_path / "a.doc")
    assert code == 2 and "--out" in err


def test_dataset_out_with_csv_format_is_refused(tmp_path):
    """--format csv needs the table in one piece: a dataset directory --out is exit 2."""
    out = tmp_path / "plans"
    code, stdout, err = _invoke("plan-portfolio", TINY, "--out", out, "--format", "csv")
    assert code == 2 and "--format csv" in err and "--out" in err
    assert stdout == "" and not out.exists()


# -- 1b. validate: a machine-readable report -----------------------------------------------


BROKEN = ROOT / "tests" / "data" / "broken"


def test_validate_json_report_of_a_bad_file():
    """--format json: valid false, the problem count, one record per issue, exit 2, one line
    on stderr."""
    path = BROKEN / "many_errors.csv"
    code, stdout, err = _invoke("validate", path, "--format", "json")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"Error: {path}: 60 problems found")
    report = json.loads(stdout)
    assert report["valid"] is False and report["errors"] == 60 and report["accounts"] == 0
    first = report["issues"][0]
    assert first == {
        "severity": "error",
        "file": str(path),
        "row": 1,
        "account_id": "M001",
        "column": "annual_rate",
        "message": "must be in [0, 0.36], got 0.5",
    }
    # the first 50 are listed, then one record counts the rest
    assert report["issues"][-1]["message"].startswith("... and 10 more problems")


@pytest.mark.parametrize(
    ("name", "row", "column", "words"),
    [
        ("missing_column.csv", None, "principal", "required column is missing"),
        ("duplicate_id.csv", 3, "account_id", "duplicate account_id 'B001'"),
        ("formula.xlsx", 2, "principal", "cell C3 holds a formula"),
        ("ragged_row.csv", 2, None, "expected 16 comma-separated values"),
        ("empty.csv", None, None, "file is empty"),
    ],
)
def test_validate_csv_report_rows(name, row, column, words, tmp_path):
    """--out report.csv: the issue's file, row and column in their own cells, a summary row."""
    path = BROKEN / name
    out = tmp_path / "report.csv"
    code, stdout, err = _invoke("validate", path, "--out", out)
    assert code == 2 and "Traceback" not in err
    assert f"Error: {path}" in err  # the usual message on stderr, table format
    report = pd.read_csv(out, dtype={"row": "Int64"})
    assert list(report.columns) == ["severity", "file", "row", "account_id", "column", "message"]
    issue = report.iloc[0]
    assert issue["severity"] == "error" and issue["file"] == str(path)
    assert pd.isna(issue["row"]) if row is None else issue["row"] == row
    assert pd.isna(issue["column"]) if column is None else issue["column"] == column
    assert words in issue["message"]
    assert report.iloc[-1]["severity"] == "summary" and report.iloc[-1]["file"] == str(path)


def test_validate_report_of_a_valid_file_with_a_warning(tmp_path):
    """A valid book: report valid, its summary tables, a dropped extra column as a warning."""
    book = tmp_path / "book.csv"
    frame = pd.read_csv(TINY, dtype=str)
    frame["branch_code"] = "B-17"
    frame.to_csv(book, index=False)
    code, stdout, err = _invoke("validate", book, "--format", "json", "--out", tmp_path / "r.xlsx")
    assert code == 0, err
    report = json.loads(stdout)
    assert report["valid"] is True and report["accounts"] == 8 and report["errors"] == 0
    assert [i["severity"] for i in report["issues"]] == ["warning"]
    warning = report["issues"][0]
    assert warning["column"] == "branch_code" and warning["message"] == "unknown column ignored"
    totals = {r["tier"]: r["accounts"] for r in report["summary"]["by_tier"]}
    assert totals["total"] == 8
    from openpyxl import load_workbook

    assert load_workbook(tmp_path / "r.xlsx").sheetnames[:2] == ["issues", "summary"]
    code, stdout, _ = _invoke("validate", book, "--format", "csv")
    rows = pd.read_csv(io.StringIO(stdout))
    assert list(rows["severity"]) == ["warning", "summary"]
    assert rows.iloc[-1]["message"] == "OK: 8 accounts valid"


def test_validate_default_output_is_unchanged_by_the_report():
    """Without --format/--out, validate prints its tables and raises the usual error."""
    code, stdout, err = _invoke("validate", TINY)
    assert code == 0 and stdout.startswith(f"OK {TINY}: 8 accounts valid")
    code, stdout, err = _invoke("validate", BROKEN / "many_errors.csv")
    assert code == 2 and stdout == "" and err.count("\n") > 50  # every problem listed


# -- 2. tables on an 80-column terminal ------------------------------------------------------


#: A number as printed (not the digits of a name such as M4+ or agent-beijing-1).
NUMBER = re.compile(r"(?<![\w.,-])[-+]?\d[\d,]*(?:\.\d+)?%?")


def _console(width: int):
    from rich.console import Console

    return Console(width=width, file=io.StringIO(), color_system=None, soft_wrap=False)


def _check_fits(text: str, width: int, cells: list[str], must_show: list[str]) -> None:
    """Every line fits, nothing is cut ("…"), every number printed is one of the cells'
    numbers (whole), and the ``must_show`` cells appear."""
    from rich.cells import cell_len

    assert max(cell_len(line) for line in text.splitlines()) <= width, text
    assert "…" not in text, text
    allowed = {m for cell in cells for m in NUMBER.findall(cell)}
    for line in text.splitlines():
        for number in NUMBER.findall(line):
            assert number in allowed, f"{number!r} is not a whole number of the table:\n{line}"
    for cell in must_show:
        assert re.search(rf"(?<![\d,.]){re.escape(cell)}(?![\d,])", text), (cell, text)


@pytest.fixture(scope="module")
def summary():
    """Validation summary of a generated 300-account book (amounts up to tens of millions)."""
    from solver.core.generate import generate_portfolio
    from solver.core.summaries import summarize_portfolio

    return summarize_portfolio(generate_portfolio(300, seed=7))


@pytest.mark.parametrize("width", [80, 60])
def test_validate_tables_fit(summary, width):
    """validate's tables at 80 (and 60) columns: fit, numbers whole, label and counts shown."""
    from commands.validate_report import print_summary

    out = _console(width)
    print_summary(out, summary)
    text = out.file.getvalue()
    cells, must = [], []
    for key in ("by_product", "by_tier", "by_dpd_bucket"):
        for label, row in summary[key].iterrows():
            figures = [f"{int(row['accounts']):,}", f"{row['share']:.1%}"]
            # amounts in CNY's two decimals (the default currency)
            figures += [f"{row[m]:,.2f}" for m in row.index if m not in ("accounts", "share")]
            cells += figures
            must += [str(label), f"{int(row['accounts']):,}"]
    cells += [f"{int(v):,}" for v in summary["flags"]["accounts"]]
    cells += [f"{v:.1%}" for v in summary["flags"]["share"]]
    cells += [str(width)]  # "not shown at 80 columns"
    _check_fits(text, width, cells, must)
    if width == 80:
        assert "principal" in text and "not shown at 80 columns" in text


def test_validate_tables_keep_every_column_when_wide(summary):
    """At 160 columns every column is shown in the usual boxed layout."""
    from commands.validate_report import print_summary

    out = _console(160)
    print_summary(out, summary)
    text = out.file.getvalue()
    assert "not shown" not in text and "┃ vehicle_value ┃" in text


def test_validate_cli_on_an_80_column_terminal(monkeypatch, tmp_path):
    """`workout validate` on an 80-column terminal: no line longer than 80, nothing cut."""
    from solver.core.generate import generate_portfolio
    from solver.core.writers import write_table

    book = write_table(generate_portfolio(300, seed=7), tmp_path / "book.csv")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "0")
    monkeypatch.setenv("NO_COLOR", "1")
    code, stdout, err = _invoke("validate", book)
    assert code == 0, err
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", stdout)
    assert max(len(line) for line in text.splitlines()) <= 80 and "…" not in text
    assert "21,552,140.86" in text  # the total principal, whole


@pytest.fixture(scope="module")
def allocation():
    """The allocation of a generated 300-account book with the shipped catalogue and teams."""
    from solver.allocation.catalogue import Catalogue
    from solver.allocation.portfolio import allocate
    from solver.allocation.teams import Teams
    from solver.core.generate import generate_portfolio

    catalogue = Catalogue.from_toml(None)
    teams = Teams.from_toml(None, compliance=catalogue.compliance)
    return allocate(generate_portfolio(300, seed=7), catalogue, teams, time_limit=30, seed=0)


@pytest.mark.parametrize("width", [80, 64])
def test_allocate_tables_fit(allocation, width):
    """allocate's tables at 80 (and 64) columns: fit, every number whole, names shown."""
    from commands.allocate_output import print_tables

    out = _console(width)
    print_tables(allocation, Path("out/allocation.csv"), "CNY", out)
    text = out.file.getvalue()
    cells: list[str] = [str(width), "0.0000%"]
    must: list[str] = []
    for row in allocation.by_treatment.to_dict(orient="records"):
        cells += [f"{row['accounts']:,}", *(f"{row[x]:,}" for x in "ABCDE")]
        cells += [f"{row[k]:,.2f}" for k in ("expected_collected", "cost", "net")]
        must += [row["treatment"], f"{row['net']:,.2f}"]
    for row in allocation.utilisation.to_dict(orient="records"):
        price = row["shadow_price_per_minute"]
        cells += [f"{row['capacity_minutes']:,.0f}", f"{row['used_minutes']:,.0f}"]
        cells += [f"{row['utilisation']:.1%}", f"{row['accounts']:,}", f"{price:,.2f}"]
        must += [row["team"], f"{row['utilisation']:.1%}"]
    t = allocation.totals
    cells += [f"{t[k]:,.2f}" for k in ("expected_collected", "cost", "net", "uplift_vs_none")]
    cells += [f"{allocation.objective:,.2f}", f"{allocation.bound:,.2f}"]
    cells += [f"{allocation.gap:.4%}", f"{allocation.runtime:.2f}", "300"]
    _check_fits(text, width, cells, must)


@pytest.fixture(scope="module")
def scenario_results():
    """small_recession against small (the KPI table with deltas) and a two-run sweep."""
    from solver.scenarios.run import run_scenario
    from solver.scenarios.scenario_result import compare
    from solver.scenarios.spec import load_scenario
    from solver.scenarios.sweep import run_sweep

    base = run_scenario(load_scenario(SMALL_SCENARIO))
    result = run_scenario(load_scenario(RECESSION))
    sweep = run_sweep(
        load_scenario(SMALL_SCENARIO), [("shocks.income_multiplier", [0.9, 1.0])], paths=10
    )
    return base, result, compare(result, base), sweep


def _kpi_cells(result, comparison) -> list[str]:
    from solver.scenarios.report_tables import format_value

    def fmt(value: float, unit: str) -> str:
        return f"{value:,.0f}" if unit == "CNY" and value == value else format_value(value, unit)

    cells = []
    for _, row in result.kpis[result.kpis["segment_type"] == "total"].iterrows():
        cells += [fmt(row[k], row["unit"]) for k in ("mean", "ci_low", "ci_high")]
    for _, d in comparison[comparison["segment_type"] == "total"].iterrows():
        cells += [fmt(d[k], d["unit"]) for k in ("baseline", "delta", "delta_ci_low")]
        cells += [fmt(d["delta_ci_high"], d["unit"])]
        cells += [f"{100 * d['delta_pct']:+.2f}%"] if d["delta_pct"] == d["delta_pct"] else []
    return cells


@pytest.mark.parametrize("width", [80, 100])
def test_scenario_kpi_table_fits(scenario_results, width):
    """scenario run's KPI table with a baseline: fits, numbers whole, mean and delta shown."""
    from commands.scenario_output import print_kpi_table

    base, result, comparison, _ = scenario_results
    out = _console(width)
    print_kpi_table(out, result, comparison, base)
    text = out.file.getvalue()
    cells = _kpi_cells(result, comparison) + [str(width), "95%"]
    cells += [str(result.paths), str(result.horizon), str(result.seed)]
    total = result.total()
    must = [f"{total.loc['cash_collected', 'mean']:,.0f}", "default_rate"]
    _check_fits(text, width, cells, must)


def test_scenario_sweep_table_fits(scenario_results):
    """scenario sweep's table at 80 columns: the swept values, the frontier and whole numbers."""
    from commands.scenario_output import SWEEP_KPIS, print_sweep_table
    from solver.scenarios.kpi_defs import KPIS
    from solver.scenarios.report_tables import format_value

    sweep = scenario_results[3]
    out = _console(80)
    print_sweep_table(out, sweep)
    text = out.file.getvalue()
    cells = ["80", str(sweep.paths), str(sweep.seed)]
    must = []
    for _, row in sweep.table.iterrows():
        cells.append(str(row["shocks.income_multiplier"]))
        for k in SWEEP_KPIS:
            unit = KPIS[k][0]
            cells.append(f"{row[k]:,.0f}" if unit == "CNY" else format_value(row[k], unit))
        must += [str(row["shocks.income_multiplier"]), f"{row['total_value_discounted']:,.0f}"]
    _check_fits(text, 80, cells, must)
    assert "shocks.income_" in text and "frontier" in text


def test_fitted_table_never_wraps_a_number_inside_a_wrapping_column():
    """A wrapping text column is never narrower than its longest word (a number stays whole)."""
    from commands.tables import Column, fit_table

    rows = [(["a", "1,234,567,890,123.45 .. 2,345,678,901,234.56"], None)]
    columns = (Column("label", "left", 0), Column("interval", "right", 1, wraps=True))
    table, dropped = fit_table(30, None, columns, rows)
    out = _console(30)
    out.print(table)
    text = out.file.getvalue()
    assert dropped == [] and "1,234,567,890,123.45" in text and "2,345,678,901,234.56" in text


# -- 3. plan of a portfolio file -----------------------------------------------------------------


def test_plan_of_a_book_points_to_plan_portfolio_and_account_id(tmp_path):
    """`workout plan book.csv`: exit 2, one line naming the file, plan-portfolio, --account-id."""
    out = tmp_path / "o.json"
    code, stdout, err = _invoke("plan", TINY, "--out", out)
    assert code == 2 and stdout == "" and not out.exists()
    assert err.count("\n") == 1
    assert err.startswith(f"Error: {TINY}: expected one account, found 8 (a portfolio)")
    assert "workout plan-portfolio" in err and "--account-id T001" in err


def test_plan_account_id_plans_that_account(tmp_path):
    """--account-id T002 of the book gives the same result as a one-row file of T002."""
    frame = pd.read_csv(TINY, dtype=str, keep_default_na=False)
    single = tmp_path / "t002.csv"
    frame[frame["account_id"] == "T002"].to_csv(single, index=False)
    code, picked, err = _invoke("plan", TINY, "--account-id", "T002", "--format", "json")
    assert code == 0, err
    code, alone, err = _invoke("plan", single, "--format", "json")
    assert code == 0, err
    assert json.loads(picked) == json.loads(alone)
    assert json.loads(picked)["account_id"] == "T002"


def test_plan_account_id_unknown_or_of_a_toml_book(tmp_path):
    """An unknown id is exit 2 naming the file, account_id and the closest id; a TOML book
    with several accounts works like a table."""
    code, _, err = _invoke("plan", TINY, "--account-id", "T02")
    assert code == 2 and str(TINY) in err and "account_id" in err and "'T002'" in err
    book = tmp_path / "book.toml"
    one = SAMPLE.read_text(encoding="utf-8")
    other = one.replace('account_id = "AUTO-000123"', 'account_id = "AUTO-2"')
    assert other != one
    body = "".join(f"[[accounts]]\n{text}\n" for text in (one, other))
    book.write_text(body, encoding="utf-8")
    code, _, err = _invoke("plan", book)
    assert code == 2 and "--account-id AUTO-000123" in err
    code, stdout, err = _invoke("plan", book, "--account-id", "AUTO-2", "--format", "json")
    assert code == 0, err
    assert json.loads(stdout)["account_id"] == "AUTO-2"


# -- 4. shared options -----------------------------------------------------------------------


QUIET = [
    "generate portfolio",
    "plan-portfolio",
    "allocate",
    "scenario run",
    "scenario sweep",
    "risk fit",
    "risk score",
]


@pytest.mark.parametrize("name", QUIET)
def test_quiet_where_a_bar_or_spinner_is_drawn(name):
    """--quiet exists (with the shared help) on every command that draws on stderr."""
    from commands.options import SHARED_HELP

    option = _option(COMMANDS[name], "--quiet")
    assert option is not None and option.help.startswith(SHARED_HELP["--quiet"])


def test_plan_portfolio_quiet_draws_nothing_on_stderr(monkeypatch, tmp_path):
    """On a terminal plan-portfolio draws a progress bar on stderr; --quiet none at all."""
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    code, _, err = _invoke("plan-portfolio", TINY, "--out", tmp_path / "a.csv")
    assert code == 0 and "planning" in err
    code, stdout, err = _invoke("plan-portfolio", TINY, "--out", tmp_path / "b.csv", "--quiet")
    assert code == 0 and err == "" and "Plans for 8 accounts" in stdout
    code, stdout, err = _invoke(
        "plan-portfolio", TINY, "--out", tmp_path / "c.csv", "--quiet", "--format", "json"
    )
    assert code == 0 and err == "" and json.loads(stdout)["accounts"] == 8


def test_seed_range_comes_from_solver_limits():
    """Every --seed is a whole number from 0 to solver.core.limits.MAX_SEED (2**31 - 1)."""
    from solver.core.limits import MAX_SEED

    seeded = {name: o for name, c in COMMANDS.items() if (o := _option(c, "--seed")) is not None}
    assert len(seeded) >= 7
    for name, option in seeded.items():
        assert (option.type.min, option.type.max) == (0, MAX_SEED) == (0, 2**31 - 1), name


# -- 5. cached stages ------------------------------------------------------------------------


CACHED_SCENARIO = """
name = "cached"
[portfolio]
n = 12
seed = 5
[model]
path = {model!r}
[plans]
restructure = true
grid_levels = 6
beam_width = 8
buckets = 32
[collection]
treatments = {treatments!r}
teams = {teams!r}
time_limit_seconds = 10
[simulation]
paths = 4
horizon_months = 6
seed = 1
"""


@pytest.fixture
def cached_scenario(tmp_path) -> Path:
    scenarios = ROOT / "scenarios"
    path = tmp_path / "cached.toml"
    path.write_text(
        CACHED_SCENARIO.format(
            model=str(scenarios / "behaviour.toml"),
            treatments=str(scenarios / "treatments.toml"),
            teams=str(scenarios / "teams.toml"),
        ),
        encoding="utf-8",
    )
    return path


def test_in_process_cache_hits_are_reported(cached_scenario, tmp_path):
    """A second run in the process serves portfolio, plans and allocation from the caches and
    says so; a plan stage read from the cache directory is reported too."""
    from solver.scenarios.run import clear_caches, run_scenario
    from solver.scenarios.spec import load_scenario

    scenario = load_scenario(cached_scenario)
    clear_caches()
    first = run_scenario(scenario, plan_cache=tmp_path / "plans")
    second = run_scenario(scenario, plan_cache=tmp_path / "plans")
    assert first.cached_stages == ()
    assert second.cached_stages == ("portfolio", "plans", "treatments")
    assert second.kpis.equals(first.kpis)  # the same figures
    clear_caches()  # a new process: the plan stage comes from the directory
    third = run_scenario(scenario, plan_cache=tmp_path / "plans")
    assert third.cached_stages == ("plans",)


def test_cli_prints_cached_instead_of_a_time(cached_scenario, tmp_path):
    """scenario run with itself as baseline: the run's shared stages print "shared with the
    baseline" (never "cached" under --no-cache, issue riskux-3)."""
    from solver.scenarios.run import clear_caches

    clear_caches()
    code, stdout, err = _invoke(
        "scenario",
        "run",
        cached_scenario,
        "--baseline",
        cached_scenario,
        "--no-cache",
        "--quiet",
        "--out-dir",
        tmp_path / "out",
    )
    assert code == 0, err
    timing = " ".join(stdout.split("wrote ", 1)[1].split())  # the last line (may wrap)
    assert "portfolio, plans, treatments shared with the baseline" in timing, timing
    assert not re.search(r"(portfolio|plans|treatments) cached", timing), timing
    assert "0.0s" not in timing
