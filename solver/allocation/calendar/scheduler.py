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
uplift over no action (``uplift_vs_none``) shared equally among its attempts; accounts are
taken in decreasing value per unit of the one resource their treatment uses (a team's
dialler minutes, a gateway's messages, a region's visits), and each attempt goes to the
first feasible slot of its target day (attempts spread evenly over the days), then of later
and earlier days. The bound is the fractional-knapsack (LP) optimum of each resource on its
own: it relaxes the slots, windows and per-account rules, and every attempt uses exactly one
resource, so Σ over resources bounds the optimum; the gap reported is against it.

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

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from solver.allocation.calendar.channels import AUTOMATED, Channels
from solver.allocation.catalogue import Catalogue
from solver.allocation.compliance import flag_column, text_column
from solver.allocation.teams import Teams
from solver.core.result import gap_to_bound
from solver.errors import InputError

__all__ = ["CALENDAR_COLUMNS", "DIALLER_COLUMNS", "CalendarResult", "schedule_contacts"]

#: Columns of the calendar, one row per planned contact attempt.
CALENDAR_COLUMNS = (
    "account_id", "day", "utc_time", "local_date", "local_time", "timezone", "channel",
    "treatment", "team", "attempt", "minutes", "party", "stop_after_conversation_days",
    "expected_value",
)  # fmt: skip
#: Columns of a team's dialler file: the account (the dialler's key to the phone number),
#: when to dial (UTC and the customer's local time), and the conditional cancel rule.
DIALLER_COLUMNS = (
    "account_id", "attempt", "utc_time", "local_date", "local_time", "timezone",
    "stop_after_conversation_days",
)  # fmt: skip
HOURS = 24
METHOD = "greedy by value density, bound: per-resource fractional knapsack (LP)"


@dataclass(frozen=True, eq=False)
class CalendarResult:
    """The calendar (:data:`CALENDAR_COLUMNS`) and its summary (counts, value, bound, gap)."""

    calendar: pd.DataFrame
    summary: Mapping[str, Any]

    def dialler_tables(self) -> dict[str, pd.DataFrame]:
        """One dialler table per team with call attempts (:data:`DIALLER_COLUMNS`)."""
        calls = self.calendar[self.calendar["channel"] == "phone"]
        return {
            str(team): rows.loc[:, list(DIALLER_COLUMNS)].reset_index(drop=True)
            for team, rows in calls.groupby("team", sort=True)
        }


@dataclass
class _Resource:
    """One capacity: minutes or messages per (day, hour); or visits per day (``per_day``)."""

    name: str
    cap: list[list[float]]  # days × 24 (per_day: the day's capacity in column 0)
    hours: list[list[int]]  # usable hours per day (shift, working day)
    per_day: bool = False

    def total(self) -> float:
        if self.per_day:
            return float(sum(row[0] for row, hrs in zip(self.cap, self.hours, strict=True) if hrs))
        return float(
            sum(sum(row[h] for h in hrs) for row, hrs in zip(self.cap, self.hours, strict=True))
        )


@dataclass(frozen=True)
class _Rules:
    """The bank's effective contact settings (on the jurisdiction's floor)."""

    start_min: float
    end_min: float
    calls_per_day: int
    calls_per_7_days: int
    blackout_days: int
    hardship_per_day: int


