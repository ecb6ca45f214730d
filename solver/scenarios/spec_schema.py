"""The scenario file's schema and its messages: what keys a scenario TOML may have.

One pydantic model per table (:data:`ScenarioFile`), each key declared once with its type
and bounds, and :func:`layer_findings`, which validates one file's tables (or one
override's) and words every problem in the scenario's terms -- the dotted key, the closest
valid name for an unknown key -- listed in the order of the file, each as a file names it
(:func:`check_layer`: ``FILE: shocks.x must be ...``) and as an override names it
(``--set shocks.x: must be ...``, :func:`solver.scenarios.spec_layers.check_overrides`). The
value rules pydantic cannot declare (one way of giving the portfolio, the behaviour
model's and the policy's own checks, segment filter values) are checked here too.
:mod:`solver.scenarios.spec` builds the :class:`~solver.scenarios.spec.Scenario` from
tables that passed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from solver.core.limits import MAX_ACCOUNTS, MAX_PATHS, MAX_SEED
from solver.core.model import BehaviourModel
from solver.core.policy import POLICY_KEYS, Policy, unknown_key_problem
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
from solver.core.settings_words import closest_key_hint, setting_key_hint
from solver.domain import TIERS
from solver.errors import InputError
from solver.scenarios.shocks import SEGMENT_FILTERS, SHOCK_KEYS, filter_value_problems

__all__ = [
    "PORTFOLIO_KINDS",
    "SCENARIO_FLAGS",
    "Finding",
    "ScenarioFile",
    "check_layer",
    "layer_findings",
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


def _dotted_keys(table: type[BaseModel], under: str = "") -> dict[str, Any]:
    """Every key of ``table`` and of its tables, dotted (``portfolio``, ``portfolio.n``),
    with its declared type (a table's model; ``bool`` for a
    :data:`~solver.core.settings_schema.Flag`)."""
    out: dict[str, Any] = {}
    for name, declared in table.model_fields.items():
        sub = out[f"{under}{name}"] = declared.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            out |= _dotted_keys(sub, f"{under}{name}.")
    return out


_DECLARED = _dotted_keys(ScenarioFile)
#: Every key a scenario takes, dotted, its tables too: what an unknown top-level key is
#: compared with (``simulaton`` → ``simulation``, ``maxdti`` → ``policy.max_dti``).
_SCENARIO_KEYS = list(_DECLARED)
#: The scenario's own true/false keys, dotted (``plans.restructure``): declared ``Flag``
#: in :data:`ScenarioFile`, read once from it. The ``[policy]`` table's true/false keys
#: are the policy's (:data:`~solver.core.policy.POLICY_FLAGS`), declared ``Any`` here.
SCENARIO_FLAGS: frozenset[str] = frozenset(k for k, t in _DECLARED.items() if t is bool)

#: The keys of a scenario's ``[policy]`` table besides the policy's own keys.
_POLICY_TABLE_ONLY = ("path", "product")

#: The three ways of giving a portfolio, by their leading key: the keys of each (a scenario
#: gives one way; a layer that gives one drops the others it extends).
PORTFOLIO_KINDS: dict[str, tuple[str, ...]] = {
    "path": ("path",),
    "db": ("db", "table", "query"),
    "n": ("n", "seed"),
}


# --------------------------------------------------------------------------------------
# Validation of one file's tables
# --------------------------------------------------------------------------------------


class Finding(NamedTuple):
    """One problem of a layer, worded for a file and for a command-line override."""

    #: Where it is, for the order of the file.
    loc: tuple[str | int, ...]
    #: The dotted key it is about (``shocks.income_multiplier``): an override's ``--set KEY``.
    key: str
    #: What is wrong with the key: ``must be a number, got 'x'``.
    what: str
    #: The problem in a file's words, after ``FILE: ``: ``shocks.x must be a number, got 'x'``.
    text: str


def _unknown(dotted: str, key: str, hint: str) -> tuple[str, str]:
    """An unknown key's problem, ``unknown key`` and ``hint`` (the closest valid names):
    ``(what, text)`` of a :data:`Finding`, the hint computed once for both."""
    location, sep, _ = dotted.rpartition(": ")
    if sep:  # a key of an entry of an array of tables: "[[shocks.segments]] entry 2: key"
        return f"unknown key{hint}", f"{location}: unknown key {key!r}{hint}"
    return f"unknown key{hint}", f"unknown key {dotted!r}{hint}"


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


def _finding(issue: Issue) -> Finding:
    """One problem in the scenario's words (``shocks.x must be in [0, 10], got 11``)."""
    dotted = _dotted(issue.loc)
    if issue.kind == "unknown" and issue.loc[:1] == ("policy",) and len(issue.loc) == 2:
        # the policy's own wording (as `workout plan --set` and a policy file say it)
        what = unknown_key_problem(issue.name, _POLICY_TABLE_ONLY)
        return Finding(issue.loc, dotted, what, f"{dotted}: {what}")
    if issue.kind == "unknown" and len(issue.loc) == 1:
        # as `workout plan --set` words it (unknown_setting_problem): `max_dti` is pointed
        # to `policy.max_dti`
        hint = setting_key_hint(issue.name, _SCENARIO_KEYS, issue.valid)
        return Finding(issue.loc, dotted, *_unknown(dotted, issue.name, hint))
    if issue.kind == "unknown":
        hint = closest_key_hint(issue.name, issue.valid)
        return Finding(issue.loc, dotted, *_unknown(dotted, issue.name, hint))
    value = issue.value
    if issue.kind == "table":
        what = "must be a table"
    elif issue.kind == "finite":
        what = f"must be finite, got {value!r}"
    elif issue.kind == "range":
        lo, hi = issue.lower, issue.upper
        if lo is not None and hi is not None:
            rule = f"in [{_bound(lo[0], issue.thousands)}, {_bound(hi[0], issue.thousands)}]"
        else:  # the schema's one-sided bounds are all lower bounds
            assert lo is not None
            rule = f"{'>=' if lo[1] else '>'} {_bound(lo[0], issue.thousands)}"
        what = f"must be {rule}, got {value!r}"
    else:
        phrase = issue.phrase
        if isinstance(value, float) and value.is_integer() and phrase == WHOLE_NUMBER:
            phrase += " written without a decimal point or exponent"
        what = f"{phrase}, got {value!r}"
    return Finding(issue.loc, dotted, what, f"{dotted} {what}")


