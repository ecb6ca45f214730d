"""The plans table of ``allocate --plans`` (``workout plan-portfolio``'s output): read it,
check every row against the book once (:class:`CheckedPlans`), match its ids to the book,
and look up each account's recommended plan (:func:`recommended_plans`), which the plan
offer of :mod:`solver.allocation.values` values.

Split from :mod:`solver.allocation.values` (session 25): that module values treatments and
plan offers; this one reads and checks the table they come from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.allocation.catalogue import Catalogue
from solver.core.account import balance_owed
from solver.core.schema import MAX_FORECAST_MONTHS
from solver.core.tables import read_table
from solver.domain import Status
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MAX_NPV_TO_BALANCE",
    "MAX_PLAN_TERM",
    "PLAN_TABLE_COLUMNS",
    "REAGE_PLAN_COLUMNS",
    "STATUS_WORDS",
    "CheckedPlans",
    "check_plans",
    "ensure_checked",
    "match_plans",
    "read_plans",
    "recommended_plans",
]

#: Longest plan term a plans table may give (months; the ``remaining_term`` bound, SPEC §3).
MAX_PLAN_TERM = MAX_FORECAST_MONTHS
#: A plan's NPV (uplift or own NPV) larger than this many times the account's balance is
#: refused: a plan cannot pay much more than what is owed (60 months at the 36 % rate cap
#: pay under 3 times the balance), so such a figure is a unit or column mix-up, and the
#: plan offer would otherwise dominate the whole allocation (session 19: ``1e12`` gave an
#: expected collection of 6.4e10).
MAX_NPV_TO_BALANCE = 10.0


#: Columns a plans table (``plan-portfolio``'s output) must have for the plan offer.
PLAN_TABLE_COLUMNS = ("account_id", "status", "npv_vs_status_quo")
#: The columns of a plans table that ``workout replan`` reports a re-age's new plan with
#: (``plan-portfolio`` column -> steps column; :func:`solver.allocation.replan.reage_plans`).
REAGE_PLAN_COLUMNS = {
    "status": "plan_status",
    "family": "plan_family",
    "term": "plan_term",
    "first_payment": "plan_first_payment",
    "npv_vs_status_quo": "npv_vs_status_quo",
}


def read_plans(path: Path) -> pd.DataFrame:
    """The recommended plans of a book: a ``plan-portfolio`` output (CSV, Parquet, Excel,
    or a Parquet dataset directory; :func:`solver.core.tables.read_table`, account ids as
    text); a missing file or column is an :class:`InputError`."""
    table = read_table(path, text_columns=("account_id",), datasets=True)
    _require_plan_columns(table, str(path))
    return table


def _require_plan_columns(table: pd.DataFrame, source: str) -> None:
    """An :class:`InputError` naming ``source`` when ``table`` lacks one of
    :data:`PLAN_TABLE_COLUMNS`."""
    missing = set(PLAN_TABLE_COLUMNS) - set(table.columns)
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(sorted(missing))}")


@dataclass(frozen=True, eq=False)
class CheckedPlans:
    """A plans table that passed :func:`check_plans` against a book, with the numbers the
    check parsed: made by :func:`check_plans` only (its return value).

    ``allocate --plans`` checks its table once (the CLI, then :func:`match_plans`) and hands
    this on: :func:`recommended_plans` and :func:`plan_offers` -- once per week with
    ``--weeks``, again for ``--explain-tree`` -- use it without checking it again, and read
    the values the check parsed (parsed once, so what passed is what is used). Decision
    (session 21): a type, not a ``checked=True`` argument, so that only a table that went
    through the check can skip it.

    ``uplift``, ``npv``, ``term``: ``npv_vs_status_quo``, ``npv`` and ``term`` per row as
    :func:`~solver.core.columns.parse_numeric` read them (NaN where blank or where the
    table has no such column); read-only. ``book_ids``, ``book_balance``: the account ids
    and balances of the book it was checked against (the size rule read the balances; no
    balance for a book without ``principal``), for :meth:`checked_with`.
    """

    table: pd.DataFrame
    uplift: np.ndarray
    npv: np.ndarray
    term: np.ndarray
    book_ids: Any
    book_balance: np.ndarray | None

    def checked_with(self, frame: pd.DataFrame) -> bool:
        """Whether ``frame`` has the ids and balances of the book this table was checked
        against, in the same order (the book itself, or its copies aged by
        :mod:`solver.allocation.horizon`, which change only dpd): the check holds for it.
        Another book gets the table checked again (the size rule depends on the balances)."""
        if not frame["account_id"].array.equals(self.book_ids):
            return False
        balance, checked = _book_balance(frame), self.book_balance
        if balance is None or checked is None:
            return balance is None and checked is None
        return bool(np.array_equal(balance, checked, equal_nan=True))


def _book_balance(frame: pd.DataFrame) -> np.ndarray | None:
    """Each account's balance (principal + interest_due + fees_due, those the book has) as
    the size rule of :func:`check_plans` reads it; None for a book without ``principal``
    (a bare id list, as library callers may pass)."""
    if "principal" not in frame.columns:
        return None
    return balance_owed(frame)


def ensure_checked(
    plans: pd.DataFrame | CheckedPlans, frame: pd.DataFrame, source: str = "plans"
) -> CheckedPlans:
    """A plans table for the plan offer, checked against the book ``frame`` once: its
    :data:`PLAN_TABLE_COLUMNS` (missing: an :class:`InputError` naming ``source``), then
    :func:`check_plans` unless it is a :class:`CheckedPlans` that holds for this book.
    What :func:`recommended_plans` does first; a caller that values one table many times
    (:func:`solver.allocation.horizon_model.build_horizon`, once per week) calls it once before."""
    _require_plan_columns(plans.table if isinstance(plans, CheckedPlans) else plans, source)
    return _checked(plans, frame, source)


def _checked(plans: pd.DataFrame | CheckedPlans, frame: pd.DataFrame, source: str) -> CheckedPlans:
    """``plans`` checked against the book ``frame``: a :class:`CheckedPlans` that holds for it
    as it is, any other table (raw, or checked against another book) through
    :func:`check_plans`, its problems named after ``source``."""
    if isinstance(plans, CheckedPlans):
        if plans.checked_with(frame):
            return plans
        plans = plans.table
    return check_plans(plans, frame, source)


def check_plans(plan_table: pd.DataFrame, frame: pd.DataFrame, source: str) -> CheckedPlans:
    """Check every row of a plans table against the book (an :class:`InputError` listing
    all problems, ``SOURCE: row N (account_id X): column: what``, capped as a book's are);
    return the table with the values read (:class:`CheckedPlans`).

    Refused: a blank or repeated ``account_id`` (which row would be the plan?); an
    ``npv_vs_status_quo`` or ``npv`` that is not a finite number, or whose size exceeds
    :data:`MAX_NPV_TO_BALANCE` times the account's balance; a ``term`` that is not a whole
    number in ``[0, MAX_PLAN_TERM]`` months, or ``0`` with a positive uplift. Blank
    values are allowed: no plan (``npv_vs_status_quo``), the default term
    (:data:`~solver.allocation.values.DEFAULT_PLAN_TERM`), the uplift as the plan's NPV (``npv``); ``plan-portfolio``
    writes ``term`` 0 on rows without a schedule. Ids not in the book are no error here
    (:func:`match_plans` counts them in a warning: a book that lost accounts since its plans
    were made is normal).
    """
    import pandas as pd

    from solver.core.columns import parse_numeric, strip_text, text_blank
    from solver.core.problems import ProblemLog

    n = len(plan_table)
    log = ProblemLog(source, np.arange(1, n + 1))
    ids = strip_text(plan_table["account_id"])
    blank_id = text_blank(ids)
    log.account_ids = ids.mask(blank_id, "")
    log.add("account_id", blank_id, lambda i: "blank (every row needs the account it plans)")
    repeated = ids.duplicated(keep="first").to_numpy(dtype=bool) & ~blank_id
    first_row: dict[Any, int] = {}
    if repeated.any():  # each id's first row, for the message of a repeat only
        first_row = {v: i + 1 for i, v in reversed(list(enumerate(ids.tolist())))}
    log.add(
        "account_id",
        repeated,
        lambda i: f"repeated (first at row {first_row[ids.iloc[i]]}): one plan per account",
    )
    # a status that is not one of Status's words (RECOMENDED, recommended) would be read as
    # "no plan to offer" without a word: refused, with the word it resembles (review, s23)
    if "status" in plan_table.columns:  # library callers may check a table without it
        statuses = strip_text(plan_table["status"])
        unknown = ~text_blank(statuses) & ~statuses.isin(STATUS_WORDS).to_numpy(dtype=bool)
        log.add("status", unknown, _unknown_status(statuses))
    # the size check needs the book's balance; a book without ``principal`` (a bare id list,
    # as library callers may pass) gets no size check (NaN limits), the other checks still
    book_balance = _book_balance(frame)
    if book_balance is not None:
        balance = pd.Series(book_balance, index=frame["account_id"].astype(str).to_numpy())
        limit = ids.map(balance * MAX_NPV_TO_BALANCE).to_numpy(dtype=float, na_value=np.nan)
    else:
        limit = np.full(n, np.nan)
    parsed: dict[str, np.ndarray] = {}
    for column in ("npv_vs_status_quo", "npv"):
        if column not in plan_table.columns:
            continue
        values, bad, _ = parse_numeric(plan_table[column])
        parsed[column] = values
        bad |= np.isinf(values)
        log.add(column, bad, _told("not a finite number: {}", plan_table[column]))
        large = ~bad & (np.abs(values) > limit)  # NaN (blank, not in the book): false
        log.add(column, large, _too_large(values, limit / MAX_NPV_TO_BALANCE))
    term = np.full(n, np.nan)
    if "term" in plan_table.columns:
        term, bad, _ = parse_numeric(plan_table["term"])
        finite = np.isfinite(term)
        bad |= np.isinf(term) | (finite & ((term < 0) | (term > MAX_PLAN_TERM)))
        bad |= finite & (np.floor(term) != term)
        told = f"must be a whole number of months in [0, {MAX_PLAN_TERM}], got {{}}"
        log.add("term", bad, _told(told, plan_table["term"]))
        uplift = parsed.get("npv_vs_status_quo", np.full(n, np.nan))
        log.add(
            "term",
            (uplift > 0) & (term == 0),
            lambda i: (
                "0 with a positive npv_vs_status_quo (a plan needs a term of 1 month or "
                "more; plan-portfolio writes 0 only on rows without a plan)"
            ),
        )
    log.raise_if_any(subject="plans table")
    absent = np.full(n, np.nan)
    kept = [parsed.get("npv_vs_status_quo", absent), parsed.get("npv", absent), term]
    for array in kept:
        array.setflags(write=False)  # shared by every later use of the table
    return CheckedPlans(
        table=plan_table,
        uplift=kept[0],
        npv=kept[1],
        term=kept[2],
        book_ids=frame["account_id"].array,
        book_balance=book_balance,
    )


#: The words a plans table's ``status`` may hold: :class:`~solver.domain.Status`'s (blank: no
#: plan).
STATUS_WORDS = frozenset(status.value for status in Status)


def _unknown_status(statuses: pd.Series) -> Callable[[int], str]:
    """What a ``status`` outside :data:`STATUS_WORDS` is told, with the closest word."""
    import difflib

    def told(i: int) -> str:
        value = str(statuses.iloc[i])
        close = difflib.get_close_matches(value.upper(), sorted(STATUS_WORDS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return (
            f"unknown plan status {value!r}{hint}: expected a status plan-portfolio writes, "
            "such as RECOMMENDED or NPV_TEST_FAILED (upper case)"
        )

    return told


def _told(message: str, raw: pd.Series) -> Callable[[int], str]:
    """A problem line's text with row ``i``'s raw value in ``message``'s ``{}``."""
    from solver.core.messages import fmt_raw

    return lambda i: message.format(fmt_raw(raw.iloc[i]))


def _too_large(values: np.ndarray, balance: np.ndarray) -> Callable[[int], str]:
    """What an NPV larger than :data:`MAX_NPV_TO_BALANCE` times the balance is told."""
    return lambda i: (
        f"{values[i]:,.2f} is more than {MAX_NPV_TO_BALANCE:g} times the account's balance "
        f"{balance[i]:,.2f}: not a plan's NPV (amounts are in yuan)"
    )


def match_plans(
    plan_table: pd.DataFrame | CheckedPlans, frame: pd.DataFrame, plans: str, portfolio: str | Path
) -> list[str]:
    """Check the plans table (:func:`check_plans`; not again for a :class:`CheckedPlans` of
    this book), refuse plans of another book, and say when only some accounts have a plan.

    A plans table none of whose account ids is in the portfolio is the output of
    ``plan-portfolio`` for another book: using it would silently offer no plan at all
    (an :class:`InputError` naming ``plans``, e.g. ``"--plans FILE"``). When only some
    ids match, the run goes on: the notes returned give both counts (a book that gained
    or lost accounts since its plans were made), for the caller to show as warnings.
    """
    table = _checked(plan_table, frame, plans).table
    # sets of the ids as lists: iterating a text column makes one scalar object per value
    book = set(frame["account_id"].astype(str).tolist())
    planned = set(table["account_id"].dropna().astype(str).tolist())
    common = book & planned
    if not common:
        raise InputError(
            f"{plans}: none of its {len(planned):,} account ids is in the portfolio "
            f"{portfolio} ({len(book):,} accounts); give the plan-portfolio output of this book"
        )
    without = len(book - common)
    extra = len(planned - common)
    notes = []
    if without:
        notes.append(
            f"{without:,} of the {len(book):,} accounts of {portfolio} have no plan there "
            "(no plan is offered to them)"
        )
    if extra:
        notes.append(f"{extra:,} plan rows are for accounts not in {portfolio} (ignored)")
    return ["; ".join(notes)] if notes else []


def recommended_plans(
    portfolio: Any,
    plans: pd.DataFrame | CheckedPlans,
    catalogue: Catalogue,
    source: str = "plans",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each account's plan NPV uplift over the status quo (``npv_vs_status_quo`` of a plan
    with an eligible status and a positive uplift, else 0), its term in months and the
    plan's own NPV (the plan table's ``term`` and ``npv``; NaN where absent or blank).

    A raw table is checked here (:func:`check_plans`, its problems named after ``source``):
    a value that is not a number, a repeated or blank ``account_id`` or a term out of range
    is an :class:`InputError`, for every caller -- the strategy tree and library callers
    that pass a DataFrame. A :class:`CheckedPlans` (what :func:`check_plans` returns:
    ``allocate --plans`` checks its table once and passes that) is not checked again while
    ``portfolio`` is the book it was checked against (:meth:`CheckedPlans.checked_with`);
    against another book it is. Decision (session 20, from a review): before, a caller that
    skipped ``check_plans`` had a bad ``npv_vs_status_quo`` read as 0 (no plan) and a
    repeated account's last row taken, silently; the check of a raw table costs a
    vectorised pass over it, against a plan offer valued on a number nobody gave. The
    values used are the ones the check parsed (:attr:`CheckedPlans.uplift` etc.), so what
    passed is what is used.
    """
    import pandas as pd

    checked = ensure_checked(plans, portfolio, source)
    table = checked.table
    # blank uplift: no plan; blank term or npv: NaN (the defaults of values.plan_offers)
    uplift = np.nan_to_num(checked.uplift, nan=0.0)
    ok = table["status"].astype(str).isin(catalogue.plans.eligible_status).to_numpy() & (uplift > 0)
    # each account's eligible row, looked up once for the three columns (check_plans refused
    # repeated ids: each account has at most one row); no such row: no plan, NaN term and npv
    eligible = pd.Index(table["account_id"].astype(str).to_numpy()[ok])
    row = eligible.get_indexer(portfolio["account_id"].astype(str))
    found = row >= 0
    out = []
    for column, absent in ((uplift, 0.0), (checked.term, np.nan), (checked.npv, np.nan)):
        picked = np.full(row.size, absent, dtype=np.float64)
        picked[found] = column[ok][row[found]]
        out.append(picked)
    return out[0], out[1], out[2]
