"""The service's JSON and letter endpoints (``/api/...``), one handler per officer's step.

Every handler calls the same library functions as the command line: ``POST /api/plan``
answers with the bytes ``workout plan --format json`` prints for the same account,
what-ifs and policy; ``POST /api/evaluate`` with those of ``workout evaluate --format
json``. An account with no feasible plan is a 200 whose body says ``"status":
"INFEASIBLE"`` with the explanation, where the command line prints the same bytes and exits
3: the request was answered in full (the answer is "nothing can be offered"), and an HTTP
error would make a client throw away the explanation the officer needs; 4xx stays for
requests the service cannot answer (422 bad input, 409 an option that cannot be offered).
The handlers that compute are plain functions: FastAPI runs them in its thread
pool, capped at :attr:`ServiceConfig.threads`; the light ones are coroutines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from solver.core import BehaviourModel, Policy
from solver.core.schema import COLUMNS
from solver.core.writers import json_safe, json_text
from solver.errors import InputError
from solver.officer.counter_offer import evaluate_counter_offer
from solver.officer.dating import as_of_or_today
from solver.officer.documents import counter_offer_document, plan_document, plan_result
from solver.officer.letter import LetterSettings, render_letter, software_version
from solver.officer.offers import choose_offer
from solver.service.audit.chain import content_hash
from solver.service.audit.record import decision_record
from solver.service.audit.trail import AuditTrail
from solver.service.models import (
    AccountRequest,
    DecisionRequest,
    EvaluateRequest,
    LetterRequest,
    PlanRequest,
)
from solver.service.requests import (
    RequestProblems,
    account_of,
    offered_proposal,
    policy_of,
    proposal_of,
    proposal_problem,
)
from solver.service.security import token_matches

#: ``option`` of a decision that offers no plan (recorded without a letter).
NO_OFFER = "none"
#: Most account ids a lookup lists.
MAX_LISTED = 50


@dataclass
class ServiceConfig:
    """What a running service holds: the policy, model and letter settings in force, the
    audit database, the token (``None``: loopback only) and the loaded book."""

    policy: Policy = field(default_factory=Policy)
    model: Any = field(default_factory=BehaviourModel)
    letter_settings: LetterSettings = field(default_factory=LetterSettings)
    db_url: str = "sqlite:///workout.db"
    token: str | None = None
    book: Any = None  # a validated portfolio (pandas DataFrame) or None
    book_name: str = ""
    #: Threads that run requests (FastAPI's thread pool). One by default: the solver's
    #: work is CPU-bound under Python's GIL, and on 3 Dec 2026 (2 cores, 100 requests in
    #: flight) one thread served 28-30 plans/s, two 23-25, four 19-21, forty (anyio's
    #: default) 15 -- every thread more makes every request slower. Light endpoints
    #: (health, the dependencies) run on the event loop and never wait for it.
    threads: int = 1
    #: Whether ``/docs`` serves the interactive Swagger UI. Off by default: FastAPI's page
    #: loads its script and styles from a CDN (jsdelivr), so on a bank network without
    #: outside access it is blank, and no package of ours ships those assets. The OpenAPI
    #: description (``/openapi.json``) is always served; ``workout serve --docs`` turns the
    #: page on where the CDN is reachable.
    docs: bool = False

    def __post_init__(self) -> None:
        self._index: dict[str, int] = {}
        if self.book is not None:
            ids = self.book["account_id"].astype(str).tolist()
            self._index = {account_id: i for i, account_id in enumerate(ids)}

    def account_fields(self, account_id: str) -> dict[str, Any] | None:
        """The SPEC §3 fields of a book account, as ``--account-id`` reads them."""
        i = self._index.get(account_id)
        if i is None:
            return None
        values = {name: self.book[name].iloc[i] for name in COLUMNS if name in self.book}
        # a book tells how many tiers were derived, not which: re-derive only when all were
        if self.book.attrs.get("tiers_derived", 0) == len(self.book):
            values["tier"] = ""
        return json_safe(values)

    @property
    def account_count(self) -> int:
        return len(self._index)

    def account_ids(self, prefix: str, limit: int) -> list[str]:
        return [i for i in self._index if i.startswith(prefix)][:limit]


def _settings(body: Any) -> list[str]:
    """The request's what-ifs and policy overrides as ``--set`` would spell them."""
    changes: dict[str, Any] = {}
    if body.what_if is not None:
        changes.update(body.what_if.model_dump(exclude_none=True))
    if body.policy is not None:
        changes.update(
            {f"policy.{k}": v for k, v in body.policy.model_dump(exclude_none=True).items()}
        )
    return [f"{key}={value}" for key, value in changes.items()]


