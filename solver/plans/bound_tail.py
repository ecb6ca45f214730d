"""The tail tables of the bound search (:mod:`solver.plans.bounds`): the last phase's value.

A plan that has used all its payment levels pays one grid amount until it clears;
:func:`_tail_tables` bounds the value of that forced path, one table per grid amount,
by the main tables' continuous piecewise-linear construction (:func:`_tail_geometry`
places each node's next balance, :func:`_tail_clearing` the clearing payment). The
search takes the smaller of this and the main table for a state in its last phase.
Importable from :mod:`solver.plans.bounds` as before the split.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from solver.plans.bound_dp import NEG as _NEG
from solver.plans.bound_dp import NEG_CUT as _NEG_CUT
from solver.plans.bound_loops import fill_rows
from solver.plans.bound_nodes import _recovery_kinks, grid_slack
from solver.plans.context import PlanContext

__all__: list[str] = []


def _tail_tables(
    ctx: PlanContext,
    amt: np.ndarray,
    valid_amt: np.ndarray,
    top: np.ndarray,
    U: np.ndarray,
    M: int,
    pay_act: np.ndarray,
    rec_act: np.ndarray,
    q_act: np.ndarray,
    act_ok: np.ndarray,
    capt: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Upper bounds on the value of the *last phase*: paying one grid amount until cleared.

    A plan that has used all ``max_payment_levels`` phases has no choice left: it pays
    its amount ``a`` every month until what is owed is at most ``a``, and then clears.
    ``T[t, g](B)`` bounds the value of that forced path from month index t with balance
    B (per unit of survival), by the same continuous piecewise-linear construction as
    :func:`solver.plans.bounds._bound_tables` (node values with kink padding), but one
    action per table instead of the best of all: it respects the phase limit, where the
    main table does not. The search uses the smaller of the two for states in their last phase.

    Returns
    -------
    T
        (n, H + 1, G, M + 1) node values in float32 (``_NEG`` where the path cannot be
        completed).
    w
        Node spacing (n,).
    """
    n, H = len(ctx), ctx.horizon
    G = valid_amt.shape[1]
    g = 1.0 + ctx.monthly_rate
    slack, _ = grid_slack(ctx)
    acc = np.arange(n)
    w = top / M
    nodes = np.arange(M + 1)[None, :] * w[:, None]  # (n, M+1)
    ww = w[:, None, None]
    node_pen, i0, lam, lam1, kink_idx, kink_wt, k2_at, k2_idx, k2_wt = _tail_geometry(
        amt[:, :G, None], g[:, None, None], nodes, ww, M
    )
    R_nodes = ctx.kernel.recovery(
        acc[None, :, None], nodes[None], np.arange(H)[:, None, None]
    )  # (H, n, M+1)
    _, has_kink, iCc, wR = _recovery_kinks(ctx, w[:, None], 0.0, M)
    Bc, Mc, k_pay, k_rec, lo2, hi2, m_lo_all, dev_R = _tail_clearing(
        ctx, amt[:, :G], valid_amt, capt, nodes, ww, M, R_nodes, (has_kink, iCc, wR)
    )
    T = np.empty((n, H + 1, G, M + 1), dtype=np.float32)
    T[:, H] = _NEG
    T_next = np.full((n, G, M + 1), _NEG)
    node_idx = np.arange(M + 1)[None, None, :]
    K_all = np.minimum(np.ceil(U / w[:, None]).astype(np.int64), M)
    for t in range(H - 1, -1, -1):
        req = np.full((n, G, M + 1), _NEG)
        if t < H - 1 and T_next.max() > _NEG_CUT:
            Tf = fill_rows(T_next.reshape(n * G, M + 1)).reshape(n, G, M + 1)
            flat = Tf.ravel()
            q = q_act[t][:, :G, None]
            f = flat.take(i0) * lam1
            f += flat.take(i0 + 1) * lam
            f *= q
            f += np.where(act_ok[t][:, :G], pay_act[t][:, :G], _NEG)[:, :, None]
            f += rec_act[t][:, :G, None] * R_nodes[t][:, None, :]
            f += node_pen
            seg = np.diff(Tf, axis=2) / ww
            drop = np.empty((n, G, M + 1))
            drop[:, :, 0] = 0.0
            np.subtract(seg[:, :, :-1], seg[:, :, 1:], out=drop[:, :, 1:M])
            drop[:, :, M] = seg[:, :, M - 1]
            np.maximum(drop, 0.0, out=drop)
            dflat = drop.ravel()
            dev = dflat.take(kink_idx) * kink_wt
            if k2_at.size:
                dev.ravel()[k2_at] += dflat.take(k2_idx) * k2_wt
            kr = np.flatnonzero(has_kink[:, t])
            if kr.size:
                dev[kr, :, iCc[kr, t]] += rec_act[t][kr, :G] * wR[kr, t][:, None]
            req[:, :, :M] = f[:, :, :-1] + dev
            np.maximum(req[:, :, 1:], f[:, :, 1:] + dev, out=req[:, :, 1:])
            req += (slack * np.max(np.abs(seg), axis=2))[:, :, None]
        if Mc > 0:
            bc = Bc[:, :, t][:, :, None]  # (n, G, 1)
            can = lo2 <= bc  # (n, G, Mc)
            B_end = np.minimum(hi2, bc)
            R_end = ctx.kernel.recovery(acc[:, None, None], B_end, t)
            kp, kr_ = k_pay[t][:, None, :], k_rec[t][:, None, :]
            m_hi = kp * (B_end * g[:, None, None] + slack) + kr_ * R_end
            cut = can & (bc < hi2)
            dev_c = np.where(cut, (kp * g[:, None, None] + kr_) * (bc - lo2) * (hi2 - bc) / ww, 0.0)
            dev_c += dev_R[t][:, None, :]
            np.maximum(
                req[:, :, :Mc],
                np.where(can, m_lo_all[t][:, None, :] + dev_c, _NEG),
                out=req[:, :, :Mc],
            )
            np.maximum(
                req[:, :, 1 : Mc + 1], np.where(can, m_hi + dev_c, _NEG), out=req[:, :, 1 : Mc + 1]
            )
        K = K_all[:, t]
        held = np.take_along_axis(req, K[:, None, None].repeat(G, axis=1), axis=2)
        req = np.where(node_idx > K[:, None, None], held, req)
        req = np.where(req > _NEG_CUT, req, _NEG)
        # stored in float32: rounded up (with a 1e-6 relative margin) so it stays a bound
        T[:, t] = req + (1e-6 * np.abs(req) + 1e-3) * (req > _NEG_CUT)
        T_next = req
    return T, w


