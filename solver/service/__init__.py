"""The restructuring officer's HTTP service (issue 16): FastAPI app, web page, security.

* :mod:`~solver.service.app` -- :func:`create_app`, error handling;
* :mod:`~solver.service.api` -- the ``/api`` endpoints and :class:`ServiceConfig`;
* :mod:`~solver.service.models` -- request bodies generated from the account and policy
  schemas;
* :mod:`~solver.service.requests` -- request bodies to accounts, policies, proposals;
* :mod:`~solver.service.security` -- loopback-or-token binds, the listening socket, bearer tokens, body limits;
* :mod:`~solver.service.web` -- the officer's page (templates and static files).
"""

from __future__ import annotations

from solver._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "create_app": "solver.service.app",
    "ServiceConfig": "solver.service.api",
    "check_bind": "solver.service.security",
    "listen": "solver.service.security",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
