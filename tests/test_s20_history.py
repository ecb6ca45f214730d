"""Generated payment history and risk fitting (session 20 review): the history's own random
stream, cures, monotone early-warning tier hazards, kappa of an outcome-table calibration."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
from risk_data import DATA
from scipy import stats

from solver.core.generate import generate_portfolio
from solver.core.history_sim import simulate_history
from solver.risk.behaviour_toml import write_behaviour_toml
from solver.risk.calibration import calibrate_outcomes
from solver.risk.early_warning import fit_early_warning
from solver.risk.early_warning_fit import EarlyWarningParams
from solver.risk.history import validate_history
from solver.risk.outcomes import read_outcomes, simulate_defaults
from solver.risk.transitions import calibrate_history

# SPEC §4 defaults, written out here (not read from the code under test)
H0 = {"A": 0.002, "B": 0.004, "C": 0.008, "D": 0.015, "E": 0.03}
KAPPA = 0.2


def spec_month1_hazard(book: pd.DataFrame) -> np.ndarray:
    """Month-1 hazard of each account on its status-quo payment, from SPEC §4 by hand:
    payment = arrears + fees_due + level instalment of principal + interest_due − arrears
    over remaining_term; income path, lognormal affordability, h = h0 + (1 − h0) κ (1 − a)."""
    r = book["annual_rate"].to_numpy(float) / 12
    n = book["remaining_term"].to_numpy(float)
    amortised = (book["principal"] + book["interest_due"] - book["arrears"]).to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        instalment = np.where(r > 0, amortised * r / (1 - (1 + r) ** -n), amortised / n)
    payment = (book["arrears"] + book["fees_due"]).to_numpy(float) + instalment
    income = book["income"].to_numpy(float)
    normal = book["income_normal"].to_numpy(float)
    months = book["recovery_months"].to_numpy(float)
    mean = income + (normal - income) * np.where(
        months > 0, np.minimum(1, 1 / np.maximum(months, 1)), 1
    )
    s2 = np.log1p(book["income_cv"].to_numpy(float) ** 2)
    mu = np.log(mean) - s2 / 2
    threshold = payment + (book["expenses"] + book["other_debt"]).to_numpy(float)
    afford = stats.norm.sf((np.log(threshold) - mu) / np.sqrt(s2))
    h0 = book["tier"].map(H0).to_numpy(float)
    return h0 + (1 - h0) * KAPPA * (1 - afford)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_month_one_charge_offs_follow_the_model_in_every_product(seed):
    """Month-1 charge-offs per product are within 4 sd of the SPEC §4 hazards' sum (main: AL 2x, CI 0)."""
    book = generate_portfolio(8000, seed)
    history = simulate_history(book, 1, seed)
    month1 = history[history["month"] == "2025-07"].set_index("account_id")
    charged = (month1["status"].reindex(book["account_id"]) == "charged_off").to_numpy()
    hazard = spec_month1_hazard(book)
    # a one-month contract's last payment also clears a month's interest on the arrears:
    # leave those few accounts out rather than model that detail here
    kept = book["remaining_term"].to_numpy() >= 2
    for product in ("auto_loan", "card_instalment"):
        mask = kept & (book["product"] == product).to_numpy()
        expected = hazard[mask].sum()
        sd = np.sqrt((hazard[mask] * (1 - hazard[mask])).sum())
        assert abs(charged[mask].sum() - expected) <= 4 * sd, (
            product,
            charged[mask].sum(),
            expected,
        )


def test_calibration_on_a_generated_history_recovers_the_model():
    """Calibrating generated histories with their books gives κ's interval covering 0.2 on every
    seed and the tier h0 intervals covering the SPEC values at least 14 times of 20 (their Wald
    intervals under-cover: 82 % measured over 16 other seeds; main: κ ≈ 0.208 excluded, A 1e-10)."""
    covered = 0
    for seed in range(4):
        book = generate_portfolio(8000, seed)
        history = validate_history(simulate_history(book, 9, seed))
        result = calibrate_history(history, book=book).hazards
        assert result.kappa_lower <= KAPPA <= result.kappa_upper, (seed, result.kappa)
        covered += sum(t.lower <= H0[t.tier] <= t.upper for t in result.tiers)
    assert covered >= 14


@pytest.fixture(scope="module")
def history_3000():
    """The 3,000-account seed-0 book and its 9-month history (the review's repro)."""
    book = generate_portfolio(3000, 0)
    return book, simulate_history(book, 9, 0)


def test_paying_everything_due_cures(history_3000):
    """No row pays all of a positive amount due and stays past due; no account closes paid while past due."""
    _, history = history_3000
    later = history[history["month"] > "2025-06"]
    paid_all = (later["amount_due"] > 0) & (later["amount_paid"] >= later["amount_due"])
    assert paid_all.sum() > 0
    assert (later.loc[paid_all, "dpd"] == 0).all()
    assert (history.loc[history["status"] == "paid", "dpd"] == 0).all()


