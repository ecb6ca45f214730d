"""The service's request bodies (pydantic), generated from the same schemas as the CLI.

The account model is built from the SPEC §3 field table (:data:`solver.core.account.FIELDS`):
one pydantic field per column with its numeric bounds, text length limits and whether it is
required; the policy overrides from the :class:`~solver.core.Policy` fields. Pydantic checks
shape, types, sizes and bounds (a 422 naming the field); the account and the policy are
then built by the same code as for a file on the command line, so every rule and message of
the CLI applies, and the same inputs give the same result.

Every model forbids unknown keys (a typo is an error, as in a TOML account file).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator
from pydantic_core import PydanticCustomError

from solver.core.policy import POLICY_KEYS, Policy
from solver.core.schema import FIELDS, MAX_FORECAST_MONTHS, FieldSpec
from solver.domain import DEFERRAL_MODES
from solver.officer.dating import check_as_of, parse_as_of
from solver.officer.letter import LANGUAGES
from solver.officer.proposal import MAX_PAYMENTS_TEXT, MAX_PROPOSAL_MONTHS
from solver.plans.objectives import DEFAULT_OBJECTIVE, DEFAULT_WITHIN_PCT, OBJECTIVES

#: Longest text field of an account (ids, region, ...).
MAX_TEXT = 128
#: Most ``--set``-style what-ifs and policy overrides in one request.
MAX_OVERRIDES = 40

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _bounds(spec: FieldSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.lower is not None:
        out["gt" if spec.lower_open else "ge"] = spec.lower
    if spec.upper is not None:
        out["lt" if spec.upper_open else "le"] = spec.upper
    return out


def _field_type(spec: FieldSpec) -> Any:
    """The pydantic type of one account column (values checked again by the account's own
    validation, which also accepts the CLI's spellings: ``"12.5"``, ``"yes"``)."""
    if spec.kind in ("id", "text", "category"):
        return Annotated[str, Field(max_length=MAX_TEXT)]
    if spec.kind == "bool":
        return bool | Annotated[str, Field(max_length=8)]
    if spec.kind == "int":
        return Annotated[int, Field(**_bounds(spec))]
    if spec.kind in ("money", "float"):
        return Annotated[float, Field(allow_inf_nan=False, **_bounds(spec))]
    if spec.kind == "forecast":
        # strict: a quoted number inside the list is refused, as in a JSON account file
        amounts = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
        return (
            Annotated[list[amounts], Field(max_length=MAX_FORECAST_MONTHS)]
            | Annotated[str, Field(max_length=MAX_PAYMENTS_TEXT)]
        )  # no bare number: a JSON record refuses it (solver/core/cleaning.py says why)
    # inflows: [[month, amount], ...], [{"month": m, "amount": a}, ...] or "3:20000;12:5000"
    # strict, as a JSON account file: no quoted numbers, no true for month 1
    month = Annotated[int, Field(ge=1, strict=True)]
    amount = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
    pair = tuple[month, amount]
    return (
        Annotated[list[pair | dict[str, amount]], Field(max_length=MAX_FORECAST_MONTHS)]
        | Annotated[str, Field(max_length=MAX_PAYMENTS_TEXT)]
    )


def _account_model(name: str, *, all_optional: bool) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for spec in FIELDS:
        kind = _field_type(spec)
        required = spec.required and not all_optional
        fields[spec.name] = (
            (kind, Field(description=spec.description))
            if required
            else (kind | None, Field(default=None, description=spec.description))
        )
    return create_model(name, __config__=_STRICT, **fields)


#: One account: the SPEC §3 fields (required ones required; the rest take their defaults).
AccountIn = _account_model("AccountIn", all_optional=False)
#: What-ifs: any account fields to change before planning (``--set FIELD=VALUE``).
WhatIf = _account_model("WhatIf", all_optional=True)


def _policy_type(name: str) -> Any:
    current = getattr(Policy(), name)
    if isinstance(current, tuple):
        return list[Literal[DEFERRAL_MODES]]  # type: ignore[valid-type]
    if isinstance(current, str):  # currency: an ISO 4217 code, checked by Policy
        return Annotated[str, Field(min_length=3, max_length=3)]
    if isinstance(current, bool):  # need_test, holidays_mid_plan (a bool is an int too)
        return bool
    if isinstance(current, int):
        # Months and payment phases: at most the longest schedule the CLI takes from a
        # customer (``evaluate --term``, MAX_PROPOSAL_MONTHS, 50 years; the policy's own
        # max_term_months has the same bound): a request's max_term_months of 100000 held
        # the worker thread ~48 s, and over HTTP a bound protects the other officers' requests.
        return Annotated[int, Field(ge=0, le=MAX_PROPOSAL_MONTHS)]
    return Annotated[float, Field(allow_inf_nan=False)]


#: Policy overrides (``--set policy.KEY=VALUE``), checked by :class:`~solver.core.Policy`.
_POLICY_FIELDS: dict[str, Any] = {
    key: (_policy_type(key) | None, Field(default=None)) for key in POLICY_KEYS
}
PolicyPatch = create_model("PolicyPatch", __config__=_STRICT, **_POLICY_FIELDS)


class ProposalIn(BaseModel):
    """A customer's counter-offer: ``payments`` (or ``payments_text``), or
    ``term``/``holiday``/``amount`` (:class:`~solver.officer.Proposal`)."""

    model_config = _STRICT

    payments: (
        Annotated[
            list[Annotated[float, Field(ge=0, allow_inf_nan=False)]],
            Field(min_length=1, max_length=MAX_PROPOSAL_MONTHS),
        ]
        | None
    ) = None
    payments_text: Annotated[str, Field(max_length=MAX_PAYMENTS_TEXT)] | None = Field(
        default=None, description="As --payments: '0*3,1500*24,1200'"
    )
    term: Annotated[int, Field(ge=1, le=MAX_PROPOSAL_MONTHS)] | None = None
    holiday: Annotated[int, Field(ge=0, le=MAX_PROPOSAL_MONTHS - 1)] = 0
    holiday_mode: Literal[DEFERRAL_MODES] = "capitalize"  # type: ignore[valid-type]
    amount: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None


class AccountRequest(BaseModel):
    """An account, what-ifs, policy overrides and the objective: what every officer's
    request plans with (``workout plan FILE --set ... --objective ... --within ...``)."""

    model_config = _STRICT

    account: AccountIn  # type: ignore[valid-type]
    what_if: WhatIf | None = None  # type: ignore[valid-type]
    policy: PolicyPatch | None = None  # type: ignore[valid-type]
    objective: Literal[OBJECTIVES] = DEFAULT_OBJECTIVE  # type: ignore[valid-type]
    within_pct: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] = DEFAULT_WITHIN_PCT
    thorough: bool = False


