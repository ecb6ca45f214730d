"""How ``workout allocate`` shows its answer: the assignment table written to ``--out`` /
``--out-db``, and the console tables of the one-week allocation (by treatment, team
utilisation, certificate, the note on a search the clock cut), of its ``--explain-tree``
rules and of the ``--weeks`` plan.

Formatting only: the figures come from :func:`solver.allocation.portfolio.allocate`,
:func:`solver.allocation.horizon.plan_horizon` and
:func:`solver.allocation.strategy.explain_result`. The solver is imported inside the
functions, as in every command module, so that ``workout --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from commands.common import console
from commands.output import emit, wrote
from commands.sources import write_table_outputs
from commands.tables import Column, print_fitted
from solver.domain import DEFAULT_TIME_LIMIT, TIERS

__all__ = [
    "Target",
    "allocation_output",
    "clock_stop_note",
    "horizon_output",
    "print_explanation",
    "print_tables",
]


class Target(NamedTuple):
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


def allocation_output(
    result: Any, explained: tuple[Any, str | None, list[Path]], target: Target, time_limit: float
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
    print_tables(result, out, target.currency, con, time_limit)
    if explanation is not None:
        print_explanation(explanation, target.currency, con)
        for path in explain_paths:
            wrote(path, fmt, con)
    return 0


def horizon_output(horizon: Any, target: Target) -> int:
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


def print_explanation(explanation: Any, currency: str, con: Any) -> None:
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


def print_tables(
    result: Any, out: Path, currency: str, con: Any, time_limit: float = DEFAULT_TIME_LIMIT
) -> None:
    """The summary tables on the console ``con``, fitted to its width (numbers whole), and
    a note when the wall clock cut the search (:func:`clock_stop_note`, by the run's
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
        note = clock_stop_note(stopped, result.stats, time_limit, int(t["accounts"]))
        con.print(f"[yellow]note[/]: {note}", highlight=False)


def clock_stop_note(stopped: str, stats: Any, time_limit: float, accounts: int) -> str:
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
