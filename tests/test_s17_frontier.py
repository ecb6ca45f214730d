"""The bank-vs-customer frontier of one account (issue 13 criterion 7).

Oracles: every figure is recomputed from the returned cent schedules by ``tests/oracles.py``
(SPEC §4 NPV month by month, SPEC §5 caps and policy check, the level families' grids in
plain Python, the customer's cost -- the carried charges at t = 0 plus each month's
interest discounted at the contract rate -- in exact fractions), never by the solver: the
options' own ``npv`` and ``customer_cost`` are only compared with the oracle's figures.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cli_inprocess import run_workout
from oracles import caps, customer_cost, level_candidates, npv_of_schedule, policy_feasible
from test_customer_cost import CARD  # a card account: no vehicle, 18 %, a short contract

from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.core.readers import read_account
from solver.domain import OFFERED_FAMILIES
from solver.plans.customer_choice import choose_for, efficient_frontier
from solver.plans.options import plan_options

SAMPLE = Path(__file__).resolve().parents[1] / "scenarios" / "sample_account.toml"
MODEL = BehaviourModel()
TOL = 1e-6  # currency units: float noise of the model's sums, far below a cent


@pytest.fixture(scope="module")
def sample() -> tuple[Any, Any, Any]:
    acc = read_account(SAMPLE)
    return acc, Policy().for_product(acc.product), plan_options(acc)


def _cost(acc: Any, opening: int, interest: list[int]) -> float:
    """The customer's cost by the oracle: (opening − principal) + Σ interest_t / (1 + r/12)^t."""
    return customer_cost(acc, opening, interest)


def _npv(acc: Any, payment: list[int], exposures: list[int]) -> float:
    """SPEC §4 NPV of a cent path by the oracle."""
    pay = [p / 100 for p in payment]
    return float(npv_of_schedule(acc, pay, [e / 100 for e in exposures], MODEL)["npv"])


def _figures(acc: Any, option: Any) -> tuple[float, float]:
    """The oracle's (NPV, customer cost) of a returned option, from its schedule's cents."""
    s = option.schedule
    payment = s.payment.tolist()
    exposures = [int(s.opening_balance), *s.balance.tolist()[:-1]]
    return _npv(acc, payment, exposures), _cost(acc, int(s.opening_balance), s.interest.tolist())


