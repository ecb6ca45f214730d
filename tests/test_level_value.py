"""The level-plan valuation kernels (``solver/plans/level_value.py``) bit for bit against
the vectorised numpy code they replaced (kept here as the reference; issue 13: speed).

On random plans -- zero and positive rates, holidays in each mode, balloons, plans that
overpay below zero, unsecured and secured accounts -- the exposures and the values equal
the reference's to the bit, so replacing it changed no plan.
"""

from __future__ import annotations

import numpy as np
import pytest

from solver.core.model import AccountParams, BehaviourModel
from solver.plans.level_prep import rate_tables
from solver.plans.level_value import level_exposures, level_values_inline


def _compiled_or_python(fn, compiled: bool):
    """A kernel compiled, or its own code interpreted by Python."""
    return fn if compiled else fn.py_func


def _reference_exposures(growth, ints, floats, dm, add):
    """The vectorised exposures the compiled kernel replaced."""
    row, D, mode, pos = ints
    alpha, beta, B, B_D, P, balloon = floats
    j = np.arange(growth.shape[1], dtype=float)
    gj = growth[row]
    gj_hol = gj[:, :dm].copy()
    exposure = gj * alpha[:, None] + beta[:, None]
    zero = np.flatnonzero(pos == 0)
    exposure[zero] = B_D[zero, None] - P[zero, None] * (j[None, :] - D[zero, None])
    if dm > 0:
        hol = j[None, :dm] < D[:, None]
        hol_exp = np.where((mode == 0)[:, None], B[:, None] * gj_hol, B[:, None])
        exposure[:, :dm] = np.where(hol, hol_exp, exposure[:, :dm])
    if add:
        exposure += balloon[:, None]
    return exposure


def _reference_values(q_level, q_hol, ints, floats, rec, disc, disc_lag, cum_disc, dm):
    """The vectorised expected-recovery NPV the compiled kernel replaced."""
    q_start, steady, T, D, mode, acc = ints
    P, final, io_amt, q_last = floats
    C, W = rec.shape
    j = np.arange(W)
    rows = np.arange(C)
    last = T - 1
    spread = q_level[q_start[:, None] + np.minimum(j[None, :], steady[:, None])]
    q = np.where(j[None, :] < T[:, None], spread, 1.0)
    hol = j[None, :dm] < D[:, None]
    if dm > 0:
        which = (mode == 1).astype(np.int64)
        qh = q_hol[which[:, None], acc[:, None], j[None, :dm]]
        q[:, :dm] = np.where(hol, qh, q[:, :dm])
    q[rows, last] = q_last
    surv = np.cumprod(q, axis=1)
    default = np.empty_like(surv)
    default[:, 0] = 1.0 - surv[:, 0]
    np.subtract(surv[:, :-1], surv[:, 1:], out=default[:, 1:])
    rec = rec * default
    rec *= disc_lag[:W]
    pv_rec = rec.sum(axis=1)
    s_last = surv[rows, last]
    paid = surv * disc[:W]
    level_sum = paid.sum(axis=1) - s_last * (cum_disc[W] - cum_disc[last])
    pv_pay = P * level_sum + final * paid[rows, last]
    if dm > 0:
        pv_pay += (io_amt - P) * np.where(hol, paid[:, :dm], 0.0).sum(axis=1)
    return pv_pay + pv_rec


