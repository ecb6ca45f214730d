"""Collection treatments, teams and the response model (SPEC §5, §8).

Loaded from ``scenarios/treatments.toml`` (:class:`Catalogue`, one reader per table of the
file) and ``scenarios/teams.toml`` (:class:`Teams`); every default number is documented in
those files and is meant to be calibrated. :func:`treatment_values` turns a portfolio into
the expected collected amount and cost of every treatment for every account. The
compliance rules and the eligibility they give are in :mod:`solver.allocation.compliance`.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from solver.allocation.compliance import NO_CONTACT_FLAGS, Compliance
from solver.allocation.jurisdiction import DEFAULT_JURISDICTION, load_profile
from solver.core.amortisation import to_cents
from solver.core.files import read_toml
from solver.domain import BUCKETS, TIERS, Status
from solver.errors import InputError

__all__ = [
    "BUCKETS",
    "TIERS",
    "TREATMENTS",
    "Catalogue",
    "NO_TREATMENT",
    "PLAN_OFFER",
    "PlanValue",
    "Team",
    "Teams",
    "Treatment",
    "default_catalogue_path",
    "default_teams_path",
]

#: The treatments the SPEC names, in display order.
TREATMENTS = (
    "none",
    "sms",
    "email",
    "app",
    "ai_voice",
    "agent_call",
    "senior_call",
    "field_visit",
    "legal",
)
#: The treatment that offers the account's recommended plan (``--plans``), and the one that
#: does nothing (free, always allowed).
PLAN_OFFER, NO_TREATMENT = "senior_call", "none"
TEAM_TYPES = ("agent", "senior", "field", "legal", "robot")
CHANNELS = ("", "sms", "email", "app", "phone", "visit")

_ROOT = Path(__file__).resolve().parents[2]


def default_catalogue_path() -> Path:
    """The bundled catalogue ``scenarios/treatments.toml``."""
    return _ROOT / "scenarios" / "treatments.toml"


def default_teams_path() -> Path:
    """The bundled teams file ``scenarios/teams.toml``."""
    return _ROOT / "scenarios" / "teams.toml"


# Keys each table may hold: anything else is a typo that would otherwise be ignored.
CATALOGUE_KEYS = frozenset(
    {"currency", "period_days", "max_pay_prob", "preferred_channel_uplift",
     "continuity_uplift", "compliance", "plans", "base_pay_prob", "tier_factor", "treatments"}
)  # fmt: skip
COMPLIANCE_KEYS = frozenset(
    {"contact_start", "contact_end", "max_connected_calls_per_day",
     "max_call_attempts_per_7_days", "hardship_forbidden", "no_contact_flags", "gentle_tiers",
     "gentle_buckets", "language_match", "jurisdiction", "max_call_attempts_per_day",
     "no_call_days_after_conversation", "hardship_max_contacts_per_day"}
)  # fmt: skip
PLAN_VALUE_KEYS = frozenset({"p_reach", "p_accept", "eligible_status", "valuation_weeks"})
TREATMENT_KEYS = frozenset(
    {"label", "cost_per_action", "actions", "handling_minutes", "team_type", "channel",
     "consent", "contact", "call", "gentle", "tiers", "dpd_buckets", "min_balance",
     "max_balance", "basis", "pay_prob", "paid_share", "reach", "convert",
     "connected_calls_per_day"}
)  # fmt: skip
SHIFT_DEFAULTS = {"working_days": 5, "shift_start": 9.0, "shift_end": 18.0, "productive_share": 0.7}
SHIFT_KEYS = frozenset(SHIFT_DEFAULTS)
TEAM_KEYS = SHIFT_KEYS | {"name", "type", "members", "languages", "regions", "minutes_per_period"}
COLLECTOR_KEYS = SHIFT_KEYS | {
    "name", "skill", "region", "languages", "accounts", "minutes_per_period"
}  # fmt: skip
TEAMS_FILE_KEYS = frozenset({"defaults", "teams", "collectors"})


def _unknown_keys(
    table: Any, allowed: frozenset[str], source: str, where: str, problems: list[str]
) -> dict[str, Any]:
    """``table`` as a dict; unknown keys (with the closest valid one) go to ``problems``."""
    if not isinstance(table, Mapping):
        problems.append(f"{source}: {where}: must be a table, got {table!r}"[:200])
        return {}
    for key in sorted(set(table) - allowed):
        close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(f"{source}: {where}: unknown key {key!r}{hint}")
    return dict(table)


def _number(
    table: Mapping[str, Any],
    key: str,
    default: float,
    source: str,
    where: str,
    problems: list[str],
    lo: float = -math.inf,
    hi: float = math.inf,
) -> float:
    """A finite number in [lo, hi] from ``table`` (``default`` when absent); else a problem."""
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{source}: {where}: {key}: must be a number, got {value!r}"[:200])
        return float(default)
    if math.isnan(value) or (math.isinf(value) and value != default):
        problems.append(f"{source}: {where}: {key}: must be finite, got {value}")
        return float(default)
    if not lo <= value <= hi:
        problems.append(f"{source}: {where}: {key}: must be in [{lo:g}, {hi:g}], got {value}")
        return float(default)
    return float(value)


def _strings(
    table: Mapping[str, Any],
    key: str,
    default: Sequence[str],
    source: str,
    where: str,
    problems: list[str],
) -> tuple[str, ...]:
    """A list of strings (a single string counts as one) from ``table``; else a problem."""
    value = table.get(key, default)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    problems.append(f"{source}: {where}: {key}: must be a list of strings, got {value!r}"[:200])
    return tuple(default)


def _true_false(
    table: Mapping[str, Any], key: str, default: bool, source: str, where: str, problems: list[str]
) -> bool:
    """A true/false value from ``table``; anything else is a problem."""
    value = table.get(key, default)
    if isinstance(value, bool):
        return value
    problems.append(f"{source}: {where}: {key}: must be true or false, got {value!r}"[:200])
    return default


def _tables(value: Any, source: str, where: str, problems: list[str]) -> list[Mapping[str, Any]]:
    """An array of tables (``[[teams]]``); anything else is a problem."""
    if isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        return value
    problems.append(f"{source}: {where}: must be an array of tables ([[{where}]])")
    return []


def _frozen(arr: Any, dtype: Any = np.float64) -> np.ndarray:
    out = np.array(arr, dtype=dtype)
    out.setflags(write=False)
    return out


#: Default valuation horizon (periods) of the one-week objective: the longest horizon
#: ``allocate --weeks`` plans over (issue 17: 4-12 weeks), so a plan offer is valued alike
#: by ``allocate`` and by week 1 of ``allocate --weeks 12`` (reason in scenarios/treatments.toml).
VALUATION_WEEKS = 12


@dataclass(frozen=True)
class PlanValue:
    """How a recommended restructuring plan adds to the senior negotiator call's value:
    signed with probability :attr:`accept`, its NPV uplift counted as expected discounted
    cash within ``valuation_weeks`` periods (:func:`solver.allocation.values.plan_offer_value`)."""

    p_reach: float = 0.6
    p_accept: float = 0.5
    eligible_status: tuple[str, ...] = (Status.RECOMMENDED.value,)
    valuation_weeks: int = VALUATION_WEEKS

    @property
    def accept(self) -> float:
        """Probability that a plan offer is signed: ``p_reach · p_accept``."""
        return self.p_reach * self.p_accept


@dataclass(frozen=True)
class Treatment:
    """One collection treatment: cost, workload, eligibility and response model.

    ``pay_prob`` is the 5 × 5 table (tier × dpd bucket) of the probability of a payment in
    the period, before the preferred-channel uplift; ``paid_share`` (5, by bucket) the
    expected share of the basis paid given a payment.
    """

    name: str
    label: str
    cost_per_action: float
    actions: int
    handling_minutes: float
    team_type: str
    channel: str
    consent: str
    contact: bool
    call: bool
    gentle: bool
    tiers: tuple[str, ...]
    dpd_buckets: tuple[str, ...]
    min_balance: float
    max_balance: float
    basis: str
    pay_prob: np.ndarray
    paid_share: np.ndarray
    connected_calls_per_day: int = 0

    @property
    def cost_cents(self) -> int:
        """Cost per account per period in whole cents (half up, as written: 0.335 → 34), the
        one definition budgets are checked against, so they hold on the printed CSV."""
        return to_cents(self.cost_per_action * self.actions, "cost")

    @property
    def cost(self) -> float:
        """Cost per account per period (CNY, whole cents: :attr:`cost_cents` / 100)."""
        return self.cost_cents / 100

    @property
    def minutes(self) -> float:
        """Team minutes per account per period."""
        return self.handling_minutes * self.actions

    @property
    def human(self) -> bool:
        """Performed by a team (needs capacity)."""
        return self.team_type != ""


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
        data = _unknown_keys(data, CATALOGUE_KEYS, source, "catalogue", problems)
        compliance = _read_compliance(data.get("compliance", {}), source, problems, jurisdiction)
        plans = _read_plan_value(data.get("plans", {}), source, problems)
        base, tier_factor = _read_base_response(data, source, problems)
        max_pay = _catalogue_number(
            data, "max_pay_prob", 0.95, source, "catalogue", problems, hi=1.0
        )
        for key, default in (("preferred_channel_uplift", 0.15), ("continuity_uplift", 0.05)):
            _catalogue_number(data, key, default, source, "catalogue", problems)
        _catalogue_number(data, "period_days", 7, source, "catalogue", problems, lo=1.0)

        treatments = []
        treatment_tables = data.get("treatments", {})
        if not isinstance(treatment_tables, Mapping):
            problems.append(f"{source}: treatments: must be [treatments.<name>] tables")
            treatment_tables = {}
        for name, tdata in dict(treatment_tables).items():
            treatments.append(
                _read_treatment(name, tdata, base, tier_factor, max_pay, source, problems)
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
            # (numbers above were checked by _catalogue_number: a problem raised before this point)
            source=source,
        )

    def replace(self, **changes: Any) -> Catalogue:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)


# -- the tables of the catalogue file, one reader each (every problem goes to ``problems``) --


def _catalogue_number(
    table: Mapping[str, Any],
    key: str,
    default: Any,
    source: str,
    where: str,
    problems: list[str],
    lo: float = 0.0,
    hi: float = math.inf,
) -> float:
    """A finite number from ``table`` (``default`` when absent; a problem and NaN when it is
    missing without a default or not a finite number; a problem when outside [lo, hi])."""
    value = table.get(key, default)
    if value is None:
        problems.append(f"{source}: {where}: {key}: missing")
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{source}: {where}: {key}: must be a number, got {value!r}")
        return math.nan
    if not math.isfinite(value):
        problems.append(f"{source}: {where}: {key}: must be finite, got {value}")
        return math.nan
    if value < lo:
        problems.append(f"{source}: {where}: {key}: must be >= {lo}, got {value}")
    if value > hi:
        problems.append(f"{source}: {where}: {key}: must be <= {hi}, got {value}")
    return float(value)


def _table5(value: Any, key: str, source: str, where: str, problems: list[str]) -> np.ndarray:
    """Five probabilities, one per dpd bucket M0..M4+ (zeros and a problem otherwise)."""
    arr = np.asarray(value, dtype=object)
    if arr.shape != (5,) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1 for v in arr
    ):
        problems.append(f"{source}: {where}: {key}: must be 5 numbers in [0, 1] (M0..M4+)")
        return np.zeros(5)
    return arr.astype(np.float64)


def _read_compliance(
    table: Any, source: str, problems: list[str], jurisdiction: str | None = None
) -> Compliance:
    """The ``[compliance]`` table: the contact rules, on the floor of the jurisdiction's
    profile (``jurisdiction`` overrides the table's ``jurisdiction`` key)."""
    comp_data = _unknown_keys(table, COMPLIANCE_KEYS, source, "compliance", problems)

    code = jurisdiction or str(comp_data.get("jurisdiction", DEFAULT_JURISDICTION))
    try:
        profile = load_profile(code)
    except InputError as exc:
        problems.append(f"{source}: compliance: {exc}")
        profile = load_profile(DEFAULT_JURISDICTION)
    # A setting the file leaves out takes the stricter of Workout's default and the profile's
    # floor; a setting the file gives is checked against the floor (Catalogue.__post_init__).
    base = profile.tighten

    def comp_num(key: str, default: float, hi: float) -> float:
        return _number(comp_data, key, base(key, default), source, "compliance", problems, 0.0, hi)

    def comp_strings(key: str, default: Sequence[str]) -> tuple[str, ...]:
        return _strings(comp_data, key, base(key, default), source, "compliance", problems)

    compliance = Compliance(
        contact_start=comp_num("contact_start", 8.0, 24.0),
        contact_end=comp_num("contact_end", 22.0, 24.0),
        max_connected_calls_per_day=int(comp_num("max_connected_calls_per_day", 3, 1e6)),
        max_call_attempts_per_7_days=int(comp_num("max_call_attempts_per_7_days", 7, 1e6)),
        hardship_forbidden=comp_strings("hardship_forbidden", ("field_visit", "legal")),
        no_contact_flags=comp_strings("no_contact_flags", NO_CONTACT_FLAGS),
        gentle_tiers=comp_strings("gentle_tiers", ("A", "B")),
        gentle_buckets=comp_strings("gentle_buckets", ("M0", "M1")),
        language_match=_true_false(
            comp_data, "language_match", True, source, "compliance", problems
        ),
        jurisdiction=profile.path if code.endswith(".toml") else profile.code,
        max_call_attempts_per_day=int(comp_num("max_call_attempts_per_day", 6, 1e6)),
        no_call_days_after_conversation=int(comp_num("no_call_days_after_conversation", 0, 366)),
        hardship_max_contacts_per_day=int(comp_num("hardship_max_contacts_per_day", 24, 1e6)),
    )
    for flag in compliance.no_contact_flags:
        if flag not in NO_CONTACT_FLAGS and flag != "hardship":
            problems.append(f"{source}: compliance: no_contact_flags: unknown flag {flag!r}")
    if not 0 <= compliance.contact_start < compliance.contact_end <= 24:
        problems.append(f"{source}: compliance: contact window must satisfy 0 <= start < end <= 24")
    return compliance


def _read_plan_value(table: Any, source: str, problems: list[str]) -> PlanValue:
    """The ``[plans]`` table: how a recommended plan adds to the senior call's value."""
    plan_data = _unknown_keys(table, PLAN_VALUE_KEYS, source, "plans", problems)
    return PlanValue(
        p_reach=_catalogue_number(plan_data, "p_reach", 0.6, source, "plans", problems, hi=1.0),
        p_accept=_catalogue_number(plan_data, "p_accept", 0.5, source, "plans", problems, hi=1.0),
        eligible_status=_strings(
            plan_data, "eligible_status", (Status.RECOMMENDED.value,), source, "plans", problems
        ),
        valuation_weeks=_whole_number(
            plan_data, "valuation_weeks", VALUATION_WEEKS, source, "plans", problems, 1, 520
        ),
    )


def _whole_number(
    table: Mapping[str, Any],
    key: str,
    default: int,
    source: str,
    where: str,
    problems: list[str],
    lo: int,
    hi: int,
) -> int:
    """A whole number in ``[lo, hi]`` from ``table`` (``default`` when absent; a problem and
    the default otherwise)."""
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        problems.append(
            f"{source}: {where}: {key}: must be a whole number in [{lo}, {hi}], got {value!r}"
        )
        return default
    return int(value)


def _read_base_response(
    data: Mapping[str, Any], source: str, problems: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """The ``[base_pay_prob]`` table (tier × dpd bucket probability of a payment without
    action) and the ``[tier_factor]`` table (how strongly each tier responds to contact)."""
    base_data = _unknown_keys(
        data.get("base_pay_prob", {}), frozenset(TIERS), source, "base_pay_prob", problems
    )
    base = np.zeros((5, 5))
    for i, tier in enumerate(TIERS):
        if tier not in base_data:
            problems.append(f"{source}: base_pay_prob: {tier}: missing")
            continue
        base[i] = _table5(base_data[tier], tier, source, "base_pay_prob", problems)
    tier_data = _unknown_keys(
        data.get("tier_factor", {}), frozenset(TIERS), source, "tier_factor", problems
    )
    tier_factor = np.array(
        [_number(tier_data, t, 1.0, source, "tier_factor", problems, 0.0) for t in TIERS]
    )
    return base, tier_factor


def _read_treatment(
    name: Any,
    table: Any,
    base: np.ndarray,
    tier_factor: np.ndarray,
    max_pay: float,
    source: str,
    problems: list[str],
) -> Treatment:
    """One ``[treatments.<name>]`` table: cost, workload, eligibility and response model."""
    where = f"treatments.{name}"
    tdata = _unknown_keys(table, TREATMENT_KEYS, source, where, problems)
    team_type = str(tdata.get("team_type", ""))
    if team_type not in ("", *TEAM_TYPES):
        problems.append(
            f"{source}: {where}: team_type: unknown {team_type!r} (use one of {', '.join(TEAM_TYPES)})"
        )
    channel = str(tdata.get("channel", ""))
    if channel not in CHANNELS:
        problems.append(f"{source}: {where}: channel: unknown {channel!r}")
    basis = str(tdata.get("basis", "due"))
    if basis not in ("due", "balance"):
        problems.append(f"{source}: {where}: basis: must be 'due' or 'balance', got {basis!r}")
    consent = str(tdata.get("consent", ""))
    if consent not in ("", "consent_sms", "consent_email"):
        problems.append(f"{source}: {where}: consent: must be consent_sms or consent_email")
    tiers = _strings(tdata, "tiers", TIERS, source, where, problems)
    buckets = _strings(tdata, "dpd_buckets", BUCKETS, source, where, problems)
    for t in tiers:
        if t not in TIERS:
            problems.append(f"{source}: {where}: tiers: unknown tier {t!r}")
    for b in buckets:
        if b not in BUCKETS:
            problems.append(f"{source}: {where}: dpd_buckets: unknown bucket {b!r}")
    paid_share = _table5(tdata.get("paid_share", [1.0] * 5), "paid_share", source, where, problems)
    pay = _pay_prob(tdata, base, tier_factor, source, where, problems)
    pay = np.minimum(pay, max_pay)
    return Treatment(
        name=str(name),
        label=str(tdata.get("label", name)),
        cost_per_action=_catalogue_number(tdata, "cost_per_action", 0.0, source, where, problems),
        actions=int(np.nan_to_num(_catalogue_number(tdata, "actions", 1, source, where, problems))),
        handling_minutes=_catalogue_number(tdata, "handling_minutes", 0.0, source, where, problems),
        team_type=team_type,
        channel=channel,
        consent=consent,
        contact=_true_false(tdata, "contact", name != NO_TREATMENT, source, where, problems),
        call=_true_false(tdata, "call", False, source, where, problems),
        gentle=_true_false(tdata, "gentle", False, source, where, problems),
        tiers=tiers,
        dpd_buckets=buckets,
        min_balance=_catalogue_number(tdata, "min_balance", 0.0, source, where, problems),
        max_balance=_number(tdata, "max_balance", math.inf, source, where, problems, 0.0),
        basis=basis,
        pay_prob=_frozen(pay),
        paid_share=_frozen(paid_share),
        connected_calls_per_day=int(
            _number(tdata, "connected_calls_per_day", 0, source, where, problems, 0.0)
        ),
    )


def _pay_prob(
    tdata: Mapping[str, Any],
    base: np.ndarray,
    tier_factor: np.ndarray,
    source: str,
    where: str,
    problems: list[str],
) -> np.ndarray:
    """A treatment's tier × bucket probability of a payment: its ``pay_prob`` table, or the
    base probability raised by ``reach × convert[bucket] × tier_factor[tier]``."""
    if "pay_prob" in tdata and not isinstance(tdata["pay_prob"], Mapping):
        problems.append(f"{source}: {where}: pay_prob: must be a table of tier rows")
        return np.zeros((5, 5))
    if "pay_prob" in tdata:
        pay = np.zeros((5, 5))
        for i, tier in enumerate(TIERS):
            pay[i] = _table5(
                tdata["pay_prob"].get(tier, [0.0] * 5), f"pay_prob.{tier}", source, where, problems
            )
        return pay
    reach = _catalogue_number(tdata, "reach", 0.0, source, where, problems, hi=1.0)
    convert = _table5(tdata.get("convert", [0.0] * 5), "convert", source, where, problems)
    effect = np.clip(reach * convert[None, :] * tier_factor[:, None], 0.0, 1.0)
    return base + (1.0 - base) * effect


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
        data = _unknown_keys(data, TEAMS_FILE_KEYS, source, "teams file", problems)
        defaults = _unknown_keys(data.get("defaults", {}), SHIFT_KEYS, source, "defaults", problems)
        teams: list[Team] = []

        def shift(entry: Mapping[str, Any]) -> dict[str, Any]:
            merged = {**defaults, **entry}
            out = {k: float(merged.get(k, d)) for k, d in SHIFT_DEFAULTS.items()}
            return {**out, "working_days": int(out["working_days"])}

        def capacity(entry: Mapping[str, Any], where: str, members: int) -> float:
            merged = {**defaults, **entry}

            def number(key: str, default: float, hi: float) -> float:
                return _number(merged, key, default, source, where, problems, 0.0, hi)

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

        for k, entry in enumerate(_tables(data.get("teams", []), source, "teams", problems)):
            # entries counted from 1, as everywhere in messages (docs/reliability.md)
            name = entry.get("name", "?") if isinstance(entry, Mapping) else "?"
            where = f"[[teams]] entry {k + 1} ({name})"
            entry = _unknown_keys(entry, TEAM_KEYS, source, where, problems)
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
                    name=str(entry.get("name", f"team-{k}")),
                    type=ttype,
                    members=members,
                    minutes_per_period=capacity(entry, where, members),
                    languages=_strings(entry, "languages", (), source, where, problems),
                    regions=_strings(entry, "regions", (), source, where, problems),
                    **(shift(entry) if not problems else {}),
                )
            )
        for k, entry in enumerate(
            _tables(data.get("collectors", []), source, "collectors", problems)
        ):
            name = entry.get("name", "?") if isinstance(entry, Mapping) else "?"
            where = f"[[collectors]] entry {k + 1} ({name})"
            entry = _unknown_keys(entry, COLLECTOR_KEYS, source, where, problems)
            skill = str(entry.get("skill", "junior"))
            if skill not in ("junior", "senior"):
                problems.append(f"{source}: {where}: skill: must be junior or senior")
            region = entry.get("region")
            teams.append(
                Team(
                    name=str(entry.get("name", f"collector-{k}")),
                    type="senior" if skill == "senior" else "agent",
                    members=1,
                    minutes_per_period=capacity(entry, where, 1),
                    languages=_strings(entry, "languages", (), source, where, problems),
                    regions=(str(region),) if region else (),
                    accounts=_strings(entry, "accounts", (), source, where, problems),
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
