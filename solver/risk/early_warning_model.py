"""The persisted early-warning model: trees as data, tier bands and hazards, in TOML.

:class:`EarlyWarningModel` holds the exported trees
(:class:`~solver.risk.trees.TreeEnsemble`), the PD bands of tiers A-E, each tier's
observed monthly hazard and the fit's protocol and metrics; it predicts PDs from a
feature table and writes and reads the model file (:data:`MODEL_FORMAT`, version
:data:`MODEL_FORMAT_VERSION`) without pickle: reading a model only parses data.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

from solver.core.atomic import atomic_open
from solver.core.files import read_toml
from solver.domain import TIERS
from solver.errors import InputError
from solver.risk.pd_tiers import DEFAULT_PD_BANDS, check_pd_bands
from solver.risk.trees import TreeEnsemble

__all__ = [
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "PD_NEXT_MONTH",
    "EarlyWarningModel",
    "pd_column_horizon",
    "pd_column_name",
    "pd_column_of",
]

MODEL_FORMAT = "workout-early-warning"
MODEL_FORMAT_VERSION = 1

#: The PD column of scores that predict one month ahead (a UCI-layout model: UCI's "late
#: next month"; a history-v1 model fitted with a one-month horizon).
PD_NEXT_MONTH = "pd_next_month"


def pd_column_name(horizon: int) -> str:
    """The scores' PD column of a model predicting within ``horizon`` months:
    ``pd_next_month`` for 1, else ``pd_<horizon>m`` (``pd_3m``).

    Decision (s24): a history model predicts default within ``--horizon`` months (3 by
    default), and its scores were labelled ``pd_next_month`` all the same (review s24); the
    name now says the horizon, and one-month models keep the name they always had.
    """
    return PD_NEXT_MONTH if horizon == 1 else f"pd_{horizon}m"


def pd_column_horizon(column: str) -> int | None:
    """The horizon in months that a PD column's name says (the inverse of
    :func:`pd_column_name`: 1 for ``pd_next_month``, 3 for ``pd_3m``); ``None`` when
    ``column`` is not a PD column's name. The one place that reads the name (s25: the scores'
    header label decoded it a second time)."""
    if column == PD_NEXT_MONTH:
        return 1
    if column.startswith("pd_") and column.endswith("m") and column[3:-1].isdigit():
        return int(column[3:-1])
    return None


def pd_column_of(scores: pd.DataFrame) -> str:
    """The PD column of a scores table (:func:`pd_column_name` of some horizon)."""
    for column in map(str, scores.columns):
        if pd_column_horizon(column) is not None:
            return column
    raise KeyError("the scores have no PD column (pd_next_month or pd_<n>m)")


@dataclass(frozen=True)
class EarlyWarningModel:
    """A persisted early-warning model: trees, tier bands and tier hazards.

    Attributes
    ----------
    ensemble
        The trees.
    pd_bands
        Upper PD bounds of tiers A-D.
    tier_hazard
        Monthly default rate observed per tier on the held-out set.
    target
        What the score predicts.
    feature_set
        Name of the feature recipe (``uci-behaviour-v1``).
    fit_info
        Protocol and metrics of the fit (seed, split, AUC, KS, baseline, ...).
    """

    ensemble: TreeEnsemble
    pd_bands: tuple[float, ...] = DEFAULT_PD_BANDS
    tier_hazard: dict[str, float] = field(default_factory=dict)
    target: str = "default_next_month"
    feature_set: str = "uci-behaviour-v1"
    fit_info: dict[str, Any] = field(default_factory=dict)

    @property
    def horizon(self) -> int:
        """Months ahead the PD is for: the history fit's ``horizon``, else 1 (a UCI model
        predicts next month)."""
        return int(self.fit_info.get("horizon", 1))

    @property
    def pd_column(self) -> str:
        """The name of this model's PD in scores (:func:`pd_column_name`)."""
        return pd_column_name(self.horizon)

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """PD of each row of a feature table (columns matched by name)."""
        missing = [f for f in self.ensemble.features if f not in features.columns]
        if missing:
            raise InputError(f"feature table lacks the model's columns: {', '.join(missing)}")
        return self.ensemble.predict_pd(
            features[list(self.ensemble.features)].to_numpy(dtype=float)
        )

    def to_dict(self) -> dict[str, Any]:
        """Everything but the trees, plus the ensemble under ``ensemble``."""
        return {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "target": self.target,
            "feature_set": self.feature_set,
            "tiers": {
                "names": list(TIERS),
                "pd_upper": list(self.pd_bands),
                "hazard": {t: self.tier_hazard.get(t, math.nan) for t in TIERS},
            },
            "fit": self.fit_info,
            "ensemble": self.ensemble.to_dict(),
        }

    def to_toml_text(self) -> str:
        """TOML text; the trees are written as compact one-line arrays per node field."""
        data = self.to_dict()
        trees = data["ensemble"].pop("trees")
        lines = [
            "# Early-warning model (workout risk fit): gradient-boosted trees stored as data.",
            "# A row goes left at a node when feature <= threshold (NaN: left if missing_left);",
            "# leaves have left = right = -1; PD = 1 / (1 + exp(-(baseline_log_odds + sum of leaf values))).",
            tomli_w.dumps(data).rstrip("\n"),
        ]
        for tree in trees:
            lines.append("")
            lines.append("[[ensemble.trees]]")
            for key, values in tree.items():
                lines.append(f"{key} = [{', '.join(_toml_scalar(v) for v in values)}]")
        return "\n".join(lines) + "\n"

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the model TOML atomically (the path must end in ``.toml``)."""
        dest = Path(path)
        if dest.suffix.lower() != ".toml":
            raise InputError(f"{dest}: the model file must be a .toml file")
        text = self.to_toml_text()
        with atomic_open(dest, "w", encoding="utf-8") as fh:
            fh.write(text)
        return dest

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<model>") -> EarlyWarningModel:
        """Build from :meth:`to_dict` output; :class:`InputError` when malformed."""
        if data.get("format") != MODEL_FORMAT:
            raise InputError(
                f"{source}: not an early-warning model file (format = {data.get('format')!r})"
            )
        if data.get("format_version") != MODEL_FORMAT_VERSION:
            raise InputError(
                f"{source}: unsupported model format_version {data.get('format_version')!r}"
            )
        try:
            ensemble = TreeEnsemble.from_dict(data["ensemble"])
            tiers = data["tiers"]
            bands = tuple(float(b) for b in tiers["pd_upper"])
            check_pd_bands(bands)
            hazard = {str(k): float(v) for k, v in tiers.get("hazard", {}).items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{source}: malformed model file: {exc}") from exc
        return cls(
            ensemble=ensemble,
            pd_bands=bands,
            tier_hazard=hazard,
            target=str(data.get("target", "default_next_month")),
            feature_set=str(data.get("feature_set", "")),
            fit_info=dict(data.get("fit", {})),
        )

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> EarlyWarningModel:
        """Read a model TOML (data only: nothing in the file is executed)."""
        source = Path(path)
        if not source.exists():
            raise InputError(f"{source}: model file not found")
        return cls.from_dict(read_toml(source, "early-warning model"), str(source))


def _toml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))  # shortest repr round-trips exactly; inf/nan are TOML too
    return text
