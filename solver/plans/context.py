"""The context of a plan search: a batch of accounts under one policy (SPEC §4–§5).

A :class:`PlanContext` holds the per-account, per-month inputs of the search (expected
income, affordability caps, collateral proceeds) for a batch of accounts under one policy,
vectorised over the accounts; every model figure comes from its kernel
(:class:`solver.core.model.ModelKernel`). Beside it, what every family's search asks of a
payment path: its expected-recovery NPV under the model (:func:`npv`) and whether the
policy admits it (:func:`feasible_paths`, :func:`phases`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numba import njit

from solver.core.account import balance_owed, frame_columns
from solver.core.contract import STATUS_QUO_FIELDS
from solver.core.currency import money_grid
from solver.core.model import SCALAR_INPUTS, AccountParams, BehaviourModelProtocol, ModelKernel
from solver.core.policy import Policy
from solver.core.schema import SEQUENCE_FIELDS
from solver.engines.heap import keep_heap

if TYPE_CHECKING:  # a single account is planned without pandas
    import pandas as pd

CAP_TOL = 1e-9  # relative tolerance on affordability caps (float noise)

# the contract's fields (what the status quo needs), then the customer's (the model's inputs)
ACCOUNT_FIELDS = (*STATUS_QUO_FIELDS, *SCALAR_INPUTS)


@dataclass(frozen=True)
class PlanContext:
    """Per-account inputs of the plan search for n accounts under one policy.

    Every model figure comes from ``kernel`` (:class:`solver.core.model.ModelKernel`, the one
    implementation of SPEC §4); the properties below are its arrays under the names the
    search uses.

    Attributes
    ----------
    horizon
        Months considered, ``policy.max_term_months``.
    cap_dti, cap_residual, cap_afford
        Largest payment allowed by each affordability rule in each month (n, H).
    cap
        Their minimum: the largest affordable payment (n, H); ``-inf`` when none is.
    """

    policy: Policy
    model: BehaviourModelProtocol
    kernel: ModelKernel
    fields: dict[str, np.ndarray]
    tier: np.ndarray
    horizon: int
    cap_dti: np.ndarray
    cap_residual: np.ndarray
    cap_afford: np.ndarray
    cap: np.ndarray

    def __len__(self) -> int:
        return len(self.kernel)

    def take(self, idx: np.ndarray) -> PlanContext:
        """The context of a subset of its accounts."""
        return replace(
            self,
            kernel=self.kernel.take(idx),
            fields={k: a[idx] for k, a in self.fields.items()},
            tier=self.tier[idx],
            cap_dti=self.cap_dti[idx],
            cap_residual=self.cap_residual[idx],
            cap_afford=self.cap_afford[idx],
            cap=self.cap[idx],
        )

    @property
    def params(self) -> AccountParams:
        return self.kernel.params

    @property
    def income_path(self) -> np.ndarray:
        """Expected income ``Ī_t`` (n, H)."""
        return self.kernel.income

    @property
    def mu(self) -> np.ndarray:
        return self.kernel.mu

    @property
    def sigma(self) -> np.ndarray:
        return self.kernel.sigma

    @property
    def fixed_outgo(self) -> np.ndarray:
        return self.kernel.outgo

    @property
    def collateral(self) -> np.ndarray:
        """Net collateral proceeds ``C_t`` for a default in month t (n, H)."""
        return self.kernel.collateral

    @property
    def discount(self) -> np.ndarray:
        return self.kernel.discount

    @property
    def discount_lag(self) -> np.ndarray:
        return self.kernel.discount_lag

    @property
    def special(self) -> np.ndarray:
        return self.kernel.special

    @property
    def balance(self) -> np.ndarray:
        """Restructured balance: principal, accrued interest and fees capitalised (the
        balance owed, :func:`solver.core.account.balance_owed`)."""
        return balance_owed(self.fields)

    @property
    def monthly_rate(self) -> np.ndarray:
        return self.fields["annual_rate"] / 12.0


def grid_of(ctx: PlanContext) -> int:
    """The money grid of the context's policy currency (:func:`money_grid`)."""
    return money_grid(ctx.policy.currency)


