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
        ("plans.txt", "x", "unknown table format '.txt'"),
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


def test_read_plans_takes_a_parquet_dataset_directory_and_excel(tmp_path) -> None:
    """A plan-portfolio Parquet dataset directory and an Excel workbook read as the CSV does
    (ids as text from Excel too)."""
    frame = pd.DataFrame(
        {"account_id": ["007", "010"], "status": "RECOMMENDED", "npv_vs_status_quo": [1.0, 2.0]}
    )
    dataset = tmp_path / "plans"
    dataset.mkdir()
    frame.iloc[:1].to_parquet(dataset / "part-0.parquet", index=False)
    frame.iloc[1:].to_parquet(dataset / "part-1.parquet", index=False)
    got = read_plans(dataset).sort_values("account_id").reset_index(drop=True)
    assert got["account_id"].tolist() == ["007", "010"]
    assert got["npv_vs_status_quo"].tolist() == [1.0, 2.0]
    workbook = tmp_path / "plans.xlsx"
    frame.to_excel(workbook, index=False)
    assert read_plans(workbook)["account_id"].tolist() == ["007", "010"]
