"""The scenario reports' charts, rendered to PNG bytes.

Cash collected and the NPL ratio by month with 95 % bands (the baseline dashed), the key
KPIs' deltas against the baseline (or, without one, the recovery rate by tier), and a
sweep's efficient frontier. matplotlib is imported on first use (on the Agg backend) and
the PNGs carry no software or time metadata, so the same result gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pandas as pd

from solver.domain import DEFAULT_CURRENCY
from solver.scenarios.kpis import ScenarioResult, efficient_frontier
from solver.scenarios.report_tables import KEY_KPIS, currency_of

__all__ = ["frontier_chart", "render_charts"]

_HIGHER_IS_BETTER = {
    "total_value_discounted",
    "net_total_value_discounted",
    "value_beyond_horizon",
    "cash_collected",
    "cash_collected_discounted",
    "recovery_rate",
    "recovery_rate_total",
    "net_collected_discounted",
    "accounts_restructured",
}


# --------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------


def _figure_bytes(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buffer.getvalue()


def _pyplot() -> Any:
    """matplotlib's pyplot on the non-interactive Agg backend.

    Imported on first use: it takes about half a second, which the commands that import
    this module only for its tables and workbook (``experiment``) should not pay.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def render_charts(
    result: ScenarioResult,
    baseline: ScenarioResult | None = None,
    comparison: pd.DataFrame | None = None,
) -> dict[str, bytes]:
    """PNG charts: cash collected over time with bands, NPL ratio over time, KPI deltas."""
    plt = _pyplot()
    plt.rcParams.update({"svg.hashsalt": "workout", "font.size": 9})
    charts = {
        "cash_collected.png": _cash_chart(plt, result, baseline),
        "npl_ratio.png": _npl_chart(plt, result, baseline),
    }
    if comparison is not None and not comparison.empty:
        charts["kpi_deltas.png"] = _delta_chart(plt, result, baseline, comparison)
    else:
        charts["kpi_deltas.png"] = _tier_recovery_chart(plt, result)
    return charts


def _run_label(res: ScenarioResult, baseline: ScenarioResult | None) -> str:
    return res.name + (" (baseline)" if res is baseline and res.name != "baseline" else "")


def _band(ax: Any, month: Any, bands: list[Any], colour: str, style: str, label: str) -> None:
    """One run's mean line over its 95 % band; ``bands`` is (low, mean, high), scaled."""
    low, mean, high = bands
    ax.fill_between(month, low, high, color=colour, alpha=0.2, linewidth=0)
    ax.plot(month, mean, style, color=colour, label=label)


def _finish_axes(ax: Any, ylabel: str) -> None:
    """The month axis, ``ylabel``, a light grid and the legend, as every time chart has."""
    ax.set_xlabel("month")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(loc="best")


def _cash_chart(plt: Any, result: ScenarioResult, baseline: ScenarioResult | None) -> bytes:
    """Monthly and cumulative cash collected, with 95 % bands (the baseline dashed)."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for res, colour, style in ((baseline, "#888888", "--"), (result, "#1f77b4", "-")):
        if res is None:
            continue
        m = res.monthly
        label = _run_label(res, baseline)
        for ax, key in ((ax1, "cash_collected"), (ax2, "cumulative_cash")):
            bands = [m[f"{key}_{part}"] / 1e6 for part in ("low", "mean", "high")]
            _band(ax, m["month"], bands, colour, style, label)
    ax1.set_title("Cash collected per month (mean, 95 % of paths)")
    ax2.set_title("Cumulative cash collected")
    for ax in (ax1, ax2):
        _finish_axes(ax, f"million {currency_of(result)}")
    fig.tight_layout()
    return _figure_bytes(fig)


def _npl_chart(plt: Any, result: ScenarioResult, baseline: ScenarioResult | None) -> bytes:
    """The NPL ratio by month, with 95 % bands (the baseline dashed)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for res, colour, style in ((baseline, "#888888", "--"), (result, "#d62728", "-")):
        if res is None:
            continue
        m = res.monthly.dropna(subset=["npl_ratio_mean"])
        label = _run_label(res, baseline)
        bands = [100 * m[f"npl_ratio_{part}"] for part in ("low", "mean", "high")]
        _band(ax, m["month"], bands, colour, style, label)
    ax.set_title("NPL ratio: M3+ share of the open balance (mean, 95 % of paths)")
    _finish_axes(ax, "%")
    fig.tight_layout()
    return _figure_bytes(fig)


