"""Check a whole book (``workout validate``): read it in chunks, summarise, collect the warnings.

:func:`check_book` validates a portfolio through :func:`~solver.core.streaming.iter_portfolio`
(large CSV/Parquet files in chunks, bounded memory; docs/reliability.md, limits), keeps only
each chunk's summary (:func:`~solver.core.summaries.summarize_portfolio`) and the first
chunk (the detail of a one-account book), and records the input warnings raised on the way.
A problem in the input is returned, not raised, so that the caller can still report it with
the warnings seen.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

from solver.errors import InputError

__all__ = ["BookCheck", "check_book"]


@dataclass(frozen=True)
class BookCheck:
    """What :func:`check_book` found.

    Attributes
    ----------
    accounts
        Accounts validated (those of the chunks read before a problem, if any).
    first
        The first chunk of validated accounts (``None`` when none was read).
    summary
        The merged summary tables (:func:`~solver.core.summaries.merge_summaries`); ``None``
        when the book has a problem.
    error
        The book's problems (one :class:`~solver.errors.InputError` listing them all), or
        ``None`` when every row is valid.
    warnings
        The messages of the :class:`~solver.core.schema.InputWarning` raised, in order.
    """

    accounts: int
    first: Any
    summary: dict[str, Any] | None
    error: InputError | None
    warnings: list[str]


def check_book(
    path: Any,
    *,
    tiering: str | os.PathLike[str] | None = None,
    strict: bool = False,
    sheet: str | None = None,
    forecast: Any = None,
) -> BookCheck:
    """Validate the book ``path`` (a file or a :class:`~solver.core.sources.BookSource`).

    ``strict`` makes unknown columns errors instead of warnings; ``tiering``, ``sheet`` and
    ``forecast`` are passed to :func:`~solver.core.streaming.iter_portfolio`. Returns the
    accounts, summary and warnings (:class:`BookCheck`); an :class:`InputError` is returned
    in ``error``, any other exception propagates.
    """
    from solver.core.schema import InputWarning
    from solver.core.streaming import iter_portfolio
    from solver.core.summaries import merge_summaries, summarize_portfolio

    parts = []
    n = 0
    first = None
    error: InputError | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        try:
            for chunk in iter_portfolio(
                path,
                tiering=tiering,
                unknown_columns="error" if strict else None,
                sheet=sheet,
                forecast=forecast,
            ):
                parts.append(summarize_portfolio(chunk))
                n += len(chunk)
                first = chunk if first is None else first
        except InputError as exc:
            error = exc
    seen = [str(w.message) for w in caught if issubclass(w.category, InputWarning)]
    summary = merge_summaries(parts) if error is None else None
    return BookCheck(accounts=n, first=first, summary=summary, error=error, warnings=seen)
