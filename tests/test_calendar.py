"""The contact calendar (issue 17 item 2): the scheduler and its independent checker.

The checker tests break one rule each with hand-made calendars whose numbers come from the
law (China: no contact 22:00-08:00 and 6 unanswered attempts a day from the China Banking
Association's 2026 guidelines, 3 connected calls a day as issue 17 states it; US Regulation
F 12 CFR 1006.14(b)(2)(i): 7 attempts in 7 consecutive days, none within 7 days after a
conversation, FDCPA 08:00-21:00; UK CONC 7.3 / 7.9; sources and their status in
docs/compliance.md), never from the scheduler's constants. The scheduler tests then run it on adversarial books
(protected flags, hardship, far time zones, preferred hours, a history at the limits) and
require the checker to find nothing, and fail it when one of the scheduler's rules is
switched off. The command-line test runs ``workout`` in process (tests/cli_inprocess.py).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import tomllib

import numpy as np
import pandas as pd
import pytest
from cli_inprocess import run_workout

from solver.allocation.calendar.channels import Channels
from solver.allocation.calendar.checker import check_calendar
from solver.allocation.calendar.scheduler import schedule_contacts
from solver.allocation.catalogue import Catalogue, default_catalogue_path
from solver.allocation.compliance import Compliance
from solver.allocation.jurisdiction import load_profile
from solver.allocation.teams import Teams
from solver.core.generate import generate_portfolio

START = dt.date(2026, 12, 7)  # a Monday
CN, US, UK = load_profile("cn"), load_profile("us"), load_profile("uk")
SH = "Asia/Shanghai"


# ---- hand-made calendars for the checker -------------------------------------------------


def at(local: str, zone: str) -> str:
    """The UTC text of a local wall-clock time (own conversion, for the test data)."""
    stamp = pd.Timestamp(local).tz_localize(zone).tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%MZ")


def plan(rows: list[tuple], zone: str = "Asia/Shanghai") -> pd.DataFrame:
    """Calendar rows (account, local time, channel[, minutes, party, treatment, stop])."""
    out = []
    for row in rows:
        acct, local, channel, *rest = row
        defaults: list = [4.0, "debtor", "agent_call", 7]
        defaults[: len(rest)] = rest
        minutes, party, treatment, stop = defaults
        out.append(
            {"account_id": acct, "utc_time": at(local, zone), "channel": channel,
             "minutes": minutes, "party": party, "treatment": treatment,
             "stop_after_conversation_days": stop}
        )  # fmt: skip
    return pd.DataFrame(out)


def book(ids: list[str], **flags: list[bool]) -> pd.DataFrame:
    frame = pd.DataFrame({"account_id": ids})
    for name, values in flags.items():
        frame[name] = values
    return frame


def contact_of(ids: list[str], zone: str) -> pd.DataFrame:
    return pd.DataFrame({"account_id": ids, "timezone": zone, "preferred_hour": -1})


def history(rows: list[tuple], zone: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": [r[0] for r in rows],
            "timestamp": [pd.Timestamp(at(r[1], zone)) for r in rows],
            "channel": [r[2] for r in rows],
            "outcome": [r[3] for r in rows],
        }
    )


def rules_broken(calendar, frame, profile, *, zone=None, past=None) -> set[str]:
    contact = contact_of(list(frame["account_id"]), zone or profile.timezone)
    found = check_calendar(calendar, frame, profile, contact=contact, history=past)
    return {v.rule for v in found}


def test_cn_no_contact_before_8():
    """China: a call at 07:00 local breaks the quiet hours; 08:00 does not."""
    frame = book(["a"])
    assert rules_broken(plan([("a", "2026-12-07 07:00", "phone")]), frame, CN) == {"contact_start"}
    assert rules_broken(plan([("a", "2026-12-07 08:00", "phone")]), frame, CN) == set()


def test_cn_no_contact_after_22():
    """China: a contact must end by 22:00; an SMS at 22:00 or a call running over breaks it."""
    frame = book(["a"])
    assert rules_broken(plan([("a", "2026-12-07 21:00", "phone", 60.0)]), frame, CN) == set()
    assert rules_broken(plan([("a", "2026-12-07 21:00", "phone", 61.0)]), frame, CN) == {
        "contact_end"
    }
    assert rules_broken(plan([("a", "2026-12-07 22:00", "sms", 1.0)]), frame, CN) == {"contact_end"}


def test_cn_three_connected_calls_a_day():
    """China: any planned call may connect: 4 planned calls in a day (or 2 conversations
    already plus 2 planned) break the limit of 3; 3 do not."""
    frame = book(["a"])
    three = [("a", f"2026-12-07 {h}:00", "phone") for h in (9, 12, 15)]
    assert rules_broken(plan(three), frame, CN) == set()
    four = [*three, ("a", "2026-12-07 18:00", "phone")]
    assert "max_connected_calls_per_day" in rules_broken(plan(four), frame, CN)
    past = history(
        [("a", "2026-12-07 08:10", "phone", "connected"), ("a", "2026-12-07 08:30", "phone",
          "connected")], "Asia/Shanghai"
    )  # fmt: skip
    two = plan([("a", "2026-12-07 12:00", "phone"), ("a", "2026-12-07 15:00", "phone")])
    assert rules_broken(two, frame, CN, past=past) == {"max_connected_calls_per_day"}


def test_cn_six_unanswered_attempts_a_day():
    """China: 5 unanswered attempts already and 2 planned make 7 > 6; 1 planned makes 6."""
    frame = book(["a"])
    past = history(
        [("a", f"2026-12-07 08:{m:02d}", "phone", "no_answer") for m in range(0, 50, 10)],
        "Asia/Shanghai",
    )
    one = plan([("a", "2026-12-07 12:00", "phone")])
    assert rules_broken(one, frame, CN, past=past) == set()
    two = plan([("a", "2026-12-07 12:00", "phone"), ("a", "2026-12-07 15:00", "phone")])
    assert rules_broken(two, frame, CN, past=past) == {"max_call_attempts_per_day"}


def test_cn_no_third_party_contact():
    """China: a row whose party is not the debtor breaks the third-party rule."""
    row = plan([("a", "2026-12-07 10:00", "phone", 4.0, "guarantor")])
    assert rules_broken(row, book(["a"]), CN) == {"third_party_contact"}


@pytest.mark.parametrize("flag", ["cease_contact", "dispute", "bankruptcy", "has_plan"])
def test_protected_flags_stop_contact(flag):
    """Every profile: a contact of a flagged account (e.g. a signed plan) is a violation."""
    frame = book(["a", "b"], **{flag: [True, False]})
    rows = plan([("a", "2026-12-07 10:00", "sms", 1.0), ("b", "2026-12-07 10:00", "sms", 1.0)])
    for profile in (CN, US, UK):
        found = check_calendar(rows, frame, profile, contact=contact_of(["a", "b"], SH))
        assert {(v.rule, v.account_id) for v in found} == {("protected_flags", "a")}


def test_us_seven_attempts_in_seven_days():
    """Regulation F: 4 past + 4 planned calls within 7 consecutive days break the limit of 7;
    moving one planned call to the 8th day does not."""
    zone = "America/New_York"
    frame = book(["a"])
    past = history([("a", f"2026-12-0{d} 10:00", "phone", "no_answer") for d in (1, 2, 3, 4)], zone)
    inside = plan([("a", f"2026-12-0{d} 10:00", "phone") for d in (5, 6, 7)], zone)
    assert rules_broken(inside, frame, US, past=past) == set()
    eight = plan([("a", f"2026-12-0{d} 10:00", "phone") for d in (5, 6, 7)]
                 + [("a", "2026-12-07 14:00", "phone")], zone)  # fmt: skip
    assert rules_broken(eight, frame, US, past=past) == {"max_call_attempts_per_7_days"}
    later = plan([("a", f"2026-12-0{d} 10:00", "phone") for d in (5, 6, 7, 8)], zone)
    assert rules_broken(later, frame, US, past=past) == set()


def test_us_no_call_within_seven_days_of_a_conversation():
    """Regulation F: after a conversation on Dec 1 (day 1), a call on Dec 7 (day 7) or later
    on Dec 1 breaks the rule; Dec 8 does not; every call must carry the 7-day stop."""
    zone = "America/Chicago"
    frame = book(["a"])
    past = history([("a", "2026-12-01 10:00", "phone", "connected")], zone)
    for bad in ("2026-12-07 10:00", "2026-12-01 15:00"):
        found = rules_broken(plan([("a", bad, "phone")], zone), frame, US, zone=zone, past=past)
        assert found == {"no_call_days_after_conversation"}
    ok = plan([("a", "2026-12-08 10:00", "phone")], zone)
    assert rules_broken(ok, frame, US, zone=zone, past=past) == set()
    no_stop = plan([("a", "2026-12-08 10:00", "phone", 4.0, "debtor", "agent_call", 0)], zone)
    assert rules_broken(no_stop, frame, US, zone=zone, past=past) == {
        "no_call_days_after_conversation"
    }


def test_us_window_is_the_consumers_local_time():
    """FDCPA: 10:00 in New York is 07:00 in Los Angeles: too early for a Californian."""
    frame = book(["a"])
    row = plan([("a", "2026-12-07 10:00", "phone")], "America/New_York")
    assert rules_broken(row, frame, US, zone="America/Los_Angeles") == {"contact_start"}
    assert rules_broken(row, frame, US, zone="America/New_York") == set()


def test_uk_hardship_rules():
    """CONC 7.3: no field visit for a customer in hardship, and at most one contact a day."""
    frame = book(["a", "b"], hardship=[True, False])
    visit = plan([("a", "2026-12-07 10:00", "visit", 180.0, "debtor", "field_visit", 0)],
                 "Europe/London")  # fmt: skip
    assert "hardship_forbidden" in rules_broken(visit, frame, UK)
    two = plan([(x, f"2026-12-07 {h}:00", "sms", 1.0) for x in ("a", "b") for h in (10, 15)],
               "Europe/London")  # fmt: skip
    found = check_calendar(two, frame, UK)
    assert {(v.rule, v.account_id) for v in found} == {("hardship_max_contacts_per_day", "a")}


#: Each profile's contact window (local hours), from the law (docs/compliance.md).
WINDOW = {"cn": (8, 22), "us": (8, 21), "uk": (8, 21)}


@pytest.mark.parametrize("code", ["cn", "us", "uk"])
def test_window_edges_of_every_profile(code):
    """A contact starting at the window's first minute or ending at its last is lawful; one
    minute earlier, or one minute over the end (US/UK 21:00, China 22:00), is not."""
    profile, (first, last) = load_profile(code), WINDOW[code]
    zone, frame = profile.timezone, book(["a"])
    day = "2026-12-08"

    def broken(local: str, minutes: float) -> set[str]:
        return rules_broken(plan([("a", f"{day} {local}", "phone", minutes)], zone), frame,
                            profile)  # fmt: skip

    assert broken(f"{first:02d}:00", 4.0) == set()
    assert broken(f"{first - 1:02d}:59", 4.0) == {"contact_start"}
    assert broken(f"{last - 1:02d}:00", 60.0) == set()
    assert broken(f"{last - 1:02d}:00", 61.0) == {"contact_end"}
    assert broken(f"{last:02d}:00", 1.0) == {"contact_end"}


def test_us_window_follows_daylight_saving():
    """FDCPA local time across the end of US summer time (1 Nov 2026): 12:30 UTC is 08:30 in
    New York on 30 Oct (EDT, lawful) but 07:30 on 2 Nov (EST, too early)."""
    frame = book(["a"])
    rows = pd.DataFrame(
        {"account_id": ["a"], "utc_time": ["2026-11-02T12:30Z"], "channel": ["phone"],
         "minutes": [4.0], "party": ["debtor"], "treatment": ["agent_call"],
         "stop_after_conversation_days": [7]}
    )  # fmt: skip
    assert rules_broken(rows, frame, US) == {"contact_start"}
    rows["utc_time"] = "2026-10-30T12:30Z"
    assert rules_broken(rows, frame, US) == set()


@pytest.mark.parametrize("code", ["cn", "us", "uk"])
@pytest.mark.parametrize("party", ["guarantor", "employer", "family"])
def test_third_party_contact_in_every_profile(code, party):
    """Every profile: a contact of anyone but the debtor breaks the third-party rule."""
    profile = load_profile(code)
    row = plan([("a", "2026-12-08 10:00", "sms", 1.0, party)], profile.timezone)
    assert rules_broken(row, book(["a"]), profile) == {"third_party_contact"}


@pytest.mark.parametrize("treatment", ["field_visit", "legal"])
def test_uk_hardship_forbids_visits_and_legal_action(treatment):
    """CONC 7.3: neither a field visit nor legal action for a customer in hardship; the same
    row for a customer not in hardship is lawful."""
    row = plan([("a", "2026-12-08 10:00", "visit", 60.0, "debtor", treatment, 0)],
               "Europe/London")  # fmt: skip
    assert rules_broken(row, book(["a"], hardship=[True]), UK) == {"hardship_forbidden"}
    assert rules_broken(row, book(["a"], hardship=[False]), UK) == set()


def test_a_day_the_history_alone_broke_is_not_the_calendars():
    """China: 7 unanswered attempts yesterday (the history's doing) are not the calendar's
    violation; one planned call today after 6 unanswered today is (7 > 6)."""
    frame = book(["a"])
    calls = [f"08:{m:02d}" for m in range(0, 60, 8)][:7]
    yesterday = history([("a", f"2026-12-07 {t}", "phone", "no_answer") for t in calls], SH)
    call = plan([("a", "2026-12-08 12:00", "phone")])
    assert rules_broken(call, frame, CN, past=yesterday) == set()
    today = history([("a", f"2026-12-08 {t}", "phone", "no_answer") for t in calls[:6]], SH)
    assert rules_broken(call, frame, CN, past=today) == {"max_call_attempts_per_day"}


def test_uk_hardship_daily_limit_counts_the_history():
    """CONC 7.3 (one contact a day in hardship): an SMS already sent today plus one planned
    makes two; the same planned SMS on a day without history is lawful."""
    frame = book(["a"], hardship=[True])
    sent = history([("a", "2026-12-08 09:00", "sms", "delivered")], "Europe/London")
    row = plan([("a", "2026-12-08 15:00", "sms", 1.0)], "Europe/London")
    assert rules_broken(row, frame, UK, past=sent) == {"hardship_max_contacts_per_day"}
    later = plan([("a", "2026-12-09 15:00", "sms", 1.0)], "Europe/London")
    assert rules_broken(later, frame, UK, past=sent) == set()


# ---- the scheduler on adversarial books ------------------------------------------------

ZONES = ("Asia/Shanghai", "Asia/Urumqi", "Asia/Tokyo", "America/Los_Angeles", "Europe/London")


def catalogue_for(code: str) -> Catalogue:
    data = tomllib.loads(default_catalogue_path().read_text())
    for key in ("contact_start", "contact_end"):
        del data["compliance"][key]  # take the profile's floor
    return Catalogue.from_mapping(data, source="bank.toml", jurisdiction=code)


def adversarial_case(n: int, seed: int):
    """A book with flags, hardship, far zones and preferred hours; an allocation of every
    contact treatment (protected accounts included, as a stale allocation would have); a
    history that puts accounts at the daily and weekly limits and after conversations."""
    rng = np.random.default_rng(seed)
    frame = generate_portfolio(n, seed=seed).copy()
    for flag, share in (("has_plan", 0.05), ("cease_contact", 0.03), ("hardship", 0.2)):
        frame[flag] = rng.random(n) < share
    teams = Teams.default()
    names = ["sms", "app", "email", "ai_voice", "agent_call", "senior_call", "field_visit"]
    treatment = rng.choice(names, size=n)
    team_of = {"ai_voice": "robot-voice", "agent_call": "agent-chengdu",
               "senior_call": "senior-beijing"}  # fmt: skip
    allocation = pd.DataFrame(
        {"account_id": frame["account_id"].astype(str), "treatment": treatment,
         "team": [team_of.get(t, "") for t in treatment],
         "value": np.round(rng.gamma(2.0, 50.0, n), 2)}
    )  # fmt: skip
    contact = pd.DataFrame(
        {"account_id": frame["account_id"].astype(str),
         "timezone": rng.choice(ZONES, size=n, p=[0.6, 0.1, 0.1, 0.1, 0.1]),
         "preferred_hour": np.where(rng.random(n) < 0.3, rng.integers(0, 24, n), -1)}
    )  # fmt: skip
    rows = []
    ids, zones = contact["account_id"].tolist(), contact["timezone"].tolist()
    for acct, zone in zip(ids[: n // 3], zones[: n // 3], strict=True):
        # 3 calls on each of the 2 days before: the rolling 7 days hold 6 already
        for back in (1, 2):
            for hour in (9, 11, 13):
                stamp = pd.Timestamp(f"{START} {hour}:00").tz_localize(zone)
                outcome = "connected" if rng.random() < 0.1 else "no_answer"
                rows.append((acct, stamp - pd.Timedelta(days=back), "phone", outcome))
    for acct, zone in zip(ids[n // 3 : n // 2], zones[n // 3 : n // 2], strict=True):
        # calls early on the first day itself: the daily limits are partly used
        for minute in (0, 10, 20):
            stamp = pd.Timestamp(f"{START} 08:{minute:02d}").tz_localize(zone)
            outcome = "connected" if rng.random() < 0.5 else "no_answer"
            rows.append((acct, stamp, "phone", outcome))
    past = pd.DataFrame(rows, columns=["account_id", "timestamp", "channel", "outcome"])
    past["timestamp"] = pd.to_datetime(past["timestamp"], utc=True)
    return frame, allocation, contact, past, teams


@pytest.mark.parametrize("code", ["cn", "us", "uk"])
def test_scheduler_output_passes_the_checker(code):
    """On an adversarial book the checker finds no violation of the profile's law."""
    frame, allocation, contact, past, teams = adversarial_case(600, seed=3)
    catalogue = catalogue_for(code)
    result = schedule_contacts(frame, allocation, catalogue, teams, Channels.from_toml(),
                               days=7, start=START, contact=contact, history=past)  # fmt: skip
    cal = result.calendar
    assert len(cal) > 300
    found = check_calendar(cal, frame, load_profile(code), contact=contact, history=past)
    assert found == []
    protected = frame[["has_plan", "cease_contact", "dispute", "bankruptcy"]].any(axis=1)
    flagged = set(frame.loc[protected, "account_id"].astype(str))
    assert not set(cal["account_id"]) & flagged
    s = result.summary
    assert s["blocked_protected"] == len(flagged & set(allocation["account_id"][
        allocation["treatment"] != "none"]))  # fmt: skip
    assert 0.0 <= s["gap"] <= 1.0
    assert s["uplift_vs_none_scheduled"] <= s["bound"]


def test_capacities_hold_per_slot():
    """Dialler minutes per team and hour and SMS per hour never exceed the capacity
    computed here from teams.toml and channels.toml."""
    frame, allocation, contact, past, teams = adversarial_case(400, seed=5)
    tight = Channels.from_mapping({"throughput_per_hour": {"sms": 3, "app": 2, "email": 2}})
    small = Teams(tuple(t if t.name != "agent-chengdu" else
                        t.__class__(**{**t.__dict__, "members": 1}) for t in teams.teams))  # fmt: skip
    result = schedule_contacts(frame, allocation, catalogue_for("cn"), small, tight,
                               days=7, start=START, contact=contact, history=past)  # fmt: skip
    cal = result.calendar
    per_hour = cal.groupby(["channel", "team", "utc_time"]).agg(
        n=("account_id", "size"), minutes=("minutes", "sum")
    )
    sms = per_hour.loc["sms"]["n"]
    assert sms.max() <= 3
    agent = per_hour.loc[("phone", "agent-chengdu")]["minutes"]
    assert agent.max() <= 1 * 60 * 0.7  # one collector, productive share 0.7 (teams.toml)
    assert result.summary["gap"] > 0  # the tight channels leave attempts out
    assert result.summary["uplift_vs_none_scheduled"] <= result.summary["bound"]


def test_same_input_same_calendar():
    """The scheduler is deterministic."""
    frame, allocation, contact, past, teams = adversarial_case(200, seed=8)
    runs = [
        schedule_contacts(frame, allocation, catalogue_for("us"), teams, Channels.from_toml(),
                          days=5, start=START, contact=contact, history=past).calendar
        for _ in range(2)
    ]  # fmt: skip
    pd.testing.assert_frame_equal(runs[0], runs[1])


def test_cli_calendar_with_dialler_files_and_bad_history(tmp_path):
    """`workout calendar` writes the calendar and one dialler CSV per calling team; a bad history
    row is exit 2 naming row and column, with nothing written."""
    frame, allocation, contact, past, _ = adversarial_case(80, seed=2)
    book_path = tmp_path / "book.csv"
    frame.assign(timezone=contact["timezone"]).to_csv(book_path, index=False)
    alloc_path = tmp_path / "alloc.csv"
    allocation.rename(columns={"value": "uplift_vs_none"}).to_csv(alloc_path, index=False)
    hist = tmp_path / "history.csv"
    past.to_csv(hist, index=False)
    out = tmp_path / "cal.csv"
    cmd = ["calendar", book_path, "--allocation", alloc_path, "--start", START, "--out", out]
    code, stdout, err = run_workout(*cmd, "--history", hist, "--dialler-dir", tmp_path / "d")
    assert code == 0, err
    assert "0 violations" in stdout
    written = pd.read_csv(out)
    calls = written[written["channel"] == "phone"]
    # every calling team has a file (header only without calls: session 24, no stale list)
    with_rows = sorted(p.name for p in (tmp_path / "d").iterdir() if len(pd.read_csv(p)))
    assert with_rows == sorted(f"{t}.csv" for t in calls["team"].unique())
    bad = tmp_path / "bad.csv"
    past.assign(outcome=["connected", "shouted", *past["outcome"][2:]]).to_csv(bad, index=False)
    out.unlink()
    code, _, err = run_workout(*cmd, "--history", bad)
    assert code == 2
    assert f"{bad}: row 2 (account_id " in err and "): outcome: must be one of" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_calendar_inputs_read_by_the_projects_table_reader(tmp_path):
    """The calendar's files go through solver.core.tables.read_table: an unknown suffix
    or a missing file is an InputError naming the file; a blank team stays blank and a
    blank value is named by row and column."""
    from solver.allocation.calendar.inputs import read_allocation, read_history
    from solver.errors import InputError

    with pytest.raises(InputError, match=r"history\.txt: unknown table format"):
        (tmp_path / "history.txt").write_text("account_id\n")
        read_history(tmp_path / "history.txt")
    with pytest.raises(InputError, match=r"gone\.csv: file not found"):
        read_allocation(tmp_path / "gone.csv")
    alloc = tmp_path / "alloc.csv"
    alloc.write_text("account_id,treatment,team,uplift_vs_none\n007,call,,1.5\n008,sms,t1,\n")
    with pytest.raises(InputError) as err:
        read_allocation(alloc)
    assert err.value.problems == [f"{alloc}: row 2 (account_id 008): uplift_vs_none: blank"]
    alloc.write_text("account_id,treatment,team,uplift_vs_none\n007,call,,1.5\n")
    table = read_allocation(alloc)
    assert table["account_id"].tolist() == ["007"] and table["team"].tolist() == [""]


@pytest.mark.parametrize(
    ("code", "setting", "loose", "rule"),
    [
        ("us", "calls_per_7_days", 99, "max_call_attempts_per_7_days"),
        ("us", "blackout_days", 0, "no_call_days_after_conversation"),
        ("cn", "calls_per_day", 9, "max_connected_calls_per_day"),
        ("uk", "hardship_per_day", 9, "hardship_max_contacts_per_day"),
        ("cn", "start_min", 0.0, "contact_start"),
        ("us", "end_min", 24 * 60.0, "contact_end"),
    ],
)
def test_the_adversarial_book_catches_a_scheduler_that_drops_a_rule(
    code, setting, loose, rule, monkeypatch
):
    """With one of its rules switched off, the scheduler's calendar fails the checker on
    the adversarial book: the book really tests each rule."""
    from solver.allocation.calendar import scheduler

    strict = scheduler._rules
    monkeypatch.setattr(
        scheduler, "_rules", lambda c: dataclasses.replace(strict(c), **{setting: loose})
    )
    frame, allocation, contact, past, teams = adversarial_case(600, seed=3)
    result = schedule_contacts(frame, allocation, catalogue_for(code), teams, Channels.from_toml(),
                               days=7, start=START, contact=contact, history=past)  # fmt: skip
    found = check_calendar(result.calendar, frame, load_profile(code), contact=contact,
                           history=past)  # fmt: skip
    assert rule in {v.rule for v in found}


def test_the_adversarial_book_catches_a_scheduler_that_ignores_protected_flags(monkeypatch):
    """A scheduler that forgets the profile's protected flags contacts the signed-plan,
    cease-contact, dispute and bankruptcy accounts of the stale allocation: the checker
    names them, and only them."""
    monkeypatch.setattr(Compliance, "blocking_flags", lambda self: ())
    frame, allocation, contact, past, teams = adversarial_case(600, seed=3)
    result = schedule_contacts(frame, allocation, catalogue_for("cn"), teams, Channels.from_toml(),
                               days=7, start=START, contact=contact, history=past)  # fmt: skip
    found = check_calendar(result.calendar, frame, CN, contact=contact, history=past)
    protected = frame[["has_plan", "cease_contact", "dispute", "bankruptcy"]].any(axis=1)
    flagged = set(frame.loc[protected, "account_id"].astype(str))
    named = {v.account_id for v in found if v.rule == "protected_flags"}
    assert named and named <= flagged


def test_the_adversarial_book_catches_a_scheduler_that_ignores_hardship_forbidden():
    """A scheduler given a catalogue without the UK's hardship ban (built around the floor
    check, as a bug would) sends field visits to hardship accounts: the checker finds it."""
    catalogue = catalogue_for("uk")
    loose = copy.copy(catalogue)
    comp = dataclasses.replace(catalogue.compliance, hardship_forbidden=())
    object.__setattr__(loose, "compliance", comp)
    frame, allocation, contact, past, teams = adversarial_case(600, seed=3)
    result = schedule_contacts(frame, allocation, loose, teams, Channels.from_toml(),
                               days=7, start=START, contact=contact, history=past)  # fmt: skip
    found = check_calendar(result.calendar, frame, UK, contact=contact, history=past)
    assert "hardship_forbidden" in {v.rule for v in found}
