"""Coercing and checking the values of one account (the scalar path of the schema).

:func:`clean_account` turns a mapping (a TOML/JSON record, keyword arguments, a table row)
into the SPEC §3 values of one :class:`~solver.core.account.Account`: each value is
coerced to its field's kind (:func:`clean_scalar`), blanks take the defaults, and every
problem is collected. ``income_forecast`` and ``inflows`` are read from their text form
(``3800;3800;4200``, ``3:20000;12:5000``) or from lists, and :func:`sequence_text` writes
that text form back. The vectorised validator of whole tables
(:mod:`solver.core.validation`) sends the cells it cannot parse in bulk through
:func:`clean_scalar`, so both paths give the same values and the same messages.

Decision (issue 13, "a forecast series of the wrong length ... or non-numeric months"):
a series has one form per kind of input, and nothing else is taken for it.

* A table cell (CSV, Excel, SQL) holds the text form. A cell is one value, and the text
  form of a one-month forecast is one number, so a cell that Excel or pandas typed as the
  number ``3800`` is the one-month series ``(3800,)``, exactly like the text ``3800``.
* A TOML/JSON record, a Python call or a Parquet list column has real lists: the series
  is a list (or the text form as one string), and its items are numbers. A single number
  (``income_forecast = 3800``), a single ``{month, amount}`` table, and numbers written as
  text inside a list (``"3800"``, ``{month = "3", ...}``) are refused. The SPEC asks for a
  month-by-month series; a bare ``3800`` reads as "3,800 every month" to whoever wrote
  it, while as a series it means "month 1 only, then the SPEC path", so taking it either
  way could plan on an income the customer does not have. Inside a list the writer chose
  the typed form, where a quoted number is a type error as a JSON or TOML schema would
  call it; the text form is the place for text. Scalar fields (``principal = "12000"``)
  still take numeric text: the same mapping path reads ``--set KEY=VALUE``, always text.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np

from solver.core.messages import fmt_num, fmt_raw, shown_value, where
from solver.core.schema import (
    ARREARS_TOLERANCE,
    BOOL_WORDS,
    FIELDS,
    MAX_FORECAST_MONTHS,
    MONEY_MAX,
    NAN_WORDS,
    FieldSpec,
    bound_messages,
    rate_hint,
)

__all__ = [
    "BLANK",
    "arrears_problem",
    "clean_account",
    "clean_scalar",
    "cross_field_checks",
    "is_blank",
    "is_sequence",
    "sequence_text",
]

#: What :func:`clean_scalar` returns for a blank value (the field then takes its default).
BLANK = object()

#: A decimal number as the table readers accept it (ASCII digits, optional sign, point and
#: exponent, or inf). Python's ``float`` also takes ``1_000`` and non-ASCII digits, which
#: a CSV or Excel cell would refuse: one rule for every input (issue 15).
_DECIMAL_RE = re.compile(
    r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?inf(?:inity)?", re.I
)


def is_blank(value: Any) -> bool:
    """A cell that holds nothing: ``None``, a float ``NaN``, a ``NaT`` (numpy's or
    pandas'), pandas' ``NA``, a decimal NaN, empty or blank text, or a NaN word (``"NA"``,
    :data:`~solver.core.schema.NAN_WORDS`, which pandas reads as missing by default).

    The one definition of a blank cell, for every table (a portfolio, a history, an
    outcome table): ``pandas.isna``'s scalars and the words a spreadsheet or an export
    writes for nothing. Anything else -- a number, a date, an array-like cell -- is not
    blank. pandas is not imported for this (``import solver`` must not load it): a pandas
    marker can only be a value when pandas is loaded already.

    >>> [is_blank(v) for v in (None, float("nan"), "  ", "NA", 0, "0", [float("nan")])]
    [True, True, True, True, False, False, False]
    """
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip() or value.strip() in NAN_WORDS
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    if isinstance(value, Decimal):
        return value.is_nan()
    pandas = sys.modules.get("pandas")
    return pandas is not None and (value is pandas.NA or value is pandas.NaT)


def clean_scalar(spec: FieldSpec, value: Any, *, cell: bool = False) -> tuple[Any, str | None]:
    """Coerce one value to the field's kind and check it. Returns (value or BLANK, problem).

    ``cell`` says the value is a table cell, where a single number is a one-month
    ``income_forecast`` (the module docstring says why records are stricter).
    """
    if is_blank(value):
        return BLANK, None
    kind = spec.kind
    if kind == "forecast":
        return _clean_forecast(spec.name, value, cell)
    if kind == "inflows":
        return _clean_inflows(spec.name, value)
    if kind in ("id", "text", "category"):
        if isinstance(value, bool) or not isinstance(value, str | int | float | np.generic):
            return None, f"expected text, got {fmt_raw(value)}"
        if isinstance(value, float | np.floating) and float(value).is_integer():
            text = str(int(value))
        else:
            text = str(value).strip()
        if kind != "category":
            return text, None
        text = text.upper() if spec.name == "tier" else text.lower()
        if spec.allowed is not None and text not in spec.allowed:
            return (
                None,
                f"unknown {spec.name} {fmt_raw(value)} (allowed: {', '.join(spec.allowed)})",
            )
        return text, None
    if kind == "bool":
        if isinstance(value, bool | np.bool_):
            return bool(value), None
        if isinstance(value, int | float | np.integer | np.floating) and float(value) in (0.0, 1.0):
            return bool(value), None
        if isinstance(value, str) and value.strip().lower() in BOOL_WORDS:
            return BOOL_WORDS[value.strip().lower()], None
        return None, f"expected true/false, got {fmt_raw(value)}"
    # numeric kinds
    if isinstance(value, bool | np.bool_):
        return None, f"expected a number, got {shown_value(spec.name, repr(value))}"
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
    elif isinstance(value, str):
        if not _DECIMAL_RE.fullmatch(value.strip()):
            return None, f"not a number: {shown_value(spec.name, fmt_raw(value))}"
        number = float(value.strip())
        if math.isnan(number):
            return BLANK, None
    else:
        return None, f"expected a number, got {shown_value(spec.name, fmt_raw(value))}"
    if math.isinf(number):
        return None, f"infinite value ({fmt_num(number)})"
    lo_msg, hi_msg = bound_messages(spec)
    if spec.lower is not None and (
        number < spec.lower or (spec.lower_open and number == spec.lower)
    ):
        return (
            None,
            f"{lo_msg}, got {shown_value(spec.name, fmt_num(number))}{rate_hint(spec, number)}",
        )
    if spec.upper is not None and (
        number > spec.upper or (spec.upper_open and number == spec.upper)
    ):
        return (
            None,
            f"{hi_msg}, got {shown_value(spec.name, fmt_num(number))}{rate_hint(spec, number)}",
        )
    if kind == "int":
        if not number.is_integer():
            return None, f"must be a whole number, got {shown_value(spec.name, fmt_num(number))}"
        return int(number), None
    return number, None


# -- income_forecast and inflows (text, a list, or in a table cell a single number) --------

#: Characters that look like an attempt to separate items with something else than ";".
_OTHER_SEPARATORS = (",", "|", "/", "\t", "，", "；")
_FORECAST_EXAMPLE = "e.g. '3800;3800;4200'"
_INFLOWS_EXAMPLE = "e.g. '3:20000;12:5000'"


def is_sequence(value: Any) -> bool:
    """A list, tuple or array (a forecast or inflows value not in its text form)."""
    return isinstance(value, list | tuple | np.ndarray)


def _separator_hint(text: str, example: str) -> str | None:
    """A message for text that uses another separator than ';', else None."""
    for sep in _OTHER_SEPARATORS:
        if sep in text:
            return f"separate the items with ';', not {sep!r} ({example})"
    if len(text.split()) > 1:
        return f"separate the items with ';', not spaces ({example})"
    return None


def _number(raw: Any) -> float | None:
    """A float from a number or numeric text (``None`` when it is neither; bools are not)."""
    if isinstance(raw, bool | np.bool_):
        return None
    if isinstance(raw, int | float | np.integer | np.floating):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw.strip())
        except ValueError:
            return None
    return None


def _is_number(raw: Any) -> bool:
    """A real number (not a bool, not text): what an item of a list must be."""
    return isinstance(raw, int | float | np.integer | np.floating) and not isinstance(
        raw, bool | np.bool_
    )


def _quoted(column: str, what: str, raw: Any) -> str | None:
    """The problem with numeric text inside a list (module docstring), else None."""
    if isinstance(raw, str) and _number(raw) is not None:
        return (
            f"{what}: expected a number, got the text {shown_value(column, fmt_raw(raw))} "
            "(write it without quotes)"
        )
    return None


def _amount_problem(column: str, what: str, value: float) -> str | None:
    """The problem with one amount of a forecast or an inflow (finite, >= 0, plausible)."""
    if math.isnan(value):
        return f"{what}: missing value"
    if math.isinf(value):
        return f"{what}: infinite value ({fmt_num(value)})"
    if value < 0:
        return f"{what}: negative amount, must be >= 0, got {shown_value(column, fmt_num(value))}"
    if value > MONEY_MAX:
        return (
            f"{what}: implausibly large (> {MONEY_MAX:.0e} CNY; amounts are in yuan, not fen), "
            f"got {shown_value(column, fmt_num(value))}"
        )
    return None


def _clean_forecast(column: str, value: Any, cell: bool) -> tuple[Any, str | None]:
    """``income_forecast`` from ``"3800;3800"``, a list of numbers, or (``cell``) one number."""
    if isinstance(value, str):
        text = value.strip()
        raw: list[Any] = [part.strip() for part in text.split(";")]
        for k, part in enumerate(raw, start=1):
            if not part:
                return None, (
                    f"month {k}: empty value; give one amount per month separated by ';' "
                    f"({_FORECAST_EXAMPLE})"
                )
            if _number(part) is None:
                hint = _separator_hint(part, _FORECAST_EXAMPLE)
                if hint is not None:
                    return None, hint
                return None, f"month {k}: not a number: {shown_value(column, fmt_raw(part))}"
    elif is_sequence(value):
        if isinstance(value, np.ndarray) and value.ndim != 1:
            return None, f"expected a list of monthly amounts, got an array of shape {value.shape}"
        raw = list(value)
        for k, item in enumerate(raw, start=1):
            problem = _quoted(column, f"month {k}", item)
            if problem is not None:
                return None, problem
    elif _is_number(value) and cell:
        raw = [value]  # one month: the text form of a one-month series, typed by the reader
    elif _is_number(value):
        return None, (
            f"expected a list of monthly amounts, got the single number "
            f"{shown_value(column, fmt_num(float(value)))}; write one amount per month "
            "([3800, 3800, 4200]), or [3800] for month 1 only"
        )
    else:
        return None, (
            f"expected a list of monthly amounts ({_FORECAST_EXAMPLE}), got {type(value).__name__}"
        )
    if not raw:
        return None, "empty forecast; give at least one month (K >= 1)"
    if len(raw) > MAX_FORECAST_MONTHS:
        return None, f"{len(raw)} months, at most {MAX_FORECAST_MONTHS} are allowed"
    amounts: list[float] = []
    for k, item in enumerate(raw, start=1):
        number = None if is_blank(item) and not isinstance(item, str) else _number(item)
        if number is None:
            if is_blank(item):
                return None, f"month {k}: missing value"
            shown = fmt_raw(item) if isinstance(item, str) else type(item).__name__
            return None, f"month {k}: not a number: {shown_value(column, shown)}"
        problem = _amount_problem(column, f"month {k}", number)
        if problem is not None:
            return None, problem
        amounts.append(number)
    return tuple(amounts), None


def _inflow_pairs(column: str, value: Any) -> tuple[list[tuple[Any, Any]], str | None]:
    """Raw ``(month, amount)`` pairs of an ``inflows`` cell, or a problem."""
    if isinstance(value, str):
        pairs: list[tuple[Any, Any]] = []
        for k, part in enumerate(value.strip().split(";"), start=1):
            part = part.strip()
            if part.count(":") != 1:
                hint = _separator_hint(part, _INFLOWS_EXAMPLE) if ":" in part else None
                return [], hint or (
                    f"inflow {k}: expected MONTH:AMOUNT, got {shown_value(column, fmt_raw(part))} "
                    f"({_INFLOWS_EXAMPLE})"
                )
            month, amount = (x.strip() for x in part.split(":"))
            pairs.append((month, amount))
        return pairs, None
    if isinstance(value, Mapping):
        return [], (
            "expected a list of inflows, got a single table; write it as a list of one "
            "([{month = 3, amount = 20000}])"
        )
    if not is_sequence(value):
        return [], (f"expected MONTH:AMOUNT pairs ({_INFLOWS_EXAMPLE}), got {type(value).__name__}")
    pairs = []
    for k, item in enumerate(value, start=1):
        if isinstance(item, Mapping):
            extra = sorted(str(key) for key in item if key not in ("month", "amount"))
            if extra:
                return [], f"inflow {k}: unknown key {extra[0]!r} (expected month and amount)"
            missing = [key for key in ("month", "amount") if key not in item]
            if missing:
                return [], f"inflow {k}: {missing[0]} is missing"
            pair = (item["month"], item["amount"])
        elif is_sequence(item) and len(item) == 2:
            pair = (item[0], item[1])
        else:
            return [], (
                f"inflow {k}: expected {{month = M, amount = A}} or [M, A], "
                f"got {type(item).__name__}"
            )
        for part, raw in zip(("month", "amount"), pair, strict=True):
            # an amount is personal (withheld in messages), a month is not
            problem = _quoted(column if part == "amount" else part, f"inflow {k}: {part}", raw)
            if problem is not None:
                return [], problem
        pairs.append(pair)
    return pairs, None


def _clean_inflows(column: str, value: Any) -> tuple[Any, str | None]:
    """``inflows`` from ``"3:20000;12:5000"``, ``[[3, 20000]]`` or ``[{month, amount}]``."""
    pairs, problem = _inflow_pairs(column, value)
    if problem is not None:
        return None, problem
    if not pairs:
        return BLANK, None  # an empty list: no inflows
    by_month: dict[int, float] = {}
    for k, (raw_month, raw_amount) in enumerate(pairs, start=1):
        month = _number(raw_month)
        if month is None or math.isnan(month):
            return None, f"inflow {k}: month is not a number: {fmt_raw(raw_month)}"
        if not math.isfinite(month) or not month.is_integer():
            return None, f"inflow {k}: month must be a whole number, got {fmt_num(month)}"
        if not 1 <= month <= MAX_FORECAST_MONTHS:
            return None, (
                f"inflow {k}: month must be in [1, {MAX_FORECAST_MONTHS}], got {fmt_num(month)}"
            )
        amount = _number(raw_amount)
        if amount is None:
            shown = fmt_raw(raw_amount) if isinstance(raw_amount, str) else repr(raw_amount)
            return None, f"inflow {k}: amount is not a number: {shown_value(column, shown)}"
        problem = _amount_problem(column, f"inflow {k} amount", amount)
        if problem is not None:
            return None, problem
        by_month[int(month)] = by_month.get(int(month), 0.0) + amount
    return tuple(sorted(by_month.items())), None


def clean_account(
    mapping: Mapping[str, Any], source: str, row: int | None
) -> tuple[dict[str, Any], list[str]]:
    """Coerce, default and check every field of one account (all problems collected)."""
    raw_id = mapping.get("account_id")
    account_id = None if is_blank(raw_id) else str(raw_id).strip()
    loc = f"{source}: {where(row, account_id or '')}"
    values: dict[str, Any] = {}
    problems: list[str] = []
    for spec in FIELDS:
        value, problem = clean_scalar(spec, mapping.get(spec.name))
        if problem is not None:
            problems.append(f"{loc}: {spec.name}: {problem}")
            values[spec.name] = None
        elif value is BLANK:
            if spec.required:
                problems.append(f"{loc}: {spec.name}: missing value (required)")
                values[spec.name] = None
            else:
                values[spec.name] = spec.default
        else:
            values[spec.name] = value
    if not problems:
        problems.extend(f"{loc}: {col}: {msg}" for col, msg in cross_field_checks(values))
    if values.get("credit_score") is not None:
        values["credit_score"] = float(values["credit_score"])
    return values, problems


def cross_field_checks(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The checks across the fields of one account's cleaned ``values`` (SPEC §3: arrears
    are the overdue part of ``principal + interest_due``), as ``(column, problem)`` pairs.

    The scalar form of the table check (:func:`solver.core.frame_checks.account_schema`,
    the same :data:`~solver.core.schema.ARREARS_TOLERANCE`); a file row, an
    :class:`~solver.core.account.Account` and ``--set`` what-ifs
    (:func:`solver.core.account_checks.cross_field_problems`) read it.
    """
    out = []
    cap = values["principal"] + values["interest_due"]
    if values["arrears"] > cap + ARREARS_TOLERANCE:
        out.append(("arrears", arrears_problem(values["arrears"], cap)))
    return out


def arrears_problem(arrears: float, cap: float) -> str:
    """What is wrong with ``arrears`` above ``cap`` (``principal + interest_due``): the one
    text of the rule, for a table's rows (:mod:`solver.core.validation`), one account and
    ``--set``.

    >>> arrears_problem(90000.0, 87100.004)
    '90000 exceeds principal + interest_due (87100); arrears are the overdue part of them'
    """
    return (
        f"{fmt_num(arrears)} exceeds principal + interest_due "
        f"({fmt_num(round(cap, 2))}); arrears are the overdue part of them"
    )


def sequence_text(value: Any) -> str | None:
    """The text form of an ``income_forecast`` or ``inflows`` value (``None`` stays None).

    Examples
    --------
    >>> sequence_text((3800.0, 3800.0, 4200.5)), sequence_text(((3, 20000.0), (12, 5000.0)))
    ('3800;3800;4200.5', '3:20000;12:5000')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    items = []
    for item in value:
        if is_sequence(item):
            month, amount = item
            items.append(f"{int(month)}:{fmt_num(amount)}")
        else:
            items.append(fmt_num(item))
    return ";".join(items)
