"""Inputs of the contact calendar: the allocation, the book's contact columns, the history.

* The allocation is ``workout allocate``'s table (``account_id``, ``treatment``, ``team``
  and, for the value, ``uplift_vs_none``).
* Two optional book columns (beside SPEC §3, not part of the validated book so that no
  existing output changes): ``timezone`` (IANA name, e.g. ``Asia/Urumqi``; blank = the
  profile's) and ``preferred_hour`` (0-23, local; blank = none).
* The contact history (optional; CSV, Parquet or Excel): ``account_id, timestamp, channel,
  outcome``; a timestamp without an offset is UTC; ``outcome = connected`` is a
  conversation (what Regulation F's 7-day rule and the connected-call limits count).

Every problem names the file, the row (1 = first data row) and the column, all at once.
"""

from __future__ import annotations

import zoneinfo
from pathlib import Path

import numpy as np
import pandas as pd

from solver.core.files import INPUT_FORMATS
from solver.core.tables import read_table
from solver.errors import InputError

__all__ = [
    "CHANNELS",
    "OUTCOMES",
    "read_allocation",
    "read_contact_columns",
    "read_history",
]

#: Channels of a contact (history and calendar).
CHANNELS = ("phone", "sms", "email", "app", "visit")
#: Outcomes of a history row; ``connected`` is a conversation.
OUTCOMES = ("connected", "no_answer", "busy", "voicemail", "failed", "sent", "delivered")
#: Problems listed per file before the rest are counted.
MAX_LISTED = 50


def _raise(path: Path, what: str, problems: list[str]) -> None:
    if problems:
        shown = problems[:MAX_LISTED]
        if len(problems) > MAX_LISTED:
            shown.append(f"... and {len(problems) - MAX_LISTED} more")
        raise InputError(f"{path}: {len(problems)} problem(s) in the {what}", shown)


def read_allocation(path: Path) -> pd.DataFrame:
    """``workout allocate``'s table: account_id, treatment, team, uplift (CNY)."""
    table = read_table(path, all_text=True)
    missing = {"account_id", "treatment"} - set(table.columns)
    if missing:
        raise InputError(f"{path}: allocation: missing column(s) {', '.join(sorted(missing))}")
    out = pd.DataFrame({"account_id": table["account_id"].astype(str)})
    out["treatment"] = table["treatment"].astype(str)
    out["team"] = table["team"].fillna("").astype(str) if "team" in table else ""
    value_col = "uplift_vs_none" if "uplift_vs_none" in table else "expected_value"
    if value_col in table:
        value = pd.to_numeric(table[value_col].replace("", np.nan), errors="coerce")
        bad = np.flatnonzero(value.isna().to_numpy())
        _raise(path, "allocation", [f"row {i + 1}: {value_col}: not a number" for i in bad])
        out["value"] = value.to_numpy(dtype=np.float64)
    else:
        out["value"] = 0.0
    dupes = out["account_id"].duplicated()
    _raise(
        path,
        "allocation",
        [f"row {i + 1}: account_id: duplicate" for i in np.flatnonzero(dupes.to_numpy())],
    )
    return out


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
    raw = raw.assign(account_id=raw["account_id"].astype(str))
    row_of = {a: i + 1 for i, a in enumerate(raw["account_id"])}
    raw = raw.drop_duplicates("account_id").set_index("account_id").reindex(out["account_id"])
    problems = []
    if "timezone" in raw:
        tz = raw["timezone"].fillna("").astype(str).str.strip()
        known = zoneinfo.available_timezones()
        for acct, name in tz[(tz != "") & ~tz.isin(known)].items():
            problems.append(f"row {row_of.get(acct, '?')} ({acct}): timezone: unknown {name!r}")
        out["timezone"] = np.where(tz.to_numpy() == "", default_tz, tz.to_numpy())
    if "preferred_hour" in raw:
        text = raw["preferred_hour"].fillna("").astype(str).str.strip()
        hour = pd.to_numeric(text.replace("", np.nan), errors="coerce")
        bad = (text != "") & (hour.isna() | (hour < 0) | (hour > 23) | (hour % 1 != 0))
        for acct, value in text[bad].items():
            problems.append(
                f"row {row_of.get(acct, '?')} ({acct}): preferred_hour: must be 0-23, got {value!r}"
            )
        out["preferred_hour"] = hour.fillna(-1).where(~bad, -1).to_numpy(dtype=np.int64)
    _raise(path, "portfolio", problems)
    return out


def read_history(path: Path) -> pd.DataFrame:
    """The contact history: account_id, timestamp (UTC), channel, outcome."""
    table = read_table(path, all_text=True)
    missing = {"account_id", "timestamp", "channel", "outcome"} - set(table.columns)
    if missing:
        raise InputError(f"{path}: contact history: missing column(s) {', '.join(sorted(missing))}")
    stamps = pd.to_datetime(
        table["timestamp"].astype(str), utc=True, errors="coerce", format="mixed"
    )
    channel = table["channel"].astype(str).str.strip().str.lower()
    outcome = table["outcome"].astype(str).str.strip().str.lower()
    problems = []
    for i in np.flatnonzero(stamps.isna().to_numpy()):
        problems.append(
            f"row {i + 1}: timestamp: not a date-time, got {table['timestamp'].iloc[i]!r}"
        )
    for i in np.flatnonzero(~channel.isin(CHANNELS).to_numpy()):
        problems.append(f"row {i + 1}: channel: must be one of {', '.join(CHANNELS)}")
    for i in np.flatnonzero(~outcome.isin(OUTCOMES).to_numpy()):
        problems.append(f"row {i + 1}: outcome: must be one of {', '.join(OUTCOMES)}")
    _raise(path, "contact history", problems)
    return pd.DataFrame(
        {"account_id": table["account_id"].astype(str), "timestamp": stamps,
         "channel": channel, "outcome": outcome}
    )  # fmt: skip
