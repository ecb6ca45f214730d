"""The loops of the bound tables' preparation, compiled (issue 13: speed).

Split by role from :mod:`solver.plans.bound_dp` (which keeps the backward pass and its
row helpers; session 17): the recoveries at the nodes (:func:`node_recovery`), the
clearable frontier (:func:`clearable_backward`), the node-band recurrences
(:func:`band_recurrences`), the "no plan" fill of a row (:func:`fill_rows`), and the
intervals and arithmetic of the clearing requirements (:func:`clearing_points`,
:func:`clearing_fill`; the model is asked for their hazards and recoveries in between).
Their callers are :mod:`solver.plans.bound_nodes` and :mod:`solver.plans.bound_tail`.
Nothing here knows the behaviour model beyond its one compiled recovery.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from solver.core.model import recovery_at_jit
from solver.plans.bound_dp import _fill_row

_recovery_at = recovery_at_jit()  # the model's one compiled recovery


@njit(cache=True)
def node_recovery(
    lo: np.ndarray, w: np.ndarray, collateral: np.ndarray, rho: float, M: int
) -> np.ndarray:
    """The recovery at the nodes ``lo + i·w`` of each month (H, n, M + 1), for ``w`` (n, H)
    and ``lo``, ``collateral`` (``C_t``) at least H months wide.

    :func:`solver.core.model.recovery_at` with ``ModelKernel.recovery_table``'s
    ``(C_t, ρ)``: the kernel's own values to the bit (the nodes, never negative, are built
    as ``bounds._node_recovery`` builds them for the kernel: ``i·w``, then ``+ lo``), in
    one pass without the (H, n, M + 1) array of balances.
    """
    n, H = w.shape
    out = np.empty((H, n, M + 1))
    for t in range(H):
        for a in range(n):
            base, step, cover = lo[a, t], w[a, t], collateral[a, t]
            row = out[t, a]
            for p in range(M + 1):
                row[p] = _recovery_at(p * step + base, cover, rho)
    return out


@njit(cache=True)
def clearable_backward(capped: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``feas[:, t] = (capped[:, t] + feas[:, t + 1])·v`` backwards from ``feas[:, H] = 0``:
    the most that payments within the caps can clear, valued at month t (n, H + 1)."""
    n, H = capped.shape
    feas = np.zeros((n, H + 1))
    for i in range(n):
        for t in range(H - 1, -1, -1):
            feas[i, t] = (capped[i, t] + feas[i, t + 1]) * v[i]
    return feas


