"""Session 17 review findings mended by the lead: --within without the customer objective."""

from __future__ import annotations

from pathlib import Path

from cli_inprocess import run_workout

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"


def test_within_without_customer_objective_is_a_usage_error():
    """--within alone exits 2 naming --objective customer instead of being ignored."""
    code, out, err = run_workout("plan", SAMPLE, "--within", "5")
    assert code == 2
    assert "--objective customer" in err and out == ""


def test_within_with_customer_objective_still_runs():
    """--objective customer --within 5 recommends a plan (exit 0)."""
    code, out, err = run_workout("plan", SAMPLE, "--objective", "customer", "--within", "5")
    assert code == 0, err
    assert "RECOMMENDED" in out
