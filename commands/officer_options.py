"""The options ``workout evaluate`` and ``workout offer`` share: the account (read exactly
as ``workout plan`` reads it) and the customer's proposal (parsed into a
:class:`~solver.officer.Proposal`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from commands import accounts
from commands.options import SHARED_HELP, choice_option
from commands.sources import input_path


@dataclass(frozen=True)
class AccountInput:
    """The account options of a command: the file, the id in a book, the settings and the
    policy, model and forecast files (read as ``workout plan`` reads them)."""

    account_file: Path
    account_id: str | None
    settings: tuple[str, ...]
    policy_path: Path | None
    model_path: Path | None
    forecast_path: Any

    @property
    def inputs(self) -> dict[str, Path | None]:
        """The files read, by option, for :func:`commands.output.check_out`."""
        return {
            "ACCOUNT_FILE": self.account_file,
            "--policy": self.policy_path,
            "--model": self.model_path,
            "--forecast": input_path(self.forecast_path),
        }

    def load(self) -> tuple[Any, Any, Any]:
        """The account (with ``--set`` what-ifs), the policy and the behaviour model."""
        return accounts.load_account(
            self.account_file,
            self.account_id,
            self.forecast_path,
            self.policy_path,
            self.model_path,
            self.settings,
        )


def account_options(func: Any) -> Any:
    """ACCOUNT_FILE and the options that pick and adjust the account (as ``workout plan``);
    the command receives them as one :class:`AccountInput` (``source``)."""

    @functools.wraps(func)
    def command(**kwargs: Any) -> Any:
        fields = AccountInput.__dataclass_fields__
        source = AccountInput(**{name: kwargs.pop(name) for name in fields})
        return func(source=source, **kwargs)

    decorators = (
        click.argument("account_file", type=click.Path(dir_okay=False, path_type=Path)),
        click.option(
            "--account-id",
            "account_id",
            default=None,
            metavar="ID",
            help="This account of a portfolio file (CSV, Parquet, Excel, or TOML/JSON "
            "with several accounts); the whole book is validated.",
        ),
        accounts.ACCOUNT_SET_OPTION,
        accounts.policy_model_options(
            "Policy TOML (default: scenarios/policy.toml values).", SHARED_HELP["--model"]
        ),
        accounts.forecast_option("Rows of other accounts are errors."),
    )
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


def proposal_options(func: Any) -> Any:
    """The customer's proposal: ``--payments``, or ``--term``/``--holiday``/``--amount``;
    the command receives the :class:`~solver.officer.Proposal` or ``None`` (``proposal``)."""

    @functools.wraps(func)
    def command(**kwargs: Any) -> Any:
        names = ("payments", "term", "holiday", "holiday_mode", "amount")
        return func(proposal=proposal_of(*(kwargs.pop(name) for name in names)), **kwargs)

    decorators = (
        click.option(
            "--payments",
            default=None,
            metavar="LIST",
            help="The proposed monthly payments from month 1, e.g. '0*3,1500*24,1200' "
            "(AMOUNT*MONTHS repeats an amount); the last one becomes what clears the "
            "balance.",
        ),
        click.option(
            "--term",
            type=click.IntRange(1, 600),
            default=None,
            help="Proposed total months, holiday included (without --amount: level "
            "instalments after the holiday).",
        ),
        click.option(
            "--holiday",
            type=click.IntRange(0, 599),
            default=0,
            show_default=True,
            help="Proposed months without instalments at the start.",
        ),
        choice_option(
            "--holiday-mode",
            ["capitalize", "interest_only", "waive"],
            "Interest during the holiday: added to the balance, paid, or waived.",
        ),
        click.option(
            "--amount",
            type=click.FloatRange(min=0.0, min_open=True),
            default=None,
            help="Proposed monthly instalment after the holiday (without --term: paid "
            "until the balance is cleared).",
        ),
    )
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


def proposal_of(
    payments: str | None, term: int | None, holiday: int, holiday_mode: str, amount: float | None
) -> Any:
    """The proposal the options describe, or ``None`` when none is given."""
    from solver.errors import InputError
    from solver.officer.proposal import Proposal, parse_payments

    if payments is None and term is None and amount is None:
        if holiday:
            raise InputError("--holiday: give --term and/or --amount with it")
        return None
    if payments is not None and (term is not None or amount is not None or holiday):
        raise InputError(
            "--payments: give either the payments or --term/--holiday/--amount, not both"
        )
    try:
        if payments is not None:
            return Proposal(payments=parse_payments(payments))
        return Proposal(term=term, holiday=holiday, holiday_mode=holiday_mode, amount=amount)
    except InputError as exc:  # name the option as it was given: "holiday: ..." -> "--holiday: ..."
        field, sep, rest = str(exc).partition(": ")
        if sep and field in ("payments", "term", "holiday", "holiday_mode", "amount"):
            raise InputError(f"--{field.replace('_', '-')}: {rest}") from None
        raise