def layer_findings(layer: Mapping[str, Any]) -> list[Finding]:
    """The problems of one file's (or one override's) tables, all of them: keys, types and
    ranges, and the value rules (filters, the model's and policy's rules) of every table
    whose keys and types are right. Listed in the order of the file."""
    try:
        ScenarioFile.model_validate(layer)
        found: list[Issue] = []
    except ValidationError as exc:
        found = issues(exc, ScenarioFile, layer)
    findings = [_finding(i) for i in found]
    # every problem of the file at once (session 25 review: an unknown [policy] key hid a
    # negative capacity_multiplier of another table); only a table with a wrong key or
    # type has its value rules skipped, since they would read what is not there
    broken = {str(i.loc[0]) for i in found if i.kind != "range" and i.loc}
    findings += _value_problems(layer, broken)
    findings.sort(key=lambda f: position(layer, f.loc))
    return findings


def check_layer(layer: Mapping[str, Any], source: str) -> None:
    """Validate one file's tables (:func:`layer_findings`); every problem names ``source``."""
    problems = [f"{source}: {f.text}" for f in layer_findings(layer)]
    if problems:
        raise InputError(f"{source}: {len(problems)} problem(s) in the scenario", problems)


def _value_problems(layer: Mapping[str, Any], broken: set[str]) -> list[Finding]:
    """The value rules the schema does not declare, each with where it is, for the tables
    not in ``broken`` (tables with a wrong key or type: their values are not read)."""
    problems: list[Finding] = []
    portfolio = layer.get("portfolio", {}) if "portfolio" not in broken else {}
    kinds = [lead for lead, keys in PORTFOLIO_KINDS.items() if set(keys) & set(portfolio)]
    what = ""
    if kinds == ["path", "n"]:  # the message of the two forms before databases
        what = "give either 'path' or 'n' (and 'seed'), not both"
    elif len(kinds) > 1:
        what = (
            "give either 'path' or 'n' (and 'seed') or 'db' (with 'table' or 'query'), not "
            f"{' and '.join(repr(k) for k in kinds)}"
        )
    elif "table" in portfolio and "query" in portfolio:
        what = "give either 'table' or 'query' with 'db', not both"
    if what:
        problems.append(Finding(("portfolio",), "portfolio", what, f"portfolio: {what}"))
    settings: tuple[tuple[str, Any], ...] = (("model", BehaviourModel), ("policy", Policy))
    for table, kind in settings:
        if table in broken:
            continue
        inline = {k: v for k, v in layer.get(table, {}).items() if k != "path"}
        if not inline:
            continue
        # one inline key (a --set): the problem is about that key
        key = f"{table}.{next(iter(inline))}" if len(inline) == 1 else table
        try:
            kind.from_dict(inline, source=f"[{table}]")
        except InputError as exc:
            for line in exc.problems or [str(exc)]:
                problems.append(Finding((table,), key, line.removeprefix(f"[{table}]: "), line))
    segments = layer.get("shocks", {}).get("segments", []) if "shocks" not in broken else []
    for i, segment in enumerate(segments):
        where = _entry("shocks.segments", i + 1)
        if not any(key in segment for key in SHOCK_KEYS):  # filters only: changes nothing
            what = f"sets no shock: give at least one of {', '.join(SHOCK_KEYS)}"
            entry: tuple[str | int, ...] = ("shocks", "segments", i)
            problems.append(Finding(entry, where, what, f"{where}: {what}"))
        for key in SEGMENT_FILTERS:
            if key in segment:
                for line in filter_value_problems({key: segment[key]}, "", where):
                    text = line.removeprefix(": ")
                    what = text.removeprefix(f"{where}: {key}: ")
                    loc = ("shocks", "segments", i, key)
                    problems.append(Finding(loc, f"{where}: {key}", what, text))
    return problems
