"""The policy's and the scenario file's messages, word for word (issue 14: pydantic checks
the types, bounds and unknown keys; the messages stay the project's own).

The expected strings are the messages the hand-written checks gave before pydantic
(captured on main at 21e8de3), written out here; a few inputs that used to crash
(``inf`` for a whole number, a number for the deferral modes) now get a message. An
unknown policy key is worded as session 20 made it (one wording with ``--set``).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from solver.core.policy import Policy
from solver.errors import InputError
from solver.scenarios.spec import load_scenario

ROOT = Path(__file__).resolve().parents[1]
MODES = "['capitalize', 'interest_only', 'waive']"
#: The policy's keys as an unknown key's message lists them (session 20: the policy's own
#: wording of an unknown key, solver.core.policy.unknown_key_problem).
KEYS = (
    "max_term_months, max_deferral_months, holidays_mid_plan, deferral_interest, rate_floor, "
    "max_fee_waiver, max_interest_waiver, max_haircut, max_dti, min_residual_income, "
    "min_afford_prob, min_payment, max_payment_levels, need_test, rounding, currency"
)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_term_months": 12.5}, "max_term_months must be a whole number, got 12.5"),
        ({"max_term_months": True}, "max_term_months must be a whole number, got True"),
        ({"max_term_months": "36"}, "max_term_months must be a whole number, got '36'"),
        ({"max_term_months": 0}, "max_term_months must be in [1, 600], got 0"),
        ({"max_term_months": 0.0}, "max_term_months must be in [1, 600], got 0"),
        ({"max_deferral_months": -1}, "max_deferral_months must be at least 0, got -1"),
        ({"max_payment_levels": 2.5}, "max_payment_levels must be a whole number, got 2.5"),
        ({"deferral_interest": ("skip",)}, f"deferral_interest must be among {MODES}, got 'skip'"),
        ({"rate_floor": 1}, "rate_floor must be in [0, 0.36], got 1.0"),
        ({"max_dti": -0.1}, "max_dti must be in [0, 10], got -0.1"),
        ({"max_haircut": "0.1"}, "max_haircut must be a number, got '0.1'"),
        ({"min_afford_prob": True}, "min_afford_prob must be a number, got True"),
        ({"max_fee_waiver": math.nan}, "max_fee_waiver must be finite, got nan"),
        ({"min_residual_income": -math.inf}, "min_residual_income must be finite, got -inf"),
        ({"min_payment": -1}, "min_payment must be at least 0, got -1.0"),
        ({"rounding": -1}, "rounding must be at least 0, got -1.0"),
        ({"rounding": 0.001}, "rounding must be a whole number of cents, at least 0.01, got 0.001"),
        ({"rounding": 0.015}, "rounding must be a whole number of cents, at least 0.01, got 0.015"),
        (
            {"products": {"mortgage": {}}},
            "products has unknown product 'mortgage'; products are ['auto_loan', 'card_instalment']",
        ),
        (
            {"products": {"card_instalment": {"max_term": 3}}},
            "products.card_instalment: max_term: unknown policy key (did you mean 'max_term_months'?)",
        ),
        (
            {"products": {"card_instalment": {"max_dti": "x", "zz": 1, "aa": 2}}},
            f"products.card_instalment: aa: unknown policy key; valid keys: {KEYS}",
        ),
        (
            {"products": {"card_instalment": {"max_term_months": 0}}},
            "max_term_months must be in [1, 600], got 0",
        ),
        # several problems: whole numbers first (as before)
        (
            {"max_dti": 20, "max_term_months": 2.5},
            "max_term_months must be a whole number, got 2.5",
        ),
        ({"max_dti": 20, "products": {"mortgage": {}}}, "max_dti must be in [0, 10], got 20.0"),
        # used to crash (OverflowError, TypeError)
        ({"max_term_months": math.inf}, "max_term_months must be a whole number, got inf"),
        ({"deferral_interest": 5}, f"deferral_interest must be among {MODES}, got 5"),
        (
            {"rounding": 1e308},
            "rounding must be a whole number of cents, at least 0.01, got 1e+308",
        ),
    ],
)
def test_policy_messages(changes, message):
    """Policy(...) and Policy.replace(...) raise a ValueError with the exact message."""
    for build in (lambda: Policy(**changes), lambda: Policy().replace(**changes)):
        with pytest.raises(ValueError) as err:
            build()
        assert str(err.value) == message


def test_policy_values_are_normalised():
    """An integral float is a whole number (stored as an int); modes are put in order."""
    p = Policy(max_term_months=36.0, deferral_interest=["waive", "capitalize", "waive"], max_dti=1)
    assert p.max_term_months == 36 and type(p.max_term_months) is int
    assert p.deferral_interest == ("capitalize", "waive")
    assert p.max_dti == 1.0 and type(p.max_dti) is float
    assert p == Policy(max_term_months=36, deferral_interest=("capitalize", "waive"), max_dti=1.0)
    assert Policy(deferral_interest="waive").deferral_interest == ("waive",)


@pytest.mark.parametrize(
    ("data", "message", "problems"),
    [
        (
            {"max_trm": 3, "zzz": 1, "max_dti": -1},
            "src.toml: 3 problems found in the policy; nothing was read",
            [
                "src.toml: max_trm: unknown policy key (did you mean 'max_dti'?)",
                f"src.toml: zzz: unknown policy key; valid keys: {KEYS}, product",
                "src.toml: max_dti must be in [0, 10], got -1.0",
            ],
        ),
        (
            {"product": 5},
            "src.toml: 1 problem found in the policy; nothing was read",
            ["src.toml: 'product' must be a table of [product.<name>] tables"],
        ),
        (
            {"product": {"card_instalment": 5}},
            "src.toml: 1 problem found in the policy; nothing was read",
            ["src.toml: product.card_instalment must be a table"],
        ),
        (
            {"product": {"card_instalment": 5, "auto_loan": "x"}},
            "src.toml: 2 problems found in the policy; nothing was read",
            [
                "src.toml: product.card_instalment must be a table",
                "src.toml: product.auto_loan must be a table",
            ],
        ),
        (
            {"product": {"mortgage": {"zz": 0.4}, "card_instalment": {"max_term": 36}}},
            "src.toml: 2 problems found in the policy; nothing was read",
            [
                "src.toml: [product.mortgage]: unknown product; products are ['auto_loan', 'card_instalment']",
                "src.toml: [product.card_instalment]: max_term: unknown policy key (did you mean 'max_term_months'?)",
            ],
        ),
        (
            {"product": {"card_instalmant": {}}},
            "src.toml: 1 problem found in the policy; nothing was read",
            [
                "src.toml: [product.card_instalmant]: unknown product (did you mean 'card_instalment'?)"
            ],
        ),
        (
            {"max_dti": "high"},
            "src.toml: 1 problem found in the policy; nothing was read",
            ["src.toml: max_dti must be a number, got 'high'"],
        ),
        (
            {"product": {"auto_loan": {"max_term_months": 0}}},
            "src.toml: 1 problem found in the policy; nothing was read",
            ["src.toml: [product.auto_loan]: max_term_months must be in [1, 600], got 0"],
        ),
    ],
)
def test_policy_file_messages(data, message, problems):
    """Policy.from_dict: every unknown key, product and bad value listed, in file order
    (session 17: SPEC §3 reports all problems; it used to give the first bad value only
    once the keys were right)."""
    with pytest.raises(InputError) as err:
        Policy.from_dict(data, source="src.toml")
    assert err.value.args[0] == message
    assert list(err.value.problems or []) == problems


BASE = "[portfolio]\nn = 50\nseed = 3\n"


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("nmae = 'x'\n" + BASE, ["unknown key 'nmae' (did you mean 'name'?)"]),
        (
            "[simulation]\nqqqqqqqq = 3\n" + BASE,
            ["unknown key 'simulation.qqqqqqqq'; valid keys: paths, horizon_months, seed"],
        ),
        ("name = 5\n" + BASE, ["name must be text, got 5"]),
        ("simulation = 3\n" + BASE, ["simulation must be a table"]),
        ("[model]\nkappa = true\n" + BASE, ["model.kappa must be a number, got True"]),
        ("[model]\nkappa = inf\n" + BASE, ["model.kappa must be finite, got inf"]),
        (
            "[model]\nrecovery_lag_months = 2.0\n" + BASE,
            [
                "model.recovery_lag_months must be a whole number written without a decimal point or exponent, got 2.0"
            ],
        ),
        (
            "[model.base_hazard]\nZ = 0.1\n" + BASE,
            ["unknown key 'model.base_hazard.Z'; valid keys: A, B, C, D, E"],
        ),
        (
            "[policy]\nmax_dtii = 0.4\n" + BASE,
            ["policy.max_dtii: unknown policy key (did you mean 'max_dti'?)"],
        ),
        ("[policy]\nmax_dti = -1\n" + BASE, ["[policy]: max_dti must be in [0, 10], got -1.0"]),
        ("[policy]\nproduct = 5\n" + BASE, ["policy.product must be a table, got 5"]),
        ("[plans]\nbuckets = 'x'\n" + BASE, ["plans.buckets must be a whole number, got 'x'"]),
        ("[plans]\ngrid_levels = 0\n" + BASE, ["plans.grid_levels must be >= 1, got 0"]),
        (
            "[collection]\ntime_limit_seconds = 0\n" + BASE,
            ["collection.time_limit_seconds must be > 0, got 0"],
        ),
        (
            "[collection]\nenabled = 'yes'\n" + BASE,
            ["collection.enabled must be true or false, got 'yes'"],
        ),
        (
            "[shocks]\ncost_of_funds_change = 0.6\n" + BASE,
            ["shocks.cost_of_funds_change must be in [-0.5, 0.5], got 0.6"],
        ),
        (
            "[shocks]\nunemployment_months = -1\n" + BASE,
            ["shocks.unemployment_months must be >= 0, got -1"],
        ),
        (
            "[shocks]\nsegments = [1]\n" + BASE,
            ["shocks.segments must be an array of tables ([[shocks.segments]]), got [1]"],
        ),
        (
            "[[shocks.segments]]\nhazard_multiplier = -1\n" + BASE,
            ["[[shocks.segments]] entry 1: hazard_multiplier must be in [0, 100], got -1"],
        ),
        (
            "[[shocks.segments]]\ntier = 'A'\n[[shocks.segments]]\ntierr = 'A'\n" + BASE,
            ["[[shocks.segments]] entry 2: unknown key 'tierr' (did you mean 'tier'?)"],
        ),
        (
            "[[shocks.segments]]\ntier = [1]\n" + BASE,
            ["[[shocks.segments]] entry 1: tier must be text or a non-empty list of text, got [1]"],
        ),
        (
            "[[shocks.segments]]\nincome_multiplier = 20\ntier = ['B', 'Q']\n" + BASE,
            [
                "[[shocks.segments]] entry 1: income_multiplier must be in [0, 10], got 20",
                "[[shocks.segments]] entry 1: tier: unknown value 'Q'; one of A, B, C, D, E",
            ],
        ),
        ("[portfolio]\nn = 0\n", ["portfolio.n must be in [1, 100,000,000], got 0"]),
        ("[portfolio]\nn = '12'\n", ["portfolio.n must be a whole number, got '12'"]),
        (
            "[portfolio]\nn = 5\nseed = 2147483648\n",
            ["portfolio.seed must be in [0, 2147483647], got 2147483648"],
        ),
        (
            "[portfolio]\nn = 5\npath = 'x.parquet'\n",
            ["portfolio: give either 'path' or 'n' (and 'seed'), not both"],
        ),
        (
            "[simulation]\npaths = 1e3\n" + BASE,
            [
                "simulation.paths must be a whole number written without a decimal point or exponent, got 1000.0"
            ],
        ),
        (
            "[simulation]\nhorizon_months = 241\n" + BASE,
            ["simulation.horizon_months must be in [1, 240], got 241"],
        ),
        # keys and types first, in the order of the file; values only when those are right
        (
            "[simulation]\nzz = 1\npaths = 'x'\n[shocks]\nhazard_multiplier = 'y'\n[plans]\nbuckets = 1.5\n"
            + BASE,
            [
                "unknown key 'simulation.zz'; valid keys: paths, horizon_months, seed",
                "simulation.paths must be a whole number, got 'x'",
                "shocks.hazard_multiplier must be a number, got 'y'",
                "plans.buckets must be a whole number, got 1.5",
            ],
        ),
        (
            "[shocks]\nincome_multiplier = 'x'\n[simulation]\npaths = 0\n" + BASE,
            # every problem at once since session 25 (a type problem hid the range one)
            [
                "shocks.income_multiplier must be a number, got 'x'",
                "simulation.paths must be in [1, 1000000], got 0",
            ],
        ),
        (
            "[shocks]\nunemployment_probability = 2\n[[shocks.segments]]\ntier = 'F'\nhazard_multiplier = 2\n[simulation]\npaths = 0\n"
            + BASE,
            [
                "shocks.unemployment_probability must be in [0, 1], got 2",
                "[[shocks.segments]] entry 1: tier: unknown value 'F'; one of A, B, C, D, E",
                "simulation.paths must be in [1, 1000000], got 0",
            ],
        ),
    ],
)
def test_scenario_messages(text, problems, tmp_path):
    """Each problem names the file and the dotted key, in the long-standing words."""
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert list(err.value.problems or []) == [f"{path}: {p}" for p in problems]
    assert err.value.args[0] == f"{path}: {len(problems)} problem(s) in the scenario"


def test_scenario_values_are_kept():
    """Accepted values reach the Scenario as they are (ints for whole numbers, lists)."""
    path = ROOT / "tests" / "data" / "scenario" / "small.toml"
    s = load_scenario(
        path,
        {"plans.grid_levels": 4, "shocks.segments": [{"tier": ["D", "E"], "hazard_multiplier": 2}]},
    )
    assert s.plan_search["grid_levels"] == 4
    assert s.shocks.segments[0].filters["tier"] == ("D", "E")


def test_cli_start_up_does_not_import_pydantic():
    """`workout --help` stays light: pydantic is imported by the commands that read TOML."""
    code = "import sys, cli; print(sorted(m for m in ('pydantic', 'solver.core.policy') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
