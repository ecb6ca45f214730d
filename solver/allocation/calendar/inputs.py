"""Inputs of the contact calendar: the allocation, the book's contact columns, the history.

* The allocation is ``workout allocate``'s table (``account_id``, ``treatment``, ``team``
  and, for the value, ``uplift_vs_none``: the account's gain over no contact, after cost,
  :data:`VALUE_COLUMN`). Each row is checked by :func:`allocation_problems`, whose lines
  name the file, the row (1 = first data row), the account and the column
  (:class:`~solver.core.problems.ProblemLog`, as every other reader of the project).
  :func:`check_allocation` returns the rows so checked as a :class:`CheckedAllocation`,
  which :func:`~solver.allocation.calendar.scheduler.schedule_contacts` does not check again.
* Two optional book columns (beside SPEC §3, not part of the validated book so that no
  existing output changes): ``timezone`` (IANA name, e.g. ``Asia/Urumqi``; blank = the
  profile's) and ``preferred_hour`` (0-23, local; blank = none).
* The contact history (optional; CSV, Parquet or Excel): ``account_id, timestamp, channel,
  outcome``; a timestamp without an offset is UTC; ``outcome = connected`` is a
  conversation (what Regulation F's 7-day rule and the connected-call limits count).

Every problem names the file, the row (1 = first data row) and the column, all at once.

Why only ``uplift_vs_none``: the calendar decides which attempts get the scarce slots, and
what an account loses when it is not contacted is its gain over no contact (it still pays
what it would without one), not its ``expected_value`` (expected collected − cost, which
includes that baseline). ``workout allocate --weeks`` writes no ``uplift_vs_none`` (its
``expected_value`` is the week's expected collected − cost), so such a file is refused by
name rather than read as if it were the gain (session 21: it was, and the headline then
called it "expected collections").
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from solver.core.files import INPUT_FORMATS
from solver.core.messages import fmt_raw
from solver.core.problems import ProblemLog
from solver.core.tables import read_table
from solver.errors import InputError

__all__ = [
    "CHANNELS",
    "OUTCOMES",
    "VALUE_COLUMN",
    "CheckedAllocation",
    "allocation_problems",
    "check_allocation",
    "read_allocation",
    "read_contact_columns",
    "read_history",
]

#: Channels of a contact (history and calendar).
CHANNELS = ("phone", "sms", "email", "app", "visit")
#: Outcomes of a history row; ``connected`` is a conversation.
OUTCOMES = ("connected", "no_answer", "busy", "voicemail", "failed", "sent", "delivered")
#: How the problem lines count rows (after the headline).
ROW_NOTE = "row N = the Nth data row below the header"
#: The allocation's column the calendar schedules by (``workout allocate``'s name for the
#: account's gain over no contact, after cost; the calendar's per-attempt column too).
VALUE_COLUMN = "uplift_vs_none"
#: Ids named when the book's accounts lacking an allocation row are counted.
FIRST_NAMED = 3


def _log(path: Path, table: pd.DataFrame) -> ProblemLog:
    """The problem log of a table read from ``path``: rows numbered from 1 (the first data
    row), each named by its account_id."""
    log = ProblemLog(str(path), np.arange(1, len(table) + 1))
    if "account_id" in table.columns:
        log.account_ids = table["account_id"].astype(str).str.strip()
    return log


def read_allocation(
    path: Path,
    ids: pd.Series | None = None,
    treatments: Sequence[str] | None = None,
    teams: Sequence[str] | None = None,
) -> pd.DataFrame:
    """``workout allocate``'s table: account_id, treatment, team, value (its
    :data:`VALUE_COLUMN`, CNY), every row checked.

    With the book's ``ids``, the catalogue's ``treatments`` and the ``teams``' names, the
    rows are also checked against them (:func:`allocation_problems`), so that every problem
    names ``path``, the row and the account; :class:`InputError` lists them all.
    """
    table = read_table(path, all_text=True)
    source = str(path)
    missing = [c for c in ("account_id", "treatment", VALUE_COLUMN) if c not in table.columns]
    if missing:
        hint = ""
        if VALUE_COLUMN in missing and "expected_value" in table.columns:
            hint = (
                "; this looks like a `workout allocate --weeks` file, whose expected_value "
                "is expected collected - cost, not the gain over no contact the calendar "
                "schedules by: give the file of `workout allocate` without --weeks"
            )
        raise InputError(
            f"{source}: allocation: missing column(s) {', '.join(missing)} "
            f"({VALUE_COLUMN}: each account's gain over no contact, after cost){hint}"
        )
    text = table[VALUE_COLUMN].astype(str).str.strip()
    value = pd.to_numeric(text.replace("", np.nan), errors="coerce").to_numpy(dtype=np.float64)
    out = pd.DataFrame(
        {"account_id": table["account_id"].astype(str).str.strip(),
         "treatment": table["treatment"].astype(str).str.strip(),
         "team": table["team"].fillna("").astype(str).str.strip() if "team" in table else "",
         "value": value}
    )  # fmt: skip
    log = _log(path, out)
    log.add(
        VALUE_COLUMN,
        ~np.isfinite(value),
        lambda i: f"not a number, got {fmt_raw(text.iloc[i])}" if text.iloc[i] else "blank",
    )
    allocation_problems(log, out, ids, treatments, teams)
    log.raise_if_any(ROW_NOTE, subject="allocation")
    return out


@dataclass(frozen=True, eq=False)
class CheckedAllocation:
    """An allocation whose rows passed :func:`allocation_problems` against a book, a
    catalogue and teams: made by :func:`check_allocation` only (its return value).

    ``workout calendar`` reads and checks its allocation file once (every problem named by
    file and row) and hands this on: :func:`~solver.allocation.calendar.scheduler.
    schedule_contacts` does not check the rows again when they were checked against the
    book, treatments and teams it is given (:meth:`checked_with`); a plain table, what
    library callers pass, is always checked. Decision (session 22, as
    :class:`~solver.allocation.plans_table.CheckedPlans`): a type, not a ``checked=True``
    argument, so that only rows that went through the check skip it.

    ``table``: :func:`read_allocation`'s table; ``book_ids``: the book's account ids, in
    order; ``treatments``, ``teams``: the names checked against.
    """

    table: pd.DataFrame
    book_ids: pd.Index
    treatments: tuple[str, ...]
    teams: tuple[str, ...]

    def checked_with(self, ids: pd.Series, treatments: Sequence[str], teams: Sequence[str]) -> bool:
        """Whether the check holds for the book ``ids`` (same ids, same order), the
        catalogue's ``treatments`` and the ``teams``' names."""
        return (
            self.book_ids.equals(pd.Index(ids.astype(str)))
            and self.treatments == tuple(treatments)
            and self.teams == tuple(teams)
        )


def check_allocation(
    path: Path, ids: pd.Series, treatments: Sequence[str], teams: Sequence[str]
) -> CheckedAllocation:
    """:func:`read_allocation` with the book's ``ids``, the catalogue's ``treatments`` and
    the ``teams``' names (every row checked against all three, problems named by ``path``),
    as a :class:`CheckedAllocation` to hand on."""
    table = read_allocation(path, ids, treatments, teams)
    return CheckedAllocation(table, pd.Index(ids.astype(str)), tuple(treatments), tuple(teams))


def allocation_problems(
    log: ProblemLog,
    allocation: pd.DataFrame,
    ids: pd.Series | None = None,
    treatments: Sequence[str] | None = None,
    teams: Sequence[str] | None = None,
) -> None:
    """Add to ``log`` the problems of an allocation's rows (``log``'s rows are
    ``allocation``'s, in order): a repeated account, and with each of ``ids`` (the book's),
    ``treatments`` (the catalogue's) and ``teams`` (their names) given, a row for an account
    not in the book, an unknown treatment or team, and the book's accounts without a row."""
    acct = allocation["account_id"].astype(str)
    log.account_ids = acct
    log.add("account_id", acct.duplicated().to_numpy(), lambda i: "repeated (one row per account)")
    if ids is not None:
        book = pd.Index(ids.astype(str))
        log.add(
            "account_id",
            book.get_indexer(acct) < 0,
            lambda i: "not in the book (the allocation of another book?)",
        )
        lacking = book[~book.isin(acct)]
        if len(lacking):
            log.file(
                f"accounts of the book without an allocation row: {len(lacking):,} "
                f"(first: {', '.join(lacking[:FIRST_NAMED])})"
            )
    treat = allocation["treatment"].astype(str).to_numpy(dtype=object)
    if treatments is not None:
        log.add(
            "treatment",
            ~np.isin(treat, list(treatments)),
            lambda i: f"unknown {fmt_raw(treat[i])} (not in the catalogue)",
        )
    team = allocation["team"].fillna("").astype(str).to_numpy(dtype=object)
    if teams is not None:
        log.add(
            "team",
            ~np.isin(team, ["", *teams]),
            lambda i: f"unknown {fmt_raw(team[i])} (not in the teams file)",
        )


def read_contact_columns(path: Path, account_ids: pd.Series, default_tz: str) -> pd.DataFrame:
    """``timezone`` and ``preferred_hour`` of each account of the book (defaults when absent)."""
    n = len(account_ids)
    out = pd.DataFrame(
        {"account_id": account_ids.astype(str).to_numpy(), "timezone": default_tz,
         "preferred_hour": np.full(n, -1, dtype=np.int64)}
    )  # fmt: skip
    if path.is_dir() or INPUT_FORMATS.get(path.suffix.lower()) not in ("csv", "parquet", "excel"):
        return out  # a Parquet dataset or another format: no contact columns
    raw = read_table(path, all_text=True)
    if "timezone" not in raw and "preferred_hour" not in raw:
        return out
    log = _log(path, raw)
    tz = raw["timezone"].fillna("").astype(str).str.strip() if "timezone" in raw else None
    if tz is not None:
        known = zoneinfo.available_timezones()
        log.add("timezone", ((tz != "") & ~tz.isin(known)).to_numpy(),
                lambda i: f"unknown {fmt_raw(tz.iloc[i])}")  # fmt: skip
    hour = None
    if "preferred_hour" in raw:
        text = raw["preferred_hour"].fillna("").astype(str).str.strip()
        hour = pd.to_numeric(text.replace("", np.nan), errors="coerce")
        bad = (text != "") & (hour.isna() | (hour < 0) | (hour > 23) | (hour % 1 != 0))
        log.add("preferred_hour", bad.to_numpy(),
                lambda i: f"must be 0-23, got {fmt_raw(text.iloc[i])}")  # fmt: skip
    log.raise_if_any(ROW_NOTE, subject="portfolio's contact columns")
    # align the file's rows with the book's accounts (an id's first row, as the book's)
    ids = raw["account_id"].astype(str).str.strip()
    first = np.flatnonzero(~ids.duplicated().to_numpy())
    found = pd.Index(ids.iloc[first]).get_indexer(out["account_id"].astype(str))
    at = np.where(found < 0, -1, first[found])
    if tz is not None:
        zone = tz.to_numpy(dtype=object)[at]
        out["timezone"] = np.where((at < 0) | (zone == ""), default_tz, zone)
    if hour is not None:
        h = hour.fillna(-1).to_numpy(dtype=np.float64)[at]
        out["preferred_hour"] = np.where(at < 0, -1, h).astype(np.int64)
    return out


def _one_of(text: pd.Series, allowed: Sequence[str]) -> Callable[[int], str]:
    """The problem of row ``i`` whose ``text`` is not one of ``allowed``."""
    return lambda i: f"must be one of {', '.join(allowed)}, got {fmt_raw(text.iloc[i])}"


def read_history(path: Path) -> pd.DataFrame:
    """The contact history: account_id, timestamp (UTC), channel, outcome."""
    table = read_table(path, all_text=True)
    missing = {"account_id", "timestamp", "channel", "outcome"} - set(table.columns)
    if missing:
        # a payment history (docs/history.md) here is the likely slip: allocate's --history
        from solver.risk.history import is_history_table

        hint = (
            " (this looks like a payment history: give it as --payment-history)"
            if is_history_table(table.columns)
            else ""
        )
        raise InputError(
            f"{path}: contact history: missing column(s) {', '.join(sorted(missing))}{hint}"
        )
    stamps = pd.to_datetime(
        table["timestamp"].astype(str), utc=True, errors="coerce", format="mixed"
    )
    channel = table["channel"].astype(str).str.strip().str.lower()
    outcome = table["outcome"].astype(str).str.strip().str.lower()
    log = _log(path, table)
    log.add(
        "timestamp",
        stamps.isna().to_numpy(),
        lambda i: f"not a date-time, got {fmt_raw(table['timestamp'].iloc[i])}",
    )
    for column, text, allowed in (("channel", channel, CHANNELS), ("outcome", outcome, OUTCOMES)):
        log.add(column, ~text.isin(allowed).to_numpy(), _one_of(text, allowed))
    log.raise_if_any(ROW_NOTE, subject="contact history")
    return pd.DataFrame(
        {"account_id": table["account_id"].astype(str), "timestamp": stamps,
         "channel": channel, "outcome": outcome}
    )  # fmt: skip
