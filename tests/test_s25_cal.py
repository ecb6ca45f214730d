"""Session 25 review of ``workout calendar``.

1. A replan step that lifts the ``has_plan`` stop binds with its narrower rule, as in
   ``allocate --replan`` (README "Broken plans"): a ``cure_window`` account gets gentle
   treatments only, a ``reage`` account those or the senior call (the plan offer), an
   ``escalate`` account anything the law allows. A contact its step forbids is held back
   and named like the law's stops (main scheduled it).
2. The dialler folder's team files are checked like every output before any work: one that
   is an input, or a directory, is exit 2 naming ``--dialler-dir`` (main overwrote the input,
   or failed after the work).
3. The blocked counts agree with the blocked entries; the notes' nouns agree in number.

Oracles: the steps' rule is written here from the README (gentle flags read from the
bundled catalogue's TOML with tomllib); files are read with the test's own code.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path

import pandas as pd
from calendar_helpers import allocation_file, flagged_book
from cli_inprocess import run_workout

START = dt.date(2026, 12, 7).isoformat()  # a Monday
ROOT = Path(__file__).resolve().parents[1]

# rows of flagged_book's generated book (seed 11) whose tier and bucket admit the senior
# call, the field visit and the agent call, so only the step can stop them
CURE_SENIOR, CURE_AGENT, REAGE_VISIT, REAGE_SENIOR, ESCALATE_VISIT, MONITOR_AGENT = (
    4, 9, 11, 14, 15, 21
)  # fmt: skip


def _gentle() -> dict[str, bool]:
    """Each bundled treatment's ``gentle`` flag, read from the TOML."""
    data = tomllib.loads((ROOT / "scenarios" / "treatments.toml").read_text("utf-8"))
    return {name: bool(t.get("gentle", False)) for name, t in data["treatments"].items()}


def _steps_case(tmp_path: Path) -> tuple[Path, Path, Path, list[str]]:
    """A book with six restructured accounts, their steps and an allocation giving each a
    contact (book, allocation, steps, ids)."""
    rows = (CURE_SENIOR, CURE_AGENT, REAGE_VISIT, REAGE_SENIOR, ESCALATE_VISIT, MONITOR_AGENT)
    book, ids = flagged_book(tmp_path, {r: ["has_plan"] for r in rows})
    contacts = {
        ids[CURE_SENIOR]: ("senior_call", "senior-beijing"),
        ids[CURE_AGENT]: ("agent_call", "agent-beijing-1"),
        ids[REAGE_VISIT]: ("field_visit", "field-south"),
        ids[REAGE_SENIOR]: ("senior_call", "senior-beijing"),
        ids[ESCALATE_VISIT]: ("field_visit", "field-central"),
        ids[MONITOR_AGENT]: ("agent_call", "agent-beijing-1"),
    }
    alloc = allocation_file(tmp_path / "alloc.csv", ids, contacts)
    steps = tmp_path / "steps.csv"
    pd.DataFrame(
        {
            "account_id": [ids[r] for r in rows],
            "step": ["cure_window", "cure_window", "reage", "reage", "escalate", "monitor"],
        }
    ).to_csv(steps, index=False)
    return book, alloc, steps, ids


