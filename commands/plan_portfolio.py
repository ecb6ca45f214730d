"""``workout plan-portfolio``: the recommended plan for every account of a book.

Business logic lives in :mod:`solver.plans.portfolio` (and, on an engine, in
:mod:`solver.plans.workloads`); this module parses options and calls them; the plans
written and the summary by tier and product are :mod:`commands.plan_portfolio_output`'s. The solver is imported inside the command:
``workout --help`` must not load numba, pandas or the plan search at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from commands.accounts import forecast_option, load_model, load_policy, policy_model_options
from commands.engine_opts import (
    DATASET_OUT_HELP,
    DatasetOrFile,
    check_dataset_output,
    engine_options,
    is_dataset_output,
)
from commands.options import JOBS, SHARED_HELP, quiet_option, set_option
from commands.output import (
    as_of_option,
    check_out,
    format_option,
    out_help,
    out_option,
    write_out,
)
from commands.sources import book_options, input_path, out_db_options, write_table_outputs

if TYPE_CHECKING:
    from solver.engines.dataset import CheckedDatasetOut


@click.command("plan-portfolio")
@click.argument("portfolio", type=click.Path(path_type=Path), required=False)
@book_options("portfolio")
@click.option(
    "--out",
    "out_path",
    type=DatasetOrFile(path_type=Path),
    default=None,
    help=out_help(
        "the plans (one row per account)",
        DATASET_OUT_HELP + " An .xlsx file also holds the schedules (sheet schedules) when they"
        " have at most 200,000 rows (about 5,000 accounts); --schedules writes any number."
        " Required, except with --format csv, which prints the plans on stdout.",
    ),
)
@out_option(
    "the month-by-month schedule each account follows (the recommended plan, else the"
    " contract) as one long table: account_id, family, month, due_date, payment, interest,"
    " principal, fees, balance",
    "Not with --engine/--partitions or a dataset --out.",
    dest="schedules_path",
    flag="--schedules",
)
@as_of_option()
@policy_model_options(
    "Policy TOML (default: scenarios/policy.toml values).", SHARED_HELP["--model"]
)
@click.option(
    "--jobs",
    type=JOBS,
    default=1,
    show_default=True,
    help=SHARED_HELP["--jobs"],
)
@set_option("policy.KEY=VALUE", "Override a policy key; repeatable.")
@click.option(
    "--thorough",
    is_flag=True,
    help="As plan --thorough: custom over every amount, certified against a bound over every"
    " schedule (about 75 ms CPU per account instead of about 1.5 ms, after the first run: a"
    " first run compiles the plan engine's kernels, about a minute).",
)
@quiet_option()
@format_option(
    "Here json is the summary by tier and product (with the certificate count); csv the "
    "plans (not with a dataset --out)."
)
@forecast_option(
    "Accounts not in the portfolio are errors. A Parquet dataset is then read whole by "
    "the client (validated by the workers) before planning."
)
@out_db_options
@engine_options
def plan_portfolio(
    portfolio: Any,
    out_path: Path | None,
    schedules_path: Path | None,
    as_of: Any,
    policy_path: Path | None,
    model_path: Path | None,
    jobs: int,
    settings: tuple[str, ...],
    thorough: bool,
    quiet: bool,
    fmt: str,
    forecast_path: Any,
    out_db: tuple[str, str, bool] | None,
    engine: Any,
) -> int:
    """Recommended restructuring plan for every account of a portfolio.

    One row per account (status, family, parameters, first/max payment, term, NPV,
    uplift vs status quo and vs the waterfall, PD 12m, APR, explanation); a bad account
    gets status ERROR and the run goes on. Prints a summary by tier and product.
    Schedules to the cent, dated from --as-of: an .xlsx --out's sheet or --schedules FILE.
    PORTFOLIO may be a Parquet dataset directory; with --engine dask (or --partitions)
    its partitions are planned on the workers, and an --out directory is written by them.

    \b
    Examples:
      workout plan-portfolio out/portfolio.csv --out out/plans.csv --jobs 2
      workout plan-portfolio out/portfolio.csv --out out/plans.parquet \\
          --schedules out/schedules.parquet --as-of 2026-12-01
      workout plan-portfolio out/portfolio.csv --out out/plans.parquet \\
          --set policy.max_dti=0.6 --engine dask --workers 2
      workout plan-portfolio out/portfolio.csv --out out/plans.json --quiet --format json
      workout plan-portfolio --db sqlite:///bank.db --table accounts --out out/plans.csv \\
          --out-db sqlite:///bank.db --out-table plans --replace
    """
    import time

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from commands.common import console
    from commands.plan_output import announce_kernels
    from commands.plan_portfolio_output import is_xlsx, print_plan_summary, written_plans
    from solver.core.readers import read_portfolio
    from solver.engines.partitions import runs_on_engine
    from solver.errors import InputError
    from solver.plans.portfolio import plan_portfolio as run
    from solver.plans.search_types import SearchParams

    inputs = {
        "PORTFOLIO": input_path(portfolio),
        "--policy": policy_path,
        "--model": model_path,
        "--forecast": input_path(forecast_path),
    }
    if out_path is None:
        # decision (session 24): --format csv prints the plans themselves, as every command's
        # --format csv prints its main table, so --out is optional there; the readable summary
        # and the JSON summary are about plans written somewhere, and without --out they
        # would be planned and lost
        if fmt != "csv":
            raise InputError(
                "--out FILE is required: where the plans go (or --format csv, which prints "
                "them on stdout)"
            )
    dataset_out = out_path is not None and is_dataset_output(out_path)
    # the dataset --out once checked: handed to the engine, which does not check it again
    checked_out: CheckedDatasetOut | None = None
    if not dataset_out:
        check_out(out_path, inputs=inputs)  # fail fast on a bad --out
        check_out(schedules_path, option="--schedules", inputs=inputs, outputs={"--out": out_path})
    else:
        if fmt == "csv":
            raise InputError(
                f"--format csv prints the plans, and --out {out_path} is a dataset directory "
                "written in parts by the workers: give a file (--out plans.csv) or use "
                "--format json"
            )
        checked_out = check_dataset_output(out_path, inputs=inputs)
    policy, _ = load_policy(policy_path, settings, account_fields=False)
    model = load_model(model_path)
    search = SearchParams.thorough() if thorough else None
    announce_kernels(quiet)  # before the clock: a first run compiles the kernels
    started = time.perf_counter()
    # where the plans run: solver.engines.partitions.runs_on_engine gives the reasons
    if runs_on_engine(portfolio, distributed=engine.distributed, dataset_out=dataset_out):
        _refuse_on_engine(schedules_path, out_db)
        n, summary, table = _plan_on_engine(
            portfolio,
            out_path,
            policy,
            model,
            engine,
            jobs,
            checked_out,
            forecast_path,
            quiet=quiet,
            search=search,
        )
        elapsed = time.perf_counter() - started
        return print_plan_summary(summary, n, elapsed, out_path, fmt, table, quiet, search)
    frame = read_portfolio(portfolio, forecast=forecast_path)
    err = console(stderr=True)
    with Progress(
        TextColumn("planning"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task("plan", total=len(frame))
        plans = run(
            frame,
            policy,
            model,
            jobs=jobs,
            search=search,
            progress=lambda k: bar.advance(task, k),
            # the workers carry the schedules' cent rows only for a run that writes them
            schedules=schedules_path is not None or is_xlsx(out_path),
        )
    elapsed = time.perf_counter() - started
    table, sheets = written_plans(plans, policy.currency, as_of, out_path, schedules_path)
    write_table_outputs(out_path, out_db, table, sheet_name="plans", quiet=quiet, sheets=sheets)
    summary = plans.summary()
    return print_plan_summary(summary, len(frame), elapsed, out_path, fmt, table, quiet, search)


def _refuse_on_engine(schedules_path: Path | None, out_db: Any) -> None:
    """Outputs only an in-process run writes: the schedules and the database table."""
    from solver.errors import InputError

    if schedules_path is not None:
        raise InputError(
            f"--schedules {schedules_path}: the schedules are written by an in-process run"
            " only; plan without --engine/--partitions and give a file --out"
        )
    if out_db is not None:
        raise InputError(
            "--out-db: plans planned on an engine or written as a dataset are not written "
            "to a database; plan without --engine/--partitions and give a file --out"
        )


def _plan_on_engine(
    portfolio: Any,
    out_path: Path | None,
    policy: Any,
    model: Any,
    engine: Any,
    jobs: int,
    dataset_out: CheckedDatasetOut | None,
    forecast_path: Any = None,
    *,
    quiet: bool = False,
    search: Any = None,
) -> tuple[int, Any, Any]:
    """plan-portfolio through an engine: every partition planned on the workers.

    ``dataset_out``: the dataset ``--out`` as :func:`check_dataset_output` returned it (the
    workers write it; the engine does not check it again), ``None`` for a file ``--out``.
    With a forecast table, a dataset is first read whole (validated by the workers)
    because an account of the table missing from the whole book is an error.
    """
    from commands.engine_opts import progress_bar
    from commands.plan_portfolio_output import plan_partition_table
    from solver.core.forecast import with_forecast
    from solver.core.readers import read_portfolio
    from solver.engines.entry import read_portfolio_on
    from solver.engines.partitions import is_dataset, prepare_portfolio
    from solver.plans.portfolio import portfolio_summary
    from solver.plans.workloads import sum_summaries

    dataset = isinstance(portfolio, Path) and is_dataset(portfolio)
    source: Any = portfolio if dataset else read_portfolio(portfolio, forecast=forecast_path)
    with engine.open(jobs=jobs) as runner, progress_bar("planning", not quiet) as bar:
        if forecast_path is not None and dataset:
            source = with_forecast(
                lambda: read_portfolio_on(runner, portfolio), forecast_path, book=str(portfolio)
            )
        result = runner.map_partitions(
            plan_partition_table,
            source,
            policy,
            model,
            search,
            out=dataset_out,
            prepare=prepare_portfolio,
            unique="account_id",
            summary=portfolio_summary if dataset_out is not None else None,
            progress=bar,
        )
    if dataset_out is not None:
        return result.rows, sum_summaries(result.summaries, ["by", "segment"]), None
    if out_path is not None:  # None: --format csv prints the plans
        write_out(out_path, result.frame, sheet_name="plans")
    return result.rows, portfolio_summary(result.frame), result.frame
