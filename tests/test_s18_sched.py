"""Session 18: plan-portfolio's schedules are the plan search's own schedules.

``plan-portfolio --schedules`` (and an .xlsx ``--out``'s schedules sheet) write the cent
rows of the :class:`~solver.core.schedule.Schedule` each account's plan search built
(:func:`solver.plans.followed.schedules_table`), not a rebuild from payment paths. The
references here are ``solver.plan_options`` / ``workout plan`` on the same account (the
single-account path), the oracle waterfall of ``tests/oracles.py``
(:func:`test_s17_ux.assert_amortises`) and the payment and exposure arrays that every
run carries.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from cli_inprocess import run_workout
from test_s17_ux import assert_amortises

import solver
from commands.plan_portfolio_output import plans_table
from commands.plan_text import option_payments_text
from solver.core.account import Account
from solver.core.generate import generate_portfolio
from solver.engines.local import LocalEngine
from solver.plans.followed import SCHEDULE_COLUMNS, schedules_table
from solver.plans.portfolio import plan_portfolio
from solver.plans.workloads import plan_portfolio_on

AS_OF = dt.date(2026, 1, 31)
MONEY = ("payment", "interest", "principal", "fees", "balance")
#: Rows of generate_portfolio(2000, seed=7) chosen (session 18) for what they follow under
#: the default policy: the contract with fees due (6, 15, 21: no feasible plan; 54: the
#: NPV test failed), a 6-month and a 1-month
#: capitalised deferral (232, 1380), a concession (297), an instalment (68), a step (7), a
#: custom plan with a holiday (1) and one without (0). The test asserts the mix.
CHOSEN = [6, 15, 21, 54, 232, 1380, 297, 68, 7, 1, 0]


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    """The chosen generated accounts, in an order that mixes the two products."""
    return generate_portfolio(2000, seed=7).iloc[CHOSEN].reset_index(drop=True)


@pytest.fixture(scope="module")
def planned(book):
    """plan_portfolio of the book with schedules, and its long table dated AS_OF."""
    plans = plan_portfolio(book, schedules=True)
    return plans, schedules_table(plans, AS_OF)


def _cents(series: pd.Series) -> np.ndarray:
    return np.rint(series.to_numpy(float) * 100).astype(np.int64)


def test_schedules_are_plan_options_schedules_to_the_cent(book, planned):
    """Each written schedule equals, to the cent and date by date, the schedule
    solver.plan_options gives the same account for the family it follows (the contract's
    when nothing is recommended), and amortises by the oracle's own waterfall."""
    plans, table = planned
    assert list(table.columns) == list(SCHEDULE_COLUMNS)
    families = set()
    for record in book.to_dict("records"):
        account = Account.from_mapping(record)
        rows = table[table["account_id"] == account.account_id]
        plan = plans.table.set_index("account_id").loc[account.account_id]
        result = solver.plan_options(account)
        assert result.recommended == (None if pd.isna(plan["label"]) else plan["label"])
        option = result.recommended_option or result.status_quo
        family = rows["family"].iloc[0]
        assert family == option.family and (rows["family"] == family).all()
        expected = replace(option.schedule, start=AS_OF)
        assert rows["month"].tolist() == list(range(1, expected.term + 1))
        assert [d.isoformat() for d in rows["due_date"]] == [
            d.isoformat() for d in expected.due_dates
        ]
        for name in MONEY:
            np.testing.assert_array_equal(_cents(rows[name]), getattr(expected, name), name)
        assert_amortises(rows, account, plan)
        families.add(family)
        if family == "status_quo" and account.fees_due > 0:
            assert _cents(rows["fees"])[0] > 0  # the contract's unpaid fees, paid first
            families.add("status_quo with fees")
        if family == "deferral":
            assert (_cents(rows["payment"])[: int(plan["deferral_months"])] == 0).all()
    assert families >= {"status_quo with fees", "deferral", "concession", "instalment", "step"}
    assert "custom" in families


