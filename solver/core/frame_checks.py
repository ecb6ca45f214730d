"""Table checks declared as pandera schemas, and their failures as row masks.

The account book (:func:`account_schema`, built from the SPEC §3 table
:data:`~solver.core.schema.FIELDS`) and the payment history
(:mod:`solver.risk.history`) declare their columns, dtypes, nullability, ranges, allowed
values, uniqueness and cross-column checks once, as :class:`pandera.pandas.DataFrameSchema`.
:func:`failures` runs a schema lazily (every failure, not the first) and returns pandera's
failure cases (``index``, ``column``, ``check``) as one boolean row mask per column and
check, for the validators to word in the project's own messages
(``FILE: row N (account_id X): column: what is wrong``, unchanged).

Decisions
---------
* pandera validates the *parsed* table. Turning raw cells (CSV text, Excel objects) into
  numbers, booleans and sequences stays hand-written (:mod:`solver.core.columns`): it accepts
  ``是/否``, NaN words and ``3:20000;12:5000`` cells and names the raw value that failed,
  which pandera's dtype coercion cannot do.
* Every check is vectorised (``element_wise=False``, pandera's default): an element-wise
  check calls Python once per cell and would cost seconds on a million rows.
* One problem per cell, as before pandera: a cell that fails several checks is reported for
  the first one in the order the schema declares them (nullability, uniqueness, then the
  column's checks), so ``inf`` is "infinite", not also "too large".
* The schemas validate frames built by the validators, ``inplace`` and with a fresh
  ``RangeIndex``: a failure case's ``index`` is the row's position.
* pandera (about 0.25 s to import after pandas) is loaded with the validators, which the
  command line imports inside its commands: ``workout --help`` loads neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandera.pandas as pa
from pandera.config import ValidationDepth, config_context
from pandera.errors import SchemaErrors

from solver.core.schema import ARREARS_TOLERANCE, FIELDS, NUMBER_KINDS, SPECS, FieldSpec

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ARREARS_CHECK",
    "FINITE",
    "NUMBER",
    "WHOLE_NUMBER",
    "Failure",
    "account_schema",
    "failures",
    "finite",
    "number",
    "whole_number",
]

#: Check names the validators word (pandera's own: ``not_nullable``, ``field_uniqueness``,
#: ``isin``, ``greater_than[_or_equal_to]``, ``less_than[_or_equal_to]``).
FINITE = "finite"
NUMBER = "number"
WHOLE_NUMBER = "whole_number"
ARREARS_CHECK = "arrears_within_balance"

# pandera's checks that are not in a column's ``checks`` list, ordered before them
_BUILTIN_ORDER = {"not_nullable": -2, "field_uniqueness": -1}


def finite() -> pa.Check:
    """No infinite value (NaN is a blank, the column's nullability decides)."""
    return pa.Check(lambda s: ~np.isinf(s), name=FINITE)


def number() -> pa.Check:
    """A finite number: a blank (NaN) fails too (``ignore_na=False``)."""
    return pa.Check(lambda s: np.isfinite(s), name=NUMBER, ignore_na=False)


def whole_number() -> pa.Check:
    """Whole numbers only (a float column holding counts: months, days)."""

    def whole(s: pd.Series) -> Any:
        with np.errstate(invalid="ignore"):
            return ~np.isfinite(s) | (np.floor(s) == s)

    return pa.Check(whole, name=WHOLE_NUMBER)


def _bounds(spec: FieldSpec) -> list[pa.Check]:
    checks = []
    if spec.lower is not None:
        checks.append(pa.Check.gt(spec.lower) if spec.lower_open else pa.Check.ge(spec.lower))
    if spec.upper is not None:
        checks.append(pa.Check.lt(spec.upper) if spec.upper_open else pa.Check.le(spec.upper))
    return checks


def _column(spec: FieldSpec) -> pa.Column:
    """The pandera column of a schema field (absent from a file: not checked)."""
    common: dict[str, Any] = {"name": spec.name, "required": False}
    if spec.kind == "id":
        return pa.Column(
            "str", nullable=False, unique=True, report_duplicates="exclude_first", **common
        )
    if spec.kind == "category":
        return pa.Column("str", pa.Check.isin(list(spec.allowed or ())), nullable=True, **common)
    if spec.kind == "text":
        return pa.Column("str", nullable=True, **common)
    if spec.kind == "bool":
        return pa.Column(bool, **common)
    if spec.kind in NUMBER_KINDS:
        checks = [finite(), *_bounds(spec)]
        if spec.kind == "int":
            checks.append(whole_number())
        return pa.Column("float64", checks, nullable=not spec.required, **common)
    # income_forecast / inflows: each cell is a sequence whose every item is checked (count,
    # month range, order, amount bounds) while it is parsed (solver.core.columns), with the
    # item named in the message; pandera's checks see one cell at a time only element-wise.
    return pa.Column(object, nullable=True, **common)


def _arrears_within_balance(frame: pd.DataFrame) -> Any:
    """Arrears are the overdue part of principal + interest_due (absent interest: default),
    to :data:`~solver.core.schema.ARREARS_TOLERANCE`."""
    if "principal" not in frame or "arrears" not in frame:
        return True
    interest = frame["interest_due"] if "interest_due" in frame else SPECS["interest_due"].default
    return ~(frame["arrears"] > frame["principal"] + interest + ARREARS_TOLERANCE)


@cache
def account_schema() -> pa.DataFrameSchema:
    """The SPEC §3 account table as pandera validates it after parsing.

    Columns absent from a file are not checked (``required=False``): the header check names
    the missing required ones once. Numeric and boolean columns carry their defaults, text
    and category columns ``NaN`` for a blank (the default is applied after the checks:
    ``tier``'s ``""`` is no tier).
    """
    return pa.DataFrameSchema(
        {spec.name: _column(spec) for spec in FIELDS},
        checks=[pa.Check(_arrears_within_balance, name=ARREARS_CHECK)],
        name="account",
    )


@dataclass(frozen=True)
class Failure:
    """The rows of one column failing one check (the first check each cell fails)."""

    column: str | None  # None: a table-level (cross-column) check
    check: str  # the check's name
    rows: np.ndarray  # boolean mask over the frame's rows


def failures(
    schema: pa.DataFrameSchema, frame: pd.DataFrame, *, one_per_cell: bool = True
) -> list[Failure]:
    """Every failure of ``frame`` against ``schema``, as masks over rows ``0..n-1``.

    ``frame``'s index holds the row positions (a ``RangeIndex``, or a permutation of one for
    a sorted frame). With ``one_per_cell`` a cell failing several column checks keeps the
    first in the schema's order. Table-level checks give one mask each (their ``column``
    is ``None``). Order: the schema's columns and their checks, then its table checks.
    """
    import pandas as pd

    try:
        # pandera's settings come from the environment (PANDERA_VALIDATION_ENABLED=False,
        # PANDERA_VALIDATION_DEPTH=SCHEMA_ONLY skip checks); input checks must always run
        with config_context(
            validation_enabled=True,
            validation_depth=ValidationDepth.SCHEMA_AND_DATA,
            use_narwhals_backend=False,
        ):
            schema.validate(frame, lazy=True, inplace=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    n = len(frame)
    out: list[Failure] = []
    table = cases["schema_context"] == "DataFrameSchema"
    # a failure of no row or of no declared check (a dtype: pandera lists it per row when the
    # values are of another kind) means the validators built a wrong frame: a bug of ours
    declared = cases["check"].isin(list(_BUILTIN_ORDER)) | cases["check_number"].notna()
    ours = ~table & (cases["index"].isna() | ~declared)
    if ours.any():
        raise AssertionError(f"table schema failure: {cases[ours].head(3).to_dict('records')}")
    column_cases = cases[~table]
    # vectorised: a book with every row wrong has hundreds of thousands of failure cases
    names = list(schema.columns)
    column = pd.Index(names).get_indexer(column_cases["column"])
    index = column_cases["index"].to_numpy(dtype=np.int64)
    rank = np.array(pd.to_numeric(column_cases["check_number"], errors="coerce"), dtype=float)
    for builtin, place in _BUILTIN_ORDER.items():
        rank[(column_cases["check"] == builtin).to_numpy(dtype=bool)] = place
    if one_per_cell and index.size:  # the first check (lowest rank) of each cell
        o = np.lexsort((rank, index, column))
        column, index, rank = column[o], index[o], rank[o]
        first = np.r_[True, (column[1:] != column[:-1]) | (index[1:] != index[:-1])]
        column, index, rank = column[first], index[first], rank[first]
    builtin_name = {place: name for name, place in _BUILTIN_ORDER.items()}
    shift, width = len(_BUILTIN_ORDER), 1 << 16  # ranks from -shift; < 65,536 checks a column
    key = column.astype(np.int64) * width + (rank.astype(np.int64) + shift)
    for k in np.unique(key):  # by column in the schema's order, then by check
        code, place = divmod(int(k), width)
        place -= shift
        rows = np.zeros(n, dtype=bool)
        rows[index[key == k]] = True
        name = names[code]
        check = builtin_name.get(place) or schema.columns[name].checks[place].name
        out.append(Failure(name, str(check), rows))
    for k, check in enumerate(schema.checks):
        hit = cases[table & (cases["check_number"] == k)]
        if len(hit):
            rows = np.zeros(n, dtype=bool)
            rows[hit["index"].dropna().to_numpy(dtype=np.int64)] = True
            out.append(Failure(None, str(check.name), rows))
    return out
