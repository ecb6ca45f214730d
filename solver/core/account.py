"""The account schema (SPEC §3), tiering (SPEC §5) and the :class:`Account` domain object.

One table, :data:`FIELDS`, describes every column of a portfolio: its kind, whether it
is required, its default, its bounds and its allowed values. That table drives

* :class:`Account` (one account: coercion, defaults, validation, tier derivation),
* :func:`validate_portfolio` (a whole table, vectorised: every row, every problem),
* the readers and writers in :mod:`solver.core.io`.

Conventions
-----------
* Money is CNY as float64; rates are decimals (0.089 = 8.9 %/year).
* "Blank" means a missing value (empty cell, ``NaN``, ``None``, ``""``). A blank in a
  required column is an error; in an optional column it takes the default. The optional
  text columns ``region``, ``language`` and ``preferred_channel`` use ``""`` for "not
  given"; a missing ``credit_score`` is ``NaN`` in a table and ``None`` on an
  :class:`Account`.
* Text values of ``product`` and ``preferred_channel`` are matched case-insensitively
  and stored lower-case; ``tier`` is stored upper-case.
* Booleans accept true/false, yes/no, y/n, t/f, 1/0 and 是/否 (any case).
* ``tier`` is derived from ``credit_score`` and ``dpd`` (:func:`derive_tier`) wherever it
  is blank; a tier given in the data is kept as the bank's own rating.
* A blank ``income_normal`` stays missing (``NaN`` in a table, ``None`` on an
  :class:`Account`) and means "= ``income``" wherever it is used, so that a what-if on
  ``income`` (``--set income=...``, an income shock) carries over; code that needs the
  number calls :func:`effective_income_normal`.
* ``income_forecast`` (expected monthly net income of plan months 1..K, 1 <= K <= 600) and
  ``inflows`` (one-off expected inflows as ``(month, amount)`` pairs) are optional and
  missing (``None``) by default. In a table they are object columns holding a tuple or
  ``None``; in a CSV or Excel cell they are text, ``3800;3800;4200`` and
  ``3:20000;12:5000`` (``;`` between items, whitespace tolerated). A month listed twice
  among the inflows is summed; inflows are stored sorted by month.
* Problems are reported as ``FILE: row N (account_id X): column: what is wrong``.

Tiering defaults (``scenarios/tiering.toml`` holds the same values; a test checks it)
--------------------------------------------------------------------------------------
=========  ==========================  ===================================================
tier       base rule                   why
=========  ==========================  ===================================================
A          score >= 740                FICO "very good"/"exceptional" (740-850)
B          670 <= score < 740          FICO "good" (670-739)
C          580 <= score < 670          FICO "fair" (580-669); also the tier of a missing
                                       score (thin file: no evidence either way)
D          500 <= score < 580          upper part of FICO "poor" (300-579)
E          score < 500                 lower part of FICO "poor"
=========  ==========================  ===================================================

The base tier is then moved down by the dpd bucket, capped at E: M0 and M1 (1-30 dpd)
by 0 steps (SPEC §5: gentle treatment for good customers with short delinquency), M2 by
1, M3 by 2 and M4+ by 4 steps. M4+ (more than 90 dpd) always ends in E because 90 days
past due is the default definition of Basel II (§452) and the non-performing threshold of
China's 2023 financial-asset risk-classification rules (商业银行金融资产风险分类办法:
overdue more than 90 days is at least "substandard").
"""

from __future__ import annotations

import difflib
import math
import os
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from solver.domain import BUCKETS, TIERS
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Account",
    "BOOL_WORDS",
    "CHANNELS",
    "COLUMNS",
    "DPD_BUCKETS",
    "FIELDS",
    "FieldSpec",
    "InputWarning",
    "MAX_FORECAST_MONTHS",
    "MAX_PROBLEMS",
    "MONEY_MAX",
    "PERSONAL_FIELDS",
    "PRODUCTS",
    "TIERS",
    "TieringRules",
    "derive_tier",
    "effective_income_normal",
    "merge_summaries",
    "sequence_text",
    "summarize_portfolio",
    "dpd_bucket",
    "validate_portfolio",
]

# ----------------------------------------------------------------------------------------
# The schema table
# ----------------------------------------------------------------------------------------

PRODUCTS: tuple[str, ...] = ("auto_loan", "card_instalment")
CHANNELS: tuple[str, ...] = ("sms", "email", "app", "phone", "visit")
DPD_BUCKETS: tuple[str, ...] = BUCKETS
#: Upper edges (inclusive) of the dpd buckets M0..M3; anything above is M4+.
DPD_BUCKET_EDGES: tuple[int, ...] = (0, 30, 60, 90)
#: Amounts above this (CNY) are implausible for a consumer loan (likely fen, not yuan).
MONEY_MAX = 1e12
#: At most this many problem lines are listed in an :class:`InputError`.
MAX_PROBLEMS = 50

#: Words accepted in boolean columns (after strip + lower-case).
BOOL_WORDS: dict[str, bool] = {
    "true": True,
    "false": False,
    "t": True,
    "f": False,
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
    "1": True,
    "0": False,
    "1.0": True,
    "0.0": False,
    "是": True,
    "否": False,
}

#: Text that means "missing" (as in pandas / pyarrow CSV null values).
_NAN_WORDS = [
    "nan",
    "NaN",
    "NAN",
    "none",
    "None",
    "NONE",
    "null",
    "NULL",
    "Null",
    "na",
    "NA",
    "N/A",
    "n/a",
    "#N/A",
]

Kind = Literal["id", "text", "category", "money", "float", "int", "bool", "forecast", "inflows"]

#: Longest income forecast and latest inflow month (50 years, the ``remaining_term`` bound).
MAX_FORECAST_MONTHS = 600


@dataclass(frozen=True)
class FieldSpec:
    """One column of the account schema.

    Parameters
    ----------
    name
        Column / attribute name (SPEC §3).
    kind
        ``id`` (unique text), ``text``, ``category`` (one of ``allowed``), ``money``
        (CNY, float), ``float``, ``int`` (whole numbers), ``bool``, ``forecast`` (a
        tuple of monthly amounts) or ``inflows`` (a tuple of ``(month, amount)`` pairs).
    required
        A blank value is an error.
    default
        Value used for a blank cell when not required (``None``: NaN/None stays).
    default_from
        Name of another field whose value a blank stands for (``income_normal`` =
        ``income``). The blank is kept (``NaN`` / ``None``) and resolved where the value
        is used, so that a what-if on the other field carries over
        (:func:`effective_income_normal`).
    lower, upper
        Bounds (``None``: unbounded); ``lower_open`` / ``upper_open`` make them strict.
    allowed
        Allowed values of a ``category`` field (after case normalisation).
    description
        One line for documentation and ``workout validate``.
    """

    name: str
    kind: Kind
    required: bool = False
    default: Any = None
    default_from: str | None = None
    lower: float | None = None
    lower_open: bool = False
    upper: float | None = None
    upper_open: bool = False
    allowed: tuple[str, ...] | None = None
    description: str = ""

    @property
    def dtype(self) -> str:
        """The pandas dtype of the column in a validated portfolio."""
        return {
            "id": "str",
            "text": "str",
            "category": "str",
            "money": "float64",
            "float": "float64",
            "int": "int64",
            "bool": "bool",
            "forecast": "object",
            "inflows": "object",
        }[self.kind]

    def bounds_text(self) -> str:
        """Human-readable bounds, e.g. ``in [0, 0.36]`` or ``> 0``."""
        lo, hi = self.lower, self.upper
        if self.kind == "money":
            hi = None  # the money ceiling has its own message
        if lo is not None and hi is not None:
            left = "(" if self.lower_open else "["
            right = ")" if self.upper_open else "]"
            return f"in {left}{_fmt_num(lo)}, {_fmt_num(hi)}{right}"
        if lo is not None:
            return f"{'>' if self.lower_open else '>='} {_fmt_num(lo)}"
        if hi is not None:
            return f"{'<' if self.upper_open else '<='} {_fmt_num(hi)}"
        return ""


def _money(name: str, description: str, *, required: bool = False, positive: bool = False):
    return FieldSpec(
        name,
        "money",
        required=required,
        default=None if required else 0.0,
        lower=0.0,
        lower_open=positive,
        upper=MONEY_MAX,
        description=description,
    )


