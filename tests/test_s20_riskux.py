"""Session 20, riskux: the user-facing defects a product review found in ``risk``,
``experiment`` and ``scenario`` output.

* Every example a group's ``--help`` lists runs (exit 0) on small generated or real data,
  in order, in an empty directory: two of ``risk --help``'s exited 2 on the UCI file.
* An experiment note says "significant" when p < 5 % and never reports post-hoc power.
* ``scenario run --baseline --no-cache`` never says "cached" and shows the baseline's times.
* ``experiment split --help`` lists the columns the file has.
* Roll rates warn about one-month jumps of more than one bucket (UCI's PAY_x coding).
* The risk commands name the layouts they accept and refuse the LendingClub file by name.
"""

from __future__ import annotations

import math
import re
import shlex
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from cli_inprocess import run_workout
from risk_data import UCI, needs_uci
from scipy.optimize import brentq
from scipy.stats import nct, ttest_ind
from scipy.stats import t as t_dist

from solver.risk.panel import validate_panel
from solver.risk.rollrates import roll_rates
from solver.scenarios.experiment_eval import evaluate_outcomes
from solver.scenarios.experiment_outcomes import read_outcomes

ROOT = Path(__file__).resolve().parents[1]
LENDING_CLUB = UCI.parent / "lending_club_sample.csv"
needs_lending_club = pytest.mark.skipif(
    not LENDING_CLUB.is_file(), reason="the shared LendingClub sample is absent"
)


def help_examples(*group: str) -> list[list[str]]:
    """The example command lines of ``workout GROUP --help`` (continuation lines joined),
    as argument lists without the leading ``workout``."""
    code, text, err = run_workout(*group, "--help")
    assert code == 0, err
    block = text.split("Examples:", 1)[1].split("Options:", 1)[0]
    commands: list[str] = []
    pending = ""
    for raw in block.splitlines():
        line = raw.strip()
        if not line:
            continue
        pending = f"{pending} {line}".strip()
        if pending.endswith("\\"):
            pending = pending[:-1].strip()
            continue
        commands.append(pending)
        pending = ""
    assert all(c.startswith("workout ") for c in commands), commands
    return [shlex.split(c)[1:] for c in commands]


def run_examples(examples: list[list[str]], cwd: Path, monkeypatch, extra=()) -> None:
    """Run the examples in order in ``cwd`` (each may read what an earlier one wrote);
    ``extra`` options are appended to the examples of the groups they are given for."""
    monkeypatch.chdir(cwd)
    for args in examples:
        more = [option for group, options in extra if args[0] == group for option in options]
        code, out, err = run_workout(*args, *more)
        assert code == 0, f"workout {' '.join(args)} exited {code}:\n{err}\n{out[-2000:]}"


# -- 1. the examples of the group helps -----------------------------------------------------


@pytest.mark.slow
@pytest.mark.data
@needs_uci
def test_risk_help_examples_run(tmp_path, monkeypatch):
    """Every example of `workout risk --help` exits 0 in an empty directory (UCI file and a
    generated book with its history), and the calibration writes a behaviour TOML."""
    monkeypatch.setenv("WORKOUT_DATA_DIR", str(UCI.parents[1]))
    examples = help_examples("risk")
    assert any(a[:2] == ["risk", "calibrate"] for a in examples)
    run_examples(examples, tmp_path, monkeypatch)
    assert (tmp_path / "out" / "behaviour.toml").is_file()


def test_experiment_help_examples_run(tmp_path, monkeypatch):
    """Every example of `workout experiment --help` exits 0 (the outcomes: the shipped
    example; the portfolio: the generate example the help lists first)."""
    (tmp_path / "tests").symlink_to(ROOT / "tests")  # the examples read tests/data/...
    run_examples(help_examples("experiment"), tmp_path, monkeypatch)
    assert (tmp_path / "out" / "experiment" / "uplift.csv").is_file()


@pytest.mark.slow
def test_scenario_help_examples_run(tmp_path, monkeypatch):
    """Every example of `workout scenario --help` exits 0; each sets a small portfolio.n
    itself (a copied example finishes in seconds); the path count is cut (appended --paths
    wins: a key may be swept once, so --set is not appended)."""
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    small = ("--paths", "4", "--no-cache", "--quiet")
    examples = help_examples("scenario")
    assert any(a[:2] == ["scenario", "run"] for a in examples)  # not vacuous
    assert all(any(x.startswith("portfolio.n=") for x in a) for a in examples), examples
    run_examples(examples, tmp_path, monkeypatch, extra=[("scenario", small)])


# -- 2. the experiment note ------------------------------------------------------------------


