"""Absorbing-chain analysis of receivables: textbook examples derived by hand, input checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from input_errors import input_error

from solver.errors import InputError
from solver.risk.absorption import absorbing_summary, absorption, expected_loss


def test_two_bucket_chain_with_cure_matches_hand_derivation():
    """A 2-transient chain where late accounts can cure: N and B equal the hand-derived fractions.

    States: current C, late L (transient); paid P, charged off X (absorbing).
    Q = [[0.5, 0.2], [0.3, 0.4]], R = [[0.3, 0.0], [0.1, 0.2]] (L -> C is the cure).
    I - Q = [[0.5, -0.2], [-0.3, 0.6]], det = 0.30 - 0.06 = 0.24, so
    N = (1/0.24) [[0.6, 0.2], [0.3, 0.5]] = [[5/2, 5/6], [5/4, 25/12]].
    B = N R: row C = [5/2*0.3 + 5/6*0.1, 5/6*0.2] = [5/6, 1/6];
             row L = [5/4*0.3 + 25/12*0.1, 25/12*0.2] = [7/12, 5/12].
    Expected months to absorption N·1 = [5/2 + 5/6, 5/4 + 25/12] = [10/3, 10/3].
    Tolerance 1e-12 (exact fractions, double precision).
    """
    q = np.array([[0.5, 0.2], [0.3, 0.4]])
    r = np.array([[0.3, 0.0], [0.1, 0.2]])
    n, b = absorption(q, r)
    np.testing.assert_allclose(n, [[5 / 2, 5 / 6], [5 / 4, 25 / 12]], atol=1e-12)
    np.testing.assert_allclose(b, [[5 / 6, 1 / 6], [7 / 12, 5 / 12]], atol=1e-12)
    summary = absorbing_summary(q, r, ("C", "L"), ("paid", "charged_off"))
    np.testing.assert_allclose(summary.expected_months, [10 / 3, 10 / 3], atol=1e-12)
    np.testing.assert_allclose(summary.probability_of("charged_off"), [1 / 6, 5 / 12], atol=1e-12)


def test_cyert_davidson_thompson_ageing_allowance():
    """A CDT-style ageing chain without cures: bad-debt probabilities and the allowance by hand.

    Buckets 0 (current), 1, 2, 3 months overdue; each month an account pays off or ages:
    0: paid 0.4, -> 1 0.6;  1: paid 0.5, -> 2 0.5;  2: paid 0.6, -> 3 0.4;
    3: paid 0.7, bad debt 0.3.
    No cures, so N is upper triangular with N[i, j] = product of the ageing probabilities
    from i to j: N[0] = [1, 0.6, 0.3, 0.12], N[1] = [0, 1, 0.5, 0.2], N[2] = [0, 0, 1, 0.4].
    P(bad | i) = N[i, 3] * 0.3 = [0.036, 0.06, 0.12, 0.3].
    Expected months: [1 + 0.6 + 0.3 + 0.12, 1 + 0.5 + 0.2, 1 + 0.4, 1] = [2.02, 1.7, 1.4, 1].
    Allowance for balances [100000, 50000, 20000, 10000] with LGD 1:
    3600 + 3000 + 2400 + 3000 = 12000.00; with LGD 0.6: 7200.00 (exact to the cent).
    """
    q = np.array(
        [[0, 0.6, 0, 0], [0, 0, 0.5, 0], [0, 0, 0, 0.4], [0, 0, 0, 0]],
    )
    r = np.array([[0.4, 0], [0.5, 0], [0.6, 0], [0.7, 0.3]])
    n, b = absorption(q, r)
    np.testing.assert_allclose(n[0], [1, 0.6, 0.3, 0.12], atol=1e-12)
    np.testing.assert_allclose(n[1], [0, 1, 0.5, 0.2], atol=1e-12)
    np.testing.assert_allclose(b[:, 1], [0.036, 0.06, 0.12, 0.3], atol=1e-12)
    np.testing.assert_allclose(n.sum(axis=1), [2.02, 1.7, 1.4, 1.0], atol=1e-12)
    balances = np.array([100_000.0, 50_000.0, 20_000.0, 10_000.0])
    loss = expected_loss(balances, b, lgd=1.0, charge_off=1)
    np.testing.assert_allclose(loss.by_bucket, [3600.0, 3000.0, 2400.0, 3000.0], atol=0)
    assert loss.total == 12_000.00
    assert expected_loss(balances, b, lgd=0.6, charge_off=1).total == 7_200.00


def test_three_bucket_chain_with_roll_backs():
    """M0/M1/M2 with cures to a less delinquent bucket: first-step analysis gives x and t in 71ths.

    M0: stay 0.7, -> M1 0.2, paid 0.1.  M1: -> M0 0.5, -> M2 0.3, paid 0.2.
    M2: -> M1 0.2, stay 0.2, charged off 0.6.
    Charge-off probabilities x: x0 = 0.7 x0 + 0.2 x1 -> x0 = 2/3 x1;
    x2 = 0.2 x1 + 0.2 x2 + 0.6 -> x2 = x1/4 + 3/4;
    x1 = 0.5 x0 + 0.3 x2 = x1/3 + 0.075 x1 + 0.225 -> x1 = 0.225 / (71/120) = 27/71,
    so x = [18/71, 27/71, 60/71].
    Months to absorption t: t0 = 1 + 0.7 t0 + 0.2 t1 -> t0 = 10/3 + 2/3 t1;
    t2 = 1 + 0.2 t1 + 0.2 t2 -> t2 = 5/4 + t1/4; t1 = 1 + 0.5 t0 + 0.3 t2
    -> t1 (71/120) = 1 + 5/3 + 3/8 = 73/24 -> t1 = 365/71, t0 = 480/71, t2 = 180/71.
    Tolerance 1e-12.
    """
    q = np.array([[0.7, 0.2, 0.0], [0.5, 0.0, 0.3], [0.0, 0.2, 0.2]])
    r = np.array([[0.1, 0.0], [0.2, 0.0], [0.0, 0.6]])
    n, b = absorption(q, r)
    np.testing.assert_allclose(b[:, 1], np.array([18, 27, 60]) / 71, atol=1e-12)
    np.testing.assert_allclose(b[:, 0], np.array([53, 44, 11]) / 71, atol=1e-12)
    np.testing.assert_allclose(n.sum(axis=1), np.array([480, 365, 180]) / 71, atol=1e-12)


def test_single_bucket_is_geometric():
    """One transient bucket left with probability 1 - q each month: N = 1/(1 - q), spread sqrt(q)/(1 - q)."""
    summary = absorbing_summary(np.array([[0.75]]), np.array([[0.25]]), ("M1",), ("charged_off",))
    assert summary.fundamental[0, 0] == pytest.approx(4.0, abs=1e-12)
    # Geometric number of months: variance q / (1 - q)^2 = 0.75 / 0.0625 = 12.
    assert summary.months_std[0] == pytest.approx(np.sqrt(12.0), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=6))
def test_fundamental_matrix_is_the_series_of_q_powers(seed, size):
    """For random chains with positive exits, N equals sum_k Q^k and every row of B sums to 1."""
    rng = np.random.default_rng(seed)
    raw = rng.random((size, size + 2))
    raw[:, size:] += 0.05  # every bucket can be absorbed directly
    p = raw / raw.sum(axis=1, keepdims=True)
    q, r = p[:, :size], p[:, size:]
    n, b = absorption(q, r)
    series = np.zeros_like(q)
    power = np.eye(size)
    for _ in range(2000):
        series += power
        power = power @ q
    np.testing.assert_allclose(n, series, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(b.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize(
    ("q", "r", "fragment"),
    [
        (np.array([[0.5, 0.5]]), np.array([[0.0]]), "square"),
        (np.eye(2) * 0.5, np.array([[0.5]]), "one row per transient state"),
        (np.array([[0.6, -0.1], [0.2, 0.3]]), np.array([[0.5], [0.5]]), ">= 0"),
        (np.array([[0.6, 0.1], [0.2, 0.3]]), np.array([[0.2], [0.5]]), "sums to 0.9"),
        (np.array([[np.nan, 0.5], [0.2, 0.3]]), np.array([[0.5], [0.5]]), "finite"),
        (
            np.array([[0.0, 1.0], [1.0, 0.0]]),
            np.array([[0.0], [0.0]]),
            "no absorbing state is reachable",
        ),
        (np.array([[0.5]]), np.zeros((1, 0)), "at least one absorbing state"),
    ],
)
def test_invalid_chains_are_rejected_with_a_clear_message(q, r, fragment):
    """Bad shapes, negative or NaN entries, rows not summing to 1 and trapped buckets raise InputError."""
    with pytest.raises(InputError, match=fragment) as info:
        absorption(q, r)
    assert isinstance(info.value, ValueError)


def test_unreachable_bucket_is_named():
    """A bucket cycling only with another trapped bucket is reported by its row and name."""
    q = np.array([[0.5, 0.25, 0.0], [0.0, 0.5, 0.5], [0.0, 0.5, 0.5]])
    r = np.array([[0.25], [0.0], [0.0]])
    text = input_error(absorbing_summary, q, r, ("M0", "M1", "M2"), ("paid",))
    assert "row 2 (M1)" in text and "row 3 (M2)" in text and "row 1 (M0)" not in text


def test_expected_loss_reconciles_to_the_cent():
    """Per-bucket losses are rounded to cents and the total is their exact sum."""
    b = np.array([[2 / 3, 1 / 3], [1 / 3, 2 / 3], [0.0, 1.0]])
    loss = expected_loss(np.array([333.33, 100.01, 0.07]), b, lgd=[1.0, 0.5, 1.0])
    np.testing.assert_array_equal(loss.by_bucket, [111.11, 33.34, 0.07])
    assert loss.total == pytest.approx(144.52, abs=1e-9)
    assert round(loss.total * 100) == round(loss.by_bucket.sum() * 100)


def test_expected_loss_rejects_bad_inputs():
    """Negative balances, wrong lengths and LGD outside [0, 1] raise InputError."""
    b = np.array([[0.5, 0.5], [0.2, 0.8]])
    with pytest.raises(InputError, match="one value per transient bucket"):
        expected_loss(np.array([1.0]), b)
    with pytest.raises(InputError, match=">= 0"):
        expected_loss(np.array([1.0, -2.0]), b)
    with pytest.raises(InputError, match="lgd"):
        expected_loss(np.array([1.0, 2.0]), b, lgd=1.5)
