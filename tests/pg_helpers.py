"""A PostgreSQL server for the tests that need one (the audit trail, books in a database).

``.ci/run`` starts a throw-away server (``.ci/postgres.sh``) and exports
``WORKOUT_TEST_PG_URL``. Without it the PostgreSQL cases are skipped on a developer's machine
and fail under ``CI=true``: CI must run them.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
from dataset_helpers import running_in_ci
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateSchema, DropSchema

PG_ENV = "WORKOUT_TEST_PG_URL"


def postgres_url(what: str = "PostgreSQL") -> str:
    """The test server's URL; skip (fail under CI) when there is none. ``what`` names the
    tests in the message."""
    url = os.environ.get(PG_ENV, "")
    if url:
        return url
    message = f"no PostgreSQL server: set {PG_ENV} (.ci/run starts one with .ci/postgres.sh)"
    if running_in_ci():
        pytest.fail(f"{message}; CI is set, so the {what} tests must run", pytrace=False)
    pytest.skip(message)


@contextlib.contextmanager
def postgres_schema(prefix: str, what: str = "PostgreSQL") -> Iterator[str]:
    """A URL whose connections work in a fresh schema (dropped afterwards)."""
    base = postgres_url(what)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(CreateSchema(schema))
    try:
        # libpq's options put every table (and trigger function) in that schema
        yield (
            make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as conn:
            conn.execute(DropSchema(schema, cascade=True))
        admin.dispose()
