"""`workout`: the command-line front end.

This file only builds the click group and maps errors to exit codes (SPEC §11).
Each command family lives in its own module under ``commands/`` (parse options,
call ``solver``, format); none of them holds business logic. Command modules import
``solver`` and other heavy libraries inside the command functions so that
``workout --help`` starts fast.
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_at_start(signum: int, frame: object) -> None:
    """SIGINT/SIGTERM before ``run_cli`` takes over (imports, start-up): nothing has been
    opened or started yet, so end at once with the same line and code (issue 15)."""
    name = "SIGINT" if signum == signal.SIGINT else "SIGTERM"
    os.write(2, f"interrupted by {name} (no partial output written)\n".encode())
    os._exit(128 + signum)


def _catch_early_signals() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupted_at_start)


# The `workout` program (not an in-process import by tests): from the first line, a signal
# gives exit 128 + N and one line instead of a KeyboardInterrupt traceback during imports.
# Not in a process that multiprocessing spawned (a Dask nanny or worker): it imports this
# module again with the parent's argv, and the handler would replace the SIGINT it must
# ignore, so a Ctrl-C killed a starting cluster and its processes each printed the line.
_PROGRAM = (
    __name__ == "__main__" or os.path.basename(sys.argv[0] if sys.argv else "") == "workout"
) and not any("multiprocessing" in arg for arg in getattr(sys, "orig_argv", ()))
if _PROGRAM:
    _catch_early_signals()

import importlib  # noqa: E402

import click  # noqa: E402

# name -> "module:attribute" of a click command or group; loaded on demand so that
# `workout --help` and `workout validate` do not pay for ortools, dask or matplotlib.
COMMANDS: dict[str, str] = {
    "validate": "commands.data:validate",
    "generate": "commands.data:generate",
    "plan": "commands.plan:plan",
    "plan-portfolio": "commands.plan_portfolio:plan_portfolio",
    "allocate": "commands.allocate:allocate",
    "calendar": "commands.calendar:calendar",
    "replan": "commands.replan:replan",
    "bench": "commands.bench:bench",
    "scenario": "commands.scenario:scenario",
    "experiment": "commands.experiment:experiment",
    "risk": "commands.risk:risk",
    "evaluate": "commands.officer:evaluate",
    "offer": "commands.officer:offer",
    "audit": "commands.audit:audit",
    "serve": "commands.serve:serve",
}

SHORT_HELP: dict[str, str] = {
    "validate": "Check a portfolio or account file and summarise it.",
    "generate": "Generate synthetic sample data (portfolios).",
    "plan": "Restructuring options for one account, ranked by NPV.",
    "plan-portfolio": "Recommended restructuring plan for every account.",
    "allocate": "Allocate collection treatments and teams with a proven gap.",
    "calendar": "Contact calendar of an allocation, checked against the law.",
    "replan": "Next step for restructured accounts that broke their plan.",
    "bench": "Run benchmark instance sets (e.g. GAP).",
    "scenario": "Run what-if scenarios with Monte Carlo outcomes.",
    "experiment": "Champion/challenger splits and their evaluation.",
    "risk": "Roll rates, early-warning scores and model calibration.",
    "evaluate": "Evaluate a customer's counter-offer against the policy and the NPV test.",
    "offer": "Write the printable bilingual offer letter of one plan.",
    "audit": "Verify, list and export the audit trail of officers' decisions.",
    "serve": "Serve the officer's web page and JSON API (FastAPI).",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
            return getattr(module, attr)
        except (ImportError, AttributeError):
            return None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing help must not import the command modules (fast start).
        rows = [(name, SHORT_HELP.get(name, "")) for name in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _set_verbose(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--verbose``: let messages show personal values for this run (restored on exit)."""
    if not value:
        return
    import os

    from commands.common import VERBOSE_ENV

    previous = os.environ.get(VERBOSE_ENV)
    os.environ[VERBOSE_ENV] = "1"

    def restore() -> None:
        if previous is None:
            os.environ.pop(VERBOSE_ENV, None)
        else:
            os.environ[VERBOSE_ENV] = previous

    ctx.call_on_close(restore)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="loan-workout")
@click.option(
    "--verbose",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_verbose,
    help="Show the values of personal fields (income, expenses, other_debt, credit_score, "
    "the income forecast) in error messages; they are withheld otherwise. Give it before "
    "the command.",
)
def workout() -> None:
    """Workout: repayment-restructuring optimizer for delinquent consumer loans.

    \b
    plan / plan-portfolio  restructuring options that maximise expected recovery
    allocate               collection treatments and collectors, with a proven gap
    calendar               when each account is contacted, checked against the law
    scenario               what-if Monte Carlo scenarios for portfolio managers
    risk                   roll rates, early warning, calibration

    Every command has --help with an example.

    \b
    Examples:
      workout generate portfolio --n 2000 --seed 7 --out out/portfolio.csv
      workout plan scenarios/sample_account.toml
      workout --verbose plan scenarios/sample_account.toml --set income=8000
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the group and map errors to SPEC §11 exit codes."""
    _catch_early_signals()  # `python -c "import cli; cli.main()"` too
    from commands.common import run_cli

    code = run_cli(workout, argv)
    # done and reported: a signal while the interpreter exits changes nothing
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    if code in (128 + signal.SIGINT, 128 + signal.SIGTERM):
        # Interrupted, reported and cleaned up: end now. Libraries' exit hooks would run
        # otherwise (Dask's closes a half-started cluster for up to 10 s and may print a
        # traceback), after the one line and past the 2 s an interruption may take.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    main()
