"""The pandera table schemas (solver/core/frame_checks.py) and how their failures become the
project's problem lines (issue 14), asserted on the InputError messages of the public
validators (validate_portfolio, validate_history): one line per cell in the account book,
the cross-column check only on otherwise clean rows, rows told at their position whatever
the frame's index or order, and a bug of ours (a wrong dtype) never passed off as a user's
problem."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandera.config import config_context

from solver.core.account import Account
from solver.core.validation import validate_portfolio
from solver.errors import InputError
from solver.risk.history import validate_history

GOOD = {
    "account_id": ["A1", "A2", "A3", "A4"],
    "principal": ["1000", "2000", "3000", "4000"],
    "arrears": ["10", "20", "30", "40"],
    "annual_rate": ["0.1", "0.1", "0.1", "0.1"],
    "remaining_term": ["12", "12", "12", "12"],
    "income": ["5000", "5000", "5000", "5000"],
    "expenses": ["1000", "1000", "1000", "1000"],
}


def _problems(**changes: dict[int, str]) -> list[str]:
    """The problem lines of GOOD with cells replaced (column -> {row index: text})."""
    table = pd.DataFrame(GOOD)
    for column, cells in changes.items():
        for i, text in cells.items():
            table.loc[i, column] = text
    with pytest.raises(InputError) as caught:
        validate_portfolio(table, "b.csv")
    return caught.value.problems


def test_one_line_per_cell_in_the_declared_order():
    """inf is below no bound but above the money ceiling: told as infinite only; 0.5 months
    is below 1 and fractional: told the bound only; -0.5 % is told the lower bound."""
    lines = _problems(principal={1: "inf"}, remaining_term={2: "0.5"}, annual_rate={3: "-0.005"})
    assert lines == [
        "b.csv: row 2 (account_id A2): principal: infinite value (inf)",
        "b.csv: row 3 (account_id A3): remaining_term: must be in [1, 600], got 0.5",
        "b.csv: row 4 (account_id A4): annual_rate: must be in [0, 0.36], got -0.005",
    ]


def test_cross_column_check_only_on_rows_otherwise_clean():
    """Arrears above principal + interest are told, unless the row has another problem
    (its other cell is what to fix first)."""
    lines = _problems(arrears={0: "5000", 2: "9000"}, income={2: "lots"})
    assert lines == [
        "b.csv: row 1 (account_id A1): arrears: 5000 exceeds principal + interest_due (1000); "
        "arrears are the overdue part of them",
        "b.csv: row 3 (account_id A3): income: not a number: <withheld>",
    ]


def _arrears_verdicts(principal: str, interest_due: str, arrears: list[str]) -> list[bool]:
    """For each ``arrears``: whether the book (every row) and the one-account reader
    (Account.from_mapping) both accept it with ``principal`` and ``interest_due``."""
    verdicts = []
    for given in arrears:
        row = {k: v[0] for k, v in GOOD.items()}
        row.update(principal=principal, interest_due=interest_due, arrears=given)
        try:
            validate_portfolio(pd.DataFrame([row]), "b.csv")
            table = True
        except InputError:
            table = False
        try:
            Account.from_mapping(row)
            scalar = True
        except InputError:
            scalar = False
        assert table == scalar, given  # one tolerance for both readers
        verdicts.append(table)
    return verdicts


def test_arrears_tolerance_forgives_float_noise_only_in_every_currency():
    """The arrears check forgives the float rounding of principal + interest_due and no
    grid unit: a book to the cent whose cents add up passes although its float sum is
    0.00006 short; a cent over fails; a whole-yen book (JPY, zero decimals) is checked
    exactly -- a yen over fails (half a yen of tolerance would change nothing there)."""
    principal, interest = "334412598423.85", "3785.55"
    exact = "334412602209.40"  # the cents' sum, 6.1e-5 above float(principal) + float(interest)
    assert float(exact) > float(principal) + float(interest)
    assert _arrears_verdicts(principal, interest, [exact, "334412602209.41"]) == [True, False]
    yen_principal, yen_interest = "98765432109", "1234567"
    cap = int(yen_principal) + int(yen_interest)
    assert _arrears_verdicts(yen_principal, yen_interest, [str(cap), str(cap + 1)]) == [
        True,
        False,
    ]


def test_duplicates_name_the_first_row_and_blanks_are_only_missing():
    lines = _problems(account_id={1: " ", 2: "A1", 3: ""})
    assert lines == [
        "b.csv: row 2 (account_id missing): account_id: missing value (required)",
        "b.csv: row 3 (account_id A1): account_id: duplicate account_id 'A1' (first in row 1)",
        "b.csv: row 4 (account_id missing): account_id: missing value (required)",
    ]


def test_problems_are_told_at_the_rows_position_whatever_the_index():
    """A book frame with a permuted index (a caller's sorted frame) is numbered by position;
    a payment history given out of order is checked in account and month order, and its
    gap is told at the row the file holds it in (row 3: a's 2024-03 follows its 2024-01)."""
    book = pd.DataFrame(GOOD)
    book.index = [2, 0, 3, 1]
    book.loc[2, "principal"] = "-2"  # the first row
    with pytest.raises(InputError) as caught:
        validate_portfolio(book, "b.csv")
    assert caught.value.problems == ["b.csv: row 1 (account_id A1): principal: must be > 0, got -2"]
    history = pd.DataFrame(
        {
            "account_id": ["b", "a", "a", "b"],
            "month": ["2024-02", "2024-01", "2024-03", "2024-01"],
            "amount_due": [100.0] * 4,
            "amount_paid": [100.0] * 4,
            "dpd": [0] * 4,
            "status": ["open"] * 4,
        }
    )
    with pytest.raises(InputError) as caught:
        validate_history(history, "h.csv")
    assert caught.value.problems == [
        "h.csv: row 3 (account_id a): month: months must be consecutive: the month before is "
        "missing (got '2024-03')"
    ]


def test_a_wrong_dtype_is_our_bug_not_a_users_problem(monkeypatch):
    """A parser of ours handing the checks a wrong dtype (ids as numbers) is a bug: an
    AssertionError (a traceback, exit 1), never an InputError blaming the user's book."""
    import solver.core.validation as validation

    monkeypatch.setattr(validation, "strip_text", lambda series: pd.Series(range(len(series))))
    with pytest.raises(AssertionError, match="table schema failure"):
        validate_portfolio(pd.DataFrame(GOOD), "b.csv")


def test_history_cell_may_fail_two_checks_listed_in_row_order():
    """The history lists problems in row order, then column, then check (as the account
    book; session 19): -inf is not a number and is below 0, both told (a blank cell is
    missing)."""
    history = pd.DataFrame(
        {
            "account_id": ["a", "a", "b"],
            "month": ["2024-01", "2024-02", "2024-01"],
            "amount_due": [100.0, -np.inf, 5.0],
            "amount_paid": [0.0, 0.0, np.nan],
            "dpd": [0, 30, 0],
            "status": ["open", "late", "open"],
        }
    )
    with pytest.raises(InputError) as caught:
        validate_history(history, "h.csv")
    assert caught.value.problems == [
        "h.csv: row 2 (account_id a): amount_due: not a number (got -inf)",
        "h.csv: row 2 (account_id a): amount_due: must be >= 0 (got -inf)",
        "h.csv: row 2 (account_id a): status: must be one of open, paid, charged_off (got 'late')",
        "h.csv: row 3 (account_id b): amount_paid: missing value (a number is required)",
    ]


def test_pandera_settings_cannot_switch_the_checks_off():
    """PANDERA_VALIDATION_ENABLED=False or a schema-only depth (pandera reads them from the
    environment) must not let a broken book through."""
    for settings in ({"validation_enabled": False}, {"validation_depth": "SCHEMA_ONLY"}):
        with config_context(**settings):
            assert _problems(annual_rate={0: "0.45"}) == [
                "b.csv: row 1 (account_id A1): annual_rate: must be in [0, 0.36], got 0.45"
            ]


def test_vehicle_value_on_a_card_account_is_bad_input():
    """A card account with a vehicle value is rejected naming file, row and column (it was
    kept and counted as collateral until session 17); auto loans with vehicles pass."""
    table = pd.DataFrame(GOOD)
    table["product"] = ["card_instalment", "auto_loan", "card_instalment", "auto_loan"]
    table["vehicle_value"] = ["50000", "50000", "0", ""]
    with pytest.raises(InputError) as caught:
        validate_portfolio(table, "b.csv")
    assert caught.value.problems == [
        "b.csv: row 1 (account_id A1): vehicle_value: must be 0 for a card_instalment account"
        " (unsecured: no vehicle to count as collateral), got 50000"
    ]
    table["vehicle_value"] = ["0", "50000", "0", ""]
    assert validate_portfolio(table, "b.csv")["vehicle_value"].tolist()[:2] == [0.0, 50000.0]
