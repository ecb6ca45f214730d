"""How the scenario reports' tables read: column titles, value formats, the KPI overview.

Shared by every rendering of a scenario result (the terminal, the workbook, the HTML):
readable column titles, a value's display text by its unit, the policy's currency as the
label of money units, the portfolio-level KPI overview with baseline deltas, and which KPIs
and columns the reports pick out. Nothing here draws or writes a file.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from solver.domain import DEFAULT_CURRENCY
from solver.scenarios.kpi_defs import HEADLINE_KPIS, KPIS
from solver.scenarios.scenario_result import ScenarioResult

__all__ = [
    "COLUMN_TITLES",
    "KEY_KPIS",
    "NOT_REPRODUCIBLE",
    "UNIT_VALUE_COLUMNS",
    "column_title",
    "currency_of",
    "format_value",
    "kpi_overview",
    "money_units",
]

#: Readable column headers for the workbook and the HTML.
COLUMN_TITLES: dict[str, str] = {
    "segment_type": "Segment type",
    "segment": "Segment",
    "kpi": "KPI",
    "unit": "Unit",
    "description": "What it measures",
    "mean": "Mean",
    "std": "Std dev across paths",
    "ci_low": "95% CI of mean: low",
    "ci_high": "95% CI of mean: high",
    "p2_5": "2.5% of paths",
    "p97_5": "97.5% of paths",
    "baseline": "Baseline",
    "scenario": "Scenario",
    "delta": "Delta",
    "delta_pct": "Delta %",
    "delta_ci_low": "95% CI of delta: low",
    "delta_ci_high": "95% CI of delta: high",
    "significant": "Significant",
    "month": "Month",
    "from_bucket": "From bucket",
    "to": "To",
    "outcome": "Outcome",
    "transitions": "Transitions",
    "rate": "Rate",
    "low": "2.5% of paths",
    "high": "97.5% of paths",
}

#: The KPIs the charts and the HTML's segment tables show, in order.
KEY_KPIS = (
    "total_value_discounted",
    *HEADLINE_KPIS,
    "net_collected_discounted",
    "dti_mean",
    "dti_p90",
    "accounts_restructured",
)


#: Allocation facts left out of the report files: wall-clock times differ between runs, and
#: the same inputs and seed must give byte-identical files (docs/reliability.md).
NOT_REPRODUCIBLE = frozenset({"runtime_s"})


def column_title(column: str) -> str:
    """A column's readable header (:data:`COLUMN_TITLES`, else its name in words)."""
    if column in COLUMN_TITLES:
        return COLUMN_TITLES[column]
    return column.replace("_", " ").capitalize()


#: Columns whose values take the unit of their row (the KPI tables' ``unit`` column).
UNIT_VALUE_COLUMNS = {
    "mean",
    "std",
    "ci_low",
    "ci_high",
    "p2_5",
    "p97_5",
    "baseline",
    "scenario",
    "delta",
    "delta_ci_low",
    "delta_ci_high",
}


# --------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------


def format_value(value: Any, unit: str) -> str:
    """A value for display: CNY with thousands separators, ratios as %, DTI to 3 dp."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "ratio":
        return f"{100 * float(value):.2f}%"
    if unit == "CNY":
        return f"{float(value):,.2f}"
    if unit == "DTI":
        return f"{float(value):.3f}"
    return f"{float(value):,.2f}".rstrip("0").rstrip(".")


def currency_of(result: ScenarioResult) -> str:
    """The currency of the scenario's amounts (its policy's, SPEC §2)."""
    policy = getattr(result.scenario, "policy", None)
    return str(getattr(policy, "currency", DEFAULT_CURRENCY))


def money_units(frame: pd.DataFrame, currency: str) -> pd.DataFrame:
    """``frame`` with its ``unit`` column's money unit shown as ``currency``.

    The KPI tables mark money with the unit ``CNY`` (:data:`~solver.scenarios.kpi_defs.KPIS`),
    which also selects its number format; only what is written is relabelled, so the
    default currency leaves every file byte-identical."""
    if currency == DEFAULT_CURRENCY or "unit" not in frame.columns:
        return frame
    out = frame.copy()
    out["unit"] = out["unit"].replace({DEFAULT_CURRENCY: currency})
    return out


def kpi_overview(result: ScenarioResult, comparison: pd.DataFrame | None = None) -> pd.DataFrame:
    """Portfolio-level KPIs with intervals (and baseline deltas) in display order."""
    total = result.kpis[result.kpis["segment_type"] == "total"].copy()
    total["description"] = total["kpi"].map(lambda k: KPIS[k][1])
    columns = ["kpi", "unit", "description", "mean", "ci_low", "ci_high", "p2_5", "p97_5"]
    out = total[columns].reset_index(drop=True)
    if comparison is not None and not comparison.empty:
        deltas = comparison[comparison["segment_type"] == "total"][
            ["kpi", "baseline", "delta", "delta_pct", "delta_ci_low", "delta_ci_high"]
        ]
        out = out.merge(deltas, on="kpi", how="left")
    return pd.DataFrame(out)
