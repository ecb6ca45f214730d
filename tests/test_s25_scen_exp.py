"""Session 25 review of `workout experiment evaluate`: every metric (cure rate, pooled
recovery rate included) is tested with Welch's t and its degrees of freedom, interval and
p-value from one standard error, so small groups get t quantiles, not the normal's."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as t_dist
from scipy.stats import ttest_ind


def _small_outcomes() -> pd.DataFrame:
    """Six champion and five challenger accounts in two tiers (a pilot's, or a segment's)."""
    return pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(11)],
            "group": ["champion"] * 6 + ["challenger"] * 5,
            "balance": [1000.0, 2000.0, 1500.0, 800.0, 1200.0, 900.0]
            + [1100.0, 1700.0, 600.0, 2500.0, 1300.0],
            "collected": [100.0, 500.0, 150.0, 40.0, 300.0, 90.0]
            + [330.0, 600.0, 200.0, 900.0, 260.0],
            "cured": [0, 1, 0, 0, 1, 0] + [1, 1, 0, 1, 0],
            "tier": ["A", "A", "A", "B", "B", "B"] + ["A", "A", "B", "B", "B"],
        }
    )


def test_cure_rate_of_small_groups_is_welchs_t_test_on_the_outcomes():
    """The cure rate's p-value and interval are scipy's Welch test on the 0/1 outcomes (2/6
    vs 3/5 cured); until session 25 a pooled z-test and a Wald interval (1.96) were used."""
    from solver.scenarios.experiment_eval import evaluate_outcomes

    frame = _small_outcomes()
    row = evaluate_outcomes(frame).uplift.set_index("metric").loc["cure_rate"]
    champion = frame.loc[frame["group"] == "champion", "cured"].to_numpy(float)
    challenger = frame.loc[frame["group"] == "challenger", "cured"].to_numpy(float)
    oracle = ttest_ind(challenger, champion, equal_var=False)
    ci = oracle.confidence_interval(0.95)
    assert row["uplift"] == pytest.approx(3 / 5 - 2 / 6, abs=1e-6)
    assert row["p_value"] == pytest.approx(oracle.pvalue, abs=1e-6)
    assert row["ci_low"] == pytest.approx(ci.low, abs=1e-6)
    assert row["ci_high"] == pytest.approx(ci.high, abs=1e-6)


def test_pooled_recovery_rate_uses_t_with_welch_degrees_of_freedom():
    """The pooled recovery rate Σcollected/Σbalance: delta-method se by hand (residuals
    y − r·x over x̄), Welch–Satterthwaite df, interval uplift ± t_.975(df)·se and
    p = 2·P(T_df > |uplift/se|); the z-test before gave a narrower interval here."""
    from solver.scenarios.experiment_eval import evaluate_outcomes

    frame = _small_outcomes()
    row = evaluate_outcomes(frame).uplift.set_index("metric").loc["recovery_rate_pooled"]
    parts = []
    for group in ("champion", "challenger"):
        g = frame[frame["group"] == group]
        y, x = g["collected"].to_numpy(float), g["balance"].to_numpy(float)
        r = y.sum() / x.sum()
        per_account = np.var(y - r * x, ddof=1) / x.mean() ** 2
        parts.append((r, per_account / len(x), len(x)))
    (r1, a, n1), (r2, b, n2) = parts
    se = math.sqrt(a + b)
    df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n2 - 1))
    half = t_dist.ppf(0.975, df) * se
    assert row["uplift"] == pytest.approx(r2 - r1, abs=1e-6)
    assert row["ci_low"] == pytest.approx(r2 - r1 - half, abs=1e-6)
    assert row["ci_high"] == pytest.approx(r2 - r1 + half, abs=1e-6)
    assert row["p_value"] == pytest.approx(2 * t_dist.sf(abs(r2 - r1) / se, df), abs=1e-6)
    assert half > 1.959963984540054 * se * 1.05  # a t with few df is wider than the normal


def test_verdict_and_interval_agree_for_every_metric_and_segment():
    """For every metric of several small random experiments, "significant" (p < 5 %) holds
    exactly when the 95 % interval excludes 0 (one se, one distribution), and a tiny
    segment's cure interval is scipy's Welch interval (tier B: 0/3 vs 1/3 cured)."""
    from solver.scenarios.experiment_eval import evaluate_outcomes

    rng = np.random.default_rng(25)
    for _ in range(20):
        n = int(rng.integers(8, 16))
        frame = pd.DataFrame(
            {
                "account_id": [f"X{i}" for i in range(n)],
                "group": ["champion", "challenger"] * (n // 2) + ["champion"] * (n % 2),
                "balance": rng.uniform(500, 3000, n),
                "collected": rng.uniform(0, 400, n),
                "cured": rng.integers(0, 2, n),
            }
        )
        uplift = evaluate_outcomes(frame).uplift
        testable = uplift[uplift["p_value"].notna()]
        excludes = (testable["ci_low"] > 0) | (testable["ci_high"] < 0)
        # rows rounded to 6 decimals: skip the knife-edge p within 1e-4 of 5 %
        clear = (testable["p_value"] - 0.05).abs() > 1e-4
        assert (excludes[clear] == testable["significant"][clear]).all()
    frame = _small_outcomes()
    segments = evaluate_outcomes(frame).segments.set_index(["segment_type", "segment"])
    part = frame[frame["tier"] == "B"]
    oracle = ttest_ind(
        part.loc[part["group"] == "challenger", "cured"].to_numpy(float),
        part.loc[part["group"] == "champion", "cured"].to_numpy(float),
        equal_var=False,
    ).confidence_interval(0.95)
    assert segments.loc[("tier", "B"), "cure_ci_low"] == pytest.approx(oracle.low, abs=1e-6)
    assert segments.loc[("tier", "B"), "cure_ci_high"] == pytest.approx(oracle.high, abs=1e-6)
