"""The pruned unit-grid backward pass (solver.plans.free_dp) against the reference tables.

The reference is ``bounds.bound_tables`` on the same unit grid (every action at every
node); the pruned pass must give the same tables bit for bit. The helpers' claims (block
hazard extremes, the chord bound on survival, the hazard rows) are checked against
plain numpy recomputations.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from solver.core.account import Account
from solver.core.generate import generate_portfolio
from solver.core.model import BehaviourModel, ModelKernel
from solver.core.policy import Policy
from solver.plans.bounds import action_hazards, bound_tables
from solver.plans.context import PlanContext, context_from_account
from solver.plans.free_blocks import _range_max
from solver.plans.free_bound import unit_grid
from solver.plans.free_prep import block_stats, curvature_tables, free_tables, hazard_rows
from solver.plans.search import holiday_months

BUCKETS = 48


def _contexts(n: int, seed: int, **policy: object) -> list[PlanContext]:
    """One context per generated account, each under its product's policy (with overrides)."""
    out = []
    for acc in Account.from_frame(generate_portfolio(n, seed=seed)):
        pol = Policy(**policy).for_product(acc.product)  # type: ignore[arg-type]
        ctx = context_from_account(acc, pol, BehaviourModel())
        if np.isfinite(unit_grid(ctx)).all():
            out.append(ctx)
    return out


def _assert_same_tables(ctx: PlanContext, buckets: int = BUCKETS) -> np.ndarray:
    """The pruned tables equal the reference's bit for bit; returns the work counters."""
    amounts, hold = unit_grid(ctx), holiday_months(ctx)
    work = np.zeros(2, np.int64)
    ref = bound_tables(ctx, amounts, buckets, hold)
    new = free_tables(ctx, amounts, buckets, hold, work)
    assert len(ref) == len(new)
    for a, b in zip(ref, new, strict=True):
        assert np.array_equal(a, b)
    return work


@pytest.mark.parametrize(
    ("seed", "policy"),
    [(11, {}), (12, {"max_deferral_months": 6}), (13, {"rounding": 10, "min_payment": 250})],
)
def test_tables_equal_the_reference_bit_for_bit(seed, policy):
    """On generated accounts (holidays, collateral kinks, coarser units) the tables are the reference's."""
    ctxs = _contexts(10, seed, **policy)
    assert len(ctxs) >= 6
    for ctx in ctxs:
        _assert_same_tables(ctx)


def test_pruning_skips_most_actions():
    """The pass evaluates far fewer exact actions than the reference's actions × nodes × months."""
    ctx = _contexts(4, 11)[0]
    work = _assert_same_tables(ctx, 96)
    brute = unit_grid(ctx).shape[1] * 97 * ctx.horizon
    assert 0 < work[0] < 0.05 * brute


class _OwnCurve(ModelKernel):
    """A kernel with its own hazard curve (here SPEC §4's, written again): not grouped by month."""

    def hazard_of_afford(self, rows, afford):
        """SPEC §4's curve ``h0 + (1 − h0)·κ·(1 − a)``."""
        h0 = self.base_hazard[rows]
        return h0 + (1.0 - h0) * self.model.kappa * (1.0 - afford)


def test_another_kernel_is_asked_every_month_and_tables_still_match():
    """With a kernel of its own hazard curve every month gets its own row, and the tables match."""
    ctx = _contexts(3, 14)[0]
    kern = object.__new__(_OwnCurve)
    kern.__dict__.update(ctx.kernel.__dict__)
    other = replace(ctx, kernel=kern)
    _, row_of = hazard_rows(other, unit_grid(other)[0])
    assert np.array_equal(row_of, np.arange(other.horizon))
    _assert_same_tables(other)


def test_hazard_rows_are_the_kernels_hazards_of_every_month():
    """Each month's hazard row equals bounds.action_hazards bit for bit; flat months share a row."""
    for ctx in _contexts(8, 15):
        amounts = unit_grid(ctx)
        hz, row_of = hazard_rows(ctx, amounts[0])
        ref = action_hazards(ctx, amounts)[0]  # (G + 1, H)
        for t in range(ctx.horizon):
            assert np.array_equal(hz[row_of[t]], ref[:, t])
        months = int(ctx.fields["recovery_months"][0])
        assert len(hz) <= min(months, ctx.horizon) + 1


def test_block_stats_are_the_extremes_of_each_aligned_block():
    """Every level's blocks hold the smallest and largest hazard of their aligned amounts."""
    rng = np.random.default_rng(3)
    h = rng.random(157)
    hmin, hmax, off = block_stats(h, 8)
    size = 8
    for lv in range(off.size - 1):
        for b in range(off[lv + 1] - off[lv]):
            part = h[b * size : (b + 1) * size]
            assert hmin[off[lv] + b] == part.min()
            assert hmax[off[lv] + b] == part.max()
        size *= 2
    assert size >= h.size  # the top level covers every amount


