"""The policy's need test in ``workout evaluate`` / ``workout offer`` and ``/api/evaluate``
(issue 13 follow-up, session 17).

Oracle: whether the contract is affordable is decided month by month with the SPEC §4/§5
formulas (:func:`test_policy_need._contract_meets_policy`, own arithmetic), not by the
planner's ``contract_affordable``.
"""

from __future__ import annotations

import json

import pytest
from cli_inprocess import run_workout
from fastapi.testclient import TestClient
from test_policy_need import AFFORDABLE as AFFORDABLE_FIELDS
from test_policy_need import STRETCHED as STRETCHED_FIELDS
from test_policy_need import _contract_meets_policy

from solver.core import Policy
from solver.core.account import as_account
from solver.errors import InfeasibleError
from solver.officer import Proposal, evaluate_counter_offer
from solver.officer.counter_offer import Verdict
from solver.officer.offers import choose_offer
from solver.plans.options import plan_options
from solver.service import ServiceConfig, create_app

AFFORDABLE = as_account(AFFORDABLE_FIELDS)
STRETCHED = as_account(STRETCHED_FIELDS)
#: A proposal within the default policy that beats the status quo on AFFORDABLE
#: (ACCEPTABLE without the need test).
WITHIN = Proposal(term=24)
#: A proposal breaking max_dti in its last month on AFFORDABLE.
BREAKING = Proposal(payments=(2900.0,) * 7)


@pytest.fixture(scope="module")
def need() -> Policy:
    return Policy(need_test=True)


def test_affordable_contract_makes_the_counter_offer_not_needed(need):
    """With need_test and a contract affordable in every month (own check) the verdict is
    CONTRACT_AFFORDABLE, as `workout plan` reports, with no nearest plan, the proposal's
    figures still given, and a broken rule still listed."""
    assert _contract_meets_policy(AFFORDABLE_FIELDS, need)
    assert plan_options(AFFORDABLE, need).status.value == "CONTRACT_AFFORDABLE"
    offer = evaluate_counter_offer(AFFORDABLE, WITHIN, need)
    assert offer.verdict == Verdict.CONTRACT_AFFORDABLE
    assert offer.contract_affordable and offer.nearest is None
    assert offer.explanation.startswith("no restructuring needed: the contract is affordable")
    assert "is within policy and passes the NPV test" in offer.explanation
    broken = evaluate_counter_offer(AFFORDABLE, BREAKING, need)
    assert broken.verdict == Verdict.CONTRACT_AFFORDABLE
    assert [v.rule for v in broken.violations] == ["max_dti"]
    assert "would break the policy (max_dti" in broken.explanation


def test_without_need_test_the_explanation_says_the_contract_is_affordable():
    """By default the verdict is unchanged (ACCEPTABLE / BREAKS_POLICY) and the
    explanation ends with `workout plan`'s sentence on an affordable contract."""
    offer = evaluate_counter_offer(AFFORDABLE, WITHIN, Policy())
    assert offer.verdict == Verdict.ACCEPTABLE and offer.contract_affordable
    assert offer.explanation.endswith("need_test = true keeps the contract.")
    assert "The contract itself is affordable (max DTI 0.47" in offer.explanation
    broken = evaluate_counter_offer(AFFORDABLE, BREAKING, Policy())
    assert broken.verdict == Verdict.BREAKS_POLICY and broken.nearest is not None


def test_stretched_contract_is_evaluated_as_before(need):
    """A contract breaking max_dti (own check) is not affordable: need_test changes
    nothing and no sentence on affordability is added."""
    assert not _contract_meets_policy(STRETCHED_FIELDS, need)
    offer = evaluate_counter_offer(STRETCHED, Proposal(term=36), need)
    plain = evaluate_counter_offer(STRETCHED, Proposal(term=36), Policy())
    assert not offer.contract_affordable
    assert offer.verdict == plain.verdict != Verdict.CONTRACT_AFFORDABLE
    assert offer.explanation == plain.explanation
    assert "affordable" not in offer.explanation


def test_cli_and_api_give_the_same_verdict(tmp_path):
    """`workout evaluate --set policy.need_test=true` prints CONTRACT_AFFORDABLE with exit
    code 0 (as `workout plan`), and /api/evaluate returns the same document."""
    path = tmp_path / "account.json"
    path.write_text(json.dumps(AFFORDABLE_FIELDS), encoding="utf-8")
    args = ("evaluate", path, "--term", "24", "--set", "policy.need_test=true")
    code, out, err = run_workout(*args, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["verdict"] == "CONTRACT_AFFORDABLE" and doc["nearest"] is None
    code, out, _ = run_workout(*args)
    assert code == 0 and "CONTRACT_AFFORDABLE: no restructuring needed" in out
    config = ServiceConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}")
    body = {"account": AFFORDABLE_FIELDS, "policy": {"need_test": True}, "proposal": {"term": 24}}
    with TestClient(create_app(config)) as client:
        response = client.post("/api/evaluate", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == doc


def test_offer_notes_the_need_test_and_refuses_a_broken_rule(need):
    """`workout offer` writes a counter-offer or plan the need test finds not needed with a
    note (as one failing the NPV test), and still refuses a proposal breaking a rule."""
    plans = plan_options(AFFORDABLE, need)
    counter = choose_offer(AFFORDABLE, "counter_offer", plans, policy=need, proposal=WITHIN)
    assert counter.counter is not None
    assert counter.counter.verdict == Verdict.CONTRACT_AFFORDABLE
    assert counter.notes and counter.notes[0].startswith("need test: no restructuring needed")
    custom = choose_offer(AFFORDABLE, "custom", plans, policy=need)
    assert custom.notes[0] == f"need test: {plans.explanation}"
    with pytest.raises(InfeasibleError, match="breaks the policy: max_dti 0.50 is exceeded"):
        choose_offer(AFFORDABLE, "counter_offer", plans, policy=need, proposal=BREAKING)
    plain = choose_offer(AFFORDABLE, "custom", plan_options(AFFORDABLE, Policy()))
    assert not any(n.startswith("need test") for n in plain.notes)
