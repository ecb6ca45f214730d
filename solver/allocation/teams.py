"""Collection teams and collectors with their capacity per period (SPEC §8).

Loaded from ``scenarios/teams.toml`` (:class:`Teams`): ``[[teams]]`` and ``[[collectors]]``
entries, with the ``[defaults]`` shift; a team's capacity counts only the minutes of its
shift inside the contact window of the compliance rules. Every default number is documented
in that file and is meant to be calibrated.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from solver.allocation.compliance import Compliance
from solver.allocation.toml_fields import read_keys, read_number, read_strings, read_tables
from solver.core.files import read_toml
from solver.errors import InputError

__all__ = ["TEAM_TYPES", "Team", "Teams", "default_teams_path", "name_problem"]

#: The kinds of team a treatment may need (``team_type``) and a ``[[teams]]`` entry may be.
TEAM_TYPES = ("agent", "senior", "field", "legal", "robot")


def default_teams_path() -> Path:
    """The bundled teams file ``scenarios/teams.toml``."""
    return Path(__file__).resolve().parents[2] / "scenarios" / "teams.toml"


#: The shift of a team when neither ``[defaults]`` nor its own entry sets one.
SHIFT_DEFAULTS = {"working_days": 5, "shift_start": 9.0, "shift_end": 18.0, "productive_share": 0.7}
# Keys each table may hold: anything else is a typo that would otherwise be ignored.
SHIFT_KEYS = frozenset(SHIFT_DEFAULTS)
TEAM_KEYS = SHIFT_KEYS | {"name", "type", "members", "languages", "regions", "minutes_per_period"}
COLLECTOR_KEYS = SHIFT_KEYS | {
    "name", "skill", "region", "languages", "accounts", "minutes_per_period"
}  # fmt: skip
TEAMS_FILE_KEYS = frozenset({"defaults", "teams", "collectors"})

#: Characters a team name may not hold: a team's name is its dialler file's name
#: (``calendar --dialler-dir DIR`` writes ``DIR/NAME.csv``), so path separators and what
#: Windows refuses in a file name (``<>:"|?*``) are out, as are control characters.
NAME_FORBIDDEN = frozenset('/\\<>:"|?*')
#: Device names Windows reserves whatever the extension (``CON.csv`` opens the console).
_RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{d}{i}" for d in ("COM", "LPT") for i in range(1, 10)}
)
#: Longest team name, in UTF-8 bytes: 255 (a file name's limit on common file systems)
#: less ``.csv`` and the atomic writer's temporary name around it (``.NAME.csv.<12 hex>.tmp.csv``).
MAX_NAME_BYTES = 200


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a team's name, or ``None`` when it can.

    Decision (session 24 review: ``robot/voice`` wrote ``DIR/robot/voice.csv`` and ``../x``
    would have written outside the folder): a team name must be a plain file name, checked
    where the teams file is read so that every command refuses it alike (exit 2).
    """
    if not name.strip():
        return "must not be empty"
    bad = sorted({c for c in name if c in NAME_FORBIDDEN or ord(c) < 32 or ord(c) == 127})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        return f"must not hold {shown} (it names the team's dialler file, DIR/NAME.csv)"
    if name.startswith("."):
        return "must not start with '.' ('..' leaves the folder; '.x' is a hidden file)"
    if name != name.rstrip(" ."):
        return "must not end with a space or '.' (not a file name on Windows)"
    if name.split(".")[0].upper() in _RESERVED_NAMES:
        return "is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9), not a file name"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"is longer than {MAX_NAME_BYTES} bytes (a file name's limit)"
    return None


def _checked_name(
    entry: Mapping[str, Any], default: str, source: str, where: str, problems: list[str]
) -> str:
    """An entry's ``name`` (``default`` without one); a problem noted when it is no file name."""
    name = str(entry.get("name", default))
    rule = name_problem(name)
    if rule is not None:
        problems.append(f"{source}: {where}: name: {name!r} {rule}")
    return name


@dataclass(frozen=True)
class Team:
    """A team (or an individual collector, ``members = 1``) with its capacity per period."""

    name: str
    type: str
    members: int
    minutes_per_period: float
    languages: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    collector: bool = False
    #: The daily shift (hours, centre time) and working days a week (Monday first): the
    #: contact calendar schedules a team's attempts only there.
    shift_start: float = 9.0
    shift_end: float = 18.0
    working_days: int = 5
    productive_share: float = 0.7


