"""Reading the tables of the risk module (CSV, Parquet, Excel or a database) and wording
their problems.

The portfolio reader in :mod:`solver.core.readers` validates the SPEC §3 account schema; the risk
module reads other shapes (status panels, behaviour histories, outcome tables) with the
format-by-extension reader of :mod:`solver.core.tables` (:func:`read_table`, re-exported
here) and validates each shape itself, listing its problems with :class:`RowProblems`.
The risk commands write their tables with the command line's one writer
(:func:`solver.core.writers.write_table`, through ``commands/output.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from solver.core.cleaning import is_blank
from solver.core.messages import WITHHELD, show_personal_values
from solver.core.schema import MAX_PROBLEMS
from solver.core.sources import BookSource
from solver.core.tables import TableSource, read_table
from solver.errors import InputError

__all__ = [
    "RowProblems",
    "TableSource",
    "problems_error",
    "read_table",
    "shown",
    "source_label",
]


def source_label(path: TableSource) -> str:
    """How messages name a table: the file's path, or ``TABLE@URL`` (password masked)."""
    return str(path) if isinstance(path, BookSource) else str(Path(path))


class RowProblems:
    """The problem lines of a table, ``FILE: row N (account_id X): column: what (got V)``
    (rows counted from 1 after the header, SPEC §3), at most :data:`MAX_PROBLEMS` a check.

    :attr:`lines` are in row order, then the table's column order, then the order the
    checks ran: the order of the account book's reader (:class:`solver.core.problems.ProblemLog`),
    so a user fixing a file top to bottom meets them in turn. (Until session 19 they came
    check by check, e.g. rows 10, 12, 6.)

    ``frame`` holds the raw cells (the ``got`` value); ``account_id`` names each row;
    ``row_offset`` rows come before ``frame`` in the whole table (a partition of a dataset);
    ``labels`` name columns in messages as the file does (``X1 (LIMIT_BAL)``); the values of
    the ``personal`` columns are withheld unless ``workout --verbose``
    (:func:`~solver.core.messages.show_personal_values`).
    """

    def __init__(
        self,
        source: str,
        frame: pd.DataFrame,
        account_id: pd.Series,
        *,
        row_offset: int = 0,
        labels: Mapping[str, str] | None = None,
        personal: Collection[str] = (),
    ) -> None:
        self.source = source
        self.frame = frame
        self.account_id = account_id
        self.row_offset = row_offset
        self.labels = labels or {}
        self.withheld = frozenset(() if show_personal_values() else personal)
        # (row, column rank, check number, line): sorted into :attr:`lines`
        self._found: list[tuple[int, int, int, str]] = []
        self._checks = 0

    @property
    def lines(self) -> list[str]:
        """The problem lines reported so far, in row, then column, then check order."""
        return [line for *_, line in sorted(self._found)]

    def report(
        self,
        mask: np.ndarray,
        column: str,
        what: str,
        raw: pd.Series | None = None,
        *,
        got: bool = True,
    ) -> None:
        """One line for each row of ``mask`` (the first 50): ``what`` is wrong with its
        ``column``, and with ``got`` the value it holds (``raw``, by default the frame's
        column; a blank cell has none worth showing)."""
        cells = self.frame[column] if raw is None else raw
        label = self.labels.get(column, column)
        columns = list(self.frame.columns)
        rank = columns.index(column) if column in columns else len(columns)
        self._checks += 1
        for pos in np.flatnonzero(mask)[:MAX_PROBLEMS]:
            problem = what
            if got and is_blank(cells.iat[pos]):
                # a blank cell holds nothing to show ("got nan", "got <withheld>"): it is a
                # missing value, as docs/history.md words it (review s24)
                problem, value = "missing value", ""
            elif not got:
                value = ""
            else:
                value = f" (got {WITHHELD if column in self.withheld else shown(cells.iat[pos])})"
            line = (
                f"{self.source}: row {self.row_offset + pos + 1} "
                f"(account_id {self._account(pos)}): {label}: {problem}{value}"
            )
            self._found.append((int(pos), rank, self._checks, line))

    def _account(self, pos: int) -> str:
        """The row's account id as messages show it: ``missing`` for a blank id cell (the
        ids are text, where a blank reads ``nan``)."""
        raw = self.frame["account_id"] if "account_id" in self.frame.columns else None
        if raw is not None and len(raw) == len(self.account_id) and is_blank(raw.iat[pos]):
            return "missing"
        return str(self.account_id.iat[pos])

    def raise_any(self) -> None:
        """Raise the lines as one :class:`InputError` (:func:`problems_error`), if any."""
        if self._found:
            raise problems_error(self.source, self.lines)


def problems_error(source: str, problems: list[str]) -> InputError:
    """An :class:`InputError` with a headline counting ``problems`` (listing at most 50)."""
    shown = problems[:MAX_PROBLEMS]
    if len(problems) > MAX_PROBLEMS:
        shown.append(f"... and {len(problems) - MAX_PROBLEMS} more")
    noun = "problem" if len(problems) == 1 else "problems"
    return InputError(f"{source}: {len(problems)} {noun}", shown)


def shown(value: object) -> str:
    """A cell value for an error message: ``'x'`` for text, ``12`` for numbers (no numpy repr)."""
    item = getattr(value, "item", None)
    return repr(item() if callable(item) else value)
