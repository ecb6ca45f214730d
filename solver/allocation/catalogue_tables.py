"""The tables of the treatment catalogue file, one reader each (SPEC §5, §8).

``[compliance]`` (the contact rules on the jurisdiction's floor), ``[plans]`` (the plan
offer's value), ``[base_pay_prob]`` and ``[tier_factor]`` (the response without action and
each tier's response to contact) and every ``[treatments.<name>]`` table (cost, workload,
eligibility and its tier × dpd-bucket response table). Every problem goes to ``problems``;
:meth:`~solver.allocation.catalogue.Catalogue.from_mapping` raises them all at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from solver.allocation.compliance import NO_CONTACT_FLAGS, Compliance
from solver.allocation.jurisdiction import DEFAULT_JURISDICTION, load_profile
from solver.allocation.teams import TEAM_TYPES
from solver.allocation.toml_fields import (
    read_keys,
    read_number,
    read_number_or_nan,
    read_strings,
    read_true_false,
    read_whole_number,
)
from solver.allocation.treatments import (
    CHANNELS,
    NO_TREATMENT,
    VALUATION_WEEKS,
    PlanValue,
    Treatment,
)
from solver.domain import BUCKETS, TIERS, Status
from solver.errors import InputError

__all__ = [
    "read_base_response",
    "read_compliance",
    "read_plan_value",
    "read_treatment",
]

# Keys each table may hold: anything else is a typo that would otherwise be ignored.
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


def _frozen(arr: Any, dtype: Any = np.float64) -> np.ndarray:
    out = np.array(arr, dtype=dtype)
    out.setflags(write=False)
    return out


def _table5(value: Any, key: str, source: str, where: str, problems: list[str]) -> np.ndarray:
    """Five probabilities, one per dpd bucket M0..M4+ (zeros and a problem otherwise)."""
    arr = np.asarray(value, dtype=object)
    if arr.shape != (5,) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1 for v in arr
    ):
        problems.append(f"{source}: {where}: {key}: must be 5 numbers in [0, 1] (M0..M4+)")
        return np.zeros(5)
    return arr.astype(np.float64)


def read_compliance(
    table: Any, source: str, problems: list[str], jurisdiction: str | None = None
) -> Compliance:
    """The ``[compliance]`` table: the contact rules, on the floor of the jurisdiction's
    profile (``jurisdiction`` overrides the table's ``jurisdiction`` key)."""
    comp_data = read_keys(table, COMPLIANCE_KEYS, source, "compliance", problems)

    code = jurisdiction or str(comp_data.get("jurisdiction", DEFAULT_JURISDICTION))
    try:
        profile = load_profile(code)
    except InputError as exc:
        if jurisdiction:  # the caller's override (`--jurisdiction`), not the file's key
            raise
        problems.append(f"{source}: compliance: {exc}")
        profile = load_profile(DEFAULT_JURISDICTION)
    # A setting the file leaves out takes the stricter of Workout's default and the profile's
    # floor; a setting the file gives is checked against the floor (Catalogue.__post_init__).
    base = profile.tighten

    def comp_num(key: str, default: float, hi: float) -> float:
        return read_number(
            comp_data, key, base(key, default), source, "compliance", problems, 0.0, hi
        )

    def comp_strings(key: str, default: Sequence[str]) -> tuple[str, ...]:
        return read_strings(comp_data, key, base(key, default), source, "compliance", problems)

    compliance = Compliance(
        contact_start=comp_num("contact_start", 8.0, 24.0),
        contact_end=comp_num("contact_end", 22.0, 24.0),
        max_connected_calls_per_day=int(comp_num("max_connected_calls_per_day", 3, 1e6)),
        max_call_attempts_per_7_days=int(comp_num("max_call_attempts_per_7_days", 7, 1e6)),
        hardship_forbidden=comp_strings("hardship_forbidden", ("field_visit", "legal")),
        no_contact_flags=comp_strings("no_contact_flags", NO_CONTACT_FLAGS),
        gentle_tiers=comp_strings("gentle_tiers", ("A", "B")),
        gentle_buckets=comp_strings("gentle_buckets", ("M0", "M1")),
        language_match=read_true_false(
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


def read_plan_value(table: Any, source: str, problems: list[str]) -> PlanValue:
    """The ``[plans]`` table: how a recommended plan adds to the senior call's value."""
    plan_data = read_keys(table, PLAN_VALUE_KEYS, source, "plans", problems)
    return PlanValue(
        p_reach=read_number_or_nan(plan_data, "p_reach", 0.6, source, "plans", problems, hi=1.0),
        p_accept=read_number_or_nan(plan_data, "p_accept", 0.5, source, "plans", problems, hi=1.0),
        eligible_status=read_strings(
            plan_data, "eligible_status", (Status.RECOMMENDED.value,), source, "plans", problems
        ),
        valuation_weeks=read_whole_number(
            plan_data, "valuation_weeks", VALUATION_WEEKS, source, "plans", problems, 1, 520
        ),
    )


def read_base_response(
    data: Mapping[str, Any], source: str, problems: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """The ``[base_pay_prob]`` table (tier × dpd bucket probability of a payment without
    action) and the ``[tier_factor]`` table (how strongly each tier responds to contact)."""
    base_data = read_keys(
        data.get("base_pay_prob", {}), frozenset(TIERS), source, "base_pay_prob", problems
    )
    base = np.zeros((5, 5))
    for i, tier in enumerate(TIERS):
        if tier not in base_data:
            problems.append(f"{source}: base_pay_prob: {tier}: missing")
            continue
        base[i] = _table5(base_data[tier], tier, source, "base_pay_prob", problems)
    tier_data = read_keys(
        data.get("tier_factor", {}), frozenset(TIERS), source, "tier_factor", problems
    )
    tier_factor = np.array(
        [read_number(tier_data, t, 1.0, source, "tier_factor", problems, 0.0) for t in TIERS]
    )
    return base, tier_factor


def read_treatment(
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
    tdata = read_keys(table, TREATMENT_KEYS, source, where, problems)
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
    tiers = read_strings(tdata, "tiers", TIERS, source, where, problems)
    buckets = read_strings(tdata, "dpd_buckets", BUCKETS, source, where, problems)
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
        cost_per_action=read_number_or_nan(tdata, "cost_per_action", 0.0, source, where, problems),
        actions=int(
            np.nan_to_num(read_number_or_nan(tdata, "actions", 1, source, where, problems))
        ),
        handling_minutes=read_number_or_nan(
            tdata, "handling_minutes", 0.0, source, where, problems
        ),
        team_type=team_type,
        channel=channel,
        consent=consent,
        contact=read_true_false(tdata, "contact", name != NO_TREATMENT, source, where, problems),
        call=read_true_false(tdata, "call", False, source, where, problems),
        gentle=read_true_false(tdata, "gentle", False, source, where, problems),
        tiers=tiers,
        dpd_buckets=buckets,
        min_balance=read_number_or_nan(tdata, "min_balance", 0.0, source, where, problems),
        max_balance=read_number(tdata, "max_balance", math.inf, source, where, problems, 0.0),
        basis=basis,
        pay_prob=_frozen(pay),
        paid_share=_frozen(paid_share),
        connected_calls_per_day=int(
            read_number(tdata, "connected_calls_per_day", 0, source, where, problems, 0.0)
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
    reach = read_number_or_nan(tdata, "reach", 0.0, source, where, problems, hi=1.0)
    convert = _table5(tdata.get("convert", [0.0] * 5), "convert", source, where, problems)
    effect = np.clip(reach * convert[None, :] * tier_factor[:, None], 0.0, 1.0)
    return base + (1.0 - base) * effect
