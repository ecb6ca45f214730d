"""The officer's HTTP service: :func:`create_app` assembles the FastAPI app.

* ``/api/...`` -- the JSON and letter endpoints (:mod:`solver.service.api`), behind the
  bearer token when one is set;
* ``/`` and ``/static/...`` -- the officer's page (:mod:`solver.service.web`);
* ``/openapi.json`` -- the OpenAPI description; ``/docs`` -- its Swagger UI, only with
  ``ServiceConfig.docs`` (``serve --docs``: the page loads its assets from a CDN).

Errors never show a traceback: a request the models or the solver refuse is a 422 whose
``detail`` lists ``{"field": "account.income", "message": ...}``; an option that cannot
be offered is a 409; an unknown path a 404 naming ``path``, a wrong method a 405 naming
``method``; a body over the limit a 413 (:class:`~solver.service.security.BodyLimit`);
anything else a 500 with ``{"detail": "internal error"}`` (logged on the server).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from solver.errors import InfeasibleError, InputError, WorkoutError
from solver.officer.letter import software_version
from solver.service.api import ServiceConfig, router
from solver.service.audit.trail import AuditTrail
from solver.service.requests import RequestProblems
from solver.service.security import MAX_BODY_BYTES, BodyLimit
from solver.service.web import STATIC, page_router

log = logging.getLogger("workout.service")

#: The field a routing error (raised by Starlette with a plain text detail) is about.
_ROUTING_FIELDS = {404: "path", 405: "method"}

#: pydantic's names of the members of a union, which are not fields (``loc`` parts).
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "dict", "list", "tuple", "date"})


def _field(loc: tuple[Any, ...]) -> str:
    parts = [
        str(p)
        for p in loc[1:]
        if not (isinstance(p, str) and (p in _TYPE_TAGS or not p.isidentifier()))
    ]
    return ".".join(parts) or "body"


def _problems(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """pydantic's errors as ``{"field", "message"}`` (one per field; the value is never
    echoed: it may be a personal figure)."""
    merged: dict[str, list[str]] = {}
    for error in errors:
        where = (
            "body" if error.get("type") == "json_invalid" else _field(tuple(error.get("loc", ())))
        )
        messages = merged.setdefault(where, [])
        if error.get("msg") not in messages:
            messages.append(str(error.get("msg")))
    return [{"field": f, "message": " or ".join(m)} for f, m in merged.items()]


@contextlib.asynccontextmanager
async def _threads(app: FastAPI) -> AsyncIterator[None]:
    """Cap the thread pool that runs the computing handlers at ``config.threads``."""
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = app.state.config.threads
    yield


def create_app(config: ServiceConfig | None = None, *, max_body: int = MAX_BODY_BYTES) -> Any:
    """The service as an ASGI app (FastAPI inside a request-size limit)."""
    config = config or ServiceConfig()
    trail = AuditTrail(config.db_url)
    app = FastAPI(
        lifespan=_threads,
        # Swagger UI and ReDoc load from a CDN: off unless asked (ServiceConfig.docs)
        docs_url="/docs" if config.docs else None,
        redoc_url=None,
        title="Workout: the restructuring officer's service",
        version=software_version(),
        description="Plan options, counter-offers, offer letters and the audit trail for "
        "one delinquent account at a time. JSON answers are the bytes the command line "
        "prints (`workout plan --format json`, `workout evaluate --format json`). With a "
        "token, every /api request needs `Authorization: Bearer <token>`.",
    )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _problems(list(exc.errors()))}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # the endpoints raise theirs with [{field, message}]; Starlette's own (an unknown
        # path, a wrong method) carry plain text: put it in the same shape
        detail: Any = exc.detail
        if isinstance(detail, str):
            field = _ROUTING_FIELDS.get(exc.status_code, "")
            detail = [{"field": field, "message": detail}]
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestProblems)
    async def refused(request: Request, exc: RequestProblems) -> JSONResponse:
        return JSONResponse({"detail": [p.to_dict() for p in exc.problems]}, status_code=422)

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> JSONResponse:
        field = "option" if str(exc).startswith("--option") else "body"
        message = str(exc).removeprefix("--option ")
        return JSONResponse({"detail": [{"field": field, "message": message}]}, status_code=422)

    @app.exception_handler(InfeasibleError)
    async def infeasible(request: Request, exc: InfeasibleError) -> JSONResponse:
        message = str(exc).removeprefix("--option ")
        return JSONResponse({"detail": [{"field": "option", "message": message}]}, status_code=409)

    @app.exception_handler(WorkoutError)
    async def failed(request: Request, exc: WorkoutError) -> JSONResponse:
        return JSONResponse({"detail": [{"field": "", "message": str(exc)}]}, status_code=409)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    app.include_router(router)
    docs = "/docs" if config.docs else "/openapi.json"
    app.include_router(page_router(auth=config.token is not None, book=config.book_name, docs=docs))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.config = config
    app.state.trail = trail
    return BodyLimit(app, max_body)
