"""The compiled money engine (issue 13, speed): the int64 waterfall of
``solver.core.waterfall`` (and the compiled level walk of ``solver.core.level_walk``) and
their exact fallbacks give the schedules of the independent
oracle (``tests/oracles.py``: plain Python integers, its own code) to the cent, also where
int64 would overflow; and a level plan on a schedule built through ``Schedule.from_columns``
reconciles exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.core import level_walk, waterfall
from solver.core.amortisation import level_plan, schedule_from_payments
from solver.core.annuity import level_payment
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
    mul, add, _, limit = waterfall._interest_terms(waterfall._rate_units(rate))
    assert bearing > limit or bearing > waterfall._INT64_AMOUNT
    assert bearing * mul + add > 2**63 - 1 or bearing > waterfall._INT64_AMOUNT
    payments = [bearing // 50] * 11 + [0]
    want = _oracle(bearing, 0, rate, payments)
    assert want is not None
    # integer cents in (a float amount this large is not exact): the engine's waterfall
    got = waterfall._amortise(
        bearing, 0, waterfall._rate_units(rate), np.array(payments), None, True
    )
    assert got.tolist() == [want.payment, want.interest, want.principal, want.fees, want.balance]


@settings(max_examples=200, deadline=None)
@given(
    # tiny balances (a few cents to 100.00, where the unit is coarse against the
    # instalment and rules 2-4 of level_plan decide) and ordinary ones
    balance=st.one_of(st.integers(1, 10**4), st.integers(10**4, 10**9)),
    rate=RATES,
    term=st.integers(1, 72),
    unit=st.sampled_from([1, 100]),
    deferral=st.integers(0, 6),
    mode=st.sampled_from(["capitalize", "interest_only", "waive"]),
)
def test_level_plan_matches_the_oracle(balance, rate, term, unit, deferral, mode):
    """Level plans follow level_plan's rule: equal to the oracle's (which finds the level
    from the rule by bisection), cent by cent, on the cent and the whole-unit rounding
    grids, tiny balances included."""
    deferral = min(deferral, term - 1)
    want = oracles.level_schedule(balance, oracles.rate_units(rate), term, unit, deferral, mode)
    got = level_plan(
        balance / 100,
        rate,
        term,
        rounding=unit / 100,
        deferral_months=deferral,
        deferral_mode=mode,
    )
    got.check()
    assert want is not None
    assert _columns(got) == [want.payment, want.interest, want.principal, want.fees]


@settings(max_examples=100, deadline=None)
@given(balance=st.integers(1, 10**5), rate=RATES, term=st.integers(1, 72))
def test_level_plan_in_whole_yen_matches_the_oracle(balance, rate, term):
    """On the whole-unit money grid (JPY, ``grid=1``) the rule runs in yen: the oracle's
    schedule in its grid units, times 100 cents."""
    want = oracles.level_schedule(balance, oracles.rate_units(rate), term, 1)
    got = level_plan(float(balance), rate, term, rounding=1.0, grid=1)
    got.check()
    assert want is not None
    want_cents = [[100 * x for x in col] for col in (want.payment, want.interest, want.principal)]
    assert _columns(got)[:3] == want_cents


@pytest.mark.parametrize(
    ("args", "level", "count", "last"),
    [
        # rule 2: 3.00 a month clears 23.23 by month 8; 2.00 leaves 2.01 (not 1.00, 13.33)
        ((23.23, 0.06, 12, 1.0), 2.00, 11, 2.01),
        # rule 2 on cents: 0.05 clears 1.00 early; 0.04 leaves 0.05 (not 0.03, 0.52)
        ((1.00, 0.2143, 34, 0.01), 0.04, 33, 0.05),
        # 0.02 clears 0.22 in month 11 (the interest rounds to 0); 0.01 leaves 0.11
        ((0.22, 0.2143, 12, 0.01), 0.01, 11, 0.11),
        # rule 3: no whole unit is admissible, so whole cents
        ((0.22, 0.2143, 12, 1.0), 0.01, 11, 0.11),
        # rule 4: not even a cent a month is (11 cents clear 0.05 early)
        ((0.05, 0.10, 12, 0.01), 0.00, 11, 0.05),
        # rule 1: rounded up, the last a little lower
        ((10_000, 0.12, 12, 0.01), 888.49, 11, 888.47),
    ],
)
def test_level_rule_on_the_issue_examples(args, level, count, last):
    """The examples of issue 13's engine/oracle disagreement, by the rule (worked by hand
    in the comments), in the engine and in the oracle."""
    principal, rate, term, rounding = args
    got = level_plan(principal, rate, term, rounding=rounding)
    got.check()
    assert got.payments.tolist() == [level] * count + [last]
    cents = round(principal * 100)
    want = oracles.level_schedule(cents, oracles.rate_units(rate), term, round(rounding * 100))
    assert want is not None
    assert want.payment == [round(level * 100)] * count + [round(last * 100)]


@settings(max_examples=200, deadline=None)
@given(
    bearing=st.one_of(st.integers(1, 10**4), st.integers(10**4, 10**9)),
    fees=st.integers(0, 10**5),
    rate=RATES,
    prefix=st.lists(st.integers(0, 10**6), max_size=6),
    last_months=st.integers(1, 60),
    unit=st.sampled_from([1, 100, 500]),
    waive=st.booleans(),
)
def test_compiled_level_walk_is_the_exact_walk(
    bearing, fees, rate, prefix, last_months, unit, waive
):
    """The compiled level walk (one call per plan) chooses the level the exact walk
    (level_plan's rule, one waterfall per level tried) chooses: the same rows, on step
    plans with a payment prefix, unpaid fees and waived prefix months; or the exact one
    says the prefix clears the balance early, or the compiled one reports an overflow."""
    n = len(prefix) + last_months
    flags = np.zeros(n, dtype=np.bool_)
    flags[: len(prefix)] = waive
    plan = level_walk._StepPlan(
        bearing=bearing,
        unpaid_fees=fees,
        rate_units=waterfall._rate_units(rate),
        prefix=prefix,
        waive=flags if waive and prefix else None,
        last_months=last_months,
        annual_rate=rate,
        start=None,
        grid=100,
    )
    exact = float(level_payment(bearing, rate, last_months))
    try:
        want = level_walk._level_columns_exact(plan, exact, unit)
    except waterfall._ClearedEarly:
        return  # the prefix alone clears the balance: step_plan reports it before the walk
    path = np.zeros(n, dtype=np.int64)
    path[: len(prefix)] = prefix
    code, got = level_walk._level_columns_int64(
        bearing,
        fees,
        waterfall._interest_terms(plan.rate_units),
        path,
        len(prefix),
        waterfall._no_waiver(n) if plan.waive is None else plan.waive,
        exact,
        unit,
    )
    if code == waterfall._OVERFLOW:
        # a balance beyond int64's reach: level 0 owes the most of every level
        limit = waterfall._interest_terms(plan.rate_units)[3]
        assert max(bearing, int(plan.columns(0)[4].max())) > limit
        return
    assert code == waterfall._DONE
    assert got.tolist() == want.tolist()
