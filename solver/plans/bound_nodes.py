"""The geometry of the bound tables (:mod:`solver.plans.bounds`): nodes, actions, clearing.

For every account and month: the money grid's rounding slack (:func:`grid_slack`), the
largest balance a plan can still clear (:func:`_clearable`), the balance nodes the
tables span (:func:`_node_bands`), the actions' hazards and values
(:func:`action_hazards`, :func:`_action_values`), where the recovery bends on the nodes
(:func:`_recovery_kinks`, :func:`_node_recovery`), the clearing requirements
(:func:`_clearing_requirements`) and the backward pass's geometry in next month's node
units (:func:`_pass_geometry`, :func:`_live_intervals`). The underscored names are the
tables' internals, shared with :mod:`solver.plans.bound_tail` and importable from
:mod:`solver.plans.bounds` as before the split; the compiled loops are
:mod:`solver.plans.bound_dp`'s.
"""

from __future__ import annotations

import numpy as np

from solver.plans.bound_dp import NEG as _NEG
from solver.plans.bound_loops import (
    band_recurrences,
    clearable_backward,
    clearing_fill,
    clearing_points,
    node_recovery,
)
from solver.plans.context import CAP_TOL, PlanContext, grid_of

__all__ = ["action_hazards", "grid_slack"]

# each month's node spacing is at least this times g times the previous month's, so an
# interval's image in next month's nodes is less than two intervals wide (at most two
# next-month nodes inside it: the two kinks the padding handles)
_W_RATIO = 0.5


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
    because :func:`solver.plans.payment_grid.payment_grids` puts its amounts on the cent
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
    (:func:`solver.plans.bound_loops.clearing_points`, ``clearing_fill``); the model is
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


def live_thresholds(
    ctx: PlanContext, lo: np.ndarray, U: np.ndarray, inv_next: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Balance 0 and next month's U (with a margin of a grid step: never below U) in next
    month's node units, per month and account (H, n): an action's image must lie between
    them for an interval to hold a possible balance (:func:`_live_intervals`)."""
    _, step = grid_slack(ctx)
    U_dead = U * (1 + 1e-6) + step
    z0 = -lo[:, 1:].T * inv_next
    zU = (U_dead[:, 1:] - lo[:, 1:]).T * inv_next
    return z0, zU


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
    inv_rho = 1.0 / rho
    z0, zU = live_thresholds(ctx, lo, U, inv_next)
    i_first = (z0[:, None, :] - c) * inv_rho[:, None, :] - (1.0 + 1e-9)
    i_last = (zU[:, None, :] - c) * inv_rho[:, None, :] + 1e-9
    return np.ascontiguousarray(i_first), np.ascontiguousarray(i_last)


def _node_recovery(ctx: PlanContext, lo: np.ndarray, w: np.ndarray, M: int) -> np.ndarray:
    """The recovery at each month's nodes (H, n, M + 1), from the model kernel (compiled,
    :func:`solver.plans.bound_loops.node_recovery`, when its recovery is SPEC §4's)."""
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
