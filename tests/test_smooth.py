"""Level payments for see-saw custom plans (solver.plans.smooth, session 16).

Oracles: the see-saw runs expected by hand; the smoothed plan's caps, booking and NPV by
the SPEC §4/§5 code of ``tests/oracles.py``.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from oracles import caps, npv_of_schedule, policy_feasible, schedule_of_path, to_cents

from solver import read_account
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.options import plan_options
from solver.plans.smooth import level_runs, seesaw_runs

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("payments", "runs"),
    [
        ([650, 100, 650, 100, 650, 0], [(0, 5)]),  # four switches
        ([900, 650, 650, 100, 650, 650, 100, 650, 2600, 40], [(1, 8)]),
        ([650, 650, 100, 650, 650, 9], []),  # one dip: two switches
        ([650, 100, 300, 100, 650, 9], []),  # three amounts
        ([0, 0, 650, 100, 650, 100, 7], [(2, 6)]),  # after a holiday
        ([650, 100, 650, 0, 650, 100, 650, 7], []),  # a month without payment breaks the run
    ],
)
def test_seesaw_runs_found_by_hand(payments, runs):
    """Runs of two amounts with at least three switches, the clearing month aside."""
    assert seesaw_runs(np.array(payments, dtype=float)) == runs


def test_level_runs_mean_to_top():
    """A run becomes one amount on the unit between its mean and its larger amount."""
    pay = np.array([650, 100, 650, 100, 650, 80.5])
    assert level_runs(pay, [(0, 5)], 1.0, 0.0).tolist() == [430] * 5 + [80.5]
    assert level_runs(pay, [(0, 5)], 10.0, 1.0).tolist() == [650] * 5 + [80.5]


def _switches(values: list[int]) -> int:
    return sum(a != b for a, b in pairwise(values))


def test_sample_account_custom_plan_is_level_where_it_see_sawed():
    """The sample account's default custom plan has no stretch paying two amounts with
    three or more switches (own count), keeps the policy (own caps), books to the cent
    and its NPV is the oracle's; its certificate stays within 0.1 %."""
    acc = read_account(ROOT / "scenarios" / "sample_account.toml")
    pol = Policy().for_product(acc.product)
    custom = plan_options(acc, pol, relax=False).option("custom")
    cents = [to_cents(p) for p in custom.payments]
    body = cents[:-1]
    for start in range(len(body)):
        for stop in range(start + 4, len(body) + 1):
            window = body[start:stop]
            if len(set(window)) == 2 and 0 not in window:
                assert _switches(window) < 3, (start, stop, window)
    cap = caps(acc, pol, len(cents))
    assert policy_feasible(cents, cap, pol, max_zero=pol.max_deferral_months, limit_levels=False)
    booked = schedule_of_path(acc, custom.payments)
    assert booked is not None and booked.payment == cents
    value = npv_of_schedule(
        acc, [p / 100 for p in booked.payment], [e / 100 for e in booked.exposures],
        BehaviourModel(),
    )["npv"]  # fmt: skip
    assert custom.npv == pytest.approx(value, rel=1e-9)
    assert custom.gap <= 1e-3


def test_smoothed_plan_reports_its_booked_payments():
    """A smoothed plan's payments are those of its booked schedule (the last one re-cleared):
    CI00015992 of generate_portfolio(20000, seed=2024) was reported with a stale last payment,
    counted as a step plan and failed the step check (an ERROR row in bench_plans)."""
    from solver.core.generate import generate_portfolio
    from solver.plans.portfolio import plan_portfolio

    frame = generate_portfolio(20000, seed=2024)
    row = frame[frame["account_id"] == "CI00015992"]
    res = plan_portfolio(row)
    assert res.table["status"].iloc[0] != "ERROR", res.table["error"].iloc[0]
    acc = row.to_dict("records")[0]
    for option in plan_options(acc, relax=False).options:
        if option.family in ("custom", "step") and option.feasible:
            cents = [to_cents(p) for p in option.payments]
            assert cents == list(option.schedule.payment)
            if option.family == "step":  # own count of the phases (SPEC §5)
                body = [
                    p for k, p in enumerate(cents[:-1]) if p > 0 and (k == 0 or p != cents[k - 1])
                ]
                last_is_phase = cents[-1] > cents[-2]
                assert len(body) + last_is_phase <= Policy().max_payment_levels