def _undominated(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points no other point beats on both (NPV higher or equal, cost lower or equal, one
    strictly), each once (two plans with the same figures are one point of the frontier)."""
    kept = [
        p
        for p in points
        if not any(q[0] >= p[0] - TOL and q[1] <= p[1] - 0.005 for q in points)
        and not any(q[0] > p[0] + TOL and q[1] <= p[1] + TOL for q in points)
    ]
    unique: list[tuple[float, float]] = []
    for p in sorted(kept, reverse=True):
        if not unique or abs(unique[-1][0] - p[0]) > TOL or abs(unique[-1][1] - p[1]) > TOL:
            unique.append(p)
    return unique


def test_frontier_points_are_feasible_pass_the_npv_test_and_are_undominated(sample):
    """Every frontier plan meets SPEC §5, beats the status quo's oracle NPV, reports the oracle's NPV and cost, and no frontier plan dominates another."""
    acc, pol, res = sample
    frontier = efficient_frontier(res)
    sq_npv = _figures(acc, res.status_quo)[0]
    figures = []
    for o in frontier:
        cents = o.schedule.payment.tolist()
        cap = caps(acc, pol, len(cents))
        limit = o.family != "custom"  # issue 13: max_payment_levels does not limit custom
        assert policy_feasible(cents, cap, pol, o.terms.deferral_months, limit), o.label
        npv, cost = _figures(acc, o)
        assert o.npv == pytest.approx(npv, rel=1e-9), o.label
        assert o.customer_cost == pytest.approx(cost, abs=TOL), o.label
        assert npv > sq_npv, o.label
        figures.append((npv, cost))
    for k, (npv, cost) in enumerate(figures):
        others = figures[:k] + figures[k + 1 :]
        assert not any(n >= npv and c <= cost for n, c in others), frontier[k].label


def _accounts() -> list[Any]:
    """The sample account, a card account and generated accounts with short and long frontiers."""
    from solver.core.account import Account
    from solver.core.generate import generate_portfolio

    generated = list(Account.from_frame(generate_portfolio(12, seed=3)))
    return [read_account(SAMPLE), Account.from_mapping(CARD), generated[0], generated[4]]


@pytest.mark.parametrize("k", range(4))
def test_frontier_is_the_oracles_frontier_over_every_term(k):
    """The frontier equals the undominated set, recomputed by the oracle, of every cent plan on the instalment, deferral and concession grids plus the family bests."""
    acc = _accounts()[k]
    pol = Policy().for_product(acc.product)
    res = plan_options(acc)
    sq_npv = _figures(acc, res.status_quo)[0]
    cap = caps(acc, pol, pol.max_term_months)
    points = []
    for family in ("instalment", "deferral", "concession"):
        for s in level_candidates(acc, pol, family):
            if policy_feasible(s.payment, cap, pol, s.params.get("deferral_months", 0)):
                npv = _npv(acc, s.payment, s.exposures)
                if npv > sq_npv:
                    points.append((npv, _cost(acc, s.opening, s.interest)))
    for o in res.options:  # custom, step and settlement: the family bests
        if o.feasible and o.family in OFFERED_FAMILIES:
            npv, cost = _figures(acc, o)
            if npv > sq_npv:
                points.append((npv, cost))
    expected = sorted(_undominated(points), reverse=True)
    got = sorted(((o.npv, o.customer_cost) for o in efficient_frontier(res)), reverse=True)
    assert len(got) == len(expected)
    for (n, c), (en, ec) in zip(got, expected, strict=True):
        assert n == pytest.approx(en, rel=1e-9) and c == pytest.approx(ec, abs=TOL)


@pytest.mark.parametrize("within", [0.0, 0.005, 0.01, 0.02, 0.05, 0.2])
def test_customer_pick_is_the_cheapest_frontier_plan_within_x(sample, within):
    """--objective customer --within X picks the cheapest frontier plan (oracle figures) within X % of the best NPV, ties to the higher NPV, and reports it as a full option."""
    acc, _, res = sample
    frontier = efficient_frontier(res)
    figures = [_figures(acc, o) for o in frontier]
    best = max(n for n, _ in figures)
    allowed = [(c, -n) for n, c in figures if n >= best - within * abs(best) - TOL]
    chosen = choose_for(res, "customer", within)
    pick = chosen.recommended_option
    assert pick is not None and pick in chosen.options  # a full option of the result
    assert pick.schedule is not None and pick.schedule.term == pick.terms.term
    npv, cost = _figures(acc, pick)
    assert (cost, -npv) == pytest.approx(min(allowed), abs=TOL)
    assert within > 0 or chosen.recommended == res.recommended


def test_two_percent_beats_step_when_the_frontier_allows(sample):
    """On the sample account the frontier has more than the 2 family-best points, and --within 2 costs less than step (oracle figures) exactly when a frontier plan within 2 % of the best oracle NPV does."""
    acc, _, res = sample
    frontier = efficient_frontier(res)
    assert len(frontier) > 2
    assert any(o.label not in {x.label for x in res.options} for o in frontier)
    figures = [_figures(acc, o) for o in frontier]  # the oracle's (NPV, cost), not the options'
    best = max(n for n, _ in figures)
    step_cost = _figures(acc, res.option("step"))[1]
    cheaper = [o for o, (n, c) in zip(frontier, figures, strict=True)
               if n >= 0.98 * best - TOL and c < step_cost - TOL]  # fmt: skip
    pick = choose_for(res, "customer", 0.02).recommended_option
    assert pick is not None
    npv, cost = _figures(acc, pick)
    assert npv >= 0.98 * best - TOL  # within 2 % of the best NPV
    assert (cost < step_cost - TOL) == bool(cheaper)
    assert cheaper  # on the sample account a frontier plan within 2 % costs less than step


def test_cli_shows_the_pick_as_a_full_option_and_the_frontier(sample):
    """`workout plan --objective customer --within 2` stars the pick in the options table with the API's figures, prints its schedule, and the JSON carries the frontier in full."""
    _, _, res = sample
    pick = choose_for(res, "customer", 0.02).recommended_option
    assert pick is not None
    code, out, err = run_workout(
        "plan", SAMPLE, "--objective", "customer", "--within", 2, "--schedule", pick.label
    )
    assert code == 0, err
    table = out.split("Bank vs customer")[0]
    row = next(line for line in table.splitlines() if f"★ {pick.label}" in line)
    assert f"{pick.npv:,.2f}" in row and f"{pick.customer_cost:,.2f}" in row
    assert f"Schedule: {pick.label}" in out
    code, out, err = run_workout(
        "plan", SAMPLE, "--objective", "customer", "--within", 2, "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    frontier = efficient_frontier(res)
    assert doc["recommended_label"] == pick.label
    assert doc["frontier"] == [o.label for o in frontier]
    assert [o["customer_cost"] for o in doc["frontier_options"]] == [
        o.customer_cost for o in frontier
    ]
    chosen = next(o for o in doc["options"] if o["label"] == pick.label)
    assert [r["payment"] for r in chosen["schedule"]] == pick.schedule.payments.tolist()


def test_bank_objective_is_unchanged(sample):
    """The default objective recommends the best family NPV and adds no term plan to the options or the table."""
    _, _, res = sample
    assert choose_for(res, "bank", 0.02) is res
    offered = [o for o in res.options if o.feasible and o.family in OFFERED_FAMILIES]
    assert res.recommended == max(offered, key=lambda o: o.npv).label
    assert all(not re.search(r" \d+m", o.label) for o in res.options)
    code, out, err = run_workout("plan", SAMPLE)
    assert code == 0, err
    assert "Bank vs customer" not in out
    assert f"★ {res.recommended} " in out


def test_frontier_table_shows_a_screen_with_the_pick_and_both_ends():
    """A frontier longer than FRONTIER_ROWS shows at most that many rows: the bank's best, the cheapest, and the pick with its neighbours."""
    from types import SimpleNamespace

    from commands.plan_frontier import FRONTIER_ROWS, frontier_rows

    frontier = [SimpleNamespace(label=f"plan {k}") for k in range(532)]
    for pick in (0, 1, 266, 530, 531):
        shown = frontier_rows(frontier, f"plan {pick}")
        assert len(shown) <= FRONTIER_ROWS
        assert {0, 531, pick} <= shown and {max(pick - 1, 0), min(pick + 1, 531)} <= shown
    assert frontier_rows(frontier[:FRONTIER_ROWS], None) == set(range(FRONTIER_ROWS))