def _outcomes(tmp_path: Path, cured_champion: int, cured_challenger: int, n: int) -> Path:
    """An outcomes file of n champion and n challenger accounts with these cure counts."""
    rows = []
    for group, cured in (("champion", cured_champion), ("challenger", cured_challenger)):
        for i in range(n):
            rows.append(
                {
                    "account_id": f"{group}-{i}",
                    "group": group,
                    "balance": 1000.0,
                    "collected": 100.0 + (i % 7) * 10.0,
                    "cured": int(i < cured),
                }
            )
    path = tmp_path / "outcomes.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_significant_note_says_significant(tmp_path):
    """p < 5 % (cure 30 % vs 36 % of 1,000, p ≈ 0.004): the note says "significant" and
    neither "too small" nor "power" at the observed effect (that read 73 % before)."""
    result = evaluate_outcomes(read_outcomes(_outcomes(tmp_path, 300, 360, 1000)))
    cure = result.uplift.set_index("metric").loc["cure_rate"]
    # oracle: Welch's t on the 0/1 outcomes, scipy directly (session 25; was the pooled z)
    cured = [np.arange(1000) < k for k in (300, 360)]
    oracle = ttest_ind(cured[1].astype(float), cured[0].astype(float), equal_var=False)
    assert cure["p_value"] == pytest.approx(oracle.pvalue, abs=1e-6) and cure["p_value"] < 0.05
    note = result.notes[0]
    assert note.startswith("cure_rate: significant (p = 0.0043")
    assert "too small" not in note and "power" not in note


def test_non_significant_note_gives_detectable_uplift(tmp_path):
    """p ≥ 5 % (30 % vs 31 % of 1,000): the note says not significant, the smallest uplift
    detectable with 80 % power by Welch's test (session 25: noncentral t, Welch df, se from
    the n − 1 variances), and the accounts an uplift of the observed size needs; no
    post-hoc power."""
    result = evaluate_outcomes(read_outcomes(_outcomes(tmp_path, 300, 310, 1000)))
    note = result.notes[0]
    v1, v2 = 0.3 * 0.7 * 1000 / 999, 0.31 * 0.69 * 1000 / 999
    se = math.sqrt(v1 / 1000 + v2 / 1000)
    df = (v1 / 1000 + v2 / 1000) ** 2 / ((v1 / 1000) ** 2 / 999 + (v2 / 1000) ** 2 / 999)
    critical = t_dist.ppf(0.975, df)
    mde = brentq(
        lambda d: nct.sf(critical, df, d / se) + nct.cdf(-critical, df, d / se) - 0.8, 0.0, 0.2
    )
    assert note.startswith("cure_rate: not significant (p = ")
    assert f"±{mde:.4f}" in note
    assert "too small for an uplift of the observed size (+0.0100)" in note
    assert "power (" not in note and "achieved" not in note
    assert "power" not in result.uplift.columns


# -- 3. the scenario timing line -------------------------------------------------------------


def test_timing_line_with_baseline_says_shared_not_cached():
    """With a baseline that computed the stages, the run's reused stages say "shared with the
    baseline" and the baseline's own times are shown; no "cached"."""
    from commands.scenario_output import timing_text

    base = SimpleNamespace(
        name="calm",
        timings={"portfolio": 0.4, "plans": 40.12, "treatments": 10.0, "simulate": 0.9},
        notes={},
        cached_stages=(),
    )
    run = SimpleNamespace(
        name="recession",
        timings={"portfolio": 0.0, "plans": 0.001, "treatments": 0.0, "simulate": 0.44},
        notes={},
        cached_stages=("portfolio", "plans", "treatments"),
    )
    text = timing_text(run, base)
    assert text == (
        "baseline calm: portfolio 0.4s, plans 40.1s, treatments 10.0s, simulate 0.9s; "
        "recession: portfolio, plans, treatments shared with the baseline, simulate 0.4s"
    )
    assert "cached" not in text


def test_timing_line_without_baseline_unchanged():
    """Without a baseline a stage from a cache still says "cached" (disk or process)."""
    from commands.scenario_output import timing_text

    run = SimpleNamespace(
        timings={"portfolio": 0.001, "plans": 0.002, "simulate": 3.24},
        notes={"plans": "plans of 20 accounts (plan stage read from the cache)"},
        cached_stages=(),
    )
    assert timing_text(run) == "portfolio <0.1s, plans cached, simulate 3.2s"


# -- 4. experiment split --help lists the file's columns -------------------------------------


