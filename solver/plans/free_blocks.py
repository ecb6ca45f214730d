"""Block bounds and exact values at one node of the free bound's pruned pass (issue 13, speed).

The arithmetic of :mod:`solver.plans.free_dp`'s node loop, split from it by role: the
value plus padding of one unit amount at a node with the very operations of
``bound_dp._action_max`` (:func:`_exact`, :func:`_unit_value`), its live intervals
(:func:`_live`), and an upper bound on the values of a block of consecutive amounts
(:func:`_block_bound`; why it is one: ``free_dp``'s module docstring), with the
range-maximum tables they read (:func:`_sparse`, :func:`_range_max`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from solver.plans.bound_dp import NEG, end_value, frontier_value, live_span

#: a relative margin on block bounds for the float rounding of the actions' arithmetic
_MARGIN = 1e-11


@njit(cache=True)
def _sparse(values: np.ndarray, table: np.ndarray) -> None:
    """Range-maximum table of ``values`` (m,): ``table[l, j] = max values[j … j + 2^l − 1]``."""
    m = values.size
    for j in range(m):
        table[0, j] = values[j]
    span = 1
    for lv in range(1, table.shape[0]):
        for j in range(m - 2 * span + 1):
            a, b = table[lv - 1, j], table[lv - 1, j + span]
            table[lv, j] = a if a > b else b
        span *= 2


@njit(cache=True, inline="always")
def _range_max(table: np.ndarray, lg: np.ndarray, i: int, j: int) -> float:
    """Largest value at positions ``i … j`` (``i ≤ j``) of a :func:`_sparse` table."""
    lv = lg[j - i + 1]
    a, b = table[lv, i], table[lv, j - (1 << lv) + 1]
    return a if a > b else b


@njit(cache=True, inline="always")
def _position(xs: float, top: float) -> tuple[np.uint64, float]:
    """Where ``xs`` node units fall in next month's nodes, as ``_action_max`` clamps it:
    the interval (below node 1 the first, past the last node the last) and the fraction
    in it (at most 1); unsigned, as there."""
    xc = xs if xs >= 1.0 else 0.0
    xc = xc if xc < top else top
    j = np.uint64(xc)
    lam = xs - j
    return j, float(lam if lam < 1.0 else 1.0)


@njit(cache=True, inline="always")
def _interp(Vf: np.ndarray, dV: np.ndarray, xs: float, top: float) -> float:
    """Next month's filled interpolant at ``xs`` node units, as ``_action_max`` reads it
    (below node 0 the first segment extended, past the last node held)."""
    j0, lam = _position(xs, top)
    return Vf[j0] + lam * dV[j0]


@njit(cache=True, inline="always")
def _dev(xs: float, D1: np.ndarray, inv_rho: float, top: float, narrow: bool) -> float:
    """The kink padding of the interval whose left end lands at ``xs`` (``_action_max``'s
    ``dev``, without the recovery kink's term)."""
    j, lam = _position(xs, top)
    u = (1.0 - lam) * inv_rho
    if narrow:
        return D1[j] * max(u * (1.0 - u), 0.0)
    u2 = u + inv_rho
    return D1[j] * max(u * (1.0 - u), 0.0) + D1[j + np.uint64(1)] * max(u2 * (1.0 - u2), 0.0)


@njit(cache=True, inline="always")
def _exact(
    p: int,
    c: float,
    q: float,
    pay: float,
    rec: float,
    ps: int,
    pe: int,
    geo: tuple[float, float, float, float, float, float],
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    ik: int,
) -> float:
    """One action's value plus padding at node ``p`` (``ps ≤ p ≤ pe + 1``), with the very
    operations of ``_action_max``: ``f`` at the node and the larger padding of the
    intervals the node ends (only ``ps`` at the first node, only ``pe`` past the last)."""
    Vf, dV, D1, Rt = rows
    rho, inv_rho, top, pad_kink, narrow_f, _ = geo
    narrow = narrow_f > 0.0
    xs = c + rho * p
    j, lam = _position(xs, top)
    f = (Vf[j] + lam * dV[j]) * q + pay + rec * Rt[p]
    if p <= pe:
        d = _dev(xs, D1, inv_rho, top, narrow)
        if p == ik:
            d += rec * pad_kink
        if p > ps:
            d1 = _dev(c + rho * (p - 1), D1, inv_rho, top, narrow)
            if p - 1 == ik:
                d1 += rec * pad_kink
            d = max(d1, d)
    else:
        d = _end_pad(c, rec, pe, geo, D1, ik)
    return f + d


@njit(cache=True, inline="always")
def _end_pad(
    c: float,
    rec: float,
    pe: int,
    geo: tuple[float, float, float, float, float, float],
    D1: np.ndarray,
    ik: int,
) -> float:
    """The padding of an action's last live interval ``pe`` (what it adds at node
    ``pe + 1``), as ``_action_max`` makes it."""
    rho, inv_rho, top, pad_kink, narrow_f, _ = geo
    d = _dev(c + rho * pe, D1, inv_rho, top, narrow_f > 0.0)
    if pe == ik:
        d += rec * pad_kink
    return d


@njit(cache=True, inline="always")
def _exact_end(
    c: float,
    q: float,
    pay: float,
    rec: float,
    pe: int,
    end: tuple[float, float, float, float],
    geo: tuple[float, float, float, float, float, float],
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    ik: int,
) -> float:
    """:func:`_exact` at node ``pe + 1`` of an action live on its last interval ``pe``
    only up to ``pe + lam_end`` (``lam_end`` < 1) under the frontier treatment
    (``bound_dp.frontier_value``; ``end``: ``lam_end``, node ``pe``'s value so far,
    next month's interval ending past its ``U`` and g·w_t): the reference's arithmetic
    (``backward_pass`` with ``frontier``), bit for bit."""
    lam_end, left, top_end, _ = end
    Vf, dV, D1, Rt = rows
    rho, inv_rho, top, _, _, _ = geo
    gw = end[3]
    d = _end_pad(c, rec, pe, geo, D1, ik)
    j, lam = _position(c + rho * (pe + 1), top)
    at_node = (Vf[j] + lam * dV[j]) * q + pay + rec * Rt[pe + 1]
    at_end = end_value(Vf, dV, Rt, (c, rho, inv_rho, top, q, pay, rec), pe, lam_end, top_end)
    return frontier_value(left, at_end + d, at_node + d, lam_end, gw)


@njit(cache=True, inline="always")
def _live(c: float, z0: float, zU: float, inv_rho: float, M: int) -> tuple[int, int]:
    """First and last live interval of an action whose next balance from node i is
    ``c + ρ·i`` (``bounds._live_intervals`` and ``backward_pass``'s reading of it)."""
    lo_live = (z0 - c) * inv_rho - (1.0 + 1e-9)
    hi_live = (zU - c) * inv_rho + 1e-9
    return live_span(lo_live, hi_live, M)


@njit(cache=True, inline="always")
def _live_end(c: float, zU: float, inv_rho: float, pe: int) -> float:
    """The live share of an action's last live interval ``pe`` (at least 1: all of it),
    as ``backward_pass`` reads it from ``bounds._live_intervals``' ``i_last``."""
    return (zU - c) * inv_rho + 1e-9 - pe


@njit(cache=True, inline="always")
def _bump(u0: float, u1: float) -> float:
    """Largest ``max(u(1 − u), 0)`` over ``u ∈ [u0, u1]``."""
    if u0 <= 0.5 <= u1:
        return 0.25
    return max(u0 * (1.0 - u0), u1 * (1.0 - u1), 0.0)


@njit(cache=True, inline="always")
def _pad_bound(
    lo: float,
    hi: float,
    D1: np.ndarray,
    D_tab: np.ndarray,
    lg: np.ndarray,
    geo: tuple[float, float, float, float, float, float],
) -> float:
    """Upper bound on the kink padding (``_dev``) of intervals whose left ends land in
    ``[lo, hi]``: within one of next month's intervals the padding's two terms, over the
    range of their fractions; across nodes a quarter of each of the largest weights."""
    _, inv_rho, top, _, narrow, M_f = geo
    j = math.floor(lo)
    if 1.0 <= lo and hi < top and math.floor(hi) == j:
        jj = int(j)
        u0 = (1.0 - (hi - j)) * inv_rho
        u1 = (1.0 - (lo - j)) * inv_rho
        out = D1[jj] * _bump(u0, u1)
        if narrow == 0.0:
            out += D1[jj + 1] * _bump(u0 + inv_rho, u1 + inv_rho)
        return out * (1.0 + 1e-12)
    M = int(M_f)
    dlo = int(math.floor(lo)) - 1
    dlo = dlo if dlo > 0 else 0
    dlo = dlo if dlo < M else M
    dhi = int(math.floor(hi)) + 2
    dhi = dhi if dhi < M else M
    dhi = dhi if dhi > dlo else dlo
    return 0.5 * _range_max(D_tab, lg, dlo, dhi)


@njit(cache=True, inline="always")
def _product_max(a0: float, a1: float, b0: float, b1: float) -> float:
    """Largest value of ``(a0 + a1·s)(b0 + b1·s)`` over ``s ∈ [0, 1]``."""
    best = max(a0 * b0, (a0 + a1) * (b0 + b1))
    curv = a1 * b1
    if curv < 0.0:  # concave: the vertex, if inside
        s = -(a0 * b1 + a1 * b0) / (2.0 * curv)
        if 0.0 < s < 1.0:
            best = max(best, (a0 + a1 * s) * (b0 + b1 * s))
    return best


@njit(cache=True, inline="always")
def _value_bound(
    survival: tuple[float, float, float, float, float],
    psi0: float,
    psi1: float,
    e_psi: float,
    psi_top: float,
    drec: float,
    pad: float,
) -> float:
    """``max q·Ψ + δ^L R + pad`` over a block, plus the float margin: ``survival`` = q at
    its ends, q's excess over its chord, the smallest and largest hazard; Ψ at its ends,
    its excess over its chord ``e_psi`` and its largest value ``psi_top``. The smaller of
    two bounds: (largest raised q) × ``psi_top``, and the top of the product of the two
    raised chords (tighter when q falls as Ψ rises)."""
    q0, q1, e_q, hmn, hmx = survival
    if psi_top < 0.0:  # every value negative: at least the smallest survival
        prod = psi_top * (1.0 - hmx)
    else:  # q below its raised chord, Ψ below its largest value
        prod = (max(q0, q1) + e_q) * psi_top
        if min(psi0, psi1) + e_psi >= 0.0:  # or below its raised chord: the product's top
            prod = min(prod, _product_max(q0 + e_q, q1 - q0, psi0 + e_psi, psi1 - psi0))
    return prod + drec + pad + _MARGIN * (abs(prod) + abs(drec) + pad) + 1e-12


@njit(cache=True, inline="always")
def _block_bound(
    k0: int,
    k1: int,
    hmn: float,
    hmx: float,
    p: int,
    amt: np.ndarray,
    h: np.ndarray,
    month: tuple[float, float, float, float, float, float, float],
    geo: tuple[float, float, float, float, float, float],
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    tabs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    ik: int,
    best: float,
) -> float:
    """Upper bound on ``f + padding`` at node ``p`` of the amounts ``k0 … k1`` whose
    hazards lie in ``[hmn, hmx]`` (``free_dp``'s module docstring: why it is one). The padding is
    first bounded by half the largest kink weight near the image; only if that does not
    bring the bound below ``best`` is it bounded finely (:func:`_pad_bound`)."""
    Vf, dV, D1, Rt = rows
    S_tab, D_tab, C_tab, lg = tabs
    A_t, inv_next, w_next, d, dl, _, _ = month
    rho, _, top, pad_kink, _, M_f = geo
    M = int(M_f)
    a0, a1 = amt[k0], amt[k1]
    base = A_t + rho * p
    x_hi = (A_t - a0 * inv_next) + rho * p
    x_lo = (A_t - a1 * inv_next) + rho * p
    R = Rt[p]
    drec = dl * R
    psi0 = _interp(Vf, dV, x_hi, top) + d * a0 - drec  # Ψ = Ṽ + δ_t a − δ^L R at k0
    psi1 = _interp(Vf, dV, x_lo, top) + d * a1 - drec
    # Ψ above its chord at next month's nodes inside the image (its only breaks): bounded
    fl_lo, cl_hi = int(math.floor(x_lo)), int(math.ceil(x_hi))
    jl = fl_lo + 1 if fl_lo > 0 else 1
    jr = cl_hi - 1 if cl_hi - 1 < M else M
    # first over its largest value there (one range maximum), exactly only if needed
    e_psi = 0.0
    psi_top = max(psi0, psi1)
    if jl <= jr:
        psi_top = max(psi_top, _range_max(S_tab, lg, jl, jr) + d * w_next * base - drec)
        e_psi = psi_top - min(psi0, psi1)
    # q = 1 − h above its chord by at most (largest −Δ²q)·n²/8 over n steps
    q0, q1 = 1.0 - h[k0], 1.0 - h[k1]
    e_q = 0.0
    if k1 - k0 >= 2:
        c = _range_max(C_tab, lg, k0, k1 - 2)
        if c > 0.0:
            e_q = c * (k1 - k0) * (k1 - k0) * 0.125
    kink = (dl * hmx) * pad_kink if ik == p or ik == p - 1 else 0.0
    # each padding term is at most a quarter of a weight D1 of next month's intervals
    # holding the images of the node's two intervals (left ends at x − ρ ≥ x − 2 and x)
    dlo = min(max(fl_lo - 3, 0), M)
    dhi = min(max(cl_hi + 2, dlo), M)
    pad = 0.5 * _range_max(D_tab, lg, dlo, dhi) + kink
    survival = (q0, q1, e_q, hmn, hmx)
    ub = _value_bound(survival, psi0, psi1, e_psi, psi_top, drec, pad)
    if ub < best:
        return ub
    if jl <= jr and jr - jl < 64 and a1 > a0:
        e_psi = 0.0
        inv_da = 1.0 / (a1 - a0)
        for j in range(jl, jr + 1):
            aj = (base - j) * w_next
            dev = Vf[j] + d * aj - drec - (psi0 + (psi1 - psi0) * (aj - a0) * inv_da)
            e_psi = dev if dev > e_psi else e_psi
        ub = _value_bound(survival, psi0, psi1, e_psi, psi_top, drec, pad)
        if ub < best:
            return ub
    fine = max(
        _pad_bound(x_lo - rho, x_hi - rho, D1, D_tab, lg, geo),
        _pad_bound(x_lo, x_hi, D1, D_tab, lg, geo),
    )
    if fine + kink >= pad:
        return ub
    return _value_bound(survival, psi0, psi1, e_psi, psi_top, drec, fine + kink)


@njit(cache=True, inline="always")
def _unit_value(
    k: int,
    p: int,
    amt: np.ndarray,
    h: np.ndarray,
    span: tuple[np.ndarray, np.ndarray],
    month: tuple[float, float, float, float, float, float, float],
    geo: tuple[float, float, float, float, float, float],
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    ik: int,
) -> float:
    """Unit amount ``k``'s exact value plus padding at node ``p`` (``NEG`` when ``p`` is
    not one of its nodes): ``_action_values``' survival, pay value and recovery weight,
    ``_pass_geometry``'s ``c``."""
    ps, pe = span[0][k], span[1][k]
    if ps > pe or p < ps or p > pe + 1:
        return NEG
    A_t, inv_next, _, d, dl, _, _ = month
    a = amt[k]
    hk = h[k]
    q = 1.0 - hk
    return _exact(p, A_t - a * inv_next, q, (d * q) * a, dl * hk, ps, pe, geo, rows, ik)