def _slot_tables(
    zones: list[str], centre: ZoneInfo, start: date, days: int
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Local minute of day and local day index (vs ``start``) per (zone, day, hour); the UTC
    text per (day, hour); and local date / time text per (zone, day, hour)."""
    local_min = np.zeros((len(zones), days, HOURS), dtype=np.int64)
    local_day = np.zeros((len(zones), days, HOURS), dtype=np.int64)
    local_date = np.empty((len(zones), days, HOURS), dtype=object)
    local_time = np.empty((len(zones), days, HOURS), dtype=object)
    utc_text = []
    instants = []
    for d in range(days):
        for h in range(HOURS):
            at = datetime.combine(start + timedelta(days=d), clock(h), tzinfo=centre)
            instants.append(at.astimezone(UTC))
            utc_text.append(instants[-1].strftime("%Y-%m-%dT%H:%MZ"))
    for u, name in enumerate(zones):
        zone = ZoneInfo(name)
        for i, instant in enumerate(instants):
            d, h = divmod(i, HOURS)
            here = instant.astimezone(zone)
            local_min[u, d, h] = here.hour * 60 + here.minute
            local_day[u, d, h] = (here.date() - start).days
            local_date[u, d, h] = here.date().isoformat()
            local_time[u, d, h] = f"{here.hour:02d}:{here.minute:02d}"
    return local_min, local_day, utc_text, local_date, local_time


def _resources(
    teams: Teams, channels: Channels, start: date, days: int, regions: list[str], visit_hours: int
) -> tuple[dict[Any, _Resource], dict[str, int]]:
    """Capacities: a resource per phone team (index), per automated channel (name) and per
    visited region (``("visit", region)``); also the field team serving each region."""
    out: dict[Any, _Resource] = {}
    weekday = [(start + timedelta(days=d)).weekday() for d in range(days)]

    def shift_hours(team: Any, length: int) -> list[list[int]]:
        return [
            [h for h in range(HOURS) if team.shift_start <= h and h + length <= team.shift_end]
            if weekday[d] < team.working_days
            else []
            for d in range(days)
        ]

    for k, team in enumerate(teams.teams):
        if team.type in ("agent", "senior", "robot"):
            lines = team.members * (1.0 if team.type == "robot" else channels.lines_per_member)
            per_slot = lines * 60.0 * team.productive_share
            out[k] = _Resource(
                team.name, [[per_slot] * HOURS for _ in range(days)], shift_hours(team, 1)
            )
    for name in AUTOMATED:
        rate = float(channels.throughput_per_hour.get(name, 0.0))
        out[name] = _Resource(
            name, [[rate] * HOURS for _ in range(days)], [list(range(HOURS))] * days
        )
    field_team: dict[str, int] = {}
    for region in regions:
        for k, team in enumerate(teams.teams):
            if team.type == "field" and (not team.regions or region in team.regions):
                field_team[region] = k
                visits = float(channels.visits_per_day(region))
                out[("visit", region)] = _Resource(
                    f"visits {region}",
                    [[visits] + [0.0] * (HOURS - 1) for _ in range(days)],
                    shift_hours(team, visit_hours),
                    per_day=True,
                )
                break
    return out, field_team


def _history_by_account(
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


def _rules(catalogue: Catalogue) -> _Rules:
    comp = catalogue.compliance
    return _Rules(
        start_min=comp.contact_start * 60.0,
        end_min=comp.contact_end * 60.0,
        calls_per_day=min(comp.max_connected_calls_per_day, comp.max_call_attempts_per_day),
        calls_per_7_days=comp.max_call_attempts_per_7_days,
        blackout_days=comp.no_call_days_after_conversation,
        hardship_per_day=comp.hardship_max_contacts_per_day,
    )


def _call_allowed(
    day: int, minute: int, calls: dict[int, int], convs: list[tuple[int, int]], rules: _Rules
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


def _validate_allocation(
    ids: pd.Series, allocation: pd.DataFrame, catalogue: Catalogue, teams: Teams
) -> pd.DataFrame:
    """The allocation aligned with the book's rows; InputError for rows that do not fit."""
    extra = allocation.loc[pd.Index(ids).get_indexer(allocation["account_id"]) < 0, "account_id"]
    aligned = allocation.set_index("account_id").reindex(ids)
    lacking = ids[aligned["treatment"].isna().to_numpy()]
    problems = []
    if len(extra):
        problems.append(
            f"{len(extra):,} allocation rows are for accounts not in the book "
            f"(first: {', '.join(extra.head(3))}): the allocation of another book?"
        )
    if len(lacking):
        problems.append(
            f"{len(lacking):,} accounts of the book have no allocation row "
            f"(first: {', '.join(lacking.head(3))})"
        )
    unknown = set(aligned["treatment"].dropna()) - set(catalogue.names)
    if unknown:
        problems.append(f"treatment: unknown {', '.join(sorted(unknown))} (not in the catalogue)")
    bad_team = set(aligned["team"].dropna()) - {"", *teams.names}
    if bad_team:
        problems.append(f"team: unknown {', '.join(sorted(bad_team))} (not in the teams file)")
    if problems:
        raise InputError(f"allocation: {len(problems)} problem(s)", problems)
    return aligned.reset_index()


@dataclass(frozen=True, eq=False)
class _Accounts:
    """Per account (book order): id, zone code, preferred hour, treatment and team index,
    value, region, hardship and protected flags."""

    ids: pd.Series
    zone_code: np.ndarray
    preferred: np.ndarray
    t_index: np.ndarray
    team_index: np.ndarray
    value: np.ndarray
    region: np.ndarray
    hardship: np.ndarray
    blocked: np.ndarray


@dataclass(frozen=True, eq=False)
class _Slots:
    """Per (zone, day, hour): local minute, local day index, local date and time text; per
    (day, hour): the UTC text."""

    zones: list[str]
    local_min: np.ndarray
    local_day: np.ndarray
    utc_text: list[str]
    local_date: np.ndarray
    local_time: np.ndarray


@dataclass
class _Tasks:
    """Per account: attempts wanted, resource units per attempt, the resource, and the
    value per attempt; counts of accounts left out and why."""

    attempts: np.ndarray
    need: np.ndarray
    res_key: list[Any]
    per_attempt: np.ndarray
    counts: dict[str, int]


def _accounts(
    book: pd.DataFrame,
    aligned: pd.DataFrame,
    contact: pd.DataFrame,
    catalogue: Catalogue,
    teams: Teams,
    zones: list[str],
) -> _Accounts:
    comp = catalogue.compliance
    team_of = {name: k for k, name in enumerate(teams.names)}
    blocked = np.zeros(len(book), dtype=bool)
    for flag in comp.blocking_flags():
        blocked |= flag_column(book, flag)
    return _Accounts(
        ids=book["account_id"].astype(str).reset_index(drop=True),
        zone_code=np.searchsorted(
            np.array(zones, dtype=object), contact["timezone"].astype(str).to_numpy()
        ),
        preferred=contact["preferred_hour"].to_numpy(dtype=np.int64),
        t_index=np.array([catalogue.names.index(t) for t in aligned["treatment"]], dtype=np.int64),
        team_index=np.array(
            [team_of.get(t, -1) for t in aligned["team"].fillna("")], dtype=np.int64
        ),
        value=np.maximum(aligned["value"].fillna(0.0).to_numpy(dtype=np.float64), 0.0),
        region=text_column(book, "region"),
        hardship=flag_column(book, "hardship"),
        blocked=blocked,
    )


def _tasks(
    acc: _Accounts,
    catalogue: Catalogue,
    resources: Mapping[Any, _Resource],
    field_team: Mapping[str, int],
    days: int,
) -> _Tasks:
    """Each account's attempts (its treatment's actions per period, scaled to ``days``)."""
    n = acc.ids.size
    attempts = np.zeros(n, dtype=np.int64)
    need = np.ones(n, dtype=np.float64)
    res_key: list[Any] = [None] * n
    counts = {"blocked_protected": 0, "blocked_hardship": 0, "referrals": 0, "no_resource": 0}
    for j in range(n):
        t = catalogue.treatments[acc.t_index[j]]
        if not t.contact or t.actions <= 0:
            continue
        if acc.blocked[j]:
            counts["blocked_protected"] += 1
            continue
        if acc.hardship[j] and t.name in catalogue.compliance.hardship_forbidden:
            counts["blocked_hardship"] += 1
            continue
        if t.channel == "phone":
            key: Any = int(acc.team_index[j]) if acc.team_index[j] in resources else None
            need[j] = max(t.handling_minutes, 1e-9)
        elif t.channel in AUTOMATED:
            key = t.channel
        elif t.channel == "visit":
            key = ("visit", acc.region[j]) if acc.region[j] in field_team else None
        else:  # legal referral: not a contact attempt of the customer
            counts["referrals"] += 1
            continue
        attempts[j] = max(1, round(t.actions * days / catalogue.period_days))
        if key is None:
            counts["no_resource"] += 1
        res_key[j] = key
    per_attempt = np.where(attempts > 0, acc.value / np.maximum(attempts, 1), 0.0)
    return _Tasks(attempts, need, res_key, per_attempt, counts)


def schedule_contacts(
    book: pd.DataFrame,
    allocation: pd.DataFrame,
    catalogue: Catalogue,
    teams: Teams,
    channels: Channels,
    *,
    days: int = 7,
    start: date,
    contact: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
) -> CalendarResult:
    """Plan the contact attempts of ``days`` days from ``start`` (module docstring).

    ``allocation`` has ``account_id, treatment, team, value`` (value: the uplift over no
    action, CNY); ``contact`` has ``account_id, timezone, preferred_hour`` (defaults: the
    profile's zone, none); ``history`` has ``account_id, timestamp (UTC), channel, outcome``.
    """
    t0 = time.perf_counter()
    if days < 1:
        raise InputError(f"days must be at least 1, got {days}")
    profile = catalogue.compliance.profile
    ids = book["account_id"].astype(str).reset_index(drop=True)
    aligned = _validate_allocation(ids, allocation, catalogue, teams)
    if contact is None:
        contact = pd.DataFrame(
            {"account_id": ids, "timezone": profile.timezone, "preferred_hour": -1}
        )
    zones = sorted(set(contact["timezone"].astype(str)))
    acc = _accounts(book, aligned, contact, catalogue, teams, zones)
    slots = _Slots(zones, *_slot_tables(zones, ZoneInfo(profile.timezone), start, days))
    visit = [t for t in catalogue.treatments if t.channel == "visit"]
    visit_hours = int(np.ceil(max((t.handling_minutes for t in visit), default=60.0) / 60.0))
    resources, field_team = _resources(
        teams, channels, start, days, sorted(set(acc.region.tolist())), visit_hours
    )
    history_of = _history_by_account(
        history, dict(zip(ids, contact["timezone"].astype(str), strict=True)), start
    )
    tasks = _tasks(acc, catalogue, resources, field_team, days)
    bound = _knapsack_bound(resources, tasks.res_key, tasks.attempts, tasks.need, tasks.per_attempt)
    rows = _greedy(acc, tasks, slots, resources, catalogue, channels, history_of, days)
    calendar = _calendar_table(rows, acc, tasks, slots, catalogue, teams, field_team)
    scheduled = float(np.round(calendar["expected_value"].sum(), 2))
    channel_of = np.array([t.channel for t in catalogue.treatments], dtype=object)[acc.t_index]
    summary = {
        "jurisdiction": profile.code,
        "start": start.isoformat(),
        "days": days,
        "accounts": int(ids.size),
        "accounts_with_attempts": int(calendar["account_id"].nunique()),
        "attempts_requested": int(tasks.attempts.sum()),
        "attempts_scheduled": len(calendar),
        "by_channel": {
            c: {
                "requested": int(tasks.attempts[channel_of == c].sum()),
                "scheduled": int((calendar["channel"] == c).sum()),
            }
            for c in ("phone", "sms", "email", "app", "visit")
        },  # fmt: skip
        "value_requested": round(float((tasks.per_attempt * tasks.attempts).sum()), 2),
        "value_scheduled": scheduled,
        "bound": round(bound, 2),
        "gap": 0.0 if bound <= 0 else max(0.0, gap_to_bound(scheduled, bound)),
        "method": METHOD,
        **tasks.counts,
        "runtime_s": time.perf_counter() - t0,
    }
    return CalendarResult(calendar=calendar, summary=summary)


def _greedy(
    acc: _Accounts,
    tasks: _Tasks,
    slots: _Slots,
    resources: Mapping[Any, _Resource],
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
            cand = _candidate_hours(res, slots.local_min[u], rules, dur, int(acc.preferred[j]))
            slot_cache[cache_key] = cand
        state = _AccountState.of(history_of.get(ids[j], ()))
        is_call = t.channel == "phone"
        need = float(tasks.need[j])
        k = int(tasks.attempts[j])
        for r in range(k):
            target = (r * days) // k
            for d in [*range(target, days), *range(target - 1, -1, -1)]:
                hour = _first_hour(res, d, cand[d], need, slots, u, state, rules,
                                   is_call, bool(acc.hardship[j]))  # fmt: skip
                if hour >= 0:
                    res.cap[d][0 if res.per_day else hour] -= need
                    state.add(d, hour, int(slots.local_day[u, d, hour]), is_call)
                    rows.append((j, d, hour))
                    break
    return rows


@dataclass
class _AccountState:
    """One account's contacts so far (history, then the calendar's own earlier choices)."""

    calls: dict[int, int]
    contacts: dict[int, int]
    convs: list[tuple[int, int]]
    used: set[tuple[int, int]]

    @classmethod
    def of(cls, history: Any) -> _AccountState:
        state = cls({}, {}, [], set())
        for h_day, h_min, is_call, connected in history:
            state.contacts[h_day] = state.contacts.get(h_day, 0) + 1
            if is_call:
                state.calls[h_day] = state.calls.get(h_day, 0) + 1
            if connected:
                state.convs.append((h_day, h_min))
        return state

    def add(self, d: int, h: int, local_day: int, is_call: bool) -> None:
        self.used.add((d, h))
        self.contacts[local_day] = self.contacts.get(local_day, 0) + 1
        if is_call:
            self.calls[local_day] = self.calls.get(local_day, 0) + 1


def _first_hour(
    res: _Resource,
    d: int,
    hours: list[int],
    need: float,
    slots: _Slots,
    u: int,
    state: _AccountState,
    rules: _Rules,
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
        if is_call and not _call_allowed(
            day_l, int(slots.local_min[u, d, h]), state.calls, state.convs, rules
        ):
            continue
        return h
    return -1


def _candidate_hours(
    res: _Resource, local_minutes: np.ndarray, rules: _Rules, duration: float, preferred: int
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


def _knapsack_bound(
    resources: Mapping[Any, _Resource],
    res_key: list[Any],
    attempts: np.ndarray,
    need: np.ndarray,
    per_attempt: np.ndarray,
) -> float:
    """Σ over resources of the fractional-knapsack optimum (each account: ``attempts`` items
    of weight ``need`` and value ``per_attempt``; capacity: the resource's total)."""
    total = 0.0
    groups: dict[Any, list[int]] = {}
    for j, key in enumerate(res_key):
        if key is not None and attempts[j] > 0:
            groups.setdefault(key, []).append(j)
    for key, members in groups.items():
        js = np.array(members)
        dens = per_attempt[js] / need[js]
        js = js[np.argsort(-dens, kind="stable")]
        weight = attempts[js] * need[js]
        worth = attempts[js] * per_attempt[js]
        room = resources[key].total()
        cum = np.cumsum(weight)
        full = int(np.searchsorted(cum, room, side="right"))
        total += float(worth[:full].sum())
        if full < js.size:
            left = room - (cum[full - 1] if full else 0.0)
            total += float(worth[full] * max(left, 0.0) / weight[full])
    return total


def _calendar_table(
    rows: list[tuple[int, int, int]],
    acc: _Accounts,
    tasks: _Tasks,
    slots: _Slots,
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
            "expected_value": np.round(tasks.per_attempt[j], 2),
        }
    )
