"""Early-warning score: probability of default next month from repayment behaviour.

Model. LightGBM's gradient-boosted trees (``LGBMClassifier``) on the engineered behaviour
features of :func:`solver.risk.uci.uci_features` (status history, payment-to-bill
ratios, utilisation, trends, delinquency counts), with fixed hyperparameters, a fixed
seed and LightGBM's ``deterministic`` mode (why LightGBM: :mod:`solver.risk.trees`). The data are split 70/30, stratified on the outcome, with the same
seed; every reported metric is measured on the held-out 30 %. In the same run an
off-the-shelf ``HistGradientBoostingClassifier(random_state=seed)`` is fitted on the raw
columns as the baseline.

Persistence without pickle. The fitted trees are exported from LightGBM's documented
``Booster.dump_model()`` to plain arrays (split feature, threshold, where missing values
go, children, leaf values) and stored in a TOML file;
:class:`solver.risk.trees.TreeEnsemble` evaluates them with vectorised numpy. Loading a
model therefore only parses data. The export is checked against LightGBM's own
``predict_proba`` on the test rows when it is made, and the metrics are computed from
the exported trees, i.e. from exactly what is persisted.

Tiers. Tiers A-E are fixed bands of the predicted PD (default upper bounds 10 %, 20 %,
35 %, 55 %; tier E is 55 % and above): a tier means the same risk whatever the
portfolio's mix. Each tier's monthly hazard is the default rate observed in it on the
held-out set (with an exact binomial interval), with adjacent tiers whose rates invert
pooled so that a worse tier never gets a lower hazard (:func:`~solver.risk.pd_tiers.tier_hazards`);
``score`` attaches it to every account so that ``plan``, ``allocate`` and ``scenario`` can use the tier and its hazard.

This module fits and scores; the fit's settings and result are in
:mod:`solver.risk.early_warning_fit`, the held-out metrics in
:mod:`solver.risk.score_metrics`, the tier bands in :mod:`solver.risk.pd_tiers` and the
model file in :mod:`solver.risk.early_warning_model`. LightGBM and scikit-learn are imported inside the
functions that fit or measure (start-up time: about half a second that ``workout risk
score``, which only evaluates the stored trees, would otherwise pay).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from solver.errors import InputError
from solver.risk._tables import TableSource, source_label
from solver.risk.early_warning_fit import EarlyWarningFit, EarlyWarningParams
from solver.risk.early_warning_model import EarlyWarningModel
from solver.risk.pd_tiers import (
    assign_tiers,
    tier_hazards,
    tier_table,
)
from solver.risk.score_metrics import (
    CALIBRATION_BINS,
    calibration_table,
    hosmer_lemeshow,
    ks_statistic,
    roc_auc,
)
from solver.risk.trees import TreeEnsemble
from solver.risk.uci import TARGET, read_uci, uci_features, uci_raw_features

__all__ = [
    "EarlyWarningModel",
    "assign_tiers",
    "calibration_table",
    "fit_early_warning",
    "fit_uci",
    "fit_uci_table",
    "ks_statistic",
    "outcome_problem",
    "score_accounts",
    "score_uci",
    "tier_table",
]

_CHUNK_ROWS = 4096


def outcome_problem(outcome: np.ndarray, test_size: float) -> str | None:
    """Why a 0/1 outcome cannot be fitted with a stratified split (``None``: it can).

    The early-warning model learns to tell the two outcomes apart, so both must occur; the
    seeded stratified split puts each outcome in the training and the held-out share, so
    each needs at least two rows and each share at least one row per outcome.
    """
    y = np.asarray(outcome)
    if y.size == 0:
        return "no rows"
    if not np.isin(y, (0, 1)).all():
        return "must be 0 or 1"
    counts = {k: int((y == k).sum()) for k in (0, 1)}
    for value, other in ((0, 1), (1, 0)):
        if counts[other] == 0:
            what = "defaulted" if value else "did not default"
            return (
                f"every one of the {y.size:,} rows is {value} (all {what}): a single class; "
                "the early-warning model needs accounts with 0 and with 1"
            )
    for value in (0, 1):
        if counts[value] < 2:
            return (
                f"only {counts[value]} row with {value}: the stratified split needs at least 2 "
                "rows of each outcome"
            )
    n_test = math.ceil(test_size * y.size)
    if n_test < 2 or y.size - n_test < 2:
        return (
            f"{y.size:,} rows are too few to hold out {test_size:g} of them with both "
            "outcomes on each side"
        )
    if n_test < CALIBRATION_BINS:  # the held-out calibration table has one row per decile
        return (
            f"{y.size:,} rows hold out {n_test} at test_size {test_size:g}, fewer than the "
            f"{CALIBRATION_BINS} the calibration deciles need: give a larger history"
        )
    return None


def fit_early_warning(
    features: pd.DataFrame,
    outcome: np.ndarray,
    params: EarlyWarningParams | None = None,
    baseline_features: pd.DataFrame | None = None,
    feature_set: str = "uci-behaviour-v1",
    target: str = "default_next_month",
    baseline_kind: str = "hgb",
) -> EarlyWarningFit:
    """Fit the early-warning model with a seeded stratified split and report held-out metrics.

    Parameters
    ----------
    features
        Engineered feature table (one row per account).
    outcome
        0/1 event of each account (e.g. default next month).
    params
        Hyperparameters, seed, split and tier bands.
    baseline_features
        Raw columns for the off-the-shelf baseline (skipped when ``None`` or
        ``params.baseline`` is False).
    feature_set, target
        Names recorded in the model file.
    baseline_kind
        ``"hgb"``: an off-the-shelf ``HistGradientBoostingClassifier`` (the raw UCI
        columns); ``"logistic"``: a logistic regression (median imputation, standardised
        inputs), the baseline of history fits (issue 18).

    Returns
    -------
    EarlyWarningFit
    """
    # Import scikit-learn first: threadpoolctl only limits OpenMP runtimes already loaded
    # (the baselines; LightGBM takes its threads from n_jobs).
    import sklearn.ensemble  # noqa: F401

    params = params or EarlyWarningParams()
    with threadpool_limits(limits=params.n_threads, user_api="openmp"):
        return _fit(
            features, outcome, params, baseline_features, feature_set, target, baseline_kind
        )


def _baseline(kind: str, seed: int) -> Any:
    """The unfitted baseline classifier of ``kind`` (see :func:`fit_early_warning`)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    if kind == "hgb":
        return HistGradientBoostingClassifier(random_state=seed)
    if kind == "logistic":
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(max_iter=2000),
        )
    raise InputError(f"unknown baseline {kind!r} (hgb or logistic)")


