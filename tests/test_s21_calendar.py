"""`workout calendar` says what its value is and names every bad input row (session 21).

1. The headline summed the allocation's ``uplift_vs_none`` (gain over no contact, after
   cost) and called it "expected collections"; an ``allocate --weeks`` file (no such column)
   was silently read by its ``expected_value``, another fact; and the bound was computed on
   unrounded per-attempt shares while the value summed rounded ones, so the value could
   exceed its "proven" bound (300 generated accounts, seed 3, ``--weeks 4``: 397,310.27 >
   397,310.22 on main's code).
2. Allocation problems named no file, row or account (``treatment: unknown carrier_pigeon``).

Oracles: sums of the files' own cells in :class:`decimal.Decimal` (the allocation's
``uplift_vs_none`` is the fact SPEC §8 calls the account's value over no action), problem
lines written out here in the project's ``FILE: row N (account_id X): column: what`` form.
The book and allocations are made by ``workout generate`` and ``workout allocate`` in
process (tests/cli_inprocess.py).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from cli_inprocess import run_workout

START = "2026-12-07"


def _text(path: Path) -> pd.DataFrame:
    """A CSV as text cells (blank = "")."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _cents(values: pd.Series) -> Decimal:
    """The exact sum of a column of money cells."""
    return sum((Decimal(v) for v in values), Decimal(0))


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """300 generated accounts (seed 3), their one-week allocation and an ``--weeks 4`` one."""
    d = tmp_path_factory.mktemp("s21cal")
    paths = {"book": d / "book.csv", "alloc": d / "alloc.csv", "weeks": d / "weeks.csv"}
    steps = [
        ["generate", "portfolio", "--n", 300, "--seed", 3, "--out", paths["book"]],
        ["allocate", paths["book"], "--out", paths["alloc"]],
        ["allocate", paths["book"], "--weeks", 4, "--out", paths["weeks"]],
    ]
    for args in steps:
        code, _, err = run_workout(*args, "--quiet")
        assert code == 0, err
    return paths


def _calendar(book: Path, alloc: Path, out: Path, *extra: object) -> tuple[int, str, str]:
    return run_workout("calendar", book, "--allocation", alloc, "--start", START,
                       "--out", out, *extra)  # fmt: skip


def test_headline_is_the_allocations_uplift_to_the_cent(book, tmp_path):
    """The headline names the uplift vs no action (not "expected collections"); its figure
    is the calendar's uplift_vs_none column summed, and each account's attempts sum to
    its allocation row's uplift_vs_none to the cent, split within a cent."""
    out = tmp_path / "cal.csv"
    code, stdout, err = _calendar(book["book"], book["alloc"], out)
    assert code == 0, err
    assert "expected collections" not in stdout
    flat = " ".join(stdout.split())
    found = re.search(r"uplift vs no action scheduled ([\d,.]+) CNY of ([\d,.]+) \(gain over "
                      r"no contact, after cost\), bound ([\d,.]+)", flat)  # fmt: skip
    assert found, stdout
    scheduled, requested, bound = (Decimal(g.replace(",", "")) for g in found.groups())
    cal, alloc = _text(out), _text(book["alloc"]).set_index("account_id")
    summary = json.loads(_calendar(book["book"], book["alloc"], out, "--format", "json")[1])
    assert summary["attempts_scheduled"] == summary["attempts_requested"] == len(cal)
    assert scheduled == _cents(cal["uplift_vs_none"]) == requested == bound
    per_account = cal.groupby("account_id")["uplift_vs_none"]
    for acct, cells in per_account:
        assert _cents(cells) == Decimal(alloc.loc[acct, "uplift_vs_none"]), acct
        shares = [Decimal(c) for c in cells]
        assert max(shares) - min(shares) <= Decimal("0.01"), acct
    assert requested == _cents(alloc.loc[list(per_account.groups), "uplift_vs_none"])


def test_weekly_allocation_is_refused_by_name(book, tmp_path):
    """An `allocate --weeks` file has no uplift_vs_none: exit 2 naming the file, the column
    and --weeks, nothing written (its expected_value is not read in its stead)."""
    out = tmp_path / "cal.csv"
    code, _, err = _calendar(book["book"], book["weeks"], out)
    assert code == 2
    assert f"{book['weeks']}: allocation: missing column(s) uplift_vs_none" in err
    assert "--weeks" in err and "Traceback" not in err
    assert not out.exists()


