"""The contact calendar: each allocated account's attempts by day and hourly slot (issue 17).

:func:`schedule_contacts` turns a one-period allocation (one treatment per account) into
contact attempts over ``days`` days: hourly slots in the collection centre's time zone,
each attempt inside the customer's local contact window (their ``timezone``, nearest to
their ``preferred_hour``), inside the performing team's shift and working days, and within
channel capacities (dialler lines, SMS/e-mail/push throughput, field-visit routes per
region; ``scenarios/channels.toml``), under the bank's compliance settings, which sit on the
jurisdiction's floor (:mod:`solver.allocation.jurisdiction`).

The channel is the allocated treatment's: the allocation already values the customer's
preferred channel (``preferred_channel_uplift``), and the calendar does not switch it.

Method: a greedy by value density. The value of an account's attempts is its allocation
uplift over no action (``uplift_vs_none``: its gain over no contact, after cost; the
calendar's per-attempt column has the same name and sums to it) shared equally among its
attempts in whole cents (the first ``cents mod attempts`` attempts carry one cent more, so
an account's attempts sum to its uplift to the cent); accounts are
taken in decreasing value per unit of the one resource their treatment uses (a team's
dialler minutes, a gateway's messages, a region's visits), and each attempt goes to the
first feasible slot of its target day (attempts spread evenly over the days), then of later
and earlier days. The bound is the fractional-knapsack (LP) optimum of each resource on its
own: it relaxes the slots, windows and per-account rules, and every attempt uses exactly one
resource, so Σ over resources bounds the optimum; the gap reported is against it. The
bound is computed on the same whole-cent attempt values as the schedule (each account's
attempts as two items: those with the extra cent and those without) and rounded down to the
cent, which the optimum of a whole-cent objective cannot exceed: the value scheduled is never
above it (session 21: the bound was on unrounded shares and the schedule summed rounded
ones, so an ``allocate --weeks`` file showed a value 0.47 above its "proven" bound).

What each account asks for (its attempts, resource and value, and the contacts the law
stops) is in :mod:`~solver.allocation.calendar.attempts`; the rules each account's attempts
obey are in :mod:`~solver.allocation.calendar.contact_rules`; the time grid, the capacities
and the bound in :mod:`~solver.allocation.calendar.capacity`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from solver.allocation.calendar.attempts import Accounts, Tasks, accounts_of, tasks_of
from solver.allocation.calendar.blocked import blocked_counts
from solver.allocation.calendar.capacity import (
    HOURS,
    Resource,
    Slots,
    build_resources,
    slot_tables,
)
from solver.allocation.calendar.channels import Channels
from solver.allocation.calendar.contact_rules import (
    AccountState,
    ContactRules,
    candidate_hours,
    first_hour,
    history_by_account,
)
from solver.allocation.calendar.inputs import (
    VALUE_COLUMN,
    CheckedAllocation,
    allocation_problems,
)
from solver.allocation.catalogue import Catalogue
from solver.allocation.replan import lift_plan_stop
from solver.allocation.teams import Teams
from solver.core.problems import ProblemLog
from solver.core.result import gap_to_bound
from solver.errors import InputError

__all__ = ["CALENDAR_COLUMNS", "DIALLER_COLUMNS", "CalendarResult", "schedule_contacts"]

#: Columns of the calendar, one row per planned contact attempt.
CALENDAR_COLUMNS = (
    "account_id", "day", "utc_time", "local_date", "local_time", "timezone", "channel",
    "treatment", "team", "attempt", "minutes", "party", "stop_after_conversation_days",
    VALUE_COLUMN,
)  # fmt: skip
#: Columns of a team's dialler file: the account (the dialler's key to the phone number),
#: when to dial (UTC and the customer's local time), and the conditional cancel rule.
DIALLER_COLUMNS = (
    "account_id", "attempt", "utc_time", "local_date", "local_time", "timezone",
    "stop_after_conversation_days",
)  # fmt: skip
METHOD = "greedy by value density, bound: per-resource fractional knapsack (LP)"


@dataclass(frozen=True, eq=False)
class CalendarResult:
    """The calendar (:data:`CALENDAR_COLUMNS`) and its summary (counts, value, bound, gap);
    ``dialler_teams``: the teams that make calls (of a type that performs a phone treatment
    of the catalogue)."""

    calendar: pd.DataFrame
    summary: Mapping[str, Any]
    dialler_teams: tuple[str, ...] = ()

    def dialler_tables(self) -> dict[str, pd.DataFrame]:
        """One dialler table (:data:`DIALLER_COLUMNS`) per team that makes calls, with its
        call attempts: a team with none this time gets the header alone, so that a folder
        of dialler files always holds this calendar's list for every calling team, never an
        earlier calendar's (``workout calendar --dialler-dir``, docs/calendar.md)."""
        calls = self.calendar[self.calendar["channel"] == "phone"]
        teams = sorted({*self.dialler_teams, *calls["team"].astype(str)})
        by_team = dict(tuple(calls.groupby(calls["team"].astype(str), sort=True)))
        empty = pd.DataFrame({c: [] for c in DIALLER_COLUMNS})
        return {
            team: by_team[team].loc[:, list(DIALLER_COLUMNS)].reset_index(drop=True)
            if team in by_team
            else empty
            for team in teams
        }


