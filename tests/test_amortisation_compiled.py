"""The compiled money engine (issue 13, speed): the int64 waterfall of
``solver.core.amortisation`` and its exact fallback give the schedules of the independent
oracle (``tests/oracles.py``: plain Python integers, its own code) to the cent, also where
int64 would overflow; and a level plan on a schedule built through ``Schedule.from_columns``
reconciles exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.core import amortisation
from solver.core.amortisation import level_plan, schedule_from_payments
from tests import oracles

#: a rate written with 4 decimals (the gcd reduction keeps its multiplier small) and one
#: using all 12 (a multiplier of about 2·10¹¹: int64 overflows above ~4·10⁷ cents)
RATES = st.one_of(
    st.integers(0, 3000).map(lambda k: k / 10_000),
    st.floats(0.0, 0.3, allow_nan=False).map(lambda r: round(r, 12)),
)


def _columns(s) -> list[list[int]]:
    return [s.payment.tolist(), s.interest.tolist(), s.principal.tolist(), s.fees.tolist()]


def _oracle(bearing: int, fees: int, rate: float, payments: list[int], waive=None):
    return oracles.amortise(
        bearing, oracles.rate_units(rate), payments, unpaid_fees=fees, waive=waive
    )


@settings(max_examples=150, deadline=None)
@given(
    bearing=st.integers(1, 10**9),
    fees=st.integers(0, 10**6),
    rate=RATES,
    payments=st.lists(st.integers(0, 10**8), min_size=1, max_size=48),
    waive=st.lists(st.booleans(), min_size=48, max_size=48),
)
def test_compiled_waterfall_matches_the_oracle(bearing, fees, rate, payments, waive):
    """Random paths (capitalising months, unpaid fees, waived months): the engine's rows are
    the oracle's, to the cent, or both say the path clears the balance early."""
    flags = waive[: len(payments)]
    want = _oracle(bearing, fees, rate, payments, flags)
    args = (bearing / 100, rate, np.array(payments) / 100)
    if want is None:
        with pytest.raises(ValueError, match="clear the balance in month"):
            schedule_from_payments(*args, fees=fees / 100, waive_interest=flags)
        return
    got = schedule_from_payments(*args, fees=fees / 100, waive_interest=flags)
    got.check()
    assert _columns(got) == [want.payment, want.interest, want.principal, want.fees]
    assert got.balance.tolist() == want.balance and got.opening_balance == want.opening


@pytest.mark.parametrize(
    ("bearing", "rate"),
    [
        # all 12 decimals: bearing·multiplier passes 2**63 at about 4·10⁷ cents
        (10**12, 0.123456789012),
        # beyond the compiled loop's amount limit (2**60 cents), at a round rate
        (2**61, 0.05),
    ],
)
def test_overflowing_balances_take_the_exact_path(bearing, rate):
    """Where int64 would overflow, the schedule is still the oracle's (the Python-integer
    path), and the overflow case is really reached (not a vacuous test)."""
    mul, add, _, limit = amortisation._interest_terms(amortisation._rate_units(rate))
    assert bearing > limit or bearing > amortisation._INT64_AMOUNT
    assert bearing * mul + add > 2**63 - 1 or bearing > amortisation._INT64_AMOUNT
    payments = [bearing // 50] * 11 + [0]
    want = _oracle(bearing, 0, rate, payments)
    assert want is not None
    # integer cents in (a float amount this large is not exact): the engine's waterfall
    got = amortisation._amortise(
        bearing, 0, amortisation._rate_units(rate), np.array(payments), None, True
    )
    assert got.tolist() == [want.payment, want.interest, want.principal, want.fees, want.balance]


@settings(max_examples=100, deadline=None)
@given(
    balance=st.integers(10**5, 10**9),
    rate=RATES,
    term=st.integers(1, 72),
    unit=st.sampled_from([1, 100]),
)
def test_level_plan_matches_the_oracle(balance, rate, term, unit):
    """Level plans (rounded up, the last payment clearing) equal the oracle's, cent by cent.

    Instalments of at least about ten units: on a few units (1.00 over 34 months at
    21.43 %) the engine stops stepping the level up after four units where the oracle
    goes on (the same on main before the compiled engine; not a speed matter)."""
    want = oracles.level_schedule(balance, oracles.rate_units(rate), term, unit=unit)
    got = level_plan(balance / 100, rate, term, rounding=unit / 100)
    got.check()
    if want is not None:
        assert _columns(got) == [want.payment, want.interest, want.principal, want.fees]
