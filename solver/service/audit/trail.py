"""The audit trail in a database: append a decision, read, verify, export, fetch a letter.

Any SQLAlchemy URL works (``sqlite:///workout.db``, the embedded default, or a bank's
server, e.g. ``postgresql+psycopg://user@host/db``). Every statement is built with
SQLAlchemy Core from the tables of :mod:`solver.service.audit.schema`; values travel as bound
parameters, never inside SQL text.

Appending is safe with several writers: the head row is updated only if it still holds
the count this writer read (``UPDATE ... WHERE seq = :read``), and ``seq`` and ``prev_hash``
are unique, so a writer that lost a race rolls back and tries again on the new head.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, inspect, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError

from solver.errors import InputError, WorkoutError
from solver.service.audit.chain import GENESIS, VerifyReport, row_hash, sha256_text, verify_rows
from solver.service.audit.record import DecisionRecord
from solver.service.audit.schema import HEAD_ID, head, metadata, records

#: The database when none is given.
DEFAULT_URL = "sqlite:///workout.db"
#: Tries of one append against concurrent writers.
APPEND_ATTEMPTS = 20
#: Rows read per batch when streaming the trail.
BATCH_ROWS = 500
#: Columns of an export (the letters themselves stay in the database; their hashes go out).
EXPORT_COLUMNS = tuple(c.name for c in records.columns if c.name != "letter_html")


class _LostRace(Exception):
    """Another writer appended between this writer's read of the head and its update."""


@dataclass(frozen=True)
class Receipt:
    """What an append returns: the row's number and hash (keep it: it anchors the trail)."""

    seq: int
    row_hash: str
    recorded_at: str
    letter_sha256: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def display_url(url: str) -> str:
    """The URL with its password hidden (for messages)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<not a database URL>"


class AuditTrail:
    """An append-only, hash-chained audit trail in the database at ``url``.

    Parameters
    ----------
    url
        Any SQLAlchemy URL.
    create
        Create the tables when missing (appending); otherwise a database without a trail
        is an :class:`~solver.errors.InputError` (reading, verifying, exporting). A
        SQLite file that does not exist is never created by a reader.
    option
        How the user gave the URL, for messages.
    """

    def __init__(self, url: str = DEFAULT_URL, *, create: bool = True, option: str = "--db"):
        self.url = url
        self.option = option
        shown = display_url(url)
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise InputError(
                f"{option} {url!r}: not a database URL (e.g. sqlite:///workout.db or "
                "postgresql+psycopg://user@host/dbname)"
            ) from None
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            path = Path(parsed.database)
            if not create and not path.exists():
                raise InputError(f"{option} {shown}: no such database file {path}")
        try:
            self.engine: Engine = create_engine(
                parsed,
                connect_args={"timeout": 30} if parsed.get_backend_name() == "sqlite" else {},
            )
            with self.engine.connect() as conn:
                present = inspect(conn).has_table(records.name)
        except NoSuchModuleError:
            raise InputError(
                f"{option} {shown}: unknown database kind {parsed.drivername!r}"
            ) from None
        except (OperationalError, ModuleNotFoundError) as exc:
            raise InputError(
                f"{option} {shown}: cannot open the database: {_reason(exc)}"
            ) from None
        if not present:
            if not create:
                raise InputError(f"{option} {shown}: holds no audit trail (nothing recorded yet)")
            metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> AuditTrail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- appending ------------------------------------------------------------------------------

    def append(self, record: DecisionRecord, *, now: datetime | None = None) -> Receipt:
        """Append ``record`` at the end of the chain; returns its number and hash."""
        columns = record.columns()
        for attempt in range(APPEND_ATTEMPTS):
            recorded_at = (now or datetime.now(UTC)).isoformat(timespec="microseconds")
            try:
                with self.engine.begin() as conn:
                    current = (
                        conn.execute(select(head).where(head.c.id == HEAD_ID)).mappings().first()
                    )
                    seq = 1 if current is None else int(current["seq"]) + 1
                    row = {
                        **columns,
                        "seq": seq,
                        "recorded_at": recorded_at,
                        "prev_hash": GENESIS if current is None else current["row_hash"],
                    }
                    row["row_hash"] = row_hash(row)
                    # the head first: on a server it locks the writers into one order
                    if current is None:
                        conn.execute(
                            insert(head).values(id=HEAD_ID, seq=seq, row_hash=row["row_hash"])
                        )
                    else:
                        moved = conn.execute(
                            update(head)
                            .where(head.c.id == HEAD_ID, head.c.seq == current["seq"])
                            .values(seq=seq, row_hash=row["row_hash"])
                        )
                        if moved.rowcount != 1:
                            raise _LostRace
                    conn.execute(insert(records).values(**row))
                return Receipt(seq, row["row_hash"], recorded_at, row["letter_sha256"])
            except (_LostRace, IntegrityError):
                pass
            except OperationalError as exc:  # SQLite: another writer holds the lock
                if "locked" not in str(exc).lower() and "busy" not in str(exc).lower():
                    raise
            time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
        raise WorkoutError(
            f"{self.option} {display_url(self.url)}: could not append after {APPEND_ATTEMPTS} "
            "tries (too many concurrent writers)"
        )

    # -- reading --------------------------------------------------------------------------------

    def rows(
        self, *, letters: bool = True, account_id: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """The records in ``seq`` order (streamed), with the letters unless ``letters=False``."""
        columns = [c for c in records.columns if letters or c.name != "letter_html"]
        query = select(*columns).order_by(records.c.seq)
        if account_id is not None:
            query = query.where(records.c.account_id == account_id)
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=BATCH_ROWS).execute(query)
            for row in result.mappings():
                yield dict(row)

    def head(self) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            found = conn.execute(select(head).where(head.c.id == HEAD_ID)).mappings().first()
        return None if found is None else dict(found)

    def record(self, seq: int) -> dict[str, Any]:
        """Record ``seq`` (an :class:`~solver.errors.InputError` naming it when absent)."""
        with self.engine.connect() as conn:
            found = (
                conn.execute(select(records).where(records.c.seq == int(seq))).mappings().first()
            )
        if found is None:
            raise InputError(f"record {seq}: no such record in the audit trail")
        return dict(found)

    def letter(self, seq: int) -> str:
        """The offer letter of record ``seq``, checked against its recorded hash."""
        row = self.record(seq)
        html = row["letter_html"]
        if html is None:
            raise InputError(f"record {seq}: no offer letter (the decision was {row['action']})")
        if sha256_text(html) != row["letter_sha256"]:
            raise WorkoutError(f"record {seq}: the stored letter does not match its recorded hash")
        return html

    def verify(
        self, anchor: str | None = None, expect_head: tuple[int, str] | None = None
    ) -> VerifyReport:
        """Check the whole chain (see :func:`solver.service.audit.chain.verify_rows`)."""
        current = self.head()
        return verify_rows(self.rows(), current, anchor, expect_head)

    def to_frame(self) -> Any:
        """Every record without its letter (:data:`EXPORT_COLUMNS`), as a DataFrame."""
        import pandas as pd

        return pd.DataFrame(list(self.rows(letters=False)), columns=list(EXPORT_COLUMNS))


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
