"""How commands read the account they work on and the settings around it: ``--policy`` and
``--model`` TOML files, ``--set`` what-ifs on an account, ``--forecast``, and one account
from a file or a book (``--account-id``). Shared by ``plan``, ``evaluate``, ``offer`` and
``serve``; the solver is imported inside the functions (start-up time).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from commands.common import file_option, set_option, stack_options
from commands.sources import prefixed_db_options

if TYPE_CHECKING:
    from solver.core.problems import ProblemLog


def load_policy(
    path: Path | None, settings: tuple[str, ...], *, account_fields: bool = True
) -> tuple[Any, list[str]]:
    """The policy from ``--policy`` plus ``--set policy.KEY=VALUE`` overrides; the rest are
    account fields (``FIELD=VALUE`` as given), for :func:`apply_account_settings`.

    Every ``--set`` of the command is checked here, before any account is read, and all
    problems are raised together in one list (``--set KEY: what is wrong``, personal values
    withheld): malformed items, unknown keys, policy values, account values, and
    ``model.*`` keys, which a command taking ``--model`` does not set. Only the checks
    across an account's fields (arrears within the balance...) wait for the account
    (:meth:`solver.core.account.Account.override`). ``account_fields=False``: a command on
    a portfolio, where a field value would apply to every account, takes policy keys only.
    """
    from solver.core.account import setting_problems
    from solver.core.policy import Policy
    from solver.core.problems import NOT_RUN, SET_OPTION, ProblemLog

    policy = Policy.from_toml(path) if path is not None else Policy()
    log = ProblemLog(SET_OPTION)
    account: dict[str, str] = {}
    for item in settings:  # in the order typed, so the problems are listed in that order
        kind, key, value = _classify(item, log, account_fields)
        if kind == "policy":
            policy = policy.with_settings([(key, value)], log)
        elif kind == "account":
            for name, problem in setting_problems({key: value}):
                log.setting(name, problem)
            account[key] = value  # a later --set of the same field wins
    log.raise_if_any(outcome=NOT_RUN)
    return policy, [f"{name}={value}" for name, value in account.items()]


def _classify(item: str, log: ProblemLog, account_fields: bool = True) -> tuple[str, str, str]:
    """One ``--set`` item as ``(kind, key, value)``: kind ``policy`` (the key as typed),
    ``account`` (the field name) or ``""`` when the item has a problem, added to ``log``.

    Which keys: ``policy.KEY`` (and a bare policy key that is not an account field,
    ``max_dti``) for the policy; ``FIELD`` or ``account.FIELD`` (SPEC §3) for the account.
    """
    from solver.core.policy import POLICY_KEYS
    from solver.core.schema import COLUMNS
    from solver.core.settings_schema import did_you_mean

    typed, sep, value = item.partition("=")
    typed = typed.strip()
    field = typed.removeprefix("account.")
    if not sep or not typed:
        log.setting(typed or item, "expected KEY=VALUE")
    elif typed.startswith("policy.") or (typed in POLICY_KEYS and typed not in COLUMNS):
        return "policy", typed, value
    elif typed.startswith("model."):
        log.setting(
            typed,
            "behaviour-model parameters are not set with --set here; give them in a "
            "--model TOML file",
        )
    elif field not in COLUMNS:
        names = [*POLICY_KEYS, *(f"policy.{k}" for k in POLICY_KEYS)]
        # difflib's own cutoff (0.6), as before this used the one helper
        close = did_you_mean(field, [*COLUMNS, *names] if account_fields else names, 0.6)
        log.setting(typed, "unknown key" + (f" (did you mean {close!r}?)" if close else ""))
    elif not account_fields:
        log.setting(typed, "an account field: only policy keys can be set here (policy.KEY=VALUE)")
    else:
        return "account", field, value.strip()
    return "", typed, value


def load_model(path: Path | None) -> Any:
    """The behaviour model from ``--model`` (default: built-in parameters)."""
    from solver.core.model import BehaviourModel

    return BehaviourModel.from_toml(path) if path is not None else BehaviourModel()


def forecast_option(note: str) -> Callable[[Any], Any]:
    """``--forecast FILE`` or ``--forecast-db URL --forecast-table/--forecast-query``: a long
    table of income forecasts and inflows (as ``forecast_path``: a path or a
    :class:`~solver.core.sources.BookSource`)."""
    return stack_options(
        file_option(
            "--forecast",
            "Income forecast table (.csv, .parquet, .xlsx) with columns account_id, month "
            "and income and/or inflow; it sets income_forecast and inflows. " + note,
            dest="forecast_path",
        ),
        prefixed_db_options("forecast_path", "forecast-", "forecast"),
    )


def policy_model_options(policy_help: str, model_help: str) -> Callable[[Any], Any]:
    """``--policy`` and ``--model`` (TOML files, as ``policy_path`` and ``model_path``)."""
    return stack_options(
        file_option("--policy", policy_help, dest="policy_path"),
        file_option("--model", model_help, dest="model_path"),
    )


#: ``--set`` of the commands that work on one account (plan, evaluate, offer).
ACCOUNT_SET_OPTION = set_option(
    "KEY=VALUE",
    "Override an account field (income=8000) or a policy key (policy.max_dti=0.6); repeatable.",
)


def apply_account_settings(account: Any, settings: list[str]) -> Any:
    """The account with ``--set FIELD=VALUE`` overrides (every SPEC §3 field, including
    ``income_forecast=3800;3800;4200`` and ``inflows=3:20000;12:5000``; an empty value
    unsets an optional field). Problems name ``--set FIELD`` (never the value of a
    personal field); ``settings`` are the account items :func:`load_policy` checked, so
    only the checks across the account's fields are left to fail here."""
    from solver.core.problems import NOT_RUN, SET_OPTION, ProblemLog

    if not settings:
        return account
    log = ProblemLog(SET_OPTION)
    changes: dict[str, str] = {}
    for item in settings:
        kind, key, value = _classify(item, log)
        if kind == "policy":  # load_policy applies them
            log.setting(key, "not an account field")
        elif kind == "account":
            changes[key] = value
    log.raise_if_any(outcome=NOT_RUN)
    return account.override(changes, source=SET_OPTION)


def read_one_account(account_file: Any, account_id: str | None, forecast_path: Any) -> Any:
    """The account to plan: the file's only account, or ``--account-id`` of a book."""
    from solver.core.readers import ManyAccountsError, read_account
    from solver.errors import InputError

    try:
        return read_account(account_file, forecast=forecast_path, account_id=account_id)
    except ManyAccountsError as exc:
        example = exc.account_ids[0] if exc.account_ids else "ID"
        book = account_file if isinstance(account_file, Path) else "(the same book options)"
        raise InputError(
            f"{account_file}: expected one account, found {exc.count:,} (a portfolio): pick "
            f"one with --account-id ID (e.g. --account-id {example}), or plan every account "
            f"with `workout plan-portfolio {book} --out plans.csv`"
        ) from None
