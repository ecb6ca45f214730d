"""Session 24 review of ``workout calendar``: broken plans' contacts and the dialler folder.

1. Contacts that ``allocate --replan/--history`` gave to broken plans were dropped in silence
   (the calendar read ``has_plan`` as a stop the steps had lifted): ``calendar --replan`` /
   ``--payment-history`` lift it as allocate did, and any allocated contact the calendar
   stops is counted as requested-but-unscheduled and named in a warning.
2. ``--dialler-dir`` left an earlier week's team files beside this week's: every calling
   team's file is now rewritten each run (the header alone when it has no calls).

Oracles read the written files (calendar, dialler CSVs, allocation) with their own code;
the attempts requested and blocked are counted by hand from the input files (``_hand_count``).
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from calendar_helpers import allocation_file, flagged_book
from cli_inprocess import run_workout

#: accounts 0 and 1 ``has_plan``, 2 ``has_plan`` and ``dispute``
PROTECTED = {0: ["has_plan"], 1: ["has_plan"], 2: ["has_plan", "dispute"]}
START = dt.date(2026, 12, 7).isoformat()  # a Monday
TREATMENTS = Path(__file__).resolve().parents[1] / "scenarios" / "treatments.toml"
#: SPEC §3/§5: an account with one of these flags gets no collection contact.
STOP_FLAGS = ("cease_contact", "dispute", "bankruptcy", "has_plan")
#: SPEC §5: a hardship account never gets a field visit or legal action.
HARDSHIP_FORBIDDEN = ("field_visit", "legal")
#: Replan steps of a broken plan, which lift its has_plan stop (docs/calendar.md).
LIFTING_STEPS = ("cure_window", "reage", "escalate")


def _cal_allocation(path: Path, ids: list[str], contacts: dict[str, tuple[str, str]]) -> Path:
    """An allocation: ``none`` except ``contacts``, uplifts 100, 110, … by row."""
    return allocation_file(path, ids, contacts, uplift_step=10.0)


def _calendar(book: Path, alloc: Path, out: Path, *extra: object) -> tuple[int, str, str]:
    return run_workout("calendar", book, "--allocation", alloc, "--start", START,
                       "--out", out, *extra)  # fmt: skip


def _summary(book: Path, alloc: Path, out: Path, *extra: object) -> dict:
    code, stdout, err = _calendar(book, alloc, out, "--format", "json", *extra)
    assert code == 0, err
    return json.loads(stdout)


def _cents(values: pd.Series) -> Decimal:
    return sum((Decimal(str(v)) for v in values), Decimal(0))


def _hand_count(book: Path, alloc: Path, steps: Path | None = None) -> tuple[int, int]:
    """The attempts the allocation asks for and those a stop blocks, counted from the input
    files: each contact treatment's ``actions`` per period from the catalogue TOML (the
    calendar plans its default 7 days, one period); an account is stopped by a
    :data:`STOP_FLAGS` flag (``has_plan`` lifted when ``steps`` gives it a
    :data:`LIFTING_STEPS` step) or, when in hardship, for a :data:`HARDSHIP_FORBIDDEN`
    treatment. A treatment without a channel (a legal referral) has no attempt."""
    catalogue = tomllib.loads(TREATMENTS.read_text(encoding="utf-8"))
    # the calendar's default 7 days are one period: attempts = actions, no scaling
    assert catalogue["period_days"] == 7
    flags = pd.read_csv(book, dtype={"account_id": str}).set_index("account_id")
    lifted: set[str] = set()
    if steps is not None:
        given = pd.read_csv(steps, dtype={"account_id": str})
        lifted = set(given.loc[given["step"].isin(LIFTING_STEPS), "account_id"])
    requested = blocked = 0
    for account, treatment in pd.read_csv(alloc, dtype={"account_id": str})[
        ["account_id", "treatment"]
    ].itertuples(index=False):
        spec = catalogue["treatments"][treatment]
        if not spec["contact"] or not spec["channel"]:
            continue
        attempts = int(spec["actions"])
        stops = {f for f in STOP_FLAGS if flags.at[account, f]} - (
            {"has_plan"} if account in lifted else set()
        )
        hardship = flags.at[account, "hardship"] and treatment in HARDSHIP_FORBIDDEN
        requested += attempts
        blocked += attempts if stops or hardship else 0
    return requested, blocked


@pytest.fixture
def broken(tmp_path):
    """The book, an allocation that contacts the two broken plans (as allocate --replan
    does), a dispute+has_plan account and two ordinary ones, and the steps file."""
    book, ids = flagged_book(tmp_path, PROTECTED)
    contacts = {
        ids[0]: ("agent_call", "agent-chengdu"),  # broken plan, step reage
        ids[1]: ("sms", ""),  # broken plan, step reage
        ids[2]: ("agent_call", "agent-chengdu"),  # escalate, but a dispute still stops it
        ids[3]: ("agent_call", "agent-chengdu"),
        ids[4]: ("sms", ""),
    }
    alloc = _cal_allocation(tmp_path / "alloc.csv", ids, contacts)
    steps = tmp_path / "steps.csv"
    pd.DataFrame(
        {"account_id": ids[:3], "status": "broken", "step": ["reage", "reage", "escalate"]}
    ).to_csv(steps, index=False)
    return {"book": book, "ids": ids, "alloc": alloc, "steps": steps, "tmp": tmp_path}


def test_replan_steps_schedule_the_broken_plans_allocate_contacted(broken):
    """With allocate's --replan steps the broken plans' allocated contacts are in the
    calendar (checker clean); a dispute keeps blocking its account despite the step."""
    out = broken["tmp"] / "cal.csv"
    code, stdout, err = _calendar(broken["book"], broken["alloc"], out, "--replan", broken["steps"])
    assert code == 0, err
    assert "0 violations" in stdout
    cal = pd.read_csv(out, dtype={"account_id": str})
    ids = broken["ids"]
    have = set(cal["account_id"])
    assert {ids[0], ids[1], ids[3], ids[4]} <= have
    assert ids[2] not in have
    assert set(cal.loc[cal["account_id"] == ids[0], "channel"]) == {"phone"}
    assert set(cal.loc[cal["account_id"] == ids[1], "channel"]) == {"sms"}
    # the escalate step lifted has_plan; the dispute alone stops the account
    assert "1 allocated account is protected (dispute) and" in err and ids[2] in err
    assert ids[0] not in err and ids[1] not in err


def test_blocked_contacts_are_counted_and_named(broken):
    """Without the steps the broken plans get no contact, and the headline counts their
    attempts as requested and not scheduled (oracle: :func:`_hand_count` on the input
    files), the value requested includes their uplift, and a warning names them."""
    tmp, ids = broken["tmp"], broken["ids"]
    requested, blocked_with_steps = _hand_count(broken["book"], broken["alloc"], broken["steps"])
    _, blocked = _hand_count(broken["book"], broken["alloc"])
    # the inputs by hand: agent_call 5 attempts, sms 2 (fixture); ids 0-2 stopped without the
    # steps (has_plan; dispute), only the dispute account (id 2) with them
    assert (requested, blocked, blocked_with_steps) == (5 + 2 + 5 + 5 + 2, 5 + 2 + 5, 5)
    with_steps = _summary(
        broken["book"], broken["alloc"], tmp / "a.csv", "--replan", broken["steps"]
    )
    assert with_steps["attempts_requested"] == requested
    assert with_steps["attempts_blocked"] == blocked_with_steps
    code, stdout, err = _calendar(broken["book"], broken["alloc"], tmp / "b.csv")
    assert code == 0, err
    cal = pd.read_csv(tmp / "b.csv", dtype={"account_id": str})
    assert not set(cal["account_id"]) & {ids[0], ids[1], ids[2]}
    # the two ordinary accounts' attempts all fit the week's capacity
    assert len(cal) == requested - blocked
    flat = " ".join(stdout.split())
    assert f"{len(cal):,} of {requested:,} attempts scheduled" in flat, flat
    assert f"{blocked:,} blocked by protected flags" in flat
    assert "2 allocated accounts are protected (has_plan)" in err
    assert f"{ids[0]}, {ids[1]}" in err and "--replan" in err
    assert "1 allocated account is protected (dispute, has_plan)" in err and ids[2] in err
    summary = _summary(broken["book"], broken["alloc"], tmp / "c.csv")
    assert summary["attempts_requested"] == requested
    assert summary["attempts_blocked"] == blocked
    assert summary["attempts_scheduled"] == len(cal)
    alloc = pd.read_csv(broken["alloc"], dtype={"account_id": str}).set_index("account_id")
    assert Decimal(str(summary["uplift_vs_none_requested"])) == _cents(
        alloc.loc[alloc["treatment"] != "none", "uplift_vs_none"]
    )
    assert {b["account_id"] for b in summary["blocked"]} == set(ids[:3])


def test_replan_and_payment_history_are_one_source(broken):
    """--replan and --payment-history together are a usage error (exit 2), nothing written."""
    out = broken["tmp"] / "cal.csv"
    code, _, err = _calendar(broken["book"], broken["alloc"], out, "--replan", broken["steps"],
                             "--payment-history", broken["steps"])  # fmt: skip
    assert code == 2 and "not both" in err and "Traceback" not in err
    assert not out.exists()


def test_dialler_folder_holds_only_this_weeks_calls(tmp_path):
    """A second week into the same --dialler-dir leaves no team file with last week's
    calls: the union of the folder's dialler rows is this calendar's phone attempts; a
    user's own CSV is kept and named in a warning."""
    book, ids = flagged_book(tmp_path, PROTECTED)
    week1 = _cal_allocation(tmp_path / "w1.csv", ids, {
        ids[5]: ("agent_call", "agent-chengdu"), ids[6]: ("senior_call", "senior-beijing"),
        ids[7]: ("agent_call", "agent-beijing-1")})  # fmt: skip
    week2 = _cal_allocation(tmp_path / "w2.csv", ids, {ids[8]: ("agent_call", "agent-chengdu")})
    dial = tmp_path / "dial"
    code, _, err = _calendar(book, week1, tmp_path / "c1.csv", "--dialler-dir", dial)
    assert code == 0, err
    (dial / "notes.csv").write_text("mine\n", encoding="utf-8")
    code, _, err = _calendar(book, week2, tmp_path / "c2.csv", "--dialler-dir", dial)
    assert code == 0, err
    cal = pd.read_csv(tmp_path / "c2.csv", dtype={"account_id": str})
    calls = cal[cal["channel"] == "phone"]
    files = [p for p in dial.glob("*.csv") if p.name != "notes.csv"]
    rows = pd.concat([pd.read_csv(p, dtype={"account_id": str}) for p in files])
    assert sorted(rows["account_id"]) == sorted(calls["account_id"])
    assert (dial / "senior-beijing.csv").exists()  # rewritten, header only
    assert (dial / "notes.csv").read_text(encoding="utf-8") == "mine\n"
    assert "notes.csv" in err and "did not write" in err


