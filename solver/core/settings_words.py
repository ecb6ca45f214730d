"""The words of a command line's ``--set KEY=VALUE``: its values and its unknown keys.

One rule each, shared by ``workout plan`` (and ``evaluate``, ``offer``,
``plan-portfolio``), ``workout scenario run|sweep``, a policy file and a scenario file:

* :func:`setting_number` and :func:`setting_flag` read a number or a true/false value typed
  on the command line; :func:`flag_problem` says what is wrong with a true/false value
  they do not read;
* :func:`closest_key_hint`, :func:`unknown_setting_problem` and :func:`setting_key_hint`
  word an unknown key, with the closest valid name.

The policy's own keys (:data:`~solver.core.policy.POLICY_KEYS`) and its unknown-key
wording (:func:`~solver.core.policy.unknown_key_problem`) are in :mod:`solver.core.policy`.
"""

from __future__ import annotations

from collections.abc import Sequence

from solver.core.schema import BOOL_PAIRS, BOOL_WORDS
from solver.core.settings_schema import did_you_mean


def setting_number(raw: str, whole: bool = False) -> int | float | None:
    """A number typed on the command line (``--set KEY=VALUE``) as Python's ``int`` (with
    ``whole``) or ``float`` reads it, else ``None``: ``0.5``, ``.5``, ``5e-1``, ``+.5``,
    ``036``, ``1_000``.

    The one rule of a ``--set`` number, for ``workout plan`` (a policy key's value,
    :func:`solver.core.policy._setting_value`) and ``workout scenario run|sweep``
    (:func:`solver.scenarios.spec_layers.setting_value`, where the value is read as TOML
    first). Decision (session 20): a command line is not a TOML file, and ``.5`` taken by
    one command and refused by the other (TOML has no ``.5``) was a trap; the forms are
    Python's rather than the table readers' stricter ones because ``plan`` has accepted
    them since the first ``--set``.

    >>> setting_number(".5"), setting_number("036", whole=True), setting_number("abc")
    (0.5, 36, None)
    """
    try:
        return int(raw) if whole else float(raw)
    except ValueError:
        return None


def setting_flag(raw: str) -> bool | None:
    """A true/false value typed on the command line (``--set KEY=VALUE``), else ``None``:
    the words of the tables' true/false columns, any case (:data:`~solver.core.schema.BOOL_WORDS`:
    ``true``/``false``, ``yes``/``no``, ``y``/``n``, ``t``/``f``, ``1``/``0``, ``是``/``否``).

    The one rule of a ``--set`` true/false value, for ``workout plan|evaluate|offer|plan-portfolio``
    (a policy key, :func:`solver.core.policy._setting_value`; an account field's flags
    read the same words, :func:`solver.core.cleaning.clean_scalar`) and ``workout scenario
    run|sweep`` (:func:`solver.scenarios.spec_layers.setting_value`). Decision (session
    21): ``plan`` took ``yes`` and ``scenario`` (reading TOML) refused it; both now read the one
    vocabulary the project already has for true/false, rather than a second list for the
    command line: ``on``/``off`` is not taken because no table takes it. A policy or
    scenario *file* stays strict TOML (``need_test = "yes"`` is refused): a file has real
    booleans, a command line has only text.

    >>> setting_flag(" Yes"), setting_flag("0"), setting_flag("false"), setting_flag("maybe")
    (True, False, False, None)
    """
    return BOOL_WORDS.get(raw.strip().lower())


def flag_problem(raw: str, key: str = "") -> str:
    """What is wrong with a ``--set`` value of a true/false key that :func:`setting_flag`
    does not read, naming the words it takes: ``need_test must be true or false (--set
    takes true/false, t/f, ...; any case), got 'maybe'``. ``key``: the key as its table's
    problems name it (a policy key names itself; a scenario key is named by the ``--set
    KEY:`` before the problem)."""
    subject = f"{key} must" if key else "must"
    return f"{subject} be true or false (--set takes {_FLAG_WORDS}; any case), got {raw.strip()!r}"


