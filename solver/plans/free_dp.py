"""The free-family bound's backward pass with exact action pruning (issue 13, speed).

:func:`solver.plans.free_bound.free_bounds` runs the bound programme of
:mod:`solver.plans.bounds` on the *unit grid* (every rounding unit from ``min_payment``
to the top cap, thousands of amounts). The node values are a maximum over actions,
``V_t(b_p) = max_a f_a(b_p) + padding_a(p)`` (``bound_dp.backward_pass``,
``_action_max``); this module computes the same maximum node by node while skipping
blocks of consecutive unit amounts that provably cannot reach it.

**Why it is exact (bit for bit).** For a block of amounts ``k0 … k1`` at node ``p`` an
upper bound on every action's ``f + padding`` there is

    ``q⁺ · Φ⁺ + rec⁺ · R_p + ½·max D1 + rec⁺·kink``  (+ a relative 1e-9 margin)

with ``q⁺ = 1 − min h`` (``q⁻`` for a negative ``Φ⁺``), ``rec⁺ = δ^L·max h`` over the
block (``min h`` for a negative recovery), ``Φ⁺`` the largest of ``Ṽ(x) + δ_t·a(x)``
over the block's image ``x ∈ [x(k1), x(k0)]`` in next month's nodes (``a(x)`` the amount
that lands there: every action's ``f = q·(Ṽ(x) + δ_t a) + rec·R`` and ``q ≤ q⁺``), and
``D1`` the kink weights over the image of the node's two intervals (each padding term
is ``D1·u(1 − u) ≤ D1/4``). ``Φ`` is piecewise linear in ``x`` with breaks at next
month's nodes only, so its maximum is at the image's ends or at a node inside (range
maxima of ``Vf_j − δ_t w_{t+1} j`` and of ``D1``: sparse tables). The margin covers the
float rounding of the actions' own arithmetic (a few ulps of the same magnitudes). A
block whose bound is below the best exact candidate already found at the node (strictly)
holds no action that could raise the maximum, so dropping it leaves the maximum — the
same set's maximum of the same float values computed by the same operations as
``_action_max`` (one node at a time) — unchanged. The actions' values are computed
exactly as there (same expressions, no fastmath, no contraction), so the tables are
equal to the reference's with ``np.array_equal`` (tests/test_free_dp.py).

The blocks form a binary tree over the amounts (leaves of :data:`LEAF` amounts); each
node starts from the best action of the previous node (the maximiser moves little from
node to node) and then descends the tree from blocks of at most :data:`TOP` amounts,
best bound first, pruning as it goes. (Session 14 tried covering the amounts instead by
the incumbent's block of 32 and the siblings of its path to the root: a quarter fewer
block bounds, but 10 % more CPU with a tolerance — the siblings are large blocks whose
bounds cost more; not kept.) The bounds and values of blocks and single amounts are
:mod:`solver.plans.free_blocks`'. Hazards are the model's, asked once per distinct
month of the income path (:func:`solver.plans.free_prep.hazard_rows`), and the inputs are
prepared by :func:`solver.plans.free_prep.free_tables`.

**To a tolerance (session 14).** Exact pruning stalls because the values across amounts
are flat: every block near the best one has a bound above it by a hair. With ``tol > 0``
a node stops as soon as every block left has a bound below ``best + tol·|best|`` and
stores the largest of ``best`` and those bounds (``cap``). Every action of the node is
then either evaluated (at most ``best``) or in a block whose bound is at most ``cap``,
so the stored value is at least ``max_a f_a(b_p) + padding_a(p)`` — all the reference's
argument asks of a node value (the interpolant then lies above every action's value
between the nodes, whatever next month's table is, as long as it lies above next
month's true value: induction from the last month). Each month is built on the pass's
*own* next-month table, so its looseness is carried forward, not ignored; it enters a
month's values multiplied by a survival and discounted, so the root is at most about
``tol × (months) × value`` above the exact pass at the very worst (measured far less:
``benchmarks/bench_free_bound.py``). The tables are not entry by entry above the exact
ones (a node's padding depends on next month's kinks, which a raised neighbour can
shrink; measured: the root below the exact one on 4 of 300 generated accounts, by at
most 1.5e-6 relative, each of them keeping the induction step below); tests/test_free_fast.py checks what validity needs: each month's interpolant
lies above every action's value on the pass's own next month, and the root lies above a
brute force over every schedule of tiny accounts.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from solver.plans.bound_dp import NEG, _fill_row, add_margins, next_month_rows, store_row

# the bounds and values of blocks and single amounts at a node, split by role
from solver.plans.free_blocks import (
    _block_bound,
    _exact,
    _exact_end,
    _live,
    _live_end,
    _sparse,
    _unit_value,
)

#: what the node loop reads: block data (amounts, hazards, the row's block extremes, level
#: offsets, a stack), live intervals of each amount, month scalars (``c`` of the amount 0,
#: next month's 1/w and w, δ_t, δ_t^L, 1 with the frontier treatment), geometry (ρ, 1/ρ,
#: the last interval, the recovery kink's weight, narrow, M), next month's rows,
#: range-maximum tables, the recovery kink's interval, work counters, the frontier's inputs (the live share of each amount's last
#: interval, the month's node values so far, next month's interval ending past its ``U``,
#: g·w_t: :func:`_amount_end`)
Env = tuple[
    tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    tuple[np.ndarray, np.ndarray],
    tuple[float, float, float, float, float, float, float],
    tuple[float, float, float, float, float, float],
    tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    int,
    np.ndarray,
    tuple[np.ndarray, np.ndarray, float, float],
]

#: amounts per leaf block (evaluated exactly when the leaf survives)
LEAF = 8
#: at most this many blocks at the top of the tree
TOPN = 8
#: the relative tolerance per node value of the pass to a tolerance (module docstring).
#: Decision (session 14): 1e-5, the knee measured on the benchmark book's first 1,000
#: accounts with ``free_family`` (384 buckets, one run): 1e-6 / 3e-6 / 1e-5 / 3e-5 cost
#: 70 / 65 / 60 / 60 CPU ms an account against 92 exact, every one but 3e-5 keeping
#: 99.72 % of the recommendations within 0.1 % (3e-5: 99.15 %, more refinement); roots
#: about 1e-4 above the exact pass's (docs/plans.md, session 14)
TOLERANCE = 1e-5


@njit(cache=True)
def _amount_end(k: int, p: int, value: float, env: Env) -> float:
    """Amount ``k``'s value at node ``p`` given its ``free_blocks._unit_value`` ``value``:
    that, or ``free_blocks._exact_end`` at the right node of its last live interval when
    only part of it is live and the frontier treatment is on (never more than ``value``)."""
    data, span, month, geo, rows, _, ik, _, ends = env
    lam_end, pay_req, top_end, gw = ends
    pe = span[1][k]
    if p != pe + 1 or not lam_end[k] < 1.0 or span[0][k] > pe:
        return value
    A_t, inv_next, _, d, dl, _, _ = month
    a = data[0][k]
    hk = data[1][k]
    q = 1.0 - hk
    end = (lam_end[k], pay_req[pe], top_end, gw)
    return _exact_end(A_t - a * inv_next, q, (d * q) * a, dl * hk, pe, end, geo, rows, ik)


@njit(cache=True)
def _leaf_end(k0: int, k1: int, p: int, best: float, kbest: int, env: Env) -> tuple[float, int]:
    """The amounts ``k0 … k1`` of a leaf at node ``p``, their last live interval ending
    there partly live (:func:`_descend` with ``fr``): each one's frontier value
    (:func:`_amount_end`, asked only when its value at the node beats the best so far:
    it is never more); returns the best and its amount, updated."""
    data, span, month, geo, rows, _, ik, work, ends = env
    amt, h = data[0], data[1]
    for k in range(k0, k1 + 1):
        work[0] += 1
        v = _unit_value(k, p, amt, h, span, month, geo, rows, ik)
        if v > best:
            v = _amount_end(k, p, v, env)
            if v > best:
                best, kbest = v, k
    return best, kbest


@njit(cache=True)
def _descend(
    lt: int,
    bt: int,
    K0: int,
    K1: int,
    p: int,
    state: tuple[float, int, float],
    tol: float,
    env: Env,
    fr: bool = False,
) -> tuple[float, int, float]:
    """Branch and bound over block ``bt`` of level ``lt`` (amounts ``K0 … K1`` only) at
    node ``p``. ``state``: the best exact value found, its amount, and ``cap``, the
    largest bound of a block left unexplored; returns them updated. A block is left
    when its bound is below ``best + tol·|best|`` (``tol = 0``: below the best, exact).
    ``fr``: the amounts' last live interval ends at ``p``, partly live (the frontier's
    values, :func:`_amount_end`; in a loop of their own, so that the other
    amounts' loop stays as lean as it was)."""
    data, span, month, geo, rows, tabs, ik, work, ends = env
    amt, h, smin, smax, off, stack = data
    best, kbest, cap = state
    top = 0
    stack[0], stack[1] = lt, bt
    while top >= 0:
        lv, b = stack[2 * top], stack[2 * top + 1]
        top -= 1
        size = LEAF << lv
        k0 = max(b * size, K0)
        k1 = min((b + 1) * size - 1, K1)
        if k0 > k1:
            continue
        at = off[lv] + b
        work[1] += 1
        thr = best + tol * abs(best)
        ub = _block_bound(k0, k1, smin[at], smax[at], p, amt, h, month, geo, rows, tabs, ik, thr)
        if ub < thr:
            cap = ub if ub > cap else cap
            continue
        if lv == 0 and fr:
            best, kbest = _leaf_end(k0, k1, p, best, kbest, env)
            continue
        if lv == 0:
            for k in range(k0, k1 + 1):
                work[0] += 1
                v = _unit_value(k, p, amt, h, span, month, geo, rows, ik)
                if v > best:
                    best, kbest = v, k
            continue
        left, right = 2 * b, 2 * b + 1
        first, second = (left, right) if kbest >= (2 * b + 1) * (size >> 1) else (right, left)
        for child in (first, second):  # the child nearer the incumbent pops first
            top += 1
            stack[2 * top], stack[2 * top + 1] = lv - 1, child
    return best, kbest, cap


