"""Inputs of the free-family bound's pruned pass (:mod:`solver.plans.free_dp`) for one account.

:func:`free_tables` is ``bounds.bound_tables`` for one account on its unit grid: the
same preparation (node bands, clearing requirements, recoveries at the nodes, the month
geometry — :mod:`solver.plans.bounds`' own functions), the hazards asked once per
distinct month (:func:`hazard_rows`), and the backward pass of
:func:`solver.plans.free_dp.free_pass`, which gives the same tables bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from solver.core.model import ModelKernel
from solver.plans.bound_nodes import _W_RATIO, grid_slack, live_thresholds
from solver.plans.bounds import (
    _action_values,
    _clearable,
    _clearing_requirements,
    _no_plan_tables,
    _node_bands,
    _node_recovery,
    _pass_geometry,
    _recovery_kinks,
)
from solver.plans.context import CAP_TOL, PlanContext
from solver.plans.free_blocks import _sparse
from solver.plans.free_dp import LEAF, free_pass


def free_tables(
    ctx: PlanContext,
    amounts: np.ndarray,
    buckets: int,
    holiday_months: np.ndarray,
    work: np.ndarray | None = None,
    *,
    tolerance: float = 0.0,
    frontier: bool = False,
) -> tuple[np.ndarray, ...]:
    """``bounds.bound_tables(ctx, amounts, buckets, holiday_months)`` of one account whose
    ``amounts`` (1, G) are ascending and all finite (its unit grid): the same ``(V, w, U,
    lo)``, the backward pass by :func:`free_pass`. ``work`` (2,), if given, counts the
    exact action values and the block bounds computed.

    ``tolerance``: the pass's relative tolerance per node value (0: the reference's
    tables bit for bit; > 0: an upper bound at most that much looser per node, much
    cheaper; :mod:`solver.plans.free_dp`). ``holiday_months`` = H makes the payment 0
    (interest capitalised, the model's hazard of paying nothing) an action in every
    month: a holiday anywhere in the plan (``free_bound.free_bounds(zero_payment=True)``).
    ``frontier``: ``bound_tables``' treatment of the partly live last intervals (the same
    tables as ``bound_tables(…, frontier=True)``)."""
    H, M = ctx.horizon, buckets
    U, top = _clearable(ctx)
    # no plan: bound_tables' table without the programme. Valid at every state reachable
    # from the opening balance (none can be cleared: the path to it and on would clear the
    # opening balance); the band's other states are not the programme's values, so the
    # induction-step test checks these tables against the caps' reach instead (session 18)
    if not ctx.balance[0] <= U[0, 0]:
        return _no_plan_tables(ctx, amounts, M, holiday_months, False, (U, top), np.zeros(1, int))
    lo, hi, w = _node_bands(ctx, amounts, holiday_months, U, top, M)
    capt = _action_values(ctx, amounts[:, :0], holiday_months)[-1]  # the caps with tolerance
    kinks = _recovery_kinks(ctx, w[:, :H], lo[:, :H], M)
    R_nodes = _node_recovery(ctx, lo, w, M)
    clear_req = _clearing_requirements(ctx, lo, w, capt, M, kinks, R_nodes)
    c0, rho, inv_next, gw = _pass_geometry(ctx, lo, w, np.zeros((1, 1)))  # c of the amount 0
    z0, zU = live_thresholds(ctx, lo, U, inv_next)
    per_month = month_rows(ctx, (capt, c0, rho, inv_next, w, gw, z0, zU))
    hz, row_of, stats = hazard_inputs(ctx, amounts[0])
    V = np.empty((H + 1, M + 1))
    free_pass(
        V,
        np.ascontiguousarray(clear_req[:, 0, :]),
        (hi >= lo)[0],
        int(holiday_months[0]),
        np.ascontiguousarray(amounts[0], dtype=float),
        hz,
        row_of,
        stats,
        per_month,
        np.ascontiguousarray(R_nodes[:, 0, :]),
        (kinks[1][0], kinks[2][0], kinks[3][0]),
        np.clip(np.ceil((U[0] - lo[0]) * (1.0 / w[0])), 0, M).astype(np.int64),
        grid_slack(ctx)[0],
        np.zeros(2, np.int64) if work is None else work,
        tolerance,
        frontier,
    )
    return V[None], w, U, lo


def capped_bands(
    ctx: PlanContext,
    bands: tuple[np.ndarray, np.ndarray, np.ndarray],
    amounts: np.ndarray,
    top: np.ndarray,
    M: int,
    capped: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The node bands ``bands`` = (lo, hi, w) of ``bounds._node_bands`` (on ``amounts``,
    the largest node ``top``, M intervals) with the first node ``lo`` from each month's own cap, for the
    accounts where ``capped`` (n,) is set (the others keep them as they are).

    ``_node_bands`` lowers ``lo`` every month by the largest amount of the grid (the top
    cap of any month): where the caps rise with a recovering income, the early months'
    bands then start far below any balance a plan can have. A payment in month t leaving
    a balance is a unit amount within that month's cap (with its tolerance: the pass's
    own ``capt``; none where the cap is not finite), and clearing leaves 0, so
    ``lo_{t+1} = max(lo_t·g − min(capt_t, a_max) − step, 0)`` is still below every
    reachable balance (interest rounding moves a balance by at most half a ``step``),
    and at least ``_node_bands``' ``lo``. The spacing is recomputed from the narrower
    band by the same rule (the span over M, at least the floor, never shrinking faster
    than ``_W_RATIO`` times the interest growth; ``band_recurrences``). Session 15: finer
    nodes at the same M where the caps rise (tests/test_free_bands.py checks the bands
    against the lowest reachable balances).

    Decision: the run-length tables use these bands for the accounts that may skip a
    month (:func:`solver.plans.holiday_tables.holiday_tables`); without a holiday they stay
    ``bound_tables``' bit for bit (tests/test_free_holiday.py compares them), and so does
    the pass of :func:`free_tables`."""
    lo, hi, w = bands
    H = ctx.horizon
    g = 1.0 + ctx.monthly_rate
    _, step = grid_slack(ctx)
    a_max = np.max(np.where(np.isfinite(amounts), amounts, 0.0), axis=1, initial=0.0)
    cap = ctx.cap[:, :H]
    capt = np.where(np.isfinite(cap), cap * (1 + CAP_TOL) + CAP_TOL, 0.0)
    pay = np.clip(capt, 0.0, a_max[:, None])
    low = lo.copy()
    for t in range(H):
        low[:, t + 1] = np.maximum(low[:, t + 1], (low[:, t] * g - pay[:, t] - step) * (1 - 1e-9))
    w_floor = np.maximum(1e-9 * np.maximum(ctx.balance, top), step)
    wide = np.maximum((hi - low) / M, w_floor[:, None])
    for t in range(H):
        wide[:, t + 1] = np.maximum(wide[:, t + 1], wide[:, t] * g * (_W_RATIO * (1 + 1e-9)))
    mine = np.asarray(capped, bool)[:, None]
    return np.where(mine, low, lo), hi, np.where(mine, wide, w)


