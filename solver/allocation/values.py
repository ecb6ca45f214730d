"""The treatments' response model (SPEC §8): each treatment's probability of a payment
from each account this period, its expected collection, cost and plan value, and the
plan each account would be offered (from ``workout plan-portfolio``'s table, read and
checked by :mod:`solver.allocation.plans_table`).

One currency (issue 17 item 4): every value is expected cash discounted to this period at
the cost of funds and received within a stated valuation horizon. A treatment's value is
its collection this period less its cost; the plan offer (``senior_call`` with ``--plans``)
adds ``p_reach · p_accept`` times the plan's NPV uplift paid as a level stream over the
plan's term, of which only the periods inside the horizon count
(:func:`plan_offer_value`; the multi-week model pays a signed plan by the same
:func:`level_stream`). The horizon is ``[plans] valuation_weeks`` (default 12) for
``allocate`` and what is left of the ``--weeks`` horizon for the one-week policy that
``allocate --weeks`` compares against.

Read from the catalogue (:mod:`solver.allocation.catalogue`); used by the one-week
allocation (:mod:`solver.allocation.portfolio`), the multi-week plan
(:mod:`solver.allocation.horizon`) and the strategy tree (:mod:`solver.allocation.strategy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.allocation.catalogue import Catalogue
from solver.allocation.compliance import label_codes, text_column
from solver.allocation.plans_table import CheckedPlans, recommended_plans
from solver.core.model import BehaviourModel
from solver.domain import BUCKETS, TIERS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DAYS_PER_MONTH",
    "DEFAULT_PLAN_TERM",
    "PlanOffers",
    "due_basis",
    "level_stream",
    "payment_probability",
    "period_discount",
    "plan_offer_value",
    "plan_offers",
    "treatment_values",
]

#: Days in an average month (365.25 / 12): weekly hazards and plan terms in periods.
DAYS_PER_MONTH = 365.25 / 12
#: Plan term (months) assumed when the plans table gives none.
DEFAULT_PLAN_TERM = 36


def payment_probability(portfolio: Any, catalogue: Catalogue) -> np.ndarray:
    """``T × n`` probability that each treatment brings a payment from each account this
    period: the tier × bucket table, raised on the account's preferred channel (capped)."""
    tier = np.clip(label_codes(portfolio["tier"], TIERS), 0, 4)
    bucket = np.clip(label_codes(portfolio["dpd_bucket"], BUCKETS), 0, 4)
    # the preferred channel as a position among the treatments' channels (one pass over
    # the text column, not one comparison of a million strings per treatment)
    channels = sorted({t.channel for t in catalogue.treatments if t.channel})
    preferred = _positions(text_column(portfolio, "preferred_channel"), channels)
    out = np.zeros((len(catalogue.treatments), len(portfolio)))
    for t_idx, t in enumerate(catalogue.treatments):
        prob = t.pay_prob[tier, bucket]
        if t.channel:
            match = preferred == channels.index(t.channel)
            prob = np.where(
                match,
                np.minimum(prob * (1 + catalogue.preferred_channel_uplift), catalogue.max_pay_prob),
                prob,
            )
        out[t_idx] = prob
    return out


def _positions(values: np.ndarray, labels: list[str]) -> np.ndarray:
    """Position of each value in ``labels`` (``-1`` for any other value), by one hash
    lookup per value."""
    import pandas as pd

    return pd.Index(labels, dtype=object).get_indexer(values)


def due_basis(portfolio: Any) -> np.ndarray:
    """What a payment this period pays: arrears plus fees due, or, with nothing overdue,
    one month of principal and interest over the remaining term."""
    principal = portfolio["principal"].to_numpy(dtype=np.float64)
    interest = portfolio["interest_due"].to_numpy(dtype=np.float64)
    term = np.maximum(portfolio["remaining_term"].to_numpy(dtype=np.float64), 1.0)
    due = portfolio["arrears"].to_numpy(dtype=np.float64) + portfolio["fees_due"].to_numpy(
        dtype=np.float64
    )
    return np.where(due > 0, due, (principal + interest) / term)


