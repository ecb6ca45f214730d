"""``workout plan``: restructuring options for one account (parse, call, format).

Business logic lives in :mod:`solver.plans.options`; this module parses options, calls it
and hands the result to :mod:`commands.plan_output` (table, JSON, CSV or Excel) and
:mod:`commands.plan_frontier` (the frontier). The solver is imported inside the command:
``workout --help`` and the other commands must not load numba, pandas or the plan search
at start-up. ``workout plan-portfolio`` is :mod:`commands.plan_portfolio`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from commands.accounts import (
    ACCOUNT_SET_OPTION,
    forecast_option,
    load_account,
    policy_model_options,
)
from commands.options import SHARED_HELP
from commands.output import (
    as_of_date,
    as_of_option,
    check_out,
    emit,
    format_option,
    objective_options,
    out_option,
    write_out,
    wrote,
)
from commands.plan_frontier import render_frontier
from commands.plan_output import announce_kernels, options_frame, plan_sheets, render_table
from commands.sources import book_options, input_path
from solver.domain import Status
from solver.plans.objectives import CUSTOMER_OBJECTIVE


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
    help="Also print the month-by-month schedule of this option: any label the run prints"
    " (custom, deferral/capitalize, status_quo, a family for its best plan, or a frontier"
    ' plan such as "deferral/interest_only 4+29m").',
)
@ACCOUNT_SET_OPTION
@click.option(
    "--thorough",
    is_flag=True,
    help="Finer custom/step search, and custom over every amount (free family, certified"
    " against a bound over every schedule): better plans, honest gaps, 0.1-3 s more after"
    " the first run (a first run compiles the plan engine's kernels: about a minute).",
)
@objective_options
@click.option(
    "--frontier",
    is_flag=True,
    help="Also print the bank-vs-customer efficient frontier (NPV against customer cost).",
)
@forecast_option("Rows of other accounts are errors (with --account-id: of other books).")
@as_of_option()
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
    as_of: Any,
) -> int:
    """Restructuring options for one account (TOML/JSON), ranked by expected recovery NPV.

    Exit code 0 with a recommendation or a failed NPV test; 3 when no plan satisfies the
    policy (the message names the conflicting rules and the smallest relaxation).
    Given a portfolio file, it plans the account --account-id names (plan-portfolio
    plans every account).

    Each option also reports its customer cost (customer_cost): interest and fees
    charged, in present value at the contract rate (the accrued interest and fees the
    plan carries over, less waivers and any haircut, at once; each month's interest when
    it is charged). It grows with the term and falls with a waiver or a rate cut;
    --objective customer trades it against the bank's NPV. custom and step are
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
      workout plan --db sqlite:///bank.db --table accounts --account-id CI00000001
    """
    from solver.errors import InfeasibleError

    check_out(
        out_path,
        inputs={
            "ACCOUNT_FILE": input_path(account_file),
            "--policy": policy_path,
            "--model": model_path,
            "--forecast": input_path(forecast_path),
        },
    )
    from solver.officer.offers import check_plan_label, plan_option

    if schedule_family:  # a label no run prints: refused before the search
        check_plan_label(schedule_family, "--schedule")
    account, policy, model = load_account(
        account_file, account_id, forecast_path, policy_path, model_path, settings
    )
    from solver.officer.documents import plan_document, plan_result
    from solver.plans.customer_choice import efficient_frontier

    announce_kernels()  # a first run compiles the kernels: say so rather than hang silently
    # one definition of the options and their JSON document, shared with `workout serve`
    result = plan_result(
        account, policy, model, objective=objective, within_pct=within_pct, thorough=thorough
    )
    # resolved before any output: an unknown label is a usage error with nothing written;
    # the labels are the officer's (`workout offer --option`): one rule for what plan prints
    schedule = (
        plan_option(result, schedule_family, option="--schedule", shown=True)
        if schedule_family
        else None
    )
    payload = None
    start = as_of_date(as_of)  # month t of every schedule shown is due t months later
    if fmt == "json" or (out_path is not None and out_path.suffix.lower() == ".json"):
        payload = plan_document(result, objective, within_pct, as_of=start)
    if out_path is not None:
        options = options_frame(result, policy.currency)
        sheets = plan_sheets(result, options, start)
        write_out(out_path, options, sheet_name="options", payload=payload, sheets=sheets)
    if fmt == "table":
        render_table(result, schedule, policy.currency, start)
        if frontier or objective == CUSTOMER_OBJECTIVE:
            render_frontier(result, efficient_frontier(result), policy.currency)
        wrote(out_path, fmt)
    else:
        # the options table only for csv: building it imports pandas (about 0.25 s cold)
        emit(
            fmt,
            table=options_frame(result, policy.currency) if fmt == "csv" else None,
            payload=payload,
        )
    if result.status == Status.INFEASIBLE:
        raise InfeasibleError(f"account {result.account_id}: {result.explanation}")
    return 0
