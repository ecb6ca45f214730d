"""``workout plan`` and ``workout plan-portfolio``: restructuring plans (parse, call, format).

Business logic lives in :mod:`solver.plans.options` and :mod:`solver.plans.portfolio`; this
module parses options, calls them and renders tables, JSON, CSV or Excel. The solver is
imported inside the commands: ``workout --help`` and the other commands must not load
numba, pandas or the plan search at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from commands.accounts import (
    ACCOUNT_SET_OPTION,
    apply_account_settings,
    forecast_option,
    load_model,
    load_policy,
    policy_model_options,
    read_one_account,
)
from commands.common import JOBS, SHARED_HELP, choice_option, quiet_option, set_option
from commands.engine_opts import engine_options, is_dataset_output
from commands.output import check_out, emit, format_option, out_help, out_option, write_out, wrote
from commands.sources import book_options, input_path, out_db_options, write_table_outputs
from commands.tables import MIN_TEXT_WIDTH, Column, print_fitted
from solver.domain import FAMILIES, Status


def _money(x: float | None, currency: str) -> str:
    """A model value (NPV, cost) in the currency's decimals (solver.core.currency)."""
    import math

    from solver.core.currency import format_value

    return "—" if x is None or not math.isfinite(x) else format_value(x, currency)


def _payments_text(option: Any, currency: str) -> str:
    from solver.core.currency import format_amount

    levels = option.terms.levels or ()
    D = option.terms.holiday
    mode = option.terms.deferral_mode
    parts = []
    if D:
        parts.append(f"{D}× {'0' if mode != 'interest_only' else 'interest'}")
    parts += [f"{x:,.0f}" for x in levels]
    if option.schedule is not None:
        last = float(option.schedule.payments[-1])
        if not levels or abs(last - levels[-1]) > 0.005:
            parts.append(f"last {format_amount(last, currency)}")
    return " → ".join(parts)


#: Columns of the options table in display order. On a terminal too narrow for all of them
#: the columns are kept by priority (0 first) and the rest dropped whole: a number is never
#: cut (:mod:`commands.tables`). Text columns (``wraps``) wrap into the width left.
_TABLE_COLUMNS: tuple[Column, ...] = (
    Column("option", "left", 0),
    Column("payments", "left", 8, wraps=True, min_width=MIN_TEXT_WIDTH),
    Column("term", "right", 6),
    Column("NPV", "right", 1),
    Column("Δ vs status quo", "right", 3, short="Δ vs\nstatus quo"),
    # issue 13: the customer's cost beside the bank's value (PV at the contract rate)
    Column("customer cost", "right", 5, short="customer\ncost"),
    Column("PD 12m", "right", 4, short="PD\n12m"),
    Column("APR", "right", 8),
    Column("max DTI", "right", 7, short="max\nDTI"),
    Column("status", "left", 2),
    Column("binding / reason", "left", 10, wraps=True, min_width=MIN_TEXT_WIDTH),
)

#: Marks an option whose "optimal" / "gap" is proved over a payment grid (custom and step
#: certified on their grid: ``bound_over`` "payment_grid", the grid in ``terms.grid``), not
#: over every amount -- the table says so under it (review of issue 13, 4 Dec 2026: a finer
#: grid can find more, and a bank must not read "optimal" as "over every schedule"). A plan
#: certified against the free bound (``bound_over`` "every_amount") has no mark.
GRID_MARK = "†"


def _option_rows(result: Any, currency: str) -> list[tuple[list[str], str | None]]:
    """The cells of every row of the options table (all columns) and the row style."""
    from solver.core.currency import format_value
    from solver.plans.choices import OVER_GRID

    sq = result.status_quo
    rows: list[tuple[list[str], str | None]] = [
        (
            [
                "status quo",
                _payments_text(sq, currency),
                str(sq.schedule.term),
                _money(sq.npv, currency),
                "",
                _money(sq.customer_cost, currency),
                f"{sq.pd_12m:.1%}",
                f"{sq.apr:.2%}",
                f"{sq.max_dti:.2f}",
                "contract",
                "",
            ],
            "dim",
        )
    ]
    for o in result.options:
        if not o.feasible:
            npv = _money(o.npv, currency) if o.schedule is not None else ""
            cells = [o.label, "", "", npv, "", "", "", "", "", o.status.lower(), o.reason]
            rows.append((cells, "dim"))
            continue
        rec = o.label == result.recommended
        status = o.status.lower() if o.status != Status.FEASIBLE else f"gap {o.gap:.2%}"
        if o.bound_over == OVER_GRID:
            status += GRID_MARK
        cells = [
            ("★ " if rec else "") + o.label,
            _payments_text(o, currency),
            str(o.schedule.term),
            _money(o.npv, currency),
            format_value(o.npv_vs_status_quo, currency, sign=True),
            _money(o.customer_cost, currency),
            f"{o.pd_12m:.1%}",
            f"{o.apr:.2%}",
            f"{o.max_dti:.2f}",
            status,
            "; ".join(o.binding),
        ]
        rows.append((cells, "bold green" if rec else None))
    return rows


