"""Session 25 mends of the plan commands (architecture, one definition of each fact).

1. ``plan --schedule`` refuses a label no run can print (its family part is no family, or a
   mode on a family without modes) before the plan search, exit 2, naming the families;
   labels that depend on the run (frontier plans, ``custom 5m``) are still resolved after
   it, by :func:`solver.officer.offers.plan_option`, the rule ``offer --option`` uses.
2. plan-portfolio's summary counts accounts by the solver's outcome statuses
   (:data:`solver.plans.portfolio.OUTCOME_COUNTS`): every account counted exactly once.
3. The numba cache check is the solver's (:mod:`solver.plans.kernel_cache`).
4. The plan and officer command modules stay a few hundred lines.

Which fail on main (d5819ad): the two --schedule tests (the search runs first: the patched
search raises, an internal error) and the imports of the new names (check_plan_label,
OUTCOME_COUNTS, solver.plans.kernel_cache), each inside its test so that each fails alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_inprocess import run_workout

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
TINY = ROOT / "tests" / "data" / "portfolio" / "tiny.csv"

#: SPEC §6's plan families, spelt out here (not read from the code under test).
SPEC_FAMILIES = ("instalment", "deferral", "step", "concession", "settlement", "custom")


@pytest.fixture
def no_search(monkeypatch):
    """The plan search replaced by one that fails the test if it is called."""
    import solver.officer.documents as documents

    def searched(*args, **kwargs):
        raise AssertionError("the plan search ran before the label was refused")

    monkeypatch.setattr(documents, "plan_result", searched)


def test_misspelt_family_is_refused_before_the_search(tmp_path, no_search):
    """plan --schedule custm: exit 2 without searching, nothing written, the message names
    the label, suggests custom and lists every family."""
    out = tmp_path / "options.csv"
    code, stdout, err = run_workout("plan", SAMPLE, "--schedule", "custm", "--out", out)
    assert code == 2, err
    assert stdout == "" and not out.exists()
    assert "--schedule custm" in err and "internal error" not in err
    assert "did you mean custom" in err
    for family in SPEC_FAMILIES:
        assert family in err


def test_mode_on_a_family_without_modes_is_refused_before_the_search(no_search):
    """plan --schedule instalment/waive and deferral/later: exit 2 without searching; the
    message lists the deferral modes."""
    for label in ("instalment/waive", "deferral/later 3+30m"):
        code, stdout, err = run_workout("plan", SAMPLE, "--schedule", label)
        assert code == 2, (label, err)
        assert stdout == "" and f"--schedule {label}" in err
        for mode in ("capitalize", "interest_only", "waive"):
            assert f"deferral/{mode}" in err


@pytest.fixture(scope="module")
def sample_plans():
    """The sample account's plan options (bank objective), as ``workout plan`` makes them."""
    from commands.accounts import load_account
    from solver.officer.documents import plan_result

    account, policy, model = load_account(SAMPLE, None, None, None, None, ())
    return plan_result(account, policy, model, objective="bank", within_pct=1.0, thorough=False)


def test_every_label_a_run_prints_passes_the_early_check(sample_plans):
    """Every label the run prints (status quo, each option, each frontier plan) passes the
    check made before the search, and resolves to the plan of that label."""
    from solver.officer.offers import check_plan_label, plan_option
    from solver.plans import efficient_frontier

    plans = [sample_plans.status_quo, *sample_plans.options, *efficient_frontier(sample_plans)]
    assert any(" " in p.label for p in plans)  # frontier labels are among them
    for plan in plans:
        check_plan_label(plan.label, "--schedule")
        assert plan_option(sample_plans, plan.label, option="--schedule", shown=True).label == (
            plan.label
        )


def test_schedule_and_offer_messages_list_their_labels(sample_plans):
    """After the search an unknown label is refused by the one rule: --schedule lists every
    plan shown (status quo and waterfall too), --option only what may be offered."""
    from solver.errors import InputError
    from solver.officer.offers import plan_option

    with pytest.raises(InputError) as shown:
        plan_option(sample_plans, "custom 5m", option="--schedule", shown=True)
    with pytest.raises(InputError) as offered:
        plan_option(sample_plans, "custom 5m")
    assert str(shown.value).startswith("--schedule custom 5m: no such option")
    assert str(offered.value).startswith("--option custom 5m: no such option")
    assert "status_quo" in str(shown.value) and "waterfall" in str(shown.value)
    assert "waterfall" not in str(offered.value) and "counter_offer" in str(offered.value)


def test_summary_counts_every_account_once():
    """plan-portfolio's summary: the outcome counts of each row add up to its accounts,
    and the summary's count columns are the solver's outcome statuses."""
    import pandas as pd

    from solver.core.readers import read_portfolio
    from solver.domain import Status
    from solver.plans.portfolio import OUTCOME_COUNTS, plan_portfolio

    plans = plan_portfolio(read_portfolio(TINY))
    summary = plans.summary()
    counted = summary[list(OUTCOME_COUNTS)].sum(axis=1)
    pd.testing.assert_series_equal(counted, summary["accounts"], check_names=False)
    # the plan outcomes of Status's docstring, and INFEASIBLE (no plan satisfies the policy)
    assert set(OUTCOME_COUNTS.values()) == {
        Status.RECOMMENDED,
        Status.INFEASIBLE,
        Status.NPV_TEST_FAILED,
        Status.CONTRACT_AFFORDABLE,
        Status.ERROR,
    }


def test_summary_columns_show_every_outcome_count():
    """Each outcome count of the solver has a column in plan-portfolio's summary table."""
    from commands.plan_portfolio_output import SUMMARY_COLUMNS
    from solver.plans.portfolio import OUTCOME_COUNTS

    assert set(OUTCOME_COUNTS) <= {c.name for c in SUMMARY_COLUMNS}


def test_kernel_cache_check_is_the_solvers():
    """kernels_cold is defined in the plan engine's package, not in a command module."""
    from solver.plans import kernel_cache

    assert kernel_cache.kernels_cold.__module__ == "solver.plans.kernel_cache"
    assert all(p.startswith("solver.") for p in kernel_cache.PLAN_ENGINE_MODULES)


@pytest.mark.parametrize(
    "module",
    [
        "commands/plan.py",
        "commands/plan_output.py",
        "commands/plan_portfolio.py",
        "commands/officer.py",
        "solver/officer/offers.py",
        "solver/officer/counter_offer.py",
    ],
)
def test_plan_and_officer_modules_stay_small(module):
    """The plan and officer command modules (and the officer's solver modules) are under
    400 lines: split along their seams (STYLE: modules of a few hundred lines)."""
    lines = (ROOT / module).read_text(encoding="utf-8").count("\n")
    assert lines < 400, f"{module}: {lines} lines"