def _random_plans(rng, C, W, rates, max_holiday, factor):
    """Random level plans as candidate columns (account, B, annual rate, D, mode, T,
    balloon, B_D, P), and the reference's exposure terms: its own growth table (one row
    per distinct ``log1p(r)``) and (ints, floats) as the vectorised scoring built them;
    instalments ``factor`` times the straight share of the balance."""
    rate = rng.choice(rates, size=C)
    r = rate / 12.0
    lg = np.log1p(r)
    uniq, inv = np.unique(lg, return_inverse=True)
    growth = np.exp(uniq[:, None] * np.arange(W, dtype=float)[None, :])
    T = rng.integers(1, W + 1, C)
    D = np.minimum(np.where(rng.random(C) < 0.5, rng.integers(0, max_holiday, C), 0), T - 1)
    mode = rng.integers(0, 3, C)
    B = rng.uniform(100.0, 50_000.0, C)
    B_D = B * np.where(mode == 0, np.exp(D * lg), 1.0)
    P = np.ceil(B_D / np.maximum(T - D, 1) * factor)
    pos = r > 0
    beta = P * np.where(pos, 1.0 / np.where(pos, r, 1.0), 0.0)
    balloon = np.where(rng.random(C) < 0.3, rng.uniform(0, 1000, C), 0.0)
    ints = np.stack([inv.ravel(), D, mode, pos.astype(np.int64)])
    floats = np.stack([(B_D - beta) * np.exp(-D * lg), beta, B, B_D, P, balloon])
    acc = rng.integers(0, 4, C)
    return (acc, B, rate, D, mode, T, balloon, B_D, P), (growth, ints, floats)


