"""Broken plans (issue 17 item 5): each restructured account's status and next step.

A *restructured* account is one the book flags ``has_plan`` (SPEC §3: a signed plan being
honoured). Its payment history is the long format of :mod:`solver.risk.history`
(docs/history.md); the rules, with the ``[replan]`` policy of ``scenarios/replan.toml``:

* A month is **missed** when ``amount_paid < amount_due`` in whole cents (``amount_due``
  already includes overdue amounts, so catching up means paying it in full).
* ``missed`` = the number of consecutive missed months at the end of the account's history.
* A **re-age** happened in a month when ``dpd`` falls from > 0 to 0 although that month's
  ``amount_due`` was not paid: the delinquency was reset without the arrears being paid.
  ``reages`` counts them over the whole history (the history is the only record; the book
  has no column for it).

Status and step (first rule that applies):

========================================== ============== ===============
rule                                        status         step
========================================== ============== ===============
last month ``paid`` or ``charged_off``      that status    ``none``
no history rows for the account             ``no_history`` ``monitor``
``missed == 0``                             ``performing`` ``monitor``
``missed <= cure_window_months``            ``in_cure``    ``cure_window``
broken, ``reages < max_reages``             ``broken``     ``reage``
broken, re-aged already                     ``broken``     ``escalate``
========================================== ============== ===============

:func:`steer_eligibility` makes the allocation follow the steps (``workout allocate
--replan``): for ``cure_window``, ``reage`` and ``escalate`` accounts the plan is not being
honoured, so the book's ``has_plan`` stop no longer applies (every other protected flag
still does); ``cure_window`` accounts then get gentle treatments only, ``reage`` accounts
gentle treatments or the senior call that offers a plan, ``escalate`` accounts anything
the other rules allow (legal and field visits included). The lifted stop itself is
:func:`lift_plan_stop`, which ``workout calendar --replan/--payment-history`` applies too
(docs/calendar.md), and :func:`load_steps` reads the steps either command is given.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from solver.allocation.compliance import Eligibility, eligibility, flag_column
from solver.allocation.plans_table import REAGE_PLAN_COLUMNS
from solver.allocation.treatments import PLAN_OFFER
from solver.core.tables import read_table
from solver.errors import InputError

__all__ = [
    "LIFTED_STEPS",
    "STEPS",
    "STEP_OPTIONS",
    "ReplanPolicy",
    "check_step_sources",
    "lift_plan_stop",
    "load_steps",
    "read_steps",
    "reage_plans",
    "replan",
    "steer_eligibility",
    "step_forbids",
    "steps_by_account",
    "steps_from_history",
]

#: The steps, in the order of the table above (``none``: closed, nothing to do).
STEPS = ("none", "monitor", "cure_window", "reage", "escalate")
#: Steps of a plan that is not being honoured: the ``has_plan`` stop is lifted.
LIFTED_STEPS = ("cure_window", "reage", "escalate")
#: Eligibility codes added to solver.allocation.compliance.REASONS.
CURE_CODE, REAGE_CODE = 9, 10
#: The steps that narrow an account's treatments, with the eligibility code they give.
NARROWING_CODES = {"cure_window": CURE_CODE, "reage": REAGE_CODE}


def step_forbids(step: str, treatment: Any) -> bool:
    """Whether a replan step rules ``treatment`` out: a ``cure_window`` account gets gentle
    treatments only, a ``reage`` account those or the plan offer (module docstring). The one
    statement of the rule, for ``allocate``'s eligibility (:func:`steer_eligibility`) and the
    calendar's hold-back (:func:`solver.allocation.calendar.attempts.step_stops`).
    """
    if treatment.gentle or step not in NARROWING_CODES:
        return False
    return step == "cure_window" or treatment.name != PLAN_OFFER


DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "scenarios" / "replan.toml"


@dataclass(frozen=True)
class ReplanPolicy:
    """``[replan]`` keys (defaults and their reasons in ``scenarios/replan.toml``)."""

    cure_window_months: int = 2
    max_reages: int = 1

    @classmethod
    def from_toml(cls, path: Path | None = None) -> ReplanPolicy:
        """Read the ``[replan]`` table (the bundled file when ``path`` is None)."""
        path = path or DEFAULT_POLICY
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"{path}: cannot read the replan policy: {exc}") from exc
        table = data.get("replan", {})
        unknown = sorted(set(table) - {"cure_window_months", "max_reages"})
        if unknown:
            raise InputError(f"{path}: [replan] unknown key(s) {', '.join(unknown)}")
        values = {}
        for key, low, high in (("cure_window_months", 0, 12), ("max_reages", 0, 5)):
            value = table.get(key, getattr(cls, key))
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InputError(
                    f"{path}: [replan] {key} must be a whole number in [{low}, {high}], "
                    f"got {value!r}"
                )
            values[key] = value
        return cls(**values)


def _account_facts(history: pd.DataFrame) -> pd.DataFrame:
    """Per account of a validated history (sorted by account and month): ``missed``,
    ``reages``, ``last_status``, ``months`` (vectorised over the accounts' row runs)."""
    due = np.round(history["amount_due"].to_numpy(dtype=np.float64) * 100).astype(np.int64)
    paid = np.round(history["amount_paid"].to_numpy(dtype=np.float64) * 100).astype(np.int64)
    miss = paid < due
    ids = history["account_id"].astype(str).to_numpy()
    dpd = history["dpd"].to_numpy(dtype=np.int64)
    rows = np.arange(ids.size)
    starts = np.r_[0, np.flatnonzero(ids[1:] != ids[:-1]) + 1] if ids.size else rows
    ends = np.r_[starts[1:], ids.size].astype(np.int64)
    # the trailing run of missed months: from the last month paid (before the account's
    # first row when it never paid) to its last row
    last_paid = np.maximum.accumulate(np.where(miss, -1, rows))[ends - 1] if ids.size else rows
    missed = ends - 1 - np.maximum(last_paid, starts - 1)
    # a re-age: dpd falls from > 0 to 0 in a month not paid (never across two accounts)
    reaged = np.zeros(ids.size, dtype=np.int64)
    reaged[1:] = (dpd[:-1] > 0) & (dpd[1:] == 0) & miss[1:]
    reaged[starts] = 0
    reages = np.add.reduceat(reaged, starts) if ids.size else rows
    return pd.DataFrame(
        {
            "account_id": ids[starts],
            "missed": missed,
            "reages": reages,
            "last_status": history["status"].astype(str).to_numpy()[ends - 1],
            "months": ends - starts,
        }
    )


def replan(portfolio: Any, history: pd.DataFrame, policy: ReplanPolicy | None = None) -> Any:
    """Status and next step of every ``has_plan`` account of ``portfolio`` (rules above).

    Returns ``account_id, status, step, missed, reages, cure_months_left`` (book order).
    """
    policy = policy or ReplanPolicy()
    ids = portfolio["account_id"].astype(str).to_numpy()
    restructured = pd.DataFrame({"account_id": ids[flag_column(portfolio, "has_plan")]})
    facts = restructured.merge(_account_facts(history), on="account_id", how="left")
    known = facts["months"].notna().to_numpy()
    missed = facts["missed"].fillna(0).to_numpy(dtype=np.int64)
    reages = facts["reages"].fillna(0).to_numpy(dtype=np.int64)
    last = facts["last_status"].fillna("").astype(str).to_numpy(dtype=object)
    closed = np.isin(last, ("paid", "charged_off"))
    cure = missed <= policy.cure_window_months
    # the rules of the module's table, first match first
    rules = [~known, closed, missed == 0, cure]
    status = np.select(rules, ["no_history", last, "performing", "in_cure"], "broken")
    broken_step = np.where(reages < policy.max_reages, "reage", "escalate").astype(object)
    step = np.select(rules, ["monitor", "none", "monitor", "cure_window"], broken_step)
    in_cure = known & ~closed & (missed > 0) & cure
    return pd.DataFrame(
        {
            "account_id": facts["account_id"].to_numpy(dtype=object),
            "status": status.astype(object),
            "step": step.astype(object),
            "missed": missed,
            "reages": reages,
            "cure_months_left": np.where(in_cure, policy.cure_window_months - missed + 1, 0),
        }
    )


def reage_plans(portfolio: Any, steps: Any, policy: Any = None, model: Any = None) -> Any:
    """The new plan of every ``reage`` account (SPEC §6 search on the book's current state,
    :func:`solver.plans.portfolio.plan_portfolio`), as the columns of
    :data:`~solver.allocation.plans_table.REAGE_PLAN_COLUMNS`.

    A re-age needs a plan that passes the NPV test: when the search recommends none
    (``plan_status`` other than ``RECOMMENDED``), the step becomes ``escalate``.
    """
    from solver.domain import Status
    from solver.plans.portfolio import plan_portfolio

    out = steps.copy()
    for column in REAGE_PLAN_COLUMNS.values():
        out[column] = None
    wanted = out["step"] == "reage"
    if not wanted.any():
        return out
    ids = portfolio["account_id"].astype(str)
    plans = plan_portfolio(portfolio[ids.isin(out.loc[wanted, "account_id"])], policy, model)
    table = plans.table.set_index(plans.table["account_id"].astype(str))
    rows = out.index[wanted]
    for source, column in REAGE_PLAN_COLUMNS.items():
        out.loc[rows, column] = table.loc[out.loc[rows, "account_id"], source].to_numpy()
    failed = wanted & (out["plan_status"] != str(Status.RECOMMENDED))
    out.loc[failed, "step"] = "escalate"
    return out


def steps_from_history(
    portfolio: Any, history: Any, policy: ReplanPolicy | None = None, model: Any = None
) -> pd.DataFrame:
    """The steps ``workout replan`` writes, from a payment history (a path, read and checked
    by :func:`solver.risk.history.read_history`, or a validated history frame): the status
    and step of every restructured account (:func:`replan`) with the re-ages' new plans
    (:func:`reage_plans`). ``workout replan`` and ``workout allocate --history`` both call
    this."""
    from solver.risk.history import read_history

    frame = history if isinstance(history, pd.DataFrame) else read_history(history)
    return reage_plans(portfolio, replan(portfolio, frame, policy), model=model)


def steps_by_account(
    frame: pd.DataFrame, source: str = "steps", portfolio: Any = None
) -> dict[str, str]:
    """``account_id -> step`` of a steps table (``workout replan``'s columns).

    Every row is checked (an :class:`InputError` naming ``source``, the row, its account and
    the column, all problems up to the usual cap): a step not in :data:`STEPS`, a blank
    ``account_id``, an account given two different steps (which one would steer it?; the
    same step twice is harmless), and, with ``portfolio``, an account not in it -- the
    steps of another (or an older) book, which would steer nothing: rerun ``workout
    replan`` on this book.
    """
    from solver.core.columns import strip_text, text_blank
    from solver.core.messages import fmt_raw
    from solver.core.problems import ProblemLog

    missing = [c for c in ("account_id", "step") if c not in frame.columns]
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(missing)}")
    log = ProblemLog(source, np.arange(1, len(frame) + 1))
    ids = strip_text(frame["account_id"])
    blank = text_blank(ids)
    log.account_ids = ids.mask(blank, "")
    steps = frame["step"].astype(str).str.strip().to_numpy(dtype=object)
    log.add("account_id", blank, lambda i: "blank (every row needs its account)")
    log.add(
        "step",
        ~np.isin(steps, STEPS),
        lambda i: f"{fmt_raw(steps[i])} is not one of {', '.join(STEPS)}",
    )
    pairs = pd.DataFrame({"id": ids.to_numpy(dtype=object), "step": steps})[~blank]
    kinds = pairs.groupby("id", sort=False)["step"].nunique()
    conflicting = ids.isin(kinds.index[kinds > 1]).to_numpy(dtype=bool) & ~blank
    log.add(
        "step",
        conflicting,
        lambda i: f"{steps[i]!r}, but another row gives this account another step",
    )
    if portfolio is not None:
        book = set(portfolio["account_id"].astype(str))
        unknown = ~ids.isin(book).to_numpy(dtype=bool) & ~blank
        log.add(
            "account_id",
            unknown,
            lambda i: "not in the portfolio (steps of another book? rerun workout replan on it)",
        )
    log.raise_if_any(subject="replan steps")
    return dict(zip(ids.to_numpy(dtype=object).tolist(), steps.tolist(), strict=True))


