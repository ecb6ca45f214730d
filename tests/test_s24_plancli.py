"""``workout plan`` and ``plan-portfolio`` mends of session 24 (review of the plan commands).

1. ``plan --schedule`` takes every label the run prints, frontier plans included
   (``deferral/interest_only 4+29m``), resolved by the officer's rule
   (:func:`solver.officer.offers.plan_option`); an unknown label is exit 2 before any output.
2. ``plan-portfolio``'s summary is a fitted table (:mod:`commands.tables`): at 80 and 100
   columns no number is cut and the uplift headers can be told apart.
3. ``--objective customer`` states the pick's actual shortfall against the best NPV, not
   the ``--within`` tolerance.
4. ``plan-portfolio --format csv`` without ``--out`` prints the plans on stdout.
5. A first run with a cold numba cache says so on stderr; ``--help`` times --thorough
   "after the first run".

Which fail on main (7b63e8c): the --schedule tests (internal error, exit 1, the --out file
written), the summary-width tests ("140,5…", "uplift_…"), the shortfall test ("within
100.0%"), the csv-on-stdout test ("Missing option '--out'") and the kernel-note tests (no
such function, no such help text). Imports of the new names are inside the tests so that
each fails on its own there.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_inprocess import run_workout

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
FRONTIER_LABEL = "deferral/interest_only 4+29m"


def _plain(text: str) -> str:
    """Terminal output without ANSI escapes."""
    return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", text)


def _schedule_rows(stdout: str) -> list[list[str]]:
    """The cells of the rows of the ``Schedule:`` table (after its title)."""
    text = _plain(stdout).split("Schedule: ", 1)[1]
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 7 and cells[0].isdigit():
            rows.append(cells)
    return rows


def _amount(cell: str) -> float:
    return float(cell.replace(",", ""))


@pytest.mark.parametrize(
    "extra",
    [["--frontier"], ["--objective", "customer", "--within", "5"]],
    ids=["frontier", "customer-within-5"],
)
def test_schedule_of_a_frontier_plan(tmp_path, extra):
    """--schedule "deferral/interest_only 4+29m" prints that plan's schedule: 33 months, the
    first 4 paying only the interest on the capitalised balance (hand figure), exit 0."""
    out = tmp_path / "options.csv"
    code, stdout, err = run_workout(
        "plan", SAMPLE, *extra, "--schedule", FRONTIER_LABEL, "--out", out
    )
    assert code == 0, err
    assert f"Schedule: {FRONTIER_LABEL}" in _plain(stdout) and out.exists()
    rows = _schedule_rows(stdout)
    assert len(rows) == 4 + 29
    # the holiday months pay the month's interest on principal + interest_due + fees_due
    # (86,000 + 1,100 + 400, the sample's) at 6.9 % / 12, and no principal
    interest = (86_000 + 1_100 + 400) * 0.069 / 12
    for cells in rows[:4]:
        assert abs(_amount(cells[2]) - interest) <= 0.005 and _amount(cells[4]) == 0.0
    assert _amount(rows[4][4]) > 0 and _amount(rows[-1][6]) == 0.0


def test_schedule_of_an_unknown_label_is_a_usage_error(tmp_path):
    """--schedule "custom 5m" (no such plan): exit 2, nothing on stdout, no --out file, and
    the message lists the labels the run has."""
    out = tmp_path / "options.csv"
    code, stdout, err = run_workout("plan", SAMPLE, "--schedule", "custom 5m", "--out", out)
    assert code == 2, err
    assert stdout == "" and not out.exists()
    assert "--schedule custom 5m" in err and "internal error" not in err
    for label in ("status_quo", "custom", "deferral/interest_only", "step"):
        assert label in err


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """A generated 300-account book (seed 3), as the review's repro."""
    from solver.core.generate import generate_portfolio
    from solver.core.writers import write_table

    path = tmp_path_factory.mktemp("s24_plancli") / "book.csv"
    return write_table(generate_portfolio(300, seed=3), path)


@pytest.fixture(scope="module")
def summary(book, tmp_path_factory) -> list[dict]:
    """The book's summary rows as --format json reports them (the figures to look for)."""
    out = tmp_path_factory.mktemp("s24_plancli_json") / "plans.csv"
    code, stdout, err = run_workout(
        "plan-portfolio", book, "--out", out, "--format", "json", "--quiet"
    )
    assert code == 0, err
    return json.loads(stdout)["summary"]


@pytest.mark.parametrize("width", [80, 100])
def test_portfolio_summary_fits_without_cutting_a_number(
    monkeypatch, tmp_path, book, summary, width
):
    """plan-portfolio's summary at 80 and 100 columns: no line wider, no "…", every shown
    figure whole, the two uplift headers distinct, dropped columns named."""
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "0")
    monkeypatch.setenv("NO_COLOR", "1")
    code, stdout, err = run_workout(
        "plan-portfolio", book, "--out", tmp_path / "plans.csv", "--quiet"
    )
    assert code == 0, err
    text = _plain(stdout)
    table = text.split("certificates:", 1)[0]
    assert max(len(line) for line in text.splitlines()) <= width and "…" not in text
    assert "status quo" in table and "waterfall" in table  # the uplift columns, told apart
    for row in summary:
        for key in ("uplift_vs_status_quo", "uplift_vs_waterfall"):
            assert f"{row[key]:,.0f}" in table
        assert f"{row['segment']}" in table
    shown = re.findall(r"not shown at \d+ columns: ([^(]*)", text)
    for key in ("restructured", "infeasible", "npv_test_failed", "errors"):
        # a count column is shown (each row's count whole on its line) or named as left out
        if shown and key in shown[0]:
            continue
        lines = [line for line in table.splitlines() if line.split()[:1] in (["tier"], ["all"])]
        for row in (r for r in summary if r["by"] in ("tier", "all")):
            line = next(x for x in lines if x.split()[:2] == [row["by"], row["segment"]])
            assert f"{int(row[key]):,}" in line.split()[2:]


