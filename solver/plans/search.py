"""``custom`` and ``step`` plans: exact search over payment paths on a discrete grid.

The families (SPEC §6)
----------------------
A plan starts with an optional payment holiday of at most ``max_deferral_months``
months (interest capitalised; only if ``capitalize`` is an allowed deferral mode), then
pays an amount from the account's **payment grid** every month, and the last payment
clears the balance exactly (it may be below ``min_payment``). Every payment, the clearing
one included, is within the month's affordability cap (``max_dti``,
``min_residual_income``, ``min_afford_prob``, on the account's income forecast where it
gives one); the plan ends by ``max_term_months``. ``custom`` is a free month-by-month
schedule: any grid amount in any month (issue 13 decided that ``max_payment_levels``
does not limit it). ``step`` is graduated: at most ``max_payment_levels`` *phases* (runs
of consecutive equal payments; a clearing payment not above the phase it ends is not a
phase of its own) that never go down.

The payment grid of an account hangs from its largest affordable payment ``top`` (the
largest monthly cap rounded down to the rounding unit): ``top, top − Δ, top − 2Δ, …``
down to ``min_payment``, with ``Δ`` the smallest multiple of the rounding unit giving at
most ``grid_levels`` amounts; plus the payment affordable in every month (the smallest
cap) and the level instalments of the best ``instalment`` and capitalised ``deferral``
plans (so those plans are custom schedules and custom can only match or beat them).

The search (exact within the grid)
-----------------------------------
Balances are tracked **exactly** in cents with the schedule's own interest rounding
(half-up), so every path's value is the model NPV of a real schedule. The search is a
branch and bound month by month over states ``(phases used, current amount,
balance)``, all accounts of a batch at once:

* an admissible bound (:func:`bound_tables`): a backward dynamic programme that
  relaxes the phase limit (any grid amount in any month) and bounds the value still
  collectable from any balance by a *continuous* piecewise-linear function on
  ``buckets + 1`` balance nodes per month, spanning only the balances reachable in that
  month (so the spacing is fine where few balances are possible: early months, and late
  months when what can still be cleared shrinks). Each node value is the best action's value at the
  node plus a padding for the concave kinks of next month's interpolant inside the
  interval (second order in the node spacing), so the interpolant lies above every
  action's value everywhere and the error does not compound from month to month;
* a state is dropped when its value so far plus survival × bound cannot beat the
  best complete plan found (the incumbent, first the ``instalment`` and capitalised
  ``deferral`` winners), or when it is in its last phase and its amount can no longer
  clear the balance by ``max_term_months``;
* at most ``beam_width`` states per account and month are kept (best optimistic value
  first); states cut by the width are remembered by their optimistic value.

If no state was ever cut by the width, the search is exhaustive: status ``OPTIMAL``
(bound = objective). Otherwise status ``FEASIBLE`` with ``bound`` = the largest
optimistic value of a cut state (never above the root bound) and the relative gap —
the result always says how far it can be trusted. The bound's error is second order in
the node spacing; :func:`solver.plans.optimizer._refine` certifies accounts whose gap exceeds
``SearchParams.target_gap`` (0.1 %) with finer tables. Because ``step`` ⊆ ``custom``,
custom's bound also bounds step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from solver.domain import Status
from solver.plans.beam_step import expand
from solver.plans.bound_dp import NEG as _NEG
from solver.plans.bound_dp import NEG_CUT as _NEG_CUT
from solver.plans.bound_dp import backward_pass, band_recurrences, clearable_backward, fill_rows
from solver.plans.families import CAP_TOL, PlanContext, hazard

_RATE_SCALE = 10**12
_MONTHLY_DEN = 12 * _RATE_SCALE


@dataclass(frozen=True)
class SearchParams:
    """Solver parameters of the plan search (not policy: they trade time for proof).

    Parameters
    ----------
    grid_levels
        Most amounts on an account's payment grid for ``custom`` / ``step``.
    beam_width
        Most search states kept per account and month; larger proves optimality more
        often and costs time.
    buckets
        Balance intervals of the bounding dynamic programme per month (``buckets + 1``
        nodes); the bound's error shrinks with the square of the spacing.
    tail_bound
        Also bound states in their last phase (whose path is forced: one amount until
        cleared) by a table of that path (:func:`_tail_tables`), which respects the phase
        limit; tighter pruning and ranking for about a third more time.
    last_phase_width
        If positive, states in their last phase (which do not branch) are kept in their
        own beam of this width instead of competing with the others for ``beam_width``.
    target_gap
        Certified relative gap aimed at: ``custom`` plans proved no closer are searched
        again with finer bound tables.
    refine_buckets
        The finer ``buckets`` to choose from for those plans (see ``plans._refine``).
    includes_default
        Run the default search first and make its grid and its custom and step plans
        part of this one, so this search never finds less (``thorough`` does).
    """

    grid_levels: int = 12
    beam_width: int = 32
    buckets: int = 192
    tail_bound: bool = False
    last_phase_width: int = 0
    target_gap: float = 1e-3
    refine_buckets: tuple[int, ...] = (384, 768, 1536, 3072)
    includes_default: bool = False

    @classmethod
    def thorough(cls) -> SearchParams:
        """Finer grid, wider beam, finer and phase-aware bound: better plans, smaller gaps, slower."""
        return cls(
            grid_levels=16,
            beam_width=96,
            buckets=256,
            tail_bound=True,
            last_phase_width=96,
            target_gap=1e-4,
            refine_buckets=(512, 1024, 2048, 4096),
            includes_default=True,
        )

    def __post_init__(self) -> None:
        for name in ("grid_levels", "beam_width", "buckets"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if int(self.last_phase_width) < 0:
            raise ValueError(f"last_phase_width must be at least 0, got {self.last_phase_width}")


@dataclass(frozen=True)
class RunSolution:
    """Best ``custom`` or ``step`` plan of one account.

    Attributes
    ----------
    payments
        Payment per month in CNY (the last one clears the balance), or ``None`` if
        no plan on the grid satisfies the policy.
    status
        ``OPTIMAL`` (proved), ``FEASIBLE`` (best found, with a bound) or ``INFEASIBLE``.
    objective, bound, gap
        Model NPV of the plan (float search), a proven upper bound on the best NPV
        within the family's grid, and ``(bound − objective) / |bound|``.
    states
        Search states expanded.
    """

    payments: np.ndarray | None
    status: Status
    objective: float
    bound: float
    gap: float
    states: int
    grid_step: float
    grid: np.ndarray


# --------------------------------------------------------------------------------------
# Cent-exact interest (same rule as solver.core.amortisation: half-up on rate taken to 12 decimals)
# --------------------------------------------------------------------------------------


def interest_cents(balance: np.ndarray, rate_units: np.ndarray) -> np.ndarray:
    """Monthly interest in cents on ``balance`` cents, rounded half-up (vectorised, exact)."""
    balance = np.asarray(balance, dtype=np.int64)
    x = balance.astype(float) * (rate_units.astype(float) / _MONTHLY_DEN)
    out = np.floor(x + 0.5).astype(np.int64)
    frac = x - np.floor(x)
    near = np.abs(frac - 0.5) < 1e-5
    if near.any():
        idx = np.flatnonzero(near)
        for i in idx:
            b, ru = int(balance.flat[i]), int(rate_units.flat[i])
            out.flat[i] = (2 * b * ru + _MONTHLY_DEN) // (2 * _MONTHLY_DEN)
    return out


# --------------------------------------------------------------------------------------
# Payment grids
# --------------------------------------------------------------------------------------


def payment_grids(
    ctx: PlanContext, grid_levels: int, extra: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Payment grid per account: amounts (n, G) in CNY (NaN-padded) and the step Δ (n,).

    The grid hangs from the top: the largest affordable payment of any month (rounded
    down to the rounding unit), then steps of Δ down to ``min_payment``; plus the
    largest payment affordable in every month (the flat cap) and the ``extra`` amounts
    (n, k) (e.g. the best level instalments). Tight accounts need payments at the caps,
    so the caps are on the grid.
    """
    pol = ctx.policy
    unit = pol.rounding
    cap = np.where(np.isfinite(ctx.cap), ctx.cap, -np.inf)
    top = np.floor(np.max(cap, axis=1) / unit + 1e-9) * unit
    low = np.ceil(max(pol.min_payment, unit) / unit - 1e-9) * unit
    span = np.maximum(top - low, 0.0)
    step = np.maximum(unit, np.ceil(span / max(grid_levels - 1, 1) / unit - 1e-9) * unit)
    count = np.where(top >= low, np.floor(span / step + 1e-9).astype(np.int64) + 1, 0)
    count = np.minimum(count, grid_levels)
    G = int(max(count.max(initial=0), 1))
    k = np.arange(G)[None, :]
    amounts = np.where(k < count[:, None], top[:, None] - k * step[:, None], np.nan)
    flat = np.floor(np.min(cap, axis=1) / unit + 1e-9) * unit
    cols = [amounts, np.where(flat >= low, flat, np.nan)[:, None]]
    if extra is not None and extra.size:
        cols.append(extra)
    amounts = np.concatenate(cols, axis=1)
    amounts = np.where(
        (amounts >= pol.min_payment - 1e-9) & (amounts <= top[:, None] + 1e-9), amounts, np.nan
    )
    amounts = np.sort(np.round(amounts, 2), axis=1)  # NaNs last
    dup = np.zeros_like(amounts, dtype=bool)
    dup[:, 1:] = amounts[:, 1:] == amounts[:, :-1]
    amounts = np.sort(np.where(dup, np.nan, amounts), axis=1)
    width = int(max(np.isfinite(amounts).sum(axis=1).max(initial=0), 1))
    return amounts[:, :width], step


