"""Scenario files as layers: reading, ``extends`` merging, overrides and ``--set`` values.

A scenario is the deep merge of its ``extends`` chain (the most basic file first), each
file's relative paths resolved against that file, and then the overrides (dotted keys, the
command line's ``--set``) as one more layer. This module reads the files, follows the
chain (refusing cycles), merges tables key by key (arrays replaced whole; a portfolio
given one way drops the other ways it extends) and parses command-line assignments into
values and dotted keys; every layer is validated by
:func:`solver.scenarios.spec_schema.check_layer` before it is merged, and each override on
its own (:func:`check_overrides`), so that every problem of every ``--set`` is reported
together, named ``--set KEY``. The file (or ``--set``) each key came from is kept
(:func:`key_origins`) for the checks made after merging.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from solver.core.files import read_toml
from solver.core.policy import POLICY_FLAGS
from solver.core.problems import NOT_RUN, SET_OPTION, SWEEP_SET_FORM, ProblemLog
from solver.core.settings_schema import parse_value
from solver.core.settings_words import flag_problem, setting_flag, setting_number
from solver.core.sql import embedded_path_relative_to
from solver.errors import InputError
from solver.scenarios.spec_schema import (
    PORTFOLIO_KINDS,
    SCENARIO_FLAGS,
    check_layer,
    layer_findings,
)

__all__ = [
    "PATH_KEYS",
    "OVERRIDE",
    "apply_overrides",
    "check_override",
    "check_overrides",
    "check_together",
    "freeze",
    "key_origins",
    "load_chain",
    "merge_tables",
    "parse_assignment",
    "parse_overrides",
    "parse_value",
    "read_scenario_toml",
    "setting_value",
    "thaw",
]

#: Keys whose values are file paths (resolved against the file that names them).
PATH_KEYS: tuple[tuple[str, ...], ...] = (
    ("extends",),
    ("portfolio", "path"),
    ("model", "path"),
    ("policy", "path"),
    ("collection", "treatments"),
    ("collection", "teams"),
)


#: How overrides given in code are named in messages (the command line's are ``--set``).
OVERRIDE = "override"


def apply_overrides(
    data: Mapping[str, Any], overrides: Mapping[str, Any], source: str = OVERRIDE
) -> dict[str, Any]:
    """``data`` with dotted-key overrides merged in last (validated; paths against the cwd).

    Every problem of every override is raised together, each as ``SOURCE KEY: what is
    wrong`` (``--set portfolio.n: must be a whole number, got 'abc'``:
    :func:`check_overrides`).
    """
    log = ProblemLog(source)
    layer = check_overrides(overrides, log)
    log.raise_if_any(outcome=NOT_RUN)
    _resolve_paths(layer, Path.cwd())
    return merge_tables(data, layer)


def key_origins(layer: Mapping[str, Any], label: str, under: str = "") -> dict[str, str]:
    """Each dotted key of ``layer`` (tables followed, arrays whole) → ``label``: where a
    key of the merged scenario came from, for the messages of checks made after merging.

    ``label`` is how a message starts before the key: ``"FILE: "`` for a file (``FILE:
    portfolio.path: file not found``), ``"--set "`` for an override (``--set
    portfolio.path: file not found``).
    """
    out: dict[str, str] = {}
    for key, value in layer.items():
        dotted = f"{under}{key}"
        out[dotted] = label
        if isinstance(value, Mapping):
            out.update(key_origins(value, label, f"{dotted}."))
    return out


def check_overrides(overrides: Mapping[str, Any], log: ProblemLog) -> dict[str, Any]:
    """Validate dotted-key overrides into ``log``; their nested layer (when ``log`` is clean).

    Each override is checked as a layer of its own, so that one override's unknown key does
    not hide another's bad value (a file's keys and types are checked before its values,
    :func:`~solver.scenarios.spec_schema.layer_findings`); then, when all pass, together
    (rules across keys: one way of giving the portfolio). Problems name the override's key
    as given (:meth:`ProblemLog.setting`).
    """
    for dotted, value in overrides.items():
        check_override(dotted, value, log)
    return check_together(overrides, log)


def check_together(overrides: Mapping[str, Any], log: ProblemLog) -> dict[str, Any]:
    """The second step of :func:`check_overrides`, for overrides each already checked on
    its own (:func:`check_override`): when ``log`` is clean, the rules across keys; their
    nested layer (empty when ``log`` has problems)."""
    if log.count:
        return {}
    layer = parse_overrides(overrides, log)
    for finding in layer_findings(layer or {}):
        log.setting(finding.key, finding.what)
    return layer or {}


def check_override(dotted: str, value: Any, log: ProblemLog) -> None:
    """Validate one dotted-key override on its own into ``log`` (:func:`check_overrides`)."""
    if dotted.strip() == "extends":  # merged before the overrides: it would be ignored
        log.setting(dotted, "cannot be overridden: give a scenario file that extends it")
        return
    single = parse_overrides({dotted: value}, log)
    for finding in layer_findings(single or {}):
        log.setting(finding.key, finding.what)


def read_scenario_toml(
    path: Path, referrer: str | None = None, what: str = "scenario"
) -> dict[str, Any]:
    """One TOML file's tables; ``referrer`` names the key that pointed to it, ``what`` the
    kind of file (a scenario's ``policy.path`` names a ``policy`` file, its ``model.path``
    a ``behaviour-model`` file), for messages."""
    where = f" (named by {referrer})" if referrer else ""
    if not path.exists():
        raise InputError(f"{path}: file not found{where}")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a TOML file{where}")
    try:
        return read_toml(path, what)
    except InputError as exc:  # not TOML, not UTF-8, empty...: say which key named it
        raise InputError(f"{exc.args[0]}{where}", exc.problems) from None


def load_chain(
    path: Path,
    stack: tuple[Path, ...],
    referrer: str | None = None,
    notes: list[str] | None = None,
) -> tuple[dict[str, Any], tuple[Path, ...], dict[str, str]]:
    """``path`` merged onto its ``extends`` chain (validated), the chain's files, and the
    file each key came from (:func:`key_origins`).

    ``stack`` holds the files already being loaded, to refuse a cycle. ``notes`` collects
    what the merge did that a reader may not expect: a file's ``[[shocks.segments]]``
    replacing its parent's list as a whole (arrays are not merged).
    """
    resolved = path.resolve()
    if resolved in stack:
        cycle = " -> ".join(str(p) for p in (*stack, resolved))
        raise InputError(f"{path}: 'extends' cycle: {cycle}")
    layer = read_scenario_toml(path, referrer)
    check_layer(layer, str(path))
    _resolve_paths(layer, path.parent)
    parent = layer.pop("extends", None)
    origins = key_origins(layer, f"{path}: ")
    if parent is None:
        return layer, (resolved,), origins
    base, chain, inherited = load_chain(
        Path(parent), (*stack, resolved), referrer=f"{path}: extends", notes=notes
    )
    for key in ("name", "description"):  # they describe one file: not inherited
        base.pop(key, None)
    inherited_segments = base.get("shocks", {}).get("segments")
    if notes is not None and inherited_segments and "segments" in layer.get("shocks", {}):
        # session 25 review: the replacement was silent, and a child adding one segment
        # lost its parent's
        notes.append(
            f"{path}: its [[shocks.segments]] replace the {len(inherited_segments)} "
            f"inherited from {parent} (arrays are replaced, not merged: repeat the "
            "parent's segments to keep them)"
        )
    return merge_tables(base, layer), (*chain, resolved), {**inherited, **origins}


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


def merge_tables(base: Mapping[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: tables merge key by key, everything else (arrays too) is replaced."""
    out = thaw(base)
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            merged = merge_tables(out[key], value)
            if key == "portfolio":
                # a file, a database and a generated portfolio exclude each other: the
                # newer one wins
                lead = next((k for k in PORTFOLIO_KINDS if k in value), None)
                for other, dropped in PORTFOLIO_KINDS.items():
                    for name in dropped if lead is not None and other != lead else ():
                        merged.pop(name, None)
                if "table" in value or "query" in value:  # one of them, the newer
                    merged.pop("query" if "table" in value else "table", None)
            out[key] = merged
        else:
            out[key] = thaw(value)
    return out


