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
  as a whole. In ``[portfolio]``, giving ``path`` drops an inherited ``n``/``seed`` and
  vice versa. A cycle of ``extends`` (a file that extends itself included) is an error.
* In ``[model]`` and ``[policy]`` the inline keys override the values of ``path``.
* Segment shocks: income and hazard multipliers multiply (with the global ones and each
  other); the unemployment probability and income multiplier of the last matching segment
  that sets them replace the global ones.
* Every problem is reported with the file and the dotted key; an unknown key names the
  closest valid one (``shocks.income_multiplyer`` → ``income_multiplier``).

Overrides (``load_scenario(path, overrides={"policy.max_deferral_months": 3})``, the
command line's ``--set``) are applied last, validated the same way.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from solver.core.files import read_toml
from solver.core.limits import MAX_ACCOUNTS, MAX_PATHS, MAX_SEED
from solver.core.model import BehaviourModel
from solver.core.policy import POLICY_KEYS, Policy
from solver.core.settings_schema import (
    WHOLE_NUMBER,
    Flag,
    Issue,
    Number,
    Phrase,
    Table,
    Text,
    Texts,
    Thousands,
    WholeNumber,
    issues,
    position,
)
from solver.core.sources import BookSource
from solver.core.sql import embedded_path_relative_to
from solver.domain import TIERS
from solver.errors import InputError
from solver.scenarios.shocks import (
    SEGMENT_FILTERS,
    Shocks,
    filter_value_problems,
    shocks_from_table,
)

__all__ = [
    "Collection",
    "PortfolioSource",
    "Scenario",
    "SimulationSettings",
    "load_scenario",
    "parse_assignment",
    "parse_overrides",
]

# --------------------------------------------------------------------------------------
# The schema: one pydantic model per table, each key with its type and bounds
# (solver.core.settings_schema: strict types, so "12" is not a number and 12.0 is not a
# whole number). Every table forbids unknown keys. Values only the behaviour model and the
# policy know how to check (their ranges, the [policy.product.*] tables) are left to
# BehaviourModel.from_dict and Policy.from_dict; segment filter values to
# solver.scenarios.shocks.filter_value_problems (a did-you-mean among the values accounts
# can have, which pydantic's literal errors do not give).
# --------------------------------------------------------------------------------------


def _table(title: str, /, **keys: Any) -> type[BaseModel]:
    """A table of optional keys (absent keys take their defaults when the scenario is built)."""
    definitions: dict[str, Any] = {k: (t, None) for k, t in keys.items()}
    return create_model(title, __config__=ConfigDict(extra="forbid"), **definitions)


Multiplier = Annotated[Number, Field(ge=0.0, le=10.0)]
Probability = Annotated[Number, Field(ge=0.0, le=1.0)]
HazardMultiplier = Annotated[Number, Field(ge=0.0, le=100.0)]
AtLeastZero = Annotated[Number, Field(ge=0)]
Seed = Annotated[WholeNumber, Field(ge=0, le=MAX_SEED)]
SearchEffort = Annotated[WholeNumber, Field(ge=1)]

SegmentTable = _table(
    "SegmentTable",
    **dict.fromkeys(SEGMENT_FILTERS, Texts),
    income_multiplier=Multiplier,
    unemployment_probability=Probability,
    unemployment_income_multiplier=Probability,
    hazard_multiplier=HazardMultiplier,
)

ScenarioFile = _table(
    "ScenarioFile",
    name=Text,
    description=Text,
    extends=Text,
    portfolio=_table(
        "PortfolioTable",
        path=Text,
        db=Text,
        table=Text,
        query=Text,
        # the same ceiling as `workout generate portfolio --n` (a 10^8-account book needs
        # about 150 GB to generate; larger values are typos)
        n=Annotated[WholeNumber, Field(ge=1, le=MAX_ACCOUNTS), Thousands()],
        seed=Seed,
    ),
    model=_table(
        "ModelTable",
        path=Text,
        **{
            f.name: WholeNumber if f.type == "int" else Number
            for f in fields(BehaviourModel)
            if f.name != "base_hazard"
        },
        base_hazard=_table("BaseHazardTable", **dict.fromkeys(TIERS, Number)),
    ),
    policy=_table("PolicyTable", path=Text, **dict.fromkeys(POLICY_KEYS, Any), product=Table),
    plans=_table(
        "PlansTable",
        restructure=Flag,
        grid_levels=SearchEffort,
        beam_width=SearchEffort,
        buckets=SearchEffort,
    ),
    collection=_table(
        "CollectionTable",
        enabled=Flag,
        treatments=Text,
        teams=Text,
        capacity_multiplier=AtLeastZero,
        budget=AtLeastZero,
        time_limit_seconds=Annotated[Number, Field(gt=0)],
        effect_months=Annotated[WholeNumber, Field(ge=0)],
    ),
    shocks=_table(
        "ShocksTable",
        income_multiplier=Multiplier,
        unemployment_probability=Probability,
        unemployment_income_multiplier=Probability,
        unemployment_months=Annotated[WholeNumber, Field(ge=0)],
        vehicle_price_index=Multiplier,
        cost_of_funds_change=Annotated[Number, Field(ge=-0.5, le=0.5)],
        hazard_multiplier=HazardMultiplier,
        anticipated=Flag,
        segments=Annotated[
            list[SegmentTable],  # type: ignore[valid-type]
            Phrase("must be an array of tables ([[shocks.segments]])"),
        ],
    ),
    simulation=_table(
        "SimulationTable",
        paths=Annotated[WholeNumber, Field(ge=1, le=MAX_PATHS)],
        horizon_months=Annotated[WholeNumber, Field(ge=1, le=240)],
        seed=Seed,
    ),
)


#: The three ways of giving a portfolio, by their leading key: the keys of each (a scenario
#: gives one way; a layer that gives one drops the others it extends).
_PORTFOLIO_KINDS: dict[str, tuple[str, ...]] = {
    "path": ("path",),
    "db": ("db", "table", "query"),
    "n": ("n", "seed"),
}

#: Keys whose values are file paths (resolved against the file that names them).
PATH_KEYS: tuple[tuple[str, ...], ...] = (
    ("extends",),
    ("portfolio", "path"),
    ("model", "path"),
    ("policy", "path"),
    ("collection", "treatments"),
    ("collection", "teams"),
)


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

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> Scenario:
        """A copy with dotted-key overrides applied (``{"shocks.income_multiplier": 0.9}``)."""
        if not overrides:
            return self
        merged = _apply_overrides(_thaw(self.data), overrides)
        return _build(merged, self.source, self.chain, name_default=self.name)

    def replace(self, **changes: Any) -> Scenario:
        """A copy with some attributes replaced (no re-validation of ``data``)."""
        return replace(self, **changes)

    def summary(self) -> str:
        """A few lines describing the scenario."""
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
            "  shocks      "
            + (
                "none"
                if s.neutral
                else (
                    f"income x{s.income_multiplier:g}, unemployment {s.unemployment_probability:g}, "
                    f"vehicles x{s.vehicle_price_index:g}, cof {s.cost_of_funds_change:+g}, "
                    f"hazard x{s.hazard_multiplier:g}, {len(s.segments)} segment shock(s)"
                )
            ),
            f"  simulation  {self.simulation.paths} paths x {self.simulation.horizon_months} months, seed {self.simulation.seed}",
        ]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load, merge (``extends``) and validate a scenario file.

    Parameters
    ----------
    path
        The scenario TOML.
    overrides
        Dotted keys → values applied last, e.g. ``{"policy.max_deferral_months": 3}``.

    Raises
    ------
    InputError
        Missing or malformed files, unknown keys (with the closest valid name), bad values,
        ``extends`` cycles.
    """
    path = Path(path)
    data, chain = _load_chain(path, stack=())
    if overrides:
        data = _apply_overrides(data, overrides)
    return _build(data, path, chain, name_default=path.stem)


def _apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    layer = parse_overrides(overrides)
    _check_layer(layer, "<overrides>")
    _resolve_paths(layer, Path.cwd())
    return _merge(data, layer)


def _read_toml(path: Path, referrer: str | None = None) -> dict[str, Any]:
    where = f" (named by {referrer})" if referrer else ""
    if not path.exists():
        raise InputError(f"{path}: file not found{where}")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a TOML file{where}")
    return read_toml(path, "scenario")


def _load_chain(
    path: Path, stack: tuple[Path, ...], referrer: str | None = None
) -> tuple[dict[str, Any], tuple[Path, ...]]:
    resolved = path.resolve()
    if resolved in stack:
        cycle = " -> ".join(str(p) for p in (*stack, resolved))
        raise InputError(f"{path}: 'extends' cycle: {cycle}")
    layer = _read_toml(path, referrer)
    _check_layer(layer, str(path))
    _resolve_paths(layer, path.parent)
    parent = layer.pop("extends", None)
    if parent is None:
        return layer, (resolved,)
    base, chain = _load_chain(Path(parent), (*stack, resolved), referrer=f"{path}: extends")
    for key in ("name", "description"):  # they describe one file: not inherited
        base.pop(key, None)
    return _merge(base, layer), (*chain, resolved)


def _resolve_paths(layer: dict[str, Any], base: Path) -> None:
    for keys in PATH_KEYS:
        table = layer
        for key in keys[:-1]:
            table = table.get(key) if isinstance(table, dict) else None  # type: ignore[assignment]
            if table is None:
                break
        if isinstance(table, dict) and isinstance(table.get(keys[-1]), str):
            table[keys[-1]] = str((base / table[keys[-1]]).resolve())
    portfolio = layer.get("portfolio")
    if isinstance(portfolio, dict) and isinstance(portfolio.get("db"), str):
        portfolio["db"] = embedded_path_relative_to(portfolio["db"], base)


def _merge(base: Mapping[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: tables merge key by key, everything else (arrays too) is replaced."""
    out = _thaw(base)
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            merged = _merge(out[key], value)
            if key == "portfolio":
                # a file, a database and a generated portfolio exclude each other: the
                # newer one wins
                lead = next((k for k in _PORTFOLIO_KINDS if k in value), None)
                for other, dropped in _PORTFOLIO_KINDS.items():
                    for name in dropped if lead is not None and other != lead else ():
                        merged.pop(name, None)
                if "table" in value or "query" in value:  # one of them, the newer
                    merged.pop("query" if "table" in value else "table", None)
            out[key] = merged
        else:
            out[key] = _thaw(value)
    return out


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(v) for v in value]
    return value


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


