"""``workout serve``: the restructuring officer's HTTP service and web page (parse, call,
run). The app is :func:`solver.service.create_app`.
"""

from __future__ import annotations

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
    db_url: str,
    fmt: str,
) -> int:
    """Serve the officer's web page and JSON API (FastAPI + uvicorn) until stopped.

    Endpoints: POST /api/plan (the bytes of `workout plan --format json`), POST
    /api/evaluate (a counter-offer), GET /api/accounts/ID (an account of --book), POST
    /api/letter (a letter preview), POST /api/decisions (record a decision in the audit
    trail), GET /api/decisions/SEQ/letter (a recorded letter). OpenAPI docs at /docs.

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

    from solver.core.readers import read_portfolio
    from solver.officer.letter import LetterSettings
    from solver.service import ServiceConfig, check_bind, create_app

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
        book=None if book_path is None else read_portfolio(book_path),
        book_name="" if book_path is None else str(book_path),
    )
    app = create_app(config)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    if fmt == "json":
        click.echo(json.dumps({"url": url, "docs": url + "docs", "token": token is not None}))
    else:
        click.echo(f"serving the officer's page on {url} (API docs at {url}docs); Ctrl-C stops")
    _run(app, host, port)
    return 0


def _run(app: Any, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
