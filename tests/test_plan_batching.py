"""The batch paths of portfolio planning (issue 13 item 6: speed without changing a result):
accounts read column by column, status quos of a batch, the one phase rule, schedules'
cached exposures, and plan_portfolio's batches of one product each."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from oracles import phase_count as oracle_phase_count

from solver.core.account import Account
from solver.core.amortisation import level_plan, schedule_from_payments, to_cents, to_units
from solver.core.contract import STATUS_QUO_FIELDS, status_quo, status_quos
from solver.core.generate import generate_portfolio
from solver.core.schema import COLUMNS
from solver.plans.context import level_amounts, path_phases, phases
from solver.plans.portfolio import plan_batch, plan_portfolio
from solver.plans.schedules import payment_levels, phase_count, schedule_levels


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    frame = generate_portfolio(300, seed=11)
    frame.loc[frame.index[:7], "credit_score"] = np.nan
    return frame


def test_from_frame_gives_each_row_as_python_values(book: pd.DataFrame) -> None:
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


def _status_quo_by_hand(acc: Account, grid: int) -> list[int]:
    """SPEC §4's status quo in cents with Python integers: the instalment (the annuity
    payment, rounded half away from zero to the grid), month 1 adding arrears and fees, the
    last month clearing the balance; a month that would overpay clears and ends it."""
    i = acc.annual_rate / 12
    perf = max(0.0, acc.principal + acc.interest_due - acc.arrears)
    n = acc.remaining_term
    exact = perf / n if i == 0 else perf * i / (1 - (1 + i) ** -n)
    inst = to_cents(exact, grid=grid) / grid
    pay = [inst] * n
    pay[0] += acc.arrears + acc.fees_due
    return schedule_from_payments(
        acc.principal + acc.interest_due,
        acc.annual_rate,
        pay,
        fees=acc.fees_due,
        overpay="truncate",
        grid=grid,
    ).payment.tolist()


@pytest.mark.parametrize("grid", [100, 1])
def test_status_quos_of_a_batch_are_each_accounts_status_quo(book: pd.DataFrame, grid: int) -> None:
    accounts = Account.from_frame(book)
    batch = status_quos({k: book[k].to_numpy() for k in STATUS_QUO_FIELDS}, grid=grid)
    off_by_a_unit = 0
    for acc, sched in zip(accounts, batch, strict=True):
        one = status_quo(acc, grid=grid)
        # the batch and the one-account path: the same schedule, to the cent
        assert one.payment.tolist() == sched.payment.tolist()
        assert one.balance.tolist() == sched.balance.tolist()
        assert one.opening_balance == sched.opening_balance
        sched.check()
        # against the formula written out (float noise may move a half-cent instalment)
        hand = _status_quo_by_hand(acc, grid)
        if hand != sched.payment.tolist():
            off_by_a_unit += 1
            assert len(hand) == sched.term
    assert off_by_a_unit <= 2


def test_to_units_rounds_as_to_cents_and_words_a_bad_amount() -> None:
    rng = np.random.default_rng(3)
    amounts = np.concatenate([rng.uniform(0, 1e5, 2000).round(3), [0.005, 12.345, 0.0]])
    for grid in (1, 100):
        assert to_units(amounts, grid=grid).tolist() == [to_cents(x, grid=grid) for x in amounts]
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
    s = level_plan(10_000, 0.12, 12, deferral_months=2, deferral_mode="waive")
    cents = s.exposure_cents
    assert cents is s.exposure_cents and not cents.flags.writeable
    assert cents.tolist() == [s.opening_balance, *s.balance[:-1].tolist()]
    assert s.exposures.tolist() == [c / 100 for c in cents.tolist()]
    assert schedule_levels(s) == payment_levels(s.payments)
    assert s.interest[:2].tolist() == [0, 0] and s.interest[2] > 0  # the waived holiday


def test_plan_portfolio_in_batches_of_one_product_keeps_the_frames_order() -> None:
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