def thaw(value: Any) -> Any:
    """A mutable deep copy: mappings to dicts, sequences to lists."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(v) for v in value]
    return value


def freeze(value: Any) -> Any:
    """A read-only deep copy: mappings to ``MappingProxyType``, sequences to tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


# --------------------------------------------------------------------------------------
# Overrides and --set assignments
# --------------------------------------------------------------------------------------


def parse_overrides(
    overrides: Mapping[str, Any], log: ProblemLog | None = None
) -> dict[str, Any] | None:
    """Dotted keys → nested tables: ``{"policy.max_deferral_months": 3}`` → ``{"policy": {...}}``.

    A malformed key (an empty part, a key under a value) is added to ``log`` (``None`` is
    returned), or raised without a log.
    """
    own = log if log is not None else ProblemLog(OVERRIDE)
    before = own.count
    nested: dict[str, Any] = {}
    for dotted, value in overrides.items():
        parts = str(dotted).split(".")
        if not all(parts):
            own.setting(str(dotted), "empty key part")
            continue
        table = nested
        for part in parts[:-1]:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                own.setting(str(dotted), f"{part!r} is set to a value, not a table")
                break
        else:
            table[parts[-1]] = value
    if log is None:
        own.raise_if_any(outcome=NOT_RUN)
    return None if own.count > before else nested


