"""The bound-guided rollout on the free tables, compiled and run for many accounts at once.

:func:`solver.plans.free_bound.rollout` (the session-12 study) builds a free ``custom``
plan forward against the free bound's tables, one account at a time in a Python loop
(about 10 ms an account). :func:`rollouts` does the same for a batch of accounts: the
month loop stays in Python, and every account's states move one month in one compiled
call (:func:`_expand`). Its semantics are the study's:

* balances in cents, with the search's own interest rounding
  (:func:`solver.plans.search.interest_cents`);
* each month a state may take the holiday (a leading, capitalised one only, while
  ``holiday_months`` allows), pay any unit amount within the month's cap and below what
  it owes, or clear (when what it owes is within the cap);
* a child's score is its value so far plus survival × (the month's value + survival ×
  the free table's bound at its next balance); the ``width`` best children of each state,
  then of each account, go on; balances unit payments can no longer clear are pruned
  (``free_bound._clearable_after``); the best cleared plan is kept.

The model is asked, never re-derived: the hazard of every unit amount in every month is
taken from ``ctx.kernel.hazard`` before the loop (months of equal expected income share
one row when the kernel's hazard depends on the month only through the income), the
clearing payments' hazards and the states' recoveries are asked of the kernel month by
month for all accounts at once; the compiled loop only indexes and adds.

Ties between equal scores are broken toward the smaller amount (the study's ``argsort``
leaves them unspecified), so the two may differ in plan on exact ties, never in value.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from solver.core.model import ModelKernel
from solver.core.schedule import CENTS_PER_UNIT
from solver.plans.bound_dp import NEG_CUT
from solver.plans.context import PlanContext, grid_of
from solver.plans.free_bound import FreeBound, _clearable_after
from solver.plans.search import grid_cents, holiday_months, interest_cents

_RATE_SCALE = 10**12


@njit(cache=True)
def _bound_at(V: np.ndarray, w: float, U: float, lo: float, b: float) -> float:
    """:func:`solver.plans.bounds.bound_at` of one balance ``b`` on one month's table row
    ``V`` (the same operations, so the same bits; −inf outside the table)."""
    M = V.size - 1
    xs = (b - lo) / w
    j = 0
    if np.isfinite(xs):  # numpy's cast of NaN/inf gives the smallest integer: clipped to 0
        j = int(np.floor(xs))
        if j < 0:
            j = 0
        elif j > M - 1:
            j = M - 1
    lam = xs - j
    if lam < 0.0:
        lam = 0.0
    elif lam > 1.0:
        lam = 1.0
    v0 = V[j]
    val = v0 + lam * (V[j + 1] - v0)
    if b >= 0.0 and b <= U and val > NEG_CUT:
        return val
    return -np.inf


@njit(cache=True)
def _expand(t, st, acct, tables, best, width):
    """Month ``t`` of every account's rollout: clearing updates ``best``; returns the kept
    children (parent index, payment, account, balance, value, survival, whether paid).

    ``st``: the states grouped by account (account, owed, value, survival, paid,
    recovery, hazard of clearing or NaN); ``acct``: per account the unit amounts (flat
    cents, offsets), their hazards (flat, offsets, the month's row, the holiday's
    hazard), the month's cap × tolerance, holiday months, clearable balances, discounts;
    ``tables``: V, w, U, lo stacked per account; ``best``: value, month, state, final
    payment per account (updated in place)."""
    s_acc, owed, s_val, s_surv, s_paid, rec, h_clear = st
    amt, aoff, hz, hoff, mrow, hz0, capt, hold, reach, disc, dlag = acct
    V, w, U, lo = tables
    b_val, b_month, b_state, b_final = best
    H = V.shape[1]
    F = s_acc.size
    d = disc[t]
    dl = dlag[t]
    # clearing first: an account's pruning compares with its best cleared plan of the month
    for k in range(F):
        h = h_clear[k]
        if np.isnan(h):
            continue
        a = s_acc[k]
        now = d * (1.0 - h) * owed[k] / 100.0 + dl * h * rec[k]
        sc = s_val[k] + s_surv[k] * (now + (1.0 - h) * 0.0)
        if sc > b_val[a]:
            b_val[a], b_month[a], b_state[a], b_final[a] = sc, t, k, owed[k]
    cap_k = F * width
    o_par = np.empty(cap_k, np.int64)
    o_pay = np.empty(cap_k, np.int64)
    o_sc = np.empty(cap_k)
    o_val = np.empty(cap_k)
    o_surv = np.empty(cap_k)
    top_sc = np.empty(width)
    top_i = np.empty(width, np.int64)
    top_p = np.empty(width, np.int64)
    top_v = np.empty(width)
    top_s = np.empty(width)
    out = 0
    k = 0
    while k < F:
        a = s_acc[k]
        first = out
        while k < F and s_acc[k] == a:
            n_top = 0
            G0, G1 = aoff[a], aoff[a + 1]
            G = G1 - G0
            row = hoff[a] + mrow[a, t] * G
            lim = capt[a, t]
            lead = t < hold[a] and not s_paid[k]
            nxt_row = V[a, t + 1] if t + 1 < H else V[a, t]  # the next month's table, read once
            nw, nU, nlo = w[a, t + 1 if t + 1 < H else t], U[a, t + 1 if t + 1 < H else t], lo[a, t + 1 if t + 1 < H else t]
            for g in range(G0 - 1 if lead else G0, G1):
                p = 0 if g < G0 else amt[g]
                if g >= G0 and (p > lim or p >= owed[k]):
                    break  # amounts ascend
                h = hz0[a, t] if g < G0 else hz[row + g - G0]
                now = d * (1.0 - h) * p / 100.0 + dl * h * rec[k]
                nxt = (owed[k] - p) / 100.0
                later = -np.inf
                if t + 1 < H:
                    later = _bound_at(nxt_row, nw, nU, nlo, nxt)
                sc = s_val[k] + s_surv[k] * (now + (1.0 - h) * later)
                if not (np.isfinite(sc) and nxt > 0.0 and nxt <= reach[a, t]):
                    continue
                # insert into the state's top `width` (ties: the earlier, smaller amount first)
                pos = n_top
                while pos > 0 and top_sc[pos - 1] < sc:
                    pos -= 1
                if pos >= width:
                    continue
                last = n_top if n_top < width else width - 1
                for m in range(last, pos, -1):
                    top_sc[m], top_i[m], top_p[m] = top_sc[m - 1], top_i[m - 1], top_p[m - 1]
                    top_v[m], top_s[m] = top_v[m - 1], top_s[m - 1]
                top_sc[pos], top_i[pos], top_p[pos] = sc, k, p
                top_v[pos], top_s[pos] = s_val[k] + s_surv[k] * now, s_surv[k] * (1.0 - h)
                if n_top < width:
                    n_top += 1
            for m in range(n_top):
                o_sc[out], o_par[out], o_pay[out] = top_sc[m], top_i[m], top_p[m]
                o_val[out], o_surv[out] = top_v[m], top_s[m]
                out += 1
            k += 1
        # the account's `width` best children (stable), those still able to beat its best
        order = np.argsort(-o_sc[first:out], kind="mergesort")
        kept = 0
        while kept < min(width, out - first) and o_sc[first + order[kept]] > b_val[a]:
            kept += 1
        blocks = (o_par[first:out].copy(), o_pay[first:out].copy(),
                  o_val[first:out].copy(), o_surv[first:out].copy())  # fmt: skip
        for m in range(kept):
            r = order[m]
            o_par[first + m], o_pay[first + m] = blocks[0][r], blocks[1][r]
            o_val[first + m], o_surv[first + m] = blocks[2][r], blocks[3][r]
        out = first + kept
    k_acc = s_acc[o_par[:out]]
    k_bal = owed[o_par[:out]] - o_pay[:out]
    k_paid = s_paid[o_par[:out]] | (o_pay[:out] > 0)
    return o_par[:out], o_pay[:out], k_acc, k_bal, o_val[:out], o_surv[:out], k_paid


def _month_rows(kernel: ModelKernel, rows: np.ndarray) -> np.ndarray:
    """Per account and month index (n, H), the row of the unit-amount hazards it reads.

    The default kernel's hazard depends on the month only through the expected income
    (``mu`` and, for the degenerate accounts, ``income``), so months of equal income
    share a row; a kernel with its own hazard, afford or hazard curve gets a row a month.
    """
    H = kernel.horizon
    own = (
        type(kernel).hazard is not ModelKernel.hazard
        or type(kernel).afford is not ModelKernel.afford
        or type(kernel).hazard_of_afford is not ModelKernel.hazard_of_afford
    )
    out = np.empty((rows.size, H), np.int64)
    for k, i in enumerate(rows.tolist()):
        if own:
            out[k] = np.arange(H)
            continue
        out[k] = np.unique(kernel.income[i], return_inverse=True)[1]
    return out


def _unit_hazards(
    ctx: PlanContext, rows: np.ndarray, amt_c: list[np.ndarray], mrow: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's hazard of every unit amount in each distinct month row, flat, and each
    account's offset into it (one kernel call for the batch)."""
    rr, cc, pp, offs = [], [], [], np.zeros(rows.size, np.int64)
    pos = 0
    for k, i in enumerate(rows.tolist()):
        D = int(mrow[k].max()) + 1 if mrow.shape[1] else 0
        month = np.array([int(np.argmax(mrow[k] == r)) for r in range(D)], np.int64)
        G = amt_c[k].size
        offs[k] = pos
        rr.append(np.full(D * G, i, np.int64))
        cc.append(np.repeat(month, G))
        pp.append(np.tile(amt_c[k], D) / CENTS_PER_UNIT)
        pos += D * G
    if pos == 0:
        return np.zeros(0), offs
    hz = ctx.kernel.hazard(np.concatenate(rr), np.concatenate(pp), np.concatenate(cc))
    return np.ascontiguousarray(hz, dtype=float), offs