def _json(payload: Any, status_code: int = 200) -> Response:
    return Response(json_text(payload), status_code=status_code, media_type="application/json")


async def service_config(request: Request) -> ServiceConfig:
    """The running service's :class:`ServiceConfig` (a FastAPI dependency)."""
    return request.app.state.config


async def audit_trail(request: Request) -> AuditTrail:
    """The running service's audit trail (a FastAPI dependency)."""
    return request.app.state.trail


Config = Annotated[ServiceConfig, Depends(service_config)]
Trail = Annotated[AuditTrail, Depends(audit_trail)]


async def authorised(request: Request, config: Config) -> None:
    """Refuse a request without the bearer token when the service has one (401)."""
    if config.token is not None and not token_matches(
        request.headers.get("authorization"), config.token
    ):
        raise HTTPException(
            status_code=401,
            detail=[{"field": "authorization", "message": "missing or wrong bearer token"}],
            headers={"WWW-Authenticate": "Bearer"},
        )


router = APIRouter(prefix="/api", dependencies=[Depends(authorised)])


def _inputs(config: ServiceConfig, body: AccountRequest) -> tuple[Any, Policy]:
    return account_of(body), policy_of(config.policy, body)


def _planned(config: ServiceConfig, body: AccountRequest) -> tuple[Any, Policy, Any]:
    """The account, the policy and the plan options of a request, searched as ``POST
    /api/plan`` searches them (objective, within, thorough): a letter or a decision offers
    the plan the officer was shown, not a re-plan with other settings."""
    account, policy = _inputs(config, body)
    plans = plan_result(
        account,
        policy,
        config.model,
        objective=body.objective,
        within_pct=body.within_pct,
        thorough=body.thorough,
    )
    return account, policy, plans


@router.get("/health", summary="Liveness and the versions in force")
async def health(config: Config) -> dict[str, Any]:
    return {
        "status": "ok",
        "version": software_version(),
        "policy_hash": content_hash(json_safe(config.policy.to_dict())),
        "model_hash": content_hash(json_safe(config.model.to_dict())),
        "book": config.book_name or None,
        "accounts": config.account_count,
    }


@router.post("/plan", summary="Plan options for one account (= workout plan --format json)")
def plan(body: PlanRequest, config: Config) -> Response:
    _, _, result = _planned(config, body)
    # dated as `workout plan --as-of` dates its schedules (default today): the same bytes
    as_of = as_of_or_today(body.as_of)
    return _json(plan_document(result, body.objective, body.within_pct, as_of=as_of))


@router.post("/evaluate", summary="Evaluate a counter-offer (= workout evaluate --format json)")
def evaluate(body: EvaluateRequest, config: Config) -> Response:
    account, policy = _inputs(config, body)
    proposal = proposal_of(body)
    assert proposal is not None  # required by EvaluateRequest
    try:  # a proposal that cannot be booked (it never repays the balance)
        offer = evaluate_counter_offer(account, proposal, policy, config.model)
    except InputError as exc:
        raise RequestProblems([proposal_problem(exc)]) from None
    # dated as `workout evaluate --as-of` dates its schedules (default today): the same bytes
    return _json(counter_offer_document(offer, as_of=as_of_or_today(body.as_of)))


