"""Which table layout a table that is none of them was meant to be (review s24).

The risk commands tell a layout by its columns (:func:`~solver.risk.uci.is_uci_table`,
:func:`~solver.risk.history.is_history_table`, ...). A table lacking one column of its
layout is none of them, and each command used to answer with the missing columns of its
own first layout: a history without ``dpd`` was "not a UCI credit-card table (missing
LIMIT_BAL..PAY_AMT6 ...)" for ``risk fit``, and a UCI file without ``X8`` lacked
"account_id, month, dpd_bucket" for ``risk rollrates``. :func:`closest_layout` picks the
layout, among those a command reads, that the table has the largest share of the required
columns of; the command then validates the table as that layout, whose message names the
columns really missing.
"""

from __future__ import annotations

from collections.abc import Iterable

from solver.risk.history import HISTORY_REQUIRED
from solver.risk.uci import UCI_COLUMNS

__all__ = ["LAYOUT_COLUMNS", "OUTCOMES_REQUIRED", "PANEL_REQUIRED", "closest_layout"]

#: The columns a status panel requires (:func:`~solver.risk.panel.validate_panel`), each a
#: tuple of alternatives: ``dpd`` may stand for ``dpd_bucket``.
PANEL_REQUIRED: tuple[tuple[str, ...], ...] = (("account_id",), ("month",), ("dpd_bucket", "dpd"))
#: The columns an outcome table requires (:func:`~solver.risk.outcomes.validate_outcomes`).
OUTCOMES_REQUIRED: tuple[str, ...] = ("tier", "defaults")

#: The columns each layout requires (a set of alternatives counts once, as one column): the
#: validators' own lists (s25: the panel's and the outcomes' were written here a second time).
LAYOUT_COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "uci": tuple((f"X{k}", name) for k, name in enumerate(UCI_COLUMNS, start=1)),
    "history": tuple((c,) for c in HISTORY_REQUIRED),
    "panel": PANEL_REQUIRED,
    "outcomes": tuple((c,) for c in OUTCOMES_REQUIRED),
}


def closest_layout(columns: Iterable[object], accepted: tuple[str, ...]) -> str:
    """The layout of ``accepted`` (names of :data:`LAYOUT_COLUMNS`) whose required columns
    the table with ``columns`` has the largest share of, when that is at least half of them;
    else the first of ``accepted``, the command's main layout (a table of another kind, such
    as a status panel given to ``risk calibrate``, is told what the command reads first; a
    share of two history columns out of six is not "meant to be a history")."""
    names = {str(c).strip() for c in columns}

    def share(layout: str) -> float:
        required = LAYOUT_COLUMNS[layout]
        return sum(1 for options in required if names & set(options)) / len(required)

    best = max(accepted, key=lambda layout: (share(layout), -accepted.index(layout)))
    return best if share(best) >= 0.5 else accepted[0]
