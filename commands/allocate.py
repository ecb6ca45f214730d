"""``workout allocate``: collection treatment and team allocation (parse, call, format)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import click

from commands.accounts import load_model
from commands.allocate_output import Target, allocation_output, horizon_output
from commands.common import console
from commands.engine_opts import engine_options
from commands.options import (
    TIME_LIMIT,
    FiniteFloat,
    catalogue_options,
    file_option,
    jurisdiction_option,
    quiet_option,
    seed_option,
    shared_help,
)
from commands.output import check_out, format_option, out_option
from commands.sources import book_options, input_path, out_db_options
from solver.domain import DEFAULT_TIME_LIMIT


def _optional(flag: str, dest: str, kind: Any, metavar: str, text: str) -> Any:
    """``flag METAVAR`` of type ``kind`` as ``dest``, ``None`` when not given (the modes)."""
    return click.option(flag, dest, type=kind, default=None, metavar=metavar, help=text)


@click.command("allocate")
@click.argument("portfolio", type=click.Path(path_type=Path), required=False)
@book_options("portfolio")
@catalogue_options()
@file_option(
    "--plans",
    "Output of `workout plan-portfolio` (CSV/Parquet/Excel, or its Parquet dataset "
    "directory): senior calls can offer plans, valued as the plan's uplift received within "
    "[plans] valuation_weeks of the catalogue (README, 'One currency of value').",
    dir_okay=True,
)
@file_option(
    "--replan",
    "Output of `workout replan`: broken plans' treatments follow the step (cure_window: "
    "gentle only; reage: gentle or the senior call's plan offer; escalate: legal and field "
    "allowed despite has_plan).",
    dest="replan_steps",
    dir_okay=True,
)
@file_option(
    "--history",
    "Payment history (the long format of docs/history.md): the replan steps are "
    "computed here as `workout replan` computes them (default policy scenarios/replan.toml) "
    "and steer the allocation as --replan does. Not with --replan.",
    dir_okay=True,
)
@file_option(
    "--model",
    shared_help(
        "--model",
        "Here: the cost of funds that discounts the plan offer's value, and with --weeks the "
        "hazards of default and cure (SPEC §7: `workout risk calibrate` writes one).",
    ),
    dest="model_path",
)
@click.option(
    "--budget",
    type=FiniteFloat(min=0.0),
    default=None,
    help="Cap on the total treatment cost of the period (CNY).",
)
@click.option(
    "--time-limit",
    type=TIME_LIMIT,
    default=DEFAULT_TIME_LIMIT,
    show_default=True,
    help=shared_help("--time-limit", "Here: the whole allocation."),
)
@seed_option("Here: the CP-SAT search.")
@_optional(
    "--explain-tree",
    "explain_depth",
    click.IntRange(1, 8),
    "DEPTH",
    "Fit a decision tree of at most DEPTH levels to the optimal treatments (rules a "
    "manager can read) and report its agreement with the optimum, the value it loses and "
    "whether it respects the capacities.",
)
@_optional(
    "--explain-tree-out",
    "explain_prefix",
    str,
    "PREFIX",
    "With --explain-tree: write the rules to PREFIX.txt, PREFIX.json and PREFIX.sql "
    "(an SQL CASE expression over the book's columns).",
)
@_optional(
    "--weeks",
    "weeks",
    click.IntRange(2, 12),
    "W",
    "Plan over this many weeks (periods) with capacity per week, accounts paying, "
    "ageing or defaulting as the behaviour model says; --out gets this week's treatments "
    "under that plan, and the plan's value is compared with repeating the one-week "
    "allocation on the same simulated futures. --budget is then per week.",
)
@click.option(
    "--paths",
    type=click.IntRange(2, 10_000),
    default=10,
    metavar="N",
    show_default=True,
    help="With --weeks: simulated futures for the comparison (common to both policies).",
)
@out_option("the assignment table (one row per account)", required=True)
@format_option(
    "Here json is the summary (totals, by treatment, utilisation, certificate); csv the "
    "assignment table."
)
@jurisdiction_option()
@quiet_option()
@out_db_options
@engine_options
def allocate(
    portfolio: Any,
    treatments: Path | None,
    teams: Path | None,
    plans: Path | None,
    replan_steps: Path | None,
    history: Path | None,
    model_path: Path | None,
    budget: float | None,
    explain_depth: int | None,
    explain_prefix: str | None,
    weeks: int | None,
    paths: int,
    time_limit: float,
    seed: int,
    out: Path,
    fmt: str,
    quiet: bool,
    jurisdiction: str | None,
    out_db: tuple[str, str, bool] | None,
    engine: Any,
) -> int:
    """Choose each account's treatment (and team) to maximise expected net recovery.

    Prints expected recovery, cost and net, team utilisation, counts by treatment × tier
    and the optimality certificate (objective, proven bound, gap, status, time). Exit 3
    when no allocation is feasible, 4 when the time limit passes without one. The
    utilisation table's value/min is the value of one more minute of the team's capacity
    (its price in the allocation's dual, CNY per minute): 0 when the team is not a
    bottleneck, even at 99 % use when another team can take its accounts at the same
    value; blank when no price is certified (a large book cut short by --time-limit:
    --format json's price_source says why, price_gap how close the prices are). With
    --engine dask the portfolio (a file or a Parquet dataset directory) is read and
    validated by the workers, and the per-account step of the Lagrangian dual runs on
    them; the result is the same.

    \b
    Examples:
      workout allocate out/portfolio.csv --out out/allocation.csv
      workout allocate out/portfolio.csv --plans out/plans.csv --budget 500000 \\
          --time-limit 30 --out out/allocation.parquet --format json
      workout allocate out/portfolio.csv --out out/allocation.json --format csv --quiet
      workout allocate --db sqlite:///bank.db --table accounts --out out/allocation.csv \\
          --out-db sqlite:///bank.db --out-table allocation
      workout allocate out/portfolio.csv --plans out/plans.csv --explain-tree 4 \\
          --explain-tree-out out/rules --out out/allocation.csv
      workout allocate out/portfolio.csv --plans out/plans.csv --weeks 8 \\
          --out out/week1.csv
      workout allocate out/portfolio.csv --replan out/steps.csv --out out/allocation.csv
      workout allocate out/portfolio.csv --history out/portfolio_history.csv \\
          --out out/allocation.csv
    """
    # the solver modules load here, not with this module: `workout allocate --help` starts
    # fast (cli.py)
    from solver.allocation.catalogue import Catalogue
    from solver.allocation.compliance import unserved_language_note
    from solver.allocation.plans_table import check_plans, match_plans, read_plans
    from solver.allocation.portfolio import allocate as run_allocation
    from solver.allocation.replan import check_step_sources, load_steps
    from solver.allocation.teams import Teams
    from solver.core.readers import read_portfolio
    from solver.engines.entry import read_portfolio_on
    from solver.engines.partitions import runs_on_engine

    # a bad extension or an unwritable --out fails before any work
    check_out(
        out,
        inputs={
            "PORTFOLIO": input_path(portfolio),
            "--plans": plans,
            "--replan": replan_steps,
            "--history": history,
            "--model": model_path,
            "--treatments": treatments,
            "--teams": teams,
        },
    )
    explain_paths = _check_explain(explain_depth, explain_prefix, input_path(portfolio), out)
    check_step_sources(replan_steps, history)  # the rule workout calendar applies too
    _check_modes(weeks, explain_depth, replan_steps, history)
    model = load_model(model_path)
    catalogue = Catalogue.from_toml(treatments, jurisdiction=jurisdiction)
    team_set = Teams.from_toml(teams, compliance=catalogue.compliance)
    on_disk = isinstance(portfolio, Path)
    # where the allocation's values are built: solver.engines.partitions.runs_on_engine
    distributed = runs_on_engine(portfolio, distributed=engine.distributed)
    with engine.open() as runner:
        if distributed and on_disk:  # the workers read and validate the partitions
            frame = read_portfolio_on(runner, portfolio)
        else:
            frame = read_portfolio(portfolio)
        plan_table = read_plans(plans) if plans is not None else None
        steps = load_steps(frame, replan_steps, history)
        language_note = unserved_language_note(frame, catalogue, team_set)
        if language_note is not None:
            click.echo(f"warning: {language_note}", err=True)
        # checked once here: the CheckedPlans goes to every later use (not checked again)
        checked = None if plan_table is None else check_plans(plan_table, frame, f"--plans {plans}")
        if checked is not None:
            for note in match_plans(checked, frame, f"--plans {plans}", portfolio):
                click.echo(f"warning: --plans {plans}: {note}", err=True)
        spinner = _spinner(quiet, len(frame))
        target = Target(out, out_db, fmt, quiet, catalogue.currency)
        if weeks is not None:
            from solver.allocation.horizon import plan_horizon

            with spinner:
                horizon = plan_horizon(
                    frame,
                    catalogue,
                    team_set,
                    weeks=weeks,
                    plans=checked,
                    budget=budget,
                    paths=paths,
                    seed=seed,
                    model=model,
                )
            return horizon_output(horizon, target)
        with spinner:
            result = run_allocation(
                frame,
                catalogue,
                team_set,
                plans=checked,
                budget=budget,
                time_limit=time_limit,
                seed=seed,
                engine=runner if distributed else None,
                steps=steps,
                keep_problem=explain_depth is not None,
                model=model,
            )
        explanation = _explain(frame, catalogue, team_set, result, explain_depth, checked)
    explained = (explanation, explain_prefix, explain_paths)
    return allocation_output(result, explained, target, time_limit)


def _spinner(quiet: bool, accounts: int) -> Any:
    """The 'allocating N accounts' spinner on stderr (nothing with --quiet)."""
    if quiet:
        return contextlib.nullcontext()
    return console(stderr=True).status(f"allocating {accounts:,} accounts …")


def _explain(
    frame: Any, catalogue: Any, teams: Any, result: Any, depth: int | None, plans: Any
) -> Any:
    """The --explain-tree explanation of the solved allocation, or None without it."""
    if depth is None:
        return None
    from solver.allocation.strategy import explain_result

    return explain_result(frame, catalogue, teams, result, depth, plans=plans)


def _check_modes(
    weeks: int | None, explain_depth: int | None, replan: Path | None, history: Path | None
) -> None:
    """Refuse option combinations that mean two different allocations (exit 2); --replan
    with --history: :func:`solver.allocation.replan.check_step_sources`."""
    if (replan is not None or history is not None) and (
        weeks is not None or explain_depth is not None
    ):
        option = "--replan" if replan is not None else "--history"
        raise click.UsageError(
            f"{option} steers the one-week allocation: not with --weeks or --explain-tree"
        )
    if weeks is not None and explain_depth is not None:
        raise click.UsageError("--explain-tree explains the one-week allocation: not with --weeks")


def _check_explain(
    depth: int | None, prefix: str | None, portfolio: Path | None, out: Path
) -> list[Path]:
    """The files --explain-tree-out will write, checked writable before any work (exit 2)."""
    if prefix is None:
        return []
    if depth is None:
        raise click.UsageError("--explain-tree-out needs --explain-tree DEPTH")
    from solver.allocation.strategy import export_paths
    from solver.core.atomic import check_writable

    paths = [Path(p) for p in export_paths(prefix)]
    for path in paths:
        check_writable(
            path, option="--explain-tree-out", inputs={"PORTFOLIO": portfolio, "--out": out}
        )
    return paths
