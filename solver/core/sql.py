"""Tables in SQL databases (any SQLAlchemy URL): books read in chunks (:func:`sql_chunks`,
:func:`read_sql_table`) and results written back in one transaction (:func:`write_table`).

SQLite (``sqlite:///book.db``) and DuckDB (``duckdb:///book.duckdb``, through duckdb-engine)
are the embedded databases; PostgreSQL (``postgresql+psycopg://``) is tested for real in CI;
any dialect SQLAlchemy has a driver for works the same way.

Reading follows the file readers' rules (:mod:`solver.core.formats`): the rows come as raw
cells and are validated by :func:`~solver.core.validation.validate_portfolio` with the same
checks, messages and exit codes; "row N" is the Nth row *in the query's order* (a
``--table`` is read in the database's natural order: give ``--query ... ORDER BY`` for a
defined one). Rows are fetched ``chunk_rows`` at a time through a streaming cursor (a
server-side cursor on PostgreSQL), so a large table is validated chunk by chunk
(:func:`solver.core.streaming.iter_portfolio`).

Every database problem is an :class:`~solver.errors.InputError` (exit 2, SPEC §11: bad
input or usage), one line, no traceback: an unknown URL or driver, a connection refused (a
wrong host, port, user or password), a SQLite file that does not exist (it is not created),
a missing table (the tables there are listed), a query the database rejects (its message,
which names a missing column). URLs are shown with the password masked (``***``), and the
password is removed from the database's own messages.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from solver.core.formats import RawTable
from solver.core.problems import ProblemLog
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from sqlalchemy.engine import Engine

__all__ = [
    "ROW_NOTE",
    "check_out_table",
    "embedded_path_relative_to",
    "shown_url",
    "source_name",
    "sql_chunks",
    "read_sql_table",
    "write_table",
]

#: Rows fetched at a time when a table is read whole (:func:`read_sql_table`); streaming
#: callers give their chunk size (:data:`solver.core.streaming.CHUNK_ROWS`).
_FETCH_ROWS = 50_000
#: The embedded (file) databases: a URL naming a file that does not exist is an error when
#: reading (connecting would create an empty database), not when writing.
_EMBEDDED = ("sqlite", "duckdb")
#: How rows of a database table are counted (the error headline).
ROW_NOTE = "row N = the Nth row in the query's order"
_NO_ROWS = "--query: the statement returns no rows (use a SELECT)"


def shown_url(url: str) -> str:
    """``url`` with its password masked, for messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        return "<not a database URL>"


def _password(url: str) -> str | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).password  # type: ignore[return-value]
    except (ArgumentError, ValueError, TypeError):
        return None


def _reason(exc: BaseException, url: str) -> str:
    """The first line of a database error, its password removed."""
    orig = getattr(exc, "orig", None) or exc
    text = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    secret = _password(url)
    return text.replace(secret, "***") if secret else text


@contextlib.contextmanager
def _database_errors(url: str, what: str) -> Iterator[None]:
    """SQLAlchemy and driver errors as one-line :class:`InputError` (exit 2)."""
    from sqlalchemy import exc as sa

    shown = shown_url(url)
    try:
        yield
    except InputError:
        raise
    except sa.NoSuchModuleError as exc:
        raise InputError(f"{what} {shown}: no database driver for this URL ({exc})") from None
    except ImportError as exc:
        raise InputError(
            f"{what} {shown}: the database driver is not installed ({exc.name or exc})"
        ) from None
    except sa.ArgumentError as exc:
        raise InputError(f"{what} {shown}: not a database URL ({_reason(exc, url)})") from None
    except sa.DBAPIError as exc:
        if exc.connection_invalidated or isinstance(exc, sa.InterfaceError):
            raise InputError(f"{what} {shown}: cannot connect: {_reason(exc, url)}") from None
        raise InputError(f"{what} {shown}: {_reason(exc, url)}") from None
    except _query_errors() as exc:  # looked up here: a driver may load inside the block
        raise InputError(f"{what} {shown}: {_reason(exc, url)}") from None