def _delta_chart(
    plt: Any,
    result: ScenarioResult,
    baseline: ScenarioResult | None,
    comparison: pd.DataFrame,
) -> bytes:
    """The key KPIs' deltas against the baseline in %, with their 95 % intervals."""
    total = comparison[comparison["segment_type"] == "total"].set_index("kpi")
    names = [k for k in KEY_KPIS if k in total.index and total.loc[k, "baseline"] != 0]
    base = [abs(float(total.loc[k, "baseline"])) for k in names]
    pct = [100 * float(total.loc[k, "delta"]) / b for k, b in zip(names, base, strict=True)]
    low = [100 * float(total.loc[k, "delta_ci_low"]) / b for k, b in zip(names, base, strict=True)]
    high = [
        100 * float(total.loc[k, "delta_ci_high"]) / b for k, b in zip(names, base, strict=True)
    ]
    # a readable axis: at most ±100 %; longer bars are cut and labelled with their value
    limit = min(100.0, max([5.0, *[1.15 * abs(v) for v in pct]]))
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(names) + 1.4))
    colours = [
        "#2ca02c" if (v >= 0) == (k in _HIGHER_IS_BETTER) or v == 0 else "#d62728"
        for k, v in zip(names, pct, strict=True)
    ]
    y = list(range(len(names)))
    shown = [max(-limit, min(limit, v)) for v in pct]
    ax.barh(y, shown, color=colours, alpha=0.8)
    err_low = [max(0.0, p - max(-limit, lo)) for p, lo in zip(shown, low, strict=True)]
    err_high = [max(0.0, min(limit, hi) - p) for p, hi in zip(shown, high, strict=True)]
    ax.errorbar(
        shown, y, xerr=[err_low, err_high], fmt="none", ecolor="black", capsize=3, linewidth=1
    )
    for yi, (v, s_) in enumerate(zip(pct, shown, strict=True)):
        ax.annotate(
            f"{v:+.1f}%",
            (s_, yi),
            textcoords="offset points",
            xytext=(6 if s_ >= 0 else -6, -12),
            ha="left" if s_ >= 0 else "right",
            fontsize=8,
        )
    ax.set_xlim(-limit * 1.25, limit * 1.25)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.8)
    name = baseline.name if baseline else "baseline"
    ax.set_xlabel(
        f"% change vs {name} (bars: mean, whiskers: 95 % CI; green = better for the bank)"
    )
    ax.set_title(f"KPI deltas: {result.name} vs {name}")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _figure_bytes(fig)


def _tier_recovery_chart(plt: Any, result: ScenarioResult) -> bytes:
    """Recovery rate by tier with the 95 % range of paths (the chart without a baseline):
    ``recovery_rate_total``, with the value beyond the horizon, so that tiers whose plans
    run past the horizon are not shown as recovering less (kpis.py, session 17)."""
    kpi = "recovery_rate_total"
    table = result.segment_table("tier")
    lows = result.segment_table("tier", "p2_5")
    highs = result.segment_table("tier", "p97_5")
    fig, ax = plt.subplots(figsize=(7, 4))
    values = 100 * table[kpi].to_numpy(float)
    err_low = values - 100 * lows[kpi].to_numpy(float)
    err_high = 100 * highs[kpi].to_numpy(float) - values
    ax.bar(table["segment"], values, color="#1f77b4", alpha=0.8)
    ax.errorbar(
        table["segment"],
        values,
        yerr=[err_low, err_high],
        fmt="none",
        ecolor="black",
        capsize=3,
    )
    ax.set_ylabel("discounted recovery incl. value beyond horizon / opening balance, %")
    ax.set_xlabel("tier")
    ax.set_title("Recovery rate by tier (mean, 95 % of paths)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _figure_bytes(fig)


def frontier_chart(
    table: pd.DataFrame,
    x: str,
    y: str,
    labels: Sequence[str],
    currency: str = DEFAULT_CURRENCY,
) -> bytes:
    """Scatter of the sweep's runs with the efficient frontier (max ``y`` for min ``x``)."""
    plt = _pyplot()
    xs = table[x].to_numpy(float)
    ys = table[y].to_numpy(float)
    on = efficient_frontier(xs, ys)
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.scatter(xs[~on], ys[~on] / 1e6, color="#999999", label="dominated")
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    front = [i for i in order if on[i]]
    ax.plot(xs[front], ys[front] / 1e6, "-o", color="#1f77b4", label="efficient frontier")
    for i, label in enumerate(labels):
        ax.annotate(
            label, (xs[i], ys[i] / 1e6), textcoords="offset points", xytext=(4, 4), fontsize=7
        )
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y.replace("_", " ") + f" (million {currency})")
    ax.set_title(f"Efficient frontier: {y.replace('_', ' ')} vs {x.replace('_', ' ')}")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    return _figure_bytes(fig)
