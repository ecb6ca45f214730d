"""s25-risk: `risk calibrate` pools once, its JSON gives the written hazards, and the κ fit
pools inverted tiers by maximum likelihood; one definition of the layouts' required columns
and of the PD column's name.

Oracles: the TOML the command writes (the JSON must repeat its numbers), and this file's own
Bernoulli log-likelihood of SPEC §4's hazard ``h_t = h0 + (1 - h0) κ (1 - a_t)``, maximised
with scipy over one shared ``h0`` for the pooled tiers' rows.
"""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pandas as pd
import pytest
from cli_inprocess import run_workout
from scipy import optimize

import solver.risk.calibration_result as calibration_result
from solver.core.cleaning import is_blank
from solver.errors import InputError
from solver.risk.calibration import calibrate_hazards
from solver.risk.early_warning_model import pd_column_horizon, pd_column_name, pd_column_of
from solver.risk.layouts import LAYOUT_COLUMNS, OUTCOMES_REQUIRED, PANEL_REQUIRED
from solver.risk.outcomes import validate_outcomes
from solver.risk.panel import validate_panel
from solver.risk.scoring import ScoreRun

# A 10 defaults in 100 months and C-E 1 in 100, no B: A, C-E pool and B is held (s24-pool).
INVERTED = {"A": (100, 10), "C": (100, 1), "D": (100, 1), "E": (100, 1)}


def _outcomes(tmp_path, rows: dict[str, tuple[int, int]]):
    path = tmp_path / "outcomes.csv"
    pd.DataFrame(
        [{"tier": t, "exposure_months": e, "defaults": d} for t, (e, d) in rows.items()]
    ).to_csv(path, index=False)
    return path


def test_calibrate_pools_the_estimates_once(tmp_path, monkeypatch) -> None:
    """`risk calibrate` (table, note, summary, TOML) runs the PAVA on the estimates once."""
    calls = []
    original = calibration_result.pool_adjacent_violators

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(calibration_result, "pool_adjacent_violators", counted)
    out = tmp_path / "behaviour.toml"
    code, stdout, err = run_workout(
        "risk", "calibrate", _outcomes(tmp_path, INVERTED), "--out", out, "--no-png"
    )
    assert code == 0, err
    assert "tiers pooled: A, C-E" in " ".join(stdout.split())
    assert len(calls) == 1


@pytest.mark.parametrize("with_base", [False, True])
def test_calibrate_json_gives_the_hazards_the_toml_gets(tmp_path, with_base: bool) -> None:
    """Each tier's JSON ``written`` equals the TOML's base_hazard (pooled, held, --base)."""
    out = tmp_path / "behaviour.toml"
    args = ["risk", "calibrate", _outcomes(tmp_path, INVERTED), "--out", out, "--no-png"]
    if with_base:  # a base whose hazards differ from the defaults: B's fallback is 0.05
        base = tmp_path / "base.toml"
        base.write_text("[base_hazard]\nA = 0.01\nB = 0.05\nC = 0.06\nD = 0.07\nE = 0.08\n")
        args += ["--base", base]
    code, stdout, err = run_workout(*args, "--format", "json")
    assert code == 0, err
    toml = tomllib.loads(out.read_text())["base_hazard"]
    written = {row["tier"]: row["written"] for row in json.loads(stdout)["tiers"]}
    assert written == toml  # the same floats, not only close
    assert written["B"] == written["A"]  # held at the pooled value, not at its fallback


def _affordability_book(seed: int = 3):
    """Account-months of tiers A-C: A's months mostly unaffordable, B's mostly affordable,
    with A's true h0 above B's, so that A's estimate lands above B's and the two pool."""
    rng = np.random.default_rng(seed)
    tiers, events, afford = [], [], []
    for tier, n, h0, unaffordable_share in (
        ("A", 3000, 0.012, 0.6),
        ("B", 3000, 0.006, 0.05),
        ("C", 3000, 0.02, 0.3),
    ):
        u = np.where(
            rng.random(n) < unaffordable_share, rng.uniform(0.6, 1, n), rng.uniform(0, 0.1, n)
        )
        p = h0 + (1 - h0) * 0.3 * u
        tiers += [tier] * n
        events.append((rng.random(n) < p).astype(float))
        afford.append(1 - u)
    return np.array(tiers), np.concatenate(events), np.concatenate(afford)


