"""The :class:`Account` domain object: one delinquent account with the SPEC §3 fields.

An :class:`Account` is built from a mapping (:meth:`Account.from_mapping`) or keyword
arguments, coerced, defaulted and validated field by field (:mod:`solver.core.cleaning`
against the table of :mod:`solver.core.schema`), with a blank ``tier`` derived by
:mod:`solver.core.tiering`. What-ifs use :meth:`Account.replace` / :meth:`Account.override`
(the checks of fields set one by one and across fields are in
:mod:`solver.core.account_checks`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from solver.core.account_checks import (
    card_vehicle_problem,
    card_vehicles,
    cross_field_problems,
    setting_problems,
    unknown_field_hint,
)
from solver.core.cleaning import clean_account
from solver.core.messages import plural, where
from solver.core.schema import COLUMNS, DERIVED_COLUMNS, SEQUENCE_FIELDS, SPECS, InputWarning
from solver.core.tiering import TieringRules, derive_tier, dpd_bucket
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "OWED_COLUMNS",
    "Account",
    "balance_owed",
    "as_account",
    "effective_income_normal",
    "frame_columns",
]


#: What an account owes before any plan (SPEC §3): principal, accrued interest and fees.
OWED_COLUMNS: tuple[str, ...] = ("principal", "interest_due", "fees_due")


def balance_owed(frame: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
    """Each row's balance owed, :data:`OWED_COLUMNS` summed in that order (a column the
    frame lacks counts as 0: a validated book has all three).

    Parameters
    ----------
    frame
        A table of accounts, or a mapping of its columns: arrays (the plan search's
        ``PlanContext.fields``) or scalars (one account's, a 0-d array back).

    Returns
    -------
    numpy.ndarray
        float64 balances: ``0 + principal + interest_due + fees_due`` summed left to right,
        the same floats to the bit as ``principal + interest_due + fees_due`` (adding to
        0.0 changes no float but -0.0), whichever the input.
    """
    # `in` asks a DataFrame for its columns and a mapping for its keys
    present = [frame[c] for c in OWED_COLUMNS if c in frame]
    if hasattr(frame, "columns"):
        present = [column.to_numpy(dtype=float) for column in present]
        shape: tuple[int, ...] = (len(frame),)
    else:
        present = [np.asarray(column, dtype=float) for column in present]
        shape = present[0].shape if present else ()
    owed = np.zeros(shape)
    for column in present:
        owed = owed + column
    return owed


@dataclass(frozen=True, kw_only=True)
class Account:
    """One delinquent account with the SPEC §3 fields (validated, defaults applied).

    Construct it with :meth:`from_mapping` (a dict, a TOML/JSON record, a table row) or
    directly with keyword arguments; both coerce, default and validate every field and
    raise :class:`~solver.errors.InputError` listing all problems. ``tier`` is always set
    after construction: when it is blank (``""``) it is derived from ``credit_score`` and
    ``dpd`` with :func:`~solver.core.tiering.derive_tier`.

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
    ``[{"month": 3, "amount": 20000}]``) whose items are numbers; a single number is a
    one-month forecast only in a table cell (:mod:`solver.core.cleaning` says why).
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
        values, problems = clean_account(raw, "<Account>", None)
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
            Rules used to derive a blank ``tier`` (default
            :class:`~solver.core.tiering.TieringRules`).
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
        values, problems = clean_account(mapping, source, row)
        if extra and unknown != "ignore":
            lines = [f"{source}: {k}: unknown field{unknown_field_hint(str(k))}" for k in extra]
            if unknown == "error":
                problems = lines + problems
            else:
                for line in lines:
                    warnings.warn(line, InputWarning, stacklevel=2)
        if not problems and card_vehicles(values["product"], values["vehicle_value"]):
            loc = f"{source}: {where(row, values['account_id'])}"
            problems.append(
                f"{loc}: vehicle_value: {card_vehicle_problem(values['vehicle_value'])}"
            )
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
        """Accounts of a *validated* portfolio (from :func:`~solver.core.readers.read_portfolio`).

        Rows are not validated again (fast); pass only frames produced by
        :func:`~solver.core.validation.validate_portfolio` or the readers. A missing column
        raises ``KeyError``,
        except ``income_forecast`` and ``inflows`` (missing: ``None``).
        """
        return cls.from_columns(frame_columns(frame), len(frame))

    @classmethod
    def from_columns(cls, columns: Mapping[str, np.ndarray], n: int) -> list[Account]:
        """:meth:`from_frame` of the ``n`` rows whose columns :func:`frame_columns` took
        out of a validated frame (or slices of them): a portfolio run reads each column
        of its frame once and hands every batch its rows."""
        # column by column (numpy's tolist gives the Python scalars item() gives), then
        # one dict per row: the per-row work is only the zip
        values = [
            _python_column(columns[name]) if name in columns else [None] * n for name in COLUMNS
        ]
        for name in ("credit_score", "income_normal"):
            k = _COLUMN_INDEX[name]
            values[k] = [None if v is None or v != v else v for v in values[k]]
        extra = {"_tier_derived": False, "_tiering": None}
        out: list[Account] = []
        new = object.__new__
        for row in zip(*values, strict=True):
            account = new(cls)
            fields = account.__dict__
            fields.update(zip(COLUMNS, row, strict=True))
            fields.update(extra)
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
                f"{unknown_field_hint(unknown_keys[0])}"
            )
        return self._replace(changes, "<Account>.replace")

    def override(
        self, settings: Mapping[str, Any], source: str = "--set", *, checked: bool = False
    ) -> Account:
        """:meth:`replace` for user settings: messages name ``SOURCE FIELD``.

        ``account.override({"income": "abc"})`` raises
        ``InputError("--set income: not a number: <withheld>")`` rather than a message
        about ``<Account>.replace``. A blank value unsets an optional field (its default).
        Every problem is raised together: each field's own (:func:`setting_problems`), then
        the checks across the account's fields (:func:`cross_field_problems`).

        ``checked``: the caller has listed both kinds of problem of these ``settings`` on
        this account already and found none (``commands.accounts.load_account`` lists them
        with the command's other ``--set`` problems), so they are not looked for again.
        Decision (session 20): a flag rather than a second, unchecked constructor, so that
        one method builds every what-if; the new account is still validated as every
        account is (:meth:`from_mapping`), so a wrong flag gives a plainer message, never
        an invalid account.
        """
        if checked:
            return self._replace(settings, source)
        found = setting_problems(settings) + cross_field_problems(self, settings)
        problems = [f"{source} {name}: {problem}" for name, problem in found]
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


