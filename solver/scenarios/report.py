"""Scenario reports: CSV/Parquet tables, an Excel workbook, PNG charts, a self-contained HTML.

Everything is rendered in memory first (charts as PNG bytes, the HTML as text, the
workbook into a temporary file) and only then written, each file atomically
(:mod:`solver.core.atomic`), so a failure leaves no partial file behind. The same result gives
the same bytes for the CSV, Parquet, PNG and HTML files (fixed metadata, no timestamps).

Files of ``workout scenario run`` (in ``--out-dir``):

============================  ==========================================================
``kpis.csv``                  KPIs by segment with means and 95 % intervals
``deltas.csv``                KPI deltas against the baseline (with a baseline)
``monthly.csv``               month-by-month means and 95 % ranges
``roll_rates.csv``            pooled monthly roll rates between buckets
``accounts.parquet``          one row per account (schedule, treatment, simulated means)
``report.xlsx``               one sheet per table, readable headers and number formats
``cash_collected.png``        monthly and cumulative cash collected with 95 % bands
``npl_ratio.png``             NPL ratio (M3+ share of the open balance) by month
``kpi_deltas.png``            KPI deltas vs the baseline with intervals (or, without a
                              baseline, recovery rate by tier)
``report.html``               the whole report in one file (charts embedded as base64)
============================  ==========================================================
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from solver.core.atomic import atomic_path
from solver.domain import DEFAULT_CURRENCY
from solver.scenarios.kpis import HEADLINE_KPIS, KPIS, ScenarioResult, compare, efficient_frontier

__all__ = [
    "COLUMN_TITLES",
    "render_charts",
    "scenario_html",
    "write_scenario_report",
    "write_sweep_report",
    "write_workbook",
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

_UNIT_FORMATS = {"CNY": "#,##0.00", "ratio": "0.00%", "accounts": "#,##0.00", "DTI": "0.000"}
_HIGHER_IS_BETTER = {
    "total_value_discounted",
    "net_total_value_discounted",
    "value_beyond_horizon",
    "cash_collected",
    "cash_collected_discounted",
    "recovery_rate",
    "net_collected_discounted",
    "accounts_restructured",
}
_KEY_KPIS = (
    "total_value_discounted",
    *HEADLINE_KPIS,
    "net_collected_discounted",
    "dti_mean",
    "dti_p90",
    "accounts_restructured",
)


#: Allocation facts left out of the report files: wall-clock times differ between runs, and
#: the same inputs and seed must give byte-identical files (docs/reliability.md).
_NOT_REPRODUCIBLE = frozenset({"runtime_s"})


def _title(column: str) -> str:
    if column in COLUMN_TITLES:
        return COLUMN_TITLES[column]
    return column.replace("_", " ").capitalize()


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

    The KPI tables mark money with the unit ``CNY`` (:data:`~solver.scenarios.kpis.KPIS`),
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
    names = [k for k in _KEY_KPIS if k in total.index and total.loc[k, "baseline"] != 0]
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
    """Recovery rate by tier with the 95 % range of paths (the chart without a baseline)."""
    table = result.segment_table("tier")
    lows = result.segment_table("tier", "p2_5")
    highs = result.segment_table("tier", "p97_5")
    fig, ax = plt.subplots(figsize=(7, 4))
    values = 100 * table["recovery_rate"].to_numpy(float)
    err_low = values - 100 * lows["recovery_rate"].to_numpy(float)
    err_high = 100 * highs["recovery_rate"].to_numpy(float) - values
    ax.bar(table["segment"], values, color="#1f77b4", alpha=0.8)
    ax.errorbar(
        table["segment"],
        values,
        yerr=[err_low, err_high],
        fmt="none",
        ecolor="black",
        capsize=3,
    )
    ax.set_ylabel("discounted recovery / opening balance, %")
    ax.set_xlabel("tier")
    ax.set_title("Recovery rate by tier (mean, 95 % of paths)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _figure_bytes(fig)


# --------------------------------------------------------------------------------------
# Excel
# --------------------------------------------------------------------------------------


def write_workbook(
    sheets: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    unit_column: str = "unit",
    notes: Mapping[str, str] | None = None,
) -> Path:
    """Write tables to an .xlsx workbook, one sheet each, atomically.

    Headers are readable titles (:data:`COLUMN_TITLES`), bold, frozen and filtered. Numbers
    get formats by the row's ``unit`` (CNY ``#,##0.00``, ratios as %, DTI ``0.000``) where
    the table has a unit column, else by the column (money-like columns ``#,##0.00``,
    ``*_rate``/``*_prob``/``*_share``/``*_ratio*`` as %). ``notes`` become a first sheet.
    """
    import xlsxwriter

    path = Path(path)
    with atomic_path(path) as tmp:
        book = xlsxwriter.Workbook(
            str(tmp),
            {"strings_to_formulas": False, "strings_to_urls": False, "nan_inf_to_errors": True},
        )
        book.set_properties({"created": dt.datetime(2000, 1, 1), "title": path.stem})
        header = book.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
        )
        formats = {key: book.add_format({"num_format": fmt}) for key, fmt in _UNIT_FORMATS.items()}
        formats["int"] = book.add_format({"num_format": "#,##0"})
        formats["float"] = book.add_format({"num_format": "#,##0.00##"})
        bold = book.add_format({"bold": True})
        if notes:
            ws = book.add_worksheet("About")
            ws.set_column(0, 0, 24)
            ws.set_column(1, 1, 100)
            for i, (key, value) in enumerate(notes.items()):
                ws.write_string(i, 0, str(key), bold)
                ws.write_string(i, 1, str(value))
        for name, frame in sheets.items():
            ws = book.add_worksheet(str(name)[:31])
            columns = [str(c) for c in frame.columns]
            for j, column in enumerate(columns):
                ws.write_string(0, j, _title(column), header)
                width = max(len(_title(column)) + 2, 12)
                if frame[column].dtype == object and len(frame):
                    width = max(width, min(60, int(frame[column].astype(str).str.len().max()) + 2))
                ws.set_column(j, j, min(width, 60))
            ws.freeze_panes(1, 0)
            if columns:
                ws.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)
            units = frame[unit_column].astype(str).tolist() if unit_column in frame else None
            column_formats = [_column_format(c, frame[c].dtype, formats) for c in columns]
            values = frame.astype(object).where(pd.notna(frame), None).to_numpy().tolist()
            for i, row in enumerate(values, start=1):
                for j, value in enumerate(row):
                    if value is None:
                        continue
                    if isinstance(value, bool):
                        ws.write_boolean(i, j, value)
                    elif isinstance(value, int | float):
                        fmt = column_formats[j]
                        if units is not None and columns[j] in _UNIT_VALUE_COLUMNS:
                            # a unit not listed is the policy's currency (money_units)
                            fmt = formats.get(units[i - 1], formats[DEFAULT_CURRENCY])
                        ws.write_number(i, j, float(value), fmt)
                    else:
                        ws.write_string(i, j, str(value))
        book.close()
    return path


_UNIT_VALUE_COLUMNS = {
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


def _column_format(column: str, dtype: Any, formats: Mapping[str, Any]) -> Any:
    if any(
        tag in column for tag in ("_rate", "_prob", "_share", "npl_ratio", "_pct")
    ) or column in (
        "rate",
        "low",
        "high",
        "delta_pct",
    ):
        return formats["ratio"]
    if pd.api.types.is_integer_dtype(dtype):
        return formats["int"]
    if column.startswith("dti"):
        return formats["DTI"]
    if pd.api.types.is_float_dtype(dtype):
        return formats["CNY"]
    return None


# --------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:12px;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 7px}
th{background:#ddebf7;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pos{color:#1a7f37}.neg{color:#c62828}.muted{color:#666;font-size:12px}img{max-width:100%;margin:6px 0}
"""


