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

The tables' parts live by role: their geometry (nodes, actions, clearing) in
:mod:`solver.plans.bound_nodes`, the tail tables in :mod:`solver.plans.bound_tail`, the
compiled loops in :mod:`solver.plans.bound_dp`; this module assembles them.
"""

from __future__ import annotations

import numpy as np

from solver.plans.bound_dp import NEG as _NEG
from solver.plans.bound_dp import NEG_CUT as _NEG_CUT
from solver.plans.bound_dp import backward_pass

# the tables' parts, split by role; importable from here as before the split
from solver.plans.bound_nodes import (
    _action_values,
    _clearable,
    _clearing_requirements,
    _live_intervals,
    _node_bands,
    _node_recovery,
    _pass_geometry,
    _recovery_kinks,
    action_hazards,
    grid_slack,
)
from solver.plans.bound_tail import _tail_tables
from solver.plans.context import PlanContext

__all__ = ["action_hazards", "bound_at", "bound_tables", "grid_slack"]


def bound_tables(
    ctx: PlanContext,
    amounts: np.ndarray,
    buckets: int,
    holiday_months: np.ndarray,
    chunk: int = 64,
    *,
    tail: bool = False,
    hazards: np.ndarray | None = None,
    frontier: bool = False,
) -> tuple[np.ndarray, ...]:
    """:func:`_bound_tables` in chunks of accounts (arrays stay in cache).

    ``hazards``: :func:`action_hazards` of ``amounts``, when the caller has them (the
    search needs them too). ``frontier``: an action's partly live last interval asks of
    its right node only what :func:`solver.plans.bound_dp.frontier_value` says (the free
    family's tables, session 16; the search's keep the value at the node). Returns ``(V, w, U, lo)``, plus ``(T, w_tail)`` of
    :func:`_tail_tables` with ``tail``.
    """
    n = len(ctx)
    if hazards is None:
        hazards = action_hazards(ctx, amounts)
    U, top = _clearable(ctx)  # once: every step below takes its rows
    clears = ctx.balance <= U[:, 0]
    live = np.flatnonzero(clears)
    if live.size == n:
        return _chunked(
            ctx, amounts, buckets, holiday_months, chunk, tail, hazards, (U, top), frontier
        )
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
            frontier,
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
    frontier: bool = False,
) -> tuple[np.ndarray, ...]:
    """:func:`_bound_tables` of every account, ``chunk`` accounts at a time (``clearable``:
    ``U`` and ``top`` of :func:`_clearable`, row-sliced with the accounts)."""
    n = len(ctx)
    U, top = clearable
    if n <= chunk:
        return _bound_tables(
            ctx, amounts, buckets, holiday_months, tail, hazards, clearable, frontier
        )
    parts = [
        _bound_tables(
            ctx.take(np.arange(k, min(n, k + chunk))),
            amounts[k : k + chunk],
            buckets,
            holiday_months[k : k + chunk],
            tail,
            hazards[k : k + chunk],
            (U[k : k + chunk], top[k : k + chunk]),
            frontier,
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


def _bound_tables(
    ctx: PlanContext,
    amounts: np.ndarray,
    buckets: int,
    holiday_months: np.ndarray,
    tail: bool = False,
    hazards: np.ndarray | None = None,
    clearable: tuple[np.ndarray, np.ndarray] | None = None,
    frontier: bool = False,
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
        frontier,
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
