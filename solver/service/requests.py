"""From a validated request body to the solver's objects, as the command line builds them.

The account is built by :meth:`~solver.core.Account.from_mapping` (the code that reads a
TOML/JSON account file) and the what-ifs applied by :meth:`~solver.core.Account.override`
(``--set FIELD=VALUE``); policy overrides by :meth:`~solver.core.Policy.replace`; the
proposal by :class:`~solver.officer.Proposal`. Their :class:`~solver.errors.InputError`
messages become :class:`FieldProblem` lists naming the field (``account.income``), which
the app returns as a 422.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from solver.core import Account, Policy
from solver.core.schema import COLUMNS
from solver.errors import InputError
from solver.officer.offers import proposal_misfit
from solver.officer.proposal import Proposal, parse_payments

#: ``account: account_id X: principal: ...`` / ``what_if income: ...``: the column of a line.
_PROBLEM = re.compile(
    r"^(?:(?P<source>[a-z_]+)(?::| ) ?)?(?:account_id .*?: )?(?P<column>[a-z_]+): (?P<message>.*)$"
)


@dataclass(frozen=True)
class FieldProblem:
    """One problem of a request: the field (dotted path) and what is wrong."""

    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class RequestProblems(Exception):
    """A request the solver refused, with every problem by field (a 422)."""

    def __init__(self, problems: list[FieldProblem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


def field_problems(exc: InputError, section: str) -> list[FieldProblem]:
    """The problems of ``exc`` by field, ``section.column`` where a line names a column."""
    lines = exc.problems or [str(exc)]
    out = []
    for line in lines:
        match = _PROBLEM.match(line.strip())
        if match and match["column"] in COLUMNS:
            out.append(FieldProblem(f"{section}.{match['column']}", match["message"]))
        else:
            text = line.strip()
            if text.startswith(f"{section}: "):
                text = text[len(section) + 2 :]
            out.append(FieldProblem(section, text))
    return out


def account_of(body: Any) -> Account:
    """The account of a request (``account`` with the ``what_if`` changes applied)."""
    try:
        account = Account.from_mapping(body.account.model_dump(exclude_none=True), source="account")
    except InputError as exc:
        raise RequestProblems(field_problems(exc, "account")) from None
    changes = {} if body.what_if is None else body.what_if.model_dump(exclude_none=True)
    if not changes:
        return account
    try:
        return account.override(changes, source="what_if")
    except InputError as exc:
        raise RequestProblems(field_problems(exc, "what_if")) from None


def policy_of(base: Policy, body: Any) -> Policy:
    """``base`` with the request's ``policy`` overrides (as ``--set policy.KEY=VALUE``)."""
    changes = {} if body.policy is None else body.policy.model_dump(exclude_none=True)
    problems: list[FieldProblem] = []

    def blame(label: str, problem: str) -> None:
        # A rule across keys is reported against the change that broke it, which need not
        # be the key it is about (currency JPY after rounding 0.5 breaks rounding's rule);
        # the policy's message starts with the key it is about: name that one when the
        # request changed it too.
        about = problem.split(" ", 1)[0]
        problems.append(FieldProblem(f"policy.{about}" if about in changes else label, problem))

    policy = base.replace_in_order(
        (
            (f"policy.{key}", key, tuple(value) if isinstance(value, list) else value)
            for key, value in changes.items()
        ),
        blame,
    )
    if problems:
        raise RequestProblems(problems[:1])
    return policy


def proposal_of(body: Any) -> Proposal | None:
    """The counter-offer of a request (``None`` without one)."""
    given = getattr(body, "proposal", None)
    if given is None:
        return None
    data = given.model_dump()
    text = data.pop("payments_text")
    try:
        if text is not None:
            if data["payments"] is not None:
                raise InputError("payments_text: give payments or payments_text, not both")
            data["payments"] = parse_payments(text, option="payments_text")
        if data["payments"] is not None:
            if data["term"] is not None or data["amount"] is not None or data["holiday"]:
                raise InputError(
                    "payments: give either the payments or term/holiday/amount, not both"
                )
            return Proposal(payments=tuple(data["payments"]))
        return Proposal(
            term=data["term"],
            holiday=data["holiday"],
            holiday_mode=data["holiday_mode"],
            amount=data["amount"],
        )
    except InputError as exc:
        raise RequestProblems([proposal_problem(exc)]) from None


#: A proposal that does not fit the request's option
#: (:func:`solver.officer.offers.proposal_misfit`), in the request's names.
_MISFIT = {
    "missing": "option counter_offer needs the customer's proposal: payments or "
    "payments_text, or term/holiday/amount",
    "extra": "only option counter_offer takes a proposal",
}


def offered_proposal(body: Any) -> Proposal | None:
    """The proposal of a letter or decision request (:func:`proposal_of`), refused naming
    the ``proposal`` field when it does not fit the request's ``option`` (the rule of
    :func:`~solver.officer.offers.choose_offer`, whose message names the command line's
    options).
    """
    misfit = proposal_misfit(body.option, getattr(body, "proposal", None) is not None)
    if misfit is not None:
        raise RequestProblems([FieldProblem("proposal", _MISFIT[misfit])])
    return proposal_of(body)


def proposal_problem(exc: InputError) -> FieldProblem:
    """A proposal's :class:`~solver.errors.InputError` (``"term: ..."``) by field."""
    field, sep, message = str(exc).partition(": ")
    if sep and field.isidentifier() and field != "proposal":
        return FieldProblem(f"proposal.{field}", message)
    return FieldProblem("proposal", message if sep else str(exc))
