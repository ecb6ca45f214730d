"""The default behaviour model's kernel: SPEC §4 vectorised (the one implementation).

:func:`expected_income`, :func:`collateral_proceeds` and :func:`hazard_curve` are the
SPEC §4 formulas over arrays; :class:`ModelKernel` prepares them once for n accounts
over plan months 1…H, and every optimizer, bound, the evaluator and the simulation call
it (shapes broadcast as (n, 1) accounts × (T,) months). The recovery on default is
:mod:`solver.core.model_recovery`'s. Everything is importable from
:mod:`solver.core.model`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import ndtr, ndtri

from solver.core.model_recovery import recovery_grid

if TYPE_CHECKING:
    from solver.core.model_params import AccountParams, BehaviourModel

__all__ = ["ModelKernel", "collateral_proceeds", "expected_income", "hazard_curve"]

#: The collateral of a kernel without any (C_t = 0), broadcast by :func:`recovery_grid`.
_NO_COLLATERAL = np.zeros((1, 1, 1))


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
        :func:`~solver.core.model_recovery.recovery_at` of each exposure and its account's ``C_t``."""
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

        A loop that evaluates :func:`~solver.core.model_recovery.recovery_at` with them gets :meth:`recovery`'s
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
