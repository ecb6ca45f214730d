"""The default behaviour model's parameters and its per-account inputs (SPEC §4).

:class:`BehaviourModel` holds the model's parameters (loaded from TOML, SPEC §7
calibration writes them), :class:`BehaviourModelProtocol` what the optimizers need from
a model, and :class:`AccountParams` the per-account inputs as read-only arrays. The
formulas are computed by :class:`~solver.core.model_kernel.ModelKernel`; everything is
importable from :mod:`solver.core.model`.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from solver.core.account import as_account
from solver.core.atomic import atomic_open
from solver.core.problems import ProblemLog
from solver.core.schema import SEQUENCE_FIELDS
from solver.core.settings_schema import did_you_mean
from solver.domain import TIERS
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from solver.core.model_kernel import ModelKernel

__all__ = [
    "DEFAULT_BASE_HAZARD",
    "SCALAR_INPUTS",
    "AccountParams",
    "BehaviourModel",
    "BehaviourModelProtocol",
    "monthly_table",
    "read_only",
]

DEFAULT_BASE_HAZARD: dict[str, float] = {"A": 0.002, "B": 0.004, "C": 0.008, "D": 0.015, "E": 0.03}


def read_only(values: np.ndarray) -> np.ndarray:
    """``values``, made read-only in place."""
    values.setflags(write=False)
    return values


@dataclass(frozen=True)
class BehaviourModel:
    """Parameters of the default behaviour model (SPEC §4); load with :meth:`from_toml`.

    Parameters
    ----------
    base_hazard
        Base monthly default hazard ``h0`` by risk tier A–E.
    kappa
        Share of unaffordable months that end in default (κ).
    recovery_lag_months
        Months ``L`` from default to the collateral proceeds (and the unsecured recovery).
    vehicle_depreciation
        Annual used-car value loss ``d``.
    auction_discount
        Haircut on the depreciated vehicle value at auction.
    repo_cost
        Repossession and sale cost in CNY.
    unsecured_recovery
        Share ``ρ`` of the exposure not covered by collateral that is recovered.
    cost_of_funds
        Bank cost of funds (annual); the monthly discount factor is ``1/(1 + cof/12)``.
    """

    base_hazard: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_BASE_HAZARD))
    kappa: float = 0.2
    recovery_lag_months: int = 4
    vehicle_depreciation: float = 0.15
    auction_discount: float = 0.25
    repo_cost: float = 3000.0
    unsecured_recovery: float = 0.10
    cost_of_funds: float = 0.03

    def __post_init__(self) -> None:
        problems = _value_problems({f.name: getattr(self, f.name) for f in fields(self)})
        if problems:
            raise ValueError(problems[0])
        hazards = dict(self.base_hazard)
        object.__setattr__(self, "base_hazard", {t: float(hazards[t]) for t in TIERS})
        for name, _, _ in _BOUNDED:
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "repo_cost", float(self.repo_cost))
        object.__setattr__(self, "recovery_lag_months", int(self.recovery_lag_months))

    @property
    def monthly_discount(self) -> float:
        """Monthly discount factor ``δ = 1/(1 + cof/12)``."""
        return 1.0 / (1.0 + self.cost_of_funds / 12.0)

    def hazard_of(self, tiers: Any) -> np.ndarray:
        """Base monthly hazard for an array of tier labels."""
        lookup = self.base_hazard
        tiers = np.asarray(tiers, dtype=object)
        try:
            return np.array([lookup[t] for t in tiers.ravel()], dtype=float).reshape(tiers.shape)
        except KeyError as exc:
            raise ValueError(f"unknown tier {exc.args[0]!r}; tiers are A-E") from None

    def kernel(self, params: AccountParams, horizon: int) -> ModelKernel:
        """The SPEC §4 kernel for accounts ``params`` over plan months 1…``horizon``."""
        from solver.core.model_kernel import ModelKernel  # it imports this module

        return ModelKernel(self, params, horizon)

    def replace(self, **changes: Any) -> BehaviourModel:
        """A copy with some parameters changed (validated again)."""
        from dataclasses import replace

        return replace(self, **changes)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<model>") -> BehaviourModel:
        """Build from a mapping shaped like ``scenarios/behaviour.toml`` (missing keys and
        tiers take the defaults).

        Every problem -- unknown keys, values that are not numbers, values out of range --
        is reported together, in the order of the file (SPEC §3, session 17 review; the
        cap is the tables' :data:`~solver.core.schema.MAX_PROBLEMS`).
        """
        known = [f.name for f in fields(cls)]
        log = ProblemLog(source)
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                close = did_you_mean(key, known, cutoff=0.6)
                log.file(f"unknown key {key!r}" + (f" (did you mean {close!r}?)" if close else ""))
                continue
            if key == "base_hazard" and not isinstance(value, Mapping):
                log.file(f"base_hazard: expected a table of tier = hazard, got {value!r}")
                continue
            if key == "base_hazard":
                bad = [t for t, h in value.items() if not _is_number(h)]
                for tier in bad:
                    log.file(f"base_hazard.{tier}: expected a number, got {value[tier]!r}")
                if bad:
                    continue
                value = {**DEFAULT_BASE_HAZARD, **value}
            elif not _is_number(value):
                log.file(f"{key}: expected a number, got {value!r}")
                continue
            for text in _value_problems({key: value}):
                log.file(text)
            values[key] = value
        log.raise_if_any(subject="behaviour model")
        return cls(**values)

    @classmethod
    def from_toml(cls, path: str | Path) -> BehaviourModel:
        """Load parameters from a TOML file (missing keys take the defaults)."""
        path = Path(path)
        try:
            if path.stat().st_size == 0:
                raise InputError(f"{path}: the file is empty (expected model parameters as TOML)")
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise InputError(f"{path}: file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_dict(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping in the TOML layout."""
        out: dict[str, Any] = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name != "base_hazard"
        }
        out["base_hazard"] = dict(self.base_hazard)
        return out

    def to_toml(self, path: str | Path) -> None:
        """Write the parameters as TOML (atomically)."""
        import tomli_w

        with atomic_open(path, "wb") as fh:
            tomli_w.dump(self.to_dict(), fh)


