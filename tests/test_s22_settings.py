"""Small mends of the ``--set`` / settings code and the objective options (session 22,
from the last code review); every message stays as it was.

1. The true/false words are declared once, as (true, false) pairs
   (``solver.core.schema.BOOL_PAIRS``); ``flag_problem`` lists the pairs built at import
   instead of zipping the true and the false words (``strict=True``) at every call, where a
   word added on one side only raised ``ValueError`` on a user's input.
2. A scenario's unknown key: the hint (``did you mean ...`` / ``valid keys: ...``) is
   computed once for the override's and the file's wording, and a key of a scenario's
   tables takes the policy's one hint rule (``closest_key_hint``, difflib cutoff 0.5, as
   before) instead of a copy.
3. The scenario's own true/false keys are read once from its schema
   (``spec_schema.SCENARIO_FLAGS``), not by walking the schema for every ``--set`` value.
4. ``--objective``'s choices and ``--within``'s default are ``solver.plans.objectives``'s,
   the one definition the planner and the service use too (a module without imports, so
   ``--help`` stays light: tests/test_cli_startup.py).

Which fail on main (4776e94): every test but the pinned messages
(``test_flag_problem_wording_is_unchanged``, ``test_unknown_key_messages_are_unchanged``),
which hold on main and here.
"""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from pathlib import Path

import click
import click.testing
import pytest

import solver.core.settings_words as words_module
from solver.core.settings_words import flag_problem
from solver.scenarios.spec_schema import layer_findings

ROOT = Path(__file__).resolve().parents[1]

#: The true/false words with their meanings, written out from schema.py's rule ("true/
#: false, yes/no, y/n, t/f, 1/0 and 是/否"; ``1.0``/``0.0`` as a float column writes them).
WORDS = {
    "true": True,
    "false": False,
    "t": True,
    "f": False,
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
    "1": True,
    "0": False,
    "1.0": True,
    "0.0": False,
    "是": True,
    "否": False,
}

#: flag_problem's message for need_test=maybe, as main words it.
MAYBE = (
    "need_test must be true or false (--set takes true/false, t/f, yes/no, y/n, 1/0, "
    "1.0/0.0, 是/否; any case), got 'maybe'"
)


def test_flag_words_are_declared_as_pairs():
    """BOOL_PAIRS holds every true/false word once, each pair a true word and a false word,
    and BOOL_WORDS is exactly those words with their meanings."""
    from solver.core.schema import BOOL_PAIRS, BOOL_WORDS

    assert all(len(pair) == 2 for pair in BOOL_PAIRS)
    assert [WORDS[yes] for yes, _ in BOOL_PAIRS] == [True] * len(BOOL_PAIRS)
    assert [WORDS[no] for _, no in BOOL_PAIRS] == [False] * len(BOOL_PAIRS)
    assert sorted(w for pair in BOOL_PAIRS for w in pair) == sorted(WORDS)
    assert BOOL_WORDS == WORDS


def test_flag_problem_wording_is_unchanged():
    """flag_problem's message lists the words as true/false pairs, as it did."""
    assert flag_problem(" maybe ", "need_test") == MAYBE
    assert flag_problem("x") == MAYBE.replace("need_test must", "must").replace("'maybe'", "'x'")


def test_flag_problem_does_not_pair_words_at_call_time(monkeypatch):
    """A word the tables' dictionary has on one side only no longer makes a user's bad
    --set value raise ValueError: the pairs are built once, from the pairs' declaration."""
    monkeypatch.setitem(words_module.BOOL_WORDS, "on", True)
    assert flag_problem("maybe", "need_test") == MAYBE


def _counting(monkeypatch) -> list[str]:
    """Count the calls of the policy's closest-name rule (did_you_mean)."""
    calls: list[str] = []
    real = words_module.did_you_mean

    def counted(key, valid, cutoff=0.5):
        calls.append(key)
        return real(key, valid, cutoff=cutoff)

    monkeypatch.setattr(words_module, "did_you_mean", counted)
    return calls


def test_top_level_unknown_key_hint_is_computed_once(monkeypatch):
    """A scenario's unknown top-level key: one closest-name search gives both the
    override's and the file's wording."""
    calls = _counting(monkeypatch)
    [finding] = layer_findings({"simulaton": {"paths": 10}})
    assert calls == ["simulaton"]
    assert finding.what == "unknown key (did you mean 'simulation'?)"
    assert finding.text == "unknown key 'simulaton' (did you mean 'simulation'?)"


