"""``workout scenario run|sweep``: parse the options and call :mod:`solver.scenarios`.

The tables and the progress bar are in :mod:`commands.scenario_output`; ``workout experiment``
is in :mod:`commands.experiment` (imported here because ``cli.COMMANDS`` names it here).

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

from commands.engine_opts import engine_options
from commands.options import (
    JOBS,
    SEED,
    file_option,
    quiet_option,
    set_option,
    shared_help,
    stack_options,
)
from commands.output import emit, format_option
from commands.scenario_output import (
    StageProgress,
    print_kpi_table,
    print_sweep_table,
    run_payload,
    timing_text,
)
from solver.core.limits import MAX_PATHS


def _overrides(settings: tuple[str, ...]) -> dict[str, Any]:
    """``--set KEY=VALUE`` of ``scenario run`` as overrides, every problem of every
    ``--set`` (malformed, a list of values, unknown key, bad value) raised together."""
    from solver.core.problems import NOT_RUN, SET_FORM, SET_OPTION, ProblemLog
    from solver.scenarios.spec_layers import check_override, check_together, parse_assignment

    log = ProblemLog(SET_OPTION)
    out: dict[str, Any] = {}
    for text in settings:
        parsed = parse_assignment(text, log, SET_FORM)  # one value: sweep's lists are refused
        if parsed is None:
            continue
        key, values = parsed
        if len(values) != 1:
            log.setting(key, "give one value here (lists of values are for sweep)")
            continue
        check_override(key, values[0], log)  # in the order typed
        out[key] = values[0]
    check_together(out, log)  # then the rules across keys (one way of giving the portfolio)
    log.raise_if_any(outcome=NOT_RUN)
    return out


def _print_notes(scenarios: list[Any]) -> None:
    """The scenarios' loading notes (:attr:`solver.scenarios.spec.Scenario.notes`) on
    stderr, each once."""
    for note in dict.fromkeys(n for s in scenarios for n in s.notes):
        click.echo(f"note: {note}", err=True)


def _check_size(scenarios: list[Any]) -> None:
    """Refuse, before any work, a generated portfolio too big for the limit or for memory.

    A scenario's memory grows with its accounts times its horizon (path arrays of accounts
    x months); the largest ``portfolio.n`` and ``simulation.horizon_months`` among
    ``scenarios`` (the run and its baseline, or every value of a sweep) are checked.
    """
    from commands.sizes import (
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

    def progress(self, err: Any) -> StageProgress:
        """The stage progress bar on ``err`` (off with --quiet or when not a terminal)."""
        return StageProgress(enabled=not self.quiet and err.is_terminal)


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
          --set portfolio.n=500 --paths 200 --out-dir out/recession
      workout scenario sweep scenarios/baseline.toml --set portfolio.n=500 \\
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
          --set portfolio.n=500 --paths 200 --out-dir out/recession
    """
    import time

    from commands.common import console
    from solver.core.problems import SET_OPTION
    from solver.scenarios.report import write_scenario_report
    from solver.scenarios.run import run_scenario
    from solver.scenarios.same_book import check_same_book, check_same_horizon
    from solver.scenarios.scenario_result import compare
    from solver.scenarios.spec import load_scenario

    report.check_out_dir()
    started = time.perf_counter()
    cache = report.plan_cache()
    overrides = _overrides(settings)
    scen = load_scenario(file, overrides=overrides, override_source=SET_OPTION)
    base = (
        load_scenario(baseline, overrides=overrides, override_source=SET_OPTION)
        if baseline is not None
        else None
    )
    _check_size([scen] + ([base] if base is not None else []))
    _print_notes([scen] + ([base] if base is not None else []))
    if base is not None:
        check_same_horizon(scen, base)  # before any work: deltas need one horizon
        check_same_book(scen, base)  # and one book
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
        from solver.scenarios.report_tables import kpi_overview

        emit(
            fmt,
            table=kpi_overview(result, comparison),
            payload=run_payload(result, comparison, base_result, written),
        )
        return 0
    out = console(min_width=160)
    print_kpi_table(out, result, comparison, base_result)
    for key, note in result.notes.items():
        out.print(f"[dim]{key}: {note}[/]", highlight=False)
    elapsed = time.perf_counter() - started
    timing = timing_text(result, base_result)
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
      workout scenario sweep scenarios/baseline.toml --set portfolio.n=500 \\
          --set policy.max_deferral_months=0,3,6 --out-dir out/sweep
      workout scenario sweep scenarios/baseline.toml --set collection.capacity_multiplier=0.8,1,1.2 \\
          --set portfolio.n=500 --paths 100 --out-dir out/capacity
    """
    from commands.common import console
    from solver.core.problems import NOT_RUN, SET_OPTION, ProblemLog
    from solver.errors import InputError
    from solver.scenarios.report import write_sweep_report
    from solver.scenarios.spec import load_scenario
    from solver.scenarios.sweep import run_sweep, sweep_grid

    report.check_out_dir()
    fixed, assignments = sweep_grid(settings)
    scen = load_scenario(file, overrides=fixed or None, override_source=SET_OPTION)
    variants = [scen]
    log = ProblemLog(SET_OPTION)
    for key, values in assignments:  # build every value's scenario before running anything
        for value in values:
            try:
                variants.append(scen.with_overrides({key: value}, override_source=SET_OPTION))
            except InputError as exc:  # checks after merging (a file not found): each value
                log.relay(exc)
    log.raise_if_any(outcome=NOT_RUN)
    _check_size(variants)
    _print_notes([scen])
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
    print_sweep_table(out, result)
    out.print(
        f"frontier: {result.frontier_y} vs {result.frontier_x}; wrote {len(written)} files to {report.out_dir}",
        highlight=False,
    )
    return 0