def test_a_hold_in_month_one_pays_the_instalment_and_leaves_the_arrears(history_3000):
    """Month-1 rows paying part of the due pay exactly the due less the book's arrears + fees_due."""
    book, history = history_3000
    wide = history.pivot(
        index="account_id", columns="month", values=["amount_due", "amount_paid", "dpd"]
    )
    due, paid = wide[("amount_due", "2025-07")], wide[("amount_paid", "2025-07")]
    overdue = (
        book.set_index("account_id")["arrears"] + book.set_index("account_id")["fees_due"]
    ).round(2)
    partial = (paid > 0) & (paid < due)
    assert partial.sum() > 0
    assert np.allclose(paid[partial], (due - overdue.reindex(due.index))[partial], atol=0.011)
    # held accounts keep their 60-89 dpd
    held_dpd = wide[("dpd", "2025-07")][partial]
    assert ((held_dpd >= 60) & (held_dpd < 90)).all()


def pool_adjacent_violators(rates: list[float], weights: list[float]) -> list[float]:
    """Weighted isotonic (non-decreasing) fit by pooling adjacent violators, written out."""
    blocks: list[list[float]] = []  # [weighted sum, weight, count]
    for r, w in zip(rates, weights, strict=True):
        blocks.append([r * w, w, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, w2, c = blocks.pop()
            blocks[-1] = [blocks[-1][0] + s, blocks[-1][1] + w2, blocks[-1][2] + c]
    return [b[0] / b[1] for b in blocks for _ in range(int(b[2]))]


def test_early_warning_tier_hazards_never_fall_with_the_tier():
    """Uninformative features and an overfitted model give inverted raw tier rates; the hazards are pooled."""
    rng = np.random.default_rng(3)
    n = 1000
    y = (rng.random(n) < 0.4).astype(int)
    features = pd.DataFrame({"x": rng.random(n), "z": rng.random(n)})
    params = EarlyWarningParams(learning_rate=0.3, max_iter=100, min_samples_leaf=5, baseline=False)
    fit = fit_early_warning(features, y, params)
    used = fit.tiers[fit.tiers["n"] > 0]
    raw = used["observed_rate"].to_list()
    assert any(b < a for a, b in zip(raw, raw[1:], strict=False))  # the case is inverted
    hazard = [fit.model.tier_hazard[t] for t in used["tier"]]
    assert all(b >= a for a, b in zip(hazard, hazard[1:], strict=False))
    expected = pool_adjacent_violators(raw, used["n"].astype(float).to_list())
    assert hazard == pytest.approx(expected, abs=1e-12)


def test_outcome_table_calibration_keeps_the_base_kappa_and_says_so(tmp_path):
    """Without affordability data the written κ is the base model's (κ = 0 would make every
    plan's PD equal the status quo's), and the summary and the file warn that h0 holds the
    whole default rate."""
    result = calibrate_outcomes(read_outcomes(DATA / "outcomes_small.csv"))
    assert result.kappa is None and result.kappa_fixed is None
    assert "over-predicts defaults" in result.summary().splitlines()[-1]
    path = write_behaviour_toml(tmp_path / "b.toml", result)
    assert tomllib.loads(path.read_text())["kappa"] == KAPPA
    assert "over-predicts defaults" in path.read_text()


def test_outcome_table_model_still_lets_an_affordable_plan_lower_the_hazard(tmp_path):
    """Outcomes drawn with κ = 0.2, fitted without their afford_prob: by SPEC §4's hazard, the
    written model gives a month with a_t = 1 a lower hazard than one with a_t = 0.5 in every
    tier (the mechanism a restructuring plan works through), and its h0 is the tier's
    observed default rate (defaults over exposure, counted here)."""
    rng = np.random.default_rng(11)
    tiers = np.repeat(np.array(list(H0)), 400)
    afford = rng.uniform(0.3, 1.0, size=(tiers.size, 12))
    rows = simulate_defaults(tiers, H0, 12, afford_prob=afford, kappa=KAPPA, seed=12)
    result = calibrate_outcomes(rows.drop(columns="afford_prob"))
    written = tomllib.loads(write_behaviour_toml(tmp_path / "b.toml", result).read_text())
    for tier in H0:
        own = rows[rows["tier"] == tier]
        raw = result.hazard(tier).hazard  # written: pooled where the tiers invert (s24)
        assert raw == pytest.approx(own["defaults"].sum() / own["exposure_months"].sum(), rel=1e-9)
        h0 = written["base_hazard"][tier]
        affordable = h0
        half = h0 + (1 - h0) * written["kappa"] * 0.5
        assert affordable < half