def test_table_unknown_key_takes_the_policy_hint_rule(monkeypatch):
    """A scenario table's unknown key is hinted by the policy's one rule (did_you_mean),
    not by a copy of it."""
    calls = _counting(monkeypatch)
    [finding] = layer_findings({"shocks": {"income_multiplierr": 1.0}})
    assert calls == ["income_multiplierr"]
    assert finding.text == (
        "unknown key 'shocks.income_multiplierr' (did you mean 'income_multiplier'?)"
    )


@pytest.mark.parametrize(
    ("layer", "text"),
    [
        # a ratio of exactly 0.5 to 'seed' (difflib, below): the cutoff is still 0.5
        ({"simulation": {"sxxd": 1}}, "unknown key 'simulation.sxxd' (did you mean 'seed'?)"),
        (
            {"simulation": {"qqqq": 1}},
            "unknown key 'simulation.qqqq'; valid keys: paths, horizon_months, seed",
        ),
        (
            {"shocks": {"segments": [{"tier": "A"}, {"tierr": "B"}]}},
            "[[shocks.segments]] entry 2: unknown key 'tierr' (did you mean 'tier'?)",
        ),
        ({"simulaton": {}}, "unknown key 'simulaton' (did you mean 'simulation'?)"),
        ({"max_dti": 0.5}, "unknown key 'max_dti' (did you mean 'policy.max_dti'?)"),
    ],
)
def test_unknown_key_messages_are_unchanged(layer, text):
    """The unknown-key messages of a scenario's tables read as they did (the cutoff of the
    tables' hint is 0.5, the top level's 0.6)."""
    assert difflib.SequenceMatcher(None, "sxxd", "seed").ratio() == 0.5
    assert [f.text for f in layer_findings(layer)] == [text]


def test_scenario_flags_are_read_once_from_the_schema():
    """The scenario's own true/false keys are a table built from its schema, and a --set
    value of each is read as plan reads one."""
    from solver.scenarios.spec_layers import setting_value
    from solver.scenarios.spec_schema import SCENARIO_FLAGS

    assert SCENARIO_FLAGS == {"plans.restructure", "collection.enabled", "shocks.anticipated"}
    for key in (*SCENARIO_FLAGS, "policy.need_test", "policy.product.auto_loan.need_test"):
        assert setting_value("Yes", key) is True and setting_value("否", key) is False
    with pytest.raises(ValueError, match=r"^must be true or false"):
        setting_value("maybe", "plans.restructure")
    with pytest.raises(ValueError, match=r"^need_test must be true or false"):
        setting_value("maybe", "policy.need_test")
    # not true/false keys: a number and text stay as they read
    assert setting_value("3", "plans.grid_levels") == 3
    assert setting_value("yes", "plans") == "yes"


def test_objective_facts_have_one_definition():
    """--objective's choices and --within's default, the service's request defaults and
    choose_for's default margin are solver.plans.objectives's."""
    import inspect

    import commands.output
    from solver.plans import objectives
    from solver.plans.customer_choice import choose_for
    from solver.service.models import AccountRequest

    assert objectives.OBJECTIVES == ("bank", "customer")
    assert objectives.DEFAULT_WITHIN_PCT == 1.0
    assert commands.output.OBJECTIVES is objectives.OBJECTIVES
    assert commands.output.DEFAULT_WITHIN_PCT is objectives.DEFAULT_WITHIN_PCT

    @click.command()
    @commands.output.objective_options
    def probe(objective: str, within_pct: float) -> None:
        click.echo(json.dumps([objective, within_pct]))

    params = {p.name: p for p in probe.params}
    assert isinstance(params["objective"].type, click.Choice)
    assert tuple(params["objective"].type.choices) == objectives.OBJECTIVES
    assert "(default: 1)" in (params["within_pct"].help or "")
    out = click.testing.CliRunner().invoke(probe, ["--objective", "customer"]).output
    assert json.loads(out) == ["customer", 1.0]

    fields = AccountRequest.model_fields
    assert fields["within_pct"].default == objectives.DEFAULT_WITHIN_PCT
    assert set(fields["objective"].annotation.__args__) == set(objectives.OBJECTIVES)
    assert inspect.signature(choose_for).parameters["within"].default == 0.01


def test_objectives_module_imports_nothing_heavy():
    """solver.plans.objectives loads no library (a fresh interpreter), so that the command
    line's --help can read it."""
    code = "import json, sys, solver.plans.objectives; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    loaded = {m.partition(".")[0] for m in json.loads(out)}
    assert loaded.isdisjoint({"numpy", "pydantic", "pandas", "scipy", "numba", "click"})
    assert not {m for m in json.loads(out) if m.startswith("solver.") and "." in m[7:]} - {
        "solver.plans.objectives"
    }