def build_context(
    fields: dict[str, np.ndarray],
    tier: np.ndarray,
    policy: Policy,
    model: BehaviourModelProtocol,
    horizon: int | None = None,
    params: AccountParams | None = None,
) -> PlanContext:
    """Precompute the per-month inputs of the plan search (vectorised over accounts).

    ``params`` are the model inputs when already built (they carry the income forecast);
    otherwise they are taken from ``fields``. The search's large temporaries then come
    from a heap kept in the process (:func:`solver.engines.heap.keep_heap`).
    """
    keep_heap()
    fields = {k: np.asarray(fields[k], dtype=float) for k in ACCOUNT_FIELDS}
    if params is None:
        params = AccountParams.from_columns(
            fields,
            np.asarray(tier, dtype=object),
            model=model,
        )
    H = int(horizon or policy.max_term_months)
    kernel = model.kernel(params, H)
    income = kernel.income
    cap_dti = policy.max_dti * income - params.other_debt[:, None]
    cap_residual = income - kernel.outgo[:, None] - policy.min_residual_income
    cap_afford = kernel.afford_cap(policy.min_afford_prob)
    cap = np.minimum(np.minimum(cap_dti, cap_residual), cap_afford)
    cap = np.where(np.isnan(cap), -np.inf, cap)
    return PlanContext(
        policy=policy,
        model=model,
        kernel=kernel,
        fields=fields,
        tier=np.asarray(tier, dtype=object),
        horizon=H,
        cap_dti=cap_dti,
        cap_residual=cap_residual,
        cap_afford=cap_afford,
        cap=cap,
    )


def context_from_frame(
    frame: pd.DataFrame,
    policy: Policy,
    model: BehaviourModelProtocol,
    horizon: int | None = None,
) -> PlanContext:
    """A :class:`PlanContext` for the rows of a validated portfolio frame."""
    columns = frame_columns(frame, (*ACCOUNT_FIELDS, "tier", *SEQUENCE_FIELDS))
    return context_from_columns(columns, policy, model, horizon)


def context_from_columns(
    columns: Mapping[str, np.ndarray],
    policy: Policy,
    model: BehaviourModelProtocol,
    horizon: int | None = None,
) -> PlanContext:
    """:func:`context_from_frame` of the columns :func:`~solver.core.account.frame_columns`
    took out of a validated frame (or slices of them: a portfolio run reads each column
    once and gives every batch its rows)."""
    fields = {k: np.asarray(columns[k], dtype=float) for k in ACCOUNT_FIELDS}
    tier = np.asarray(columns["tier"], dtype=object)
    params = AccountParams.from_columns(
        fields,
        tier,
        columns.get("income_forecast"),
        columns.get("inflows"),
        model,
    )
    return build_context(fields, tier, policy, model, horizon, params)


def context_from_account(
    account: Any, policy: Policy, model: BehaviourModelProtocol, horizon: int | None = None
) -> PlanContext:
    """A one-account :class:`PlanContext`."""
    fields = {
        k: np.array([float(getattr(account, k))]) for k in ACCOUNT_FIELDS if k != "income_normal"
    }
    normal = account.income_normal
    fields["income_normal"] = np.array([np.nan if normal is None else float(normal)])
    params = AccountParams.from_account(account, model)  # type: ignore[arg-type]
    return build_context(
        fields, np.array([account.tier], dtype=object), policy, model, horizon, params
    )


# --------------------------------------------------------------------------------------
# The behaviour model: thin calls into the kernel (solver.core.model.ModelKernel)
# --------------------------------------------------------------------------------------


def hazard(
    ctx: PlanContext, acc: np.ndarray, payments: np.ndarray, months: np.ndarray | None = None
) -> np.ndarray:
    """Monthly default hazard ``h_t`` of paying ``payments`` (C, m) in month indices ``months`` (m,)."""
    if months is None:
        return ctx.kernel.hazard(acc, payments)
    return ctx.kernel.hazard(np.asarray(acc)[:, None], payments, np.asarray(months)[None, :])


def recovery(ctx: PlanContext, acc: np.ndarray, exposures: np.ndarray) -> np.ndarray:
    """Recovery ``R_t`` on default given exposures (C, m) in months 1…m."""
    return ctx.kernel.recovery(acc, exposures)


