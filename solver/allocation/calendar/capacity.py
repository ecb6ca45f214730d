"""The contact calendar's time grid and capacities, and the bound they give.

The grid is hourly slots in the collection centre's time zone over the calendar's days
(:func:`slot_tables`: each slot's UTC instant and its local minute, day and date in every
customer zone). A :class:`Resource` is one capacity: a phone team's dialler minutes per
slot, an automated channel's messages per slot, a region's field visits per day
(:func:`build_resources`, from the teams' shifts and ``scenarios/channels.toml``).
:func:`knapsack_bound` is the calendar's bound: the fractional-knapsack (LP) optimum of each
resource on its own, summed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from solver.allocation.calendar.channels import AUTOMATED, Channels
from solver.allocation.teams import Teams

__all__ = ["HOURS", "Resource", "Slots", "build_resources", "knapsack_bound", "slot_tables"]

#: Slots per day: the grid is hourly, in the collection centre's time zone.
HOURS = 24


@dataclass
class Resource:
    """One capacity: minutes or messages per (day, hour); or visits per day (``per_day``)."""

    name: str
    cap: list[list[float]]  # days × 24 (per_day: the day's capacity in column 0)
    hours: list[list[int]]  # usable hours per day (shift, working day)
    per_day: bool = False

    def total(self) -> float:
        """The capacity on the usable hours of every day (the knapsack bound's room)."""
        if self.per_day:
            return float(sum(row[0] for row, hrs in zip(self.cap, self.hours, strict=True) if hrs))
        return float(
            sum(sum(row[h] for h in hrs) for row, hrs in zip(self.cap, self.hours, strict=True))
        )


@dataclass(frozen=True, eq=False)
class Slots:
    """Per (zone, day, hour): local minute, local day index, local date and time text; per
    (day, hour): the UTC text."""

    zones: list[str]
    local_min: np.ndarray
    local_day: np.ndarray
    utc_text: list[str]
    local_date: np.ndarray
    local_time: np.ndarray


def slot_tables(
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


def build_resources(
    teams: Teams, channels: Channels, start: date, days: int, regions: list[str], visit_hours: int
) -> tuple[dict[Any, Resource], dict[str, int]]:
    """Capacities: a resource per phone team (index), per automated channel (name) and per
    visited region (``("visit", region)``); also the field team serving each region."""
    out: dict[Any, Resource] = {}
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
            out[k] = Resource(
                team.name, [[per_slot] * HOURS for _ in range(days)], shift_hours(team, 1)
            )
    for name in AUTOMATED:
        rate = float(channels.throughput_per_hour.get(name, 0.0))
        out[name] = Resource(
            name, [[rate] * HOURS for _ in range(days)], [list(range(HOURS))] * days
        )
    field_team: dict[str, int] = {}
    for region in regions:
        for k, team in enumerate(teams.teams):
            if team.type == "field" and (not team.regions or region in team.regions):
                field_team[region] = k
                visits = float(channels.visits_per_day(region))
                out[("visit", region)] = Resource(
                    f"visits {region}",
                    [[visits] + [0.0] * (HOURS - 1) for _ in range(days)],
                    shift_hours(team, visit_hours),
                    per_day=True,
                )
                break
    return out, field_team


def knapsack_bound(
    resources: Mapping[Any, Resource],
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
