"""The treatment stage of a scenario run: collection treatments and their effect (SPEC §9, stage 3).

The allocation of treatments and teams under the scenario's capacity and budget
(:func:`choose_treatments`, which calls :func:`solver.allocation.portfolio.allocate`;
accounts on a signed plan get none), turned into each account's cost and the factor on
its hazards in the treatment months (:class:`Treatments`, :func:`treatment_factors`).
Allocations are cached in the process, so a scenario and its baseline with the same
accounts, files, capacity and budget share one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from solver.allocation.catalogue import Catalogue
from solver.allocation.portfolio import allocate
from solver.allocation.teams import Teams
from solver.allocation.values import payment_probability
from solver.scenarios.plan_stage import Schedules, frame_digest

__all__ = [
    "ALLOCATION_CACHE",
    "Treatments",
    "choose_treatments",
    "no_treatments",
    "treatment_factors",
]

#: Allocations of this process, by their inputs (a scenario and its baseline share them).
ALLOCATION_CACHE: dict[str, Any] = {}


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
            frame_digest(frame),
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
    result = ALLOCATION_CACHE.get(key)
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
        if len(ALLOCATION_CACHE) > 4:
            ALLOCATION_CACHE.pop(next(iter(ALLOCATION_CACHE)))
        ALLOCATION_CACHE[key] = result
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
