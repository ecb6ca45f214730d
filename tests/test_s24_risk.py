"""`workout risk` defects of the session-24 review, each fixed and checked here.

1. NaN (and infinity) options and cells refused: --pd-bands, --lgd, a panel's dpd, balance
   and weight.
2. ``risk rollrates HISTORY --segment COL`` keeps the history's columns; a missing segment
   column lists the file's columns.
3. Wilson and Goodman intervals contain their estimate (lower 0 at k = 0, upper 1 at k = n).
4. A chain in which no absorbing state is reachable: the matrices are printed and written
   (exit 0) with a note naming the bucket.
5. ``risk calibrate`` pools tiers whose hazards invert (PAVA) and says so.
6. A history model's scores name their horizon (``pd_3m``).
7. A missing column is named for the layout the table was meant to be.
8. ``risk fit --base`` is refused, naming where it belongs.
9. Blank cells are "missing value"; a blank exposure_months is 1.
10. A WORKOUT_DATA_DIR that does not exist is named as such.
11. Counts with thousands separators and plurals.

The oracles count by hand (pandas on the input file) or use closed forms, not the code under test.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_inprocess import run_workout

from solver.errors import InputError
from solver.risk.pd_tiers import check_pd_bands
from solver.risk.rollrate_intervals import goodman_intervals, wilson_interval

DATA = Path(__file__).parent / "data" / "risk"
PANEL = DATA / "panel_small.csv"
UCI_TINY = DATA / "uci_tiny.csv"


def _history(rows: list[tuple[str, str, int, str, str]]) -> pd.DataFrame:
    """A payment history from (account, month, dpd, status, tier) rows (dues 100, paid 0)."""
    frame = pd.DataFrame(rows, columns=["account_id", "month", "dpd", "status", "tier"])
    frame.insert(2, "amount_due", 100.0)
    frame.insert(3, "amount_paid", 0.0)
    frame["balance"] = 1000.0
    return frame


def _bucket(dpd: int, status: str) -> str:
    """SPEC §5 bucket of a history row, written out here (oracle)."""
    if status != "open":
        return status
    for upper, name in ((0, "M0"), (30, "M1"), (60, "M2"), (90, "M3")):
        if dpd <= upper:
            return name
    return "M4+"


# -- 1. NaN and infinity ----------------------------------------------------------------------


@pytest.mark.parametrize("bands", [(0.1, math.nan, 0.35, 0.55), (0.1, 0.2, 0.35, math.inf)])
def test_check_pd_bands_refuses_nan_and_inf(bands) -> None:
    """check_pd_bands refuses a NaN or infinite cut-off (NaN passed every comparison)."""
    with pytest.raises(InputError, match="pd_bands"):
        check_pd_bands(bands)


def test_fit_pd_bands_nan_is_exit_2_and_writes_nothing(tmp_path) -> None:
    """risk fit --pd-bands 0.1,nan,0.35,0.55: exit 2 naming pd_bands, no model written."""
    out = tmp_path / "m.toml"
    code, _, err = run_workout(
        "risk", "fit", UCI_TINY, "--out", out, "--pd-bands", "0.1,nan,0.35,0.55", "--no-png"
    )
    assert code == 2 and "pd_bands" in err and "nan" in err
    assert not out.exists()


@pytest.mark.parametrize("lgd", ["nan", "inf", "-inf"])
def test_rollrates_lgd_nan_or_inf_is_exit_2(lgd) -> None:
    """risk rollrates --lgd nan (or inf) is exit 2 naming lgd, not a null expected loss."""
    code, out, err = run_workout("risk", "rollrates", PANEL, "--lgd", lgd, "--format", "json")
    assert code == 2 and "lgd" in err and out == ""


def test_panel_infinite_dpd_balance_and_weight_are_named(tmp_path) -> None:
    """A panel's dpd or balance of inf is refused by row and column; an infinite weight too."""
    panel = tmp_path / "p.csv"
    panel.write_text("account_id,month,dpd,balance\nA1,2024-01,0,10\nA1,2024-02,inf,5\n")
    code, _, err = run_workout("risk", "rollrates", panel, "--no-png")
    assert code == 2 and "row 2 (account_id A1): dpd" in err
    panel.write_text("account_id,month,dpd,balance\nA1,2024-01,0,inf\nA1,2024-02,0,5\n")
    code, _, err = run_workout("risk", "rollrates", panel, "--no-png")
    assert code == 2 and "row 1 (account_id A1): balance: not a number" in err
    panel.write_text("account_id,month,dpd,w\nA1,2024-01,0,inf\nA1,2024-02,0,5\n")
    code, _, err = run_workout("risk", "rollrates", panel, "--no-png", "--weight", "w")
    assert code == 2 and "w: the weight column must hold numbers" in err