def _query_errors() -> tuple[type[BaseException], ...]:
    """SQLAlchemy's errors, and the DB-API error classes of the drivers called directly,
    not through SQLAlchemy: sqlite3's, DuckDB's and ADBC's (those that are loaded: a module
    not imported cannot have raised)."""
    from sqlalchemy.exc import SQLAlchemyError

    loaded = (sys.modules.get(name) for name in ("sqlite3", "duckdb", "adbc_driver_manager"))
    return (SQLAlchemyError, *(module.Error for module in loaded if module is not None))


def _engine(url: str, what: str, *, must_exist: bool = True) -> Engine:
    """An engine for ``url``, connected once (so a bad host or password fails here)."""
    from sqlalchemy import create_engine, event
    from sqlalchemy import exc as sa

    with _database_errors(url, what):
        engine = create_engine(url)
        if must_exist and engine.dialect.name in _EMBEDDED:
            database = engine.url.database or ""
            if database not in ("", ":memory:") and not database.startswith(("file:", "md:")):
                if not Path(database).is_file():  # connecting would create an empty one
                    raise InputError(f"{what} {shown_url(url)}: no such database file {database}")
        if engine.dialect.name == "sqlite":
            # pysqlite begins transactions lazily and not before DDL: make BEGIN explicit so
            # that a replaced table is dropped and rewritten in one transaction
            @event.listens_for(engine, "connect")
            def _no_implicit(dbapi_connection: Any, record: Any) -> None:
                dbapi_connection.isolation_level = None

            @event.listens_for(engine, "begin")
            def _begin(connection: Any) -> None:
                connection.exec_driver_sql("BEGIN")

        try:
            with engine.connect():
                pass
        except sa.DBAPIError as exc:
            engine.dispose()
            raise InputError(
                f"{what} {shown_url(url)}: cannot connect: {_reason(exc, url)}"
            ) from None
    return engine


