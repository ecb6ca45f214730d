"""The collection treatments and the plan offer, as read from the catalogue (SPEC §5, §8).

:class:`Treatment` is one treatment's cost, workload, eligibility and response model;
:class:`PlanValue` how a recommended restructuring plan adds to the senior call's value.
Both are built from ``scenarios/treatments.toml`` by
:mod:`~solver.allocation.catalogue_tables` and held by
:class:`~solver.allocation.catalogue.Catalogue`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.core.amortisation import to_cents
from solver.domain import Status

__all__ = [
    "CHANNELS",
    "NO_TREATMENT",
    "PLAN_OFFER",
    "TREATMENTS",
    "VALUATION_WEEKS",
    "PlanValue",
    "Treatment",
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
#: The channels a treatment may use ("": none, e.g. a legal referral).
CHANNELS = ("", "sms", "email", "app", "phone", "visit")

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
