"""Bound tables of the ``custom`` / ``step`` search: how much a plan can still collect.

The search of :mod:`solver.plans.search` prunes and ranks its states by an admissible
upper bound on the value still collectable from a balance in a month. It is computed
here by a backward dynamic programme that relaxes the phase limit (any grid amount in
any month) and bounds the value by a *continuous* piecewise-linear function on
``buckets + 1`` balance nodes per month, spanning only the balances reachable in that
month (:func:`bound_tables`; the compiled loop is :mod:`solver.plans.bound_dp`). Each
node value is the best action's value at the node plus a padding for the concave kinks
of next month's interpolant inside the interval (second order in the node spacing), so
the interpolant lies above every action's value everywhere and the error does not
compound from month to month. With ``tail``, a second table bounds the forced path of a
state in its last phase (:func:`_tail_tables`), which respects the phase limit.
:func:`bound_at` reads a table at a balance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from solver.plans.bound_dp import NEG as _NEG
from solver.plans.bound_dp import NEG_CUT as _NEG_CUT
from solver.plans.bound_dp import (
    backward_pass,
    band_recurrences,
    clearable_backward,
    clearing_fill,
    clearing_points,
    fill_rows,
    node_recovery,
)
from solver.plans.context import CAP_TOL, PlanContext, grid_of


def bound_tables(
    ctx: PlanContext,
    amounts: np.ndarray,
    buckets: int,
    holiday_months: np.ndarray,
    chunk: int = 64,
    *,
    tail: bool = False,
    hazards: np.ndarray | None = None,
) -> tuple[np.ndarray, ...]:
    """:func:`_bound_tables` in chunks of accounts (arrays stay in cache).

    ``hazards``: :func:`action_hazards` of ``amounts``, when the caller has them (the
    search needs them too). Returns ``(V, w, U, lo)``, plus ``(T, w_tail)`` of
    :func:`_tail_tables` with ``tail``.
    """
    n = len(ctx)
    if hazards is None:
        hazards = action_hazards(ctx, amounts)
    U, top = _clearable(ctx)  # once: every step below takes its rows
    clears = ctx.balance <= U[:, 0]
    live = np.flatnonzero(clears)
    if live.size == n:
        return _chunked(ctx, amounts, buckets, holiday_months, chunk, tail, hazards, (U, top))
    # an opening balance above U (what payments within the caps can clear at most) has no
    # plan: its table says so without the dynamic programme (13 % of the generated book's
    # accounts; the search finds nothing for it either way)
    dead = np.flatnonzero(~clears)
    out = _no_plan_tables(ctx, amounts, buckets, holiday_months, tail, (U, top), dead)
    if live.size:
        part = _chunked(
            ctx.take(live),
            amounts[live],
            buckets,
            holiday_months[live],
            chunk,
            tail,
            hazards[live],
            (U[live], top[live]),
        )
        for whole, rows in zip(out, part, strict=True):
            whole[live] = rows
    return out


def _chunked(
    ctx: PlanContext,
    amounts: np.ndarray,
    buckets: int,
    holiday_months: np.ndarray,
    chunk: int,
    tail: bool,
    hazards: np.ndarray,
    clearable: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, ...]:
    """:func:`_bound_tables` of every account, ``chunk`` accounts at a time (``clearable``:
    ``U`` and ``top`` of :func:`_clearable`, row-sliced with the accounts)."""
    n = len(ctx)
    U, top = clearable
    if n <= chunk:
        return _bound_tables(ctx, amounts, buckets, holiday_months, tail, hazards, clearable)
    parts = [
        _bound_tables(
            ctx.take(np.arange(k, min(n, k + chunk))),
            amounts[k : k + chunk],
            buckets,
            holiday_months[k : k + chunk],
            tail,
            hazards[k : k + chunk],
            (U[k : k + chunk], top[k : k + chunk]),
        )
        for k in range(0, n, chunk)
    ]
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(len(parts[0])))


def _no_plan_tables(
    ctx: PlanContext,
    amounts: np.ndarray,
    buckets: int,
    holiday_months: np.ndarray,
    tail: bool,
    clearable: tuple[np.ndarray, np.ndarray],
    dead: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Tables of :func:`_bound_tables`'s shapes that say "no plan" everywhere (``_NEG``),
    with the accounts' own ``U`` and tail spacing (``clearable``: ``U`` and ``top`` of
    :func:`_clearable`) and, for the accounts ``dead`` (opening balance above ``U`` at
    the root), their node bands: what the dynamic programme gives them. The other rows
    of the bands are left to the caller (it fills them with the live accounts' tables)."""
    n, H, M = len(ctx), ctx.horizon, buckets
    U, top = clearable
    lo, w = np.empty((n, H + 1)), np.empty((n, H + 1))
    lo[dead], _, w[dead] = _node_bands(ctx, amounts, holiday_months, U, top, M, dead)
    V = np.full((n, H + 1, M + 1), _NEG)
    if not tail:
        return V, w, U, lo
    Mt = max(M // 2, 2)
    T = np.full((n, H + 1, amounts.shape[1], Mt + 1), _NEG, dtype=np.float32)
    return V, w, U, lo, T, top / Mt


# each month's node spacing is at least this times g times the previous month's, so an
# interval's image in next month's nodes is less than two intervals wide (at most two
# next-month nodes inside it: the two kinks the padding handles)
_W_RATIO = 0.5


def _bound_tables(
    ctx: PlanContext,
    amounts: np.ndarray,
    buckets: int,
    holiday_months: np.ndarray,
    tail: bool = False,
    hazards: np.ndarray | None = None,
    clearable: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, ...]:
    """Continuous piecewise-linear upper bounds on the value still collectable (phase limit relaxed).

    ``W_t(B)``, the most a plan can still collect from month index t with balance B (per
    unit of survival, discounted to time 0) when any grid amount may be paid in any month
    (and a capitalised holiday taken in any of the first ``holiday_months`` months), is
    bounded by the linear interpolation of node values ``V[t, i]`` at balances
    ``b_i = lo_t + i·w_t`` (i = 0…M). Month t's nodes span the balances reachable then:
    ``lo_t`` pays the largest grid amount every month since the start (at least 0),
    ``hi_t`` takes the holiday while allowed and then pays the smallest amount, never
    above ``U_t`` (with a grid step of slack a month for interest rounding); the spacing
    never shrinks faster than ``w_{t+1} ≥ g·w_t / 2``, so the image of an interval in
    next month's nodes holds at most two of them. The table is built backwards. For
    every action (pay a grid amount ``a``, hold, or clear) the value from a balance B is

        ``f_a(B) = δ_t (1 − h_a) a + δ_t^L h_a R_t(B) + (1 − h_a) W̃_{t+1}(B·g − a)``

    — piecewise linear in B, with kinks where ``B·g − a`` crosses a node of next month's
    interpolant and where ``R_t`` bends at the collateral value. Between two nodes the
    chord of ``f_a`` lies above it except at concave kinks, where it falls short by at
    most ``Σ drop × (p − b_i)(b_{i+1} − p)/w`` (drop = the fall in slope at kink p);
    each node value is the largest of ``f_a(b_i)`` plus that padding over the two
    intervals it bounds, so the interpolant lies above every ``f_a`` everywhere. An action
    possible on only part of an interval (a payment larger than what is owed, a clearing
    payment above the cap) is covered by the chord through its values at the ends of that
    part (extended linearly to the interval's left node, or held constant to its right
    node, with the corresponding padding). Interest rounding to the money grid (±half a
    step on the next balance: ±0.005 for CNY, ±0.5 for whole yen; :func:`grid_slack`) is
    covered by ``slack × the largest slope``.

    Unlike a piecewise-affine bound per bucket, the interpolant is continuous, so the
    error made in one month does not reappear as a jump that the month before must cover:
    the bound loses only curvature (second order in w) per month.

    Returns
    -------
    V
        Node values (n, H + 1, M + 1); ``_NEG`` where no plan exists; month index H has
        none (a plan must have ended).
    w
        Node spacing per account and month (n, H + 1).
    U
        (n, H + 1): above this balance no plan can clear by month H (bound −inf).
    lo
        (n, H + 1): the first node of each month.
    """
    n, H, M = len(ctx), ctx.horizon, buckets
    G = amounts.shape[1]
    half, _ = grid_slack(ctx)
    U, top = _clearable(ctx) if clearable is None else clearable
    lo, hi, w = _node_bands(ctx, amounts, holiday_months, U, top, M)
    amt, valid_amt, q_act, pay_act, rec_act, act_ok, capt = _action_values(
        ctx, amounts, holiday_months, hazards
    )
    # the recovery's concave kink at the collateral value C_t: interval and padding weight
    kinks = _recovery_kinks(ctx, w[:, :H], lo[:, :H], M)
    _, has_kink, iCc, wR = kinks
    R_nodes = _node_recovery(ctx, lo, w, M)
    clear_req = _clearing_requirements(ctx, lo, w, capt, M, kinks, R_nodes)
    # ---- the backward pass (compiled: solver/plans/bound_dp.py), month by month from H − 1 ----
    c, rho, inv_next, gw = _pass_geometry(ctx, lo, w, amt)
    i_first, i_last = _live_intervals(ctx, lo, U, c, rho, inv_next)
    V = np.empty((n, H + 1, M + 1))
    backward_pass(
        V,
        clear_req,
        hi >= lo,  # months with balances to bound (n, H + 1)
        int(holiday_months.max(initial=0)),
        G,
        c,
        rho,
        inv_next,
        gw,
        q_act,
        np.where(act_ok, pay_act, _NEG),
        rec_act,
        R_nodes,
        has_kink,
        iCc,
        wR,
        i_first,
        i_last,
        np.clip(np.ceil((U - lo) * (1.0 / w)), 0, M).astype(np.int64),  # first node past U
        half,
    )
    if not tail:
        return V, w, U, lo
    T, w_tail = _tail_tables(
        ctx,
        amt,
        valid_amt,
        top,
        U,
        max(M // 2, 2),
        pay_act.transpose(0, 2, 1),
        rec_act.transpose(0, 2, 1),
        q_act.transpose(0, 2, 1),
        act_ok.transpose(0, 2, 1),
        capt,
    )
    return V, w, U, lo, T, w_tail


def grid_slack(ctx: PlanContext) -> tuple[float, float]:
    """Half a step and one step of the policy currency's money grid, in currency units
    (CNY: 0.005 and 0.01; JPY: 0.5 and 1). A month's interest is rounded half-up to the
    grid, so a balance moves by at most half a step a month from its exact value: the
    tables' rounding slack; one step a month is their margin for it (``U``, the node
    bands). ``0.5 / 100`` and ``1 / 100`` are exactly the literals 0.005 and 0.01, so
    hundredths currencies get the very numbers they had before (byte-identical)."""
    grid = grid_of(ctx)
    return 0.5 / grid, 1.0 / grid


def _clearable(ctx: PlanContext) -> tuple[np.ndarray, np.ndarray]:
    """``U`` (n, H + 1): the largest balance before month t + 1 that payments within the
    caps can still clear by month H (a relaxation: any amount up to the cap every month),
    with a grid step of slack a month (:func:`grid_slack`); and ``top`` (n,): the largest
    balance worth a node."""
    n, H = len(ctx), ctx.horizon
    _, step = grid_slack(ctx)
    g = 1.0 + ctx.monthly_rate
    B0 = ctx.balance
    cap = ctx.cap
    v = 1.0 / g
    capped = np.where(np.isfinite(cap), np.maximum(cap, 0.0), 0.0)
    feas = clearable_backward(capped, v)
    U = np.concatenate(
        [feas[:, :H] * (1 + 1e-9) + step * (H + 1 - np.arange(H))[None, :], np.zeros((n, 1))],
        axis=1,
    )
    reach = B0[:, None] * g[:, None] ** np.arange(H)[None, :]
    top = np.max(np.minimum(reach, feas[:, :H] * (1 + 1e-9) + step * H), axis=1)
    top = np.maximum(top, B0) * (1 + 1e-9) + step * (H + 1) + 1.0
    return U, top


def _node_bands(
    ctx: PlanContext,
    amounts: np.ndarray,
    holiday_months: np.ndarray,
    U: np.ndarray,
    top: np.ndarray,
    M: int,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nodes of each month, only the balances reachable then: first node ``lo``,
    highest reachable balance ``hi`` and spacing ``w``, each (n, H + 1); of the accounts
    ``rows`` only (each account's bands are its own), if given.

    lo_t: the largest grid amount every month since the start (at least 0); hi_t: the
    holiday while allowed, then the smallest grid amount, never above U_t (beyond it no
    plan can clear: the bound is −inf there). Interest rounding moves a balance by at most
    half a grid step a month: a grid step of slack per month (and a relative 1e-9;
    :func:`grid_slack`). The spacing is the span over M (at least a grid step), never
    shrinking faster than ``_W_RATIO`` times the interest growth, so an interval's image
    in next month's nodes holds at most two of them.
    """
    g = 1.0 + ctx.monthly_rate
    B0 = ctx.balance
    if rows is not None:
        g, B0, amounts, holiday_months = g[rows], B0[rows], amounts[rows], holiday_months[rows]
        U, top = U[rows], top[rows]
    valid_amt = np.isfinite(amounts)
    a_max = np.max(np.where(valid_amt, amounts, 0.0), axis=1)
    a_min = np.min(np.where(valid_amt, amounts, np.inf), axis=1)
    a_min = np.where(np.isfinite(a_min), a_min, 0.0)
    _, step = grid_slack(ctx)
    w_floor = np.maximum(1e-9 * np.maximum(B0, top), step)
    return band_recurrences(B0, g, U, a_max, a_min, holiday_months, M, w_floor, _W_RATIO, step)


def action_hazards(ctx: PlanContext, amounts: np.ndarray) -> np.ndarray:
    """The hazard of every action in every month (n, A, H): the grid amounts (a missing
    one as 0), then the holiday (amount 0).

    The bound tables and the beam search of a grid both need these; computed once per
    grid and passed to both (``bound_tables(hazards=…)``, ``solve_runs(hazards=…)``),
    row-sliced with the accounts. The search pays the amounts in cents: it may share them
    because :func:`solver.plans.search.payment_grids` puts its amounts on the cent
    (``round(a·100)/100 == a``; tests/test_plan_compiled.py checks both).
    """
    n, H = len(ctx), ctx.horizon
    amt = np.where(np.isfinite(amounts), amounts, 0.0)
    # one call of shape (n, A, H), the holiday as a last amount 0: the account's and the
    # month's inputs are gathered once, (n, 1, H) and (n, 1, 1), and broadcast over the
    # actions (the same operations on the same numbers as one call per action)
    pay = np.zeros((n, amt.shape[1] + 1, H))
    pay[:, :-1, :] = amt[:, :, None]
    return ctx.kernel.hazard(np.arange(n)[:, None, None], pay, np.arange(H)[None, None, :])


def _action_values(
    ctx: PlanContext,
    amounts: np.ndarray,
    holiday_months: np.ndarray,
    hazards: np.ndarray | None = None,
) -> tuple[np.ndarray, ...]:
    """The actions of every month: the grid amounts, then the holiday (amount 0).

    Returns ``amt`` (n, A) amounts (0 where the grid has none), ``valid_amt`` (n, G), and
    per month (H, A, n) — action-major, so the best action is a maximum over contiguous
    slabs and, the holiday being last, the arrays without it are a prefix — the survival
    ``q`` = 1 − h, the paid value δ_t (1 − h) a, the recovery weight δ_t^L h and whether
    the action is allowed; plus the month's caps with their tolerance ``capt`` (n, H).
    ``hazards``: the actions' hazards (:func:`action_hazards`), computed here if not given.
    """
    n, H = len(ctx), ctx.horizon
    G = amounts.shape[1]
    valid_amt = np.isfinite(amounts)
    amt = np.concatenate([np.where(valid_amt, amounts, 0.0), np.zeros((n, 1))], axis=1)
    h_act = action_hazards(ctx, amounts) if hazards is None else hazards
    h_act = np.ascontiguousarray(h_act.transpose(2, 1, 0))  # (H, A, n)
    q_act = 1.0 - h_act
    pay_act = ctx.discount[:, None, None] * q_act * amt.T[None]  # δ_t (1 − h) a
    rec_act = ctx.discount_lag[:, None, None] * h_act  # δ_t^L h
    cap = ctx.cap
    capt = np.where(np.isfinite(cap), cap * (1 + CAP_TOL) + CAP_TOL, -np.inf)  # (n, H)
    act_ok = np.concatenate(
        [
            valid_amt.T[None] & (amt.T[None, :G, :] <= capt.T[:, None, :]),
            (np.arange(H)[:, None] < holiday_months[None, :])[:, None, :],
        ],
        axis=1,
    )  # (H, A, n)
    return amt, valid_amt, q_act, pay_act, rec_act, act_ok, capt


def _clearing_requirements(
    ctx: PlanContext,
    lo: np.ndarray,
    w: np.ndarray,
    capt: np.ndarray,
    M: int,
    kinks: tuple[np.ndarray, ...],
    R_nodes: np.ndarray,
) -> np.ndarray:
    """Clearing, all months at once (H, n, M + 1): the requirements on the left and right
    node of each interval where a clearing payment can be within the month's cap
    (``_NEG`` elsewhere), with the padding for the concave kinks (the cap, the recovery's
    kink at the collateral value).

    On an interval [b_i, b_{i+1}] (cut at ``Bc``, the largest balance clearable in the
    month) clearing pays ``B·g`` (± half a grid step); its value is bounded with the hazard
    of the smallest payment ``c_lo`` for the payment term and of the largest ``c_hi``
    for the recovery term. ``R_nodes`` is the recovery at the nodes
    (:func:`_node_recovery`). The intervals and the arithmetic are compiled
    (:func:`solver.plans.bound_dp.clearing_points`, ``clearing_fill``); the model is
    asked for the hazards and the recoveries at the cuts.
    """
    n, H = len(ctx), ctx.horizon
    g = 1.0 + ctx.monthly_rate
    _, has_kink, iCc, wR = kinks
    half, _ = grid_slack(ctx)
    inv_w = 1.0 / w
    Bc = (capt + half) / g[:, None]  # largest balance clearable in month t (n, H)
    clear_req = np.full((H, n, M + 1), _NEG)
    # contiguous copies: one compiled signature (a single account's slices are
    # contiguous, several accounts' are not: a second one would load on first use)
    lo_m, w_m, inv_w_m = (np.ascontiguousarray(x[:, :H]) for x in (lo, w, inv_w))
    with np.errstate(invalid="ignore"):
        r_acc, r_t, r_m, lo_c, hi_c, c_lo, c_hi, cut = clearing_points(
            lo_m, w_m, inv_w_m, Bc, capt, g, M, half
        )
    if not r_acc.size:
        return clear_req
    # both hazards in one call (2, k): the points' inputs are gathered once and broadcast
    h_lo, h_hi = ctx.kernel.hazard(r_acc, np.stack([c_lo, c_hi]), r_t)
    at = np.flatnonzero(cut)
    R_cut = ctx.kernel.recovery(r_acc[at], Bc[r_acc[at], r_t[at]], r_t[at])
    clearing_fill(
        clear_req,
        r_acc,
        r_t,
        r_m,
        lo_c,
        hi_c,
        Bc,
        g,
        h_lo,
        h_hi,
        R_nodes,
        R_cut,
        cut,
        ctx.discount,
        ctx.discount_lag,
        inv_w_m,
        has_kink,
        iCc,
        wR,
        half,
    )
    return clear_req


def _pass_geometry(
    ctx: PlanContext, lo: np.ndarray, w: np.ndarray, amt: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Geometry of each month t in next month's node units: the next balance from node i
    when paying action a is ``c_a + ρ·i`` (ρ = g·w_t / w_{t+1} < 2). Returns ``c`` (H, A,
    n), ``ρ``, next month's 1/w and the kink padding's scale g·w_t, each (H, n)."""
    H = ctx.horizon
    g = 1.0 + ctx.monthly_rate
    inv_next = np.ascontiguousarray((1.0 / w[:, 1:]).T)  # (H, n)
    rho = np.ascontiguousarray((g[:, None] * w[:, :H]).T * inv_next)  # (H, n)
    c = np.ascontiguousarray(
        ((lo[:, :H] * g[:, None] - lo[:, 1:]).T * inv_next)[:, None, :]
        - amt.T[None, :, :] * inv_next[:, None, :]
    )  # (H, A, n)
    gw = np.ascontiguousarray((g[:, None] * w[:, :H]).T)
    return c, rho, inv_next, gw


def _live_intervals(
    ctx: PlanContext,
    lo: np.ndarray,
    U: np.ndarray,
    c: np.ndarray,
    rho: np.ndarray,
    inv_next: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Intervals with a possible balance, per month and action (H, A, n): alive when
    ``i_first < i ≤ i_last``. The others have their image all at or below balance 0, or
    above next month's U (with a margin of a grid step); rounding of the two thresholds
    (1e-9 of a node spacing) only keeps more intervals. ``c``, ``rho``, ``inv_next``: the
    month geometry of :func:`_pass_geometry`."""
    _, step = grid_slack(ctx)
    inv_rho = 1.0 / rho
    U_dead = U * (1 + 1e-6) + step  # with a margin: never below U
    z0 = -lo[:, 1:].T * inv_next  # balance 0 in next month's node units
    zU = (U_dead[:, 1:] - lo[:, 1:]).T * inv_next  # next month's U
    i_first = (z0[:, None, :] - c) * inv_rho[:, None, :] - (1.0 + 1e-9)
    i_last = (zU[:, None, :] - c) * inv_rho[:, None, :] + 1e-9
    return np.ascontiguousarray(i_first), np.ascontiguousarray(i_last)


def _node_recovery(ctx: PlanContext, lo: np.ndarray, w: np.ndarray, M: int) -> np.ndarray:
    """The recovery at each month's nodes (H, n, M + 1), from the model kernel (compiled,
    :func:`solver.plans.bound_dp.node_recovery`, when its recovery is SPEC §4's)."""
    n, H = len(ctx), ctx.horizon
    table = ctx.kernel.recovery_table()
    if table is not None:
        collateral, rho = table
        return node_recovery(lo, np.ascontiguousarray(w[:, :H]), collateral, float(rho), M)
    nodes = np.arange(M + 1, dtype=float) * w[:, :H].T[:, :, None]
    nodes += lo[:, :H].T[:, :, None]  # the balances lo + i·w, built in place
    return np.ascontiguousarray(  # in this layout already (no copy) from the default kernel
        ctx.kernel.recovery(np.arange(n)[None, :, None], nodes, np.arange(H)[:, None, None])
    )


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
    :func:`_bound_tables` (node values with kink padding), but one action per table
    instead of the best of all: it respects the phase limit, where the main table
    does not. The search uses the smaller of the two for states in their last phase.

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


def bound_at(
    tables: tuple[np.ndarray, ...], acc: np.ndarray, t: int, balance: np.ndarray
) -> np.ndarray:
    """Upper bound on the value collectable from month index t with this balance (CNY)."""
    V, w, U, lo = tables[:4]
    M = V.shape[2] - 1
    xs = (balance - lo[acc, t]) / w[acc, t]
    j = np.clip(np.floor(xs).astype(np.int64), 0, M - 1)
    lam = np.clip(xs - j, 0.0, 1.0)
    v0 = V[acc, t, j]
    v1 = V[acc, t, j + 1]
    val = v0 + lam * (v1 - v0)
    inside = (balance >= 0) & (balance <= U[acc, t]) & (val > _NEG_CUT)
    return np.where(inside, val, -np.inf)


def _recovery_kinks(
    ctx: PlanContext, w: np.ndarray, lo: np.ndarray | float, M: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where the recovery's concave kink lies on each account's balance nodes, and the
    padding it needs: interval index, whether inside the nodes, clipped index, weight.

    The nodes of month t are ``lo[:, t] + i·w[:, t]`` (``w``, ``lo`` broadcast to (n, H)).
    The recovery is piecewise linear and concave in the exposure with one kink per month
    (``ModelKernel.recovery_kink``); a chord between two nodes around the kink lies
    below it by at most ``drop·(C − lo)(hi − C)/w``.
    """
    at, drop = ctx.kernel.recovery_kink()
    iC = np.floor((at - lo) / w).astype(np.int64)
    has_kink = (at > lo) & (iC < M) & (drop > 0)
    iCc = np.clip(iC, 0, M - 1)
    lo_C = lo + iCc * w
    wR = np.where(has_kink, drop * (at - lo_C) * (lo_C + w - at) / w, 0.0)
    return iC, has_kink, iCc, wR
