"""``workout replan``: next step for restructured accounts that broke their plan (parse,
call, format; the rules are in :mod:`solver.allocation.replan`)."""

from __future__ import annotations

from pathlib import Path

import click

from commands.common import console
from commands.options import file_option
from commands.output import check_out, emit, format_option, out_option, write_out, wrote


@click.command("replan")
@click.argument("book", type=click.Path(path_type=Path))
@file_option(
    "--history",
    "Monthly payment history in the long format of docs/history.md (account_id, "
    "month, amount_due, amount_paid, dpd, status; CSV/Parquet/Excel).",
    required=True,
    dir_okay=True,
)
@click.option(
    "--policy",
    # an existing file, checked by click before any work (a directory would only fail later)
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="TOML with a [replan] table (cure_window_months, max_reages); default "
    "scenarios/replan.toml.",
)
@out_option("the steps (one row per restructured account)", required=True)
@format_option("Here json and csv print the steps table.")
def replan(book: Path, history: Path, policy: Path | None, out: Path, fmt: str) -> int:
    """Status and next step (monitor, cure_window, reage, escalate) of every account the
    book flags has_plan, from its payment history; `workout allocate --replan` uses them.
    A re-age gets its new plan (plan_* columns, the default restructuring policy); when no
    plan passes the NPV test the step is escalate.

    \b
    Examples:
      workout replan out/portfolio.csv --history out/portfolio_history.csv \\
          --out out/steps.csv
      workout replan out/portfolio.csv --history out/portfolio_history.csv \\
          --policy scenarios/replan.toml --out out/steps.json --format json
    """
    from solver.allocation.replan import ReplanPolicy, steps_from_history
    from solver.core.readers import read_portfolio

    check_out(out, inputs={"BOOK": book, "--history": history, "--policy": policy})
    rules = ReplanPolicy.from_toml(policy)
    frame = read_portfolio(book)
    steps = steps_from_history(frame, history, rules)
    write_out(out, steps, sheet_name="replan")
    if emit(fmt, table=steps, payload=steps.to_dict(orient="records")):
        wrote(out, fmt)
        return 0
    con = console()
    counts = steps.groupby(["status", "step"]).size()
    con.print(f"{len(steps):,} restructured accounts", highlight=False)
    for (status, step), count in counts.items():
        con.print(f"  {status:<12} -> {step:<12} {count:>8,}", highlight=False)
    wrote(out, fmt, con)
    return 0
