"""Scenario files (SPEC §9): what a what-if run is made of, loaded and validated.

A scenario is a TOML file::

    name = "recession"
    description = "Incomes fall 15 %; 8 % of card customers in the D/E tiers lose their job."
    extends = "baseline.toml"          # optional: start from another scenario (relative path)

    [portfolio]                        # a file ...
    path = "../data/portfolio.parquet"
    # ... or a generated portfolio
    # n = 20000
    # seed = 7
    # ... or a database table or query (any SQLAlchemy URL; an embedded database's
    # relative file path is relative to this file)
    # db = "sqlite:///bank.db"
    # table = "accounts"               # or: query = "SELECT * FROM accounts ORDER BY ..."

    [model]                            # behaviour model (SPEC §4): a file and/or inline keys
    path = "behaviour.toml"
    kappa = 0.25

    [policy]                           # restructuring policy (SPEC §5): a file and/or keys
    path = "policy.toml"
    max_deferral_months = 3

    [plans]
    restructure = true                 # false: every account stays on its contract
    grid_levels = 8                    # plan search effort (solver.plans.search_types.SearchParams);
    beam_width = 16                    # smaller is faster and may give slightly lower NPVs
    buckets = 64

    [collection]                       # treatment allocation (SPEC §8)
    treatments = "treatments.toml"
    teams = "teams.toml"
    capacity_multiplier = 0.8          # 20 % fewer collector minutes
    budget = 500000.0                  # optional total budget for the period (CNY)

    [shocks]
    income_multiplier = 0.85           # every account's income × 0.85
    unemployment_probability = 0.0     # chance an account's customer loses their job
    unemployment_income_multiplier = 0.4
    unemployment_months = 12
    vehicle_price_index = 1.0          # used-car prices × this
    cost_of_funds_change = 0.0         # added to the annual cost of funds
    hazard_multiplier = 1.0            # base default hazards × this
    anticipated = false                # true: plans are chosen knowing the shock

    [[shocks.segments]]                # extra shocks on a segment (all filters must match)
    product = "card_instalment"        # filters: product, tier, region, dpd_bucket (str or list)
    tier = ["D", "E"]
    unemployment_probability = 0.08

    [simulation]
    paths = 200
    horizon_months = 36
    seed = 2024

Rules
-----
* Relative paths are relative to the file that names them.
* ``extends`` deep-merges: the parent is loaded first (recursively), then this file's
  tables are merged key by key; arrays (``shocks.segments``, lists of tiers) are replaced
  as a whole (a file whose ``[[shocks.segments]]`` replace its parent's gets a note,
  :attr:`Scenario.notes`: repeat the parent's segments to keep them). In ``[portfolio]``, giving ``path`` drops an inherited ``n``/``seed`` and
  vice versa. A cycle of ``extends`` (a file that extends itself included) is an error.
* In ``[model]`` and ``[policy]`` the inline keys override the values of ``path``.
* Segment shocks: income and hazard multipliers multiply (with the global ones and each
  other); the unemployment probability and income multiplier of the last matching segment
  that sets them replace the global ones.
* Every problem is reported with the file and the dotted key; an unknown key names the
  closest valid one (``shocks.income_multiplyer`` → ``income_multiplier``).

Overrides (``load_scenario(path, overrides={"policy.max_deferral_months": 3})``, the
command line's ``--set``) are applied last, validated the same way, each on its own: every
problem of every override is reported together, named by its key
(``--set portfolio.n: must be a whole number, got 'abc'``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.core.sources import BookSource
from solver.errors import InputError
from solver.scenarios.shocks import Shocks, shocks_from_table
from solver.scenarios.spec_layers import (
    OVERRIDE,
    apply_overrides,
    freeze,
    key_origins,
    load_chain,
    merge_tables,
    parse_overrides,
    read_scenario_toml,
    thaw,
)

__all__ = [
    "Collection",
    "PortfolioSource",
    "Scenario",
    "SimulationSettings",
    "load_scenario",
]

# --------------------------------------------------------------------------------------
# Scenario objects
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortfolioSource:
    """Where the accounts come from: a file (``path``), a database (``db`` with ``table``
    or ``query``, read by :mod:`solver.core.sql`) or the generator (``n``, ``seed``)."""

    path: Path | None = None
    n: int | None = None
    seed: int = 0
    db: str | None = None
    table: str | None = None
    query: str | None = None

    @property
    def book(self) -> Path | BookSource | None:
        """What :func:`~solver.core.readers.read_portfolio` reads (``None``: generated)."""
        if self.db is not None:
            return BookSource(url=self.db, table=self.table, query=self.query)
        return self.path

    def describe(self) -> str:
        """One line for reports."""
        if self.db is not None or self.path is not None:
            return str(self.book)
        return f"generated: n={self.n}, seed={self.seed}"


@dataclass(frozen=True)
class Collection:
    """The treatment stage: catalogue, teams, capacity and budget (SPEC §8).

    ``effect_months`` is how many months the chosen treatment acts on the hazards (the
    allocation is for one period).
    """

    enabled: bool = False
    treatments: Path | None = None
    teams: Path | None = None
    capacity_multiplier: float = 1.0
    budget: float | None = None
    time_limit_seconds: float = 30.0
    effect_months: int = 1


@dataclass(frozen=True)
class SimulationSettings:
    """Monte Carlo settings."""

    paths: int = 200
    horizon_months: int = 36
    seed: int = 0


@dataclass(frozen=True)
class Scenario:
    """A validated, immutable scenario. Build with :func:`load_scenario`.

    Attributes
    ----------
    name, description
        For reports (``name`` defaults to the file's stem).
    source
        The file it was loaded from (``None`` when built in code).
    chain
        The files merged to build it, most basic first (``extends``).
    portfolio, model, policy, restructure, collection, shocks, simulation
        The resolved parts.
    plan_search
        Plan-search effort (``grid_levels``, ``beam_width``, ``buckets`` of
        ``solver.plans.search_types.SearchParams``); empty = the plan optimizer's defaults.
    data
        The merged TOML tables (paths absolute), read-only; overrides re-use it.
    origins
        Where each dotted key of ``data`` came from, as its messages start (``FILE: `` of
        the ``extends`` chain, or ``--set ``): the checks made after merging (a portfolio
        file that does not exist) name the file, or the ``--set``, that gave the key.
    notes
        What loading did that a reader may not expect, for the command to print as
        ``note:`` lines (a file's ``[[shocks.segments]]`` replacing its parent's).
    """

    name: str
    description: str = ""
    source: Path | None = None
    chain: tuple[Path, ...] = ()
    portfolio: PortfolioSource = field(default_factory=PortfolioSource)
    model: BehaviourModel = field(default_factory=BehaviourModel)
    policy: Policy = field(default_factory=Policy)
    restructure: bool = True
    plan_search: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    collection: Collection = field(default_factory=Collection)
    shocks: Shocks = field(default_factory=Shocks)
    simulation: SimulationSettings = field(default_factory=SimulationSettings)
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    origins: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    notes: tuple[str, ...] = ()

    def with_overrides(
        self, overrides: Mapping[str, Any] | None, override_source: str = OVERRIDE
    ) -> Scenario:
        """A copy with dotted-key overrides applied (``{"shocks.income_multiplier": 0.9}``);
        their problems are named ``override_source KEY`` (the command line's ``--set``)."""
        if not overrides:
            return self
        merged = apply_overrides(thaw(self.data), overrides, override_source)
        origins = {**self.origins, **_override_origins(overrides, override_source)}
        return _build(merged, self.source, self.chain, self.name, origins).replace(notes=self.notes)

    def replace(self, **changes: Any) -> Scenario:
        """A copy with some attributes replaced (no re-validation of ``data``)."""
        return replace(self, **changes)

    def summary(self) -> str:
        """A few lines describing the scenario (a run's result holds the scenario with the
        paths and seed it ran, so its reports' summary says what ran)."""
        s = self.shocks
        lines = [
            f"scenario {self.name}" + (f": {self.description}" if self.description else ""),
            f"  portfolio   {self.portfolio.describe()}",
            f"  plans       {'restructuring under the policy' if self.restructure else 'status quo only'}",
            "  collection  "
            + (
                f"treatments {self.collection.treatments}, capacity x{self.collection.capacity_multiplier:g}"
                if self.collection.enabled
                else "no treatment stage"
            ),
            f"  shocks      {s.describe()}",
            f"  simulation  {self.simulation.paths} paths x {self.simulation.horizon_months} months, seed {self.simulation.seed}",
        ]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------


def load_scenario(
    path: str | Path, overrides: Mapping[str, Any] | None = None, override_source: str = OVERRIDE
) -> Scenario:
    """Load, merge (``extends``) and validate a scenario file.

    Parameters
    ----------
    path
        The scenario TOML.
    overrides
        Dotted keys → values applied last, e.g. ``{"policy.max_deferral_months": 3}``.
    override_source
        How the overrides are named in messages: ``override policy.bogus: unknown key``
        (the command line passes ``--set``). A problem of a file of the ``extends`` chain
        names that file.

    Raises
    ------
    InputError
        Missing or malformed files, unknown keys (with the closest valid name), bad values,
        ``extends`` cycles.
    """
    path = Path(path)
    notes: list[str] = []
    data, chain, origins = load_chain(path, stack=(), notes=notes)
    if overrides:
        data = apply_overrides(data, overrides, override_source)
        origins.update(_override_origins(overrides, override_source))
    return _build(data, path, chain, path.stem, origins).replace(notes=tuple(notes))


def _override_origins(overrides: Mapping[str, Any], source: str) -> dict[str, str]:
    """The keys of (valid) overrides → ``"SOURCE "`` (``--set portfolio.path: ...``)."""
    return key_origins(parse_overrides(overrides) or {}, f"{source} ")


# --------------------------------------------------------------------------------------
# Building the Scenario from merged tables
# --------------------------------------------------------------------------------------


def _build(
    data: Mapping[str, Any],
    source: Path | None,
    chain: tuple[Path, ...],
    name_default: str,
    origins: Mapping[str, str],
) -> Scenario:
    data = thaw(data)
    where = str(source) if source is not None else "<scenario>"

    def at(key: str) -> str:
        """``key`` as a message names it: after the file (or ``--set``) that gave it."""
        return f"{origins.get(key, f'{where}: ')}{key}"

    portfolio = data.get("portfolio", {})
    if ("db" in portfolio) != ("table" in portfolio or "query" in portfolio):
        given = next(k for k in ("db", "table", "query") if k in portfolio)
        raise InputError(
            f"{origins.get(f'portfolio.{given}', f'{where}: ')}portfolio: 'db' (the database "
            "URL) goes with 'table' or 'query'"
        )
    if "db" in portfolio:
        portfolio_source = PortfolioSource(
            db=portfolio["db"], table=portfolio.get("table"), query=portfolio.get("query")
        )
    elif "path" in portfolio:
        portfolio_source = PortfolioSource(path=Path(portfolio["path"]))
    elif "n" in portfolio:
        portfolio_source = PortfolioSource(
            n=int(portfolio["n"]), seed=int(portfolio.get("seed", 0))
        )
    else:
        raise InputError(
            f"{where}: [portfolio] needs 'path' (a portfolio file), 'db' with 'table' or "
            "'query' (a database) or 'n' and 'seed' (a generated portfolio)"
        )
    if portfolio_source.path is not None and not portfolio_source.path.is_file():
        raise InputError(f"{at('portfolio.path')}: file not found: {portfolio_source.path}")

    model_table = dict(data.get("model", {}))
    model_path = model_table.pop("path", None)
    model_data: dict[str, Any] = {}
    if model_path is not None:
        model_data = read_scenario_toml(Path(model_path), at("model.path"), "behaviour-model")
        BehaviourModel.from_toml(model_path)  # file-specific errors first
    model_data = merge_tables(model_data, model_table)
    model = BehaviourModel.from_dict(model_data, source=f"{where}: [model]")

    policy_table = dict(data.get("policy", {}))
    policy_path = policy_table.pop("path", None)
    policy_data: dict[str, Any] = {}
    if policy_path is not None:
        policy_data = read_scenario_toml(Path(policy_path), at("policy.path"), "policy")
        Policy.from_toml(policy_path)
    policy = Policy.from_dict(merge_tables(policy_data, policy_table), source=f"{where}: [policy]")

    plans = data.get("plans", {})
    restructure = bool(plans.get("restructure", True))
    plan_search = {k: int(v) for k, v in plans.items() if k != "restructure"}

    coll = data.get("collection", {})
    treatments = Path(coll["treatments"]) if "treatments" in coll else None
    teams = Path(coll["teams"]) if "teams" in coll else None
    enabled = bool(coll.get("enabled", treatments is not None))
    if enabled and (treatments is None or teams is None):
        raise InputError(
            f"{where}: collection: the treatment stage needs both 'treatments' and 'teams' "
            "(or set enabled = false)"
        )
    for key, value in (("treatments", treatments), ("teams", teams)):
        if enabled and value is not None and not value.is_file():
            raise InputError(f"{at(f'collection.{key}')}: file not found: {value}")
    collection = Collection(
        enabled=enabled,
        treatments=treatments,
        teams=teams,
        capacity_multiplier=float(coll.get("capacity_multiplier", 1.0)),
        budget=float(coll["budget"]) if "budget" in coll else None,
        time_limit_seconds=float(coll.get("time_limit_seconds", 30.0)),
        effect_months=int(coll.get("effect_months", 1)),
    )

    shocks = shocks_from_table(data.get("shocks", {}))
    if model.cost_of_funds + shocks.cost_of_funds_change <= -0.5:
        raise InputError(
            f"{at('shocks.cost_of_funds_change')} makes the cost of funds <= -50 % (with "
            f"model.cost_of_funds {model.cost_of_funds:g})"
        )

    sim = data.get("simulation", {})
    simulation = SimulationSettings(
        paths=int(sim.get("paths", 200)),
        horizon_months=int(sim.get("horizon_months", 36)),
        seed=int(sim.get("seed", 0)),
    )
    return Scenario(
        name=str(data.get("name", name_default)),
        description=str(data.get("description", "")),
        source=source,
        chain=chain,
        portfolio=portfolio_source,
        model=model,
        policy=policy,
        restructure=restructure,
        plan_search=MappingProxyType(plan_search),
        collection=collection,
        shocks=shocks,
        simulation=simulation,
        data=freeze(data),
        origins=MappingProxyType(dict(origins)),
    )
