"""Session 20, lead's mends: a history too small for the early-warning model's held-out
calibration table is refused with a clear error, not an internal one."""

from __future__ import annotations

import math

from cli_inprocess import run_workout

from solver.core.generate import generate_portfolio
from solver.core.history_sim import simulate_history


def test_risk_fit_on_a_tiny_history_is_a_user_error_and_writes_nothing(tmp_path):
    """`risk fit` on a 60-account history (a held-out set smaller than the 10 calibration
    deciles) exits 2 with `Error:` naming the file, and writes no model file (it used to
    end in `internal error ... zero-size array`, exit 1)."""
    book = generate_portfolio(60, 7)
    history = simulate_history(book, 12, 7)
    path = tmp_path / "book_history.csv"
    history.to_csv(path, index=False)
    out = tmp_path / "ew.toml"
    code, _, err = run_workout("risk", "fit", path, "--out", out, "--no-png")
    assert code == 2, err
    assert err.startswith("Error:") and "book_history.csv" in err
    assert "calibration deciles" in err
    assert "internal error" not in err
    assert not out.exists()


def test_a_history_large_enough_for_the_deciles_is_fitted(tmp_path):
    """The threshold is the deciles' 10 held-out rows, not more: a 400-account history
    (whose held-out share at the default 0.3 is at least 10 rows whenever 34 or more
    accounts are at risk) fits and writes its model."""
    assert math.ceil(0.3 * 34) >= 10 > math.ceil(0.3 * 30)  # the rule's arithmetic
    book = generate_portfolio(400, 7)
    history = simulate_history(book, 12, 7)
    path = tmp_path / "book_history.csv"
    history.to_csv(path, index=False)
    out = tmp_path / "ew.toml"
    code, _, err = run_workout("risk", "fit", path, "--out", out, "--no-png")
    assert code == 0, err
    assert out.exists()
