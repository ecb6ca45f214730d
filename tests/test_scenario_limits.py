"""Scenario files refuse sizes and seeds the machine cannot honour (issue 15)."""

from __future__ import annotations

import pytest

from solver.core.limits import MAX_ACCOUNTS, MAX_SEED
from solver.errors import InputError
from solver.scenarios.spec import load_scenario


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("[portfolio]\nn = 1e12\nseed = 1\n", "without a decimal point or exponent"),
        (
            "[portfolio]\nn = 1000000000000\nseed = 1\n",
            f"portfolio.n must be in [1, {MAX_ACCOUNTS:,}]",
        ),
        ("[portfolio]\nn = 10\nseed = 4294967296\n", f"portfolio.seed must be in [0, {MAX_SEED}]"),
        (
            "[portfolio]\nn = 10\nseed = 1\n[simulation]\nseed = -1\n",
            f"simulation.seed must be in [0, {MAX_SEED}]",
        ),
    ],
)
def test_scenario_size_and_seed_limits(tmp_path, body, words):
    """portfolio.n, portfolio.seed and simulation.seed out of range: InputError naming the key."""
    path = tmp_path / "s.toml"
    path.write_text(body)
    with pytest.raises(InputError) as err:
        load_scenario(path)
    text = str(err.value) + " ".join(getattr(err.value, "details", []) or [])
    assert words in text, text


def test_scenario_at_the_limits_loads(tmp_path):
    """The largest allowed values are accepted (the check is a range, not a ban)."""
    path = tmp_path / "s.toml"
    path.write_text(f"[portfolio]\nn = {MAX_ACCOUNTS}\nseed = {MAX_SEED}\n")
    scenario = load_scenario(path)
    assert scenario is not None
