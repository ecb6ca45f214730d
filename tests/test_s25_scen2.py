"""Session 25 review of `workout scenario` as a portfolio manager uses it (second pass).

1. ``[[shocks.segments]]``: regions compared as languages are (case, spaces); a segment
   that sets no shock is refused; one that matches no account warns and is noted.
2. ``--baseline`` over another ``simulation.horizon_months`` is refused (exit 2).
3. The 95 % interval of a mean (and of a paired delta) is Student's t with paths − 1 df.
4. ``dti_p90`` beyond 5.0 is measured, not capped (NaN above the histogram's top).
5. Every problem of a scenario file is reported at once.
6. ``scenario sweep --set``: an unknown key is one problem; a value given twice is refused.
7. A child's ``[[shocks.segments]]`` replacing its parent's gets a note.
8. The cure rate with a group without variance gets Fisher's exact p-value.

Oracles are computed here: by hand, or with scipy directly.
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``cli.py`` of this checkout with ``args``."""
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _small(tmp_path: Path, name: str, extra: str = "") -> Path:
    """A small scenario (generated book, no treatment stage) with ``extra`` appended."""
    return _write(
        tmp_path / f"{name}.toml",
        f'name = "{name}"\n'
        "[portfolio]\nn = 30\nseed = 3\n"
        f'[model]\npath = "{SCENARIOS / "behaviour.toml"}"\n'
        f'[policy]\npath = "{SCENARIOS / "policy.toml"}"\n'
        "[plans]\ngrid_levels = 4\nbeam_width = 4\nbuckets = 16\n"
        "[simulation]\npaths = 5\nhorizon_months = 12\nseed = 1\n" + extra,
    )


# --- 1. segments -------------------------------------------------------------------------


def test_region_filter_ignores_case_and_spaces():
    """A segment's region matches the book's region whatever its case and surrounding
    spaces (the language rule); other regions do not match."""
    from solver.scenarios.shocks import segment_mask

    frame = pd.DataFrame({"region": ["Guangdong", " guangdong ", "Hunan", None]})
    mask = segment_mask(frame, {"region": ("GUANGDONG ",)})
    assert mask.tolist() == [True, True, False, False]


def test_segment_matching_no_account_is_listed_as_unmatched():
    """account_shocks names the segment (entry number and filters) that matches no account,
    and applies the ones that match."""
    from solver.scenarios.shocks import SegmentShock, Shocks, account_shocks

    frame = pd.DataFrame({"region": ["Guangdong", "Hunan"], "tier": ["A", "B"]})
    shocks = Shocks(
        segments=(
            SegmentShock(filters={"region": ("guangdong",)}, income_multiplier=0.5),
            SegmentShock(filters={"region": ("Atlantis",)}, income_multiplier=0.5),
        )
    )
    out = account_shocks(frame, shocks)
    assert out.income_multiplier.tolist() == [0.5, 1.0]
    assert out.unmatched == ("[[shocks.segments]] entry 2 (region=Atlantis)",)


def test_segment_setting_no_shock_is_refused(tmp_path):
    """A [[shocks.segments]] entry of filters only is an error naming the file and entry."""
    from solver.errors import InputError
    from solver.scenarios.spec import load_scenario

    path = _small(tmp_path, "noshock", '[[shocks.segments]]\ntier = "D"\n')
    with pytest.raises(InputError) as info:
        load_scenario(path)
    text = "\n".join([str(info.value), *(info.value.problems or [])])
    assert str(path) in text
    assert "[[shocks.segments]] entry 1: sets no shock" in text


