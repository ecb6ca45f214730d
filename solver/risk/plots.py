"""Charts of the risk module (matplotlib Agg, no pyplot state), written atomically as PNG.

The commands import this module only when they draw a chart (matplotlib costs about half a
second); scikit-learn, for the ROC curve of :func:`fit_chart`, is imported there only, so
that the score and calibration charts do not load it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from solver.core.atomic import atomic_path
from solver.domain import TIERS
from solver.risk.early_warning_model import pd_column_of

if TYPE_CHECKING:
    import pandas as pd

    from solver.risk.calibration_result import HazardCalibration
    from solver.risk.early_warning_fit import EarlyWarningFit
    from solver.risk.rollrates import RollRateMatrix


def _figure(width: float, height: float):
    figure = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: str | os.PathLike[str]) -> Path:
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", metadata={"Software": None})
    return Path(path)


def roll_rate_heatmap(
    matrix: RollRateMatrix, path: str | os.PathLike[str], title: str = ""
) -> Path:
    """Heatmap of a transition matrix with the probability and count in each cell."""
    figure = _figure(1.2 * len(matrix.states) + 2.5, 1.0 * len(matrix.states) + 1.8)
    axes = figure.add_subplot(1, 1, 1)
    probabilities = np.nan_to_num(matrix.probabilities, nan=0.0)
    image = axes.imshow(probabilities, cmap="Reds", vmin=0.0, vmax=1.0)
    k = len(matrix.states)
    for i in range(k):
        for j in range(k):
            p = matrix.probabilities[i, j]
            text = "—" if np.isnan(p) else f"{p:.3f}\nn={matrix.counts[i, j]:,}"
            axes.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=7,
                color="white" if p > 0.6 else "black",
            )
    axes.set_xticks(range(k), matrix.states)
    axes.set_yticks(range(k), matrix.states)
    axes.set_xlabel("bucket next month")
    axes.set_ylabel("bucket this month")
    axes.set_title(
        title or "Monthly roll rates" + (" (balance-weighted)" if matrix.weighted else "")
    )
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="transition probability")
    return _save(figure, path)


def fit_chart(fit: EarlyWarningFit, path: str | os.PathLike[str]) -> Path:
    """ROC curves (model and baseline), score distribution by outcome, and calibration by decile."""
    from sklearn.metrics import roc_curve  # start-up time: see the module docstring

    figure = _figure(14, 4.4)
    roc, dist, calib = (figure.add_subplot(1, 3, i) for i in (1, 2, 3))
    fpr, tpr, _ = roc_curve(fit.test_outcome, fit.test_pd)
    roc.plot(fpr, tpr, label=f"early warning (AUC {fit.auc:.3f}, KS {fit.ks:.3f})", color="tab:red")
    if fit.test_baseline_pd is not None:
        fpr_b, tpr_b, _ = roc_curve(fit.test_outcome, fit.test_baseline_pd)
        roc.plot(
            fpr_b,
            tpr_b,
            label=f"raw-column HGB baseline (AUC {fit.baseline_auc:.3f})",
            color="tab:gray",
            lw=1,
        )
    roc.plot([0, 1], [0, 1], ls=":", color="black", lw=0.8)
    roc.set_xlabel("false positive rate")
    roc.set_ylabel("true positive rate")
    roc.set_title(f"ROC on the held-out {fit.n_test:,} accounts")
    roc.legend(loc="lower right", fontsize=8)
    bins = np.linspace(0, 1, 41)
    y = fit.test_outcome.astype(bool)
    dist.hist(fit.test_pd[~y], bins=bins, alpha=0.6, label="no default", color="tab:blue")
    dist.hist(fit.test_pd[y], bins=bins, alpha=0.6, label="default next month", color="tab:red")
    for cut in fit.model.pd_bands:
        dist.axvline(cut, color="black", lw=0.8, ls="--")
    edges = (0.0, *fit.model.pd_bands, 1.0)
    top = dist.get_ylim()[1]
    for i, tier in enumerate(TIERS):
        dist.text(
            (edges[i] + edges[i + 1]) / 2, top * 0.95, tier, ha="center", va="top", fontsize=9
        )
    dist.set_xlabel("predicted PD next month")
    dist.set_ylabel("accounts")
    dist.set_title("Score distribution and tiers")
    dist.legend(fontsize=8, loc="center right")
    table = fit.calibration
    calib.errorbar(
        table["mean_predicted"],
        table["observed_rate"],
        yerr=[table["observed_rate"] - table["lower"], table["upper"] - table["observed_rate"]],
        fmt="o",
        color="tab:red",
        capsize=3,
        label="decile (95 % exact interval)",
    )
    calib.plot([0, 1], [0, 1], ls=":", color="black", lw=0.8)
    calib.set_xlabel("mean predicted PD")
    calib.set_ylabel("observed default rate")
    calib.set_title("Calibration by decile")
    calib.legend(fontsize=8, loc="upper left")
    return _save(figure, path)


def score_chart(
    scores: pd.DataFrame, pd_bands: tuple[float, ...], path: str | os.PathLike[str]
) -> Path:
    """Histogram of scored PDs with the tier bands, and accounts per tier."""
    figure = _figure(10, 4)
    hist, bars = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    column = pd_column_of(scores)
    hist.hist(scores[column], bins=np.linspace(0, 1, 41), color="tab:red", alpha=0.7)
    for cut in pd_bands:
        hist.axvline(cut, color="black", lw=0.8, ls="--")
    hist.set_xlabel(f"predicted PD ({column})")
    hist.set_ylabel("accounts")
    hist.set_title("Score distribution")
    counts = scores["tier"].value_counts().reindex(list(TIERS), fill_value=0)
    bars.bar(counts.index, counts.to_numpy(), color="tab:red", alpha=0.7)
    bars.set_xlabel("tier")
    bars.set_ylabel("accounts")
    bars.set_title("Accounts per tier")
    return _save(figure, path)


def hazard_chart(calibration: HazardCalibration, path: str | os.PathLike[str]) -> Path:
    """Calibrated base hazard per tier with its interval (log scale)."""
    figure = _figure(6, 4)
    axes = figure.add_subplot(1, 1, 1)
    rows = [t for t in calibration.tiers if t.estimated and t.hazard > 0]
    if rows:
        x = [t.tier for t in rows]
        h = np.array([t.hazard for t in rows])
        lo = np.array([t.lower for t in rows])
        hi = np.array([t.upper for t in rows])
        axes.errorbar(x, h, yerr=[h - lo, hi - h], fmt="o", capsize=4, color="tab:red")
        axes.set_yscale("log")
    axes.set_xlabel("tier")
    axes.set_ylabel("base monthly hazard h0")
    axes.set_title(f"Calibrated hazards ({calibration.confidence:.0%} intervals)")
    return _save(figure, path)
