"""Holiday-cycle plans of the default ``custom`` search (solver.plans.holiday_cycles, session 16)
against the independent oracles of tests/oracles.py.

The oracle books the plan's payments in cents with its own amortisation
(``schedule_of_path``), checks SPEC §5 with its own caps and counts the runs of months
without payment itself, and values the schedule with its own SPEC §4 code
(``npv_of_schedule``); nothing in it comes from the plan search or the model kernel.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from oracles import (
    caps,
    monthly_interest,
    npv_of_schedule,
    policy_feasible,
    rate_units,
    schedule_of_path,
    to_cents,
)

from solver.core.account import Account
from solver.core.generate import generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.options import plan_options
from solver.plans.search import SearchParams

MODEL = BehaviourModel()
# accounts of generate_portfolio(300, seed=11) whose free optimum pays min_payment
# between holidays for years (docs/free_family.md, session 16)
IDS = ("CI00000063", "CI00000293", "CI00000092")


@cache
def _rows() -> dict[str, dict]:
    frame = generate_portfolio(300, seed=11)
    return {r["account_id"]: r for r in frame.to_dict("records") if r["account_id"] in IDS}


def _runs(cents: list[int]) -> list[int]:
    """Lengths of the runs of months without payment before the last month."""
    out, run = [], 0
    for p in cents[:-1]:
        if p == 0:
            run += 1
        elif run:
            out.append(run)
            run = 0
    return [*out, run] if run else out


@pytest.mark.parametrize("account_id", IDS)
def test_holiday_cycle_plan_is_feasible_and_valued_by_the_oracle(account_id):
    """The custom plan pays min_payment between holidays, meets SPEC §5 and its NPV is the oracle's, above the plan without cycles."""
    acc = Account.from_mapping(_rows()[account_id])
    pol = Policy(holidays_mid_plan=True).for_product(acc.product)  # the walks need it
    res = plan_options(acc, pol, MODEL, relax=False)
    custom = res.option("custom")
    assert custom.feasible
    cents = [to_cents(p) for p in custom.payments]
    D = int(pol.max_deferral_months)
    runs = _runs(cents)
    assert len(runs) >= 2 and max(runs) <= D  # holidays mid-plan, none longer than D
    paying = [p for p in cents[:-1] if p > 0]
    assert to_cents(pol.min_payment) in paying
    cap = caps(acc, pol, len(cents))
    # runs are checked above; policy_feasible's count of zero months is a total
    assert policy_feasible(cents, cap, pol, max_zero=len(cents), limit_levels=False)
    booked = schedule_of_path(acc, custom.payments)
    assert booked is not None and booked.payment == cents
    booked.check()
    value = npv_of_schedule(
        acc, [p / 100 for p in booked.payment], [e / 100 for e in booked.exposures], MODEL
    )["npv"]
    assert custom.npv == pytest.approx(value, rel=1e-9)
    plain = plan_options(acc, pol, MODEL, search=SearchParams(holiday_cycles=False), relax=False)
    assert custom.npv > plain.option("custom").npv
    step = res.option("step")
    if step.feasible:  # step keeps its holiday at the start
        body = np.asarray(step.payments)[:-1]
        paid = np.flatnonzero(body > 0)
        assert not (paid.size and (body[paid[0] :] == 0).any())


def _own_walk(B0: int, units: int, D: int, low: int, ok: np.ndarray) -> tuple[list, list]:
    """The walk by the oracle's own half-up interest: balances entering each month, payments."""
    bal, pay = [B0], []
    for t in range(ok.size - 1):
        owed = bal[-1] + monthly_interest(bal[-1], units)
        p = 0
        if t % (D + 1) == D:
            if not ok[t] or low >= owed:
                break
            p = low
        pay.append(p)
        bal.append(owed - p)
    return bal, pay


def test_walk_owes_the_spec_interest():
    """The walk's balances and payments (compiled, and the exact fallback) follow the SPEC's half-up interest (own integers)."""
    from solver.plans.holiday_cycles import _walk, _walk_exact
    from solver.plans.payment_grid import MONTHLY_DEN

    rng = np.random.default_rng(16)
    H = 60
    B0 = rng.integers(10_000, 50_000_000, 200)
    units = np.array([rate_units(r) for r in rng.choice([0.0, 0.0599, 0.089, 0.1606, 0.36], 200)])
    D = rng.integers(1, 7, 200)
    ok = rng.random((200, H)) < 0.97
    B, pay, end, near = _walk(B0, units / MONTHLY_DEN, 1, D, 10_000, ok)
    for k in range(200):
        bal, own = _own_walk(int(B0[k]), int(units[k]), int(D[k]), 10_000, ok[k])
        Bx, payx, endx = _walk_exact(int(B0[k]), int(units[k]), 1, int(D[k]), 10_000, ok[k])
        assert endx == len(own) and Bx[: endx + 1].tolist() == bal and payx[:endx].tolist() == own
        if not near[k]:
            assert end[k] == len(own) and B[k, : end[k] + 1].tolist() == bal
            assert pay[k, : end[k]].tolist() == own


@pytest.mark.parametrize("account_id", IDS)
def test_default_policy_walks_no_cycle(account_id):
    """Under the default policy (holidays_mid_plan false) the same account's default custom
    plan has no month without payment after its first payment."""
    acc = Account.from_mapping(_rows()[account_id])
    res = plan_options(acc, Policy().for_product(acc.product), MODEL, relax=False)
    cents = [to_cents(p) for p in res.option("custom").payments][:-1]
    first = next((t for t, p in enumerate(cents) if p > 0), len(cents))
    assert all(p > 0 for p in cents[first:]), cents
