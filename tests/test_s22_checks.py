"""Inputs checked once per run, and the status quo evaluated once (session 22).

Session 21 left three checks done twice on one run, each "on purpose for library
callers": ``workout calendar`` checked its allocation rows in ``read_allocation`` and again
in ``schedule_contacts``; a dataset ``--out`` was checked by the command and again at the
start of ``Engine.map_partitions``; ``evaluate_counter_offer`` evaluated the status quo
once for its figures and once for the NPV test. Each is now done once, the checked value
handed on (``CheckedAllocation``, ``CheckedDatasetOut``, as ``CheckedPlans``); a plain
value from a library caller is still checked.

The tests count calls of the checking functions (wrapped with monkeypatch) and name the
caller of each; all of the counting tests fail on main's code. The book and allocation
are made by ``workout generate`` and ``workout allocate`` in process.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cli_inprocess import run_workout
from oracles import AccountModel, ModelNumbers

ROOT = Path(__file__).resolve().parents[1]
START = "2026-12-07"


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """60 generated accounts (seed 4) and their one-week allocation."""
    d = tmp_path_factory.mktemp("s22checks")
    paths = {"book": d / "book.csv", "alloc": d / "alloc.csv"}
    for args in (
        ["generate", "portfolio", "--n", 60, "--seed", 4, "--out", paths["book"]],
        ["allocate", paths["book"], "--out", paths["alloc"]],
    ):
        code, _, err = run_workout(*args, "--quiet")
        assert code == 0, err
    return paths


def _record(
    monkeypatch: pytest.MonkeyPatch, calls: list[str], module: Any, name: str
) -> Callable[..., Any]:
    """Wrap ``module.name`` so that each call appends its caller's function name."""
    real = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(sys._getframe(1).f_code.co_name)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return real


