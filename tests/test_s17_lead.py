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


def test_payments_text_gives_the_last_payment_to_the_cent_above_or_below():
    """The payments text ends with the exact last payment whether it is below or above the
    phase before it, and states an amount off whole units to the cent (review: '→ 2,145'
    stood for 2,144.63)."""
    from commands.plan_text import phases_text

    assert phases_text([100_000, 127_600, 127_600, 214_463], (), "0", "CNY") == (
        "1,000 → 1,276 ×2 → last 2,144.63"
    )
    assert phases_text([0, 0, 261_500, 261_500, 259_479], ((1, 2),), "0", "CNY") == (
        "2× 0 → 2,615 ×2 → last 2,594.79"
    )
    assert phases_text([298_005, 298_005, 301_400], (), "0", "CNY") == (
        "2,980.05 ×2 → last 3,014.00"
    )
    assert phases_text([50_000], (), "0", "CNY") == "500.00"  # a lump sum
    assert phases_text([0, 50_000], ((1, 1),), "0", "CNY") == "1× 0 → last 500.00"
