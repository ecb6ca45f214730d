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

This module is the model's public face; its parts live by role in
:mod:`solver.core.model_params` (the parameters :class:`BehaviourModel` and the
per-account inputs :class:`AccountParams`), :mod:`solver.core.model_kernel` (the kernel
that computes every term above, :class:`ModelKernel`) and
:mod:`solver.core.model_recovery` (the recovery formula and its one compiled form).
:mod:`solver.core.evaluation` evaluates schedules with it and :mod:`solver.core.contract`
gives the status-quo schedule it is compared with.

The model is pluggable: anything with the :class:`BehaviourModelProtocol` methods can be
passed where a :class:`BehaviourModel` is expected. Everything is vectorised over
schedules (rows) and months (columns); the only Python loop is over months when the
default exposures are rolled forward.
"""

from __future__ import annotations

from solver.core.model_kernel import (
    ModelKernel,
    collateral_proceeds,
    expected_income,
    hazard_curve,
)
from solver.core.model_params import (
    DEFAULT_BASE_HAZARD,
    SCALAR_INPUTS,
    AccountParams,
    BehaviourModel,
    BehaviourModelProtocol,
    monthly_table,
    read_only,
)
from solver.core.model_recovery import recovery_at, recovery_at_jit, recovery_grid

__all__ = [
    "DEFAULT_BASE_HAZARD",
    "SCALAR_INPUTS",
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
    "recovery_at_jit",
    "recovery_grid",
]
