"""Sweeps (SPEC §9): a scenario run for every combination of a grid of parameter values.

:func:`run_sweep` runs the variants with the same seed (common random numbers), tabulates
:data:`SWEEP_KPIS` with their 95 % intervals and marks the efficient frontier of two of its
columns (:func:`solver.scenarios.frontier.efficient_frontier`).
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from solver.domain import DEFAULT_CURRENCY
from solver.errors import InputError
from solver.scenarios.frontier import efficient_frontier
from solver.scenarios.run import run_scenario

__all__ = [
    "MAX_SWEEP_RUNS",
    "SWEEP_KPIS",
    "SweepResult",
    "check_frontier_columns",
    "run_sweep",
    "sweep_columns",
    "sweep_grid",
]

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
    currency
        The currency of the amounts (the base scenario's policy's).
    """

    name: str
    keys: tuple[str, ...]
    combinations: tuple[tuple[Any, ...], ...]
    table: Any
    frontier_x: str
    frontier_y: str
    paths: int
    seed: int
    currency: str = DEFAULT_CURRENCY


#: Most runs of one ``scenario sweep`` grid (the product of the numbers of --set values).
MAX_SWEEP_RUNS = 1_000


def _point(value: Any) -> str:
    """A swept value as a grid point: numbers by their value (``1`` and ``1.0`` are one
    point), a boolean apart from the numbers (``true`` is not ``1``), anything else by its
    text."""
    if isinstance(value, bool):
        return f"bool:{value}"
    if isinstance(value, int | float):
        return f"number:{float(value)!r}"
    return repr(value)


def sweep_grid(settings: Sequence[str]) -> tuple[dict[str, Any], list[tuple[str, list[Any]]]]:
    """``--set KEY=V1,V2,...`` of ``scenario sweep`` as the settings of every run (a key
    given one value) and the grid's dimensions (``(key, values)`` of the keys given
    several), every problem of every ``--set`` raised together: malformed, a key swept
    twice, a value given twice (the same point run twice), each bad value (an unknown key
    once, not once per value), a grid of more than :data:`MAX_SWEEP_RUNS` runs.

    A key given one value is a setting of every run, not a dimension of the grid: it is
    applied to the base scenario, and only the swept keys become the table's columns and
    the frontier's labels (session 25 review).
    """
    import math

    from solver.core.problems import NOT_RUN, SET_OPTION, ProblemLog
    from solver.scenarios.spec_layers import check_override, parse_assignment

    log = ProblemLog(SET_OPTION)
    grid: list[tuple[str, list[Any]]] = []
    for text in settings:
        parsed = parse_assignment(text, log)
        if parsed is None:
            continue
        key, values = parsed
        if any(key == k for k, _ in grid):
            log.setting(key, "swept twice: each key may be swept once")
            continue
        grid.append(parsed)
        points = [_point(v) for v in values]
        twice = [repr(values[k]) for k, p in enumerate(points) if p in points[:k]]
        if twice:  # the same point run twice, silently (session 25 review)
            log.setting(key, f"value(s) given twice: {', '.join(twice)}; give each value once")
        seen: set[str] = set()
        for value in values:  # each value on its own: every bad one is listed, once
            own = ProblemLog(SET_OPTION)
            check_override(key, value, own)
            for line in own.lines():
                if line not in seen:  # an unknown key is one problem, not one per value
                    seen.add(line)
                    log.file_level.append(line)
    runs = math.prod(len(values) for _, values in grid)
    if runs > MAX_SWEEP_RUNS:
        sizes = " x ".join(f"{len(v)} ({k})" for k, v in grid)
        log.file(
            f"the grid has {runs:,} runs ({sizes}); at most {MAX_SWEEP_RUNS:,} per sweep: "
            "give fewer values"
        )
    log.raise_if_any(outcome=NOT_RUN)
    fixed = {key: values[0] for key, values in grid if len(values) == 1}
    return fixed, [(key, values) for key, values in grid if len(values) > 1]


def sweep_columns(keys: Sequence[str]) -> tuple[str, ...]:
    """The numeric columns of a sweep's table over ``keys``: the swept keys,
    ``capacity_multiplier``, and each of :data:`SWEEP_KPIS` with its interval (the
    names a frontier may use)."""
    kpis = [f"{kpi}{suffix}" for kpi in SWEEP_KPIS for suffix in ("", "_ci_low", "_ci_high")]
    return (*keys, "capacity_multiplier", *kpis)


def check_frontier_columns(keys: Sequence[str], frontier_x: str | None, frontier_y: str) -> None:
    """Refuse (exit 2) a frontier column that the sweep's table will not have."""
    columns = sweep_columns(keys)
    for option, column in (("--frontier-x", frontier_x), ("--frontier-y", frontier_y)):
        if column is not None and column not in columns:
            close = difflib.get_close_matches(column, columns, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(
                f"{option} {column!r} is not a column of the sweep table{hint}; "
                f"choose one of: {', '.join(columns)}"
            )


def run_sweep(
    scenario: Any,
    assignments: Sequence[tuple[str, Sequence[Any]]],
    *,
    frontier_x: str | None = None,
    frontier_y: str = "net_total_value_discounted",
    progress: Callable[[str, int, int], None] | None = None,
    **run_options: Any,
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
    run_options
        ``paths``, ``seed``, ``jobs``, ``plan_cache`` and ``engine``, passed to every
        :func:`~solver.scenarios.run.run_scenario` of the grid (their one definition).
    """
    keys = tuple(key for key, _ in assignments)
    # the frontier's names are checked before any run (session 23 review: a typo was found
    # only after the whole grid had run)
    check_frontier_columns(keys, frontier_x, frontier_y)
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

        result = run_scenario(variant, progress=stage_progress, **run_options)
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
        currency=str(getattr(scenario.policy, "currency", DEFAULT_CURRENCY)),
    )
