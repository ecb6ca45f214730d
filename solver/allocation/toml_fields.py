"""Checked readers of TOML values: each returns the value or records a problem.

The catalogue (:mod:`~solver.allocation.catalogue`) and the teams file
(:mod:`~solver.allocation.teams`) read every key through these, so that a file with several
mistakes is reported all at once: every reader appends a one-sentence message naming the
file (``source``), the table (``where``) and the key to ``problems`` and goes on with a
default, instead of raising at the first one.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "read_keys",
    "read_number",
    "read_number_or_nan",
    "read_strings",
    "read_tables",
    "read_true_false",
    "read_whole_number",
]


def read_keys(
    table: Any, allowed: frozenset[str], source: str, where: str, problems: list[str]
) -> dict[str, Any]:
    """``table`` as a dict; unknown keys (with the closest valid one) go to ``problems``."""
    if not isinstance(table, Mapping):
        problems.append(f"{source}: {where}: must be a table, got {table!r}"[:200])
        return {}
    for key in sorted(set(table) - allowed):
        close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(f"{source}: {where}: unknown key {key!r}{hint}")
    return dict(table)


def read_number(
    table: Mapping[str, Any],
    key: str,
    default: float,
    source: str,
    where: str,
    problems: list[str],
    lo: float = -math.inf,
    hi: float = math.inf,
) -> float:
    """A finite number in [lo, hi] from ``table`` (``default`` when absent); else a problem."""
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{source}: {where}: {key}: must be a number, got {value!r}"[:200])
        return float(default)
    if math.isnan(value) or (math.isinf(value) and value != default):
        problems.append(f"{source}: {where}: {key}: must be finite, got {value}")
        return float(default)
    if not lo <= value <= hi:
        problems.append(f"{source}: {where}: {key}: must be in [{lo:g}, {hi:g}], got {value}")
        return float(default)
    return float(value)


def read_true_false(
    table: Mapping[str, Any], key: str, default: bool, source: str, where: str, problems: list[str]
) -> bool:
    """A true/false value from ``table``; anything else is a problem."""
    value = table.get(key, default)
    if isinstance(value, bool):
        return value
    problems.append(f"{source}: {where}: {key}: must be true or false, got {value!r}"[:200])
    return default


def read_whole_number(
    table: Mapping[str, Any],
    key: str,
    default: int,
    source: str,
    where: str,
    problems: list[str],
    lo: int,
    hi: int,
) -> int:
    """A whole number in ``[lo, hi]`` from ``table`` (``default`` when absent; a problem and
    the default otherwise)."""
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        problems.append(
            f"{source}: {where}: {key}: must be a whole number in [{lo}, {hi}], got {value!r}"
        )
        return default
    return int(value)


def read_strings(
    table: Mapping[str, Any],
    key: str,
    default: Sequence[str],
    source: str,
    where: str,
    problems: list[str],
) -> tuple[str, ...]:
    """A list of strings (a single string counts as one) from ``table``; else a problem."""
    value = table.get(key, default)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    problems.append(f"{source}: {where}: {key}: must be a list of strings, got {value!r}"[:200])
    return tuple(default)


def read_tables(
    value: Any, source: str, where: str, problems: list[str]
) -> list[Mapping[str, Any]]:
    """An array of tables (``[[teams]]``); anything else is a problem."""
    if isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        return value
    problems.append(f"{source}: {where}: must be an array of tables ([[{where}]])")
    return []


def read_number_or_nan(
    table: Mapping[str, Any],
    key: str,
    default: Any,
    source: str,
    where: str,
    problems: list[str],
    lo: float = 0.0,
    hi: float = math.inf,
) -> float:
    """A finite number from ``table`` (``default`` when absent; a problem and NaN when it is
    missing without a default or not a finite number; a problem when outside [lo, hi])."""
    value = table.get(key, default)
    if value is None:
        problems.append(f"{source}: {where}: {key}: missing")
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{source}: {where}: {key}: must be a number, got {value!r}")
        return math.nan
    if not math.isfinite(value):
        problems.append(f"{source}: {where}: {key}: must be finite, got {value}")
        return math.nan
    if value < lo:
        problems.append(f"{source}: {where}: {key}: must be >= {lo}, got {value}")
    if value > hi:
        problems.append(f"{source}: {where}: {key}: must be <= {hi}, got {value}")
    return float(value)
