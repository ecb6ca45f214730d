"""How well a PD score separates and is calibrated: AUC, KS, the calibration table.

The held-out metrics of an early-warning fit (and of its baseline): the area under the
ROC curve, the Kolmogorov-Smirnov statistic, predicted against observed default rates by
equal-count groups of the score (each with an exact binomial interval) and the
Hosmer-Lemeshow test on those groups. scikit-learn is imported inside the functions that
use it (start-up time).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from solver.risk.exact_intervals import binomial_interval

__all__ = ["CALIBRATION_BINS", "calibration_table", "hosmer_lemeshow", "ks_statistic", "roc_auc"]


def ks_statistic(outcome: np.ndarray, score: np.ndarray) -> float:
    """Kolmogorov-Smirnov statistic: max over thresholds of TPR - FPR."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(outcome, score)
    return float(np.max(tpr - fpr))


def roc_auc(outcome: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (scikit-learn)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(outcome, score))


#: Groups of the calibration table (deciles): a held-out set needs at least this many rows.
CALIBRATION_BINS = 10


def calibration_table(
    outcome: np.ndarray,
    predicted: np.ndarray,
    bins: int = CALIBRATION_BINS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Predicted against observed default rate by equal-count groups of the score.

    Groups are formed on the stable rank of the score (group 1 = lowest scores).
    Columns: ``decile, n, pd_min, pd_max, mean_predicted, defaults, observed_rate, lower,
    upper`` (exact binomial interval of the observed rate).
    """
    y = np.asarray(outcome, dtype=float)
    p = np.asarray(predicted, dtype=float)
    order = np.argsort(p, kind="stable")
    group = np.empty(p.size, dtype=np.int64)
    group[order] = np.arange(p.size) * bins // p.size
    n = np.bincount(group, minlength=bins)
    events = np.bincount(group, weights=y, minlength=bins)
    lower, upper = binomial_interval(events, n, confidence)
    frame = pd.DataFrame(
        {
            "decile": np.arange(1, bins + 1),
            "n": n,
            "pd_min": [p[group == g].min() for g in range(bins)],
            "pd_max": [p[group == g].max() for g in range(bins)],
            "mean_predicted": np.bincount(group, weights=p, minlength=bins) / n,
            "defaults": events.astype(np.int64),
            "observed_rate": events / n,
            "lower": lower,
            "upper": upper,
        }
    )
    return frame


def hosmer_lemeshow(table: pd.DataFrame) -> tuple[float, float]:
    """Hosmer-Lemeshow statistic and p-value (chi-square, groups - 2 df) of a calibration table."""
    n = table["n"].to_numpy(dtype=float)
    expected = table["mean_predicted"].to_numpy() * n
    observed = table["defaults"].to_numpy(dtype=float)
    statistic = float(np.sum((observed - expected) ** 2 / (expected * (1 - expected / n))))
    return statistic, float(stats.chi2.sf(statistic, len(table) - 2))
