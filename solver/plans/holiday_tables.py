"""Bound tables of the free ``custom`` family *with holidays mid-plan* (issue 13, session 14).

SPEC §5 lets a plan skip a payment in any month, as long as no holiday lasts more than
``max_deferral_months``. Decision (``docs/plans.md``, "Holidays mid-plan"): a month
without payment anywhere in a plan is a capitalised holiday month (payment 0, the
interest added to the balance, as in the leading holiday); each *run* of consecutive
months without payment is at most ``max_deferral_months`` long, the leading holiday
being one such run; holidays need ``capitalize`` among ``deferral_interest``
(:func:`solver.plans.search.holiday_months` is 0 otherwise, and then no month is
skipped).

The run limit matters for the bound. Allowing a zero payment in every month is a valid
relaxation, but not a tight one: when the contract rate is above the cost of funds, a
plan earns the spread on every month the balance is carried, and the relaxation's best
plan pays nothing for years and then clears (on the benchmark book's card accounts it is
0.2–1.4 % above the best plan that keeps the run limit, whatever the node count: the
gap is the relaxation's, not the interpolation's). So these tables track the run: one
table per run length r = 0 … D (D = ``max_deferral_months``), ``V_r(t, B)`` bounding
what a plan can still collect from balance B in month index t after r months without
payment. Paying (a unit amount or clearing) leads to ``V_0(t + 1)``, skipping to
``V_{r+1}(t + 1)`` (only while r < D):

    ``V_r(t) = max(P(t), Z_r(t))``, ``V_D(t) = P(t)``,

where ``P(t)``, the best paying action on ``V_0(t + 1)``, is the same for every r (the
costly part: every unit amount at every node, computed once a month), and ``Z_r`` is
the one zero action on ``V_{r+1}(t + 1)``. Each node value is the best action's plus
the padding of :mod:`solver.plans.bounds` (every action's interpolant stays above its
value), the geometry (nodes spanning the balances reachable with a holiday in any
month) and the clearing requirements are :mod:`solver.plans.bound_nodes`'s, and the
per-action arithmetic is :func:`solver.plans.bound_dp._action_max`'s: only the
recursion over r is new here.

P(t) is computed either so (``tolerance=None``: every unit amount at every node,
:func:`holiday_pass`, the reference) or, for one account on its unit grid, by the pruned
pass's month routine (:func:`solver.plans.free_dp.month_pay`, the payment 0 left out) on
this pass's own ``V_0(t + 1)`` (:func:`holiday_free_pass`): with tolerance 0 the same
tables bit for bit (exact pruning), with a tolerance each P node at least every paying
action's value plus padding on that next month, which is all the induction needs
(:mod:`solver.plans.free_dp`'s argument). Session 14, 100 accounts of
``generate_portfolio(20000, seed=11)``: 71 / 60 / 38 CPU ms an account (reference /
exact pruning / ``free_dp.TOLERANCE``), roots with the tolerance at most 2e-4 relative
above the exact ones (mean 9e-5).

The tables are returned as ``(V, w, U, lo)`` with the run lengths in place of accounts
(``V`` (D + 1, H + 1, M + 1), the others (D + 1, H + 1), the same geometry repeated), so
that :func:`solver.plans.bounds.bound_at` reads run length r as "account" r.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from solver.plans import bound_nodes as nodes
from solver.plans.bound_dp import (
    NEG,
    NEG_CUT,
    _fill_row,
    action_end,
    add_margins,
    apply_frontier,
    frontier_value,
    live_span,
    next_month_rows,
    store_row,
)
from solver.plans.context import PlanContext
from solver.plans.free_dp import month_pay, month_scratch
from solver.plans.free_prep import capped_bands, hazard_inputs, month_rows

#: work rows of :func:`_run_rows`: a row, the action's row, next month's rows, then
#: ``_action_max``'s rows
RunScratch = tuple[
    np.ndarray, np.ndarray, tuple[np.ndarray, ...], np.ndarray, np.ndarray, np.ndarray, np.ndarray
]


@njit(cache=True)
def _zero_row(V_next: np.ndarray, geo: tuple[float, float], work: tuple[np.ndarray, ...]) -> float:
    """Next month's row ``V_next`` filled and differenced into ``work`` (its ``Vf``,
    ``seg``, ``dV``, ``D1``; :func:`solver.plans.bound_dp.next_month_rows`); returns the
    largest slope, or −1 when the row has no plan at all. ``geo``: next month's 1/w and
    g·w_t."""
    Vf, seg, dV, D1 = work
    if not _fill_row(V_next, Vf):
        return -1.0
    return next_month_rows(Vf, geo[0], geo[1], seg, dV, D1)


@njit(cache=True, error_model="numpy")
def holiday_pass(
    V: np.ndarray,
    clear_req: np.ndarray,
    to_bound: np.ndarray,
    runs: np.ndarray,
    G: int,
    geometry: tuple[np.ndarray, ...],
    actions: tuple[np.ndarray, ...],
    recovery: tuple[np.ndarray, ...],
    live: tuple[np.ndarray, np.ndarray],
    K_all: np.ndarray,
    slack: float,
    scratch: RunScratch,
    frontier: bool = False,
) -> None:
    """Fill the run-length tables ``V`` (n, D + 1, H + 1, M + 1) backwards from month H − 1.

    The arrays are :func:`solver.plans.bound_dp.backward_pass`'s, grouped: ``geometry``
    (``c``, ``ρ``, next month's 1/w, g·w_t), ``actions`` (survival, pay value or ``NEG``,
    recovery weight; the G unit amounts then the zero action, index G), ``recovery``
    (recovery at the nodes, the kink's flag, interval and padding), ``live`` (the live
    intervals). ``runs`` (n,): the longest run D of each account (its tables 0 … D are
    filled; a run length above it is never read). ``scratch``: :func:`_run_scratch`.
    ``frontier``: ``backward_pass``'s treatment of the partly live last intervals.
    """
    c_all, rho_all, inv_next_all, gw_all = geometry
    q_act, pay_or_neg, rec_act = actions
    R, has_kink, iCc, wR = recovery
    i_first_all, i_last_all = live
    n, NR, H1, M1 = V.shape
    H, M = H1 - 1, M1 - 1
    V[:, :, H, :] = NEG
    Vf, seg, dV, D1 = np.empty(M1), np.empty(M), np.empty(M), np.zeros(M1)
    base = np.empty(M1)
    _, pay_req, _, f, dev, frac, at = scratch
    top = float(M - 1)
    ends_node, ends = np.empty(G, np.int64), np.empty((3, G))
    for t in range(H - 1, -1, -1):
        for i in range(n):
            base[:] = clear_req[t, i]
            nxt = t < H - 1 and to_bound[i, t]
            rho = rho_all[t, i]
            geo = (inv_next_all[t, i], gw_all[t, i])
            Rt = R[t, i]
            pad_kink = wR[i, t] if has_kink[i, t] else 0.0
            ik = np.uint64(iCc[i, t])
            top_end = float(max(K_all[i, t + 1] - 1, 0))
            # P(t): every unit amount, on V_0(t + 1) (the same for every run length)
            if nxt and _fill_row(V[i, 0, t + 1], Vf):
                seg_max = next_month_rows(Vf, geo[0], geo[1], seg, dV, D1)
                pay_req[:] = NEG
                count = 0
                for a in range(G):
                    pay = pay_or_neg[t, a, i]
                    p_start, p_end = live_span(i_first_all[t, a, i], i_last_all[t, a, i], M)
                    if pay <= NEG_CUT or p_start > p_end:
                        continue
                    rec = rec_act[t, a, i]
                    lam_end = i_last_all[t, a, i] - p_end if frontier else 1.0
                    rows = (Vf, dV, D1, Rt, f, dev, frac, at)
                    terms = (c_all[t, a, i], rho, 1.0 / rho, top, q_act[t, a, i], pay, rec)
                    at_node, at_end = action_end(pay_req, rows, (p_start, p_end), terms,
                                                 rec * pad_kink, int(ik), (lam_end, top_end))  # fmt: skip
                    if lam_end < 1.0:
                        ends_node[count] = p_end + 1
                        ends[0, count], ends[1, count], ends[2, count] = at_node, at_end, lam_end
                        count += 1
                if count:
                    apply_frontier(pay_req, ends_node, ends, count, geo[1])
                add_margins(base, pay_req, slack, seg_max)
            # Z_r(t): the zero action on V_{r+1}(t + 1), while a run may still grow
            p_start, p_end = live_span(i_first_all[t, G, i], i_last_all[t, G, i], M)
            lam_end = i_last_all[t, G, i] - p_end if frontier else 1.0
            zero = (c_all[t, G, i], q_act[t, G, i], pay_or_neg[t, G, i], rec_act[t, G, i])
            _run_rows(V[i], t, base, runs[i], zero, (p_start, p_end, nxt, lam_end, top_end),
                      (geo, Rt, pad_kink, ik, rho), K_all[i, t], slack, scratch)  # fmt: skip


@njit(cache=True, error_model="numpy")
def _run_rows(
    Vi: np.ndarray,
    t: int,
    base: np.ndarray,
    D: int,
    zero: tuple[float, float, float, float],
    span: tuple[int, int, bool, float, float],
    month: tuple[tuple[float, float], np.ndarray, float, np.uint64, float],
    K: int,
    slack: float,
    scratch: RunScratch,
) -> None:
    """Rows ``V_r(t) = max(base, Z_r(t))`` of one account's tables ``Vi`` (D + 1, H + 1,
    M + 1), r = D … 0, ``base`` holding the clearing requirements and P(t): ``zero`` the
    zero action's ``c``, survival, pay value (or ``NEG``) and recovery weight, ``span`` its
    live nodes, whether month t has a next month to bound, the live share of its last
    interval (below 1: the frontier treatment, ``bound_dp.frontier_value``) and next
    month's last interval below its ``U`` (``bound_dp.end_value``), ``month`` the geometry
    (next month's 1/w and g·w_t), recoveries at the nodes, kink padding and interval, ρ."""
    req, pay_req, zwork, f, dev, frac, at = scratch
    c, q, pay, rec = zero
    p_start, p_end, nxt, lam_end, top_end = span
    geo, Rt, pad_kink, ik, rho = month
    top = float(req.size - 2)
    zero_ok = nxt and pay > NEG_CUT and p_start <= p_end
    for r in range(D, -1, -1):
        req[:] = base
        if zero_ok and r < D:
            z_max = _zero_row(Vi[r + 1, t + 1], geo, zwork)
            if z_max >= 0.0:
                pay_req[:] = NEG
                rows = (zwork[0], zwork[2], zwork[3], Rt, f, dev, frac, at)
                terms = (c, rho, 1.0 / rho, top, q, pay, rec)
                at_node, at_end = action_end(pay_req, rows, (p_start, p_end), terms,
                                             rec * pad_kink, int(ik), (lam_end, top_end))  # fmt: skip
                if lam_end < 1.0:
                    end = p_end + 1
                    pay_req[end] = frontier_value(pay_req[p_end], at_end, at_node, lam_end, geo[1])
                add_margins(req, pay_req, slack, z_max)
        store_row(req, K, Vi[r, t])


def _run_scratch(M: int) -> RunScratch:
    """Work rows of :func:`_run_rows` for tables of M + 1 nodes."""
    zwork = (np.empty(M + 1), np.empty(M), np.empty(M), np.zeros(M + 1))
    f, dev = np.empty(M + 1), np.empty(M + 1)
    return (np.empty(M + 1), np.empty(M + 1), zwork, f, dev, np.empty(M + 1),
            np.empty(M + 1, np.uint64))  # fmt: skip


@njit(cache=True, error_model="numpy")
def holiday_free_pass(
    Vi: np.ndarray,
    clear_req: np.ndarray,
    to_bound: np.ndarray,
    D: int,
    inputs: tuple,
    zero: tuple[np.ndarray, ...],
    K_all: np.ndarray,
    slack: float,
    work: np.ndarray,
    tol: float,
    scratch: RunScratch,
    frontier: bool = False,
) -> None:
    """:func:`holiday_pass` for one account (tables ``Vi`` (D + 1, H + 1, M + 1)) with
    P(t) by the pruned pass's month routine (:func:`solver.plans.free_dp.month_pay`, the
    payment 0 left out) on this pass's own ``V_0(t + 1)``: equal to the reference's P(t)
    with ``tol = 0``, a bound at most ``tol·|value|`` above it per node otherwise.
    ``inputs``: ``free_pass``'s (amounts, hazards, stats, month rows, recoveries, kink);
    ``zero``: the zero action's survival, pay value (or ``NEG``), recovery weight and
    live intervals per month (H,); ``frontier`` as :func:`holiday_pass`'s."""
    H, M = Vi.shape[1] - 1, Vi.shape[2] - 1
    per_month, R, (has_kink, iCc, wR) = inputs[4], inputs[5], inputs[6]
    q, pay, rec, i_first, i_last = zero
    ms = month_scratch(M, inputs[0].size, inputs[3][2])
    base, pay_req = np.empty(M + 1), np.empty(M + 1)
    Vi[:, H, :] = NEG
    for t in range(H - 1, -1, -1):
        base[:] = clear_req[t]
        nxt = t < H - 1 and to_bound[t]
        if nxt and _fill_row(Vi[0, t + 1], ms[0][0]):  # P(t): the unit amounts only
            top_end = float(max(K_all[t + 1] - 1, 0))
            seg_max = month_pay(t, pay_req, 0.0, inputs, ms, work, tol, frontier, top_end)
            add_margins(base, pay_req, slack, seg_max)
        p_start, p_end = live_span(i_first[t], i_last[t], M)
        lam_end = i_last[t] - p_end if frontier else 1.0
        top_end = float(max(K_all[t + 1] - 1, 0))
        month = ((per_month[5, t], per_month[7, t]), R[t], wR[t] if has_kink[t] else 0.0,
                 np.uint64(iCc[t]), per_month[4, t])  # fmt: skip
        zt = (per_month[3, t], q[t], pay[t], rec[t])
        span = (p_start, p_end, nxt, lam_end, top_end)
        _run_rows(Vi, t, base, D, zt, span, month, K_all[t], slack, scratch)


def holiday_tables(
    ctx: PlanContext,
    amounts: np.ndarray,
    buckets: int,
    runs: np.ndarray,
    *,
    tolerance: float | None = None,
    work: np.ndarray | None = None,
    frontier: bool = False,
) -> list[tuple[np.ndarray, ...]]:
    """The run-length tables of every account of ``ctx`` on its unit amounts ``amounts``
    (n, G; NaN-padded), ``runs`` (n,) the longest holiday run of each: per account
    ``(V, w, U, lo)`` with run lengths 0 … D in place of accounts (module docstring).

    ``tolerance`` None: P(t) by the reference arithmetic (every unit amount at every
    node). A number (one account whose ``amounts`` (1, G) are its ascending, all finite
    unit grid): by the pruned pass of :mod:`solver.plans.free_dp` to that relative
    tolerance per node (0: exact pruning, the reference's tables bit for bit); ``work``
    (2,), if given, then counts its exact values and block bounds. ``frontier``: an
    action's partly live last interval asks of its right node only what
    :func:`solver.plans.bound_dp.frontier_value` says (session 16; both passes)."""
    n, H, M = len(ctx), ctx.horizon, buckets
    pruned = tolerance is not None
    tol = 0.0 if tolerance is None else float(tolerance)
    if pruned and (n != 1 or amounts.shape[1] == 0 or not np.isfinite(amounts).all()):
        raise ValueError("the pruned pass takes one account on its finite unit grid")
    every = np.full(n, H, np.int64)  # a zero payment in any month (the pass limits runs)
    half, _ = nodes.grid_slack(ctx)
    U, top = nodes._clearable(ctx)
    bands = nodes._node_bands(ctx, amounts, np.where(runs > 0, every, 0), U, top, M)
    lo, hi, w = capped_bands(ctx, bands, amounts, top, M, runs > 0)
    acts = amounts[:, :0] if pruned else amounts  # the pruned pass: the zero action's only
    amt, _, q_act, pay_act, rec_act, act_ok, capt = nodes._action_values(ctx, acts, every)
    kinks = nodes._recovery_kinks(ctx, w[:, :H], lo[:, :H], M)
    _, has_kink, iCc, wR = kinks
    R_nodes = nodes._node_recovery(ctx, lo, w, M)
    clear_req = nodes._clearing_requirements(ctx, lo, w, capt, M, kinks, R_nodes)
    c, rho, inv_next, gw = nodes._pass_geometry(ctx, lo, w, amt)
    i_first, i_last = nodes._live_intervals(ctx, lo, U, c, rho, inv_next)
    NR = int(runs.max(initial=0)) + 1
    V = np.full((n, NR, H + 1, M + 1), NEG)
    alive = ctx.balance <= U[:, 0]  # above U no plan clears: the "no plan" table as it is
    to_bound = (hi >= lo) & alive[:, None]
    K_all = np.clip(np.ceil((U - lo) * (1.0 / w)), 0, M).astype(np.int64)
    pay_or_neg = np.where(act_ok, pay_act, NEG)
    if pruned:
        z0, zU = nodes.live_thresholds(ctx, lo, U, inv_next)
        per_month = month_rows(ctx, (capt, c, rho, inv_next, w, gw, z0, zU))
        units = np.ascontiguousarray(amounts[0], dtype=float)
        hz, row_of, stats = hazard_inputs(ctx, units)
        holiday_free_pass(
            V[0], np.ascontiguousarray(clear_req[:, 0]), to_bound[0], int(runs[0]),
            (units, hz, row_of, stats, per_month, np.ascontiguousarray(R_nodes[:, 0]),
             (has_kink[0], iCc[0], wR[0])),
            tuple(np.ascontiguousarray(x[:, 0, 0]) for x in (q_act, pay_or_neg, rec_act, i_first, i_last)),
            K_all[0], half, np.zeros(2, np.int64) if work is None else work,
            tol, _run_scratch(M), frontier,
        )  # fmt: skip
    else:
        holiday_pass(
            V,
            clear_req,
            to_bound,
            np.asarray(runs, np.int64),
            amounts.shape[1],
            (c, rho, inv_next, gw),
            (q_act, pay_or_neg, rec_act),
            (R_nodes, has_kink, iCc, wR),
            (i_first, i_last),
            K_all,
            half,
            _run_scratch(M),
            frontier,
        )
    out = []
    for i in range(n):
        R1 = int(runs[i]) + 1
        rep = [np.repeat(x[i : i + 1], R1, axis=0) for x in (w, U, lo)]
        out.append((V[i, :R1], *rep))
    return out