class PlanRequest(AccountRequest):
    """``POST /api/plan``: the options of ``workout plan FILE --set ... --objective ...
    --within ... --as-of ... --format json``.

    ``as_of`` (``YYYY-MM-DD``, default today) is the date the schedules' ``due_date``
    count from, the rule of ``--as-of`` (:mod:`solver.officer.dating`).
    """

    as_of: date | None = Field(
        default=None,
        description="Date the schedules' due dates count from, YYYY-MM-DD: month t falls due"
        " t months later (default: today), as workout plan --as-of.",
    )

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of(cls, value: Any) -> Any:
        """Read as the command line reads ``--as-of`` (``YYYY-MM-DD`` only, not pydantic's
        other spellings of a date such as a Unix time)."""
        if value is None:
            return value
        try:
            return check_as_of(value) if isinstance(value, date) else parse_as_of(value)
        except ValueError as exc:  # a message without pydantic's "Value error, " prefix
            raise PydanticCustomError("as_of", str(exc)) from None


class EvaluateRequest(PlanRequest):
    """``POST /api/evaluate``: the plan request's account and ``as_of`` (the schedules'
    due dates, as ``workout evaluate --as-of`` dates them), and a counter-offer."""

    proposal: ProposalIn


class LetterRequest(PlanRequest):
    """``POST /api/letter``: the letter of one option (a preview: nothing is recorded),
    dated ``as_of``."""

    option: Annotated[str, Field(min_length=1, max_length=64)]
    proposal: ProposalIn | None = None
    lang: Literal[LANGUAGES] = "zh-en"  # type: ignore[valid-type]


class DecisionRequest(LetterRequest):
    """``POST /api/decisions``: the officer's decision, recorded in the audit trail.

    ``option`` is the plan offered (a label, a family, or ``counter_offer`` with
    ``proposal``), or ``none`` when no plan is offered (recorded without a letter).
    """

    officer_id: Annotated[str, Field(min_length=1, max_length=64)]

    @field_validator("officer_id")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("must be printable characters")
        return value