def read_steps(path: Path, portfolio: Any = None) -> dict[str, str]:
    """``account_id -> step`` from a ``workout replan`` output (CSV/Parquet/Excel), every row
    checked (:func:`steps_by_account`; with ``portfolio``, its ids too)."""
    return steps_by_account(read_table(path, text_columns=("account_id",)), str(path), portfolio)


def _step_of(portfolio: Any, steps: Mapping[str, str]) -> np.ndarray:
    """Each book row's step ("" for an account without one)."""
    ids = portfolio["account_id"].astype(str).to_numpy()
    return np.array([steps.get(i, "") for i in ids], dtype=object)


def lift_plan_stop(portfolio: Any, steps: Mapping[str, str]) -> Any:
    """The book with ``has_plan`` cleared for the accounts whose step is in
    :data:`LIFTED_STEPS` (their plan is not being honoured, so its stop no longer applies;
    every other flag is kept). ``portfolio`` itself when nothing is left to lift -- no such
    account has ``has_plan`` set, as in a book this function returned already.

    The one definition of the lifted stop: :func:`steer_eligibility` (``workout allocate
    --replan/--history``) and ``workout calendar --replan/--payment-history`` (its
    scheduler and its checker) both read the book through it, so a broken plan's contact is
    scheduled exactly when the allocation was allowed to give it one.
    """
    return _lift(portfolio, _step_of(portfolio, steps))


