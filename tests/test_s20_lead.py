"""Session 20, lead's mends: a history too small for the early-warning model's held-out
calibration table is refused with a clear error, not an internal one."""

from __future__ import annotations

import math

from cli_inprocess import run_workout

from solver.core.generate import generate_portfolio
from solver.core.history_sim import simulate_history


def _history_csv(tmp_path, n: int, seed: int, months: int):
    """A generated book's payment history of ``months`` months, written as CSV."""
    path = tmp_path / f"history_{n}_{seed}.csv"
    simulate_history(generate_portfolio(n, seed), months, seed).to_csv(path, index=False)
    return path


def test_risk_fit_on_a_tiny_history_is_a_user_error_and_writes_nothing(tmp_path):
    """`risk fit` on a 60-account history (a held-out set smaller than the 10 calibration
    deciles) exits 2 with `Error:` naming the file, and writes no model file (it used to
    end in `internal error ... zero-size array`, exit 1)."""
    path = _history_csv(tmp_path, 60, 7, 12)
    out = tmp_path / "ew.toml"
    code, _, err = run_workout("risk", "fit", path, "--out", out, "--no-png")
    assert code == 2, err
    assert err.startswith("Error:") and path.name in err
    assert "calibration deciles" in err
    assert "internal error" not in err
    assert not out.exists()


def test_a_history_large_enough_for_the_deciles_is_fitted(tmp_path):
    """The threshold is the deciles' 10 held-out rows, not more: a 400-account history
    (whose held-out share at the default 0.3 is at least 10 rows whenever 34 or more
    accounts are at risk) fits and writes its model."""
    assert math.ceil(0.3 * 34) >= 10 > math.ceil(0.3 * 30)  # the rule's arithmetic
    path = _history_csv(tmp_path, 400, 7, 12)
    out = tmp_path / "ew.toml"
    code, _, err = run_workout("risk", "fit", path, "--out", out, "--no-png")
    assert code == 0, err
    assert out.exists()


def test_risk_fit_warns_when_the_model_cannot_tell_the_outcomes_apart(tmp_path):
    """A 1,000-account generated history fits constant trees (held-out AUC 0.5): `risk fit`
    still writes the model but warns on stderr; the 4,000-account history of `risk --help`'s
    example gets no warning (measured AUC 0.72 on seed 0)."""
    for n, weak in ((1000, True), (4000, False)):
        path = _history_csv(tmp_path, n, 0, 9)
        out = tmp_path / f"ew{n}.toml"
        code, _, err = run_workout("risk", "fit", path, "--out", out, "--no-png")
        assert code == 0, err
        assert out.exists()
        assert ("warning: the model does not tell defaults" in err) is weak, err


def test_the_tier_table_shows_the_pooled_rate_each_tier_hazard_comes_from(tmp_path):
    """The fit's tier table (CSV) carries a `pooled_rate` column: the observed rates made
    non-decreasing from A to E, equal to the observed rate where no pooling happened; the
    model file's `[tiers.hazard]` is that rate per month over the 3-month default horizon,
    1 − (1 − rate)^(1/3), for every tier with accounts."""
    import io
    import tomllib

    import pandas as pd

    path = _history_csv(tmp_path, 4000, 0, 9)
    out = tmp_path / "ew.toml"
    code, text, err = run_workout("risk", "fit", path, "--out", out, "--no-png", "--format", "csv")
    assert code == 0, err
    used = pd.read_csv(io.StringIO(text)).query("n > 0")
    assert used["pooled_rate"].is_monotonic_increasing
    pooled = used["pooled_rate"].to_numpy()
    observed = used["observed_rate"].to_numpy()
    alone = [
        i
        for i in range(len(used))
        if (i == 0 or pooled[i] != pooled[i - 1])
        and (i == len(used) - 1 or pooled[i] != pooled[i + 1])
    ]
    assert all(abs(pooled[i] - observed[i]) < 1e-12 for i in alone)
    written = tomllib.loads(out.read_text())["tiers"]["hazard"]
    for tier, rate in zip(used["tier"], pooled, strict=True):
        assert abs(written[tier] - (1 - (1 - rate) ** (1 / 3))) < 1e-12, tier
