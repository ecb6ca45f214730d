"""The account schema (SPEC §3): one table, :data:`FIELDS`, describing every column.

Each :class:`FieldSpec` gives a column's kind, whether it is required, its default, its
bounds and its allowed values. That table drives

* :class:`~solver.core.account.Account` (one account: coercion, defaults, validation, tier
  derivation; :mod:`solver.core.cleaning`),
* :func:`~solver.core.validation.validate_portfolio` (a whole table, vectorised: every row,
  every problem; its checks are the pandera schema
  :func:`~solver.core.frame_checks.account_schema` built from this table),
* the readers (:mod:`solver.core.readers`) and writers (:mod:`solver.core.writers`).

Conventions
-----------
* Money is CNY as float64; rates are decimals (0.089 = 8.9 %/year).
* "Blank" means a missing value (empty cell, ``NaN``, ``None``, ``""``). A blank in a
  required column is an error; in an optional column it takes the default. The optional
  text columns ``region``, ``language`` and ``preferred_channel`` use ``""`` for "not
  given"; a missing ``credit_score`` is ``NaN`` in a table and ``None`` on an
  ``Account``.
* Text values of ``product`` and ``preferred_channel`` are matched case-insensitively
  and stored lower-case; ``tier`` is stored upper-case.
* Booleans accept true/false, yes/no, y/n, t/f, 1/0 and 是/否 (any case).
* ``tier`` is derived from ``credit_score`` and ``dpd``
  (:func:`~solver.core.tiering.derive_tier`) wherever it
  is blank; a tier given in the data is kept as the bank's own rating.
* A blank ``income_normal`` stays missing (``NaN`` in a table, ``None`` on an
  ``Account``) and means "= ``income``" wherever it is used, so that a what-if on
  ``income`` (``--set income=...``, an income shock) carries over; code that needs the
  number calls :func:`~solver.core.account.effective_income_normal`.
* ``income_forecast`` (expected monthly net income of plan months 1..K, 1 <= K <= 600) and
  ``inflows`` (one-off expected inflows as ``(month, amount)`` pairs) are optional and
  missing (``None``) by default. In a table they are object columns holding a tuple or
  ``None``; in a CSV or Excel cell they are text, ``3800;3800;4200`` and
  ``3:20000;12:5000`` (``;`` between items, whitespace tolerated). A month listed twice
  among the inflows is summed; inflows are stored sorted by month.
* Problems are reported as ``FILE: row N (account_id X): column: what is wrong``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from solver.core.currency import ENGINE_DIGITS
from solver.core.messages import fmt_num
from solver.domain import BUCKETS, TIERS

__all__ = [
    "ARREARS_TOLERANCE",
    "BOOL_PAIRS",
    "BOOL_WORDS",
    "CHANNELS",
    "COLUMNS",
    "DERIVED_COLUMNS",
    "DPD_BUCKETS",
    "FIELDS",
    "FieldSpec",
    "InputWarning",
    "MAX_FORECAST_MONTHS",
    "MAX_PROBLEMS",
    "MONEY_MAX",
    "NAN_WORDS",
    "PRODUCTS",
    "REQUIRED_COLUMNS",
    "SEQUENCE_FIELDS",
    "SPECS",
    "TEXT_KINDS",
    "bound_messages",
    "normalize_column_name",
    "rate_hint",
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
#: How far ``arrears`` may exceed ``principal + interest_due`` (currency units) before the
#: check reports it: half a unit of the finest money grid (hundredths,
#: :data:`~solver.core.currency.ENGINE_DIGITS`). It forgives only the float rounding of the
#: sum (under 2.5e-4 below 2 x MONEY_MAX: amounts in cents whose cents add up can sum
#: 0.00006 short as floats) and reports any excess of a grid unit, a hundredth or a yen.
#: One value for every currency: the book is checked without the policy that names the
#: currency. It is right for JPY (zero decimals) too: whole-yen amounts sum exactly, so
#: the check is exact there (any tolerance under a yen gives the same verdict), and half
#: a yen (half JPY's grid unit) would only let through fractional-yen arrears over the cap.
ARREARS_TOLERANCE = 0.5 * 10.0**-ENGINE_DIGITS
#: At most this many problem lines are listed in an :class:`InputError`.
MAX_PROBLEMS = 50

#: The words of boolean columns as (true, false) pairs, in the order messages list them
#: (``true/false, t/f, ...``): one declaration, so that a word cannot be added on one side
#: only (:func:`solver.core.settings_words.flag_problem` lists the pairs).
BOOL_PAIRS: tuple[tuple[str, str], ...] = (
    ("true", "false"),
    ("t", "f"),
    ("yes", "no"),
    ("y", "n"),
    ("1", "0"),
    ("1.0", "0.0"),
    ("是", "否"),
)
#: Words accepted in boolean columns (after strip + lower-case), from :data:`BOOL_PAIRS`.
BOOL_WORDS: dict[str, bool] = {
    word: flag for pair in BOOL_PAIRS for word, flag in zip(pair, (True, False), strict=True)
}

#: Text that means "missing" (as in pandas / pyarrow CSV null values).
NAN_WORDS = [
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
            return f"in {left}{fmt_num(lo)}, {fmt_num(hi)}{right}"
        if lo is not None:
            return f"{'>' if self.lower_open else '>='} {fmt_num(lo)}"
        if hi is not None:
            return f"{'<' if self.upper_open else '<='} {fmt_num(hi)}"
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
    FieldSpec(
        "language",
        "text",
        default="",
        description="language (collector matching; blank: unknown, any team may serve)",
    ),
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


#: Optional fields holding a tuple per account (object columns in a table).
SEQUENCE_FIELDS: tuple[str, ...] = ("income_forecast", "inflows")
#: Schema kinds read from CSV as text (income_forecast "3800;3800", inflows "3:20000").
TEXT_KINDS = ("id", "text", "category", "forecast", "inflows")
#: Schema kinds that hold one number (a word such as "nan" in them is not a number).
NUMBER_KINDS = ("money", "float", "int")


def normalize_column_name(name: Any) -> str:
    """Header normalisation: strip, lower-case, spaces and hyphens to underscores."""
    text = str(name).strip().lower()
    return "_".join(text.replace("-", " ").split())


def bound_messages(spec: FieldSpec) -> tuple[str | None, str | None]:
    """What a value below / above the field's bounds is told (``None``: no bound)."""
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


def rate_hint(spec: FieldSpec, value: float) -> str:
    """A hint for an ``annual_rate`` given in percent (``7.2`` for 0.072), else ``""``."""
    if spec.name == "annual_rate" and 1 < value <= 100:
        return f" (rates are decimals: {value:g} % is {value / 100:g})"
    return ""
