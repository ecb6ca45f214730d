"""The default behaviour model: what "expected recovery" means (SPEC §4).

For a schedule of payments ``p_1 … p_T`` and exposures ``EAD_t`` (the balance before
month t's payment) the model gives, month by month:

* expected income ``Ī_t = income + (income_normal − income)·min(1, t / recovery_months)``;
* affordability ``a_t = P(I_t ≥ p_t + expenses + other_debt)`` with lognormal income of
  mean ``Ī_t`` and coefficient of variation ``cv``;
* default hazard ``h_t = h0 + (1 − h0)·κ·(1 − a_t)`` (``h0`` by risk tier), survival
  ``S_t = Π (1 − h_k)``;
* recovery on default ``R_t = min(EAD_t, C_t) + ρ·max(0, EAD_t − C_t)`` with collateral
  proceeds ``C_t = max(0, V0·(1 − d)^((t+L)/12)·(1 − auction_discount) − repo_cost)``
  received ``L`` months later;
* ``NPV = Σ δ^t S_t p_t + Σ δ^(t+L) S_{t−1} h_t R_t`` with ``δ = 1/(1 + cof/12)``.

This module holds the model's parameters (:class:`BehaviourModel`), its per-account
inputs (:class:`AccountParams`) and the kernel that computes every term above
(:class:`ModelKernel`); :mod:`solver.core.evaluation` evaluates schedules with it and
:mod:`solver.core.contract` gives the status-quo schedule it is compared with.

The model is pluggable: anything with the :class:`BehaviourModelProtocol` methods can be
passed where a :class:`BehaviourModel` is expected. Everything is vectorised over
schedules (rows) and months (columns); the only Python loop is over months when the
default exposures are rolled forward.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from scipy.special import ndtr, ndtri

from solver.core.account import as_account
from solver.core.atomic import atomic_open
from solver.core.schema import SEQUENCE_FIELDS
from solver.domain import TIERS
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_BASE_HAZARD",
    "AccountParams",
    "BehaviourModel",
    "BehaviourModelProtocol",
    "ModelKernel",
    "collateral_proceeds",
    "expected_income",
    "hazard_curve",
    "monthly_table",
    "read_only",
    "recovery_at",
    "recovery_grid",
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
        hazards = dict(self.base_hazard)
        missing = [t for t in TIERS if t not in hazards]
        if missing:
            raise ValueError(f"base_hazard must give every tier A-E, missing {missing}")
        for tier, h in hazards.items():
            if tier not in TIERS:
                raise ValueError(f"base_hazard has unknown tier {tier!r}; tiers are A-E")
            if not (0.0 <= float(h) < 1.0) or math.isnan(float(h)):
                raise ValueError(f"base_hazard.{tier} must be in [0, 1), got {h}")
        object.__setattr__(self, "base_hazard", {t: float(hazards[t]) for t in TIERS})
        for name, lo, hi in (
            ("kappa", 0.0, 1.0),
            ("vehicle_depreciation", 0.0, 1.0),
            ("auction_discount", 0.0, 1.0),
            ("unsecured_recovery", 0.0, 1.0),
            ("cost_of_funds", -0.5, 1.0),
        ):
            value = float(getattr(self, name))
            if not (lo <= value <= hi):  # also refuses NaN
                raise ValueError(f"{name} must be in [{lo}, {hi}], got {value}")
            object.__setattr__(self, name, value)
        if not (0 <= float(self.repo_cost) < math.inf):
            raise ValueError(f"repo_cost must be >= 0, got {self.repo_cost}")
        object.__setattr__(self, "repo_cost", float(self.repo_cost))
        lag = self.recovery_lag_months
        if not math.isfinite(lag) or int(lag) != lag or lag < 0:
            raise ValueError(f"recovery_lag_months must be a whole number >= 0, got {lag}")
        object.__setattr__(self, "recovery_lag_months", int(lag))

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
        return ModelKernel(self, params, horizon)

    def replace(self, **changes: Any) -> BehaviourModel:
        """A copy with some parameters changed (validated again)."""
        from dataclasses import replace

        return replace(self, **changes)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<model>") -> BehaviourModel:
        """Build from a mapping shaped like ``scenarios/behaviour.toml``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            import difflib

            hints = []
            for key in unknown:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hints.append(
                    f"{source}: unknown key {key!r}"
                    + (f" (did you mean {close[0]!r}?)" if close else "")
                )
            raise InputError(f"{source}: unknown model parameter(s)", hints)
        kwargs = dict(data)
        problems = []
        for key, value in kwargs.items():
            if key == "base_hazard":
                if not isinstance(value, Mapping):
                    problems.append(
                        f"{source}: base_hazard: expected a table of tier = hazard, got {value!r}"
                    )
                    continue
                for tier, h in value.items():
                    if isinstance(h, bool) or not isinstance(h, int | float):
                        problems.append(
                            f"{source}: base_hazard.{tier}: expected a number, got {h!r}"
                        )
            elif isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(f"{source}: {key}: expected a number, got {value!r}")
        if problems:
            raise InputError(f"{source}: invalid model parameter(s)", problems)
        try:
            if "base_hazard" in kwargs:
                merged = dict(DEFAULT_BASE_HAZARD)
                merged.update(kwargs["base_hazard"])
                kwargs["base_hazard"] = merged
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{source}: {exc}") from None

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


