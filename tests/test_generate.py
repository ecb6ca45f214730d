"""Tests for solver.core.generate: determinism, validity and the documented distributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from solver.core.generate import generate_portfolio
from solver.core.readers import read_portfolio
from solver.core.schema import COLUMNS
from solver.core.validation import validate_portfolio
from solver.core.writers import write_table
from solver.errors import InputError

N = 20_000


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    return generate_portfolio(N, seed=7)


def test_same_seed_same_frame_different_seed_differs():
    """The same n and seed give an identical frame; another seed gives another one."""
    a = generate_portfolio(500, seed=3)
    b = generate_portfolio(500, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(generate_portfolio(500, seed=4))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_same_seed_byte_identical_files(tmp_path, suffix):
    """Two runs with the same seed write byte-identical CSV / Parquet files."""
    first = write_table(generate_portfolio(2_000, seed=11), tmp_path / f"a{suffix}")
    second = write_table(generate_portfolio(2_000, seed=11), tmp_path / f"b{suffix}")
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_generated_files_pass_validation(tmp_path, book, suffix):
    """A written portfolio reads back through read_portfolio unchanged."""
    path = write_table(book, tmp_path / f"book{suffix}")
    pd.testing.assert_frame_equal(read_portfolio(path), book, check_exact=True)


def test_schema_and_revalidation(book):
    """The frame has the SPEC columns and validates again as it is."""
    assert list(book.columns) == [*COLUMNS, "dpd_bucket"]
    pd.testing.assert_frame_equal(validate_portfolio(book), book)
    assert book["account_id"].is_unique


def test_balances_fit_the_contract(book):
    """SPEC §4 consistency: the level payment on principal + interest_due − arrears over
    remaining_term equals the missed instalment arrears / ceil(dpd/30) (to 1 cent)."""
    late = book[book["dpd"] > 0]
    missed = np.ceil(late["dpd"] / 30)
    instalment = late["arrears"] / missed
    balance = late["principal"] + late["interest_due"] - late["arrears"]
    i = late["annual_rate"] / 12
    level = balance * i / (1 - (1 + i) ** -late["remaining_term"])
    assert np.allclose(level, instalment, atol=0.02)
    assert (late["arrears"] <= late["principal"] + late["interest_due"] + 1e-9).all()
    current = book[book["dpd"] == 0]
    assert (current[["arrears", "interest_due", "fees_due"]] == 0).all().all()


def test_money_is_in_whole_cents(book):
    """Every money column is a whole number of cents."""
    for column in ("principal", "interest_due", "fees_due", "arrears", "income", "expenses"):
        cents = book[column].to_numpy() * 100
        assert np.allclose(cents, np.round(cents), atol=1e-6), column


def test_documented_shares(book):
    """Product, bucket and flag shares are within sampling error of the docstring values."""
    tol = 4 * np.sqrt(0.25 / N)  # 4 standard errors of a share

    def share(mask) -> float:
        return float(np.mean(mask))

    assert abs(share(book["product"] == "auto_loan") - 0.45) < tol
    buckets = book["dpd_bucket"].value_counts(normalize=True)
    for bucket, expected in zip(
        ["M0", "M1", "M2", "M3", "M4+"], [0.04, 0.52, 0.20, 0.11, 0.13], strict=True
    ):
        assert abs(buckets[bucket] - expected) < tol, bucket
    for flag, expected in [("hardship", 0.05), ("cease_contact", 0.01), ("dispute", 0.02),
                           ("has_plan", 0.04), ("consent_sms", 0.95), ("consent_email", 0.80)]:  # fmt: skip
        assert abs(share(book[flag]) - expected) < tol, flag
    assert abs(share(book["credit_score"].isna()) - 0.08) < tol


def test_documented_ranges(book):
    """Rates, balances, collateral and incomes follow the documented ranges per product."""
    auto = book[book["product"] == "auto_loan"]
    card = book[book["product"] == "card_instalment"]
    assert auto["annual_rate"].between(0.03, 0.09).all()
    assert card["annual_rate"].between(0.10, 0.18).all()
    assert 30_000 < auto["principal"].median() < 300_000
    assert 5_000 < card["principal"].median() < 80_000
    assert (card["vehicle_value"] == 0).all() and (auto["vehicle_value"] > 0).all()
    assert (book["income"] <= book["income_normal"]).all()
    shocked = book["income"] < book["income_normal"]
    assert (book.loc[shocked, "recovery_months"].between(1, 12)).all()
    assert (book.loc[~shocked, "recovery_months"] == 0).all()
    assert set(book["language"]) <= {"zh", "yue", "zh-min-nan", "wuu", "ug", "bo", "en"}
    assert book["region"].value_counts().index[0] == "Guangdong"  # largest population
    assert (book.loc[book["dpd"] > 90, "tier"] == "E").all()


def test_product_mix_and_bad_arguments():
    """product_mix controls the split; bad mixes and sizes are InputErrors."""
    cards = generate_portfolio(300, seed=1, product_mix={"card_instalment": 1.0})
    assert (cards["product"] == "card_instalment").all()
    with pytest.raises(InputError, match="unknown product 'lease'"):
        generate_portfolio(10, product_mix={"lease": 1.0})
    with pytest.raises(InputError, match="not all 0"):
        generate_portfolio(10, product_mix={"auto_loan": 0.0})
    with pytest.raises(InputError, match="n must be"):
        generate_portfolio(0)
