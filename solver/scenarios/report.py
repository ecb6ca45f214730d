"""Scenario reports: writing a run's and a sweep's files (tables, workbook, charts, HTML).

This module decides what files a run and a sweep give and writes them; the pieces are
rendered by :mod:`~solver.scenarios.report_tables` (titles, formats, the KPI overview),
:mod:`~solver.scenarios.report_charts` (PNG charts), :mod:`~solver.scenarios.workbook`
(the Excel workbook) and :mod:`~solver.scenarios.report_html` (the HTML page).
Everything is rendered in memory first (charts as PNG bytes, the HTML as text, the
workbook and the Parquet file as bytes) and only then written, each file atomically
(:mod:`solver.core.atomic`), so a failure leaves no partial file behind; the manifest
(:data:`MANIFEST`) hashes those bytes rather than reading the files back. The same result gives
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
``npl_ratio.png``             NPL ratio (M3+ share of the open balance) by month, month 0
                              (the opening book) marked
``recovery_by_tier.png``      recovery rate (incl. value beyond the horizon) by tier
``kpi_deltas.png``            KPI deltas vs the baseline with intervals (with a baseline)
``report.html``               the whole report in one file (charts embedded as base64)
============================  ==========================================================

A folder that holds an earlier run (session 23 review). A run without a baseline into the
``--out-dir`` of a run with one left that run's ``deltas.csv`` and ``kpi_deltas.png`` beside
the new files, as if they belonged to it. Decision: a run's (or sweep's) files replace the
earlier run's as a set: after writing its files, the run removes the files the earlier run
wrote and this one did not. It knows them by the folder's manifest, :data:`MANIFEST` (each
file a run wrote, with its SHA-256), and removes a file only when it is listed there and its
content is still what the tool wrote: a user's file -- even one named ``report.xlsx``, or an
earlier file the user has since edited -- is never removed (the second read of session 23:
removing by name alone could delete a portfolio called ``accounts.parquet``, or an
experiment's ``report.xlsx``). Refusing a used folder
(exit 2) was the other choice; it was not taken because re-running into the same folder is
the usual loop (change the scenario, run again, reload report.html), and a refusal would
make every user delete by hand what the tool can remove exactly.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from solver.core.atomic import atomic_open, atomic_path
from solver.domain import DEFAULT_CURRENCY
from solver.scenarios.kpi_defs import KPIS
from solver.scenarios.report_charts import frontier_chart, render_charts
from solver.scenarios.report_html import PAGE_CSS, html_table, img_tag, scenario_html
from solver.scenarios.report_tables import (
    NOT_REPRODUCIBLE,
    currency_of,
    kpi_overview,
    money_units,
)
from solver.scenarios.scenario_result import ScenarioResult, compare
from solver.scenarios.workbook import workbook_bytes

__all__ = [
    "OUTPUT_FILES",
    "write_scenario_report",
    "write_sweep_report",
]


# --------------------------------------------------------------------------------------
# Writing a scenario run
# --------------------------------------------------------------------------------------


#: Every file name ``scenario run`` and ``scenario sweep`` may write into ``--out-dir``: a
#: run removes an earlier run's it did not write (module docstring, :data:`MANIFEST`).
RUN_FILES = frozenset(
    {
        "kpis.csv",
        "deltas.csv",
        "monthly.csv",
        "roll_rates.csv",
        "accounts.parquet",
        "report.xlsx",
        "cash_collected.png",
        "npl_ratio.png",
        "recovery_by_tier.png",
        "kpi_deltas.png",
        "report.html",
    }
)
SWEEP_FILES = frozenset({"sweep.csv", "sweep.xlsx", "frontier.png", "report.html"})
OUTPUT_FILES = RUN_FILES | SWEEP_FILES


#: The folder's record of the files the last run or sweep wrote there (name -> SHA-256).
MANIFEST = ".workout-outputs.json"


def _digest(path: Path) -> str:
    """SHA-256 of a file on disk (an earlier run's file, to tell it is still what it wrote)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _remove_earlier_outputs(out: Path, written: Mapping[str, str]) -> None:
    """Remove the files the earlier run listed in ``out``'s :data:`MANIFEST` that this run did
    not write and that still hold what it wrote (module docstring), then record this run's
    (``written``: name -> SHA-256 of the bytes it wrote, hashed in memory by
    :func:`_write_files`: until session 25 each file just written was read back to hash it)."""
    kept = set(written)
    try:
        earlier = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # no manifest, or not ours: remove nothing
        earlier = {}
    if isinstance(earlier, dict):
        for name, digest in sorted(earlier.items()):
            path = out / str(name)
            if (
                name in OUTPUT_FILES
                and name not in kept
                and path.is_file()
                and not path.is_symlink()
                and _digest(path) == digest
            ):
                path.unlink()
    with atomic_open(out / MANIFEST, "w") as file:
        json.dump(dict(written), file, indent=1, sort_keys=True)


def _write_files(out: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write each rendered file into ``out`` atomically, in order, then replace the earlier
    run's set (:func:`_remove_earlier_outputs`) with the SHA-256 of the bytes written."""
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        with atomic_path(out / name) as tmp:
            tmp.write_bytes(data)
    _remove_earlier_outputs(
        out, {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    )
    return [out / name for name in files]


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The Parquet file of ``frame``, rendered in memory (without pandas' attrs metadata)."""
    frame = frame.copy(deep=False)
    frame.attrs = {}
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow")
    return buffer.getvalue()


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
    notes: dict[str, Any] = {
        "Scenario": result.name,
        "Description": result.description,
        "Portfolio": result.scenario.portfolio.describe(),
        "Definition": result.scenario.summary(),
        "Paths": result.paths,  # numbers stay numbers in the About sheet
        "Horizon months": result.horizon,
        "Seed": result.seed,
        **{f"Stage: {k}": v for k, v in result.notes.items()},
        "Baseline": baseline.name if baseline is not None else "none",
        **{
            f"Allocation: {k}": v  # the workbook writes numbers as numbers
            for k, v in result.allocation.items()
            if k != "note" and k not in NOT_REPRODUCIBLE
        },
        "Intervals": "95% CI of the mean = mean ± t·sd/√paths (Student's t, paths − 1 degrees of freedom); 2.5%/97.5% of paths = range of one path's outcome",
        **{
            f"KPI {k}": f"{currency if u == DEFAULT_CURRENCY else u}: {d}"
            for k, (u, d) in KPIS.items()
        },
    }
    # the order the files were written in before session 25: workbook, Parquet, the rest
    return _write_files(
        out,
        {
            "report.xlsx": workbook_bytes(sheets, "report", notes=notes),
            "accounts.parquet": _parquet_bytes(result.accounts),
            **files,
        },
    )


# --------------------------------------------------------------------------------------
# Sweeps
# --------------------------------------------------------------------------------------


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
        f"<title>Workout sweep: {html.escape(sweep.name)}</title><style>{PAGE_CSS}</style></head><body>",
        f"<h1>Sweep: {html.escape(sweep.name)}</h1>",
        '<p class="muted">'
        + html.escape(
            f"{len(table)} runs over {', '.join(sweep.keys)}; {sweep.paths} paths each, seed {sweep.seed}. "
            f"Frontier: highest {sweep.frontier_y} for the lowest {sweep.frontier_x}."
        )
        + "</p>",
        html_table(table, table_id="sweep"),
        img_tag("frontier.png", chart, "efficient frontier"),
        "</body></html>",
    ]
    files = {
        "sweep.csv": _csv_bytes(table),
        "frontier.png": chart,
        "report.html": "\n".join(parts).encode("utf-8"),
    }
    return _write_files(
        out, {"sweep.xlsx": workbook_bytes({"Sweep": table}, "sweep", unit_column=""), **files}
    )