def _validate_allocation(
    ids: pd.Series,
    allocation: pd.DataFrame | CheckedAllocation,
    catalogue: Catalogue,
    teams: Teams,
) -> pd.DataFrame:
    """The allocation aligned with the book's rows; InputError for rows that do not fit
    (:func:`~solver.allocation.calendar.inputs.allocation_problems`; rows numbered from 1 in
    ``allocation``'s order). Not checked again when it is a
    :class:`~solver.allocation.calendar.inputs.CheckedAllocation` of this book, catalogue and
    teams (``workout calendar`` checks its file once, by name)."""
    if isinstance(allocation, CheckedAllocation):
        if allocation.checked_with(ids, catalogue.names, teams.names):
            return _aligned(ids, allocation.table)
        allocation = allocation.table
    log = ProblemLog("allocation", np.arange(1, len(allocation) + 1))
    allocation_problems(log, allocation, ids, catalogue.names, teams.names)
    log.raise_if_any(subject="allocation")
    return _aligned(ids, allocation)


def _aligned(ids: pd.Series, allocation: pd.DataFrame) -> pd.DataFrame:
    """The (checked) allocation's rows in the book's order."""
    return allocation.set_index("account_id").reindex(ids).reset_index()


def schedule_contacts(
    book: pd.DataFrame,
    allocation: pd.DataFrame | CheckedAllocation,
    catalogue: Catalogue,
    teams: Teams,
    channels: Channels,
    *,
    days: int = 7,
    start: date,
    contact: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
    steps: Mapping[str, str] | None = None,
) -> CalendarResult:
    """Plan the contact attempts of ``days`` days from ``start`` (module docstring).

    ``allocation`` has ``account_id, treatment, team, value`` (value: the account's
    ``uplift_vs_none``, its gain over no contact after cost, CNY), checked here unless it
    is a :class:`~solver.allocation.calendar.inputs.CheckedAllocation` (from
    :func:`~solver.allocation.calendar.inputs.check_allocation`); ``contact`` has
    ``account_id, timezone, preferred_hour`` (defaults: the profile's zone, none);
    ``history`` has ``account_id, timestamp (UTC), channel, outcome``; ``steps``: the replan
    steps the allocation was steered by (account -> step, ``allocate --replan``): the
    ``has_plan`` stop is lifted as allocate lifts it
    (:func:`solver.allocation.replan.lift_plan_stop`; a book lifted already is unchanged)
    and a contact the account's step forbids is held back
    (:func:`~solver.allocation.calendar.attempts.step_stops`).
    """
    t0 = time.perf_counter()
    if days < 1:
        raise InputError(f"days must be at least 1, got {days}")
    profile = catalogue.compliance.profile
    if steps:
        book = lift_plan_stop(book, steps)
    ids = book["account_id"].astype(str).reset_index(drop=True)
    aligned = _validate_allocation(ids, allocation, catalogue, teams)
    if contact is None:
        contact = pd.DataFrame(
            {"account_id": ids, "timezone": profile.timezone, "preferred_hour": -1}
        )
    zones = sorted(set(contact["timezone"].astype(str)))
    acc = accounts_of(book, aligned, contact, catalogue, teams, zones, steps)
    slots = Slots(zones, *slot_tables(zones, ZoneInfo(profile.timezone), start, days))
    visit = [t for t in catalogue.treatments if t.channel == "visit"]
    visit_hours = int(np.ceil(max((t.handling_minutes for t in visit), default=60.0) / 60.0))
    resources, field_team = build_resources(
        teams, channels, start, days, sorted(set(acc.region.tolist())), visit_hours
    )
    history_of = history_by_account(
        history, dict(zip(ids, contact["timezone"].astype(str), strict=True)), start
    )
    tasks = tasks_of(acc, catalogue, resources, field_team, days)
    bound = tasks.bound_cents(resources) / 100.0
    rows = _greedy(acc, tasks, slots, resources, catalogue, channels, history_of, days)
    calendar = _calendar_table(rows, acc, tasks, slots, catalogue, teams, field_team)
    scheduled = float(np.round(calendar[VALUE_COLUMN].sum(), 2))
    channel_of = np.array([t.channel for t in catalogue.treatments], dtype=object)[acc.t_index]
    # what the allocation asked for: the attempts and value the law stops included
    asked = tasks.attempts + tasks.held
    held_cents = np.where(tasks.held > 0, np.round(acc.value * 100.0), 0).astype(np.int64)
    summary = {
        "jurisdiction": profile.code,
        "start": start.isoformat(),
        "days": days,
        "accounts": int(ids.size),
        "accounts_with_attempts": int(calendar["account_id"].nunique()),
        "attempts_requested": int(asked.sum()),
        "attempts_scheduled": len(calendar),
        "attempts_blocked": int(tasks.held.sum()),
        "by_channel": {
            c: {
                "requested": int(asked[channel_of == c].sum()),
                "scheduled": int((calendar["channel"] == c).sum()),
            }
            for c in ("phone", "sms", "email", "app", "visit")
        },  # fmt: skip
        # the allocation's uplift_vs_none (gain over no contact, after cost) of the
        # accounts it gave attempts (those the law stops included), and of the attempts
        # scheduled; the bound is on what may be scheduled, so the law's stops are not in it
        "uplift_vs_none_requested": int(tasks.cents.sum() + held_cents.sum()) / 100.0,
        "uplift_vs_none_blocked": int(held_cents.sum()) / 100.0,
        "uplift_vs_none_scheduled": scheduled,
        "bound": bound,
        "gap": 0.0 if bound <= 0 else max(0.0, gap_to_bound(scheduled, bound)),
        "method": METHOD,
        **blocked_counts(tasks.blocked),
        **tasks.counts,
        "blocked": tasks.blocked,
        "runtime_s": time.perf_counter() - t0,
    }
    calling = {t.team_type for t in catalogue.treatments if t.channel == "phone"}
    dialler_teams = tuple(team.name for team in teams.teams if team.type in calling)
    return CalendarResult(calendar=calendar, summary=summary, dialler_teams=dialler_teams)


