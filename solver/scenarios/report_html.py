"""The scenario report as one self-contained HTML page.

:func:`scenario_html` writes the whole report of a run -- the scenario, its stages'
notes, the key figures with intervals and deltas, the charts as base64 images, the
segment tables, roll rates and the allocation -- with inline CSS (:data:`PAGE_CSS`);
:func:`html_table` and :func:`img_tag` are the pieces the sweep and experiment pages
reuse. Values are formatted as in the terminal (:func:`~solver.scenarios.report_tables.format_value`).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence

import pandas as pd

from solver.scenarios.kpi_defs import KPIS, better_for_bank
from solver.scenarios.report_tables import (
    KEY_KPIS,
    NOT_REPRODUCIBLE,
    UNIT_VALUE_COLUMNS,
    column_title,
    currency_of,
    format_value,
    kpi_overview,
    money_units,
)
from solver.scenarios.scenario_result import ScenarioResult

__all__ = ["PAGE_CSS", "html_table", "img_tag", "scenario_html"]

PAGE_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:12px;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 7px}
th{background:#ddebf7;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pos{color:#1a7f37}.neg{color:#c62828}.muted{color:#666;font-size:12px}img{max-width:100%;margin:6px 0}
"""


def html_table(
    frame: pd.DataFrame,
    units: Sequence[str] | None = None,
    table_id: str = "",
    titles: Mapping[str, str] | None = None,
) -> str:
    """An HTML table of ``frame``; ``titles`` overrides column headers (else
    :func:`~solver.scenarios.report_tables.column_title`)."""
    head = "".join(
        f"<th>{html.escape((titles or {}).get(str(c)) or column_title(str(c)))}</th>"
        for c in frame.columns
    )
    body = []
    for i, row in enumerate(frame.itertuples(index=False)):
        cells = []
        kpi = str(row[list(frame.columns).index("kpi")]) if "kpi" in frame.columns else None
        for column, value in zip(frame.columns, row, strict=True):
            unit = units[i] if units is not None and column in UNIT_VALUE_COLUMNS else None
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
                if column in ("delta", "delta_pct") and kpi is not None:
                    # green when the change is good for the bank, not when it is positive
                    # (a higher credit loss is red), by the definition kpi_deltas.png uses
                    good = better_for_bank(kpi, float(value))
                    css = "" if good is None else (" pos" if good else " neg")
                cells.append(f'<td class="num{css}">{html.escape(text)}</td>')
            else:
                cells.append(f"<td>{html.escape(str(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def img_tag(name: str, png: bytes, alt: str) -> str:
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
        f"<style>{PAGE_CSS}</style></head><body>",
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
        html_table(
            money_units(overview, currency_of(result)),
            units=overview["unit"].tolist(),
            table_id="kpis",
        )
    )
    parts.append("<h2>Charts</h2>")
    captions = {
        "cash_collected.png": "Cash collected per month and cumulative, with 95 % bands",
        "npl_ratio.png": "NPL ratio (M3+ share of the open balance) by month; month 0 is the "
        "opening book (npl_ratio_peak is the peak of months 1..H)",
        "recovery_by_tier.png": "Recovery rate by tier",
        "kpi_deltas.png": "KPI deltas against the baseline",
    }
    for name, png in charts.items():
        parts.append(img_tag(name, png, captions.get(name, name)))
    for segment_type, title in (
        ("tier", "By tier"),
        ("product", "By product"),
        ("dpd_bucket", "By dpd bucket"),
    ):
        table = result.segment_table(segment_type)
        keep = ["segment", *[k for k in KEY_KPIS if k in table.columns]]
        parts.append(f"<h2>{title} (means)</h2>")
        parts.append(_segment_html(table[keep]))
    parts.append("<h2>Monthly roll rates (pooled over the horizon)</h2>")
    parts.append(html_table(result.roll_rates, table_id="roll_rates"))
    if result.allocation:
        parts.append("<h2>Collection allocation</h2><ul>")
        for key, value in result.allocation.items():
            if key in NOT_REPRODUCIBLE:
                continue
            parts.append(f"<li>{html.escape(str(key))}: {html.escape(str(value))}</li>")
        parts.append("</ul>")
    parts.append('<p class="muted">Generated by workout scenario run.</p></body></html>')
    return "\n".join(parts)


def _segment_html(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(column_title(c))}</th>" for c in table.columns)
    rows = []
    for row in table.itertuples(index=False):
        cells = [f"<td>{html.escape(str(row[0]))}</td>"]
        for column, value in zip(table.columns[1:], row[1:], strict=True):
            cells.append(
                f'<td class="num">{html.escape(format_value(value, KPIS[column][0]))}</td>'
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