_BASELINE_NAMES = {
    "hgb": "HistGradientBoostingClassifier(random_state=seed) on the raw columns",
    "logistic": "logistic regression (median imputation, standardised) on the same features",
}


def _fit(
    features: pd.DataFrame,
    outcome: np.ndarray,
    params: EarlyWarningParams,
    baseline_features: pd.DataFrame | None,
    feature_set: str,
    target: str,
    baseline_kind: str = "hgb",
) -> EarlyWarningFit:
    import lightgbm
    from sklearn.model_selection import train_test_split

    started = time.perf_counter()
    y = np.asarray(outcome, dtype=np.int64)
    if y.shape != (len(features),):
        raise InputError(
            f"outcome must have one value per row ({len(features)}), got shape {y.shape}"
        )
    problem = outcome_problem(y, params.test_size)
    if problem is not None:
        raise InputError(f"outcome: {problem}")
    train, test = train_test_split(
        np.arange(y.size), test_size=params.test_size, stratify=y, random_state=params.seed
    )
    x = features.to_numpy(dtype=float)
    names = tuple(str(c) for c in features.columns)
    classifier = lightgbm.LGBMClassifier(**params.model_params())
    classifier.fit(x[train], y[train])
    ensemble = TreeEnsemble.from_lightgbm_dump(classifier.booster_.dump_model(), names)
    test_pd = ensemble.predict_pd(x[test])
    # The persisted trees must reproduce LightGBM exactly; otherwise the export is wrong.
    reference = np.asarray(classifier.predict_proba(x[test]))[:, 1]  # typed as list or array
    if not np.allclose(test_pd, reference, rtol=0, atol=1e-9):
        raise RuntimeError(
            f"exported trees disagree with LightGBM (max diff {np.max(np.abs(test_pd - reference)):.3g})"
        )
    y_test = y[test]
    baseline_auc = baseline_ks = math.nan
    baseline_pd = None
    if params.baseline and baseline_features is not None:
        raw = baseline_features.to_numpy(dtype=float)
        baseline = _baseline(baseline_kind, params.seed).fit(raw[train], y[train])
        baseline_pd = baseline.predict_proba(raw[test])[:, 1]
        baseline_auc = roc_auc(y_test, baseline_pd)
        baseline_ks = ks_statistic(y_test, baseline_pd)
    calibration = calibration_table(y_test, test_pd)
    hl, hl_p = hosmer_lemeshow(calibration)
    tiers = tier_table(y_test, test_pd, params.pd_bands)
    auc, ks = roc_auc(y_test, test_pd), ks_statistic(y_test, test_pd)
    brier = float(np.mean((test_pd - y_test) ** 2))

    fit_info = {
        "seed": params.seed,
        "test_size": params.test_size,
        "stratified": True,
        "n_train": int(train.size),
        "n_test": int(test.size),
        "auc": auc,
        "ks": ks,
        "brier": brier,
        "baseline": _BASELINE_NAMES[baseline_kind],
        "learner": f"LightGBM {lightgbm.__version__} LGBMClassifier",
        "params": {k: v for k, v in params.model_params().items()},
    }
    if not math.isnan(baseline_auc):
        fit_info["baseline_auc"] = baseline_auc
        fit_info["baseline_ks"] = baseline_ks
    tier_hazard = tier_hazards(tiers)  # observed rates, non-decreasing A to E (pd_tiers.py)
    # the table shows the pooled rate each tier's hazard is made from beside its own observed
    # rate, so that a pooled tier does not read as a model file that disagrees with the table
    tiers = tiers.assign(pooled_rate=tiers["tier"].map(tier_hazard))
    model = EarlyWarningModel(
        ensemble=ensemble,
        pd_bands=tuple(params.pd_bands),
        tier_hazard=tier_hazard,
        target=target,
        feature_set=feature_set,
        fit_info=fit_info,
    )
    return EarlyWarningFit(
        model=model,
        auc=auc,
        ks=ks,
        brier=brier,
        baseline_auc=baseline_auc,
        baseline_ks=baseline_ks,
        n_train=int(train.size),
        n_test=int(test.size),
        calibration=calibration,
        tiers=tiers,
        hosmer_lemeshow=hl,
        hosmer_lemeshow_p=hl_p,
        test_outcome=y_test,
        test_pd=test_pd,
        test_baseline_pd=baseline_pd,
        runtime_s=time.perf_counter() - started,
    )