def embedded_path_relative_to(url: str, base: Path) -> str:
    """``url`` with an embedded database's relative file path made absolute against
    ``base`` (a scenario file's folder: its relative paths are relative to it); any other
    URL, or one that does not parse, unchanged (its problems are reported when it is used).
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        return url
    database = parsed.database or ""
    if (
        parsed.get_backend_name() not in _EMBEDDED
        or database in ("", ":memory:")
        or database.startswith(("file:", "md:"))
        or Path(database).is_absolute()
    ):
        return url
    resolved = parsed.set(database=str((base / database).resolve()))
    return resolved.render_as_string(hide_password=False)


def _split(name: str) -> tuple[str | None, str]:
    schema, dot, table = name.rpartition(".")
    return (schema or None) if dot else None, table


def _statement(engine: Engine, url: str, table: str | None, query: str | None) -> Any:
    """The SELECT to run: ``query``, or every column of ``table`` in the table's order.

    The table's columns are not reflected: ``SELECT *`` needs no catalogue query, and
    duckdb-engine's column reflection fails under SQLAlchemy >= 2.0.45 (it queries
    ``pg_catalog.pg_collation``, which DuckDB does not have; Mause/duckdb_engine#1379).
    """
    from sqlalchemy import inspect, literal_column, select, text
    from sqlalchemy import table as table_clause

    if query is not None:
        return text(query)
    assert table is not None
    schema, name = _split(table)
    inspector = inspect(engine)
    if not inspector.has_table(name, schema=schema):
        tables = inspector.get_table_names(schema=schema)
        listed = ", ".join(tables[:10]) + (" ..." if len(tables) > 10 else "") or "none"
        raise InputError(f"--table {table}: no such table in {shown_url(url)} (tables: {listed})")
    return select(literal_column("*")).select_from(table_clause(name, schema=schema))


def sql_chunks(
    url: str, table: str | None, query: str | None, chunk_rows: int
) -> Iterator[pd.DataFrame]:
    """The rows of ``table`` (``schema.table`` allowed) or of ``query`` as raw frames of
    exactly ``chunk_rows`` rows (the last one fewer; column names as in the database;
    NUMERIC and DECIMAL as float).

    DuckDB tables come as Arrow record batches (DuckDB's own export), and PostgreSQL's
    through its ADBC driver (``adbc-driver-postgresql``; without it, as rows); every other
    database, SQLite included, as rows (docs/inputs.md says why)."""
    import pandas as pd

    for part in _sql_parts(url, table, query, chunk_rows):
        yield part if isinstance(part, pd.DataFrame) else arrow_frame(part)


def _sql_parts(
    url: str, table: str | None, query: str | None, chunk_rows: int
) -> Iterator[pd.DataFrame | pa.Table]:
    """The chunks of :func:`sql_chunks`, those fetched as Arrow still Arrow tables (a whole
    read joins them before it makes a frame)."""
    if (table is None) == (query is None):
        raise InputError("--db: give either --table NAME or --query SQL")
    engine = _engine(url, "--db")
    try:
        with _database_errors(url, "--query" if query is not None else "--db"):
            statement = _statement(engine, url, table, query)
            sql = query if query is not None else str(statement.compile(dialect=engine.dialect))
            # in a transaction rolled back at the end: a --query that writes changes nothing
            # (the drivers called directly run inside it; ADBC never commits)
            with engine.connect() as conn, _rolled_back(conn):
                dialect = engine.dialect.name
                adbc = _adbc_postgresql() if dialect == "postgresql" else None
                if dialect == "duckdb":
                    batches = _duckdb_batches(conn, sql, chunk_rows)
                elif adbc is not None:
                    batches = _adbc_batches(adbc, engine, sql, chunk_rows)
                else:
                    yield from _row_frames(conn, statement, sql, chunk_rows)
                    return
                yield from _rechunked(batches, chunk_rows)
    finally:
        engine.dispose()


@contextlib.contextmanager
def _rolled_back(conn: Any) -> Iterator[None]:
    transaction = conn.begin()
    try:
        yield
    finally:
        transaction.rollback()


def _row_frames(conn: Any, statement: Any, sql: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The result's rows as frames of ``chunk_rows``: SQLite's fetched by the sqlite3 cursor
    itself (``sql``; its tuples need no conversion: SQLAlchemy's Row objects cost a third of
    the time), any other database's through SQLAlchemy (``statement``; a server-side cursor
    where the dialect has one)."""
    import pandas as pd

    with contextlib.ExitStack() as stack:
        if conn.dialect.name == "sqlite":
            cursor = stack.enter_context(
                contextlib.closing(conn.connection.driver_connection.cursor())
            )
            cursor.execute(sql)
            description = cursor.description
            columns = None if description is None else [d[0] for d in description]
            fetch = cursor.fetchmany
        else:
            result = conn.execution_options(stream_results=True).execute(statement)
            columns = list(result.keys()) if result.returns_rows else None

            def fetch(size: int) -> list[tuple[Any, ...]]:
                # plain tuples: pandas probes each Row's attributes, which costs a caught
                # exception per row and cell group (3x slower)
                return [tuple(row) for row in result.fetchmany(size)]

        if columns is None:
            raise InputError(_NO_ROWS)
        while rows := fetch(chunk_rows):
            yield pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)


