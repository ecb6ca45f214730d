"""Jurisdiction profiles: the legal floors of collection contact (issue 17).

A profile (``scenarios/compliance/<code>.toml``) states each rule of a jurisdiction with its
value, its direction and its legal source. It is a *floor*: a bank's ``[compliance]``
settings (:class:`solver.allocation.compliance.Compliance`) may be stricter, never looser;
:func:`floor_problems` names every looser setting with the rule's source, and the catalogue
turns them into an :class:`~solver.errors.InputError` (exit 2). The profile's protected
flags are always added to the bank's ``no_contact_flags``.

This module holds the profile *data* only: the contact calendar's scheduler and its
independent checker both read it, and share nothing else.

Default profile: ``cn`` (the product's home market, SPEC §2 currency CNY). A catalogue picks
another with ``[compliance] jurisdiction = "us"``; ``--jurisdiction`` on the command line
overrides the catalogue.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solver.core.files import read_toml
from solver.errors import InputError

__all__ = [
    "DEFAULT_JURISDICTION",
    "RULES",
    "Profile",
    "Rule",
    "floor_problems",
    "load_profile",
    "profile_path",
    "profile_problem",
]

#: The profile used when neither the catalogue nor the command line names one.
DEFAULT_JURISDICTION = "cn"

#: Rules a profile may state, with the direction the bank's setting may move ("max": the
#: bank's value ≤ the profile's; "min": ≥; "superset": the bank's list contains the
#: profile's; "fixed": not a bank setting, always enforced) and what the rule means.
RULES: Mapping[str, tuple[str, str]] = {
    "contact_start": ("min", "earliest local hour of any contact"),
    "contact_end": ("max", "local hour by which every contact has ended"),
    "max_connected_calls_per_day": ("max", "connected calls per debtor per local day"),
    "max_call_attempts_per_day": ("max", "call attempts (answered or not) per debtor per day"),
    "max_call_attempts_per_7_days": ("max", "call attempts per debtor in any rolling 7 days"),
    "no_call_days_after_conversation": (
        "min",
        "days, counting the conversation's day as day 1, without calls after a conversation",
    ),
    "hardship_forbidden": ("superset", "treatments never used for hardship accounts"),
    "hardship_max_contacts_per_day": ("max", "contacts per day for hardship accounts"),
    "third_party_contact": ("fixed", "contact with anyone but the debtor allowed"),
    "protected_flags": ("fixed", "account flags that stop all collection contact"),
}

_ROOT = Path(__file__).resolve().parents[2]


def _find_profile(spec: str) -> Path | None:
    """The TOML a profile spec names (a shipped code or a file path), or ``None``."""
    shipped = _ROOT / "scenarios" / "compliance" / f"{spec.lower()}.toml"
    if spec.isalpha() and shipped.is_file():
        return shipped
    path = Path(spec)
    if path.suffix.lower() == ".toml" and path.is_file():
        return path
    return None


def profile_problem(spec: str) -> str | None:
    """What is wrong with ``spec`` as a profile (``None``: it names one), without saying
    where it was given: the caller names that (the catalogue's ``[compliance]
    jurisdiction`` key, the command line's ``--jurisdiction``)."""
    if _find_profile(spec) is not None:
        return None
    known = sorted(p.stem for p in (_ROOT / "scenarios" / "compliance").glob("*.toml"))
    return f"unknown profile {spec!r} (use one of {', '.join(known)} or a .toml file)"


def profile_path(spec: str) -> Path:
    """The TOML of a profile: a shipped code (``cn``, ``us``, ``uk``) or a file path."""
    path = _find_profile(spec)
    if path is None:
        raise InputError(f"jurisdiction: {profile_problem(spec)}")
    return path


@dataclass(frozen=True)
class Rule:
    """One rule of a profile: its value, direction (:data:`RULES`) and legal source."""

    name: str
    value: Any
    bound: str
    source: str


@dataclass(frozen=True)
class Profile:
    """A jurisdiction's contact rules (floors) with their legal sources."""

    code: str
    name: str
    timezone: str
    rules: Mapping[str, Rule]
    path: str

    def value(self, rule: str, default: Any = None) -> Any:
        """The rule's value, or ``default`` when the profile does not state it."""
        found = self.rules.get(rule)
        return default if found is None else found.value

    def source(self, rule: str) -> str:
        """The legal source of a rule ("" when the profile does not state it)."""
        found = self.rules.get(rule)
        return "" if found is None else found.source

    @property
    def protected_flags(self) -> tuple[str, ...]:
        """Flags that stop every collection contact, whatever the bank's settings."""
        return tuple(self.value("protected_flags", ()))

    def tighten(self, setting: str, value: Any) -> Any:
        """``value`` moved to the profile's floor when it is looser (for unset settings)."""
        rule = self.rules.get(setting)
        if rule is None:
            return value
        if rule.bound == "max":
            return min(value, rule.value)
        if rule.bound == "min":
            return max(value, rule.value)
        if rule.bound == "superset":
            return tuple(dict.fromkeys([*value, *rule.value]))
        return value


@functools.lru_cache(maxsize=16)
def load_profile(spec: str = DEFAULT_JURISDICTION) -> Profile:
    """Read a profile (shipped code or path); every problem of the file in one InputError."""
    path = profile_path(spec)
    data = read_toml(path, "jurisdiction profile")
    problems: list[str] = []
    head = data.get("profile", {})
    for key in sorted(set(data) - {"profile", "rules"}):
        problems.append(f"{path}: unknown table {key!r}")
    rules: dict[str, Rule] = {}
    for name, table in dict(data.get("rules", {})).items():
        where = f"{path}: rules.{name}"
        if name not in RULES:
            problems.append(f"{where}: unknown rule (known: {', '.join(RULES)})")
            continue
        if not isinstance(table, Mapping) or {"value", "bound", "source"} - set(table):
            problems.append(f"{where}: needs value, bound and source")
            continue
        if table["bound"] != RULES[name][0]:
            problems.append(f"{where}: bound must be {RULES[name][0]!r}, got {table['bound']!r}")
        if not str(table["source"]).strip():
            problems.append(f"{where}: source: the legal source must be stated")
        value = table["value"]
        if RULES[name][0] in ("max", "min") and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            problems.append(f"{where}: value must be a number, got {value!r}")
        if RULES[name][0] == "superset" or name == "protected_flags":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(f"{where}: value must be a list of names")
            value = tuple(value) if isinstance(value, list) else ()
        rules[name] = Rule(name, value, str(table["bound"]), str(table["source"]))
    if problems:
        raise InputError(
            f"{path}: {len(problems)} problem(s) in the jurisdiction profile", problems
        )
    return Profile(
        code=str(head.get("code", path.stem)),
        name=str(head.get("name", path.stem)),
        timezone=str(head.get("timezone", "UTC")),
        rules=rules,
        path=str(path),
    )


def floor_problems(settings: Mapping[str, Any], profile: Profile, where: str) -> list[str]:
    """Every bank setting looser than the profile, naming rule, setting and legal source."""
    problems = []
    for name, rule in profile.rules.items():
        if rule.bound == "fixed" or name not in settings:
            continue
        mine = settings[name]
        if rule.bound == "max":
            looser = mine > rule.value
            need = f"at most {rule.value:g}"
        elif rule.bound == "min":
            looser = mine < rule.value
            need = f"at least {rule.value:g}"
        else:
            missing = [v for v in rule.value if v not in mine]
            looser = bool(missing)
            need = f"to include {', '.join(missing)}"
        if looser:
            shown = list(mine) if isinstance(mine, tuple) else mine
            problems.append(
                f"{where}: {name} = {shown!r} is looser than the {profile.code} floor "
                f"(needs {need}; rule {name}: {rule.source})"
            )
    return problems