def rollouts(
    ctx: PlanContext, rows: np.ndarray, free: FreeBound, width: int = 1
) -> list[np.ndarray | None]:
    """The free plan of each account ``rows[k]`` of ``ctx`` built forward against its free
    tables ``free.tables[k]`` (``free``: :func:`solver.plans.free_bound.free_bounds` of
    ``ctx.take(rows)``): payments in currency units, ``None`` where no plan clears by the
    horizon or the free bound is −inf. The plans of
    :func:`solver.plans.free_bound.rollout`, ``width`` states kept per account."""
    rows = np.asarray(rows, np.int64)
    n, H = rows.size, ctx.horizon
    live_k = [k for k in range(n) if np.isfinite(free.bound[k])]
    out: list[np.ndarray | None] = [None] * n
    if not live_k or H == 0:
        return out
    lk = np.array(live_k, np.int64)
    glob = rows[lk]
    sub = ctx.take(glob)
    m = lk.size
    amt_c = [np.round(free.grids[k] * CENTS_PER_UNIT).astype(np.int64) for k in live_k]
    aoff = np.zeros(m + 1, np.int64)
    aoff[1:] = np.cumsum([a.size for a in amt_c])
    mrow = _month_rows(ctx.kernel, glob)
    hz, hoff = _unit_hazards(ctx, glob, amt_c, mrow)
    hz0 = ctx.kernel.hazard(glob[:, None], np.zeros((m, H)), np.arange(H)[None, :])
    capt = sub.cap * (CENTS_PER_UNIT * (1 + 1e-9))
    reach = np.stack([_clearable_after(sub.take(np.array([k]))) for k in range(m)])
    V = np.concatenate([free.tables[k][0] for k in live_k])
    w, U, lo = (np.concatenate([free.tables[k][j] for k in live_k]) for j in (1, 2, 3))
    amt = np.concatenate(amt_c) if aoff[-1] else np.zeros(0, np.int64)
    acct = (amt, aoff, hz, hoff, mrow, hz0, capt, holiday_months(sub).astype(np.int64),
            reach, np.asarray(sub.discount, float), np.asarray(sub.discount_lag, float))  # fmt: skip
    tables = (V, w, U, lo)
    on = CENTS_PER_UNIT // grid_of(ctx)
    rate = np.round(sub.fields["annual_rate"].astype(float) * _RATE_SCALE).astype(np.int64)
    best = (np.full(m, -np.inf), np.full(m, -1, np.int64), np.full(m, -1, np.int64),
            np.zeros(m, np.int64))  # fmt: skip
    s_acc = np.arange(m, dtype=np.int64)
    s_bal = grid_cents(sub.balance, grid_of(ctx)).astype(np.int64)
    s_val, s_surv, s_paid = np.zeros(m), np.ones(m), np.zeros(m, bool)
    history: list[tuple[np.ndarray, np.ndarray]] = []  # per month: parents, payments
    for t in range(H):
        if s_acc.size == 0:
            break
        owed = s_bal + interest_cents(s_bal // on, rate[s_acc]) * on
        rec = ctx.kernel.recovery(glob[s_acc], s_bal / CENTS_PER_UNIT, t)
        h_clear = np.full(s_acc.size, np.nan)
        clear = owed <= capt[s_acc, t]
        if clear.any():
            h_clear[clear] = ctx.kernel.hazard(glob[s_acc[clear]], owed[clear] / CENTS_PER_UNIT, t)
        st = (s_acc, owed, s_val, s_surv, s_paid, np.asarray(rec, float), h_clear)
        par, pay, s_acc, s_bal, s_val, s_surv, s_paid = _expand(t, st, acct, tables, best, width)
        history.append((par, pay))
    _, b_month, b_state, b_final = best
    for j, k in enumerate(live_k):
        if b_month[j] < 0:
            continue
        path = [int(b_final[j])]
        state = int(b_state[j])
        for t in range(int(b_month[j]) - 1, -1, -1):
            par, pay = history[t]
            path.append(int(pay[state]))
            state = int(par[state])
        out[k] = np.array(path[::-1], float) / CENTS_PER_UNIT
    return out
