"""``workout scenario run|sweep`` and ``workout experiment split|evaluate`` (parse, call, format).

The ``solver`` modules are imported inside the functions that use them, so that ``workout
--help`` and the other commands start without loading pandas, numba and OR-Tools.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from commands.common import (
    JOBS,
    MAX_PATHS,
    SEED,
    file_option,
    quiet_option,
    seed_option,
    set_option,
    shared_help,
    stack_options,
)
from commands.engine_opts import engine_options
from commands.output import check_out, emit, format_option, out_option, write_out, wrote
from commands.tables import Column, print_fitted, stacked

_SUMMARY_KPIS = (
    "cash_collected",
    "cash_collected_discounted",
    "value_beyond_horizon",
    "total_value_discounted",
    "recovery_rate",
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


def _overrides(settings: tuple[str, ...]) -> dict[str, Any]:
    from solver.errors import InputError
    from solver.scenarios.spec import parse_assignment

    out: dict[str, Any] = {}
    for text in settings:
        key, values = parse_assignment(text)
        if len(values) != 1:
            raise InputError(f"--set {text!r}: give one value here (lists of values are for sweep)")
        out[key] = values[0]
    return out


def _check_size(scenarios: list[Any]) -> None:
    """Refuse, before any work, a generated portfolio too big for the limit or for memory.

    A scenario's memory grows with its accounts times its horizon (path arrays of accounts
    x months); the largest ``portfolio.n`` and ``simulation.horizon_months`` among
    ``scenarios`` (the run and its baseline, or every value of a sweep) are checked.
    """
    from commands.common import (
        MAX_GENERATED_ACCOUNTS,
        SCENARIO_BYTES_PER_ACCOUNT,
        SCENARIO_BYTES_PER_ACCOUNT_MONTH,
        check_count,
        check_memory,
    )

    generated = [s for s in scenarios if s.portfolio.n is not None]
    if not generated:
        return
    n = max(s.portfolio.n for s in generated)
    horizon = max(s.simulation.horizon_months for s in generated)
    check_count("portfolio.n", n, MAX_GENERATED_ACCOUNTS, "generated accounts")
    check_memory(
        "portfolio.n",
        n,
        SCENARIO_BYTES_PER_ACCOUNT + SCENARIO_BYTES_PER_ACCOUNT_MONTH * horizon,
        f"a scenario run with a {horizon}-month horizon",
    )


def _timing_text(result: Any) -> str:
    """Stage timings for the last line: a stage served from a cache says "cached", never 0.0s.

    A stage is cached when the result lists it in ``cached_stages`` (the portfolio, plan
    or allocation of this process's caches, e.g. shared with the baseline, or the plan
    stage read from ``$WORKOUT_CACHE_DIR``) or its note says it was read from the cache;
    a stage faster than 0.05 s shows "<0.1s".
    """
    cached = set(result.cached_stages)
    parts = []
    for stage, seconds in result.timings.items():
        if stage in cached or "from the cache" in str(result.notes.get(stage, "")):
            parts.append(f"{stage} cached")
        elif seconds < 0.05:
            parts.append(f"{stage} <0.1s")
        else:
            parts.append(f"{stage} {seconds:.1f}s")
    return ", ".join(parts)


class _Progress:
    """A rich progress bar on stderr fed by ``(stage, done, total)`` callbacks."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.progress: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _Progress:
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


def _print_kpi_table(out: Any, result: Any, comparison: Any, baseline: Any) -> None:
    """The KPI table (with the baseline's deltas) fitted to the console ``out``.

    On a narrow terminal the intervals wrap at " .. " and the least important columns are
    dropped (named below the table); a number is never cut.
    """
    from solver.scenarios.report import format_value

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


def _run_payload(result: Any, comparison: Any, baseline: Any, written: list[Path]) -> dict:
    """``scenario run --format json``: the KPI overview, notes and what was written."""
    from solver.scenarios.report import kpi_overview

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