# --------------------------------------------------------------------------------------
# The bounding dynamic programmes (continuous piecewise-linear upper bounds on balance nodes)
# --------------------------------------------------------------------------------------


def bound_tables(
    ctx: PlanContext,
    amounts: np.ndarray,
    buckets: int,
    holiday_months: np.ndarray,
    chunk: int = 64,
    *,
    tail: bool = False,
) -> tuple[np.ndarray, ...]:
    """:func:`_bound_tables` in chunks of accounts (arrays stay in cache).

    Returns ``(V, w, U, lo)``, plus ``(T, w_tail)`` of :func:`_tail_tables` with ``tail``.
    """
    n = len(ctx)
    if n <= chunk:
        return _bound_tables(ctx, amounts, buckets, holiday_months, tail)
    parts = [
        _bound_tables(
            ctx.take(np.arange(k, min(n, k + chunk))),
            amounts[k : k + chunk],
            buckets,
            holiday_months[k : k + chunk],
            tail,
        )
        for k in range(0, n, chunk)
    ]
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(len(parts[0])))


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
) -> tuple[np.ndarray, ...]:
    """Continuous piecewise-linear upper bounds on the value still collectable (phase limit relaxed).

    ``W_t(B)``, the most a plan can still collect from month index t with balance B (per
    unit of survival, discounted to time 0) when any grid amount may be paid in any month
    (and a capitalised holiday taken in any of the first ``holiday_months`` months), is
    bounded by the linear interpolation of node values ``V[t, i]`` at balances
    ``b_i = lo_t + i·w_t`` (i = 0…M). Month t's nodes span the balances reachable then:
    ``lo_t`` pays the largest grid amount every month since the start (at least 0),
    ``hi_t`` takes the holiday while allowed and then pays the smallest amount, never
    above ``U_t`` (with a cent of slack a month for interest rounding); the spacing
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
    node, with the corresponding padding). Interest rounding to the cent (±0.005 on the
    next balance) is covered by ``0.005 × the largest slope``.

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
    U, top = _clearable(ctx)
    lo, hi, w = _node_bands(ctx, amounts, holiday_months, U, top, M)
    amt, valid_amt, q_act, pay_act, rec_act, act_ok, capt = _action_values(
        ctx, amounts, holiday_months
    )
    # the recovery's concave kink at the collateral value C_t: interval and padding weight
    kinks = _recovery_kinks(ctx, w[:, :H], lo[:, :H], M)
    _, has_kink, iCc, wR = kinks
    clear_req = _clearing_requirements(ctx, lo, w, capt, M, kinks)
    # ---- the backward pass (compiled: solver/plans/bound_dp.py), month by month from H − 1 ----
    c, rho, inv_next, gw = _pass_geometry(ctx, lo, w, amt)
    i_first, i_last = _live_intervals(lo, U, c, rho, inv_next)
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
        _node_recovery(ctx, lo, w, M),
        has_kink,
        iCc,
        wR,
        i_first,
        i_last,
        np.clip(np.ceil((U - lo) * (1.0 / w)), 0, M).astype(np.int64),  # first node past U
        _SLACK,
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


_SLACK = 0.005  # cent rounding of a month's interest: a balance moves by at most this


def _clearable(ctx: PlanContext) -> tuple[np.ndarray, np.ndarray]:
    """``U`` (n, H + 1): the largest balance before month t + 1 that payments within the
    caps can still clear by month H (a relaxation: any amount up to the cap every month),
    with cent slack; and ``top`` (n,): the largest balance worth a node."""
    n, H = len(ctx), ctx.horizon
    g = 1.0 + ctx.monthly_rate
    B0 = ctx.balance
    cap = ctx.cap
    v = 1.0 / g
    capped = np.where(np.isfinite(cap), np.maximum(cap, 0.0), 0.0)
    feas = clearable_backward(capped, v)
    U = np.concatenate(
        [feas[:, :H] * (1 + 1e-9) + 0.01 * (H + 1 - np.arange(H))[None, :], np.zeros((n, 1))],
        axis=1,
    )
    reach = B0[:, None] * g[:, None] ** np.arange(H)[None, :]
    top = np.max(np.minimum(reach, feas[:, :H] * (1 + 1e-9) + 0.01 * H), axis=1)
    top = np.maximum(top, B0) * (1 + 1e-9) + 0.01 * (H + 1) + 1.0
    return U, top


def _node_bands(
    ctx: PlanContext,
    amounts: np.ndarray,
    holiday_months: np.ndarray,
    U: np.ndarray,
    top: np.ndarray,
    M: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nodes of each month, only the balances reachable then: first node ``lo``,
    highest reachable balance ``hi`` and spacing ``w``, each (n, H + 1).

    lo_t: the largest grid amount every month since the start (at least 0); hi_t: the
    holiday while allowed, then the smallest grid amount, never above U_t (beyond it no
    plan can clear: the bound is −inf there). Interest rounding moves a balance by at most
    half a cent a month: a cent of slack per month (and a relative 1e-9). The spacing is
    the span over M, never shrinking faster than ``_W_RATIO`` times the interest growth,
    so an interval's image in next month's nodes holds at most two of them.
    """
    g = 1.0 + ctx.monthly_rate
    B0 = ctx.balance
    valid_amt = np.isfinite(amounts)
    a_max = np.max(np.where(valid_amt, amounts, 0.0), axis=1)
    a_min = np.min(np.where(valid_amt, amounts, np.inf), axis=1)
    a_min = np.where(np.isfinite(a_min), a_min, 0.0)
    w_floor = np.maximum(1e-9 * np.maximum(B0, top), 0.01)
    return band_recurrences(B0, g, U, a_max, a_min, holiday_months, M, w_floor, _W_RATIO)


