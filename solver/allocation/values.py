"""The treatments' response model (SPEC §8): each treatment's probability of a payment
from each account this period, its expected collection, cost and plan value, and the
plan each account would be offered (from ``workout plan-portfolio``'s table).

Read from the catalogue (:mod:`solver.allocation.catalogue`); used by the one-week
allocation (:mod:`solver.allocation.portfolio`), the multi-week plan
(:mod:`solver.allocation.horizon`) and the strategy tree (:mod:`solver.allocation.strategy`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from solver.allocation.catalogue import Catalogue
from solver.allocation.compliance import label_codes, text_column
from solver.domain import BUCKETS, TIERS
from solver.errors import InputError

__all__ = ["due_basis", "payment_probability", "recommended_plans", "treatment_values"]


def payment_probability(portfolio: Any, catalogue: Catalogue) -> np.ndarray:
    """``T × n`` probability that each treatment brings a payment from each account this
    period: the tier × bucket table, raised on the account's preferred channel (capped)."""
    tier = np.clip(label_codes(portfolio["tier"], TIERS), 0, 4)
    bucket = np.clip(label_codes(portfolio["dpd_bucket"], BUCKETS), 0, 4)
    preferred = text_column(portfolio, "preferred_channel")
    out = np.zeros((len(catalogue.treatments), len(portfolio)))
    for t_idx, t in enumerate(catalogue.treatments):
        prob = t.pay_prob[tier, bucket]
        if t.channel:
            match = preferred == t.channel
            prob = np.where(
                match,
                np.minimum(prob * (1 + catalogue.preferred_channel_uplift), catalogue.max_pay_prob),
                prob,
            )
        out[t_idx] = prob
    return out


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
    portfolio: Any, catalogue: Catalogue, plans: Any | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected collected amount, cost and plan value per treatment and account (CNY, cents).

    Returns
    -------
    (collected, cost, plan_value)
        ``T × n`` arrays (catalogue order), rounded to the cent; ``plan_value`` is the part
        of ``collected`` that comes from offering the recommended plan (senior calls only).
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
    if plans is not None and "senior_call" in catalogue.names:
        extra = _plan_uplift(portfolio, plans, catalogue)
        s_idx = catalogue.names.index("senior_call")
        plan_value[s_idx] = extra
        collected[s_idx] += extra
    return np.round(collected, 2), np.round(cost, 2), np.round(plan_value, 2)


def _plan_uplift(portfolio: Any, plans: Any, catalogue: Catalogue) -> np.ndarray:
    """``p_reach · p_accept · npv_vs_status_quo`` per account for recommended plans (else 0)."""
    values, _, _ = recommended_plans(portfolio, plans, catalogue)
    return catalogue.plans.p_reach * catalogue.plans.p_accept * values


def recommended_plans(
    portfolio: Any, plans: Any, catalogue: Catalogue
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each account's plan NPV uplift over the status quo (``npv_vs_status_quo`` of a plan
    with an eligible status and a positive uplift, else 0), its term in months and the
    plan's own NPV (the plan table's ``term`` and ``npv``; NaN where absent)."""
    import pandas as pd

    required = {"account_id", "status", "npv_vs_status_quo"}
    missing = required - set(plans.columns)
    if missing:
        raise InputError(f"plans: missing column(s) {', '.join(sorted(missing))}")
    table = plans.loc[:, ["account_id", "status", "npv_vs_status_quo"]].copy()
    table["account_id"] = table["account_id"].astype(str)
    table["npv_vs_status_quo"] = pd.to_numeric(table["npv_vs_status_quo"], errors="coerce").fillna(
        0.0
    )
    for extra in ("term", "npv"):
        table[extra] = pd.to_numeric(plans[extra], errors="coerce") if extra in plans else np.nan
    ok = table["status"].astype(str).isin(catalogue.plans.eligible_status) & (
        table["npv_vs_status_quo"] > 0
    )
    chosen = table.loc[ok].drop_duplicates("account_id", keep="last").set_index("account_id")
    ids = portfolio["account_id"].astype(str)
    values = ids.map(chosen["npv_vs_status_quo"]).fillna(0.0).to_numpy(dtype=np.float64)
    terms = ids.map(chosen["term"]).to_numpy(dtype=np.float64, na_value=np.nan)
    npv = ids.map(chosen["npv"]).to_numpy(dtype=np.float64, na_value=np.nan)
    return values, terms, npv