def _tail_geometry(
    a3: np.ndarray, gg: np.ndarray, nodes: np.ndarray, ww: np.ndarray, M: int
) -> tuple[Any, ...]:
    """Where paying amount ``a3`` (n, G, 1) from each node of a tail table lands in next
    month's nodes (own table per amount): the penalty of nodes with no plan
    ``node_pen``, the left node index ``i0`` and interpolation weights ``lam``,
    ``1 − lam``, and the two next-month kinks inside each interval with their padding
    weights (the second as flat indices where it is nonzero)."""
    n, G = a3.shape[0], a3.shape[1]
    x = nodes[:, None, :] * gg - a3  # (n, G, M+1)
    x_next = np.concatenate([x[:, :, 1:], np.full((n, G, 1), np.inf)], axis=2)
    node_pen = np.where((x >= 0.0) | (x_next > 0.0), 0.0, _NEG)
    xs = x / ww
    k0 = np.clip(np.floor(xs).astype(np.int64), 0, M - 1)
    lam = np.minimum(xs - k0, 1.0)
    lam1 = 1.0 - lam
    acc = np.arange(n)
    base = ((acc[:, None] * G + np.arange(G)[None, :]) * (M + 1))[:, :, None]  # own table per g
    i0 = base + k0
    x_lo, x_hi = x[:, :, :-1], x[:, :, 1:]
    lo_b, hi_b = nodes[:, None, :-1], nodes[:, None, 1:]
    kink_idx, kink_wt = [], []
    for d in (1, 2):
        kk = np.floor(np.maximum(x_lo, 0.0) / ww).astype(np.int64) + d
        bk = kk * ww
        inside = (bk < x_hi) & (x_hi > 0) & (kk <= M)
        p = (bk + a3) / gg
        kink_wt.append(np.where(inside, np.maximum(gg * (p - lo_b) * (hi_b - p) / ww, 0.0), 0.0))
        kink_idx.append(base + np.minimum(kk, M))
    k2_at = np.flatnonzero(kink_wt[1].ravel() > 0)
    k2_idx = kink_idx[1].ravel()[k2_at]
    k2_wt = kink_wt[1].ravel()[k2_at]
    return node_pen, i0, lam, lam1, kink_idx[0], kink_wt[0], k2_at, k2_idx, k2_wt