# -- 2. segments of a history ----------------------------------------------------------------


HISTORY_ROWS = [
    ("H1", "2024-01", 0, "open", "A"),
    ("H1", "2024-02", 15, "open", "A"),
    ("H1", "2024-03", 0, "paid", "A"),
    ("H2", "2024-01", 40, "open", "B"),
    ("H2", "2024-02", 70, "open", "C"),  # re-rated: the transition keeps its start month's B
    ("H2", "2024-03", 100, "charged_off", "C"),
    ("H3", "2024-01", 0, "open", "B"),
    ("H3", "2024-02", 0, "open", "B"),
]


def test_history_segment_by_tier_counts_by_start_month(tmp_path) -> None:
    """rollrates HISTORY --segment tier works; each segment's counts are the transitions
    whose start month has that tier (counted by hand from the rows)."""
    history = _history(HISTORY_ROWS)
    path = tmp_path / "h.csv"
    history.to_csv(path, index=False)
    code, out, err = run_workout(
        "risk", "rollrates", path, "--segment", "tier", "--format", "json", "--no-png"
    )
    assert code == 0, err
    got = json.loads(out)
    states = got["states"]
    expected: dict[str, dict[tuple[str, str], int]] = {}
    for (a, _, d1, s1, t1), (b, _, d2, s2, _) in zip(HISTORY_ROWS, HISTORY_ROWS[1:], strict=False):
        if a == b:
            pair = (_bucket(d1, s1), _bucket(d2, s2))
            expected.setdefault(t1, {}).setdefault(pair, 0)
            expected[t1][pair] += 1
    assert set(got["segments"]) == set(expected)
    for tier, pairs in expected.items():
        counts = np.array(got["segments"][tier]["counts"])
        assert counts.sum() == sum(pairs.values())
        for (a, b), n in pairs.items():
            assert counts[states.index(a), states.index(b)] == n


def test_missing_segment_lists_the_files_columns(tmp_path) -> None:
    """A --segment that is not a column lists the history file's columns (not the internal
    panel's dpd_bucket or month_index)."""
    path = tmp_path / "h.csv"
    _history(HISTORY_ROWS).to_csv(path, index=False)
    code, _, err = run_workout("risk", "rollrates", path, "--segment", "region", "--no-png")
    assert code == 2 and "'region'" in err
    assert "amount_due" in err and "tier" in err
    assert "month_index" not in err and "dpd_bucket" not in err


# -- 3. intervals contain their estimate ------------------------------------------------------


def test_wilson_ends_are_exact() -> None:
    """Wilson: lower bound exactly 0 for k = 0 and upper exactly 1 for k = n, every n to 3000."""
    n = np.arange(1, 3001, dtype=float)
    lower, _ = wilson_interval(np.zeros_like(n), n)
    _, upper = wilson_interval(n, n)
    assert np.all(lower == 0.0) and np.all(upper == 1.0)