def npv(
    ctx: PlanContext, acc: np.ndarray, payments: np.ndarray, exposures: np.ndarray, term: np.ndarray
) -> np.ndarray:
    """Expected-recovery NPV of candidate schedules (float search; SPEC §4 formula)."""
    m = payments.shape[1]
    active = np.arange(m)[None, :] < term[:, None]
    pay = np.where(active, payments, 0.0)
    h = np.where(active, hazard(ctx, acc, pay), 0.0)
    surv = np.cumprod(1.0 - h, axis=1)
    before = np.empty_like(surv)
    before[:, 0] = 1.0
    before[:, 1:] = surv[:, :-1]
    rec = recovery(ctx, acc, np.where(active, exposures, 0.0))
    # row-wise sums (not a matrix product) so a row's value does not depend on the batch it is in
    return (surv * pay * ctx.discount[:m]).sum(axis=1) + (
        before * h * rec * ctx.discount_lag[:m]
    ).sum(axis=1)


# --------------------------------------------------------------------------------------
# The policy's check of payment paths
# --------------------------------------------------------------------------------------


def feasible_paths(
    ctx: PlanContext, acc: np.ndarray, payments: np.ndarray, term: np.ndarray
) -> np.ndarray:
    """Policy check of float payment paths (C, m): caps, min_payment, term (SPEC §5).

    Phases (``max_payment_levels``) and holiday lengths are fixed by each family's grid
    and checked there.
    """
    pol = ctx.policy
    m = payments.shape[1]
    t = np.arange(m)[None, :]
    live = t < term[:, None]
    paying = live & (payments > 0)
    over = paying & over_cap(payments, ctx.cap[acc, :m])
    final = t == (term[:, None] - 1)
    small = paying & ~final & (payments < pol.min_payment - 1e-9)
    ok = ~(over | small).any(axis=1)
    return ok & (term <= ctx.horizon) & (term >= 1)


def over_cap(payments: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Where a payment exceeds its affordability cap beyond float noise (``CAP_TOL``,
    relative); a NaN cap is exceeded. The one test of a cap: the plan search's policy
    check and the counter-offer's (:mod:`solver.officer.counter_offer`)."""
    with np.errstate(invalid="ignore"):
        return ~(payments <= cap + CAP_TOL * np.maximum(1.0, np.abs(cap)))


def phases(payments: np.ndarray, term: np.ndarray) -> np.ndarray:
    """Payment phases per row (C, m) within each row's ``term``: :func:`path_phases` of
    every row, the amounts rounded to cents (2 decimals) first."""
    amounts = np.round(np.asarray(payments, dtype=float), 2)
    return _phase_rows(np.atleast_2d(amounts), np.asarray(term, dtype=np.int64))


@njit(cache=True)
def _phase_rows(amounts: np.ndarray, term: np.ndarray) -> np.ndarray:  # pragma: no cover
    out = np.empty(amounts.shape[0], dtype=np.int64)
    for r in range(amounts.shape[0]):
        out[r] = path_phases(amounts[r], term[r])
    return out


@njit(cache=True)
def path_phases(amounts: np.ndarray, term: int) -> int:  # pragma: no cover - compiled
    """Payment phases of one path in its first ``term`` months: runs of equal non-zero
    payments (SPEC §5 ``max_payment_levels``) -- the one definition of the rule.

    A final payment (month ``term``) that does not exceed the one before it is the last
    phase's remainder and does not count; zero months do not count. ``amounts`` are whole
    cents or amounts rounded to them (the comparisons are the same).
    """
    count = 0
    for t in range(min(term, amounts.shape[0])):
        p = amounts[t]
        if p > 0 and (t == 0 or p != amounts[t - 1]):  # month 0 follows a zero
            count += 1
            prev = amounts[t - 1] if t > 0 else p * 0
            if t == term - 1 and prev > 0 and p <= prev:  # the last phase's remainder
                count -= 1
    return count


@njit(cache=True)
def level_amounts(amounts: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Distinct payment phases (amounts) of a path, in order: its non-zero amounts with
    repeats collapsed, a final remainder (not above the level before it) left out. Whole
    cents or amounts rounded to them, in the type given."""
    out = np.empty(amounts.shape[0], dtype=amounts.dtype)
    k = 0
    last = amounts.shape[0] - 1
    for t in range(amounts.shape[0]):
        p = amounts[t]
        if p <= 0:
            continue
        if t == last and k > 0 and p <= out[k - 1]:
            break
        if k == 0 or p != out[k - 1]:
            out[k] = p
            k += 1
    return out[:k]
