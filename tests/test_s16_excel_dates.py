"""A date in a number cell of an Excel book names its cell (review of 49935c5).

Oracle: a workbook built with openpyxl whose cell positions are known by construction
(header in row 1, so data row k is sheet row k + 1; principal is column C).
"""

from __future__ import annotations

import datetime as dt

import pytest
from cli_inprocess import run_workout
from openpyxl import Workbook

HEADER = ["account_id", "product", "principal", "annual_rate", "remaining_term", "income",
          "expenses"]  # fmt: skip


@pytest.fixture
def book(tmp_path):
    """x3.xlsx: a date in C2 (principal), a date-time in E3 (remaining_term), a valid row."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "portfolio"
    sheet.append(HEADER)
    sheet.append(["X1", "auto_loan", dt.datetime(2024, 1, 1), 0.08, 24, 8000, 3000])
    sheet.append(["X2", "auto_loan", 50000, 0.08, dt.datetime(2024, 3, 5, 14, 30), 8000, 3000])
    sheet.append(["X3", "auto_loan", 50000, 0.08, 24, 8000, 3000])
    path = tmp_path / "x3.xlsx"
    workbook.save(path)
    return path


def test_validate_names_the_cell_of_a_date(book):
    """validate exits 2 saying which cell holds which date, without Python's repr."""
    code, _, err = run_workout("validate", book)
    assert code == 2, err
    assert "principal: cell C2 holds a date (2024-01-01), not a number" in err
    assert "remaining_term: cell E3 holds a date (2024-03-05 14:30:00), not a number" in err
    assert "datetime" not in err and "2 problems" in err


def test_a_date_cell_writes_nothing(book, tmp_path):
    """plan-portfolio on the book exits 2 with the cell named and writes no output."""
    out = tmp_path / "plans.csv"
    code, _, err = run_workout("plan-portfolio", book, "--out", out)
    assert code == 2 and "cell C2 holds a date (2024-01-01)" in err, err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["x3.xlsx"]
