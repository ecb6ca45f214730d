"""Path inputs: the per-account arrays the Monte Carlo paths are drawn from (SPEC §4, §9).

:class:`PathInputs` holds, for every account, its schedule inside the horizon and the
behaviour model's month probabilities, recoveries and discount factors
(:func:`month_probabilities`); :func:`analytic_expectation` is the exact expectation that
the simulated paths (:func:`solver.scenarios.paths.simulate_paths`) converge to. A
scenario's inputs are built by :func:`solver.scenarios.decisions.build_path_inputs`.

How a path realises the model
-----------------------------
Each account follows its schedule (the plan chosen under the scenario's policy, or the
status quo) month by month, t = 1 … H (the horizon). Every model figure comes from the
kernel of the scenario's behaviour model (:meth:`BehaviourModel.kernel
<solver.core.model.BehaviourModel.kernel>`, a :class:`solver.core.model.ModelKernel`): a model with
another hazard curve, recovery or discounting changes the paths, not only the evaluation.
In every month the account is still open:

1. Income is lognormal around the (shocked) expected income path; what matters is whether
   it covers ``p_t + expenses + other_debt``. That happens with probability ``a_t`` (the
   kernel's affordability, SPEC §4).
2. The account defaults with the kernel's hazard ``h_t`` (SPEC §4 default:
   ``h0 + (1 − h0)·κ·(1 − a_t)``, the expectation over the income draw of the conditional
   hazard ``h0`` in a month the income covers and ``h0 + (1 − h0)·κ`` in a short one).

   Both draws use one uniform ``V`` per account-month: ``V < h_t`` is a default,
   ``h_t ≤ V < 1 − a_t·(1 − h^cov_t)`` is a month whose income fell short but that did not
   end in default, the rest are months the income covered; ``h^cov_t`` is the kernel's
   hazard of a covered month (``a = 1``; ``h0`` by default). For the default model the
   three cells have exactly the probabilities of drawing the lognormal income first and the
   conditional hazard second (``P(short, no default) = (1 − a_t)(1 − h0)(1 − κ)``,
   ``P(covered) = a_t(1 − h0)``), so the path is a realisation of the model with one random
   number instead of two. For any model ``P(default) = h_t`` exactly (the middle cell is
   never shorter than the default cell); see :func:`month_probabilities`.
3. A month that does not end in default pays ``p_t`` (the model's cash assumption: a share
   κ of short months end in default, the others are paid by cutting other spending).
   A default in month t charges the account off: it pays nothing more and its recovery
   ``R_t`` (collateral and unsecured, SPEC §4) arrives in month ``t + L``.

Hence the probability of surviving to month t is ``S_t`` and the probability of a default
in month t is ``S_{t−1}·h_t`` on every path, and the mean over paths of the discounted
collections ``Σ δ^t p_t 1{alive after t} + δ^(t+L) R_t 1{default in t}`` converges to the
evaluator's ``NPV`` (:func:`solver.core.model.evaluate_batch`) of the same schedules over the
horizon; ``tests/test_simulation.py`` checks this.

Beyond the horizon. A path stops at month H; an account still open then carries the model
value of the rest of its schedule given survival (``residual_value``,
:func:`solver.scenarios.decisions.residual_values`). Discounted collections plus that value
converge to the evaluator's NPV of the whole schedules (tested), so plans of different
lengths compare fairly (``total_value_discounted``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

__all__ = [
    "SEGMENT_TYPES",
    "PathInputs",
    "analytic_expectation",
    "month_probabilities",
    "path_probabilities",
]

#: Segment types every KPI is broken down by (besides the total).
SEGMENT_TYPES: tuple[str, ...] = ("tier", "product", "dpd_bucket")


def _readonly(values: Any, dtype: Any = float) -> np.ndarray:
    arr = np.array(values, dtype=dtype)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class PathInputs:
    """Everything the path simulation needs, one row per account (read-only arrays).

    Build it with :func:`solver.scenarios.decisions.build_path_inputs` from a scenario, or
    directly (tests, the benchmark). ``H`` is the horizon in months. The month
    probabilities, recoveries and discount factors are the behaviour model's (its
    kernel's), prepared by :func:`~solver.scenarios.decisions.build_path_inputs`; the
    simulation itself holds no model formula.

    Parameters
    ----------
    account_id
        Account ids (str), shape (n,); they key the random streams.
    payments
        Scheduled payment of months 1…H (n, H); zero after the schedule's term.
    exposures
        Balance before the payment of months 1…H+1 (n, H+1); column H is the balance left
        after month H (the book still open at the horizon).
    term
        Months of the schedule inside the horizon (n,), 0 ≤ term ≤ H.
    hazard
        Default probability ``h_t`` of month t given the account is open (n, H), on the
        shocked expected income path, with the treatment effect; 0 after the term.
    short_or_default
        Probability that month t ends in default or with income short of the due (n, H),
        ``≥ hazard``; 0 after the term (see :func:`month_probabilities`).
    recovery
        Recovery ``R_t`` for a default in month t (n, H), received L months later.
    discount, discount_lag
        Discount factors ``δ^t`` and ``δ^(t+L)`` of months t = 1…H (H,), at the scenario's
        cost of funds.
    recovery_lag
        ``L`` in months (when a recovery is received).
    unemployment_prob
        Probability (n,) that the account is hit by the unemployment shock on a path.
    hazard_unemployed, short_or_default_unemployed
        ``hazard`` and ``short_or_default`` while unemployed (n, H), used in months
        1…``unemployment_months`` of a path that is hit (``None``: nobody can be hit).
    unemployment_months
        How long the unemployment shock lasts (months from month 1).
    initial_bucket
        Delinquency bucket index 0…4 at the start (n,).
    dti, dti_unemployed
        Customer burden per account: mean over its payment months of
        ``(other_debt + p_t)/Ī_t`` on the expected (shocked) income, normal and while
        unemployed (n,).
    segments
        Segment type → labels per account (n,) (str), e.g. ``{"tier": [...]}``.
    residual_value
        Model value (discounted to month 0) of the schedule after the horizon, given the
        account is still open at the horizon (n,); zeros when every schedule ends inside it.
    book_balance
        The balance the book says the account owes before any plan (n,): ``principal +
        interest_due + fees_due`` (:func:`solver.core.account.balance_owed`). ``None``: the schedule's balance
        of month 1 (no concession). ``book_balance − exposures[:, 0]`` is what the plan
        forgives (fee and interest waivers, principal haircuts).
    """

    account_id: np.ndarray
    payments: np.ndarray
    exposures: np.ndarray
    term: np.ndarray
    hazard: np.ndarray
    short_or_default: np.ndarray
    recovery: np.ndarray
    discount: np.ndarray
    discount_lag: np.ndarray
    recovery_lag: int
    unemployment_prob: np.ndarray
    hazard_unemployed: np.ndarray | None = None
    short_or_default_unemployed: np.ndarray | None = None
    unemployment_months: int = 0
    # None → the default, filled in by __post_init__ (so the attributes are always arrays)
    initial_bucket: np.ndarray = None  # type: ignore[assignment]
    dti: np.ndarray = None  # type: ignore[assignment]
    dti_unemployed: np.ndarray = None  # type: ignore[assignment]
    segments: Mapping[str, np.ndarray] = field(default_factory=dict)
    residual_value: np.ndarray = None  # type: ignore[assignment]
    book_balance: np.ndarray = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        ids = np.asarray(self.account_id).astype(str)
        n = ids.shape[0]
        object.__setattr__(self, "account_id", _readonly(ids, dtype=object))
        payments = np.atleast_2d(np.asarray(self.payments, dtype=float))
        horizon = payments.shape[1]
        if payments.shape[0] != n:
            raise ValueError(f"payments must have {n} rows, got {payments.shape[0]}")
        object.__setattr__(self, "payments", _readonly(payments))
        term = np.asarray(self.term)
        if term.shape != (n,) or np.any(term < 0) or np.any(term > horizon):
            raise ValueError(f"term must have shape ({n},) with values in [0, {horizon}]")
        object.__setattr__(self, "term", _readonly(term, dtype=np.int64))
        shapes = {
            "exposures": (n, horizon + 1),
            "recovery": (n, horizon),
            "discount": (horizon,),
            "discount_lag": (horizon,),
        }
        for name, shape in shapes.items():
            arr = np.asarray(getattr(self, name), dtype=float)
            if arr.shape != shape:
                raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
            object.__setattr__(self, name, _readonly(arr))
        for name in ("discount", "discount_lag"):
            arr = getattr(self, name)
            if not np.all(np.isfinite(arr) & (arr > 0)):
                raise ValueError(f"{name} must be positive and finite")
        if (self.hazard_unemployed is None) != (self.short_or_default_unemployed is None):
            raise ValueError("hazard_unemployed and short_or_default_unemployed go together")
        closed = np.arange(1, horizon + 1)[None, :] > term[:, None]
        for suffix in ("", "_unemployed"):
            hazard, short = f"hazard{suffix}", f"short_or_default{suffix}"
            if getattr(self, hazard) is None:
                continue
            h = np.asarray(getattr(self, hazard), dtype=float)
            s = np.asarray(getattr(self, short), dtype=float)
            for name, arr in ((hazard, h), (short, s)):
                if arr.shape != (n, horizon):
                    raise ValueError(f"{name} must have shape {(n, horizon)}, got {arr.shape}")
                if not np.all((arr >= 0) & (arr <= 1)):  # also refuses NaN
                    raise ValueError(f"{name} must be in [0, 1]")
                if np.any(arr[closed] != 0):
                    raise ValueError(f"{name} must be 0 after each account's term (it is closed)")
            if np.any(s < h):
                raise ValueError(f"{short} must be >= {hazard} (a default is a short month)")
            object.__setattr__(self, hazard, _readonly(h))
            object.__setattr__(self, short, _readonly(s))
        q = np.broadcast_to(np.asarray(self.unemployment_prob, dtype=float), (n,))
        if not np.all((q >= 0) & (q <= 1)):
            raise ValueError("unemployment_prob must be in [0, 1]")
        object.__setattr__(self, "unemployment_prob", _readonly(q))
        bucket = np.zeros(n) if self.initial_bucket is None else self.initial_bucket
        bucket = np.broadcast_to(np.asarray(bucket, dtype=np.int64), (n,))
        if np.any(bucket < 0) or np.any(bucket > 4):
            raise ValueError("initial_bucket must be in 0..4")
        object.__setattr__(self, "initial_bucket", _readonly(bucket, dtype=np.uint8))
        dti = np.zeros(n) if self.dti is None else self.dti
        object.__setattr__(self, "dti", _readonly(np.broadcast_to(dti, (n,))))
        dti_u = self.dti if self.dti_unemployed is None else self.dti_unemployed
        object.__setattr__(self, "dti_unemployed", _readonly(np.broadcast_to(dti_u, (n,))))
        residual = np.zeros(n) if self.residual_value is None else self.residual_value
        residual = np.broadcast_to(np.asarray(residual, dtype=float), (n,))
        object.__setattr__(self, "residual_value", _readonly(residual))
        book = self.exposures[:, 0] if self.book_balance is None else self.book_balance
        book = np.broadcast_to(np.asarray(book, dtype=float), (n,))
        if not np.all(np.isfinite(book)):
            raise ValueError("book_balance must be finite")
        object.__setattr__(self, "book_balance", _readonly(book))
        segs = {}
        for name, labels in dict(self.segments).items():
            arr = np.asarray(labels).astype(str)
            if arr.shape != (n,):
                raise ValueError(f"segment {name!r} must have shape ({n},)")
            segs[name] = _readonly(arr, dtype=object)
        object.__setattr__(self, "segments", segs)
        if self.recovery_lag < 0 or self.unemployment_months < 0:
            raise ValueError("recovery_lag and unemployment_months must be >= 0")

    def __len__(self) -> int:
        return int(self.account_id.shape[0])

    @property
    def horizon(self) -> int:
        """Months simulated (H)."""
        return int(self.payments.shape[1])

    def take(self, rows: np.ndarray) -> PathInputs:
        """The inputs of accounts ``rows`` (an index array)."""
        changes: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("discount", "discount_lag"):
                changes[f.name] = value  # per month, not per account
            elif isinstance(value, np.ndarray):
                changes[f.name] = value[rows]
            elif f.name == "segments":
                changes[f.name] = {k: v[rows] for k, v in value.items()}
            else:
                changes[f.name] = value
        return PathInputs(**changes)


# --------------------------------------------------------------------------------------
# Month-by-month probabilities from the model's kernel (shared by the simulation and its
# analytic expectation)
# --------------------------------------------------------------------------------------


def month_probabilities(
    kernel: Any,
    payments: np.ndarray,
    term: np.ndarray,
    treatment_factor: np.ndarray | None = None,
    treatment_months: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Default hazard ``h_t`` and ``P(default or short month)`` of each account-month, (n, H).

    Both come from the behaviour model's ``kernel`` (:class:`solver.core.model.ModelKernel`,
    prepared for the n accounts over at least H months, e.g. with a shocked income path):
    ``h_t`` is its hazard of paying ``p_t`` and ``P(default or short) = 1 − a_t·(1 − h^cov_t)``
    with ``a_t`` its affordability and ``h^cov_t`` its hazard of a month the income covers
    (``a = 1``), raised to ``h_t`` where a model's curve would put it below. In the first
    ``treatment_months`` the kernel's :meth:`~solver.core.model.ModelKernel.treated_hazard` with
    each account's ``treatment_factor`` replaces the hazard. Both are 0 after the
    schedule's ``term`` (the loan is closed).
    """
    payments = np.asarray(payments, dtype=float)
    n, horizon = payments.shape
    rows = np.arange(n)[:, None]
    afford = kernel.afford(np.arange(n), payments)
    hazard = np.array(kernel.hazard_of_afford(rows, afford), dtype=float)
    covered = np.array(kernel.hazard_of_afford(rows, np.ones_like(afford)), dtype=float)
    k = min(horizon, int(treatment_months))
    if treatment_factor is not None and k > 0 and np.any(treatment_factor != 1.0):
        factor = np.asarray(treatment_factor, dtype=float)[:, None]
        hazard[:, :k] = kernel.treated_hazard(rows, afford[:, :k], factor)
        covered[:, :k] = kernel.treated_hazard(rows, np.ones((n, k)), factor)
    short_or_default = np.maximum(hazard, 1.0 - afford * (1.0 - covered))
    active = np.arange(1, horizon + 1)[None, :] <= np.asarray(term)[:, None]
    return np.where(active, hazard, 0.0), np.where(active, short_or_default, 0.0)


