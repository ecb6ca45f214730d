"""Options that say where a book comes from and where a result table also goes.

``book_options(ARG)`` adds ``--columns``, ``--encoding``, ``--db``, ``--table`` and
``--query`` to a command whose positional argument ``ARG`` names a book, makes ``ARG``
optional, and hands the command one value: the plain path, or a
:class:`~solver.core.sources.BookSource` (:func:`~solver.core.sources.book_source`).
``out_db_options`` adds ``--out-db``, ``--out-table`` and ``--replace``.

``--db`` here names the database a book is read from. The audit commands (``workout audit``,
``offer``, ``serve``) use ``--db`` for the audit trail; none of them reads a book through
these options, so the name means one thing per command (docs/inputs.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from commands.options import stack_options
from commands.output import write_out

__all__ = [
    "book_options",
    "columns_option",
    "encoding_option",
    "history_options",
    "input_path",
    "out_db_options",
    "prefixed_db_options",
    "write_out_db",
]


def columns_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--columns FILE`` (a column-mapping TOML), as ``columns_path``."""
    return click.option(
        "--columns",
        "columns_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=help_text,
    )


def encoding_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--encoding NAME`` (a text encoding), as ``encoding``."""
    return click.option("--encoding", default=None, metavar="NAME", help=help_text)


def book_options(argument: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: the book options, folded into the command's ``argument`` parameter."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from solver.core.sources import book_source

            kwargs[argument] = book_source(
                kwargs[argument],
                db=kwargs.pop("db_url"),
                table=kwargs.pop("db_table"),
                query=kwargs.pop("db_query"),
                columns=kwargs.pop("columns_path"),
                encoding=kwargs.pop("encoding"),
            )
            return func(*args, **kwargs)

        options = [
            columns_option(
                "Column-mapping TOML: the book's own column names, values and scales onto "
                "the SPEC §3 columns (e.g. scenarios/layouts/cn_core_banking.toml)."
            ),
            encoding_option(
                "Text encoding of a CSV book, e.g. GBK or GB18030 (default UTF-8; a UTF-8 "
                "BOM is detected)."
            ),
            *_db_options("book"),
        ]
        return stack_options(*options)(wrapper)

    return decorate


def _db_options(
    what: str, prefix: str = ""
) -> list[Callable[[Callable[..., Any]], Callable[..., Any]]]:
    """``--db URL``, ``--table NAME`` and ``--query SQL`` for reading the ``what`` (book or
    history) from a database; ``prefix`` names them ``--PREFIXdb`` ... (parameters
    ``PREFIXdb_url`` ...)."""
    db = f"--{prefix}db"
    under = prefix.replace("-", "_")
    return [
        click.option(
            db,
            f"{under}db_url",
            default=None,
            metavar="URL",
            help=f"Read the {what} from this database (a SQLAlchemy URL, e.g. "
            f"sqlite:///{what}.db, duckdb:///{what}.duckdb or "
            "postgresql+psycopg://user@host/bank) instead of a file.",
        ),
        click.option(
            f"--{prefix}table",
            f"{under}db_table",
            default=None,
            metavar="NAME",
            help=f"With {db}: the table holding the {what} (schema.table allowed).",
        ),
        click.option(
            f"--{prefix}query",
            f"{under}db_query",
            default=None,
            metavar="SQL",
            help=f"With {db}: a SELECT returning the {what} (row N = its Nth row).",
        ),
    ]


def prefixed_db_options(
    argument: str, prefix: str, what: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: ``--PREFIXdb``, ``--PREFIXtable`` and ``--PREFIXquery`` for a table that is
    not the command's book (``serve --book-db``, whose ``--db`` is the audit trail;
    ``--forecast-db``; a risk command's history, ``prefix`` ``""``: :func:`history_options`).
    With any of them given, the parameter ``argument`` (its file) becomes a
    :class:`~solver.core.sources.BookSource` (:func:`~solver.core.sources.book_source`
    checks the combination: a file and a database together, a table without a database...);
    otherwise it stays the path given or ``None``, so the file behaviour is untouched."""
    under = prefix.replace("-", "_")

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            db = [kwargs.pop(f"{under}db_{name}") for name in ("url", "table", "query")]
            if any(value is not None for value in db):
                from solver.core.sources import book_source

                kwargs[argument] = book_source(
                    kwargs[argument], db=db[0], table=db[1], query=db[2], what=what,
                    prefix=f"--{prefix}",
                )  # fmt: skip
            return func(*args, **kwargs)

        return stack_options(*_db_options(what, prefix=prefix))(wrapper)

    return decorate