def _lift(portfolio: Any, step: np.ndarray) -> Any:
    """:func:`lift_plan_stop` by each book row's step (:func:`_step_of`)."""
    if "has_plan" not in portfolio.columns:
        return portfolio
    lifted = np.isin(step, LIFTED_STEPS)
    flags = flag_column(portfolio, "has_plan")
    # a lifted book is returned as it is: the allocation lifts the book once and passes it
    # on to the eligibility and the result tables (solver.allocation.portfolio.allocate)
    if not (flags & lifted).any():
        return portfolio
    frame = portfolio.copy()
    frame["has_plan"] = flags & ~lifted
    return frame


#: The options that give and compute the replan steps, as ``workout allocate`` names them
#: (``workout calendar`` passes its own: ``--replan`` and ``--payment-history``).
STEP_OPTIONS = ("--replan", "--history")


def check_step_sources(
    steps_path: Path | None,
    history_path: Path | None,
    options: tuple[str, str] = STEP_OPTIONS,
) -> None:
    """Refuse the replan steps both given and computed (:class:`InputError`, exit 2).

    The one definition of the rule for every command that takes both (``options``: the
    command's names for the steps file and the payment history, which the message names):
    two sources of the steps would mean two allocations. :func:`load_steps` applies it;
    the commands call it before any work too, so the refusal comes first.
    """
    if steps_path is not None and history_path is not None:
        given, computed = options
        raise InputError(f"{given} gives the steps, {computed} computes them: give one, not both")


