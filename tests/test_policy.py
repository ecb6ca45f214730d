"""Tests of solver.core.policy: defaults, TOML loading, per-product overrides, validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from input_errors import input_error

from solver.core.policy import POLICY_KEYS, Policy
from solver.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_match_spec_table():
    """The code defaults are the SPEC §5 table values."""
    p = Policy()
    assert p.max_term_months == 60
    assert p.max_deferral_months == 6
    assert p.deferral_interest == ("capitalize", "interest_only", "waive")
    assert (p.rate_floor, p.max_fee_waiver, p.max_interest_waiver, p.max_haircut) == (
        0.0,
        1.0,
        0.5,
        0.30,
    )
    assert (p.max_dti, p.min_residual_income, p.min_afford_prob) == (0.50, 0.0, 0.5)
    assert (p.min_payment, p.max_payment_levels, p.rounding) == (100.0, 3, 1.0)


def test_scenario_file_equals_code_defaults():
    """scenarios/policy.toml holds exactly the code defaults, every key present."""
    import tomllib

    path = ROOT / "scenarios" / "policy.toml"
    assert Policy.from_toml(path) == Policy()
    with open(path, "rb") as fh:
        assert set(tomllib.load(fh)) == set(POLICY_KEYS)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        # an unknown key: the file, the key and the closest valid key
        ("max_dtii = 0.6\n", ("p.toml", "max_dtii: unknown policy key", "'max_dti'")),
        # unknown keys inside [product.X] tables and unknown products are reported too
        (
            "[product.card_instalment]\nmax_term = 36\n[product.mortgage]\nmax_dti = 0.4\n",
            ("max_term", "max_term_months", "mortgage"),
        ),
    ],
    ids=["top_level", "product_table"],
)
def test_unknown_key_names_file_key_and_closest(tmp_path, text, fragments):
    """An unknown key is an InputError naming the file, the key and the closest valid key."""
    f = tmp_path / "p.toml"
    f.write_text(text)
    message = input_error(Policy.from_toml, f)
    assert str(f) in message
    for fragment in fragments:
        assert fragment in message, fragment


def test_product_override(tmp_path):
    """[product.card_instalment] overrides apply to that product only."""
    f = tmp_path / "p.toml"
    f.write_text("max_dti = 0.45\n[product.card_instalment]\nmax_term_months = 36\n")
    p = Policy.from_toml(f)
    assert p.for_product("card_instalment").max_term_months == 36
    assert p.for_product("card_instalment").max_dti == 0.45
    assert p.for_product("auto_loan").max_term_months == 60


@pytest.mark.parametrize(
    "changes",
    [
        {"max_dti": -0.1},
        {"max_haircut": 1.5},
        {"max_term_months": 0},
        {"deferral_interest": ("skip",)},
        {"rounding": 0.001},
        {"max_payment_levels": 2.5},
    ],
)
def test_replace_validates(changes):
    """Out-of-range values are rejected with a ValueError naming the key."""
    with pytest.raises(ValueError) as err:
        Policy().replace(**changes)
    assert next(iter(changes)) in str(err.value)


def test_bad_value_in_file_is_input_error(tmp_path):
    """A bad value in a file is an InputError naming the file (exit 2, no traceback)."""
    f = tmp_path / "p.toml"
    f.write_text('max_dti = "high"\n')
    with pytest.raises(InputError, match="max_dti"):
        Policy.from_toml(f)


def test_toml_round_trip(tmp_path):
    """to_toml then from_toml gives back the same policy (with overrides)."""
    p = Policy(
        max_dti=0.6,
        deferral_interest=("waive",),
        products={"card_instalment": {"max_term_months": 24}},
    )
    p.to_toml(tmp_path / "out.toml")
    assert Policy.from_toml(tmp_path / "out.toml") == p


def test_with_setting():
    """Command-line style key=value assignments parse to the key's type."""
    p = (
        Policy()
        .with_setting("policy.max_deferral_months=3")
        .with_setting("deferral_interest=capitalize,waive")
    )
    assert p.max_deferral_months == 3 and p.deferral_interest == ("capitalize", "waive")
    with pytest.raises(InputError, match="did you mean"):
        Policy().with_setting("max_defferal_months=3")