@njit(cache=True)
def band_recurrences(
    B0: np.ndarray,
    g: np.ndarray,
    U: np.ndarray,
    a_max: np.ndarray,
    a_min: np.ndarray,
    holiday_months: np.ndarray,
    M: int,
    w_floor: np.ndarray,
    ratio: float,
    step: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The month-by-month recurrences of the node bands (``solver.plans.bounds._node_bands``
    says what they mean): first node ``lo``, highest balance ``hi`` and spacing ``w``;
    ``step``, one step of the money grid, is the slack a month for interest rounding."""
    n, H1 = U.shape
    H = H1 - 1
    lo = np.empty((n, H1))
    hi = np.empty((n, H1))
    w = np.empty((n, H1))
    shrink = 1 - 1e-9
    grow = 1 + 1e-9
    w_ratio = ratio * (1 + 1e-9)
    for i in range(n):
        lo[i, 0] = B0[i]
        hi[i, 0] = min(B0[i], U[i, 0])
        for t in range(H):
            lo[i, t + 1] = max(lo[i, t] * g[i] - a_max[i] - step, 0.0) * shrink
            paid = 0.0 if t < holiday_months[i] else a_min[i]
            h = min(max(hi[i, t], 0.0) * g[i] - paid + step, U[i, t + 1])
            hi[i, t + 1] = h * grow + 1e-9
        for t in range(H1):
            w[i, t] = max((hi[i, t] - lo[i, t]) / M, w_floor[i])
        for t in range(H):
            w[i, t + 1] = max(w[i, t + 1], w[i, t] * g[i] * w_ratio)
    return lo, hi, w


@njit(cache=True)
def fill_rows(values: np.ndarray) -> np.ndarray:
    """:func:`_fill_row` on every row of ``values`` (a copy); rows without any plan stay
    as they are."""
    out = values.copy()
    for r in range(values.shape[0]):
        _fill_row(values[r], out[r])
    return out


@njit(cache=True)
def clearing_points(
    lo: np.ndarray,
    w: np.ndarray,
    inv_w: np.ndarray,
    Bc: np.ndarray,
    capt: np.ndarray,
    g: np.ndarray,
    M: int,
    slack: float,
) -> tuple[np.ndarray, ...]:
    """The intervals where a clearing payment can be within the month's cap, and where
    the model must be asked about them (``solver.plans.bounds._clearing_requirements``).

    Per account a and month t (n, H) the intervals m whose left node ``lo + m·w`` is at
    most ``Bc`` (the largest balance clearable: a prefix of the intervals). Returns, per
    interval: account, month, m, its left node, right node, the clearing payments at its
    ends (``c_lo``, and ``c_hi`` never below 0) and whether it is cut by ``Bc`` (then the
    recovery is needed at ``Bc`` rather than at the right node).
    """
    n, H = Bc.shape
    count = np.zeros((n, H), np.int64)
    total = 0
    for a in range(n):
        for t in range(H):
            x = math.floor((Bc[a, t] - lo[a, t]) * inv_w[a, t]) + 2.0
            if math.isnan(x) or x <= 0.0:
                k = 0
            elif x >= M:
                k = M
            else:
                k = int(x)
            # then checked on the nodes themselves
            while k > 0 and lo[a, t] + (k - 1) * w[a, t] > Bc[a, t]:
                k -= 1
            count[a, t] = k
            total += k
    where = np.empty((3, total), np.int64)  # account, month, interval
    ends = np.empty((4, total))  # left node, right node, c_lo, c_hi
    cut = np.empty(total, np.bool_)
    r = 0
    for a in range(n):
        ga = g[a]
        for t in range(H):
            base, step, bc, cap = lo[a, t], w[a, t], Bc[a, t], capt[a, t]
            for m in range(count[a, t]):
                left = base + m * step
                right = base + (m + 1) * step
                where[0, r], where[1, r], where[2, r] = a, t, m
                ends[0, r], ends[1, r] = left, right
                x = left * ga - slack
                ends[2, r] = x if x > 0.0 else 0.0
                y = right * ga + slack
                y = y if y < cap else cap
                ends[3, r] = y if y > 0.0 else 0.0
                cut[r] = bc < right
                r += 1
    return where[0], where[1], where[2], ends[0], ends[1], ends[2], ends[3], cut


@njit(cache=True)
def clearing_fill(
    clear_req: np.ndarray,
    r_acc: np.ndarray,
    r_t: np.ndarray,
    r_m: np.ndarray,
    lo_c: np.ndarray,
    hi_c: np.ndarray,
    Bc: np.ndarray,
    g: np.ndarray,
    h_lo: np.ndarray,
    h_hi: np.ndarray,
    R_nodes: np.ndarray,
    R_cut: np.ndarray,
    cut: np.ndarray,
    disc: np.ndarray,
    disc_lag: np.ndarray,
    inv_w: np.ndarray,
    has_kink: np.ndarray,
    iCc: np.ndarray,
    wR: np.ndarray,
    slack: float,
) -> None:
    """The clearing requirements of the intervals of :func:`clearing_points` into
    ``clear_req`` [t, account, node] (``NEG`` elsewhere), from the model's hazards of the
    clearing payments at the interval's ends (``h_lo``, ``h_hi``) and its recoveries at
    the nodes (``R_nodes`` [t, account, node]; ``R_cut``, in order, at ``Bc`` for the
    intervals cut by it). The arithmetic is documented in
    ``solver.plans.bounds._clearing_requirements``. The intervals come in
    :func:`clearing_points`' order, row by row (account, month) with m = 0, 1, …: a node's
    two requirements (right end of interval m − 1, left end of interval m) are merged as
    they are made, in the order of two passes (the left end first, then the larger)."""
    N = r_acc.size
    k_cut = 0
    above = 0.0  # the requirement from the right end of the row's previous interval
    for r in range(N):
        a, t, m = r_acc[r], r_t[r], r_m[r]
        ga = g[a]
        bc = Bc[a, t]
        k_pay = disc[t] * (1.0 - h_lo[r])
        k_rec = disc_lag[t] * h_hi[r]
        if cut[r]:
            B_end = bc
            R_end = R_cut[k_cut]
            k_cut += 1
        else:
            B_end = hi_c[r]
            R_end = R_nodes[t, a, m + 1]
        m_lo = k_pay * (lo_c[r] * ga + slack) + k_rec * R_nodes[t, a, m]
        m_hi = k_pay * (B_end * ga + slack) + k_rec * R_end
        # held constant past the cap (a concave kink) and the recovery's kink at C_t
        d = (k_pay * ga + k_rec) * (bc - lo_c[r]) * (hi_c[r] - bc) * inv_w[a, t] if cut[r] else 0.0
        d += k_rec * wR[a, t] if has_kink[a, t] and m == iCc[a, t] else 0.0
        # node m: the left end of interval m, and (m > 0) the right end of interval m − 1
        left = m_lo + d
        clear_req[t, a, m] = above if m > 0 and above > left else left
        above = m_hi + d
        if r + 1 == N or r_m[r + 1] == 0:  # the row's last interval: its right node
            old = clear_req[t, a, m + 1]
            clear_req[t, a, m + 1] = above if above > old else old
