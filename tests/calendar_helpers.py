"""Book and allocation files for the calendar and replan tests (session 24).

The flag names are SPEC §3's, written here once for the tests (an oracle's own list, not
the code under test's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from solver.core.generate import generate_portfolio

#: SPEC §3's contact flags.
FLAGS = ("has_plan", "cease_contact", "dispute", "bankruptcy", "hardship")


def flagged_book(
    tmp_path: Path, flags: Mapping[int, Sequence[str]], n: int = 40, seed: int = 11
) -> tuple[Path, list[str]]:
    """A generated book written to ``tmp_path/book.csv`` with every flag off except
    ``flags`` (row -> flags set); the path and the account ids."""
    frame = generate_portfolio(n, seed=seed).copy()
    for flag in FLAGS:
        frame[flag] = False
    for row, names in flags.items():
        for flag in names:
            frame.loc[row, flag] = True
    path = tmp_path / "book.csv"
    frame.to_csv(path, index=False)
    return path, frame["account_id"].astype(str).tolist()


def allocation_file(
    path: Path,
    ids: list[str],
    contacts: Mapping[str, tuple[str, str]],
    uplift_step: float = 0.0,
) -> Path:
    """An allocation: ``none`` except ``contacts`` (account -> treatment, team), whose
    ``uplift_vs_none`` is 100 plus ``uplift_step`` per row (0 for the others)."""
    rows = [
        {"account_id": a, "treatment": contacts.get(a, ("none", ""))[0],
         "team": contacts.get(a, ("none", ""))[1],
         "uplift_vs_none": 100.0 + uplift_step * k if a in contacts else 0.0}
        for k, a in enumerate(ids)
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return path