def _grid_note(result: Any, currency: str) -> str:
    """What the custom and step certificates are proved over: each grid-certified plan's
    grid (the † rows), and the plans certified over every amount (the free bound)."""
    from solver.core.currency import format_amount
    from solver.plans.choices import OVER_EVERY_AMOUNT, OVER_GRID

    grids: dict[str, list[str]] = {}  # grid text -> the options searched on it
    free: list[str] = []
    for o in result.options:
        if not o.feasible:
            continue
        if o.bound_over == OVER_EVERY_AMOUNT:
            free.append(o.label)
        grid = o.terms.grid if o.bound_over == OVER_GRID else None
        if grid and o.terms.grid_step is not None:
            text = (
                f"{len(grid)} amounts from {format_amount(min(grid), currency)}"
                f" to {format_amount(max(grid), currency)}"
                f" (step {format_amount(o.terms.grid_step, currency)})"
            )
            grids.setdefault(text, []).append(o.label)
    notes = []
    if grids:
        parts = [f"{' and '.join(labels)}: {text}" for text, labels in grids.items()]
        notes.append(
            f"{GRID_MARK} proved over the plan's payment grid, not over every amount: "
            + "; ".join(parts)
            + ("." if free else ". --thorough searches a finer grid and every amount for custom.")
        )
    if free:
        notes.append(
            f"{' and '.join(free)}: status and gap proved over every schedule of the family"
            " (any amount on the rounding unit within each month's cap, after an optional"
            " leading holiday; months without payment later in a plan are not searched)."
        )
    return "\n".join(notes)


def _render_table(result: Any, schedule_family: str | None, currency: str) -> None:
    from rich.table import Table

    from commands.common import console
    from solver.core.currency import amount_digits, format_amount

    out = console(min_width=180)
    rows = _option_rows(result, currency)
    title = f"Restructuring options for {result.account_id} ({currency})"
    dropped = print_fitted(out, title, _TABLE_COLUMNS, rows)
    grid_note = _grid_note(result, currency)
    if grid_note:
        out.print(grid_note, highlight=False)
    if dropped:
        reason_column = len(_TABLE_COLUMNS) - 1
        if reason_column in dropped:  # an infeasible option must still say why
            for o in result.options:
                if not o.feasible and o.reason:
                    out.print(f"{o.label}: {o.status.lower()}: {o.reason}", highlight=False)
    colour = {
        Status.RECOMMENDED: "green",
        Status.NPV_TEST_FAILED: "yellow",
        Status.INFEASIBLE: "red",
    }[result.status]
    out.print(f"[bold {colour}]{result.status}[/]: {result.explanation}", highlight=False)
    if schedule_family:
        opt = result.option(schedule_family)
        if opt.schedule is None:
            out.print(f"{schedule_family}: no schedule ({opt.reason})")
            return
        st = Table(title=f"Schedule: {opt.label}", title_justify="left")
        for col in ("month", "payment", "interest", "principal", "fees", "balance"):
            st.add_column(col, justify="right", no_wrap=True)
        money = ("payment", "interest", "principal", "fees", "balance")
        records = opt.schedule.to_records()
        # one number of decimals for the whole schedule (solver.core.currency)
        digits = amount_digits(currency, (row[k] for row in records for k in money))
        for row in records:
            st.add_row(
                str(row["month"]),
                *(format_amount(row[k], currency, digits=digits) for k in money),
            )
        out.print(st)