def _survival_inputs(rng, C, W, n_acc, dm, T):
    """Random survival factors: level-payment factors by distinct income month (each
    plan's start and steady month), holiday factors (2, n_acc, dm) and the last month's."""
    steady = np.minimum(rng.integers(0, W, C), T - 1)
    q_start = np.cumsum(steady + 1) - (steady + 1)
    q_level = rng.uniform(0.9, 1.0, int((steady + 1).sum()))
    q_hol = rng.uniform(0.9, 1.0, (2, n_acc, max(dm, 1)))
    return q_start, steady, q_level, q_hol, rng.uniform(0.9, 1.0, C)


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_level_exposures_equal_the_vectorised_reference_bit_for_bit(compiled, seed) -> None:
    """``level_exposures`` of a chunk (rows in any order, growth tables from
    ``rate_tables``) is the reference's (C, W) exposures to the bit."""
    rng = np.random.default_rng(seed)
    C, W = 40, int(rng.choice([6, 12, 30, 60]))
    cols, (growth, ints, floats) = _random_plans(rng, C, W, [0.0, 0.06, 0.18, 0.24], 7, 1.05)
    acc, B, rate, D, mode, T, balloon, B_D, P = cols
    dm = min(int(D.max(initial=0)), W)
    # the plans as candidate rows in shuffled order: the kernel reads the columns by row
    rows = rng.permutation(C)
    growth_t, shrink, index = rate_tables(rate, rows, W, int(D.max(initial=0)))
    fn = _compiled_or_python(level_exposures, compiled)
    got = fn(rows, 0, C, W, cols, index, growth_t, shrink)
    want = _reference_exposures(growth, ints, floats, dm, balloon.any())
    assert np.array_equal(got, want[rows])


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_level_values_equal_the_vectorised_reference_bit_for_bit(compiled, seed) -> None:
    """``level_values_inline`` given recoveries is the reference's NPV to the bit, chunk by
    chunk (each chunk's holiday span ``dm`` and balloon flag its own)."""
    rng = np.random.default_rng(50 + seed)
    C, W, n_acc = 40, int(rng.choice([6, 12, 30, 60])), 4
    cols, _ = _random_plans(rng, C, W, [0.0, 0.06, 0.18, 0.24], 7, 1.05)
    acc, B, rate, D, mode, T, balloon, B_D, P = cols
    dmax = int(D.max(initial=0))
    q_start, steady, q_level, q_hol, q_last = _survival_inputs(rng, C, W, n_acc, dmax, T)
    final = P * rng.uniform(0.5, 1.5, C)
    rec = rng.uniform(0.0, 30_000.0, (C, W))
    disc = 0.995 ** np.arange(1, W + 1)
    cum_disc = np.concatenate([[0.0], np.cumsum(disc)])
    rows = np.arange(C)
    growth, shrink, index = rate_tables(rate, rows, W, dmax)
    fn = _compiled_or_python(level_values_inline, compiled)
    got = np.full(C, np.nan)
    for lo, hi in ((0, 13), (13, C)):
        fn(
            rows, np.array([[W, lo, hi]]), cols, index, q_start, steady, final, q_last,
            growth, shrink, q_level, q_hol, np.empty((0, 0)), 0.0, rec[lo:hi],
            disc, disc * 0.98, cum_disc, got,
        )  # fmt: skip
        part = slice(lo, hi)
        dm = min(int(D[part].max(initial=0)), W)
        ints = np.stack([q_start, steady, T, D, mode, acc])[:, part]
        io_amt = np.where(mode == 1, B * (rate / 12.0), 0.0)  # the interest-only holiday payment
        floats = np.stack([P, final, io_amt, q_last])[:, part]
        args = (q_level, q_hol, ints, floats, rec[part], disc, disc * 0.98, cum_disc, dm)
        assert np.array_equal(got[part], _reference_values(*args))


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_inline_recovery_equals_the_models_recovery_bit_for_bit(compiled, seed) -> None:
    """``level_values_inline`` with the kernel's recovery table (exposures, recovery and
    value in one pass, several chunks in one call) gives what ``level_exposures``,
    ``ModelKernel.recovery`` and the given-recovery path give, to the bit: unsecured and
    secured accounts, negative balances, holidays, balloons."""
    rng = np.random.default_rng(100 + seed)
    C, W, n_acc, H = 50, int(rng.choice([6, 12, 30])), 4, 36
    overpay = rng.uniform(0.8, 1.6, C)  # some plans overpay: their balance goes below zero
    cols, _ = _random_plans(rng, C, W, [0.0, 0.06, 0.18], 5, overpay)
    acc, B, rate, D, mode, T, balloon, B_D, P = cols
    params = AccountParams(
        income=[5000.0] * n_acc,
        income_normal=[np.nan] * n_acc,
        recovery_months=[0.0] * n_acc,
        income_cv=[0.3] * n_acc,
        expenses=[1000.0] * n_acc,
        other_debt=[0.0] * n_acc,
        vehicle_value=[0.0, 80_000.0, 0.0, 25_000.0],
        base_hazard=[0.01] * n_acc,
    )
    kernel = BehaviourModel().kernel(params, H)
    dmax = int(D.max(initial=0))
    q_start, steady, q_level, q_hol, q_last = _survival_inputs(rng, C, W, n_acc, dmax, T)
    final = P * rng.uniform(0.5, 1.5, C)
    disc = 0.995 ** np.arange(1, H + 1)
    cum_disc = np.concatenate([[0.0], np.cumsum(disc)])
    rows = rng.permutation(C)
    growth, shrink, index = rate_tables(rate, rows, H, dmax)
    plans = (cols, index, q_start[rows], steady[rows])
    plans += (final[rows], q_last[rows], growth, shrink, q_level, q_hol)
    sums = (disc, disc * 0.98, cum_disc)
    chunks = [(0, 20), (20, 21), (21, C)]
    want = np.empty(C)
    for lo, hi in chunks:
        exposure = level_exposures(rows, lo, hi, W, cols, index, growth, shrink)
        if lo == 0:  # overpaying plans go below zero: the recovery's other branch
            assert (exposure < 0).any()
        rec = kernel.recovery(acc[rows[lo:hi]], exposure)
        table = np.array([[W, lo, hi]])
        level_values_inline(rows, table, *plans, np.empty((0, 0)), 0.0, rec, *sums, want)
    fn = _compiled_or_python(level_values_inline, compiled)
    got = np.empty(C)
    table = np.array([(W, lo, hi) for lo, hi in chunks])
    fn(rows, table, *plans, *kernel.recovery_table(), np.empty((0, 0)), *sums, got)
    assert np.array_equal(got, want)
