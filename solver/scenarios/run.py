"""Running a scenario: portfolio → plans → treatments → shocks → paths → KPIs (SPEC §9).

Stages of :func:`run_scenario`. (1) The portfolio: read, or generated from (n, seed).
(2) Plans: every account's recommended plan under the scenario's policy
(:func:`solver.plans.portfolio.plan_portfolio`; the status quo where no plan passes the NPV test, or
for every account when ``plans.restructure = false``), assumed accepted. (3) Treatments:
the allocation of treatments and teams under the scenario's (scaled) capacity and budget
(:func:`solver.allocation.portfolio.allocate`); each account's treatment costs its catalogue cost
and scales its hazards in the first ``collection.effect_months`` by
``(1 − p_treatment)/(1 − p_none)``
(:func:`~solver.scenarios.treatment_stage.treatment_factors`). (4) Shocks and paths.
(5) KPIs with 95 % intervals, in total and by tier, product and dpd bucket.

The portfolio is cached per process (a scenario and its baseline read it once), as are the
plan stage and the allocation (:mod:`solver.scenarios.decisions`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from solver.core.generate import generate_portfolio
from solver.core.readers import read_portfolio
from solver.scenarios.decisions import (
    Schedules,
    Treatments,
    build_path_inputs,
    choose_schedules,
    choose_treatments,
    clear_decision_caches,
)
from solver.scenarios.kpis import (
    kpi_table,
    monthly_table,
    opening_npl_ratio,
    path_kpis,
    roll_rate_table,
    static_by_segment,
)
from solver.scenarios.path_inputs import PathInputs, analytic_expectation
from solver.scenarios.paths import PathOutcomes, simulate_paths
from solver.scenarios.scenario_result import ScenarioResult
from solver.scenarios.shocks import AccountShocks, account_shocks

__all__ = [
    "clear_caches",
    "load_portfolio",
    "portfolio_cached",
    "run_scenario",
]

_PORTFOLIO_CACHE: dict[tuple[Any, ...], Any] = {}


def clear_caches() -> None:
    """Forget cached portfolios, plan-stage and allocation results (shared between runs)."""
    _PORTFOLIO_CACHE.clear()
    clear_decision_caches()


def portfolio_key(scenario: Any) -> tuple[Any, ...]:
    source = scenario.portfolio
    if source.db is not None:  # a database's rows may change: read once per process
        return ("db", source.db, source.table, source.query)
    if source.path is not None:
        return ("path", str(source.path), source.path.stat().st_mtime_ns)
    return ("generated", source.n, source.seed)


def portfolio_cached(scenario: Any) -> bool:
    """Whether :func:`load_portfolio` would serve the scenario's portfolio from the cache."""
    return portfolio_key(scenario) in _PORTFOLIO_CACHE


def load_portfolio(scenario: Any) -> Any:
    """The scenario's portfolio: read from its file or database, or generated (cached per
    process)."""
    source = scenario.portfolio
    key = portfolio_key(scenario)
    if key not in _PORTFOLIO_CACHE:
        if source.book is not None:
            frame = read_portfolio(source.book)
        else:
            frame = generate_portfolio(int(source.n), seed=int(source.seed))
        _PORTFOLIO_CACHE.clear()  # keep at most one portfolio in memory
        _PORTFOLIO_CACHE[key] = frame
    return _PORTFOLIO_CACHE[key]


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
        the CLI uses :func:`solver.scenarios.decisions.default_plan_cache`).
    engine
        Execution engine (:mod:`solver.engines`, e.g. Dask): the plan stage, the allocation's
        pricing and the simulation's chunks run on its workers; every figure is identical
        to the local run.

    Returns
    -------
    ScenarioResult
    """
    settings = scenario.simulation
    paths = int(paths if paths is not None else settings.paths)
    seed = int(seed if seed is not None else settings.seed)
    if paths < 1:
        raise ValueError(f"paths must be >= 1, got {paths}")
    horizon = settings.horizon_months
    # the result's scenario is what ran: --paths/--seed overrides replace the file's values,
    # so reports that print its summary (report.xlsx About, report.html) describe this run
    scenario = scenario.replace(simulation=replace(settings, paths=paths, seed=seed))
    timings: dict[str, float] = {}
    notes: dict[str, str] = {}
    cached: list[str] = []

    start = time.perf_counter()
    if portfolio_cached(scenario):
        cached.append("portfolio")
    frame = load_portfolio(scenario)
    timings["portfolio"] = time.perf_counter() - start
    shocks = account_shocks(frame, scenario.shocks)
    schedules, treatments = _decide(
        frame,
        scenario,
        shocks,
        seed=seed,
        jobs=jobs,
        progress=progress,
        plan_cache=plan_cache,
        engine=engine,
        stages=(timings, notes, cached),
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
    notes["shocks"] = _shocks_note(scenario.shocks)
    if shocks.unmatched:
        # not an error: a small generated book can legitimately miss a region; but a shock
        # that changes nothing must not pass unseen (session 25 review) -- a warning on
        # stderr and a note in the run's outputs (JSON, report notes)
        missed = "; ".join(shocks.unmatched)
        notes["segments"] = f"matching no account of the book (no effect): {missed}"
        warnings.warn(
            f"{scenario.source or scenario.name}: {missed}: matches no account of the book; "
            "its shock changes nothing",
            stacklevel=2,
        )

    start = time.perf_counter()
    sim_progress = (lambda done, total: progress("simulate", done, total)) if progress else None
    outcomes = simulate_paths(
        inputs, paths=paths, seed=seed, jobs=jobs, progress=sim_progress, engine=engine
    )
    timings["simulate"] = time.perf_counter() - start

    start = time.perf_counter()
    static = static_by_segment(inputs, schedules.restructured, treatments.cost)
    values = path_kpis(outcomes, static)
    kpis = kpi_table(values)
    monthly = monthly_table(
        outcomes, opening_npl_ratio(inputs), static[("total", "all")]["opening_balance"]
    )
    rolls = roll_rate_table(outcomes)
    accounts = _accounts_table(inputs, schedules, treatments, outcomes)
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


def _decide(
    frame: Any,
    scenario: Any,
    shocks: AccountShocks,
    *,
    seed: int,
    jobs: int,
    progress: Callable[[str, int, int], None] | None,
    plan_cache: str | Path | None,
    engine: Any,
    stages: tuple[dict[str, float], dict[str, str], list[str]],
) -> tuple[Schedules, Treatments]:
    """Stages 2 and 3: every account's plan, then the treatments; each stage's time, note
    and whether it came from a cache are recorded in ``stages`` (timings, notes, cached)."""
    timings, notes, cached = stages
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
    return schedules, treatments


def _shocks_note(shocks: Any) -> str:
    """How the shocks met the plans, for the report."""
    return (
        "none"
        if shocks.neutral
        else (
            "unanticipated (plans chosen before the shock)"
            if not shocks.anticipated
            else "anticipated (plans chosen knowing the shock)"
        )
    )


def _accounts_table(
    inputs: PathInputs, schedules: Schedules, treatments: Treatments, outcomes: PathOutcomes
) -> pd.DataFrame:
    """One row per account: segment, schedule, treatment, cost and its simulated means next
    to their exact expectation (:func:`~solver.scenarios.path_inputs.analytic_expectation`)."""
    opening = inputs.book_balance  # the book's, as the opening_balance KPI (kpis.py)
    expected = analytic_expectation(inputs)
    return pd.DataFrame(
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
            "concession_forgiven": np.round(opening - inputs.exposures[:, 0], 2),
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
