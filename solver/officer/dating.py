"""The as-of date plans and offers are dated from: one rule for the command line's
``--as-of`` (``workout plan``, ``workout offer``) and the service's ``as_of``
(``POST /api/plan``, ``/api/letter``, ``/api/decisions``).

The date is written ``YYYY-MM-DD`` (:data:`AS_OF_FORMAT`, read with
:meth:`datetime.datetime.strptime` by :func:`parse_as_of`, for ``--as-of`` too:
``commands.output.AsOfDate``); a date written so that does not exist (2026-02-30) is told
as such, not as a wrong form. Without one it is today's date (:func:`as_of_or_today`). Month ``t`` of a schedule dated from it falls
due ``t`` calendar months later, the day clipped to the month's end
(:attr:`solver.core.schedule.Schedule.due_dates`, the one dating path).

A module without the solver's heavy imports: the command line reads it at start-up.
"""

from __future__ import annotations

import re
from datetime import date, datetime

__all__ = [
    "AS_OF_FORMAT",
    "FIRST_AS_OF",
    "LAST_AS_OF",
    "NOT_A_CALENDAR_DATE",
    "NOT_WRITTEN",
    "as_of_or_today",
    "check_as_of",
    "parse_as_of",
]

#: How an as-of date is written (``strptime`` format).
AS_OF_FORMAT = "%Y-%m-%d"
#: An as-of date as the messages show one.
EXAMPLE = "2026-05-04"
#: The as-of dates accepted. Decision (session 18 review): a date late in year 9999 made
#: the schedule's due dates pass Python's last year (an internal error, a 500 from the
#: service), and 1900 or 0026 for 2026 dated letters a century off without a word. From
#: the last date a schedule of 600 months (past every term a policy or contract here
#: allows) still falls due in year 2249.
FIRST_AS_OF = date(1970, 1, 1)
LAST_AS_OF = date(2199, 12, 31)
#: The problem of a date written in the right form that no calendar has (2026-02-30,
#: 2026-13-01): "does not match the format" would send the user to the form, which is right.
NOT_A_CALENDAR_DATE = "is not a calendar date (YYYY-MM-DD)"
#: The problem of text in another form (``31/01/2026``, ``today``).
NOT_WRITTEN = f"must be a date written YYYY-MM-DD, such as {EXAMPLE}"
#: The form itself, whatever the numbers (four digits, two, two).
_WRITTEN = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_as_of(text: str) -> date:
    """The date written ``YYYY-MM-DD`` in ``text``; ``ValueError`` otherwise, saying what is
    wrong without the value (the service never echoes one; the command line puts it
    first): a day that does not exist (:data:`NOT_A_CALENDAR_DATE`), another form, or a
    date out of range (:func:`check_as_of`).

    >>> parse_as_of("2026-01-31")
    datetime.date(2026, 1, 31)
    >>> parse_as_of("2026-02-30")
    Traceback (most recent call last):
    ...
    ValueError: is not a calendar date (YYYY-MM-DD)
    """
    try:
        day = datetime.strptime(text, AS_OF_FORMAT).date()
    except (TypeError, ValueError):
        if isinstance(text, str) and _WRITTEN.fullmatch(text):
            raise ValueError(NOT_A_CALENDAR_DATE) from None
        raise ValueError(NOT_WRITTEN) from None
    return check_as_of(day)


def check_as_of(day: date) -> date:
    """``day`` when it lies in :data:`FIRST_AS_OF` .. :data:`LAST_AS_OF`; ``ValueError``
    saying the range otherwise.

    >>> check_as_of(date(9999, 12, 31))
    Traceback (most recent call last):
    ...
    ValueError: must be a date from 1970-01-01 to 2199-12-31
    """
    if not FIRST_AS_OF <= day <= LAST_AS_OF:
        raise ValueError(f"must be a date from {FIRST_AS_OF} to {LAST_AS_OF}")
    return day


def as_of_or_today(as_of: date | None) -> date:
    """``as_of``, else today's date (the default of every as-of)."""
    return as_of if as_of is not None else date.today()
