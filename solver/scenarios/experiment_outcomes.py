"""The outcomes file of a champion/challenger evaluation (SPEC §9): read and validated.

After the observation window the bank records, per account (CSV, Parquet or Excel):

=================  ===========================================================================
column             meaning
=================  ===========================================================================
``account_id``     unique id (text), required
``group``          ``champion`` or ``challenger`` (case-insensitive), required
``balance``        balance owed at the start of the window (CNY, > 0), required
``collected``      cash collected in the window (CNY, ≥ 0), required
``cured``          back to current (M0) at the end of the window: true/false, 1/0, yes/no; required
``cost``           collection cost spent on the account (CNY, ≥ 0), optional
``tier``, ``dpd_bucket``, ``product``  optional segment columns (carried into the report)
=================  ===========================================================================

:func:`read_outcomes` reads one, :func:`validate_outcomes` checks a table and lists every
problem by row, account and column; :mod:`solver.scenarios.experiment_eval` evaluates it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from solver.core.messages import fmt_num, fmt_raw
from solver.core.problems import ProblemLog
from solver.core.tables import read_table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GROUPS", "OPTIONAL_COLUMNS", "OUTCOME_COLUMNS", "read_outcomes", "validate_outcomes"]

GROUPS: tuple[str, ...] = ("champion", "challenger")
OUTCOME_COLUMNS: tuple[str, ...] = ("account_id", "group", "balance", "collected", "cured")
OPTIONAL_COLUMNS: tuple[str, ...] = ("cost", "tier", "dpd_bucket", "product")


# --------------------------------------------------------------------------------------
# Outcomes
# --------------------------------------------------------------------------------------

_TRUE = {"true", "t", "yes", "y", "1", "1.0", "cured", "是"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", "not_cured", "否"}


def read_outcomes(path: str | Path) -> pd.DataFrame:
    """Read and validate an outcomes file (CSV, Parquet or Excel; format in the docstring).

    Raises
    ------
    InputError
        Listing every problem as ``FILE: row N (account_id X): column: what is wrong``;
        an unreadable file as :func:`solver.core.tables.read_table` reports it.
    """
    path = Path(path)
    return validate_outcomes(read_table(path, all_text=True), source=str(path))


#: How the problem lines count rows (after the headline).
ROW_NOTE = "row N = the Nth data row below the header"


def validate_outcomes(raw: pd.DataFrame, source: str = "<outcomes>") -> pd.DataFrame:
    """Typed outcomes table from a raw one (every cell as text, or typed from Parquet).

    Problems are collected in a :class:`~solver.core.problems.ProblemLog`, as every reader
    of the project does (session 24; before, a hand-written list grouped them by column):
    ``FILE: row N (account_id X): column: what is wrong``, ordered by row, at most
    :data:`~solver.core.schema.MAX_PROBLEMS` lines, then the rest counted by column. A file
    with a header and no rows says so.

    Raises
    ------
    InputError
        Listing every problem (rows numbered from 1, the first data row).
    """
    import difflib

    import pandas as pd

    raw = raw.rename(columns=lambda c: str(c).strip().lower().replace(" ", "_"))
    log = ProblemLog(source, np.arange(1, len(raw) + 1))
    extra = [c for c in raw.columns if c not in OUTCOME_COLUMNS + OPTIONAL_COLUMNS]
    for column in (c for c in OUTCOME_COLUMNS if c not in raw.columns):
        close = difflib.get_close_matches(column, extra, n=1)
        hint = f" (is {close[0]!r} meant to be it?)" if close else ""
        log.file(f"missing required column {column!r}{hint}")
    if raw.empty:
        log.file("header only, no data rows")
    log.raise_if_any(ROW_NOTE, subject="outcomes file")
    text = {c: raw[c].astype(str).str.strip() for c in raw.columns}
    ids = text["account_id"].to_numpy(dtype=object)
    log.account_ids = text["account_id"]
    out = pd.DataFrame({"account_id": ids})
    log.add("account_id", ids == "", lambda i: "missing")
    duplicate = pd.Series(ids).duplicated(keep="first").to_numpy() & (ids != "")
    log.add("account_id", duplicate, lambda i: "duplicate")
    group = text["group"].str.lower().to_numpy(dtype=object)
    log.add(
        "group",
        ~np.isin(group, GROUPS),
        lambda i: f"must be champion or challenger, got {fmt_raw(raw['group'].iloc[i])}",
    )
    out["group"] = group
    for column, strict in (("balance", True), ("collected", False), ("cost", False)):
        if column in raw.columns:
            out[column] = _amounts(log, column, text[column], strict)
    cured_text = text["cured"].str.lower().to_numpy(dtype=object)
    cured = np.isin(cured_text, list(_TRUE))
    log.add(
        "cured",
        ~cured & ~np.isin(cured_text, list(_FALSE)),
        lambda i: f"must be true/false (or 1/0), got {fmt_raw(raw['cured'].iloc[i])}",
    )
    out["cured"] = cured
    for column in ("tier", "dpd_bucket", "product"):
        if column in raw.columns:
            out[column] = raw[column].astype(str).to_numpy()
    log.raise_if_any(ROW_NOTE, subject="outcomes file")
    for g in GROUPS:
        count = int((out["group"] == g).sum())
        if count < 2:
            log.file(f"group {g!r} needs at least 2 accounts to be evaluated, has {count}")
    log.raise_if_any(subject="outcomes file", outcome="nothing was evaluated")
    return out


def _amounts(log: ProblemLog, column: str, cells: pd.Series, strict: bool) -> np.ndarray:
    """The amounts of one column (CNY, thousands separators allowed), its problems logged:
    not a number, or not > 0 (``strict``) / not >= 0."""
    import pandas as pd

    values = pd.to_numeric(cells.str.replace(",", ""), errors="coerce").to_numpy(float)
    log.add(column, ~np.isfinite(values), lambda i: f"not a number: {fmt_raw(cells.iloc[i])}")
    rule = "> 0" if strict else ">= 0"
    bad = np.isfinite(values) & ((values <= 0) if strict else (values < 0))
    log.add(column, bad, lambda i: f"must be {rule}, got {fmt_num(values[i])}")
    return values