def test_split_help_lists_the_written_columns(tmp_path):
    """The columns `experiment split --help` lists (default strata) are the file's header."""
    code, text, err = run_workout("experiment", "split", "--help")
    assert code == 0, err
    listed = re.search(r"\(by default:\s*([^)]*)\)", " ".join(text.split()))
    assert listed is not None, text
    columns = [c.strip() for c in listed.group(1).split(",")]
    book = tmp_path / "book.csv"
    assert run_workout("generate", "portfolio", "--n", "50", "--out", book, "--quiet")[0] == 0
    out = tmp_path / "split.csv"
    code, _, err = run_workout("experiment", "split", book, "--out", out)
    assert code == 0, err
    assert columns == list(pd.read_csv(out, nrows=0).columns)


# -- 5. roll-rate jumps ----------------------------------------------------------------------


def _jump_panel() -> pd.DataFrame:
    """Four accounts over three months: M0->M2 twice, M1->M3 once, a cure M3->M0 (not a
    jump), the rest one bucket or less: 8 transitions, 3 jumps."""
    months = ["2024-01", "2024-02", "2024-03"]
    paths = {
        "a": ["M0", "M2", "M3"],  # jump, step
        "b": ["M0", "M2", "M2"],  # jump, stay
        "c": ["M1", "M3", "M0"],  # jump, cure
        "d": ["M0", "M1", "M0"],  # step, cure
    }
    rows = [
        {"account_id": a, "month": m, "dpd_bucket": s}
        for a, states in paths.items()
        for m, s in zip(months, states, strict=True)
    ]
    return validate_panel(pd.DataFrame(rows), source="jumps.csv")


def test_rollrate_jump_note_counts_and_share():
    """Jumps of more than one bucket in a month are counted (3 of 8, 37.5 %) with pairs."""
    result = roll_rates(_jump_panel(), source="jumps.csv")
    (note,) = result.notes()
    assert note.startswith("3 transitions (37.5% of 8) jump more than one bucket")
    assert "M0->M2 2" in note and "M1->M3 1" in note


def test_rollrate_no_note_without_jumps():
    """A panel whose moves are one bucket or cures has no note."""
    frame = _jump_panel()
    frame = frame[frame["account_id"] == "d"]
    assert roll_rates(frame, source="d.csv").notes() == ()


def test_rollrates_command_prints_and_writes_the_note(tmp_path):
    """`risk rollrates` prints the note; an .xlsx --out gets it on a notes sheet; json too."""
    panel = tmp_path / "jumps.csv"
    _jump_panel()[["account_id", "month", "dpd_bucket"]].to_csv(panel, index=False)
    out = tmp_path / "rr.xlsx"
    code, text, err = run_workout("risk", "rollrates", panel, "--no-png", "--out", out)
    assert code == 0, err
    assert "note: 3 transitions (37.5% of 8)" in " ".join(text.split())
    notes = pd.read_excel(out, sheet_name="notes")
    assert notes["note"].iloc[0].startswith("3 transitions")
    code, text, err = run_workout("risk", "rollrates", panel, "--no-png", "--format", "json")
    assert code == 0, err
    assert '"notes": [' in text and "37.5%" in text


# -- 6. layouts named, LendingClub refused ---------------------------------------------------


def test_fit_error_names_the_accepted_layouts(tmp_path):
    """`risk fit` on an unknown table names UCI's raw header as the file has it (ID,
    X1..X23, Y), the named copy and the payment history (exit 2, no traceback)."""
    junk = tmp_path / "junk.csv"
    junk.write_text("a,b\n1,2\n", encoding="utf-8")
    code, _, err = run_workout("risk", "fit", junk, "--out", tmp_path / "m.toml", "--no-png")
    text = " ".join(err.split())
    assert code == 2 and "Traceback" not in err
    assert "ID, X1..X23, Y" in text and "LIMIT_BAL" in text
    assert "account_id, month, amount_due, amount_paid, dpd, status" in text


@pytest.mark.data
@needs_lending_club
@pytest.mark.parametrize(
    "command",
    [
        ("risk", "fit", "{lc}", "--out", "{tmp}/m.toml", "--no-png"),
        ("risk", "rollrates", "{lc}", "--no-png"),
        ("risk", "calibrate", "{lc}", "--out", "{tmp}/b.toml", "--no-png"),
        ("risk", "score", "{lc}", "--ew-model", "{tmp}/m.toml", "--out", "{tmp}/s.csv"),
    ],
)
def test_lending_club_refused_by_name(tmp_path, command):
    """Every risk command refuses the LendingClub sample saying it is not a supported input,
    not by listing columns it lacks; exit 2, nothing written."""
    (tmp_path / "m.toml").write_text("", encoding="utf-8")  # score checks the model exists
    args = [a.format(lc=LENDING_CLUB, tmp=tmp_path) for a in command]
    code, _, err = run_workout(*args)
    text = " ".join(err.split())
    assert code == 2, err
    assert "LendingClub loan file is not a supported input of workout risk" in text
    assert "missing" not in text
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "b.toml").exists()
