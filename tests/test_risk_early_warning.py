"""Early-warning score: pickle-free tree export, metrics, tiers, and the UCI acceptance run."""

from __future__ import annotations

import json
import tomllib

import lightgbm
import numpy as np
import pandas as pd
import pytest
from risk_data import UCI, needs_uci
from scipy import stats

from cli import workout
from commands.common import run_cli
from solver.errors import InputError
from solver.risk.early_warning import fit_early_warning, score_uci
from solver.risk.early_warning_fit import EarlyWarningParams
from solver.risk.early_warning_model import EarlyWarningModel
from solver.risk.pd_tiers import assign_tiers
from solver.risk.score_metrics import calibration_table, ks_statistic, roc_auc
from solver.risk.trees import TreeEnsemble
from solver.risk.uci import UCI_COLUMNS, normalise_uci, uci_features, uci_raw_features

FAST = EarlyWarningParams(max_iter=40, learning_rate=0.1, min_samples_leaf=20)


def synthetic_uci(n: int, seed: int) -> pd.DataFrame:
    """A made-up table in the UCI layout whose default flag depends on the latest statuses."""
    rng = np.random.default_rng(seed)
    limit = rng.choice([20_000, 50_000, 100_000, 200_000], n).astype(float)
    risk = rng.normal(size=n)
    status = np.clip(np.round(risk[:, None] + rng.normal(scale=0.8, size=(n, 6))), -2, 8)
    bills = np.clip(limit[:, None] * rng.uniform(0, 1.1, (n, 6)), 0, None) * (
        rng.random((n, 6)) > 0.05
    )
    paid = bills * rng.uniform(0, 0.6, (n, 6)) * (status <= 0)
    logit = -1.6 + 0.9 * status[:, 0] + 0.4 * status[:, 1] + 0.8 * (bills[:, 0] / limit)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    table = pd.DataFrame({"ID": np.arange(1, n + 1)})
    values = np.column_stack(
        [
            limit,
            rng.integers(1, 3, n),
            rng.integers(1, 4, n),
            rng.integers(1, 3, n),
            rng.integers(21, 70, n),
            status,
            bills,
            paid,
        ]
    )
    for k, name in enumerate(UCI_COLUMNS):
        table[name] = values[:, k]
    table["Y"] = y
    return normalise_uci(table)


@pytest.fixture(scope="module")
def synthetic():
    """2000 synthetic accounts normalised like the UCI file."""
    return synthetic_uci(2000, seed=1)


@pytest.fixture(scope="module")
def small_fit(synthetic):
    """A quick fit (40 trees) on the synthetic accounts, with the baseline."""
    return fit_early_warning(
        uci_features(synthetic),
        synthetic["default_next_month"].to_numpy(),
        FAST,
        uci_raw_features(synthetic),
    )


def _lightgbm(x: np.ndarray, y: np.ndarray, **options) -> lightgbm.LGBMClassifier:
    return lightgbm.LGBMClassifier(
        n_estimators=60, num_leaves=8, random_state=0, verbose=-1, n_jobs=1, **options
    ).fit(x, y)


