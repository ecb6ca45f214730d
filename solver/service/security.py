"""What keeps the service safe to run: loopback by default, a token for anything else, and
bounded request bodies.

* :func:`check_bind` refuses a non-loopback address without a token (a bank's network must
  not reach an open service by accident).
* :class:`BodyLimit` (ASGI middleware) answers 413 to a body over the limit, whether it
  announces its length or streams it, before the app parses anything (validation by the
  pydantic models then bounds every list and text inside it).
* :func:`token_matches` compares a presented bearer token in constant time.

The token guards ``/api/...`` (every answer with account data, every decision and letter),
not the page at ``/``, its static files or ``/docs``: those hold no data (the page is
the same HTML and script for everyone and asks the officer for the token, which it sends
as the bearer header), and a browser cannot add a header to the first page load. Anyone who
reaches the address can therefore see the empty page, never an account or a record.
"""

from __future__ import annotations

import errno
import ipaddress
import secrets
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from solver.errors import InputError

#: Largest request body (bytes): an account with a 600-month forecast fits many times over.
MAX_BODY_BYTES = 256 * 1024
#: Shortest token accepted for a non-loopback bind.
MIN_TOKEN_LENGTH = 16
#: Header that carries the token: ``Authorization: Bearer <token>``.
AUTH_SCHEME = "bearer"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1) or ``localhost``."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve on a non-loopback ``host`` without a token of at least
    :data:`MIN_TOKEN_LENGTH` characters (an :class:`~solver.errors.InputError`)."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise InputError(f"--token: at least {MIN_TOKEN_LENGTH} characters (got {len(token)})")
    if not is_loopback(host) and token is None:
        raise InputError(
            f"--host {host}: not a loopback address; serving beyond this machine needs "
            "--token (or $WORKOUT_TOKEN): every API request must then carry "
            "'Authorization: Bearer <token>'"
        )


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port``, handed to the server as it is.

    Binding before the service announces its address makes a port in use the caller's
    mistake (an :class:`~solver.errors.InputError` naming ``--port``: exit 2) instead of
    a line saying it serves followed by the server's failure. Options as uvicorn's own
    bind (IPv6 for an address with ``:``; ``SO_REUSEADDR``, so a port left in TIME_WAIT
    by a stopped service binds again; on Linux it never lets two listeners share a port).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InputError(
                f"--port {port}: address already in use on {host} (another process listens "
                "there: stop it or choose another --port)"
            ) from None
        if exc.errno == errno.EACCES:
            raise InputError(
                f"--port {port}: permission denied (ports below 1024 need privileges)"
            ) from None
        raise InputError(f"--host {host}: cannot listen on this address ({exc})") from None
    sock.set_inheritable(True)
    return sock


def token_matches(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``token`` (constant-time compare)."""
    if not header:
        return False
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != AUTH_SCHEME:
        return False
    return secrets.compare_digest(presented.strip().encode(), token.encode())


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``limit`` bytes."""

    def __init__(
        self, app: Callable[[Scope, Receive, Send], Awaitable[None]], limit: int = MAX_BODY_BYTES
    ):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        # Read the whole body first (requests are small): a streamed body over the limit
        # is refused before the app has seen any of it.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        body = (
            b'{"detail":[{"field":"body","message":"the request body is larger than '
            + str(self.limit).encode()
            + b' bytes"}]}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