#: The model's parameters with a closed range (SPEC §4 shares and the cost of funds).
_BOUNDED: tuple[tuple[str, float, float], ...] = (
    ("kappa", 0.0, 1.0),
    ("vehicle_depreciation", 0.0, 1.0),
    ("auction_discount", 0.0, 1.0),
    ("unsecured_recovery", 0.0, 1.0),
    ("cost_of_funds", -0.5, 1.0),
)


def _is_number(value: Any) -> bool:
    """Whether a settings value is a number (``true`` is not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value_problems(values: Mapping[str, Any]) -> list[str]:
    """Every out-of-range parameter among ``values`` (numbers; keys left out are not
    checked), one sentence each naming the key and the value, in the order the
    constructor checks them (it raises the first)."""
    problems: list[str] = []
    if "base_hazard" in values:
        hazards = dict(values["base_hazard"])
        missing = [t for t in TIERS if t not in hazards]
        if missing:
            problems.append(f"base_hazard must give every tier A-E, missing {missing}")
        for tier, h in hazards.items():
            if tier not in TIERS:
                problems.append(f"base_hazard has unknown tier {tier!r}; tiers are A-E")
            elif not (0.0 <= float(h) < 1.0):  # also refuses NaN
                problems.append(f"base_hazard.{tier} must be in [0, 1), got {h}")
    for name, lo, hi in _BOUNDED:
        if name in values and not (lo <= float(values[name]) <= hi):  # also refuses NaN
            problems.append(f"{name} must be in [{lo}, {hi}], got {float(values[name])}")
    if "repo_cost" in values and not (0 <= float(values["repo_cost"]) < math.inf):
        problems.append(f"repo_cost must be >= 0, got {values['repo_cost']}")
    lag = values.get("recovery_lag_months", 0)
    if not math.isfinite(lag) or int(lag) != lag or lag < 0:
        problems.append(f"recovery_lag_months must be a whole number >= 0, got {lag}")
    return problems


class BehaviourModelProtocol(Protocol):
    """What the optimizers, the evaluator and the simulation need from a behaviour model.

    All model maths goes through :meth:`kernel`; a model with another hazard curve (or
    recovery, or affordability) returns a :class:`ModelKernel` subclass and every search,
    bound and simulation follows it.
    """

    @property
    def recovery_lag_months(self) -> int: ...

    @property
    def cost_of_funds(self) -> float: ...

    @property
    def monthly_discount(self) -> float: ...

    def hazard_of(self, tiers: Any) -> np.ndarray: ...

    def kernel(self, params: AccountParams, horizon: int) -> ModelKernel: ...


# the per-account scalar inputs of the model that come from an account's fields as numbers
SCALAR_INPUTS = (
    "income",
    "income_normal",
    "recovery_months",
    "income_cv",
    "expenses",
    "other_debt",
    "vehicle_value",
)


@dataclass(frozen=True)
class AccountParams:
    """The per-account inputs of the behaviour model as read-only arrays.

    The scalar inputs have shape (n,). ``income_normal`` may be NaN: the account gave
    none, and the effective ``income`` is its normal income (SPEC §3 default). The
    optional income forecast is two arrays of shape (n, K): ``income_forecast`` (the
    expected income of plan months 1…K, NaN where an account gives no forecast for that
    month) and ``inflows`` (one-off amounts expected in months 1…K, e.g. a bonus; 0
    where none). Build with :meth:`from_frame` (a validated portfolio) or
    :meth:`from_account`.
    """

    income: np.ndarray
    income_normal: np.ndarray
    recovery_months: np.ndarray
    income_cv: np.ndarray
    expenses: np.ndarray
    other_debt: np.ndarray
    vehicle_value: np.ndarray
    base_hazard: np.ndarray
    income_forecast: np.ndarray | None = None
    inflows: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = None
        for f in fields(self):
            if f.name in SEQUENCE_FIELDS:
                continue
            arr = np.array(getattr(self, f.name), dtype=float, ndmin=1)
            if n is None:
                n = arr.shape[0]
            if arr.shape != (n,):
                raise ValueError(f"{f.name} must have shape ({n},), got {arr.shape}")
            object.__setattr__(self, f.name, read_only(arr))
        for name in SEQUENCE_FIELDS:
            value = getattr(self, name)
            arr = np.zeros((n or 0, 0)) if value is None else np.array(value, dtype=float, ndmin=2)
            if arr.ndim != 2 or arr.shape[0] != n:
                raise ValueError(f"{name} must have shape ({n}, K), got {arr.shape}")
            object.__setattr__(self, name, read_only(arr))

    def __len__(self) -> int:
        return int(self.income.shape[0])

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, model: BehaviourModelProtocol | None = None
    ) -> AccountParams:
        """Parameters of every account in a validated portfolio DataFrame."""
        return cls.from_columns(
            {name: frame[name].to_numpy(float) for name in SCALAR_INPUTS},
            frame["tier"].to_numpy(object),
            frame.get("income_forecast"),
            frame.get("inflows"),
            model,
        )

    @classmethod
    def from_columns(
        cls,
        columns: Mapping[str, np.ndarray],
        tiers: np.ndarray,
        forecast: Any = None,
        inflows: Any = None,
        model: BehaviourModelProtocol | None = None,
    ) -> AccountParams:
        """:meth:`from_frame` from columns a caller has already taken out of the frame.

        ``columns``: the :data:`SCALAR_INPUTS` by name, as float arrays (other keys are
        ignored); ``forecast`` / ``inflows``: the frame's ``income_forecast`` /
        ``inflows`` columns (``None`` when the frame has none). A batch's columns are then
        read from the DataFrame once (each ``frame[name]`` costs tens of microseconds).
        """
        model = model or BehaviourModel()
        n = len(tiers)
        return cls(
            income=columns["income"],
            income_normal=columns["income_normal"],
            recovery_months=columns["recovery_months"],
            income_cv=columns["income_cv"],
            expenses=columns["expenses"],
            other_debt=columns["other_debt"],
            vehicle_value=columns["vehicle_value"],
            base_hazard=model.hazard_of(tiers),
            income_forecast=monthly_table(forecast, n, fill=np.nan),
            inflows=monthly_table(inflows, n, fill=0.0, pairs=True),
        )

    @classmethod
    def from_account(
        cls, account: Any, model: BehaviourModelProtocol | None = None
    ) -> AccountParams:
        """Parameters of one account (an ``Account`` or a mapping with SPEC §3 fields)."""
        model = model or BehaviourModel()
        acc = as_account(account)
        normal = acc.income_normal
        return cls(
            income=np.array([acc.income], dtype=float),
            income_normal=np.array([np.nan if normal is None else normal], dtype=float),
            recovery_months=np.array([acc.recovery_months], dtype=float),
            income_cv=np.array([acc.income_cv], dtype=float),
            expenses=np.array([acc.expenses], dtype=float),
            other_debt=np.array([acc.other_debt], dtype=float),
            vehicle_value=np.array([acc.vehicle_value], dtype=float),
            base_hazard=model.hazard_of([acc.tier]),
            income_forecast=monthly_table([getattr(acc, "income_forecast", None)], 1, fill=np.nan),
            inflows=monthly_table([getattr(acc, "inflows", None)], 1, fill=0.0, pairs=True),
        )

    @property
    def has_forecast(self) -> bool:
        """Whether any account gives an income forecast or one-off inflows."""
        assert self.income_forecast is not None and self.inflows is not None
        return bool(self.income_forecast.shape[1] or self.inflows.shape[1])

    def take(self, index: Any) -> AccountParams:
        """Rows ``index`` (an integer array, e.g. ``np.repeat(0, k)`` for k schedules of one account)."""
        return AccountParams(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def monthly_table(values: Any, n: int, *, fill: float, pairs: bool = False) -> np.ndarray:
    """A (n, K) array from per-account month series (``None`` for an account without one).

    ``pairs=False``: each item is a sequence of amounts for months 1…K_i (the income
    forecast); missing months take ``fill``. ``pairs=True``: each item is a sequence of
    ``(month, amount)`` pairs (one-off inflows), summed per month; other months ``fill``.
    """
    if values is None:
        return np.full((n, 0), fill)
    items = list(values)
    width = 0
    for item in items:
        if item is None or (isinstance(item, float) and math.isnan(item)):
            continue
        if pairs:
            width = max(width, max((int(m) for m, _ in item), default=0))
        else:
            width = max(width, len(item))
    out = np.full((n, width), fill)
    if width == 0:
        return out
    for i, item in enumerate(items):
        if item is None or (isinstance(item, float) and math.isnan(item)):
            continue
        if pairs:
            for month, amount in item:
                cell = out[i, int(month) - 1]
                out[i, int(month) - 1] = (0.0 if np.isnan(cell) else cell) + float(amount)
        else:
            out[i, : len(item)] = np.asarray(item, dtype=float)
    return out