def test_cli_schedules_equal_workout_plan(book, tmp_path):
    """plan-portfolio --schedules writes, for two contracts with fees due and a deferral,
    the rows `workout plan BOOK --account-id ID --format json` gives for the followed
    option."""
    path = tmp_path / "book.csv"
    book.to_csv(path, index=False)
    common = ("--as-of", AS_OF.isoformat(), "--quiet")
    code, _, err = run_workout(
        "plan-portfolio", path, "--out", tmp_path / "p.csv", "--schedules", tmp_path / "s.csv",
        *common,
    )  # fmt: skip
    assert code == 0, err
    written = pd.read_csv(tmp_path / "s.csv", dtype={"due_date": str})
    plans = pd.read_csv(tmp_path / "p.csv").set_index("account_id")
    seen = []
    # rows 6 and 54 (the contract, fees due) and 232 (a deferral)
    for account_id in ("AL00000007", "AL00000055", "CI00000233"):
        code, out, err = run_workout(
            "plan", path, "--account-id", account_id, "--format", "json", "--as-of", AS_OF
        )
        assert code in (0, 3), err  # 3: no feasible plan; the JSON still has the contract
        doc = json.loads(out)
        label = plans.loc[account_id, "label"]
        option = (
            doc["status_quo"]
            if pd.isna(label)
            else next(o for o in doc["options"] if o["label"] == label)
        )
        expected = pd.DataFrame(option["schedule"])
        rows = written[written["account_id"] == account_id]
        assert rows["due_date"].tolist() == expected["due_date"].tolist()
        for name in ("month", *MONEY):
            np.testing.assert_array_equal(_cents(rows[name]), _cents(expected[name]), name)
        seen.append(rows["family"].iloc[0])
    assert seen == ["status_quo", "status_quo", "deferral"]


def test_batches_workers_and_partitions_keep_each_accounts_rows(book, planned):
    """Batches of 3 accounts (the products regrouped and put back), two worker processes
    and three engine partitions write the same schedules; each account's rows are its own:
    payments and balances equal the payment and exposure arrays of its row."""
    plans, table = planned
    for other in (
        plan_portfolio(book, batch_size=3, schedules=True),
        plan_portfolio(book, jobs=2, batch_size=3, schedules=True),
        plan_portfolio_on(LocalEngine(partitions=3), book, schedules=True),
    ):
        pd.testing.assert_frame_equal(schedules_table(other, AS_OF), table)
        pd.testing.assert_frame_equal(other.table, plans.table)
    for i, account_id in enumerate(plans.table["account_id"]):
        rows = table[table["account_id"] == account_id]
        term = int(plans.term[i])
        np.testing.assert_array_equal(rows["payment"], plans.payments[i, :term])
        # the balance after month t is the exposure of month t + 1, 0 after the last
        after = np.append(plans.exposures[i, 1:term], 0.0)
        np.testing.assert_allclose(rows["balance"], after, rtol=0, atol=1e-9)


def test_no_schedules_unless_asked(book, planned):
    """Without schedules=True no cent schedules are carried (locally or on an engine), and
    the table, payment paths and holidays are those of a run with them."""
    plans, _ = planned
    for bare in (plan_portfolio(book), plan_portfolio_on(LocalEngine(partitions=2), book)):
        assert bare.schedules is None
        pd.testing.assert_frame_equal(bare.table, plans.table)
        np.testing.assert_array_equal(bare.payments, plans.payments)
        np.testing.assert_array_equal(bare.exposures, plans.exposures)
        assert bare.holidays == plans.holidays
        with pytest.raises(ValueError, match="schedules=True"):
            schedules_table(bare, AS_OF)


def test_payments_text_is_the_single_account_text(book, planned):
    """The plans' payments column is, account by account, workout plan's payments text of
    the option followed: the holidays come from the plan's own terms, not re-derived."""
    plans, _ = planned
    texts = plans_table(plans, "CNY")["payments"].tolist()
    for record, text in zip(book.to_dict("records"), texts, strict=True):
        result = solver.plan_options(Account.from_mapping(record))
        option = result.recommended_option or result.status_quo
        assert text == option_payments_text(option, "CNY")
    assert any(text.startswith("6× 0") for text in texts)  # a holiday is in the mix


def test_oracle_rejects_a_schedule_off_by_a_cent(book, planned):
    """assert_amortises (the reconcile test's oracle) fails on a schedule whose identities
    all still hold: a cent of principal written as fees, or of interest moved a month."""
    plans, table = planned
    account = Account.from_mapping(book.to_dict("records")[0])
    rows = table[table["account_id"] == account.account_id].reset_index(drop=True)
    plan = plans.table.set_index("account_id").loc[account.account_id]
    assert_amortises(rows, account, plan)
    as_fees = rows.copy()
    as_fees.loc[1, "fees"] += 0.01
    as_fees.loc[1, "principal"] -= 0.01
    moved = rows.copy()
    moved.loc[1, ["interest", "balance"]] += 0.01
    moved.loc[1, "principal"] -= 0.01
    moved.loc[2, "interest"] -= 0.01
    moved.loc[2, "principal"] += 0.01
    for bad in (as_fees, moved):
        pay, interest, principal, fees, balance = (_cents(bad[c]) for c in MONEY)
        assert (pay == interest + principal + fees).all() and balance[-1] == 0
        before = np.concatenate(([principal.sum() + fees.sum()], balance[:-1]))
        assert (balance == before + interest - pay).all()  # the old chain check passes
        with pytest.raises(AssertionError, match="differs in months"):
            assert_amortises(bad, account, plan)
