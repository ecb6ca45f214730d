"""Where a book comes from when it is more than a file name: :class:`BookSource`.

A book is a file (CSV, Parquet, Excel, TOML/JSON) or a database table or query (any
SQLAlchemy URL, :mod:`solver.core.sql`), optionally read through a column mapping
(:class:`~solver.core.layouts.Layout`, ``--columns``) and, for CSV, in a given text encoding
(``--encoding``). :func:`~solver.core.readers.read_portfolio`,
:func:`~solver.core.readers.read_account` and
:func:`~solver.core.streaming.iter_portfolio` accept a :class:`BookSource` wherever they
accept a path. :func:`book_source` builds one from the command line's options, and returns
the plain path when none of them is given (the file readers' behaviour is then untouched).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from solver.core.layouts import Layout, read_layout
from solver.errors import InputError

__all__ = ["BookSource", "book_source"]


@dataclass(frozen=True)
class BookSource:
    """A book's origin: ``path`` or ``url`` with ``table`` or ``query``; ``layout`` and
    ``encoding`` say how to read it."""

    path: Path | None = None
    url: str | None = None
    table: str | None = None
    query: str | None = None
    layout: Layout | None = None
    encoding: str | None = None

    @property
    def is_sql(self) -> bool:
        """A database table or query (not a file)."""
        return self.url is not None

    @property
    def text_encoding(self) -> str | None:
        """The CSV encoding: ``--encoding``, else the layout's, else ``None`` (UTF-8)."""
        if self.encoding is not None:
            return self.encoding
        return self.layout.encoding if self.layout is not None else None

    def __str__(self) -> str:
        """The name messages use: the file, or ``TABLE@URL`` (password masked)."""
        if self.url is None:
            return str(self.path)
        from solver.core.sql import source_name

        return source_name(self.url, self.table, self.query)


def book_source(
    path: str | os.PathLike[str] | None,
    *,
    db: str | None = None,
    table: str | None = None,
    query: str | None = None,
    columns: str | os.PathLike[str] | None = None,
    encoding: str | None = None,
    what: str = "book",
    prefix: str = "--",
) -> Path | BookSource:
    """The book the options name: ``path``, or the ``db`` URL's ``table`` / ``query``.

    Returns the plain :class:`~pathlib.Path` when only ``path`` is given. ``what`` names the
    input in messages (``history`` for the risk commands' tables); ``prefix`` is the
    options' (``--book-`` for ``serve --book-db``, whose ``--db`` is the audit trail).

    Raises
    ------
    InputError
        Both or neither of a path and ``--db``; ``--table`` and ``--query`` together, or
        either without ``--db``; ``--encoding`` with a database; a bad ``--columns`` file.
    """
    db_, table_, query_ = (f"{prefix}{name}" for name in ("db", "table", "query"))
    if path is not None and db is not None:
        raise InputError(f"{path}: give a {what} file or {db_} URL, not both")
    if db is None:
        if table is not None or query is not None:
            option = table_ if table is not None else query_
            raise InputError(f"{option} needs {db_} URL (the database to read)")
        if path is None:
            raise InputError(
                f"no {what} given: name a file, or {db_} URL with {table_} or {query_}"
            )
    elif (table is None) == (query is None):
        raise InputError(f"{db_}: give either {table_} NAME or {query_} SQL (one of them)")
    elif encoding is not None:
        raise InputError("--encoding applies to CSV files; a database returns text decoded")
    if encoding is not None and path is not None and Path(path).suffix.lower() != ".csv":
        raise InputError(
            f"--encoding applies to CSV files; {path} is not one (Excel, Parquet, TOML and "
            "JSON files carry their own encoding)"
        )
    layout = read_layout(columns) if columns is not None else None
    if db is None and layout is None and encoding is None:
        return Path(path)  # type: ignore[arg-type]
    return BookSource(
        path=None if path is None else Path(path),
        url=db,
        table=table,
        query=query,
        layout=layout,
        encoding=encoding,
    )
