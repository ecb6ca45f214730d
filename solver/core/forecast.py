"""Income forecasts and one-off inflows from a long table (``--forecast FILE``, SPEC §3).

A forecast table has one row per account and month: ``account_id``, ``month`` and
``income`` and/or ``inflow``. :func:`read_forecast` reads it (CSV, Parquet or Excel, with
the raw readers of :mod:`solver.core.formats`) and validates it in steps (header, then
the cells and per-account months of :mod:`solver.core.forecast_checks`) into a
:class:`ForecastTable`, which sets ``income_forecast`` and ``inflows`` on a validated
portfolio or an :class:`~solver.core.account.Account`;
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
from solver.core.excel_table import read_excel_table
from solver.core.files import input_format
from solver.core.forecast_checks import (
    AccountMonths,
    ForecastCells,
    check_account_months,
    parse_forecast_cells,
)
from solver.core.formats import read_csv_table, read_parquet_table
from solver.core.messages import plural, where
from solver.core.problems import ProblemLog
from solver.core.schema import MAX_PROBLEMS
from solver.core.sources import BookSource
from solver.core.validation import normalized_columns
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
    cells = parse_forecast_cells(frame, log, skip)
    months = check_account_months(cells, log, accounts, book)
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


def _forecast_table(
    cells: ForecastCells, months: AccountMonths, source: str, rows: np.ndarray
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
