"""Income forecasts and one-off inflows from a long table (``--forecast FILE``, SPEC §3).

A forecast table has one row per account and month: ``account_id``, ``month`` and
``income`` and/or ``inflow``. :func:`read_forecast` reads it (CSV, Parquet or Excel, with
the raw readers of :mod:`solver.core.formats`) and validates it in steps (header, cells,
per-account months) into a :class:`ForecastTable`, which sets ``income_forecast`` and
``inflows`` on a validated portfolio or an :class:`~solver.core.account.Account`;
:func:`with_forecast` reports the problems of a portfolio and its table together.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.core.account import Account
from solver.core.columns import parse_numeric, strip_text, text_blank
from solver.core.files import input_format
from solver.core.formats import read_csv_table, read_excel_table, read_parquet_table
from solver.core.messages import fmt_num, fmt_raw, plural, shown_value, where
from solver.core.problems import ProblemLog
from solver.core.schema import MAX_FORECAST_MONTHS, MAX_PROBLEMS, MONEY_MAX
from solver.core.sources import BookSource
from solver.core.validation import normalized_columns, skip_mask
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FORECAST_COLUMNS",
    "ForecastTable",
    "combined_error",
    "read_forecast",
    "validate_forecast",
    "with_forecast",
]

#: Columns of a forecast table (``income`` and/or ``inflow`` besides the first two).
FORECAST_COLUMNS: tuple[str, ...] = ("account_id", "month", "income", "inflow")
#: Other accepted headers (the portfolio's column names).
_FORECAST_ALIASES = {"income_forecast": "income", "inflows": "inflow"}


@dataclass(frozen=True)
class ForecastTable:
    """Income forecasts and inflows per account, read from a long table (``--forecast``).

    Attributes
    ----------
    source
        The file, for messages.
    income_forecast
        account_id -> expected income of months 1..K (the table's ``income`` column).
    inflows
        account_id -> ``(month, amount)`` pairs (the table's ``inflow`` column).
    rows
        account_id -> the row number of its first row (in table order), for messages.

    Notes
    -----
    Merging (:meth:`apply`) sets, for each account of the table, ``income_forecast`` when
    the table gives income for it and ``inflows`` when it gives inflows; what the
    table does not give is kept from the portfolio. Like ``--set``, the table wins over
    the portfolio file.
    """

    source: str
    income_forecast: Mapping[str, tuple[float, ...]]
    inflows: Mapping[str, tuple[tuple[int, float], ...]]
    rows: Mapping[str, int]

    @property
    def account_ids(self) -> list[str]:
        """Accounts of the table, in order of their first row."""
        return list(self.rows)

    def found_in(self, account_ids: Any) -> list[str]:
        """The table's accounts among ``account_ids``."""
        import pandas as pd

        ids = pd.Index(pd.Series(account_ids, dtype=object).astype(str))
        return [str(a) for a in ids[ids.isin(list(self.rows))]]

    def check_accounts(self, account_ids: Iterable[str], book: str) -> None:
        """Raise :class:`InputError` for each account of the table not in ``account_ids``."""
        known = set(account_ids)
        unknown = [a for a in self.rows if a not in known]
        if not unknown:
            return
        lines = [
            f"{self.source}: {where(self.rows[a], a)}: account_id: not an account of {book}"
            for a in unknown[:MAX_PROBLEMS]
        ]
        if len(unknown) > MAX_PROBLEMS:
            lines.append(f"... and {plural(len(unknown) - MAX_PROBLEMS, 'more account')}")
        raise InputError(
            f"{self.source}: {plural(len(unknown), 'account')} of the forecast not in "
            f"{book}; nothing was read",
            lines,
        )

    def apply(self, frame: pd.DataFrame, *, book: str | None = None) -> pd.DataFrame:
        """A validated portfolio with the table's forecasts and inflows set.

        With ``book`` (the portfolio's name) an account of the table that is not in
        ``frame`` is an error; without it (a chunk of a portfolio) it is ignored.
        """
        if book is not None:
            self.check_accounts(frame["account_id"].astype(str), book)
        out = frame.copy(deep=False)
        ids = frame["account_id"].astype(str).to_numpy(dtype=object)
        n = len(frame)
        for column, mapping in (
            ("income_forecast", self.income_forecast),
            ("inflows", self.inflows),
        ):
            if not mapping:
                continue
            hits = np.flatnonzero(np.fromiter((a in mapping for a in ids), dtype=bool, count=n))
            if hits.size == 0:
                continue
            values = (
                out[column].to_numpy(dtype=object).copy()
                if column in out.columns
                else np.full(n, None, dtype=object)
            )
            for i in hits:
                values[i] = mapping[ids[i]]
            out[column] = values
        return out

    def apply_to_account(self, account: Account, *, book: str) -> Account:
        """The account with the table's forecast and inflows (every row must be about it)."""
        self.check_accounts([account.account_id], book)
        changes: dict[str, Any] = {}
        if account.account_id in self.income_forecast:
            changes["income_forecast"] = self.income_forecast[account.account_id]
        if account.account_id in self.inflows:
            changes["inflows"] = self.inflows[account.account_id]
        return account.replace(**changes) if changes else account


def read_forecast(
    path: str | os.PathLike[str] | BookSource,
    *,
    sheet: str | None = None,
    accounts: Iterable[str] | None = None,
    book: str = "the portfolio",
) -> ForecastTable:
    """Read and validate a long table of income forecasts and inflows.

    One row per account and month: ``account_id``, ``month`` (1, 2, ...), and ``income``
    (expected monthly net income) and/or ``inflow`` (a one-off expected inflow); either
    may be blank on a row, not both. CSV, Parquet or Excel (sheet ``forecast`` if present,
    else the first), or a database table or query (a :class:`~solver.core.sources.BookSource`
    with a URL: ``--forecast-db``; row N is the Nth row in the query's order). Headers are normalised like a portfolio's; ``income_forecast`` and
    ``inflows`` are accepted for ``income`` and ``inflow``.

    Rules: months are whole numbers in [1, 600]; an account's income months run 1..K
    without gaps; an (account_id, month) pair appears once; amounts are finite and
    >= 0; unknown columns are errors (a misspelt ``income`` would drop the forecast).
    With ``accounts`` (the ids of the portfolio ``book``), an account of the table that is
    not among them is an error too, reported with the others (at its first row).

    Raises
    ------
    InputError
        Listing every problem as ``FILE: row N (account_id X): column: what is wrong``.
    """
    if isinstance(path, BookSource) and path.url is not None:
        from solver.core.sql import read_sql_table

        source = str(path)
        raw, rows, log, skip, note = read_sql_table(path.url, path.table, path.query)
        return validate_forecast(
            raw, source, row_numbers=rows, problems=log, skip=skip, row_note=note,
            accounts=accounts, book=book,
        )  # fmt: skip
    path = Path(path.path if isinstance(path, BookSource) else path)  # type: ignore[arg-type]
    source = str(path)
    fmt = input_format(path)
    if fmt == "csv":
        numbers = {"month", "income", "inflow", *_FORECAST_ALIASES}
        raw, rows, log, skip, note = read_csv_table(path, source, numbers=numbers)
    elif fmt == "parquet":
        raw, rows, log, skip, note = read_parquet_table(path, source)
    elif fmt == "excel":
        raw, rows, log, skip, note = read_excel_table(
            path, source, sheet, default_sheet="forecast", known=FORECAST_COLUMNS
        )
    else:
        raise InputError(
            f"{source}: a forecast table must be .csv, .parquet or .xlsx "
            f"(columns {', '.join(FORECAST_COLUMNS)})"
        )
    return validate_forecast(
        raw,
        source,
        row_numbers=rows,
        problems=log,
        skip=skip,
        row_note=note,
        accounts=accounts,
        book=book,
    )


def validate_forecast(
    frame: pd.DataFrame,
    source: str = "<forecast>",
    *,
    row_numbers: np.ndarray | None = None,
    problems: ProblemLog | None = None,
    skip: Mapping[str, np.ndarray] | None = None,
    row_note: str = "row N = the Nth data row, counting from 1",
    accounts: Iterable[str] | None = None,
    book: str = "the portfolio",
) -> ForecastTable:
    """Validate a raw forecast table (see :func:`read_forecast`); all problems together."""
    n = len(frame)
    rows = np.arange(1, n + 1) if row_numbers is None else np.asarray(row_numbers)
    log = problems if problems is not None else ProblemLog(source, rows)
    log.row_numbers = rows
    skip = dict(skip or {})
    frame = _check_forecast_header(frame, log, row_note)
    cells = _parse_forecast_cells(frame, log, skip)
    months = _check_account_months(cells, log, accounts, book)
    log.raise_if_any(row_note)
    return _forecast_table(cells, months, source, rows)


def _check_forecast_header(frame: pd.DataFrame, log: ProblemLog, row_note: str) -> pd.DataFrame:
    """The table with normalised column names; raise at once on a header problem."""
    frame = normalized_columns(frame, log, _FORECAST_ALIASES)
    present = set(frame.columns)
    for column in frame.columns:
        if column not in FORECAST_COLUMNS:
            log.file(
                f"header: {column}: unknown column (a forecast table has the columns "
                f"account_id, month, income and/or inflow)"
            )
    for column in ("account_id", "month"):
        if column not in present:
            log.file(f"header: {column}: required column is missing")
    if not present & {"income", "inflow"}:
        log.file("header: give an income column, an inflow column or both")
    log.raise_if_any(row_note)
    return frame


@dataclass
class _ForecastCells:
    """The cells of a forecast table, parsed: ids, month numbers, amounts by column, and
    the rows whose cells are all fine (``ok``, narrowed by each check)."""

    ids: pd.Series
    months: np.ndarray
    amounts: dict[str, np.ndarray]
    ok: np.ndarray


def _parse_forecast_cells(
    frame: pd.DataFrame, log: ProblemLog, skip: Mapping[str, np.ndarray]
) -> _ForecastCells:
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
    return _ForecastCells(ids=ids, months=months, amounts=amounts, ok=ok)


@dataclass
class _AccountMonths:
    """Each row's account (``codes`` into ``uniques``), its whole month number, and the
    rows that give an account's income."""

    codes: np.ndarray
    uniques: Any
    month_int: np.ndarray
    income_rows: np.ndarray


def _check_account_months(
    cells: _ForecastCells, log: ProblemLog, accounts: Iterable[str] | None, book: str
) -> _AccountMonths:
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
    return _AccountMonths(
        codes=codes, uniques=uniques, month_int=month_int, income_rows=income_rows
    )


def _forecast_table(
    cells: _ForecastCells, months: _AccountMonths, source: str, rows: np.ndarray
) -> ForecastTable:
    """The per-account tuples of a valid table."""
    codes, uniques, month_int = months.codes, months.uniques, months.month_int
    n = len(codes)
    first_pos = np.full(len(uniques), n, dtype=np.int64)
    np.minimum.at(first_pos, codes, np.arange(n))
    by_first = np.argsort(first_pos, kind="stable")
    rows_of = {str(uniques[c]): int(rows[first_pos[c]]) for c in by_first}

    def grouped(column: str, mask: np.ndarray) -> dict[str, list[tuple[int, float]]]:
        values = cells.amounts[column]
        pos = np.flatnonzero(mask)
        pos = pos[np.lexsort((month_int[pos], codes[pos]))]
        out: dict[str, list[tuple[int, float]]] = {}
        for p in pos:
            out.setdefault(str(uniques[codes[p]]), []).append((int(month_int[p]), float(values[p])))
        return out

    income = cells.amounts.get("income")
    forecasts = (
        {
            a: tuple(v for _, v in pairs)
            for a, pairs in grouped("income", months.income_rows).items()
        }
        if income is not None
        else {}
    )
    inflow = cells.amounts.get("inflow")
    inflows = (
        {a: tuple(pairs) for a, pairs in grouped("inflow", cells.ok & ~np.isnan(inflow)).items()}
        if inflow is not None
        else {}
    )
    return ForecastTable(source=source, income_forecast=forecasts, inflows=inflows, rows=rows_of)


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


def with_forecast(
    read: Callable[[], Any], forecast: str | os.PathLike[str] | BookSource, book: str
) -> Any:
    """``read()`` (a validated portfolio or an :class:`~solver.core.account.Account`) with the
    forecast table ``forecast`` merged (:meth:`ForecastTable.apply`); the problems of both
    files are reported together. ``book`` names the portfolio in messages."""
    errors: list[InputError] = []
    data = None
    try:
        data = read()
    except InputError as exc:
        errors.append(exc)
    if isinstance(data, Account):
        ids: Any = [data.account_id]
    else:
        ids = None if data is None else data["account_id"].astype(str)
    try:
        table = read_forecast(forecast, accounts=ids, book=book)
    except InputError as exc:
        errors.append(exc)
    if errors:
        raise combined_error(errors)
    if isinstance(data, Account):
        return table.apply_to_account(data, book=book)
    return table.apply(data)


def combined_error(errors: list[InputError]) -> InputError:
    """One :class:`InputError` with the problems of several files (portfolio, forecast)."""
    if len(errors) == 1:
        return errors[0]
    head = "; ".join(str(e.args[0]) for e in errors)
    lines = [line for e in errors for line in (e.problems or [str(e.args[0])])]
    return InputError(head, lines)
