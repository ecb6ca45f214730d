"""The per-plan figures of the level scoring (``solver/plans/level_prep.py``) and its
term chunks (``solver/plans/scoring.py``) against the vectorised numpy code they replaced
(kept here as the reference; issue 13: speed), bit for bit on real candidate tables."""

from __future__ import annotations

import numpy as np
import pytest

from solver.core.generate import generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.context import CAP_TOL, context_from_frame
from solver.plans.families import (
    concat,
    concession_candidates,
    deferral_candidates,
    instalment_candidates,
    settlement_candidates,
)
from solver.plans.level_prep import (
    block_order,
    final_checks,
    lean_checks,
    rate_tables,
    survival_points,
)
from solver.plans.scoring import CHUNK_ROWS, _prefilter_parts, _term_chunks, plan_columns


def _candidates(product: str, n: int = 40, seed: int = 7):
    """A context, every level family's candidates and the rows that pass the prefilter,
    with the balance after the holiday and the level instalment of every row."""
    frame = generate_portfolio(n, seed=seed)
    part = frame[frame["product"] == product]
    ctx = context_from_frame(part, Policy().for_product(product), BehaviourModel())
    makers = (instalment_candidates, deferral_candidates, concession_candidates)
    cand = concat([make(ctx) for make in (*makers, settlement_candidates)])
    ok, B_D, P = _prefilter_parts(ctx, cand, ctx.policy.rounding)
    return ctx, cand, np.flatnonzero(ok), B_D, P


def _reference_checks(ctx, cand, rows, B_D, P):
    """The vectorised clearing payment and final checks the compiled pass replaced."""
    acc, B, rate = cand.acc[rows], cand.balance[rows], cand.rate[rows]
    D, mode, T, balloon = cand.deferral[rows], cand.mode[rows], cand.term[rows], cand.balloon[rows]
    B_D, P = B_D[rows], P[rows]
    r = rate / 12.0
    g = 1.0 + r
    pos = r > 0
    inv_r = np.where(pos, 1.0 / np.where(pos, r, 1.0), 0.0)
    k_last = (T - 1 - D).astype(float)
    g_last = np.exp(k_last * np.log1p(r))
    bearing_last = B_D * g_last - P * np.where(pos, (g_last - 1.0) * inv_r, k_last)
    final = bearing_last * g + balloon
    valid = (T - D == 1) | (bearing_last * g > 1e-6)
    cap_last = ctx.cap[acc, T - 1]
    with np.errstate(invalid="ignore"):
        tolerance = CAP_TOL * np.maximum(1.0, np.abs(cap_last))
        good = valid & (final > 0) & (final <= cap_last + tolerance)
    io = (D > 0) & (mode == 1)
    level_months = T - D - 1
    before = np.where(level_months >= 1, P, np.where(io, B * rate / 12.0, 0.0))
    larger_last = np.round(final, 2) > np.round(before, 2) + 1e-9
    n_phases = io.astype(np.int64) + (level_months >= 1) + larger_last
    good &= n_phases <= ctx.policy.max_payment_levels
    good &= D <= ctx.policy.max_deferral_months
    return good, final, valid


@pytest.mark.parametrize("product", ["auto_loan", "card_instalment"])
def test_lean_checks_equal_the_vectorised_reference(product) -> None:
    """The compiled clearing payment and final checks of prefiltered candidates are the
    vectorised code's, bit for bit; some candidates fail them, some pass."""
    ctx, cand, rows, B_D, P = _candidates(product)
    pol = ctx.policy
    dmax = int(cand.deferral[rows].max(initial=0))
    growth, _, index = rate_tables(cand.rate, rows, ctx.horizon, dmax)
    good, final = lean_checks(
        rows, plan_columns(cand, B_D, P), growth, index, ctx.cap,
        pol.max_payment_levels, pol.max_deferral_months, CAP_TOL,
    )  # fmt: skip
    want_good, want_final, valid = _reference_checks(ctx, cand, rows, B_D, P)
    assert want_good.any() and not want_good.all()
    assert np.array_equal(final, want_final)
    assert np.array_equal(good, want_good)
    # the array form (the general path's) gives the same answers
    columns = (cand.acc, cand.balance, cand.rate, cand.deferral, cand.mode, cand.term)
    got = final_checks(
        ctx.cap, tuple(x[rows] for x in columns), want_final, valid, P[rows],
        pol.max_payment_levels, pol.max_deferral_months, CAP_TOL,
    )  # fmt: skip
    assert np.array_equal(got, want_good)