def _payment_history(path: Path, broken_ids: list[str]) -> Path:
    """Six unpaid months (dpd rising, never re-aged) for each of ``broken_ids``: broken
    plans (docs/history.md's long format)."""
    rows = [
        {"account_id": a, "month": f"2026-{m:02d}", "amount_due": 100.0 * m,
         "amount_paid": 0.0, "dpd": 30 * m, "status": "open", "balance": 1000.0}
        for a in broken_ids
        for m in range(1, 7)
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_payment_history_steers_as_the_steps_do(broken):
    """--payment-history computes the steps allocate --history computes (broken plans lifted)
    and gives the calendar --replan gives; the payment history given as --history (the
    contact history) is refused, exit 2, pointing at --payment-history."""
    tmp, ids = broken["tmp"], broken["ids"]
    hist = _payment_history(tmp / "payments.csv", ids[:3])
    code, _, err = _calendar(broken["book"], broken["alloc"], tmp / "h.csv",
                             "--payment-history", hist)  # fmt: skip
    assert code == 0, err
    code, _, err = _calendar(broken["book"], broken["alloc"], tmp / "r.csv",
                             "--replan", broken["steps"])  # fmt: skip
    assert code == 0, err
    from_history = pd.read_csv(tmp / "h.csv", dtype={"account_id": str})
    assert {ids[0], ids[1]} <= set(from_history["account_id"])
    pd.testing.assert_frame_equal(
        from_history, pd.read_csv(tmp / "r.csv", dtype={"account_id": str})
    )
    code, _, err = _calendar(broken["book"], broken["alloc"], tmp / "x.csv", "--history", hist)
    assert code == 2 and "give it as --payment-history" in err and "Traceback" not in err
    assert not (tmp / "x.csv").exists()
