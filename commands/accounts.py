"""How commands read the account they work on and the settings around it: ``--policy`` and
``--model`` TOML files, ``--set`` what-ifs on an account, ``--forecast``, and one account
from a file or a book (``--account-id``). Shared by ``plan``, ``evaluate``, ``offer`` and
``serve``; the solver is imported inside the functions (start-up time).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from commands.common import file_option, set_option, stack_options
from commands.sources import prefixed_db_options


def load_policy(path: Path | None, settings: tuple[str, ...]) -> tuple[Any, list[str]]:
    """The policy from ``--policy`` plus ``--set policy.KEY=VALUE`` overrides; the rest are account fields."""
    from solver.core.policy import POLICY_KEYS, Policy
    from solver.core.schema import COLUMNS

    policy = Policy.from_toml(path) if path is not None else Policy()
    rest: list[str] = []
    for item in settings:
        key = item.partition("=")[0].strip()
        if key.startswith("policy.") or (key in POLICY_KEYS and key not in COLUMNS):
            policy = policy.with_setting(item)
        else:
            rest.append(item)
    return policy, rest


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
    personal field)."""
    from solver.core.policy import POLICY_KEYS
    from solver.core.schema import COLUMNS
    from solver.errors import InputError

    if not settings:
        return account
    changes: dict[str, Any] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        key = key.strip().removeprefix("account.")
        if not sep:
            raise InputError(f"--set {item}: expected KEY=VALUE")
        if key not in COLUMNS:
            import difflib

            close = difflib.get_close_matches(
                key, sorted(COLUMNS) + [f"policy.{k}" for k in POLICY_KEYS], n=1
            )
            raise InputError(
                f"--set {item}: unknown field {key!r}"
                + (f" (did you mean {close[0]!r}?)" if close else "")
            )
        changes[key] = value.strip()
    return account.override(changes, source="--set")


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