def _action_values(
    ctx: PlanContext, amounts: np.ndarray, holiday_months: np.ndarray
) -> tuple[np.ndarray, ...]:
    """The actions of every month: the grid amounts, then the holiday (amount 0).

    Returns ``amt`` (n, A) amounts (0 where the grid has none), ``valid_amt`` (n, G), and
    per month (H, A, n) — action-major, so the best action is a maximum over contiguous
    slabs and, the holiday being last, the arrays without it are a prefix — the survival
    ``q`` = 1 − h, the paid value δ_t (1 − h) a, the recovery weight δ_t^L h and whether
    the action is allowed; plus the month's caps with their tolerance ``capt`` (n, H).
    """
    n, H = len(ctx), ctx.horizon
    G = amounts.shape[1]
    acc = np.arange(n)
    valid_amt = np.isfinite(amounts)
    amt = np.concatenate([np.where(valid_amt, amounts, 0.0), np.zeros((n, 1))], axis=1)
    h_amt = hazard(ctx, np.repeat(acc, G), np.repeat(amt[:, :G].reshape(-1, 1), H, axis=1))
    h_zero = hazard(ctx, acc, np.zeros((n, H)))
    h_act = np.concatenate([h_amt.reshape(n, G, H), h_zero[:, None, :]], axis=1)
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
) -> np.ndarray:
    """Clearing, all months at once (H, n, M + 1): the requirements on the left and right
    node of each interval where a clearing payment can be within the month's cap
    (``_NEG`` elsewhere), with the padding for the concave kinks (the cap, the recovery's
    kink at the collateral value)."""
    n, H = len(ctx), ctx.horizon
    g = 1.0 + ctx.monthly_rate
    disc, disc_lag = ctx.discount, ctx.discount_lag
    _, has_kink, iCc, wR = kinks
    inv_w = 1.0 / w
    Bc = (capt + _SLACK) / g[:, None]  # largest balance clearable in month t (n, H)
    clear_req = np.full((H, n, M + 1), _NEG)
    # the intervals m < M whose left node is at most Bc, per (account, month): one more
    # than the threshold gives, then checked on the nodes themselves
    with np.errstate(invalid="ignore"):
        count = np.floor((Bc - lo[:, :H]) * inv_w[:, :H]) + 2.0
    count = np.clip(np.nan_to_num(count, nan=0.0, neginf=0.0), 0, M).astype(np.int64).ravel()
    r_row = np.repeat(np.arange(n * H), count)
    r_m = np.arange(r_row.size) - np.repeat(np.cumsum(count) - count, count)
    r_acc, r_t = np.divmod(r_row, H)
    lo_c = lo[r_acc, r_t] + r_m * w[r_acc, r_t]
    keep = lo_c <= Bc[r_acc, r_t]
    if not keep.all():
        r_acc, r_t, r_m, lo_c = r_acc[keep], r_t[keep], r_m[keep], lo_c[keep]
    if not r_acc.size:
        return clear_req
    hi_c = lo[r_acc, r_t] + (r_m + 1) * w[r_acc, r_t]
    g_r = g[r_acc]
    capt_r = capt[r_acc, r_t]
    Bc_r = Bc[r_acc, r_t]
    c_lo = np.maximum(lo_c * g_r - _SLACK, 0.0)
    c_hi = np.minimum(hi_c * g_r + _SLACK, capt_r)
    h_lo = ctx.kernel.hazard(r_acc, c_lo, r_t)
    h_hi = ctx.kernel.hazard(r_acc, np.maximum(c_hi, 0.0), r_t)
    k_pay = disc[r_t] * (1.0 - h_lo)
    k_rec = disc_lag[r_t] * h_hi
    B_end = np.minimum(hi_c, Bc_r)
    R_lo = ctx.kernel.recovery(r_acc, lo_c, r_t)
    R_end = ctx.kernel.recovery(r_acc, B_end, r_t)
    m_lo = k_pay * (lo_c * g_r + _SLACK) + k_rec * R_lo
    m_hi = k_pay * (B_end * g_r + _SLACK) + k_rec * R_end
    # held constant past the cap (a concave kink) and the recovery's kink at C_t
    dev_c = np.where(
        Bc_r < hi_c,
        (k_pay * g_r + k_rec) * (Bc_r - lo_c) * (hi_c - Bc_r) * inv_w[r_acc, r_t],
        0.0,
    )
    in_c = has_kink[r_acc, r_t] & (r_m == iCc[r_acc, r_t])
    dev_c += np.where(in_c, k_rec * wR[r_acc, r_t], 0.0)
    clear_req[r_t, r_acc, r_m] = m_lo + dev_c
    clear_req[r_t, r_acc, r_m + 1] = np.maximum(clear_req[r_t, r_acc, r_m + 1], m_hi + dev_c)
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
    lo: np.ndarray,
    U: np.ndarray,
    c: np.ndarray,
    rho: np.ndarray,
    inv_next: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Intervals with a possible balance, per month and action (H, A, n): alive when
    ``i_first < i ≤ i_last``. The others have their image all at or below balance 0, or
    above next month's U (with a margin); rounding of the two thresholds (1e-9 of a node
    spacing) only keeps more intervals. ``c``, ``rho``, ``inv_next``: the month geometry
    of :func:`_pass_geometry`."""
    inv_rho = 1.0 / rho
    U_dead = U * (1 + 1e-6) + 0.01  # with a margin: never below U
    z0 = -lo[:, 1:].T * inv_next  # balance 0 in next month's node units
    zU = (U_dead[:, 1:] - lo[:, 1:]).T * inv_next  # next month's U
    i_first = (z0[:, None, :] - c) * inv_rho[:, None, :] - (1.0 + 1e-9)
    i_last = (zU[:, None, :] - c) * inv_rho[:, None, :] + 1e-9
    return np.ascontiguousarray(i_first), np.ascontiguousarray(i_last)


def _node_recovery(ctx: PlanContext, lo: np.ndarray, w: np.ndarray, M: int) -> np.ndarray:
    """The recovery at each month's nodes (H, n, M + 1), from the model kernel."""
    n, H = len(ctx), ctx.horizon
    node_pos = np.arange(M + 1, dtype=float)
    return np.ascontiguousarray(
        ctx.kernel.recovery(
            np.arange(n)[:, None, None],
            lo[:, :H, None] + node_pos * w[:, :H, None],
            np.arange(H)[None, :, None],
        ).transpose(1, 0, 2)
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
    disc, disc_lag = ctx.discount, ctx.discount_lag
    slack = _SLACK
    acc = np.arange(n)
    w = top / M
    nodes = np.arange(M + 1)[None, :] * w[:, None]  # (n, M+1)
    gg = g[:, None, None]
    ww = w[:, None, None]
    a3 = amt[:, :G, None]
    x = nodes[:, None, :] * gg - a3  # (n, G, M+1)
    x_next = np.concatenate([x[:, :, 1:], np.full((n, G, 1), np.inf)], axis=2)
    node_pen = np.where((x >= 0.0) | (x_next > 0.0), 0.0, _NEG)
    xs = x / ww
    k0 = np.clip(np.floor(xs).astype(np.int64), 0, M - 1)
    lam = np.minimum(xs - k0, 1.0)
    lam1 = 1.0 - lam
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
    R_nodes = ctx.kernel.recovery(
        acc[None, :, None], nodes[None], np.arange(H)[:, None, None]
    )  # (H, n, M+1)
    iC, has_kink, iCc, wR = _recovery_kinks(ctx, w[:, None], 0.0, M)
    # clearing: allowed when what is owed is at most the amount (and within the cap)
    Bc = np.minimum(
        ((capt + slack) / g[:, None])[:, None, :], ((amt[:, :G] + slack) / g[:, None])[:, :, None]
    )  # (n, G, H)
    Bc = np.where(valid_amt[:, :, None], Bc, -np.inf)
    Mc = int(min(M, max(0, np.floor(np.max(np.where(np.isfinite(Bc), Bc, 0.0) / ww)) + 1)))
    if Mc > 0:
        lo_c, hi_c = nodes[:, :Mc, None], nodes[:, 1 : Mc + 1, None]  # (n, Mc, 1)
        c_lo = np.maximum(lo_c * g[:, None, None] - slack, 0.0)
        c_hi = np.minimum(hi_c * g[:, None, None] + slack, capt[:, None, :])  # (n, Mc, H)
        h_lo = hazard(ctx, np.repeat(acc, Mc), np.repeat(c_lo.reshape(-1, 1), H, axis=1))
        h_hi = hazard(ctx, np.repeat(acc, Mc), np.maximum(c_hi, 0.0).reshape(n * Mc, H))
        k_pay = (disc[None, None, :] * (1.0 - h_lo.reshape(n, Mc, H))).transpose(2, 0, 1)
        k_rec = (disc_lag[None, None, :] * h_hi.reshape(n, Mc, H)).transpose(2, 0, 1)  # (H, n, Mc)
        lo2, hi2 = lo_c[:, None, :, 0], hi_c[:, None, :, 0]  # (n, 1, Mc)
        in_c = has_kink.T[:, :, None] & (np.arange(Mc)[None, None, :] == iCc.T[:, :, None])
        m_lo_all = k_pay * (lo_c[:, :, 0] * g[:, None] + slack)[None] + k_rec * R_nodes[:, :, :Mc]
        dev_R = np.where(in_c, k_rec * wR.T[:, :, None], 0.0)  # (H, n, Mc)
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
            dev = dflat.take(kink_idx[0]) * kink_wt[0]
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


# --------------------------------------------------------------------------------------
# Branch and bound over exact states
# --------------------------------------------------------------------------------------


def solve_runs(
    ctx: PlanContext,
    amounts: np.ndarray,
    grid_step: np.ndarray,
    *,
    increasing: bool | np.ndarray,
    search: SearchParams,
    seeds: list[list[tuple[np.ndarray, np.ndarray]]] | None = None,
    tables: tuple[np.ndarray, ...] | None = None,
) -> list[RunSolution]:
    """Best custom (``increasing=False``) or step (``True``) plan for every account.

    Parameters
    ----------
    amounts, grid_step
        Payment grids from :func:`payment_grids`.
    increasing
        ``True`` for step (phases never go down); a boolean array gives it per row, so
        one search can solve both families (rows are searched independently).
    seeds
        Known feasible payment paths per account (CNY) used as first incumbents.
    tables
        Precomputed :func:`bound_tables` output (shared by custom and step).
    """
    with np.errstate(invalid="ignore", over="ignore"):
        if tables is None:
            pol = ctx.policy
            can_hold = "capitalize" in pol.deferral_interest
            holiday = np.full(
                len(ctx),
                min(pol.max_deferral_months, ctx.horizon - 1) if can_hold else 0,
                dtype=np.int64,
            )
            tables = bound_tables(ctx, amounts, search.buckets, holiday, tail=search.tail_bound)
        out = _solve_runs(
            ctx,
            amounts,
            grid_step,
            increasing=increasing,
            search=search,
            seeds=seeds,
            tables=tables,
        )
        # a search cut by the beam before any plan was found proves nothing: retry those
        # accounts once with a beam eight times wider
        retry = np.array(
            [
                i
                for i, sol in enumerate(out)
                if sol.payments is None and sol.status == Status.FEASIBLE
            ],
            dtype=np.int64,
        )
        if retry.size:
            from dataclasses import replace

            wide = replace(search, beam_width=search.beam_width * 8)
            again = _solve_runs(
                ctx.take(retry),
                amounts[retry],
                grid_step[retry],
                increasing=np.broadcast_to(np.asarray(increasing, dtype=bool), (len(ctx),))[retry],
                search=wide,
                seeds=None if seeds is None else [seeds[i] for i in retry],
                tables=tuple(x[retry] for x in tables),
            )
            for i, sol in zip(retry, again, strict=True):
                out[i] = sol
        return out


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


@dataclass(frozen=True)
class _Moves:
    """The phase rules of the search as lookup tables.

    A state's phase count k and current amount g are one code ``sc = k·(G + 1) + g + 1``
    (g = −1: nothing paid yet); with the family (0 custom, 1 step) a row ``family·S + sc``.
    ``rule[row, a]``: whether action a is allowed (the same amount, a new phase — k < K
    and rising for step, any amount for custom — or a holiday before any payment);
    ``child[row·A + a]`` the child's code and ``last[row·A + a]`` whether the child is in
    its last phase; ``not_last[row]`` whether a state may still change amount (custom
    states never count phases); ``amount[sc]`` the current amount g of a code.
    """

    rule: np.ndarray
    child: np.ndarray
    last: np.ndarray
    not_last: np.ndarray
    amount: np.ndarray
    codes: int


def _phase_moves(G: int, K: int) -> _Moves:
    """:class:`_Moves` for a grid of G amounts and at most K phases."""
    nA = G + 1  # actions: the grid amounts, then the holiday
    gi = np.arange(nA)[None, None, None, :]
    gg = (np.arange(G + 1) - 1)[None, None, :, None]  # current amount, -1 = none yet
    kk = np.arange(K + 1)[None, :, None, None]
    rising = np.array([False, True])[:, None, None, None]  # custom, step
    hol_a = gi == G
    same = gi == gg
    # custom: any grid amount any month (no phase limit); step: at most K rising phases
    new_ok = rising & (kk < K) & (gi > gg) | ~rising
    rule = np.where(hol_a, (kk == 0) & (gg == -1), same | new_ok)  # (2, K+1, G+1, A)
    S = (K + 1) * (G + 1)
    col = np.arange(nA)
    sc_k, sc_g1 = np.divmod(np.arange(S), G + 1)
    sc_g = sc_g1 - 1
    step_k = np.where(col[None, :] == G, 0, sc_k[:, None] + (col[None, :] != sc_g[:, None]))
    child_k = np.stack([np.zeros_like(step_k), step_k])  # (2, S, A)
    child = np.where(
        col[None, None, :] == G, 0, np.minimum(child_k, K) * (G + 1) + col[None, None, :] + 1
    )  # (2, S, A); step moves past K phases are not allowed (their code is never used)
    return _Moves(
        rule=np.ascontiguousarray(rule.reshape(2 * S, nA)),
        child=child.reshape(-1),
        last=((child_k >= K) & (col[None, None, :] < G)).reshape(-1),
        not_last=np.concatenate([np.ones(S, bool), sc_k < K]),
        amount=sc_g,
        codes=S,
    )


def _search_actions(
    ctx: PlanContext, amounts: np.ndarray, holiday_months: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The actions in cents: payment ``pay_c`` (n, A; the holiday last, 0), the month's
    cap with its tolerance ``cap_c`` (n, H; −1 where nothing is affordable), whether an
    action is allowed ``act_ok`` (H, n, A), and per month and (account, action) the value
    per unit of survival, the recovery weight and the survival ``act_vals`` (H, n·A, 3)."""
    n, H = len(ctx), ctx.horizon
    G = amounts.shape[1]
    amt_c = np.where(np.isfinite(amounts), np.round(amounts * 100), -1).astype(np.int64)
    pay_c = np.concatenate([np.maximum(amt_c, 0), np.zeros((n, 1), np.int64)], axis=1)
    cap = ctx.cap
    cap_c = np.where(
        np.isfinite(cap), np.floor(cap * (1 + CAP_TOL) * 100 + CAP_TOL * 100 + 1e-6), -1
    ).astype(np.int64)
    acc_all = np.arange(n)
    h_amt = hazard(
        ctx,
        np.repeat(acc_all, G),
        np.repeat(np.where(amt_c >= 0, amt_c / 100, 0.0).reshape(-1, 1), H, axis=1),
    ).reshape(n, G, H)
    h_zero = hazard(ctx, acc_all, np.zeros((n, H)))
    h_act = np.concatenate([h_amt, h_zero[:, None, :]], axis=1).transpose(2, 0, 1)  # (H, n, A)
    q_act = np.ascontiguousarray(1.0 - h_act)
    pv_act = np.ascontiguousarray(ctx.discount[:, None, None] * q_act * (pay_c / 100.0)[None])
    rc_act = np.ascontiguousarray(ctx.discount_lag[:, None, None] * h_act)
    act_ok = np.concatenate(
        [
            (amt_c[None, :, :] > 0) & (amt_c[None, :, :] <= cap_c.T[:, :, None]),
            (np.arange(H)[:, None] < holiday_months[None, :])[:, :, None],
        ],
        axis=2,
    )  # (H, n, A)
    act_vals = np.stack([pv_act, rc_act, q_act], axis=-1).reshape(H, n * (G + 1), 3)
    return pay_c, cap_c, np.ascontiguousarray(act_ok), act_vals


def _last_phase_reach(ctx: PlanContext, pay_c: np.ndarray) -> np.ndarray:
    """The most a state in its last phase can clear from month index t + 1 on, paying its
    amount every month (one month of slack), in cents, per month and (account, action)
    (H, n·A; the holiday is never a last phase: ∞). A state that owes more is dropped:
    the bound, which relaxes the phase limit, cannot see this."""
    n, H = len(ctx), ctx.horizon
    r_m = ctx.monthly_rate
    left = (H - 1 - np.arange(H) + 1).astype(float)  # months t+1 … H-1, plus one of slack
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        annuity = np.where(
            r_m[None, :] > 0,
            (1.0 - (1.0 + r_m[None, :]) ** -left[:, None]) / np.where(r_m > 0, r_m, 1.0)[None, :],
            left[:, None],
        )  # (H, n)
    last_max = (pay_c[None, :, :-1] * annuity[:, :, None]) * (1 + 1e-9) + (
        1.0 * left[:, None, None] + 1.0
    )  # cents (H, n, G)
    return np.concatenate([last_max, np.full((H, n, 1), np.inf)], axis=2).reshape(H, -1)


@dataclass
class _Incumbents:
    """Best plan found per account so far: value, pruning threshold, and where its
    clearing payment was made (month, frontier index, amount in cents; month −1: none)."""

    value: np.ndarray
    threshold: np.ndarray
    month: np.ndarray
    state: np.ndarray
    final: np.ndarray

    @classmethod
    def start(cls, value: np.ndarray) -> _Incumbents:
        n = value.size
        thr = np.where(np.isfinite(value), value + 1e-12 * np.abs(value), -np.inf)
        zeros = np.zeros(n, np.int64)
        return cls(value, thr, np.full(n, -1, np.int64), zeros, zeros.copy())

    def offer(
        self, t: int, f_acc: np.ndarray, ci: np.ndarray, vc: np.ndarray, owed: np.ndarray
    ) -> None:
        """Clearing payments of month t (frontier rows ``ci``, sorted by account, values
        ``vc``): the first best per account replaces a worse incumbent."""
        acc_ci = f_acc.take(ci)
        new_grp = np.empty(ci.size, bool)
        new_grp[0] = True
        np.not_equal(acc_ci[1:], acc_ci[:-1], out=new_grp[1:])
        first = new_grp.nonzero()[0]
        best = np.maximum.reduceat(vc, first)
        accs = acc_ci.take(first)
        better = (best > self.value.take(accs)).nonzero()[0]
        if not better.size:
            return
        grp = np.cumsum(new_grp) - 1
        hit = (vc == best.take(grp)).nonzero()[0]
        g_hit = grp.take(hit)
        first_hit = np.empty(hit.size, bool)
        first_hit[0] = True
        np.not_equal(g_hit[1:], g_hit[:-1], out=first_hit[1:])
        pos = hit[first_hit][better]  # first best per group
        a_b = accs[better]
        self.value[a_b] = vc[pos]
        self.threshold[a_b] = self.value[a_b] + 1e-12 * np.abs(self.value[a_b])
        self.month[a_b] = t
        self.state[a_b] = ci[pos]
        self.final[a_b] = owed[ci[pos]]


def _solve_runs(
    ctx: PlanContext,
    amounts: np.ndarray,
    grid_step: np.ndarray,
    *,
    increasing: bool | np.ndarray,
    search: SearchParams,
    seeds: list[list[tuple[np.ndarray, np.ndarray]]] | None,
    tables: tuple[np.ndarray, ...] | None,
) -> list[RunSolution]:
    """The beam search of :func:`solve_runs`, month by month: clearing payments update
    the incumbents; the compiled :func:`solver.plans.beam_step.expand` makes the children."""
    pol = ctx.policy
    n, H = len(ctx), ctx.horizon
    can_hold = "capitalize" in pol.deferral_interest
    holiday_months = np.full(
        n, min(pol.max_deferral_months, H - 1) if can_hold else 0, dtype=np.int64
    )
    if tables is None:
        tables = bound_tables(ctx, amounts, search.buckets, holiday_months, tail=search.tail_bound)
    V, w, U, lo = tables[:4]
    T_tail = tables[4] if len(tables) == 6 else np.zeros((0, 1, 1, 2), np.float32)
    nA = amounts.shape[1] + 1
    moves = _phase_moves(amounts.shape[1], pol.max_payment_levels)
    pay_c, cap_c, act_ok, act_vals = _search_actions(ctx, amounts, holiday_months)
    pay_flat = pay_c.ravel()
    last_cap = _last_phase_reach(ctx, pay_c)
    rate_units = np.round(ctx.fields["annual_rate"] * _RATE_SCALE).astype(np.int64)
    rate_f = rate_units.astype(float) / _MONTHLY_DEN
    disc, disc_lag = ctx.discount, ctx.discount_lag
    acc_all = np.arange(n)
    # per month t (H+1, n), in cents: U, month t's first node and 1 / spacing
    U100 = np.ascontiguousarray(U.T) * 100.0
    inv_w100 = np.ascontiguousarray(1.0 / (w.T * 100.0))
    lo100 = np.ascontiguousarray(lo.T * 100.0)
    inv_wt100 = np.zeros(n) if len(tables) != 6 else 1.0 / (tables[5] * 100.0)
    B0c = np.round(ctx.balance * 100).astype(np.int64)
    root_bound = bound_at(tables, acc_all, 0, B0c / 100.0)

    start = np.full(n, -np.inf)
    inc_path: list[np.ndarray | None] = [None] * n
    if seeds is not None:
        values = seed_values(ctx, seeds, amounts, holiday_months, increasing)
        for i, lst in enumerate(seeds):
            for (pay, _), val in zip(lst, values[i], strict=True):
                if val > start[i]:
                    start[i], inc_path[i] = val, np.asarray(pay, float)
    inc = _Incumbents.start(start)
    cut_bound = np.full(n, -np.inf)  # best optimistic value among states cut by the width
    inc_S = np.broadcast_to(np.asarray(increasing, dtype=bool), (n,)).astype(np.int64)
    inc_S *= moves.codes
    cap_cT = np.ascontiguousarray(cap_c.T)  # (H, n)
    V = np.ascontiguousarray(V)

    # frontier (sorted by account): holiday state (k = 0, g = -1) with the opening balance
    f_acc: Any = acc_all.copy()
    f_sc: Any = np.zeros(n, np.int64)
    f_B: Any = B0c.copy()
    f_v: Any = np.zeros(n)
    f_s: Any = np.ones(n)
    layers: list[tuple[np.ndarray, np.ndarray]] = []  # per month: (parent index, payment cents)
    expanded = 0
    for t in range(H):
        if f_acc.size == 0:
            break
        expanded += f_acc.size
        owed = f_B + _interest_cents_f(f_B, rate_f.take(f_acc), rate_units, f_acc)
        rec = ctx.kernel.recovery(f_acc, f_B / 100.0, t)
        # ---- clearing payments (end the plan this month) ----
        cur = pay_flat.take(f_acc * nA + moves.amount.take(f_sc))  # g = -1: the holiday, 0
        f_fam_sc = inc_S.take(f_acc) + f_sc  # (family, sc)
        can_clear = (owed <= cap_cT[t].take(f_acc)) & (
            moves.not_last.take(f_fam_sc) | (owed <= cur)
        )
        ci = can_clear.nonzero()[0]
        if ci.size:
            c = owed.take(ci) / 100.0
            hc = ctx.kernel.hazard(f_acc.take(ci), c, t)
            vc = f_v.take(ci) + f_s.take(ci) * (
                disc[t] * (1.0 - hc) * c + disc_lag[t] * hc * rec.take(ci)
            )
            inc.offer(t, f_acc, ci, vc, owed)
        if t == H - 1:
            break
        # ---- continuing payments: a grid amount (same phase or a new one) or a holiday;
        # the best `beam_width` live children per account by optimistic value ----
        parent, p, f_acc, f_fam_sc_next, f_B, f_v, f_s, any_move = expand(
            t,
            f_acc,
            f_fam_sc,
            f_v,
            f_s,
            owed,
            rec,
            moves.rule,
            act_ok,
            pay_c,
            act_vals,
            moves.child,
            moves.last,
            lo100,
            inv_w100,
            U100,
            V,
            last_cap,
            T_tail,
            inv_wt100,
            moves.amount,
            inc.threshold,
            cut_bound,
            search.beam_width,
            search.last_phase_width,
        )
        if not any_move or f_acc.size == 0:
            break
        layers.append((parent, p))
        f_sc = f_fam_sc_next % moves.codes

    found = np.flatnonzero(inc.month >= 0)
    paths = _backtrack_all(layers, inc.state[found], inc.final[found], inc.month[found])
    for a, path in zip(found.tolist(), paths, strict=True):
        inc_path[a] = path
    return _solutions(amounts, grid_step, inc_path, inc.value, cut_bound, root_bound, expanded)


def _solutions(
    amounts: np.ndarray,
    grid_step: np.ndarray,
    paths: list[np.ndarray | None],
    incumbent: np.ndarray,
    cut_bound: np.ndarray,
    root_bound: np.ndarray,
    expanded: int,
) -> list[RunSolution]:
    """One :class:`RunSolution` per account: the incumbent with its status and bound (the
    best value cut by the beam, capped by the root bound; none cut: optimal)."""
    out: list[RunSolution] = []
    for i, path in enumerate(paths):
        grid = amounts[i][np.isfinite(amounts[i])]
        if path is None:
            status = Status.INFEASIBLE if not np.isfinite(cut_bound[i]) else Status.FEASIBLE
            bound_i = float(max(cut_bound[i], -np.inf))
            out.append(
                RunSolution(
                    None, status, -np.inf, bound_i, np.inf, expanded, float(grid_step[i]), grid
                )
            )
            continue
        obj = float(incumbent[i])
        if np.isfinite(cut_bound[i]) and cut_bound[i] > obj:
            bound = float(min(cut_bound[i], max(root_bound[i], obj)))
            status = Status.FEASIBLE
        else:
            bound = obj
            status = Status.OPTIMAL
        gap = (bound - obj) / abs(bound) if bound != 0 else 0.0
        if gap <= 1e-9:
            status, bound, gap = Status.OPTIMAL, obj, 0.0
        out.append(RunSolution(path, status, obj, bound, gap, expanded, float(grid_step[i]), grid))
    return out


def _interest_cents_f(
    balance: np.ndarray, rate_f: np.ndarray, rate_units: np.ndarray, acc: np.ndarray
) -> np.ndarray:
    """:func:`interest_cents` with the rate already as ``rate_units / (12·10¹²)`` per row.

    ``rate_units`` (per account) and ``acc`` (the row's account) serve the exact integer
    fallback near a half cent.
    """
    x = balance * rate_f
    fl = np.floor(x)
    out = np.floor(x + 0.5).astype(np.int64)
    near = np.abs((x - fl) - 0.5) < 1e-5
    if near.any():
        for i in np.flatnonzero(near).tolist():
            b, ru = int(balance[i]), int(rate_units[acc[i]])
            out[i] = (2 * b * ru + _MONTHLY_DEN) // (2 * _MONTHLY_DEN)
    return out


def _backtrack_all(
    layers: list[tuple[np.ndarray, np.ndarray]],
    state_id: np.ndarray,
    final_cents: np.ndarray,
    t: np.ndarray,
) -> list[np.ndarray]:
    """Payments (CNY) of the paths ending in ``state_id`` of months ``t``, plus their clearing payments.

    One walk back through the months for all paths at once.
    """
    if t.size == 0:
        return []
    T = int(t.max())
    pays = np.zeros((t.size, T + 1), np.int64)
    pays[np.arange(t.size), t] = final_cents
    sid = state_id.copy()
    for month in range(T - 1, -1, -1):
        on = np.flatnonzero(t > month)
        parent, paid = layers[month]
        s = sid[on]
        pays[on, month] = paid[s]
        sid[on] = parent[s]
    cny = pays.astype(float) / 100.0
    return [cny[r, : int(k) + 1].copy() for r, k in enumerate(t.tolist())]


def seed_values(
    ctx: PlanContext,
    seeds: list[list[tuple[np.ndarray, np.ndarray]]],
    amounts: np.ndarray,
    holiday_months: np.ndarray,
    increasing: bool | np.ndarray,
) -> list[list[float]]:
    """Model value of each seed schedule that is a feasible path of the family, else −inf.

    A seed is ``(payments, exposures)`` of a cent-exact schedule at the contract rate on
    the account's full balance. It qualifies when its non-final payments are grid
    amounts, its zero months form a leading holiday of at most ``holiday_months``
    months, (for ``step``) its phases never go down, and it passes the policy caps.
    """
    from solver.plans.families import feasible_paths, npv, phases

    out: list[list[float]] = [[-np.inf] * len(lst) for lst in seeds]
    rows = [(i, k) for i, lst in enumerate(seeds) for k in range(len(lst))]
    if not rows:
        return out
    H = ctx.horizon
    R = len(rows)
    P = np.zeros((R, H))
    E = np.zeros((R, H))
    term = np.zeros(R, np.int64)
    for r, (i, k) in enumerate(rows):
        pay, exp = seeds[i][k]
        T = min(np.size(pay), H)
        term[r] = np.size(pay)
        P[r, :T] = np.asarray(pay, float)[:T]
        E[r, :T] = np.asarray(exp, float)[:T]
    acc = np.array([i for i, _ in rows])
    cents = np.round(P * 100).astype(np.int64)
    ok = (term >= 1) & (term <= H) & (np.abs(E[:, 0] - ctx.balance[acc]) <= 0.005)
    j = np.arange(H)[None, :]
    body = j < (term - 1)[:, None]
    zero = body & (cents == 0)
    n_zero = zero.sum(axis=1)
    ok &= (zero == (j < n_zero[:, None])).all(axis=1)  # zeros only as a leading holiday
    ok &= n_zero <= holiday_months[acc]
    paid = body & (cents > 0)
    grid_c = np.where(np.isfinite(amounts), np.round(amounts * 100), -1).astype(np.int64)[acc]
    on_grid = (cents[:, :, None] == grid_c[:, None, :]).any(axis=2)
    ok &= ~(paid & ~on_grid).any(axis=1)
    rising = np.broadcast_to(np.asarray(increasing, dtype=bool), (len(seeds),))[acc]
    if rising.any():
        down = paid[:, 1:] & paid[:, :-1] & (cents[:, 1:] < cents[:, :-1])
        ok &= ~(down.any(axis=1) & rising)
    ok &= feasible_paths(ctx, acc, P, term)
    ok &= ~rising | (phases(P, term) <= ctx.policy.max_payment_levels)  # custom has no limit
    good = np.flatnonzero(ok)
    if good.size:
        val = npv(ctx, acc[good], P[good], E[good], term[good])
        for r, v in zip(good.tolist(), val.tolist(), strict=True):
            a, k = rows[r]
            out[a][k] = float(v)
    return out
