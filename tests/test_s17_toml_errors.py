"""Every problem of a policy or behaviour-model TOML in one error (SPEC §3 "report all
problems, not just the first", §11 exit code 2; session 17 review).

The expected lines are written out by hand from the SPEC §5 / §4 bounds of each key.
"""

from __future__ import annotations

import json

import pytest
from cli_inprocess import run_workout
from test_policy_need import AFFORDABLE

from solver.core import BehaviourModel, Policy
from solver.core.schema import MAX_PROBLEMS
from solver.errors import InputError
from solver.scenarios.spec import load_scenario

POLICY_TOML = """\
max_dti = 12
min_payment = -5
max_trm_months = 48

[product.card_instalment]
max_term_months = 0
"""

MODEL_TOML = """\
kappa = 1.5
cost_of_fund = 0.03
recovery_lag_months = 2.5

[base_hazard]
C = 1.2
"""


#: The problems of POLICY_TOML and MODEL_TOML, each line after "FILE: ", in file order.
POLICY_PROBLEMS = (
    "max_dti must be in [0, 10], got 12.0",
    "min_payment must be at least 0, got -5.0",
    "max_trm_months: unknown policy key (did you mean 'max_term_months'?)",
    "[product.card_instalment]: max_term_months must be in [1, 600], got 0",
)
MODEL_PROBLEMS = (
    "kappa must be in [0.0, 1.0], got 1.5",
    "unknown key 'cost_of_fund' (did you mean 'cost_of_funds'?)",
    "recovery_lag_months must be a whole number >= 0, got 2.5",
    "base_hazard.C must be in [0, 1), got 1.2",
)


def _lines(path: object, problems: tuple[str, ...]) -> list[str]:
    return [f"{path}: {text}" for text in problems]


@pytest.mark.parametrize(
    ("load", "text", "subject", "problems"),
    [
        (Policy.from_toml, POLICY_TOML, "policy", POLICY_PROBLEMS),
        (BehaviourModel.from_toml, MODEL_TOML, "behaviour model", MODEL_PROBLEMS),
    ],
)
def test_settings_file_lists_every_problem(tmp_path, load, text, subject, problems):
    """A policy / behaviour-model TOML with bad values, an unknown key and a bad nested
    value raises one InputError naming each (file, key, value), in the order of the file."""
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load(path)
    assert err.value.args[0] == f"{path}: 4 problems found in the {subject}; nothing was read"
    assert err.value.problems == _lines(path, problems)


def test_model_constructor_still_raises_the_first():
    """BehaviourModel(...) built in code raises a ValueError naming the first bad value."""
    with pytest.raises(ValueError, match=r"^kappa must be in \[0.0, 1.0\], got 1.5$"):
        BehaviourModel(kappa=1.5, recovery_lag_months=2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("option", "text", "problems"),
    [("--policy", POLICY_TOML, POLICY_PROBLEMS), ("--model", MODEL_TOML, MODEL_PROBLEMS)],
)
def test_cli_reports_all_problems_with_exit_code_2(tmp_path, option, text, problems):
    """`workout plan --policy/--model BAD` exits 2 with every problem on stderr, no
    traceback, and writes nothing."""
    account = tmp_path / "account.json"
    account.write_text(json.dumps(AFFORDABLE), encoding="utf-8")
    settings = tmp_path / "settings.toml"
    settings.write_text(text, encoding="utf-8")
    out = tmp_path / "plan.csv"
    code, _, err = run_workout("plan", account, option, settings, "--out", out)
    assert code == 2
    assert "Traceback" not in err
    for line in _lines(settings, problems):
        assert line in err
    assert not out.exists()


def test_problems_are_capped(tmp_path):
    """More problems than MAX_PROBLEMS: the first MAX_PROBLEMS lines and a count of the
    rest (the tables' cap)."""
    extra = 7
    data = {f"zz_unknown_{i:03d}": 1 for i in range(MAX_PROBLEMS + extra)}
    with pytest.raises(InputError) as err:
        Policy.from_dict(data, source="p.toml")
    problems = err.value.problems
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[0].startswith("p.toml: zz_unknown_000: unknown policy key; valid keys: ")
    assert problems[-1] == f"... and {extra} more problems"
    assert err.value.args[0].startswith(f"p.toml: {MAX_PROBLEMS + extra} problems found")


def test_scenario_inline_policy_and_model_list_every_problem(tmp_path):
    """A scenario's inline [policy] and [model] tables report all their bad values too."""
    path = tmp_path / "s.toml"
    path.write_text(
        "[portfolio]\nn = 20\nseed = 1\n"
        "[policy]\nmax_dti = 12\nmin_payment = -5\n"
        "[model]\nkappa = 2.0\nunsecured_recovery = -1.0\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert err.value.problems == [
        f"{path}: [policy]: max_dti must be in [0, 10], got 12.0",
        f"{path}: [policy]: min_payment must be at least 0, got -5.0",
        f"{path}: [model]: kappa must be in [0.0, 1.0], got 2.0",
        f"{path}: [model]: unsecured_recovery must be in [0.0, 1.0], got -1.0",
    ]
