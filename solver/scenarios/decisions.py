"""Decisions of a scenario run, and how they act on its paths (SPEC §9, stages 2 and 3).

The two decision stages have their own modules: the plan stage
(:mod:`~solver.scenarios.plan_stage`: the schedule every account follows, cached) and the
treatment stage (:mod:`~solver.scenarios.treatment_stage`: the allocation of treatments
and teams, each account's cost and hazard factor). This module applies both, under the
shocks, to the behaviour model's month probabilities: :func:`build_path_inputs` gives the
:class:`~solver.scenarios.path_inputs.PathInputs` of the paths, with each schedule's
value beyond the horizon (:func:`residual_values`). A collection treatment scales the
account's hazard in the treatment months by its factor (1 without a treatment stage;
:meth:`~solver.core.model.ModelKernel.treated_hazard`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from solver.core.account import balance_owed
from solver.core.evaluation import evaluate_batch
from solver.core.schema import DPD_BUCKETS
from solver.scenarios.path_inputs import (
    SEGMENT_TYPES,
    PathInputs,
    month_probabilities,
)
from solver.scenarios.path_outcomes import DTI_BIN, DTI_BINS
from solver.scenarios.plan_stage import (
    PLAN_CACHE,
    Schedules,
    choose_schedules,
    default_plan_cache,
    fit_months,
    status_quo_schedules,
)
from solver.scenarios.shocks import AccountShocks, shocked_model, shocked_params
from solver.scenarios.treatment_stage import (
    ALLOCATION_CACHE,
    Treatments,
    choose_treatments,
    no_treatments,
)

# Schedules, Treatments, the stages' entry points and default_plan_cache stay importable
# from here for solver/scenarios/run.py, commands/scenario.py and the benchmarks.
__all__ = [
    "Schedules",
    "Treatments",
    "build_path_inputs",
    "choose_schedules",
    "choose_treatments",
    "clear_decision_caches",
    "default_plan_cache",
    "residual_values",
    "status_quo_schedules",
]


def clear_decision_caches() -> None:
    """Forget cached plan-stage and allocation results (shared between runs)."""
    PLAN_CACHE.clear()
    ALLOCATION_CACHE.clear()


def _dti(
    other_debt: np.ndarray, payments: np.ndarray, income: np.ndarray, term: np.ndarray
) -> np.ndarray:
    """Mean over payment months (within the term) of ``(other_debt + p_t)/Ī_t``."""
    horizon = payments.shape[1]
    months = np.arange(1, horizon + 1)
    paying = (months[None, :] <= term[:, None]) & (payments > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (other_debt[:, None] + payments) / income
    # no income: 5.0, the top of the histogram's linear bins (path_outcomes.DTI_EDGES)
    ratio = np.where(np.isfinite(ratio), ratio, DTI_BINS * DTI_BIN)
    count = paying.sum(axis=1)
    total = np.where(paying, ratio, 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def build_path_inputs(
    frame: Any,
    schedules: Schedules,
    model: Any,
    shocks: AccountShocks,
    horizon: int,
    treatments: Treatments | None = None,
    effect_months: int = 1,
) -> PathInputs:
    """Per-account inputs of the simulation under the scenario's shocks.

    Every probability, recovery and discount factor comes from ``model.kernel`` of the
    shocked accounts (:func:`~solver.scenarios.shocks.shocked_params`,
    :func:`~solver.scenarios.shocks.shocked_model`), so the paths follow
    whatever behaviour model the scenario uses.

    Parameters
    ----------
    frame
        The portfolio (SPEC §3 columns, ``tier``, ``dpd_bucket``).
    schedules
        The schedule each account follows.
    model
        The behaviour model (:class:`solver.core.model.BehaviourModelProtocol`; the
        cost-of-funds change is applied here).
    shocks
        Per-account shocks (:func:`~solver.scenarios.shocks.account_shocks`).
    horizon
        Months simulated.
    treatments
        Allocation result (``None``: no treatment effect).
    effect_months
        Months the treatment acts.
    """
    model = shocked_model(model, shocks)
    params = shocked_params(frame, model, shocks)
    n = len(frame)
    rows = np.arange(n)
    term = np.minimum(np.asarray(schedules.term, dtype=np.int64), horizon)
    months = np.arange(1, horizon + 2)
    payments = fit_months(schedules.payments, horizon)
    payments[months[None, :horizon] > term[:, None]] = 0.0
    exposures = fit_months(schedules.exposures, horizon + 1)
    full_term = np.asarray(schedules.term, dtype=np.int64)
    exposures[months[None, :] > full_term[:, None]] = 0.0  # closed after its last payment
    treatments = treatments or no_treatments(n)

    kernel = model.kernel(params, horizon)
    hazard, short = month_probabilities(kernel, payments, term, treatments.factor, effect_months)
    recovery = np.where(
        months[None, :horizon] <= term[:, None], kernel.recovery(rows, exposures[:, :horizon]), 0.0
    )
    dti = _dti(params.other_debt, payments, kernel.income[:, :horizon], term)

    # unemployment: the same kernel on the shocked expected income path
    q = shocks.unemployment_probability
    shock_months = min(horizon, shocks.unemployment_months)
    hazard_u = short_u = None
    dti_u: Any = None  # None: as the normal DTI
    if np.any(q > 0) and shock_months > 0:
        unemployed = np.where(
            months[None, :horizon] <= shock_months,
            shocks.unemployment_income_multiplier[:, None],
            1.0,
        )
        kernel_u = kernel.with_income(kernel.income[:, :horizon] * unemployed)
        hazard_u, short_u = month_probabilities(
            kernel_u, payments, term, treatments.factor, effect_months
        )
        dti_u = _dti(params.other_debt, payments, kernel_u.income, term)

    bucket_index = {b: i for i, b in enumerate(DPD_BUCKETS)}
    initial = np.array([bucket_index[b] for b in frame["dpd_bucket"].astype(str)], dtype=np.int64)
    return PathInputs(
        account_id=frame["account_id"].astype(str).to_numpy(),
        payments=payments,
        exposures=exposures,
        term=term,
        hazard=hazard,
        short_or_default=short,
        recovery=recovery,
        discount=kernel.discount[:horizon],
        discount_lag=kernel.discount_lag[:horizon],
        recovery_lag=model.recovery_lag_months,
        unemployment_prob=q if hazard_u is not None else np.zeros(n),
        hazard_unemployed=hazard_u,
        short_or_default_unemployed=short_u,
        unemployment_months=shock_months,
        initial_bucket=initial,
        dti=dti,
        dti_unemployed=dti_u,
        segments={name: frame[name].astype(str).to_numpy() for name in SEGMENT_TYPES},
        residual_value=residual_values(params, schedules, model, horizon),
        book_balance=balance_owed(frame),
    )


def residual_values(params: Any, schedules: Schedules, model: Any, horizon: int) -> np.ndarray:
    """Model value of each schedule after the horizon, given the account is open then.

    ``Σ_{t>H} δ^t (S_t/S_H) p_t + δ^(t+L) (S_{t−1}/S_H) h_t R_t`` on the (shocked) expected
    income path: what the bank still expects from an account that survives the horizon,
    discounted to month 0. Without it, plans that pay later (deferrals, long terms) would
    look worse than they are when the horizon cuts them off. The evaluator's NPV
    (:func:`solver.core.model.evaluate_batch` under ``model``) of the whole schedule less that of
    its first H months, divided by ``S_H``.
    """
    payments = np.asarray(schedules.payments, dtype=float)
    n, width = payments.shape
    if width <= horizon:
        return np.zeros(n)
    exposures = fit_months(schedules.exposures, width)
    term = np.asarray(schedules.term, dtype=np.int64)
    kernel = model.kernel(params, width)
    whole = evaluate_batch(params, payments, exposures, term, model=model, kernel=kernel)
    within = evaluate_batch(
        params,
        payments[:, :horizon],
        exposures[:, :horizon],
        np.minimum(term, horizon),
        model=model,
        kernel=kernel,
    )
    at_horizon = whole.survival[:, horizon - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            at_horizon > 0,
            (whole.npv - within.npv) / np.where(at_horizon > 0, at_horizon, 1.0),
            0.0,
        )