def test_rate_tables_are_numpys_growth_of_each_row() -> None:
    """Each row's growth and shrink rows are numpy's ``exp(±t·log1p(rate/12))`` of its own
    rate (what the vectorised scoring computed row by row), bit for bit."""
    ctx, cand, rows, _, _ = _candidates("auto_loan")
    growth, shrink, index = rate_tables(cand.rate, rows, ctx.horizon, 6)
    lg = np.log1p(cand.rate[rows] / 12.0)
    t = np.arange(ctx.horizon, dtype=float)
    assert np.array_equal(growth[index], np.exp(lg[:, None] * t[None, :]))
    d = np.arange(7)
    assert np.array_equal(shrink[index], np.exp(-d[None, :] * lg[:, None]))
    assert len(growth) < rows.size / 10  # rows share rates: the tables are small


def test_term_chunks_are_the_term_blocks_in_order() -> None:
    """Rows grouped into blocks of terms (0, 6], (6, 12], … (the last up to the horizon),
    each block in the given order and cut into chunks of at most ``CHUNK_ROWS``."""
    rng = np.random.default_rng(4)
    horizon = 40
    terms = rng.integers(1, horizon + 1, 3 * CHUNK_ROWS)
    terms[: CHUNK_ROWS + 5] = 7  # one block longer than a chunk
    order, chunks = _term_chunks(terms, horizon)
    want = []
    lo = 0
    for hi in [6, 12, 18, 24, 30, 36, 40]:
        block = np.flatnonzero((terms > lo) & (terms <= hi))
        want += [(hi, block[k : k + CHUNK_ROWS]) for k in range(0, block.size, CHUNK_ROWS)]
        lo = hi
    assert [W for W, _, _ in chunks] == [W for W, _ in want]
    for (_, lo, hi), (_, block) in zip(chunks, want, strict=True):
        assert np.array_equal(order[lo:hi], block)
    # a subset (the rows that pass the checks), read through row indices: the same blocks
    # of the kept rows' terms, by hand, each position counted among ``rows``
    keep = rng.random(terms.size) < 0.5
    rows = rng.permutation(terms.size)
    positions, kept_chunks = block_order(terms, rows, keep, horizon, CHUNK_ROWS)
    kept = np.flatnonzero(keep)
    sub = terms[rows[kept]]
    want_positions: list[int] = []
    want_chunks = []
    lo = 0
    for hi in [6, 12, 18, 24, 30, 36, 40]:
        block = kept[(sub > lo) & (sub <= hi)]
        for k in range(0, block.size, CHUNK_ROWS):
            part = block[k : k + CHUNK_ROWS].tolist()
            want_chunks.append([hi, len(want_positions), len(want_positions) + len(part)])
            want_positions += part
        lo = hi
    assert positions.tolist() == want_positions
    assert kept_chunks.tolist() == want_chunks


def test_survival_points_are_each_plans_income_months() -> None:
    """Plan c's points are months 0…st of its account and payment, plan after plan, where
    st is its account's steady month or its last month if earlier."""
    acc = np.array([3, 0, 2, 0])
    term = np.array([6, 1, 2, 9])
    P = np.array([10.0, 20.0, 30.0, 40.0])
    steady = np.array([4, 5, 7, 2])  # by account
    rows = np.array([0, 1, 2])
    zero, none = np.zeros(4), np.zeros(4, np.int64)  # balances, rates, holidays: not read
    plans = (acc, zero, zero, none, none, term, zero, zero, P)
    st, start, acc_at, pay_at, month = survival_points(rows, plans, steady)
    assert st.tolist() == [2, 0, 1]  # account 3 steady from month 2; plans 1, 2 end first
    assert start.tolist() == [0, 3, 4]
    assert acc_at.tolist() == [3, 3, 3, 0, 2, 2]
    assert pay_at.tolist() == [10.0, 10.0, 10.0, 20.0, 30.0, 30.0]
    assert month.tolist() == [0, 1, 2, 0, 0, 1]
