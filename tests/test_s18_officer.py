"""The session 18 review of the officer's path: the counter-offer's need test is the plan
result's decision, one refusal of a counter-offer breaking the policy, verdict colours keyed
by the enum.

Oracles: the contract's affordability by the SPEC §4/§5 formulas
(:func:`test_policy_need._contract_meets_policy`, own arithmetic); the verdict matrix was
recorded on main at 58cd8f0 (before these changes) with the same accounts, proposals and
policies.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from test_policy_need import AFFORDABLE as AFFORDABLE_FIELDS
from test_policy_need import STRETCHED as STRETCHED_FIELDS
from test_policy_need import _contract_meets_policy

import solver.officer.counter_offer as counter_offer
import solver.officer.policy_check as policy_check
from solver.core import Policy, read_portfolio
from solver.core.account import as_account
from solver.domain import Status
from solver.errors import InfeasibleError
from solver.officer import Proposal, Verdict, evaluate_counter_offer
from solver.officer.offers import choose_offer
from solver.plans.options import plan_options

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
TINY = ROOT / "tests" / "data" / "portfolio" / "tiny.csv"
AFFORDABLE = as_account(AFFORDABLE_FIELDS)
STRETCHED = as_account(STRETCHED_FIELDS)
NEED = Policy(need_test=True)
#: Within the default policy and beating the status quo on AFFORDABLE.
WITHIN = Proposal(term=24)
#: Breaks max_dti in its last month on AFFORDABLE.
BREAKING = Proposal(payments=(2900.0,) * 7)

#: The proposals of the verdict matrix, in its column order.
PROPOSALS = (
    Proposal(term=24),
    Proposal(term=36, holiday=3, amount=2000),
    Proposal(amount=1500.0),
    Proposal(payments=(2900.0,) * 7),
    Proposal(term=12),
)
#: Verdict initials (Acceptable, Npv test failed, Breaks policy, Contract affordable) of
#: each proposal, ``*`` where the counter-offer finds the contract affordable: recorded on
#: main at 58cd8f0, where the counter-offer decided the need test itself.
MAIN_VERDICTS = {
    "default/CARD-OK": "A* A* A* B* A*",
    "default/CARD-TIGHT": "B B B B B",
    "default/T001": "N B B B B",
    "default/T002": "B A A B B",
    "default/T003": "A N A B A",
    "default/T004": "A A B B B",
    "default/T005": "B B B B B",
    "default/T006": "A* A* A* B* N*",
    "default/T007": "A N A B A",
    "default/T008": "N B B B N",
    "default/AUTO-000123": "A B B B B",
    "need/CARD-OK": "C* C* C* C* C*",
    "need/CARD-TIGHT": "B B B B B",
    "need/T001": "N B B B B",
    "need/T002": "B A A B B",
    "need/T003": "A N A B A",
    "need/T004": "A A B B B",
    "need/T005": "B B B B B",
    "need/T006": "C* C* C* C* C*",
    "need/T007": "A N A B A",
    "need/T008": "N B B B N",
    "need/AUTO-000123": "A B B B B",
}


def _accounts() -> list:
    book = read_portfolio(TINY)
    tiny = [as_account({k: book[k].iloc[i] for k in book.columns}) for i in range(len(book))]
    sample = as_account(tomllib.loads(SAMPLE.read_text(encoding="utf-8")))
    return [AFFORDABLE, STRETCHED, *tiny, sample]


@pytest.fixture(scope="module")
def affordable_plans() -> dict[str, object]:
    return {"default": plan_options(AFFORDABLE, Policy()), "need": plan_options(AFFORDABLE, NEED)}


# -- 1. the need test is the plan result's ---------------------------------------------------


@pytest.mark.parametrize("fields", [AFFORDABLE_FIELDS, STRETCHED_FIELDS])
@pytest.mark.parametrize("policy", [Policy(), NEED], ids=["default", "need"])
def test_plan_result_carries_the_need_test(fields, policy):
    """plan_options' contract_affordable is the need test by the SPEC formulas (own
    check), whatever need_test; with need_test it is the CONTRACT_AFFORDABLE status; the
    counter-offer reports the same decision."""
    expected = _contract_meets_policy(fields, policy)
    account = as_account(fields)
    plans = plan_options(account, policy)
    assert plans.contract_affordable is expected
    assert (plans.status == Status.CONTRACT_AFFORDABLE) is (expected and policy.need_test)
    offer = evaluate_counter_offer(account, WITHIN, policy, plans=plans)
    assert offer.contract_affordable is expected


def test_counter_offer_builds_no_context_for_the_need_test(affordable_plans, monkeypatch):
    """Given the plan options, the counter-offer builds one plan context (its own
    affordability check), not a second one to decide the need test again."""
    built = []
    real = policy_check.context_from_account  # the policy check's (its affordability caps)

    def counting(*args, **kwargs):
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(policy_check, "context_from_account", counting)
    offer = evaluate_counter_offer(AFFORDABLE, WITHIN, NEED, plans=affordable_plans["need"])
    assert offer.verdict == Verdict.CONTRACT_AFFORDABLE
    assert len(built) == 1


def test_counter_offer_opens_with_the_plan_results_sentence(affordable_plans):
    """CONTRACT_AFFORDABLE's explanation opens with the plan options' own explanation
    (the one sentence _recommend wrote), not a second copy of it."""
    plans = affordable_plans["need"]
    offer = evaluate_counter_offer(AFFORDABLE, WITHIN, NEED, plans=plans)
    assert offer.explanation.startswith(plans.explanation + " The counter-offer is not needed")
    marked = replace(plans, explanation="(the plan result's sentence)")
    again = evaluate_counter_offer(AFFORDABLE, WITHIN, NEED, plans=marked)
    assert again.explanation.startswith("(the plan result's sentence) The counter-offer")


def test_counter_offer_verdict_follows_the_plan_results_decision(affordable_plans):
    """The verdict is CONTRACT_AFFORDABLE exactly when the plan options say so, and the
    "contract itself is affordable" note follows their contract_affordable."""
    plans = affordable_plans["need"]
    decided_otherwise = replace(plans, status=Status.RECOMMENDED, contract_affordable=False)
    offer = evaluate_counter_offer(AFFORDABLE, WITHIN, NEED, plans=decided_otherwise)
    assert offer.verdict == Verdict.ACCEPTABLE and not offer.contract_affordable
    assert "affordable" not in offer.explanation
    plain = evaluate_counter_offer(AFFORDABLE, WITHIN, Policy(), plans=affordable_plans["default"])
    assert plain.verdict == Verdict.ACCEPTABLE
    assert plain.explanation.endswith("need_test = true keeps the contract.")


def test_verdicts_are_those_of_main():
    """Every verdict (and the need test's decision) on 11 accounts x 5 proposals x 2
    policies is the one main gave before the counter-offer read the plan result's."""
    got = {}
    for name, policy in (("default", Policy()), ("need", NEED)):
        for account in _accounts():
            plans = plan_options(account, policy)
            cells = []
            for proposal in PROPOSALS:
                offer = evaluate_counter_offer(account, proposal, policy, plans=plans)
                cells.append(offer.verdict.name[0] + ("*" if offer.contract_affordable else ""))
            got[f"{name}/{account.account_id}"] = " ".join(cells)
    assert got == MAIN_VERDICTS


# -- 2. one refusal of a counter-offer breaking the policy -----------------------------------


def test_offer_refuses_a_broken_rule_whatever_the_verdict(affordable_plans):
    """A counter-offer breaking a rule is refused with the rules broken: with BREAKS_POLICY
    the nearest feasible plan, with CONTRACT_AFFORDABLE (the need test first) keep the
    contract."""
    with pytest.raises(InfeasibleError) as broken:
        choose_offer(AFFORDABLE, "counter_offer", affordable_plans["default"], proposal=BREAKING)
    text = str(broken.value)
    assert text.startswith("the counter-offer cannot be offered: it breaks the policy: max_dti")
    assert "Nearest feasible plan:" in text
    with pytest.raises(InfeasibleError) as not_needed:
        choose_offer(
            AFFORDABLE, "counter_offer", affordable_plans["need"], policy=NEED, proposal=BREAKING
        )
    text = str(not_needed.value)
    assert text.startswith("the counter-offer cannot be offered: it breaks the policy: max_dti")
    assert text.endswith(
        "the need test finds it not needed (the contract is affordable: keep the contract)"
    )
    within = choose_offer(
        AFFORDABLE, "counter_offer", affordable_plans["need"], policy=NEED, proposal=WITHIN
    )
    assert within.counter is not None and not within.counter.violations


# -- 3. verdict colours -----------------------------------------------------------------------


def test_every_verdict_has_the_colour_of_the_status_it_mirrors():
    """VERDICT_COLOURS is keyed by the Verdict enum, covers every verdict, and gives each
    the colour `workout plan` gives the plan status of the same meaning."""
    from commands.output import STATUS_COLOURS, VERDICT_COLOURS

    assert set(VERDICT_COLOURS) == set(Verdict)
    assert all(isinstance(k, Verdict) for k in VERDICT_COLOURS)
    mirrors = {
        Verdict.ACCEPTABLE: Status.RECOMMENDED,
        Verdict.NPV_TEST_FAILED: Status.NPV_TEST_FAILED,
        Verdict.BREAKS_POLICY: Status.INFEASIBLE,
        Verdict.CONTRACT_AFFORDABLE: Status.CONTRACT_AFFORDABLE,
    }
    assert {v: STATUS_COLOURS[s] for v, s in mirrors.items()} == VERDICT_COLOURS
    assert VERDICT_COLOURS[Verdict.CONTRACT_AFFORDABLE] == "cyan"
    assert Verdict is counter_offer.Verdict  # one definition, re-exported