#: The SPEC §3 schema, in column order.
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("account_id", "id", required=True, description="unique account id"),
    FieldSpec(
        "product",
        "category",
        default="auto_loan",
        allowed=PRODUCTS,
        description="auto_loan or card_instalment",
    ),
    _money(
        "principal",
        "outstanding principal incl. overdue principal",
        required=True,
        positive=True,
    ),
    _money("interest_due", "accrued unpaid interest"),
    _money("fees_due", "late fees / penalty interest"),
    _money("arrears", "overdue amount (part of principal + interest_due)"),
    FieldSpec(
        "annual_rate",
        "float",
        required=True,
        lower=0.0,
        upper=0.36,
        description="contract nominal annual rate (decimal)",
    ),
    FieldSpec(
        "remaining_term",
        "int",
        required=True,
        lower=1,
        upper=600,
        description="contractual months left",
    ),
    FieldSpec("dpd", "int", default=0, lower=0, upper=3650, description="days past due"),
    FieldSpec(
        "credit_score",
        "float",
        lower=300,
        upper=850,
        description="bureau / internal score, 300-850 (optional)",
    ),
    FieldSpec(
        "tier",
        "category",
        default="",
        allowed=TIERS,
        description="risk tier A-E (derived from score and dpd when blank)",
    ),
    _money("income", "current monthly net income", required=True),
    FieldSpec(
        "income_normal",
        "money",
        default_from="income",
        lower=0.0,
        upper=MONEY_MAX,
        description="expected monthly income once recovered (blank: = income)",
    ),
    FieldSpec(
        "recovery_months",
        "int",
        default=0,
        lower=0,
        upper=120,
        description="months until income recovers (linear path)",
    ),
    FieldSpec(
        "income_cv",
        "float",
        default=0.25,
        lower=0.0,
        upper=3.0,
        description="coefficient of variation of monthly income",
    ),
    FieldSpec(
        "income_forecast",
        "forecast",
        lower=0.0,
        upper=MONEY_MAX,
        description="expected monthly net income of plan months 1..K, e.g. 3800;3800;4200",
    ),
    FieldSpec(
        "inflows",
        "inflows",
        lower=0.0,
        upper=MONEY_MAX,
        description="one-off expected inflows MONTH:AMOUNT, e.g. 3:20000;12:5000",
    ),
    _money("expenses", "essential monthly living expenses", required=True),
    _money("other_debt", "other monthly debt payments"),
    _money("vehicle_value", "current collateral value (auto loans)"),
    FieldSpec("region", "text", default="", description="region (field visits, matching)"),
    FieldSpec("language", "text", default="", description="language (collector matching)"),
    FieldSpec(
        "preferred_channel",
        "category",
        default="",
        allowed=CHANNELS,
        description="sms, email, app, phone or visit (optional)",
    ),
    FieldSpec("consent_email", "bool", default=True, description="e-mail contact consent"),
    FieldSpec("consent_sms", "bool", default=True, description="SMS contact consent"),
    FieldSpec("hardship", "bool", default=False, description="vulnerable customer"),
    FieldSpec("cease_contact", "bool", default=False, description="customer asked for no contact"),
    FieldSpec("dispute", "bool", default=False, description="debt disputed"),
    FieldSpec("bankruptcy", "bool", default=False, description="in bankruptcy proceedings"),
    FieldSpec("has_plan", "bool", default=False, description="a signed plan is being honoured"),
)

#: Column names of a validated portfolio (SPEC §3 order), without the derived ``dpd_bucket``.
COLUMNS: tuple[str, ...] = tuple(f.name for f in FIELDS)
SPECS: dict[str, FieldSpec] = {f.name: f for f in FIELDS}
#: Derived columns that may appear in an input file (recomputed, never trusted).
DERIVED_COLUMNS: tuple[str, ...] = ("dpd_bucket",)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.required)


class InputWarning(UserWarning):
    """A problem in the input that does not stop the run (e.g. an unknown column)."""


# ----------------------------------------------------------------------------------------
# dpd buckets and tiering
# ----------------------------------------------------------------------------------------


def _bucket_index(dpd: Any) -> np.ndarray:
    arr = np.asarray(dpd)
    if arr.size and np.any(arr < 0):
        raise ValueError(f"dpd must be >= 0, got {_fmt_num(float(np.min(arr)))}")
    return np.searchsorted(np.asarray(DPD_BUCKET_EDGES), arr, side="left")


def dpd_bucket(dpd: Any) -> Any:
    """Delinquency bucket of days past due: M0 (0), M1 (1-30), M2 (31-60), M3 (61-90), M4+.

    Parameters
    ----------
    dpd
        Days past due, a scalar or an array (>= 0).

    Returns
    -------
    str or numpy.ndarray
        The bucket label (an array of ``str`` for array input).

    Examples
    --------
    >>> dpd_bucket(0), dpd_bucket(30), dpd_bucket(31), dpd_bucket(91)
    ('M0', 'M1', 'M2', 'M4+')
    >>> dpd_bucket([5, 75]).tolist()
    ['M1', 'M3']
    """
    idx = _bucket_index(dpd)
    labels = np.asarray(DPD_BUCKETS)[idx]
    return str(labels) if labels.ndim == 0 else labels