def parse_assignment(
    text: str, log: ProblemLog | None = None, form: str = SWEEP_SET_FORM
) -> tuple[str, list[Any]] | None:
    """``policy.max_deferral_months=0,3,6`` → ``("policy.max_deferral_months", [0, 3, 6])``.

    Values are separated by commas outside brackets and parsed as TOML scalars. A malformed
    assignment is added to ``log`` (``None`` is returned), or raised without a log, as
    ``expected FORM``: ``form`` is the form the command accepts (``scenario sweep``'s
    list of values by default; ``scenario run`` takes one value,
    :data:`~solver.core.problems.SET_FORM`).
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
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
    problems: list[str] = []
    parsed: list[Any] = []
    if not sep or not key or not raw.strip():
        problems.append(f"expected {form}")
    elif any(not v.strip() for v in values):
        problems.append("empty value")
    else:
        for value in values:  # each on its own: every value a true/false key refuses
            try:
                parsed.append(setting_value(value, key))
            except ValueError as exc:
                problems.append(str(exc))
    if problems:
        own = log if log is not None else ProblemLog(SET_OPTION)
        for problem in problems:
            own.setting(key or repr(text), problem)
        if log is None:
            own.raise_if_any(outcome=NOT_RUN)
        return None
    return key, parsed


def setting_value(raw: str, key: str = "") -> Any:
    """One ``--set`` value of ``scenario run|sweep``: its TOML value (``3``, ``0.85``,
    ``true``, ``"x"``, ``[1, 2]``: :func:`parse_value`), else a number in a form
    ``workout plan`` takes and TOML does not (``.5``, ``036``:
    :func:`solver.core.settings_words.setting_number`), else the text. The value of a
    true/false ``key`` (``plans.restructure``, ``policy.need_test``) is read as ``workout
    plan`` reads one (``yes``, ``0``: :func:`solver.core.settings_words.setting_flag`);
    other text is a ``ValueError`` naming the words taken
    (:func:`solver.core.settings_words.flag_problem`).

    Decision (session 20): TOML first, so that every value that read before reads the same
    (a quoted ``".5"`` stays text); the number forms only for text TOML refuses. Text a
    text key should keep although it reads as a number (a table named ``036``) is quoted
    (``--set 'portfolio.table="036"'``), as TOML asks for ``12`` already.

    >>> setting_value(".5"), setting_value("036"), setting_value('".5"'), setting_value("a.csv")
    (0.5, 36, '.5', 'a.csv')
    >>> setting_value("yes", "plans.restructure"), setting_value("0", "policy.need_test")
    (True, False)
    """
    named = _flag_name(key)
    if named is not None:
        flag = setting_flag(raw)
        if flag is None:
            raise ValueError(flag_problem(raw, named))
        return flag
    value = parse_value(raw)
    # parse_value gives the text back unchanged only when TOML refused it: a TOML string
    # loses its quotes
    if isinstance(value, str) and value == raw.strip():
        number = setting_number(value, whole=True)
        if number is None:
            number = setting_number(value)
        return value if number is None else number
    return value


def _flag_name(dotted: str) -> str | None:
    """``None`` unless the scenario key ``dotted`` is true/false; then how its problem
    names it: a policy key (``policy.need_test``, ``policy.product.P.need_test``) by its
    name, as the policy words its problems; a key of the scenario's own tables
    (``plans.restructure``, :data:`~solver.scenarios.spec_schema.SCENARIO_FLAGS`, read
    once from the schema) not at all, as the scenario's schema words them (the ``--set
    KEY:`` before the problem names it)."""
    parts = dotted.strip().split(".")
    if parts[0] == "policy" and parts[-1] in POLICY_FLAGS:
        if len(parts) == 2 or (len(parts) == 4 and parts[1] == "product"):
            return parts[-1]
    return "" if ".".join(parts) in SCENARIO_FLAGS else None