@dataclass(frozen=True)
class Teams:
    """All teams and collectors of a period."""

    teams: tuple[Team, ...]
    source: str = "<built-in>"

    @property
    def names(self) -> tuple[str, ...]:
        """Team names in file order."""
        return tuple(t.name for t in self.teams)

    def capacity(self) -> np.ndarray:
        """Minutes per period of every team."""
        return np.array([t.minutes_per_period for t in self.teams], dtype=np.float64)

    def scaled(self, factor: float) -> Teams:
        """Every team's capacity times ``factor`` (what-if: cut 10 % of collectors)."""
        return Teams(
            tuple(replace(t, minutes_per_period=t.minutes_per_period * factor) for t in self.teams),
            self.source,
        )

    @classmethod
    def from_toml(
        cls, path: str | os.PathLike[str] | None = None, *, compliance: Compliance | None = None
    ) -> Teams:
        """Read a teams TOML (default: the bundled ``scenarios/teams.toml``)."""
        p = Path(path) if path is not None else default_teams_path()
        return cls.from_mapping(read_toml(p, "teams"), source=str(p), compliance=compliance)

    @classmethod
    def default(cls) -> Teams:
        """The bundled teams."""
        return cls.from_toml(default_teams_path())

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        *,
        source: str = "<mapping>",
        compliance: Compliance | None = None,
    ) -> Teams:
        """Build teams from parsed TOML; capacity counts only minutes in the contact window."""
        compliance = compliance or Compliance()
        problems: list[str] = []
        data = read_keys(data, TEAMS_FILE_KEYS, source, "teams file", problems)
        defaults = read_keys(data.get("defaults", {}), SHIFT_KEYS, source, "defaults", problems)
        teams: list[Team] = []

        def shift(entry: Mapping[str, Any]) -> dict[str, Any]:
            merged = {**defaults, **entry}
            out = {k: float(merged.get(k, d)) for k, d in SHIFT_DEFAULTS.items()}
            return {**out, "working_days": int(out["working_days"])}

        def capacity(entry: Mapping[str, Any], where: str, members: int) -> float:
            merged = {**defaults, **entry}

            def number(key: str, default: float, hi: float) -> float:
                return read_number(merged, key, default, source, where, problems, 0.0, hi)

            start = number("shift_start", 9.0, 24.0)
            end = number("shift_end", 18.0, 24.0)
            days = number("working_days", 5, 7.0)
            share = number("productive_share", 0.7, 1.0)
            if start >= end:
                problems.append(f"{source}: {where}: shift_start must be before shift_end")
            window_max = members * days * compliance.shift_overlap_hours(0.0, 24.0) * 60.0
            allowed = members * days * compliance.shift_overlap_hours(start, end) * 60.0 * share
            if "minutes_per_period" in entry:
                explicit = number("minutes_per_period", 0.0, math.inf)
                if explicit < 0:
                    problems.append(f"{source}: {where}: minutes_per_period: must be >= 0")
                if explicit > window_max + 1e-9:
                    problems.append(
                        f"{source}: {where}: minutes_per_period: {explicit:g} exceeds the "
                        f"{window_max:g} minutes inside the contact window"
                    )
                return explicit
            return allowed

        for k, entry in enumerate(read_tables(data.get("teams", []), source, "teams", problems)):
            # entries counted from 1, as everywhere in messages (docs/reliability.md)
            name = entry.get("name", "?") if isinstance(entry, Mapping) else "?"
            where = f"[[teams]] entry {k + 1} ({name})"
            entry = read_keys(entry, TEAM_KEYS, source, where, problems)
            ttype = str(entry.get("type", ""))
            if ttype not in TEAM_TYPES:
                problems.append(
                    f"{source}: {where}: type: unknown {ttype!r} (use one of {', '.join(TEAM_TYPES)})"
                )
            members = entry.get("members", 1)
            if isinstance(members, bool) or not isinstance(members, int) or members < 0:
                problems.append(f"{source}: {where}: members: must be a whole number >= 0")
                members = 0
            teams.append(
                Team(
                    name=_checked_name(entry, f"team-{k}", source, where, problems),
                    type=ttype,
                    members=members,
                    minutes_per_period=capacity(entry, where, members),
                    languages=read_strings(entry, "languages", (), source, where, problems),
                    regions=read_strings(entry, "regions", (), source, where, problems),
                    **(shift(entry) if not problems else {}),
                )
            )
        for k, entry in enumerate(
            read_tables(data.get("collectors", []), source, "collectors", problems)
        ):
            name = entry.get("name", "?") if isinstance(entry, Mapping) else "?"
            where = f"[[collectors]] entry {k + 1} ({name})"
            entry = read_keys(entry, COLLECTOR_KEYS, source, where, problems)
            skill = str(entry.get("skill", "junior"))
            if skill not in ("junior", "senior"):
                problems.append(f"{source}: {where}: skill: must be junior or senior")
            region = entry.get("region")
            teams.append(
                Team(
                    name=_checked_name(entry, f"collector-{k}", source, where, problems),
                    type="senior" if skill == "senior" else "agent",
                    members=1,
                    minutes_per_period=capacity(entry, where, 1),
                    languages=read_strings(entry, "languages", (), source, where, problems),
                    regions=(str(region),) if region else (),
                    accounts=read_strings(entry, "accounts", (), source, where, problems),
                    collector=True,
                    **(shift(entry) if not problems else {}),
                )
            )
        names = [t.name for t in teams]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"{source}: duplicate team names: {', '.join(dupes)}")
        if problems:
            raise InputError(f"{source}: {len(problems)} problem(s) in the teams file", problems)
        return cls(tuple(teams), source)