def _tail_clearing(
    ctx: PlanContext,
    amt: np.ndarray,
    valid_amt: np.ndarray,
    capt: np.ndarray,
    nodes: np.ndarray,
    ww: np.ndarray,
    M: int,
    R_nodes: np.ndarray,
    kinks: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[Any, ...]:
    """Clearing in a tail table: allowed when what is owed is at most the amount (and
    within the cap). Returns the largest clearable balance ``Bc`` (n, G, H), the number
    ``Mc`` of intervals where clearing can happen and, for them (``None`` if there are
    none), per month the payment and recovery weights ``k_pay``, ``k_rec`` (H, n, Mc),
    the interval ends ``lo2``, ``hi2`` (n, 1, Mc), the requirement at the left node
    ``m_lo_all`` and the recovery kink's padding ``dev_R`` (H, n, Mc)."""
    n, H = len(ctx), ctx.horizon
    g = 1.0 + ctx.monthly_rate
    disc, disc_lag = ctx.discount, ctx.discount_lag
    slack, _ = grid_slack(ctx)
    acc = np.arange(n)
    has_kink, iCc, wR = kinks
    Bc = np.minimum(
        ((capt + slack) / g[:, None])[:, None, :], ((amt + slack) / g[:, None])[:, :, None]
    )  # (n, G, H)
    Bc = np.where(valid_amt[:, :, None], Bc, -np.inf)
    Mc = int(min(M, max(0, np.floor(np.max(np.where(np.isfinite(Bc), Bc, 0.0) / ww)) + 1)))
    if Mc <= 0:
        return Bc, Mc, None, None, None, None, None, None
    lo_c, hi_c = nodes[:, :Mc, None], nodes[:, 1 : Mc + 1, None]  # (n, Mc, 1)
    c_lo = np.maximum(lo_c * g[:, None, None] - slack, 0.0)
    c_hi = np.minimum(hi_c * g[:, None, None] + slack, capt[:, None, :])  # (n, Mc, H)
    # both hazards in one call (2, n, Mc, H): each account's and month's inputs gathered once
    pay = np.empty((2, n, Mc, H))
    pay[0] = c_lo
    np.maximum(c_hi, 0.0, out=pay[1])
    h_lo, h_hi = ctx.kernel.hazard(acc[:, None, None], pay, np.arange(H)[None, None, :])
    k_pay = (disc[None, None, :] * (1.0 - h_lo)).transpose(2, 0, 1)
    k_rec = (disc_lag[None, None, :] * h_hi).transpose(2, 0, 1)  # (H, n, Mc)
    lo2, hi2 = lo_c[:, None, :, 0], hi_c[:, None, :, 0]  # (n, 1, Mc)
    in_c = has_kink.T[:, :, None] & (np.arange(Mc)[None, None, :] == iCc.T[:, :, None])
    m_lo_all = k_pay * (lo_c[:, :, 0] * g[:, None] + slack)[None] + k_rec * R_nodes[:, :, :Mc]
    dev_R = np.where(in_c, k_rec * wR.T[:, :, None], 0.0)  # (H, n, Mc)
    return Bc, Mc, k_pay, k_rec, lo2, hi2, m_lo_all, dev_R