def test_exported_trees_match_lightgbm_bit_for_bit():
    """The numpy evaluator equals LightGBM's raw score exactly, with missing values where
    training had them (missing_type NaN: the learnt direction) and where it had none
    (missing_type None: LightGBM compares them as 0.0)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 6))
    x[:2000, :3][rng.random((2000, 3)) < 0.1] = np.nan  # training: NaN in columns a-c only
    x[2000:][rng.random((1000, 6)) < 0.2] = np.nan  # scoring: NaN everywhere
    signal = np.nan_to_num(x[:, 0]) + np.isnan(x[:, 1]) + x[:, 3] + 0.5 * x[:, 4]
    y = ((np.nan_to_num(signal) + rng.normal(size=3000)) > 0.5).astype(int)
    model = _lightgbm(x[:2000], y[:2000])
    dump = model.booster_.dump_model()
    kinds = {
        node["missing_type"]
        for tree in dump["tree_info"]
        for node in _internal_nodes(tree["tree_structure"])
    }
    assert kinds == {"NaN", "None"}  # both kinds of split are exercised
    ensemble = TreeEnsemble.from_lightgbm_dump(dump, tuple("abcdef"))
    assert ensemble.n_trees == 60
    np.testing.assert_array_equal(
        ensemble.log_odds(x[2000:]), model.predict(x[2000:], raw_score=True)
    )
    np.testing.assert_allclose(
        ensemble.predict_pd(x[2000:]), model.predict_proba(x[2000:])[:, 1], rtol=0, atol=1e-15
    )


def _internal_nodes(node: dict) -> list[dict]:
    if "leaf_value" in node:
        return []
    return [node, *_internal_nodes(node["left_child"]), *_internal_nodes(node["right_child"])]


def test_export_refuses_what_the_arrays_cannot_hold():
    """Zeros counted as missing, multiclass models and a wrong feature count are refused."""
    rng = np.random.default_rng(1)
    x = np.round(rng.normal(size=(600, 3)))
    y = (x[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match="missing_type 'Zero'"):
        TreeEnsemble.from_lightgbm_dump(
            _lightgbm(x, y, zero_as_missing=True).booster_.dump_model(), tuple("abc")
        )
    multiclass = _lightgbm(x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)).booster_.dump_model()
    with pytest.raises(ValueError, match="only binary models"):
        TreeEnsemble.from_lightgbm_dump(multiclass, tuple("abc"))
    with pytest.raises(ValueError, match="expected 2"):
        TreeEnsemble.from_lightgbm_dump(_lightgbm(x, y).booster_.dump_model(), tuple("ab"))


def test_model_file_round_trips_exactly(small_fit, synthetic, tmp_path):
    """Write -> read gives the same trees (every float exact) and the same scores; the file is plain TOML."""
    path = small_fit.model.write(tmp_path / "model.toml")
    loaded = EarlyWarningModel.read(path)
    assert loaded.to_dict() == small_fit.model.to_dict()
    features = uci_features(synthetic)
    np.testing.assert_array_equal(loaded.predict_pd(features), small_fit.model.predict_pd(features))
    data = tomllib.loads(path.read_text())
    assert data["format"] == "workout-early-warning" and len(data["ensemble"]["trees"]) == 40


def test_same_seed_same_model_file(synthetic, small_fit):
    """Refitting with the same seed writes byte-identical TOML."""
    again = fit_early_warning(
        uci_features(synthetic),
        synthetic["default_next_month"].to_numpy(),
        FAST,
        uci_raw_features(synthetic),
    )
    assert again.model.to_toml_text() == small_fit.model.to_toml_text()
    assert again.auc == small_fit.auc and again.baseline_auc == small_fit.baseline_auc


def test_split_is_seeded_and_stratified(small_fit, synthetic):
    """70/30 split: n_test = 600 of 2000 and the test default rate equals the overall rate within 1/600."""
    y = synthetic["default_next_month"].to_numpy()
    assert (small_fit.n_train, small_fit.n_test) == (1400, 600)
    assert small_fit.test_outcome.mean() == pytest.approx(y.mean(), abs=1 / 600)


def test_auc_and_ks_agree_with_independent_formulas(small_fit):
    """AUC = Mann-Whitney U / (n1 n0) and KS = two-sample KS statistic of the scores by outcome."""
    y, p = small_fit.test_outcome, small_fit.test_pd
    u = stats.mannwhitneyu(p[y == 1], p[y == 0]).statistic
    assert roc_auc(y, p) == pytest.approx(u / ((y == 1).sum() * (y == 0).sum()), abs=1e-12)
    assert ks_statistic(y, p) == pytest.approx(
        stats.ks_2samp(p[y == 1], p[y == 0]).statistic, abs=1e-12
    )
    assert small_fit.auc == roc_auc(y, p)


def test_calibration_table_reconciles(small_fit):
    """Ten equal groups; counts and defaults add up to the test set; predicted means ascend."""
    table = calibration_table(small_fit.test_outcome, small_fit.test_pd)
    assert len(table) == 10 and (table["n"] == 60).all()
    assert table["defaults"].sum() == small_fit.test_outcome.sum()
    assert table["mean_predicted"].is_monotonic_increasing
    assert (
        (table["lower"] <= table["observed_rate"]) & (table["observed_rate"] <= table["upper"])
    ).all()


def test_tier_bands():
    """Fixed PD bands: [0, .10) A, [.10, .20) B, [.20, .35) C, [.35, .55) D, [.55, 1] E."""
    pd_score = np.array([0.0, 0.0999, 0.1, 0.1999, 0.2, 0.35, 0.5499, 0.55, 1.0])
    assert assign_tiers(pd_score).tolist() == ["A", "A", "B", "B", "C", "D", "D", "E", "E"]
    with pytest.raises(InputError, match="pd_bands"):
        assign_tiers(pd_score, (0.2, 0.1, 0.3, 0.4))


def test_malformed_model_files_are_input_errors(tmp_path, small_fit):
    """A non-model TOML, broken TOML, and a tree pointing outside itself are rejected without pickle."""
    other = tmp_path / "other.toml"
    other.write_text('format = "something-else"\n')
    with pytest.raises(InputError, match="not an early-warning model"):
        EarlyWarningModel.read(other)
    broken = tmp_path / "broken.toml"
    broken.write_text("format = \n")
    with pytest.raises(InputError, match="not (a )?valid TOML"):
        EarlyWarningModel.read(broken)
    data = small_fit.model.to_dict()
    data["ensemble"]["trees"][0]["left"][0] = 10_000
    with pytest.raises(InputError, match="child index out of range"):
        EarlyWarningModel.from_dict(data)
    with pytest.raises(InputError, match=r"\.toml"):
        small_fit.model.write(tmp_path / "model.pkl")


def test_scores_carry_tier_and_hazard(small_fit, synthetic):
    """score_uci gives PD, tier from the bands, the tier's hazard, and outcome columns for calibrate."""
    scores = score_uci(small_fit.model, synthetic)
    assert list(scores.columns) == [
        "account_id",
        "pd_next_month",
        "tier",
        "base_hazard",
        "exposure_months",
        "defaults",
    ]
    assert (scores["tier"] == assign_tiers(scores["pd_next_month"].to_numpy())).all()
    hazards = scores.groupby("tier")["base_hazard"].nunique()
    assert (hazards == 1).all()


