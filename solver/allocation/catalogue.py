"""The treatment catalogue: treatments, compliance rules and response settings (SPEC §5, §8).

Loaded from ``scenarios/treatments.toml`` (:class:`Catalogue`); every default number is
documented in that file and is meant to be calibrated. One module per role around it:

* :mod:`~solver.allocation.treatments` -- :class:`~solver.allocation.treatments.Treatment` and
  :class:`~solver.allocation.treatments.PlanValue`;
* :mod:`~solver.allocation.catalogue_tables` -- one reader per table of the file;
* :mod:`~solver.allocation.toml_fields` -- the checked readers of single values;
* :mod:`~solver.allocation.teams` -- the teams file (:class:`~solver.allocation.teams.Teams`);
* :mod:`~solver.allocation.compliance` -- the compliance rules and the eligibility they give;
* :mod:`~solver.allocation.values` -- :func:`~solver.allocation.values.treatment_values`, the
  expected collected amount and cost of every treatment for every account.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from solver.allocation.catalogue_tables import (
    read_base_response,
    read_compliance,
    read_plan_value,
    read_treatment,
)
from solver.allocation.compliance import Compliance
from solver.allocation.toml_fields import read_keys, read_number_or_nan
from solver.allocation.treatments import NO_TREATMENT, PLAN_OFFER, PlanValue, Treatment
from solver.core.files import read_toml
from solver.domain import BUCKETS, TIERS
from solver.errors import InputError

# BUCKETS and TIERS are solver.domain's, re-exported: the catalogue's response tables are
# tier × dpd bucket.
__all__ = ["BUCKETS", "TIERS", "Catalogue", "default_catalogue_path"]

_ROOT = Path(__file__).resolve().parents[2]


def default_catalogue_path() -> Path:
    """The bundled catalogue ``scenarios/treatments.toml``."""
    return _ROOT / "scenarios" / "treatments.toml"


#: Keys the catalogue file may hold: anything else is a typo that would otherwise be ignored.
CATALOGUE_KEYS = frozenset(
    {"currency", "period_days", "max_pay_prob", "preferred_channel_uplift",
     "continuity_uplift", "compliance", "plans", "base_pay_prob", "tier_factor", "treatments"}
)  # fmt: skip


@dataclass(frozen=True)
class Catalogue:
    """The treatment catalogue with compliance rules and response-model settings."""

    treatments: tuple[Treatment, ...]
    compliance: Compliance = field(default_factory=Compliance)
    plans: PlanValue = field(default_factory=PlanValue)
    currency: str = "CNY"
    period_days: int = 7
    max_pay_prob: float = 0.95
    preferred_channel_uplift: float = 0.15
    continuity_uplift: float = 0.05
    source: str = "<built-in>"

    def __post_init__(self) -> None:
        names = [t.name for t in self.treatments]
        if NO_TREATMENT not in names:
            raise InputError(f"{self.source}: the catalogue must define treatment 'none'")
        if len(set(names)) != len(names):
            raise InputError(f"{self.source}: duplicate treatment names")
        problems = []
        limit_attempts = self.compliance.max_call_attempts_per_7_days * self.period_days / 7.0
        for t in self.treatments:
            where = f"{self.source}: treatments.{t.name}"
            if t.call and t.actions > limit_attempts + 1e-9:
                problems.append(
                    f"{where}: actions: {t.actions} call attempts per {self.period_days}-day period "
                    f"break the limit of {self.compliance.max_call_attempts_per_7_days} per 7 days"
                )
            if t.call and t.connected_calls_per_day > self.compliance.max_connected_calls_per_day:
                problems.append(
                    f"{where}: connected_calls_per_day: {t.connected_calls_per_day} exceeds the "
                    f"limit of {self.compliance.max_connected_calls_per_day}"
                )
            if t.name == NO_TREATMENT and (t.contact or t.human or t.cost != 0):
                problems.append(f"{where}: 'none' must be free, contact-free and need no team")
        problems += self.compliance.floor_problems(f"{self.source}: compliance")
        if problems:
            raise InputError(f"{self.source}: {len(problems)} compliance problem(s)", problems)

    @property
    def names(self) -> tuple[str, ...]:
        """Treatment names in catalogue order."""
        return tuple(t.name for t in self.treatments)

    @property
    def none_index(self) -> int:
        """Catalogue index of ``none`` (every catalogue has it)."""
        return self.names.index(NO_TREATMENT)

    @property
    def plan_offer_index(self) -> int | None:
        """Catalogue index of the treatment that offers a plan (None when absent)."""
        return self.names.index(PLAN_OFFER) if PLAN_OFFER in self.names else None

    def treatment(self, name: str) -> Treatment:
        """The treatment called ``name``."""
        for t in self.treatments:
            if t.name == name:
                return t
        raise KeyError(name)

    @classmethod
    def from_toml(
        cls, path: str | os.PathLike[str] | None = None, *, jurisdiction: str | None = None
    ) -> Catalogue:
        """Read a catalogue TOML (default: the bundled ``scenarios/treatments.toml``);
        ``jurisdiction`` overrides its ``[compliance] jurisdiction`` (default ``cn``)."""
        p = Path(path) if path is not None else default_catalogue_path()
        return cls.from_mapping(
            read_toml(p, "treatment catalogue"), source=str(p), jurisdiction=jurisdiction
        )

    @classmethod
    def default(cls) -> Catalogue:
        """The bundled catalogue."""
        return cls.from_toml(default_catalogue_path())

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, source: str = "<mapping>", jurisdiction: str | None = None
    ) -> Catalogue:
        """Build a catalogue from parsed TOML; raises InputError listing every problem."""
        problems: list[str] = []
        data = read_keys(data, CATALOGUE_KEYS, source, "catalogue", problems)
        compliance = read_compliance(data.get("compliance", {}), source, problems, jurisdiction)
        plans = read_plan_value(data.get("plans", {}), source, problems)
        base, tier_factor = read_base_response(data, source, problems)
        max_pay = read_number_or_nan(
            data, "max_pay_prob", 0.95, source, "catalogue", problems, hi=1.0
        )
        for key, default in (("preferred_channel_uplift", 0.15), ("continuity_uplift", 0.05)):
            read_number_or_nan(data, key, default, source, "catalogue", problems)
        read_number_or_nan(data, "period_days", 7, source, "catalogue", problems, lo=1.0)

        treatments = []
        treatment_tables = data.get("treatments", {})
        if not isinstance(treatment_tables, Mapping):
            problems.append(f"{source}: treatments: must be [treatments.<name>] tables")
            treatment_tables = {}
        for name, tdata in dict(treatment_tables).items():
            treatments.append(
                read_treatment(name, tdata, base, tier_factor, max_pay, source, problems)
            )
        for forbidden in compliance.hardship_forbidden:
            if forbidden not in [t.name for t in treatments]:
                problems.append(
                    f"{source}: compliance: hardship_forbidden: unknown treatment {forbidden!r}"
                )
        if problems:
            raise InputError(
                f"{source}: {len(problems)} problem(s) in the treatment catalogue", problems
            )
        return cls(
            treatments=tuple(treatments),
            compliance=compliance,
            plans=plans,
            currency=str(data.get("currency", "CNY")),
            period_days=int(data.get("period_days", 7)),
            max_pay_prob=max_pay,
            preferred_channel_uplift=float(data.get("preferred_channel_uplift", 0.15)),
            continuity_uplift=float(data.get("continuity_uplift", 0.05)),
            # (numbers above were checked by read_number_or_nan: a problem raised before this point)
            source=source,
        )

    def replace(self, **changes: Any) -> Catalogue:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)
