"""``workout allocate``: collection treatment and team allocation (parse, call, format)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, NamedTuple

import click

from commands.accounts import load_model
from commands.common import (
    TIME_LIMIT,
    FiniteFloat,
    catalogue_options,
    console,
    file_option,
    jurisdiction_option,
    quiet_option,
    seed_option,
    shared_help,
)
from commands.engine_opts import engine_options
from commands.output import check_out, emit, format_option, out_option, wrote
from commands.sources import book_options, input_path, out_db_options, write_table_outputs
from commands.tables import Column, print_fitted
from solver.domain import DEFAULT_TIME_LIMIT, TIERS

#: ``--time-limit``'s default (seconds), which the note on a too short limit suggests.


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
    from solver.allocation.portfolio import allocate as run_allocation
    from solver.allocation.teams import Teams
    from solver.allocation.values import check_plans, match_plans, read_plans
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
        steps = _replan_steps(replan_steps, history, frame)
        language_note = unserved_language_note(frame, catalogue, team_set)
        if language_note is not None:
            click.echo(f"warning: {language_note}", err=True)
        # checked once here: the CheckedPlans goes to every later use (not checked again)
        checked = None if plan_table is None else check_plans(plan_table, frame, f"--plans {plans}")
        if checked is not None:
            for note in match_plans(checked, frame, f"--plans {plans}", portfolio):
                click.echo(f"warning: --plans {plans}: {note}", err=True)
        spinner = _spinner(quiet, len(frame))
        target = _Target(out, out_db, fmt, quiet, catalogue.currency)
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
            return _horizon_output(horizon, target)
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
    return _allocation_output(result, explained, target, time_limit)


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
    """Refuse option combinations that mean two different allocations (exit 2)."""
    if replan is not None and history is not None:
        raise click.UsageError(
            "--replan gives the steps, --history computes them: give one, not both"
        )
    if (replan is not None or history is not None) and (
        weeks is not None or explain_depth is not None
    ):
        option = "--replan" if replan is not None else "--history"
        raise click.UsageError(
            f"{option} steers the one-week allocation: not with --weeks or --explain-tree"
        )
    if weeks is not None and explain_depth is not None:
        raise click.UsageError("--explain-tree explains the one-week allocation: not with --weeks")


def _replan_steps(path: Path | None, history: Path | None, frame: Any) -> Any:
    """The replan steps by account (``--replan`` / ``--history``), or None: the one reader
    `workout calendar` uses too (:func:`solver.allocation.replan.load_steps`)."""
    if path is None and history is None:
        return None
    from solver.allocation.replan import load_steps

    return load_steps(frame, path, history, f"--history {history}")


class _Target(NamedTuple):
    """Where and how the command's answer goes (--out, --out-db, --format, --quiet) and the
    currency its tables print."""

    out: Path
    out_db: tuple[str, str, bool] | None
    fmt: str
    quiet: bool
    currency: str

    def write(self, table: Any, sheet: str) -> None:
        """Write the assignment table to --out-db and --out, and say where it went in the
        database (:func:`commands.sources.write_table_outputs`)."""
        write_table_outputs(self.out, self.out_db, table, sheet_name=sheet, quiet=self.quiet)


def _allocation_output(
    result: Any, explained: tuple[Any, str | None, list[Path]], target: _Target, time_limit: float
) -> int:
    """Write the one-week allocation (file, table, the tree's rules); print its tables.
    ``explained``: the --explain-tree result (or None), its --explain-tree-out prefix and
    files; ``time_limit``: the --time-limit that a note on a cut search is judged by."""
    explanation, explain_prefix, explain_paths = explained
    out, fmt, quiet = target.out, target.fmt, target.quiet
    target.write(result.assignments, "allocation")
    if explanation is not None and explain_prefix is not None:
        from solver.allocation.strategy import write_exports

        write_exports(explanation, explain_prefix)
    payload = result.to_dict()
    if explanation is not None:
        payload["explain_tree"] = explanation.fidelity()
    if emit(fmt, table=result.assignments, payload=payload):
        wrote(out, fmt, quiet=quiet)
        for path in explain_paths:
            wrote(path, fmt, quiet=quiet)
        return 0
    con = console(min_width=120)
    _print_tables(result, out, target.currency, con, time_limit)
    if explanation is not None:
        _print_explanation(explanation, target.currency, con)
        for path in explain_paths:
            wrote(path, fmt, con)
    return 0


def _horizon_output(horizon: Any, target: _Target) -> int:
    """Write this week's treatments under the multi-week plan; print the comparison."""
    out, fmt, quiet, currency = target.out, target.fmt, target.quiet, target.currency
    target.write(horizon.assignments, "week1")
    if emit(fmt, table=horizon.assignments, payload=horizon.to_dict()):
        wrote(out, fmt, quiet=quiet)
        return 0
    con = console(min_width=120)
    c = horizon.comparison
    con.print(
        f"[bold]Plan over {horizon.weeks} weeks[/]: this week's treatments of "
        f"{len(horizon.assignments):,} accounts written to {out}\n"
        f"expected discounted cash within the horizon ({int(c['paths'])} simulated futures, "
        f"± one standard error):\n"
        f"  multi-week plan          {c['multi_week']:>16,.2f} ± {c['multi_week_se']:,.2f} "
        f"{currency}\n"
        f"  one-week, repeated       {c['one_week']:>16,.2f} ± {c['one_week_se']:,.2f}\n"
        f"  difference               {c['difference']:>16,.2f} ± {c['difference_se']:,.2f} "
        f"({c['relative']:+.2%})\n"
        f"  bound (any policy)       {horizon.bound:>16,.2f}  (on the expected value; the "
        "estimates above carry sampling error)",
        highlight=False,
    )
    names = [col for col in horizon.by_week.columns if col != "week"]
    columns = (
        Column("week", "right", 0),
        *(Column(t, "right", 1 + i) for i, t in enumerate(names)),
    )
    rows = [
        ([str(int(r["week"])), *(f"{r[t]:,.1f}" for t in names)], None)
        for r in horizon.by_week.to_dict(orient="records")
    ]
    print_fitted(con, "Expected accounts per treatment and week (multi-week plan)", columns, rows)
    return 0


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


def _print_explanation(explanation: Any, currency: str, con: Any) -> None:
    """The tree's rules and its fidelity to the optimum."""
    f = explanation.fidelity()
    con.print(f"[bold]Rules[/] (decision tree, depth {f['depth']}, {f['leaves']} leaves)")
    con.print(explanation.to_text(), end="", highlight=False, markup=False)
    forbidden = f["forbidden_replaced_by_none"]
    capacity = (
        "respects every capacity"
        if f["respects_capacity"]
        else "OVERRUNS " + ", ".join(f"{k} by {v:,.2f}" for k, v in f["overruns"].items())
    )
    con.print(
        f"[bold]Fidelity[/]: {f['agreement']:.1%} of accounts get the optimal treatment; value "
        f"{f['tree_value']:,.2f} {currency} vs optimum {f['optimum_value']:,.2f} (lost "
        f"{f['value_lost']:,.2f}, {f['value_share']:.1%} kept); "
        f"{sum(forbidden.values()):,} forbidden treatments given none"
        + (f" ({', '.join(f'{k} {v:,}' for k, v in forbidden.items())})" if forbidden else "")
        + f"; the tree's assignment {capacity}",
        highlight=False,
    )


#: Columns of the "By treatment" table, by priority (0 kept first on a narrow terminal).
_BY_TREATMENT = (
    Column("treatment", "left", 0),
    Column("accounts", "right", 1),
    *(Column(tier, "right", 5) for tier in TIERS),
    Column("expected_collected", "right", 3, short="expected\ncollected"),
    Column("cost", "right", 4),
    Column("net", "right", 2),
)
#: Columns of the "Team utilisation" table.
_UTILISATION = (
    Column("team", "left", 0),
    Column("type", "left", 3),
    Column("capacity min", "right", 4, short="capacity\nmin"),
    Column("used min", "right", 2, short="used\nmin"),
    Column("use", "right", 1),
    Column("accounts", "right", 5),
    Column("value/min", "right", 6, short="value\n/min"),
)


def _print_tables(
    result: Any, out: Path, currency: str, con: Any, time_limit: float = DEFAULT_TIME_LIMIT
) -> None:
    """The summary tables on the console ``con``, fitted to its width (numbers whole), and
    a note when the wall clock cut the search (:func:`_clock_stop_note`, by the run's
    ``time_limit``)."""
    t = result.totals
    con.print(
        f"[bold]Allocation[/] of {int(t['accounts']):,} accounts written to {out}\n"
        f"expected collected {t['expected_collected']:,.2f} {currency}, cost {t['cost']:,.2f}, "
        f"net {t['net']:,.2f} (uplift vs no action {t['uplift_vs_none']:,.2f})"
        + (f", budget {t['budget']:,.2f}" if t.get("budget") is not None else ""),
        highlight=False,
    )
    rows = [
        (
            [
                row["treatment"],
                f"{row['accounts']:,}",
                *(f"{row[x]:,}" for x in TIERS),
                f"{row['expected_collected']:,.2f}",
                f"{row['cost']:,.2f}",
                f"{row['net']:,.2f}",
            ],
            None,
        )
        for row in result.by_treatment.to_dict(orient="records")
    ]
    print_fitted(con, "By treatment (accounts by tier)", _BY_TREATMENT, rows)
    rows = []
    for row in result.utilisation.to_dict(orient="records"):
        price = row["shadow_price_per_minute"]
        cells = [
            row["team"],
            row["type"],
            f"{row['capacity_minutes']:,.0f}",
            f"{row['used_minutes']:,.0f}",
            f"{row['utilisation']:.1%}",
            f"{row['accounts']:,}",
            "" if price != price else f"{price:,.2f}",
        ]
        rows.append((cells, None))
    print_fitted(con, "Team utilisation", _UTILISATION, rows)
    con.print(
        f"[bold]Certificate[/]: objective {result.objective:,.2f}, bound {result.bound:,.2f}, "
        f"gap {result.gap:.4%}, status {result.status.name}, time {result.runtime:.2f} s "
        f"({result.method})",
        highlight=False,
    )
    stopped = result.stats.get("wall_clock_stop")
    if stopped:
        note = _clock_stop_note(stopped, result.stats, time_limit, int(t["accounts"]))
        con.print(f"[yellow]note[/]: {note}", highlight=False)


def _clock_stop_note(stopped: str, stats: Any, time_limit: float, accounts: int) -> str:
    """What a search the wall clock cut short means, and what to do: a longer
    ``--time-limit`` when the limit itself is the cause, a quieter machine when the load is
    (the rule: :func:`solver.allocation.portfolio.clock_stop_cause`)."""
    from solver.allocation.portfolio import clock_stop_cause

    head = f"the wall clock stopped the search ({stopped}) before its work budget"
    why, share = clock_stop_cause(stats, time_limit, accounts)
    if why:
        return (
            f"{head}: the time limit of {time_limit:g} s is too short for this book ({why}). "
            "The certificate holds, but the search did not do its work: rerun with a longer "
            f"--time-limit (the default is {DEFAULT_TIME_LIMIT:g} s; a run proven optimal "
            "returns earlier)."
        )
    load = f" (the search had {share:.0%} of a core)" if share is not None else ""
    return (
        f"{head}; the certificate holds, but a rerun may return another allocation. The work "
        "budgets assume a core to themselves (they grow with --time-limit, so a longer limit "
        f"does not help): rerun on a less loaded machine for a reproducible result{load}."
    )
