"""``custom`` and ``step`` plans: exact search over payment paths on a discrete grid.

The families (SPEC §6)
----------------------
A plan starts with an optional payment holiday of at most ``max_deferral_months``
months (interest capitalised; only if ``capitalize`` is an allowed deferral mode), then
pays amounts from the account's **payment grid** in at most ``max_payment_levels``
*phases* (runs of consecutive equal payments), and the last payment clears the balance
exactly (it may be smaller than the phase it ends, and then does not count as a phase;
a larger clearing payment is a phase of its own). Every payment, the clearing one
included, is within the month's affordability cap (``max_dti``,
``min_residual_income``, ``min_afford_prob``); the plan ends by ``max_term_months``.
``custom`` phases may go up or down; ``step`` phases never go down (graduated).

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
best-first branch and bound month by month over states ``(phases used, current
amount, balance)``:

* an admissible bound: a backward dynamic programme over (month, balance bucket)
  that relaxes the phase limit and takes, in each bucket, the most favourable
  balance (recovery at the bucket's top balance, the best next bucket reachable, the
  best clearing payment within the bucket) — an upper bound on the value that any
  plan can still collect from any balance in the bucket;
* states reached by two paths with the same (phases, amount, balance to the cent)
  are merged when one path has both more value so far and higher survival (the
  future is then identical and scales with survival);
* a state is dropped when its value so far plus survival × bound cannot beat the
  best complete plan found (the incumbent);
* at most ``beam_width`` states per month are kept; states cut by the width are
  remembered by their optimistic value.

If no state was ever cut by the width, the search is exhaustive: status ``OPTIMAL``
(bound = objective). Otherwise status ``FEASIBLE`` with ``bound`` = the largest
optimistic value of a cut state (never above the DP bound) and the relative gap —
the result always says how far it can be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from solver.plan_families import CAP_TOL, PlanContext, hazard

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
        Balance buckets of the bounding dynamic programme.
    """

    grid_levels: int = 12
    beam_width: int = 32
    buckets: int = 48

    @classmethod
    def thorough(cls) -> SearchParams:
        """Finer grid, wider beam, finer bound: smaller gaps for about twice the time."""
        return cls(grid_levels=16, beam_width=96, buckets=128)

    def __post_init__(self) -> None:
        for name in ("grid_levels", "beam_width", "buckets"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


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
    status: str
    objective: float
    bound: float
    gap: float
    states: int
    grid_step: float
    grid: np.ndarray


# --------------------------------------------------------------------------------------
# Cent-exact interest (same rule as solver.money: half-up on rate taken to 12 decimals)
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
# The bounding dynamic programme (phase limit relaxed, balance buckets, optimistic)
# --------------------------------------------------------------------------------------


def bound_tables(
    ctx: PlanContext, amounts: np.ndarray, buckets: int, holiday_months: np.ndarray, chunk: int = 32
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_bound_tables` in chunks of accounts (arrays stay in cache)."""
    n = len(ctx)
    if n <= chunk:
        return _bound_tables(ctx, amounts, buckets, holiday_months)
    parts = [
        _bound_tables(
            ctx.take(np.arange(k, min(n, k + chunk))),
            amounts[k : k + chunk],
            buckets,
            holiday_months[k : k + chunk],
        )
        for k in range(0, n, chunk)
    ]
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))  # type: ignore[return-value]


def _bound_tables(
    ctx: PlanContext, amounts: np.ndarray, buckets: int, holiday_months: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Piecewise-affine upper bounds on the value still collectable from any balance.

    For month index t (month t+1) and balance bucket ``j = [j·w, (j+1)·w)`` the bound is
    ``W_t(B) ≤ A[i, t, j] + S[i, t, j]·B`` for every balance B in the bucket (per unit of
    survival, discounted to time 0). It is built backwards with the phase limit relaxed
    (any grid amount in any month, a holiday in any of the first holiday months):

    * for each action (pay a grid amount, hold, or clear), an affine majorant on the
      bucket: the immediate value with recovery bounded by its tangent (recovery is
      concave in the exposure), hazards at the most favourable end of the payment range,
      and the next month's affine pieces of every bucket the next balance can fall in
      (their maximum is convex in B);
    * the maximum over actions is convex in B, so the chord through its values at the
      bucket's two ends lies above it: that chord is the bucket's affine bound.

    Because the balance enters through exact affine terms, uncertainty about where in
    a bucket the balance is does not compound month after month (only the curvature
    inside a bucket is given away). Cent rounding of interest (±0.005) is covered by a
    slack term.

    Returns
    -------
    A, S
        Arrays (n, H + 1, M); month index H is −inf (a plan must have ended).
    w
        Bucket width per account (n,).
    U
        (n, H + 1): above this balance no plan can clear by month H (bound −inf).
    """
    n, H, M = len(ctx), ctx.horizon, buckets
    r = ctx.monthly_rate
    g = 1.0 + r
    B0 = ctx.balance
    cap = ctx.cap
    v = 1.0 / g
    capped = np.where(np.isfinite(cap), np.maximum(cap, 0.0), 0.0)
    feas = np.zeros((n, H + 1))
    for t in range(H - 1, -1, -1):
        feas[:, t] = (capped[:, t] + feas[:, t + 1]) * v
    # the largest balance before month t+1 that payments within the caps can still clear by
    # month H (a relaxation: any amount up to the cap every month), with cent slack
    U = np.concatenate(
        [feas[:, :H] * (1 + 1e-9) + 0.01 * (H + 1 - np.arange(H))[None, :], np.zeros((n, 1))],
        axis=1,
    )
    reach = B0[:, None] * g[:, None] ** np.arange(H)[None, :]
    top = np.max(np.minimum(reach, feas[:, :H] * (1 + 1e-9) + 0.01 * H), axis=1)
    top = np.maximum(top, B0) * (1 + 1e-9) + 0.01 * (H + 1) + 1.0
    w = top / M
    edges = np.arange(M + 1)[None, :] * w[:, None]  # (n, M+1)
    lo_b, hi_b = edges[:, :-1], edges[:, 1:]
    disc, disc_lag = ctx.discount, ctx.discount_lag
    rho = ctx.model.unsecured_recovery
    G = amounts.shape[1]
    valid_amt = np.isfinite(amounts)
    amt = np.where(valid_amt, amounts, 0.0)
    acc = np.arange(n)
    h_amt = hazard(ctx, np.repeat(acc, G), np.repeat(amt.reshape(-1, 1), H, axis=1), None).reshape(
        n, G, H
    )
    h_zero = hazard(ctx, acc, np.zeros((n, H)), None)
    A = np.full((n, H + 1, M), -np.inf)
    S = np.zeros((n, H + 1, M))
    slack = 0.005  # cent rounding of the month's interest

    # ---- month-independent geometry: where a bucket's balance can go next ----
    grown_lo = lo_b * g[:, None]
    grown_hi = hi_b * g[:, None]

    def pieces(a: np.ndarray) -> list[tuple[Any, ...]]:
        """For paying ``a`` from each bucket: the (up to 3) next buckets the balance can
        fall in, each with the sub-range [B1, B2] of the current bucket that leads there.

        ``a`` broadcasts against (n, M) (shape (n, 1, 1) per amount or (n, 1) for a
        holiday). Returns (flat index, usable, B1, B2) per piece.
        """
        nd = a.ndim
        shape = (n,) + (1,) * (nd - 1)
        ww = w.reshape(shape)
        gg = g.reshape(shape)
        lo_j = lo_b.reshape((n,) + (1,) * (nd - 2) + (M,))
        hi_j = hi_b.reshape((n,) + (1,) * (nd - 2) + (M,))
        x_lo = lo_j * gg - a - slack
        x_hi = hi_j * gg - a + slack
        k_lo = np.floor(np.maximum(x_lo, 0.0) / ww).astype(np.int64)
        k_hi = np.floor(np.maximum(x_hi, 0.0) / ww).astype(np.int64)
        base = (acc * M).reshape(shape)
        out = []
        for d in range(3):
            k = k_lo + d
            use = (k <= k_hi) & (k <= M - 1) & (x_hi > 0)
            b1 = np.maximum(lo_j, (k * ww + a - slack) / gg)
            b2 = np.minimum(hi_j, ((k + 1) * ww + a + slack) / gg)
            use = use & (b1 <= b2)
            if d > 0 and not use.any():
                continue  # the balance never reaches this far: skip the piece entirely
            # month-independent parts of the left end: next balance and offset in the bucket
            out.append((base + np.clip(k, 0, M - 1), use, b1, b2, b1 * gg - a, b1 - lo_j))
        return out

    pay_pieces = pieces(amt[:, :, None])
    hol_pieces = pieces(np.zeros((n, 1))) if (holiday_months > 0).any() else []

    def action_line(An, Sn, parts, a, h, rec_lo, rec_slope, t) -> tuple[np.ndarray, np.ndarray]:
        """An affine majorant (values at the bucket's two ends) of paying ``a`` then
        continuing, from next month's pieces evaluated only on their own sub-ranges and
        only where the next balance can still be cleared (``U``).

        The line has the slope of the first piece (plus the recovery tangent's) and the
        smallest intercept that puts it above every piece at both ends of its sub-range
        (a piece is affine on its sub-range, so that puts the line above it there).
        """
        a_flat, s_flat = An.ravel(), Sn.ravel()
        nd = a.ndim
        shape1 = (n,) + (1,) * (nd - 1)
        lo_j = lo_b.reshape((n,) + (1,) * (nd - 2) + (M,))
        gg = g.reshape(shape1)
        u_now = U[:, t].reshape(shape1)
        b2_cap = np.minimum((U[:, t + 1].reshape(shape1) + a + slack) / gg, u_now)
        best = None
        s0g = None
        for flat, use, b1, b2, x1, r1 in parts:
            b2t = np.minimum(b2, b2_cap)
            ok = use & (b1 <= b2t)
            s_k = s_flat.take(flat)
            base = np.where(ok, a_flat.take(flat), -np.inf) + np.abs(s_k) * slack
            if s0g is None:
                s0g = np.where(ok, s_k, 0.0) * gg
            # value relative to the line: base + s_k·x − s0g·(b − lo)
            z1 = base + s_k * x1 - s0g * r1
            z2 = base + s_k * (b2t * gg - a) - s0g * (b2t - lo_j)
            z = np.maximum(z1, z2)
            best = z if best is None else np.maximum(best, z, out=best)
        icpt = disc[t] * (1 - h) * a + disc_lag[t] * h * rec_lo + (1 - h) * best
        lam = (1 - h) * s0g + disc_lag[t] * h * rec_slope
        return icpt, icpt + lam * w.reshape(shape1)

    # ---- month-dependent inputs, all months at once ----
    col = ctx.collateral[:, None, :]  # (n, 1, H)
    lo3 = lo_b[:, :, None]
    rec_lo_all = np.minimum(lo3, col) + rho * np.maximum(0.0, lo3 - col)  # (n, M, H)
    rec_slope_all = np.where(lo3 < col, 1.0, rho)
    rec_hi_all = rec_lo_all + rec_slope_all * w[:, None, None]
    capt_all = np.where(np.isfinite(cap), cap * (1 + CAP_TOL) + CAP_TOL, -np.inf)  # (n, H)
    c_lo = np.maximum(grown_lo - slack, 0.0)  # (n, M)
    c_top_all = np.minimum((grown_hi + slack)[:, :, None], capt_all[:, None, :])  # (n, M, H)
    hc_lo_all = hazard(ctx, np.repeat(acc, M), np.repeat(c_lo.reshape(-1, 1), H, axis=1)).reshape(
        n, M, H
    )
    hc_hi_all = hazard(
        ctx, np.repeat(acc, M), np.maximum(c_top_all, 0.0).reshape(n * M, H)
    ).reshape(n, M, H)
    amt_ok_all = valid_amt[:, :, None] & (amt[:, :, None] <= capt_all[:, None, :])  # (n, G, H)

    for t in range(H - 1, -1, -1):
        An, Sn = A[:, t + 1, :], S[:, t + 1, :]
        rec_lo, rec_hi = rec_lo_all[:, :, t], rec_hi_all[:, :, t]
        F_lo = np.full((n, M), -np.inf)
        F_hi = np.full((n, M), -np.inf)
        if t < H - 1:
            # pay a grid amount and carry a positive balance into the next month
            h = h_amt[:, :, t][:, :, None]
            rs = rec_slope_all[:, :, t][:, None, :]
            ql, qh = action_line(An, Sn, pay_pieces, amt[:, :, None], h, rec_lo[:, None, :], rs, t)
            ok = amt_ok_all[:, :, t][:, :, None]
            F_lo = np.max(np.where(ok, ql, -np.inf), axis=1)
            F_hi = np.max(np.where(ok, qh, -np.inf), axis=1)
            # a holiday month (capitalised), only among the first months
            hol = (t < holiday_months)[:, None]
            if hol_pieces and hol.any():
                hz = h_zero[:, t][:, None]
                hl, hh = action_line(
                    An, Sn, hol_pieces, np.zeros((n, 1)), hz, rec_lo, rec_slope_all[:, :, t], t
                )
                F_lo = np.where(hol, np.maximum(F_lo, hl), F_lo)
                F_hi = np.where(hol, np.maximum(F_hi, hh), F_hi)
        # clear the balance with one payment c = B·g (+ rounding) within the month's cap:
        # (1 − h(c))·c ≤ (1 − h(c_lo))·c is affine in B; h(c)·R ≤ h(c_top)·(tangent of R)
        can = c_lo <= capt_all[:, t][:, None]
        hl_c, hh_c = hc_lo_all[:, :, t], hc_hi_all[:, :, t]
        cl = disc[t] * (1 - hl_c) * (grown_lo + slack) + disc_lag[t] * hh_c * rec_lo
        ch = disc[t] * (1 - hl_c) * (grown_hi + slack) + disc_lag[t] * hh_c * rec_hi
        F_lo = np.maximum(F_lo, np.where(can, cl, -np.inf))
        F_hi = np.maximum(F_hi, np.where(can, ch, -np.inf))
        # chord of the convex majorant through the bucket's ends
        fin = np.isfinite(F_lo) & np.isfinite(F_hi)
        with np.errstate(invalid="ignore"):
            slope = np.where(fin, (F_hi - F_lo) / w[:, None], 0.0)
            A[:, t, :] = np.where(fin & (lo_b <= U[:, t][:, None]), F_lo - slope * lo_b, -np.inf)
        S[:, t, :] = slope
    return A, S, w, U


def bound_at(
    tables: tuple[np.ndarray, ...], acc: np.ndarray, t: int, balance: np.ndarray
) -> np.ndarray:
    """Upper bound on the value collectable from month index t with this balance (CNY)."""
    A, S, w, U = tables
    M = A.shape[2]
    j = np.floor(balance / w[acc]).astype(np.int64)
    inside = (j >= 0) & (j < M) & (balance <= U[acc, t])
    jc = np.clip(j, 0, M - 1)
    val = A[acc, t, jc] + S[acc, t, jc] * balance
    return np.where(inside, val, -np.inf)


# --------------------------------------------------------------------------------------
# Branch and bound over exact states
# --------------------------------------------------------------------------------------


def solve_runs(
    ctx: PlanContext,
    amounts: np.ndarray,
    grid_step: np.ndarray,
    *,
    increasing: bool,
    search: SearchParams,
    seeds: list[list[tuple[np.ndarray, np.ndarray]]] | None = None,
    tables: tuple[np.ndarray, ...] | None = None,
) -> list[RunSolution]:
    """Best custom (``increasing=False``) or step (``True``) plan for every account.

    Parameters
    ----------
    amounts, grid_step
        Payment grids from :func:`payment_grids`.
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
            tables = bound_tables(ctx, amounts, search.buckets, holiday)
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
            [i for i, sol in enumerate(out) if sol.payments is None and sol.status == "FEASIBLE"],
            dtype=np.int64,
        )
        if retry.size:
            from dataclasses import replace

            wide = replace(search, beam_width=search.beam_width * 8)
            again = _solve_runs(
                ctx.take(retry),
                amounts[retry],
                grid_step[retry],
                increasing=increasing,
                search=wide,
                seeds=None if seeds is None else [seeds[i] for i in retry],
                tables=tuple(x[retry] for x in tables),
            )
            for i, sol in zip(retry, again, strict=True):
                out[i] = sol
        return out


def _solve_runs(
    ctx: PlanContext,
    amounts: np.ndarray,
    grid_step: np.ndarray,
    *,
    increasing: bool,
    search: SearchParams,
    seeds: list[list[tuple[np.ndarray, np.ndarray]]] | None,
    tables: tuple[np.ndarray, ...] | None,
) -> list[RunSolution]:
    pol = ctx.policy
    n, H = len(ctx), ctx.horizon
    K = pol.max_payment_levels
    can_hold = "capitalize" in pol.deferral_interest
    holiday_months = np.full(
        n, min(pol.max_deferral_months, H - 1) if can_hold else 0, dtype=np.int64
    )
    if tables is None:
        tables = bound_tables(ctx, amounts, search.buckets, holiday_months)
    G = amounts.shape[1]
    amt_c = np.where(np.isfinite(amounts), np.round(amounts * 100), -1).astype(
        np.int64
    )  # cents, -1 = none
    rate_units = np.round(ctx.fields["annual_rate"] * _RATE_SCALE).astype(np.int64)
    cap = ctx.cap
    cap_c = np.where(
        np.isfinite(cap), np.floor(cap * (1 + CAP_TOL) * 100 + CAP_TOL * 100 + 1e-6), -1
    ).astype(np.int64)
    disc, disc_lag = ctx.discount, ctx.discount_lag
    rate_m = ctx.monthly_rate
    acc_all = np.arange(n)
    h_amt = hazard(
        ctx,
        np.repeat(acc_all, G),
        np.repeat(np.where(amt_c >= 0, amt_c / 100, 0.0).reshape(-1, 1), H, axis=1),
    ).reshape(n, G, H)
    h_zero = hazard(ctx, acc_all, np.zeros((n, H)))
    B0c = np.round(ctx.balance * 100).astype(np.int64)
    root_bound = bound_at(tables, acc_all, 0, B0c / 100.0)

    incumbent = np.full(n, -np.inf)
    inc_path: list[np.ndarray | None] = [None] * n
    if seeds is not None:
        values = seed_values(ctx, seeds, amounts, holiday_months, increasing)
        for i, lst in enumerate(seeds):
            for (pay, _), val in zip(lst, values[i], strict=True):
                if val > incumbent[i]:
                    incumbent[i], inc_path[i] = val, np.asarray(pay, float)
    cut_bound = np.full(n, -np.inf)  # best optimistic value among states cut by the width

    # frontier: holiday state (k = 0, g = -1) with the opening balance
    f_acc: Any = acc_all.copy()
    f_k: Any = np.zeros(n, np.int64)
    f_g: Any = np.full(n, -1, np.int64)
    f_B: Any = B0c.copy()
    f_v: Any = np.zeros(n)
    f_s: Any = np.ones(n)
    f_id = np.arange(n)
    layers: list[tuple[np.ndarray, np.ndarray]] = []  # per month: (parent id, payment cents)
    expanded = 0
    for t in range(H):
        if f_acc.size == 0:
            break
        F = f_acc.size
        expanded += F
        interest = interest_cents(f_B, rate_units[f_acc])
        owed = f_B + interest
        ead = f_B / 100.0
        col = ctx.collateral[f_acc, t]
        rec = np.minimum(ead, col) + ctx.model.unsecured_recovery * np.maximum(0.0, ead - col)
        capt = cap_c[f_acc, t]
        # ---- clearing payments (end the plan this month) ----
        cur_amt = np.where(f_g >= 0, amt_c[f_acc, np.maximum(f_g, 0)], 0)
        can_clear = (owed <= capt) & ((f_k < K) | (owed <= cur_amt))
        if increasing:
            can_clear &= (f_k < K) | (owed <= cur_amt)
        ci = np.flatnonzero(can_clear)
        if ci.size:
            hc = hazard(ctx, f_acc[ci], (owed[ci] / 100.0)[:, None], np.array([t]))[:, 0]
            vc = f_v[ci] + f_s[ci] * (
                disc[t] * (1 - hc) * owed[ci] / 100.0 + disc_lag[t] * hc * rec[ci]
            )
            # per-account best clear
            order = np.lexsort((-vc, f_acc[ci]))
            first = np.ones(order.size, bool)
            first[1:] = f_acc[ci][order][1:] != f_acc[ci][order][:-1]
            for pos in order[first]:
                i = int(f_acc[ci[pos]])
                if vc[pos] > incumbent[i]:
                    incumbent[i] = vc[pos]
                    inc_path[i] = _backtrack(layers, int(f_id[ci[pos]]), int(owed[ci[pos]]), t)
        if t == H - 1:
            break
        # ---- continuing payments: holiday, same amount, or a new phase ----
        # candidate actions: column 0..G-1 = pay amount g; column G = holiday
        pay = np.concatenate([amt_c[f_acc], np.zeros((F, 1), np.int64)], axis=1)  # (F, G+1)
        gi = np.arange(G + 1)[None, :]
        is_hol = gi == G
        ok = np.where(is_hol, (f_k == 0)[:, None] & (t < holiday_months[f_acc])[:, None], pay > 0)
        ok &= np.where(is_hol, True, pay <= capt[:, None])
        ok &= pay < owed[:, None]
        same = gi == f_g[:, None]
        new_phase = ~is_hol & ~same
        if increasing:
            ok &= ~new_phase | (gi > f_g[:, None])
        ok &= ~new_phase | (f_k < K)[:, None]
        si, ai = np.nonzero(ok)
        if si.size == 0:
            break
        p = pay[si, ai]
        hol = ai == G
        n_k = np.where(hol, 0, f_k[si] + new_phase[si, ai].astype(np.int64))
        n_g = np.where(hol, -1, ai)
        n_B = owed[si] - p
        a_row = f_acc[si]
        h = np.where(hol, h_zero[a_row, t], h_amt[a_row, np.minimum(ai, G - 1), t])
        n_v = f_v[si] + f_s[si] * (disc[t] * (1 - h) * p / 100.0 + disc_lag[t] * h * rec[si])
        n_s = f_s[si] * (1 - h)
        opt = n_v + n_s * bound_at(tables, a_row, t + 1, n_B / 100.0)
        # a state in its last phase pays its amount until the balance is cleared: drop it
        # if that can never clear by the last month (payment not above the interest, or
        # too many months needed) — the bound, which relaxes the phase limit, cannot see this
        last = (n_k >= K) & (n_g >= 0)
        if last.any():
            a_amt = np.where(n_g >= 0, amt_c[a_row, np.maximum(n_g, 0)], 0) / 100.0
            r_m = rate_m[a_row]
            bal = n_B / 100.0
            left = H - 1 - t  # months still available after this one
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(r_m > 0, a_amt / np.maximum(a_amt - bal * r_m, 1e-300), np.inf)
                months_needed = np.where(
                    r_m > 0,
                    np.log(ratio) / np.log1p(r_m),
                    bal / np.maximum(a_amt, 1e-300),
                )
            doomed = last & ((a_amt <= bal * r_m * (1 + 1e-9)) | (months_needed > left + 1 + 1e-6))
            opt = np.where(doomed, -np.inf, opt)
        inc = incumbent[a_row]
        threshold = np.where(np.isfinite(inc), inc + 1e-12 * np.abs(inc), -np.inf)
        keep = opt > threshold
        keep &= np.isfinite(opt)
        idx = np.flatnonzero(keep)
        if idx.size == 0:
            f_acc = np.zeros(0, np.int64)
            break
        si, p, n_k, n_g, n_B, n_v, n_s, opt, a_row = (
            x[idx] for x in (si, p, n_k, n_g, n_B, n_v, n_s, opt, a_row)
        )
        # ---- merge dominated duplicates of the same exact state ----
        # (same account, phases, amount and balance to the cent: the future is the same
        # and scales with survival, so a path with both less value and less survival
        # can be dropped)
        key = _state_key(a_row, n_k, n_g, n_B, K, G)
        order = np.lexsort((-n_s, -n_v, key))
        key_sorted = key[order]
        dup = np.zeros(order.size, bool)
        dup[1:] = key_sorted[1:] == key_sorted[:-1]
        if dup.any():
            drop = np.zeros(order.size, bool)
            starts = np.flatnonzero(~dup)
            ends = np.append(starts[1:], order.size)
            for a, b in zip(starts[(ends - starts) > 1], ends[(ends - starts) > 1], strict=True):
                best_s = n_s[order[a]]
                for pos in range(a + 1, b):
                    s_here = n_s[order[pos]]
                    if s_here <= best_s:
                        drop[pos] = True  # no more value and no more survival
                    else:
                        best_s = s_here
            idx = order[~drop]
            si, p, n_k, n_g, n_B, n_v, n_s, opt, a_row = (
                x[idx] for x in (si, p, n_k, n_g, n_B, n_v, n_s, opt, a_row)
            )
        # ---- beam: keep the best `beam_width` states per account by optimistic value ----
        order = np.lexsort((-opt, a_row))
        a_sorted = a_row[order]
        start = np.searchsorted(a_sorted, a_sorted, side="left")
        rank = np.arange(order.size) - start
        cut = rank >= search.beam_width
        if cut.any():
            np.maximum.at(cut_bound, a_sorted[cut], opt[order][cut])
        sel = order[~cut]
        layers.append((f_id[si[sel]], p[sel]))
        f_acc, f_k, f_g, f_B, f_v, f_s = (
            a_row[sel],
            n_k[sel],
            n_g[sel],
            n_B[sel],
            n_v[sel],
            n_s[sel],
        )
        f_id = np.arange(sel.size)

    out: list[RunSolution] = []
    for i in range(n):
        grid = amounts[i][np.isfinite(amounts[i])]
        if inc_path[i] is None:
            status = "INFEASIBLE" if not np.isfinite(cut_bound[i]) else "FEASIBLE"
            out.append(
                RunSolution(
                    None,
                    status,
                    -np.inf,
                    float(max(cut_bound[i], -np.inf)),
                    np.inf,
                    expanded,
                    float(grid_step[i]),
                    grid,
                )
            )
            continue
        obj = float(incumbent[i])
        if np.isfinite(cut_bound[i]) and cut_bound[i] > obj:
            bound = float(min(cut_bound[i], max(root_bound[i], obj)))
            status = "FEASIBLE"
        else:
            bound = obj
            status = "OPTIMAL"
        gap = (bound - obj) / abs(bound) if bound != 0 else 0.0
        if gap <= 1e-9:
            status, bound, gap = "OPTIMAL", obj, 0.0
        out.append(
            RunSolution(inc_path[i], status, obj, bound, gap, expanded, float(grid_step[i]), grid)
        )
    return out


def _state_key(
    acc: np.ndarray, k: np.ndarray, g: np.ndarray, balance: np.ndarray, K: int, G: int
) -> np.ndarray:
    """One sortable key per exact search state (account, phases, amount, balance in cents)."""
    head = (acc.astype(np.int64) * (K + 2) + k) * (G + 2) + (g + 1)
    if balance.size and (balance.max() >= 2**35 or head.max() >= 2**27):
        # too large to pack: rank the tuples instead (same ordering)
        order = np.lexsort((balance, g, k, acc))
        rank = np.empty(order.size, np.int64)
        sorted_rows = np.stack([acc[order], k[order], g[order], balance[order]])
        new = np.ones(order.size, bool)
        new[1:] = np.any(sorted_rows[:, 1:] != sorted_rows[:, :-1], axis=0)
        rank[order] = np.cumsum(new)
        return rank
    return head * 2**35 + balance


def _backtrack(
    layers: list[tuple[np.ndarray, np.ndarray]], state_id: int, final_cents: int, t: int
) -> np.ndarray:
    """Payments (CNY) of the path ending in state ``state_id`` of month ``t`` plus its clearing payment."""
    pays = [final_cents]
    sid = state_id
    for month in range(t - 1, -1, -1):
        parent, paid = layers[month]
        pays.append(int(paid[sid]))
        sid = int(parent[sid])
    return np.array(pays[::-1], dtype=float) / 100.0


def seed_values(
    ctx: PlanContext,
    seeds: list[list[tuple[np.ndarray, np.ndarray]]],
    amounts: np.ndarray,
    holiday_months: np.ndarray,
    increasing: bool,
) -> list[list[float]]:
    """Model value of each seed schedule that is a feasible path of the family, else −inf.

    A seed is ``(payments, exposures)`` of a cent-exact schedule at the contract rate on
    the account's full balance. It qualifies when its non-final payments are grid
    amounts, its zero months form a leading holiday of at most ``holiday_months``
    months, (for ``step``) its phases never go down, and it passes the policy caps.
    """
    from solver.plan_families import feasible_paths, npv, phases

    rows: list[tuple[int, int]] = []
    pays: list[np.ndarray] = []
    exps: list[np.ndarray] = []
    out: list[list[float]] = [[-np.inf] * len(lst) for lst in seeds]
    for i, lst in enumerate(seeds):
        grid_c = np.round(amounts[i][np.isfinite(amounts[i])] * 100).astype(np.int64)
        for k, (pay, exp) in enumerate(lst):
            cents = np.round(np.asarray(pay, float) * 100).astype(np.int64)
            T = cents.size
            if T == 0 or T > ctx.horizon or abs(float(exp[0]) - float(ctx.balance[i])) > 0.005:
                continue
            body = cents[:-1]
            zeros = np.flatnonzero(body == 0)
            if zeros.size and (zeros.size > holiday_months[i] or zeros[-1] != zeros.size - 1):
                continue
            paid = body[body > 0]
            if not np.isin(paid, grid_c).all():
                continue
            if increasing and paid.size > 1 and np.any(np.diff(paid) < 0):
                continue
            rows.append((i, k))
            pays.append(np.asarray(pay, float))
            exps.append(np.asarray(exp, float))
    if not rows:
        return out
    T = max(p.size for p in pays)
    P = np.zeros((len(rows), T))
    E = np.zeros((len(rows), T))
    term = np.array([p.size for p in pays])
    for r, (p, e) in enumerate(zip(pays, exps, strict=True)):
        P[r, : p.size] = p
        E[r, : e.size] = e
    acc = np.array([i for i, _ in rows])
    ok = feasible_paths(ctx, acc, P, term) & (phases(P, term) <= ctx.policy.max_payment_levels)
    val = npv(ctx, acc, P, E, term)
    for r, (i, k) in enumerate(rows):
        if ok[r]:
            out[i][k] = float(val[r])
    return out