def _duckdb_batches(conn: Any, sql: str, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """DuckDB's result as Arrow record batches, on the SQLAlchemy connection's DuckDB
    connection (duckdb-engine wraps it and passes the relational API through)."""
    relation = conn.connection.driver_connection.sql(sql)
    if relation is None:  # a statement, not a query: DuckDB ran it and returns nothing
        raise InputError(_NO_ROWS)
    yield from relation.to_arrow_reader(chunk_rows)


def _adbc_postgresql() -> Any:
    """The ADBC PostgreSQL driver's DB-API module, or ``None`` when it is not installed."""
    try:
        import adbc_driver_postgresql.dbapi as adbc
    except ImportError:
        return None
    return adbc


def _adbc_batches(adbc: Any, engine: Engine, sql: str, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """PostgreSQL's result as Arrow record batches through ADBC (``adbc``: the driver's
    DB-API module; libpq's binary COPY, streamed). The URL's driver name is dropped: libpq
    reads the rest, query options included, as psycopg does."""
    uri = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with adbc.connect(uri) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        if cursor.description is None:  # not a query; never committed (rolled back)
            raise InputError(_NO_ROWS)
        yield from cursor.fetch_record_batch()


def _rechunked(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Record batches of any sizes regrouped as tables of exactly ``rows`` rows (the last
    one fewer); slices, not copies."""
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        count += batch.num_rows
        while count >= rows:
            whole = pa.Table.from_batches(pending)
            yield whole.slice(0, rows)
            rest = whole.slice(rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


def arrow_frame(table: pa.Table) -> pd.DataFrame:
    """A raw frame of an Arrow table as the validators take it: DECIMAL / NUMERIC columns
    as float (parsed from their exact text, as a CSV number is), other extension types
    (PostgreSQL's ``numeric`` and ``uuid`` from ADBC) as their storage."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for column in table.columns:
        kind = column.type
        if isinstance(kind, pa.ExtensionType):
            column = pa.chunked_array([c.storage for c in column.chunks], kind.storage_type)
            numeric = getattr(kind, "type_name", None) == "numeric"
        else:
            numeric = pa.types.is_decimal(kind)
            if numeric:
                column = pc.cast(column, pa.string())
        if numeric:
            with contextlib.suppress(pa.ArrowInvalid):  # NaN or text: the validator says
                column = pc.cast(column, pa.float64())
        columns.append(column)
    return pa.table(columns, names=table.column_names).to_pandas()


def source_name(url: str, table: str | None, query: str | None) -> str:
    """How messages name a database table: ``accounts@sqlite:///book.db``."""
    return f"{table if table is not None else 'query'}@{shown_url(url)}"


def read_sql_table(url: str, table: str | None = None, query: str | None = None) -> RawTable:
    """The whole table (or query result) as a :class:`~solver.core.formats.RawTable`."""
    import pandas as pd
    import pyarrow as pa

    source = source_name(url, table, query)
    parts = list(_sql_parts(url, table, query, _FETCH_ROWS))
    if not parts:
        raise InputError(f"{source}: no rows (the table or query is empty)")
    # one kind of chunk a read: _sql_parts fetches every chunk by the one path of the URL's
    # dialect (Arrow: DuckDB, PostgreSQL with ADBC; frames: SQLite, any other)
    if isinstance(parts[0], pa.Table):  # joined as Arrow: no copies
        raw = arrow_frame(pa.concat_tables(cast("list[pa.Table]", parts)))
    else:
        frames = cast("list[pd.DataFrame]", parts)
        raw = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    rows = np.arange(1, len(raw) + 1)
    return RawTable(raw, rows, ProblemLog(source, rows), {}, ROW_NOTE)


def check_out_table(url: str, table: str, replace: bool) -> None:
    """Fail fast (before any work) when ``--out-db``/``--out-table`` cannot be written: the
    database is unreachable, or the table exists and ``replace`` is false."""
    from sqlalchemy import inspect

    engine = _engine(url, "--out-db", must_exist=False)
    try:
        with _database_errors(url, "--out-db"):
            schema, name = _split(table)
            if inspect(engine).has_table(name, schema=schema) and not replace:
                raise InputError(
                    f"--out-table {table}: the table exists in {shown_url(url)}; give --replace "
                    "to replace it"
                )
    finally:
        engine.dispose()


def write_table(frame: pd.DataFrame, url: str, table: str, *, replace: bool = False) -> int:
    """Write ``frame`` to ``table`` in one transaction (a failure leaves the database as it
    was); an existing table is an error unless ``replace``. Returns the rows written."""
    import pandas as pd
    from sqlalchemy import MetaData, Table, inspect

    engine = _engine(url, "--out-db", must_exist=False)
    schema, name = _split(table)
    try:
        with _database_errors(url, "--out-db"), engine.begin() as conn:
            if inspect(conn).has_table(name, schema=schema):
                if not replace:
                    raise InputError(
                        f"--out-table {table}: the table exists in {shown_url(url)}; give "
                        "--replace to replace it"
                    )
                Table(name, MetaData(), schema=schema).drop(conn)
            try:
                frame.to_sql(name, conn, schema=schema, index=False, chunksize=10_000)
            except (pd.errors.DatabaseError, ValueError, TypeError, OverflowError) as exc:
                # pandas wraps the database's error; the transaction is rolled back
                cause = exc.__cause__ or exc
                raise InputError(
                    f"--out-table {table}: cannot write to {shown_url(url)}: {_reason(cause, url)}"
                ) from None
    finally:
        engine.dispose()
    return len(frame)