def _simulation_options(paths: str, seed: str, jobs: str) -> Any:
    """``--paths``, ``--seed`` and ``--jobs`` of a command that simulates, with its help."""
    return stack_options(
        click.option("--paths", type=click.IntRange(2, MAX_PATHS), default=None, help=paths),
        click.option("--seed", type=SEED, default=None, help=shared_help("--seed", seed)),
        click.option(
            "--jobs", type=JOBS, default=1, show_default=True, help=shared_help("--jobs", jobs)
        ),
    )


@dataclass(frozen=True)
class _Report:
    """``--out-dir``, ``--no-cache`` and ``--quiet`` of a command that simulates and writes a
    report (``scenario run`` and ``sweep``), read once by :func:`_output_options`."""

    out_dir: Path
    no_cache: bool
    quiet: bool

    def check_out_dir(self) -> None:
        """Refuse an --out-dir that cannot be written, before any work."""
        from solver.core.atomic import check_writable

        check_writable(self.out_dir, option="--out-dir", directory=True)

    def plan_cache(self) -> Any:
        """The plan-stage cache directory (``None`` with --no-cache)."""
        from solver.scenarios.decisions import default_plan_cache

        return None if self.no_cache else default_plan_cache()

    def progress(self, err: Any) -> _Progress:
        """The stage progress bar on ``err`` (off with --quiet or when not a terminal)."""
        return _Progress(enabled=not self.quiet and err.is_terminal)


