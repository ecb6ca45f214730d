"""Problem lines of an input: collected for a table (:class:`ProblemLog`) and read back
as records (:func:`issue_records`).

A validator adds each problem as a column and a row mask; only the first
:data:`~solver.core.schema.MAX_PROBLEMS` lines are ever formatted, as
``FILE: row N (account_id X): column: what is wrong``, and raised together in one
:class:`~solver.errors.InputError`. :func:`issue_records` parses such lines back into
``file, row, account_id, column, message`` records for machine-readable reports.

A settings file (the policy, the behaviour model) has no rows: its problems are
file-level lines (``FILE: max_dti must be in [0, 10], got 12.0``), collected the same way
(``ProblemLog(source)``, :meth:`ProblemLog.file`) and raised together, so a user fixes
every key in one pass (SPEC §3, session 17 review).

Command-line settings (``--set KEY=VALUE``) have neither rows nor a file: each problem
names the option and the key as typed (``--set policy.max_dti: must be in [0, 10], got
12.0``), collected with :meth:`ProblemLog.setting` in a ``ProblemLog("--set")`` so that
every ``--set`` of one command is reported in one list (session 18).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.core.messages import plural, where
from solver.core.schema import COLUMNS, MAX_PROBLEMS
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "NOT_RUN",
    "POLICY_SET_FORM",
    "SET_FORM",
    "SET_OPTION",
    "SWEEP_SET_FORM",
    "ProblemLog",
    "issue_records",
]

#: The source of command-line settings in messages (``ProblemLog(SET_OPTION)``).
SET_OPTION = "--set"
#: The forms of a ``--set`` item, as a malformed one is told (``--set foo: expected
#: KEY=VALUE``) and as the option's help shows it: one value (``plan``, ``evaluate``,
#: ``offer``, ``scenario run``), a policy key only (``plan-portfolio``: one value applies to
#: every account), or a list of values (``scenario sweep``).
SET_FORM = "KEY=VALUE"
POLICY_SET_FORM = "policy.KEY=VALUE"
SWEEP_SET_FORM = "KEY=VALUE[,VALUE...]"
#: What a command did not do when its ``--set`` values had problems (the error's headline).
NOT_RUN = "nothing was run"


class ProblemLog:
    """Problems found in a table, kept as row masks and formatted lazily.

    Only the first :data:`~solver.core.schema.MAX_PROBLEMS` lines (ordered by row, then
    column order) are ever formatted, so a million bad rows cost no more than a few.
    """

    def __init__(self, source: str, row_numbers: np.ndarray | None = None):
        self.source = source
        # a settings file has no rows: file-level problems only
        self.row_numbers = np.empty(0, dtype=np.int64) if row_numbers is None else row_numbers
        self.account_ids: pd.Series | None = None
        self.file_level: list[str] = []
        #: Column -> how it is named in messages (a layout's ``本金 (principal)``).
        self.labels: dict[str, str] = {}
        self._entries: list[tuple[str, int, np.ndarray, int, Callable[[int], str]]] = []

    def file(self, message: str) -> None:
        """A problem without a row: ``FILE: message``."""
        self.file_level.append(f"{self.source}: {message}")

    def setting(self, key: str, message: str) -> None:
        """A problem of one command-line setting: ``SOURCE KEY: message`` (``--set income:
        not a number``); ``key`` as the user typed it."""
        self.file_level.append(f"{self.source} {key}: {message}")

    def relay(self, error: InputError) -> None:
        """The problems of another check's ``error``, as they are worded (its problem lines,
        or its message when it has none)."""
        self.file_level.extend(error.problems or [str(error)])

    def add(self, column: str, mask: np.ndarray, describe: Callable[[int], str]) -> None:
        """Rows (boolean mask or positions) where ``column`` has the problem ``describe(i)``."""
        mask = np.asarray(mask)
        positions = np.flatnonzero(mask) if mask.dtype == bool else np.sort(mask.astype(np.int64))
        if positions.size == 0:
            return
        order = COLUMNS.index(column) if column in COLUMNS else len(COLUMNS)
        self._entries.append((column, order, positions[:MAX_PROBLEMS], positions.size, describe))

    @property
    def count(self) -> int:
        """Total number of problems (file-level and row-level)."""
        return len(self.file_level) + sum(e[3] for e in self._entries)

    def _where(self, i: int) -> str:
        ident = None
        if self.account_ids is not None:
            ident = str(self.account_ids.iloc[i]) or ""
        return where(int(self.row_numbers[i]), ident)

    def lines(self, limit: int = MAX_PROBLEMS) -> list[str]:
        """Problem lines, file-level first, then by row and column; capped at ``limit``."""
        out = self.file_level[:limit]
        if self._entries and len(out) < limit:
            pos = np.concatenate([e[2] for e in self._entries])
            col = np.concatenate([np.full(e[2].size, e[1]) for e in self._entries])
            ent = np.concatenate([np.full(e[2].size, k) for k, e in enumerate(self._entries)])
            order = np.lexsort((ent, col, pos))[: limit - len(out)]
            for k in order:
                column, _, _, _, describe = self._entries[ent[k]]
                i = int(pos[k])
                label = self.labels.get(column, column)
                out.append(f"{self.source}: {self._where(i)}: {label}: {describe(i)}")
        rest = self.count - len(out)
        if rest > 0:
            by_column: dict[str, int] = {}
            for column, _, _, total, _ in self._entries:
                by_column[column] = by_column.get(column, 0) + total
            summary = ", ".join(
                f"{c} {n}" for c, n in sorted(by_column.items(), key=lambda x: -x[1])
            )
            by = f" (by column: {summary})" if summary else ""
            out.append(f"... and {plural(rest, 'more problem')}{by}")
        return out

    def raise_if_any(
        self, note: str = "", subject: str = "", outcome: str = "nothing was read"
    ) -> None:
        """Raise :class:`InputError` listing the problems, if there are any; ``subject``
        names what the file is (``policy``: ``FILE: 3 problems found in the policy``),
        ``outcome`` what was not done (command-line settings: ``nothing was run``)."""
        if self.count:
            found = f"found in the {subject}" if subject else "found"
            head = f"{self.source}: {plural(self.count, 'problem')} {found}; {outcome}"
            if note:
                head += f" ({note})"
            raise InputError(head, self.lines())


#: A problem line: ``FILE: LOCATION: COLUMN: message`` (the location and column optional).
_LOCATION = re.compile(r"^(?:row (?P<row>\d+)(?: \(account_id (?P<id>.*?)\))?|header)(?=: )")
#: A column is a schema name, or a layout's ``本金 (principal)`` (the schema name is kept).
_COLUMN = re.compile(r"^(?:[^:()]+? \((?P<mapped>[a-z_]+)\)|(?P<column>[A-Za-z_][A-Za-z0-9_.]*)): ")


def issue_records(
    error: InputError | Iterable[str], sources: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The problems of an :class:`InputError` (or problem lines, e.g. warnings) as records
    (for machine-readable reports).

    Each problem line ``FILE: row N (account_id X): column: what is wrong`` becomes
    ``{"file", "row", "account_id", "column", "message"}`` (``None`` where a part is not
    given: a file-level problem has no row, a header problem has no row but a column).
    ``sources`` are the file names the lines may start with (longest first is tried);
    an error without problem lines gives one record of its headline. A line that counts
    the problems left out (``... and 12 more problems``) is kept as a record with only a
    message.
    """
    names = sorted({str(s) for s in sources if s}, key=len, reverse=True)
    if isinstance(error, InputError):
        lines = list(error.problems) or [str(error.args[0]) if error.args else str(error)]
    else:
        lines = [str(line) for line in error]
    records: list[dict[str, Any]] = []
    for line in lines:
        record: dict[str, Any] = {
            "file": None,
            "row": None,
            "account_id": None,
            "column": None,
            "message": line,
        }
        rest = line
        for name in names:
            if rest.startswith(name + ": "):
                record["file"] = name
                rest = rest[len(name) + 2 :]
                break
        else:
            if not names and not rest.startswith("... "):  # no names given: up to ": "
                head, sep, tail = rest.partition(": ")
                if sep and not head.startswith("--"):
                    record["file"], rest = head, tail
        location = _LOCATION.match(rest)
        if location is not None and record["file"] is not None:
            if location.group("row") is not None:
                record["row"] = int(location.group("row"))
                record["account_id"] = location.group("id")
            rest = rest[location.end() + 2 :]
            column = _COLUMN.match(rest)
            if column is not None:
                record["column"] = column.group("mapped") or column.group("column")
                rest = rest[column.end() :]
        record["message"] = rest
        records.append(record)
    return records
