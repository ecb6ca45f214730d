"""Session 25 (s25-alloc): one rule for the two sources of the replan steps, and the book's
``has_plan`` stop lifted once per allocation.

Oracles: the messages are read for the option names each command was given; the lift is
counted by wrapping ``solver.allocation.replan._lift`` (a real lift returns a new frame),
and the lifted book is compared with ``has_plan`` cleared by hand for the lifted steps.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from calendar_helpers import flagged_book
from cli_inprocess import run_workout

import solver.allocation.replan as replan
from solver.allocation.catalogue import Catalogue
from solver.allocation.portfolio import allocate
from solver.allocation.teams import Teams
from solver.core.generate import generate_portfolio
from solver.errors import InputError


def test_the_rule_names_the_callers_options(tmp_path: Path) -> None:
    """check_step_sources and load_steps refuse both sources, naming the options passed."""
    steps, history = tmp_path / "s.csv", tmp_path / "h.csv"
    with pytest.raises(InputError, match=r"^--a gives the steps, --b computes them: give one"):
        replan.check_step_sources(steps, history, ("--a", "--b"))
    with pytest.raises(InputError, match=r"--replan gives the steps, --history computes them"):
        replan.load_steps(generate_portfolio(3, seed=1), steps, history)
    replan.check_step_sources(steps, None, ("--a", "--b"))  # one source: no error
    replan.check_step_sources(None, history, ("--a", "--b"))


@pytest.mark.parametrize(
    ("command", "history_option"),
    [("allocate", "--history"), ("calendar", "--payment-history")],
)
def test_both_commands_refuse_both_sources(tmp_path: Path, command: str, history_option: str):
    """allocate and calendar given both sources exit 2, name their own two options and
    write nothing."""
    book, _ = flagged_book(tmp_path, {}, n=10)
    steps = tmp_path / "steps.csv"
    pd.DataFrame({"account_id": [], "step": []}).to_csv(steps, index=False)
    out = tmp_path / "out.csv"
    extra = ["--allocation", steps] if command == "calendar" else []
    code, _, err = run_workout(
        command, book, *extra, "--replan", steps, history_option, steps, "--out", out
    )
    assert code == 2 and "Traceback" not in err
    assert f"--replan gives the steps, {history_option} computes them" in err
    assert not out.exists()


def test_allocate_lifts_the_plan_stop_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """One allocate run with steps makes one lifted copy of the book (the eligibility reads
    that copy, not lifted again), and lift_plan_stop returns a lifted book as it is."""
    frame = generate_portfolio(60, seed=5).copy()
    for flag in ("cease_contact", "dispute", "bankruptcy"):
        frame[flag] = False
    frame["has_plan"] = False
    frame.loc[:5, "has_plan"] = True
    ids = frame["account_id"].astype(str).tolist()
    steps = {ids[0]: "reage", ids[1]: "escalate", ids[2]: "monitor", ids[3]: "cure_window"}
    lifted = replan.lift_plan_stop(frame, steps)
    expected = frame["has_plan"].to_numpy(dtype=bool).copy()
    expected[[0, 1, 3]] = False  # the lifted steps' accounts
    assert (lifted["has_plan"].to_numpy(dtype=bool) == expected).all()
    assert replan.lift_plan_stop(lifted, steps) is lifted
    real, copies = replan._lift, []

    def counting(portfolio, step):
        out = real(portfolio, step)
        if out is not portfolio:
            copies.append(out)
        return out

    monkeypatch.setattr(replan, "_lift", counting)
    allocate(frame, Catalogue.default(), Teams.default(), steps=steps, time_limit=10)
    assert len(copies) == 1