def fit_uci(path: TableSource, params: EarlyWarningParams | None = None) -> EarlyWarningFit:
    """Read the UCI file, build the behaviour features and fit (baseline on the raw columns)."""
    return fit_uci_table(read_uci(path), source_label(path), params)


def fit_uci_table(
    uci: pd.DataFrame, source: str, params: EarlyWarningParams | None = None
) -> EarlyWarningFit:
    """:func:`fit_uci` on a UCI table already read and normalised (:func:`normalise_uci`);
    ``source`` names it in messages."""
    if TARGET not in uci.columns:
        raise InputError(
            f"{source}: no default flag column (Y or default.payment.next.month) to fit on"
        )
    problem = outcome_problem(uci[TARGET].to_numpy(), (params or EarlyWarningParams()).test_size)
    if problem is not None:
        raise InputError(f"{source}: {uci.attrs.get('target_column', TARGET)}: {problem}")
    return fit_early_warning(
        uci_features(uci), uci[TARGET].to_numpy(), params, baseline_features=uci_raw_features(uci)
    )


def score_accounts(
    model: EarlyWarningModel, features: pd.DataFrame, account_id: np.ndarray
) -> pd.DataFrame:
    """Score accounts: ``account_id``, the PD (named by the model's horizon,
    :attr:`EarlyWarningModel.pd_column`: ``pd_next_month``, ``pd_3m``), ``tier``, ``base_hazard``.

    ``base_hazard`` is the monthly default rate observed in the account's tier when the
    model was fitted (NaN for a tier that had no held-out accounts).
    """
    pd_score = model.predict_pd(features)
    tiers = assign_tiers(pd_score, model.pd_bands)
    hazard = np.array([model.tier_hazard.get(t, math.nan) for t in tiers], dtype=float)
    return pd.DataFrame(
        {
            "account_id": np.asarray(account_id),
            model.pd_column: pd_score,
            "tier": tiers,
            "base_hazard": hazard,
        }
    )


def score_uci(model: EarlyWarningModel, uci: pd.DataFrame) -> pd.DataFrame:
    """Score a normalised UCI table; adds ``exposure_months``/``defaults`` when outcomes are known.

    With outcomes the result doubles as an outcome table for ``workout risk calibrate``.
    """
    if model.feature_set != "uci-behaviour-v1":
        raise InputError(f"model feature set {model.feature_set!r} cannot score a UCI table")
    scores = score_accounts(model, uci_features(uci), uci["account_id"].to_numpy())
    if TARGET in uci.columns:
        scores["exposure_months"] = 1
        scores["defaults"] = uci[TARGET].to_numpy()
    return scores