def _rules(catalogue: Catalogue) -> ContactRules:
    """The catalogue's compliance settings in the calendar's units (minutes of the day);
    one seam, so the tests can switch a rule off."""
    comp = catalogue.compliance
    return ContactRules(
        start_min=comp.contact_start * 60.0,
        end_min=comp.contact_end * 60.0,
        calls_per_day=min(comp.max_connected_calls_per_day, comp.max_call_attempts_per_day),
        calls_per_7_days=comp.max_call_attempts_per_7_days,
        blackout_days=comp.no_call_days_after_conversation,
        hardship_per_day=comp.hardship_max_contacts_per_day,
    )


def _greedy(
    acc: Accounts,
    tasks: Tasks,
    slots: Slots,
    resources: Mapping[Any, Resource],
    catalogue: Catalogue,
    channels: Channels,
    history_of: Mapping[str, list[tuple[int, int, bool, bool]]],
    days: int,
) -> list[tuple[int, int, int]]:
    """Accounts in decreasing value per unit of their resource; each attempt to the first
    feasible (day, hour) from its target day. Rows: (account, day, hour)."""
    rules = _rules(catalogue)
    density = tasks.per_attempt / tasks.need
    order = np.lexsort((np.arange(density.size), -density))
    rows: list[tuple[int, int, int]] = []
    slot_cache: dict[tuple[Any, ...], list[list[int]]] = {}
    ids = acc.ids.tolist()
    for j in order.tolist():
        key = tasks.res_key[j]
        if tasks.attempts[j] == 0 or key is None:
            continue
        t = catalogue.treatments[acc.t_index[j]]
        res = resources[key]
        u = int(acc.zone_code[j])
        dur = max(t.handling_minutes, channels.min_contact_minutes)
        cache_key = (key, u, dur, int(acc.preferred[j]))
        cand = slot_cache.get(cache_key)
        if cand is None:
            cand = candidate_hours(res, slots.local_min[u], rules, dur, int(acc.preferred[j]))
            slot_cache[cache_key] = cand
        state = AccountState.of(history_of.get(ids[j], ()))
        is_call = t.channel == "phone"
        need = float(tasks.need[j])
        k = int(tasks.attempts[j])
        for r in range(k):
            target = (r * days) // k
            for d in [*range(target, days), *range(target - 1, -1, -1)]:
                hour = first_hour(res, d, cand[d], need, slots, u, state, rules,
                                   is_call, bool(acc.hardship[j]))  # fmt: skip
                if hour >= 0:
                    res.cap[d][0 if res.per_day else hour] -= need
                    state.add(d, hour, int(slots.local_day[u, d, hour]), is_call)
                    rows.append((j, d, hour))
                    break
    return rows