def _render_frontier(result: Any, frontier: list[Any], currency: str) -> None:
    """The bank-vs-customer efficient frontier: plans no other plan beats on both."""
    from rich.table import Table

    from commands.common import console

    table = Table(
        title="Bank vs customer: plans no other plan beats on both (NPV test passed)",
        title_justify="left",
    )
    for col in ("option", "NPV", "customer cost", "NPV vs best", "PD 12m"):
        table.add_column(col, justify="left" if col == "option" else "right")
    if not frontier:
        console().print("No plan passes the NPV test: no bank-vs-customer trade-off to show.")
        return
    best = frontier[0].npv
    for o in frontier:
        table.add_row(
            ("★ " if o.label == result.recommended else "") + o.label,
            _money(o.npv, currency),
            _money(o.customer_cost, currency),
            f"{(o.npv - best) / abs(best):+.2%}",
            f"{o.pd_12m:.1%}",
        )
    console().print(table)


def _options_frame(result: Any) -> Any:
    import pandas as pd

    from solver.plans.terms import TABLE_TERMS

    rows = []
    for o in (result.status_quo, *result.options):
        d = o.to_dict(schedule=False)
        params = d.pop("params")
        d["recommended"] = o.label == result.recommended
        d["binding"] = "; ".join(d["binding"])
        for k in (*TABLE_TERMS, "forbearance"):
            d[k] = params.get(k)
        d["levels"] = " / ".join(f"{x:.2f}" for x in params.get("levels", []) or [])
        rows.append(d)
    return pd.DataFrame(rows)


def _schedules_frame(result: Any) -> Any:
    import pandas as pd

    frames = []
    for o in (result.status_quo, *result.options):
        if o.schedule is None:
            continue
        f = o.schedule.to_frame().drop(columns=["due_date"])
        f.insert(0, "option", o.label)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


