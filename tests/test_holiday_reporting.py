"""Holidays are reported where they fall (issue 13, session 15).

A ``--thorough`` custom plan may pause mid-plan (capitalised months with payment 0, each
run at most ``max_deferral_months``). Every report of a plan's holidays -- the terms'
``deferral_months`` and ``holiday_months``, the JSON ``params``, ``plan --out``, the
portfolio table, the binding constraint and the payments column -- must say the same,
and the oracle here reads the holidays off the schedule rows with its own code: the
months before the last with payment 0, and the leading months of an ``interest_only``
holiday (interest paid, no principal).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from commands.plan_output import options_frame
from commands.plan_text import option_payments_text
from solver.core.account import as_account
from solver.core.amortisation import schedule_from_payments
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.core.readers import read_account
from solver.plans.context import context_from_account
from solver.plans.explain import binding_constraints
from solver.plans.options import plan_options
from solver.plans.schedules import longest_holiday
from solver.plans.search_types import SearchParams
from solver.plans.terms import PlanTerms, holiday_runs
from tests.cli_inprocess import run_workout

ROOT = Path(__file__).resolve().parents[1]

#: Account CI00000028 of ``generate_portfolio(20000, seed=11)`` (session 14's benchmark
#: book): with ``--thorough`` its custom plan pays nothing in months 1–6, 8–13 and 15–19
#: (found by planning the book's first 120 accounts thorough, 4 Dec 2026).
MID_PLAN = dict(
    account_id="MID-HOL",
    product="card_instalment",
    principal=20049.88,
    annual_rate=0.141,
    remaining_term=7,
    credit_score=691.0,
    tier="B",
    income=12130.0,
    income_cv=0.15,
    expenses=5270.0,
    other_debt=2680.0,
)

#: The policy that allows the holidays mid-plan these tests report (the default allows a
#: leading holiday only: Policy.holidays_mid_plan).
MID_PLAN_POLICY = Policy(holidays_mid_plan=True)


def _oracle_runs(schedule, interest_only: bool) -> list[tuple[int, int]]:
    """Holiday runs (first, last month) read off the schedule's rows in cents."""
    pay, principal = schedule.payment.tolist(), schedule.principal.tolist()
    off = []
    leading = True
    for t in range(len(pay) - 1):  # the last month clears: never a holiday
        paid_interest_only = interest_only and leading and pay[t] > 0 and principal[t] == 0
        off.append(pay[t] == 0 or paid_interest_only)
        leading = leading and off[-1]
    runs: list[tuple[int, int]] = []
    for t, is_off in enumerate(off, start=1):
        if is_off and runs and runs[-1][1] == t - 1:
            runs[-1] = (runs[-1][0], t)
        elif is_off:
            runs.append((t, t))
    return runs


def _oracle_text(runs: list[tuple[int, int]]) -> str:
    parts = []
    for a, b in runs:
        parts.append(str(a) if a == b else f"{a}–{b}")
    return ", ".join(parts)


@pytest.fixture(scope="module")
def thorough_result():
    return plan_options(MID_PLAN, MID_PLAN_POLICY, search=SearchParams.thorough())


def test_mid_plan_holidays_counted_from_the_payments(thorough_result):
    """A thorough custom plan with mid-plan holidays reports all of them: deferral_months
    is their total, the runs are where the payments are 0, in the terms and the JSON."""
    custom = thorough_result.option("custom")
    runs = _oracle_runs(custom.schedule, interest_only=False)
    assert len(runs) >= 2 and runs[1][0] > 1, f"the fixture lost its mid-plan holiday: {runs}"
    total = sum(b - a + 1 for a, b in runs)
    assert custom.terms.deferral_months == total
    assert list(custom.terms.holidays) == runs
    assert custom.terms.deferral_mode == "capitalize"
    # the longest run is the one the plan check limits (schedules.longest_holiday)
    longest = max(b - a + 1 for a, b in runs)
    assert custom.terms.longest_holiday == longest == longest_holiday(custom.schedule.payment)
    params = custom.to_dict(schedule=False)["params"]
    assert params["deferral_months"] == total
    assert params["holiday_months"] == [list(r) for r in runs]


def test_binding_names_every_run_at_the_limit(thorough_result):
    """'max_deferral_months binds' names the months of every run that reaches the limit,
    and none of a shorter run."""
    custom = thorough_result.option("custom")
    limit = MID_PLAN_POLICY.max_deferral_months
    runs = _oracle_runs(custom.schedule, interest_only=False)
    at_limit = [r for r in runs if r[1] - r[0] + 1 >= limit]
    shorter = [r for r in runs if r[1] - r[0] + 1 < limit]
    assert at_limit and shorter, f"the fixture needs runs at and below the limit: {runs}"
    expected = "max_deferral_months binds in months " + _oracle_text(at_limit)
    texts = [b for b in custom.binding if b.startswith("max_deferral_months")]
    assert texts == [expected]