def _calendar_table(
    rows: list[tuple[int, int, int]],
    acc: Accounts,
    tasks: Tasks,
    slots: Slots,
    catalogue: Catalogue,
    teams: Teams,
    field_team: Mapping[str, int],
) -> pd.DataFrame:
    """The rows as a table (:data:`CALENDAR_COLUMNS`), sorted by account, day and hour."""
    if not rows:
        return pd.DataFrame({c: [] for c in CALENDAR_COLUMNS})
    arr = np.array(sorted(rows), dtype=np.int64)
    j, d, h = arr[:, 0], arr[:, 1], arr[:, 2]
    # attempts numbered in time order per account (a fallback day may precede the target)
    first = np.r_[0, np.flatnonzero(np.diff(j)) + 1]
    attempt = np.arange(j.size) - np.repeat(first, np.diff(np.r_[first, j.size])) + 1
    u = acc.zone_code[j]
    treat = [catalogue.treatments[t] for t in acc.t_index[j]]
    channel = np.array([t.channel for t in treat], dtype=object)
    team_names = np.array([*teams.names, ""], dtype=object)
    team = team_names[acc.team_index[j]]
    visits = channel == "visit"
    if visits.any():
        team[visits] = [teams.names[field_team[r]] for r in acc.region[j[visits]]]
    blackout = catalogue.compliance.no_call_days_after_conversation
    return pd.DataFrame(
        {
            "account_id": acc.ids.to_numpy()[j],
            "day": d + 1,
            "utc_time": np.array(slots.utc_text, dtype=object)[d * HOURS + h],
            "local_date": slots.local_date[u, d, h],
            "local_time": slots.local_time[u, d, h],
            "timezone": np.array(slots.zones, dtype=object)[u],
            "channel": channel,
            "treatment": np.array([t.name for t in treat], dtype=object),
            "team": team,
            "attempt": attempt,
            "minutes": np.array([t.handling_minutes for t in treat], dtype=np.float64),
            "party": "debtor",
            "stop_after_conversation_days": np.where(channel == "phone", blackout, 0),
            VALUE_COLUMN: tasks.attempt_cents(j, attempt) / 100.0,
        }
    )
