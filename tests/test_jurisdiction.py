"""Jurisdiction profiles as floors (issue 17 item 1): no bank setting can loosen the law.

The legal numbers below are written here from the texts (China as issue 17 states it; US
FDCPA 1692c(a)(1) and Regulation F 12 CFR 1006.14(b)(2); UK FCA CONC 7.3), not read from the
profile files, so a profile that drifts from the law fails these tests too.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from solver.allocation.catalogue import Catalogue, Teams, default_catalogue_path
from solver.allocation.compliance import eligibility
from solver.allocation.jurisdiction import RULES, load_profile
from solver.core.generate import generate_portfolio
from solver.errors import InputError

ROOT = Path(__file__).resolve().parents[1]

#: (profile, setting, a value looser than the law, a word of the legal source)
LOOSER = [
    ("cn", "contact_start", 7.0, "22:00-08:00"),
    ("cn", "contact_end", 23.0, "22:00-08:00"),
    ("cn", "max_connected_calls_per_day", 4, "3 connected"),
    ("cn", "max_call_attempts_per_day", 7, "6 unanswered"),
    ("us", "contact_start", 7.5, "1692c(a)(1)"),
    ("us", "contact_end", 21.5, "1692c(a)(1)"),
    ("us", "max_call_attempts_per_7_days", 8, "1006.14(b)(2)(i)(A)"),
    ("us", "no_call_days_after_conversation", 6, "1006.14(b)(2)(i)(B)"),
    ("uk", "contact_start", 7.0, "CONC 7.3"),
    ("uk", "contact_end", 22.0, "CONC 7.3"),
    ("uk", "hardship_forbidden", ["legal"], "CONC 7.3.4R"),
    ("uk", "hardship_max_contacts_per_day", 2, "CONC 7.3"),
]

#: The strictest values each law allows, for a policy that sits exactly on the floor.
ON_THE_FLOOR = {
    "cn": {"contact_start": 8.0, "contact_end": 22.0, "max_connected_calls_per_day": 3,
           "max_call_attempts_per_day": 6},
    "us": {"contact_start": 8.0, "contact_end": 21.0, "max_call_attempts_per_7_days": 7,
           "no_call_days_after_conversation": 7},
    "uk": {"contact_start": 8.0, "contact_end": 21.0,
           "hardship_forbidden": ["field_visit", "legal"], "hardship_max_contacts_per_day": 1},
}  # fmt: skip


def shipped() -> dict:
    return tomllib.loads(default_catalogue_path().read_text())


def catalogue_with(code: str, **settings) -> Catalogue:
    data = shipped()
    data["compliance"] = {**data["compliance"], **ON_THE_FLOOR[code], **settings}
    return Catalogue.from_mapping(data, source="bank.toml", jurisdiction=code)


@pytest.mark.parametrize("code", ["cn", "us", "uk"])
def test_profiles_state_a_source_for_every_rule(code):
    """Every shipped profile loads, uses known rules, and names a legal source for each."""
    profile = load_profile(code)
    assert profile.rules
    assert set(profile.rules) <= set(RULES)
    assert all(len(rule.source) > 10 for rule in profile.rules.values())
    assert {"cease_contact", "dispute", "bankruptcy", "has_plan"} <= set(profile.protected_flags)


@pytest.mark.parametrize("code", ["cn", "us", "uk"])
def test_policy_on_the_floor_is_accepted(code):
    """A bank policy exactly at the law's limits loads."""
    assert catalogue_with(code).compliance.jurisdiction == code


@pytest.mark.parametrize(("code", "setting", "value", "cite"), LOOSER)
def test_looser_setting_is_refused_naming_rule_and_source(code, setting, value, cite):
    """A setting one step looser than the law is an InputError naming it and its source."""
    with pytest.raises(InputError) as caught:
        catalogue_with(code, **{setting: value})
    text = str(caught.value) + " ".join(caught.value.problems)
    assert f"{setting} = " in text
    assert cite in text


def test_stricter_settings_are_allowed():
    """Stricter than China's floor (shorter window, fewer calls) is fine."""
    catalogue = catalogue_with(
        "cn", contact_start=9.0, contact_end=20.0, max_connected_calls_per_day=1
    )
    assert catalogue.compliance.contact_end == 20.0


def test_unset_settings_take_the_floor():
    """A US catalogue that leaves the window out gets the FDCPA's 08:00-21:00, not 22:00."""
    data = shipped()
    for key in ("contact_start", "contact_end"):
        del data["compliance"][key]
    comp = Catalogue.from_mapping(data, source="bank.toml", jurisdiction="us").compliance
    assert (comp.contact_start, comp.contact_end) == (8.0, 21.0)
    assert comp.no_call_days_after_conversation == 7


def test_empty_no_contact_flags_cannot_unprotect():
    """`no_contact_flags = []` still gives every protected account only `none`."""
    data = shipped()
    data["compliance"]["no_contact_flags"] = []
    catalogue = Catalogue.from_mapping(data, source="bank.toml")
    frame = generate_portfolio(200, seed=4).copy()
    rng = np.random.default_rng(4)
    for flag in ("cease_contact", "dispute", "bankruptcy", "has_plan"):
        frame[flag] = rng.random(len(frame)) < 0.1
    allowed = eligibility(frame, catalogue, Teams.default()).allowed
    flagged = frame[["cease_contact", "dispute", "bankruptcy", "has_plan"]].any(axis=1).to_numpy()
    assert flagged.sum() > 20
    contact = [i for i, t in enumerate(catalogue.treatments) if t.contact]
    assert not allowed[np.ix_(contact, np.flatnonzero(flagged))].any()


def test_cli_us_floor_refuses_the_shipped_22h_window(tmp_path):
    """`allocate --jurisdiction us` with the shipped 22:00 end: exit 2, FDCPA named, no file."""
    book = tmp_path / "book.csv"
    generate_portfolio(20, seed=1).to_csv(book, index=False)
    out = tmp_path / "a.csv"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "import sys; sys.argv[0] = 'workout'; import cli; cli.main()"
    cmd = [sys.executable, "-c", code, "allocate", str(book), "--out", str(out)]
    run = subprocess.run(
        [*cmd, "--jurisdiction", "us"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 2, run.stderr
    assert "contact_end" in run.stderr and "1692c(a)(1)" in run.stderr
    assert "Traceback" not in run.stderr
    assert not out.exists()
    unknown = subprocess.run(
        [*cmd, "--jurisdiction", "mars"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert unknown.returncode == 2 and "mars" in unknown.stderr


def test_scenario_restructured_accounts_get_no_collection():
    """A plan signed in the scenario's plan stage stops collection (every profile protects
    `has_plan`): restructured accounts get `none`, with no cost."""
    from types import SimpleNamespace

    from solver.allocation.catalogue import default_teams_path
    from solver.scenarios.decisions import choose_treatments, status_quo_schedules
    from solver.scenarios.spec import Collection

    frame = generate_portfolio(150, seed=6).copy()
    frame["has_plan"] = False
    schedules = status_quo_schedules(frame)
    signed = np.random.default_rng(6).random(len(frame)) < 0.4
    schedules = dataclasses.replace(schedules, restructured=signed)
    collection = Collection(
        enabled=True, treatments=default_catalogue_path(), teams=default_teams_path(),
        time_limit_seconds=10.0,
    )  # fmt: skip
    chosen = choose_treatments(frame, SimpleNamespace(collection=collection), schedules)
    assert set(chosen.treatment[signed]) == {"none"}
    assert (chosen.cost[signed] == 0).all()
    assert (chosen.treatment[~signed] != "none").any()
