"""Reading a book's plans for `workout allocate --plans` (solver.allocation.portfolio.read_plans,
match_plans): errors name the file, plans of another book are refused, partial matches
are reported with both counts."""

from __future__ import annotations

import pandas as pd
import pytest

from solver.allocation.portfolio import match_plans, read_plans
from solver.errors import InputError


def _plans(path, ids, **extra) -> None:
    frame = pd.DataFrame(
        {"account_id": ids, "status": "RECOMMENDED", "npv_vs_status_quo": 1.0, **extra}
    )
    frame.to_csv(path, index=False)


def test_read_plans_keeps_ids_as_text(tmp_path) -> None:
    path = tmp_path / "plans.csv"
    _plans(path, ["007", "010"])
    assert read_plans(path)["account_id"].tolist() == ["007", "010"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("plans.txt", "x", "plans must be .csv, .parquet or .xlsx"),
        ("plans.csv", "account_id,status\nA,RECOMMENDED\n", "missing column(s) npv_vs_status_quo"),
        ("missing.csv", None, "file not found"),
    ],
)
def test_read_plans_errors_name_the_file(tmp_path, name, content, expected) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as err:
        read_plans(path)
    assert str(path) in str(err.value) and expected in str(err.value)


def test_plans_of_another_book_are_refused() -> None:
    plans = pd.DataFrame({"account_id": ["X1", "X2"]})
    book = pd.DataFrame({"account_id": ["A1", "A2", "A3"]})
    with pytest.raises(InputError, match="none of its 2 account ids is in the portfolio book.csv"):
        match_plans(plans, book, "--plans p.csv", "book.csv")


def test_partial_match_reports_both_counts() -> None:
    plans = pd.DataFrame({"account_id": ["A1", "X9"]})
    book = pd.DataFrame({"account_id": ["A1", "A2", "A3"]})
    (note,) = match_plans(plans, book, "--plans p.csv", "book.csv")
    assert note == (
        "2 of the 3 accounts of book.csv have no plan there (no plan is offered to them); "
        "1 plan rows are for accounts not in book.csv (ignored)"
    )
    assert match_plans(book, book, "--plans p.csv", "book.csv") == []
