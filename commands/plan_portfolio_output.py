"""What ``workout plan-portfolio`` writes and prints: the plans table with its payments
text, the schedules and their workbook sheets, and the summary by tier and product.

Formatting only: the plans, their schedules and the summary come from
:mod:`solver.plans.portfolio` and :mod:`solver.plans.followed`. The solver is imported
inside the functions, as in every command module, so that ``workout --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from commands.output import emit, wrote
from commands.plan_text import phases_text
from commands.tables import Column
from solver.domain import DEFAULT_CURRENCY


def plans_table(plans: Any, currency: str) -> Any:
    """plan-portfolio's plans as written: the table with the ``payments`` text
    (:func:`portfolio_payments_text`) after ``levels``."""
    table = plans.table.copy(deep=False)
    at = table.columns.get_loc("levels") + 1
    table.insert(at, "payments", portfolio_payments_text(plans, currency))
    return table


def plan_partition_table(
    frame: Any, policy: Any = None, model: Any = None, search: Any = None
) -> Any:
    """:func:`solver.plans.workloads.plan_partition` with the ``payments`` column: what an
    engine's workers run, so that an engine writes the bytes of an in-process run."""
    from solver.plans import portfolio

    kwargs = {} if search is None else {"search": search}
    plans = portfolio.plan_portfolio(frame, policy, model, jobs=1, **kwargs)
    return plans_table(plans, str(getattr(policy, "currency", DEFAULT_CURRENCY)))


def portfolio_payments_text(plans: Any, currency: str) -> list[str | None]:
    """The ``payments`` column of plan-portfolio's plans: each account's followed plan in
    phases (:func:`phases_text`, as ``workout plan`` shows it); ``None`` for an error row.

    The holidays are the followed plan's own (``plans.holidays``: its
    :attr:`~solver.plans.terms.PlanTerms.holidays` and ``holiday_pays``, as the plan
    search stated them), the payments its schedule's cents.
    """
    import numpy as np

    from solver.core.schedule import CENTS_PER_UNIT

    cents = np.rint(plans.payments * CENTS_PER_UNIT).astype(np.int64)
    out: list[str | None] = []
    for i, months in enumerate(plans.term.tolist()):
        if months == 0:
            out.append(None)
            continue
        runs, pays = plans.holidays[i]
        out.append(phases_text(cents[i, :months].tolist(), runs, pays, currency))
    return out


#: Rows of an Excel sheet below its header: a longer schedules table is split.
EXCEL_ROWS = 1_048_575
#: Most schedule rows an .xlsx ``--out`` holds. Decision (session 17): the Excel writer
#: goes cell by cell, about 36 s of CPU for the 801,110 rows of a 20,000-account book
#: against 2.8 s for its plans sheet; 200,000 rows (about 5,000 accounts) cost about 9 s.
#: A larger book's workbook leaves the sheet out and says so; ``--schedules FILE.parquet``
#: writes every row in well under a second.
XLSX_SCHEDULE_ROWS = 200_000


def is_xlsx(out_path: Path | None) -> bool:
    """Whether ``--out`` is a workbook (which holds the schedules too, up to a size)."""
    return out_path is not None and out_path.suffix.lower() == ".xlsx"


def written_plans(
    plans: Any, currency: str, as_of: Any, out_path: Path | None, schedules_path: Any
) -> tuple[Any, dict[str, Any] | None]:
    """The plans table as written (with the ``payments`` text after ``levels``) and, for an
    .xlsx ``--out``, its sheets; writes the ``--schedules`` file (the followed schedules
    as the plan search built them: :func:`solver.plans.followed.schedules_table`)."""
    from commands.output import as_of_date, write_out
    from solver.plans.followed import schedules_table

    table = plans_table(plans, currency)
    excel = is_xlsx(out_path)
    if not excel and schedules_path is None:
        return table, None
    schedules = schedules_table(plans, as_of_date(as_of))
    if schedules_path is not None:
        write_out(schedules_path, schedules, sheet_name="schedules", sheets=excel_sheets(schedules))
        # on stderr, as the workbook's notes: stdout may be the plans (--format csv/json)
        click.echo(f"wrote {schedules_path} ({len(schedules):,} schedule rows)", err=True)
    if not excel:
        return table, None
    assert out_path is not None  # an .xlsx --out (for mypy: is_xlsx checked it)
    sheets = {"plans": table}
    if len(schedules) > XLSX_SCHEDULE_ROWS:
        click.echo(
            f"note: the schedules ({len(schedules):,} rows) are not in {out_path.name}: more"
            f" than {XLSX_SCHEDULE_ROWS:,} rows make the workbook slow to write and open;"
            " --schedules FILE.parquet (or .csv, .xlsx) writes them",
            err=True,
        )
    else:
        sheets.update(excel_sheets(schedules))
    return table, sheets  # the workbook writer adds the columns sheet


def excel_sheets(schedules: Any) -> dict[str, Any]:
    """The schedules as workbook sheets: ``schedules``, then ``schedules 2``, ... beyond
    Excel's rows per sheet (a larger sheet would lose rows silently)."""
    return {
        "schedules" if k == 0 else f"schedules {k + 1}": schedules.iloc[first : first + EXCEL_ROWS]
        for k, first in enumerate(range(0, max(len(schedules), 1), EXCEL_ROWS))
    }


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


def print_plan_summary(
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
    from solver.plans.portfolio import OUTCOME_COUNTS

    # the counts of accounts by outcome are the solver's (one list: its status definitions)
    counts = [c for c in SUMMARY_COLUMNS if c.name in OUTCOME_COUNTS]
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
