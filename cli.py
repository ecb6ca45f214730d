"""`workout`: the command-line front end.

This file only builds the click group and maps errors to exit codes (SPEC §11).
Each command family lives in its own module under ``commands/`` (parse options,
call ``solver``, format); none of them holds business logic. Command modules import
``solver`` and other heavy libraries inside the command functions so that
``workout --help`` starts fast.
"""

from __future__ import annotations

import importlib
import sys

import click

# name -> "module:attribute" of a click command or group; loaded on demand so that
# `workout --help` and `workout validate` do not pay for ortools, dask or matplotlib.
COMMANDS: dict[str, str] = {
    "validate": "commands.data:validate",
    "generate": "commands.data:generate",
    "plan": "commands.plan:plan",
    "plan-portfolio": "commands.plan:plan_portfolio",
    "allocate": "commands.allocate:allocate",
    "bench": "commands.bench:bench",
    "scenario": "commands.scenario:scenario",
    "experiment": "commands.scenario:experiment",
    "risk": "commands.risk:risk",
}

SHORT_HELP: dict[str, str] = {
    "validate": "Check a portfolio or account file and summarise it.",
    "generate": "Generate synthetic sample data (portfolios).",
    "plan": "Restructuring options for one account, ranked by NPV.",
    "plan-portfolio": "Recommended restructuring plan for every account.",
    "allocate": "Allocate collection treatments and teams with a proven gap.",
    "bench": "Run benchmark instance sets (e.g. GAP).",
    "scenario": "Run what-if scenarios with Monte Carlo outcomes.",
    "experiment": "Champion/challenger splits and their evaluation.",
    "risk": "Roll rates, early-warning scores and model calibration.",
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


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="loan-workout")
def workout() -> None:
    """Workout: repayment-restructuring optimizer for delinquent consumer loans.

    \b
    plan / plan-portfolio  restructuring options that maximise expected recovery
    allocate               collection treatments and collectors, with a proven gap
    scenario               what-if Monte Carlo scenarios for portfolio managers
    risk                   roll rates, early warning, calibration
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the group and map errors to SPEC §11 exit codes."""
    from commands.common import run_cli

    sys.exit(run_cli(workout, argv))


if __name__ == "__main__":
    main()
