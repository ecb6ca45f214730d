"""Delinquency buckets and customer tiering (SPEC §5): :class:`TieringRules`, :func:`derive_tier`.

Tiering defaults (``scenarios/tiering.toml`` holds the same values; a test checks it)
--------------------------------------------------------------------------------------
=========  ==========================  ===================================================
tier       base rule                   why
=========  ==========================  ===================================================
A          score >= 740                FICO "very good"/"exceptional" (740-850)
B          670 <= score < 740          FICO "good" (670-739)
C          580 <= score < 670          FICO "fair" (580-669); also the tier of a missing
                                       score (thin file: no evidence either way)
D          500 <= score < 580          upper part of FICO "poor" (300-579)
E          score < 500                 lower part of FICO "poor"
=========  ==========================  ===================================================

The base tier is then moved down by the dpd bucket, capped at E: M0 and M1 (1-30 dpd)
by 0 steps (SPEC §5: gentle treatment for good customers with short delinquency), M2 by
1, M3 by 2 and M4+ by 4 steps. M4+ (more than 90 dpd) always ends in E because 90 days
past due is the default definition of Basel II (§452) and the non-performing threshold of
China's 2023 financial-asset risk-classification rules (商业银行金融资产风险分类办法:
overdue more than 90 days is at least "substandard").
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from solver.core.files import read_toml
from solver.core.messages import fmt_num, plural
from solver.core.schema import DPD_BUCKET_EDGES, DPD_BUCKETS
from solver.domain import TIERS
from solver.errors import InputError

__all__ = [
    "DEFAULT_TIERING",
    "TieringRules",
    "bucket_index",
    "derive_tier",
    "dpd_bucket",
    "tiering_rules",
]


def bucket_index(dpd: Any) -> np.ndarray:
    """Index of the dpd bucket (0 = M0 ... 4 = M4+) of days past due (>= 0)."""
    arr = np.asarray(dpd)
    if arr.size and np.any(arr < 0):
        raise ValueError(f"dpd must be >= 0, got {fmt_num(float(np.min(arr)))}")
    return np.searchsorted(np.asarray(DPD_BUCKET_EDGES), arr, side="left")


def dpd_bucket(dpd: Any) -> Any:
    """Delinquency bucket of days past due: M0 (0), M1 (1-30), M2 (31-60), M3 (61-90), M4+.

    Parameters
    ----------
    dpd
        Days past due, a scalar or an array (>= 0).

    Returns
    -------
    str or numpy.ndarray
        The bucket label (an array of ``str`` for array input).

    Examples
    --------
    >>> dpd_bucket(0), dpd_bucket(30), dpd_bucket(31), dpd_bucket(91)
    ('M0', 'M1', 'M2', 'M4+')
    >>> dpd_bucket([5, 75]).tolist()
    ['M1', 'M3']
    """
    idx = bucket_index(dpd)
    labels = np.asarray(DPD_BUCKETS)[idx]
    return str(labels) if labels.ndim == 0 else labels


@dataclass(frozen=True)
class TieringRules:
    """Rules that map credit score and dpd bucket to a tier (SPEC §5).

    Parameters
    ----------
    score_min
        Minimum score of the base tiers A, B, C, D, E (strictly decreasing). A score
        below the E minimum is still E.
    dpd_downgrade
        Tier steps down for the buckets M0, M1, M2, M3, M4+ (non-decreasing, >= 0); the
        result is capped at E.
    missing_score_tier
        Base tier when the score is missing; the dpd downgrade still applies.

    Notes
    -----
    The defaults and the reasons for them are in the module docstring;
    ``scenarios/tiering.toml`` holds the same values.
    """

    score_min: tuple[float, float, float, float, float] = (740.0, 670.0, 580.0, 500.0, 300.0)
    dpd_downgrade: tuple[int, int, int, int, int] = (0, 0, 1, 2, 4)
    missing_score_tier: str = "C"

    def __post_init__(self) -> None:
        mins = tuple(float(x) for x in self.score_min)
        steps = tuple(int(x) for x in self.dpd_downgrade)
        if len(mins) != len(TIERS):
            raise ValueError(f"score_min needs {len(TIERS)} values (A..E), got {len(mins)}")
        if any(b >= a for a, b in zip(mins, mins[1:], strict=False)):
            raise ValueError(f"score_min must be strictly decreasing from A to E, got {mins}")
        if len(steps) != len(DPD_BUCKETS):
            raise ValueError(f"dpd_downgrade needs {len(DPD_BUCKETS)} values, got {len(steps)}")
        if any(s < 0 for s in steps) or any(b < a for a, b in zip(steps, steps[1:], strict=False)):
            raise ValueError(
                f"dpd_downgrade must be >= 0 and non-decreasing from M0 to M4+, got {steps}"
            )
        if self.missing_score_tier not in TIERS:
            raise ValueError(
                f"missing_score_tier must be one of A-E, got {self.missing_score_tier!r}"
            )
        object.__setattr__(self, "score_min", mins)
        object.__setattr__(self, "dpd_downgrade", steps)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "<mapping>") -> TieringRules:
        """Build rules from the TOML layout (``[score_bands]``, ``[dpd_downgrade]``)."""
        problems: list[str] = []
        known = {"score_bands", "dpd_downgrade", "missing_score_tier", "description"}
        for key in data:
            if key not in known:
                problems.append(f"{source}: {key}: unknown key (known: {', '.join(sorted(known))})")
        default = cls()
        bands = data.get("score_bands", dict(zip(TIERS, default.score_min, strict=True)))
        steps = data.get(
            "dpd_downgrade", dict(zip(DPD_BUCKETS, default.dpd_downgrade, strict=True))
        )
        score_min: list[float] = []
        for tier in TIERS:
            value = bands.get(tier) if isinstance(bands, Mapping) else None
            if not isinstance(value, int | float) or isinstance(value, bool):
                problems.append(
                    f"{source}: score_bands.{tier}: missing or not a number ({value!r})"
                )
            else:
                score_min.append(float(value))
        downgrade: list[int] = []
        for bucket in DPD_BUCKETS:
            value = steps.get(bucket) if isinstance(steps, Mapping) else None
            if not isinstance(value, int) or isinstance(value, bool):
                problems.append(
                    f"{source}: dpd_downgrade.{bucket}: missing or not a whole number ({value!r})"
                )
            else:
                downgrade.append(value)
        missing = data.get("missing_score_tier", default.missing_score_tier)
        if problems:
            raise InputError(
                f"{source}: {plural(len(problems), 'problem')} in the tiering rules", problems
            )
        try:
            return cls(tuple(score_min), tuple(downgrade), str(missing))  # type: ignore[arg-type]
        except ValueError as exc:
            raise InputError(f"{source}: {exc}") from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> TieringRules:
        """Load rules from a TOML file (layout of ``scenarios/tiering.toml``)."""
        path = Path(path)
        return cls.from_mapping(read_toml(path, "tiering"), source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """The rules in the TOML layout (inverse of :meth:`from_mapping`)."""
        return {
            "missing_score_tier": self.missing_score_tier,
            "score_bands": {
                t: _plain_number(v) for t, v in zip(TIERS, self.score_min, strict=True)
            },
            "dpd_downgrade": dict(zip(DPD_BUCKETS, self.dpd_downgrade, strict=True)),
        }


def _plain_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


DEFAULT_TIERING = TieringRules()


def derive_tier(credit_score: Any, dpd: Any, rules: TieringRules | None = None) -> Any:
    """Risk tier A-E from credit score and days past due (vectorised; SPEC §5).

    Parameters
    ----------
    credit_score
        Score(s) on the 300-850 scale; ``NaN`` / ``None`` means missing.
    dpd
        Days past due (broadcast against ``credit_score``).
    rules
        Tiering rules; default :class:`TieringRules` () (= ``scenarios/tiering.toml``).

    Returns
    -------
    str or numpy.ndarray
        The tier (an array of ``str`` for array input).

    Examples
    --------
    >>> derive_tier(760, 10), derive_tier(760, 45), derive_tier(None, 0), derive_tier(700, 120)
    ('A', 'B', 'C', 'E')
    """
    rules = rules or DEFAULT_TIERING
    score = np.asarray(credit_score if credit_score is not None else np.nan, dtype=float)
    score, days = np.broadcast_arrays(score, np.asarray(dpd))
    mins_ascending = np.asarray(rules.score_min[::-1])  # E .. A
    band = np.searchsorted(mins_ascending, score, side="right") - 1  # -1: below E's minimum
    base = len(TIERS) - 1 - np.clip(band, 0, None)  # index into TIERS (A=0)
    base = np.where(np.isnan(score), TIERS.index(rules.missing_score_tier), base)
    steps = np.asarray(rules.dpd_downgrade)[bucket_index(days)]
    tier_index = np.minimum(base + steps, len(TIERS) - 1)
    labels = np.asarray(TIERS)[tier_index]
    return str(labels) if labels.ndim == 0 else labels


def tiering_rules(tiering: TieringRules | str | os.PathLike[str] | None) -> TieringRules | None:
    """``tiering`` as rules: given rules (or ``None``) as they are, a path loaded from TOML."""
    if tiering is None or isinstance(tiering, TieringRules):
        return tiering
    return TieringRules.from_toml(tiering)
