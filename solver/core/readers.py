"""Reading a portfolio or one account (SPEC §3, §11): :func:`read_portfolio`,
:func:`read_account`.

:func:`read_portfolio` reads a table of accounts and validates **every** row with
:func:`solver.core.validation.validate_portfolio`; all problems are reported together (at most
50 lines, then a count) in one :class:`~solver.errors.InputError`, each as
``FILE: row N (account_id X): column: what is wrong``. Nothing is returned (or written
by a caller) when any problem is found.

========================  =================================================================
format                    notes
========================  =================================================================
``.csv``                  UTF-8 (a BOM is fine), comma-separated, header on line 1. Parsed
                          with pyarrow (multi-threaded); "row N" is the Nth data row below
                          the header (= line N+1 when the file has no blank lines).
``.parquet`` / ``.pq``    Any column types; "row N" is the Nth row.
``.xlsx`` / ``.xlsm``     The sheet named ``portfolio``, else the first sheet; header in the
                          first non-empty row. "row N" is the Nth row below the header (=
                          sheet row N+1 for a header in row 1); cell problems also name the
                          cell (``cell D5``). Formulas and merged cells are errors: workout
                          reads stored values only, and a cached formula result may be
                          missing or stale.
``.xls``                  Not supported (Excel 97-2003): save as .xlsx or .csv.
``.json``                 One account (an object, or ``{"account": {...}}``) or a portfolio
                          (a list of objects, or ``{"accounts": [...]}``).
``.toml``                 One account (top-level keys or an ``[account]`` table) or a
                          portfolio (``[[accounts]]``).
database                  A :class:`~solver.core.sources.BookSource` with a SQLAlchemy URL
                          and a table or query (:mod:`solver.core.sql`); "row N" is the Nth
                          row in the query's order.
========================  =================================================================

A :class:`~solver.core.sources.BookSource` also carries a bank's column mapping
(:mod:`solver.core.layouts`, ``--columns``: applied before validation, messages name the
bank's column) and a CSV's text encoding (``--encoding``: GBK, GB18030...; a UTF-8 BOM is
detected). docs/inputs.md describes every source.

Unknown columns in a table (CSV, Parquet, Excel) are dropped with an
:class:`~solver.core.schema.InputWarning`, because a bank's export usually carries extra
columns (names, branch codes); a column that looks like a misspelt schema column is an
error. Unknown keys in a hand-written TOML/JSON file are errors. A ``dpd_bucket`` column is
accepted and recomputed.

Income forecasts and inflows
----------------------------
The optional columns ``income_forecast`` (expected income of plan months 1..K) and
``inflows`` (one-off expected inflows) are text in CSV and Excel cells,
``3800;3800;4200`` and ``3:20000;12:5000``; lists in TOML/JSON
(``income_forecast = [3800, 3800]``, ``inflows = [{month = 3, amount = 20000}]`` or
``[[3, 20000]]``); in Parquet a ``list<double>`` (or ``list<struct<month, amount>>``)
column or the text form. A long table given with ``--forecast``
(:func:`~solver.core.forecast.read_forecast`: ``account_id, month, income, inflow``) sets
them for the accounts it lists.

Large CSV and Parquet files are read in chunks by :func:`solver.core.streaming.iter_portfolio`.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from solver.core.account import Account
from solver.core.excel_table import read_excel_table
from solver.core.files import check_input_file, input_format
from solver.core.formats import RawTable, read_csv_table, read_parquet_table, read_records
from solver.core.messages import plural
from solver.core.problems import ProblemLog
from solver.core.schema import COLUMNS, SPECS, normalize_column_name
from solver.core.sources import BookSource
from solver.core.sql import read_sql_table
from solver.core.tiering import TieringRules, tiering_rules
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from solver.core.validation import UnknownColumns

__all__ = ["ManyAccountsError", "read_account", "read_portfolio"]


def read_portfolio(
    path: str | os.PathLike[str] | BookSource,
    *,
    tiering: TieringRules | str | os.PathLike[str] | None = None,
    unknown_columns: UnknownColumns | None = None,
    sheet: str | None = None,
    forecast: str | os.PathLike[str] | BookSource | None = None,
) -> pd.DataFrame:
    """Read and validate a portfolio (CSV, Parquet, Excel, or TOML/JSON records).

    Parameters
    ----------
    path
        Input file; the format comes from the extension (see the module docstring). Or a
        :class:`~solver.core.sources.BookSource`: a database table or query, a column
        mapping (``--columns``), a CSV encoding (``--encoding``).
    tiering
        Tiering rules (or a path to a tiering TOML) used where ``tier`` is blank.
    unknown_columns
        ``"warn"`` (default for tables), ``"error"`` (default for TOML/JSON) or
        ``"ignore"``.
    sheet
        Excel sheet name (default: ``portfolio`` if present, else the first sheet).
    forecast
        A long table of income forecasts and inflows
        (:func:`~solver.core.forecast.read_forecast`) merged into the portfolio; its
        problems and the portfolio's are reported together, and an account of the table
        that is not in the portfolio is an error.

    Returns
    -------
    pandas.DataFrame
        Exactly the SPEC §3 columns plus ``dpd_bucket``; dtypes: text columns ``str``,
        money and rates ``float64`` (a blank ``income_normal`` / ``credit_score`` is
        ``NaN``), ``remaining_term``/``dpd``/``recovery_months`` ``int64``, flags
        ``bool``, ``income_forecast`` / ``inflows`` ``object`` (a tuple or ``None``).
        ``attrs["warnings"]`` lists non-fatal problems.

    Raises
    ------
    InputError
        Naming the file, the row (account_id) and the column of every problem.
    """
    # the validators load pandas and pandera (about 0.3 s): not for one TOML/JSON account
    from solver.core.forecast import with_forecast
    from solver.core.validation import validate_portfolio

    if forecast is not None:
        return with_forecast(
            lambda: read_portfolio(
                path, tiering=tiering, unknown_columns=unknown_columns, sheet=sheet
            ),
            forecast,
            book=str(path),
        )
    rules = tiering_rules(tiering)
    source = path if isinstance(path, BookSource) else BookSource(path=Path(path))
    (raw, rows, log, skip, note), records = _raw_table(source, sheet)
    if source.layout is not None:
        raw, skip = source.layout.apply(raw, skip)
        log.labels = source.layout.labels()
    return validate_portfolio(
        raw,
        str(source),
        tiering=rules,
        unknown_columns=unknown_columns or ("error" if records else "warn"),
        row_numbers=rows,
        problems=log,
        skip=skip,
        row_note=note,
        records=records,
    )


def _raw_table(source: BookSource, sheet: str | None) -> tuple[RawTable, bool]:
    """The raw cells of a book and whether they are TOML/JSON records (not a table)."""
    if source.url is not None:
        return read_sql_table(source.url, source.table, source.query), False
    assert source.path is not None
    path = source.path
    fmt = input_format(path)
    name = str(path)
    if fmt == "xls":
        check_input_file(path)
        raise InputError(
            f"{name}: legacy Excel 97-2003 (.xls) files are not supported; "
            "save the sheet as .xlsx or as CSV UTF-8"
        )
    if fmt in ("json", "toml"):
        import pandas as pd

        records, _ = read_records(path, fmt)
        raw = pd.DataFrame.from_records(records) if records else pd.DataFrame()
        rows = np.arange(1, len(raw) + 1)
        note = "row N = the Nth account record"
        return RawTable(raw.astype(object), rows, ProblemLog(name, rows), {}, note), True
    if fmt == "csv":
        aliases = dict(source.layout.columns) if source.layout is not None else None
        return read_csv_table(path, name, encoding=source.text_encoding, aliases=aliases), False
    if fmt == "parquet":
        return read_parquet_table(path, name), False
    if source.layout is None:
        return read_excel_table(path, name, sheet), False
    # formulas and merged cells are checked in the bank's mapped columns too
    known = {*SPECS, *(normalize_column_name(n) for n in source.layout.columns)}
    return read_excel_table(path, name, sheet, known=known), False


class ManyAccountsError(InputError):
    """A file given as one account holds several (a portfolio given to ``plan``).

    Attributes
    ----------
    path
        The file.
    count
        How many accounts (rows or records) it holds.
    account_ids
        The first few account ids, for a hint.
    """

    def __init__(self, path: str, count: int, account_ids: list[str], unit: str = ""):
        self.path = path
        self.count = count
        self.account_ids = account_ids
        super().__init__(f"{path}: expected one account, found {count}{unit}")


def read_account(
    path: str | os.PathLike[str] | BookSource,
    *,
    tiering: TieringRules | str | os.PathLike[str] | None = None,
    forecast: str | os.PathLike[str] | BookSource | None = None,
    account_id: str | None = None,
) -> Account:
    """Read one account from TOML or JSON (or a table with exactly one row).

    A TOML/JSON file holds the SPEC §3 fields as top-level keys (or in an ``[account]``
    table / ``"account"`` object); unknown keys are errors (a typo would otherwise be
    ignored silently). ``income_forecast = [3800, 3800, 4200]`` and
    ``inflows = [{month = 3, amount = 20000}]`` (or ``[[3, 20000]]``) are lists.

    ``forecast`` is a long table (:func:`~solver.core.forecast.read_forecast`) whose rows
    must all be about this account.

    With ``account_id`` the file may be a whole portfolio (any format :func:`read_portfolio`
    reads): it is read and validated as a book, ``forecast`` is checked against the whole
    book, and the account with that id is returned.

    Raises
    ------
    ManyAccountsError
        (an :class:`InputError`) when the file holds several accounts and no
        ``account_id`` was given.
    InputError
        For any other problem, when the file holds no account, or when no account has
        the id ``account_id``.
    """
    if account_id is not None:
        return _account_of_book(path, account_id, tiering=tiering, forecast=forecast)
    if forecast is not None:
        from solver.core.forecast import with_forecast

        return with_forecast(lambda: read_account(path, tiering=tiering), forecast, book=str(path))
    rules = tiering_rules(tiering)
    if isinstance(path, BookSource):
        return _only_account(path, rules)
    path = Path(path)
    fmt = input_format(path)
    if fmt in ("json", "toml"):
        records, single = read_records(path, fmt)
        if len(records) > 1:
            ids = [str(r.get("account_id", "")) for r in records[:5]]
            raise ManyAccountsError(str(path), len(records), [i for i in ids if i])
        if len(records) != 1:
            raise InputError(f"{path}: expected one account, found {len(records)}")
        return Account.from_mapping(
            records[0], source=str(path), row=None if single else 1, tiering=rules
        )
    return _only_account(path, rules)


def _only_account(path: Path | BookSource, rules: TieringRules | None) -> Account:
    """The one account of a table (a :class:`ManyAccountsError` when it holds several)."""
    frame = read_portfolio(path, tiering=rules)
    if len(frame) > 1:
        ids = frame["account_id"].astype(str).head(5).tolist()
        raise ManyAccountsError(str(path), len(frame), ids, unit=" rows")
    if len(frame) != 1:
        raise InputError(f"{path}: expected one account, found {len(frame)} rows")
    values = {name: frame[name].iloc[0] for name in COLUMNS}
    if frame.attrs.get("tiers_derived", 0):
        values["tier"] = ""
    return Account.from_mapping(values, source=str(path), row=1, tiering=rules)


def _account_of_book(
    path: str | os.PathLike[str] | BookSource,
    account_id: str,
    *,
    tiering: TieringRules | str | os.PathLike[str] | None,
    forecast: str | os.PathLike[str] | BookSource | None,
) -> Account:
    """The account ``account_id`` of the portfolio ``path`` (validated as a whole book)."""
    rules = tiering_rules(tiering)
    wanted = str(account_id).strip()
    frame = read_portfolio(path, tiering=rules, forecast=forecast)
    ids = frame["account_id"].astype(str)
    hits = np.flatnonzero(ids.to_numpy(dtype=object) == wanted)
    if hits.size == 0:
        close = difflib.get_close_matches(wanted, ids.tolist()[:100_000], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InputError(
            f"{path}: account_id: no account {wanted!r} among its "
            f"{plural(len(frame), 'account')}{hint}"
        )
    i = int(hits[0])
    values = {name: frame[name].iloc[i] for name in COLUMNS}
    # a book tells how many tiers were derived, not which: re-derive only when all were
    if len(frame) and frame.attrs.get("tiers_derived", 0) == len(frame):
        values["tier"] = ""
    return Account.from_mapping(values, source=str(path), row=i + 1, tiering=rules)