def treatment_values(
    portfolio: Any,
    catalogue: Catalogue,
    plans: Any | None = None,
    *,
    valuation_weeks: int | None = None,
    model: BehaviourModel | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected cash collected this period, cost and plan value per treatment and account
    (CNY, cents).

    Every value is expected cash discounted to this period, received within the valuation
    horizon of ``valuation_weeks`` periods (default ``[plans] valuation_weeks``): a
    treatment's collection this period and, for the plan offer with ``plans``, the plan's
    NPV uplift paid as a level stream over its term, the periods inside the horizon only
    (:func:`plan_offer_value`, at the cost of funds of ``model``).

    Returns
    -------
    (collected, cost, plan_value)
        ``T × n`` arrays (catalogue order), rounded to the cent: ``collected`` is this
        period's cash (the same with or without ``plans``); ``plan_value`` what offering the
        recommended plan adds to it (the plan offer's row only, with ``plans``). A treatment's
        value is ``collected + plan_value - cost``; the allocation adds the plan value after
        the continuity uplift (:func:`solver.allocation.portfolio.build_allocation_problem`).
    """
    n = len(portfolio)
    bucket = np.clip(label_codes(portfolio["dpd_bucket"], BUCKETS), 0, 4)
    principal = portfolio["principal"].to_numpy(dtype=np.float64)
    interest = portfolio["interest_due"].to_numpy(dtype=np.float64)
    fees = portfolio["fees_due"].to_numpy(dtype=np.float64)
    due = due_basis(portfolio)
    balance = principal + interest + fees

    t_count = len(catalogue.treatments)
    collected = np.zeros((t_count, n))
    cost = np.zeros((t_count, n))
    plan_value = np.zeros((t_count, n))
    pay = payment_probability(portfolio, catalogue)
    for t_idx, t in enumerate(catalogue.treatments):
        basis = balance if t.basis == "balance" else due
        collected[t_idx] = pay[t_idx] * t.paid_share[bucket] * basis
        cost[t_idx] = t.cost
    offer = catalogue.plan_offer_index
    if plans is not None and offer is not None:
        weeks = catalogue.plans.valuation_weeks if valuation_weeks is None else valuation_weeks
        offers = plan_offers(portfolio, plans, catalogue)
        plan_value[offer] = np.round(
            plan_offer_value(offers, period_discount(catalogue, model), weeks), 2
        )
    return np.round(collected, 2), np.round(cost, 2), plan_value


def period_discount(catalogue: Catalogue, model: BehaviourModel | None = None) -> float:
    """Discount factor of one allocation period at the behaviour model's cost of funds
    (SPEC §4's monthly ``δ`` to the power ``period_days / DAYS_PER_MONTH``)."""
    model = model or BehaviourModel()
    return float(model.monthly_discount ** (catalogue.period_days / DAYS_PER_MONTH))


@dataclass(frozen=True, eq=False)
class PlanOffers:
    """The recommended plan of each account of a book, as the plan offer values it.

    ``uplift``: its ``npv_vs_status_quo`` (0: no plan to offer); ``npv``: the plan's own NPV
    (the uplift where the table has no ``npv`` column; 0 where no plan); ``periods``: its
    term in allocation periods (``DEFAULT_PLAN_TERM`` months when the table gives none);
    ``accept``: the probability that an offer is signed (``p_reach · p_accept``).
    """

    uplift: np.ndarray
    npv: np.ndarray
    periods: np.ndarray
    accept: float

    @property
    def offered(self) -> np.ndarray:
        """Accounts with a plan to offer."""
        return self.uplift > 0


def plan_offers(
    portfolio: Any, plans: pd.DataFrame | CheckedPlans, catalogue: Catalogue
) -> PlanOffers:
    """The :class:`PlanOffers` of a book from a ``plan-portfolio`` table, raw (checked here)
    or a :class:`CheckedPlans` of this book (not checked again; :func:`recommended_plans`)."""
    uplift, term, plan_npv = recommended_plans(portfolio, plans, catalogue)
    amount = np.where(uplift > 0, np.where(np.isfinite(plan_npv), plan_npv, uplift), 0.0)
    term = np.where(np.isfinite(term) & (term > 0), term, DEFAULT_PLAN_TERM)
    periods = np.maximum(1.0, np.round(term * DAYS_PER_MONTH / catalogue.period_days))
    return PlanOffers(uplift=uplift, npv=amount, periods=periods, accept=catalogue.plans.accept)


def level_stream(
    amount: np.ndarray, periods: np.ndarray, discount: float, weeks: int
) -> np.ndarray:
    """``weeks × n``: what a plan signed in week ``w`` (0-based) pays within a horizon of
    ``weeks`` periods, as present value at week 0 (the caller's "now").

    The plan pays ``amount`` (its present value at signing) as a level stream of ``periods``
    payments, the first one period after signing: ``A = amount (1 − δ) / (δ (1 − δ^N))``,
    so ``Σ_{u=1..N} A δ^u = amount``. Signed in week ``w`` it pays in weeks
    ``w+1 … w+N``, of which only those before ``weeks`` count (*amortised*, not added
    whole to one week).
    """
    delta = discount
    if delta < 1.0:
        annuity = amount * (1.0 - delta) / (delta * (1.0 - delta**periods))
    else:  # no cost of funds: equal payments
        annuity = amount / periods
    stream = np.zeros((weeks, np.size(amount)))
    for w in range(weeks):
        s = np.arange(w + 1, weeks)[:, None]
        inside = s < w + 1 + periods[None, :]
        stream[w] = (delta**s * inside).sum(axis=0) * annuity
    return stream


def plan_offer_value(offers: PlanOffers, discount: float, weeks: int) -> np.ndarray:
    """What offering the plan adds to an account's expected discounted cash within ``weeks``
    periods (money of the week of the offer): ``accept ·`` the plan's NPV uplift paid as a
    level stream over its term (:func:`level_stream`), the periods inside the horizon only.
    The one-week objective's plan value, and the one-week policy's in ``allocate --weeks``
    (each week over what is left of the horizon)."""
    uplift = np.where(offers.offered, offers.uplift, 0.0)
    return offers.accept * level_stream(uplift, offers.periods, discount, weeks)[0]
