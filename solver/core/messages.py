"""How problem messages show values and locations (SPEC §3, §11).

Every validator words its problems as ``FILE: row N (account_id X): column: what is
wrong``; these helpers give the parts: numbers in their shortest readable form
(:func:`fmt_num`), raw input values quoted and shortened (:func:`fmt_raw`), the location
(:func:`where`), counts (:func:`plural`), and the privacy rule for personal-financial
values (:data:`PERSONAL_FIELDS`: withheld unless ``workout --verbose``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "PERSONAL_FIELDS",
    "WITHHELD",
    "fmt_num",
    "fmt_raw",
    "plural",
    "show_personal_values",
    "shown_value",
    "where",
]


def fmt_num(value: float) -> str:
    """Shortest readable form of a number (no trailing .0, no scientific below 1e15)."""
    if isinstance(value, bool):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def fmt_raw(value: Any) -> str:
    """A raw input value quoted for a message (shortened)."""
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    if isinstance(value, float | int | np.floating | np.integer) and not isinstance(value, bool):
        return fmt_num(float(value))
    return repr(value)


#: Personal-financial fields: their values are withheld from messages (errors, warnings,
#: logs) unless the user asks with ``workout --verbose`` (``WORKOUT_VERBOSE=1``). The row,
#: the account_id, the column and the rule are always named.
PERSONAL_FIELDS = frozenset(
    {
        "income",
        "income_normal",
        "income_forecast",
        "inflows",
        "expenses",
        "other_debt",
        "credit_score",
    }
)
WITHHELD = "<withheld>"


def show_personal_values() -> bool:
    """Whether messages may show values of :data:`PERSONAL_FIELDS` (``--verbose``)."""
    return os.environ.get("WORKOUT_VERBOSE", "") not in ("", "0")


def shown_value(column: str, text: str) -> str:
    """``text`` (a value in a message), or :data:`WITHHELD` for a personal field."""
    if column in PERSONAL_FIELDS and not show_personal_values():
        return WITHHELD
    return text


def plural(count: int, noun: str) -> str:
    """``1 problem``, ``3 problems``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def first_named(names: Sequence[str], limit: int = 10) -> str:
    """The first ``limit`` of ``names`` and how many more (``"a, b and 3 more"``).

    >>> first_named(["a", "b", "c"], limit=2), first_named(["a"])
    ('a, b and 1 more', 'a')
    """
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit:,} more" if len(names) > limit else "")


def where(row: int | None, account_id: str | None) -> str:
    """The location part of a problem line: ``row 3 (account_id A003)``."""
    ident = f"account_id {account_id}" if account_id else "account_id missing"
    if row is None:
        return ident
    return f"row {row} ({ident})" if account_id is not None else f"row {row}"