def test_goodman_ends_are_exact() -> None:
    """Goodman: a cell of count 0 has lower bound 0; a cell holding the whole row upper 1."""
    for total in range(1, 2001):
        lower, upper = goodman_intervals(np.array([[total, 0, 0, 0, 0, 0, 0]], dtype=float))
        assert lower[0, 1:].max() == 0.0 and upper[0, 0] == 1.0


def test_every_interval_contains_its_estimate() -> None:
    """Random count rows with zeros and whole rows: lower <= k/n <= upper in both methods."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        k = rng.integers(1, 8)
        row = rng.integers(0, 50, size=k) * (rng.random(k) < 0.6)
        if row.sum() == 0:
            row[rng.integers(k)] = rng.integers(1, 500)
        p = row / row.sum()
        lo, hi = wilson_interval(row, np.full(k, row.sum()))
        assert np.all(lo <= p) and np.all(p <= hi)
        lo, hi = goodman_intervals(row[None, :].astype(float))
        assert np.all(lo[0] <= p) and np.all(p <= hi[0])


# -- 4. no absorbing state reachable ----------------------------------------------------------


def test_trapped_bucket_writes_the_matrices_with_a_note(tmp_path) -> None:
    """M0 never reaches paid or charged off: exit 0, the table is written (its counts are the
    history's transitions, counted by hand) and a note names bucket M0, not "row 1"."""
    rows = [
        ("T1", "2024-01", 0, "open", "A"),
        ("T1", "2024-02", 0, "open", "A"),
        ("T1", "2024-03", 0, "open", "A"),
        ("T2", "2024-01", 40, "open", "B"),
        ("T2", "2024-02", 100, "charged_off", "B"),
    ]
    path, out = tmp_path / "h.csv", tmp_path / "rr.csv"
    _history(rows).to_csv(path, index=False)
    code, stdout, err = run_workout("risk", "rollrates", path, "--out", out, "--no-png")
    assert code == 0, err
    assert "bucket M0" in stdout and "absorbing chain not computed" in stdout
    assert "row 1" not in stdout + err
    table = pd.read_csv(out)
    cells = table.set_index(["from_state", "to_state"])["count"]
    assert cells["M0", "M0"] == 2 and cells["M2", "charged_off"] == 1 and cells.sum() == 3
    code, stdout, _ = run_workout("risk", "rollrates", path, "--format", "json", "--no-png")
    assert code == 0 and any("bucket M0" in n for n in json.loads(stdout)["notes"])


# -- 5. calibrate pools inverted tiers --------------------------------------------------------


def _calibrate(tmp_path, rows: list[tuple[str, int, int]]) -> tuple[dict[str, float], str]:
    """Calibrate an outcome table of (tier, exposure, defaults); the written hazards and stdout."""
    path, out = tmp_path / "o.csv", tmp_path / "b.toml"
    pd.DataFrame(rows, columns=["tier", "exposure_months", "defaults"]).to_csv(path, index=False)
    code, stdout, err = run_workout("risk", "calibrate", path, "--out", out, "--no-png")
    assert code == 0, err
    text = out.read_text()
    return tomllib.loads(text)["base_hazard"], stdout + text


def test_calibrate_pools_a_reversed_best_tier(tmp_path) -> None:
    """A 10/100, B-E 1/100: all five pool to 14/500 (the pooled MLE, by hand), and it is said."""
    rows = [("A", 100, 10)] + [(t, 100, 1) for t in "BCDE"]
    written, said = _calibrate(tmp_path, rows)
    assert written == pytest.approx(dict.fromkeys("ABCDE", 14 / 500), rel=1e-12)
    assert "tiers pooled: A-E" in said


def test_calibrate_pools_only_the_violators(tmp_path) -> None:
    """B 8/1000 above C 6/1000: B and C written at 14/2000; A, D, E keep d / E."""
    rows = [("A", 1000, 2), ("B", 1000, 8), ("C", 1000, 6), ("D", 1000, 13), ("E", 1000, 30)]
    written, said = _calibrate(tmp_path, rows)
    expected = {"A": 0.002, "B": 0.007, "C": 0.007, "D": 0.013, "E": 0.030}
    assert written == pytest.approx(expected, rel=1e-12)
    assert "tiers pooled: B-C" in said
    ordered = [written[t] for t in "ABCDE"]
    assert ordered == sorted(ordered)


# -- 6 and 7: scores named by the horizon; missing columns named ------------------------------


def test_history_scores_name_their_horizon(risk_models, tmp_path) -> None:
    """A history model of horizon 3 writes pd_3m (not pd_next_month) and says 'within 3 months'."""
    out = tmp_path / "s.csv"
    code, stdout, err = run_workout(
        "risk", "score", risk_models["history"], "--ew-model", risk_models["ewh"],
        "--out", out, "--no-png",
    )  # fmt: skip
    assert code == 0, err
    columns = pd.read_csv(out).columns.tolist()
    assert columns[:2] == ["account_id", "pd_3m"] and "pd_next_month" not in columns
    assert "mean PD within 3 months" in stdout


def test_uci_model_on_a_history_says_what_it_scores(risk_models, tmp_path) -> None:
    """A UCI --ew-model given a history: it scores UCI tables, not histories (no UCI columns list)."""
    code, _, err = run_workout(
        "risk", "score", risk_models["history"], "--ew-model", risk_models["ew"],
        "--out", tmp_path / "s.csv", "--no-png",
    )  # fmt: skip
    assert code == 2 and "scores UCI credit-card tables, not histories" in err
    assert "LIMIT_BAL" not in err


@pytest.mark.parametrize("command", ["fit", "calibrate", "rollrates"])
def test_history_without_dpd_names_dpd(risk_models, tmp_path, command) -> None:
    """A history lacking dpd: fit, calibrate and rollrates name dpd, not UCI's or outcomes' columns."""
    path = tmp_path / "h.csv"
    pd.read_csv(risk_models["history"]).drop(columns=["dpd"]).to_csv(path, index=False)
    args = ["risk", command, path, "--no-png"]
    if command != "rollrates":
        args += ["--out", tmp_path / "m.toml"]
    code, _, err = run_workout(*args)
    assert code == 2 and "missing required history columns: dpd" in err
    assert "LIMIT_BAL" not in err and "tier, defaults" not in err


@pytest.mark.parametrize("command", ["fit", "rollrates"])
def test_uci_without_x8_names_x8(risk_models, tmp_path, command) -> None:
    """A raw UCI file lacking X8: fit and rollrates name X8 (PAY_3)."""
    path = tmp_path / "u.csv"
    raw = pd.read_csv(UCI_TINY).drop(columns=["X8"])
    raw.to_csv(path, index=False)
    args = ["risk", command, path, "--no-png"]
    if command == "fit":
        args += ["--out", tmp_path / "m.toml"]
    code, _, err = run_workout(*args)
    assert code == 2 and "X8 (PAY_3)" in err
    assert "dpd_bucket" not in err and "LIMIT_BAL..PAY_AMT6" not in err


def test_pd_column_names() -> None:
    """pd_next_month for a one-month horizon, pd_<h>m otherwise."""
    from solver.risk.early_warning_model import pd_column_name

    assert pd_column_name(1) == "pd_next_month" and pd_column_name(3) == "pd_3m"


# -- 8. fit --base ----------------------------------------------------------------------------


def test_fit_base_is_refused_naming_calibrate(tmp_path) -> None:
    """risk fit --base is exit 2 saying it belongs to risk calibrate; nothing written."""
    out = tmp_path / "m.toml"
    base = Path(__file__).parents[1] / "scenarios" / "behaviour.toml"
    code, _, err = run_workout("risk", "fit", UCI_TINY, "--out", out, "--base", base, "--no-png")
    assert code == 2 and "risk calibrate" in err and not out.exists()


# -- 9. blank cells ---------------------------------------------------------------------------


def test_blank_cells_are_missing_values(tmp_path) -> None:
    """Blank defaults, tier and account ids read "missing value" / "account_id missing", never nan."""
    path = tmp_path / "o.csv"
    path.write_text("account_id,tier,exposure_months,defaults\nO1,A,10,\n,B,5,x\nO3,,5,1\n")
    code, _, err = run_workout("risk", "calibrate", path, "--out", tmp_path / "b.toml")
    assert code == 2
    assert "row 1 (account_id O1): defaults: missing value" in err
    assert "row 2 (account_id missing): defaults" in err
    assert "row 3 (account_id O3): tier: missing value" in err
    assert "nan" not in err


def test_blank_uci_personal_cell_is_a_missing_value(tmp_path) -> None:
    """A blank AGE in a UCI file is a missing value, not "not a number (got <withheld>)"."""
    path = tmp_path / "u.csv"
    raw = pd.read_csv(UCI_TINY)
    raw["X5"] = raw["X5"].astype(object)
    raw.loc[0, "X5"] = None
    raw.to_csv(path, index=False)
    code, _, err = run_workout("risk", "rollrates", path, "--no-png")
    assert code == 2 and "X5 (AGE): missing value" in err and "withheld" not in err


def test_blank_exposure_months_is_one(tmp_path) -> None:
    """A blank exposure_months cell counts 1 month (as a missing column does): A's exposure is
    1 + 99 = 100 and its hazard 1/100."""
    path = tmp_path / "o.csv"
    rows = "tier,exposure_months,defaults\nA,,0\nA,99,1\n" + "".join(
        f"{t},1000,{d}\n" for t, d in zip("BCDE", (12, 14, 20, 30), strict=True)
    )
    path.write_text(rows)
    code, out, err = run_workout(
        "risk", "calibrate", path, "--out", tmp_path / "b.toml", "--format", "json", "--no-png"
    )
    assert code == 0, err
    tier_a = json.loads(out)["tiers"][0]
    assert tier_a["exposure_months"] == 100 and tier_a["hazard"] == pytest.approx(0.01)


# -- 10. the data directory -------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [("risk", "rollrates", "--uci", "--no-png"), ("bench", "gap", "--quick")]
)
def test_missing_data_dir_is_named(monkeypatch, tmp_path, args) -> None:
    """WORKOUT_DATA_DIR set to a missing directory: the message names it and says it does not
    exist (it said "set WORKOUT_DATA_DIR" although it was set)."""
    missing = tmp_path / "nonexistent"
    monkeypatch.setenv("WORKOUT_DATA_DIR", str(missing))
    code, _, err = run_workout(*args)
    assert code == 2 and f"WORKOUT_DATA_DIR={missing}" in err and "does not exist" in err


# -- 11. counts --------------------------------------------------------------------------------


def test_rollrates_summary_has_separators_and_plurals(tmp_path) -> None:
    """600 accounts x 3 months: "1,200 transitions from 600 accounts (1,800 account-months";
    one account missing a month: "1 gap skipped" (counts by hand)."""
    path = tmp_path / "p.csv"
    rows = [f"A{i},2024-0{m},M0" for i in range(600) for m in (1, 2, 3)]
    rows += ["G,2024-01,M0", "G,2024-03,M0"]
    path.write_text("account_id,month,dpd_bucket\n" + "\n".join(rows) + "\n")
    code, out, err = run_workout("risk", "rollrates", path, "--format", "json", "--no-png")
    assert code == 0, err
    summary = json.loads(out)["summary"]
    assert summary.startswith(
        "1,200 transitions from 601 accounts (1,802 account-months, 1 gap skipped"
    )


def test_score_help_names_both_layouts() -> None:
    """risk score --help no longer says the input is in the UCI layout only."""
    code, out, _ = run_workout("risk", "score", "--help")
    assert code == 0 and "payment history" in out.split("\n\n")[1]
