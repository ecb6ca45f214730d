"""Evaluating schedules under the behaviour model (SPEC §4): :func:`evaluate` (one schedule
of one account) and :func:`evaluate_batch` (n schedules at once), every figure from the
model's kernel (:class:`~solver.core.model.ModelKernel`).

After the schedule's last month the loan is closed: no hazard, no payments. Derived
figures (documented here because every command reports them):

* ``pd_12m = 1 − S_min(12, T)``, ``pd_life = 1 − S_T``;
* ``expected_loss = Σ S_{t−1} h_t (EAD_t − R_t)``: the expected exposure at default not
  recovered, in nominal CNY (undiscounted, as credit-risk EL = PD·LGD·EAD is);
* ``expected_recovery = Σ δ^(t+L) S_{t−1} h_t R_t``: the recovery part of the NPV.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from solver.core.account import as_account
from solver.core.contract import contract_exposures
from solver.core.model import (
    AccountParams,
    BehaviourModel,
    BehaviourModelProtocol,
    ModelKernel,
    read_only,
)

__all__ = ["BatchEvaluation", "Evaluation", "afford_prob", "evaluate", "evaluate_batch"]


def afford_prob(
    params: AccountParams, payments: np.ndarray, income_path: np.ndarray | None = None
) -> np.ndarray:
    """Probability ``a_t`` that month t's income covers ``p_t + expenses + other_debt``.

    ``payments`` has shape (n, T) (or broadcasts to it); returns shape (n, T). With
    ``income_path`` (n, T) the expected income is that path instead of the account's
    (the simulation's unemployment shock).
    """
    payments = np.asarray(payments, dtype=float)
    if payments.ndim == 1:
        payments = payments[None, :]
    n, horizon = len(params), payments.shape[1]
    payments = np.broadcast_to(payments, (n, horizon))
    kernel = BehaviourModel().kernel(params, horizon)
    if income_path is not None:
        kernel = kernel.with_income(income_path)
    return kernel.afford(np.arange(n), payments)


@dataclass(frozen=True)
class BatchEvaluation:
    """Model figures for n schedules (arrays over schedules, or schedules × months)."""

    npv: np.ndarray
    expected_paid: np.ndarray
    expected_recovery: np.ndarray
    expected_loss: np.ndarray
    pd_12m: np.ndarray
    pd_life: np.ndarray
    survival: np.ndarray
    hazard: np.ndarray
    afford_prob: np.ndarray
    expected_income: np.ndarray


@dataclass(frozen=True)
class Evaluation:
    """Model figures for one schedule of one account (SPEC §4).

    Attributes
    ----------
    npv
        Expected recovery NPV at the cost of funds.
    survival, hazard, afford_prob, expected_income
        Month-by-month arrays (months 1…T).
    pd_12m, pd_life
        Probability of default within 12 months and over the schedule's life.
    expected_loss
        Expected exposure at default not recovered (nominal CNY).
    expected_recovery
        Discounted expected recovery after default (part of ``npv``).
    expected_paid
        Discounted expected scheduled payments (the other part of ``npv``).
    """

    npv: float
    expected_paid: float
    expected_recovery: float
    expected_loss: float
    pd_12m: float
    pd_life: float
    survival: np.ndarray
    hazard: np.ndarray
    afford_prob: np.ndarray
    expected_income: np.ndarray


def evaluate_batch(
    params: AccountParams,
    payments: np.ndarray,
    exposures: np.ndarray,
    term: np.ndarray | None = None,
    model: BehaviourModelProtocol | None = None,
    kernel: ModelKernel | None = None,
) -> BatchEvaluation:
    """Evaluate n schedules at once.

    Parameters
    ----------
    params
        Account inputs, one row per schedule (use ``params.take`` to repeat an account).
    payments, exposures
        Arrays (n, T): payment in month t and the balance before it (EAD_t). Months past a
        schedule's term are ignored.
    term
        Length of each schedule (n,); defaults to T for every row.
    model
        Behaviour model (defaults when omitted); its kernel computes every figure.
    kernel
        A kernel already prepared for ``params`` over at least T months (saves the work).
    """
    behaviour: BehaviourModelProtocol = model if model is not None else BehaviourModel()
    payments = np.atleast_2d(np.asarray(payments, dtype=float))
    exposures = np.atleast_2d(np.asarray(exposures, dtype=float))
    n, horizon = payments.shape
    if exposures.shape != (n, horizon):
        raise ValueError(f"exposures must have shape {(n, horizon)}, got {exposures.shape}")
    if len(params) != n:
        raise ValueError(f"params has {len(params)} rows but payments has {n}")
    if kernel is None or kernel.horizon < horizon:
        kernel = behaviour.kernel(params, horizon)
    term = np.full(n, horizon) if term is None else np.asarray(term, dtype=int)
    active = np.arange(1, horizon + 1)[None, :] <= term[:, None]
    payments = np.where(active, payments, 0.0)
    rows = np.arange(n)

    a = kernel.afford(rows, payments)
    hazard = np.where(active, kernel.hazard_of_afford(rows[:, None], a), 0.0)
    survival = np.cumprod(1.0 - hazard, axis=1)
    survival_before = np.concatenate([np.ones((n, 1)), survival[:, :-1]], axis=1)
    default_prob = survival_before * hazard  # P(default in month t)
    ead = np.where(active, exposures, 0.0)
    recovery = kernel.recovery(rows, ead)

    disc = kernel.discount[:horizon]
    disc_lag = kernel.discount_lag[:horizon]
    # Row-wise sums (not a matrix product): a schedule's figures must not depend on which
    # other schedules share the batch, to the last bit.
    expected_paid = np.sum(survival * payments * disc, axis=1)
    expected_recovery = np.sum(default_prob * recovery * disc_lag, axis=1)
    expected_loss = np.sum(default_prob * (ead - recovery), axis=1)

    idx12 = np.minimum(term, 12) - 1
    pd_12m = np.where(term > 0, 1.0 - survival[rows, np.maximum(idx12, 0)], 0.0)
    pd_life = np.where(term > 0, 1.0 - survival[rows, np.maximum(term - 1, 0)], 0.0)
    return BatchEvaluation(
        npv=expected_paid + expected_recovery,
        expected_paid=expected_paid,
        expected_recovery=expected_recovery,
        expected_loss=expected_loss,
        pd_12m=pd_12m,
        pd_life=pd_life,
        survival=survival,
        hazard=hazard,
        afford_prob=np.where(active, a, np.nan),
        expected_income=kernel.income[:, :horizon],
    )


def evaluate(
    account: Any,
    payments: Any,
    exposures: Any = None,
    model: BehaviourModelProtocol | None = None,
) -> Evaluation:
    """Evaluate one schedule for one account under the behaviour model (SPEC §4).

    Parameters
    ----------
    account
        An ``Account`` or a mapping with SPEC §3 fields.
    payments
        Monthly payments from month 1 (a sequence, an array or a ``Schedule``).
    exposures
        Balance before each month's payment. Taken from the schedule when ``payments``
        is a ``Schedule``; otherwise rolled forward at the contract rate.
    model
        Behaviour-model parameters (defaults when omitted).

    Examples
    --------
    >>> acc = {"account_id": "x", "principal": 10000, "annual_rate": 0.0, "remaining_term": 1,
    ...        "income": 5000, "expenses": 0, "income_cv": 0.0, "tier": "A"}
    >>> round(evaluate(acc, [10000.0]).pd_life, 3)
    0.002
    """
    acc = as_account(account)
    if hasattr(payments, "exposures") and hasattr(payments, "payments"):
        schedule = payments
        pay = np.asarray(schedule.payments, dtype=float)
        exp = (
            np.asarray(schedule.exposures, dtype=float)
            if exposures is None
            else np.asarray(exposures, float)
        )
    else:
        pay = np.asarray(payments, dtype=float).ravel()
        exp = (
            contract_exposures(acc, pay)
            if exposures is None
            else np.asarray(exposures, dtype=float).ravel()
        )
    if pay.size == 0:
        raise ValueError("payments must have at least one month")
    if exp.shape != pay.shape:
        raise ValueError(f"exposures must have {pay.size} months, got {exp.size}")
    params = AccountParams.from_account(acc, model)
    batch = evaluate_batch(params, pay[None, :], exp[None, :], model=model)
    return Evaluation(
        npv=float(batch.npv[0]),
        expected_paid=float(batch.expected_paid[0]),
        expected_recovery=float(batch.expected_recovery[0]),
        expected_loss=float(batch.expected_loss[0]),
        pd_12m=float(batch.pd_12m[0]),
        pd_life=float(batch.pd_life[0]),
        survival=read_only(batch.survival[0].copy()),
        hazard=read_only(batch.hazard[0].copy()),
        afford_prob=read_only(batch.afford_prob[0].copy()),
        expected_income=read_only(batch.expected_income[0].copy()),
    )
