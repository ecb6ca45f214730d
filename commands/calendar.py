"""``workout calendar``: the contact calendar of an allocation (parse, call, format)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from commands.common import console
from commands.options import catalogue_options, file_option, jurisdiction_option, quiet_option
from commands.output import (
    AsOfDate,
    check_out,
    emit,
    format_option,
    out_option,
    write_out,
    wrote,
)
from commands.tables import Column, print_fitted

_CHANNELS = (
    Column("channel", "left", 0),
    Column("requested", "right", 1),
    Column("scheduled", "right", 2),
)


@click.command("calendar")
@click.argument("book", type=click.Path(dir_okay=False, path_type=Path))
@file_option(
    "--allocation",
    "Output of `workout allocate` (without --weeks) for this book (CSV/Parquet/Excel).",
    required=True,
)
@click.option(
    "--days", type=click.IntRange(1, 31), default=7, show_default=True, help="Days to plan."
)
@click.option(
    "--start",
    # --as-of's type (solver.officer.dating.parse_as_of): 2026-02-30 is told as no
    # calendar date, not as a wrong format, and dates out of its range are refused alike
    type=AsOfDate(),
    default=None,
    metavar="YYYY-MM-DD",
    help="First day (YYYY-MM-DD, the centre's calendar; default: tomorrow in the "
    "profile's time zone).",
)
@file_option(
    "--history",
    "Contact history (account_id, timestamp, channel, outcome; CSV/Parquet/Excel): "
    "rolling 7-day counts and conversations before the calendar.",
)
@file_option(
    "--replan",
    "The `workout replan` steps the allocation was steered by (allocate --replan): a broken "
    "plan's has_plan stop is lifted here as it was there, so its contact is scheduled.",
    dest="replan_steps",
    dir_okay=True,
)
@file_option(
    "--payment-history",
    "The payment history the allocation was steered by (allocate --history; --history here "
    "is the contact history): the replan steps are computed from it as allocate computes "
    "them. Not with --replan.",
    dir_okay=True,
)
@catalogue_options("Teams TOML: shifts and working days")
@file_option("--channels", "Channel capacities TOML (default: scenarios/channels.toml).")
@jurisdiction_option()
@click.option(
    "--dialler-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write one dialler CSV per calling team (account_id, attempt, utc_time, local_date, "
    "local_time, timezone, stop_after_conversation_days); a team without calls gets the "
    "header alone, so no earlier week's list is left as the team's.",
)
@out_option("the calendar (one row per contact attempt)", required=True)
@format_option("Here json is the summary; csv the calendar.")
@quiet_option()
def calendar(
    book: Path,
    allocation: Path,
    days: int,
    start: dt.date | None,
    history: Path | None,
    replan_steps: Path | None,
    payment_history: Path | None,
    treatments: Path | None,
    teams: Path | None,
    channels: Path | None,
    jurisdiction: str | None,
    dialler_dir: Path | None,
    out: Path,
    fmt: str,
    quiet: bool,
) -> int:
    """Plan each account's contact attempts by day and hour, checked against the law.

    Every attempt lies in the customer's local contact window (column `timezone`, nearest
    to `preferred_hour`), in the team's shift, and within dialler, SMS and field-visit
    capacities, maximising the allocation's uplift vs no action (column uplift_vs_none:
    each account's gain over no contact, after cost; greedy by value density; the bound
    and gap are printed). An `allocate --weeks` file has no uplift_vs_none and is refused. An independent checker verifies every rule of the jurisdiction on
    the result; a violation is an internal error (exit 1) and nothing is written.
    An allocated contact the law stops (a protected flag, hardship) is counted as requested
    and not scheduled, and named in a warning: give the calendar the --replan steps (or the
    --payment-history) the allocation was steered by.

    \b
    Examples:
      workout calendar out/portfolio.csv --allocation out/allocation.csv --out out/cal.csv
      workout calendar out/portfolio.csv --allocation out/allocation.csv --days 7 \\
          --start 2026-12-07 --history out/history.csv --dialler-dir out/dialler \\
          --out out/cal.csv
      workout calendar out/portfolio.csv --allocation out/allocation.csv \\
          --replan out/steps.csv --out out/cal.csv
    """
    # solver modules load here, not with this module (fast `workout --help`)
    from zoneinfo import ZoneInfo

    from solver.allocation.calendar.blocked import blocked_notes
    from solver.allocation.calendar.channels import Channels
    from solver.allocation.calendar.checker import check_calendar
    from solver.allocation.calendar.dialler import (
        check_dialler_dir,
        others_note,
        write_with_dialler,
    )
    from solver.allocation.calendar.inputs import (
        check_allocation,
        read_contact_columns,
        read_history,
    )
    from solver.allocation.calendar.scheduler import schedule_contacts
    from solver.allocation.catalogue import Catalogue
    from solver.allocation.replan import check_step_sources, lift_plan_stop, load_steps
    from solver.allocation.teams import Teams
    from solver.core.readers import read_portfolio
    from solver.errors import WorkoutError

    step_options = ("--replan", "--payment-history")
    check_step_sources(replan_steps, payment_history, step_options)  # before any work
    inputs = {
        "BOOK": book,
        "--allocation": allocation,
        "--history": history,
        "--replan": replan_steps,
        "--payment-history": payment_history,
    }
    check_out(out, inputs=inputs)
    catalogue = Catalogue.from_toml(treatments, jurisdiction=jurisdiction)
    team_set = Teams.from_toml(teams, compliance=catalogue.compliance)
    if dialler_dir is not None:
        check_dialler_dir(dialler_dir, out, team_set.names, inputs)
    capacity = Channels.from_toml(channels)
    profile = catalogue.compliance.profile
    first = (
        start
        if start is not None
        else dt.datetime.now(ZoneInfo(profile.timezone)).date() + dt.timedelta(days=1)
    )
    frame = read_portfolio(book, unknown_columns="ignore")
    steps = load_steps(frame, replan_steps, payment_history, step_options)
    # the book as allocate --replan/--history saw it (broken plans' has_plan stop lifted),
    # for the scheduler and the checker alike: one rule (solver.allocation.replan)
    if steps is not None:
        frame = lift_plan_stop(frame, steps)
    contact = read_contact_columns(book, frame["account_id"], profile.timezone)
    past = read_history(history) if history is not None else None
    # every allocation row checked against the book, catalogue and teams, named by file,
    # once: the scheduler takes the CheckedAllocation as it is
    allocated = check_allocation(allocation, frame["account_id"], catalogue.names, team_set.names)
    result = schedule_contacts(
        frame,
        allocated,
        catalogue,
        team_set,
        capacity,
        days=days,
        start=first,
        contact=contact,
        history=past,
        steps=steps,
    )
    violations = check_calendar(result.calendar, frame, profile, contact=contact, history=past)
    if violations:
        shown = "; ".join(f"{v.rule} ({v.account_id}): {v.detail}" for v in violations[:5])
        raise WorkoutError(
            f"the calendar breaks {len(violations)} rule(s) of the {profile.code} profile "
            f"(a bug; nothing written): {shown}"
        )
    summary = {**result.summary, "checker_violations": 0}
    if dialler_dir is None:
        write_out(out, result.calendar, sheet_name="calendar")
        written: list[Path] = []
    else:
        files = write_with_dialler(out, result.calendar, dialler_dir, result.dialler_tables())
        written = files.written
        note = others_note(dialler_dir, files.others)
        if note is not None:
            click.echo(f"warning: {note}", err=True)
    for note in blocked_notes(summary["blocked"], steps_given=steps is not None):
        click.echo(f"warning: {note}", err=True)
    if emit(fmt, table=result.calendar, payload=summary):
        wrote(out, fmt, quiet=quiet)
        return 0
    _print_summary(summary, out, written, catalogue.currency, console(min_width=80))
    return 0


def _print_summary(
    s: dict[str, Any], out: Path, written: list[Path], currency: str, con: Any
) -> None:
    """The summary on the console: counts, value, bound and gap, the checker's result."""
    con.print(
        f"[bold]Contact calendar[/] ({s['jurisdiction']}, {s['days']} days from {s['start']}) "
        f"written to {out}\n"
        f"{s['attempts_scheduled']:,} of {s['attempts_requested']:,} attempts scheduled for "
        f"{s['accounts_with_attempts']:,} of {s['accounts']:,} accounts; "
        f"legal referrals (no contact slot) {s['referrals']:,}"
        + (
            f"; {s['attempts_blocked']:,} blocked by protected flags, hardship or replan steps "
            "(warning above)"
            if s["attempts_blocked"]
            else ""
        ),
        highlight=False,
    )
    rows = [
        ([c, f"{v['requested']:,}", f"{v['scheduled']:,}"], None)
        for c, v in s["by_channel"].items()
    ]
    print_fitted(con, "Attempts by channel", _CHANNELS, rows)
    con.print(
        # allocate's name for the fact (its uplift_vs_none), not "expected collections"
        f"uplift vs no action scheduled {s['uplift_vs_none_scheduled']:,.2f} {currency} of "
        f"{s['uplift_vs_none_requested']:,.2f} (gain over no contact, after cost), bound "
        f"{s['bound']:,.2f}, gap {s['gap']:.4%} ({s['method']}), {s['runtime_s']:.2f} s\n"
        f"checker ({s['jurisdiction']} profile, independent of the scheduler): "
        f"{s['checker_violations']} violations",
        highlight=False,
    )
    if written:
        con.print(f"dialler files: {len(written)} in {written[0].parent}", highlight=False)