# --------------------------------------------------------------------------- UCI acceptance


@pytest.mark.data
@needs_uci
def test_uci_fit_meets_the_acceptance_criteria(tmp_path, capsys):
    """Seeded stratified 70/30 split: held-out AUC >= 0.775 and not below the raw-column HGB baseline.

    Measured here (seed 0, LightGBM): AUC 0.7808, KS 0.4275; baseline AUC 0.7765, KS 0.4213
    Then `score` the file with the written model and `calibrate` from the scores.
    """
    model = tmp_path / "model.toml"
    rc = run_cli(
        workout,
        [
            "risk",
            "fit",
            str(UCI),
            "--out",
            str(model),
            "--format",
            "json",
        ],
    )
    assert rc == 0
    payload = json.loads(capsys.readouterr().out)
    assert {"auc", "ks", "n_train", "n_test", "baseline_auc"} <= set(payload)
    assert payload["n_train"] == 21_000 and payload["n_test"] == 9_000
    assert payload["auc"] >= 0.775
    assert payload["auc"] >= payload["baseline_auc"]
    assert payload["ks"] > 0.4
    assert (model.with_suffix(".png")).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    observed = [row["observed_rate"] for row in payload["tiers"]]
    assert observed == sorted(observed)  # tiers rank risk

    scores = tmp_path / "scores.csv"
    assert (
        run_cli(
            workout,
            [
                "risk",
                "score",
                str(UCI),
                "--model",
                str(model),
                "--out",
                str(scores),
                "--format",
                "json",
            ],
        )
        == 0
    )
    capsys.readouterr()
    table = pd.read_csv(scores)
    assert len(table) == 30_000 and set(table["tier"]) == set("ABCDE")
    # issue 18: UCI's event ("late next month") is a delinquency transition; hazards
    # calibrated on it fail the sanity check on the sample account: exit 2, nothing written
    behaviour_out = tmp_path / "behaviour.toml"
    rc = run_cli(workout, ["risk", "calibrate", str(scores), "--out", str(behaviour_out)])
    err = capsys.readouterr().err
    assert rc == 2 and not behaviour_out.exists()
    assert "sanity check" in err and "PD within 12 months" in err
