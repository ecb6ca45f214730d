"""Tests of the multi-week plan (solver.allocation.horizon, ``allocate --weeks``).

Oracles: an exhaustive search over every treatment sequence of every account, with its own
ageing, treatment values, eligibility and payment probabilities (tests/oracles.py, from SPEC
§5/§8 and the catalogue file read with tomllib), SPEC §4 hazard (scipy's normal law) and
instalment (the annuity formula); the plan stream summed payment by payment
(oracles.oracle_plan_offer_value); minutes counted from the catalogue for the weekly
capacities.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from oracles import (
    ORACLE_BUCKETS,
    ORACLE_DAYS_PER_MONTH,
    oracle_pay_probability,
    oracle_plan_offer_value,
    oracle_week_values,
    read_catalogue_file,
)
from scipy.stats import norm

from solver.allocation.catalogue import Catalogue
from solver.allocation.horizon import plan_horizon, price_horizon, simulate
from solver.allocation.horizon_model import build_horizon
from solver.allocation.portfolio import build_allocation_problem
from solver.allocation.teams import Teams
from solver.core.generate import generate_portfolio

WEEKS = 3
DAYS_PER_MONTH = ORACLE_DAYS_PER_MONTH


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.default()


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    return generate_portfolio(24, seed=5)


def team_specs(book: pd.DataFrame, members: int) -> list[dict]:
    langs, regions = sorted(set(book["language"])), sorted(set(book["region"]))
    return [
        {"name": t, "type": t, "members": members, "languages": langs, "regions": regions}
        for t in ("agent", "senior", "field", "legal", "robot")
    ]


def all_teams(book: pd.DataFrame, catalogue: Catalogue, members: int) -> Teams:
    return Teams.from_mapping({"teams": team_specs(book, members)}, compliance=catalogue.compliance)


def oracle_optimum(book: pd.DataFrame, specs: list[dict]) -> float:
    """Best expected discounted cash of every account over WEEKS weeks, capacity ignored,
    by enumerating every treatment sequence (an open account's state is known each week)."""
    raw = read_catalogue_file()
    days = raw["period_days"]
    delta = (1.0 / (1.0 + 0.03 / 12.0)) ** (days / DAYS_PER_MONTH)
    n = len(book)
    h0 = np.array(
        [{"A": 0.002, "B": 0.004, "C": 0.008, "D": 0.015, "E": 0.03}[t] for t in book["tier"]]
    )
    income, normal = book["income"].to_numpy(float), book["income_normal"].to_numpy(float)
    months = book["recovery_months"].to_numpy(float)
    mean = np.where(
        months > 0,
        income + (normal - income) * np.minimum(1.0, 1.0 / np.maximum(months, 1e-9)),
        income,
    )
    s2 = np.log1p(book["income_cv"].to_numpy(float) ** 2)
    mu, s = np.log(mean) - s2 / 2, np.sqrt(s2)
    outgo = book["expenses"].to_numpy(float) + book["other_debt"].to_numpy(float)

    def weekly_hazard(pay: np.ndarray) -> np.ndarray:
        afford = 1.0 - norm.cdf((np.log(pay + outgo) - mu) / s)
        monthly = h0 + (1 - h0) * 0.2 * (1 - afford)
        return 1.0 - (1.0 - monthly) ** (days / DAYS_PER_MONTH)

    principal, interest = book["principal"].to_numpy(float), book["interest_due"].to_numpy(float)
    arrears, fees = book["arrears"].to_numpy(float), book["fees_due"].to_numpy(float)
    term = book["remaining_term"].to_numpy(float)
    due = np.where(arrears + fees > 0, arrears + fees, (principal + interest) / term)
    i = book["annual_rate"].to_numpy(float) / 12
    performing = np.maximum(0.0, principal + interest - arrears)
    instalment = np.where(i > 0, performing * i / (1 - (1 + i) ** -term), performing / term)
    h_open, h_cured = weekly_hazard(due), weekly_hazard(instalment)
    cash = instalment * days / DAYS_PER_MONTH
    cured = np.array(
        [sum((delta**s * (1 - h_cured) ** (s - w) * cash for s in range(w + 1, WEEKS)), np.zeros(n))
         for w in range(WEEKS)]
    )  # fmt: skip

    values, pays = [], []
    for w in range(WEEKS):
        aged = book.copy()
        aged["dpd"] = book["dpd"] + days * w
        # SPEC §5 buckets: M0 current, M1 1-30, M2 31-60, M3 61-90, M4+ over 90
        aged["dpd_bucket"] = [
            ORACLE_BUCKETS[int(np.searchsorted([0, 30, 60, 90], d))] for d in aged["dpd"]
        ]
        rows = aged.to_dict(orient="records")
        names, value = oracle_week_values(raw, rows, specs)
        values.append(value)
        pays.append(np.array([[oracle_pay_probability(raw, t, r) for r in rows] for t in names]))
    total = 0.0
    for j in range(n):
        best = -math.inf
        for seq in itertools.product(range(len(names)), repeat=WEEKS):
            alive, got = 1.0, 0.0
            for w, t in enumerate(seq):
                r = values[w][t, j]
                if not math.isfinite(r):
                    got = -math.inf
                    break
                p = pays[w][t, j]
                got += alive * (delta**w * r + p * cured[w, j])
                alive *= (1 - p) * (1 - h_open[j])
            best = max(best, got)
        total += best
    return total


def test_bound_is_the_exhaustive_optimum_when_capacity_is_ample(book, catalogue):
    """With capacity for everything the priced programme's bound is the exact optimum, and
    the simulated plan's value agrees with it within its sampling error."""
    teams = all_teams(book, catalogue, members=500)
    hm = build_horizon(book, catalogue, teams, weeks=WEEKS)
    prices = price_horizon(hm, iterations=20)
    assert not prices.team.any()  # no weekly cap binds
    assert prices.bound == pytest.approx(oracle_optimum(book, team_specs(book, 500)), rel=1e-9)
    sim = simulate(hm, prices, catalogue, paths=40, seed=1)
    se = sim.multi_week.std(ddof=1) / math.sqrt(40)
    assert abs(sim.multi_week.mean() - prices.bound) <= 4 * se + 1e-6
    # the one-week policy is feasible for the multi-week problem: it cannot do better
    assert sim.one_week.mean() <= prices.bound + 4 * sim.one_week.std(ddof=1) / math.sqrt(40)


def test_tight_capacity_week_one_within_caps_and_plan_not_worse(catalogue):
    """Tight teams: the week-1 treatments fit every team's minutes (counted from the
    catalogue); the multi-week plan is not materially worse than repeating the one-week
    allocation on the same futures, and the bound is above it."""
    book = generate_portfolio(120, seed=9)
    teams = all_teams(book, catalogue, members=1).scaled(0.05)
    result = plan_horizon(book, catalogue, teams, weeks=4, paths=6, seed=2, iterations=80)
    table = result.assignments
    minutes = {name: 0.0 for name in teams.names}
    for treatment, team in zip(table["treatment"], table["team"], strict=True):
        if team:
            minutes[team] += catalogue.treatment(treatment).minutes
    for t in teams.teams:
        assert minutes[t.name] <= t.minutes_per_period + 1e-9
    assert sum(minutes.values()) > 0
    c = result.comparison
    # The rolling horizon is a heuristic, not a policy proven at least as good as the
    # one-week allocation repeated: with teams this tight it measured 0.004-0.06 % below it
    # (3 Dec 2026, seeds 2-4, after the exact min-cost-flow core of issue 19 made the
    # one-week policy optimal each week and the comparison far less noisy). It must not be
    # worse by more than sampling error or 0.2 %.
    assert c["difference"] >= -max(3 * c["difference_se"], 0.002 * c["one_week"])
    assert result.bound >= c["multi_week"] - 4 * c["multi_week_se"]
    assert set(result.by_week["week"]) == {1, 2, 3, 4}


def test_plan_uplift_is_amortised_over_its_term(book, catalogue):
    """A signed plan pays its NPV (its uplift when the table gives no npv) as a level
    stream over its term: a plan whose term ends inside the horizon counts all of it, a
    long plan only the weeks inside the horizon (the annuity with present value U)."""
    teams = all_teams(book, catalogue, members=5)
    ids = book["account_id"].astype(str)
    plans = pd.DataFrame(
        {"account_id": ids[:3], "status": "RECOMMENDED", "npv_vs_status_quo": [1000.0] * 3,
         "term": [1, 60, 1], "npv": [np.nan, np.nan, 5000.0]}
    )  # fmt: skip
    weeks = 8
    hm = build_horizon(book, catalogue, teams, weeks=weeks, plans=plans)
    delta = (1.0 / (1.0 + 0.03 / 12.0)) ** (7 / DAYS_PER_MONTH)
    assert hm.stream[0, 0] == pytest.approx(1000.0, rel=1e-12)  # 4 weekly payments, inside
    n_weeks = round(60 * DAYS_PER_MONTH / 7)
    annuity = 1000.0 * (1 - delta) / (delta * (1 - delta**n_weeks))
    assert hm.stream[0, 1] == pytest.approx(sum(annuity * delta**s for s in range(1, weeks)))
    assert hm.stream[0, 1] < 1000.0 * weeks / n_weeks
    assert hm.stream[0, 2] == pytest.approx(5000.0, rel=1e-12)
    assert not hm.stream[:, 3:].any()


def test_one_week_policy_values_the_plan_offer_over_the_rest_of_the_horizon(book, catalogue):
    """``--weeks`` compares with the one-week allocation in one unit: in week w the one-week
    objective adds to the senior call p_reach · p_accept times the plan's uplift paid as a
    level stream, counted over the weeks left (oracle: summed payment by payment); nothing
    else changes, and week 1 is ``allocate``'s objective with a horizon of W weeks."""
    teams = all_teams(book, catalogue, members=5)
    raw = read_catalogue_file()
    accept = raw["plans"]["p_reach"] * raw["plans"]["p_accept"]
    senior = list(raw["treatments"]).index("senior_call")
    weeks = 6
    probe = build_horizon(book, catalogue, teams, weeks=2)
    on_senior = probe.weeks_built[0].option_treatment == senior
    offerable = np.flatnonzero(np.isfinite(probe.value[0][on_senior]).any(axis=0))[:4]
    assert offerable.size == 4, "the test needs accounts a senior call may reach"
    uplift, term = [8000.0, 8000.0, 3000.0, 20000.0], [6.0, 60.0, 1.0, np.nan]
    ids = book["account_id"].astype(str).to_numpy()[offerable]
    plans = pd.DataFrame(
        {"account_id": ids, "status": "RECOMMENDED", "npv_vs_status_quo": uplift, "term": term}
    )
    hm = build_horizon(book, catalogue, teams, weeks=weeks, plans=plans)
    o_t = hm.weeks_built[0].option_treatment
    for w in range(weeks):
        with np.errstate(invalid="ignore"):  # -inf - -inf where an option is not allowed
            extra = np.where(np.isfinite(hm.value[w]), hm.one_week[w] - hm.value[w], 0.0)
        assert not extra[o_t != senior].any()
        expected = np.zeros(hm.n)
        for j, u, months in zip(offerable, uplift, term, strict=True):
            months = 36.0 if np.isnan(months) else months  # the documented default term
            expected[j] = oracle_plan_offer_value(u, months, weeks - w, accept=accept)
        for row, value in zip(extra[o_t == senior], hm.value[w][o_t == senior], strict=True):
            allowed = np.isfinite(value)
            assert expected[allowed].any() == (weeks - w >= 2)  # the last week counts none
            assert row[allowed] == pytest.approx(expected[allowed], abs=0.011)
    built = build_allocation_problem(book, catalogue, teams, plans=plans, valuation_weeks=weeks)
    assert np.array_equal(built.value, hm.one_week[0])


def test_cli_weeks_json_and_usage_errors(tmp_path, capsys):
    from cli import workout
    from commands.common import run_cli

    source = tmp_path / "p.csv"
    generate_portfolio(60, seed=2).to_csv(source, index=False)
    out = tmp_path / "w1.csv"
    argv = ["allocate", str(source), "--out", str(out), "--weeks", "3", "--paths", "3"]
    assert run_cli(workout, [*argv, "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {"multi_week", "one_week", "difference", "bound"} <= set(summary["comparison"])
    table = pd.read_csv(out)
    assert len(table) == 60 and {"horizon_value", "one_week_treatment"} <= set(table.columns)
    out2 = tmp_path / "w2.csv"
    bad = ["allocate", str(source), "--out", str(out2), "--weeks", "3", "--explain-tree", "2"]
    assert run_cli(workout, bad) == 2
    assert run_cli(workout, ["allocate", str(source), "--out", str(out2), "--weeks", "13"]) == 2
    assert not out2.exists()
