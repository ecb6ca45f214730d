"""Holidays anywhere in a counter-offer or an offer (issue 13, session 15): the officer's
tools count and name them as the plan table does -- ``deferral_months`` their total,
``holiday_months`` where they fall -- and SPEC §5's ``max_deferral_months`` limits each
run, not the total.

Oracle: the runs of zero payments are read off the proposed payments and the booked
schedule's rows here, with this file's own loop.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from solver.core import Policy, read_account
from solver.officer import Proposal, choose_offer, evaluate_counter_offer, render_letter
from solver.officer.documents import counter_offer_document
from solver.officer.offers import make_offer
from solver.plans import plan_options

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"


@pytest.fixture(scope="module")
def account():
    return read_account(SAMPLE)


@pytest.fixture(scope="module")
def plans(account):
    return plan_options(account)


def _zero_runs(payments) -> list[list[int]]:
    """Runs of months (1-based, inclusive) paying nothing, before the last month."""
    runs: list[list[int]] = []
    for month, paid in enumerate(list(payments)[:-1], start=1):
        if float(paid) == 0.0:
            if runs and runs[-1][1] == month - 1:
                runs[-1][1] = month
            else:
                runs.append([month, month])
    return runs


def test_two_short_holidays_pass_where_their_total_exceeds_the_limit(account, plans):
    """Two 4-month holidays (8 months in all, limit 6) break no holiday rule; both are
    reported where they fall and counted in deferral_months."""
    payments = (0.0,) * 4 + (3000.0,) * 6 + (0.0,) * 4 + (3000.0,) * 30
    offer = evaluate_counter_offer(account, Proposal(payments=payments), Policy(), plans=plans)
    rows = offer.schedule.payments
    runs = _zero_runs(rows)
    assert runs == [[1, 4], [11, 14]]
    assert "max_deferral_months" not in {v.rule for v in offer.violations}
    doc = json.loads(json.dumps(counter_offer_document(offer), allow_nan=False))
    assert doc["holiday_months"] == runs
    assert doc["deferral_months"] == sum(b - a + 1 for a, b in runs) == 8


def test_a_run_longer_than_the_limit_is_named_with_its_months(account, plans):
    """A 7-month run mid-plan breaks max_deferral_months 6; the violation lists exactly
    that run's months, not the shorter leading holiday."""
    payments = (0.0,) * 2 + (3000.0,) * 5 + (0.0,) * 7 + (3000.0,) * 30
    offer = evaluate_counter_offer(account, Proposal(payments=payments), Policy(), plans=plans)
    broken = {v.rule: v for v in offer.violations}
    assert "max_deferral_months" in broken, offer.explanation
    runs = _zero_runs(offer.schedule.payments)
    long_runs = [r for r in runs if r[1] - r[0] + 1 > 6]
    assert long_runs == [[8, 14]]
    assert broken["max_deferral_months"].months == tuple(range(8, 15))
    assert "7 months in a row" in broken["max_deferral_months"].text
    assert "months 8–14" in broken["max_deferral_months"].text


def test_letter_names_holidays_where_they_fall(account, plans):
    """An offer whose holidays are not the first months names them in the letter (both
    languages); an offer with a leading holiday keeps "the first n months"."""
    payments = (0.0,) * 3 + (3000.0,) * 5 + (0.0,) * 2 + (3000.0,) * 30
    counter = evaluate_counter_offer(account, Proposal(payments=payments), Policy(), plans=plans)
    runs = _zero_runs(counter.schedule.payments)
    assert runs == [[1, 3], [9, 10]]
    offer = make_offer(
        account,
        label="counter_offer",
        family="counter_offer",
        schedule=counter.schedule,
        figures=counter.figures,
        deferral_months=5,
        deferral_mode="capitalize",
        holidays=tuple((a, b) for a, b in runs),
        as_of=date(2026, 5, 4),
    )
    html = render_letter(offer, None, "zh-en")
    assert "months 1–3, 9–10, 5 months in all" in html
    assert "第 1–3, 9–10 个月，共 5 个月" in html
    leading = choose_offer(account, "deferral/capitalize", plans, as_of=date(2026, 5, 4)).offer
    n = leading.deferral_months
    assert n > 0 and leading.holidays == ((1, n),)
    assert re.search(rf"the first {n} months", render_letter(leading, None, "en"))