def _html_table(frame: pd.DataFrame, units: Sequence[str] | None = None, table_id: str = "") -> str:
    head = "".join(f"<th>{html.escape(_title(str(c)))}</th>" for c in frame.columns)
    body = []
    for i, row in enumerate(frame.itertuples(index=False)):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            unit = units[i] if units is not None and column in _UNIT_VALUE_COLUMNS else None
            if column in ("delta_pct", "rate", "low", "high") or (
                unit is None and any(t in column for t in ("_rate", "_share", "npl_ratio"))
            ):
                unit = "ratio"
            if isinstance(value, bool):
                cells.append(f"<td>{'yes' if value else 'no'}</td>")
            elif isinstance(value, int | float):
                text = format_value(
                    value, unit or ("CNY" if isinstance(value, float) else "accounts")
                )
                css = ""
                if (
                    column in ("delta", "delta_pct")
                    and isinstance(value, float)
                    and not math.isnan(value)
                ):
                    css = " pos" if value > 0 else (" neg" if value < 0 else "")
                cells.append(f'<td class="num{css}">{html.escape(text)}</td>')
            else:
                cells.append(f"<td>{html.escape(str(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _img(name: str, png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" title="{html.escape(name)}" src="data:image/png;base64,{data}">'


def scenario_html(
    result: ScenarioResult,
    charts: Mapping[str, bytes],
    baseline: ScenarioResult | None = None,
    comparison: pd.DataFrame | None = None,
) -> str:
    """The self-contained HTML report (inline CSS, charts as base64 images)."""
    scenario = result.scenario
    overview = kpi_overview(result, comparison)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Workout scenario report: {html.escape(result.name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Scenario: {html.escape(result.name)}</h1>",
    ]
    if result.description:
        parts.append(f"<p>{html.escape(result.description)}</p>")
    parts.append('<p class="muted">')
    parts.append(
        html.escape(
            f"{result.paths} Monte Carlo paths × {result.horizon} months, seed {result.seed}. "
            f"Portfolio: {scenario.portfolio.describe()}."
        )
    )
    if baseline is not None:
        parts.append(html.escape(f" Baseline: {baseline.name}."))
    parts.append("</p>")
    parts.append(f'<pre class="muted">{html.escape(scenario.summary())}</pre>')
    parts.append('<ul class="muted">')
    for key, value in result.notes.items():
        parts.append(f"<li><b>{html.escape(key)}</b>: {html.escape(str(value))}</li>")
    parts.append("</ul>")
    parts.append("<h2>Key figures</h2>")
    parts.append(
        '<p class="muted">Mean over paths; the 95 % CI bounds the Monte Carlo mean, the 2.5 %/97.5 % '
        "columns bound the outcome of a single path"
        + (
            ", deltas are scenario − baseline with a paired 95 % CI"
            if comparison is not None
            else ""
        )
        + ".</p>"
    )
    parts.append(
        _html_table(
            money_units(overview, currency_of(result)),
            units=overview["unit"].tolist(),
            table_id="kpis",
        )
    )
    parts.append("<h2>Charts</h2>")
    captions = {
        "cash_collected.png": "Cash collected per month and cumulative, with 95 % bands",
        "npl_ratio.png": "NPL ratio (M3+ share of the open balance) by month",
        "kpi_deltas.png": "KPI deltas against the baseline"
        if comparison is not None
        else "Recovery rate by tier",
    }
    for name, png in charts.items():
        parts.append(_img(name, png, captions.get(name, name)))
    for segment_type, title in (
        ("tier", "By tier"),
        ("product", "By product"),
        ("dpd_bucket", "By dpd bucket"),
    ):
        table = result.segment_table(segment_type)
        keep = ["segment", *[k for k in _KEY_KPIS if k in table.columns]]
        parts.append(f"<h2>{title} (means)</h2>")
        parts.append(_segment_html(table[keep]))
    parts.append("<h2>Monthly roll rates (pooled over the horizon)</h2>")
    parts.append(_html_table(result.roll_rates, table_id="roll_rates"))
    if result.allocation:
        parts.append("<h2>Collection allocation</h2><ul>")
        for key, value in result.allocation.items():
            if key in _NOT_REPRODUCIBLE:
                continue
            parts.append(f"<li>{html.escape(str(key))}: {html.escape(str(value))}</li>")
        parts.append("</ul>")
    parts.append('<p class="muted">Generated by workout scenario run.</p></body></html>')
    return "\n".join(parts)


def _segment_html(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(_title(c))}</th>" for c in table.columns)
    rows = []
    for row in table.itertuples(index=False):
        cells = [f"<td>{html.escape(str(row[0]))}</td>"]
        for column, value in zip(table.columns[1:], row[1:], strict=True):
            cells.append(
                f'<td class="num">{html.escape(format_value(value, KPIS[column][0]))}</td>'
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


# --------------------------------------------------------------------------------------
# Writing a scenario run
# --------------------------------------------------------------------------------------


def _write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def write_scenario_report(
    result: ScenarioResult,
    out_dir: str | Path,
    *,
    baseline: ScenarioResult | None = None,
    comparison: pd.DataFrame | None = None,
) -> list[Path]:
    """Write every output of ``workout scenario run`` into ``out_dir`` (see module docstring).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    out = Path(out_dir)
    if baseline is not None and comparison is None:
        comparison = compare(result, baseline)
    # render everything first: a failure here writes nothing
    charts = render_charts(result, baseline, comparison)
    page = scenario_html(result, charts, baseline, comparison)
    currency = currency_of(result)
    files: dict[str, bytes] = {
        "kpis.csv": _csv_bytes(money_units(result.kpis, currency)),
        "monthly.csv": _csv_bytes(result.monthly),
        "roll_rates.csv": _csv_bytes(result.roll_rates),
    }
    if comparison is not None:
        files["deltas.csv"] = _csv_bytes(money_units(comparison, currency))
    files.update(charts)
    files["report.html"] = page.encode("utf-8")
    overview = kpi_overview(result, comparison)
    sheets: dict[str, Any] = {"KPIs": money_units(overview, currency)}
    if comparison is not None:
        sheets["Deltas by segment"] = money_units(comparison, currency)
    for segment_type, title in (
        ("tier", "By tier"),
        ("product", "By product"),
        ("dpd_bucket", "By dpd bucket"),
    ):
        sheets[title] = money_units(
            result.kpis[result.kpis["segment_type"] == segment_type].drop(columns=["segment_type"]),
            currency,
        )
    sheets["Monthly"] = result.monthly
    sheets["Roll rates"] = result.roll_rates
    sheets["Accounts"] = result.accounts
    notes = {
        "Scenario": result.name,
        "Description": result.description,
        "Portfolio": result.scenario.portfolio.describe(),
        "Definition": result.scenario.summary(),
        "Paths x months": f"{result.paths} x {result.horizon}",
        "Seed": str(result.seed),
        **{f"Stage: {k}": v for k, v in result.notes.items()},
        "Baseline": baseline.name if baseline is not None else "none",
        **{
            f"Allocation: {k}": str(v)
            for k, v in result.allocation.items()
            if k != "note" and k not in _NOT_REPRODUCIBLE
        },
        "Intervals": "95% CI of the mean = mean ± 1.96·sd/√paths; 2.5%/97.5% of paths = range of one path's outcome",
        **{
            f"KPI {k}": f"{currency if u == DEFAULT_CURRENCY else u}: {d}"
            for k, (u, d) in KPIS.items()
        },
    }
    written: list[Path] = []
    out.mkdir(parents=True, exist_ok=True)
    written.append(write_workbook(sheets, out / "report.xlsx", notes=notes))
    with atomic_path(out / "accounts.parquet") as tmp:
        frame = result.accounts.copy(deep=False)
        frame.attrs = {}
        frame.to_parquet(tmp, index=False, engine="pyarrow")
    written.append(out / "accounts.parquet")
    for name, data in files.items():
        _write_bytes(out / name, data)
        written.append(out / name)
    return written


# --------------------------------------------------------------------------------------
# Sweeps
# --------------------------------------------------------------------------------------


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


def write_sweep_report(sweep: Any, out_dir: str | Path) -> list[Path]:
    """Write a sweep's table (CSV, Excel), its frontier chart and an HTML page."""
    out = Path(out_dir)
    table = sweep.table
    labels = [
        ", ".join(f"{k.split('.')[-1]}={v}" for k, v in zip(sweep.keys, combo, strict=True))
        for combo in sweep.combinations
    ]
    chart = frontier_chart(table, sweep.frontier_x, sweep.frontier_y, labels, sweep.currency)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Workout sweep: {html.escape(sweep.name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Sweep: {html.escape(sweep.name)}</h1>",
        '<p class="muted">'
        + html.escape(
            f"{len(table)} runs over {', '.join(sweep.keys)}; {sweep.paths} paths each, seed {sweep.seed}. "
            f"Frontier: highest {sweep.frontier_y} for the lowest {sweep.frontier_x}."
        )
        + "</p>",
        _html_table(table, table_id="sweep"),
        _img("frontier.png", chart, "efficient frontier"),
        "</body></html>",
    ]
    files = {
        "sweep.csv": _csv_bytes(table),
        "frontier.png": chart,
        "report.html": "\n".join(parts).encode("utf-8"),
    }
    out.mkdir(parents=True, exist_ok=True)
    written = [write_workbook({"Sweep": table}, out / "sweep.xlsx", unit_column="")]
    for name, data in files.items():
        _write_bytes(out / name, data)
        written.append(out / name)
    return written