def _output_options(out_dir: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--out-dir``, ``--no-cache`` and ``--quiet``: the command gets them as
    ``report=_Report(...)``."""
    options = stack_options(
        click.option(
            "--out-dir",
            type=click.Path(file_okay=False, path_type=Path),
            required=True,
            help=out_dir,
        ),
        click.option(
            "--no-cache",
            is_flag=True,
            help="Do not read or write the plan-stage cache ($WORKOUT_CACHE_DIR, default "
            "~/.cache/workout).",
        ),
        quiet_option(),
    )

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, out_dir: Path, no_cache: bool, quiet: bool, **kwargs: Any) -> Any:
            return func(*args, report=_Report(out_dir, no_cache, quiet), **kwargs)

        return options(wrapper)

    return decorate


@click.group("scenario")
def scenario() -> None:
    """Run what-if scenarios (scenario TOML files) with Monte Carlo outcomes.

    \b
    Examples:
      workout scenario run scenarios/recession.toml --baseline scenarios/baseline.toml \\
          --paths 200 --out-dir out/recession
      workout scenario sweep scenarios/baseline.toml \\
          --set policy.max_deferral_months=0,3,6 --out-dir out/sweep
    """


@scenario.command("run")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@file_option("--baseline", "Scenario to compare against (deltas with paired 95 % intervals).")
@set_option(
    "KEY=VALUE",
    "Override a key of the scenario and the baseline, e.g. --set policy.max_deferral_months=3 (repeatable).",
)
@_simulation_options(
    paths=f"Monte Carlo paths, at most {MAX_PATHS:,} (default: the scenario's simulation.paths).",
    seed="Default: the scenario's simulation.seed.",
    jobs="Here: the plan stage and the simulation.",
)
@_output_options("Directory for kpis.csv, accounts.parquet, report.xlsx, charts and report.html.")
@format_option(
    "Here json is the KPI overview (with the deltas against --baseline), the notes and "
    "the files written; csv the KPI overview."
)
@engine_options
def run(
    file: Path,
    baseline: Path | None,
    paths: int | None,
    seed: int | None,
    settings: tuple[str, ...],
    jobs: int,
    report: _Report,
    fmt: str,
    engine: Any,
) -> int:
    """Run the scenario FILE and write its reports to --out-dir.

    \b
    Example:
      workout scenario run scenarios/recession.toml --baseline scenarios/baseline.toml \\
          --paths 200 --out-dir out/recession
    """
    import time

    from commands.common import console
    from solver.scenarios.kpis import compare
    from solver.scenarios.report import write_scenario_report
    from solver.scenarios.run import run_scenario
    from solver.scenarios.spec import load_scenario

    report.check_out_dir()
    started = time.perf_counter()
    cache = report.plan_cache()
    overrides = _overrides(settings)
    scen = load_scenario(file, overrides=overrides)
    base = load_scenario(baseline, overrides=overrides) if baseline is not None else None
    _check_size([scen] + ([base] if base is not None else []))
    err = console(stderr=True)
    with (
        engine.open(jobs=jobs) as runner,
        report.progress(err) as progress,
    ):
        on = runner if engine.distributed else None

        def simulate(spec: Any) -> Any:
            """One scenario with the command's paths, seed, jobs, cache and engine."""
            return run_scenario(
                spec,
                paths=paths,
                seed=seed,
                jobs=jobs,
                progress=lambda s, d, t: progress(f"{spec.name}: {s}", d, t),
                plan_cache=cache,
                engine=on,
            )

        base_result = simulate(base) if base is not None else None  # the baseline first
        result = simulate(scen)
    comparison = compare(result, base_result) if base_result is not None else None
    written = write_scenario_report(
        result, report.out_dir, baseline=base_result, comparison=comparison
    )
    if fmt != "table":
        from solver.scenarios.report import kpi_overview

        emit(
            fmt,
            table=kpi_overview(result, comparison),
            payload=_run_payload(result, comparison, base_result, written),
        )
        return 0
    out = console(min_width=160)
    _print_kpi_table(out, result, comparison, base_result)
    for key, note in result.notes.items():
        out.print(f"[dim]{key}: {note}[/]", highlight=False)
    elapsed = time.perf_counter() - started
    timing = _timing_text(result)
    out.print(
        f"wrote {len(written)} files to {report.out_dir} ({elapsed:.1f} s; {timing})",
        highlight=False,
    )
    return 0


@scenario.command("sweep")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@set_option(
    "KEY=V1,V2,...",
    "A swept key and its values, e.g. --set policy.max_deferral_months=0,3,6 (repeatable: grid).",
    required=True,
)
@_simulation_options(
    paths=f"Monte Carlo paths per run, at most {MAX_PATHS:,}.",
    seed="The same for every run (default: the scenario's simulation.seed).",
    jobs="Here: the plan stage and the simulation of each run.",
)
@click.option(
    "--frontier-x",
    default=None,
    help="Cost axis of the frontier (default: collection_cost if it varies, else capacity, else dti_mean).",
)
@click.option(
    "--frontier-y",
    default="net_total_value_discounted",
    show_default=True,
    help="Value axis of the frontier (any KPI column of the sweep table).",
)
@_output_options("Directory for the sweep table (CSV, Excel), the frontier chart and an HTML page.")
@format_option("Here json and csv are the sweep table (one row per run, every KPI).")
@engine_options
def sweep(
    file: Path,
    settings: tuple[str, ...],
    paths: int | None,
    seed: int | None,
    jobs: int,
    frontier_x: str | None,
    frontier_y: str,
    report: _Report,
    fmt: str,
    engine: Any,
) -> int:
    """Run FILE for every combination of the --set values; table and efficient frontier.

    \b
    Examples:
      workout scenario sweep scenarios/baseline.toml \\
          --set policy.max_deferral_months=0,3,6 --out-dir out/sweep
      workout scenario sweep scenarios/baseline.toml --set collection.capacity_multiplier=0.8,1,1.2 \\
          --set portfolio.n=2000 --paths 100 --out-dir out/capacity
    """
    import math

    from commands.common import MAX_SWEEP_RUNS, console
    from solver.errors import InputError
    from solver.scenarios.report import write_sweep_report
    from solver.scenarios.spec import load_scenario, parse_assignment
    from solver.scenarios.sweep import run_sweep

    report.check_out_dir()
    assignments = [parse_assignment(s) for s in settings]
    keys = [k for k, _ in assignments]
    if len(set(keys)) != len(keys):
        raise InputError("--set: each key may be swept once")
    runs = math.prod(len(values) for _, values in assignments)
    if runs > MAX_SWEEP_RUNS:
        sizes = " x ".join(f"{len(v)} ({k})" for k, v in assignments)
        raise InputError(
            f"--set: the grid has {runs:,} runs ({sizes}); at most {MAX_SWEEP_RUNS:,} per "
            "sweep: give fewer values"
        )
    scen = load_scenario(file)
    variants = [scen]
    for key, values in assignments:  # validate every value before running anything
        for value in values:
            variants.append(scen.with_overrides({key: value}))
    _check_size(variants)
    err = console(stderr=True)
    with (
        engine.open(jobs=jobs) as runner,
        report.progress(err) as progress,
    ):
        result = run_sweep(
            scen,
            assignments,
            paths=paths,
            seed=seed,
            jobs=jobs,
            frontier_x=frontier_x,
            frontier_y=frontier_y,
            progress=progress,
            plan_cache=report.plan_cache(),
            engine=runner if engine.distributed else None,
        )
    written = write_sweep_report(result, report.out_dir)
    payload = {
        "sweep": result.name,
        "keys": list(result.keys),
        "paths": result.paths,
        "seed": result.seed,
        "frontier_x": result.frontier_x,
        "frontier_y": result.frontier_y,
        "runs": result.table,
        "files": [str(p) for p in written],
    }
    if emit(fmt, table=result.table, payload=payload):
        return 0
    out = console(min_width=160)
    _print_sweep_table(out, result)
    out.print(
        f"frontier: {result.frontier_y} vs {result.frontier_x}; wrote {len(written)} files to {report.out_dir}",
        highlight=False,
    )
    return 0


#: KPIs of the sweep table on the terminal, by priority (the files have every KPI).
_SWEEP_KPIS = {
    "total_value_discounted": 1,
    "cash_collected_discounted": 5,
    "collection_cost": 3,
    "credit_loss": 4,
    "default_rate": 2,
    "npl_ratio_at_horizon": 6,
    "dti_mean": 7,
    "accounts_restructured": 8,
}


def _print_sweep_table(out: Any, result: Any) -> None:
    """The sweep table fitted to the console ``out``: the swept keys, the frontier mark and
    the KPIs by priority (long names on several lines); a number is never cut."""
    from solver.scenarios.kpis import KPIS
    from solver.scenarios.report import format_value

    columns = [Column(stacked(k), "left", 0, name=k) for k in result.keys]
    columns += [Column(stacked(k), "right", p, name=k) for k, p in _SWEEP_KPIS.items()]
    columns.append(Column("frontier", "left", 1))
    rows = []
    for _, row in result.table.iterrows():
        cells = [
            *[str(row[k]) for k in result.keys],
            *[
                (f"{row[k]:,.0f}" if KPIS[k][0] == "CNY" else format_value(row[k], KPIS[k][0]))
                for k in _SWEEP_KPIS
            ],
            "yes" if row["on_frontier"] else "",
        ]
        rows.append((cells, None))
    title = f"Sweep of {result.name}: {result.paths} paths per run, seed {result.seed}"
    print_fitted(out, title, columns, rows)


@click.group("experiment")
def experiment() -> None:
    """Champion/challenger: stratified splits and the evaluation of their outcomes.

    \b
    Examples:
      workout experiment split out/portfolio.csv --share 0.1 --out out/split.csv
      workout experiment evaluate outcomes.csv --out-dir out/experiment
    """


@experiment.command("split")
@click.argument("portfolio", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--share",
    type=float,
    default=0.1,
    show_default=True,
    help="Share of accounts in the challenger group.",
)
@seed_option("Here: the random draw within each stratum.")
@click.option(
    "--strata",
    default="tier,dpd_bucket",
    show_default=True,
    help="Comma-separated columns to stratify by ('' for none).",
)
@out_option("the assignment (account_id, group, stratum)", required=True)
@format_option("Here json is the summary by stratum; csv the assignment.")
def split(portfolio: Path, share: float, seed: int, strata: str, out: Path, fmt: str) -> int:
    """Split PORTFOLIO into champion and challenger groups, stratified and seeded.

    \b
    Examples:
      workout experiment split out/portfolio.csv --out out/split.csv
      workout experiment split out/portfolio.csv --share 0.2 --strata tier --seed 3 \\
          --out out/split.parquet
    """
    from rich.table import Table

    from commands.common import console
    from solver.core.readers import read_portfolio
    from solver.scenarios.experiment import split_portfolio

    check_out(out, inputs={"PORTFOLIO": portfolio})
    frame = read_portfolio(portfolio)
    columns = [c.strip() for c in strata.split(",") if c.strip()]
    result = split_portfolio(frame, share, seed=seed, strata=columns, source=str(portfolio))
    write_out(out, result.table, sheet_name="split")
    payload = {"portfolio": str(portfolio), "share": share, "seed": seed, "strata": columns}
    payload["summary"] = result.summary
    if emit(fmt, table=result.table, payload=payload):
        wrote(out, fmt)
        return 0
    stdout = console(min_width=120)
    table = Table(
        title=f"Champion/challenger split of {portfolio} (share {share:g}, seed {seed})",
        title_justify="left",
    )
    for column in ("stratum", "accounts", "challenger", "challenger share"):
        table.add_column(column, justify="left" if column == "stratum" else "right")
    for row in result.summary.itertuples(index=False):
        table.add_row(
            str(row.stratum),
            f"{row.accounts:,}",
            f"{row.challenger:,}",
            f"{row.challenger_share:.1%}",
        )
    n = len(result.table)
    k = int((result.table["group"] == "challenger").sum())
    table.add_row("total", f"{n:,}", f"{k:,}", f"{k / n:.1%}", style="bold")
    stdout.print(table)
    stdout.print(f"wrote {out}", highlight=False)
    return 0


@experiment.command("evaluate")
@click.argument("outcomes", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for uplift.csv, groups.csv, report.xlsx and report.html.",
)
@format_option("Here json is the uplift table with the notes; csv the uplift table.")
def evaluate(outcomes: Path, out_dir: Path, fmt: str) -> int:
    """Uplift of the challenger over the champion in OUTCOMES, with intervals and tests.

    OUTCOMES has columns account_id, group (champion/challenger), balance, collected,
    cured and optionally cost, tier, dpd_bucket, product (see solver.scenarios.experiment).

    \b
    Example:
      workout experiment evaluate outcomes.csv --out-dir out/experiment
    """
    from commands.common import console
    from solver.core.atomic import check_writable
    from solver.scenarios.experiment import evaluate_outcomes, read_outcomes, write_evaluation

    check_writable(out_dir, option="--out-dir", directory=True)
    frame = read_outcomes(outcomes)
    result = evaluate_outcomes(frame)
    written = write_evaluation(result, out_dir)
    payload = {
        "outcomes": str(outcomes),
        "uplift": result.uplift,
        "notes": list(result.notes),
        "files": [str(p) for p in written],
    }
    if emit(fmt, table=result.uplift, payload=payload):
        return 0
    stdout = console(min_width=140)
    columns = (
        Column("metric", "left", 0),
        Column("champion", "right", 4),
        Column("challenger", "right", 5),
        Column("uplift", "right", 1),
        Column("95% CI", "right", 3, wraps=True),
        Column("test", "left", 7),
        Column("p-value", "right", 2),
        Column("significant", "right", 6, short="signif-\nicant"),
    )
    rows = [
        (
            [
                row.metric,
                f"{row.champion:.4f}",
                f"{row.challenger:.4f}",
                f"{row.uplift:+.4f}",
                f"{row.ci_low:+.4f} .. {row.ci_high:+.4f}",
                row.test,
                f"{row.p_value:.4f}",
                "yes" if row.significant else "no",
            ],
            None,
        )
        for row in result.uplift.itertuples(index=False)
    ]
    print_fitted(stdout, f"Champion/challenger evaluation of {outcomes}", columns, rows)
    for note in result.notes:
        stdout.print(f"- {note}", highlight=False)
    stdout.print(f"wrote {len(written)} files to {out_dir}", highlight=False)
    return 0
