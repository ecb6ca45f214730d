"""Channel capacities of the contact calendar, from ``scenarios/channels.toml``.

Dialler lines per team member (robot teams: ``members`` are lines), automated throughput per
hour (SMS, e-mail, app push) and field-visit routes per region per day. Every number is
documented in the shipped file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solver.core.files import read_toml
from solver.errors import InputError

__all__ = ["AUTOMATED", "Channels", "default_channels_path"]

#: Channels sent by a gateway (no team): capacity is messages per hour.
AUTOMATED = ("sms", "email", "app")

_KEYS = frozenset({"min_contact_minutes", "lines_per_member", "throughput_per_hour", "field"})
_FIELD_KEYS = frozenset({"visits_per_route", "default_routes", "routes"})


def default_channels_path() -> Path:
    """The bundled ``scenarios/channels.toml``."""
    return Path(__file__).resolve().parents[3] / "scenarios" / "channels.toml"


@dataclass(frozen=True)
class Channels:
    """Capacities of the contact channels (see ``scenarios/channels.toml``)."""

    min_contact_minutes: float = 1.0
    lines_per_member: float = 1.0
    throughput_per_hour: Mapping[str, float] = field(
        default_factory=lambda: {"sms": 20000.0, "email": 50000.0, "app": 50000.0}
    )
    visits_per_route: int = 3
    default_routes: int = 2
    routes: Mapping[str, int] = field(default_factory=dict)
    source: str = "<built-in>"

    def visits_per_day(self, region: str) -> int:
        """Field visits a region's routes allow per day."""
        return self.visits_per_route * int(self.routes.get(region, self.default_routes))

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str] | None = None) -> Channels:
        """Read a channels TOML (default: the bundled file); every problem in one error."""
        p = Path(path) if path is not None else default_channels_path()
        return cls.from_mapping(read_toml(p, "channels"), source=str(p))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "<mapping>") -> Channels:
        """Build from parsed TOML; unknown keys and bad numbers are problems."""
        problems = [f"{source}: unknown key {k!r}" for k in sorted(set(data) - _KEYS)]
        fdata = data.get("field", {})
        problems += [
            f"{source}: field: unknown key {k!r}" for k in sorted(set(fdata) - _FIELD_KEYS)
        ]

        def number(table: Mapping[str, Any], key: str, default: float, where: str) -> float:
            value = table.get(key, default)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not math.isfinite(value) or value < 0:
                problems.append(f"{source}: {where}{key}: must be a number >= 0, got {value!r}")
                return default
            return float(value)

        through = dict(data.get("throughput_per_hour", {}))
        for key in sorted(set(through) - set(AUTOMATED)):
            problems.append(f"{source}: throughput_per_hour: unknown channel {key!r}")
        rates = {c: number(through, c, 0.0, "throughput_per_hour.") for c in AUTOMATED}
        routes_table = dict(fdata.get("routes", {}))
        routes = {str(r): int(number(routes_table, r, 0, "field.routes.")) for r in routes_table}
        out = cls(
            min_contact_minutes=number(data, "min_contact_minutes", 1.0, ""),
            lines_per_member=number(data, "lines_per_member", 1.0, ""),
            throughput_per_hour=rates,
            visits_per_route=int(number(fdata, "visits_per_route", 3, "field.")),
            default_routes=int(number(fdata, "default_routes", 2, "field.")),
            routes=routes,
            source=source,
        )
        if problems:
            raise InputError(f"{source}: {len(problems)} problem(s) in the channels file", problems)
        return out