def test_calendar_checks_its_allocation_rows_once(book, tmp_path, monkeypatch):
    """`workout calendar` runs the allocation's row check once, in the reader that names
    the file (main: again in schedule_contacts)."""
    import solver.allocation.calendar.inputs as inputs
    import solver.allocation.calendar.scheduler as scheduler

    calls: list[str] = []
    real = _record(monkeypatch, calls, inputs, "allocation_problems")
    # the scheduler holds its own reference to the function (main's imports it by name)
    monkeypatch.setattr(scheduler, "allocation_problems", inputs.allocation_problems)
    assert real is not inputs.allocation_problems
    out = tmp_path / "cal.csv"
    code, _, err = run_workout(
        "calendar", book["book"], "--allocation", book["alloc"], "--start", START, "--out", out,
        "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert calls == ["read_allocation"]


def test_a_checked_allocation_of_another_book_is_checked_again(book):
    """A CheckedAllocation handed to schedule_contacts with another book (an account
    missing) is checked again: its row for that account is an error, as a plain table's."""
    from solver.allocation.calendar.channels import Channels
    from solver.allocation.calendar.inputs import check_allocation
    from solver.allocation.calendar.scheduler import schedule_contacts
    from solver.allocation.catalogue import Catalogue
    from solver.allocation.teams import Teams
    from solver.core.readers import read_portfolio
    from solver.errors import InputError

    catalogue = Catalogue.from_toml(None)
    teams = Teams.from_toml(None, compliance=catalogue.compliance)
    frame = read_portfolio(book["book"], unknown_columns="ignore")
    checked = check_allocation(book["alloc"], frame["account_id"], catalogue.names, teams.names)
    assert checked.checked_with(frame["account_id"], catalogue.names, teams.names)
    smaller = frame.iloc[1:].reset_index(drop=True)
    assert not checked.checked_with(smaller["account_id"], catalogue.names, teams.names)
    first = str(frame["account_id"].iloc[0])
    for allocation in (checked, checked.table):
        with pytest.raises(InputError) as err:
            schedule_contacts(
                smaller, allocation, catalogue, teams, Channels.from_toml(), start=START
            )
        assert any(
            f"(account_id {first}): account_id: not in the book" in p for p in err.value.problems
        ), err.value.problems


def test_dataset_out_is_checked_by_the_command_not_again_by_the_engine(book, tmp_path, monkeypatch):
    """`plan-portfolio --out DIR` checks the folder once before the work (the command) and
    once before replacing it (files put there during the run); main checked it a third
    time at the start of map_partitions."""
    import solver.engines.base as base
    import solver.engines.dataset as dataset

    calls: list[str] = []
    _record(monkeypatch, calls, dataset, "check_dataset_out")
    _record(monkeypatch, calls, base, "check_dataset_out")  # map_partitions' own reference
    out = tmp_path / "plans"
    code, _, err = run_workout("plan-portfolio", book["book"], "--out", out, "--quiet")
    assert code == 0, err
    parts = sorted(p.name for p in out.iterdir())
    assert parts and all(p.startswith("part-") for p in parts), parts
    assert calls == ["check_dataset_output", "_publish"]


def test_a_plain_dataset_out_is_still_checked_by_the_engine(tmp_path):
    """A library caller's plain folder is checked at the start of map_partitions (a file
    not of a dataset is refused), and a CheckedDatasetOut whose check did not cover the
    map's source (now inside the folder) is checked again."""
    from solver.engines.dataset import check_dataset_out
    from solver.engines.local import LocalEngine
    from solver.errors import InputError

    frame = pd.DataFrame({"account_id": ["a", "b"], "x": [1.0, 2.0]})
    folder = tmp_path / "ds"
    checked = check_dataset_out(folder)  # not there yet: nothing to refuse
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")
    with pytest.raises(InputError, match="notes.txt"):
        LocalEngine().write_dataset(frame, folder)
    (folder / "notes.txt").unlink()
    source = folder / "book.parquet"
    frame.to_parquet(source)
    with pytest.raises(InputError, match=r"the input source .* is in this folder"):
        LocalEngine().map_partitions(lambda f: f, source, out=checked)
    assert source.exists()


def _oracle_evaluation(account: Any, schedule: Any, model: Any) -> dict[str, Any]:
    """SPEC §4 of ``schedule`` by tests/oracles.py's own arithmetic (``AccountModel``): NPV,
    PDs and expected loss, each month's exposure the balance before its payment."""
    payments = schedule.payment.tolist()
    exposures = [int(schedule.opening_balance), *schedule.balance.tolist()[:-1]]
    return AccountModel(account, model).evaluate_cents(payments, exposures)


def test_counter_offer_evaluates_the_status_quo_once(monkeypatch):
    """evaluate_counter_offer evaluates the status quo schedule once (main: twice), and its
    status-quo NPV, the booked plan's figures against it and the NPV test are SPEC §4's
    (tests/oracles.py) under the model passed."""
    import solver.officer.counter_offer as co
    from solver.core import BehaviourModel, Policy, status_quo
    from solver.core.readers import read_account
    from solver.officer.proposal import Proposal

    account = read_account(ROOT / "scenarios" / "sample_account.toml")
    # not the default model: a status quo evaluated under the defaults would show
    model = BehaviourModel(kappa=0.3, cost_of_funds=0.05)
    policy = Policy()
    plans = co.plan_options(account, policy.for_product(account.product), model)
    # the schedule is status_quo's (tests/test_plan_batching.py checks it against SPEC §4 by
    # hand); what is checked here is how the counter-offer evaluates it
    baseline = status_quo(account)
    evaluated: list[np.ndarray] = []
    real = co.evaluate

    def counted(acc: Any, payments: Any, *args: Any, **kwargs: Any) -> Any:
        evaluated.append(np.asarray(getattr(payments, "payments", payments), dtype=float))
        return real(acc, payments, *args, **kwargs)

    monkeypatch.setattr(co, "evaluate", counted)
    offer = co.evaluate_counter_offer(account, Proposal(amount=1500.0), policy, model, plans=plans)
    monkeypatch.undo()
    sq_payments = np.asarray(baseline.payments, dtype=float)
    on_status_quo = [
        p for p in evaluated if p.shape == sq_payments.shape and (p == sq_payments).all()
    ]
    assert len(on_status_quo) == 1
    sq = _oracle_evaluation(account, baseline, model)
    booked = _oracle_evaluation(account, offer.schedule, model)
    assert offer.status_quo_npv == pytest.approx(sq["npv"], rel=1e-9)
    for key in ("npv", "pd_12m", "pd_life", "expected_loss"):
        assert offer.figures[key] == pytest.approx(booked[key], rel=1e-9), key
    # the difference as every output rounds it (to the cent)
    assert offer.figures["npv_vs_status_quo"] == pytest.approx(booked["npv"] - sq["npv"], abs=0.01)
    # concession cost: the status quo's payments less the booked ones, each discounted δ^t
    delta = ModelNumbers.read(model).delta
    forgone = sum(
        (a - b) / 100 * delta**t
        for t, (a, b) in enumerate(
            itertools.zip_longest(
                baseline.payment.tolist(), offer.schedule.payment.tolist(), fillvalue=0
            ),
            start=1,
        )
    )
    assert offer.figures["concession_cost"] == pytest.approx(forgone, rel=1e-9)
    assert offer.npv_test_passed == (booked["npv"] > sq["npv"])


def test_risk_score_dataset_out_is_checked_by_the_command_not_again(tmp_path, monkeypatch):
    """`risk score HISTORY --out DIR` (a history model's scores written in parts) checks the
    folder in the command and before replacing it, not a third time in the engine (the
    s22-checks merge left the command throwing its check away)."""
    import solver.engines.base as base
    import solver.engines.dataset as dataset

    book, model = tmp_path / "book.csv", tmp_path / "ew.toml"
    history = tmp_path / "book_history.csv"
    for args in (
        ["generate", "portfolio", "--n", 200, "--history", 12, "--out", book],
        ["risk", "fit", history, "--out", model, "--no-png"],
    ):
        code, _, err = run_workout(*args, "--quiet")
        assert code == 0, err
    calls: list[str] = []
    _record(monkeypatch, calls, dataset, "check_dataset_out")
    _record(monkeypatch, calls, base, "check_dataset_out")  # map_partitions' own reference
    out = tmp_path / "scores"
    code, _, err = run_workout(
        "risk", "score", history, "--ew-model", model, "--out", out, "--quiet"
    )
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir())[0].startswith("part-")
    assert calls == ["check_dataset_output", "_publish"]