#: The words :func:`setting_flag` reads, as :func:`flag_problem` lists them (``true/false,
#: t/f, ...``): built once, at import, from the one declaration of the pairs
#: (:data:`~solver.core.schema.BOOL_PAIRS`, which cannot hold an unpaired word).
_FLAG_WORDS = ", ".join(f"{yes}/{no}" for yes, no in BOOL_PAIRS)


def closest_key_hint(key: str, valid: Sequence[str]) -> str:
    """What follows an unknown key's ``unknown ... key``: `` (did you mean 'max_dti'?)``,
    the closest of ``valid`` (:func:`~solver.core.settings_schema.did_you_mean`'s cutoff,
    0.5), else ``; valid keys: ...``.

    The one hint of an unknown key in a table: a policy key
    (:func:`~solver.core.policy.unknown_key_problem`) and a key of a scenario's tables
    (``shocks.income_multiplierr``, :mod:`solver.scenarios.spec_schema`).

    >>> closest_key_hint("seeed", ["n", "seed"]), closest_key_hint("zzz", ["n", "seed"])
    (" (did you mean 'seed'?)", '; valid keys: n, seed')
    """
    close = did_you_mean(key, valid)
    return _hint([close] if close else [], valid)


def unknown_setting_problem(key: str, accepted: Sequence[str], listed: Sequence[str] = ()) -> str:
    """What is wrong with a key a command's ``--set`` does not take (or a scenario file's
    top level), after where it is: ``unknown key`` and :func:`setting_key_hint`.

    The one wording of a ``--set`` key that is not taken: ``workout plan`` (and
    ``evaluate``, ``offer``, ``plan-portfolio``), ``workout scenario run|sweep`` and a
    scenario file's top level. Decision (session 21): ``scenario --set max_dti=0.5``
    listed the scenario's tables and ``--set maxdti`` suggested ``simulation``; a policy
    key given without its table is the likely slip, so it is pointed to ``policy.max_dti``.

    >>> unknown_setting_problem("max_dti", ["portfolio.n", "policy.max_dti"])
    "unknown key (did you mean 'policy.max_dti'?)"
    """
    return "unknown key" + setting_key_hint(key, accepted, listed)


def setting_key_hint(key: str, accepted: Sequence[str], listed: Sequence[str] = ()) -> str:
    """What follows ``unknown key`` for a key a command's ``--set`` does not take (or a
    scenario file's top level): `` (did you mean 'policy.max_dti'?)``.

    ``accepted``: every key taken there, dotted (``income``, ``policy.max_dti``,
    ``portfolio.n``). A key that is the last part of accepted keys (``max_dti``,
    ``seed``) is pointed to each of them; any other to the closest of the accepted keys and
    of their last parts (difflib's own cutoff, 0.6: ``maxdti`` → ``policy.max_dti``).
    ``listed``: the keys listed when none is close (a scenario's tables), if any. A
    ``--set`` line names the key before the colon (:func:`unknown_setting_problem`); a
    scenario file's message after ``unknown key`` (``unknown key 'max_dti' (did you mean
    ...)``, :mod:`solver.scenarios.spec_schema`): the hint is computed once for both.

    >>> setting_key_hint("maxdti", ["portfolio.n", "policy.max_dti"])
    " (did you mean 'policy.max_dti'?)"
    """
    # each candidate spelling -> the accepted keys it stands for (a key and its last part)
    spellings: dict[str, list[str]] = {}
    for name in accepted:
        for spelling in dict.fromkeys((name, name.rpartition(".")[2])):
            spellings.setdefault(spelling, []).append(name)
    close = key if key in spellings else did_you_mean(key, list(spellings), cutoff=0.6)
    return _hint(spellings[close] if close else [], listed)


def _hint(close: Sequence[str], valid: Sequence[str]) -> str:
    """`` (did you mean 'a' or 'b'?)`` for the close keys, else ``; valid keys: ...``
    (nothing when there are none to list)."""
    if close:
        quoted = [repr(name) for name in close]
        shown = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        return f" (did you mean {shown}?)"
    return f"; valid keys: {', '.join(valid)}" if valid else ""