# --------------------------------------------------------------------------------------
# The kernel: SPEC §4, vectorised, the one implementation every optimizer and the
# simulation call (shapes broadcast as (n, 1) accounts × (T,) months)
# --------------------------------------------------------------------------------------


def expected_income(params: AccountParams, months: int | np.ndarray) -> np.ndarray:
    """Expected income ``Ī_t`` for plan months 1…T (or the given month numbers), shape (n, T).

    SPEC §4: ``Ī_t = income + (income_normal − income)·min(1, t / recovery_months)``,
    ``Ī_t = income`` when ``recovery_months = 0``; a missing ``income_normal`` (NaN) is
    the effective ``income``. Where the account gives a forecast for month t it replaces
    the path; one-off inflows of month t are added.
    """
    if isinstance(months, (int, np.integer)):
        t = np.arange(1, int(months) + 1, dtype=float)
    else:
        t = np.asarray(months, dtype=float)
    income = params.income[:, None]
    normal = np.where(np.isnan(params.income_normal), params.income, params.income_normal)
    rm = params.recovery_months[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(rm > 0, np.minimum(1.0, t[None, :] / np.where(rm > 0, rm, 1.0)), 0.0)
    path = income + (normal - params.income)[:, None] * frac
    if not params.has_forecast:
        return path
    assert params.income_forecast is not None and params.inflows is not None
    month_index = t.astype(np.int64) - 1
    for table, add in ((params.income_forecast, False), (params.inflows, True)):
        K = table.shape[1]
        if K == 0:
            continue
        inside = (month_index >= 0) & (month_index < K)
        cols = np.clip(month_index, 0, K - 1)
        values = np.where(inside[None, :], table[:, cols], np.nan if not add else 0.0)
        if add:
            path = path + values
        else:
            path = np.where(np.isnan(values), path, values)
    return path


def collateral_proceeds(
    vehicle_value: np.ndarray, horizon: int, model: BehaviourModel
) -> np.ndarray:
    """Net collateral proceeds ``C_t`` for a default in month t = 1…T, shape (n, T)."""
    t = np.arange(1, horizon + 1, dtype=float)
    lag = model.recovery_lag_months
    value = vehicle_value[:, None] * (1.0 - model.vehicle_depreciation) ** (
        (t[None, :] + lag) / 12.0
    )
    proceeds = np.maximum(0.0, value * (1.0 - model.auction_discount) - model.repo_cost)
    return np.where(vehicle_value[:, None] > 0, proceeds, 0.0)


def recovery_at(exposure: float, collateral: float, rho: float) -> float:
    """One month's recovery on default, ``min(EAD, C) + ρ·max(0, EAD − C)`` (SPEC §4).

    The formula's one definition, in plain float arithmetic for numba to compile:
    :meth:`ModelKernel.recovery` applies it to arrays (:func:`recovery_grid`), compiled
    loops with :meth:`ModelKernel.recovery_table`'s ``(C_t, ρ)``. Each term as SPEC §4
    writes it, so an exposure of ``-inf`` (the plan bounds' "no balance") recovers
    ``-inf``, not the NaN (and numpy's invalid-value warning) of ``−inf − (−inf)``.
    """
    covered = exposure if exposure <= collateral else collateral  # min(EAD, C)
    excess = exposure - collateral
    if excess < 0.0:  # max(0, EAD − C)
        excess = 0.0
    return excess * rho + covered


def hazard_curve(h0: Any, kappa: Any, afford: Any, out: np.ndarray | None = None) -> Any:
    """Monthly default hazard ``h = h0 + (1 − h0)·κ·(1 − a)`` (SPEC §4): the formula's one
    definition (:meth:`ModelKernel.hazard`, :meth:`~ModelKernel.hazard_of_afford`,
    :meth:`~ModelKernel.treated_hazard`).

    The arguments broadcast together. With ``out`` (of the broadcast shape; it may be
    ``afford``) the hazard is written into it, without temporaries; the operations are
    the same either way, so are the bits.
    """
    h = np.subtract(1.0, afford, out=out)
    h = np.multiply(h, (1.0 - h0) * kappa, out=out)
    return np.add(h, h0, out=out)


#: :func:`recovery_at` and :func:`_recovery_loop` compiled on the first recovery (numba
#: imported then: ``import solver.core.model`` stays light).
_RECOVERY_AT: Any = None
_RECOVERY_GRID: Any = None
_NO_COLLATERAL = np.zeros((1, 1, 1))


def _recovery_loop(
    exposure: np.ndarray, collateral: np.ndarray, rho: float, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``out[i, j, k] = recovery_at(exposure, collateral at i, j, k)``; the inputs are 3-D,
    each axis of ``out``'s length or 1 (numpy broadcasting, without broadcast views)."""
    n0, n1, n2 = out.shape
    e0, e1, e2 = exposure.shape[0] > 1, exposure.shape[1] > 1, exposure.shape[2] > 1
    c0, c1, c2 = collateral.shape[0] > 1, collateral.shape[1] > 1, collateral.shape[2] > 1
    for i in range(n0):
        ei, ci = (i if e0 else 0), (i if c0 else 0)
        for j in range(n1):
            ej, cj = (j if e1 else 0), (j if c1 else 0)
            for k in range(n2):
                out[i, j, k] = _RECOVERY_AT(
                    exposure[ei, ej, k if e2 else 0], collateral[ci, cj, k if c2 else 0], rho
                )


def recovery_grid(
    exposure: np.ndarray, collateral: np.ndarray, rho: float, shape: tuple[int, ...]
) -> np.ndarray:
    """:func:`recovery_at` of ``exposure`` and ``collateral`` broadcast to ``shape``, compiled:
    a new array, in one pass (numpy's form of the formula makes two temporaries)."""
    global _RECOVERY_AT, _RECOVERY_GRID
    if _RECOVERY_GRID is None:
        from numba import njit

        _RECOVERY_AT = njit(cache=True)(recovery_at)
        _RECOVERY_GRID = njit(cache=True)(_recovery_loop)
    out = np.empty(shape)
    if len(shape) > 3:  # no caller's: merged into 3 axes (copies of the inputs)
        lead = (-1, *shape[-2:])
        _RECOVERY_GRID(
            np.broadcast_to(exposure, shape).reshape(lead),
            np.broadcast_to(collateral, shape).reshape(lead),
            rho,
            out.reshape(lead),
        )
        return out
    _RECOVERY_GRID(_three_axes(exposure), _three_axes(collateral), rho, _three_axes(out))
    return out


def _three_axes(values: np.ndarray) -> np.ndarray:
    """``values`` (at most 3-D) as a 3-D view, with leading axes of length 1."""
    return values if values.ndim == 3 else values.reshape((1,) * (3 - values.ndim) + values.shape)


class ModelKernel:
    """SPEC §4 for n accounts over plan months 1…H, prepared once (the one implementation).

    Every figure the plan search, its bounds, the evaluator and the simulation use comes
    from these methods: affordability :meth:`afford`, hazard :meth:`hazard`, recovery on
    default :meth:`recovery`, the largest payment with a given affordability
    :meth:`afford_cap`, and the discount factors. A different behaviour model subclasses
    this class (e.g. another hazard curve) and returns it from its ``kernel`` method; the
    optimizers and the simulation then follow it.

    Index conventions: ``rows`` index accounts, ``cols`` are 0-based month indices
    (month t = col + 1); ``rows``, ``cols`` and the amounts broadcast together. With
    ``cols=None`` the amounts are (C, m) for months 1…m of accounts ``rows`` (C,).

    Attributes
    ----------
    income
        Expected income ``Ī_t`` (n, H).
    mu, sigma
        Parameters of log income: ``ln I_t ~ N(mu_t, sigma²)`` (n, H) and (n,).
    outgo
        ``expenses + other_debt`` (n,).
    collateral
        Net collateral proceeds ``C_t`` for a default in month t (n, H).
    any_collateral
        Whether any account has collateral proceeds in any month (set with
        ``collateral``, here and in :meth:`take`; :meth:`recovery` skips the gather of
        ``C_t`` when none has).
    discount, discount_lag
        ``δ^t`` and ``δ^(t+L)`` for t = 1…H.
    special
        Accounts whose affordability needs the degenerate-case rules of SPEC §4 (no
        income volatility, a month without income, no fixed outgo); ``any_special``
        whether any account does (:meth:`afford` skips their rules when none does).
    """

    def __init__(self, model: BehaviourModel, params: AccountParams, horizon: int) -> None:
        self.model = model
        self.params = params
        self.horizon = H = int(horizon)
        self.income = expected_income(params, H)
        cv = params.income_cv
        s2 = np.log1p(cv * cv)
        self.sigma = np.sqrt(s2)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.mu = np.log(self.income) - s2[:, None] / 2.0
            self.inv_sigma = np.where(self.sigma > 0, 1.0 / self.sigma, 1.0)
        self.outgo = params.expenses + params.other_debt
        self.base_hazard = params.base_hazard
        self._set_special()
        self.collateral = collateral_proceeds(params.vehicle_value, H, model)
        self.any_collateral = bool(self.collateral.any())
        self.discount = self.discount_factors(H)
        self.discount_lag = self.discount * model.monthly_discount**model.recovery_lag_months

    def __len__(self) -> int:
        return len(self.params)

    def discount_factors(self, months: int) -> np.ndarray:
        """``δ^t`` for t = 1…``months`` (any length; ``discount`` holds the first H)."""
        return self.model.monthly_discount ** np.arange(1, months + 1, dtype=float)

    def take(self, index: np.ndarray) -> ModelKernel:
        """The kernel of a subset of its accounts (same horizon)."""
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        out.params = self.params.take(index)
        for name in ("income", "mu", "sigma", "inv_sigma", "outgo", "base_hazard", "special"):
            setattr(out, name, getattr(self, name)[index])
        out.any_special = bool(out.special.any())
        out.collateral = self.collateral[index]
        out.any_collateral = bool(out.collateral.any())
        return out

    def with_income(self, income_path: np.ndarray) -> ModelKernel:
        """The kernel with another expected-income path (n, H), e.g. an income shock."""
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        out.income = np.asarray(income_path, dtype=float)
        s2 = out.sigma * out.sigma
        with np.errstate(divide="ignore", invalid="ignore"):
            out.mu = np.log(out.income) - s2[:, None] / 2.0
        out._set_special()
        return out

    def _set_special(self) -> None:
        """The accounts whose affordability is degenerate (no income spread, an income path
        that reaches 0, or no outgoings): ``special``, and whether any account is."""
        self.special = (self.sigma <= 0) | np.any(self.income <= 0, axis=1) | (self.outgo <= 0)
        self.any_special = bool(self.special.any())

    @staticmethod
    def _index(rows: Any, amounts: np.ndarray, cols: Any) -> tuple[Any, Any]:
        if cols is None:
            rows = np.asarray(rows)[:, None]
            cols = np.arange(amounts.shape[-1])[None, :]
        return rows, cols

    def afford(self, rows: Any, payments: Any, cols: Any = None) -> np.ndarray:
        """Affordability ``a_t = P(I_t ≥ p_t + expenses + other_debt)`` (SPEC §4)."""
        payments = np.asarray(payments, dtype=float)
        rows, cols = self._index(rows, payments, cols)
        threshold = payments + self.outgo[rows]
        special = self.any_special and bool(np.any(self.special[rows]))
        # (mu − ln threshold)/sigma, then Phi, in place: the same operations as the
        # formula written out, without its four temporaries (fresh arrays cost more than
        # the arithmetic at these sizes); mu[rows, cols] − ln threshold has the broadcast
        # shape of all the inputs, so the rest fits in it
        with np.errstate(divide="ignore", invalid="ignore"):
            in_place = not special and isinstance(threshold, np.ndarray)
            log_t = np.log(threshold, out=threshold) if in_place else np.log(threshold)
            a = np.asarray(self._mu_at(rows, cols) - log_t)  # 0-d for one scalar index
            a *= self.inv_sigma[rows]
            ndtr(a, out=a)
        if special:
            mean = self.income[rows, cols]
            a = np.where(self.sigma[rows] > 0, a, (mean >= threshold).astype(float))
            a = np.where(mean <= 0, 0.0, a)  # no income: any positive threshold is unaffordable
            a = np.where(threshold <= 0, 1.0, a)  # nothing to pay and no expenses
        return np.asarray(a, dtype=float)

    def _mu_at(self, rows: Any, cols: Any) -> Any:
        """``mu[rows, cols]``; for two integer index vectors of one shape (the large calls:
        the bound tables' clearing points, the level scoring's income months) a gather on
        the flat array, about a third of the cost (months within 0…H − 1; rows may be
        negative, as in numpy indexing)."""
        mu = self.mu
        if (
            isinstance(rows, np.ndarray)
            and isinstance(cols, np.ndarray)
            and rows.ndim == 1
            and rows.shape == cols.shape
            and rows.dtype.kind == cols.dtype.kind == "i"
            and rows.size > 64
            and mu.flags.c_contiguous
            and 0 <= cols.min()
            and cols.max() < mu.shape[1]
        ):
            flat = rows * mu.shape[1]
            flat += cols
            return mu.ravel().take(flat)
        return mu[rows, cols]

    def hazard_of_afford(self, rows: Any, afford: np.ndarray) -> np.ndarray:
        """Monthly default hazard ``h_t = h0 + (1 − h0)·κ·(1 − a_t)`` from affordability."""
        return hazard_curve(self.base_hazard[rows], self.model.kappa, afford)

    def treated_hazard(self, rows: Any, afford: np.ndarray, factor: Any) -> np.ndarray:
        """Monthly hazard while a collection treatment scales the account's risk by ``factor``.

        The simulation's treatment stage (SPEC §8, §9) gives each account a factor
        ``(1 − p_treatment)/(1 − p_none)``; ``factor`` broadcasts with ``afford``. The
        default model scales both ``h0`` and ``κ`` by it (each capped at 1):
        ``h0' + (1 − h0')·κ'·(1 − a_t)``, so a factor of 1 is :meth:`hazard_of_afford`. A
        kernel with another hazard curve that does not override this method has its own
        hazard scaled, ``min(1, factor·h_t)``.
        """
        factor = np.asarray(factor, dtype=float)
        if type(self).hazard_of_afford is not ModelKernel.hazard_of_afford:
            return np.minimum(1.0, factor * self.hazard_of_afford(rows, afford))
        h0 = np.minimum(1.0, self.base_hazard[rows] * factor)
        return hazard_curve(h0, np.minimum(1.0, self.model.kappa * factor), afford)

    def hazard(self, rows: Any, payments: Any, cols: Any = None) -> np.ndarray:
        """Monthly default hazard of paying ``payments`` (SPEC §4)."""
        payments = np.asarray(payments, dtype=float)
        rows, cols = self._index(rows, payments, cols)
        a = self.afford(rows, payments, cols)
        cls = type(self)
        if cls.afford is not ModelKernel.afford or (
            cls.hazard_of_afford is not ModelKernel.hazard_of_afford
        ):
            return self.hazard_of_afford(rows, a)
        # hazard_of_afford's curve written into a, the default afford's own fresh array
        # (another afford's array may be shared: that kernel is asked above)
        return hazard_curve(self.base_hazard[rows], self.model.kappa, a, out=a)

    def recovery(self, rows: Any, exposures: Any, cols: Any = None) -> np.ndarray:
        """Recovery on default ``R_t = min(EAD, C_t) + ρ·max(0, EAD − C_t)`` (SPEC §4):
        :func:`recovery_at` of each exposure and its account's ``C_t``."""
        exposures = np.asarray(exposures, dtype=float)
        rho = self.model.unsecured_recovery
        if not self.any_collateral and not isinstance(rows, slice):
            # no account of the kernel is secured (C = 0): without gathering the zeros (in
            # the shape rows × months broadcast to; the common cases, months 1…m of each
            # row or one month of every row, without broadcasting shapes)
            if cols is None:
                shape = np.shape(rows) + (exposures.shape[-1],)
            else:
                months = np.shape(cols)
                shape = (
                    np.shape(rows) if not months else np.broadcast_shapes(np.shape(rows), months)
                )
            if shape != exposures.shape:
                shape = np.broadcast_shapes(exposures.shape, shape)
            return recovery_grid(exposures, _NO_COLLATERAL, rho, shape)
        if cols is None:  # months 1…m of accounts `rows`: a row gather of the first m months
            collateral = self.collateral[np.asarray(rows), : exposures.shape[-1]]
        else:
            collateral = np.asarray(self.collateral[rows, cols])
        return recovery_grid(exposures, collateral, rho, np.broadcast(exposures, collateral).shape)

    def recovery_table(self) -> tuple[np.ndarray, float] | None:
        """The recovery as data for compiled loops: ``(C_t, ρ)``, (n, H) and a float.

        A loop that evaluates :func:`recovery_at` with them gets :meth:`recovery`'s
        values to the bit (e.g. :func:`solver.plans.level_value.level_values_inline`,
        which values level plans without an array of exposures and one of recoveries).
        ``None`` when a subclass has its own :meth:`recovery`: callers then ask it.
        """
        if type(self).recovery is not ModelKernel.recovery:
            return None
        return self.collateral, self.model.unsecured_recovery

    def recovery_kink(self) -> tuple[np.ndarray, np.ndarray]:
        """Where :meth:`recovery` bends, for the plan search's bound (n, H) each.

        The bound of the ``custom``/``step`` search needs the recovery to be piecewise
        linear and concave in the exposure with at most one kink per month: the exposure
        at the kink (``C_t``) and the drop of the slope there (``1 − ρ``; 0 for none). A
        model with another recovery curve of that shape overrides this; the bound also
        needs :meth:`hazard` to be non-decreasing in the payment.
        """
        drop = np.where(self.collateral > 0, 1.0 - self.model.unsecured_recovery, 0.0)
        return self.collateral, drop

    def afford_cap(self, q: float) -> np.ndarray:
        """Largest payment with ``a_t ≥ q`` in each month (n, H); ``-inf`` where none is."""
        income, outgo = self.income, self.outgo[:, None]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if q <= 0.0:
                return np.full_like(income, np.inf)
            deterministic = income - outgo
            # a_t(p) >= q  <=>  ln(p + outgo) <= mu - sigma * Phi^-1(q)
            lognormal = np.exp(self.mu - self.sigma[:, None] * ndtri(q)) - outgo
            cap = np.where(self.sigma[:, None] > 0, lognormal, deterministic)
            if q >= 1.0:
                cap = np.where(self.sigma[:, None] > 0, -np.inf, deterministic)
            return np.where(income <= 0, -np.inf, cap)
