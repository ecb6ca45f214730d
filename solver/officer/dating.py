"""The as-of date plans and offers are dated from: one rule for the command line's
``--as-of`` (``workout plan``, ``workout offer``) and the service's ``as_of``
(``POST /api/plan``, ``/api/letter``, ``/api/decisions``).

The date is written ``YYYY-MM-DD`` (:data:`AS_OF_FORMAT`, read with
:meth:`datetime.datetime.strptime`, as click's ``DateTime`` option reads it); without one
it is today's date (:func:`as_of_or_today`). Month ``t`` of a schedule dated from it falls
due ``t`` calendar months later, the day clipped to the month's end
(:attr:`solver.core.schedule.Schedule.due_dates`, the one dating path).

A module without the solver's heavy imports: the command line reads it at start-up.
"""

from __future__ import annotations

from datetime import date, datetime

__all__ = ["AS_OF_FORMAT", "as_of_or_today", "parse_as_of"]

#: How an as-of date is written (``strptime`` format).
AS_OF_FORMAT = "%Y-%m-%d"
#: An as-of date as the messages show one.
EXAMPLE = "2026-05-04"


def parse_as_of(text: str) -> date:
    """The date written ``YYYY-MM-DD`` in ``text``; ``ValueError`` naming the expected form
    otherwise (not the value: the service never echoes one).

    >>> parse_as_of("2026-01-31")
    datetime.date(2026, 1, 31)
    """
    try:
        return datetime.strptime(text, AS_OF_FORMAT).date()
    except (TypeError, ValueError):
        raise ValueError(f"must be a date written YYYY-MM-DD, such as {EXAMPLE}") from None


def as_of_or_today(as_of: date | None) -> date:
    """``as_of``, else today's date (the default of every as-of)."""
    return as_of if as_of is not None else date.today()