@njit(cache=True)
def _top_blocks(
    lt: int,
    K0: int,
    K1: int,
    p: int,
    state: tuple[float, int, float],
    tub: np.ndarray,
    tol: float,
    env: Env,
    fr: bool = False,
) -> tuple[float, int, float]:
    """The amounts ``K0 … K1`` at node ``p`` from the blocks of level ``lt`` (``tub``: a
    work row for their bounds), best bound first (:func:`_descend` each, ``fr`` passed
    on); ``state`` as there, returned updated, with the bounds of the blocks never
    descended in ``cap``."""
    data, _, month, geo, rows, tabs, ik, work, _ = env
    amt, h, smin, smax, off, _ = data
    best, kbest, cap = state
    size = LEAF << lt
    b0, b1 = K0 // size, K1 // size
    for b in range(b0, b1 + 1):
        k0, k1 = max(b * size, K0), min((b + 1) * size - 1, K1)
        at = off[lt] + b
        work[1] += 1
        tub[b - b0] = _block_bound(
            k0, k1, smin[at], smax[at], p, amt, h, month, geo, rows, tabs, ik,
            best + tol * abs(best),
        )  # fmt: skip
    while True:
        i = int(np.argmax(tub[: b1 - b0 + 1]))
        if tub[i] < best + tol * abs(best):
            break
        tub[i] = -np.inf
        best, kbest, cap = _descend(lt, b0 + i, K0, K1, p, (best, kbest, cap), tol, env, fr)
    rest = tub[: b1 - b0 + 1].max()
    return best, kbest, (rest if rest > cap else cap)


