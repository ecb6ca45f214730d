"""The contact calendar (issue 17): when each allocated account is contacted, and a check.

* :mod:`~solver.allocation.calendar.scheduler` -- :func:`schedule_contacts`: attempts by day
  and hourly slot within windows, shifts and channel capacities (greedy by value density,
  with a per-resource LP bound);
* :mod:`~solver.allocation.calendar.attempts` -- each account's attempts, resource and value,
  and the contacts the law stops (:mod:`~solver.allocation.calendar.blocked` names them);
* :mod:`~solver.allocation.calendar.dialler` -- the dialler folder written with the calendar;
* :mod:`~solver.allocation.calendar.checker` -- :func:`check_calendar`: the independent
  check of a calendar against the jurisdiction's law (shares only the profile data);
* :mod:`~solver.allocation.calendar.channels` -- channel capacities (``scenarios/channels.toml``);
* :mod:`~solver.allocation.calendar.inputs` -- the allocation, the book's ``timezone`` and
  ``preferred_hour`` columns, the contact history.
"""

from __future__ import annotations

from solver._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "schedule_contacts": "solver.allocation.calendar.scheduler",
    "CalendarResult": "solver.allocation.calendar.scheduler",
    "check_calendar": "solver.allocation.calendar.checker",
    "Violation": "solver.allocation.calendar.checker",
    "Channels": "solver.allocation.calendar.channels",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
