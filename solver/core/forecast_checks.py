"""The checks of a forecast table's cells and of each account's months (``--forecast``,
SPEC §3), after its header is checked by :func:`solver.core.forecast.validate_forecast`.

:func:`parse_forecast_cells` parses and checks each cell on its own (ids, month numbers,
amounts); :func:`check_account_months` checks each account's rows together (known to
the portfolio, one row per month, income months 1..K). Every problem goes to the
table's :class:`~solver.core.problems.ProblemLog`; the rows still fine are carried on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.core.columns import parse_numeric, strip_text, text_blank
from solver.core.messages import fmt_num, fmt_raw, shown_value
from solver.core.problems import ProblemLog
from solver.core.schema import MAX_FORECAST_MONTHS, MONEY_MAX
from solver.core.validation import skip_mask

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AccountMonths", "ForecastCells", "check_account_months", "parse_forecast_cells"]


@dataclass
class ForecastCells:
    """The cells of a forecast table, parsed: ids, month numbers, amounts by column, and
    the rows whose cells are all fine (``ok``, narrowed by each check)."""

    ids: pd.Series
    months: np.ndarray
    amounts: dict[str, np.ndarray]
    ok: np.ndarray


def parse_forecast_cells(
    frame: pd.DataFrame, log: ProblemLog, skip: Mapping[str, np.ndarray]
) -> ForecastCells:
    """Each cell parsed and checked on its own (ids, months, amounts)."""
    n = len(frame)
    present = set(frame.columns)

    def skipped(column: str) -> np.ndarray:
        return skip_mask(skip, column, n)

    ids = strip_text(frame["account_id"])
    blank_id = text_blank(ids) | skipped("account_id")
    ids = ids.mask(blank_id, "")
    log.account_ids = ids
    log.add("account_id", blank_id & ~skipped("account_id"), lambda i: "missing value (required)")
    ok = ~blank_id

    months, bad, blank = parse_numeric(frame["month"])
    bad &= ~skipped("month")
    log.add("month", bad, lambda i: f"not a number: {fmt_raw(frame['month'].iloc[i])}")
    log.add("month", blank & ~skipped("month"), lambda i: "missing value (required)")
    finite = np.isfinite(months)
    with np.errstate(invalid="ignore"):
        whole = finite & (np.floor(months) == months)
        outside = whole & ((months < 1) | (months > MAX_FORECAST_MONTHS))
    fraction = finite & ~whole
    infinite = np.isinf(months)
    log.add(
        "month", fraction | infinite, lambda i: f"must be a whole number, got {fmt_num(months[i])}"
    )
    log.add(
        "month",
        outside,
        lambda i: f"must be in [1, {MAX_FORECAST_MONTHS}], got {fmt_num(months[i])}",
    )
    ok &= whole & ~outside & ~skipped("month")

    amounts: dict[str, np.ndarray] = {}
    given = np.zeros(n, dtype=bool)
    for column, personal in (("income", "income"), ("inflow", "inflows")):
        if column not in present:
            continue
        values, bad, blank = parse_numeric(frame[column])
        bad &= ~skipped(column)
        blank |= skipped(column)
        problem = _check_amounts(log, column, personal, frame[column], values, bad)
        ok &= ~(problem | skipped(column))
        amounts[column] = np.where(blank, np.nan, values)
        given |= ~blank & ~bad
    neither = ~given & ok
    first_amount = "income" if "income" in present else "inflow"
    log.add(first_amount, neither, lambda i: "neither income nor inflow given for this month")
    ok &= ~neither
    return ForecastCells(ids=ids, months=months, amounts=amounts, ok=ok)


@dataclass
class AccountMonths:
    """Each row's account (``codes`` into ``uniques``), its whole month number, and the
    rows that give an account's income."""

    codes: np.ndarray
    uniques: Any
    month_int: np.ndarray
    income_rows: np.ndarray


