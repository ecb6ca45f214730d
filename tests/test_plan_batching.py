"""The batch paths of portfolio planning (issue 13 item 6: speed without changing a result):
accounts read column by column, status quos of a batch, the one phase rule, schedules'
cached exposures, and plan_portfolio's batches of one product each."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from oracles import amortise, annuity, rate_units
from oracles import phase_count as oracle_phase_count

from solver.core.account import Account
from solver.core.amortisation import level_plan, to_cents, to_units
from solver.core.contract import STATUS_QUO_FIELDS, status_quo, status_quos
from solver.core.generate import generate_portfolio
from solver.core.schema import COLUMNS
from solver.plans.context import level_amounts, path_phases, phases
from solver.plans.portfolio import plan_portfolio
from solver.plans.portfolio_batch import plan_batch
from solver.plans.schedules import payment_levels, phase_count, schedule_levels


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    frame = generate_portfolio(300, seed=11)
    frame.loc[frame.index[:7], "credit_score"] = np.nan
    return frame


def test_from_frame_gives_each_row_as_python_values(book: pd.DataFrame) -> None:
    """Account.from_frame gives each row's fields as the frame's values, as Python types (a missing score or normal income is None)."""
    accounts = Account.from_frame(book)
    assert len(accounts) == len(book)
    for r in (0, 3, 150, len(book) - 1):
        acc = accounts[r]
        for name in COLUMNS:
            raw = book[name].iloc[r] if name in book.columns else None
            want = raw.item() if isinstance(raw, np.generic) else raw
            if name in ("credit_score", "income_normal") and (
                want is None or (isinstance(want, float) and math.isnan(want))
            ):
                want = None
            got = getattr(acc, name)
            assert got == want and type(got) is type(want), (r, name, got, want)
    assert accounts[0].credit_score is None and not accounts[0].tier_derived


def _written(amount: float) -> Fraction:
    """An account's amount as the decimal it is written as (25204.39 -> 2520439/100)."""
    return Fraction(repr(float(amount)))


def _grid_units(amount: Fraction, grid: int) -> int:
    """A non-negative amount in units of the money grid, half up (SPEC §2: schedules are
    in whole cents, ``grid`` = 100; ``grid`` = 1 for whole yen)."""
    return math.floor(amount * grid + Fraction(1, 2))


def _exact_instalment(acc: Account) -> Fraction:
    """SPEC §4's contractual instalment, exactly (currency units): the level payment
    amortising ``principal + interest_due − arrears`` over ``remaining_term`` at
    ``annual_rate``/12 (tests/oracles.py's annuity, which takes any rational balance)."""
    performing = max(
        Fraction(0), _written(acc.principal) + _written(acc.interest_due) - _written(acc.arrears)
    )
    return annuity(performing, rate_units(acc.annual_rate), acc.remaining_term)  # type: ignore[arg-type]


