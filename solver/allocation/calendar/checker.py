"""The independent checker of a contact calendar against a jurisdiction's law (issue 17).

It shares no code with the scheduler: it reads the calendar as written (UTC instants,
channels, minutes, party), converts every instant to the customer's local time itself
(pandas ``tz_convert``, where the scheduler uses ``zoneinfo`` slot tables), and checks each
rule of the *profile* (:class:`solver.allocation.jurisdiction.Profile`; the law, not the
bank's settings) on the calendar together with the contact history:

* ``contact_start`` / ``contact_end``: every contact starts and ends inside the local window;
* ``max_connected_calls_per_day``: any planned call may be answered, so the history's
  conversations of a local day plus that day's planned calls stay within the limit;
* ``max_call_attempts_per_day``: any planned call may go unanswered, so the history's
  unanswered attempts plus the planned calls of a local day stay within it;
* ``max_call_attempts_per_7_days``: call attempts (history and plan) in any 7 consecutive
  local days;
* ``no_call_days_after_conversation``: no planned call on the day of a conversation (after
  it) nor on the following N-1 days, and every planned call tells the dialler to cancel the
  account's calls for N days after a conversation (``stop_after_conversation_days``);
* ``third_party_contact``: every row is a contact of the debtor;
* ``protected_flags``: no row for an account with a protected flag;
* ``hardship_forbidden`` / ``hardship_max_contacts_per_day``: for hardship accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from solver.allocation.jurisdiction import Profile

__all__ = ["Violation", "check_calendar"]

_DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class Violation:
    """One broken rule: which, for which account, what happened, and the legal source."""

    rule: str
    account_id: str
    detail: str
    source: str


def _local(stamps: pd.Series, zones: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Local day number (days since 1970-01-01 local) and minute of day of UTC instants."""
    day = np.zeros(len(stamps), dtype=np.int64)
    minute = np.zeros(len(stamps), dtype=np.int64)
    for zone in pd.unique(zones):
        pick = (zones == zone).to_numpy()
        here = stamps[pick].dt.tz_convert(zone).dt.tz_localize(None)
        ns = here.to_numpy().astype("datetime64[ns]").astype(np.int64)
        day[pick] = ns // _DAY_NS
        minute[pick] = (ns % _DAY_NS) // (60 * 10**9)
    return day, minute


def _events(
    calendar: pd.DataFrame, history: pd.DataFrame | None, zone_of: pd.Series, default_zone: str
) -> pd.DataFrame:
    """Planned and past contacts in one table, with local day and minute."""
    plan = pd.DataFrame(
        {
            "account_id": calendar["account_id"].astype(str).to_numpy(),
            "at": pd.to_datetime(calendar["utc_time"], utc=True),
            "call": (calendar["channel"] == "phone").to_numpy(),
            "connected": False,
            "planned": True,
            "treatment": calendar["treatment"].astype(str).to_numpy(),
            "minutes": calendar["minutes"].to_numpy(dtype=np.float64),
            "party": calendar["party"].astype(str).to_numpy(),
            "stop": calendar["stop_after_conversation_days"].to_numpy(dtype=np.int64),
        }
    )
    parts = [plan]
    if history is not None and len(history):
        parts.append(
            pd.DataFrame(
                {
                    "account_id": history["account_id"].astype(str).to_numpy(),
                    "at": pd.to_datetime(history["timestamp"], utc=True),
                    "call": (history["channel"] == "phone").to_numpy(),
                    "connected": (
                        (history["channel"] == "phone") & (history["outcome"] == "connected")
                    ).to_numpy(),
                    "planned": False,
                    "treatment": "",
                    "minutes": 0.0,
                    "party": "debtor",
                    "stop": 0,
                }
            )  # fmt: skip
        )
    events = pd.concat(parts, ignore_index=True)
    zones = events["account_id"].map(zone_of).astype(object).fillna(default_zone)
    events["day"], events["minute"] = _local(events["at"], zones)
    return events


def _daily_excess(
    events: pd.DataFrame, mask: np.ndarray, limit: float, rule: str, what: str, source: str
) -> list[Violation]:
    """Accounts × local days with a planned contact whose count of ``mask`` events exceeds
    ``limit`` (a day the history alone broke is not the calendar's doing)."""
    counts = events[mask].groupby(["account_id", "day"])["planned"].agg(["size", "sum"])
    over = counts.loc[(counts["size"] > limit) & (counts["sum"] > 0), "size"]
    return [
        Violation(rule, acct, f"{n} {what} on local day {_date(day)} (limit {limit:g})", source)
        for (acct, day), n in over.items()
    ]


def _date(day: int) -> str:
    return str(np.datetime64(int(day), "D"))


