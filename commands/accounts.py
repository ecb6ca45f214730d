"""How commands read the account they work on and the settings around it: ``--policy`` and
``--model`` TOML files, ``--set`` what-ifs on an account, ``--forecast``, and one account
from a file or a book (``--account-id``). Shared by ``plan``, ``evaluate``, ``offer`` and
``serve``; the solver is imported inside the functions (start-up time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from commands.options import file_option, set_option, stack_options
from commands.sources import prefixed_db_options

if TYPE_CHECKING:
    from solver.core.problems import ProblemLog


def load_policy(
    path: Path | None, settings: tuple[str, ...], *, account_fields: bool = True
) -> tuple[Any, list[str]]:
    """The policy from ``--policy`` plus ``--set policy.KEY=VALUE`` overrides; the rest are
    account fields (``FIELD=VALUE`` as given).

    Every ``--set`` of the command is checked here, before any account is read, and all
    problems are raised together in one list (``--set KEY: what is wrong``, personal values
    withheld): malformed items, unknown keys, policy values, account values, and
    ``model.*`` keys, which a command taking ``--model`` does not set. A command on one
    account reads it with :func:`load_account` instead, which adds the checks across the
    account's fields to the same list. ``account_fields=False``: a command on a portfolio,
    where a field value would apply to every account, takes policy keys only.
    """
    from solver.core.problems import NOT_RUN

    policy, changes, log = _checked_settings(path, settings, account_fields)
    log.raise_if_any(outcome=NOT_RUN)
    return policy, [f"{name}={value}" for name, value in changes.items()]


def load_account(
    account_file: Any,
    account_id: str | None,
    forecast_path: Any,
    policy_path: Path | None,
    model_path: Path | None,
    settings: tuple[str, ...],
) -> tuple[Any, Any, Any]:
    """The account (with its ``--set`` what-ifs), the policy and the behaviour model of a
    command on one account (``plan``, ``evaluate``, ``offer``).

    Every ``--set`` problem is raised in one list (exit 2, nothing run): each item's own, in
    the order typed (:func:`load_policy`), then the checks across the account's fields
    (arrears within the balance, no vehicle on a card:
    :func:`solver.core.account_checks.cross_field_problems`), which need the account read first.
    The policy file is read first and the model file last, as before; an account that
    cannot be read lets the ``--set`` problems found so far be told first (they were told
    before the account was read).
    """
    from solver.core.account_checks import cross_field_problems
    from solver.core.problems import NOT_RUN
    from solver.errors import InputError

    policy, changes, log = _checked_settings(policy_path, settings, True)
    if log.count and not changes:  # nothing across fields to check: no need to read
        log.raise_if_any(outcome=NOT_RUN)
    try:
        account = read_one_account(account_file, account_id, forecast_path)
    except InputError:
        log.raise_if_any(outcome=NOT_RUN)
        raise
    for key, problem in cross_field_problems(account, changes):
        log.setting(key, problem)
    log.raise_if_any(outcome=NOT_RUN)
    model = load_model(model_path)
    # checked: the problems of `changes` were listed above (the rules run once)
    return account.override(changes, checked=True) if changes else account, policy, model


def _checked_settings(
    path: Path | None, settings: tuple[str, ...], account_fields: bool
) -> tuple[Any, dict[str, str], ProblemLog]:
    """The policy (``--policy`` and the policy ``--set`` items), the account ``--set``
    items (field -> value, a later one of a field winning) and the log of every item's own
    problem, in the order typed, not raised."""
    from solver.core.account_checks import setting_problems
    from solver.core.policy import Policy
    from solver.core.problems import SET_OPTION, ProblemLog

    policy = Policy.from_toml(path) if path is not None else Policy()
    log = ProblemLog(SET_OPTION)
    account: dict[str, str] = {}

    def policy_items() -> Iterator[tuple[str, str]]:
        # read lazily by with_settings, so the problems are listed in the order typed; one
        # call, so a rule across policy keys is checked where the settings end
        for item in settings:
            kind, key, value = _classify(item, log, account_fields)
            if kind == "policy":
                yield key, value
            elif kind == "account":
                for name, problem in setting_problems({key: value}):
                    log.setting(name, problem)
                account[key] = value  # a later --set of the same field wins

    return policy.with_settings(policy_items(), log), account, log


def _classify(item: str, log: ProblemLog, account_fields: bool = True) -> tuple[str, str, str]:
    """One ``--set`` item as ``(kind, key, value)``: kind ``policy`` (the key as typed),
    ``account`` (the field name) or ``""`` when the item has a problem, added to ``log``.

    Which keys: ``policy.KEY`` (and a bare policy key that is not an account field,
    ``max_dti``) for the policy; ``FIELD`` or ``account.FIELD`` (SPEC §3) for the account.

    Decision (session 21, on "should ``--set max_dti=0.5`` be refused with a pointer to
    ``policy.max_dti``?"): a bare policy key stays taken, as it has been since session 18
    (scripts use it, and ``tests/test_s18_whatif.py`` holds it); what would make it
    ambiguous -- a name that is both an account field and a policy key -- is refused,
    asking for ``account.KEY`` or ``policy.KEY``, so that adding such a field or key can
    never silently change what a command line sets (no name is both today). ``scenario
    --set`` refuses a bare policy key (its keys are the scenario file's, where ``max_dti``
    belongs in ``[policy]``) with the same unknown-key wording as here
    (:func:`solver.core.settings_words.unknown_setting_problem`).
    """
    from solver.core.policy import POLICY_KEYS
    from solver.core.problems import POLICY_SET_FORM, SET_FORM
    from solver.core.schema import COLUMNS
    from solver.core.settings_words import unknown_setting_problem

    typed, sep, value = item.partition("=")
    typed = typed.strip()
    field = typed.removeprefix("account.")
    if not sep or not typed:
        # the form this command takes: a portfolio command takes policy keys only
        form = SET_FORM if account_fields else POLICY_SET_FORM
        log.setting(typed or item, f"expected {form}")
    elif typed in POLICY_KEYS and typed in COLUMNS:
        log.setting(
            typed,
            f"both an account field and a policy key: give account.{typed} or policy.{typed}",
        )
    elif typed.startswith("policy.") or typed in POLICY_KEYS:
        return "policy", typed, value
    elif typed.startswith("model."):
        log.setting(
            typed,
            "behaviour-model parameters are not set with --set here; give them in a "
            "--model TOML file",
        )
    elif field not in COLUMNS:
        names = [f"policy.{k}" for k in POLICY_KEYS]
        accepted = [*COLUMNS, *names] if account_fields else names
        log.setting(typed, unknown_setting_problem(field, accepted))
    elif not account_fields:
        log.setting(
            typed, f"an account field: only policy keys can be set here ({POLICY_SET_FORM})"
        )
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
