"""`workout risk` commands on small files: outputs, exit codes, nothing written on bad input."""

from __future__ import annotations

import json
import tomllib

import pandas as pd
import pytest
from risk_data import DATA

from cli import workout
from commands.common import run_cli

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(args: list[str], capsys) -> tuple[int, str, str]:
    """Run `workout risk ...` in-process; return the exit code, stdout and stderr."""
    rc = run_cli(workout, ["risk", *args])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_help_lists_the_subcommands(capsys):
    """`workout risk --help` names rollrates, fit, score and calibrate."""
    rc, out, _ = run(["--help"], capsys)
    assert rc == 0
    for name in ("rollrates", "fit", "score", "calibrate"):
        assert name in out


def test_rollrates_json_table_and_png(tmp_path, capsys):
    """rollrates on panel_small: JSON rows sum to 1, absorption and expected loss shown, CSV and PNG written."""
    out = tmp_path / "rates.csv"
    rc, stdout, _ = run(
        ["rollrates", str(DATA / "panel_small.csv"), "--out", str(out), "--format", "json"], capsys
    )
    assert rc == 0
    payload = json.loads(stdout)
    assert payload["n_transitions"] == 13
    assert all(abs(s - 1) < 1e-12 for s in payload["overall"]["row_sums"])
    assert payload["absorption"]["absorption_probabilities"][0] == pytest.approx([0.6, 0.4])
    # Latest month balances: M0 900 + 2900 = 3800 (P(CO) 0.4), M3 2300 (P(CO) 1) -> 1520 + 2300.
    assert payload["expected_loss"]["total"] == pytest.approx(3820.00, abs=1e-9)
    table = pd.read_csv(out)
    assert len(table) == 49 and set(table["segment"]) == {"all"}
    assert out.with_suffix(".png").read_bytes()[:8] == PNG_MAGIC


def test_rollrates_table_output_shows_intervals(tmp_path, capsys):
    """The rich output prints the matrix, its intervals and the segment tables."""
    rc, stdout, _ = run(
        [
            "rollrates",
            str(DATA / "panel_small.csv"),
            "--segment",
            "product",
            "--png",
            str(tmp_path / "h.png"),
        ],
        capsys,
    )
    assert rc == 0
    assert "95% wilson intervals" in stdout and "product = auto" in stdout
    assert "Absorbing chain" in stdout
    assert (tmp_path / "h.png").is_file()


def test_rollrates_bad_panel_exits_2_and_writes_nothing(tmp_path, capsys):
    """A bad panel: exit 2, the problems on stderr without a traceback, no CSV and no PNG."""
    out = tmp_path / "rates.csv"
    rc, _, err = run(["rollrates", str(DATA / "panel_bad.csv"), "--out", str(out)], capsys)
    assert rc == 2
    assert "row 2 (account_id B1): dpd_bucket" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_rollrates_needs_a_panel_or_uci(capsys):
    """Neither PANEL nor --uci is a usage error (exit 2)."""
    rc, _, err = run(["rollrates", "--no-png"], capsys)
    assert rc == 2 and "PANEL" in err


def test_rollrates_uci_without_data_is_a_clear_error(tmp_path, capsys):
    """--uci with an empty data directory: exit 2 naming WORKOUT_DATA_DIR."""
    rc, _, err = run(["rollrates", "--uci", "--data-dir", str(tmp_path), "--no-png"], capsys)
    assert rc == 2 and "WORKOUT_DATA_DIR" in err


def test_calibrate_writes_behaviour_toml(tmp_path, capsys):
    """calibrate outcomes_small: the TOML has the MLEs, the JSON the intervals, and a PNG is written."""
    out = tmp_path / "behaviour.toml"
    rc, stdout, _ = run(
        ["calibrate", str(DATA / "outcomes_small.csv"), "--out", str(out), "--format", "json"],
        capsys,
    )
    assert rc == 0
    payload = json.loads(stdout)
    data = tomllib.loads(out.read_text())
    assert data["base_hazard"]["B"] == pytest.approx(0.02)
    assert payload["tiers"][1]["lower"] < 0.02 < payload["tiers"][1]["upper"]
    assert out.with_suffix(".png").read_bytes()[:8] == PNG_MAGIC


def test_calibrate_bad_input_writes_nothing(tmp_path, capsys):
    """An outcome file without tier/defaults: exit 2, no TOML and no PNG."""
    rc, _, err = run(
        ["calibrate", str(DATA / "panel_small.csv"), "--out", str(tmp_path / "b.toml")], capsys
    )
    assert rc == 2 and "missing required columns: tier, defaults" in err
    assert list(tmp_path.iterdir()) == []


def test_fit_rejects_a_non_toml_model_path(tmp_path, capsys):
    """--out must be a .toml file (the model is never pickled)."""
    rc, _, err = run(["fit", str(DATA / "uci_tiny.csv"), "--out", str(tmp_path / "m.pkl")], capsys)
    assert rc == 2 and ".toml" in err
    assert list(tmp_path.iterdir()) == []


def test_score_with_a_missing_model_is_exit_2(tmp_path, capsys):
    """A model path that does not exist: exit 2, nothing written."""
    rc, _, err = run(
        [
            "score",
            str(DATA / "uci_tiny.csv"),
            "--model",
            str(tmp_path / "none.toml"),
            "--out",
            str(tmp_path / "s.csv"),
        ],
        capsys,
    )
    assert rc == 2 and "model file not found" in err
    assert list(tmp_path.iterdir()) == []


def test_score_tiny_file_with_a_small_model(tmp_path, capsys):
    """Score uci_tiny.csv with a model fitted on synthetic accounts: 3 rows with PD, tier and hazard."""
    from test_risk_early_warning import FAST, synthetic_uci

    from solver.risk.early_warning import fit_early_warning
    from solver.risk.uci import uci_features

    accounts = synthetic_uci(1500, seed=2)
    fit = fit_early_warning(uci_features(accounts), accounts["default_next_month"].to_numpy(), FAST)
    model = fit.model.write(tmp_path / "model.toml")
    out = tmp_path / "scores.parquet"
    rc, stdout, _ = run(
        ["score", str(DATA / "uci_tiny.csv"), "--model", str(model), "--out", str(out)], capsys
    )
    assert rc == 0 and "Early-warning scores: 3 accounts" in stdout
    scores = pd.read_parquet(out)
    assert scores["account_id"].tolist() == ["1", "2", "3"]
    assert scores["pd_next_month"].between(0, 1).all()
    assert (tmp_path / "scores.png").is_file()