def load_steps(
    portfolio: Any,
    steps_path: Path | None = None,
    history_path: Path | None = None,
    options: tuple[str, str] = STEP_OPTIONS,
) -> dict[str, str] | None:
    """The replan steps by account: read from ``workout replan``'s output (``steps_path``,
    :func:`read_steps`, its ids checked against ``portfolio``), computed from a payment
    history (``history_path``, :func:`steps_from_history`, as ``workout replan`` computes
    them), or None without either; both is refused (:func:`check_step_sources`).
    ``options``: the calling command's names of the two (default ``workout allocate``'s),
    which the messages name. ``workout allocate`` and ``workout calendar`` read their
    options through it."""
    check_step_sources(steps_path, history_path, options)
    if steps_path is not None:
        return read_steps(steps_path, portfolio)
    if history_path is None:
        return None
    source = f"{options[1]} {history_path}"
    return steps_by_account(steps_from_history(portfolio, history_path), source)


def steer_eligibility(
    portfolio: Any, catalogue: Any, teams: Any, steps: Mapping[str, str]
) -> Eligibility:
    """The eligibility mask with the replan steps applied (module docstring); ``portfolio``
    may be the book :func:`lift_plan_stop` returned already (it is not lifted again)."""
    step = _step_of(portfolio, steps)
    elig = eligibility(_lift(portfolio, step), catalogue, teams)
    code = elig.code.copy()
    for t_idx, t in enumerate(catalogue.treatments):
        for name, step_code in NARROWING_CODES.items():
            if step_forbids(name, t):  # only where no other rule already rules it out
                code[t_idx][(step == name) & (code[t_idx] == 0)] = step_code
    return Eligibility(code=code, team_ok=elig.team_ok, names=elig.names)