@dataclass(frozen=True)
class TieringRules:
    """Rules that map credit score and dpd bucket to a tier (SPEC §5).

    Parameters
    ----------
    score_min
        Minimum score of the base tiers A, B, C, D, E (strictly decreasing). A score
        below the E minimum is still E.
    dpd_downgrade
        Tier steps down for the buckets M0, M1, M2, M3, M4+ (non-decreasing, >= 0); the
        result is capped at E.
    missing_score_tier
        Base tier when the score is missing; the dpd downgrade still applies.

    Notes
    -----
    The defaults and the reasons for them are in the module docstring;
    ``scenarios/tiering.toml`` holds the same values.
    """

    score_min: tuple[float, float, float, float, float] = (740.0, 670.0, 580.0, 500.0, 300.0)
    dpd_downgrade: tuple[int, int, int, int, int] = (0, 0, 1, 2, 4)
    missing_score_tier: str = "C"

    def __post_init__(self) -> None:
        mins = tuple(float(x) for x in self.score_min)
        steps = tuple(int(x) for x in self.dpd_downgrade)
        if len(mins) != len(TIERS):
            raise ValueError(f"score_min needs {len(TIERS)} values (A..E), got {len(mins)}")
        if any(b >= a for a, b in zip(mins, mins[1:], strict=False)):
            raise ValueError(f"score_min must be strictly decreasing from A to E, got {mins}")
        if len(steps) != len(DPD_BUCKETS):
            raise ValueError(f"dpd_downgrade needs {len(DPD_BUCKETS)} values, got {len(steps)}")
        if any(s < 0 for s in steps) or any(b < a for a, b in zip(steps, steps[1:], strict=False)):
            raise ValueError(
                f"dpd_downgrade must be >= 0 and non-decreasing from M0 to M4+, got {steps}"
            )
        if self.missing_score_tier not in TIERS:
            raise ValueError(
                f"missing_score_tier must be one of A-E, got {self.missing_score_tier!r}"
            )
        object.__setattr__(self, "score_min", mins)
        object.__setattr__(self, "dpd_downgrade", steps)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "<mapping>") -> TieringRules:
        """Build rules from the TOML layout (``[score_bands]``, ``[dpd_downgrade]``)."""
        problems: list[str] = []
        known = {"score_bands", "dpd_downgrade", "missing_score_tier", "description"}
        for key in data:
            if key not in known:
                problems.append(f"{source}: {key}: unknown key (known: {', '.join(sorted(known))})")
        default = cls()
        bands = data.get("score_bands", dict(zip(TIERS, default.score_min, strict=True)))
        steps = data.get(
            "dpd_downgrade", dict(zip(DPD_BUCKETS, default.dpd_downgrade, strict=True))
        )
        score_min: list[float] = []
        for tier in TIERS:
            value = bands.get(tier) if isinstance(bands, Mapping) else None
            if not isinstance(value, int | float) or isinstance(value, bool):
                problems.append(
                    f"{source}: score_bands.{tier}: missing or not a number ({value!r})"
                )
            else:
                score_min.append(float(value))
        downgrade: list[int] = []
        for bucket in DPD_BUCKETS:
            value = steps.get(bucket) if isinstance(steps, Mapping) else None
            if not isinstance(value, int) or isinstance(value, bool):
                problems.append(
                    f"{source}: dpd_downgrade.{bucket}: missing or not a whole number ({value!r})"
                )
            else:
                downgrade.append(value)
        missing = data.get("missing_score_tier", default.missing_score_tier)
        if problems:
            raise InputError(
                f"{source}: {plural(len(problems), 'problem')} in the tiering rules", problems
            )
        try:
            return cls(tuple(score_min), tuple(downgrade), str(missing))  # type: ignore[arg-type]
        except ValueError as exc:
            raise InputError(f"{source}: {exc}") from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> TieringRules:
        """Load rules from a TOML file (layout of ``scenarios/tiering.toml``)."""
        from solver.core.io import read_toml

        path = Path(path)
        return cls.from_mapping(read_toml(path, "tiering"), source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """The rules in the TOML layout (inverse of :meth:`from_mapping`)."""
        return {
            "missing_score_tier": self.missing_score_tier,
            "score_bands": {
                t: _plain_number(v) for t, v in zip(TIERS, self.score_min, strict=True)
            },
            "dpd_downgrade": dict(zip(DPD_BUCKETS, self.dpd_downgrade, strict=True)),
        }


def _plain_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


DEFAULT_TIERING = TieringRules()


def derive_tier(credit_score: Any, dpd: Any, rules: TieringRules | None = None) -> Any:
    """Risk tier A-E from credit score and days past due (vectorised; SPEC §5).

    Parameters
    ----------
    credit_score
        Score(s) on the 300-850 scale; ``NaN`` / ``None`` means missing.
    dpd
        Days past due (broadcast against ``credit_score``).
    rules
        Tiering rules; default :class:`TieringRules` () (= ``scenarios/tiering.toml``).

    Returns
    -------
    str or numpy.ndarray
        The tier (an array of ``str`` for array input).

    Examples
    --------
    >>> derive_tier(760, 10), derive_tier(760, 45), derive_tier(None, 0), derive_tier(700, 120)
    ('A', 'B', 'C', 'E')
    """
    rules = rules or DEFAULT_TIERING
    score = np.asarray(credit_score if credit_score is not None else np.nan, dtype=float)
    score, days = np.broadcast_arrays(score, np.asarray(dpd))
    mins_ascending = np.asarray(rules.score_min[::-1])  # E .. A
    band = np.searchsorted(mins_ascending, score, side="right") - 1  # -1: below E's minimum
    base = len(TIERS) - 1 - np.clip(band, 0, None)  # index into TIERS (A=0)
    base = np.where(np.isnan(score), TIERS.index(rules.missing_score_tier), base)
    steps = np.asarray(rules.dpd_downgrade)[_bucket_index(days)]
    tier_index = np.minimum(base + steps, len(TIERS) - 1)
    labels = np.asarray(TIERS)[tier_index]
    return str(labels) if labels.ndim == 0 else labels


# ----------------------------------------------------------------------------------------
# Formatting helpers shared by the scalar and the vectorised validators
# ----------------------------------------------------------------------------------------


def _fmt_num(value: float) -> str:
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


def _fmt_raw(value: Any) -> str:
    """A raw input value quoted for a message (shortened)."""
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    if isinstance(value, float | int | np.floating | np.integer) and not isinstance(value, bool):
        return _fmt_num(float(value))
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


def _shown(column: str, text: str) -> str:
    """``text`` (a value in a message), or :data:`WITHHELD` for a personal field."""
    if column in PERSONAL_FIELDS and not show_personal_values():
        return WITHHELD
    return text


def plural(count: int, noun: str) -> str:
    """``1 problem``, ``3 problems``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def where(row: int | None, account_id: str | None) -> str:
    """The location part of a problem line: ``row 3 (account_id A003)``."""
    ident = f"account_id {account_id}" if account_id else "account_id missing"
    if row is None:
        return ident
    return f"row {row} ({ident})" if account_id is not None else f"row {row}"


def _bound_messages(spec: FieldSpec) -> tuple[str | None, str | None]:
    lo_msg = hi_msg = None
    if spec.lower is not None:
        if spec.kind == "money":
            lo_msg = "must be > 0" if spec.lower_open else "negative amount, must be >= 0"
        else:
            lo_msg = f"must be {spec.bounds_text()}"
    if spec.upper is not None:
        if spec.kind == "money":
            hi_msg = f"implausibly large (> {MONEY_MAX:.0e} CNY; amounts are in yuan, not fen)"
        else:
            hi_msg = f"must be {spec.bounds_text()}"
    return lo_msg, hi_msg


def _rate_hint(spec: FieldSpec, value: float) -> str:
    if spec.name == "annual_rate" and 1 < value <= 100:
        return f" (rates are decimals: {value:g} % is {value / 100:g})"
    return ""


# ----------------------------------------------------------------------------------------
# Scalar cleaning (one account)
# ----------------------------------------------------------------------------------------

_BLANK = object()

#: A decimal number as the table readers accept it (ASCII digits, optional sign, point and
#: exponent, or inf). Python's ``float`` also takes ``1_000`` and non-ASCII digits, which
#: a CSV or Excel cell would refuse: one rule for every input (issue 15).
_DECIMAL_RE = re.compile(
    r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?inf(?:inity)?", re.I
)


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating) and math.isnan(value):
        return True
    if isinstance(value, str) and (not value.strip() or value.strip() in _NAN_WORDS):
        return True
    return False


def _clean_scalar(spec: FieldSpec, value: Any) -> tuple[Any, str | None]:
    """Coerce one value to the field's kind and check it. Returns (value or _BLANK, problem)."""
    if _is_blank(value):
        return _BLANK, None
    kind = spec.kind
    if kind == "forecast":
        return _clean_forecast(spec.name, value)
    if kind == "inflows":
        return _clean_inflows(spec.name, value)
    if kind in ("id", "text", "category"):
        if isinstance(value, bool) or not isinstance(value, str | int | float | np.generic):
            return None, f"expected text, got {_fmt_raw(value)}"
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
                f"unknown {spec.name} {_fmt_raw(value)} (allowed: {', '.join(spec.allowed)})",
            )
        return text, None
    if kind == "bool":
        if isinstance(value, bool | np.bool_):
            return bool(value), None
        if isinstance(value, int | float | np.integer | np.floating) and float(value) in (0.0, 1.0):
            return bool(value), None
        if isinstance(value, str) and value.strip().lower() in BOOL_WORDS:
            return BOOL_WORDS[value.strip().lower()], None
        return None, f"expected true/false, got {_fmt_raw(value)}"
    # numeric kinds
    if isinstance(value, bool | np.bool_):
        return None, f"expected a number, got {_shown(spec.name, repr(value))}"
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
    elif isinstance(value, str):
        if not _DECIMAL_RE.fullmatch(value.strip()):
            return None, f"not a number: {_shown(spec.name, _fmt_raw(value))}"
        number = float(value.strip())
        if math.isnan(number):
            return _BLANK, None
    else:
        return None, f"expected a number, got {_shown(spec.name, _fmt_raw(value))}"
    if math.isinf(number):
        return None, f"infinite value ({_fmt_num(number)})"
    lo_msg, hi_msg = _bound_messages(spec)
    if spec.lower is not None and (
        number < spec.lower or (spec.lower_open and number == spec.lower)
    ):
        return (
            None,
            f"{lo_msg}, got {_shown(spec.name, _fmt_num(number))}{_rate_hint(spec, number)}",
        )
    if spec.upper is not None and (
        number > spec.upper or (spec.upper_open and number == spec.upper)
    ):
        return (
            None,
            f"{hi_msg}, got {_shown(spec.name, _fmt_num(number))}{_rate_hint(spec, number)}",
        )
    if kind == "int":
        if not number.is_integer():
            return None, f"must be a whole number, got {_shown(spec.name, _fmt_num(number))}"
        return int(number), None
    return number, None


# -- income_forecast and inflows (one cell: text, a list, or a single number) --------------

#: Characters that look like an attempt to separate items with something else than ";".
_OTHER_SEPARATORS = (",", "|", "/", "\t", "，", "；")
_FORECAST_EXAMPLE = "e.g. '3800;3800;4200'"
_INFLOWS_EXAMPLE = "e.g. '3:20000;12:5000'"


def _is_sequence(value: Any) -> bool:
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


def _amount_problem(column: str, what: str, value: float) -> str | None:
    """The problem with one amount of a forecast or an inflow (finite, >= 0, plausible)."""
    if math.isnan(value):
        return f"{what}: missing value"
    if math.isinf(value):
        return f"{what}: infinite value ({_fmt_num(value)})"
    if value < 0:
        return f"{what}: negative amount, must be >= 0, got {_shown(column, _fmt_num(value))}"
    if value > MONEY_MAX:
        return (
            f"{what}: implausibly large (> {MONEY_MAX:.0e} CNY; amounts are in yuan, not fen), "
            f"got {_shown(column, _fmt_num(value))}"
        )
    return None