def _customer_run(within: str) -> tuple[dict, float]:
    """plan --objective customer --within X as JSON, and the pick's NPV shortfall against
    the best frontier NPV (as a share), computed from the JSON's figures."""
    code, stdout, err = run_workout(
        "plan", SAMPLE, "--objective", "customer", "--within", within, "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(stdout)
    best = max(o["npv"] for o in doc["frontier_options"])
    pick = next(o for o in doc["frontier_options"] if o["label"] == doc["recommended_label"])
    return doc, (best - pick["npv"]) / abs(best)


@pytest.mark.parametrize("within", ["100", "2"])
def test_customer_choice_states_the_actual_shortfall(within):
    """--objective customer: the explanation states the pick's actual shortfall below the
    best NPV (not the --within tolerance as if it were the shortfall)."""
    doc, shortfall = _customer_run(within)
    text = doc["explanation"]
    assert f"{shortfall:.2%} below the best" in text
    assert f"within {float(within) / 100:.1%} of the best" not in text
    assert shortfall < float(within) / 100


def test_portfolio_csv_without_out_prints_the_plans(tmp_path, book):
    """plan-portfolio --format csv without --out: stdout is exactly the plans CSV that
    --out plans.csv writes; without --out and --format csv: exit 2 naming --out."""
    code, stdout, err = run_workout("plan-portfolio", book, "--format", "csv", "--quiet")
    assert code == 0, err
    written = tmp_path / "plans.csv"
    code, _, err = run_workout("plan-portfolio", book, "--out", written, "--quiet")
    assert code == 0, err
    # the file is stdout's text after the UTF-8 byte-order mark Excel needs (writers.py)
    assert written.read_bytes() == b"\xef\xbb\xbf" + stdout.encode("utf-8")
    code, stdout, err = run_workout("plan-portfolio", book, "--format", "json")
    assert code == 2 and stdout == "" and "--out" in err and "--format csv" in err


def test_kernel_cache_is_cold_without_cache_files(tmp_path):
    """With an empty NUMBA_CACHE_DIR every kernel lacks its cache: kernels_cold() is True
    (checked in a fresh process, which compiles nothing)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    code = "from solver.plans.kernel_cache import kernels_cold; print(kernels_cold())"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_kernel_cache_is_warm_after_a_plan():
    """Once a plan has run (its kernels compiled and cached), kernels_cold() is False: no
    note on later runs. In a fresh process, so kernels other tests loaded (allocation,
    risk) are not in sys.modules; the project's own cache, so nothing compiles twice."""
    code = (
        "from cli_inprocess import run_workout\n"
        "from solver.plans.kernel_cache import kernels_cold\n"
        f"code, _, err = run_workout('plan', {str(SAMPLE)!r}, '--format', 'json')\n"
        "assert code == 0, err\n"
        "import solver.allocation.portfolio, solver.risk.history  # other kernels loaded\n"
        "print(kernels_cold())\n"
    )
    path = f"{ROOT}{os.pathsep}{ROOT / 'tests'}"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1:] == ["False"]


def test_cold_kernels_are_announced_on_stderr(monkeypatch):
    """With a cold cache plan says so on stderr (stdout stays the CSV); plan-portfolio
    --quiet says nothing."""
    import commands.plan_output as plan_output
    import solver.plans.kernel_cache as kernel_cache

    monkeypatch.setattr(kernel_cache, "kernels_cold", lambda: True)
    code, stdout, err = run_workout("plan", SAMPLE, "--format", "csv")
    assert code == 0, err
    assert plan_output.KERNELS_NOTE in err and "first run only" in plan_output.KERNELS_NOTE
    assert stdout.startswith('"') and plan_output.KERNELS_NOTE not in stdout
    tiny = ROOT / "tests" / "data" / "portfolio" / "tiny.csv"
    code, stdout, err = run_workout("plan-portfolio", tiny, "--format", "csv", "--quiet")
    assert code == 0 and plan_output.KERNELS_NOTE not in err + stdout


def test_thorough_help_times_after_the_first_run():
    """plan --help and plan-portfolio --help give --thorough's cost after the first run."""
    for command in ("plan", "plan-portfolio"):
        code, stdout, _ = run_workout(command, "--help")
        assert code == 0
        assert "after the first run" in " ".join(stdout.split()), command


def test_help_stays_lazy():
    """`workout --help` still loads neither numba nor pandas (the plan modules import the
    solver inside their functions)."""
    code = (
        "import sys, io, contextlib, cli\n"
        "from commands.common import run_cli\n"
        "with contextlib.redirect_stdout(io.StringIO()): run_cli(cli.workout, ['--help'])\n"
        "print(sorted(m for m in ('numba', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
