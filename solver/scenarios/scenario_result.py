"""A scenario run's result (:class:`ScenarioResult`) and its deltas against a baseline
(:func:`compare`), which need both runs on one book (:func:`book_difference`, the one
definition of "the same book", also behind :mod:`solver.scenarios.same_book`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from solver.core.account import OWED_COLUMNS
from solver.core.waterfall import to_units
from solver.scenarios.experiment_stats import welch_df
from solver.scenarios.kpi_defs import HEADLINE_KPIS, KPIS, UNIT_DECIMALS
from solver.scenarios.kpis import interval_half_width, mean_half_width, path_stats

__all__ = ["ScenarioResult", "book_cents", "book_difference", "compare", "horizon_difference"]


@dataclass(frozen=True)
class ScenarioResult:
    """Outcome of :func:`solver.scenarios.run.run_scenario`.

    Attributes
    ----------
    name, description
        From the scenario.
    scenario
        The scenario that was run.
    paths, seed, horizon
        Monte Carlo settings used.
    kpis
        Long table: ``segment_type`` (total, tier, product, dpd_bucket), ``segment``,
        ``kpi``, ``unit``, ``mean``, ``std`` (across paths), ``ci_low``/``ci_high`` (95 %
        interval of the mean), ``p2_5``/``p97_5`` (95 % range of the outcome).
    accounts
        One row per account: segment, schedule family, treatment, cost and its simulated
        means next to their exact expectation (``expected_*``).
    monthly
        Month-by-month means and 95 % ranges (cash, defaults, NPL ratio, …).
    roll_rates
        Pooled monthly roll rates between buckets.
    path_values
        ``(segment_type, segment)`` → KPI → per-path values (for paired comparisons).
    notes
        How each stage was done (plans, treatments, shocks).
    timings
        Seconds per stage.
    cached_stages
        Stages served from a cache rather than computed (``portfolio``, ``plans``,
        ``treatments``): their time says nothing about the work, and reports label them
        instead of showing it: "shared with the baseline" when the baseline run computed
        them (``scenario run --baseline``), else "cached"
        (:func:`commands.scenario_output.timing_text`).
    """

    name: str
    description: str
    scenario: Any
    paths: int
    seed: int
    horizon: int
    kpis: Any
    accounts: Any
    monthly: Any
    roll_rates: Any
    path_values: Mapping[tuple[str, str], Mapping[str, np.ndarray]]
    notes: Mapping[str, str] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)
    allocation: Mapping[str, Any] = field(default_factory=dict)
    cached_stages: tuple[str, ...] = ()

    def total(self) -> Any:
        """The portfolio-level KPI rows (indexed by KPI)."""
        rows = self.kpis[self.kpis["segment_type"] == "total"]
        return rows.set_index("kpi")

    def kpi(self, name: str, segment_type: str = "total", segment: str = "all") -> float:
        """Mean of one KPI."""
        k = self.kpis
        row = k[
            (k["segment_type"] == segment_type) & (k["segment"] == segment) & (k["kpi"] == name)
        ]
        if row.empty:
            raise KeyError(f"no KPI {name!r} for {segment_type}={segment}")
        return float(row["mean"].iloc[0])

    def segment_table(self, segment_type: str, column: str = "mean") -> Any:
        """KPIs by segment: one row per segment, one column per KPI (``mean`` by default)."""
        k = self.kpis[self.kpis["segment_type"] == segment_type]
        table = k.pivot(index="segment", columns="kpi", values=column)
        order = [name for name in KPIS if name in table.columns]
        return table[order].reset_index()

    def summary(self) -> str:
        """A short text summary of the main KPIs."""
        total = self.total()
        lines = [
            f"scenario {self.name}: {self.paths} paths x {self.horizon} months, seed {self.seed}"
        ]
        for name in HEADLINE_KPIS:
            if name in total.index:
                row = total.loc[name]
                lines.append(
                    f"  {name:28s} {row['mean']:>18,.4f}  "
                    f"[{row['ci_low']:,.4f}, {row['ci_high']:,.4f}]"
                )
        return "\n".join(lines)


def book_difference(owed: pd.Series, baseline_owed: pd.Series) -> str | None:
    """How two books differ (``None``: they are the same book), for the refusal of a
    baseline on another book: the one definition of "the same book", used by
    :func:`compare` (on two results) and by
    :func:`solver.scenarios.same_book.check_same_book` (before a run, on the two books).

    A book here is each account's balance owed in whole cents (``principal + interest_due
    + fees_due``, :func:`solver.core.account.balance_owed`, as :func:`book_cents`), indexed
    by account id. Two books are the same when they hold the same account ids and each
    account owes the same balance to the cent. Until session 25 :func:`compare` checked the
    ids only, so two results on the same accounts owing other balances gave deltas that
    measured the books' difference.

    A delta pairs the two runs path by path and segment by segment; on another book it
    measures the books' difference, not the scenario's effect (session 23 review: a
    baseline on another book gave paired deltas without a word). Refused rather than
    warned: a warning scrolls past in a terminal and is absent from deltas.csv, which
    would still read as the scenario's effect.
    """
    owed = owed.set_axis(owed.index.astype(str))
    baseline_owed = baseline_owed.set_axis(baseline_owed.index.astype(str))
    ids, base = set(owed.index), set(baseline_owed.index)
    if ids != base:
        only, only_base = sorted(ids - base), sorted(base - ids)
        return (
            f"{len(ids):,} accounts vs the baseline's {len(base):,}: {len(only):,} only in the "
            f"scenario's book{' (e.g. ' + only[0] + ')' if only else ''}, {len(only_base):,} only "
            f"in the baseline's{' (e.g. ' + only_base[0] + ')' if only_base else ''}"
        )
    scen = owed.to_numpy()
    base_cents = baseline_owed.reindex(owed.index).to_numpy()
    differ = np.flatnonzero(scen != base_cents)
    if not differ.size:
        return None
    first = int(differ[0])
    return (
        f"the same {len(scen):,} accounts, but {differ.size:,} owe another balance "
        f"({' + '.join(OWED_COLUMNS)}, to the cent), e.g. {owed.index[first]}: "
        f"{scen[first] / 100:,.2f} vs the baseline's {base_cents[first] / 100:,.2f}"
    )


def book_cents(account_ids: Any, balances: Any) -> pd.Series:
    """A book as :func:`book_difference` compares it: each account's balance owed (currency
    units) in whole cents, by account id."""
    return pd.Series(
        to_units(np.asarray(balances, dtype=float), "balance owed"),
        index=pd.Index(account_ids),
    )


def horizon_difference(horizon: int, baseline_horizon: int) -> str | None:
    """Why two runs of ``horizon`` and ``baseline_horizon`` months cannot be compared
    (``None``: they can). The one definition behind :func:`compare` and
    :func:`solver.scenarios.same_book.check_same_horizon` (before a run).

    Every KPI sums or ends at the horizon (cash collected over it, the NPL ratio at it, the
    value beyond it): a 24-month run against a 36-month one differs by a third of its
    months, and the deltas measured that, marked significant (session 25 review).
    """
    if int(horizon) == int(baseline_horizon):
        return None
    return (
        f"simulation.horizon_months is {int(horizon)} against the baseline's "
        f"{int(baseline_horizon)}; the KPIs add up to the horizon, so the deltas would "
        "measure the horizons' difference"
    )


def compare(result: ScenarioResult, baseline: ScenarioResult) -> Any:
    """KPI deltas of ``result`` against ``baseline``, with 95 % intervals of the delta.

    When both runs have the same number of paths, the interval comes from the per-path
    differences (paths are paired by index; with the same seed the two runs share their
    random numbers, which makes the delta far more precise than either level). Otherwise
    the two means are treated as independent.

    Returns
    -------
    pandas.DataFrame
        ``segment_type``, ``segment``, ``kpi``, ``unit``, ``baseline``, ``scenario``,
        ``delta``, ``delta_pct``, ``delta_ci_low``, ``delta_ci_high``, ``significant``.

    Raises
    ------
    ValueError
        When the two runs are not on one book: other accounts, or the same accounts owing
        other balances (:func:`book_difference`); or not over one horizon
        (:func:`horizon_difference`).
    """
    horizons = horizon_difference(result.horizon, baseline.horizon)
    if horizons is not None:
        raise ValueError(f"the baseline runs over another horizon: {horizons}")
    # the result's opening_balance is the book's balance owed (solver.scenarios.kpi_defs)
    differs = book_difference(
        book_cents(result.accounts["account_id"], result.accounts["opening_balance"]),
        book_cents(baseline.accounts["account_id"], baseline.accounts["opening_balance"]),
    )
    if differs is not None:
        raise ValueError(f"the baseline runs on another book: {differs}")
    rows = []
    for key, kpis in result.path_values.items():
        base_kpis = baseline.path_values.get(key)
        if base_kpis is None:
            continue
        for kpi, x in kpis.items():
            if kpi not in base_kpis:
                continue
            y = base_kpis[kpi]
            unit = KPIS[kpi][0]
            digits = UNIT_DECIMALS[unit]
            xs, ys = path_stats(x), path_stats(y)
            delta = xs["mean"] - ys["mean"]
            # Student's t (kpis.mean_half_width): paired paths with the differences' own
            # paths - 1 degrees of freedom; unpaired means with Welch's
            if len(x) == len(y) and len(x) > 1:
                diff = np.asarray(x, float) - np.asarray(y, float)
                diff = diff[~np.isnan(diff)]
                std = float(diff.std(ddof=1)) if diff.size > 1 else 0.0
                half = mean_half_width(std, diff.size)
            else:
                vx, vy = xs["std"] ** 2, ys["std"] ** 2
                nx, ny = len(x), len(y)
                if min(nx, ny) < 2:  # a one-path side has no known spread (mean_half_width)
                    half = math.nan
                else:
                    se = math.sqrt(vx / nx + vy / ny)
                    half = interval_half_width(se, welch_df(vx, nx, vy, ny) if se else 0.0)
            pct = (
                delta / abs(ys["mean"])
                if ys["mean"] not in (0.0,) and math.isfinite(ys["mean"])
                else math.nan
            )
            rows.append(
                {
                    "segment_type": key[0],
                    "segment": key[1],
                    "kpi": kpi,
                    "unit": unit,
                    "baseline": round(ys["mean"], digits),
                    "scenario": round(xs["mean"], digits),
                    "delta": round(delta, digits),
                    "delta_pct": round(pct, 6) if math.isfinite(pct) else math.nan,
                    "delta_ci_low": round(delta - half, digits),
                    "delta_ci_high": round(delta + half, digits),
                    "significant": bool(half < abs(delta)) if math.isfinite(delta) else False,
                }
            )
    return pd.DataFrame(rows)
