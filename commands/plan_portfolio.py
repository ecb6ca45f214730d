"""``workout plan-portfolio``: the recommended plan for every account of a book.

Business logic lives in :mod:`solver.plans.portfolio` (and, on an engine, in
:mod:`solver.plans.workloads`); this module parses options, calls them, writes the plans
and prints the summary by tier and product. The solver is imported inside the command:
``workout --help`` must not load numba, pandas or the plan search at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from commands.accounts import forecast_option, load_model, load_policy, policy_model_options
from commands.common import JOBS, SHARED_HELP, quiet_option, set_option
from commands.engine_opts import (
    DATASET_OUT_HELP,
    DatasetOrFile,
    check_dataset_output,
    engine_options,
    is_dataset_output,
)
from commands.output import (
    as_of_option,
    check_out,
    emit,
    format_option,
    out_help,
    out_option,
    write_out,
    wrote,
)
from commands.sources import book_options, input_path, out_db_options, write_table_outputs
from commands.tables import Column

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
        return _print_plan_summary(summary, n, elapsed, out_path, fmt, table, quiet, search)
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
            schedules=schedules_path is not None or _is_xlsx(out_path),
        )
    elapsed = time.perf_counter() - started
    table, sheets = _written(plans, policy.currency, as_of, out_path, schedules_path)
    write_table_outputs(out_path, out_db, table, sheet_name="plans", quiet=quiet, sheets=sheets)
    summary = plans.summary()
    return _print_plan_summary(summary, len(frame), elapsed, out_path, fmt, table, quiet, search)


#: Rows of an Excel sheet below its header: a longer schedules table is split.
EXCEL_ROWS = 1_048_575
#: Most schedule rows an .xlsx ``--out`` holds. Decision (session 17): the Excel writer
#: goes cell by cell, about 36 s of CPU for the 801,110 rows of a 20,000-account book
#: against 2.8 s for its plans sheet; 200,000 rows (about 5,000 accounts) cost about 9 s.
#: A larger book's workbook leaves the sheet out and says so; ``--schedules FILE.parquet``
#: writes every row in well under a second.
XLSX_SCHEDULE_ROWS = 200_000


def _is_xlsx(out_path: Path | None) -> bool:
    """Whether ``--out`` is a workbook (which holds the schedules too, up to a size)."""
    return out_path is not None and out_path.suffix.lower() == ".xlsx"


def _written(
    plans: Any, currency: str, as_of: Any, out_path: Path | None, schedules_path: Any
) -> tuple[Any, dict[str, Any] | None]:
    """The plans table as written (with the ``payments`` text after ``levels``) and, for an
    .xlsx ``--out``, its sheets; writes the ``--schedules`` file (the followed schedules
    as the plan search built them: :func:`solver.plans.followed.schedules_table`)."""
    from commands.output import as_of_date, write_out
    from commands.plan_output import plans_table
    from solver.plans.followed import schedules_table

    table = plans_table(plans, currency)
    excel = _is_xlsx(out_path)
    if not excel and schedules_path is None:
        return table, None
    schedules = schedules_table(plans, as_of_date(as_of))
    if schedules_path is not None:
        write_out(
            schedules_path, schedules, sheet_name="schedules", sheets=_excel_sheets(schedules)
        )
        # on stderr, as the workbook's notes: stdout may be the plans (--format csv/json)
        click.echo(f"wrote {schedules_path} ({len(schedules):,} schedule rows)", err=True)
    if not excel:
        return table, None
    assert out_path is not None  # an .xlsx --out (for mypy: _is_xlsx checked it)
    sheets = {"plans": table}
    if len(schedules) > XLSX_SCHEDULE_ROWS:
        click.echo(
            f"note: the schedules ({len(schedules):,} rows) are not in {out_path.name}: more"
            f" than {XLSX_SCHEDULE_ROWS:,} rows make the workbook slow to write and open;"
            " --schedules FILE.parquet (or .csv, .xlsx) writes them",
            err=True,
        )
    else:
        sheets.update(_excel_sheets(schedules))
    return table, sheets  # the workbook writer adds the columns sheet


def _excel_sheets(schedules: Any) -> dict[str, Any]:
    """The schedules as workbook sheets: ``schedules``, then ``schedules 2``, ... beyond
    Excel's rows per sheet (a larger sheet would lose rows silently)."""
    return {
        "schedules" if k == 0 else f"schedules {k + 1}": schedules.iloc[first : first + EXCEL_ROWS]
        for k, first in enumerate(range(0, max(len(schedules), 1), EXCEL_ROWS))
    }


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
    from commands.plan_output import plan_partition_table
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