def _clean_forecast(column: str, value: Any) -> tuple[Any, str | None]:
    """``income_forecast`` from ``"3800;3800"``, a list of numbers, or one number."""
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
                return None, f"month {k}: not a number: {_shown(column, _fmt_raw(part))}"
    elif _is_sequence(value):
        if isinstance(value, np.ndarray) and value.ndim != 1:
            return None, f"expected a list of monthly amounts, got an array of shape {value.shape}"
        raw = list(value)
    elif isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    ):
        raw = [value]  # one month (a CSV/Excel cell holding a single number)
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
        number = None if _is_blank(item) and not isinstance(item, str) else _number(item)
        if number is None:
            if _is_blank(item):
                return None, f"month {k}: missing value"
            shown = _fmt_raw(item) if isinstance(item, str) else type(item).__name__
            return None, f"month {k}: not a number: {_shown(column, shown)}"
        problem = _amount_problem(column, f"month {k}", number)
        if problem is not None:
            return None, problem
        amounts.append(number)
    return tuple(amounts), None


def _inflow_pairs(value: Any) -> tuple[list[tuple[Any, Any]], str | None]:
    """Raw ``(month, amount)`` pairs of an ``inflows`` cell, or a problem."""
    if isinstance(value, str):
        pairs: list[tuple[Any, Any]] = []
        for k, part in enumerate(value.strip().split(";"), start=1):
            part = part.strip()
            if part.count(":") != 1:
                hint = _separator_hint(part, _INFLOWS_EXAMPLE) if ":" in part else None
                return [], hint or (
                    f"inflow {k}: expected MONTH:AMOUNT, got {_shown('inflows', _fmt_raw(part))} "
                    f"({_INFLOWS_EXAMPLE})"
                )
            month, amount = (x.strip() for x in part.split(":"))
            pairs.append((month, amount))
        return pairs, None
    if isinstance(value, Mapping):
        value = [value]
    if not _is_sequence(value):
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
            pairs.append((item["month"], item["amount"]))
        elif _is_sequence(item) and len(item) == 2:
            pairs.append((item[0], item[1]))
        else:
            return [], (
                f"inflow {k}: expected {{month = M, amount = A}} or [M, A], "
                f"got {type(item).__name__}"
            )
    return pairs, None


def _clean_inflows(column: str, value: Any) -> tuple[Any, str | None]:
    """``inflows`` from ``"3:20000;12:5000"``, ``[[3, 20000]]`` or ``[{month, amount}]``."""
    pairs, problem = _inflow_pairs(value)
    if problem is not None:
        return None, problem
    if not pairs:
        return _BLANK, None  # an empty list: no inflows
    by_month: dict[int, float] = {}
    for k, (raw_month, raw_amount) in enumerate(pairs, start=1):
        month = _number(raw_month)
        if month is None or math.isnan(month):
            return None, f"inflow {k}: month is not a number: {_fmt_raw(raw_month)}"
        if not math.isfinite(month) or not month.is_integer():
            return None, f"inflow {k}: month must be a whole number, got {_fmt_num(month)}"
        if not 1 <= month <= MAX_FORECAST_MONTHS:
            return None, (
                f"inflow {k}: month must be in [1, {MAX_FORECAST_MONTHS}], got {_fmt_num(month)}"
            )
        amount = _number(raw_amount)
        if amount is None:
            shown = _fmt_raw(raw_amount) if isinstance(raw_amount, str) else repr(raw_amount)
            return None, f"inflow {k}: amount is not a number: {_shown(column, shown)}"
        problem = _amount_problem(column, f"inflow {k} amount", amount)
        if problem is not None:
            return None, problem
        by_month[int(month)] = by_month.get(int(month), 0.0) + amount
    return tuple(sorted(by_month.items())), None


def _clean_account(
    mapping: Mapping[str, Any], source: str, row: int | None
) -> tuple[dict[str, Any], list[str]]:
    """Coerce, default and check every field of one account (all problems collected)."""
    raw_id = mapping.get("account_id")
    account_id = None if _is_blank(raw_id) else str(raw_id).strip()
    loc = f"{source}: {where(row, account_id or '')}"
    values: dict[str, Any] = {}
    problems: list[str] = []
    for spec in FIELDS:
        value, problem = _clean_scalar(spec, mapping.get(spec.name))
        if problem is not None:
            problems.append(f"{loc}: {spec.name}: {problem}")
            values[spec.name] = None
        elif value is _BLANK:
            if spec.required:
                problems.append(f"{loc}: {spec.name}: missing value (required)")
                values[spec.name] = None
            else:
                values[spec.name] = spec.default
        else:
            values[spec.name] = value
    if not problems:
        problems.extend(f"{loc}: {col}: {msg}" for col, msg in _cross_checks_scalar(values))
    if values.get("credit_score") is not None:
        values["credit_score"] = float(values["credit_score"])
    return values, problems