def test_value_never_above_the_bound_on_weekly_values(book, tmp_path):
    """The weekly file's values given as uplift_vs_none (the reviewer's case: main's code
    scheduled 397,310.27 against a bound of 397,310.22): the value is the calendar column's
    sum and never above the bound."""
    renamed = tmp_path / "weeks_as_uplift.csv"
    weeks = _text(book["weeks"])
    weeks.rename(columns={"expected_value": "uplift_vs_none"}).to_csv(renamed, index=False)
    out = tmp_path / "cal.csv"
    code, stdout, err = _calendar(book["book"], renamed, out, "--format", "json")
    assert code == 0, err
    s = json.loads(stdout)
    value = Decimal(str(s["uplift_vs_none_scheduled"]))
    assert value == _cents(_text(out)["uplift_vs_none"])
    assert value <= Decimal(str(s["bound"]))
    assert 0.0 <= s["gap"] < 1e-6  # every attempt fits: the bound is the value itself


def test_bad_allocation_rows_name_file_row_account_and_column(book, tmp_path):
    """Unknown treatments and teams, a repeated account, an account of another book, a bad
    value and a book account without a row: exit 2, every problem in one list naming the
    file, the row (1 = first data row), the account and the column; nothing written."""
    alloc = _text(book["alloc"])
    ids = alloc["account_id"].tolist()
    alloc.loc[[0, 4], "treatment"] = "carrier_pigeon"
    alloc.loc[2, "team"] = "nobody"
    alloc.loc[5, "uplift_vs_none"] = "lots"
    alloc.loc[6, "account_id"] = "ZZ404"
    alloc = pd.concat([alloc, alloc.iloc[[1]]], ignore_index=True)  # row 301 repeats row 2
    bad = tmp_path / "bad.csv"
    alloc.to_csv(bad, index=False)
    out = tmp_path / "cal.csv"
    code, _, err = _calendar(book["book"], bad, out)
    assert code == 2 and "Traceback" not in err
    assert not out.exists()
    lines = [line.strip() for line in err.splitlines()]
    assert f"Error: {bad}: 7 problems found in the allocation" in lines[0]
    expected = [
        f"{bad}: accounts of the book without an allocation row: 1 (first: {ids[6]})",
        f"{bad}: row 1 (account_id {ids[0]}): treatment: unknown 'carrier_pigeon' (not in the "
        "catalogue)",
        f"{bad}: row 3 (account_id {ids[2]}): team: unknown 'nobody' (not in the teams file)",
        f"{bad}: row 5 (account_id {ids[4]}): treatment: unknown 'carrier_pigeon' (not in the "
        "catalogue)",
        f"{bad}: row 6 (account_id {ids[5]}): uplift_vs_none: not a number, got 'lots'",
        f"{bad}: row 7 (account_id ZZ404): account_id: not in the book (the allocation of "
        "another book?)",
        f"{bad}: row 301 (account_id {ids[1]}): account_id: repeated (one row per account)",
    ]
    assert lines[1:] == expected


def test_history_and_contact_column_problems_name_the_file(book, tmp_path):
    """A bad history outcome and a book's unknown time zone are named FILE: row N
    (account_id X): column: what, like every other reader's problems."""
    ids = _text(book["alloc"])["account_id"].tolist()
    hist = tmp_path / "history.csv"
    pd.DataFrame({"account_id": ids[:2], "timestamp": ["2026-12-01T02:00Z"] * 2,
                  "channel": ["phone", "phone"], "outcome": ["connected", "shouted"]}
                 ).to_csv(hist, index=False)  # fmt: skip
    out = tmp_path / "cal.csv"
    code, _, err = _calendar(book["book"], book["alloc"], out, "--history", hist)
    assert code == 2
    assert f"{hist}: row 2 (account_id {ids[1]}): outcome: must be one of" in err
    assert "got 'shouted'" in err
    zoned = tmp_path / "zoned.csv"
    frame = _text(book["book"])
    frame.assign(timezone=["Asia/Shanghai", "", "Mars/Base", *[""] * (len(frame) - 3)]).to_csv(
        zoned, index=False
    )
    code, _, err = _calendar(zoned, book["alloc"], out)
    assert code == 2
    first = frame["account_id"].iloc[2]
    assert f"{zoned}: row 3 (account_id {first}): timezone: unknown 'Mars/Base'" in err
    assert not out.exists()
