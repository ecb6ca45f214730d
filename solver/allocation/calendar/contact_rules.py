"""The contact rules of one account in the calendar: what a slot must satisfy.

Rules enforced per account (the checker, :mod:`~solver.allocation.calendar.checker`,
verifies the result independently from the profile): planned call attempts per local day at
most ``min(max_connected_calls_per_day, max_call_attempts_per_day)`` (any attempt may be
answered, so the connected-call limit holds whatever happens); call attempts in any 7
consecutive local days, history included, at most ``max_call_attempts_per_7_days``; no call
in the ``no_call_days_after_conversation`` days after a conversation of the history (its
day counting as day 1); hardship accounts at most ``hardship_max_contacts_per_day`` contacts
a day; no contact for protected flags; the debtor only (``party``). A planned attempt may
itself become a conversation: every call row carries ``stop_after_conversation_days`` for
the dialler to cancel the account's later attempts in that window (the US rule).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from solver.allocation.calendar.capacity import Resource, Slots

__all__ = [
    "AccountState",
    "ContactRules",
    "call_allowed",
    "candidate_hours",
    "first_hour",
    "history_by_account",
]


@dataclass(frozen=True)
class ContactRules:
    """The bank's effective contact settings (on the jurisdiction's floor)."""

    start_min: float
    end_min: float
    calls_per_day: int
    calls_per_7_days: int
    blackout_days: int
    hardship_per_day: int


def history_by_account(
    history: pd.DataFrame | None, zone_of: Mapping[str, str], start: date
) -> dict[str, list[tuple[int, int, bool, bool]]]:
    """Per account: (local day index, local minute, is a call, was a conversation)."""
    if history is None or history.empty:
        return {}
    known = history[pd.Index(list(zone_of)).get_indexer(history["account_id"]) >= 0]
    zone = known["account_id"].map(zone_of).to_numpy(dtype=object)
    day = np.zeros(len(known), dtype=np.int64)
    minute = np.zeros(len(known), dtype=np.int64)
    origin = np.datetime64(start, "D").astype(np.int64)
    for name in set(zone.tolist()):
        pick = zone == name
        local = known["timestamp"][pick].dt.tz_convert(name).dt.tz_localize(None)
        ns = local.to_numpy().astype("datetime64[ns]").astype(np.int64)
        day[pick] = ns // 86_400_000_000_000 - origin
        minute[pick] = (ns % 86_400_000_000_000) // 60_000_000_000
    call = (known["channel"] == "phone").to_numpy()
    talk = call & (known["outcome"] == "connected").to_numpy()
    out: dict[str, list[tuple[int, int, bool, bool]]] = {}
    for row in zip(
        known["account_id"].tolist(),
        day.tolist(),
        minute.tolist(),
        call.tolist(),
        talk.tolist(),
        strict=True,
    ):
        out.setdefault(row[0], []).append(row[1:])
    return out


@dataclass
class AccountState:
    """One account's contacts so far (history, then the calendar's own earlier choices)."""

    calls: dict[int, int]
    contacts: dict[int, int]
    convs: list[tuple[int, int]]
    used: set[tuple[int, int]]

    @classmethod
    def of(cls, history: Any) -> AccountState:
        """The state after the account's history (:func:`history_by_account` rows)."""
        state = cls({}, {}, [], set())
        for h_day, h_min, is_call, connected in history:
            state.contacts[h_day] = state.contacts.get(h_day, 0) + 1
            if is_call:
                state.calls[h_day] = state.calls.get(h_day, 0) + 1
            if connected:
                state.convs.append((h_day, h_min))
        return state

    def add(self, d: int, h: int, local_day: int, is_call: bool) -> None:
        """Count an attempt planned at slot (``d``, ``h``), local day ``local_day``."""
        self.used.add((d, h))
        self.contacts[local_day] = self.contacts.get(local_day, 0) + 1
        if is_call:
            self.calls[local_day] = self.calls.get(local_day, 0) + 1


def call_allowed(
    day: int, minute: int, calls: dict[int, int], convs: list[tuple[int, int]], rules: ContactRules
) -> bool:
    """May one more call go on local day ``day`` at ``minute`` (daily, rolling 7 days,
    after-conversation rules)?"""
    if calls.get(day, 0) >= rules.calls_per_day:
        return False
    for c_day, c_min in convs:
        if c_day <= day < c_day + rules.blackout_days and (day > c_day or minute > c_min):
            return False
    if sum(calls.values()) + 1 > rules.calls_per_7_days:
        # every window of 7 consecutive days that holds `day`, as a running sum
        near = [calls.get(x, 0) for x in range(day - 6, day + 7)]
        window = sum(near[:7])
        for first in range(7):
            if first:
                window += near[first + 6] - near[first - 1]
            if window + 1 > rules.calls_per_7_days:
                return False
    return True


def first_hour(
    res: Resource,
    d: int,
    hours: list[int],
    need: float,
    slots: Slots,
    u: int,
    state: AccountState,
    rules: ContactRules,
    is_call: bool,
    hardship: bool,
) -> int:
    """The first hour of day ``d`` where the attempt fits (capacity and the account's
    rules), or -1."""
    cap = res.cap[d]
    if res.per_day and cap[0] < need:
        return -1
    for h in hours:
        if (d, h) in state.used or (not res.per_day and cap[h] < need):
            continue
        day_l = int(slots.local_day[u, d, h])
        if hardship and state.contacts.get(day_l, 0) >= rules.hardship_per_day:
            continue
        if is_call and not call_allowed(
            day_l, int(slots.local_min[u, d, h]), state.calls, state.convs, rules
        ):
            continue
        return h
    return -1


def candidate_hours(
    res: Resource, local_minutes: np.ndarray, rules: ContactRules, duration: float, preferred: int
) -> list[list[int]]:
    """Per day, the resource's usable hours whose whole contact lies in the local window,
    nearest to the preferred local hour first (else in time order)."""
    out = []
    for d, hours in enumerate(res.hours):
        ok = [
            h for h in hours
            if local_minutes[d, h] >= rules.start_min
            and local_minutes[d, h] + duration <= rules.end_min
        ]  # fmt: skip
        if preferred >= 0:
            hour = local_minutes[d] // 60
            ok.sort(key=lambda h: (abs(int(hour[h]) - preferred), h))
        out.append(ok)
    return out
