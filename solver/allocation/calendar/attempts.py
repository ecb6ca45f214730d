"""What the allocation asks the calendar for: each account's attempts, resource and value.

:func:`accounts_of` reads the book and the allocation into per-account arrays
(:class:`Accounts`: zone, preferred hour, treatment, team, value, region, hardship, the
protected flags that stop its contact); :func:`tasks_of` turns each account's treatment into
attempts over the calendar's days, with the resource they use (a team's dialler minutes, a
gateway's messages, a region's visits) and their value in whole cents, and holds back the
contacts the law stops (:mod:`~solver.allocation.calendar.blocked`: counted as requested,
not scheduled).

Split from :mod:`~solver.allocation.calendar.scheduler` (session 25): what is asked for and
what the law stops, here; where the attempts go (the greedy, the slots, the bound), there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from solver.allocation.calendar.blocked import hardship_reason, protected_reason, step_reason
from solver.allocation.calendar.capacity import Resource, knapsack_bound
from solver.allocation.calendar.channels import AUTOMATED
from solver.allocation.catalogue import Catalogue
from solver.allocation.compliance import flag_column, text_column
from solver.allocation.teams import Teams

__all__ = ["Accounts", "Tasks", "accounts_of", "step_stops", "tasks_of"]


@dataclass(frozen=True, eq=False)
class Accounts:
    """Per account (book order): id, zone code, preferred hour, treatment and team index,
    value, region, hardship, the protected flags that stop its contact ("" for none;
    e.g. ``"dispute, has_plan"``), and the replan step that forbids its treatment ("" for
    none; :func:`step_stops`)."""

    ids: pd.Series
    zone_code: np.ndarray
    preferred: np.ndarray
    t_index: np.ndarray
    team_index: np.ndarray
    value: np.ndarray
    region: np.ndarray
    hardship: np.ndarray
    blocked: np.ndarray
    step_stop: np.ndarray


@dataclass
class Tasks:
    """Per account: attempts wanted, resource units per attempt, the resource, the value in
    whole cents (0 without attempts) and its mean per attempt (CNY, for the density);
    counts of accounts left out and why; the contacts the allocation asked for that the
    law stops (``held``: attempts per account; ``blocked``: one entry per such account)."""

    attempts: np.ndarray
    need: np.ndarray
    res_key: list[Any]
    cents: np.ndarray
    per_attempt: np.ndarray
    counts: dict[str, int]
    held: np.ndarray
    blocked: list[dict[str, Any]]

    def attempt_cents(self, j: np.ndarray, attempt: np.ndarray) -> np.ndarray:
        """Cents of attempt number ``attempt`` (1, 2, ...) of account ``j``: the account's
        cents shared equally, the first ``cents mod attempts`` attempts one cent more."""
        k = np.maximum(self.attempts[j], 1)
        return self.cents[j] // k + (attempt <= self.cents[j] % k)

    def bound_cents(self, resources: Mapping[Any, Resource]) -> int:
        """The per-resource fractional-knapsack bound on the same whole-cent attempt values
        (module docstring), rounded down to the cent."""
        k = np.maximum(self.attempts, 1)
        base, extra = self.cents // k, self.cents % k
        # each account as two items: its attempts with the extra cent, and the others
        bound = knapsack_bound(
            resources,
            [*self.res_key, *self.res_key],
            np.concatenate([np.where(self.attempts > 0, extra, 0), self.attempts - extra]),
            np.concatenate([self.need, self.need]),
            np.concatenate([base + 1, base]).astype(np.float64),
        )
        return int(np.floor(bound + 1e-6))  # an integer objective: float noise only


def accounts_of(
    book: pd.DataFrame,
    aligned: pd.DataFrame,
    contact: pd.DataFrame,
    catalogue: Catalogue,
    teams: Teams,
    zones: list[str],
    steps: Mapping[str, str] | None = None,
) -> Accounts:
    """The per-account arrays of ``book`` and its ``aligned`` allocation (book order);
    ``zones``: the sorted time zones, which ``zone_code`` indexes; ``steps``: the replan
    steps the allocation was steered by (account -> step), or None."""
    comp = catalogue.compliance
    team_of = {name: k for k, name in enumerate(teams.names)}
    # every flag an account has, named in the warning on a contact the allocation asked for
    flags = [(flag, flag_column(book, flag)) for flag in comp.blocking_flags()]
    blocked = np.full(len(book), "", dtype=object)
    if flags:
        for j in np.flatnonzero(np.any([mask for _, mask in flags], axis=0)):
            blocked[j] = ", ".join(flag for flag, mask in flags if mask[j])
    t_index = np.array([catalogue.names.index(t) for t in aligned["treatment"]], dtype=np.int64)
    return Accounts(
        ids=book["account_id"].astype(str).reset_index(drop=True),
        zone_code=np.searchsorted(
            np.array(zones, dtype=object), contact["timezone"].astype(str).to_numpy()
        ),
        preferred=contact["preferred_hour"].to_numpy(dtype=np.int64),
        t_index=t_index,
        team_index=np.array(
            [team_of.get(t, -1) for t in aligned["team"].fillna("")], dtype=np.int64
        ),
        value=np.maximum(aligned["value"].fillna(0.0).to_numpy(dtype=np.float64), 0.0),
        region=text_column(book, "region"),
        hardship=flag_column(book, "hardship"),
        blocked=blocked,
        step_stop=step_stops(book, catalogue, steps, t_index),
    )


def step_stops(
    book: pd.DataFrame,
    catalogue: Catalogue,
    steps: Mapping[str, str] | None,
    t_index: np.ndarray,
) -> np.ndarray:
    """Each account's replan step where it forbids the account's treatment (catalogue index
    ``t_index``), "" elsewhere.

    A step that lifts the ``has_plan`` stop may narrow what the account may get (a
    ``cure_window`` account gentle treatments only, a ``reage`` account those or the plan
    offer): :func:`solver.allocation.replan.step_forbids`, the rule ``allocate --replan``
    applies, so the calendar holds an allocated contact back exactly where that rule rules it
    out (session 25: the calendar lifted the stop but scheduled, e.g., a field visit for a
    cure-window account). The calendar re-checks the law's stops and this rule, not the
    bank's other eligibility rules (tiers, buckets), which ``allocate`` applied.
    """
    from solver.allocation.replan import step_forbids

    stop = np.full(len(book), "", dtype=object)
    if not steps:
        return stop
    ids = book["account_id"].astype(str).to_numpy()
    treatments = catalogue.treatments
    for row, account_id in enumerate(ids):
        step = steps.get(account_id, "")
        if step and step_forbids(step, treatments[t_index[row]]):
            stop[row] = step
    return stop


def tasks_of(
    acc: Accounts,
    catalogue: Catalogue,
    resources: Mapping[Any, Resource],
    field_team: Mapping[str, int],
    days: int,
) -> Tasks:
    """Each account's attempts (its treatment's actions per period, scaled to ``days``)."""
    n = acc.ids.size
    attempts = np.zeros(n, dtype=np.int64)
    need = np.ones(n, dtype=np.float64)
    res_key: list[Any] = [None] * n
    held = np.zeros(n, dtype=np.int64)
    blocked: list[dict[str, Any]] = []
    # the stops are counted from ``blocked`` (blocked.blocked_counts), not here a second time
    counts = {"referrals": 0, "no_resource": 0}
    for j in range(n):
        t = catalogue.treatments[acc.t_index[j]]
        if not t.contact or t.actions <= 0:
            continue
        # the attempts the allocation asked for (a legal referral is no attempt)
        wanted = max(1, round(t.actions * days / catalogue.period_days))
        if t.channel not in ("phone", "visit", *AUTOMATED):
            wanted = 0
        stop = ""
        # a stop holds back attempts; a legal referral has none (no contact slot), so it is
        # counted as a referral below, not told as "0 attempts not scheduled" (s24 review)
        if wanted and acc.blocked[j]:
            stop = protected_reason(acc.blocked[j])
        elif wanted and acc.hardship[j] and t.name in catalogue.compliance.hardship_forbidden:
            stop = hardship_reason(t.name)
        elif wanted and acc.step_stop[j]:
            stop = step_reason(acc.step_stop[j], t.name)
        if stop:
            # requested but not scheduled: counted in the headline and named in a warning
            held[j] = wanted
            blocked.append({"account_id": str(acc.ids[j]), "treatment": t.name,
                            "reason": stop, "attempts": wanted})  # fmt: skip
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
        attempts[j] = wanted
        if key is None:
            counts["no_resource"] += 1
        res_key[j] = key
    cents = np.where(attempts > 0, np.round(acc.value * 100.0), 0).astype(np.int64)
    per_attempt = cents / np.maximum(attempts, 1) / 100.0
    return Tasks(attempts, need, res_key, cents, per_attempt, counts, held, blocked)