@click.command("plan")
@click.argument("account_file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@book_options("account_file")
@policy_model_options(
    "Policy TOML (default: scenarios/policy.toml values).",
    SHARED_HELP["--model"],
)
@format_option(
    "Here json is the whole result (options with metrics and cent-exact schedules); csv the "
    "options table."
)
@out_option(
    "the options table",
    "A .json file holds the whole result (as --format json prints it), an .xlsx file "
    "also the schedules.",
    dest="out_path",
)
@click.option(
    "--account-id",
    "account_id",
    default=None,
    metavar="ID",
    help="Plan this account of a portfolio file (CSV, Parquet, Excel, or TOML/JSON with "
    "several accounts); the whole book is validated.",
)
@click.option(
    "--schedule",
    "schedule_family",
    default=None,
    help="Also print the month-by-month schedule of this option (e.g. custom, deferral/capitalize, status_quo).",
)
@ACCOUNT_SET_OPTION
@click.option(
    "--thorough",
    is_flag=True,
    help="Finer custom/step search, and custom over every amount (free family, certified"
    " against a bound over every schedule): better plans, honest gaps, 0.1-3 s more.",
)
@choice_option(
    "--objective",
    ["bank", "customer"],
    "bank: recommend the highest NPV passing the NPV test; customer: the plan cheapest"
    " for the customer among those within --within of the bank's best.",
)
@click.option(
    "--within",
    "within_pct",
    type=click.FloatRange(0.0, 100.0),
    default=1.0,
    show_default=True,
    metavar="PCT",
    help="With --objective customer: how far below the best NPV (percent) a plan may be.",
)
@click.option(
    "--frontier",
    is_flag=True,
    help="Also print the bank-vs-customer efficient frontier (NPV against customer cost).",
)
@forecast_option("Rows of other accounts are errors (with --account-id: of other books).")
def plan(
    account_file: Path,
    policy_path: Path | None,
    model_path: Path | None,
    fmt: str,
    out_path: Path | None,
    account_id: str | None,
    schedule_family: str | None,
    settings: tuple[str, ...],
    thorough: bool,
    objective: str,
    within_pct: float,
    frontier: bool,
    forecast_path: Any,
) -> int:
    """Restructuring options for one account (TOML/JSON), ranked by expected recovery NPV.

    Exit code 0 with a recommendation or a failed NPV test; 3 when no plan satisfies the
    policy (the message names the conflicting rules and the smallest relaxation).
    Given a portfolio file, it plans the account --account-id names (plan-portfolio
    plans every account).

    Each option also reports customer_cost: the present value at the contract rate of
    what the customer pays beyond the principal (interest and fees); below zero, the plan
    gives the customer more (a rate cut or a waiver) than it charges. custom and step are
    proved optimal (or within their gap) over each plan's payment grid (the table's † note
    lists it), not over every amount; with --thorough, custom (and step where the same
    bound certifies it) is proved over every amount. On a narrow terminal
    the table drops its text columns (payments, binding / reason), then the least
    important figures, rather than cut a number.

    \b
    Examples:
      workout plan scenarios/sample_account.toml
      workout plan scenarios/sample_account.toml --set income=8000 --schedule custom
      workout plan scenarios/sample_account.toml --objective customer --within 2
      workout plan scenarios/sample_account.toml --format json --out out/plan.json
      workout plan tests/data/portfolio/tiny.csv --account-id T002 --out out/options.csv
      workout plan --db sqlite:///bank.db --table accounts --account-id T002
    """
    from solver.errors import InfeasibleError, InputError

    check_out(
        out_path,
        inputs={
            "ACCOUNT_FILE": input_path(account_file),
            "--policy": policy_path,
            "--model": model_path,
            "--forecast": input_path(forecast_path),
        },
    )
    policy, account_settings = load_policy(policy_path, settings)
    model = load_model(model_path)
    account = apply_account_settings(
        read_one_account(account_file, account_id, forecast_path), account_settings
    )
    if (
        schedule_family
        and schedule_family not in ("status_quo", *FAMILIES)
        and not schedule_family.startswith("deferral/")
    ):
        raise InputError(
            f"--schedule {schedule_family}: unknown option (use a family name, e.g. custom, or deferral/capitalize)"
        )
    from solver.officer.documents import plan_document, plan_result
    from solver.plans.options import efficient_frontier

    # one definition of the options and their JSON document, shared with `workout serve`
    result = plan_result(
        account, policy, model, objective=objective, within_pct=within_pct, thorough=thorough
    )
    payload = None
    if fmt == "json" or (out_path is not None and out_path.suffix.lower() == ".json"):
        payload = plan_document(result, objective, within_pct)
    if out_path is not None:
        options = _options_frame(result)
        sheets = {"options": options, "schedules": _schedules_frame(result)}
        write_out(out_path, options, sheet_name="options", payload=payload, sheets=sheets)
    if fmt == "table":
        _render_table(result, schedule_family, policy.currency)
        if frontier or objective == "customer":
            _render_frontier(result, efficient_frontier(result), policy.currency)
        wrote(out_path, fmt)
    else:
        emit(fmt, table=_options_frame(result), payload=payload)
    if result.status == Status.INFEASIBLE:
        raise InfeasibleError(f"account {result.account_id}: {result.explanation}")
    return 0


@click.command("plan-portfolio")
@click.argument("portfolio", type=click.Path(path_type=Path), required=False)
@book_options("portfolio")
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    required=True,
    help=out_help(
        "the plans (one row per account)",
        "A directory (a path without extension) is a partitioned Parquet dataset written by "
        "the workers.",
    ),
)
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
    " schedule (about 0.1 s per account instead of about 1.5 ms).",
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
    out_path: Path,
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
    PORTFOLIO may be a Parquet dataset directory; with --engine dask (or --partitions)
    its partitions are planned on the workers, and an --out directory is written by them.

    \b
    Examples:
      workout plan-portfolio out/portfolio.csv --out out/plans.csv --jobs 4
      workout plan-portfolio out/portfolio.csv --out out/plans.parquet \\
          --set policy.max_dti=0.6 --engine dask --workers 4
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
    from solver.core.atomic import check_writable
    from solver.core.readers import read_portfolio
    from solver.errors import InputError
    from solver.plans.portfolio import plan_portfolio as run
    from solver.plans.search import SearchParams

    inputs = {
        "PORTFOLIO": input_path(portfolio),
        "--policy": policy_path,
        "--model": model_path,
        "--forecast": input_path(forecast_path),
    }
    dataset_out = is_dataset_output(out_path)
    if not dataset_out:
        check_out(out_path, inputs=inputs)  # fail fast on a bad --out
    else:
        if fmt == "csv":
            raise InputError(
                f"--format csv prints the plans, and --out {out_path} is a dataset directory "
                "written in parts by the workers: give a file (--out plans.csv) or use "
                "--format json"
            )
        check_writable(out_path, inputs=inputs, directory=True)
    policy, rest = load_policy(policy_path, settings)
    if rest:
        raise InputError(
            f"--set {rest[0]}: only policy keys can be set for a portfolio (policy.KEY=VALUE)"
        )
    model = load_model(model_path)
    search = SearchParams.thorough() if thorough else None
    started = time.perf_counter()
    on_disk = isinstance(portfolio, Path)
    if engine.distributed or dataset_out or (on_disk and portfolio.is_dir()):
        if out_db is not None:
            raise InputError(
                "--out-db: plans planned on an engine or written as a dataset are not written "
                "to a database; plan without --engine/--partitions and give a file --out"
            )
        n, summary, table = _plan_on_engine(
            portfolio,
            out_path,
            policy,
            model,
            engine,
            jobs,
            dataset_out,
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
            frame, policy, model, jobs=jobs, search=search, progress=lambda k: bar.advance(task, k)
        )
    elapsed = time.perf_counter() - started
    write_table_outputs(out_path, out_db, plans.table, sheet_name="plans", quiet=quiet)
    summary = plans.summary()
    return _print_plan_summary(
        summary, len(frame), elapsed, out_path, fmt, plans.table, quiet, search
    )


