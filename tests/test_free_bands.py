"""The node bands of the run-length tables from each month's own cap (free_prep.capped_bands, session 15).

The first node ``lo_t`` of a month must lie below every balance a plan can have then.
The oracle is the lowest balance path itself, computed with its own SPEC code: the caps of
``tests/oracles.py`` (SPEC §5 from the expected income), integer cents with half-up
interest, and every month the largest multiple of the rounding unit within the cap (or
clearing, when what is owed is within it): paying more never leaves a higher balance, so
no schedule is below that path in any month. Nothing in it comes from the bound tables.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracles import caps, monthly_interest, rate_units, to_cents

from solver.core.account import as_account
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.bound_nodes import _W_RATIO, _clearable, _node_bands
from solver.plans.context import context_from_account
from solver.plans.free_bound import unit_grid
from solver.plans.free_prep import capped_bands

# a card whose income recovers over 9 months with a balance near what the caps can repay
# (the benchmark book's slowest account to certify, CI00000009 of seed 11), and a smaller
# recovering auto loan with collateral and a coarse rounding unit
ACCOUNTS = [
    {"principal": 49262.18, "interest_due": 1213.13, "fees_due": 247.91, "arrears": 4958.25,
     "annual_rate": 0.1506, "remaining_term": 21, "dpd": 42, "tier": "D", "income": 2580,
     "income_normal": 3330, "recovery_months": 9, "income_cv": 0.16, "expenses": 1800,
     "product": "card_instalment"},
    {"principal": 18000, "interest_due": 120.5, "annual_rate": 0.089, "remaining_term": 30,
     "tier": "C", "income": 3000, "income_normal": 6000, "recovery_months": 12,
     "expenses": 2200, "vehicle_value": 40000, "product": "auto_loan"},
]  # fmt: skip
ROUNDING = [1.0, 50.0]


def lowest_balances(fields: dict, policy: Policy) -> list[int]:
    """The lowest balance (cents) before each month 1 … H + 1 over every schedule: the
    opening balance, then every month the largest unit amount within the cap (own caps,
    own interest), or 0 once what is owed is within the cap."""
    acc = as_account({"account_id": "band", **fields})
    H = policy.max_term_months
    unit = to_cents(policy.rounding)
    low = -(-max(to_cents(policy.min_payment), unit) // unit) * unit
    units = rate_units(acc.annual_rate)
    bal = to_cents(acc.principal + acc.interest_due + acc.fees_due)
    out = [bal]
    for cap in caps(acc, policy, H):
        cap_c = math.floor(cap * 100 + 1e-6) if math.isfinite(cap) else -1
        owed = bal + monthly_interest(bal, units)
        if owed <= cap_c:
            bal = 0
        else:
            top = cap_c // unit * unit
            bal = owed - (top if top >= low else 0)
        out.append(bal)
    return out


@pytest.fixture(scope="module", params=range(len(ACCOUNTS)))
def bands(request):
    """An account's context, policy, its capped bands and those of ``_node_bands``."""
    fields = ACCOUNTS[request.param]
    acc = as_account({"account_id": "band", **fields})
    pol = Policy(rounding=ROUNDING[request.param]).for_product(acc.product)
    ctx = context_from_account(acc, pol, BehaviourModel())
    amounts = unit_grid(ctx)
    every = np.full(1, ctx.horizon)
    U, top = _clearable(ctx)
    old = _node_bands(ctx, amounts, every, U, top, 96)
    new = capped_bands(ctx, old, amounts, top, 96, np.ones(1, bool))
    return fields, pol, ctx, new, old


def test_first_node_lies_below_the_lowest_reachable_balance(bands):
    """Every month's first node is at most the lowest balance any schedule can have then."""
    fields, pol, _, (lo, _, _), _ = bands
    lowest = np.array(lowest_balances(fields, pol)) / 100
    assert np.all(lo[0] <= lowest + 1e-9), np.flatnonzero(lo[0] > lowest)


def test_month_caps_narrow_the_band_where_income_recovers(bands):
    """The capped first node is never below ``_node_bands``' and above it in some month
    (the caps rise with the income), with the same highest balance."""
    *_, (lo, hi, _), (lo_old, hi_old, _) = bands
    assert np.all(lo >= lo_old)
    assert np.any(lo > lo_old + 1.0)
    assert np.array_equal(hi, hi_old)


def test_accounts_not_capped_keep_the_reference_bands(bands):
    """Where ``capped`` is not set the bands are ``_node_bands``' bit for bit."""
    _, _, ctx, _, old = bands
    _, top = _clearable(ctx)
    got = capped_bands(ctx, old, unit_grid(ctx), top, 96, np.zeros(1, bool))
    for a, b in zip(got, old, strict=True):
        np.testing.assert_array_equal(a, b)


def test_spacing_keeps_the_span_and_the_growth_rule(bands):
    """The spacing covers the band with the nodes and never shrinks faster than the
    ratio rule allows (an interval's image holds at most two of next month's nodes)."""
    _, _, ctx, (lo, hi, w), _ = bands
    g = 1.0 + float(ctx.monthly_rate[0])
    assert np.all(lo + 96 * w >= hi * (1 - 1e-12))
    assert np.all(w[0, 1:] >= w[0, :-1] * g * _W_RATIO)