def test_a_contact_its_replan_step_forbids_is_held_back(tmp_path):
    """With --replan, a cure-window account's senior call and a re-age's field visit are not
    scheduled but counted and named; the gentle call, the re-age's senior call and the
    escalation's visit are scheduled; the monitor account keeps its has_plan stop."""
    gentle = _gentle()
    assert gentle["agent_call"] and not gentle["senior_call"] and not gentle["field_visit"]
    book, alloc, steps, ids = _steps_case(tmp_path)
    out = tmp_path / "cal.csv"
    code, stdout, err = run_workout(
        "calendar", book, "--allocation", alloc, "--replan", steps, "--start", START,
        "--out", out, "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(stdout)
    scheduled = set(pd.read_csv(out, dtype={"account_id": str})["account_id"])
    forbidden = {ids[CURE_SENIOR], ids[REAGE_VISIT]}
    assert not scheduled & forbidden
    assert {ids[CURE_AGENT], ids[REAGE_SENIOR], ids[ESCALATE_VISIT]} <= scheduled
    assert ids[MONITOR_AGENT] not in scheduled
    by_account = {e["account_id"]: e for e in summary["blocked"]}
    assert set(by_account) == forbidden | {ids[MONITOR_AGENT]}
    assert "cure_window" in by_account[ids[CURE_SENIOR]]["reason"]
    assert "reage" in by_account[ids[REAGE_VISIT]]["reason"]
    assert summary["blocked_replan_step"] == 2 and summary["blocked_protected"] == 1
    assert summary["attempts_blocked"] == sum(e["attempts"] for e in summary["blocked"])
    assert summary["attempts_requested"] == summary["attempts_scheduled"] + summary[
        "attempts_blocked"]  # fmt: skip
    assert ids[CURE_SENIOR] in err and ids[REAGE_VISIT] in err and "cure_window" in err


def test_library_steps_bind_as_the_commands(tmp_path):
    """The schedule through the library's steps argument equals the command's with --replan
    (one rule, whichever way the steps come)."""
    from solver.allocation.calendar.channels import Channels
    from solver.allocation.calendar.scheduler import schedule_contacts
    from solver.allocation.catalogue import Catalogue
    from solver.allocation.replan import read_steps
    from solver.allocation.teams import Teams
    from solver.core.readers import read_portfolio

    book, alloc, steps, ids = _steps_case(tmp_path)
    catalogue = Catalogue.from_toml(None)
    teams = Teams.from_toml(None, compliance=catalogue.compliance)
    frame = read_portfolio(book, unknown_columns="ignore")
    allocation = pd.read_csv(alloc, dtype={"account_id": str, "team": str}).rename(
        columns={"uplift_vs_none": "value"}
    )
    result = schedule_contacts(frame, allocation, catalogue, teams, Channels.from_toml(),
                               start=dt.date(2026, 12, 7), steps=read_steps(steps, frame))  # fmt: skip
    out = tmp_path / "cal.csv"
    code, _, err = run_workout("calendar", book, "--allocation", alloc, "--replan", steps,
                               "--start", START, "--out", out)  # fmt: skip
    assert code == 0, err
    written = pd.read_csv(out, dtype={"account_id": str})
    assert sorted(result.calendar["account_id"]) == sorted(written["account_id"])
    assert {e["account_id"] for e in result.summary["blocked"]} == {
        ids[CURE_SENIOR], ids[REAGE_VISIT], ids[MONITOR_AGENT]}  # fmt: skip


def _calls(tmp_path: Path, alloc_path: Path) -> tuple[Path, Path]:
    """A book and an allocation calling three accounts through agent-chengdu and others."""
    book, ids = flagged_book(tmp_path, {})
    alloc_path.parent.mkdir(parents=True, exist_ok=True)
    alloc = allocation_file(alloc_path, ids, {
        ids[5]: ("agent_call", "agent-chengdu"), ids[6]: ("senior_call", "senior-beijing"),
        ids[7]: ("sms", "")})  # fmt: skip
    return book, alloc


def test_a_team_file_that_is_an_input_is_refused(tmp_path):
    """--allocation DIR/agent-chengdu.csv with --dialler-dir DIR is exit 2 naming
    --dialler-dir and the team; the allocation is left as it was."""
    dial = tmp_path / "dial"
    book, alloc = _calls(tmp_path, dial / "agent-chengdu.csv")
    before = alloc.read_bytes()
    code, _, err = run_workout("calendar", book, "--allocation", alloc, "--start", START,
                               "--dialler-dir", dial, "--out", tmp_path / "cal.csv")  # fmt: skip
    assert code == 2, err
    assert "--dialler-dir" in err and "agent-chengdu" in err and "--allocation" in err, err
    assert alloc.read_bytes() == before
    assert not (tmp_path / "cal.csv").exists()


def test_a_team_file_that_is_a_directory_is_refused_before_work(tmp_path):
    """A directory where a team's dialler file goes is exit 2 naming --dialler-dir and the
    team, and nothing is written."""
    book, alloc = _calls(tmp_path, tmp_path / "alloc.csv")
    dial = tmp_path / "dial"
    (dial / "agent-chengdu.csv").mkdir(parents=True)
    out = tmp_path / "cal.csv"
    code, _, err = run_workout("calendar", book, "--allocation", alloc, "--start", START,
                               "--dialler-dir", dial, "--out", out)  # fmt: skip
    assert code == 2, err
    assert "--dialler-dir" in err and "agent-chengdu" in err and "Traceback" not in err, err
    assert not out.exists() and [p.name for p in dial.iterdir()] == ["agent-chengdu.csv"]


def test_blocked_counts_are_the_blocked_entries_by_reason(tmp_path):
    """blocked_protected / blocked_hardship / blocked_replan_step count the ``blocked``
    entries whose reason is a protected flag, a hardship rule, a replan step."""
    book, ids = flagged_book(tmp_path, {1: ["dispute"], 2: ["cease_contact"], 3: ["hardship"],
                                        4: ["has_plan"]})  # fmt: skip
    alloc = allocation_file(tmp_path / "alloc.csv", ids, {
        ids[1]: ("agent_call", "agent-beijing-1"), ids[2]: ("sms", ""),
        ids[3]: ("field_visit", "field-central"), ids[4]: ("senior_call", "senior-beijing"),
        ids[9]: ("agent_call", "agent-beijing-1")})  # fmt: skip
    code, stdout, err = run_workout("calendar", book, "--allocation", alloc, "--start", START,
                                    "--out", tmp_path / "cal.csv", "--format", "json")  # fmt: skip
    assert code == 0, err
    s = json.loads(stdout)
    reasons = [e["reason"] for e in s["blocked"]]
    assert s["blocked_protected"] == sum(r.startswith("protected (") for r in reasons) == 3
    assert s["blocked_hardship"] == sum(r.startswith("hardship (") for r in reasons) == 1
    assert s["blocked_replan_step"] == 0


def test_blocked_notes_agree_in_number():
    """One account and one attempt read in the singular; two accounts, 1,234 attempts in
    the plural with the thousands separator."""
    from solver.allocation.calendar.blocked import blocked_notes

    one = blocked_notes([{"account_id": "A1", "reason": "protected (dispute)", "attempts": 1}],
                        steps_given=False)  # fmt: skip
    assert one[0].startswith("1 allocated account is protected (dispute) and gets no contact "
                             "(1 attempt not scheduled): A1")  # fmt: skip
    two = blocked_notes(
        [{"account_id": a, "reason": "protected (dispute)", "attempts": 617} for a in "AB"],
        steps_given=False,
    )
    assert two[0].startswith("2 allocated accounts are protected (dispute) and get no contact "
                             "(1,234 attempts not scheduled): A, B")  # fmt: skip