@njit(cache=True)
def _month_nodes(
    pay_req: np.ndarray,
    kcap: int,
    hol: tuple[float, float, float, int, int, float],
    lt: int,
    tol: float,
    env: Env,
) -> None:
    """``pay_req[p]``: the best action's value plus padding at every node ``p`` of one
    month (``NEG`` where none has the node), or with ``tol > 0`` a bound at least that
    and at most ``tol·|best|`` above the best exact value found: the holiday / zero
    payment (``hol``: its ``c``, hazard, a flag, its live intervals and the live share of
    the last) exactly, then the
    unit amounts ``0 … kcap − 1`` by branch and bound from blocks of level ``lt``,
    starting from the previous node's best. The stored value is the largest of the best
    exact value and the bounds of the blocks left (below it when ``tol = 0``)."""
    data, span, month, geo, rows, tabs, ik, work, ends = env
    amt, h, _, _, _, _ = data
    ps, pe = span
    c_h, h_h, on_h, ps_h, pe_h, lam_h = hol
    A_t, inv_next, _, d, dl, _, _ = month
    q_h = 1.0 - h_h
    pay_h, rec_h = (d * q_h) * 0.0, dl * h_h
    size = LEAF << lt
    tub = np.empty((kcap + size - 1) // size + 1)
    K0, K1, kb = 0, -1, -1
    KF = 0  # the amounts K0 … KF − 1 end their live part in node p's interval (frontier)
    frontier = month[5] > 0.0
    for p in range(pay_req.size):
        while K1 + 1 < kcap and ps[K1 + 1] <= p:
            K1 += 1
        while K0 < kcap and pe[K0] + 1 < p:
            K0 += 1
        KF = K0 if KF < K0 else KF
        while frontier and KF < kcap and pe[KF] < p:  # pe ascends with the amount
            KF += 1
        best = NEG
        if on_h > 0.0 and ps_h <= pe_h and p == pe_h + 1 and lam_h < 1.0:
            end = (lam_h, pay_req[pe_h], ends[2], ends[3])
            best = _exact_end(c_h, q_h, pay_h, rec_h, pe_h, end, geo, rows, ik)
        elif on_h > 0.0 and ps_h <= pe_h and ps_h <= p <= pe_h + 1:
            best = _exact(p, c_h, q_h, pay_h, rec_h, ps_h, pe_h, geo, rows, ik)
        kbest = -1
        cap = NEG
        if K0 <= K1:
            KM = KF if KF < K1 + 1 else K1 + 1  # K0 … KM − 1: the frontier's amounts
            if kb >= 0:  # the previous node's best and its neighbours: a good incumbent
                for k in range(max(kb - 1, KM), min(kb + 1, K1) + 1):
                    work[0] += 1
                    v = _unit_value(k, p, amt, h, span, month, geo, rows, ik)
                    if v > best:
                        best, kbest = v, k
            if KM <= K1:
                best, kbest, cap = _top_blocks(lt, KM, K1, p, (best, kbest, cap), tub, tol, env)
            if K0 < KM:
                state = (best, kbest, cap)
                best, kbest, cap = _top_blocks(lt, K0, KM - 1, p, state, tub, tol, env, True)
        pay_req[p] = cap if cap > best else best
        kb = kbest if kbest >= 0 else kb


@njit(cache=True)
def _next_rows(
    Vf: np.ndarray,
    inv_next: float,
    gw: float,
    dw: float,
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    S_tab: np.ndarray,
    D_tab: np.ndarray,
) -> float:
    """Next month's rows as ``backward_pass`` makes them — slopes ``seg``, differences
    ``dV``, kink weights ``D1`` (``D1[M]`` stays 0) — and the range-maximum tables of
    ``S = Vf_j − δ_t w_{t+1} j`` (``dw``) and of ``D1``; returns the largest |slope|."""
    seg, dV, D1, S = rows
    M = seg.size
    seg_max = next_month_rows(Vf, inv_next, gw, seg, dV, D1)
    for j in range(M + 1):
        S[j] = Vf[j] - dw * j
    _sparse(S, S_tab)
    _sparse(D1, D_tab)
    return seg_max


@njit(cache=True)
def month_scratch(M: int, G: int, off: np.ndarray) -> tuple:
    """Work arrays of :func:`month_pay` for tables of M + 1 nodes and G amounts (``off``:
    the blocks' level offsets): next month's rows (``Vf``, ``seg``, ``dV``, ``D1``, ``S``),
    the range-maximum tables and their logarithms, the live intervals (and the live share
    of the last), the block stack, and the top level of the tree."""
    nl = 1
    while (1 << nl) <= M + 1:
        nl += 1
    lg = np.zeros(max(M + 2, G + 1), np.int64)
    for i in range(2, lg.size):
        lg[i] = lg[i // 2] + 1
    L = off.size - 1
    lt = 0
    while lt < L - 1 and (G + (LEAF << lt) - 1) // (LEAF << lt) > TOPN:
        lt += 1
    rows = (np.empty(M + 1), np.empty(M), np.empty(M), np.zeros(M + 1), np.empty(M + 1))
    tabs = (np.empty((nl, M + 1)), np.empty((nl, M + 1)), lg)
    return (
        rows,
        tabs,
        (np.empty(G, np.int64), np.empty(G, np.int64), np.empty(G)),
        np.empty(4 * L + 8, np.int64),
        lt,
    )


@njit(cache=True, error_model="numpy")
def month_pay(
    t: int,
    pay_req: np.ndarray,
    on_h: float,
    inputs: tuple,
    scratch: tuple,
    work: np.ndarray,
    tol: float,
    frontier: bool = False,
    top_end: float = 0.0,
) -> float:
    """One month of :func:`free_pass` on next month's row, already filled into the
    scratch's ``Vf`` (:func:`month_scratch`): ``pay_req`` (M + 1,) the best unit amount's
    value plus padding at every node (and the payment 0's while ``on_h`` > 0), to the
    tolerance ``tol`` (:func:`_month_nodes`); returns next month's largest |slope|.
    ``frontier``: ``bound_dp.backward_pass``'s treatment of the partly live last intervals
    (``top_end``: next month's interval ending at its first node past ``U``).
    ``inputs``: ``free_pass``'s ``amt``, ``hz``, ``row_of``, ``stats``, ``per_month``,
    ``R``, ``kink``."""
    amt, hz, row_of, stats, per_month, R, kink = inputs
    (Vf, seg, dV, D1, S), (S_tab, D_tab, lg), (ps, pe, lam), stack, lt = scratch
    has_kink, iCc, wR = kink
    smin, smax, off, curv = stats
    G = amt.size
    M = seg.size
    inv_next = per_month[5, t]
    rho = per_month[4, t]
    inv_rho = 1.0 / rho
    seg_max = _next_rows(
        Vf,
        inv_next,
        per_month[7, t],
        per_month[0, t] * per_month[6, t],
        (seg, dV, D1, S),
        S_tab,
        D_tab,
    )
    for p in range(M + 1):
        pay_req[p] = NEG
    r = row_of[t]
    h = hz[r]
    A_t = per_month[3, t]
    z0, zU = per_month[8, t], per_month[9, t]
    kcap = int(np.searchsorted(amt, per_month[2, t], side="right"))
    for k in range(kcap):
        c = A_t - amt[k] * inv_next
        ps[k], pe[k] = _live(c, z0, zU, inv_rho, M)
        lam[k] = _live_end(c, zU, inv_rho, pe[k]) if frontier else 1.0
    c_h = A_t - 0.0 * inv_next
    ps_h, pe_h = _live(c_h, z0, zU, inv_rho, M)
    lam_h = _live_end(c_h, zU, inv_rho, pe_h) if frontier else 1.0
    on_f = 1.0 if frontier else 0.0
    ik = int(iCc[t])
    pad_kink = wR[t] if has_kink[t] else 0.0
    narrow = 1.0 if inv_rho >= 1.0 else 0.0
    env = (
        (amt, h, smin[r], smax[r], off, stack),
        (ps, pe),
        (A_t, inv_next, per_month[6, t], per_month[0, t], per_month[1, t], on_f, 0.0),
        (rho, inv_rho, float(M - 1), pad_kink, narrow, float(M)),
        (Vf, dV, D1, R[t]),
        (S_tab, D_tab, curv[r], lg),
        ik,
        work,
        (lam, pay_req, top_end, per_month[7, t]),
    )
    _month_nodes(pay_req, kcap, (c_h, h[G], on_h, ps_h, pe_h, lam_h), lt, tol, env)
    return seg_max


@njit(cache=True, error_model="numpy")
def free_pass(
    V: np.ndarray,
    clear_req: np.ndarray,
    to_bound: np.ndarray,
    hold: int,
    amt: np.ndarray,
    hz: np.ndarray,
    row_of: np.ndarray,
    stats: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    per_month: np.ndarray,
    R: np.ndarray,
    kink: tuple[np.ndarray, np.ndarray, np.ndarray],
    K_all: np.ndarray,
    slack: float,
    work: np.ndarray,
    tol: float = 0.0,
    frontier: bool = False,
) -> None:
    """``bound_dp.backward_pass`` for one account on its unit amounts ``amt`` (G,), ascending,
    with the holiday (the payment 0) while ``t < hold``: the same node values ``V`` (H + 1,
    M + 1) when ``tol = 0``; with ``tol > 0`` node values at least those of the
    programme on this pass's own next-month rows and at most ``tol·|value|`` above them
    (module docstring: why the tables stay an upper bound).

    ``hz`` (rows, G + 1): hazards of the amounts then of the holiday, one row per distinct
    month (``row_of`` (H,)); ``stats``: per row the block extremes ``hmin``, ``hmax``
    (rows, S) and the level offsets (:func:`solver.plans.free_prep.block_stats`), and
    the survival curvature tables (:func:`solver.plans.free_prep.curvature_tables`);
    ``per_month`` (10, H): ``δ_t``, ``δ_t^L``, the capped cap, ``c`` of the amount 0
    (``_pass_geometry``), ρ, next month's 1/w and w, g·w_t, the nodes of balance 0 and
    of U next month (``_live_intervals``' ``z0``, ``zU``) — one row each; ``R`` (H,
    M + 1) recoveries at the nodes, ``clear_req`` (H, M + 1); ``kink``: ``has_kink``,
    ``iCc``, ``wR`` (H,); ``K_all`` (H + 1,) the first node past U; ``work`` counts exact
    values and block bounds; ``frontier``: ``backward_pass``'s treatment of the partly
    live last intervals (the same tables as it with ``frontier``).
    """
    H = V.shape[0] - 1
    M = V.shape[1] - 1
    for p in range(M + 1):
        V[H, p] = NEG
    req, pay_req = np.empty(M + 1), np.empty(M + 1)
    scratch = month_scratch(M, amt.size, stats[2])
    inputs = (amt, hz, row_of, stats, per_month, R, kink)
    for t in range(H - 1, -1, -1):
        for p in range(M + 1):
            req[p] = clear_req[t, p]
        if t < H - 1 and to_bound[t] and _fill_row(V[t + 1], scratch[0][0]):
            on_h = 1.0 if t < hold else 0.0
            top_end = float(max(K_all[t + 1] - 1, 0))
            seg_max = month_pay(t, pay_req, on_h, inputs, scratch, work, tol, frontier, top_end)
            add_margins(req, pay_req, slack, seg_max)
        store_row(req, K_all[t], V[t])
