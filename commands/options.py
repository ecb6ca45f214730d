"""Options that several commands share: one meaning, one type and one range per option
name (issue 15; tests/test_cli_consistency.py holds every command to it), and the click
decorators that build them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from solver.core.limits import MAX_SEED

# -- shared option types (one meaning and one range per option name, issue 15) -----------

#: Largest seed: CP-SAT takes a 32-bit signed seed, and every command takes the same range.
SEED_MAX = MAX_SEED
#: Largest ``--time-limit`` (seconds): one week. A limit is a promise to stop; "no limit"
#: is not offered because the deterministic work budget of the solvers is derived from it.
TIME_LIMIT_MAX = 7 * 24 * 3600.0


class FiniteFloat(click.FloatRange):
    """A ``click.FloatRange`` that also refuses ``nan`` and ``inf`` (exit 2).

    ``click.FloatRange`` lets ``nan`` through (every comparison with it is false) and
    ``float("inf")`` through when there is no upper bound.
    """

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import math

        number = click.FLOAT.convert(value, param, ctx) if not isinstance(value, float) else value
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(number, param, ctx)


#: ``--seed``: a whole number in [0, 2**31 - 1] for every command.
SEED = click.IntRange(0, SEED_MAX)
#: ``--jobs``: local worker processes, for every command that has them.
JOBS = click.IntRange(1, 64)
#: ``--time-limit``: finite seconds in [0, one week]; ``inf`` and ``nan`` are refused.
TIME_LIMIT = FiniteFloat(0.0, TIME_LIMIT_MAX)
#: Help suffix of every ``--time-limit`` (the decision on ``inf``, documented once).
TIME_LIMIT_HELP = (
    f" A finite number of seconds, at most {TIME_LIMIT_MAX:,.0f} (one week); "
    "'inf' and 'nan' are refused (there is no 'no limit' setting)."
)


#: The opening sentence of the help of every option that several commands share: one
#: meaning (and one type) per option name (issue 15). A command adds only what is
#: particular to it (:func:`shared_help`); tests/test_cli_consistency.py holds every
#: command to it. The early-warning model of ``risk score`` is ``--ew-model``; the search
#: workers of ``bench gap`` are ``--search-workers``.
SHARED_HELP: dict[str, str] = {
    "--model": "Behaviour-model TOML (default: the built-in parameters).",
    "--workers": "Workers of the local Dask cluster (with --engine dask; default: one per core).",
    "--jobs": "Local worker processes (1 to 64) for the per-account work.",
    "--seed": f"Random seed, a whole number from 0 to {SEED_MAX:,}; the same seed gives the "
    "same result.",
    "--time-limit": "Wall-clock seconds the solver may use.",
    "--quiet": "No progress bar or spinner on stderr (results, warnings and errors still print).",
    "--jurisdiction": "Legal floor of contact rules: cn (default, the home market), us, uk, or a "
    "profile TOML (scenarios/compliance/); overrides the catalogue's [compliance] jurisdiction. "
    "A bank setting looser than the floor is exit 2.",
    "--format": "What stdout shows: table (readable tables that fit the terminal), json (the "
    "report as one JSON document) or csv (the main table as CSV).",
}


def stack_options(*options: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """One decorator applying click ``options`` in the order written (as if stacked)."""

    def decorate(func: Any) -> Any:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def int_option(flag: str, low: int, high: int, default: int, text: str) -> Any:
    """``flag`` as a whole number from ``low`` to ``high`` with a shown default."""
    return click.option(
        flag, type=click.IntRange(low, high), default=default, show_default=True, help=text
    )


def jurisdiction_option() -> Any:
    """``--jurisdiction``, checked as it is parsed: a value that names no profile is exit 2
    naming the option and the value, before any file is read or written (checked later,
    with the catalogue it overrides, the error named the treatments file)."""

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        from solver.allocation.jurisdiction import profile_problem

        problem = None if value is None else profile_problem(value)
        if problem is not None:
            raise click.BadParameter(problem, ctx, param)
        return value

    return click.option(
        "--jurisdiction", default=None, callback=check, help=shared_help("--jurisdiction")
    )


def seed_option(detail: str = "") -> Any:
    """``--seed`` (default 0, shown), its help the shared one plus ``detail``."""
    return click.option(
        "--seed", type=SEED, default=0, show_default=True, help=shared_help("--seed", detail)
    )


def set_option(metavar: str, text: str, *, required: bool = False) -> Any:
    """``--set KEY=VALUE`` (repeatable, as ``settings``): what-if overrides of the inputs."""
    return click.option(
        "--set", "settings", multiple=True, required=required, metavar=metavar, help=text
    )


def quiet_option() -> Any:
    """``--quiet``: no progress bar or spinner on stderr."""
    return click.option("--quiet", is_flag=True, help=shared_help("--quiet"))


def choice_option(flag: str, choices: Sequence[str], text: str, *, dest: str | None = None) -> Any:
    """``flag`` as one of ``choices``, the first the default (shown)."""
    names = (flag,) if dest is None else (flag, dest)
    return click.option(
        *names, type=click.Choice(list(choices)), default=choices[0], show_default=True, help=text
    )


def shared_help(option: str, detail: str = "") -> str:
    """The help of a shared ``option``: its one meaning, then ``detail`` for this command."""
    text = SHARED_HELP[option]
    if option == "--time-limit":
        text += TIME_LIMIT_HELP
    return f"{text} {detail}" if detail else text


def file_option(
    flag: str,
    text: str,
    *,
    dest: str | None = None,
    required: bool = False,
    dir_okay: bool = False,
) -> Callable[[Any], Any]:
    """``flag FILE``: a file path (a :class:`~pathlib.Path`, ``None`` when not given) as
    ``dest`` (default: click's name for ``flag``), with the help ``text``; ``dir_okay``
    lets it name a directory too (a Parquet dataset, a folder of instances)."""
    names = (flag,) if dest is None else (flag, dest)
    return click.option(
        *names,
        type=click.Path(dir_okay=dir_okay, path_type=Path),
        default=None,
        required=required,
        help=text,
    )


def catalogue_options(teams_help: str = "Teams and collectors TOML") -> Callable[[Any], Any]:
    """``--treatments FILE`` and ``--teams FILE`` (the allocation's and the calendar's)."""
    return stack_options(
        file_option(
            "--treatments", "Treatment catalogue TOML (default: scenarios/treatments.toml)."
        ),
        file_option("--teams", f"{teams_help} (default: scenarios/teams.toml)."),
    )
