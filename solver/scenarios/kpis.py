"""Per-path KPI values of a scenario run and their tables with 95 % intervals (SPEC §9).

:func:`path_kpis` computes the KPIs of :data:`~solver.scenarios.kpi_defs.KPIS` per path and
segment from the simulation's :class:`~solver.scenarios.path_outcomes.PathOutcomes` (with
:func:`static_by_segment`, the figures that do not vary by path); :func:`path_stats` gives
the mean and 95 % intervals of per-path values; :func:`kpi_table`, :func:`monthly_table` and
:func:`roll_rate_table` summarise a run with them. A run's result and its deltas against a
baseline are in :mod:`solver.scenarios.scenario_result`; what each KPI means (and the
decisions behind ``recovery_rate_total`` and ``opening_balance``) in
:mod:`solver.scenarios.kpi_defs`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from solver.domain import BUCKETS
from solver.scenarios.kpi_defs import KPIS, UNIT_DECIMALS
from solver.scenarios.path_inputs import SEGMENT_TYPES, PathInputs
from solver.scenarios.paths import PATH_FIELDS, ROLL_OUTCOMES, PathOutcomes

__all__ = [
    "interval_half_width",
    "kpi_table",
    "mean_half_width",
    "monthly_table",
    "opening_npl_ratio",
    "path_kpis",
    "path_stats",
    "roll_rate_table",
    "static_by_segment",
]


def mean_half_width(std: float, n: int, df: float | None = None) -> float:
    """Half the width of the 95 % interval of a mean of ``n`` values of sample standard
    deviation ``std``: Student's t quantile with ``df`` degrees of freedom (default
    ``n − 1``) times ``std/√n``; NaN for a single value (no spread is known: an interval
    of width 0 made every delta of a one-path run "significant").

    Why t, not 1.96 (session 25 review): the paths are a sample and ``std`` is estimated
    from them, so the mean's interval is Student's; 1.96 was too narrow for few paths
    (20 paths: t = 2.093, 7 % wider). Paired deltas use their own ``n − 1``
    (:func:`solver.scenarios.scenario_result.compare`), unpaired ones Welch's degrees of
    freedom. At 200 paths the two differ by 0.8 %.
    """
    if n < 2:
        return math.nan
    return interval_half_width(std / math.sqrt(n), n - 1 if df is None else df)


def interval_half_width(se: float, df: float) -> float:
    """Half the width of a 95 % interval of an estimate with standard error ``se`` and
    ``df`` degrees of freedom (Student's t quantile times ``se``; 0 when ``se`` is 0)."""
    if se == 0.0:
        return 0.0
    if not (math.isfinite(se) and df > 0):
        return math.nan
    from scipy.stats import t  # only when a table is built: keeps `import solver` light

    return float(t.ppf(0.975, df)) * se


def path_stats(values: np.ndarray) -> dict[str, float]:
    """Mean, spread and 95 % intervals of per-path values."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return dict.fromkeys(("mean", "std", "ci_low", "ci_high", "p2_5", "p97_5"), math.nan)
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if x.size > 1 else 0.0
    half = mean_half_width(std, x.size)
    low, high = (float(v) for v in np.quantile(x, [0.025, 0.975]))
    return {
        "mean": mean,
        "std": std,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "p2_5": low,
        "p97_5": high,
    }


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def path_kpis(
    outcomes: PathOutcomes,
    static: Mapping[tuple[str, str], Mapping[str, float]],
) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Per-path KPI values by segment (money in CNY).

    ``static`` holds, per segment, the figures that do not vary by path: ``accounts``,
    ``opening_balance`` (the book's), ``concession_forgiven``, ``collection_cost``,
    ``accounts_restructured``.
    """
    col = {name: i for i, name in enumerate(PATH_FIELDS)}
    paths = outcomes.paths
    out: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    npl_peak = None
    # The peak is over months 1..H only (session 19 decision): month 0 is the opening book,
    # the same in a scenario and its baseline, and often the highest point of a workout
    # book (its delinquent accounts have not yet been restructured, cured or charged off),
    # so a peak over 0..H would show most scenarios as equal. The monthly table and the
    # NPL chart show month 0 marked as the opening book.
    if outcomes.monthly:
        ratio = _ratio(outcomes.monthly["npl_balance"], outcomes.monthly["open_balance"])
        npl_peak = np.where(
            np.all(np.isnan(ratio), axis=1),
            np.nan,
            np.nanmax(np.where(np.isnan(ratio), -np.inf, ratio), axis=1),
        )
    for key, totals in outcomes.totals.items():
        fixed = static.get(key, {})

        def full(value: float) -> np.ndarray:
            return np.full(paths, float(value))

        def money(name: str, totals: np.ndarray = totals) -> np.ndarray:
            return totals[:, col[name]] / 100.0

        accounts = float(fixed.get("accounts", outcomes.segment_accounts.get(key, 0)))
        opening = float(fixed.get("opening_balance", math.nan))
        forgiven = float(fixed.get("concession_forgiven", 0.0))
        cost = float(fixed.get("collection_cost", 0.0))
        restructured = float(fixed.get("accounts_restructured", 0.0))
        cash = money("payments_nominal") + money("recoveries_nominal")
        cash_disc = money("payments_discounted") + money("recoveries_discounted")
        total_value = cash_disc + money("value_beyond_horizon")
        values = {
            "accounts": full(accounts),
            "opening_balance": full(opening),
            "concession_forgiven": full(forgiven),
            "forgiven_rate": _ratio(full(forgiven), full(opening)),
            "cash_collected": cash,
            "cash_collected_discounted": cash_disc,
            "payments_collected": money("payments_nominal"),
            "recoveries": money("recoveries_nominal"),
            "recovery_rate": _ratio(cash_disc, full(opening)),
            "recovery_rate_total": _ratio(total_value, full(opening)),
            "value_beyond_horizon": money("value_beyond_horizon"),
            "total_value_discounted": total_value,
            "credit_loss": money("credit_loss"),
            "loss_rate": _ratio(money("credit_loss"), full(opening)),
            "defaults": totals[:, col["defaults"]].astype(float),
            "default_rate": _ratio(totals[:, col["defaults"]], full(accounts)),
            "exposure_at_default": money("exposure_at_default"),
            "balance_at_horizon": money("balance_at_horizon"),
            "npl_ratio_at_horizon": _ratio(
                totals[:, col["npl_balance_at_horizon"]], totals[:, col["balance_at_horizon"]]
            ),
            "npl_share_at_horizon": _ratio(
                totals[:, col["npl_accounts_at_horizon"]],
                totals[:, col["open_accounts_at_horizon"]],
            ),
            "collection_cost": full(cost),
            "net_collected_discounted": cash_disc - cost,
            "net_total_value_discounted": total_value - cost,
            "dti_mean": outcomes.dti_mean[key],
            "dti_p90": outcomes.dti_p90[key],
            "accounts_restructured": full(restructured),
            "restructured_share": _ratio(full(restructured), full(accounts)),
            "unemployed_accounts": totals[:, col["unemployed"]].astype(float),
        }
        if key == ("total", "all") and npl_peak is not None:
            values["npl_ratio_peak"] = npl_peak
        out[key] = {k: values[k] for k in KPIS if k in values}
    return out


def static_by_segment(
    inputs: PathInputs, restructured: np.ndarray, cost: np.ndarray
) -> dict[tuple[str, str], dict[str, float]]:
    """The figures of each segment that do not vary by path (the ``static`` of
    :func:`path_kpis`), from the accounts' inputs, restructuring flags and treatment costs.

    ``opening_balance`` is the book's balance (``inputs.book_balance``), not the plans'
    balance of month 1; the difference is ``concession_forgiven`` (:mod:`solver.scenarios.kpi_defs`).
    """
    opening = inputs.book_balance
    forgiven = inputs.book_balance - inputs.exposures[:, 0]
    out: dict[tuple[str, str], dict[str, float]] = {}

    def figures(mask: np.ndarray) -> dict[str, float]:
        return {
            "accounts": float(mask.sum()),
            "opening_balance": round(float(np.rint(opening[mask] * 100).sum()) / 100.0, 2),
            "concession_forgiven": round(float(np.rint(forgiven[mask] * 100).sum()) / 100.0, 2),
            "collection_cost": round(float(np.rint(cost[mask] * 100).sum()) / 100.0, 2),
            "accounts_restructured": float(restructured[mask].sum()),
        }

    out[("total", "all")] = figures(np.ones(len(inputs), dtype=bool))
    for name in SEGMENT_TYPES:
        labels = inputs.segments[name]
        for label in np.unique(labels):
            out[(name, str(label))] = figures(labels == label)
    return out


def opening_npl_ratio(inputs: PathInputs) -> float:
    """The M3+ share of the opening balance (month 0 of the NPL ratio series: the book's)."""
    opening = inputs.book_balance
    return float(_ratio(np.sum(opening * (inputs.initial_bucket >= 3)), np.sum(opening)))


def kpi_table(values: Mapping[tuple[str, str], Mapping[str, np.ndarray]]) -> Any:
    """The long KPI table: one row per (segment, KPI) with mean and 95 % intervals.

    ``ci_low``/``ci_high`` bound the Monte Carlo mean (mean ± t·std/√paths, Student's t with paths − 1 degrees
    of freedom, :func:`mean_half_width`);
    ``p2_5``/``p97_5`` are the 2.5 % and 97.5 % points of the outcome across paths.
    Values are rounded by unit (cents, 6 decimals for ratios) so files are stable.
    """
    rows = []
    for (segment_type, segment), kpis in values.items():
        for kpi, x in kpis.items():
            unit = KPIS[kpi][0]
            stats = path_stats(x)
            if unit != "CNY" and math.isfinite(stats["ci_low"]):
                stats["ci_low"] = max(0.0, stats["ci_low"])  # counts, shares and DTIs are >= 0
            digits = UNIT_DECIMALS[unit]
            rows.append(
                {
                    "segment_type": segment_type,
                    "segment": segment,
                    "kpi": kpi,
                    "unit": unit,
                    **{k: (round(v, digits) if math.isfinite(v) else v) for k, v in stats.items()},
                }
            )
    return pd.DataFrame(rows)


def monthly_table(outcomes: PathOutcomes, initial_npl: float, opening_balance: float) -> Any:
    """Monthly series (month 0 = start): cash, payments, recoveries, defaults, NPL ratio.

    Each series has its mean and the 2.5 %/97.5 % points across paths (``_low``/``_high``).
    Month 0 is the opening book, before the plans: no cash or defaults yet,
    ``open_balance`` = ``opening_balance`` (the ``opening_balance`` KPI: the book's balance,
    so month 0 → 1 also drops by ``concession_forgiven``) and ``npl_ratio`` =
    ``initial_npl`` (:func:`opening_npl_ratio`), the same on every path. Months 1..H hold
    the open balance and its M3+ share at each month's end; ``npl_ratio_peak`` is the
    highest of those per path (so its mean is at least the highest ``npl_ratio_mean`` of
    months 1..H, and equal to it with one path).
    """
    horizon = outcomes.horizon
    m = outcomes.monthly
    received = m["recoveries"].shape[1]
    months = max(horizon, received)
    paths = outcomes.paths

    def pad(values: np.ndarray) -> np.ndarray:
        out = np.zeros((paths, months + 1))
        out[:, 1 : values.shape[1] + 1] = values
        return out

    payments = pad(m["payments"]) / 100.0
    recoveries = pad(m["recoveries"]) / 100.0
    cash = payments + recoveries
    npl = np.full((paths, months + 1), np.nan)
    npl[:, 0] = initial_npl
    npl[:, 1 : horizon + 1] = _ratio(m["npl_balance"], m["open_balance"])
    series = {
        "cash_collected": cash,
        "cumulative_cash": np.cumsum(cash, axis=1),
        "payments_collected": payments,
        "recoveries": recoveries,
        "defaults": pad(m["defaults"]),
        "credit_loss": pad(m["credit_loss"]) / 100.0,
        "open_balance": pad(m["open_balance"]) / 100.0,
        "npl_ratio": npl,
    }
    series["open_balance"][:, 0] = opening_balance  # the book before the plans
    data: dict[str, Any] = {"month": np.arange(months + 1)}
    for name, values in series.items():
        unit_digits = 6 if name == "npl_ratio" else 2
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN months past the horizon
            mean = np.nanmean(values, axis=0)
            low = np.nanquantile(values, 0.025, axis=0)
            high = np.nanquantile(values, 0.975, axis=0)
        data[f"{name}_mean"] = np.round(mean, unit_digits)
        data[f"{name}_low"] = np.round(low, unit_digits)
        data[f"{name}_high"] = np.round(high, unit_digits)
    frame = pd.DataFrame(data)
    # months past the horizon carry only recoveries in the pipeline
    for name in ("npl_ratio", "open_balance", "defaults", "credit_loss", "payments_collected"):
        for suffix in ("_mean", "_low", "_high"):
            frame.loc[frame["month"] > horizon, name + suffix] = np.nan
    return frame


def roll_rate_table(outcomes: PathOutcomes) -> Any:
    """Monthly roll rates between buckets, pooled over the horizon, with 95 % ranges.

    From bucket Mk an open account pays (→ M0), misses (→ Mk+1, capped at M4+) or defaults
    (→ charged off). ``outcome`` names the move: ``cure`` (Mk → M0, k ≥ 1), ``roll``
    (Mk → Mk+1), ``stay`` (M0 → M0 and M4+ → M4+: no bucket change; they read "cure" and
    "roll" until session 23, as the risk module's transitions say "stay") or ``default``.
    ``rate`` pools all roll paths; ``low``/``high`` are the 2.5 %/97.5 % points of the
    per-path rates.
    """
    counts = outcomes.roll_counts.astype(float)  # (paths, 5, 3)
    pooled = counts.sum(axis=0)
    rows = []
    for i, bucket in enumerate(BUCKETS):
        from_total = counts[:, i, :].sum(axis=1)
        for j, outcome in enumerate(ROLL_OUTCOMES):
            target = {"cure": "M0", "roll": BUCKETS[min(i + 1, 4)], "default": "charged_off"}[
                outcome
            ]
            label = "stay" if target == bucket else outcome
            per_path = _ratio(counts[:, i, j], from_total)
            finite = per_path[~np.isnan(per_path)]
            total = pooled[i].sum()
            rows.append(
                {
                    "from_bucket": bucket,
                    "to": target,
                    "outcome": label,
                    "transitions": int(pooled[i, j]),
                    "rate": round(float(pooled[i, j] / total), 6) if total > 0 else math.nan,
                    "low": round(float(np.quantile(finite, 0.025)), 6) if finite.size else math.nan,
                    "high": round(float(np.quantile(finite, 0.975)), 6)
                    if finite.size
                    else math.nan,
                }
            )
    return pd.DataFrame(rows)