def test_binding_on_terms_built_directly():
    """With max_deferral_months = 3, runs of 3, 2 and 3 months: the binding text names the
    two runs of 3 (months 1–3 and 9–11), not the run of 2."""
    policy = Policy(max_deferral_months=3)
    acc = as_account(dict(MID_PLAN, principal=5000.0, remaining_term=24))
    ctx = context_from_account(acc, policy, BehaviourModel())
    path = [0, 0, 0, 200, 0, 0, 200, 200, 0, 0, 0, *([300] * 19)]
    sched = schedule_from_payments(
        5000.0, acc.annual_rate, path, clear_last=True, overpay="truncate"
    )
    terms = PlanTerms(
        term=sched.term,
        deferral_months=8,
        deferral_mode="capitalize",
        holiday_months=holiday_runs(sched.payment),
    )
    assert list(terms.holidays) == _oracle_runs(sched, interest_only=False)
    binding = binding_constraints(ctx, 0, "custom", sched, terms, {})
    assert "max_deferral_months binds in months 1–3, 9–11" in binding


def test_every_option_reports_the_schedule_holidays(thorough_result):
    """Every feasible option's holidays (level families from their term, custom and step
    from their payments) are the months its schedule pays nothing or only interest."""
    # the sample account's plans have a holiday in each deferral mode
    sample = plan_options(read_account(ROOT / "scenarios" / "sample_account.toml"))
    modes = set()
    for res in (thorough_result, sample):
        for o in res.options:
            if not o.feasible:
                continue
            runs = _oracle_runs(o.schedule, o.terms.deferral_mode == "interest_only")
            assert list(o.terms.holidays) == runs, o.label
            assert o.terms.holiday == sum(b - a + 1 for a, b in runs), o.label
            modes.add(o.terms.deferral_mode)
    assert {"capitalize", "interest_only", "waive"} <= modes


def test_payments_column_shows_each_holiday_where_it_falls(thorough_result):
    """The payments text has one 'k× 0' per holiday run, in order, with its length, and an
    interest-only holiday's interest is not shown again as a payment phase."""
    custom = thorough_result.option("custom")
    runs = _oracle_runs(custom.schedule, interest_only=False)
    tokens = option_payments_text(custom, "CNY").split(" → ")
    holidays = [tok for tok in tokens if tok.endswith("× 0")]
    assert holidays == [f"{b - a + 1}× 0" for a, b in runs]
    interest_only = thorough_result.option("deferral/interest_only")
    ((first, last),) = _oracle_runs(interest_only.schedule, interest_only=True)
    tokens = option_payments_text(interest_only, "CNY").split(" → ")
    after = float(interest_only.schedule.payments[last])  # the first instalment
    # the first instalment's phase, with the months it lasts since the run counts were added
    assert tokens[0] == f"{last}× interest" and tokens[1].split(" ×")[0] == f"{after:,.0f}"


def test_plan_json_out_and_portfolio_table_agree(thorough_result, tmp_path, monkeypatch):
    """`workout plan --thorough` (JSON and --out CSV) and `workout plan-portfolio
    --thorough` report the same deferral_months and holiday_months for the account."""
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    book = tmp_path / "book.csv"
    pd.DataFrame([MID_PLAN]).to_csv(book, index=False)
    plans = tmp_path / "plans.csv"
    mid = ("--set", "policy.holidays_mid_plan=true")
    code, _, err = run_workout("plan-portfolio", book, "--thorough", *mid, "--out", plans)
    assert code == 0, err
    row = pd.read_csv(plans).iloc[0]
    code, out, err = run_workout(
        "plan", book, "--account-id", "MID-HOL", "--thorough", *mid, "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    rec = next(o for o in doc["options"] if o["label"] == doc["recommended"])
    assert rec["label"] == row["label"] == "custom"
    runs = _oracle_runs(thorough_result.option("custom").schedule, interest_only=False)
    total = sum(b - a + 1 for a, b in runs)
    assert row["deferral_months"] == rec["params"]["deferral_months"] == total
    assert row["holiday_months"] == _oracle_text(runs)
    assert rec["params"]["holiday_months"] == [list(r) for r in runs]
    frame = options_frame(thorough_result).set_index("label")
    assert frame.loc["custom", "holiday_months"] == row["holiday_months"]
    assert frame.loc["custom", "deferral_months"] == total