def _plan_on_engine(
    portfolio: Any,
    out_path: Path,
    policy: Any,
    model: Any,
    engine: Any,
    jobs: int,
    dataset_out: bool,
    forecast_path: Any = None,
    *,
    quiet: bool = False,
    search: Any = None,
) -> tuple[int, Any, Any]:
    """plan-portfolio through an engine: every partition planned on the workers.

    With a forecast table, a dataset is first read whole (validated by the workers)
    because an account of the table missing from the whole book is an error.
    """
    from commands.engine_opts import progress_bar
    from solver.core.forecast import with_forecast
    from solver.core.readers import read_portfolio
    from solver.engines.entry import read_portfolio_on
    from solver.engines.partitions import is_dataset, prepare_portfolio
    from solver.plans.portfolio import portfolio_summary
    from solver.plans.workloads import plan_partition, sum_summaries

    dataset = isinstance(portfolio, Path) and is_dataset(portfolio)
    source: Any = portfolio if dataset else read_portfolio(portfolio, forecast=forecast_path)
    with engine.open(jobs=jobs) as runner, progress_bar("planning", not quiet) as bar:
        if forecast_path is not None and dataset:
            source = with_forecast(
                lambda: read_portfolio_on(runner, portfolio), forecast_path, book=str(portfolio)
            )
        result = runner.map_partitions(
            plan_partition,
            source,
            policy,
            model,
            search,
            out=out_path if dataset_out else None,
            prepare=prepare_portfolio,
            unique="account_id",
            summary=portfolio_summary if dataset_out else None,
            progress=bar,
        )
    if dataset_out:
        return result.rows, sum_summaries(result.summaries, ["by", "segment"]), None
    write_out(out_path, result.frame, sheet_name="plans")
    return result.rows, portfolio_summary(result.frame), result.frame


def _print_plan_summary(
    summary: Any,
    n: int,
    elapsed: float,
    out_path: Path,
    fmt: str = "table",
    table: Any = None,
    quiet: bool = False,
    search: Any = None,
) -> int:
    from rich.table import Table

    from commands.common import console

    if fmt != "table":
        payload = {
            "accounts": n,
            "seconds": round(elapsed, 3),
            "out": str(out_path),
            "summary": summary,
        }
        emit(fmt, table=table, payload=payload)
        wrote(out_path, fmt, quiet=quiet)
        return 0
    out = console(min_width=140)
    t = Table(
        title=f"Plans for {n:,} accounts ({elapsed:.1f} s, {n / max(elapsed, 1e-9):,.0f} accounts/s)",
        title_justify="left",
    )
    for col in (
        "by",
        "segment",
        "accounts",
        "restructured",
        "infeasible",
        "npv_test_failed",
        "errors",
        "uplift_vs_status_quo",
        "uplift_vs_waterfall",
    ):
        t.add_column(col, justify="left" if col in ("by", "segment") else "right")
    for _, row in summary.iterrows():
        t.add_row(
            str(row["by"]),
            str(row["segment"]),
            f"{int(row['accounts']):,}",
            f"{int(row['restructured']):,}",
            f"{int(row['infeasible']):,}",
            f"{int(row['npv_test_failed']):,}",
            f"{int(row['errors']):,}",
            f"{row['uplift_vs_status_quo']:,.0f}",
            f"{row['uplift_vs_waterfall']:,.0f}",
            style="bold" if row["by"] == "all" else None,
        )
    out.print(t)
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
