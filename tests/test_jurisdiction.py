"""Jurisdiction profiles as floors (issue 17 item 1): no bank setting can loosen the law.

The legal numbers below (:data:`LAW`) are written here from the texts (docs/compliance.md:
China's 2026 collection guidelines and issue 17; US FDCPA 1692c(a)(1), Regulation F 12 CFR
1006.6(b)(1)(i) and 1006.14(b)(2)(i); UK FCA CONC 7.3 / 7.9 and MCOB 13.5.4G), not read from
the profile files, so a profile that drifts from the law fails these tests too. The
command-line test starts ``workout`` as a real process (tests/workout_process.py).
"""

from __future__ import annotations

import dataclasses
import tomllib

import numpy as np
import pytest
from workout_process import run_workout_process

from solver.allocation.catalogue import Catalogue, default_catalogue_path
from solver.allocation.compliance import eligibility
from solver.allocation.jurisdiction import RULES, load_profile
from solver.allocation.teams import Teams
from solver.core.generate import generate_portfolio
from solver.errors import InputError

PROTECTED = ("cease_contact", "dispute", "bankruptcy", "has_plan")

#: Each profile's rules as the law (and issue 17) states them: rule -> (value, direction).
LAW = {
    "cn": {"contact_start": (8.0, "min"), "contact_end": (22.0, "max"),
           "max_connected_calls_per_day": (3, "max"), "max_call_attempts_per_day": (6, "max"),
           "third_party_contact": (False, "fixed"), "protected_flags": (PROTECTED, "fixed")},
    "us": {"contact_start": (8.0, "min"), "contact_end": (21.0, "max"),
           "max_call_attempts_per_7_days": (7, "max"),
           "no_call_days_after_conversation": (7, "min"),
           "third_party_contact": (False, "fixed"), "protected_flags": (PROTECTED, "fixed")},
    "uk": {"contact_start": (8.0, "min"), "contact_end": (21.0, "max"),
           "hardship_forbidden": (("field_visit", "legal"), "superset"),
           "hardship_max_contacts_per_day": (1, "max"),
           "third_party_contact": (False, "fixed"), "protected_flags": (PROTECTED, "fixed")},
}  # fmt: skip

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
    ("uk", "contact_start", 7.0, "CONC 7.9"),
    ("uk", "contact_end", 22.0, "MCOB 13.5.4G"),
    ("uk", "hardship_forbidden", ["legal"], "CONC 7.3.4R"),
    ("uk", "hardship_max_contacts_per_day", 2, "7.3.10R"),
]

#: The loosest values each law allows, for a policy that sits exactly on the floor.
ON_THE_FLOOR = {
    code: {
        name: list(value) if isinstance(value, tuple) else value
        for name, (value, bound) in rules.items()
        if bound != "fixed"
    }
    for code, rules in LAW.items()
}


def shipped() -> dict:
    return tomllib.loads(default_catalogue_path().read_text())


def catalogue_with(code: str, **settings) -> Catalogue:
    data = shipped()
    data["compliance"] = {**data["compliance"], **ON_THE_FLOOR[code], **settings}
    return Catalogue.from_mapping(data, source="bank.toml", jurisdiction=code)


@pytest.mark.parametrize("code", ["cn", "us", "uk"])
def test_profiles_state_the_law(code):
    """Every shipped profile states exactly the law's rules, each with the law's value and
    direction (a profile that drops a rule, loosens a value or flips a bound fails), and
    names a legal source for each."""
    profile = load_profile(code)
    assert set(profile.rules) == set(LAW[code])
    for name, (value, bound) in LAW[code].items():
        rule = profile.rules[name]
        assert (rule.value, rule.bound) == (value, bound), name
        assert rule.bound == RULES[name][0], name
        assert len(rule.source) > 20, name
    assert set(profile.protected_flags) == set(PROTECTED)


def test_a_profile_that_breaks_the_format_is_refused(tmp_path):
    """A profile with an unknown rule, a flipped bound (that would turn a floor into a
    ceiling), no source, or a value that is not a number is an InputError naming each."""
    bad = tmp_path / "xx.toml"
    bad.write_text(
        '[profile]\ncode = "xx"\n'
        '[rules.contact_start]\nvalue = 8.0\nbound = "max"\nsource = "a law"\n'
        '[rules.contact_end]\nvalue = 21.0\nbound = "max"\nsource = " "\n'
        '[rules.max_call_attempts_per_day]\nvalue = "six"\nbound = "max"\nsource = "a law"\n'
        '[rules.calls_per_fortnight]\nvalue = 1\nbound = "max"\nsource = "a law"\n'
        '[rules.hardship_forbidden]\nvalue = ["legal"]\nbound = "superset"\n'
    )
    with pytest.raises(InputError) as caught:
        load_profile(str(bad))
    text = "\n".join(caught.value.problems)
    assert len(caught.value.problems) == 5
    assert "rules.contact_start: bound must be 'min'" in text
    assert "rules.contact_end: source" in text
    assert "rules.max_call_attempts_per_day: value must be a number" in text
    assert "rules.calls_per_fortnight: unknown rule" in text
    assert "rules.hardship_forbidden: needs value, bound and source" in text


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


@pytest.mark.parametrize("code", ["cn", "us", "uk"])
def test_unset_settings_take_the_floor(code):
    """A catalogue that leaves every floor setting out gets the law's values (e.g. the US
    window 08:00-21:00, not the catalogue default 22:00; the UK's one contact a day in
    hardship, not 24), and the protected flags on top of an empty no_contact_flags."""
    data = shipped()
    for key in RULES:
        data["compliance"].pop(key, None)
    data["compliance"]["no_contact_flags"] = []
    comp = Catalogue.from_mapping(data, source="bank.toml", jurisdiction=code).compliance
    for name, (value, bound) in LAW[code].items():
        if bound == "superset":
            assert set(value) <= set(getattr(comp, name)), name
        elif bound != "fixed":
            assert getattr(comp, name) == value, name
    assert set(comp.blocking_flags()) == set(PROTECTED)


@pytest.mark.parametrize("code", ["cn", "us", "uk"])
def test_empty_no_contact_flags_cannot_unprotect(code):
    """`no_contact_flags = []` still gives every protected account only `none`."""
    data = shipped()
    data["compliance"]["no_contact_flags"] = []
    data["compliance"].update(ON_THE_FLOOR[code])
    catalogue = Catalogue.from_mapping(data, source="bank.toml", jurisdiction=code)
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
    run = run_workout_process("allocate", book, "--out", out, "--jurisdiction", "us")
    assert run.returncode == 2, run.stderr
    assert "contact_end" in run.stderr and "1692c(a)(1)" in run.stderr
    assert "Traceback" not in run.stderr
    assert not out.exists()
    unknown = run_workout_process("allocate", book, "--out", out, "--jurisdiction", "mars")
    assert unknown.returncode == 2 and "mars" in unknown.stderr


def test_scenario_restructured_accounts_get_no_collection():
    """A plan signed in the scenario's plan stage stops collection (every profile protects
    `has_plan`): restructured accounts get `none`, with no cost."""
    from types import SimpleNamespace

    from solver.allocation.teams import default_teams_path
    from solver.scenarios.plan_stage import status_quo_schedules
    from solver.scenarios.spec import Collection
    from solver.scenarios.treatment_stage import choose_treatments

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