def check_account_months(
    cells: ForecastCells, log: ProblemLog, accounts: Iterable[str] | None, book: str
) -> AccountMonths:
    """Per account: known to the portfolio, one row per month, income months 1..K."""
    import pandas as pd

    ok, months, rows = cells.ok, cells.months, log.row_numbers
    n = len(ok)
    codes, uniques = pd.factorize(cells.ids)
    if accounts is not None:
        known = pd.Index(uniques).isin(pd.Index(list(accounts), dtype=object).astype(str))
        first_of_code = np.full(len(uniques), n, dtype=np.int64)
        np.minimum.at(first_of_code, codes[codes >= 0], np.flatnonzero(codes >= 0))
        unknown_first = first_of_code[~known & (np.asarray(uniques) != "")]
        log.add("account_id", unknown_first, lambda i: f"not an account of {book}")
        ok &= known[codes] | (codes < 0)
    month_int = np.where(ok, months, 0).astype(np.int64)
    key = codes.astype(np.int64) * (MAX_FORECAST_MONTHS + 1) + month_int
    first_of_key: dict[int, int] = {}
    dup = np.zeros(n, dtype=bool)
    first_row = np.zeros(n, dtype=np.int64)
    order = np.flatnonzero(ok)
    keys_ok = key[order]
    sorted_pos = order[np.argsort(keys_ok, kind="stable")]
    sorted_keys = key[sorted_pos]
    repeat = np.r_[False, sorted_keys[1:] == sorted_keys[:-1]]
    if repeat.any():
        for p, k, again in zip(sorted_pos, sorted_keys, repeat, strict=True):
            if not again:
                first_of_key[int(k)] = int(p)
            else:
                dup[p] = True
                first_row[p] = rows[first_of_key[int(k)]]
    log.add(
        "month",
        dup,
        lambda i: (
            f"month {int(months[i])} appears twice for this account (first in row {first_row[i]})"
        ),
    )
    ok &= ~dup

    income = cells.amounts.get("income")
    income_rows = ok & ~np.isnan(income) if income is not None else np.zeros(n, dtype=bool)
    gap_account: dict[int, tuple[int, int, int]] = {}  # code -> (first row pos, K, missing)
    if income_rows.any():
        k = len(uniques)
        count = np.bincount(codes[income_rows], minlength=k)
        top = np.zeros(k, dtype=np.int64)
        np.maximum.at(top, codes[income_rows], month_int[income_rows])
        for code in np.flatnonzero((count > 0) & (count < top)):
            positions = np.flatnonzero(income_rows & (codes == code))
            have = set(month_int[positions].tolist())
            missing = next(m for m in range(1, int(top[code]) + 1) if m not in have)
            gap_account[int(code)] = (int(positions[0]), int(top[code]), missing)
    gap_rows = np.asarray(sorted(v[0] for v in gap_account.values()), dtype=np.int64)
    gap_of_row = {v[0]: v for v in gap_account.values()}
    log.add(
        "income",
        gap_rows,
        lambda i: (
            f"income months must run 1..{gap_of_row[i][1]} without gaps; month "
            f"{gap_of_row[i][2]} is missing"
        ),
    )
    return AccountMonths(codes=codes, uniques=uniques, month_int=month_int, income_rows=income_rows)


def _check_amounts(
    log: ProblemLog,
    column: str,
    personal: str,
    series: pd.Series,
    values: np.ndarray,
    bad: np.ndarray,
) -> np.ndarray:
    """Log the bad amounts of a forecast table's column; return the rows with a problem.

    ``personal`` is the portfolio field whose privacy rule applies (values withheld).
    """

    def not_a_number(i: int) -> str:
        return f"not a number: {shown_value(personal, fmt_raw(series.iloc[i]))}"

    def infinite_value(i: int) -> str:
        return f"infinite value ({fmt_num(values[i])})"

    def negative_amount(i: int) -> str:
        return f"negative amount, must be >= 0, got {shown_value(personal, fmt_num(values[i]))}"

    def too_large(i: int) -> str:
        return (
            f"implausibly large (> {MONEY_MAX:.0e} CNY; amounts are in yuan, not fen), "
            f"got {shown_value(personal, fmt_num(values[i]))}"
        )

    with np.errstate(invalid="ignore"):
        infinite = np.isinf(values)
        negative = np.isfinite(values) & (values < 0)
        huge = np.isfinite(values) & (values > MONEY_MAX)
    for mask, describe in (
        (bad, not_a_number),
        (infinite, infinite_value),
        (negative, negative_amount),
        (huge, too_large),
    ):
        log.add(column, mask, describe)
    return bad | infinite | negative | huge
