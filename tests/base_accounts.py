"""Three valid accounts (SPEC §3): the base every broken-input file of the tests plants one
problem in (``tests/data/broken/make_broken.py`` writes the committed files,
``tests/adversarial/adv_helpers.py`` builds its cases at test time). Each user gives the
account ids and its own further columns; the values here are shared.
"""

from __future__ import annotations

from collections.abc import Sequence

from solver.core.schema import COLUMNS

#: The base columns, in file order (users append their own after ``expenses``): SPEC §3's
#: columns up to ``tier`` in the schema's order, then ``income`` and ``expenses``.
BASE_HEADER = [*COLUMNS[: COLUMNS.index("tier") + 1], "income", "expenses"]
# The base accounts' values from ``product`` to ``expenses`` (the id is the user's).
# fmt: off
_BASE_VALUES = [
    ["auto_loan", "80000", "400", "60", "2900", "0.072", "30", "20", "700", "", "5000", "2800"],
    ["card_instalment", "20000", "300", "150", "2000", "0.15", "12", "75", "600", "", "6000", "2000"],
    ["auto_loan", "45000", "0", "0", "0", "0.05", "18", "0", "800", "B", "8000", "3000"],
]
# fmt: on


def base_rows(ids: Sequence[str], extra: Sequence[Sequence[str]]) -> list[list[str]]:
    """The three base accounts as text rows: ``ids[i]``, the base values, then ``extra[i]``
    (the user's own columns)."""
    return [
        [account_id, *values, *more]
        for account_id, values, more in zip(ids, _BASE_VALUES, extra, strict=True)
    ]


def typed_cell(column: str, cell: str, text_columns: Sequence[str]) -> object:
    """A text cell as Excel or Parquet holds it: text (blank as ``None``) in
    ``text_columns``, ``hardship`` as a bool, anything else a float (blank as ``None``)."""
    if column in text_columns:
        return cell or None
    if column == "hardship":
        return cell == "true"
    return float(cell) if cell else None
