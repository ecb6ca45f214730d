"""Outcome tables: what :mod:`solver.risk.calibration` estimates hazards from.

An outcome table has rows with a ``tier`` (A-E), the ``exposure_months`` observed (1 for
account-month rows), the number of ``defaults`` in them (0/1 per account) and, for
account-month rows, optionally the affordability probability ``afford_prob`` of the month.
:func:`validate_outcomes` checks one (every problem with its row), :func:`read_outcomes`
reads one from a file, and :func:`simulate_defaults` draws one under the behaviour model's
hazard (SPEC §4) for round-trip tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from solver.core.cleaning import is_blank
from solver.domain import TIERS
from solver.errors import InputError
from solver.risk._tables import RowProblems, TableSource, read_table, source_label
from solver.risk.layouts import OUTCOMES_REQUIRED

__all__ = ["read_outcomes", "simulate_defaults", "validate_outcomes"]


def validate_outcomes(frame: pd.DataFrame, source: str = "<outcomes>") -> pd.DataFrame:
    """Check an outcome table: ``tier``, ``defaults``, optional ``exposure_months``, ``afford_prob``.

    ``exposure_months`` is 1 where the column is absent or the cell blank.

    Raises
    ------
    InputError
        Listing every problem with its row and account id (if an ``account_id`` column exists).
    """
    df = frame.copy()
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in OUTCOMES_REQUIRED if c not in df.columns]
    if missing:
        raise InputError(
            f"{source}: missing required columns: {', '.join(missing)} (an outcome table has "
            "tier, defaults and optionally exposure_months, afford_prob)"
        )
    if "exposure_months" not in df.columns:
        df["exposure_months"] = 1
    ids = df["account_id"].astype(str) if "account_id" in df.columns else pd.Series(["-"] * len(df))
    problems = RowProblems(source, df, ids)
    report = problems.report
    tier = df["tier"].astype(str).str.strip()
    report(~tier.isin(TIERS).to_numpy(), "tier", f"must be one of {', '.join(TIERS)}")
    defaults = pd.to_numeric(df["defaults"], errors="coerce").to_numpy(dtype=float)
    exposure = pd.to_numeric(df["exposure_months"], errors="coerce").to_numpy(
        dtype=float, copy=True
    )
    # Decision (s24): a blank exposure_months is 1, as a missing column is (the command's
    # help: "exposure_months (default 1)"): account-month rows need not fill it in
    exposure[df["exposure_months"].map(is_blank).to_numpy(dtype=bool)] = 1.0
    report(
        ~np.isfinite(defaults) | (defaults < 0) | (defaults != np.round(defaults)),
        "defaults",
        "must be a whole number >= 0",
    )
    report(~np.isfinite(exposure) | (exposure <= 0), "exposure_months", "must be a number > 0")
    report(
        np.isfinite(defaults) & np.isfinite(exposure) & (defaults > exposure),
        "defaults",
        "more defaults than exposure months",
    )
    if "afford_prob" in df.columns:
        afford = pd.to_numeric(df["afford_prob"], errors="coerce").to_numpy(dtype=float)
        report(
            ~np.isfinite(afford) | (afford < 0) | (afford > 1), "afford_prob", "must be in [0, 1]"
        )
        report(
            np.isfinite(exposure) & (exposure != 1),
            "exposure_months",
            "must be 1 on account-month rows with afford_prob",
        )
        df["afford_prob"] = afford
    problems.raise_any()
    df["tier"] = tier
    df["defaults"] = defaults
    df["exposure_months"] = exposure
    return df


def read_outcomes(path: TableSource) -> pd.DataFrame:
    """Read and validate an outcome table (CSV, Parquet or Excel)."""
    return validate_outcomes(read_table(path), source=source_label(path))


def simulate_defaults(
    tier: np.ndarray,
    base_hazard: Mapping[str, float],
    months: int,
    afford_prob: np.ndarray | None = None,
    kappa: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulate monthly defaults under the behaviour model's hazard (SPEC §4).

    Account ``i`` in month ``t`` defaults with probability
    ``h = h0[tier_i] + (1 - h0) * kappa * (1 - afford_prob[i, t])`` given it has not
    defaulted before; observation stops at the default or after ``months``.

    Returns
    -------
    DataFrame
        Account-month rows ``account_id, tier, month, [afford_prob,] exposure_months,
        defaults`` (an outcome table for :func:`calibrate_outcomes`); ``afford_prob`` only
        when it was given.
    """
    tiers = np.asarray(tier).astype(str)
    n = tiers.size
    h0 = np.array([base_hazard[t] for t in tiers], dtype=float)[:, None]
    afford = np.ones((n, months)) if afford_prob is None else np.asarray(afford_prob, dtype=float)
    if afford.shape != (n, months):
        raise ValueError(f"afford_prob must have shape {(n, months)}, got {afford.shape}")
    hazard = h0 + (1 - h0) * kappa * (1 - afford)
    rng = np.random.default_rng(seed)
    event = rng.random((n, months)) < hazard
    first = np.where(event.any(axis=1), event.argmax(axis=1), months)
    month = np.arange(months)[None, :]
    observed = month <= first[:, None]
    rows, cols = np.nonzero(observed)
    frame = pd.DataFrame(
        {"account_id": np.char.add("S", rows.astype(str)), "tier": tiers[rows], "month": cols + 1}
    )
    if afford_prob is not None:
        frame["afford_prob"] = afford[rows, cols]
    frame["exposure_months"] = 1
    frame["defaults"] = (cols == first[rows]).astype(np.int64)
    return frame
