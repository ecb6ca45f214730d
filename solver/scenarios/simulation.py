"""Monte Carlo simulation of a portfolio under the behaviour model (SPEC §4, §9).

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
value of the rest of its schedule given survival (:func:`residual_values`). Discounted
collections plus that value converge to the evaluator's NPV of the whole schedules
(tested), so plans of different lengths compare fairly (``total_value_discounted``).

Delinquency on a path. The account starts in its dpd bucket (M0 … M4+). A month whose
income covered the due cures it to M0; a short month that did not end in default is a
missed due date and rolls it one bucket (capped at M4+); a default is a charge-off and
leaves the book. The NPL ratio is the M3+ share of the open book (by balance and by
count); roll rates are the month-to-month transition shares between buckets.

Shocks are transformations of the model's inputs, never formulas of their own: income
multipliers scale the expected income path, the vehicle price index scales
``vehicle_value`` and the hazard multiplier scales ``h0`` (:func:`shocked_params`); the
cost-of-funds change moves the model's discount rate (:func:`shocked_model`); an
unemployment shock hits an account on a path with its probability at month 1 and
multiplies its expected income for ``unemployment_months`` (the kernel
:meth:`~solver.core.model.ModelKernel.with_income` of that path). A collection treatment
scales the account's hazard in the treatment months by its factor (1 without a treatment
stage; :func:`treatment_factors`, :meth:`~solver.core.model.ModelKernel.treated_hazard`).

Random numbers. Every account has its own stream, keyed by a hash of (seed, account_id)
(BLAKE2b → the state of an SFC64 generator), laid out as one block of ``paths`` uniforms
for the unemployment draw followed by one block per month. An account's path outcomes
therefore do not depend on the other accounts, on how the portfolio is cut into chunks or
on the number of threads, and two scenarios run with the same seed share their random
numbers (common random numbers: the deltas between them are much less noisy than either).
Money is summed in integer cents, so portfolio totals are exact and independent of the
summation order.

Stages of :func:`run_scenario`. (1) The portfolio: read, or generated from (n, seed).
(2) Plans: every account's recommended plan under the scenario's policy
(:func:`solver.plans.optimizer.plan_portfolio`; the status quo where no plan passes the NPV test, or
for every account when ``plans.restructure = false``), assumed accepted. (3) Treatments:
the allocation of treatments and teams under the scenario's (scaled) capacity and budget
(:func:`solver.allocation.portfolio.allocate`); each account's treatment costs its catalogue cost
and scales its hazards in the first ``collection.effect_months`` by
``(1 − p_treatment)/(1 − p_none)`` (:func:`treatment_factors`). (4) Shocks and paths.
(5) KPIs with 95 % intervals, in total and by tier, product and dpd bucket.

Speed. The loop over months works on chunks of accounts × paths (uint32 uniforms compared
with per-account integer thresholds, uint8 delinquency states, float64 BLAS products with
integer-cent weights for the monthly series); per-account money is looked up after the
loop from each path's default month. It costs about 20–25 ns of CPU per
account-path-month: 100,000 accounts × 1,000 paths × 36 months in well under 120 s on two
cores (``benchmarks/bench_scenario.py``).
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from solver.domain import Status

__all__ = [
    "KPIS",
    "SEGMENT_TYPES",
    "AccountShocks",
    "PathInputs",
    "PathOutcomes",
    "ScenarioResult",
    "Schedules",
    "SweepResult",
    "Treatments",
    "account_shocks",
    "account_streams",
    "analytic_expectation",
    "build_path_inputs",
    "choose_schedules",
    "choose_treatments",
    "clear_caches",
    "compare",
    "default_plan_cache",
    "efficient_frontier",
    "load_portfolio",
    "month_probabilities",
    "plan_schedules",
    "run_scenario",
    "run_sweep",
    "shocked_model",
    "shocked_params",
    "simulate_paths",
    "status_quo_schedules",
    "treatment_factors",
]

#: Segment types every KPI is broken down by (besides the total).
SEGMENT_TYPES: tuple[str, ...] = ("tier", "product", "dpd_bucket")
#: Delinquency buckets of a path (index = months behind, capped).
BUCKETS: tuple[str, ...] = ("M0", "M1", "M2", "M3", "M4+")
#: Outcomes of an open month, in the order of the roll-rate table.
ROLL_OUTCOMES: tuple[str, ...] = ("cure", "roll", "default")
#: Money quantities looked up per account-path from its default month (integer cents).
MONEY_FIELDS: tuple[str, ...] = (
    "payments_nominal",
    "payments_discounted",
    "recoveries_nominal",
    "recoveries_discounted",
    "credit_loss",
    "exposure_at_default",
)
#: Everything summed per path and segment (the money fields plus counts and end state).
PATH_FIELDS: tuple[str, ...] = (
    *MONEY_FIELDS,
    "defaults",
    "balance_at_horizon",
    "open_accounts_at_horizon",
    "npl_accounts_at_horizon",
    "npl_balance_at_horizon",
    "unemployed",
    "value_beyond_horizon",
)
#: DTI histogram: bins of this width from 0; the last bin collects everything above.
DTI_BIN = 0.01
DTI_BINS = 500
#: Roll rates are counted on at most this many paths (paths are exchangeable, so the
#: first ones are a random sample; counting every path would double the loop's cost).
ROLL_PATHS = 100
#: Account-paths per chunk: the month loop's working arrays (about 20 bytes per
#: account-path) then stay in the CPU cache, which makes the loop several times faster
#: than with large chunks.
CHUNK_CELLS = 2**18

_U32 = float(2**32)


def _readonly(values: Any, dtype: Any = float) -> np.ndarray:
    arr = np.array(values, dtype=dtype)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class PathInputs:
    """Everything the path simulation needs, one row per account (read-only arrays).

    Build it with :func:`solver.scenarios.simulation.build_path_inputs` from a scenario, or directly
    (tests, the benchmark). ``H`` is the horizon in months. The month probabilities,
    recoveries and discount factors are the behaviour model's (its kernel's), prepared by
    :func:`build_path_inputs`; the simulation itself holds no model formula.

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


