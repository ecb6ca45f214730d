"""What-if overrides (``--set``) report every problem of a command together, each naming
its key and where it came from (SPEC §3 "report all problems", §9 scenarios, §11 exit 2,
nothing written; session 18).

The commands run in process through ``commands.common.run_cli`` (``tests/cli_inprocess``),
the function the ``workout`` entry point calls: click's ``CliRunner`` would not map an
input error to exit 2. The expected lines are written out by hand from the SPEC §3 / §5 /
§9 rules of each key (a whole number of accounts, a policy ``max_dti`` in [0, 10], ...).

Which of these fail on main (58cd8f0), and why:

* ``test_plan_lists_every_kind_of_set_problem``, ``test_account_commands_list_every_set_problem``,
  ``test_personal_values_stay_withheld``, ``test_portfolio_set_problems_together``,
  ``test_set_problems_are_capped``: main stopped at the first policy ``--set`` problem
  (or listed every account problem without the cap);
* ``test_scenario_run_names_each_set``, ``test_load_scenario_names_overrides``: main named
  every override ``<overrides>:``;
* ``test_scenario_sweep_lists_every_bad_value``: main stopped at the first bad value;
* ``test_merged_checks_name_the_file_or_set_that_gave_the_key``: main named the scenario
  file run (the child) for a key given by its parent or by ``--set``.

``test_extends_names_the_parent_for_its_own_keys`` passes on main (the behaviour was right
and is kept).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_inprocess import run_workout

from solver.core.schema import MAX_PROBLEMS
from solver.errors import InputError
from solver.scenarios.spec import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
TINY = ROOT / "tests" / "data" / "portfolio" / "tiny.csv"
RECESSION = ROOT / "scenarios" / "recession.toml"
BASELINE = ROOT / "scenarios" / "baseline.toml"

#: Bad --set values of every kind a one-account command takes, and the line each must give
#: (after "--set "): account fields (SPEC §3: income a number >= 0, personal, withheld),
#: policy keys (SPEC §5: max_term_months a whole number, max_dti in [0, 10]), a bare policy
#: key, an unknown key, a model key (set with --model, not --set) and a malformed item.
ACCOUNT_SETS: tuple[tuple[str, str], ...] = (
    ("income=abc", "income: not a number: <withheld>"),
    ("expenses=-1", "expenses: negative amount, must be >= 0, got <withheld>"),
    (
        "policy.max_term_months=x",
        "policy.max_term_months: max_term_months must be a whole number, got 'x'",
    ),
    ("max_dti=12", "max_dti: max_dti must be in [0, 10], got 12.0"),
    ("policy.max_dtii=0.4", "policy.max_dtii: unknown policy key (did you mean 'max_dti'?)"),
    ("incme=9000", "incme: unknown key (did you mean 'income'?)"),
    ("model.kappa=0.3", "model.kappa: behaviour-model parameters are not set with --set"),
    ("dpd", "dpd: expected KEY=VALUE"),
)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Keep the CLI's plan cache out of the home directory."""
    monkeypatch.setenv("WORKOUT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "plan-cache"))


def _sets(items: tuple[tuple[str, str], ...]) -> list[str]:
    return [arg for text, _ in items for arg in ("--set", text)]


def _problem_lines(err: str) -> list[str]:
    """The problem lines of an error (indented under its headline)."""
    return [line.strip() for line in err.splitlines() if line.startswith("  ")]


def _assert_lists(code: int, err: str, expected: list[str]) -> None:
    """Exit 2, one headline counting the problems, each expected line (in order), no
    traceback."""
    assert code == 2, err
    assert f"Error: --set: {len(expected)} problems found; nothing was run" in err, err
    lines = _problem_lines(err)
    assert len(lines) == len(expected), err
    for line, want in zip(lines, expected, strict=True):
        assert line.startswith(want), (line, want)
    assert "Traceback" not in err and "internal error" not in err


def test_plan_lists_every_kind_of_set_problem(tmp_path):
    """`plan` with bad --set values of every kind (account fields, policy keys, unknown,
    model, malformed): one list in the order typed, each `--set KEY`, exit 2, no file."""
    out = tmp_path / "plan.json"
    code, stdout, err = run_workout("plan", SAMPLE, *_sets(ACCOUNT_SETS), "--out", out)
    _assert_lists(code, err, [f"--set {want}" for _, want in ACCOUNT_SETS])
    assert not out.exists() and stdout == ""


@pytest.mark.parametrize(
    "command",
    [
        ("evaluate", "--term", "36"),
        ("offer", "--option", "custom", "--out", "{tmp}/letter.html"),
    ],
    ids=["evaluate", "offer"],
)
def test_account_commands_list_every_set_problem(command, tmp_path):
    """`evaluate` and `offer` read --set as `plan` does: every problem in one list, exit 2,
    no letter written."""
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    code, _, err = run_workout(args[0], SAMPLE, *args[1:], *_sets(ACCOUNT_SETS))
    _assert_lists(code, err, [f"--set {want}" for _, want in ACCOUNT_SETS])
    assert list(tmp_path.iterdir()) == []


def test_personal_values_stay_withheld():
    """A personal field's bad value is withheld among policy problems, and shown with
    --verbose."""
    sets = ("--set", "income=abc", "--set", "policy.max_dti=x")
    code, _, err = run_workout("plan", SAMPLE, *sets)
    _assert_lists(
        code,
        err,
        [
            "--set income: not a number: <withheld>",
            "--set policy.max_dti: max_dti must be a number",
        ],
    )
    assert "'abc'" not in err and "values of personal fields are withheld" in err
    code, _, err = run_workout("--verbose", "plan", SAMPLE, *sets)
    _assert_lists(
        code,
        err,
        ["--set income: not a number: 'abc'", "--set policy.max_dti: max_dti must be a number"],
    )


def test_set_problems_are_capped():
    """More bad --set values than the problem cap: the first MAX_PROBLEMS lines and a count
    of the rest, as for a table."""
    n = MAX_PROBLEMS + 7
    sets = [arg for i in range(n) for arg in ("--set", f"policy.max_dti={20 + i}")]
    code, _, err = run_workout("plan", SAMPLE, *sets)
    assert code == 2 and f"--set: {n} problems found" in err
    lines = _problem_lines(err)
    assert len(lines) == MAX_PROBLEMS + 1
    assert lines[0] == "--set policy.max_dti: max_dti must be in [0, 10], got 20.0"
    assert lines[-1] == "... and 7 more problems"


def test_portfolio_set_problems_together(tmp_path):
    """`plan-portfolio` lists every bad policy --set together (exit 2, nothing written);
    with account_fields=False (a portfolio) an account field is a problem of the list."""
    from commands.accounts import load_policy

    out = tmp_path / "plans.csv"
    code, _, err = run_workout(
        "plan-portfolio", TINY, "--set", "policy.max_dti=x", "--set", "policy.bogus=2",
        "--out", out,
    )  # fmt: skip
    _assert_lists(
        code,
        err,
        ["--set policy.max_dti: max_dti must be a number, got 'x'", "--set policy.bogus: unknown"],
    )
    assert not out.exists()
    with pytest.raises(InputError) as caught:
        load_policy(None, ("income=5000", "policy.max_dti=x"), account_fields=False)
    assert caught.value.problems == [
        "--set income: an account field: only policy keys can be set here (policy.KEY=VALUE)",
        "--set policy.max_dti: max_dti must be a number, got 'x'",
    ]


def test_scenario_run_names_each_set(tmp_path):
    """`scenario run` names each bad override `--set KEY` (not <overrides>), malformed
    items and lists of values among them; exit 2 and no --out-dir."""
    out = tmp_path / "run"
    code, _, err = run_workout(
        "scenario", "run", RECESSION,
        "--set", "portfolio.n=abc",
        "--set", "policy.bogus=3",
        "--set", "shocks.income_multiplier=x",
        "--set", "simulation.paths",
        "--set", "shocks.hazard_multiplier=1,2",
        "--set", "policy.max_dti=12",
        "--paths", "10", "--out-dir", out,
    )  # fmt: skip
    _assert_lists(
        code,
        err,
        [
            "--set portfolio.n: must be a whole number, got 'abc'",
            "--set policy.bogus: unknown policy key; valid keys: max_term_months, ",
            "--set shocks.income_multiplier: must be a number, got 'x'",
            "--set simulation.paths: expected KEY=VALUE",
            "--set shocks.hazard_multiplier: give one value here",
            "--set policy.max_dti: max_dti must be in [0, 10], got 12",
        ],
    )
    assert "<overrides>" not in err and not out.exists()


def test_scenario_sweep_lists_every_bad_value(tmp_path):
    """`scenario sweep` lists every bad value of every swept key, and a key swept twice,
    together; exit 2 and no --out-dir."""
    out = tmp_path / "sweep"
    code, _, err = run_workout(
        "scenario", "sweep", BASELINE,
        "--set", "policy.max_deferral_months=0,x,-1",
        "--set", "shocks.income_multiplyer=0.9",
        "--set", "policy.max_deferral_months=3",
        "--paths", "10", "--out-dir", out,
    )  # fmt: skip
    _assert_lists(
        code,
        err,
        [
            "--set policy.max_deferral_months: max_deferral_months must be a whole number, got 'x'",
            "--set policy.max_deferral_months: max_deferral_months must be at least 0, got -1",
            "--set shocks.income_multiplyer: unknown key (did you mean 'income_multiplier'?)",
            "--set policy.max_deferral_months: swept twice",
        ],
    )
    assert not out.exists()


def test_load_scenario_names_overrides():
    """Overrides given in code are named `override KEY`, every one of them."""
    with pytest.raises(InputError) as caught:
        load_scenario(BASELINE, overrides={"portfolio.n": "abc", "shocks.bogus": 1})
    assert caught.value.problems[0] == "override portfolio.n: must be a whole number, got 'abc'"
    assert caught.value.problems[1].startswith("override shocks.bogus: unknown key")
    assert len(caught.value.problems) == 2


def _chain(tmp_path: Path, parent: str) -> Path:
    """A child scenario extending a parent with the text ``parent``."""
    (tmp_path / "parent.toml").write_text(parent)
    child = tmp_path / "child.toml"
    child.write_text('extends = "parent.toml"\n[shocks]\nincome_multiplier = 0.9\n')
    return child


def test_extends_names_the_parent_for_its_own_keys(tmp_path):
    """A bad key of an extended file names that file, not the one run (kept from main)."""
    child = _chain(tmp_path, "[portfolio]\nn = 5\n[shocks]\nhazard_multiplyer = 2\n")
    code, _, err = run_workout("scenario", "run", child, "--out-dir", tmp_path / "out")
    assert code == 2
    assert f"{tmp_path / 'parent.toml'}: unknown key 'shocks.hazard_multiplyer'" in err
    assert f"{child}:" not in err and not (tmp_path / "out").exists()


def test_merged_checks_name_the_file_or_set_that_gave_the_key(tmp_path):
    """Checks made on the merged scenario (a portfolio file that does not exist) name the
    file of the extends chain, or the --set, that gave the key."""
    parent = tmp_path / "parent.toml"
    child = _chain(tmp_path, '[portfolio]\npath = "missing.csv"\n')
    code, _, err = run_workout("scenario", "run", child, "--out-dir", tmp_path / "out")
    assert code == 2
    assert f"Error: {parent}: portfolio.path: file not found: {tmp_path / 'missing.csv'}" in err
    parent.write_text("[portfolio]\nn = 5\n")
    code, _, err = run_workout(
        "scenario", "sweep", child, "--set", f"portfolio.path={tmp_path}/a.csv,{tmp_path}/b.csv",
        "--out-dir", tmp_path / "out",
    )  # fmt: skip
    _assert_lists(
        code,
        err,
        [
            f"--set portfolio.path: file not found: {tmp_path / 'a.csv'}",
            f"--set portfolio.path: file not found: {tmp_path / 'b.csv'}",
        ],
    )
    assert not (tmp_path / "out").exists()