def path_probabilities(
    inputs: PathInputs, rows: np.ndarray | slice, unemployed: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``hazard`` and ``short_or_default`` of accounts ``rows`` on a normal or a hit path."""
    hazard, short = inputs.hazard[rows], inputs.short_or_default[rows]
    if not unemployed:
        return hazard, short
    assert inputs.hazard_unemployed is not None and inputs.short_or_default_unemployed is not None
    # the shock lasts `unemployment_months`; afterwards the normal income path
    shock = np.arange(1, inputs.horizon + 1)[None, :] <= inputs.unemployment_months
    return (
        np.where(shock, inputs.hazard_unemployed[rows], hazard),
        np.where(shock, inputs.short_or_default_unemployed[rows], short),
    )


def analytic_expectation(inputs: PathInputs) -> dict[str, np.ndarray]:
    """The exact expectation of the simulated money per account (what the paths converge to).

    Uses the same month probabilities as the simulation, mixing the unemployed and the
    normal income paths by the unemployment probability. With neutral shocks and no
    treatment effect, ``collected_discounted`` equals :func:`solver.core.model.evaluate_batch`'s
    NPV of the same schedules over the horizon under the same model.

    Returns
    -------
    dict
        ``collected_discounted``, ``collected_nominal``, ``credit_loss``,
        ``default_prob`` (within the horizon) and ``value_beyond_horizon`` (the discounted
        model value of the schedule after the horizon), each shape (n,).
    """
    n, horizon = len(inputs), inputs.horizon
    rows = np.arange(n)
    payments = inputs.payments
    recovery = inputs.recovery
    loss = inputs.exposures[:, :horizon] - recovery

    def one(unemployed: bool) -> dict[str, np.ndarray]:
        hazard, _ = path_probabilities(inputs, rows, unemployed)
        survival = np.cumprod(1.0 - hazard, axis=1)
        before = np.concatenate([np.ones((n, 1)), survival[:, :-1]], axis=1)
        default = before * hazard
        return {
            "collected_discounted": (survival * payments) @ inputs.discount
            + (default * recovery) @ inputs.discount_lag,
            "collected_nominal": np.sum(survival * payments + default * recovery, axis=1),
            "credit_loss": np.sum(default * loss, axis=1),
            "default_prob": 1.0 - survival[:, -1] if horizon else np.zeros(n),
            "value_beyond_horizon": (survival[:, -1] if horizon else np.ones(n))
            * inputs.residual_value,
        }

    normal = one(False)
    if inputs.hazard_unemployed is None or not np.any(inputs.unemployment_prob > 0):
        return normal
    hit = one(True)
    q = inputs.unemployment_prob
    return {k: (1.0 - q) * normal[k] + q * hit[k] for k in normal}