def _pooled_mle(events: np.ndarray, afford: np.ndarray, kappa: float) -> float:
    """Oracle: the h0 maximising the Bernoulli log-likelihood of the rows (κ held)."""
    u = 1 - afford

    def nll(h0: float) -> float:
        p = h0 + (1 - h0) * kappa * u
        return -float(np.sum(events * np.log(p) + (1 - events) * np.log1p(-p)))

    return float(
        optimize.minimize_scalar(
            nll, bounds=(1e-9, 0.5), method="bounded", options={"xatol": 1e-13}
        ).x
    )


def test_kappa_fit_pools_inverted_tiers_by_maximum_likelihood() -> None:
    """The κ fit's pooled h0 of A and B maximises their rows' likelihood (κ as fitted), not
    the exposure-weighted mean of their estimates, which is not the MLE of this model."""
    tiers, events, afford = _affordability_book()
    fit = calibrate_hazards(tiers, events, afford_prob=afford)
    a, b = fit.hazard("A"), fit.hazard("B")
    assert fit.method == "mle-profile" and a.hazard > b.hazard  # the case under test
    pooled = fit.pooled_hazards()
    rows = np.isin(tiers, ["A", "B"])
    expected = _pooled_mle(events[rows], afford[rows], fit.kappa)
    assert pooled["A"] == pooled["B"] == pytest.approx(expected, rel=1e-7)
    by_months = (a.hazard * a.exposure_months + b.hazard * b.exposure_months) / (
        a.exposure_months + b.exposure_months
    )
    assert abs(pooled["A"] - by_months) > 0.05 * by_months  # main's weighting: far from it
    assert pooled["C"] == fit.hazard("C").hazard  # an unpooled tier keeps its estimate
    note = fit.pooling_note()
    assert note is not None and "by maximum likelihood, kappa as fitted" in note


def test_kappa_held_at_zero_pools_to_defaults_over_months() -> None:
    """With κ held at 0 the likelihood is the constant hazard's: pooled h0 = Σd / ΣE."""
    tiers, events, afford = _affordability_book()
    fit = calibrate_hazards(tiers, events, afford_prob=afford, estimate_kappa=False, kappa=0.0)
    assert fit.hazard("A").hazard > fit.hazard("B").hazard
    pooled = fit.pooled_hazards()
    for group in fit.pooled_groups():
        rows = np.isin(tiers, group)
        for tier in group:
            assert pooled[tier] == pytest.approx(events[rows].mean(), rel=1e-10)
    assert fit.pooled_groups()  # some tiers were pooled


def test_layouts_use_the_validators_required_columns(tmp_path) -> None:
    """closest_layout's panel and outcome columns are those the validators ask for."""
    assert LAYOUT_COLUMNS["panel"] == PANEL_REQUIRED
    assert LAYOUT_COLUMNS["outcomes"] == tuple((c,) for c in OUTCOMES_REQUIRED)
    with pytest.raises(InputError, match=r"missing required columns: month, dpd_bucket \(or dpd\)"):
        validate_panel(pd.DataFrame({"account_id": ["a"]}))
    with pytest.raises(InputError, match="missing required columns: tier, defaults"):
        validate_outcomes(pd.DataFrame({"exposure_months": [1]}))


@pytest.mark.parametrize("horizon", [1, 3, 12])
def test_pd_column_name_is_read_back_by_one_function(horizon: int) -> None:
    """pd_column_horizon inverts pd_column_name; the scores' label and pd_column_of use it."""
    column = pd_column_name(horizon)
    assert pd_column_horizon(column) == horizon
    assert pd_column_of(pd.DataFrame(columns=["account_id", column])) == column
    run = ScoreRun(None, pd.DataFrame(), 0, column)
    assert run.pd_label == ("next month" if horizon == 1 else f"within {horizon} months")
    assert pd_column_horizon("pd_model") is None


def test_a_risk_tables_blank_cell_is_cores_blank() -> None:
    """A risk table's blank cell is solver.core.cleaning.is_blank's (one definition): pd.NA
    and NaT (Parquet, databases) and a NaN word (as pandas reads a CSV's "NA") are blank,
    a zero is not."""
    assert is_blank(pd.NA) and is_blank(pd.NaT) and is_blank("  ") and is_blank("NA")
    assert not is_blank(0) and not is_blank("0")
