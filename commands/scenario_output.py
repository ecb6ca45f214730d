"""What ``workout scenario run|sweep`` print: the KPI and sweep tables, the timings line,
the progress bar and the JSON document of ``scenario run``.

:mod:`commands.scenario` parses the options and calls :mod:`solver.scenarios`; the results
are shown here. rich and :mod:`solver.scenarios` are imported inside the functions (start-up
time, as in :mod:`commands.scenario`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from commands.tables import Column, print_fitted, stacked

_SUMMARY_KPIS = (
    "cash_collected",
    "cash_collected_discounted",
    "value_beyond_horizon",
    "total_value_discounted",
    "recovery_rate",
    "recovery_rate_total",
    "credit_loss",
    "defaults",
    "default_rate",
    "npl_ratio_at_horizon",
    "npl_ratio_peak",
    "collection_cost",
    "net_collected_discounted",
    "dti_mean",
    "dti_p90",
    "accounts_restructured",
    "unemployed_accounts",
)


def timing_text(result: Any, baseline: Any = None) -> str:
    """Stage timings for the last line: a stage served from a cache says so, never 0.0s.

    With a ``baseline`` (run first, in the same process) its stage times come first, and the
    run's stages it computed and the run reused (``cached_stages``: portfolio, plans,
    allocation) say "shared with the baseline": their work is in the baseline's times, and
    "cached" would be wrong under ``--no-cache`` (issue riskux-3). Otherwise a stage listed in
    ``cached_stages`` (an earlier run's in this process) or whose note says it was read from
    the cache (``$WORKOUT_CACHE_DIR``) says "cached". A stage faster than 0.05 s shows "<0.1s".
    """
    if baseline is None:
        return ", ".join(_stage_parts(result, ()))
    computed = [s for s in baseline.timings if not _from_cache(baseline, s)]
    shared = [s for s in result.timings if s in computed and s in set(result.cached_stages)]
    parts = _stage_parts(result, shared)
    if shared:
        parts.insert(0, f"{', '.join(shared)} shared with the baseline")
    label = "baseline" if baseline.name == "baseline" else f"baseline {baseline.name}"
    base_parts = ", ".join(_stage_parts(baseline, ()))
    return f"{label}: {base_parts}; {result.name}: {', '.join(parts)}"


def _from_cache(result: Any, stage: str) -> bool:
    """Whether ``result``'s ``stage`` was served from a cache (this process's or the disk's)."""
    return stage in set(result.cached_stages) or "from the cache" in str(
        result.notes.get(stage, "")
    )


def _stage_parts(result: Any, skip: Any) -> list[str]:
    """``stage time`` (or ``stage cached``) for each stage of ``result`` not in ``skip``."""
    parts = []
    for stage, seconds in result.timings.items():
        if stage in skip:
            continue
        if _from_cache(result, stage):
            parts.append(f"{stage} cached")
        elif seconds < 0.05:
            parts.append(f"{stage} <0.1s")
        else:
            parts.append(f"{stage} {seconds:.1f}s")
    return parts


class StageProgress:
    """A rich progress bar on stderr fed by ``(stage, done, total)`` callbacks."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.progress: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> StageProgress:
        if self.enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            from commands.common import console

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
                TimeElapsedColumn(),
                console=console(stderr=True),
                transient=True,
            )
            self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.progress is None:
            return
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)


def print_kpi_table(out: Any, result: Any, comparison: Any, baseline: Any) -> None:
    """The KPI table (with the baseline's deltas) fitted to the console ``out``.

    On a narrow terminal the intervals wrap at " .. " and the least important columns are
    dropped (named below the table); a number is never cut.
    """
    from solver.scenarios.report_tables import format_value

    def fmt(value: float, unit: str) -> str:
        # whole CNY in the terminal; the files keep the cents
        return f"{value:,.0f}" if unit == "CNY" and value == value else format_value(value, unit)

    title = f"Scenario {result.name}: {result.paths} paths x {result.horizon} months, seed {result.seed}"
    columns = [
        Column("KPI", "left", 0),
        Column("mean", "right", 1),
        Column("95% CI of mean", "right", 5, wraps=True),
    ]
    if comparison is not None:
        columns += [
            Column(f"baseline: {baseline.name}", "right", 3, short="baseline"),
            Column("delta", "right", 2),
            Column("delta %", "right", 4),
            Column("95% CI of delta", "right", 6, wraps=True),
        ]
        deltas = comparison[comparison["segment_type"] == "total"].set_index("kpi")
    rows = []
    total = result.total()
    for kpi in _SUMMARY_KPIS:
        if kpi not in total.index:
            continue
        row = total.loc[kpi]
        unit = row["unit"]
        cells = [
            kpi,
            fmt(row["mean"], unit),
            f"{fmt(row['ci_low'], unit)} .. {fmt(row['ci_high'], unit)}",
        ]
        if comparison is not None:
            if kpi in deltas.index:
                d = deltas.loc[kpi]
                colour = "green" if d["delta"] > 0 else ("red" if d["delta"] < 0 else "")
                delta = fmt(d["delta"], unit)
                pct = d["delta_pct"]
                cells += [
                    fmt(d["baseline"], unit),
                    f"[{colour}]{delta}[/]" if colour else delta,
                    "–" if pct != pct else f"{100 * pct:+.2f}%",
                    f"{fmt(d['delta_ci_low'], unit)} .. {fmt(d['delta_ci_high'], unit)}",
                ]
            else:
                cells += ["–", "–", "–", "–"]
        rows.append((cells, None))
    print_fitted(out, title, columns, rows)


def run_payload(result: Any, comparison: Any, baseline: Any, written: list[Path]) -> dict:
    """``scenario run --format json``: the KPI overview, notes and what was written."""
    from solver.scenarios.report_tables import kpi_overview

    return {
        "scenario": result.name,
        "baseline": baseline.name if baseline is not None else None,
        "paths": result.paths,
        "horizon_months": result.horizon,
        "seed": result.seed,
        "kpis": kpi_overview(result, comparison),
        "notes": dict(result.notes),
        "timings": {k: round(v, 3) for k, v in result.timings.items()},
        "cached_stages": list(result.cached_stages),
        "files": [str(p) for p in written],
    }


#: KPIs of the sweep table on the terminal, by priority (the files have every KPI).
SWEEP_KPIS = {
    "total_value_discounted": 1,
    "cash_collected_discounted": 5,
    "collection_cost": 3,
    "credit_loss": 4,
    "default_rate": 2,
    "npl_ratio_at_horizon": 6,
    "dti_mean": 7,
    "accounts_restructured": 8,
}


def print_sweep_table(out: Any, result: Any) -> None:
    """The sweep table fitted to the console ``out``: the swept keys, the frontier mark and
    the KPIs by priority (long names on several lines); a number is never cut."""
    from solver.scenarios.kpi_defs import KPIS
    from solver.scenarios.report_tables import format_value

    columns = [Column(stacked(k), "left", 0, name=k) for k in result.keys]
    columns += [Column(stacked(k), "right", p, name=k) for k, p in SWEEP_KPIS.items()]
    columns.append(Column("frontier", "left", 1))
    rows = []
    for _, row in result.table.iterrows():
        cells = [
            *[str(row[k]) for k in result.keys],
            *[
                (f"{row[k]:,.0f}" if KPIS[k][0] == "CNY" else format_value(row[k], KPIS[k][0]))
                for k in SWEEP_KPIS
            ],
            "yes" if row["on_frontier"] else "",
        ]
        rows.append((cells, None))
    title = f"Sweep of {result.name}: {result.paths} paths per run, seed {result.seed}"
    print_fitted(out, title, columns, rows)
