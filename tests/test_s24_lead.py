"""Session 24 (lead): ``allocate --replan``'s reason column for broken plans.

A broken plan's account whose ``has_plan`` stop the replan steps lift may be given a
contact; its ``reason`` must not then say "has_plan: no collection contact" (the
allocation read the reason from the book as written, not as the steps steered it).
Oracle: the written allocation file, read with pandas.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from calendar_helpers import flagged_book
from cli_inprocess import run_workout


def test_replanned_contacts_have_no_has_plan_reason(tmp_path: Path) -> None:
    """Accounts with a lifted has_plan stop that get a contact carry no 'has_plan' reason,
    while an un-lifted has_plan account still gets none and says why."""
    book, ids = flagged_book(tmp_path, {0: ["has_plan"], 1: ["has_plan"], 2: ["has_plan"]}, n=60)
    steps = tmp_path / "steps.csv"
    pd.DataFrame({"account_id": ids[:2], "status": "broken", "step": ["reage", "escalate"]}).to_csv(
        steps, index=False
    )
    out = tmp_path / "alloc.csv"
    code, _, err = run_workout("allocate", book, "--replan", steps, "--out", out, "--quiet")
    assert code == 0, err
    alloc = pd.read_csv(out, keep_default_na=False).set_index("account_id")
    lifted = alloc.loc[ids[:2]]
    assert (lifted["treatment"] != "none").any()  # the steps did give a contact
    assert not lifted["reason"].str.contains("has_plan").any(), lifted["reason"].tolist()
    kept = alloc.loc[ids[2]]
    assert kept["treatment"] == "none" and "has_plan" in kept["reason"]


def test_calendar_names_a_payment_history_given_as_contact_history(tmp_path: Path) -> None:
    """A payment history given where the calendar reads its contact history is refused
    with the hint to pass it as --payment-history; another table gets no such hint."""
    import pytest

    from solver.allocation.calendar.inputs import read_history
    from solver.errors import InputError

    book = tmp_path / "book.csv"
    code, _, err = run_workout(
        "generate", "portfolio", "--n", "20", "--seed", "3", "--history", "3", "--out", book
    )
    assert code == 0, err
    with pytest.raises(InputError, match="give it as --payment-history"):
        read_history(tmp_path / "book_history.csv")
    with pytest.raises(InputError) as other:
        read_history(book)
    assert "--payment-history" not in str(other.value)
