"""``--out FILE`` and ``--format table|json|csv``: one meaning and one writer everywhere.

The decision (issue 15), the same for every command that produces a table:

* ``--out FILE`` writes the command's result table (``validate``: the report; ``plan``:
  the options; ``allocate``: the assignments; ...). The format comes from the extension:
  ``.csv``, ``.parquet``, ``.xlsx`` or ``.json`` (a list of records), written by the one
  table writer :func:`solver.core.writers.write_table`, atomically. An unknown extension is a usage
  error (exit 2) naming the option, and an output that cannot be written (or is one of
  the inputs) is refused; both before any work (:func:`check_out`).
* ``--format`` chooses what stdout shows: ``table`` (readable tables that fit the
  terminal, the default), ``json`` (the command's report as one JSON document) or
  ``csv`` (the main table as CSV: the same text ``--out FILE.csv`` writes). With json or
  csv nothing else is printed on stdout, so the output can be piped; notes go to stderr.
* Commands whose output is a set of reports (``scenario run``, ``scenario sweep``,
  ``experiment evaluate``) take ``--out-dir DIR`` and the same ``--format``; commands
  whose output is a model file (``risk fit``, ``risk calibrate``) take ``--out FILE.toml``.

tests/test_cli_output.py holds every command to it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from commands.options import choice_option, shared_help
from solver.domain import Status
from solver.officer.dating import NOT_WRITTEN, as_of_or_today, parse_as_of
from solver.officer.verdict import Verdict
from solver.plans.objectives import (
    CUSTOMER_OBJECTIVE,
    DEFAULT_OBJECTIVE,
    DEFAULT_WITHIN_PCT,
    OBJECTIVES,
)

#: What ``--format`` may be, for every command.
FORMATS = ("table", "json", "csv")
#: Output extensions of ``--out FILE`` (the formats of :func:`solver.core.writers.write_table`).
OUT_SUFFIXES = (".csv", ".parquet", ".xlsx", ".json")
#: The help of every ``--out FILE`` that writes a table starts with this.
OUT_HELP = "Write the table to this file (atomically); the format comes from the extension: "
OUT_HELP += ", ".join(OUT_SUFFIXES[:-1]) + " or " + OUT_SUFFIXES[-1] + "."


def format_option(detail: str = "") -> Callable[[Any], Any]:
    """``--format table|json|csv`` (as ``fmt``), with its one meaning and ``detail``."""
    return choice_option("--format", FORMATS, shared_help("--format", detail), dest="fmt")


def out_help(what: str, extra: str = "") -> str:
    """The help of an ``--out FILE`` that writes ``what`` (a table)."""
    text = OUT_HELP.replace("the table", what, 1)
    return f"{text} {extra}" if extra else text


def out_option(
    what: str,
    extra: str = "",
    *,
    required: bool = False,
    dest: str | None = None,
    flag: str = "--out",
) -> Callable[[Any], Any]:
    """The ``--out FILE`` option (or another ``flag``) of a command that writes ``what`` (a
    table), its format taken from the extension (:func:`out_help` says so)."""
    names = (flag,) if dest is None else (flag, dest)
    return click.option(
        *names,
        type=click.Path(dir_okay=False, path_type=Path),
        required=required,
        default=None,
        help=out_help(what, extra),
    )


def check_out(
    path: str | os.PathLike[str] | None,
    *,
    option: str = "--out",
    inputs: Mapping[str, Any] | None = None,
    outputs: Mapping[str, Any] | None = None,
) -> str | None:
    """Refuse, before any work, an ``--out FILE`` that cannot be written (exit 2).

    The extension must be one of :data:`OUT_SUFFIXES` (the message names ``option``), the
    file may not be one of ``inputs`` (label -> path) nor one of ``outputs``, and its
    directory must be writable (:func:`solver.core.atomic.check_writable`).

    Returns
    -------
    str or None
        The format (``csv``, ``parquet``, ``excel``, ``json``); ``None`` without a path.
    """
    if path is None:
        return None
    from solver.core.atomic import check_writable
    from solver.core.writers import output_format

    fmt = output_format(path, option=option)
    check_writable(path, option=option, inputs=inputs or {}, outputs=outputs)
    return fmt


def write_out(
    path: str | os.PathLike[str],
    table: Any,
    *,
    sheet_name: str = "results",
    payload: Any = None,
    sheets: Mapping[str, Any] | None = None,
) -> Path:
    """Write the result to ``--out FILE`` by its extension (atomically).

    ``table`` (a DataFrame) is written by :func:`solver.core.writers.write_table`; a ``.json`` file
    gets ``payload`` instead when the command has a richer JSON document (``plan``,
    ``validate``), and an ``.xlsx`` file gets one sheet per entry of ``sheets`` when
    given.
    """
    from solver.core.writers import output_format, write_json, write_table, write_workbook

    fmt = output_format(path)
    if fmt == "json" and payload is not None:
        return write_json(payload, path)
    if fmt == "excel" and sheets:
        return write_workbook(sheets, path)
    return write_table(table, path, sheet_name=sheet_name)


def emit(fmt: str, *, table: Any = None, payload: Any = None) -> bool:
    """Print the machine-readable output of ``--format json|csv`` on stdout.

    ``json`` prints ``payload`` (made JSON-safe), ``csv`` prints ``table`` as
    :func:`solver.core.writers.write_table` writes it. Returns ``False`` for ``table`` (the caller
    prints its readable tables), ``True`` when it printed.
    """
    if fmt == "table":
        return False
    from solver.core.writers import csv_text, json_text

    if fmt == "json":
        click.echo(json_text(payload), nl=False)
    else:
        click.echo(csv_text(table), nl=False)
    return True


def wrote(path: Any, fmt: str, out: Any = None, quiet: bool = False) -> None:
    """Say ``wrote PATH``: on stdout with the readable tables, on stderr with json/csv
    (there not with ``--quiet``: stdout is the result)."""
    if path is None or (quiet and fmt != "table"):
        return
    if fmt == "table":
        if out is not None:
            out.print(f"wrote {path}", highlight=False)
        else:
            click.echo(f"wrote {path}")
    else:
        click.echo(f"wrote {path}", err=True)


#: ``--as-of``'s help on the commands that write schedules (``plan``, ``plan-portfolio``).
AS_OF_HELP = (
    "Date the schedules' due_date column counts from: month t falls due t months"
    " later, as in the offer letter (default: today; same input and date, same output)."
)


class AsOfDate(click.ParamType):
    """``--as-of``'s type: a date written ``YYYY-MM-DD`` that exists and lies in the accepted
    range, read by :func:`solver.officer.dating.parse_as_of` (the service's ``as_of`` rule);
    the value as a :class:`datetime.date`.

    Not ``click.DateTime``: it answers every refused date with "does not match the format
    '%Y-%m-%d'", which sends the user of ``2026-02-30`` (written right, a day no calendar
    has) to look for a typo in the form.
    """

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import datetime as dt

        if isinstance(value, dt.date):
            return value
        try:
            return parse_as_of(value)
        except ValueError as exc:
            # the value first, quoted when it is not a date at all: `2026-02-30 is not a
            # calendar date`, `'31/01/2026': must be a date written YYYY-MM-DD`
            shown = f"{value!r}:" if str(exc) == NOT_WRITTEN else str(value)
            self.fail(f"{shown} {exc}", param, ctx)


def as_of_option(help_text: str = AS_OF_HELP) -> Any:
    """``--as-of YYYY-MM-DD`` (as ``as_of``, a :class:`datetime.date` or ``None``): the date
    the written schedules are dated from.

    One definition of a plan's first due date, the offer letter's (``workout offer
    --as-of``, :attr:`solver.core.schedule.Schedule.due_dates`): month t falls due t
    calendar months after it, the day clipped to the month's end. The default is today's
    date, so a run is reproducible given the same input and the same date (tests pass one).
    A date that does not exist, in another form or outside the accepted range is a usage
    error (exit 2, :class:`AsOfDate`). ``help_text``: the command's own wording (the
    offer's is the letter's date).
    """
    return click.option(
        "--as-of",
        "as_of",
        type=AsOfDate(),
        default=None,
        metavar="YYYY-MM-DD",
        help=help_text,
    )


def as_of_date(as_of: Any) -> Any:
    """The date of ``--as-of`` (:func:`as_of_option`): the option's, else today's."""
    return as_of_or_today(as_of)


def objective_options(func: Any) -> Any:
    """``--objective bank|customer`` and ``--within PCT``: which plan is recommended, the one
    definition of ``workout plan``'s and ``workout offer``'s (the offer's letter holds a
    plan the officer was shown). The command receives ``objective`` and ``within_pct``
    (defaulted); the plan is chosen by :func:`solver.officer.documents.plan_result`.

    A ``--within`` without ``--objective customer`` is a usage error: silently ignored, it
    would let an officer believe the customer objective ran.
    """
    import functools

    @functools.wraps(func)
    def command(**kwargs: Any) -> Any:
        if kwargs["within_pct"] is not None and kwargs["objective"] != CUSTOMER_OBJECTIVE:
            from solver.errors import InputError

            raise InputError(f"--within applies only with --objective {CUSTOMER_OBJECTIVE}")
        if kwargs["within_pct"] is None:
            kwargs["within_pct"] = DEFAULT_WITHIN_PCT
        return func(**kwargs)

    # the one definition of the choices, the default (OBJECTIVES' first, DEFAULT_OBJECTIVE)
    # and --within's default (solver.plans.objectives, a module without imports: --help
    # loads no planner)
    objective = choice_option(
        "--objective",
        OBJECTIVES,
        f"{DEFAULT_OBJECTIVE}: recommend the highest NPV passing the NPV test;"
        f" {CUSTOMER_OBJECTIVE}: the plan cheapest for the customer (least customer cost)"
        " among those within --within of the bank's best.",
    )
    within = click.option(
        "--within",
        "within_pct",
        type=click.FloatRange(0.0, 100.0),
        default=None,
        metavar="PCT",
        # default None (not shown by click): a --within without --objective customer is
        # refused, so the default is applied later and named here
        help="With --objective customer: how far below the best NPV (percent) a plan may be"
        f" (default: {DEFAULT_WITHIN_PCT:g}).",
    )
    return objective(within(command))


# -- colours of outcomes ----------------------------------------------------------------
# One colour per kind of outcome on every "STATUS: explanation" line of --format table:
# green may be offered, yellow fails the NPV test, red nothing within policy, cyan keep
# the contract (the need test). A counter-offer's verdict takes the colour of the plan
# status it mirrors, so `workout evaluate` and `workout plan` read alike.

#: Colour of a plan result's status (``workout plan``).
STATUS_COLOURS: dict[Status, str] = {
    Status.RECOMMENDED: "green",
    Status.NPV_TEST_FAILED: "yellow",
    Status.CONTRACT_AFFORDABLE: "cyan",
    Status.INFEASIBLE: "red",
}
#: Colour of a counter-offer's verdict (``workout evaluate``): its plan status's.
VERDICT_COLOURS: dict[Verdict, str] = {
    Verdict.ACCEPTABLE: STATUS_COLOURS[Status.RECOMMENDED],
    Verdict.NPV_TEST_FAILED: STATUS_COLOURS[Status.NPV_TEST_FAILED],
    Verdict.BREAKS_POLICY: STATUS_COLOURS[Status.INFEASIBLE],
    Verdict.CONTRACT_AFFORDABLE: STATUS_COLOURS[Status.CONTRACT_AFFORDABLE],
}