def check_calendar(
    calendar: pd.DataFrame,
    book: pd.DataFrame,
    profile: Profile,
    *,
    contact: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
) -> list[Violation]:
    """Every violation of the profile's rules by the calendar (with the history)."""
    zone_of = (
        contact.set_index(contact["account_id"].astype(str))["timezone"]
        if contact is not None
        else pd.Series(dtype=object)
    )
    ev = _events(calendar, history, zone_of, profile.timezone)
    plan = ev["planned"].to_numpy()
    call = ev["call"].to_numpy()
    out: list[Violation] = []
    rule = profile.rules

    if "contact_start" in rule:
        early = plan & (ev["minute"].to_numpy() < rule["contact_start"].value * 60)
        out += [Violation("contact_start", a, f"contact at local minute {m} of {_date(d)}",
                          rule["contact_start"].source)
                for a, m, d in ev.loc[early, ["account_id", "minute", "day"]].itertuples(index=False)]  # fmt: skip
    if "contact_end" in rule:
        end = ev["minute"].to_numpy() + ev["minutes"].to_numpy()
        late = plan & (end > rule["contact_end"].value * 60)
        out += [Violation("contact_end", a, f"contact ending at local minute {e:g} of {_date(d)}",
                          rule["contact_end"].source)
                for a, e, d in zip(ev["account_id"][late], end[late], ev["day"][late], strict=True)]  # fmt: skip
    if "max_connected_calls_per_day" in rule:
        r = rule["max_connected_calls_per_day"]
        possible = call & (plan | ev["connected"].to_numpy())
        out += _daily_excess(ev, possible, r.value, r.name, "possible conversations", r.source)
    if "max_call_attempts_per_day" in rule:
        r = rule["max_call_attempts_per_day"]
        unanswered = call & (plan | ~ev["connected"].to_numpy())
        out += _daily_excess(ev, unanswered, r.value, r.name, "possibly unanswered calls", r.source)
    if "max_call_attempts_per_7_days" in rule:
        out += _rolling_week(ev[call], rule["max_call_attempts_per_7_days"])
    if "no_call_days_after_conversation" in rule:
        out += _after_conversation(ev, rule["no_call_days_after_conversation"])
    if "third_party_contact" in rule and not rule["third_party_contact"].value:
        bad = plan & (ev["party"].to_numpy() != "debtor")
        out += [Violation("third_party_contact", a, "contact of a third party",
                          rule["third_party_contact"].source) for a in ev["account_id"][bad]]  # fmt: skip
    out += _flag_rules(ev, book, profile)
    return out


def _rolling_week(calls: pd.DataFrame, r) -> list[Violation]:
    """Call attempts in the 7 local days ending at each call's day, over the limit."""
    if calls.empty:
        return []
    codes, accounts = pd.factorize(calls["account_id"])
    key = codes.astype(np.int64) * 10**7 + calls["day"].to_numpy()
    order = np.sort(key)
    in_week = np.searchsorted(order, key, side="right") - np.searchsorted(order, key - 6, "left")
    # windows ending at a planned call: a window over the limit that holds a planned call
    # holds as many calls when moved to end at its last call, which (the history coming
    # first) is a planned one
    over = np.flatnonzero((in_week > r.value) & calls["planned"].to_numpy())
    seen: set[tuple[int, int]] = set()
    out = []
    for i in over.tolist():
        pair = (int(codes[i]), int(key[i] % 10**7))
        if pair not in seen:
            seen.add(pair)
            out.append(Violation(r.name, str(accounts[codes[i]]),
                                 f"{in_week[i]} call attempts in the 7 days to {_date(pair[1])} "
                                 f"(limit {r.value:g})", r.source))  # fmt: skip
    return out


def _after_conversation(ev: pd.DataFrame, r) -> list[Violation]:
    """Planned calls inside N days of a conversation (its day = day 1), and planned calls
    that do not tell the dialler to stop for N days after one."""
    days = int(r.value)
    calls = ev[ev["planned"] & ev["call"]]
    out = [Violation(r.name, a, f"call without a {days}-day stop after a conversation", r.source)
           for a in calls.loc[calls["stop"] < days, "account_id"]]  # fmt: skip
    convs = ev[ev["connected"] & ~ev["planned"]]
    if convs.empty or calls.empty:
        return out
    pairs = calls.merge(
        convs[["account_id", "day", "minute"]], on="account_id", suffixes=("", "_c")
    )
    since = pairs["day"] - pairs["day_c"]
    hit = (since >= 0) & (since < days) & ((since > 0) | (pairs["minute"] > pairs["minute_c"]))
    out += [Violation(r.name, a, f"call on {_date(d)}, {s} day(s) after a conversation", r.source)
            for a, d, s in zip(pairs["account_id"][hit], pairs["day"][hit], since[hit], strict=True)]  # fmt: skip
    return out


def _flag_rules(ev: pd.DataFrame, book: pd.DataFrame, profile: Profile) -> list[Violation]:
    """Protected flags and the hardship rules, read from the book (the daily hardship limit
    counts the history's contacts of the day too)."""
    out: list[Violation] = []
    plan = ev[ev["planned"]]
    ids = book["account_id"].astype(str)

    def flagged(name: str) -> set[str]:
        if name not in book.columns:
            return set()
        return set(ids[book[name].fillna(False).astype(bool).to_numpy()])

    rule = profile.rules
    if "protected_flags" in rule:
        for flag in rule["protected_flags"].value:
            for acct in plan.loc[plan["account_id"].isin(flagged(flag)), "account_id"]:
                out.append(Violation("protected_flags", acct, f"contact despite {flag}",
                                     rule["protected_flags"].source))  # fmt: skip
    hard = plan[plan["account_id"].isin(flagged("hardship"))]
    if "hardship_forbidden" in rule:
        bad = hard[hard["treatment"].isin(rule["hardship_forbidden"].value)]
        out += [Violation("hardship_forbidden", a, f"{t} for a hardship account",
                          rule["hardship_forbidden"].source)
                for a, t in zip(bad["account_id"], bad["treatment"], strict=True)]  # fmt: skip
    if "hardship_max_contacts_per_day" in rule:
        r = rule["hardship_max_contacts_per_day"]
        every = ev[ev["account_id"].isin(flagged("hardship"))]
        out += _daily_excess(every, np.ones(len(every), dtype=bool), r.value, r.name,
                             "contacts of a hardship account", r.source)  # fmt: skip
    return out