def month_rows(ctx: PlanContext, geo: tuple[np.ndarray, ...]) -> np.ndarray:
    """The per-month scalars the compiled pass reads for one account, stacked (10, H):
    discounts, the cap, the amount-0 balance image, ρ, 1/next width, node width, the
    geometry weight and the live thresholds; ``geo`` = (capt, c, rho, inv_next, w, gw,
    z0, zU) as :mod:`solver.plans.bound_nodes` returns them."""
    capt, c, rho, inv_next, w, gw, z0, zU = geo
    return np.stack(
        [ctx.discount, ctx.discount_lag, capt[0], c[:, 0, 0], rho[:, 0], inv_next[:, 0],
         w[0, 1:], gw[:, 0], z0[:, 0], zU[:, 0]]
    )  # fmt: skip


def hazard_inputs(
    ctx: PlanContext, units: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The pruned pass's hazard inputs for one account's ascending unit amounts: the
    distinct hazard rows and each month's row (:func:`hazard_rows`), and the block
    statistics and curvature tables of those rows."""
    G = units.size
    hz, row_of = hazard_rows(ctx, units)
    parts = [block_stats(np.ascontiguousarray(row[:G]), LEAF) for row in hz]
    stats = (
        np.stack([x[0] for x in parts]),
        np.stack([x[1] for x in parts]),
        parts[0][2],
        curvature_tables(hz, G),
    )
    return hz, row_of, stats


def hazard_rows(ctx: PlanContext, amounts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hazards of one account's ``amounts`` (G,) then of the holiday (amount 0), one row
    per distinct month (rows, G + 1), and each month's row (H,).

    Decision: months share a row when the kernel is SPEC §4's (its hazard depends on the
    month only through ``mu`` and ``income`` of that month) and both are equal — every
    month past ``recovery_months`` on a flat income path. The values are the kernel's own
    (the same operations on the same numbers as ``bounds.action_hazards``); another
    kernel is asked every month.
    """
    kern, H = ctx.kernel, ctx.horizon
    plain = all(
        getattr(type(kern), name) is getattr(ModelKernel, name)
        for name in ("hazard", "afford", "hazard_of_afford", "_mu_at")
    )
    if plain:
        key = np.stack([kern.mu[0, :H], kern.income[0, :H]], axis=1)
        _, months, row_of = np.unique(key, axis=0, return_index=True, return_inverse=True)
    else:
        months = row_of = np.arange(H)
    pay = np.concatenate([np.asarray(amounts, float), np.zeros(1)])
    hz = kern.hazard(np.zeros((1, 1), np.int64), pay[None, :], np.asarray(months)[:, None])
    return np.ascontiguousarray(hz), np.asarray(row_of, np.int64).ravel()


@njit(cache=True)
def block_stats(h: np.ndarray, leaf: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smallest and largest hazard of every block of the tree over the amounts of one
    hazard row ``h`` (G,): level l has blocks of ``leaf·2^l`` amounts, aligned; returns
    ``hmin``, ``hmax`` (flat, levels one after another) and the offsets of the levels
    (``levels + 1``)."""
    G = h.size
    sizes = []
    s = leaf
    while True:
        sizes.append((G + s - 1) // s)
        if s >= G:
            break
        s *= 2
    L = len(sizes)
    off = np.zeros(L + 1, np.int64)
    for lv in range(L):
        off[lv + 1] = off[lv] + sizes[lv]
    hmin = np.empty(off[L])
    hmax = np.empty(off[L])
    for b in range(sizes[0]):
        lo_v, hi_v = h[b * leaf], h[b * leaf]
        for k in range(b * leaf, min(G, (b + 1) * leaf)):
            v = h[k]
            lo_v = v if v < lo_v else lo_v
            hi_v = v if v > hi_v else hi_v
        hmin[b], hmax[b] = lo_v, hi_v
    for lv in range(1, L):
        for b in range(sizes[lv]):
            c0 = off[lv - 1] + 2 * b
            c1 = c0 + 1 if 2 * b + 1 < sizes[lv - 1] else c0
            hmin[off[lv] + b] = min(hmin[c0], hmin[c1])
            hmax[off[lv] + b] = max(hmax[c0], hmax[c1])
    return hmin, hmax, off


@njit(cache=True)
def curvature_tables(hz: np.ndarray, G: int) -> np.ndarray:
    """Per hazard row, the range-maximum table (``free_blocks._sparse``) of ``−Δ²q`` of the survivals ``q = 1 − h``
    of the amounts (position k: amounts k … k + 2), plus a float allowance (a few ulps of
    q's differences): over any run of n steps q lies at most ``max(−Δ²q)·n²/8`` above its
    chord (q + c·k²/2 is convex when every ``−Δ²q ≤ c``)."""
    m = max(G - 2, 1)
    levels = 1
    while (1 << levels) <= m:
        levels += 1
    out = np.zeros((hz.shape[0], levels, m))
    row = np.zeros(m)
    for r in range(hz.shape[0]):
        for k in range(G - 2):
            q0, q1, q2 = 1.0 - hz[r, k], 1.0 - hz[r, k + 1], 1.0 - hz[r, k + 2]
            row[k] = -(q2 - 2.0 * q1 + q0) + 1e-15
        _sparse(row, out[r])
    return out