@router.get("/accounts", summary="Account ids of the loaded book starting with a prefix")
def account_ids(
    config: Config,
    prefix: str = Query("", max_length=128),
    limit: int = Query(20, ge=1, le=MAX_LISTED),
) -> dict[str, Any]:
    return {"book": config.book_name or None, "account_ids": config.account_ids(prefix, limit)}


@router.get("/accounts/{account_id}", summary="Look up an account of the loaded book")
def account(account_id: str, config: Config) -> Response:
    if config.book is None:
        message = "no book is loaded (workout serve --book FILE)"
        raise HTTPException(404, detail=[{"field": "account_id", "message": message}])
    found = config.account_fields(account_id)
    if found is None:
        message = f"no account {account_id!r} in {config.book_name}"
        raise HTTPException(404, detail=[{"field": "account_id", "message": message}])
    return _json({"account": found})


@dataclass(frozen=True)
class _Offered:
    """A letter request resolved: the account, policy, plans, the choice and its letter."""

    account: Any
    policy: Policy
    plans: Any
    choice: Any
    html: str


def _offer(config: ServiceConfig, body: LetterRequest) -> _Offered:
    proposal = offered_proposal(body)  # before planning: a request that cannot be offered
    account, policy, plans = _planned(config, body)
    try:
        choice = choose_offer(
            account,
            body.option,
            plans,
            policy=policy,
            model=config.model,
            proposal=proposal,
            as_of=body.as_of,
            valid_days=config.letter_settings.valid_days,
        )
    except InputError as exc:
        if str(exc).startswith("--option"):
            raise
        raise RequestProblems([proposal_problem(exc)]) from None
    html = render_letter(choice.offer, config.letter_settings, body.lang)
    # choice.plans: with a frontier plan chosen, the options shown list it (the audit record)
    return _Offered(account, policy, choice.plans, choice, html)


@router.post(
    "/letter", response_class=HTMLResponse, summary="Preview an offer letter (not recorded)"
)
def letter(body: LetterRequest, config: Config) -> HTMLResponse:
    return HTMLResponse(_offer(config, body).html)


@router.post("/decisions", summary="Record the officer's decision in the audit trail")
def decide(body: DecisionRequest, config: Config, trail: Trail) -> Response:
    if body.option == NO_OFFER:
        offered = _Offered(*_planned(config, body), None, "")
    else:
        offered = _offer(config, body)
    choice = offered.choice
    record = decision_record(
        offered.account,
        offered.plans,
        officer_id=body.officer_id,
        policy=offered.policy.for_product(offered.account.product),
        model=config.model,
        chosen_option=NO_OFFER if choice is None else choice.offer.label,
        letter_html=None if choice is None else offered.html,
        settings=_settings(body),
        proposal=proposal_of(body),
        counter=None if choice is None else choice.counter,
    )
    receipt = trail.append(record)
    return _json(
        {
            **receipt.to_dict(),
            "account_id": offered.account.account_id,
            "option": record.chosen_option,
            "notes": [] if choice is None else list(choice.notes),
            "letter_url": None if choice is None else f"/api/decisions/{receipt.seq}/letter",
        }
    )


@router.get(
    "/decisions/{seq}/letter",
    response_class=HTMLResponse,
    summary="The offer letter of a recorded decision (checked against its hash)",
)
def recorded_letter(seq: int, trail: Trail) -> HTMLResponse:
    try:
        return HTMLResponse(trail.letter(seq))
    except InputError as exc:  # no such record, or a decision without a letter
        raise HTTPException(404, detail=[{"field": "seq", "message": str(exc)}]) from None


@router.get("/audit/verify", summary="Verify the audit trail's hash chain")
def verify(trail: Trail) -> Response:
    return _json(trail.verify().to_dict())
