"""KPIs of a scenario run (SPEC §9): per-path values, tables with 95 % intervals, deltas.

:data:`KPIS` defines every KPI (unit, description, table order); :func:`path_kpis` computes
them per path and segment from the simulation's :class:`~solver.scenarios.path_outcomes.PathOutcomes`;
:func:`kpi_table`, :func:`monthly_table` and :func:`roll_rate_table` summarise them with
95 % intervals; :class:`ScenarioResult` holds the tables of a run, :func:`compare` its
deltas against a baseline, and :func:`efficient_frontier` the runs of a sweep that no other
beats on two KPIs.

Recovery within and beyond the horizon (session 17 review). ``recovery_rate`` counts the
discounted cash of the simulated months only: the payments of months 1…H and the
recoveries of the defaults in months 1…H (received up to L months after H). A scenario
that lengthens plans moves cash past H and so looked as if it recovered less while the
model's NPV said more. Decision: ``recovery_rate`` keeps its name and meaning (sweeps,
baselines and reports compare it run to run) and its description says "within the
horizon"; ``recovery_rate_total`` adds the model value beyond the horizon of the accounts
open at H (``value_beyond_horizon``: their remaining scheduled payments and the recoveries
of their later defaults, valued by the one evaluator,
:func:`solver.scenarios.decisions.residual_values`), i.e. ``total_value_discounted /
opening_balance``, whose mean over paths converges to the evaluator's NPV of the whole
schedules over the opening balance. It is a headline KPI beside ``recovery_rate``.

The opening balance is the book's, for every run (session 23 review). ``opening_balance``
was the plans' balance of month 1, so the fees and interest a plan waives and the principal
it cuts vanished from every KPI, and a scenario's recovery_rate and loss_rate were divided
by a different balance from its baseline's (generous_policy vs baseline on 300 accounts:
18,485,244.08 vs 18,486,653.32 for one book of 18,488,873.71). Decision: ``opening_balance``
is what the book says the accounts owe before any plan (``principal + interest_due +
fees_due``, :func:`solver.core.account.balance_owed`), the same for every scenario
on one book, so every ratio over it compares run to run; ``concession_forgiven`` is what
the plans forgive (book balance − the plans' balance of month 1: waivers and haircuts) and
``forgiven_rate`` its share of the opening balance, so the money a generous policy gives
away is a KPI of its own and ``recovery_rate``, ``loss_rate`` and ``forgiven_rate`` share
one denominator.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from solver.domain import BUCKETS
from solver.scenarios.path_inputs import SEGMENT_TYPES, PathInputs
from solver.scenarios.paths import PATH_FIELDS, ROLL_OUTCOMES, PathOutcomes

__all__ = [
    "KPIS",
    "UNIT_DECIMALS",
    "ScenarioResult",
    "better_for_bank",
    "compare",
    "book_difference",
    "efficient_frontier",
    "kpi_table",
    "monthly_table",
    "opening_npl_ratio",
    "path_kpis",
    "roll_rate_table",
    "static_by_segment",
]

#: Money KPIs are rounded to the cent in tables; ratios to 6 decimals; counts to 2.
UNIT_DECIMALS = {"CNY": 2, "ratio": 6, "accounts": 2, "DTI": 4}

#: The headline KPIs: :meth:`ScenarioResult.summary` prints them, and the report's key KPIs
#: open with them.
HEADLINE_KPIS = (
    "cash_collected_discounted",
    "recovery_rate",
    "recovery_rate_total",
    "credit_loss",
    "default_rate",
    "npl_ratio_at_horizon",
    "collection_cost",
)

#: KPI name → (unit, description). The order is the order of every table.
KPIS: dict[str, tuple[str, str]] = {
    "accounts": ("accounts", "accounts in the portfolio"),
    "opening_balance": (
        "CNY",
        "balance the book says is owed before any plan (principal + interest due + fees due), "
        "the same for every scenario on the book",
    ),
    "concession_forgiven": (
        "CNY",
        "what the plans forgive: fee and interest waivers and principal haircuts (opening "
        "balance − the plans' balance of month 1)",
    ),
    "forgiven_rate": ("ratio", "concession forgiven / opening balance"),
    "cash_collected": (
        "CNY",
        "payments plus recoveries, nominal (recoveries of defaults within the horizon, "
        "received up to L months after it)",
    ),
    "cash_collected_discounted": (
        "CNY",
        "payments plus recoveries discounted at the cost of funds (the realised NPV)",
    ),
    "payments_collected": ("CNY", "scheduled payments received, nominal"),
    "recoveries": ("CNY", "collateral and unsecured recoveries after default, nominal"),
    "recovery_rate": (
        "ratio",
        "discounted cash collected within the horizon / opening balance (payments of months "
        "1..H, recoveries of defaults in months 1..H; see recovery_rate_total)",
    ),
    "recovery_rate_total": (
        "ratio",
        "total value discounted / opening balance: recovery_rate plus the model value "
        "beyond the horizon of the accounts open at it (comparable across plan lengths)",
    ),
    "value_beyond_horizon": (
        "CNY",
        "model value (discounted) of the payments and recoveries still expected after the "
        "horizon from accounts open at the horizon",
    ),
    "total_value_discounted": (
        "CNY",
        "discounted cash collected plus the value beyond the horizon (comparable across "
        "plans of different lengths)",
    ),
    "credit_loss": (
        "CNY",
        "exposure at default not recovered, nominal (its mean is the expected loss)",
    ),
    "loss_rate": ("ratio", "credit loss / opening balance"),
    "defaults": ("accounts", "defaults within the horizon (each is a charge-off)"),
    "default_rate": ("ratio", "defaults / accounts"),
    "exposure_at_default": ("CNY", "balance owed at the defaults"),
    "balance_at_horizon": ("CNY", "balance still owed by open accounts at the horizon"),
    "npl_ratio_at_horizon": ("ratio", "M3+ share of the open balance at the horizon"),
    "npl_ratio_peak": (
        "ratio",
        "highest M3+ share of the open balance over months 1..H, after the plans start "
        "(month 0, the opening book, is left out: see monthly.csv)",
    ),
    "npl_share_at_horizon": ("ratio", "M3+ share of the open accounts at the horizon"),
    "collection_cost": ("CNY", "cost of the allocated collection treatments"),
    "net_collected_discounted": ("CNY", "discounted cash collected minus collection cost"),
    "net_total_value_discounted": (
        "CNY",
        "total value (within and beyond the horizon) minus collection cost",
    ),
    "dti_mean": (
        "DTI",
        "customer burden: mean over accounts of (other_debt + payment)/expected income, "
        "averaged over each schedule's payment months",
    ),
    "dti_p90": ("DTI", "90th percentile over accounts of that debt-to-income"),
    "accounts_restructured": ("accounts", "accounts put on a restructuring plan"),
    "restructured_share": ("ratio", "accounts restructured / accounts"),
    "unemployed_accounts": ("accounts", "accounts hit by the unemployment shock"),
}


#: Every KPI in one of three sets (a test checks that they cover :data:`KPIS` exactly): the
#: one definition of "better" for every coloured delta (``kpi_deltas.png`` and the HTML
#: report's tables). Rises good for the bank: value and cash collected, recovery, and
#: restructuring (the share with the count).
HIGHER_IS_BETTER = frozenset(
    {
        "total_value_discounted",
        "net_total_value_discounted",
        "value_beyond_horizon",
        "cash_collected",
        "cash_collected_discounted",
        "payments_collected",
        "recoveries",
        "recovery_rate",
        "recovery_rate_total",
        "net_collected_discounted",
        "accounts_restructured",
        "restructured_share",
    }
)

#: Rises bad for the bank (or its customers): losses, defaults, NPL, cost, what concessions
#: forgive, the customers' burden.
LOWER_IS_BETTER = frozenset(
    {
        "concession_forgiven",
        "forgiven_rate",
        "credit_loss",
        "loss_rate",
        "defaults",
        "default_rate",
        "exposure_at_default",
        "npl_ratio_at_horizon",
        "npl_ratio_peak",
        "npl_share_at_horizon",
        "collection_cost",
        "dti_mean",
        "dti_p90",
    }
)

#: KPIs whose change is neither good nor bad: the book itself (they differ only when a
#: baseline runs on another book), the shock's reach (an input), and the balance still owed
#: at the horizon (more of it is value kept on a longer plan, or exposure left).
NO_DIRECTION = frozenset(
    {"accounts", "opening_balance", "unemployed_accounts", "balance_at_horizon"}
)


def better_for_bank(kpi: str, delta: float) -> bool | None:
    """Whether a change of ``delta`` in ``kpi`` is good for the bank (``None``: no change,
    not a number, or a KPI without a better direction, :data:`NO_DIRECTION`)."""
    if kpi not in HIGHER_IS_BETTER | LOWER_IS_BETTER or not math.isfinite(delta) or delta == 0:
        return None
    return (delta > 0) == (kpi in HIGHER_IS_BETTER)


def _stats(values: np.ndarray) -> dict[str, float]:
    """Mean, spread and 95 % intervals of per-path values."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return dict.fromkeys(("mean", "std", "ci_low", "ci_high", "p2_5", "p97_5"), math.nan)
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if x.size > 1 else 0.0
    half = 1.959963984540054 * std / math.sqrt(x.size)
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
    balance of month 1; the difference is ``concession_forgiven`` (module docstring).
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

    ``ci_low``/``ci_high`` bound the Monte Carlo mean (mean ± 1.96·std/√paths);
    ``p2_5``/``p97_5`` are the 2.5 % and 97.5 % points of the outcome across paths.
    Values are rounded by unit (cents, 6 decimals for ratios) so files are stable.
    """
    rows = []
    for (segment_type, segment), kpis in values.items():
        for kpi, x in kpis.items():
            unit = KPIS[kpi][0]
            stats = _stats(x)
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


# -- the result -----------------------------------------------------------------------------


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


def book_difference(accounts: Any, baseline_accounts: Any) -> str | None:
    """How two runs' books differ (``None``: the same account ids), for the refusal of a
    baseline on another book.

    A delta pairs the two runs path by path and segment by segment; on different accounts
    it measures the books' difference, not the scenario's effect (session 23 review: a
    baseline on another book gave paired deltas without a word). Refused rather than
    warned: a warning scrolls past in a terminal and is absent from deltas.csv, which
    would still read as the scenario's effect.
    """
    ids = set(map(str, accounts))
    base = set(map(str, baseline_accounts))
    if ids == base:
        return None
    only, only_base = sorted(ids - base), sorted(base - ids)
    return (
        f"{len(ids):,} accounts vs the baseline's {len(base):,}: {len(only):,} only in the "
        f"scenario's book{' (e.g. ' + only[0] + ')' if only else ''}, {len(only_base):,} only "
        f"in the baseline's{' (e.g. ' + only_base[0] + ')' if only_base else ''}"
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
        When the two runs' books hold different accounts (:func:`book_difference`).
    """
    differs = book_difference(result.accounts["account_id"], baseline.accounts["account_id"])
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
            xs, ys = _stats(x), _stats(y)
            delta = xs["mean"] - ys["mean"]
            if len(x) == len(y) and len(x) > 1:
                diff = np.asarray(x, float) - np.asarray(y, float)
                diff = diff[~np.isnan(diff)]
                se = float(diff.std(ddof=1)) / math.sqrt(diff.size) if diff.size > 1 else 0.0
            else:
                se = math.sqrt(
                    (xs["std"] ** 2) / max(1, len(x)) + (ys["std"] ** 2) / max(1, len(y))
                )
            half = 1.959963984540054 * se
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


def efficient_frontier(cost: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Points not dominated by another (no other has cost ≤ and value ≥, one strictly)."""
    cost = np.asarray(cost, dtype=float)
    value = np.asarray(value, dtype=float)
    better_or_equal = (cost[None, :] <= cost[:, None]) & (value[None, :] >= value[:, None])
    strictly = (cost[None, :] < cost[:, None]) | (value[None, :] > value[:, None])
    return ~np.any(better_or_equal & strictly, axis=1)
