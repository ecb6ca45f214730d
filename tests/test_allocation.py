"""Tests of the collection treatment allocation (solver.allocation.portfolio, .catalogue, .compliance).

Oracles: an independent row-by-row re-implementation of the eligibility rules, objective
recomputation from the written output file, and ``scipy.optimize.milp`` on small portfolios.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from oracles import oracle_plan_offer_value, read_catalogue_file
from scipy.optimize import Bounds, LinearConstraint, milp

from solver.allocation.catalogue import Catalogue, default_catalogue_path
from solver.allocation.compliance import eligibility
from solver.allocation.portfolio import allocate, build_allocation_problem
from solver.allocation.teams import Teams
from solver.allocation.treatments import TREATMENTS
from solver.allocation.values import treatment_values
from solver.core.generate import generate_portfolio
from solver.domain import Status
from solver.errors import InputError

DATA = Path(__file__).parent / "data" / "allocation"
GENTLE = {"none", "sms", "email", "app", "ai_voice", "agent_call"}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.default()


@pytest.fixture(scope="module")
def teams() -> Teams:
    return Teams.default()


@pytest.fixture(scope="module")
def portfolio() -> pd.DataFrame:
    """1,500 generated accounts with extra flags so that every rule applies to many rows."""
    frame = generate_portfolio(1500, seed=7).copy()
    rng = np.random.default_rng(7)
    for flag, share in (
        ("hardship", 0.15),
        ("cease_contact", 0.03),
        ("dispute", 0.03),
        ("bankruptcy", 0.02),
        ("has_plan", 0.03),
    ):
        frame[flag] = frame[flag].to_numpy() | (rng.random(len(frame)) < share)
    frame["consent_sms"] = frame["consent_sms"].to_numpy() & (rng.random(len(frame)) > 0.2)
    tibet = rng.random(len(frame)) < 0.03
    frame.loc[tibet, "region"] = "Tibet"
    frame.loc[rng.random(len(frame)) < 0.03, "language"] = "bo"
    return frame


def allowed_options(row: dict, catalogue: Catalogue, teams: Teams) -> set[tuple[str, str]]:
    """Independent statement of the rules: every (treatment, team) allowed for one account."""
    comp = catalogue.compliance
    out: set[tuple[str, str]] = set()
    balance = row["principal"] + row["interest_due"] + row["fees_due"]
    no_contact = any(bool(row[f]) for f in ("cease_contact", "dispute", "bankruptcy", "has_plan"))
    gentle_account = row["tier"] in ("A", "B") and row["dpd_bucket"] in ("M0", "M1")
    for t in catalogue.treatments:
        if t.name != "none":
            if no_contact:
                continue
            if row["hardship"] and t.name in ("field_visit", "legal"):
                continue
            if row["tier"] not in t.tiers or row["dpd_bucket"] not in t.dpd_buckets:
                continue
            if gentle_account and not t.gentle:
                continue
            if not (t.min_balance <= balance <= t.max_balance):
                continue
            if t.consent and not row[t.consent]:
                continue
        if not t.human:
            out.add((t.name, ""))
            continue
        for team in teams.teams:
            if team.type != t.team_type:
                continue
            if team.regions and row["region"] not in team.regions:
                continue
            if (
                comp.language_match
                and team.languages
                and team.type != "legal"
                and row["language"] not in team.languages
            ):
                continue
            out.add((t.name, team.name))
    return out


def test_bundled_files_load_and_document(catalogue, teams):
    """The bundled catalogue has the 9 SPEC treatments and ≥ 20 teams; defaults are documented."""
    assert catalogue.names == TREATMENTS and len(TREATMENTS) == 9  # the SPEC's, in order
    assert len([t for t in teams.teams if not t.collector]) >= 20
    text = default_catalogue_path().read_text()
    assert "calibrate" in text.lower() and "22:00-08:00" in text
    assert {t.type for t in teams.teams} == {"agent", "senior", "field", "legal", "robot"}


def test_allocation_never_assigns_an_ineligible_option(portfolio, catalogue, teams):
    """Every assigned (treatment, team) is allowed by the independent rule statement."""
    result = allocate(portfolio, catalogue, teams.scaled(0.01), time_limit=4, workers=1)
    rows = portfolio.to_dict(orient="records")
    table = result.assignments
    for row, treatment, team in zip(rows, table["treatment"], table["team"], strict=True):
        assert (treatment, team) in allowed_options(row, catalogue, teams), (
            row["account_id"],
            treatment,
            team,
        )
    # every rule actually excluded something in this portfolio (the sweep is not vacuous)
    codes = eligibility(portfolio, catalogue, teams).code
    assert set(np.unique(codes)) >= {0, 1, 2, 3, 4, 5, 6, 7, 8}


@pytest.mark.parametrize(
    ("change", "forbidden"),
    [
        ({"cease_contact": True}, "contact"),
        ({"dispute": True}, "contact"),
        ({"bankruptcy": True}, "contact"),
        ({"has_plan": True}, "contact"),
        ({"hardship": True}, {"field_visit", "legal"}),
        ({"consent_sms": False, "consent_email": False}, {"sms", "email"}),
        ({"region": "Tibet"}, {"field_visit"}),
        ({"language": "bo"}, {"ai_voice", "agent_call", "senior_call", "field_visit"}),
        ({"tier": "A", "dpd_bucket": "M1"}, {"senior_call", "field_visit", "legal"}),
    ],
)
def test_each_rule_on_its_own(change, forbidden, catalogue, teams):
    """Applying one rule to every account removes exactly the treatments it forbids."""
    frame = generate_portfolio(400, seed=3).copy()
    for column, value in change.items():
        frame[column] = value
    result = allocate(frame, catalogue, teams, time_limit=5, workers=1)
    used = set(result.assignments["treatment"])
    if forbidden == "contact":
        assert used == {"none"}
        assert result.assignments["reason"].str.contains("no collection contact").all()
    else:
        assert not used & forbidden


def test_reason_names_the_forcing_rule(catalogue, teams):
    """The tiny hand-made portfolio: reasons name the flag or the compliance rule."""
    from solver.core.readers import read_portfolio

    frame = read_portfolio(DATA / "tiny_portfolio.csv")
    table = allocate(frame, catalogue, teams, time_limit=5, workers=1).assignments.set_index(
        "account_id"
    )
    assert table.loc["T003", "treatment"] == "none"
    assert table.loc["T003", "reason"] == "cease_contact: no collection contact"
    assert table.loc["T006", "reason"] == "has_plan: no collection contact"
    assert table.loc["T007", "reason"] == "dispute: no collection contact"
    assert table.loc["T002", "treatment"] not in ("field_visit", "legal")
    assert table.loc["T002", "reason"].startswith("hardship: no ")
    assert table.loc["T004", "treatment"] not in (
        "agent_call",
        "senior_call",
        "field_visit",
        "ai_voice",
    )


def milp_allocation(built) -> float:
    """Optimum of the allocation with scipy.optimize.milp on the same options and values."""
    k, n = built.value.shape
    allowed = np.isfinite(built.value)
    o_idx, j_idx = np.nonzero(allowed)
    p = o_idx.size
    c = -built.value[o_idx, j_idx]
    assign = np.zeros((n, p))
    assign[j_idx, np.arange(p)] = 1.0
    cons = [LinearConstraint(assign, 1, 1)]
    problem = built.problem
    rows = problem.row_of[o_idx]
    cap = np.zeros((problem.capacity.size, p))
    has = rows >= 0
    cap[rows[has], np.arange(p)[has]] = problem.weight[o_idx[has], 0]
    cons.append(LinearConstraint(cap, -np.inf, problem.capacity))
    if problem.global_capacity.size:
        cons.append(
            LinearConstraint(
                problem.global_weight[0, o_idx, 0][None, :], -np.inf, problem.global_capacity
            )
        )
    res = milp(
        c, constraints=cons, integrality=np.ones(p), bounds=Bounds(0, 1), options={"time_limit": 60}
    )
    assert res.status == 0, res.message
    return -float(res.fun)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_small_portfolios_match_milp(seed, catalogue, teams):
    """With tight teams and a budget, allocate() proves the milp optimum (to the cent)."""
    frame = generate_portfolio(60, seed=seed)
    tight = teams.scaled(0.002 * seed)
    budget = 400.0 + 150 * seed
    result = allocate(frame, catalogue, tight, budget=budget, time_limit=20, workers=1)
    built = build_allocation_problem(frame, catalogue, tight, budget=budget)
    expected = milp_allocation(built)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(expected, abs=0.011)
    assert result.totals["cost"] <= budget + 1e-9
    used = result.utilisation.set_index("team")["used_minutes"]
    assert (used <= pd.Series(tight.capacity(), index=list(tight.names)) + 1e-6).all()


def test_large_path_certificate_and_capacity(catalogue, teams):
    """The decomposition path (forced) respects capacity and proves a gap ≤ 1 %."""
    frame = generate_portfolio(5_000, seed=5)
    tight = teams.scaled(0.005)
    result = allocate(frame, catalogue, tight, time_limit=4, seed=0, exact_max_pairs=0)
    assert "lagrangian" in result.method
    util = result.utilisation
    assert (util["used_minutes"] <= util["capacity_minutes"] + 0.05).all()
    assert result.bound >= result.objective
    assert result.gap <= 0.01
    assert result.status in (Status.FEASIBLE, Status.OPTIMAL)


def test_plans_add_their_amortised_uplift_to_senior_calls(catalogue):
    """A recommended plan adds to the senior call only, and exactly what the definition
    gives (oracle: p_reach · p_accept times the uplift paid as level weekly payments over
    the plan's term, summed payment by payment within the valuation horizon)."""
    frame = generate_portfolio(50, seed=9)
    ids = frame["account_id"].astype(str)
    plans = pd.DataFrame(
        {
            "account_id": ids[:6],
            "status": ["RECOMMENDED"] * 5 + ["NPV_TEST_FAILED"],
            "npv_vs_status_quo": [10_000.0, 10_000.0, 10_000.0, 2_500.0, -50.0, 10_000.0],
            "term": [60, 1, np.nan, 24, 24, 24],
        }
    )
    raw = read_catalogue_file()
    accept = raw["plans"]["p_reach"] * raw["plans"]["p_accept"]
    base, _, _ = treatment_values(frame, catalogue)
    senior = catalogue.names.index("senior_call")
    for weeks in (None, 2, 5, 52):
        kwargs = {} if weeks is None else {"valuation_weeks": weeks}
        with_plans, _, plan_value = treatment_values(frame, catalogue, plans, **kwargs)
        horizon = raw["plans"].get("valuation_weeks", 12) if weeks is None else weeks
        expected = np.zeros(len(frame))
        for j, (uplift, term) in enumerate([(10_000.0, 60), (10_000.0, 1), (10_000.0, 36),
                                            (2_500.0, 24)]):  # fmt: skip
            expected[j] = oracle_plan_offer_value(uplift, term, horizon, accept=accept)
        assert plan_value[senior] == pytest.approx(expected, abs=0.006)
        # this period's cash is the same with plans: the plan offer's value is apart
        assert np.array_equal(with_plans, base)
        other = [i for i in range(len(catalogue.names)) if i != senior]
        assert not plan_value[other].any()


def test_a_plan_offer_cannot_outweigh_a_weeks_cash_by_its_lifetime_npv(catalogue, teams):
    """Accounts whose best treatment beats the senior call by m this week get a 5-year plan
    of lifetime uplift U with p_reach · p_accept · U = 3 m: added whole (the old objective)
    it would win; amortised within the 12-week horizon it adds under m, and the allocation
    keeps the better week's cash. The plan offer's value is a small share of q · U (it is
    at most the horizon's share of the plan's payments, discounted)."""
    frame = generate_portfolio(400, seed=4)
    ample = teams.scaled(50.0)
    built = build_allocation_problem(frame, catalogue, ample)
    senior = catalogue.names.index("senior_call")
    value = built.treatment_value
    best = value.max(axis=0)
    margin = best - value[senior]
    pick = np.flatnonzero(np.isfinite(value[senior]) & (margin > 50.0))[:20]
    assert pick.size >= 5, "the test needs accounts where another treatment beats the call"
    accept = catalogue.plans.p_reach * catalogue.plans.p_accept
    uplift = 3.0 * margin[pick] / accept
    ids = frame["account_id"].astype(str).to_numpy()
    plans = pd.DataFrame({"account_id": ids[pick], "status": "RECOMMENDED",
                          "npv_vs_status_quo": uplift, "term": 60})  # fmt: skip
    assert (value[senior, pick] + accept * uplift > best[pick]).all()  # the lifetime rule
    _, _, plan_value = treatment_values(frame, catalogue, plans)
    horizon = catalogue.plans.valuation_weeks
    weekly_share = horizon / round(60 * 365.25 / 12 / 7)
    assert (plan_value[senior, pick] < margin[pick]).all()
    assert (plan_value[senior, pick] <= 1.01 * weekly_share * accept * uplift).all()
    result = allocate(frame, catalogue, ample, plans=plans, time_limit=20, workers=1)
    chosen = result.assignments["treatment"].to_numpy()[pick]
    assert not (chosen == "senior_call").any()


def test_valuation_weeks_setting_is_checked(catalogue):
    """``[plans] valuation_weeks`` takes a whole number of periods in [1, 520]."""
    raw = read_catalogue_file()
    assert Catalogue.from_mapping(raw).plans.valuation_weeks == raw["plans"]["valuation_weeks"]
    for bad in (0, 2.5, "12", True, 521):
        data = {**raw, "plans": {**raw["plans"], "valuation_weeks": bad}}
        with pytest.raises(InputError) as info:
            Catalogue.from_mapping(data, source="cat.toml")
        assert "plans: valuation_weeks" in "\n".join(info.value.problems)


def test_call_limits_are_enforced_in_the_catalogue():
    """A call schedule above 7 attempts per 7 days or 3 connected calls a day is rejected."""
    data = __import__("tomllib").loads(default_catalogue_path().read_text())
    data["treatments"]["agent_call"]["actions"] = 8
    data["treatments"]["ai_voice"]["connected_calls_per_day"] = 4
    with pytest.raises(InputError) as err:
        Catalogue.from_mapping(data, source="cat.toml")
    text = str(err.value)
    assert "7 per 7 days" in text and "connected_calls_per_day" in text


def test_team_capacity_counts_only_the_contact_window():
    """A 06:00–23:30 shift yields 14 contact hours a day (22:00–08:00 is quiet time)."""
    teams = Teams.from_mapping(
        {
            "teams": [
                {
                    "name": "x",
                    "type": "agent",
                    "members": 2,
                    "shift_start": 6.0,
                    "shift_end": 23.5,
                    "working_days": 5,
                    "productive_share": 1.0,
                }
            ]
        }
    )
    assert teams.teams[0].minutes_per_period == 2 * 5 * 14 * 60
    with pytest.raises(InputError, match="contact window"):
        Teams.from_mapping(
            {
                "teams": [
                    {"name": "y", "type": "agent", "members": 1, "minutes_per_period": 7 * 24 * 60}
                ]
            }
        )


def test_same_seed_same_allocation(catalogue, teams):
    """Two runs with the same seed give the same objective, treatments and account values.

    Known limit (issue 8, open): on a loaded machine a wall-clock-bounded phase can pick a
    different one of several equally valued teams, so the `team` column is not compared.
    """
    frame = generate_portfolio(300, seed=11)
    first = allocate(frame, catalogue, teams.scaled(0.01), time_limit=10, seed=3, workers=1)
    second = allocate(frame, catalogue, teams.scaled(0.01), time_limit=10, seed=3, workers=1)
    assert first.objective == pytest.approx(second.objective, rel=1e-12)
    cols = ["account_id", "treatment", "expected_value"]
    pd.testing.assert_frame_equal(first.assignments[cols], second.assignments[cols])


def test_cli_summary_objective_equals_sum_of_output_file(tmp_path, capsys):
    """`workout allocate --format json`: objective == Σ expected_value of the written file."""
    from cli import workout
    from commands.common import run_cli

    source = tmp_path / "p.csv"
    generate_portfolio(500, seed=4).to_csv(source, index=False)
    out = tmp_path / "alloc.csv"
    code = run_cli(
        workout,
        [
            "allocate",
            str(source),
            "--out",
            str(out),
            "--format",
            "json",
            "--time-limit",
            "3",
            "--budget",
            "20000",
        ],
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert {
        "objective",
        "bound",
        "gap",
        "status",
        "runtime_s",
        "by_treatment",
        "utilisation",
    } <= set(summary)
    table = pd.read_csv(out)
    cents = int(np.round(table["expected_value"].to_numpy() * 100).astype(np.int64).sum())
    assert cents == round(summary["objective"] * 100)
    assert summary["bound"] >= summary["objective"] and summary["gap"] >= 0
    assert sum(v["accounts"] for v in summary["by_treatment"].values()) == 500
    assert table["cost"].sum() <= 20000 + 1e-6
    assert not math.isnan(summary["objective"])


def test_cli_notes_a_run_the_wall_clock_stopped(tmp_path, capsys, monkeypatch):
    """On a (simulated) machine far slower than the work budgets assume, the table output
    says the wall clock stopped the search; on a normal run it says nothing of the kind."""
    from slow_clock import slow_down

    from cli import workout
    from commands.common import run_cli

    source = tmp_path / "p.csv"
    generate_portfolio(300, seed=4).to_csv(source, index=False)
    argv = ["allocate", str(source), "--out", str(tmp_path / "a.csv"), "--time-limit", "5"]
    assert run_cli(workout, argv) == 0
    assert "wall clock stopped" not in capsys.readouterr().out
    slow_down(monkeypatch, 1000.0)  # a 1,000x slower machine
    assert run_cli(workout, argv) == 0  # doing nothing is feasible: a result, with a note
    text = " ".join(capsys.readouterr().out.split())
    assert "wall clock stopped the search" in text and "less loaded machine" in text


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    """A portfolio with a missing required column exits 2, names the problem, writes nothing."""
    from cli import workout
    from commands.common import run_cli

    bad = tmp_path / "bad.csv"
    pd.DataFrame({"account_id": ["a"], "principal": [-5]}).to_csv(bad, index=False)
    out = tmp_path / "alloc.csv"
    code = run_cli(workout, ["allocate", str(bad), "--out", str(out)])
    assert code == 2
    assert not out.exists()
    assert "bad.csv" in capsys.readouterr().err


def test_twenty_thousand_accounts_certified_within_one_second(catalogue, teams):
    """Issue 19's fast first answer: 20,000 accounts with the bundled catalogue and teams at
    --time-limit 1 end with a certified gap ≤ 0.01 % (the teams make it a transportation
    problem, which the min-cost flow solves exactly). How long it takes is gated by
    benchmarks/bench_allocate.py (overrun and the 1-s answer), not here: a timed unit test
    fails on a loaded machine (2.33 s at load 11, session 10)."""
    frame = generate_portfolio(20_000, seed=0)
    result = allocate(frame, catalogue, teams, time_limit=1.0, seed=0)
    if "min-cost flow skipped" in result.stats["wall_clock_stop"]:
        pytest.skip("the machine is too loaded for the flow to start within the limit")
    assert result.gap <= 1e-4
    assert result.status is Status.OPTIMAL and "min-cost-flow" in result.method
    util = result.utilisation
    assert (util["used_minutes"] <= util["capacity_minutes"] + 1e-6).all()


def test_cli_history_equals_replan_then_allocate_replan(tmp_path, capsys):
    """``allocate --history H`` computes the steps as ``workout replan`` does and steers the
    allocation as ``--replan steps.csv``: the two allocations are the same file; with both
    options it is a usage error (exit 2, nothing written)."""
    from cli import workout
    from commands.common import run_cli

    book, history = tmp_path / "p.csv", tmp_path / "p_history.csv"
    args = ["generate", "portfolio", "--n", "300", "--seed", "7", "--history", "6"]
    assert run_cli(workout, [*args, "--out", str(book)]) == 0
    steps = tmp_path / "steps.csv"
    assert run_cli(workout, ["replan", str(book), "--history", str(history),
                             "--out", str(steps)]) == 0  # fmt: skip
    outs = {k: tmp_path / f"{k}.csv" for k in ("replan", "history", "plain", "both")}
    base = ["allocate", str(book), "--quiet", "--format", "csv"]
    assert run_cli(workout, [*base, "--replan", str(steps), "--out", str(outs["replan"])]) == 0
    assert run_cli(workout, [*base, "--history", str(history), "--out", str(outs["history"])]) == 0
    assert run_cli(workout, [*base, "--out", str(outs["plain"])]) == 0
    capsys.readouterr()
    assert outs["history"].read_bytes() == outs["replan"].read_bytes()
    # the steps change something: a broken plan's account is collected again
    lifted = pd.read_csv(steps).query("step in ['cure_window', 'reage', 'escalate']")
    assert len(lifted) > 0
    steered = pd.read_csv(outs["history"]).set_index("account_id")["treatment"]
    plain = pd.read_csv(outs["plain"]).set_index("account_id")["treatment"]
    ids = lifted["account_id"].astype(str)
    assert (plain[ids] == "none").all() and (steered[ids] != "none").any()
    both = [*base, "--history", str(history), "--replan", str(steps), "--out", str(outs["both"])]
    assert run_cli(workout, both) == 2
    assert "not both" in capsys.readouterr().err
    assert not outs["both"].exists()
    weeks = [*base, "--history", str(history), "--weeks", "3", "--out", str(outs["both"])]
    assert run_cli(workout, weeks) == 2 and not outs["both"].exists()
    broken = tmp_path / "broken_history.csv"
    pd.read_csv(history).drop(columns=["amount_paid"]).to_csv(broken, index=False)
    capsys.readouterr()
    bad = [*base, "--history", str(broken), "--out", str(outs["both"])]
    assert run_cli(workout, bad) == 2
    assert "amount_paid" in capsys.readouterr().err and not outs["both"].exists()
