"""Typed settings tables: pydantic types for the TOML settings files, and pydantic's errors
read back as the project's own messages.

The policy (:mod:`solver.core.policy`) and the scenario files
(:mod:`solver.scenarios.spec`) declare each key once, as a pydantic type with its bounds
(``Annotated[float, Number, Field(ge=0, le=10)]``); pydantic checks types, bounds and
unknown keys, and :func:`issues` turns its :class:`~pydantic.ValidationError` into
:class:`Issue` records (where, what kind of problem, the value, the declared bounds) that
each caller words in its own long-standing style (``max_dti must be in [0, 10], got
-1.0``; ``shocks.hazard_multiplier must be in [0, 100], got -1``).

The types are strict, as the hand-written checks they replace were: TOML text is not a
number (``"12"`` is refused), ``true`` is not a number, ``nan``/``inf`` are refused.
:data:`WholeNumber` also refuses ``12.0`` (the scenario's rule, with its own wording);
:data:`LenientWholeNumber` accepts an integral float and stores the int (the policy's).

Pydantic is imported by the commands that read these files, never by ``workout --help``
(``benchmarks/bench_cli.py``).
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

import annotated_types
from pydantic import BaseModel, BeforeValidator, Field, Strict, ValidationError
from pydantic.fields import FieldInfo

__all__ = [
    "WHOLE_NUMBER",
    "Flag",
    "Issue",
    "LenientWholeNumber",
    "Number",
    "Phrase",
    "Table",
    "Text",
    "Texts",
    "Thousands",
    "WholeNumber",
    "did_you_mean",
    "issues",
    "parse_value",
    "position",
]


@dataclass(frozen=True)
class Phrase:
    """How a type is named in messages (``must be a whole number``); pydantic ignores it."""

    text: str


@dataclass(frozen=True)
class Thousands:
    """Marker: show this key's bounds with thousands separators (``100,000,000``)."""


def _integral_to_int(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


#: The phrase of both whole-number types (callers word ranges of whole numbers apart).
WHOLE_NUMBER = "must be a whole number"

Text = Annotated[str, Strict(), Phrase("must be text")]
#: An int; ``12.0`` is refused (``must be a whole number written without ...``).
WholeNumber = Annotated[int, Strict(), Phrase(WHOLE_NUMBER)]
#: An int; an integral float such as ``36.0`` is accepted and stored as ``36``.
LenientWholeNumber = Annotated[
    int, BeforeValidator(_integral_to_int), Strict(), Phrase(WHOLE_NUMBER)
]
#: A finite float; an int is accepted and stored as a float.
Number = Annotated[float, Strict(), Field(allow_inf_nan=False), Phrase("must be a number")]
Flag = Annotated[bool, Strict(), Phrase("must be true or false")]
#: Text or a non-empty list of text (stored as a list).
Texts = Annotated[
    list[Annotated[str, Strict()]],
    BeforeValidator(_one_or_many),
    Field(min_length=1),
    Phrase("must be text or a non-empty list of text"),
]
#: A free table (its keys are checked elsewhere).
Table = Annotated[dict[str, Any], Strict(), Phrase("must be a table")]


@dataclass(frozen=True)
class Issue:
    """One problem pydantic found, located in the input.

    Attributes
    ----------
    loc
        Keys (and array positions) from the top of the input to the key at fault: the
        declared key for a type or range problem, the unknown key for ``unknown``.
    path
        Where pydantic found the problem (``loc`` or deeper: an item of a list, an entry
        of a table of tables).
    kind
        ``unknown`` (a key the table does not declare), ``unknown_name`` (a table name not
        among a dict's allowed keys, e.g. a product), ``table`` (a sub-table that is not a
        table), ``type`` (wrong type: see ``phrase``), ``finite`` (nan/inf), ``range``
        (outside ``lower``/``upper``) or ``rule`` (a validator's own message in ``phrase``).
    value
        The input at ``loc`` (for ``unknown_name``: the name).
    phrase
        ``type``: the type's :class:`Phrase`; ``rule``: the whole message.
    lower, upper
        The declared bounds (``(value, inclusive)``) for ``range``; ``None`` when open.
    valid
        ``unknown``: the keys the table declares, in declaration order.
    thousands
        The key's bounds are shown with thousands separators.
    """

    loc: tuple[str | int, ...]
    path: tuple[str | int, ...]
    kind: str
    value: Any
    phrase: str = ""
    lower: tuple[float, bool] | None = None
    upper: tuple[float, bool] | None = None
    valid: tuple[str, ...] = ()
    thousands: bool = False

    @property
    def name(self) -> str:
        """The key at fault (the last key of ``loc``)."""
        return str(self.loc[-1]) if self.loc else ""


def parse_value(raw: str) -> Any:
    """A command-line value as TOML (``3``, ``0.85``, ``true``, ``"x"``, ``[1, 2]``), else
    the text: how a ``--set`` value is typed before the declared types check it, so that it
    is told as the same value in a file would be (``max_dti must be a number, got 'abc'``).

    >>> parse_value(" 0.85 "), parse_value("abc"), parse_value("36.0")
    (0.85, 'abc', 36.0)
    """
    raw = raw.strip()
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def did_you_mean(key: str, valid: Sequence[str], cutoff: float = 0.5) -> str | None:
    """The closest valid name, if one is close enough."""
    close = difflib.get_close_matches(str(key), list(valid), n=1, cutoff=cutoff)
    return close[0] if close else None


def issues(exc: ValidationError, model: type[BaseModel], data: Any) -> list[Issue]:
    """``exc`` (from ``model.model_validate(data)``) as :class:`Issue` records, in the order
    of the input (a file's problems read top to bottom), one per key."""
    out: dict[tuple[str | int, ...], Issue] = {}
    for error in exc.errors():
        issue = _issue(error, model, data)
        # one issue per key (the items of a list report on the list); each entry of a
        # table of tables on its own
        out.setdefault(issue.path if issue.kind == "table" else issue.loc, issue)
    return sorted(out.values(), key=lambda i: position(data, i.loc))


# --------------------------------------------------------------------------------------


def _issue(error: Any, model: type[BaseModel], data: Any) -> Issue:
    loc = tuple(error["loc"])
    kind = error["type"]
    field, table, depth = _declared(model, loc)
    if kind == "extra_forbidden":
        valid = tuple(table.model_fields) if table is not None else ()
        return Issue(loc, loc, "unknown", error["input"], valid=valid)
    if loc and loc[-1] == "[key]":
        return Issue(loc[:-1], loc[:-1], "unknown_name", error["input"])
    if field is None:  # the whole input is not a table
        return Issue((), loc, "table", error["input"])
    at = loc[:depth]
    value = _value_at(data, at)
    metadata = field.metadata
    phrase = next((m.text for m in metadata if isinstance(m, Phrase)), "has the wrong type")
    if kind in ("model_type", "dict_type"):
        if depth == len(loc) and _is_model(field):  # a sub-table
            return Issue(at, loc, "table", value)
        if depth == len(loc) - 1 and get_origin(_unwrap(field.annotation)) is dict:
            return Issue(loc, loc, "table", _value_at(data, loc))  # an entry of a table of tables
    if kind == "finite_number" and depth == len(loc):
        return Issue(at, loc, "finite", value, phrase)
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        lower, upper = _bounds(metadata)
        thousands = any(isinstance(m, Thousands) for m in metadata)
        return Issue(at, loc, "range", value, phrase, lower, upper, thousands=thousands)
    if kind in ("value_error", "assertion_error") and depth == len(loc):
        return Issue(at, loc, "rule", value, phrase=str(error["ctx"]["error"]))
    return Issue(at, loc, "type", value, phrase)


def _declared(
    model: type[BaseModel], loc: tuple[Any, ...]
) -> tuple[FieldInfo | None, type[BaseModel] | None, int]:
    """The deepest declared key on ``loc``: its field, the table declaring it, and how many
    items of ``loc`` lead to it. Walks nested models, ``dict[K, Model]`` and ``list[Model]``."""
    found: tuple[FieldInfo | None, type[BaseModel] | None, int] = (None, model, 0)
    current: Any = model
    i = 0
    while i < len(loc):
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(loc[i]))
            if field is None:
                return (found[0], current, found[2])
            found = (field, current, i + 1)
            current = _unwrap(field.annotation)
            i += 1
        elif get_origin(current) in (dict, Mapping) and loc[i] != "[key]":
            current = _unwrap(get_args(current)[1])
            i += 1
        elif get_origin(current) in (list, tuple) and isinstance(loc[i], int):
            current = _unwrap(get_args(current)[0])
            i += 1
        else:
            break
    return found