def test_survival_lies_below_its_chord_plus_the_curvature_allowance():
    """Over any run of amounts, q = 1 − h is at most its chord plus max(−Δ²q)·n²/8."""
    rng = np.random.default_rng(4)
    x = np.linspace(0.0, 6.0, 300)
    h = 0.01 + 0.2 / (1.0 + np.exp(3.0 - x)) + 1e-6 * rng.random(300)  # S-shaped, noisy
    G = h.size
    lg = np.zeros(G + 1, np.int64)
    for i in range(2, G + 1):
        lg[i] = lg[i // 2] + 1
    tab = curvature_tables(h[None, :], G)[0]
    q = 1.0 - h
    for _ in range(400):
        k0, k1 = sorted(rng.choice(G, 2, replace=False))
        if k1 - k0 < 2:
            continue
        c = max(_range_max(tab, lg, int(k0), int(k1) - 2), 0.0)
        k = np.arange(k0, k1 + 1)
        chord = q[k0] + (q[k1] - q[k0]) * (k - k0) / (k1 - k0)
        assert np.all(q[k] <= chord + c * (k1 - k0) ** 2 / 8 + 1e-15)


def _month(ctx: PlanContext, t: int, M: int) -> tuple:
    """The inputs of month index t of the pass for one account (as free_pass builds them),
    from the reference's tables of month t + 1."""
    from solver.plans import bounds as bd
    from solver.plans.bound_dp import _fill_row
    from solver.plans.free_blocks import _live, _sparse

    amounts, hold = unit_grid(ctx), holiday_months(ctx)
    V = bound_tables(ctx, amounts, M, hold)[0]
    U, top = bd._clearable(ctx)
    lo, _, w = bd._node_bands(ctx, amounts, hold, U, top, M)
    R = bd._node_recovery(ctx, lo, w, M)[t, 0]
    c0, rho, inv_next, gw = bd._pass_geometry(ctx, lo, w, np.zeros((1, 1)))
    _, step = bd.grid_slack(ctx)
    z0 = -lo[0, t + 1] * inv_next[t, 0]
    zU = ((U[0, t + 1] * (1 + 1e-6) + step) - lo[0, t + 1]) * inv_next[t, 0]
    Vf = np.empty(M + 1)
    assert _fill_row(V[0, t + 1], Vf)
    dV = np.diff(Vf)
    seg = dV * inv_next[t, 0]
    D1 = np.zeros(M + 1)
    D1[: M - 1] = np.maximum(seg[:-1] - seg[1:], 0.0) * gw[t, 0]
    D1[M - 1] = max(seg[-1], 0.0) * gw[t, 0]
    hz, row_of = hazard_rows(ctx, amounts[0])
    amt, h = amounts[0], hz[row_of[t]]
    G = amt.size
    A, r, inv = c0[t, 0, 0], rho[t, 0], inv_next[t, 0]
    span = np.array([_live(A - a * inv, z0, zU, 1.0 / r, M) for a in amt]).T.copy()
    lg = np.zeros(max(M + 2, G + 1), np.int64)
    for i in range(2, lg.size):
        lg[i] = lg[i // 2] + 1
    nl = int(np.log2(M + 1)) + 1
    S_tab, D_tab = np.empty((nl, M + 1)), np.empty((nl, M + 1))
    _sparse(Vf - ctx.discount[t] * w[0, t + 1] * np.arange(M + 1), S_tab)
    _sparse(D1, D_tab)
    curv = curvature_tables(hz, G)[row_of[t]]
    month = (A, inv, w[0, t + 1], ctx.discount[t], ctx.discount_lag[t], 0.0, 0.0)
    geo = (r, 1.0 / r, float(M - 1), 0.0, 1.0 if 1.0 / r >= 1.0 else 0.0, float(M))
    return amt, h, (span[0], span[1]), month, geo, (Vf, dV, D1, R), (S_tab, D_tab, curv, lg)


@pytest.mark.parametrize(("seed", "t"), [(11, 3), (12, 10), (16, 0)])
def test_block_bounds_lie_above_every_amount_of_the_block(seed, t):
    """A block's bound at a node is at least every unit amount's exact value there (random blocks)."""
    from solver.plans.free_blocks import _block_bound, _unit_value

    ctx = _contexts(3, seed)[0]
    M = 64
    amt, h, span, month, geo, rows, tabs = _month(ctx, t, M)
    rng = np.random.default_rng(seed)
    checked = 0
    for _ in range(300):
        p = int(rng.integers(0, M + 1))
        n = int(rng.choice([2, 8, 33, 200, 1000]))
        k0 = int(rng.integers(0, max(amt.size - n, 1)))
        k1 = min(k0 + n - 1, amt.size - 1)
        vals = [_unit_value(k, p, amt, h, span, month, geo, rows, -1) for k in range(k0, k1 + 1)]
        best = max(vals)
        if best < -1e17:  # no amount of the block has this node
            continue
        part = h[k0 : k1 + 1]
        for above in (-np.inf, np.inf):  # the fine padding, and the coarse one
            args = (p, amt, h, month, geo, rows, tabs, -1, above)
            assert _block_bound(k0, k1, part.min(), part.max(), *args) >= best
        checked += 1
    assert checked >= 100
