"""The contacts an allocation asked for that the calendar may not schedule, told by name.

The calendar re-applies the law's stops to the allocation it is given: an account with a
protected flag (the profile's ``protected_flags`` and the bank's ``no_contact_flags``:
``cease_contact``, ``dispute``, ``bankruptcy``, ``has_plan``) gets no contact, and a
hardship account none of ``hardship_forbidden``. ``workout allocate`` never assigns such a
contact -- unless the book changed since (a new dispute), or the allocation was steered by
replan steps the calendar was not given (``allocate --replan/--history`` lift the
``has_plan`` stop of broken plans: :func:`solver.allocation.replan.lift_plan_stop`). Those
attempts are counted as requested and not scheduled (the summary's ``attempts_blocked``,
``blocked``), and :func:`blocked_notes` names the accounts and why, with what to do (session
24 review: two broken plans' contacts were dropped while the headline said "1,132 of 1,132
attempts scheduled").

With the replan steps (``--replan``/``--payment-history``) the ``has_plan`` stop of a broken
plan is lifted as allocate lifts it, and the step's narrower rule binds as it does there
(a ``cure_window`` account gets gentle treatments only, a ``reage`` account those or the
plan offer): a contact the step forbids is held back alike (:func:`step_reason`, counted in
``blocked_replan_step``; session 25).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from solver.core.messages import first_named, plural

__all__ = [
    "HARDSHIP",
    "PROTECTED",
    "REPLAN_STEP",
    "blocked_counts",
    "blocked_notes",
    "hardship_reason",
    "protected_reason",
    "step_reason",
]


def blocked_notes(blocked: Iterable[Mapping[str, Any]], *, steps_given: bool) -> list[str]:
    """One warning per reason (the summary's ``blocked`` entries grouped by ``reason``), naming
    the first accounts (:func:`~solver.core.messages.first_named`; the full list is in
    ``--format json``); ``steps_given``: whether the calendar was given
    replan steps (``--replan`` or ``--payment-history``), which decides the advice for
    accounts stopped by ``has_plan`` alone."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for entry in blocked:
        groups.setdefault(str(entry["reason"]), []).append(entry)
    notes = []
    for reason, entries in groups.items():
        ids = [str(e["account_id"]) for e in entries]
        named = first_named(ids)
        attempts = sum(int(e["attempts"]) for e in entries)
        one = len(ids) == 1
        # the nouns' plurals are messages.plural's; the verbs agree with the accounts
        notes.append(
            f"{plural(len(ids), 'allocated account')} {'is' if one else 'are'} {reason} and "
            f"get{'s' if one else ''} no contact ({plural(attempts, 'attempt')} not "
            f"scheduled): {named} -- {_advice(reason, steps_given)}"
        )
    return notes


def blocked_counts(blocked: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The summary's ``blocked_protected``, ``blocked_hardship`` and ``blocked_replan_step``:
    the ``blocked`` entries (one per account) by the kind of their ``reason``
    (:func:`protected_reason`, :func:`hardship_reason`, :func:`step_reason`). Derived from the entries, so the counts and the list the
    warnings name cannot disagree."""
    reasons = [str(entry["reason"]) for entry in blocked]
    return {
        "blocked_protected": sum(r.startswith(PROTECTED) for r in reasons),
        "blocked_hardship": sum(r.startswith(HARDSHIP) for r in reasons),
        "blocked_replan_step": sum(r.startswith(REPLAN_STEP) for r in reasons),
    }


def protected_reason(flags: str) -> str:
    """The ``reason`` of a contact stopped by protected ``flags`` (e.g. ``has_plan``)."""
    return f"{PROTECTED} ({flags})"


#: How a protected flag's stop reason starts (:func:`protected_reason`).
PROTECTED = "protected"


def hardship_reason(treatment: str) -> str:
    """The ``reason`` of a contact the hardship rules forbid."""
    return f"{HARDSHIP} (no {treatment})"


#: How a hardship stop's reason starts (:func:`hardship_reason`).
HARDSHIP = "hardship"


def step_reason(step: str, treatment: str) -> str:
    """The ``reason`` of a contact the account's replan ``step`` forbids (it lifts the
    ``has_plan`` stop for narrower treatments only:
    :func:`solver.allocation.calendar.attempts.step_stops`)."""
    return f"{REPLAN_STEP} {step} (no {treatment})"


#: How a replan step's stop reason starts (:func:`step_reason`).
REPLAN_STEP = "in replan step"


def _advice(reason: str, steps_given: bool) -> str:
    """What to do about accounts stopped for ``reason``."""
    if reason == protected_reason("has_plan"):
        if not steps_given:
            return (
                "if the allocation was steered by replan steps, pass the same steps here "
                "(allocate's --replan STEPS as --replan, its --history H as --payment-history)"
            )
        return (
            "their replan step here does not lift the has_plan stop (not cure_window, "
            "reage or escalate): was the allocation made with other steps?"
        )
    if reason.startswith(REPLAN_STEP):
        return (
            "allocate --replan with these steps would not give this treatment "
            "(solver.allocation.replan.steer_eligibility): was the allocation made with "
            "other steps? reallocate with these steps"
        )
    if reason.startswith(HARDSHIP):
        return "the hardship rules forbid this treatment; reallocate on the current book"
    return "the flag stops all contact; reallocate on the current book"
