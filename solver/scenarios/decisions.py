"""Decisions of a scenario run, and how they act on its paths (SPEC §9, stages 2 and 3).

* The plan stage: the schedule every account follows (:class:`Schedules`), its recommended
  plan under the scenario's policy (:func:`choose_schedules`, :func:`plan_schedules`) or
  the status quo, cached in the process and on disk (keyed by the portfolio, the policy,
  the model, the search effort and the plan code, :data:`PLAN_CODE`).
* The treatment stage: the allocation of treatments and teams (:func:`choose_treatments`),
  each account's treatment cost and hazard factor (:class:`Treatments`,
  :func:`treatment_factors`).
* :func:`build_path_inputs`: both applied, under the shocks, to the behaviour model's
  month probabilities: the :class:`~solver.scenarios.path_inputs.PathInputs` of the paths.
  A collection treatment scales the account's hazard in the treatment months by its
  factor (1 without a treatment stage;
  :meth:`~solver.core.model.ModelKernel.treated_hazard`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from solver.allocation.catalogue import Catalogue, Teams
from solver.allocation.portfolio import allocate
from solver.allocation.values import payment_probability
from solver.core.atomic import atomic_open
from solver.core.contract import status_quo_batch
from solver.core.evaluation import evaluate_batch
from solver.core.schema import DPD_BUCKETS
from solver.domain import Status
from solver.plans.portfolio import plan_portfolio
from solver.plans.search_types import SearchParams
from solver.plans.workloads import plan_portfolio_on
from solver.scenarios.path_inputs import SEGMENT_TYPES, PathInputs, month_probabilities
from solver.scenarios.paths import DTI_BIN, DTI_BINS
from solver.scenarios.shocks import AccountShocks, anticipated_frame, shocked_model, shocked_params

__all__ = [
    "PLAN_CODE",
    "Schedules",
    "Treatments",
    "build_path_inputs",
    "choose_schedules",
    "choose_treatments",
    "clear_decision_caches",
    "default_plan_cache",
    "no_treatments",
    "plan_schedules",
    "residual_values",
    "status_quo_schedules",
    "treatment_factors",
]

_PLAN_CACHE: dict[str, Any] = {}
_ALLOCATION_CACHE: dict[str, Any] = {}


def clear_decision_caches() -> None:
    """Forget cached plan-stage and allocation results (shared between runs)."""
    _PLAN_CACHE.clear()
    _ALLOCATION_CACHE.clear()


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

    @classmethod
    def uniform(
        cls,
        payments: np.ndarray,
        exposures: np.ndarray,
        term: Any,
        *,
        family: str,
        restructured: bool,
        note: str = "",
    ) -> Schedules:
        """Every account on one ``family`` (restructured or not), status ``ok``, NPV unknown."""
        n = len(term)
        return cls(
            payments=payments,
            exposures=exposures,
            term=np.asarray(term, dtype=np.int64),
            family=np.full(n, family, dtype=object),
            restructured=np.full(n, restructured, dtype=bool),
            plan_npv=np.full(n, np.nan),
            status=np.full(n, "ok", dtype=object),
            note=note,
        )


def status_quo_schedules(frame: Any, note: str = "status quo (no restructuring)") -> Schedules:
    """Every account on its contract (SPEC §4 status quo)."""
    payments, exposures, term = status_quo_batch(frame)
    return Schedules.uniform(
        payments, exposures, term, family="status_quo", restructured=False, note=note
    )


def _frame_digest(frame: Any) -> str:
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.blake2b(hashed.tobytes(), digest_size=16).hexdigest()


#: The plan code (paths under ``solver/``) whose bytes key the plan-stage cache: an edit to
#: any of them, the compiled loops included, invalidates cached plans. Every module of
#: ``solver/plans`` and ``solver/core`` (the model, money, schedules, accounts, policy) and
#: the other modules the planner imports (``domain.py``, ``engines/heap.py``, …), not a
#: hand-kept list: a module split off one of them (session 12 made ``core/waterfall.py``,
#: ``core/level_walk.py`` and ``plans/level_prep.py``) must never leave a stale cache, and a
#: needless miss after an edit to, say, a writer only costs one planning run.
PLAN_CODE = tuple(
    sorted(
        [
            path.relative_to(Path(__file__).resolve().parents[1]).as_posix()
            for folder in ("plans", "core")
            for path in (Path(__file__).resolve().parents[1] / folder).glob("*.py")
        ]
        # every other solver module plan_portfolio loads (tests/test_domain.py checks the list
        # against a fresh interpreter): the facts it reads (offered families, deferral modes,
        # tiers), the heap setting and the worker pool it runs in, its errors and pricing
        + [
            "_lazy.py",
            "allocation/pricing.py",
            "domain.py",
            "engines/base.py",
            "engines/heap.py",
            "engines/local.py",
            "engines/partitions.py",
            "errors.py",
        ]
    )
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

    Calls :func:`solver.plans.portfolio.plan_portfolio`. Results are cached per (portfolio, policy,
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
    n = len(frame)
    done = 0

    def step(finished: int) -> None:
        nonlocal done
        done += finished
        if progress is not None:
            progress(done, n)

    kwargs: dict[str, Any] = {}
    if search:
        kwargs["search"] = SearchParams(**search)
    if engine is not None:
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
    collection = scenario.collection
    # A signed plan stops collection (every jurisdiction profile protects `has_plan`, issue
    # 17): the accounts the plan stage restructures get no collection treatment.
    if schedules.restructured.any():
        signed = schedules.restructured
        if "has_plan" in frame.columns:
            signed = signed | frame["has_plan"].to_numpy(dtype=bool, na_value=False)
        frame = frame.assign(has_plan=signed)
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
    tier and dpd bucket, with the preferred-channel uplift, capped: the allocation's own
    :func:`solver.allocation.values.payment_probability`);
    ``none`` is the self-cure probability. A treatment that makes a payment more likely by
    converting part of the non-paying accounts scales the default hazard by the ratio of
    non-payment probabilities ``(1 − p_treatment) / (1 − p_none)`` (1 for ``none``).
    """
    pay = payment_probability(frame, catalogue)
    p_none = pay[catalogue.none_index]
    factor = np.ones(len(frame))
    for name in np.unique(treatment):
        if name in ("none", ""):
            continue
        rows = np.nonzero(treatment == name)[0]
        p = pay[catalogue.names.index(str(name)), rows]
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