def _status_quo_by_hand(acc: Account, grid: int, instalment: int) -> list[int]:
    """SPEC §4's status quo payments in cents, with this file's and tests/oracles.py's own
    arithmetic (integers and fractions): ``instalment`` grid units a month, month 1 adding
    arrears and fees, the last month clearing the balance; interest accrues on
    ``principal + interest_due`` (fees bear none; a payment pays them first). A month
    whose payment would clear the balance early pays what is owed and ends the contract."""
    bearing = _grid_units(_written(acc.principal) + _written(acc.interest_due), grid)
    fees = _grid_units(_written(acc.fees_due), grid)
    extra = _written(acc.arrears) + _written(acc.fees_due)
    pay = [_grid_units(Fraction(instalment, grid) + extra, grid)]
    pay += [instalment] * (acc.remaining_term - 1)
    units = rate_units(acc.annual_rate)
    # amortise() declines a path that clears before its last month: the contract then
    # ends in the month that clears (the longest prefix it takes; its last payment clears)
    for months in range(len(pay), 0, -1):
        built = amortise(bearing, units, pay[:months], unpaid_fees=fees)
        if built is not None:
            return [p * (100 // grid) for p in built.payment]
    raise AssertionError("a one-month path always clears")


@pytest.mark.parametrize("grid", [100, 1])
def test_status_quos_of_a_batch_are_each_accounts_status_quo(book: pd.DataFrame, grid: int) -> None:
    """status_quos of a batch and status_quo of one account each give SPEC §4's status quo
    computed here exactly; only where the exact instalment is within float noise (10⁻⁶
    of a grid unit) of a half unit may the engine round it the other way, to the schedule
    of the instalment one grid unit away, and at most 3 accounts are."""
    frame = book.copy()
    # three fully overdue accounts: no instalment; at rate 0 month 1 pays all that is owed
    # and ends the contract (at a positive rate its interest is left for the last month)
    last = frame.index[-3:]
    frame.loc[last, "arrears"] = frame.loc[last, "principal"] + frame.loc[last, "interest_due"]
    frame.loc[last, "remaining_term"] = [1, 12, 36]
    frame.loc[last, "annual_rate"] = [0.0, 0.0, 0.09]
    accounts = Account.from_frame(frame)
    batch = status_quos({k: frame[k].to_numpy() for k in STATUS_QUO_FIELDS}, grid=grid)
    near_half = 0
    for acc, sched in zip(accounts, batch, strict=True):
        exact = _exact_instalment(acc) * grid
        instalment = _grid_units(exact, 1)
        above_half = exact - math.floor(exact) - Fraction(1, 2)  # rounds up when >= 0
        if abs(above_half) < Fraction(1, 10**6):
            near_half += 1
            other = instalment - 1 if above_half >= 0 else instalment + 1
            allowed = [_status_quo_by_hand(acc, grid, k) for k in (instalment, other)]
        else:
            allowed = [_status_quo_by_hand(acc, grid, instalment)]
        # everything owed: principal + interest_due and the fees, each on the grid
        owed = _written(acc.principal) + _written(acc.interest_due)
        opening = (_grid_units(owed, grid) + _grid_units(_written(acc.fees_due), grid)) * (
            100 // grid
        )
        # the batch's row and the one-account entry point, each against the hand oracle
        for got in (sched, status_quo(acc, grid=grid)):
            got.check()
            assert got.payment.tolist() in allowed, acc.account_id
            assert got.opening_balance == opening, acc.account_id
    assert near_half <= 3
    assert [len(s.payment) for s in batch[-3:]] == [1, 1, 36]


def test_to_units_rounds_half_away_from_zero_as_written() -> None:
    """to_units rounds each amount as written in decimal, half away from zero (SPEC §2),
    as to_cents does for one amount: hand-worked values, and random 3-decimal amounts
    against Decimal's ROUND_HALF_UP of their decimal text."""
    # (amount, cents, whole units) worked by hand: 12.345 is stored as 12.34499999…, 2.675
    # as 2.67499999…, 1.005 as 1.00499999…; each rounds as written (up); 0.5 and 2.5
    # round away from zero (not to even: Python's round gives 0 and 2); negatives mirror
    hand = [
        (12.345, 1235, 12),
        (2.675, 268, 3),
        (1.005, 101, 1),
        (0.005, 1, 0),
        (0.004, 0, 0),
        (0.5, 50, 1),
        (2.5, 250, 3),
        (1234.5, 123450, 1235),
        (99.995, 10000, 100),
        (-12.345, -1235, -12),
        (-2.5, -250, -3),
        (0.0, 0, 0),
    ]
    amounts = np.array([a for a, _, _ in hand])
    assert to_units(amounts, grid=100).tolist() == [c for _, c, _ in hand]
    assert to_units(amounts, grid=1).tolist() == [u for _, _, u in hand]
    rng = np.random.default_rng(3)
    # up to 10⁹ CNY (tests/test_money.py holds the written half cents of every size)
    amounts = np.concatenate([rng.uniform(0, 1e9, 2000).round(3), [0.005, 12.345, 0.0]])
    for grid in (1, 100):
        want = [
            int((Decimal(repr(float(x))) * grid).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            for x in amounts
        ]
        assert to_units(amounts, grid=grid).tolist() == want
        assert [to_cents(x, grid=grid) for x in amounts] == want
    with pytest.raises(ValueError, match="instalment must be finite"):
        to_units(np.array([1.0, np.nan]), "instalment")


def _levels_by_hand(pay: list[int]) -> tuple[int, ...]:
    out: list[int] = []
    for t, p in enumerate(pay):
        if p <= 0:
            continue
        if t == len(pay) - 1 and out and p <= out[-1]:
            break  # the last phase's remainder
        if not out or p != out[-1]:
            out.append(p)
    return tuple(out)


def test_the_phase_rule_matches_the_oracle_on_cents_and_amounts() -> None:
    """The phase count and the payment levels of random paths are the oracle's, on cents and on amounts alike."""
    rng = np.random.default_rng(5)
    for _ in range(400):
        m = int(rng.integers(1, 12))
        cents = rng.choice([0, 10000, 25050, 30000, 9999], size=m).astype(np.int64)
        amounts = cents / 100
        want = oracle_phase_count(cents.tolist())
        assert path_phases(cents, m) == want
        assert phase_count(amounts) == want
        term = int(rng.integers(0, m + 1))
        assert phases(amounts[None, :], np.array([term]))[0] == oracle_phase_count(
            cents[:term].tolist()
        )
        levels = _levels_by_hand(cents.tolist())
        assert tuple(level_amounts(cents).tolist()) == levels
        assert payment_levels(amounts) == tuple(c / 100 for c in levels)


def test_schedule_exposures_come_from_cached_cents() -> None:
    """A schedule's exposures are its opening balance and balances before each payment, cached read-only in cents."""
    s = level_plan(10_000, 0.12, 12, deferral_months=2, deferral_mode="waive")
    cents = s.exposure_cents
    assert cents is s.exposure_cents and not cents.flags.writeable
    assert cents.tolist() == [s.opening_balance, *s.balance[:-1].tolist()]
    assert s.exposures.tolist() == [c / 100 for c in cents.tolist()]
    assert schedule_levels(s) == payment_levels(s.payments)
    assert s.interest[:2].tolist() == [0, 0] and s.interest[2] > 0  # the waived holiday


def test_plan_portfolio_in_batches_of_one_product_keeps_the_frames_order() -> None:
    """plan_portfolio in small batches (one or two workers) gives the one-batch table and arrays, in the frame's order."""
    frame = generate_portfolio(40, seed=8)
    frame = frame.iloc[np.random.default_rng(1).permutation(len(frame))].reset_index(drop=True)
    assert frame["product"].nunique() == 2
    whole = plan_batch(frame)  # one batch, one context per product
    small = plan_portfolio(frame, batch_size=7)
    pd.testing.assert_frame_equal(small.table, whole)
    assert small.table["account_id"].tolist() == frame["account_id"].astype(str).tolist()
    two = plan_portfolio(frame, batch_size=7, jobs=2)
    pd.testing.assert_frame_equal(two.table, whole)
    for arr in ("payments", "exposures", "term"):
        assert np.array_equal(getattr(two, arr), getattr(small, arr))
    rec = small.table["status"] != "ERROR"
    assert (small.term[rec.to_numpy()] > 0).all()
