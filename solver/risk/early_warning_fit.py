"""The early-warning fit's settings and result: :class:`EarlyWarningParams` (hyperparameters
and protocol) and :class:`EarlyWarningFit` (the model with its held-out metrics).

Fitted by :func:`solver.risk.early_warning.fit_early_warning`; moved out of
:mod:`solver.risk.early_warning` in s25 (size), which re-exports both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from solver.errors import InputError
from solver.risk.early_warning_model import EarlyWarningModel
from solver.risk.pd_tiers import DEFAULT_PD_BANDS, check_pd_bands

__all__ = ["WEAK_AUC", "EarlyWarningFit", "EarlyWarningParams"]


@dataclass(frozen=True)
class EarlyWarningParams:
    """Hyperparameters and protocol of the early-warning fit.

    Attributes
    ----------
    seed
        Seeds the split, the model and the baseline.
    test_size
        Held-out share (stratified).
    learning_rate, max_iter, max_leaf_nodes, min_samples_leaf, l2_regularization, max_features
        The boosting settings: learning rate, number of trees, leaves per tree, minimum
        rows per leaf, L2 penalty on leaf values, share of the features tried at each
        split (LightGBM's ``learning_rate``, ``n_estimators``, ``num_leaves``,
        ``min_child_samples``, ``reg_lambda``, ``feature_fraction_bynode``; no early
        stopping: every row of the training share is used to fit).
    pd_bands
        Upper PD bounds of tiers A-D.
    baseline
        Fit the off-the-shelf baseline on the raw columns in the same run.
    n_threads
        OpenMP threads for LightGBM and scikit-learn (default 1: on a busy shared machine
        OpenMP spin-waiting makes more threads several times slower, and one thread keeps
        the floating-point summation order, hence the model, fixed).
    """

    seed: int = 0
    test_size: float = 0.3
    learning_rate: float = 0.03
    max_iter: int = 300
    max_leaf_nodes: int = 8
    min_samples_leaf: int = 150
    l2_regularization: float = 1.0
    max_features: float = 0.5
    pd_bands: tuple[float, ...] = DEFAULT_PD_BANDS
    baseline: bool = True
    n_threads: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.test_size < 1:
            raise InputError(f"test_size must be in (0, 1), got {self.test_size}")
        if self.max_iter < 1 or self.max_leaf_nodes < 2 or self.min_samples_leaf < 1:
            raise InputError(
                "max_iter >= 1, max_leaf_nodes >= 2 and min_samples_leaf >= 1 are required"
            )
        if self.n_threads < 1:
            raise InputError(f"n_threads must be >= 1, got {self.n_threads}")
        if not 0 < self.max_features <= 1:
            raise InputError(f"max_features must be in (0, 1], got {self.max_features}")
        check_pd_bands(self.pd_bands)

    def model_params(self) -> dict[str, Any]:
        """Keyword arguments for LightGBM's ``LGBMClassifier`` (recorded in the model file).

        ``deterministic`` with ``force_col_wise`` (LightGBM's documented recipe for
        reproducible results) and one thread: the same data and seed give the same trees.
        """
        return {
            "learning_rate": self.learning_rate,
            "n_estimators": self.max_iter,
            "num_leaves": self.max_leaf_nodes,
            "min_child_samples": self.min_samples_leaf,
            "reg_lambda": self.l2_regularization,
            "feature_fraction_bynode": self.max_features,
            "random_state": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "n_jobs": self.n_threads,
            "verbose": -1,
        }


@dataclass(frozen=True)
class EarlyWarningFit:
    """Result of :func:`fit_early_warning` (metrics on the held-out set).

    Attributes
    ----------
    model
        The persisted model (trees exported from the fitted classifier).
    auc, ks, brier
        Held-out discrimination and accuracy of the model.
    baseline_auc, baseline_ks
        The off-the-shelf raw-column baseline in the same run (NaN when not run).
    n_train, n_test
        Split sizes.
    calibration
        Decile calibration table (:func:`calibration_table`).
    tiers
        Tier table (:func:`tier_table`).
    hosmer_lemeshow, hosmer_lemeshow_p
        Goodness of fit of the calibration table.
    test_outcome, test_pd, test_baseline_pd
        Held-out outcomes and scores (for charts).
    runtime_s
        Wall time of the fit (not part of any written file).
    """

    model: EarlyWarningModel
    auc: float
    ks: float
    brier: float
    baseline_auc: float
    baseline_ks: float
    n_train: int
    n_test: int
    calibration: pd.DataFrame
    tiers: pd.DataFrame
    hosmer_lemeshow: float
    hosmer_lemeshow_p: float
    test_outcome: np.ndarray
    test_pd: np.ndarray
    test_baseline_pd: np.ndarray | None
    runtime_s: float = 0.0

    @property
    def beats_baseline(self) -> bool:
        """True when the held-out AUC is not below the baseline's."""
        return bool(math.isnan(self.baseline_auc) or self.auc >= self.baseline_auc)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (deterministic for a seed: no timings)."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                for row in frame.to_dict(orient="records")
            ]

        return {
            "auc": self.auc,
            "ks": self.ks,
            "brier": self.brier,
            "baseline_auc": None if math.isnan(self.baseline_auc) else self.baseline_auc,
            "baseline_ks": None if math.isnan(self.baseline_ks) else self.baseline_ks,
            "beats_baseline": self.beats_baseline,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "seed": self.model.fit_info.get("seed"),
            "hosmer_lemeshow": self.hosmer_lemeshow,
            "hosmer_lemeshow_p": self.hosmer_lemeshow_p,
            "pd_bands": list(self.model.pd_bands),
            "calibration": records(self.calibration),
            "tiers": records(self.tiers),
        }

    def weak_model(self) -> str | None:
        """Why the fitted model tells the outcomes apart no better than chance (held-out AUC
        at most ``WEAK_AUC``: every account gets about the same PD and tier), or ``None``."""
        if not self.auc <= WEAK_AUC:
            return None
        return (
            f"the model does not tell defaults from the others (held-out AUC {self.auc:.4f} "
            f"<= {WEAK_AUC}, n_train {self.n_train:,}): its PDs and tiers are about the same for "
            "every account; fit on a larger history"
        )

    def summary(self) -> str:
        """One line: AUC, KS, baseline."""
        base = (
            ""
            if math.isnan(self.baseline_auc)
            else f"; baseline AUC {self.baseline_auc:.4f} KS {self.baseline_ks:.4f}"
        )
        return f"held-out AUC {self.auc:.4f} KS {self.ks:.4f} (n_train {self.n_train:,}, n_test {self.n_test:,}){base}"


#: Held-out AUC at or below which a fit is reported as telling the outcomes apart no better
#: than chance (:meth:`EarlyWarningFit.weak_model`): 0.55, a little above the 0.5 of a
#: constant score, because a few hundred held-out rows put an AUC of 0.5 within about
#: ±0.05 by chance (a 1,000-account generated history gave 0.5000 exactly: constant trees).
WEAK_AUC = 0.55
