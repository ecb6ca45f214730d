"""The scenario KPIs ``recovery_rate`` (within the horizon) and ``recovery_rate_total``
(with the model value beyond it) on a deterministic account (session 17 review).

Oracle: one account that cannot default (base hazard 0, income_cv 0 and a payment it can
afford: a_t = 1, so h_t = 0 and S_t = 1 on every path, SPEC §4) on its contract, longer
than the horizon. Every path then collects the contract's payments of months 1…H, and the
value beyond the horizon is the rest of the schedule; both are discounted by hand with
δ = 1/(1 + cof/12) from the schedule written out below (own arithmetic, not the solver's).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from oracles import amortise, annuity, rate_units, round_half_up, to_cents

from solver.scenarios.kpi_defs import HEADLINE_KPIS, KPIS
from solver.scenarios.run import run_scenario
from solver.scenarios.spec import load_scenario

HORIZON = 9
COST_OF_FUNDS = 0.03
ACCOUNT = {
    "account_id": "DET-1",
    "product": "card_instalment",
    "principal": 12000.0,
    "annual_rate": 0.0,
    "remaining_term": 24,
    "tier": "A",
    "income": 20000.0,
    "income_cv": 0.0,
    "expenses": 3000.0,
}


def _contract(account: dict) -> list[float]:
    """The contract's payments (SPEC §4 status quo, no arrears or fees): the level
    instalment rounded to the cent, the last month clearing the balance (oracles.amortise)."""
    balance = to_cents(account["principal"])
    units = rate_units(account["annual_rate"])
    level = annuity(balance, units, account["remaining_term"])
    cents = round_half_up(level)  # half up to the cent
    booked = amortise(balance, units, [cents] * account["remaining_term"])
    assert booked is not None
    return [p / 100 for p in booked.payment]


def _run(tmp_path: Path, account: dict):
    book = tmp_path / "book.csv"
    with open(book, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(account))
        writer.writeheader()
        writer.writerow(account)
    spec = tmp_path / "deterministic.toml"
    spec.write_text(
        f'name = "deterministic"\n[portfolio]\npath = "{book.as_posix()}"\n'
        f"[model]\ncost_of_funds = {COST_OF_FUNDS}\n"
        "[model.base_hazard]\nA = 0.0\nB = 0.0\nC = 0.0\nD = 0.0\nE = 0.0\n"
        "[plans]\nrestructure = false\n"
        f"[simulation]\npaths = 4\nhorizon_months = {HORIZON}\nseed = 1\n",
        encoding="utf-8",
    )
    return run_scenario(load_scenario(spec))


@pytest.mark.parametrize("annual_rate", [0.0, 0.12])
def test_recovery_rates_match_the_hand_computation(tmp_path, annual_rate):
    """recovery_rate counts the discounted payments of months 1..H only; recovery_rate_total
    adds the discounted payments after H (the account is alive at H on every path), both
    over the opening balance, to the cent of the totals."""
    account = dict(ACCOUNT, annual_rate=annual_rate)
    pay = _contract(account)
    assert len(pay) > HORIZON
    delta = 1.0 / (1.0 + COST_OF_FUNDS / 12.0)
    within = sum(p * delta**t for t, p in enumerate(pay[:HORIZON], start=1))
    beyond = sum(p * delta**t for t, p in enumerate(pay[HORIZON:], start=HORIZON + 1))
    opening = account["principal"]
    result = _run(tmp_path, account)
    total = result.total()
    assert total.loc["defaults", "mean"] == 0 and total.loc["defaults", "std"] == 0
    assert total.loc["cash_collected_discounted", "mean"] == pytest.approx(within, abs=0.02)
    assert total.loc["value_beyond_horizon", "mean"] == pytest.approx(beyond, abs=0.02)
    tol = 0.02 / opening
    assert total.loc["recovery_rate", "mean"] == pytest.approx(within / opening, abs=tol)
    assert total.loc["recovery_rate_total", "mean"] == pytest.approx(
        (within + beyond) / opening, abs=tol
    )
    # a deterministic account: every path gives the same figure
    assert total.loc["recovery_rate_total", "std"] == 0


def test_recovery_rate_total_is_listed_beside_recovery_rate():
    """The KPI table lists recovery_rate_total right after recovery_rate, as a ratio, and
    both are headline KPIs (summary, report)."""
    names = list(KPIS)
    assert names[names.index("recovery_rate") + 1] == "recovery_rate_total"
    assert KPIS["recovery_rate_total"][0] == "ratio"
    assert "within the horizon" in KPIS["recovery_rate"][1]
    assert {"recovery_rate", "recovery_rate_total"} <= set(HEADLINE_KPIS)