def as_account(account: Any) -> Any:
    """An ``Account`` from an ``Account`` or a mapping of SPEC §3 fields."""
    if isinstance(account, Account):
        return account
    if isinstance(account, Mapping):
        return Account.from_mapping(account)
    raise TypeError(f"account must be an Account or a mapping, got {type(account).__name__}")


def _python_value(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


_COLUMN_INDEX = {name: k for k, name in enumerate(COLUMNS)}


def frame_columns(frame: pd.DataFrame, names: Sequence[str] = COLUMNS) -> dict[str, np.ndarray]:
    """The ``names`` columns of a validated portfolio frame as numpy arrays, each read
    once (every ``frame[name]`` costs tens of microseconds). A missing required column
    raises ``KeyError``; a missing ``income_forecast`` or ``inflows`` is left out."""
    present = set(frame.columns)
    return {
        name: frame[name].to_numpy()
        for name in names
        if name in present or name not in SEQUENCE_FIELDS
    }


def _python_column(values: np.ndarray) -> list[Any]:
    """A column's values as Python objects (``_python_value`` of each): numpy's ``tolist``
    converts a typed column; an object column is mapped only if it holds numpy scalars."""
    out = values.tolist()
    if values.dtype == object and any(issubclass(t, np.generic) for t in set(map(type, out))):
        out = [_python_value(v) for v in out]
    return out
