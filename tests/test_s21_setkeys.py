"""``--set KEY=VALUE`` keys and true/false values read alike by ``workout plan`` and
``workout scenario run|sweep`` (session 21).

1. A policy key given without its table: ``plan`` takes it (decision of session 18, kept,
   ``commands/accounts.py::_classify``), a name both an account field and a policy key is
   refused; ``scenario --set max_dti`` and a typo (``maxdti``) on either command are told
   ``unknown key (did you mean 'policy.max_dti'?)`` (one wording,
   ``solver.core.settings_words.unknown_setting_problem``).
2. A true/false value: ``plan`` and ``scenario`` read the same words (the ones the project's
   tables take for a true/false column, written out below from the rule stated in
   ``solver/core/schema.py``'s docstring: "true/false, yes/no, y/n, t/f, 1/0 and 是/否 (any
   case)"), and refuse other text with a line naming the key and the words.

The commands run in process through ``commands.common.run_cli`` (``tests/cli_inprocess``),
the function the ``workout`` entry point calls: click's ``CliRunner`` alone does not map an
input error to exit 2 (it reports exit 1 with the exception).

Which fail on main (acd3eae): every test except
``test_plan_still_takes_a_bare_policy_key`` (the behaviour kept) -- main told ``--set
maxdti`` ``did you mean 'max_dti'?`` on plan and ``did you mean 'simulation'?`` on
scenario, listed the scenario's tables for ``--set max_dti``, read a name both a field and
a policy key as the field, refused ``yes`` on scenario and ``y``/``是`` on plan, and worded
a bad true/false value without the words taken.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from cli_inprocess import run_workout

import solver.core.schema
from solver.core.policy import Policy
from solver.scenarios.spec import load_scenario
from solver.scenarios.spec_layers import parse_assignment

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
BASELINE = ROOT / "scenarios" / "baseline.toml"
TINY = ROOT / "tests" / "data" / "portfolio" / "tiny.csv"

#: The true/false words, any case (solver/core/schema.py: "Booleans accept true/false,
#: yes/no, y/n, t/f, 1/0 and 是/否 (any case)"), each with its meaning.
FLAG_WORDS = {
    **dict.fromkeys(("true", "TRUE", "yes", "Yes", "y", "t", "1", "是"), True),
    **dict.fromkeys(("false", "False", "no", "NO", "n", "f", "0", "否"), False),
}
#: The true/false keys of a scenario file (its schema's Flag keys and the policy's).
SCENARIO_FLAGS = (
    "plans.restructure",
    "collection.enabled",
    "shocks.anticipated",
    "policy.need_test",
    "policy.holidays_mid_plan",
)
#: What a typo of max_dti is told by plan and scenario alike.
NEAR_MAX_DTI = "unknown key (did you mean 'policy.max_dti'?)"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Keep the CLI's plan cache out of the home directory."""
    monkeypatch.setenv("WORKOUT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "plan-cache"))


def _lines(err: str) -> list[str]:
    """The problem lines of an error (indented under its headline)."""
    return [line.strip() for line in err.splitlines() if line.startswith("  ")]


def _refused(code: int, stdout: str, err: str) -> list[str]:
    """The problem lines of a refused command: exit 2, nothing run, no traceback."""
    assert code == 2, err
    assert "nothing was run" in err and stdout == "", err
    assert "Traceback" not in err and "internal error" not in err, err
    return _lines(err)


def _plan(tmp_path: Path, *sets: str) -> tuple[list[str], Path]:
    """`plan SAMPLE --set ... --out FILE` refused: its problem lines and the --out path."""
    out = tmp_path / "plan.json"
    args = [a for s in sets for a in ("--set", s)]
    return _refused(*run_workout("plan", SAMPLE, *args, "--out", out)), out


def _scenario(tmp_path: Path, command: str, *sets: str) -> tuple[list[str], Path]:
    """`scenario COMMAND BASELINE --set ... --out-dir DIR` refused: lines and the dir."""
    out = tmp_path / f"{command}-out"
    args = [a for s in sets for a in ("--set", s)]
    code, stdout, err = run_workout("scenario", command, BASELINE, *args, "--out-dir", out)
    return _refused(code, stdout, err), out


# -- 1. keys ------------------------------------------------------------------------------


def test_plan_still_takes_a_bare_policy_key(tmp_path):
    """plan --set max_dti=0.35 sets the policy's max_dti, as policy.max_dti=0.35 does (the
    session-18 behaviour, kept): the same plan file, and not the default policy's."""
    written = {}
    for typed in ("max_dti=0.35", "policy.max_dti=0.35", "policy.max_dti=0.5"):
        out = tmp_path / f"{typed}.json"
        code, _, err = run_workout("plan", SAMPLE, "--set", typed, "--out", out, "--format", "json")
        assert code == 0, err
        written[typed] = out.read_bytes()
    assert written["max_dti=0.35"] == written["policy.max_dti=0.35"]
    assert written["max_dti=0.35"] != written["policy.max_dti=0.5"]


def test_scenario_bare_policy_key_points_to_the_prefixed_key(tmp_path):
    """scenario run and sweep --set max_dti=0.5: exit 2, '--set max_dti: unknown key (did
    you mean 'policy.max_dti'?)', no traceback, no --out-dir."""
    for command in ("run", "sweep"):
        lines, out = _scenario(tmp_path, command, "max_dti=0.5")
        assert lines == [f"--set max_dti: {NEAR_MAX_DTI}"]
        assert not out.exists()


def test_a_typo_is_told_alike_by_plan_and_scenario(tmp_path):
    """--set maxdti=0.5 (and min_paymnt) get the same line from plan and scenario run: the
    closest accepted key, with its policy. prefix; nothing written."""
    typos = ("maxdti=0.5", "min_paymnt=50")
    plan_lines, plan_out = _plan(tmp_path, *typos)
    run_lines, run_out = _scenario(tmp_path, "run", *typos)
    assert plan_lines == [
        f"--set maxdti: {NEAR_MAX_DTI}",
        "--set min_paymnt: unknown key (did you mean 'policy.min_payment'?)",
    ]
    assert run_lines == plan_lines
    assert not plan_out.exists() and not run_out.exists()


def test_a_leaf_of_several_scenario_keys_names_them_all(tmp_path):
    """scenario run --set seed=3: both keys named seed are offered (portfolio.seed and
    simulation.seed), not one picked."""
    lines, out = _scenario(tmp_path, "run", "seed=3")
    assert lines == [
        "--set seed: unknown key (did you mean 'portfolio.seed' or 'simulation.seed'?)"
    ]
    assert not out.exists()


def test_a_scenario_file_is_told_the_prefixed_key_too(tmp_path):
    """A scenario file with max_dti at its top level: 'FILE: unknown key 'max_dti' (did you
    mean 'policy.max_dti'?)', exit 2."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(f"extends = {str(BASELINE)!r}\nmax_dti = 0.5\n", encoding="utf-8")
    code, _, err = run_workout("scenario", "run", scenario, "--out-dir", tmp_path / "out")
    assert code == 2 and "Traceback" not in err, err
    assert f"{scenario}: unknown key 'max_dti' (did you mean 'policy.max_dti'?)" in err
    assert not (tmp_path / "out").exists()


def test_a_name_both_a_field_and_a_policy_key_is_refused(tmp_path, monkeypatch):
    """Were max_dti also an account field, plan --set max_dti=0.5 would be refused asking
    for account.max_dti or policy.max_dti, not read as either; the prefixed form works."""
    monkeypatch.setattr(solver.core.schema, "COLUMNS", (*solver.core.schema.COLUMNS, "max_dti"))
    lines, out = _plan(tmp_path, "max_dti=0.5")
    assert lines == [
        "--set max_dti: both an account field and a policy key: give account.max_dti or "
        "policy.max_dti"
    ]
    assert not out.exists()
    code, _, err = run_workout("plan", SAMPLE, "--set", "policy.max_dti=0.5", "--out", out)
    assert code == 0 and out.exists(), err


# -- 2. true/false values -----------------------------------------------------------------


@pytest.mark.parametrize("key", SCENARIO_FLAGS)
def test_scenario_and_plan_read_the_same_flag_words(key):
    """Every true/false word (any case) reads as its meaning for every true/false key of a
    scenario's --set, and for the policy's keys on plan's --set too."""
    for word, meaning in FLAG_WORDS.items():
        assert parse_assignment(f"{key}={word}") == (key, [meaning]), word
        if key.startswith("policy."):
            name = key.removeprefix("policy.")
            assert getattr(Policy().with_setting(f"{key}={word}"), name) is meaning, word


def test_scenario_yes_builds_the_scenario_true_builds():
    """scenario --set policy.need_test=yes (and plans.restructure=no) gives the scenario
    =true (=false) gives, and not the one its opposite gives."""
    for key, word, same, other in (
        ("policy.need_test", "yes", True, False),
        ("plans.restructure", "no", False, True),
    ):
        typed, (value,) = parse_assignment(f"{key}={word}")
        read = load_scenario(BASELINE, overrides={typed: value})
        assert read == load_scenario(BASELINE, overrides={key: same})
        assert read != load_scenario(BASELINE, overrides={key: other})


def test_scenario_run_with_no_equals_false(tmp_path):
    """scenario run --set plans.restructure=no writes the kpis.csv =false writes (same
    seed), and no account is restructured."""
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(
        f"extends = {str(BASELINE)!r}\n[portfolio]\npath = {str(TINY)!r}\n", encoding="utf-8"
    )
    kpis = {}
    for word in ("no", "false"):
        out = tmp_path / word
        code, _, err = run_workout(
            "scenario", "run", scenario, "--set", f"plans.restructure={word}",
            "--paths", "4", "--no-cache", "--quiet", "--format", "csv", "--out-dir", out,
        )  # fmt: skip
        assert code == 0, err
        kpis[word] = (out / "kpis.csv").read_bytes()
    assert kpis["no"] == kpis["false"]
    with (tmp_path / "no" / "kpis.csv").open(encoding="utf-8") as fh:
        total = {r["kpi"]: r for r in csv.DictReader(fh) if r["segment_type"] == "total"}
    assert float(total["accounts_restructured"]["mean"]) == 0


def test_a_bad_flag_value_names_the_key_and_the_words(tmp_path):
    """--set policy.need_test=maybe (and =on, not a word the tables take) get the same line
    from plan and scenario run, naming the key and every word; exit 2, nothing written."""
    words = "true/false, t/f, yes/no, y/n, 1/0, 1.0/0.0, 是/否; any case"
    expected = [
        f"--set policy.need_test: need_test must be true or false (--set takes {words}), "
        f"got {typed!r}"
        for typed in ("maybe", "on")
    ]
    sets = ("policy.need_test=maybe", "policy.need_test=on")
    plan_lines, plan_out = _plan(tmp_path, *sets)
    run_lines, run_out = _scenario(tmp_path, "run", *sets)
    assert plan_lines == run_lines == expected
    assert not plan_out.exists() and not run_out.exists()


def test_sweep_lists_every_bad_flag_value(tmp_path):
    """scenario sweep --set plans.restructure=yes,maybe,0,perhaps lists maybe and perhaps,
    each naming the words taken (the scenario's own keys are named by the --set line)."""
    lines, out = _scenario(tmp_path, "sweep", "plans.restructure=yes,maybe,0,perhaps")
    assert [line.rpartition(", got ")[2] for line in lines] == ["'maybe'", "'perhaps'"]
    for line in lines:
        assert line.startswith("--set plans.restructure: must be true or false (--set takes ")
        assert "yes/no" in line and "1/0" in line
    assert not out.exists()
