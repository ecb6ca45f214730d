"""The plan stage of a scenario run: the schedule every account follows (SPEC §9, stage 2).

Each account's recommended plan under the scenario's policy (:func:`choose_schedules`,
:func:`plan_schedules`, which call the plan optimizer) or its contract
(:func:`status_quo_schedules`), as :class:`Schedules`. With an anticipated shock the plans
are chosen on the shocked accounts and model. Planning is the slow stage, so its results
are cached in the process and on disk, keyed by the portfolio, the policy, the model, the
search effort and the bytes of the plan code (:data:`PLAN_CODE`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from solver.core.atomic import atomic_open
from solver.core.contract import status_quo_batch
from solver.domain import Status
from solver.plans.portfolio import plan_portfolio
from solver.plans.search_types import SearchParams
from solver.plans.workloads import plan_portfolio_on
from solver.scenarios.shocks import AccountShocks, anticipated_frame, shocked_model

__all__ = [
    "PLAN_CACHE",
    "PLAN_CODE",
    "Schedules",
    "choose_schedules",
    "default_plan_cache",
    "fit_months",
    "frame_digest",
    "pd_numeric",
    "plan_schedules",
    "status_quo_schedules",
]

#: Plan-stage results of this process, by cache key (a scenario and its baseline share them).
PLAN_CACHE: dict[str, Any] = {}


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


def frame_digest(frame: Any) -> str:
    """A digest of a frame's values (the cache keys' portfolio part)."""
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
            "engines/dataset.py",
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
        frame_digest(frame),
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
    if key in PLAN_CACHE:
        return replace(PLAN_CACHE[key], from_cache=True)
    cache_file = Path(cache_dir) / f"{key}.npz" if cache_dir is not None else None
    if cache_file is not None and cache_file.is_file():
        cached = _load_plans(cache_file)
        if cached is not None and len(cached.term) == len(frame):
            PLAN_CACHE[key] = cached
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
        payments, exposures = fit_months(payments, width), fit_months(exposures, width)
        payments[failed] = fit_months(quo.payments, width)
        exposures[failed] = fit_months(quo.exposures, width)
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
    if len(PLAN_CACHE) > 8:
        PLAN_CACHE.pop(next(iter(PLAN_CACHE)))
    PLAN_CACHE[key] = schedules
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


def fit_months(values: np.ndarray, width: int) -> np.ndarray:
    """Truncate or zero-pad the month axis to ``width``."""
    values = np.asarray(values, dtype=float)
    n, have = values.shape
    if have >= width:
        return values[:, :width].copy()
    out = np.zeros((n, width))
    out[:, :have] = values
    return out