def history_options(argument: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: ``--db``, ``--table`` and ``--query`` for a risk command whose positional
    ``argument`` names a table (a payment history, panel or outcome table): the
    :func:`prefixed_db_options` of the history, without a prefix.

    ``--columns`` and ``--encoding`` are not offered: they map and decode a *book*'s SPEC §3
    columns, and the risk tables are read by :func:`solver.core.tables.read_table`, which
    has neither (docs/history.md).
    """
    return prefixed_db_options(argument, "", "history")


def out_db_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: ``--out-db URL --out-table NAME [--replace]`` (``out_db`` in kwargs)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from solver.core.sql import check_out_table
        from solver.errors import InputError

        url, table, replace = kwargs.pop("out_db"), kwargs.pop("out_table"), kwargs.pop("replace")
        if (url is None) != (table is None):
            raise InputError("--out-db URL and --out-table NAME go together")
        if replace and url is None:
            raise InputError("--replace needs --out-db URL --out-table NAME")
        if url is not None:
            check_out_table(url, table, replace)  # fail fast, before any work
        kwargs["out_db"] = None if url is None else (url, table, replace)
        return func(*args, **kwargs)

    return stack_options(
        click.option(
            "--out-db",
            default=None,
            metavar="URL",
            help="Also write the result table to this database (SQLAlchemy URL), in one "
            "transaction.",
        ),
        click.option("--out-table", default=None, metavar="NAME", help="With --out-db."),
        click.option("--replace", is_flag=True, help="With --out-db: replace an existing table."),
    )(wrapper)


def write_out_db(out_db: tuple[str, str, bool] | None, frame: Any) -> str | None:
    """Write ``frame`` to the ``--out-db`` table; the line to print, or ``None``."""
    if out_db is None:
        return None
    from solver.core.sql import shown_url, write_table

    url, table, replace = out_db
    n = write_table(frame, url, table, replace=replace)
    return f"wrote {n:,} rows to table {table} of {shown_url(url)}"


def write_table_outputs(
    out: Path | None,
    out_db: tuple[str, str, bool] | None,
    table: Any,
    *,
    sheet_name: str,
    quiet: bool,
    sheets: Any = None,
) -> None:
    """Write a command's result table to ``--out-db`` (first: one transaction) and
    ``--out``, and say where it went in the database: ``wrote N rows to table T of URL`` on
    stderr, not with ``--quiet``, as one unwrapped line (a long URL stays whole and
    copyable, as the file's ``wrote FILE`` line of :func:`commands.output.wrote`).
    ``plan-portfolio`` and ``allocate`` both write through here; ``sheets``: the sheets of
    an .xlsx ``--out`` (:func:`commands.output.write_out`); ``out`` ``None``: no file
    (``plan-portfolio --format csv`` prints the table)."""
    db_line = write_out_db(out_db, table)
    if out is not None:
        write_out(out, table, sheet_name=sheet_name, sheets=sheets)
    if db_line is not None and not quiet:
        click.echo(db_line, err=True)


def input_path(book: Any) -> Path | None:
    """The file behind a book (for the ``--out`` is-not-an-input check), if any."""
    if isinstance(book, Path):
        return book
    return getattr(book, "path", None)