# --------------------------------------------------------------------------------------
# Validation of one file's tables
# --------------------------------------------------------------------------------------


def _unknown(source: str, dotted: str, key: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else f"; valid keys: {', '.join(valid)}"
    location, sep, _ = dotted.rpartition(": ")
    if sep:  # a key of an entry of an array of tables: "[[shocks.segments]] entry 2: key"
        return f"{source}: {location}: unknown key {key!r}{hint}"
    return f"{source}: unknown key {dotted!r}{hint}"


def _entry(array: str, number: int) -> str:
    """Where an entry of an array of tables is, for messages: ``[[shocks.segments]] entry 2``.

    Entries are counted from 1, like the rows of a table, the months of a forecast and the
    inflows of an account; the teams file counts its ``[[teams]]`` and ``[[collectors]]``
    the same way (docs/reliability.md, "Messages").
    """
    return f"[[{array}]] entry {number}"


def _dotted(loc: Sequence[str | int]) -> str:
    """``("shocks", "segments", 0, "tier")`` → ``[[shocks.segments]] entry 1: tier``."""
    dotted = ""
    for key in loc:
        if isinstance(key, int):
            dotted = f"{_entry(dotted, key + 1)}: "
        else:
            dotted += key if not dotted or dotted.endswith(": ") else f".{key}"
    return dotted


def _bound(value: float, thousands: bool) -> str:
    if isinstance(value, int):
        return f"{value:,}" if thousands else str(value)
    return f"{value:g}"


def _message(issue: Issue, source: str) -> str:
    """One problem in the scenario's words (``SOURCE: shocks.x must be in [0, 10], got 11``)."""
    dotted = _dotted(issue.loc)
    if issue.kind == "unknown":
        return _unknown(source, dotted, issue.name, issue.valid)
    if issue.kind == "table":
        return f"{source}: {dotted} must be a table"
    value = issue.value
    if issue.kind == "finite":
        return f"{source}: {dotted} must be finite, got {value!r}"
    if issue.kind == "range":
        lo, hi = issue.lower, issue.upper
        if lo is not None and hi is not None:
            rule = f"in [{_bound(lo[0], issue.thousands)}, {_bound(hi[0], issue.thousands)}]"
        else:  # the schema's one-sided bounds are all lower bounds
            assert lo is not None
            rule = f"{'>=' if lo[1] else '>'} {_bound(lo[0], issue.thousands)}"
        return f"{source}: {dotted} must be {rule}, got {value!r}"
    phrase = issue.phrase
    if isinstance(value, float) and value.is_integer() and phrase == WHOLE_NUMBER:
        phrase += " written without a decimal point or exponent"
    return f"{source}: {dotted} {phrase}, got {value!r}"


def _check_layer(layer: Mapping[str, Any], source: str) -> None:
    """Validate one file's (or the overrides') tables: keys and types first (all of them);
    when those are right, the values (ranges, filters, the model's and policy's rules).
    Problems are listed in the order of the file."""
    try:
        ScenarioFile.model_validate(layer)
        found: list[Issue] = []
    except ValidationError as exc:
        found = issues(exc, ScenarioFile, layer)
    problems = [_message(i, source) for i in found if i.kind != "range"]
    if not problems:
        ranged = [(i.loc, _message(i, source)) for i in found]
        ranged += _value_problems(layer, source)
        ranged.sort(key=lambda p: position(layer, p[0]))
        problems = [text for _, text in ranged]
    if problems:
        raise InputError(f"{source}: {len(problems)} problem(s) in the scenario", problems)


def _value_problems(
    layer: Mapping[str, Any], source: str
) -> list[tuple[tuple[str | int, ...], str]]:
    """The value rules the schema does not declare, each with where it is."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    portfolio = layer.get("portfolio", {})
    kinds = [lead for lead, keys in _PORTFOLIO_KINDS.items() if set(keys) & set(portfolio)]
    if kinds == ["path", "n"]:  # the message of the two forms before databases
        text = f"{source}: portfolio: give either 'path' or 'n' (and 'seed'), not both"
        problems.append((("portfolio",), text))
    elif len(kinds) > 1:
        text = (
            f"{source}: portfolio: give either 'path' or 'n' (and 'seed') or 'db' (with "
            f"'table' or 'query'), not {' and '.join(repr(k) for k in kinds)}"
        )
        problems.append((("portfolio",), text))
    elif "table" in portfolio and "query" in portfolio:
        text = f"{source}: portfolio: give either 'table' or 'query' with 'db', not both"
        problems.append((("portfolio",), text))
    settings: tuple[tuple[str, Any], ...] = (("model", BehaviourModel), ("policy", Policy))
    for table, kind in settings:
        inline = {k: v for k, v in layer.get(table, {}).items() if k != "path"}
        if inline:
            try:
                kind.from_dict(inline, source=f"{source}: [{table}]")
            except InputError as exc:
                problems += [((table,), p) for p in exc.problems or [str(exc)]]
    for i, segment in enumerate(layer.get("shocks", {}).get("segments", [])):
        where = _entry("shocks.segments", i + 1)
        for key in SEGMENT_FILTERS:
            if key in segment:
                found = filter_value_problems({key: segment[key]}, source, where)
                problems += [(("shocks", "segments", i, key), p) for p in found]
    return problems


# --------------------------------------------------------------------------------------
# Building the Scenario from merged tables
# --------------------------------------------------------------------------------------


def _build(
    data: Mapping[str, Any], source: Path | None, chain: tuple[Path, ...], name_default: str
) -> Scenario:
    data = _thaw(data)
    where = str(source) if source is not None else "<scenario>"

    portfolio = data.get("portfolio", {})
    if ("db" in portfolio) != ("table" in portfolio or "query" in portfolio):
        raise InputError(
            f"{where}: portfolio: 'db' (the database URL) goes with 'table' or 'query'"
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
        raise InputError(f"{where}: portfolio.path: file not found: {portfolio_source.path}")

    model_table = dict(data.get("model", {}))
    model_path = model_table.pop("path", None)
    model_data: dict[str, Any] = {}
    if model_path is not None:
        model_data = _read_toml(Path(model_path), f"{where}: model.path")
        BehaviourModel.from_toml(model_path)  # file-specific errors first
    model_data = _merge(model_data, model_table)
    model = BehaviourModel.from_dict(model_data, source=f"{where}: [model]")

    policy_table = dict(data.get("policy", {}))
    policy_path = policy_table.pop("path", None)
    policy_data: dict[str, Any] = {}
    if policy_path is not None:
        policy_data = _read_toml(Path(policy_path), f"{where}: policy.path")
        Policy.from_toml(policy_path)
    policy = Policy.from_dict(_merge(policy_data, policy_table), source=f"{where}: [policy]")

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
            raise InputError(f"{where}: collection.{key}: file not found: {value}")
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
        raise InputError(f"{where}: shocks.cost_of_funds_change makes the cost of funds <= -50 %")

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
        data=_freeze(data),
    )


# --------------------------------------------------------------------------------------
# Overrides and --set assignments
# --------------------------------------------------------------------------------------


def parse_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys → nested tables: ``{"policy.max_deferral_months": 3}`` → ``{"policy": {...}}``."""
    nested: dict[str, Any] = {}
    for dotted, value in overrides.items():
        parts = str(dotted).split(".")
        if not all(parts):
            raise InputError(f"override {dotted!r}: empty key part")
        table = nested
        for part in parts[:-1]:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise InputError(f"override {dotted!r}: {part!r} is not a table")
        table[parts[-1]] = value
    return nested


def parse_value(raw: str) -> Any:
    """A command-line value as TOML (``3``, ``0.85``, ``true``, ``"x"``, ``[1, 2]``), else text."""
    raw = raw.strip()
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def parse_assignment(text: str) -> tuple[str, list[Any]]:
    """``policy.max_deferral_months=0,3,6`` → ``("policy.max_deferral_months", [0, 3, 6])``.

    Values are separated by commas outside brackets and parsed as TOML scalars.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or not raw.strip():
        raise InputError(f"--set {text!r}: expected KEY=VALUE[,VALUE...]")
    values: list[str] = []
    depth, current = 0, ""
    for ch in raw:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            values.append(current)
            current = ""
        else:
            current += ch
    values.append(current)
    if any(not v.strip() for v in values):
        raise InputError(f"--set {text!r}: empty value")
    return key, [parse_value(v) for v in values]