def _path_probabilities(
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


def _thresholds(prob: np.ndarray) -> np.ndarray:
    """Probabilities as uint32 thresholds: ``V < T`` has probability ``T / 2^32``.

    The rounding error is below 2^-33 per month; a probability of 1 becomes 2^32 − 1
    (one chance in 4·10^9 of being missed).
    """
    return np.minimum(np.rint(prob * _U32), _U32 - 1).astype(np.uint32)


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
        hazard, _ = _path_probabilities(inputs, rows, unemployed)
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


# --------------------------------------------------------------------------------------
# Random streams
# --------------------------------------------------------------------------------------


_BUFFERS = threading.local()


def _draw_buffer(size: int) -> np.ndarray:
    """A per-thread uint32 buffer of at least ``size`` elements, reused across chunks
    (fresh large arrays cost a page fault per 4 KiB on first touch)."""
    buffer = getattr(_BUFFERS, "draws", None)
    if buffer is None or buffer.size < size:
        buffer = np.empty(size, dtype=np.uint32)
        _BUFFERS.draws = buffer
    return buffer[:size]


def account_streams(
    seed: int, account_ids: Sequence[str], n_uniforms: int, out: np.ndarray | None = None
) -> np.ndarray:
    """The first ``n_uniforms`` uint32 draws of each account's stream, shape (c, n_uniforms).

    The stream of an account depends only on ``(seed, account_id)``: BLAKE2b of both gives
    the 256-bit state of an SFC64 generator (whose first 12 outputs are discarded, as its
    own seeding does). ``out`` may supply the (c, n_uniforms) array to fill.
    """
    if out is None:
        out = np.empty((len(account_ids), n_uniforms), dtype=np.uint32)
    words = (n_uniforms + 1) // 2
    bit_gen = np.random.SFC64(0)
    template = bit_gen.state
    for i, account_id in enumerate(account_ids):
        digest = hashlib.blake2b(
            f"{int(seed)}\x1f{account_id}".encode(), digest_size=32, person=b"workout-mc"
        ).digest()
        template["state"]["state"] = np.frombuffer(digest, dtype="<u8").astype(np.uint64)
        template["has_uint32"] = 0
        template["uinteger"] = 0
        bit_gen.state = template
        bit_gen.random_raw(12)
        out[i] = bit_gen.random_raw(words).view(np.uint32)[:n_uniforms]
    return out


# --------------------------------------------------------------------------------------
# The path simulation
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathOutcomes:
    """Raw results of the simulation (the scenario summary is built from these).

    Attributes
    ----------
    paths, horizon, seed
        Settings of the run.
    totals
        Segment key (``("total", "all")``, ``("tier", "A")``, …) → array (paths, F) of
        per-path sums of :data:`PATH_FIELDS` (money in integer cents).
    segment_accounts
        Segment key → number of accounts.
    monthly
        Name → array (paths, months): ``payments`` (cents, months 1…H), ``open_balance``,
        ``npl_balance`` (cents, end of months 1…H), ``open_accounts``, ``npl_accounts``,
        ``defaults``, ``credit_loss`` (by default month 1…H) and ``recoveries`` (cents, by
        month received 1…H+L).
    roll_counts
        Array (roll paths, 5, 3): open accounts in each bucket and what their month
        ended in (cure, roll, default), pooled over the horizon.
    dti_mean, dti_p90
        Segment key → array (paths,): mean and 90th percentile of the accounts' DTI (the
        percentile from a histogram with bins of :data:`DTI_BIN`).
    accounts
        Per-account means over paths: name → array (n,).
    """

    paths: int
    horizon: int
    seed: int
    totals: dict[tuple[str, str], np.ndarray]
    segment_accounts: dict[tuple[str, str], int]
    monthly: dict[str, np.ndarray]
    roll_counts: np.ndarray
    dti_mean: dict[tuple[str, str], np.ndarray]
    dti_p90: dict[tuple[str, str], np.ndarray]
    accounts: dict[str, np.ndarray]


def _segment_groups(inputs: PathInputs, rows: np.ndarray) -> list[tuple[tuple[str, str], Any]]:
    """(segment key, row mask within the chunk or ``None`` for all) for a chunk."""
    groups: list[tuple[tuple[str, str], Any]] = [(("total", "all"), None)]
    for name in SEGMENT_TYPES:
        labels = inputs.segments.get(name)
        if labels is None:
            continue
        chunk_labels = labels[rows]
        for label in np.unique(chunk_labels):
            groups.append(((name, str(label)), chunk_labels == label))
    return groups


def _outcome_table(inputs: PathInputs, rows: np.ndarray) -> np.ndarray:
    """Per-account outcomes by "months survived" k = 0…H, shape (c, H+1, len(PATH_FIELDS)).

    k < H means a default in month k+1 (payments of months 1…k, recovery R_{k+1});
    k = H means no default within the horizon. Money is in whole cents (float64 holding
    integers); the end-of-horizon NPL and unemployment columns are filled per path.
    """
    horizon = inputs.horizon
    c = len(rows)
    pay = inputs.payments[rows]
    rec = inputs.recovery[rows]
    rec_cents = np.rint(rec * 100.0)
    ead_cents = np.rint(inputs.exposures[rows, :horizon] * 100.0)
    col = {name: i for i, name in enumerate(PATH_FIELDS)}
    table = np.zeros((c, horizon + 1, len(PATH_FIELDS)))
    table[:, 1:, col["payments_nominal"]] = np.cumsum(np.rint(pay * 100.0), axis=1)
    table[:, 1:, col["payments_discounted"]] = np.rint(
        np.cumsum(pay * inputs.discount * 100.0, axis=1)
    )
    table[:, :horizon, col["recoveries_nominal"]] = rec_cents
    table[:, :horizon, col["recoveries_discounted"]] = np.rint(rec * inputs.discount_lag * 100.0)
    table[:, :horizon, col["credit_loss"]] = ead_cents - rec_cents
    table[:, :horizon, col["exposure_at_default"]] = ead_cents
    table[:, :horizon, col["defaults"]] = 1.0
    balance_end = np.rint(inputs.exposures[rows, horizon] * 100.0)
    table[:, horizon, col["balance_at_horizon"]] = balance_end
    table[:, horizon, col["open_accounts_at_horizon"]] = balance_end > 0
    table[:, horizon, col["value_beyond_horizon"]] = np.rint(inputs.residual_value[rows] * 100.0)
    return table


def _simulate_chunk(inputs: PathInputs, rows: np.ndarray, paths: int, seed: int) -> dict[str, Any]:
    """Simulate accounts ``rows`` over all paths; return their per-path sums and means."""
    horizon = inputs.horizon
    c = len(rows)
    width = (horizon + 1) * paths
    flat_draws = _draw_buffer(c * width).reshape(c, width)
    account_streams(seed, inputs.account_id[rows], width, out=flat_draws)
    draws = flat_draws.reshape(c, horizon + 1, paths)

    # -- unemployment: hit on a path with the account's probability (first block) ----------
    q = inputs.unemployment_prob[rows]
    has_shock = inputs.hazard_unemployed is not None and bool(np.any(q > 0))
    hit = draws[:, 0, :] < _thresholds(q)[:, None] if has_shock else None
    hazard_n, short_n = _path_probabilities(inputs, rows, unemployed=False)
    t_default, t_short = _thresholds(hazard_n), _thresholds(short_n)
    if has_shock:
        hazard_u, short_u = _path_probabilities(inputs, rows, unemployed=True)
        u_default, u_short = _thresholds(hazard_u), _thresholds(short_u)
        shock_months = min(horizon, inputs.unemployment_months)
    else:
        shock_months = 0

    # -- weights of the monthly series (integer cents as float64: BLAS sums are exact) ------
    term = inputs.term[rows]
    pay_w = np.rint(inputs.payments[rows] * 100.0)
    bal_w = np.rint(inputs.exposures[rows, 1:] * 100.0)  # balance after month t
    open_after = (bal_w > 0).astype(float)  # still owing after month t
    weights = np.ascontiguousarray(np.stack([pay_w, bal_w, open_after], axis=2).transpose(1, 0, 2))

    # -- state ------------------------------------------------------------------------------
    alive = np.ones((c, paths), dtype=bool)
    bucket = np.repeat(inputs.initial_bucket[rows][:, None], paths, axis=1)
    survived = np.zeros((c, paths), dtype=np.uint8)
    survive_now = np.empty((c, paths), dtype=bool)
    short = np.empty((c, paths), dtype=bool)
    npl = np.empty((c, paths), dtype=bool)
    as_float = np.empty((c, paths), dtype=float)
    n_roll = min(paths, ROLL_PATHS)
    roll_offsets = (np.arange(n_roll, dtype=np.intp) * 16)[None, :]
    roll = np.zeros(n_roll * 16, dtype=np.int64)

    series_alive = np.zeros((horizon, paths, 3))
    series_npl = np.zeros((horizon, paths, 2))
    for t in range(horizon):
        v = draws[:, t + 1, :]
        if t < shock_months:
            assert hit is not None
            td = np.where(hit, u_default[:, t, None], t_default[:, t, None])
            ts = np.where(hit, u_short[:, t, None], t_short[:, t, None])
        else:
            td, ts = t_default[:, t, None], t_short[:, t, None]
        np.greater_equal(v, td, out=survive_now)
        np.less(v, ts, out=short)
        # roll-rate counts on the first paths: bucket before the month × outcome
        active = alive[:, :n_roll] & (t < term)[:, None]
        code = bucket[:, :n_roll] * np.uint8(3) + short[:, :n_roll]
        code += ~survive_now[:, :n_roll]
        code = np.where(active, code, np.uint8(15)).astype(np.intp)
        code += roll_offsets
        roll += np.bincount(code.ravel(), minlength=n_roll * 16)

        np.logical_and(alive, survive_now, out=alive)
        np.add(survived, alive.view(np.uint8), out=survived)
        np.add(bucket, 1, out=bucket)
        np.minimum(bucket, 4, out=bucket)
        np.multiply(bucket, short.view(np.uint8), out=bucket)
        np.greater_equal(bucket, 3, out=npl)
        np.logical_and(npl, alive, out=npl)

        as_float[...] = alive
        series_alive[t] = as_float.T @ weights[t]
        as_float[...] = npl
        series_npl[t] = as_float.T @ weights[t, :, 1:]
    del draws

    # -- outcomes per account-path, looked up from the months survived ----------------------
    table = _outcome_table(inputs, rows)
    flat = (np.arange(c, dtype=np.intp) * (horizon + 1))[:, None] + survived
    width = len(PATH_FIELDS)
    outcome = np.take(table.reshape(c * (horizon + 1), width), flat, axis=0)  # (c, paths, F)
    balance_end = table[:, horizon, PATH_FIELDS.index("balance_at_horizon")]
    npl_end = npl & (balance_end > 0)[:, None]
    outcome[:, :, PATH_FIELDS.index("npl_accounts_at_horizon")] = npl_end
    outcome[:, :, PATH_FIELDS.index("npl_balance_at_horizon")] = npl_end * balance_end[:, None]
    outcome[:, :, PATH_FIELDS.index("unemployed")] = 0.0 if hit is None else hit

    # per-path sums by segment: one product with the segment indicators (the values are
    # whole cents or counts far below 2^53, so float64 sums are exact in any order)
    groups = _segment_groups(inputs, rows)
    indicator = np.zeros((len(groups), c))
    for g, (_, mask) in enumerate(groups):
        indicator[g] = 1.0 if mask is None else mask
    sums = (indicator @ outcome.reshape(c, paths * width)).reshape(len(groups), paths, width)
    totals = {key: sums[g] for g, (key, _) in enumerate(groups)}
    means = outcome.mean(axis=1)

    # -- monthly series by default month / month received -----------------------------------
    lag = inputs.recovery_lag
    defaulted = survived < horizon
    account_idx, path_idx = np.nonzero(defaulted)
    month_idx = survived[account_idx, path_idx].astype(np.intp)  # default in month k+1
    by_month = path_idx * horizon + month_idx
    size = paths * horizon
    default_counts = np.bincount(by_month, minlength=size).reshape(paths, horizon)
    loss_by_month = np.bincount(
        by_month, weights=outcome[account_idx, path_idx, 4], minlength=size
    ).reshape(paths, horizon)
    received = horizon + lag
    rec_by_month = np.bincount(
        path_idx * received + month_idx + lag,
        weights=outcome[account_idx, path_idx, 2],
        minlength=paths * received,
    ).reshape(paths, received)
    del outcome

    # -- customer burden: DTI histogram per segment; per path only where unemployment hit --
    dti_n = inputs.dti[rows]
    dti_u = inputs.dti_unemployed[rows]
    nbins = DTI_BINS + 1
    bins_n = np.minimum(np.floor(dti_n / DTI_BIN), DTI_BINS).astype(np.intp)
    bins_u = np.minimum(np.floor(dti_u / DTI_BIN), DTI_BINS).astype(np.intp)
    dti: dict[tuple[str, str], tuple[np.ndarray, Any, np.ndarray]] = {}
    empty = np.zeros(0, dtype=np.intp)
    hit_acc, hit_path = np.nonzero(hit) if hit is not None else (empty, empty)
    for key, mask in groups:
        m = np.ones(c, dtype=bool) if mask is None else mask
        base = np.bincount(bins_n[m], minlength=nbins).astype(np.int64)
        total = np.full(paths, float(np.sum(dti_n[m])))
        delta = None
        if hit_acc.size:
            inside = m[hit_acc]
            acc_i, path_i = hit_acc[inside], hit_path[inside]
            if acc_i.size:
                # sparse: each hit moves one account from its normal to its unemployed bin
                cells = path_i * nbins
                index = np.concatenate([cells + bins_u[acc_i], cells + bins_n[acc_i]])
                sign = np.concatenate([np.ones(acc_i.size), -np.ones(acc_i.size)])
                unique, inverse = np.unique(index, return_inverse=True)
                delta = (unique, np.rint(np.bincount(inverse, weights=sign)).astype(np.int64))
                total += np.bincount(path_i, weights=dti_u[acc_i] - dti_n[acc_i], minlength=paths)
        dti[key] = (base, delta, total)

    money = {name: i for i, name in enumerate(PATH_FIELDS)}
    accounts = {
        "mc_collected_nominal": (means[:, money["payments_nominal"]] + means[:, 2]) / 100.0,
        "mc_collected_discounted": (means[:, 1] + means[:, 3]) / 100.0,
        "mc_credit_loss": means[:, money["credit_loss"]] / 100.0,
        "mc_default_prob": means[:, money["defaults"]],
        "mc_npl_prob_at_horizon": means[:, money["npl_accounts_at_horizon"]],
        "unemployment_share": means[:, money["unemployed"]],
    }
    return {
        "totals": totals,
        "counts": {key: int(c if mask is None else mask.sum()) for key, mask in groups},
        "monthly": {
            "payments": series_alive[:, :, 0].T,
            "open_balance": series_alive[:, :, 1].T,
            "open_accounts": series_alive[:, :, 2].T,
            "npl_balance": series_npl[:, :, 0].T,
            "npl_accounts": series_npl[:, :, 1].T,
            "defaults": default_counts.astype(float),
            "credit_loss": loss_by_month,
            "recoveries": rec_by_month,
        },
        "roll": roll.reshape(n_roll, 16)[:, :15].reshape(n_roll, 5, 3),
        "dti": dti,
        "accounts": accounts,
    }


def default_chunk_accounts(paths: int, horizon: int) -> int:
    """Accounts per chunk: about :data:`CHUNK_CELLS` account-paths (at least 16 accounts)."""
    return max(16, CHUNK_CELLS // max(1, paths))


def simulate_paths(
    inputs: PathInputs,
    *,
    paths: int,
    seed: int,
    jobs: int = 1,
    chunk_accounts: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    engine: Any = None,
) -> PathOutcomes:
    """Simulate every account over ``paths`` Monte Carlo paths (see the module docstring).

    Parameters
    ----------
    inputs
        Per-account schedules, probabilities and segments.
    paths
        Number of Monte Carlo paths (≥ 2 for intervals).
    seed
        Seed of the random streams (with each account_id).
    jobs
        Threads working on chunks at once (numpy releases the GIL in the loop). The result
        does not depend on it.
    chunk_accounts
        Accounts per chunk (memory ≈ 4·(H+1)·paths bytes per account); the result does not
        depend on it either.
    progress
        Called as ``progress(accounts_done, accounts_total)`` after each chunk.
    engine
        An execution engine (:mod:`solver.engines`, e.g. Dask) that runs the chunks on its
        workers (``map_ordered``); ``None`` runs them here on ``jobs`` threads. The result
        does not depend on it.
    """
    if paths < 1:
        raise ValueError(f"paths must be >= 1, got {paths}")
    if inputs.horizon > 255:
        raise ValueError(f"horizon must be at most 255 months, got {inputs.horizon}")
    n, horizon = len(inputs), inputs.horizon
    size = chunk_accounts or default_chunk_accounts(paths, horizon)
    # accounts that can be hit by the unemployment shock first, so that the other chunks
    # skip its per-month threshold switch (per-account results do not depend on chunks)
    order = np.argsort(~(inputs.unemployment_prob > 0), kind="stable")
    chunks = [order[i : i + size] for i in range(0, n, size)]
    jobs = max(1, min(int(jobs), len(chunks) or 1, os.cpu_count() or 1))

    totals: dict[tuple[str, str], np.ndarray] = {}
    counts: dict[tuple[str, str], int] = {}
    monthly: dict[str, np.ndarray] = {}
    dti_base: dict[tuple[str, str], np.ndarray] = {}
    dti_delta: dict[tuple[str, str], np.ndarray] = {}
    dti_sum: dict[tuple[str, str], np.ndarray] = {}
    n_roll = min(paths, ROLL_PATHS)
    roll = np.zeros((n_roll, 5, 3), dtype=np.int64)
    accounts: dict[str, np.ndarray] = {}
    done = 0

    def run(rows: np.ndarray) -> dict[str, Any]:
        return _simulate_chunk(inputs, rows, paths, seed)

    def merge(part: dict[str, Any], rows: np.ndarray) -> None:
        nonlocal roll, done
        for key, value in part["totals"].items():
            totals[key] = totals[key] + value if key in totals else value
            counts[key] = counts.get(key, 0) + part["counts"][key]
        for key, value in part["monthly"].items():
            monthly[key] = monthly[key] + value if key in monthly else value
        for key, (base, delta, total) in part["dti"].items():
            dti_base[key] = dti_base[key] + base if key in dti_base else base
            dti_sum[key] = dti_sum[key] + total if key in dti_sum else total
            if delta is not None:
                if key not in dti_delta:
                    dti_delta[key] = np.zeros(paths * (DTI_BINS + 1), dtype=np.int64)
                np.add.at(dti_delta[key], delta[0], delta[1])
        roll = roll + part["roll"]
        for key, value in part["accounts"].items():
            if key not in accounts:
                accounts[key] = np.zeros(n)
            accounts[key][rows] = value
        done += len(rows)
        if progress is not None:
            progress(done, n)

    if n == 0:
        pass
    elif engine is not None:
        # chunks run on the engine's workers, results come back in chunk order
        results = engine.map_ordered(_simulate_chunk, chunks, paths, seed, shared=inputs)
        for rows, part in zip(chunks, results, strict=True):
            merge(part, rows)
    elif jobs == 1:
        for rows in chunks:
            merge(run(rows), rows)
    else:
        # Chunks are merged in their order (map keeps it), so the sums never depend on
        # which thread finished first; at most `jobs` chunks are in flight.
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            pending = []
            for rows in chunks:
                pending.append((pool.submit(run, rows), rows))
                if len(pending) > jobs:
                    future, done_rows = pending.pop(0)
                    merge(future.result(), done_rows)
            for future, done_rows in pending:
                merge(future.result(), done_rows)
    keys = sorted(totals, key=_segment_order)
    return PathOutcomes(
        paths=paths,
        horizon=horizon,
        seed=int(seed),
        totals={k: totals[k] for k in keys},
        segment_accounts={k: counts[k] for k in keys},
        monthly=monthly,
        roll_counts=roll,
        dti_mean={k: dti_sum[k] / max(1, counts[k]) for k in keys},
        dti_p90={
            k: (
                dti_quantile(dti_base[k] + dti_delta[k].reshape(paths, DTI_BINS + 1), 0.9)
                if k in dti_delta
                else np.full(paths, dti_quantile(dti_base[k], 0.9)[0])
            )
            for k in keys
        },
        accounts=accounts,
    )


def _segment_order(key: tuple[str, str]) -> tuple[int, str]:
    kind, label = key
    order = {"total": 0, **{name: i + 1 for i, name in enumerate(SEGMENT_TYPES)}}
    return order.get(kind, 99), label


def dti_quantile(hist: np.ndarray, q: float) -> np.ndarray:
    """Quantile ``q`` of DTI per path from its histogram (linear within a bin)."""
    hist = np.atleast_2d(hist).astype(float)
    total = hist.sum(axis=1, keepdims=True)
    cum = np.cumsum(hist, axis=1)
    target = q * total
    idx = np.argmax(cum >= target, axis=1)
    rows = np.arange(hist.shape[0])
    below = np.where(idx > 0, cum[rows, np.maximum(idx - 1, 0)], 0.0)
    inside = hist[rows, idx]
    frac = np.where(inside > 0, (target[:, 0] - below) / np.where(inside > 0, inside, 1.0), 0.0)
    value = (idx + np.clip(frac, 0.0, 1.0)) * DTI_BIN
    return np.where(total[:, 0] > 0, value, math.nan)


# ======================================================================================
# Running a scenario: portfolio → plans → treatments → shocks → paths → KPIs
# ======================================================================================

#: Money KPIs are rounded to the cent in tables; ratios to 6 decimals; counts to 2.
UNIT_DECIMALS = {"CNY": 2, "ratio": 6, "accounts": 2, "DTI": 4}

#: KPI name → (unit, description). The order is the order of every table.
KPIS: dict[str, tuple[str, str]] = {
    "accounts": ("accounts", "accounts in the portfolio"),
    "opening_balance": ("CNY", "balance owed at the start (exposure of month 1)"),
    "cash_collected": (
        "CNY",
        "payments plus recoveries, nominal (recoveries of defaults within the horizon, "
        "received up to L months after it)",
    ),
    "cash_collected_discounted": (
        "CNY",
        "payments plus recoveries discounted at the cost of funds (the realised NPV)",
    ),
    "payments_collected": ("CNY", "scheduled payments received, nominal"),
    "recoveries": ("CNY", "collateral and unsecured recoveries after default, nominal"),
    "recovery_rate": ("ratio", "discounted cash collected / opening balance"),
    "value_beyond_horizon": (
        "CNY",
        "model value (discounted) of the payments and recoveries still expected after the "
        "horizon from accounts open at the horizon",
    ),
    "total_value_discounted": (
        "CNY",
        "discounted cash collected plus the value beyond the horizon (comparable across "
        "plans of different lengths)",
    ),
    "credit_loss": (
        "CNY",
        "exposure at default not recovered, nominal (its mean is the expected loss)",
    ),
    "loss_rate": ("ratio", "credit loss / opening balance"),
    "defaults": ("accounts", "defaults within the horizon (each is a charge-off)"),
    "default_rate": ("ratio", "defaults / accounts"),
    "exposure_at_default": ("CNY", "balance owed at the defaults"),
    "balance_at_horizon": ("CNY", "balance still owed by open accounts at the horizon"),
    "npl_ratio_at_horizon": ("ratio", "M3+ share of the open balance at the horizon"),
    "npl_ratio_peak": ("ratio", "highest monthly M3+ share of the open balance"),
    "npl_share_at_horizon": ("ratio", "M3+ share of the open accounts at the horizon"),
    "collection_cost": ("CNY", "cost of the allocated collection treatments"),
    "net_collected_discounted": ("CNY", "discounted cash collected minus collection cost"),
    "net_total_value_discounted": (
        "CNY",
        "total value (within and beyond the horizon) minus collection cost",
    ),
    "dti_mean": (
        "DTI",
        "customer burden: mean over accounts of (other_debt + payment)/expected income, "
        "averaged over each schedule's payment months",
    ),
    "dti_p90": ("DTI", "90th percentile over accounts of that debt-to-income"),
    "accounts_restructured": ("accounts", "accounts put on a restructuring plan"),
    "restructured_share": ("ratio", "accounts restructured / accounts"),
    "unemployed_accounts": ("accounts", "accounts hit by the unemployment shock"),
}

_PORTFOLIO_CACHE: dict[tuple[Any, ...], Any] = {}
_PLAN_CACHE: dict[str, Any] = {}
_ALLOCATION_CACHE: dict[str, Any] = {}


def clear_caches() -> None:
    """Forget cached portfolios, plan-stage and allocation results (shared between runs)."""
    _PORTFOLIO_CACHE.clear()
    _PLAN_CACHE.clear()
    _ALLOCATION_CACHE.clear()


def _portfolio_key(scenario: Any) -> tuple[Any, ...]:
    source = scenario.portfolio
    if source.path is not None:
        return ("path", str(source.path), source.path.stat().st_mtime_ns)
    return ("generated", source.n, source.seed)


def portfolio_cached(scenario: Any) -> bool:
    """Whether :func:`load_portfolio` would serve the scenario's portfolio from the cache."""
    return _portfolio_key(scenario) in _PORTFOLIO_CACHE


def load_portfolio(scenario: Any) -> Any:
    """The scenario's portfolio: read from its file or generated (cached per process)."""
    source = scenario.portfolio
    key = _portfolio_key(scenario)
    if key not in _PORTFOLIO_CACHE:
        if source.path is not None:
            from solver.core.io import read_portfolio

            frame = read_portfolio(source.path)
        else:
            from solver.core.generate import generate_portfolio

            frame = generate_portfolio(int(source.n), seed=int(source.seed))
        _PORTFOLIO_CACHE.clear()  # keep at most one portfolio in memory
        _PORTFOLIO_CACHE[key] = frame
    return _PORTFOLIO_CACHE[key]


# -- shocks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountShocks:
    """The scenario's shocks per account (arrays of shape (n,))."""

    income_multiplier: np.ndarray
    hazard_multiplier: np.ndarray
    unemployment_probability: np.ndarray
    unemployment_income_multiplier: np.ndarray
    vehicle_price_index: float
    cost_of_funds_change: float
    unemployment_months: int


def segment_mask(frame: Any, filters: Mapping[str, Sequence[str]]) -> np.ndarray:
    """Accounts matching every filter (column → allowed values)."""
    mask = np.ones(len(frame), dtype=bool)
    for column, allowed in filters.items():
        mask &= frame[column].astype(str).isin(list(allowed)).to_numpy()
    return mask


def account_shocks(frame: Any, shocks: Any) -> AccountShocks:
    """Resolve the global and segment shocks to per-account multipliers."""
    n = len(frame)
    income = np.full(n, shocks.income_multiplier)
    hazard = np.full(n, shocks.hazard_multiplier)
    prob = np.full(n, shocks.unemployment_probability)
    unemp = np.full(n, shocks.unemployment_income_multiplier)
    for segment in shocks.segments:
        mask = segment_mask(frame, segment.filters)
        income[mask] *= segment.income_multiplier
        hazard[mask] *= segment.hazard_multiplier
        if segment.unemployment_probability is not None:
            prob[mask] = segment.unemployment_probability
        if segment.unemployment_income_multiplier is not None:
            unemp[mask] = segment.unemployment_income_multiplier
    return AccountShocks(
        income_multiplier=income,
        hazard_multiplier=hazard,
        unemployment_probability=prob,
        unemployment_income_multiplier=unemp,
        vehicle_price_index=float(shocks.vehicle_price_index),
        cost_of_funds_change=float(shocks.cost_of_funds_change),
        unemployment_months=int(shocks.unemployment_months),
    )


def shocked_model(model: Any, shocks: AccountShocks) -> Any:
    """The behaviour model with the cost-of-funds change applied."""
    if shocks.cost_of_funds_change == 0.0:
        return model
    return model.replace(cost_of_funds=model.cost_of_funds + shocks.cost_of_funds_change)


def shocked_params(frame: Any, model: Any, shocks: AccountShocks) -> Any:
    """The model inputs of every account (:class:`solver.core.model.AccountParams`) under the shocks.

    Income multipliers scale the expected income path ``Ī_t`` (``income``,
    ``income_normal``, an income forecast and one-off inflows); the vehicle price index
    scales ``vehicle_value``; the hazard multiplier scales ``h0`` (capped at 1). The
    unemployment shock is a path event, applied to the kernel's income path in
    :func:`build_path_inputs`.
    """
    from solver.core.model import AccountParams

    base = AccountParams.from_frame(frame, model)
    income = shocks.income_multiplier
    return replace(
        base,
        income=base.income * income,
        income_normal=base.income_normal * income,
        vehicle_value=base.vehicle_value * shocks.vehicle_price_index,
        base_hazard=np.minimum(1.0, base.base_hazard * shocks.hazard_multiplier),
        income_forecast=base.income_forecast * income[:, None],
        inflows=base.inflows * income[:, None],
    )


def anticipated_frame(frame: Any, shocks: AccountShocks) -> Any:
    """The portfolio as the bank sees it when it anticipates the shocks (plan stage).

    The expected income path (``income``, ``income_normal``, an income forecast and
    one-off inflows) is scaled by its multiplier and by the expected unemployment loss
    ``1 − q·(1 − m_u)``; vehicle values by the price index.
    """
    expected_loss = 1.0 - shocks.unemployment_probability * (
        1.0 - shocks.unemployment_income_multiplier
    )
    factor = shocks.income_multiplier * expected_loss
    out = frame.copy()
    out["income"] = frame["income"].to_numpy(float) * factor
    out["income_normal"] = frame["income_normal"].to_numpy(float) * factor
    out["vehicle_value"] = frame["vehicle_value"].to_numpy(float) * shocks.vehicle_price_index

    def scaled(value: Any, f: float, pairs: bool) -> Any:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return value
        if pairs:
            return tuple((month, float(amount) * f) for month, amount in value)
        return tuple(float(amount) * f for amount in value)

    for column, pairs in (("income_forecast", False), ("inflows", True)):
        if column in frame:
            out[column] = [
                scaled(value, f, pairs) for value, f in zip(frame[column], factor, strict=True)
            ]
    return out


# -- plan stage -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedules:
    """The schedule each account follows (float CNY, zeros past its term).

    Attributes
    ----------
    payments, exposures
        Arrays (n, T).
    term
        Months (n,).
    family
        Plan family per account (``status_quo`` when not restructured).
    restructured
        True where the account is put on a plan.
    plan_npv
        The plan stage's model NPV of the schedule (NaN when unknown).
    status
        Plan-stage status per account (``ok``, or why it fell back to the status quo).
    note
        How the schedules were chosen (for reports).
    from_cache
        The plan stage was served from a cache (this process's, or ``cache_dir``).
    """

    payments: np.ndarray
    exposures: np.ndarray
    term: np.ndarray
    family: np.ndarray
    restructured: np.ndarray
    plan_npv: np.ndarray
    status: np.ndarray
    note: str = ""
    from_cache: bool = False


def status_quo_schedules(frame: Any, note: str = "status quo (no restructuring)") -> Schedules:
    """Every account on its contract (SPEC §4 status quo)."""
    from solver.core.model import status_quo_batch

    payments, exposures, term = status_quo_batch(frame)
    n = len(frame)
    return Schedules(
        payments=payments,
        exposures=exposures,
        term=np.asarray(term, dtype=np.int64),
        family=np.full(n, "status_quo", dtype=object),
        restructured=np.zeros(n, dtype=bool),
        plan_npv=np.full(n, np.nan),
        status=np.full(n, "ok", dtype=object),
        note=note,
    )


def _frame_digest(frame: Any) -> str:
    import pandas as pd

    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.blake2b(hashed.tobytes(), digest_size=16).hexdigest()


#: Source files whose code decides the plans: a change invalidates cached plan stages.
#: The plan code (paths under ``solver/``) whose bytes key the plan-stage cache: an edit to
#: any of them, the compiled loops included, invalidates cached plans.
PLAN_CODE = (
    "plans/optimizer.py",
    "plans/families.py",
    "plans/search.py",
    "plans/bound_dp.py",
    "plans/beam_step.py",
    "core/model.py",
    "core/money.py",
    "core/policy.py",
)


def default_plan_cache() -> Path:
    """Where the CLI caches plan-stage results: ``$WORKOUT_CACHE_DIR`` or
    ``$XDG_CACHE_HOME/workout`` (default ``~/.cache/workout``), subfolder ``plans``."""
    env = os.environ.get("WORKOUT_CACHE_DIR")
    if env:
        return Path(env) / "plans"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "workout" / "plans"


_CODE_DIGEST: list[str] = []


def _plan_code_digest() -> str:
    """Digest of the plan code, read once per process (the code that is running)."""
    if not _CODE_DIGEST:
        code = hashlib.blake2b(digest_size=16)
        here = Path(__file__).resolve().parents[1]  # solver/
        for name in PLAN_CODE:
            path = here / name
            code.update(path.read_bytes() if path.is_file() else name.encode())
        _CODE_DIGEST.append(code.hexdigest())
    return _CODE_DIGEST[0]


def _plan_key(frame: Any, policy: Any, model: Any, search: Mapping[str, Any]) -> str:
    parts = [
        _frame_digest(frame),
        repr(sorted(policy.to_dict().items())),
        repr(sorted(model.to_dict().items())),
        repr(sorted(search.items())),
        _plan_code_digest(),
    ]
    return hashlib.blake2b("|".join(parts).encode(), digest_size=20).hexdigest()


def _save_plans(path: Path, schedules: Schedules) -> None:
    from solver.core.atomic import atomic_open

    with atomic_open(path, "wb") as fh:
        np.savez(
            fh,
            payments=schedules.payments,
            exposures=schedules.exposures,
            term=schedules.term,
            family=schedules.family.astype(str),
            restructured=schedules.restructured,
            plan_npv=schedules.plan_npv,
            status=schedules.status.astype(str),
            note=np.array(schedules.note),
        )


def _load_plans(path: Path) -> Schedules | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            return Schedules(
                payments=data["payments"],
                exposures=data["exposures"],
                term=data["term"],
                family=data["family"].astype(object),
                restructured=data["restructured"],
                plan_npv=data["plan_npv"],
                status=data["status"].astype(object),
                note=str(data["note"]) + " (plan stage read from the cache)",
                from_cache=True,
            )
    except (OSError, KeyError, ValueError):
        return None  # unreadable cache entry: plan again


def plan_schedules(
    frame: Any,
    policy: Any,
    model: Any,
    *,
    search: Mapping[str, Any] | None = None,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    cache_dir: str | Path | None = None,
    engine: Any = None,
) -> Schedules:
    """Each account's recommended plan under ``policy`` (status quo where none passes).

    Calls :func:`solver.plans.optimizer.plan_portfolio`. Results are cached per (portfolio, policy,
    model, search effort, plan code) within the process, so a scenario and its baseline
    share the work, and in ``cache_dir`` across processes when given. With an ``engine``
    (:mod:`solver.engines`) the partitions are planned on its workers
    (:func:`solver.plans.workloads.plan_portfolio_on`, identical results).
    """
    search = dict(search or {})
    key = _plan_key(frame, policy, model, search)
    if key in _PLAN_CACHE:
        return replace(_PLAN_CACHE[key], from_cache=True)
    cache_file = Path(cache_dir) / f"{key}.npz" if cache_dir is not None else None
    if cache_file is not None and cache_file.is_file():
        cached = _load_plans(cache_file)
        if cached is not None and len(cached.term) == len(frame):
            _PLAN_CACHE[key] = cached
            return cached
    from solver.plans.optimizer import plan_portfolio

    n = len(frame)
    done = 0

    def step(finished: int) -> None:
        nonlocal done
        done += finished
        if progress is not None:
            progress(done, n)

    kwargs: dict[str, Any] = {}
    if search:
        from solver.plans.search import SearchParams

        kwargs["search"] = SearchParams(**search)
    if engine is not None:
        from solver.plans.workloads import plan_portfolio_on

        plans = plan_portfolio_on(engine, frame, policy, model, progress=progress, **kwargs)
    else:
        plans = plan_portfolio(frame, policy, model, jobs=jobs, progress=step, **kwargs)
    table = plans.table
    status = table["status"].astype(str).to_numpy(dtype=object)
    recommended = status == Status.RECOMMENDED
    family = np.where(recommended, table["family"].astype(str).to_numpy(dtype=object), "status_quo")
    payments = np.asarray(plans.payments, dtype=float)
    exposures = np.asarray(plans.exposures, dtype=float)
    term = np.asarray(plans.term, dtype=np.int64)
    failed = term <= 0  # the plan stage failed on these accounts: keep their contract
    if np.any(failed):
        quo = status_quo_schedules(frame.iloc[np.nonzero(failed)[0]])
        width = max(payments.shape[1], quo.payments.shape[1])
        payments, exposures = _fit(payments, width), _fit(exposures, width)
        payments[failed] = _fit(quo.payments, width)
        exposures[failed] = _fit(quo.exposures, width)
        term[failed] = quo.term
        recommended = recommended & ~failed
        family[failed] = "status_quo"
    npv = pd_numeric(table["npv"]) if "npv" in table else np.full(n, np.nan)
    npv[failed] = np.nan
    note = "recommended plan under the policy (status quo where no plan passes the NPV test)"
    if np.any(failed):
        note += f"; {int(failed.sum())} account(s) failed in the plan stage and keep their contract"
    schedules = Schedules(
        payments=payments,
        exposures=exposures,
        term=term,
        family=family.astype(object),
        restructured=np.asarray(recommended, dtype=bool),
        plan_npv=npv,
        status=status,
        note=note,
    )
    if len(_PLAN_CACHE) > 8:
        _PLAN_CACHE.pop(next(iter(_PLAN_CACHE)))
    _PLAN_CACHE[key] = schedules
    if cache_file is not None:
        _save_plans(cache_file, schedules)
    return schedules


def pd_numeric(values: Any) -> np.ndarray:
    """A column as floats (None → NaN)."""
    import pandas as pd

    return np.array(pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan))


def choose_schedules(
    frame: Any,
    scenario: Any,
    shocks: AccountShocks,
    *,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    cache_dir: str | Path | None = None,
    engine: Any = None,
) -> Schedules:
    """Plan stage: plans under the scenario's policy, or the status quo.

    With ``shocks.anticipated`` the plans are chosen on the shocked portfolio and model
    (the bank knows the shock); otherwise on the portfolio as it stands.
    """
    if not scenario.restructure:
        return status_quo_schedules(frame)
    model = scenario.model
    planning_frame = frame
    if scenario.shocks.anticipated and not scenario.shocks.neutral:
        planning_frame = anticipated_frame(frame, shocks)
        model = shocked_model(model, shocks)
        if scenario.shocks.hazard_multiplier != 1.0:
            model = model.replace(
                base_hazard={
                    t: min(0.999, h * scenario.shocks.hazard_multiplier)
                    for t, h in model.base_hazard.items()
                }
            )
    return plan_schedules(
        planning_frame,
        scenario.policy,
        model,
        search=scenario.plan_search,
        jobs=jobs,
        progress=progress,
        cache_dir=cache_dir,
        engine=engine,
    )


# -- treatment stage ------------------------------------------------------------------------


@dataclass(frozen=True)
class Treatments:
    """The collection treatment per account and what it does in the simulation.

    Attributes
    ----------
    treatment, team
        Assigned treatment (``none`` for no contact) and team (``""`` when automated).
    cost
        Cost of the treatment for the period (CNY).
    factor
        Factor on the account's hazards in the treatment months (1 = no effect).
    summary
        Allocation figures for reports (objective, bound, gap, status, cost totals).
    from_cache
        The allocation was served from this process's cache (shared with a baseline).
    """

    treatment: np.ndarray
    team: np.ndarray
    cost: np.ndarray
    factor: np.ndarray
    summary: Mapping[str, Any] = field(default_factory=dict)
    from_cache: bool = False


def no_treatments(n: int) -> Treatments:
    """No treatment stage: no cost, no effect."""
    return Treatments(
        treatment=np.full(n, "", dtype=object),
        team=np.full(n, "", dtype=object),
        cost=np.zeros(n),
        factor=np.ones(n),
    )


def choose_treatments(
    frame: Any, scenario: Any, schedules: Schedules, *, seed: int = 0, engine: Any = None
) -> Treatments:
    """Treatment stage: the allocation of treatments and teams (SPEC §8) under the
    scenario's capacity and budget, turned into a cost and a hazard factor per account.

    Without a treatment stage (``collection.enabled = false``) nothing is allocated, no cost
    is charged and the hazards are the behaviour model's.
    """
    if not scenario.collection.enabled:
        return no_treatments(len(frame))
    from solver.allocation.catalogue import Catalogue, Teams
    from solver.allocation.portfolio import allocate

    collection = scenario.collection
    catalogue = Catalogue.from_toml(collection.treatments)
    teams = Teams.from_toml(collection.teams, compliance=catalogue.compliance)
    if collection.capacity_multiplier != 1.0:
        teams = teams.scaled(collection.capacity_multiplier)
    # a scenario and its baseline with the same accounts, files, capacity and budget share
    # one allocation (faster, and their collection costs then agree exactly)
    key = "|".join(
        [
            _frame_digest(frame),
            hashlib.blake2b(Path(collection.treatments).read_bytes()).hexdigest(),
            hashlib.blake2b(Path(collection.teams).read_bytes()).hexdigest(),
            repr(
                (
                    collection.capacity_multiplier,
                    collection.budget,
                    collection.time_limit_seconds,
                    seed,
                )
            ),
        ]
    )
    result = _ALLOCATION_CACHE.get(key)
    from_cache = result is not None
    if result is None:
        kwargs: dict[str, Any] = {} if engine is None else {"engine": engine}
        result = allocate(
            frame,
            catalogue,
            teams,
            budget=collection.budget,
            time_limit=collection.time_limit_seconds,
            seed=seed,
            **kwargs,
        )
        if len(_ALLOCATION_CACHE) > 4:
            _ALLOCATION_CACHE.pop(next(iter(_ALLOCATION_CACHE)))
        _ALLOCATION_CACHE[key] = result
    table = result.assignments
    treatment = table["treatment"].astype(str).to_numpy(dtype=object)
    factor = treatment_factors(frame, catalogue, treatment)
    summary = {
        "note": (
            f"allocation of treatments and teams ({result.method}, status {result.status.name}, "
            f"gap {result.gap:.4%}); a treatment scales month-1 hazards by "
            "(1 - its pay probability) / (1 - the self-cure probability)"
        ),
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "status": result.status.name,
        "runtime_s": round(result.runtime, 3),
        "expected_collected_in_period": result.totals.get("expected_collected"),
        "cost": result.totals.get("cost"),
        "capacity_multiplier": collection.capacity_multiplier,
        "accounts_by_treatment": ", ".join(
            f"{name} {count}" for name, count in table["treatment"].value_counts().items()
        ),
    }
    return Treatments(
        treatment=treatment,
        team=table["team"].astype(str).to_numpy(dtype=object),
        cost=table["cost"].to_numpy(float),
        factor=factor,
        summary=summary,
        from_cache=from_cache,
    )


def treatment_factors(frame: Any, catalogue: Any, treatment: np.ndarray) -> np.ndarray:
    """Factor on the hazards of the treatment months for each account's treatment.

    The behaviour model describes an account left to itself. The catalogue gives, per
    treatment, the probability that the account pays in the period (its ``pay_prob`` by
    tier and dpd bucket, with the preferred-channel uplift, capped, as the allocation uses);
    ``none`` is the self-cure probability. A treatment that makes a payment more likely by
    converting part of the non-paying accounts scales the default hazard by the ratio of
    non-payment probabilities ``(1 − p_treatment) / (1 − p_none)`` (1 for ``none``).
    """
    from solver.core.account import DPD_BUCKETS, TIERS

    tier = frame["tier"].astype(str).map({t: i for i, t in enumerate(TIERS)}).to_numpy()
    bucket = (
        frame["dpd_bucket"].astype(str).map({b: i for i, b in enumerate(DPD_BUCKETS)}).to_numpy()
    )
    preferred = (
        frame["preferred_channel"].astype(str).to_numpy() if "preferred_channel" in frame else None
    )

    def pay_prob(name: str, rows: np.ndarray) -> np.ndarray:
        t = catalogue.treatment(name)
        prob = t.pay_prob[tier[rows], bucket[rows]]
        if t.channel and preferred is not None:
            match = preferred[rows] == t.channel
            boosted = np.minimum(
                prob * (1 + catalogue.preferred_channel_uplift), catalogue.max_pay_prob
            )
            prob = np.where(match, boosted, prob)
        return np.asarray(prob, dtype=float)

    factor = np.ones(len(frame))
    everyone = np.arange(len(frame))
    p_none = pay_prob("none", everyone)
    for name in np.unique(treatment):
        if name in ("none", ""):
            continue
        rows = np.nonzero(treatment == name)[0]
        p = pay_prob(str(name), rows)
        factor[rows] = (1.0 - p) / np.maximum(1e-9, 1.0 - p_none[rows])
    return np.clip(factor, 0.0, None)


# -- path inputs --------------------------------------------------------------------------


def _fit(values: np.ndarray, width: int) -> np.ndarray:
    """Truncate or zero-pad the month axis to ``width``."""
    values = np.asarray(values, dtype=float)
    n, have = values.shape
    if have >= width:
        return values[:, :width].copy()
    out = np.zeros((n, width))
    out[:, :have] = values
    return out


def _dti(
    other_debt: np.ndarray, payments: np.ndarray, income: np.ndarray, term: np.ndarray
) -> np.ndarray:
    """Mean over payment months (within the term) of ``(other_debt + p_t)/Ī_t``."""
    horizon = payments.shape[1]
    months = np.arange(1, horizon + 1)
    paying = (months[None, :] <= term[:, None]) & (payments > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (other_debt[:, None] + payments) / income
    ratio = np.where(np.isfinite(ratio), ratio, DTI_BINS * DTI_BIN)  # no income: top bin
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
    shocked accounts (:func:`shocked_params`, :func:`shocked_model`), so the paths follow
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
        Per-account shocks (:func:`account_shocks`).
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
    payments = _fit(schedules.payments, horizon)
    payments[months[None, :horizon] > term[:, None]] = 0.0
    exposures = _fit(schedules.exposures, horizon + 1)
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

    from solver.core.account import DPD_BUCKETS

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
    from solver.core.model import evaluate_batch

    payments = np.asarray(schedules.payments, dtype=float)
    n, width = payments.shape
    if width <= horizon:
        return np.zeros(n)
    exposures = _fit(schedules.exposures, width)
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


# -- summaries ------------------------------------------------------------------------------


def _stats(values: np.ndarray) -> dict[str, float]:
    """Mean, spread and 95 % intervals of per-path values."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return dict.fromkeys(("mean", "std", "ci_low", "ci_high", "p2_5", "p97_5"), math.nan)
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if x.size > 1 else 0.0
    half = 1.959963984540054 * std / math.sqrt(x.size)
    low, high = (float(v) for v in np.quantile(x, [0.025, 0.975]))
    return {
        "mean": mean,
        "std": std,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "p2_5": low,
        "p97_5": high,
    }


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def path_kpis(
    outcomes: PathOutcomes,
    static: Mapping[tuple[str, str], Mapping[str, float]],
) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Per-path KPI values by segment (money in CNY).

    ``static`` holds, per segment, the figures that do not vary by path: ``accounts``,
    ``opening_balance``, ``collection_cost``, ``accounts_restructured``.
    """
    col = {name: i for i, name in enumerate(PATH_FIELDS)}
    paths = outcomes.paths
    out: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    npl_peak = None
    if outcomes.monthly:
        ratio = _ratio(outcomes.monthly["npl_balance"], outcomes.monthly["open_balance"])
        npl_peak = np.where(
            np.all(np.isnan(ratio), axis=1),
            np.nan,
            np.nanmax(np.where(np.isnan(ratio), -np.inf, ratio), axis=1),
        )
    for key, totals in outcomes.totals.items():
        fixed = static.get(key, {})

        def full(value: float) -> np.ndarray:
            return np.full(paths, float(value))

        def money(name: str, totals: np.ndarray = totals) -> np.ndarray:
            return totals[:, col[name]] / 100.0

        accounts = float(fixed.get("accounts", outcomes.segment_accounts.get(key, 0)))
        opening = float(fixed.get("opening_balance", math.nan))
        cost = float(fixed.get("collection_cost", 0.0))
        restructured = float(fixed.get("accounts_restructured", 0.0))
        cash = money("payments_nominal") + money("recoveries_nominal")
        cash_disc = money("payments_discounted") + money("recoveries_discounted")
        values = {
            "accounts": full(accounts),
            "opening_balance": full(opening),
            "cash_collected": cash,
            "cash_collected_discounted": cash_disc,
            "payments_collected": money("payments_nominal"),
            "recoveries": money("recoveries_nominal"),
            "recovery_rate": _ratio(cash_disc, full(opening)),
            "value_beyond_horizon": money("value_beyond_horizon"),
            "total_value_discounted": cash_disc + money("value_beyond_horizon"),
            "credit_loss": money("credit_loss"),
            "loss_rate": _ratio(money("credit_loss"), full(opening)),
            "defaults": totals[:, col["defaults"]].astype(float),
            "default_rate": _ratio(totals[:, col["defaults"]], full(accounts)),
            "exposure_at_default": money("exposure_at_default"),
            "balance_at_horizon": money("balance_at_horizon"),
            "npl_ratio_at_horizon": _ratio(
                totals[:, col["npl_balance_at_horizon"]], totals[:, col["balance_at_horizon"]]
            ),
            "npl_share_at_horizon": _ratio(
                totals[:, col["npl_accounts_at_horizon"]],
                totals[:, col["open_accounts_at_horizon"]],
            ),
            "collection_cost": full(cost),
            "net_collected_discounted": cash_disc - cost,
            "net_total_value_discounted": cash_disc + money("value_beyond_horizon") - cost,
            "dti_mean": outcomes.dti_mean[key],
            "dti_p90": outcomes.dti_p90[key],
            "accounts_restructured": full(restructured),
            "restructured_share": _ratio(full(restructured), full(accounts)),
            "unemployed_accounts": totals[:, col["unemployed"]].astype(float),
        }
        if key == ("total", "all") and npl_peak is not None:
            values["npl_ratio_peak"] = npl_peak
        out[key] = {k: values[k] for k in KPIS if k in values}
    return out


def kpi_table(values: Mapping[tuple[str, str], Mapping[str, np.ndarray]]) -> Any:
    """The long KPI table: one row per (segment, KPI) with mean and 95 % intervals.

    ``ci_low``/``ci_high`` bound the Monte Carlo mean (mean ± 1.96·std/√paths);
    ``p2_5``/``p97_5`` are the 2.5 % and 97.5 % points of the outcome across paths.
    Values are rounded by unit (cents, 6 decimals for ratios) so files are stable.
    """
    import pandas as pd

    rows = []
    for (segment_type, segment), kpis in values.items():
        for kpi, x in kpis.items():
            unit = KPIS[kpi][0]
            stats = _stats(x)
            if unit != "CNY" and math.isfinite(stats["ci_low"]):
                stats["ci_low"] = max(0.0, stats["ci_low"])  # counts, shares and DTIs are >= 0
            digits = UNIT_DECIMALS[unit]
            rows.append(
                {
                    "segment_type": segment_type,
                    "segment": segment,
                    "kpi": kpi,
                    "unit": unit,
                    **{k: (round(v, digits) if math.isfinite(v) else v) for k, v in stats.items()},
                }
            )
    return pd.DataFrame(rows)


def monthly_table(outcomes: PathOutcomes, initial_npl: float) -> Any:
    """Monthly series (month 0 = start): cash, payments, recoveries, defaults, NPL ratio.

    Each series has its mean and the 2.5 %/97.5 % points across paths (``_low``/``_high``).
    """
    import pandas as pd

    horizon = outcomes.horizon
    m = outcomes.monthly
    received = m["recoveries"].shape[1]
    months = max(horizon, received)
    paths = outcomes.paths

    def pad(values: np.ndarray) -> np.ndarray:
        out = np.zeros((paths, months + 1))
        out[:, 1 : values.shape[1] + 1] = values
        return out

    payments = pad(m["payments"]) / 100.0
    recoveries = pad(m["recoveries"]) / 100.0
    cash = payments + recoveries
    npl = np.full((paths, months + 1), np.nan)
    npl[:, 0] = initial_npl
    npl[:, 1 : horizon + 1] = _ratio(m["npl_balance"], m["open_balance"])
    series = {
        "cash_collected": cash,
        "cumulative_cash": np.cumsum(cash, axis=1),
        "payments_collected": payments,
        "recoveries": recoveries,
        "defaults": pad(m["defaults"]),
        "credit_loss": pad(m["credit_loss"]) / 100.0,
        "open_balance": pad(m["open_balance"]) / 100.0,
        "npl_ratio": npl,
    }
    data: dict[str, Any] = {"month": np.arange(months + 1)}
    for name, values in series.items():
        unit_digits = 6 if name == "npl_ratio" else 2
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN months past the horizon
            mean = np.nanmean(values, axis=0)
            low = np.nanquantile(values, 0.025, axis=0)
            high = np.nanquantile(values, 0.975, axis=0)
        data[f"{name}_mean"] = np.round(mean, unit_digits)
        data[f"{name}_low"] = np.round(low, unit_digits)
        data[f"{name}_high"] = np.round(high, unit_digits)
    frame = pd.DataFrame(data)
    # months past the horizon carry only recoveries in the pipeline
    for name in ("npl_ratio", "open_balance", "defaults", "credit_loss", "payments_collected"):
        for suffix in ("_mean", "_low", "_high"):
            frame.loc[frame["month"] > horizon, name + suffix] = np.nan
    return frame


def roll_rate_table(outcomes: PathOutcomes) -> Any:
    """Monthly roll rates between buckets, pooled over the horizon, with 95 % ranges.

    From bucket Mk an open account cures (→ M0), rolls (→ Mk+1, M4+ stays) or defaults
    (→ charged off). ``rate`` pools all roll paths; ``low``/``high`` are the 2.5 %/97.5 %
    points of the per-path rates.
    """
    import pandas as pd

    counts = outcomes.roll_counts.astype(float)  # (paths, 5, 3)
    pooled = counts.sum(axis=0)
    rows = []
    for i, bucket in enumerate(BUCKETS):
        from_total = counts[:, i, :].sum(axis=1)
        for j, outcome in enumerate(ROLL_OUTCOMES):
            target = {"cure": "M0", "roll": BUCKETS[min(i + 1, 4)], "default": "charged_off"}[
                outcome
            ]
            per_path = _ratio(counts[:, i, j], from_total)
            finite = per_path[~np.isnan(per_path)]
            total = pooled[i].sum()
            rows.append(
                {
                    "from_bucket": bucket,
                    "to": target,
                    "outcome": outcome,
                    "transitions": int(pooled[i, j]),
                    "rate": round(float(pooled[i, j] / total), 6) if total > 0 else math.nan,
                    "low": round(float(np.quantile(finite, 0.025)), 6) if finite.size else math.nan,
                    "high": round(float(np.quantile(finite, 0.975)), 6)
                    if finite.size
                    else math.nan,
                }
            )
    return pd.DataFrame(rows)


# -- the result -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioResult:
    """Outcome of :func:`run_scenario`.

    Attributes
    ----------
    name, description
        From the scenario.
    scenario
        The scenario that was run.
    paths, seed, horizon
        Monte Carlo settings used.
    kpis
        Long table: ``segment_type`` (total, tier, product, dpd_bucket), ``segment``,
        ``kpi``, ``unit``, ``mean``, ``std`` (across paths), ``ci_low``/``ci_high`` (95 %
        interval of the mean), ``p2_5``/``p97_5`` (95 % range of the outcome).
    accounts
        One row per account: segment, schedule family, treatment, cost and its simulated
        means next to their exact expectation (``expected_*``).
    monthly
        Month-by-month means and 95 % ranges (cash, defaults, NPL ratio, …).
    roll_rates
        Pooled monthly roll rates between buckets.
    path_values
        ``(segment_type, segment)`` → KPI → per-path values (for paired comparisons).
    notes
        How each stage was done (plans, treatments, shocks).
    timings
        Seconds per stage.
    cached_stages
        Stages served from a cache rather than computed (``portfolio``, ``plans``,
        ``treatments``): their time says nothing about the work, and reports label them
        "cached" instead of showing it.
    """

    name: str
    description: str
    scenario: Any
    paths: int
    seed: int
    horizon: int
    kpis: Any
    accounts: Any
    monthly: Any
    roll_rates: Any
    path_values: Mapping[tuple[str, str], Mapping[str, np.ndarray]]
    notes: Mapping[str, str] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)
    allocation: Mapping[str, Any] = field(default_factory=dict)
    cached_stages: tuple[str, ...] = ()

    def total(self) -> Any:
        """The portfolio-level KPI rows (indexed by KPI)."""
        rows = self.kpis[self.kpis["segment_type"] == "total"]
        return rows.set_index("kpi")

    def kpi(self, name: str, segment_type: str = "total", segment: str = "all") -> float:
        """Mean of one KPI."""
        k = self.kpis
        row = k[
            (k["segment_type"] == segment_type) & (k["segment"] == segment) & (k["kpi"] == name)
        ]
        if row.empty:
            raise KeyError(f"no KPI {name!r} for {segment_type}={segment}")
        return float(row["mean"].iloc[0])

    def segment_table(self, segment_type: str, column: str = "mean") -> Any:
        """KPIs by segment: one row per segment, one column per KPI (``mean`` by default)."""
        k = self.kpis[self.kpis["segment_type"] == segment_type]
        table = k.pivot(index="segment", columns="kpi", values=column)
        order = [name for name in KPIS if name in table.columns]
        return table[order].reset_index()

    def summary(self) -> str:
        """A short text summary of the main KPIs."""
        total = self.total()
        lines = [
            f"scenario {self.name}: {self.paths} paths x {self.horizon} months, seed {self.seed}"
        ]
        for name in (
            "cash_collected_discounted",
            "recovery_rate",
            "credit_loss",
            "default_rate",
            "npl_ratio_at_horizon",
            "collection_cost",
        ):
            if name in total.index:
                row = total.loc[name]
                lines.append(
                    f"  {name:28s} {row['mean']:>18,.4f}  "
                    f"[{row['ci_low']:,.4f}, {row['ci_high']:,.4f}]"
                )
        return "\n".join(lines)


def _static_by_segment(
    frame: Any, inputs: PathInputs, schedules: Schedules, treatments: Treatments
) -> dict[tuple[str, str], dict[str, float]]:
    opening = inputs.exposures[:, 0]
    out: dict[tuple[str, str], dict[str, float]] = {}

    def figures(mask: np.ndarray) -> dict[str, float]:
        return {
            "accounts": float(mask.sum()),
            "opening_balance": round(float(np.rint(opening[mask] * 100).sum()) / 100.0, 2),
            "collection_cost": round(float(np.rint(treatments.cost[mask] * 100).sum()) / 100.0, 2),
            "accounts_restructured": float(schedules.restructured[mask].sum()),
        }

    out[("total", "all")] = figures(np.ones(len(frame), dtype=bool))
    for name in SEGMENT_TYPES:
        labels = inputs.segments[name]
        for label in np.unique(labels):
            out[(name, str(label))] = figures(labels == label)
    return out


def run_scenario(
    scenario: Any,
    *,
    paths: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    progress: Callable[[str, int, int], None] | None = None,
    plan_cache: str | Path | None = None,
    engine: Any = None,
) -> ScenarioResult:
    """Run a scenario: choose plans and treatments, simulate paths, summarise KPIs.

    Parameters
    ----------
    scenario
        A :class:`solver.scenarios.spec.Scenario` (see :func:`solver.scenarios.spec.load_scenario`).
    paths, seed
        Override the scenario's Monte Carlo paths and seed.
    jobs
        Worker threads/processes for the plan stage and the simulation (results do not
        depend on it).
    progress
        Called as ``progress(stage, done, total)`` (stages ``plans``, ``simulate``).
    plan_cache
        Directory caching plan-stage results across processes (``None``: in-process only;
        the CLI uses :func:`default_plan_cache`).
    engine
        Execution engine (:mod:`solver.engines`, e.g. Dask): the plan stage, the allocation's
        pricing and the simulation's chunks run on its workers; every figure is identical
        to the local run.

    Returns
    -------
    ScenarioResult
    """
    import time

    import pandas as pd

    settings = scenario.simulation
    paths = int(paths if paths is not None else settings.paths)
    seed = int(seed if seed is not None else settings.seed)
    if paths < 1:
        raise ValueError(f"paths must be >= 1, got {paths}")
    horizon = settings.horizon_months
    timings: dict[str, float] = {}
    notes: dict[str, str] = {}
    cached: list[str] = []

    start = time.perf_counter()
    if portfolio_cached(scenario):
        cached.append("portfolio")
    frame = load_portfolio(scenario)
    timings["portfolio"] = time.perf_counter() - start
    shocks = account_shocks(frame, scenario.shocks)

    start = time.perf_counter()
    plan_progress = (lambda done, total: progress("plans", done, total)) if progress else None
    schedules = choose_schedules(
        frame,
        scenario,
        shocks,
        jobs=jobs,
        progress=plan_progress,
        cache_dir=plan_cache,
        engine=engine,
    )
    timings["plans"] = time.perf_counter() - start
    if schedules.from_cache:
        cached.append("plans")
    notes["plans"] = schedules.note
    if scenario.shocks.anticipated and not scenario.shocks.neutral and scenario.restructure:
        notes["plans"] += " (chosen knowing the shocks)"

    start = time.perf_counter()
    treatments = choose_treatments(frame, scenario, schedules, seed=seed, engine=engine)
    timings["treatments"] = time.perf_counter() - start
    if treatments.from_cache:
        cached.append("treatments")
    notes["treatments"] = (
        str(treatments.summary.get("note", "allocation of treatments and teams"))
        if scenario.collection.enabled
        else "no treatment stage (no collection cost, model hazards)"
    )

    inputs = build_path_inputs(
        frame,
        schedules,
        scenario.model,
        shocks,
        horizon,
        treatments=treatments,
        effect_months=scenario.collection.effect_months,
    )
    notes["shocks"] = (
        "none"
        if scenario.shocks.neutral
        else (
            "unanticipated (plans chosen before the shock)"
            if not scenario.shocks.anticipated
            else "anticipated (plans chosen knowing the shock)"
        )
    )

    start = time.perf_counter()
    sim_progress = (lambda done, total: progress("simulate", done, total)) if progress else None
    outcomes = simulate_paths(
        inputs, paths=paths, seed=seed, jobs=jobs, progress=sim_progress, engine=engine
    )
    timings["simulate"] = time.perf_counter() - start

    start = time.perf_counter()
    static = _static_by_segment(frame, inputs, schedules, treatments)
    values = path_kpis(outcomes, static)
    kpis = kpi_table(values)
    opening = inputs.exposures[:, 0]
    npl0 = float(_ratio(np.sum(opening * (inputs.initial_bucket >= 3)), np.sum(opening)))
    monthly = monthly_table(outcomes, npl0)
    rolls = roll_rate_table(outcomes)
    expected = analytic_expectation(inputs)
    accounts = pd.DataFrame(
        {
            "account_id": inputs.account_id.astype(str),
            "product": inputs.segments["product"].astype(str),
            "tier": inputs.segments["tier"].astype(str),
            "dpd_bucket": inputs.segments["dpd_bucket"].astype(str),
            "family": schedules.family.astype(str),
            "restructured": schedules.restructured,
            "plan_status": schedules.status.astype(str),
            "term": np.asarray(schedules.term, dtype=np.int64),
            "treatment": treatments.treatment.astype(str),
            "team": treatments.team.astype(str),
            "collection_cost": np.round(treatments.cost, 2),
            "opening_balance": np.round(opening, 2),
            "dti": np.round(inputs.dti, 6),
            "plan_npv": np.round(schedules.plan_npv, 2),
            "expected_collected_discounted": np.round(expected["collected_discounted"], 2),
            "mc_collected_discounted": np.round(outcomes.accounts["mc_collected_discounted"], 2),
            "expected_collected_nominal": np.round(expected["collected_nominal"], 2),
            "mc_collected_nominal": np.round(outcomes.accounts["mc_collected_nominal"], 2),
            "expected_credit_loss": np.round(expected["credit_loss"], 2),
            "mc_credit_loss": np.round(outcomes.accounts["mc_credit_loss"], 2),
            "expected_value_beyond_horizon": np.round(expected["value_beyond_horizon"], 2),
            "default_prob": np.round(expected["default_prob"], 6),
            "mc_default_prob": np.round(outcomes.accounts["mc_default_prob"], 6),
            "mc_npl_prob_at_horizon": np.round(outcomes.accounts["mc_npl_prob_at_horizon"], 6),
            "unemployment_prob": np.round(inputs.unemployment_prob, 6),
        }
    )
    timings["summarise"] = time.perf_counter() - start
    return ScenarioResult(
        name=scenario.name,
        description=scenario.description,
        scenario=scenario,
        paths=paths,
        seed=seed,
        horizon=horizon,
        kpis=kpis,
        accounts=accounts,
        monthly=monthly,
        roll_rates=rolls,
        path_values=values,
        notes=notes,
        timings=timings,
        allocation=dict(treatments.summary),
        cached_stages=tuple(cached),
    )


def compare(result: ScenarioResult, baseline: ScenarioResult) -> Any:
    """KPI deltas of ``result`` against ``baseline``, with 95 % intervals of the delta.

    When both runs have the same number of paths, the interval comes from the per-path
    differences (paths are paired by index; with the same seed the two runs share their
    random numbers, which makes the delta far more precise than either level). Otherwise
    the two means are treated as independent.

    Returns
    -------
    pandas.DataFrame
        ``segment_type``, ``segment``, ``kpi``, ``unit``, ``baseline``, ``scenario``,
        ``delta``, ``delta_pct``, ``delta_ci_low``, ``delta_ci_high``, ``significant``.
    """
    import pandas as pd

    rows = []
    for key, kpis in result.path_values.items():
        base_kpis = baseline.path_values.get(key)
        if base_kpis is None:
            continue
        for kpi, x in kpis.items():
            if kpi not in base_kpis:
                continue
            y = base_kpis[kpi]
            unit = KPIS[kpi][0]
            digits = UNIT_DECIMALS[unit]
            xs, ys = _stats(x), _stats(y)
            delta = xs["mean"] - ys["mean"]
            if len(x) == len(y) and len(x) > 1:
                diff = np.asarray(x, float) - np.asarray(y, float)
                diff = diff[~np.isnan(diff)]
                se = float(diff.std(ddof=1)) / math.sqrt(diff.size) if diff.size > 1 else 0.0
            else:
                se = math.sqrt(
                    (xs["std"] ** 2) / max(1, len(x)) + (ys["std"] ** 2) / max(1, len(y))
                )
            half = 1.959963984540054 * se
            pct = (
                delta / abs(ys["mean"])
                if ys["mean"] not in (0.0,) and math.isfinite(ys["mean"])
                else math.nan
            )
            rows.append(
                {
                    "segment_type": key[0],
                    "segment": key[1],
                    "kpi": kpi,
                    "unit": unit,
                    "baseline": round(ys["mean"], digits),
                    "scenario": round(xs["mean"], digits),
                    "delta": round(delta, digits),
                    "delta_pct": round(pct, 6) if math.isfinite(pct) else math.nan,
                    "delta_ci_low": round(delta - half, digits),
                    "delta_ci_high": round(delta + half, digits),
                    "significant": bool(half < abs(delta)) if math.isfinite(delta) else False,
                }
            )
    return pd.DataFrame(rows)


# -- sweeps --------------------------------------------------------------------------------

#: KPIs listed for every run of a sweep (mean and 95 % CI of the mean).
SWEEP_KPIS: tuple[str, ...] = (
    "total_value_discounted",
    "net_total_value_discounted",
    "cash_collected_discounted",
    "net_collected_discounted",
    "collection_cost",
    "credit_loss",
    "default_rate",
    "npl_ratio_at_horizon",
    "dti_mean",
    "accounts_restructured",
)


@dataclass(frozen=True)
class SweepResult:
    """A grid of scenario runs.

    Attributes
    ----------
    name
        The base scenario's name.
    keys
        The swept dotted keys.
    combinations
        One tuple of values per run (the grid, first key slowest).
    table
        One row per run: the swept values, ``capacity_multiplier``, then each of
        :data:`SWEEP_KPIS` with ``_ci_low``/``_ci_high``, and ``on_frontier``.
    frontier_x, frontier_y
        Columns of the efficient frontier (minimise x, maximise y).
    paths, seed
        Monte Carlo settings used for every run (the same seed: common random numbers).
    """

    name: str
    keys: tuple[str, ...]
    combinations: tuple[tuple[Any, ...], ...]
    table: Any
    frontier_x: str
    frontier_y: str
    paths: int
    seed: int


def efficient_frontier(cost: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Points not dominated by another (no other has cost ≤ and value ≥, one strictly)."""
    cost = np.asarray(cost, dtype=float)
    value = np.asarray(value, dtype=float)
    better_or_equal = (cost[None, :] <= cost[:, None]) & (value[None, :] >= value[:, None])
    strictly = (cost[None, :] < cost[:, None]) | (value[None, :] > value[:, None])
    return ~np.any(better_or_equal & strictly, axis=1)


def run_sweep(
    scenario: Any,
    assignments: Sequence[tuple[str, Sequence[Any]]],
    *,
    paths: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    frontier_x: str | None = None,
    frontier_y: str = "net_total_value_discounted",
    progress: Callable[[str, int, int], None] | None = None,
    plan_cache: str | Path | None = None,
    engine: Any = None,
) -> SweepResult:
    """Run ``scenario`` for every combination of the assigned values.

    Parameters
    ----------
    scenario
        The base scenario.
    assignments
        ``[("policy.max_deferral_months", [0, 3, 6]), …]``; the grid is their product.
    frontier_x, frontier_y
        Columns of the frontier. ``frontier_x`` defaults to ``collection_cost`` when it
        varies across the runs, else ``capacity_multiplier`` when it is swept, else
        ``dti_mean`` (the customer burden a more generous policy relieves).
    progress
        Called as ``progress(f"run i/N {label}", done, total)`` per stage.
    """
    import itertools

    import pandas as pd

    keys = tuple(key for key, _ in assignments)
    grid = tuple(itertools.product(*[list(values) for _, values in assignments]))
    rows = []
    used_paths = used_seed = 0
    for i, combo in enumerate(grid, start=1):
        variant = scenario.with_overrides(dict(zip(keys, combo, strict=True)))
        label = ", ".join(f"{k}={v}" for k, v in zip(keys, combo, strict=True))
        stage_progress = None
        if progress is not None:

            def stage_progress(
                stage: str, done: int, total: int, i: int = i, label: str = label
            ) -> None:
                progress(f"run {i}/{len(grid)} {label}: {stage}", done, total)

        result = run_scenario(
            variant,
            paths=paths,
            seed=seed,
            jobs=jobs,
            progress=stage_progress,
            plan_cache=plan_cache,
            engine=engine,
        )
        used_paths, used_seed = result.paths, result.seed
        total = result.total()
        row: dict[str, Any] = {key: value for key, value in zip(keys, combo, strict=True)}
        row["capacity_multiplier"] = variant.collection.capacity_multiplier
        for kpi in SWEEP_KPIS:
            row[kpi] = float(total.loc[kpi, "mean"])
            row[f"{kpi}_ci_low"] = float(total.loc[kpi, "ci_low"])
            row[f"{kpi}_ci_high"] = float(total.loc[kpi, "ci_high"])
        rows.append(row)
    table = pd.DataFrame(rows)
    if frontier_x is None:
        if table["collection_cost"].nunique() > 1:
            frontier_x = "collection_cost"
        elif "collection.capacity_multiplier" in keys:
            frontier_x = "capacity_multiplier"
        else:
            frontier_x = "dti_mean"
    for column in (frontier_x, frontier_y):
        if column not in table.columns:
            from solver.errors import InputError

            raise InputError(f"frontier column {column!r} is not in the sweep table")
    table["on_frontier"] = efficient_frontier(
        table[frontier_x].to_numpy(float), table[frontier_y].to_numpy(float)
    )
    return SweepResult(
        name=scenario.name,
        keys=keys,
        combinations=grid,
        table=table,
        frontier_x=frontier_x,
        frontier_y=frontier_y,
        paths=used_paths,
        seed=used_seed,
    )
