"""Session 19 review of `workout scenario` and `workout risk`: the NPL peak and month 0, the
chart files and axes, and history problems listed in row order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_inprocess import run_workout

from solver.core.generate import generate_portfolio

DATA = Path(__file__).parent / "data" / "scenario"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Keep the CLI's plan cache out of the home directory."""
    monkeypatch.setenv("WORKOUT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "plan-cache"))


@pytest.fixture(scope="module")
def book_run(tmp_path_factory) -> tuple[pd.DataFrame, Path, Path]:
    """A 200-account book written to CSV, and its scenario run with 1 and 40 paths."""
    root = tmp_path_factory.mktemp("s19scen")
    book = generate_portfolio(200, seed=7)
    book.to_csv(root / "book.csv", index=False)
    (root / "book.toml").write_text(
        'name = "book"\n[portfolio]\npath = "book.csv"\n'
        f'[model]\npath = "{(ROOT / "scenarios" / "behaviour.toml").as_posix()}"\n'
        "[plans]\nrestructure = false\n"
        "[simulation]\npaths = 40\nhorizon_months = 18\nseed = 5\n",
        encoding="utf-8",
    )
    from solver.scenarios.report import write_scenario_report
    from solver.scenarios.run import run_scenario
    from solver.scenarios.spec import load_scenario

    # one path through the library (the CLI takes 2 or more), 40 through the CLI
    one = root / "out1"
    write_scenario_report(run_scenario(load_scenario(root / "book.toml"), paths=1), one)
    many = root / "out40"
    code, _, err = run_workout(
        "scenario", "run", root / "book.toml", "--paths", 40, "--out-dir", many, "--quiet"
    )
    assert code == 0, err
    return pd.read_csv(root / "book.csv"), one, many


def _peak_kpi(out: Path) -> float:
    kpis = pd.read_csv(out / "kpis.csv")
    row = kpis[(kpis["segment_type"] == "total") & (kpis["kpi"] == "npl_ratio_peak")]
    return float(row["mean"].iloc[0])


def test_npl_peak_is_the_peak_of_months_1_to_h_of_monthly_csv(book_run):
    """npl_ratio_peak (months 1..H, per path) equals the highest npl_ratio_mean of months
    1..H in monthly.csv with one path, and is at least it with 40 paths."""
    _, one, many = book_run
    for out, exact in ((one, True), (many, False)):
        monthly = pd.read_csv(out / "monthly.csv")
        after = monthly[(monthly["month"] >= 1) & monthly["npl_ratio_mean"].notna()]
        highest = float(after["npl_ratio_mean"].max())
        peak = _peak_kpi(out)
        if exact:
            assert peak == pytest.approx(highest, abs=1e-6)
        else:
            assert peak >= highest - 1e-6
    from solver.scenarios.kpi_defs import KPIS

    assert "months 1..H" in KPIS["npl_ratio_peak"][1]


def test_month_0_row_is_the_opening_book(book_run):
    """monthly.csv's month 0: open balance = principal + interest + fees summed from the
    book's CSV (nonzero), NPL ratio = the M3+ share of that balance (M3 is 61-90 dpd)."""
    book, one, many = book_run
    owed = book["principal"] + book["interest_due"] + book["fees_due"]
    opening = round(float(owed.sum()), 2)
    npl = float(owed[book["dpd"] > 60].sum()) / float(owed.sum())
    for out in (one, many):
        month0 = pd.read_csv(out / "monthly.csv").set_index("month").loc[0]
        for part in ("mean", "low", "high"):
            assert month0[f"open_balance_{part}"] == pytest.approx(opening, abs=0.01)
            assert month0[f"npl_ratio_{part}"] == pytest.approx(npl, abs=1e-6)


@pytest.fixture(scope="module")
def small_results():
    """The small scenario and its recession variant (20 paths) with their comparison."""
    from solver.scenarios.run import run_scenario
    from solver.scenarios.scenario_result import compare
    from solver.scenarios.spec import load_scenario

    base = run_scenario(load_scenario(DATA / "small.toml"), paths=20)
    shock = run_scenario(load_scenario(DATA / "small_recession.toml"), paths=20)
    return shock, base, compare(shock, base)


def test_chart_files_with_and_without_baseline(small_results, tmp_path):
    """Without a baseline no kpi_deltas.png (the tier chart is recovery_by_tier.png); with
    one, both; the HTML report embeds exactly the charts written."""
    from solver.scenarios.report import write_scenario_report

    shock, base, comparison = small_results
    alone = {p.name for p in write_scenario_report(shock, tmp_path / "a")}
    assert "recovery_by_tier.png" in alone and "kpi_deltas.png" not in alone
    both = {
        p.name
        for p in write_scenario_report(shock, tmp_path / "b", baseline=base, comparison=comparison)
    }
    assert {"recovery_by_tier.png", "kpi_deltas.png"} <= both
    for folder, names in (("a", alone), ("b", both)):
        page = (tmp_path / folder / "report.html").read_text(encoding="utf-8")
        for name in ("kpi_deltas.png", "recovery_by_tier.png"):
            assert (f'title="{name}"' in page) == (name in names), (folder, name)


def test_delta_axis_covers_every_whisker(small_results):
    """A +212.7 % delta whose 95 % whisker reaches +280 % lies inside the x axis, as does
    every other bar and whisker (no clipping at ±100 %)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from solver.scenarios.report_charts import delta_figure
    from solver.scenarios.report_tables import KEY_KPIS

    shock, base, _ = small_results
    names = [k for k in KEY_KPIS][:4]
    # (baseline, delta, ci low, ci high): one far beyond 100 %, one far below -100 %
    figures = [(0.0017, 0.003616, 0.0024, 0.00476), (10.0, -25.0, -30.0, -20.0)]
    figures += [(100.0, 3.0, 1.0, 5.0)] * (len(names) - 2)
    comparison = pd.DataFrame(
        [
            {
                "segment_type": "total",
                "segment": "all",
                "kpi": k,
                "baseline": b,
                "delta": d,
                "delta_ci_low": lo,
                "delta_ci_high": hi,
            }
            for k, (b, d, lo, hi) in zip(names, figures, strict=True)
        ]
    )
    fig = delta_figure(plt, shock, base, comparison)
    left, right = fig.axes[0].get_xlim()
    plt.close(fig)
    for b, d, lo, hi in figures:
        assert left <= 100 * min(lo, d) / abs(b) and 100 * max(hi, d) / abs(b) <= right
    assert right >= 280.0 and left <= -300.0


def test_tier_chart_labels_fit_the_figure(small_results):
    """The tier chart's y label, x label and title lie inside the figure (none cut off)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from solver.scenarios.report_charts import tier_recovery_figure

    fig = tier_recovery_figure(plt, small_results[0])
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    ax = fig.axes[0]
    for text in (ax.yaxis.label, ax.xaxis.label, ax.title):
        extent = text.get_window_extent(renderer)
        assert extent.x0 >= box.x0 - 0.5 and extent.x1 <= box.x1 + 0.5, text.get_text()
        assert extent.y0 >= box.y0 - 0.5 and extent.y1 <= box.y1 + 0.5, text.get_text()
    plt.close(fig)


def _history_with_three_problems(path: Path) -> Path:
    """14 rows of two accounts; row 6 a bad status, row 10 a non-number, row 12 a
    negative amount due (rows counted from 1 after the header)."""
    rows = []
    for i in range(1, 15):
        account, month = f"a{(i - 1) // 7}", (i - 1) % 7 + 1
        rows.append([account, f"2024-{month:02d}", "100", "100", "0", "open"])
    rows[5][5] = "late"
    rows[9][3] = "x"
    rows[11][2] = "-5"
    header = "account_id,month,amount_due,amount_paid,dpd,status"
    path.write_text(header + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    return path


@pytest.mark.parametrize("command", ["rollrates", "calibrate"])
def test_history_problems_are_listed_in_row_order(tmp_path, command):
    """`risk rollrates` and `risk calibrate` list a history's problems in row order (6,
    10, 12), whatever check found them, and exit 2."""
    history = _history_with_three_problems(tmp_path / "h.csv")
    extra = ["--out", tmp_path / "beh.toml"] if command == "calibrate" else []
    code, out, err = run_workout("risk", command, history, *extra, "--no-png")
    assert code == 2
    text = out + err
    rows = [int(n) for n in pd.Series(text.splitlines()).str.extract(r"row (\d+)")[0].dropna()]
    assert rows == [6, 10, 12], text
    for expected in ("row 6 (account_id a0): status", "row 10 (account_id a1): amount_paid"):
        assert expected in text
    assert "row 12 (account_id a1): amount_due: must be >= 0" in text


def test_row_problems_sort_by_row_then_column():
    """RowProblems orders lines by row, then the table's column order, then check order,
    and keeps at most MAX_PROBLEMS lines of one check."""
    from solver.core.schema import MAX_PROBLEMS
    from solver.errors import InputError
    from solver.risk._tables import RowProblems

    frame = pd.DataFrame({"a": range(60), "b": range(60)})
    problems = RowProblems("t.csv", frame, frame["a"].astype(str))
    problems.report(np.arange(60) >= 3, "b", "late check")
    problems.report(np.arange(60) == 4, "a", "early column")
    problems.report(np.arange(60) == 2, "b", "second b check")
    lines = problems.lines
    assert lines[0].startswith("t.csv: row 3 ") and "second b check" in lines[0]
    assert "row 4 " in lines[1] and "late check" in lines[1]
    assert "row 5 " in lines[2] and "early column" in lines[2]  # column a before b
    assert "row 5 " in lines[3] and "late check" in lines[3]
    assert len(lines) == MAX_PROBLEMS + 2
    with pytest.raises(InputError):
        problems.raise_any()