def _cross_checks_scalar(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    out = []
    cap = values["principal"] + values["interest_due"]
    if values["arrears"] > cap + 0.005:
        out.append(
            (
                "arrears",
                f"{_fmt_num(values['arrears'])} exceeds principal + interest_due "
                f"({_fmt_num(round(cap, 2))}); arrears are the overdue part of them",
            )
        )
    return out


# ----------------------------------------------------------------------------------------
# The Account
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Account:
    """One delinquent account with the SPEC §3 fields (validated, defaults applied).

    Construct it with :meth:`from_mapping` (a dict, a TOML/JSON record, a table row) or
    directly with keyword arguments; both coerce, default and validate every field and
    raise :class:`~solver.errors.InputError` listing all problems. ``tier`` is always set
    after construction: when it is blank (``""``) it is derived from ``credit_score`` and
    ``dpd`` with :func:`derive_tier`.

    What-ifs use :meth:`replace`, which re-validates. A tier that was *derived* is derived
    again from the new score and dpd unless ``tier`` is among the changes; a tier that was
    *given* (the bank's own rating) is kept unless changed explicitly.

    Income fields
    -------------
    ``income_normal`` is ``None`` unless given: it then means "= ``income``" (SPEC §3), and
    stays so under ``replace(income=...)``; :func:`effective_income_normal` gives the number.

    ``income_forecast`` (``tuple[float, ...] | None``) is the expected monthly net income of
    plan months 1..K (1 <= K <= 600, amounts >= 0). ``inflows``
    (``tuple[tuple[int, float], ...] | None``) are one-off expected inflows such as a bonus
    or an asset sale, as ``(month, amount)`` pairs with month >= 1 and amount >= 0, sorted
    by month, one pair per month (amounts given twice for a month are summed). The
    behaviour model uses them as the expected income

    ``Ī_t = income_forecast[t]`` for ``t <= K``, then the SPEC §4 path
    ``income + (income_normal − income)·min(1, t / recovery_months)``,

    plus the inflows of month ``t``. Both accept text (``"3800;3800;4200"``,
    ``"3:20000;12:5000"``), lists (``[3800, 3800]``, ``[[3, 20000]]``,
    ``[{"month": 3, "amount": 20000}]``) and, for the forecast, a single number (one month).
    """

    account_id: str
    product: str = "auto_loan"
    principal: float
    interest_due: float = 0.0
    fees_due: float = 0.0
    arrears: float = 0.0
    annual_rate: float
    remaining_term: int
    dpd: int = 0
    credit_score: float | None = None
    tier: str = ""
    income: float
    income_normal: float | None = None
    recovery_months: int = 0
    income_cv: float = 0.25
    income_forecast: tuple[float, ...] | None = None
    inflows: tuple[tuple[int, float], ...] | None = None
    expenses: float
    other_debt: float = 0.0
    vehicle_value: float = 0.0
    region: str = ""
    language: str = ""
    preferred_channel: str = ""
    consent_email: bool = True
    consent_sms: bool = True
    hardship: bool = False
    cease_contact: bool = False
    dispute: bool = False
    bankruptcy: bool = False
    has_plan: bool = False

    def __post_init__(self) -> None:
        raw = {name: getattr(self, name) for name in COLUMNS}
        values, problems = _clean_account(raw, "<Account>", None)
        if problems:
            raise InputError(f"<Account>: {plural(len(problems), 'problem')}", problems)
        derived = values["tier"] == ""
        if derived:
            values["tier"] = derive_tier(values["credit_score"], values["dpd"])
        for name, value in values.items():
            object.__setattr__(self, name, value)
        # Not dataclass fields: how the tier came about, for replace().
        object.__setattr__(self, "_tier_derived", derived)
        object.__setattr__(self, "_tiering", None)

    # -- construction ---------------------------------------------------------------
    @classmethod
    def from_mapping(
        cls,
        mapping: Mapping[str, Any],
        source: str = "<mapping>",
        *,
        row: int | None = None,
        tiering: TieringRules | None = None,
        unknown: Literal["error", "warn", "ignore"] = "error",
    ) -> Account:
        """Build an account from a mapping of SPEC §3 fields.

        Parameters
        ----------
        mapping
            Field name -> value. Values are coerced (``"12.5"`` -> 12.5, ``"yes"`` ->
            True); blanks take the defaults; ``dpd_bucket`` is ignored (recomputed).
        source
            Name used in problem messages (usually the file name).
        row
            Row number for messages, when the mapping is a row of a table.
        tiering
            Rules used to derive a blank ``tier`` (default :class:`TieringRules`).
        unknown
            What to do with keys that are not SPEC §3 fields. The default is an error
            because a single-account file is written by hand and an unknown key is
            almost always a typo (``hardshp = true`` silently ignored would be wrong).

        Raises
        ------
        InputError
            Listing every problem as ``SOURCE: (row N) account_id X: column: what``.
        """
        if not isinstance(mapping, Mapping):
            raise InputError(
                f"{source}: expected a table of account fields, got {type(mapping).__name__}"
            )
        extra = [k for k in mapping if k not in SPECS and k not in DERIVED_COLUMNS]
        values, problems = _clean_account(mapping, source, row)
        if extra and unknown != "ignore":
            lines = [f"{source}: {k}: unknown field{_did_you_mean(str(k))}" for k in extra]
            if unknown == "error":
                problems = lines + problems
            else:
                for line in lines:
                    warnings.warn(line, InputWarning, stacklevel=2)
        if problems:
            raise InputError(f"{source}: {plural(len(problems), 'problem')}", problems)
        derived = values["tier"] == ""
        if derived:
            values["tier"] = derive_tier(values["credit_score"], values["dpd"], tiering)
        account = cls(**values)
        object.__setattr__(account, "_tier_derived", derived)
        object.__setattr__(account, "_tiering", tiering)
        return account

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> list[Account]:
        """Accounts of a *validated* portfolio (from :func:`solver.core.io.read_portfolio`).

        Rows are not validated again (fast); pass only frames produced by
        :func:`validate_portfolio` or the readers. A missing column raises ``KeyError``,
        except ``income_forecast`` and ``inflows`` (missing: ``None``).
        """
        n = len(frame)
        columns = [
            frame[name].to_numpy()
            if name in frame.columns or name not in _SEQUENCE_FIELDS
            else np.full(n, None, dtype=object)
            for name in COLUMNS
        ]
        out: list[Account] = []
        for row in zip(*columns, strict=True):
            values = {name: _python_value(v) for name, v in zip(COLUMNS, row, strict=True)}
            for name in ("credit_score", "income_normal"):
                value = values[name]
                values[name] = None if value is None or math.isnan(value) else value
            account = object.__new__(cls)
            account.__dict__.update(values)
            account.__dict__["_tier_derived"] = False
            account.__dict__["_tiering"] = None
            out.append(account)
        return out

    # -- what-ifs and export ---------------------------------------------------------
    def replace(self, **changes: Any) -> Account:
        """A copy with ``changes`` applied and re-validated.

        A derived tier is re-derived from the new ``credit_score`` / ``dpd`` (with the
        same rules) unless ``tier`` is among the changes; a given tier is kept. Pass
        ``tier=""`` to force derivation.
        """
        unknown_keys = [k for k in changes if k not in SPECS]
        if unknown_keys:
            raise InputError(
                f"<Account>.replace: unknown field(s) {', '.join(unknown_keys)}"
                f"{_did_you_mean(unknown_keys[0])}"
            )
        return self._replace(changes, "<Account>.replace")

    def override(self, settings: Mapping[str, Any], source: str = "--set") -> Account:
        """:meth:`replace` for user settings: messages name ``SOURCE FIELD``.

        ``account.override({"income": "abc"})`` raises
        ``InputError("--set income: not a number: <withheld>")`` rather than a message
        about ``<Account>.replace``. A blank value unsets an optional field (its default).
        """
        unknown_keys = [k for k in settings if k not in SPECS]
        if unknown_keys:
            key = unknown_keys[0]
            raise InputError(f"{source} {key}: unknown account field{_did_you_mean(str(key))}")
        problems = []
        for name, value in settings.items():
            spec = SPECS[name]
            cleaned, problem = _clean_scalar(spec, value)
            if problem is None and cleaned is _BLANK and spec.required:
                problem = "missing value (required)"
            if problem is not None:
                problems.append(f"{source} {name}: {problem}")
        if len(problems) == 1:
            raise InputError(problems[0])
        if problems:
            raise InputError(f"{source}: {plural(len(problems), 'problem')}", problems)
        return self._replace(settings, source)

    def _replace(self, changes: Mapping[str, Any], source: str) -> Account:
        values = self.to_dict()
        values.update(changes)
        derived = bool(getattr(self, "_tier_derived", False)) and "tier" not in changes
        if derived or values.get("tier") in ("", None):
            values["tier"] = ""
        return Account.from_mapping(values, source=source, tiering=self._rules)

    @property
    def _rules(self) -> TieringRules | None:
        return getattr(self, "_tiering", None)

    @property
    def tier_derived(self) -> bool:
        """True when ``tier`` was derived from score and dpd rather than given."""
        return bool(getattr(self, "_tier_derived", False))

    @property
    def dpd_bucket(self) -> str:
        """Delinquency bucket (M0, M1, M2, M3, M4+) of ``dpd``."""
        return dpd_bucket(self.dpd)

    def to_dict(self) -> dict[str, Any]:
        """The SPEC §3 fields as plain Python values.

        ``credit_score``, ``income_normal``, ``income_forecast`` and ``inflows`` may be
        ``None``; the last two are tuples otherwise.
        """
        return {name: getattr(self, name) for name in COLUMNS}


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
        if _is_sequence(item):
            month, amount = item
            items.append(f"{int(month)}:{_fmt_num(amount)}")
        else:
            items.append(_fmt_num(item))
    return ";".join(items)


def effective_income_normal(data: Any) -> Any:
    """``income_normal`` where it is given, else ``income`` (the SPEC §3 default).

    Parameters
    ----------
    data
        An :class:`Account`, a validated portfolio DataFrame, or a mapping with
        ``income`` and ``income_normal`` (scalars or arrays; ``None`` / ``NaN`` = missing).

    Returns
    -------
    float or numpy.ndarray
        A float for an account or scalar input, else a float array.

    Examples
    --------
    >>> effective_income_normal({"income": 5000.0, "income_normal": None})
    5000.0
    >>> effective_income_normal({"income": [5000.0, 6000.0], "income_normal": [float("nan"), 9000.0]})
    array([5000., 9000.])
    """
    if isinstance(data, Account):
        return float(data.income if data.income_normal is None else data.income_normal)
    income = np.asarray(data["income"], dtype=float)
    normal = np.asarray(data["income_normal"], dtype=float)
    out = np.where(np.isnan(normal), income, normal)
    return float(out) if out.ndim == 0 else out


#: Optional fields holding a tuple per account (object columns in a table).
_SEQUENCE_FIELDS = ("income_forecast", "inflows")


def _python_value(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _did_you_mean(name: str) -> str:
    match = difflib.get_close_matches(name.lower(), COLUMNS, n=1, cutoff=0.75)
    return f" (did you mean {match[0]!r}?)" if match else ""


# ----------------------------------------------------------------------------------------
# Vectorised validation of a whole table
# ----------------------------------------------------------------------------------------


class ProblemLog:
    """Problems found in a table, kept as row masks and formatted lazily.

    Only the first :data:`MAX_PROBLEMS` lines (ordered by row, then column order) are
    ever formatted, so a million bad rows cost no more than a few.
    """

    def __init__(self, source: str, row_numbers: np.ndarray):
        self.source = source
        self.row_numbers = row_numbers
        self.account_ids: pd.Series | None = None
        self.file_level: list[str] = []
        self._entries: list[tuple[str, int, np.ndarray, int, Callable[[int], str]]] = []

    def file(self, message: str) -> None:
        """A problem without a row: ``FILE: message``."""
        self.file_level.append(f"{self.source}: {message}")

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
                out.append(f"{self.source}: {self._where(i)}: {column}: {describe(i)}")
        rest = self.count - len(out)
        if rest > 0:
            by_column: dict[str, int] = {}
            for column, _, _, total, _ in self._entries:
                by_column[column] = by_column.get(column, 0) + total
            summary = ", ".join(
                f"{c} {n}" for c, n in sorted(by_column.items(), key=lambda x: -x[1])
            )
            out.append(f"... and {plural(rest, 'more problem')} (by column: {summary})")
        return out

    def raise_if_any(self, note: str = "") -> None:
        """Raise :class:`InputError` listing the problems, if there are any."""
        if self.count:
            head = f"{self.source}: {plural(self.count, 'problem')} found; nothing was read"
            if note:
                head += f" ({note})"
            raise InputError(head, self.lines())


def normalize_column_name(name: Any) -> str:
    """Header normalisation: strip, lower-case, spaces and hyphens to underscores."""
    text = str(name).strip().lower()
    return "_".join(text.replace("-", " ").split())


def _is_text_dtype(dtype: Any) -> bool:
    import pandas as pd

    return dtype == np.dtype(object) or isinstance(dtype, pd.StringDtype)


def _strip_text(series: pd.Series) -> pd.Series:
    """Text of a column as a stripped ``str`` Series (numbers print without ``.0``)."""
    import pandas as pd

    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        out = np.empty(values.size, dtype=object)
        integral = np.isfinite(values) & (np.floor(values) == values)
        out[integral] = values[integral].astype(np.int64).astype(str)
        out[~integral] = values[~integral].astype(str)
        out[np.isnan(values)] = None
        return pd.Series(out, dtype="str", index=series.index)
    if not _is_text_dtype(series.dtype):
        return series.astype("str")
    text = series if isinstance(series.dtype, pd.StringDtype) else series.astype("str")
    return text.str.strip()


def _text_blank(text: pd.Series) -> np.ndarray:
    """Blank cells of a stripped text Series: missing, empty, or a NaN word."""
    blank = text.isna().to_numpy(dtype=bool).copy()
    blank |= text.isin(["", *_NAN_WORDS]).to_numpy(dtype=bool)
    return blank


def _object_is_bool(series: pd.Series) -> np.ndarray:
    if series.dtype != object:
        return np.zeros(len(series), dtype=bool)
    return np.fromiter(
        (isinstance(v, bool | np.bool_) for v in series.to_numpy()), dtype=bool, count=len(series)
    )


def _parse_numeric(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(float values, bad-text mask, blank mask) of a column of any dtype."""
    import pandas as pd

    n = len(series)
    if pd.api.types.is_bool_dtype(series.dtype):
        missing = series.isna().to_numpy(dtype=bool).copy()
        return np.full(n, np.nan), ~missing, missing
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan).copy()
        return values, np.zeros(n, dtype=bool), np.isnan(values)
    is_bool = _object_is_bool(series)
    text = _strip_text(series)
    blank = _text_blank(text) & ~is_bool
    numbers = pd.to_numeric(text.where(~blank), errors="coerce")
    values = np.asarray(numbers.to_numpy(dtype=float, na_value=np.nan), dtype=float).copy()
    bad = (~blank & np.isnan(values)) | is_bool
    values[bad | blank] = np.nan
    return values, bad, blank


def _parse_bool(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bool values, bad mask, blank mask) of a column of any dtype."""
    import pandas as pd

    n = len(series)
    if pd.api.types.is_bool_dtype(series.dtype) and not series.isna().any():
        return series.to_numpy(dtype=bool).copy(), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan).copy()
        blank = np.isnan(values)
        bad = ~blank & (values != 0) & (values != 1)
        return values == 1, bad, blank
    if series.dtype == object or pd.api.types.is_bool_dtype(series.dtype):
        # Excel / JSON cells: Python bools and numbers mixed with words
        def word(v: Any) -> Any:
            if isinstance(v, bool | np.bool_):
                return bool(v)
            if isinstance(v, int | float | np.integer | np.floating) and v in (0, 1):
                return bool(v)
            if isinstance(v, str):
                return BOOL_WORDS.get(v.strip().lower())
            return None

        raw = series.to_numpy(dtype=object)
        mapped = pd.Series([word(v) for v in raw], dtype=object)
        blank = np.fromiter((_is_blank(v) for v in raw), dtype=bool, count=n)
    else:
        text = _strip_text(series)
        blank = _text_blank(text)
        mapped = text.str.lower().map(BOOL_WORDS)
    unknown = mapped.isna().to_numpy(dtype=bool).copy()
    bad = ~blank & unknown
    values = mapped.to_numpy(dtype=object, na_value=False) == True  # noqa: E712
    return np.asarray(values, dtype=bool), bad, blank


def _labels(codes: np.ndarray, labels: tuple[str, ...]) -> Any:
    """A ``str`` column from integer codes into ``labels`` (fast for millions of rows)."""
    import pandas as pd

    return pd.Series(pd.Categorical.from_codes(codes, categories=list(labels))).astype("str").array


def validate_portfolio(
    frame: pd.DataFrame,
    source: str = "<frame>",
    *,
    tiering: TieringRules | None = None,
    unknown_columns: Literal["warn", "error", "ignore"] = "warn",
    row_numbers: np.ndarray | None = None,
    problems: ProblemLog | None = None,
    skip: Mapping[str, np.ndarray] | None = None,
    row_note: str = "row N = the Nth data row, counting from 1",
) -> pd.DataFrame:
    """Validate a raw table of accounts and return the typed SPEC §3 portfolio.

    Every row and every column is checked with vectorised operations; all problems are
    collected and raised together.

    Parameters
    ----------
    frame
        Raw table (any dtypes: text from a CSV, numbers from Parquet, objects from Excel).
        Column names are normalised (case, surrounding spaces, spaces/hyphens to ``_``).
    source
        File name used in messages.
    tiering
        Rules used to derive blank tiers (default :class:`TieringRules`).
    unknown_columns
        Columns that are not in the schema: ``"warn"`` (default; a bank's export often
        carries extra columns such as names or branch codes, which are dropped with an
        :class:`InputWarning`), ``"error"`` or ``"ignore"``. An unknown column that looks
        like a typo of an optional schema column absent from the table (``hardshp``) is
        always an error, because silently dropping it would change the result.
    row_numbers
        The row number to print for each row (default 1, 2, ...).
    problems
        A log that already holds problems found while reading (merged into the report).
    skip
        Column -> mask of cells already reported by the reader (not checked again).
    row_note
        How row numbers are counted; printed in the error headline.

    Returns
    -------
    pandas.DataFrame
        Exactly the SPEC §3 columns (defaults applied, tiers derived) plus ``dpd_bucket``,
        with a fresh ``RangeIndex``. ``attrs["warnings"]`` lists non-fatal problems and
        ``attrs["tiers_derived"]`` counts the rows whose tier was derived.

    Raises
    ------
    InputError
        Listing every problem (at most :data:`MAX_PROBLEMS` lines, then a count).
    """
    import pandas as pd

    n = len(frame)
    rows = np.arange(1, n + 1) if row_numbers is None else np.asarray(row_numbers)
    log = problems if problems is not None else ProblemLog(source, rows)
    log.row_numbers = rows
    skip = dict(skip or {})
    notes: list[str] = []

    # -- header -------------------------------------------------------------------------
    names = [normalize_column_name(c) for c in frame.columns]
    seen: dict[str, int] = {}
    for pos, name in enumerate(names, start=1):
        if name in seen:
            log.file(f"header: {name}: column appears twice (columns {seen[name]} and {pos})")
        else:
            seen[name] = pos
    frame = frame.copy(deep=False)
    frame.columns = names
    frame = frame.loc[:, ~pd.Index(names).duplicated()].reset_index(drop=True)
    present = set(frame.columns)
    unknown = [c for c in frame.columns if c not in SPECS and c not in DERIVED_COLUMNS]
    absent = [c for c in COLUMNS if c not in present]
    typo_of: dict[str, str] = {}
    for col in unknown:
        match = difflib.get_close_matches(col, absent, n=1, cutoff=0.8)
        if match:
            typo_of[col] = match[0]
    if not present & set(COLUMNS):
        preview = ", ".join(repr(str(c)) for c in list(frame.columns)[:4])
        log.file(
            f"header: no known column found (first line: {preview}); the first line must be "
            f"the header with SPEC §3 column names such as account_id, principal, annual_rate"
        )
        log.raise_if_any(row_note)
    for col in absent:
        if SPECS[col].required:
            hint = next((f" (found {u!r}: a typo?)" for u, a in typo_of.items() if a == col), "")
            log.file(f"header: {col}: required column is missing{hint}")
    for col in unknown:
        if col in typo_of:
            if not SPECS[typo_of[col]].required:
                log.file(
                    f"header: {col}: unknown column; did you mean {typo_of[col]!r}? "
                    "(a misspelt optional column would be silently ignored)"
                )
        elif unknown_columns == "error":
            log.file(f"header: {col}: unknown column")
        elif unknown_columns == "warn":
            notes.append(f"{source}: header: {col}: unknown column ignored")

    # -- columns, one kind at a time ----------------------------------------------------
    out: dict[str, Any] = {}
    valid = np.ones(n, dtype=bool)  # rows whose every cell parsed and passed its checks

    def skipped(col: str) -> np.ndarray:
        mask = skip.get(col)
        return np.zeros(n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)

    if "account_id" in present:
        ids = _strip_text(frame["account_id"])
        blank = _text_blank(ids) | skipped("account_id")
        ids = ids.mask(blank, "")
        log.account_ids = ids
        log.add("account_id", blank & ~skipped("account_id"), lambda i: "missing value (required)")
        codes, uniques = pd.factorize(ids)
        first = np.full(len(uniques), n, dtype=np.int64)
        np.minimum.at(first, codes, np.arange(n))
        dup = (first[codes] != np.arange(n)) & ~blank
        log.add(
            "account_id",
            dup,
            lambda i: (
                f"duplicate account_id {ids.iloc[i]!r} (first in row {rows[first[codes[i]]]})"
            ),
        )
        valid &= ~(blank | dup)
        out["account_id"] = ids.array

    for spec in FIELDS[1:]:
        col = spec.name
        skip_mask = skipped(col)
        if col not in present:
            if spec.required:
                valid[:] = False
                out[col] = _filler(spec, n)
            else:
                out[col] = _filler(spec, n, spec.default)
            continue
        series = frame[col]
        if spec.kind in ("forecast", "inflows"):
            values, messages = _parse_sequences(spec, series, skip_mask)
            bad = np.zeros(n, dtype=bool)
            bad[list(messages)] = True
            log.add(col, bad, messages.__getitem__)
            valid &= ~(bad | skip_mask)
            out[col] = values
        elif spec.kind in ("text", "category"):
            text = _strip_text(series)
            blank = _text_blank(text) | skip_mask
            if spec.kind == "category":
                text = text.str.upper() if spec.name == "tier" else text.str.lower()
                allowed = text.isin(spec.allowed or ()).to_numpy(dtype=bool)
                bad = ~blank & ~allowed
                log.add(col, bad, _unknown_value(spec, series))
                valid &= ~bad
            out[col] = text.mask(blank, spec.default).array
        elif spec.kind == "bool":
            values, bad, blank = _parse_bool(series)
            bad &= ~skip_mask
            log.add(col, bad, _not_a_bool(series))
            values[blank | skip_mask] = bool(spec.default)
            valid &= ~(bad | skip_mask)
            out[col] = values
        else:
            values, bad, blank = _parse_numeric(series)
            out[col], ok = _check_numeric(
                spec, values, bad & ~skip_mask, blank & ~skip_mask, series, log
            )
            valid &= ok & ~skip_mask

    # a blank income_normal stays NaN: it means "= income" (effective_income_normal)

    # -- cross-field checks (rows whose cells are individually fine) ---------------------
    if {"principal", "arrears"} <= present:
        cap = out["principal"] + out["interest_due"]
        arrears = out["arrears"]
        too_much = valid & (arrears > cap + 0.005)
        log.add(
            "arrears",
            too_much,
            lambda i: (
                f"{_fmt_num(arrears[i])} exceeds principal + interest_due "
                f"({_fmt_num(round(cap[i], 2))}); arrears are the overdue part of them"
            ),
        )

    log.raise_if_any(row_note)

    # -- derived columns ----------------------------------------------------------------
    dpd = out["dpd"].astype(np.int64)
    tier = pd.Series(out["tier"])
    blank_tier = (tier == "").to_numpy(dtype=bool)
    if blank_tier.any():
        derived = derive_tier(out["credit_score"], dpd, tiering)
        codes = np.searchsorted(np.asarray(TIERS), derived)
        tier = tier.mask(blank_tier, pd.Series(_labels(codes, TIERS)))
    out["tier"] = tier.array
    result = pd.DataFrame(
        {name: _to_column(SPECS[name], out[name]) for name in COLUMNS}, index=pd.RangeIndex(n)
    )
    result["dpd_bucket"] = _labels(_bucket_index(dpd), DPD_BUCKETS)
    result.attrs["warnings"] = notes
    result.attrs["tiers_derived"] = int(blank_tier.sum())
    for note in notes:
        warnings.warn(note, InputWarning, stacklevel=2)
    return result


def _unknown_value(spec: FieldSpec, series: pd.Series) -> Callable[[int], str]:
    allowed = ", ".join(spec.allowed or ())
    return lambda i: f"unknown {spec.name} {_fmt_raw(series.iloc[i])} (allowed: {allowed})"


def _not_a_bool(series: pd.Series) -> Callable[[int], str]:
    return lambda i: f"expected true/false, got {_fmt_raw(series.iloc[i])}"


def _parse_sequences(
    spec: FieldSpec, series: pd.Series, skip: np.ndarray
) -> tuple[np.ndarray, dict[int, str]]:
    """Tuples (or None) of an ``income_forecast`` / ``inflows`` column and its problems.

    Blank cells are found vectorised. Clean text cells (``3800;3800``, ``3:20000;12:5000``)
    and numeric arrays (Parquet ``list<double>``) are parsed vectorised; every other
    cell, and every cell with a problem, goes through the scalar parser, so both paths
    give the same values and the same messages.
    """
    import pandas as pd

    n = len(series)
    values = np.full(n, None, dtype=object)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        cells = series.to_numpy(dtype=float, na_value=np.nan)
        blank = np.isnan(cells)
    elif _is_text_dtype(series.dtype) and series.dtype != object:
        text = _strip_text(series)
        cells = text.to_numpy(dtype=object)
        blank = _text_blank(text)
    else:
        cells = series.to_numpy(dtype=object)
        blank = series.isna().to_numpy(dtype=bool).copy()  # None / NaN, vectorised
        for i in np.flatnonzero(~blank):
            blank[i] = _is_blank(cells[i])
    messages: dict[int, str] = {}
    filled = np.flatnonzero(~blank & ~skip)
    if filled.size:
        fast = _forecasts_fast if spec.kind == "forecast" else _inflows_fast
        done = fast(cells[filled], values, filled)
        filled = filled[~done]
    for i in filled:
        value, problem = _clean_scalar(spec, cells[i])
        if problem is not None:
            messages[int(i)] = problem
        elif value is not _BLANK:
            values[i] = value
    return values, messages


def _split_cells(texts: np.ndarray, sep: str) -> tuple[Any, np.ndarray]:
    """The ``sep``-separated parts of text cells (a stripped pyarrow string array) and the
    cell of each part (pyarrow kernels: a million cells take well under a second)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lists = pc.split_pattern(pa.array(texts, type=pa.string()), sep)
    parts = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    return parts, pc.list_parent_indices(lists).to_numpy()


def _to_float(strings: Any) -> np.ndarray:
    """Floats of a pyarrow string array; NaN where a string is not a number."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return np.asarray(pc.cast(strings, pa.float64()).to_numpy(zero_copy_only=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # some part is not a number
        text = pd.Series(strings.to_numpy(zero_copy_only=False), dtype=object)
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _group_ok(part_ok: np.ndarray, owner: np.ndarray, cells: int) -> np.ndarray:
    """Per cell: every one of its parts is fine."""
    bad = np.bincount(owner[~part_ok], minlength=cells)
    return bad == 0


def _forecasts_fast(cells: np.ndarray, values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Vectorised ``income_forecast`` of clean cells; returns which cells were done."""
    m = cells.size
    done = np.zeros(m, dtype=bool)
    kinds = np.fromiter(
        (
            1
            if isinstance(c, str)
            else 2
            if isinstance(c, np.ndarray) and c.dtype.kind in "fiu"
            else 0
            for c in cells
        ),
        dtype=np.int8,
        count=m,
    )
    for kind in (1, 2):
        which = np.flatnonzero(kinds == kind)
        if which.size == 0:
            continue
        if kind == 1:
            parts, owner = _split_cells(cells[which], ";")
            amounts = _to_float(parts)
        else:
            arrays = [np.asarray(c, dtype=float).ravel() for c in cells[which]]
            owner = np.repeat(np.arange(which.size), [a.size for a in arrays])
            amounts = np.concatenate(arrays) if arrays else np.zeros(0)
        with np.errstate(invalid="ignore"):
            part_ok = (amounts >= 0) & (amounts <= MONEY_MAX)  # NaN and inf fail
        count = np.bincount(owner, minlength=which.size)
        ok = _group_ok(part_ok, owner, which.size) & (count >= 1)
        ok &= count <= MAX_FORECAST_MONTHS
        ends = np.cumsum(count)
        floats = amounts.tolist()
        for j in np.flatnonzero(ok):
            values[positions[which[j]]] = tuple(floats[ends[j] - count[j] : ends[j]])
        done[which[ok]] = True
    return done


def _inflows_fast(cells: np.ndarray, values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Vectorised ``inflows`` of clean text cells (months increasing); returns which were done."""
    import pyarrow.compute as pc

    m = cells.size
    done = np.zeros(m, dtype=bool)
    which = np.flatnonzero(np.fromiter((isinstance(c, str) for c in cells), dtype=bool, count=m))
    if which.size == 0:
        return done
    parts, owner = _split_cells(cells[which], ";")
    colon = pc.equal(pc.count_substring(parts, ":"), 1)
    pair = pc.split_pattern(pc.if_else(colon, parts, "nan:nan"), ":")
    month = _to_float(pc.utf8_trim_whitespace(pc.list_element(pair, 0)))
    amount = _to_float(pc.utf8_trim_whitespace(pc.list_element(pair, 1)))
    colon = colon.to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        part_ok = colon & (month >= 1) & (month <= MAX_FORECAST_MONTHS)
        part_ok &= np.floor(month) == month
        part_ok &= (amount >= 0) & (amount <= MONEY_MAX)
    # months strictly increasing within a cell (else the scalar parser sorts and sums)
    same_cell = np.r_[False, owner[1:] == owner[:-1]]
    with np.errstate(invalid="ignore"):
        part_ok &= ~same_cell | (month > np.r_[-np.inf, month[:-1]])
    ok = _group_ok(part_ok, owner, which.size)
    count = np.bincount(owner, minlength=which.size)
    ends = np.cumsum(count)
    months = np.where(part_ok, month, 0).astype(np.int64).tolist()
    amounts = amount.tolist()
    for j in np.flatnonzero(ok):
        a, b = ends[j] - count[j], ends[j]
        values[positions[which[j]]] = tuple(zip(months[a:b], amounts[a:b], strict=True))
    done[which[ok]] = True
    return done


def _filler(spec: FieldSpec, n: int, value: Any = None) -> Any:
    import pandas as pd

    if spec.kind in ("forecast", "inflows"):
        return np.full(n, None, dtype=object)
    if spec.kind in ("id", "text", "category"):
        return pd.array(np.full(n, value if value is not None else "", dtype=object), dtype="str")
    if spec.kind == "bool":
        return np.full(n, bool(value))
    fill = np.nan if value is None else float(value)
    return np.full(n, fill, dtype=float)


def _check_numeric(
    spec: FieldSpec,
    values: np.ndarray,
    bad: np.ndarray,
    blank: np.ndarray,
    series: pd.Series,
    log: ProblemLog,
) -> tuple[np.ndarray, np.ndarray]:
    """Defaults, required, inf, bounds and integrality of a numeric column."""
    col = spec.name
    log.add(col, bad, lambda i: f"not a number: {_shown(col, _fmt_raw(series.iloc[i]))}")
    ok = ~bad
    if spec.required:
        log.add(col, blank, lambda i: "missing value (required)")
        ok &= ~blank
    elif spec.default is not None:
        values[blank] = float(spec.default)
    inf = np.isinf(values)
    log.add(col, inf, lambda i: f"infinite value ({_fmt_num(values[i])})")
    ok &= ~inf
    finite = np.isfinite(values)
    lo_msg, hi_msg = _bound_messages(spec)
    with np.errstate(invalid="ignore"):
        if spec.lower is not None:
            low = finite & ((values <= spec.lower) if spec.lower_open else (values < spec.lower))
            log.add(col, low, lambda i: f"{lo_msg}, got {_shown(col, _fmt_num(values[i]))}")
            ok &= ~low
        if spec.upper is not None:
            high = finite & ((values >= spec.upper) if spec.upper_open else (values > spec.upper))
            log.add(
                col,
                high,
                lambda i: (
                    f"{hi_msg}, got {_shown(col, _fmt_num(values[i]))}{_rate_hint(spec, values[i])}"
                ),
            )
            ok &= ~high
        if spec.kind == "int":
            fractional = finite & ok & (np.floor(values) != values)
            log.add(
                col,
                fractional,
                lambda i: f"must be a whole number, got {_shown(col, _fmt_num(values[i]))}",
            )
            ok &= ~fractional
    return values, ok


def _to_column(spec: FieldSpec, values: Any) -> Any:
    import pandas as pd

    if spec.kind in ("id", "text", "category"):
        if isinstance(values, np.ndarray):
            return pd.array(values.astype(object), dtype="str")
        return values
    if spec.kind == "int":
        return np.where(np.isfinite(values), values, 0).astype(np.int64)
    if spec.kind == "bool":
        return np.asarray(values, dtype=bool)
    if spec.kind in ("forecast", "inflows"):
        return values  # an object array of tuples / None (never a 2-D array)
    return np.asarray(values, dtype=np.float64)


def summarize_portfolio(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Summary tables of a validated portfolio (for ``workout validate`` and reports).

    Returns
    -------
    dict
        ``by_product``, ``by_tier`` and ``by_dpd_bucket``: accounts, share and money totals
        (principal, interest_due, fees_due, arrears, vehicle_value) per group, with a
        ``total`` row; ``flags``: count and share of each flag, of missing scores, of
        income shocks (``income`` below the effective ``income_normal``) and of accounts
        with an income forecast or inflows.
    """
    import pandas as pd

    money = ["principal", "interest_due", "fees_due", "arrears", "vehicle_value"]
    n = len(frame)

    def grouped(key: str, order: tuple[str, ...]) -> pd.DataFrame:
        groups = frame.groupby(key, sort=False, observed=True)
        table = groups[money].sum()
        table.insert(0, "accounts", groups.size())
        table = table.reindex([k for k in order if k in table.index])
        table.insert(1, "share", table["accounts"] / max(n, 1))
        total = pd.DataFrame(
            {"accounts": [n], "share": [1.0], **{m: [frame[m].sum()] for m in money}},
            index=["total"],
        )
        table = pd.concat([table, total])
        table.index.name = key
        return table

    flags = {
        name: int(frame[name].sum())
        for name in ("hardship", "cease_contact", "dispute", "bankruptcy", "has_plan")
    }
    flags["no_sms_consent"] = int((~frame["consent_sms"]).sum())
    flags["no_email_consent"] = int((~frame["consent_email"]).sum())
    flags["missing_credit_score"] = int(frame["credit_score"].isna().sum())
    flags["income_shock"] = int((frame["income"] < effective_income_normal(frame)).sum())
    for name in _SEQUENCE_FIELDS:
        flags[name] = int(frame[name].notna().sum()) if name in frame.columns else 0
    flag_table = pd.DataFrame(
        {"accounts": list(flags.values()), "share": [v / max(n, 1) for v in flags.values()]},
        index=pd.Index(list(flags), name="flag"),
    )
    return {
        "by_product": grouped("product", PRODUCTS),
        "by_tier": grouped("tier", TIERS),
        "by_dpd_bucket": grouped("dpd_bucket", DPD_BUCKETS),
        "flags": flag_table,
    }


def merge_summaries(parts: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Combine :func:`summarize_portfolio` results of disjoint chunks of one portfolio.

    Counts and money totals add up; shares are recomputed from the combined counts. The
    result equals ``summarize_portfolio`` of the concatenated chunks.
    """
    import pandas as pd

    if len(parts) == 1:
        return parts[0]
    out: dict[str, pd.DataFrame] = {}
    for key, order in (
        ("by_product", PRODUCTS),
        ("by_tier", TIERS),
        ("by_dpd_bucket", DPD_BUCKETS),
    ):
        tables = [p[key] for p in parts]
        name = tables[0].index.name
        summed = pd.concat(tables).drop(columns="share").groupby(level=0, sort=False).sum()
        labels = [k for k in (*order, "total") if k in summed.index]
        summed = summed.reindex(labels)
        total = float(summed.loc["total", "accounts"])
        summed.insert(1, "share", summed["accounts"] / max(total, 1.0))
        summed.index.name = name
        out[key] = summed
    flags = pd.concat([p["flags"] for p in parts]).groupby(level=0, sort=False)["accounts"].sum()
    n = float(out["by_product"].loc["total", "accounts"])
    out["flags"] = pd.DataFrame(
        {"accounts": flags, "share": flags / max(n, 1.0)},
        index=pd.Index(list(flags.index), name="flag"),
    )
    return out
