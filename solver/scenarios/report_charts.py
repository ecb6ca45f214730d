"""The scenario reports' charts, rendered to PNG bytes.

Cash collected and the NPL ratio by month with 95 % bands (the baseline dashed), the
recovery rate by tier, the key KPIs' deltas against the baseline (with one), and a
sweep's efficient frontier. matplotlib is imported on first use (on the Agg backend) and
the PNGs carry no software or time metadata, so the same result gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pandas as pd

from solver.domain import DEFAULT_CURRENCY
from solver.scenarios.frontier import efficient_frontier
from solver.scenarios.kpi_defs import better_for_bank
from solver.scenarios.report_tables import KEY_KPIS, currency_of
from solver.scenarios.scenario_result import ScenarioResult

__all__ = ["delta_figure", "frontier_chart", "render_charts", "tier_recovery_figure"]


# --------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------


def _figure_bytes(fig: Any) -> bytes:
    buffer = io.BytesIO()
    # bbox_inches="tight": no label is cut at the figure's edge (session 19)
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")
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
    """PNG charts by file name: cash collected and the NPL ratio over time with bands, the
    recovery rate by tier, and (with a comparison) the KPI deltas.

    Each file name always holds the same chart (session 19: without a baseline
    ``kpi_deltas.png`` used to hold the tier chart); ``kpi_deltas.png`` is written only
    with a baseline.
    """
    plt = _pyplot()
    plt.rcParams.update({"svg.hashsalt": "workout", "font.size": 9})
    charts = {
        "cash_collected.png": _cash_chart(plt, result, baseline),
        "npl_ratio.png": _npl_chart(plt, result, baseline),
        "recovery_by_tier.png": _figure_bytes(tier_recovery_figure(plt, result)),
    }
    if comparison is not None and not comparison.empty:
        charts["kpi_deltas.png"] = _figure_bytes(delta_figure(plt, result, baseline, comparison))
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
    """The NPL ratio by month, with 95 % bands (the baseline dashed); month 0, the opening
    book, is marked apart: ``npl_ratio_peak`` is the peak of months 1..H (kpis.py)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for res, colour, style in ((baseline, "#888888", "--"), (result, "#d62728", "-")):
        if res is None:
            continue
        m = res.monthly.dropna(subset=["npl_ratio_mean"])
        label = _run_label(res, baseline)
        bands = [100 * m[f"npl_ratio_{part}"] for part in ("low", "mean", "high")]
        _band(ax, m["month"], bands, colour, style, label)
    opening = result.monthly[result.monthly["month"] == 0]["npl_ratio_mean"]
    if not opening.empty:
        ax.plot(
            [0],
            [100 * float(opening.iloc[0])],
            "o",
            color="black",
            label="opening book (month 0, before the plans)",
        )
    ax.set_title("NPL ratio: M3+ share of the open balance (mean, 95 % of paths)")
    _finish_axes(ax, "%")
    fig.tight_layout()
    return _figure_bytes(fig)


def delta_figure(
    plt: Any,
    result: ScenarioResult,
    baseline: ScenarioResult | None,
    comparison: pd.DataFrame,
) -> Any:
    """The key KPIs' deltas against the baseline in %, with their 95 % intervals (a
    matplotlib figure; ``kpi_deltas.png``).

    The axis covers every bar and whisker: until session 19 it was cut at ±100 % and a
    +212.7 % bar was drawn with its whisker at the cut. A small baseline (an NPL ratio at
    the horizon of 0.2 %) gives large % changes, so the axis may be wide; every bar is
    labelled with its value.
    """
    total = comparison[comparison["segment_type"] == "total"].set_index("kpi")
    names = [k for k in KEY_KPIS if k in total.index and total.loc[k, "baseline"] != 0]
    base = [abs(float(total.loc[k, "baseline"])) for k in names]
    pct = [100 * float(total.loc[k, "delta"]) / b for k, b in zip(names, base, strict=True)]
    low = [100 * float(total.loc[k, "delta_ci_low"]) / b for k, b in zip(names, base, strict=True)]
    high = [
        100 * float(total.loc[k, "delta_ci_high"]) / b for k, b in zip(names, base, strict=True)
    ]
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(names) + 1.4))
    # one definition of "better" with the HTML tables' colours (kpi_defs.better_for_bank);
    # no change stays green, as before
    colours = [
        "#d62728" if better_for_bank(k, v) is False else "#2ca02c"
        for k, v in zip(names, pct, strict=True)
    ]
    y = list(range(len(names)))
    ax.barh(y, pct, color=colours, alpha=0.8)
    err_low = [max(0.0, p - lo) for p, lo in zip(pct, low, strict=True)]
    err_high = [max(0.0, hi - p) for p, hi in zip(pct, high, strict=True)]
    ax.errorbar(pct, y, xerr=[err_low, err_high], fmt="none", ecolor="black", capsize=3, lw=1)
    for yi, v in enumerate(pct):
        ax.annotate(
            f"{v:+.1f}%",
            (v, yi),
            textcoords="offset points",
            xytext=(6 if v >= 0 else -6, -12),
            ha="left" if v >= 0 else "right",
            fontsize=8,
        )
    # every bar and whisker inside the axis, with room for the value labels
    left = min([-5.0, *low, *pct])
    right = max([5.0, *high, *pct])
    room = 0.2 * (right - left)
    ax.set_xlim(left - (room if left < -5.0 else 0.5 * room), right + room)
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
    return fig


def tier_recovery_figure(plt: Any, result: ScenarioResult) -> Any:
    """Recovery rate by tier with the 95 % range of paths (a matplotlib figure;
    ``recovery_by_tier.png``): ``recovery_rate_total``, with the value beyond the horizon,
    so that tiers whose plans run past the horizon are not shown as recovering less
    (kpi_defs.py, session 17). The y label is short and the title says what is shown: the
    long label of session 18 did not fit the axis' height and was cut at both ends."""
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
    ax.set_ylabel("% of opening balance")
    ax.set_xlabel("tier")
    ax.set_title(
        "Recovery rate by tier: discounted recovery incl. value beyond the horizon\n"
        "(mean, 95 % of paths)"
    )
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


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
