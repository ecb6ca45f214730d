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
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from solver.core.account import OWED_COLUMNS, balance_owed
from solver.core.columns import parse_numeric, strip_text, text_blank
from solver.core.files import INPUT_FORMATS
from solver.core.generate import generate_portfolio
from solver.core.readers import read_portfolio
from solver.core.schema import SPECS, normalize_column_name
from solver.core.waterfall import to_units
from solver.errors import InputError
from solver.scenarios.decisions import (
    Schedules,
    Treatments,
    build_path_inputs,
    choose_schedules,
    choose_treatments,
    clear_decision_caches,
)
from solver.scenarios.kpis import (
    ScenarioResult,
    book_difference,
    kpi_table,
    monthly_table,
    opening_npl_ratio,
    path_kpis,
    roll_rate_table,
    static_by_segment,
)
from solver.scenarios.path_inputs import PathInputs, analytic_expectation
from solver.scenarios.paths import PathOutcomes, simulate_paths
from solver.scenarios.shocks import AccountShocks, account_shocks

__all__ = [
    "check_same_book",
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


def _portfolio_key(scenario: Any) -> tuple[Any, ...]:
    source = scenario.portfolio
    if source.db is not None:  # a database's rows may change: read once per process
        return ("db", source.db, source.table, source.query)
    if source.path is not None:
        return ("path", str(source.path), source.path.stat().st_mtime_ns)
    return ("generated", source.n, source.seed)


def portfolio_cached(scenario: Any) -> bool:
    """Whether :func:`load_portfolio` would serve the scenario's portfolio from the cache."""
    return _portfolio_key(scenario) in _PORTFOLIO_CACHE


def load_portfolio(scenario: Any) -> Any:
    """The scenario's portfolio: read from its file or database, or generated (cached per
    process)."""
    source = scenario.portfolio
    key = _portfolio_key(scenario)
    if key not in _PORTFOLIO_CACHE:
        if source.book is not None:
            frame = read_portfolio(source.book)
        else:
            frame = generate_portfolio(int(source.n), seed=int(source.seed))
        _PORTFOLIO_CACHE.clear()  # keep at most one portfolio in memory
        _PORTFOLIO_CACHE[key] = frame
    return _PORTFOLIO_CACHE[key]


def check_same_book(scenario: Any, baseline: Any) -> None:
    """Refuse (exit 2) a baseline whose book differs from the scenario's, before anything
    runs: other accounts, or the same accounts with another balance owed
    (:func:`~solver.core.account.balance_owed`, compared in whole cents). Its deltas would
    measure the books' difference (:func:`~solver.scenarios.kpis.book_difference`): the
    opening balance, the plans and the losses all start from what each account owes.

    Two scenarios on one file (or one generator's ``n`` and ``seed``) pass unread. Otherwise
    each book's ``account_id`` and balance-owed columns are read, and only those, from a CSV
    or Parquet file (:func:`_owed_columns`); a generated book is generated (there is no
    file to read a column of), and a database, an Excel sheet, a TOML/JSON file or a book
    whose columns the short read cannot take at face value is read and validated whole
    (:func:`load_portfolio`: its problems are then named by file, row and column first).
    """
    if _portfolio_key(scenario) == _portfolio_key(baseline):
        return
    owed, base_owed = _owed_cents(scenario), _owed_cents(baseline)
    differs = book_difference(owed.index, base_owed.index)
    if differs is None:
        differs = _balance_difference(owed, base_owed)
    if differs is not None:
        where = baseline.source or baseline.name
        raise InputError(
            f"{where}: the baseline runs on another book than {scenario.source or scenario.name}"
            f" ({scenario.portfolio.describe()} vs {baseline.portfolio.describe()}): {differs}; "
            "deltas pair the two runs account by account, so both must run on one book "
            "(--set portfolio.… applies to both)"
        )


def _balance_difference(owed: pd.Series, base_owed: pd.Series) -> str | None:
    """How the balances owed (cents by account) of two books with the same accounts differ
    (``None``: in no account)."""
    scen = owed.to_numpy()
    base = base_owed.reindex(owed.index).to_numpy()
    differ = np.flatnonzero(scen != base)
    if not differ.size:
        return None
    first = int(differ[0])
    return (
        f"the same {len(scen):,} accounts, but {differ.size:,} owe another balance "
        f"({' + '.join(OWED_COLUMNS)}, to the cent), e.g. {owed.index[first]}: "
        f"{scen[first] / 100:,.2f} vs the baseline's {base[first] / 100:,.2f}"
    )


def _owed_cents(scenario: Any) -> pd.Series:
    """The balance owed of each account of the scenario's book, in whole cents, by id."""
    frame: Any = _owed_columns(scenario.portfolio)
    if frame is None:
        frame = load_portfolio(scenario)
    return pd.Series(
        to_units(balance_owed(frame), "balance owed"), index=pd.Index(frame["account_id"])
    )


def _owed_columns(source: Any) -> dict[str, np.ndarray] | None:
    """``account_id`` and the :data:`~solver.core.account.OWED_COLUMNS` of a CSV or Parquet
    book, read alone and parsed as the validator parses them (its parsers; a blank
    ``interest_due`` / ``fees_due`` is its default), or ``None`` for any other book and
    for one with a missing, ambiguous or unparseable column, a blank or repeated id or a
    non-finite amount: the whole validated read names those problems."""
    import pyarrow as pa

    path = source.path
    if source.db is not None or path is None:
        return None
    fmt = INPUT_FORMATS.get(path.suffix.lower())
    if fmt not in ("csv", "parquet"):
        return None
    try:
        names = _table_columns(path, fmt)
        if names is None:
            return None
        raw = _read_columns(path, fmt, list(names.values()))
    except (OSError, ValueError, pa.ArrowException):
        return None
    ids = strip_text(raw[names["account_id"]])
    if text_blank(ids).any() or ids.duplicated().any():
        return None
    parsed = {"account_id": ids.to_numpy(dtype=object)}
    for column in OWED_COLUMNS:
        if column not in names:  # optional columns: the validator gives them their default
            parsed[column] = np.full(len(raw), float(SPECS[column].default or 0.0))
            continue
        values, bad, blank = parse_numeric(raw[names[column]])
        if bad.any() or (SPECS[column].required and blank.any()):
            return None
        values[blank] = float(SPECS[column].default or 0.0)
        if not np.isfinite(values).all():
            return None
        parsed[column] = values
    return parsed


def _table_columns(path: Path, fmt: str) -> dict[str, str] | None:
    """The file's column names by their schema names (``account_id``, :data:`OWED_COLUMNS`;
    the header normalised as the validator does), or ``None`` when ``account_id`` or
    ``principal`` is missing or two headers name one column."""
    import pyarrow.csv as pv
    import pyarrow.parquet as pq

    if fmt == "parquet":
        header = pq.read_schema(path).names
    else:
        reader = pv.open_csv(path)  # reads the first block only
        header = reader.schema.names
        reader.close()
    wanted = ("account_id", *OWED_COLUMNS)
    names: dict[str, str] = {}
    for name in header:
        key = normalize_column_name(name)
        if key in wanted:
            if key in names:
                return None
            names[key] = name
    return names if {"account_id", "principal"} <= set(names) else None


def _read_columns(path: Path, fmt: str, columns: list[str]) -> pd.DataFrame:
    """Only ``columns`` of a CSV (as text, parsed by the caller) or Parquet file."""
    import pyarrow as pa
    import pyarrow.csv as pv
    import pyarrow.parquet as pq

    if fmt == "parquet":
        return pq.read_table(path, columns=columns).to_pandas()
    options = pv.ConvertOptions(
        include_columns=columns,
        column_types={name: pa.string() for name in columns},
        strings_can_be_null=True,
    )
    return pv.read_csv(path, convert_options=options).to_pandas()


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
