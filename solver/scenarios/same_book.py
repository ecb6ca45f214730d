"""``scenario run --baseline``'s checks that both runs are on one book (the same accounts
owing the same balances) and over one horizon, before anything runs."""

from __future__ import annotations

from typing import Any

import pandas as pd

from solver.core.account import balance_owed
from solver.core.owed_read import read_owed_columns
from solver.errors import InputError
from solver.scenarios.run import load_portfolio, portfolio_key
from solver.scenarios.scenario_result import book_cents, book_difference, horizon_difference

__all__ = ["check_same_book", "check_same_horizon"]


def check_same_horizon(scenario: Any, baseline: Any) -> None:
    """Refuse (exit 2) a baseline simulated over another ``simulation.horizon_months``
    than the scenario, before anything runs (:func:`~solver.scenarios.scenario_result.horizon_difference`),
    naming both files and both horizons."""
    differs = horizon_difference(
        scenario.simulation.horizon_months, baseline.simulation.horizon_months
    )
    if differs is not None:
        raise InputError(
            f"{baseline.source or baseline.name}: the baseline runs over another horizon than "
            f"{scenario.source or scenario.name}: {differs} (give both files one horizon, or "
            "--set simulation.horizon_months=N for both)"
        )


def check_same_book(scenario: Any, baseline: Any) -> None:
    """Refuse (exit 2) a baseline whose book differs from the scenario's, before anything
    runs: other accounts, or the same accounts with another balance owed
    (:func:`~solver.core.account.balance_owed`, compared in whole cents). Its deltas would
    measure the books' difference (:func:`~solver.scenarios.scenario_result.book_difference`): the
    opening balance, the plans and the losses all start from what each account owes.

    Two scenarios on one file (or one generator's ``n`` and ``seed``) pass unread. Otherwise
    each book's ``account_id`` and balance-owed columns are read, and only those, from a CSV
    or Parquet file (:func:`~solver.core.owed_read.read_owed_columns`); a generated book is generated (there is no
    file to read a column of), and a database, an Excel sheet, a TOML/JSON file or a book
    whose columns the short read cannot take at face value is read and validated whole
    (:func:`load_portfolio`: its problems are then named by file, row and column first).
    """
    if portfolio_key(scenario) == portfolio_key(baseline):
        return
    differs = book_difference(_owed_cents(scenario), _owed_cents(baseline))
    if differs is not None:
        where = baseline.source or baseline.name
        raise InputError(
            f"{where}: the baseline runs on another book than {scenario.source or scenario.name}"
            f" ({scenario.portfolio.describe()} vs {baseline.portfolio.describe()}): {differs}; "
            "deltas pair the two runs account by account, so both must run on one book "
            "(--set portfolio.… applies to both)"
        )


def _owed_cents(scenario: Any) -> pd.Series:
    """The balance owed of each account of the scenario's book, in whole cents, by id."""
    frame: Any = read_owed_columns(scenario.portfolio)
    if frame is None:
        frame = load_portfolio(scenario)
    return book_cents(frame["account_id"], balance_owed(frame))
