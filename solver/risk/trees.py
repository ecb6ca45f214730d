"""Gradient-boosted trees as plain arrays: the pickle-free form of the early-warning model.

:class:`TreeEnsemble` holds the fitted trees as arrays (split feature, threshold, where
missing values go, children, leaf values), evaluates them with vectorised numpy to the last
bit of scikit-learn's ``decision_function``, and converts to and from plain lists (the
model TOML of :mod:`solver.risk.early_warning`). Reading a model therefore only parses
data; scikit-learn is needed only to export a freshly fitted classifier.

Where the trees come from. scikit-learn has no public API for the fitted trees of a
``HistGradientBoostingClassifier`` (checked with scikit-learn 1.9): its public fitted
attributes are ``classes_``, ``do_early_stopping_``, ``n_iter_``, ``n_trees_per_iteration_``,
``train_score_``, ``validation_score_``, ``is_categorical_``, ``n_features_in_`` and
``feature_names_in_``; the trees
live only in the private ``_predictors`` (one ``TreePredictor`` per iteration, its
``nodes`` a record array) and the initial log-odds in ``_baseline_prediction``. Its
maintainers kept the predictors private on purpose (they are not estimators: scikit-learn
PR #12807, issue #16063), and the public alternatives cannot give these trees: the tree
estimators with public ``tree_`` arrays (``GradientBoostingClassifier``) fit other models,
and predictions (``staged_decision_function``) do not reveal the splits. So
:func:`fitted_trees` is the one place that reads them; every export is checked against
``predict_proba`` when it is made (:func:`solver.risk.early_warning.fit_early_warning`), so
a change of that layout fails the fit with an error instead of writing a wrong model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

__all__ = ["TreeEnsemble", "fitted_trees"]


def fitted_trees(model: Any) -> tuple[float, list[np.ndarray]]:
    """Initial log-odds and each tree's node records of a fitted binary
    ``HistGradientBoostingClassifier`` (private attributes: see the module docstring)."""
    baseline = np.asarray(model._baseline_prediction, dtype=float).ravel()
    if baseline.size != 1:
        raise ValueError("only binary classifiers can be exported")
    return float(baseline[0]), [predictor.nodes for (predictor,) in model._predictors]


@dataclass(frozen=True)
class TreeEnsemble:
    """Gradient-boosted trees as plain arrays: the pickle-free form of the fitted model.

    Node ``j`` of tree ``t`` sends a row left when its feature value is ``<= threshold``
    (NaN goes left when ``missing_left``); a leaf has ``left == right == -1`` and adds
    ``value`` to the log-odds. ``PD = expit(baseline + sum of leaf values)``.

    Attributes
    ----------
    features
        Feature names in column order.
    baseline
        Initial log-odds.
    feature, threshold, missing_left, left, right, value
        One array per tree.
    """

    features: tuple[str, ...]
    baseline: float
    feature: tuple[np.ndarray, ...]
    threshold: tuple[np.ndarray, ...]
    missing_left: tuple[np.ndarray, ...]
    left: tuple[np.ndarray, ...]
    right: tuple[np.ndarray, ...]
    value: tuple[np.ndarray, ...]

    def __post_init__(self) -> None:
        n_trees = len(self.feature)
        for name in ("threshold", "missing_left", "left", "right", "value"):
            if len(getattr(self, name)) != n_trees:
                raise ValueError(f"{name} must have one array per tree ({n_trees})")
        for t in range(n_trees):
            size = self.feature[t].size
            arrays = [
                getattr(self, name)[t]
                for name in ("threshold", "missing_left", "left", "right", "value")
            ]
            if size == 0 or any(a.size != size for a in arrays):
                raise ValueError(f"tree {t}: node arrays are empty or differ in length")
            internal = self.left[t] >= 0
            split_feature = self.feature[t][internal]
            if np.any(split_feature < 0) or np.any(split_feature >= len(self.features)):
                raise ValueError(f"tree {t}: split feature index out of range")
            children = np.concatenate([self.left[t][internal], self.right[t][internal]])
            # Children come after their parent, so walking down always terminates.
            parents = np.concatenate([np.flatnonzero(internal)] * 2)
            if np.any(children >= size) or np.any(children <= parents):
                raise ValueError(f"tree {t}: child index out of range")
            for array in (self.feature[t], *arrays):
                array.flags.writeable = False

    @property
    def n_trees(self) -> int:
        """Number of trees."""
        return len(self.feature)

    @classmethod
    def from_sklearn(cls, model: Any, features: tuple[str, ...]) -> TreeEnsemble:
        """Export a fitted binary ``HistGradientBoostingClassifier`` (numeric features only)."""
        if getattr(model, "is_categorical_", None) is not None and np.any(model.is_categorical_):
            raise ValueError("categorical splits are not supported by the export")
        if model.n_trees_per_iteration_ != 1:
            raise ValueError("only binary classifiers can be exported")
        baseline, trees = fitted_trees(model)
        columns: dict[str, list[np.ndarray]] = {
            k: [] for k in ("feature", "threshold", "missing_left", "left", "right", "value")
        }
        for nodes in trees:
            leaf = nodes["is_leaf"].astype(bool)
            # Cast before inserting -1: the node arrays are unsigned.
            columns["feature"].append(np.where(leaf, -1, nodes["feature_idx"].astype(np.int64)))
            columns["threshold"].append(np.where(leaf, 0.0, nodes["num_threshold"]).astype(float))
            columns["missing_left"].append(nodes["missing_go_to_left"].astype(bool) & ~leaf)
            columns["left"].append(np.where(leaf, -1, nodes["left"].astype(np.int64)))
            columns["right"].append(np.where(leaf, -1, nodes["right"].astype(np.int64)))
            columns["value"].append(np.where(leaf, nodes["value"], 0.0).astype(float))
        return cls(
            features=tuple(features), baseline=baseline, **{k: tuple(v) for k, v in columns.items()}
        )

    def log_odds(self, features: np.ndarray) -> np.ndarray:
        """Raw score (log-odds) of each row of the feature matrix (rows x features).

        Trees are added one after the other to the baseline, in the order scikit-learn
        uses, so the result matches ``decision_function`` to the last bit.
        """
        x = np.asarray(features, dtype=float)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(
                f"expected a matrix with {len(self.features)} feature columns, got shape {x.shape}"
            )
        out = np.full(x.shape[0], self.baseline)
        all_rows = np.arange(x.shape[0])
        for t in range(self.n_trees):
            feature, threshold, missing_left = (
                self.feature[t],
                self.threshold[t],
                self.missing_left[t],
            )
            left, right = self.left[t], self.right[t]
            node = np.zeros(x.shape[0], dtype=np.int64)
            active = all_rows if left[0] >= 0 else all_rows[:0]
            while active.size:
                at = node[active]
                value = x[active, feature[at]]
                go_left = np.where(np.isnan(value), missing_left[at], value <= threshold[at])
                reached = np.where(go_left, left[at], right[at])
                node[active] = reached
                active = active[left[reached] >= 0]
            out += self.value[t][node]
        return out

    def predict_pd(self, features: np.ndarray) -> np.ndarray:
        """Probability of the event for each row: ``expit(log_odds)``."""
        return expit(self.log_odds(features))

    def to_dict(self) -> dict[str, Any]:
        """Plain lists for TOML/JSON (trees under ``trees``)."""
        return {
            "features": list(self.features),
            "baseline_log_odds": self.baseline,
            "n_trees": self.n_trees,
            "trees": [
                {
                    "feature": self.feature[t].tolist(),
                    "threshold": self.threshold[t].tolist(),
                    "missing_left": self.missing_left[t].tolist(),
                    "left": self.left[t].tolist(),
                    "right": self.right[t].tolist(),
                    "value": self.value[t].tolist(),
                }
                for t in range(self.n_trees)
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TreeEnsemble:
        """Inverse of :meth:`to_dict` (raises ``ValueError``/``KeyError`` on malformed data)."""
        trees = data["trees"]
        return cls(
            features=tuple(str(f) for f in data["features"]),
            baseline=float(data["baseline_log_odds"]),
            feature=tuple(np.asarray(t["feature"], dtype=np.int64) for t in trees),
            threshold=tuple(np.asarray(t["threshold"], dtype=float) for t in trees),
            missing_left=tuple(np.asarray(t["missing_left"], dtype=bool) for t in trees),
            left=tuple(np.asarray(t["left"], dtype=np.int64) for t in trees),
            right=tuple(np.asarray(t["right"], dtype=np.int64) for t in trees),
            value=tuple(np.asarray(t["value"], dtype=float) for t in trees),
        )
