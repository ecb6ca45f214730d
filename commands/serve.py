"""``workout serve``: the restructuring officer's HTTP service and web page (parse, call,
run). The app is :func:`solver.service.create_app`.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import click

from commands.accounts import load_model, load_policy, policy_model_options
from commands.audit import db_option
from commands.options import SHARED_HELP
from commands.output import format_option
from commands.sources import prefixed_db_options

#: Environment variable with the API token (``--token`` wins; prefer this: a command line
#: is visible to other users of the machine).
TOKEN_ENV = "WORKOUT_TOKEN"


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. A non-loopback address needs --token.",
)
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port."
)
@click.option(
    "--token",
    default=None,
    envvar=TOKEN_ENV,
    metavar="TOKEN",
    help="Require 'Authorization: Bearer TOKEN' on every /api request (at least 16 "
    "characters; also from $WORKOUT_TOKEN, which other users cannot read from the process "
    "list).",
)
@click.option(
    "--book",
    "book_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A portfolio (CSV, Parquet, Excel) whose accounts the page and GET "
    "/api/accounts/ID look up; validated when the service starts. Or a database table: "
    "--book-db URL with --book-table or --book-query (--db is the audit trail).",
)
@prefixed_db_options("book_path", "book-", "book")
@policy_model_options(
    "Policy TOML (default: scenarios/policy.toml values).", SHARED_HELP["--model"]
)
@click.option(
    "--letter-settings",
    "letter_settings_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML with the bank's letter settings (see scenarios/letter.toml).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Threads that compute answers. Plans are CPU-bound under Python's GIL: more "
    "threads make each request slower, not the service faster (see ServiceConfig.threads).",
)
@click.option(
    "--docs/--no-docs",
    "docs_ui",
    default=False,
    show_default=True,
    help="Serve the interactive API docs (Swagger UI) at /docs. Off by default: that page "
    "loads its script from a CDN and is blank without internet access; the OpenAPI JSON "
    "is always at /openapi.json.",
)
@db_option
@format_option("Here json prints the service's address as one JSON line when it starts.")
def serve(
    host: str,
    port: int,
    token: str | None,
    book_path: Any,
    policy_path: Path | None,
    model_path: Path | None,
    letter_settings_path: Path | None,
    threads: int,
    docs_ui: bool,
    db_url: str,
    fmt: str,
) -> int:
    """Serve the officer's web page and JSON API (FastAPI + uvicorn) until stopped.

    Endpoints: POST /api/plan (the bytes of `workout plan --format json`), POST
    /api/evaluate (a counter-offer), GET /api/accounts/ID (an account of --book), POST
    /api/letter (a letter preview), POST /api/decisions (record a decision in the audit
    trail), GET /api/decisions/SEQ/letter (a recorded letter). The OpenAPI description at
    /openapi.json (and Swagger UI at /docs with --docs).

    Listens on 127.0.0.1 unless told otherwise; another address is refused without a
    token. Request bodies are limited in size and validated field by field (422 naming
    the field).

    \b
    Examples:
      workout serve
      workout serve --book out/demo/portfolio.csv --port 8080 --db sqlite:///workout.db
      workout serve --book-db duckdb:///bank.duckdb --book-table accounts
      WORKOUT_TOKEN=change-me-0123456789 workout serve --host 0.0.0.0
    """
    import json

    from solver.officer.letter import LetterSettings
    from solver.service import ServiceConfig, check_bind, create_app, listen

    check_bind(host, token)
    policy, rest = load_policy(policy_path, ())
    config = ServiceConfig(
        policy=policy,
        model=load_model(model_path),
        letter_settings=LetterSettings.from_toml(letter_settings_path)
        if letter_settings_path
        else LetterSettings(),
        db_url=db_url,
        token=token,
        threads=threads,
        docs=docs_ui,
        book=None if book_path is None else _read_book(book_path),
        book_name="" if book_path is None else str(book_path),
    )
    app = create_app(config)
    # bind before announcing: a port in use is the caller's mistake (exit 2, naming the
    # option), and uvicorn's own bind failure would sys.exit(3), our "no feasible plan"
    listener = listen(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    docs = url + ("docs" if docs_ui else "openapi.json")
    if fmt == "json":
        click.echo(json.dumps({"url": url, "docs": docs, "token": token is not None}))
    else:
        click.echo(f"serving the officer's page on {url} (API docs at {docs}); Ctrl-C stops")
    _announce_kernels()
    _run(app, listener)
    return 0


#: What serve says on stderr at start-up when the plan engine's kernels are not cached.
KERNELS_NOTE = (
    "note: the plan engine's compiled kernels are not cached yet: the first plan request "
    "compiles them (about a minute); later starts load them in about a second"
)


def _announce_kernels() -> None:
    """Print :data:`KERNELS_NOTE` on stderr when the kernels are cold
    (:func:`solver.plans.kernel_cache.kernels_cold`).

    Decision (session 25): announce, not warm. Warming would compile for about a minute
    (25 s of CPU) before the page answers at all, and on every start with a cold cache even
    when no one plans; the note tells the operator why the first request is slow, and a
    warm start stays about a second.
    """
    from solver.plans.kernel_cache import kernels_cold

    if kernels_cold():
        click.echo(KERNELS_NOTE, err=True)


#: The database options as the reader names them (``--table``), which ``serve`` spells
#: ``--book-table`` (its ``--db`` is the audit trail).
_READER_OPTION = re.compile(r"(?<![\w-])--(db|table|query)\b")


def _read_book(book: Any) -> Any:
    """``--book`` (a file or a ``--book-db`` table) read and validated, its problems naming
    this command's options: the database reader says ``--table``, serve's is ``--book-table``.
    """
    from solver.core.readers import read_portfolio
    from solver.core.sources import BookSource
    from solver.errors import InputError

    try:
        return read_portfolio(book)
    except InputError as exc:
        if not isinstance(book, BookSource):
            raise

        def rename(text: str) -> str:
            return _READER_OPTION.sub(r"--book-\1", text)

        raise InputError(rename(exc.args[0]), [rename(p) for p in exc.problems]) from None


def _run(app: Any, listener: socket.socket) -> None:
    """Serve ``app`` on the bound ``listener`` until stopped (SIGINT, SIGTERM).

    uvicorn ends a failed start-up with ``sys.exit(3)``, which is the CLI's "no feasible
    plan" code: here a failed start-up is a :class:`~solver.errors.WorkoutError` (exit 1),
    mapped like any other error.
    """
    import uvicorn

    from solver.errors import WorkoutError

    # lifespan "on": the app has one (the thread cap); its failure must stop the start-up
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    with listener:
        try:
            server.run(sockets=[listener])
        except SystemExit:  # uvicorn's STARTUP_FAILURE (3) when the app's start-up fails
            server.started = False
    if not server.started:
        raise WorkoutError("the service did not start (see the message above)")