def test_run_warns_and_notes_a_segment_matching_no_account(tmp_path):
    """A run whose segment matches no account of the book warns and records a note."""
    from solver.scenarios.run import run_scenario
    from solver.scenarios.spec import load_scenario

    path = _small(
        tmp_path, "atlantis", '[[shocks.segments]]\nregion = "Atlantis"\nhazard_multiplier = 2.0\n'
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_scenario(load_scenario(path))
    messages = [str(w.message) for w in caught]
    assert any("region=Atlantis" in m and "matches no account" in m for m in messages)
    assert "region=Atlantis" in result.notes["segments"]


# --- 2. horizons -------------------------------------------------------------------------


def test_baseline_with_another_horizon_exits_2(tmp_path):
    """scenario run --baseline over another horizon: exit 2 before any work, naming both
    files and both horizons."""
    scen = _small(tmp_path, "h12")
    base = _write(
        tmp_path / "h24.toml", 'extends = "h12.toml"\n[simulation]\nhorizon_months = 24\n'
    )
    done = _cli(
        "scenario", "run", str(scen), "--baseline", str(base), "--out-dir", str(tmp_path / "o")
    )
    assert done.returncode == 2, done.stderr
    assert str(base) in done.stderr and str(scen) in done.stderr
    assert "12" in done.stderr and "24" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists()


# --- 3. Student's t ----------------------------------------------------------------------


def test_mean_interval_is_students_t():
    """path_stats' 95 % interval of the mean is mean ± t(0.975, n−1)·sd/√n (20 paths)."""
    from solver.scenarios.kpis import path_stats

    x = np.random.default_rng(5).normal(100.0, 10.0, 20)
    half = stats.t.ppf(0.975, 19) * x.std(ddof=1) / math.sqrt(20)
    got = path_stats(x)
    assert got["ci_low"] == pytest.approx(x.mean() - half, rel=1e-12)
    assert got["ci_high"] == pytest.approx(x.mean() + half, rel=1e-12)


def _result(values: np.ndarray, horizon: int = 12) -> object:
    """A ScenarioResult of one account and one KPI with per-path ``values``."""
    from solver.scenarios.scenario_result import ScenarioResult

    accounts = pd.DataFrame({"account_id": ["a"], "opening_balance": [100.0]})
    return ScenarioResult(
        name="x",
        description="",
        scenario=None,
        paths=len(values),
        seed=0,
        horizon=horizon,
        kpis=None,
        accounts=accounts,
        monthly=None,
        roll_rates=None,
        path_values={("total", "all"): {"credit_loss": np.asarray(values, float)}},
    )


def test_paired_delta_interval_is_students_t_and_decides_significance():
    """compare's paired delta interval is t(0.975, n−1)·sd(diff)/√n; a delta inside the t
    interval but outside the 1.96 one is not significant (n = 4)."""
    from solver.scenarios.scenario_result import compare

    base = np.array([10.0, 20.0, 30.0, 40.0])
    diff = np.array([0.5, 3.5, 0.5, 3.5])  # mean 2, sd 1.732
    se = diff.std(ddof=1) / 2.0
    assert 1.96 * se < 2.0 < stats.t.ppf(0.975, 3) * se  # the case that tells them apart
    row = compare(_result(base + diff), _result(base)).iloc[0]
    half = stats.t.ppf(0.975, 3) * se
    assert row["delta_ci_low"] == pytest.approx(2.0 - half, abs=0.01)
    assert row["delta_ci_high"] == pytest.approx(2.0 + half, abs=0.01)
    assert not row["significant"]


def test_compare_refuses_another_horizon():
    """compare() refuses two results over different horizons."""
    from solver.scenarios.scenario_result import compare

    with pytest.raises(ValueError, match="horizon"):
        compare(_result(np.ones(3), 24), _result(np.ones(3), 36))


# --- 4. dti_p90 --------------------------------------------------------------------------


def test_dti_quantile_beyond_five_is_measured():
    """DTIs mostly above 5: the histogram p90 is within 3 % of numpy's and above the mean
    (it was capped near 5.0); above the histogram's top it is NaN, not a number."""
    from solver.scenarios.path_outcomes import DTI_MAX, DTI_NBINS, dti_bins, dti_quantile

    values = np.random.default_rng(2).lognormal(2.0, 0.6, 4000)  # median 7.4
    hist = np.bincount(dti_bins(values), minlength=DTI_NBINS)
    p90 = dti_quantile(hist, 0.9)[0]
    assert p90 == pytest.approx(np.quantile(values, 0.9), rel=0.03)
    assert p90 > values.mean()
    small = np.random.default_rng(0).gamma(2.0, 0.3, 5000)  # below 5: as before
    hist = np.bincount(dti_bins(small), minlength=DTI_NBINS)
    assert abs(dti_quantile(hist, 0.9)[0] - np.quantile(small, 0.9)) <= 0.01
    huge = np.full(10, DTI_MAX * 2)
    assert math.isnan(dti_quantile(np.bincount(dti_bins(huge), minlength=DTI_NBINS), 0.9)[0])


# --- 5. every problem at once --------------------------------------------------------------


def test_every_problem_of_the_file_is_reported(tmp_path):
    """An unknown [policy] key does not hide a bad value of another table."""
    from solver.errors import InputError
    from solver.scenarios.spec import load_scenario

    path = _small(
        tmp_path,
        "bad",
        "[collection]\ncapacity_multiplier = -1\n",
    )
    text = path.read_text().replace("[policy]\n", "[policy]\nmax_dtii = 0.5\n")
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    problems = "\n".join(info.value.problems or [])
    assert "policy.max_dtii" in problems
    assert "collection.capacity_multiplier must be >= 0, got -1" in problems


# --- 6. sweep --set ------------------------------------------------------------------------


def test_sweep_unknown_key_is_one_problem_and_duplicates_are_refused(tmp_path):
    """An unknown swept key is reported once (not once per value); 3,3 is refused."""
    scen = _small(tmp_path, "sweep")
    done = _cli("scenario", "sweep", str(scen), "--set", "policy.max_deferal_months=0,3",
                "--out-dir", str(tmp_path / "o"))  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("unknown policy key") == 1, done.stderr
    done = _cli("scenario", "sweep", str(scen), "--set", "policy.max_deferral_months=3,3",
                "--out-dir", str(tmp_path / "o"))  # fmt: skip
    assert done.returncode == 2
    assert "given twice" in done.stderr


# --- 7. a child's segments -----------------------------------------------------------------


def test_child_replacing_parent_segments_gets_a_note(tmp_path):
    """A child's [[shocks.segments]] replacing its parent's list is noted (with both files);
    a child that keeps its parent's list gets no note."""
    from solver.scenarios.spec import load_scenario

    _small(tmp_path, "parent", '[[shocks.segments]]\ntier = "E"\nhazard_multiplier = 1.5\n')
    child = _write(
        tmp_path / "child.toml",
        'extends = "parent.toml"\n[[shocks.segments]]\ntier = "D"\nincome_multiplier = 0.9\n',
    )
    keeps = _write(
        tmp_path / "keeps.toml", 'extends = "parent.toml"\n[shocks]\nhazard_multiplier = 1.1\n'
    )
    notes = load_scenario(child).notes
    assert len(notes) == 1 and str(child) in notes[0] and "parent.toml" in notes[0]
    assert load_scenario(keeps).notes == ()


# --- 8. Fisher ---------------------------------------------------------------------------


def _cure_frame(champion: list[int], challenger: list[int]) -> pd.DataFrame:
    rows = [
        {"account_id": f"{g}-{i}", "group": g, "balance": "100", "collected": str(10 * (i + 1)),
         "cured": str(c)}
        for g, values in (("champion", champion), ("challenger", challenger))
        for i, c in enumerate(values)
    ]  # fmt: skip
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("champion", "challenger"),
    [([0, 0, 0, 0, 0], [1, 1, 1, 1, 1]), ([0, 0, 0, 0, 0], [1, 1, 1, 0, 0])],
)
def test_cure_rate_without_variance_in_a_group_uses_fishers_exact_test(champion, challenger):
    """0/5 vs 5/5 (was "not testable") and 0/5 vs 3/5 cured: the cure rate's p-value is
    scipy's two-sided Fisher exact test of the 2x2 table."""
    from solver.scenarios.experiment_eval import evaluate_outcomes
    from solver.scenarios.experiment_outcomes import validate_outcomes

    result = evaluate_outcomes(validate_outcomes(_cure_frame(champion, challenger)))
    row = result.uplift.set_index("metric").loc["cure_rate"]
    c1, c2 = sum(champion), sum(challenger)
    oracle = stats.fisher_exact([[c2, 5 - c2], [c1, 5 - c1]]).pvalue
    assert row["p_value"] == pytest.approx(oracle, abs=1e-6)
    assert "Fisher" in row["test"]
    assert row["significant"] == (oracle < 0.05)
    note = next(n for n in result.notes if n.startswith("cure_rate"))
    assert "not testable" not in note


def test_sweep_single_valued_key_is_a_setting_not_a_column(tmp_path):
    """`--set portfolio.n=20` beside a swept key applies to every run but is neither a
    column of sweep.csv nor a grid dimension (two runs, one per swept value)."""
    scen = _small(tmp_path, "sweep1")
    out = tmp_path / "o"
    done = _cli("scenario", "sweep", str(scen), "--set", "portfolio.n=20",
                "--set", "policy.max_deferral_months=0,3", "--quiet", "--out-dir", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out / "sweep.csv")
    assert "portfolio.n" not in table.columns
    assert table["policy.max_deferral_months"].tolist() == [0, 3]