def _unwrap(annotation: Any) -> Any:
    """``X | None`` → ``X``; ``Annotated[X, ...]`` → ``X``."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    args = [a for a in get_args(annotation) if a is not type(None)]
    if len(args) == 1 and type(None) in get_args(annotation):
        return _unwrap(args[0])
    return annotation


def _is_model(field: FieldInfo) -> bool:
    inner = _unwrap(field.annotation)
    return isinstance(inner, type) and issubclass(inner, BaseModel)


#: annotated_types bound → (attribute, side: 0 lower / 1 upper, inclusive)
_BOUNDS = {
    annotated_types.Ge: ("ge", 0, True),
    annotated_types.Gt: ("gt", 0, False),
    annotated_types.Le: ("le", 1, True),
    annotated_types.Lt: ("lt", 1, False),
}


def _bounds(
    metadata: Sequence[Any],
) -> tuple[tuple[float, bool] | None, tuple[float, bool] | None]:
    """The declared ``(bound, inclusive)`` pairs, lower and upper (ints stay ints)."""
    found: list[tuple[float, bool] | None] = [None, None]
    for m in metadata:
        if type(m) in _BOUNDS:
            attr, side, inclusive = _BOUNDS[type(m)]
            found[side] = (getattr(m, attr), inclusive)
    return found[0], found[1]


def _value_at(data: Any, loc: tuple[Any, ...]) -> Any:
    for key in loc:
        if isinstance(data, Mapping) and key in data:
            data = data[key]
        elif isinstance(data, list | tuple) and isinstance(key, int) and key < len(data):
            data = data[key]
        else:
            return None
    return data


def position(data: Any, loc: tuple[Any, ...]) -> tuple[int, ...]:
    """Where ``loc`` is in the input: the index of each key in its table (file order)."""
    out: list[int] = []
    for key in loc:
        if isinstance(data, Mapping):
            keys = list(data)
            out.append(keys.index(key) if key in keys else len(keys))
            data = data.get(key)
        elif isinstance(data, list | tuple) and isinstance(key, int):
            out.append(key)
            data = data[key] if key < len(data) else None
        else:
            break
    return tuple(out)