#: The summary table's counts of accounts by outcome (the summary's keys:
#: :func:`solver.plans.portfolio.portfolio_summary`); ``contract_affordable`` only where the
#: need test kept a contract.
SUMMARY_COUNTS = (
    "restructured",
    "infeasible",
    "npv_test_failed",
    "contract_affordable",
    "errors",
)

#: Columns of plan-portfolio's summary in display order (:mod:`commands.tables`). The wide
#: layout's headers are the summary's keys (as --format json names them); the compact one,
#: on a terminal too narrow for all, stacks them on two lines (review s24: "uplift_…" and
#: "uplift_v…" could not be told apart) and drops the least important counts whole
#: (priority: lower is kept first), so that a number is never cut.
SUMMARY_COLUMNS: tuple[Column, ...] = (
    Column("by", "left", 0),
    Column("segment", "left", 0),
    Column("accounts", "right", 1, name="accounts"),
    Column("restructured", "right", 1, short="restruc-\ntured", name="restructured"),
    Column("infeasible", "right", 4, short="infeas-\nible", name="infeasible"),
    Column("npv_test_failed", "right", 5, short="NPV test\nfailed", name="npv_test_failed"),
    # "affordable": the wide table stays within 140 columns (the need test's verdict)
    Column("affordable", "right", 6, short="afford-\nable", name="contract_affordable"),
    Column("errors", "right", 3, name="errors"),
    Column(
        "uplift_vs_status_quo",
        "right",
        2,
        short="uplift vs\nstatus quo",
        name="uplift_vs_status_quo",
    ),
    Column(
        "uplift_vs_waterfall", "right", 2, short="uplift vs\nwaterfall", name="uplift_vs_waterfall"
    ),
)


def _print_plan_summary(
    summary: Any,
    n: int,
    elapsed: float,
    out_path: Path | None,
    fmt: str = "table",
    table: Any = None,
    quiet: bool = False,
    search: Any = None,
) -> int:
    from commands.common import console
    from commands.tables import print_fitted

    if fmt != "table":
        payload = {
            "accounts": n,
            "seconds": round(elapsed, 3),
            "out": None if out_path is None else str(out_path),
            "summary": summary,
        }
        emit(fmt, table=table, payload=payload)
        wrote(out_path, fmt, quiet=quiet)
        return 0
    out = console(min_width=140)
    counts = [c for c in SUMMARY_COLUMNS if c.name in SUMMARY_COUNTS]
    if not summary["contract_affordable"].any():
        # the need test's column only where the policy's need_test kept a contract
        counts = [c for c in counts if c.name != "contract_affordable"]
    columns = [*SUMMARY_COLUMNS[:3], *counts, *SUMMARY_COLUMNS[-2:]]
    rows = [
        (
            [
                str(row["by"]),
                str(row["segment"]),
                *(f"{int(row[c.name]):,}" for c in columns[2:-2]),
                *(f"{row[c.name]:,.0f}" for c in columns[-2:]),
            ],
            "bold" if row["by"] == "all" else None,
        )
        for _, row in summary.iterrows()
    ]
    title = f"Plans for {n:,} accounts ({elapsed:.1f} s, {n / max(elapsed, 1e-9):,.0f} accounts/s)"
    # fitted as plan's options table: columns dropped by priority, never a number cut
    print_fitted(out, title, columns, rows)
    total = summary[summary["by"] == "all"].iloc[0] if (summary["by"] == "all").any() else None
    if total is not None and "certified_0_1pct" in summary and int(total["restructured"]):
        certified, restructured = int(total["certified_0_1pct"]), int(total["restructured"])
        out.print(
            f"certificates: {certified:,} of {restructured:,} recommendations"
            f" ({certified / restructured:.1%}) proved within 0.1 % of their family's optimum"
            f" ({_certified_over(search)}; columns solver_status, bound, gap)",
            highlight=False,
        )
    out.print(f"wrote {out_path}", highlight=False)
    return 0


def _certified_over(search: Any) -> str:
    """What the portfolio footer says the custom and step certificates are proved over."""
    if search is not None and search.free_family:
        return (
            "custom: over every amount; step: over every amount where that certifies it,"
            " else on its payment grid"
        )
    return "custom and step: on the account's payment grid"
