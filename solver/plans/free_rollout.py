"""The bound-guided rollout on the free tables, compiled and run for many accounts at once.

:func:`solver.plans.free_bound.rollout` (the session-12 study) builds a free ``custom``
plan forward against the free bound's tables, one account at a time in a Python loop
(about 10 ms an account). :func:`rollouts` does the same for a batch of accounts: the
month loop stays in Python, and every account's states move one month in one compiled
call (:func:`_expand`). Its semantics are the study's:

* balances in cents, with the search's own interest rounding
  (:func:`solver.plans.search.interest_cents`);
* each month a state may go without payment (a capitalised holiday month: on the tables
  of :func:`~solver.plans.free_bound.free_bounds` only as a leading holiday while
  ``holiday_months`` allows, on those of :func:`~solver.plans.free_bound.holiday_bounds`
  anywhere while its run of such months is shorter than ``max_deferral_months``, reading
  the table of its run length; :func:`~solver.plans.free_bound.run_rule`), pay any unit
  amount within the month's cap and below what it owes, or clear (when what it owes is
  within the cap);
* a child's score is its value so far plus survival × (the month's value + survival ×
  the free table's bound at its next balance); the ``width`` best children of each state,
  then of each account, go on; balances unit payments can no longer clear are pruned
  (``free_bound._clearable_after``, where a month may pass without payment when
  holidays may fall anywhere); the best cleared plan is kept.

The block pruning stays exact with holidays: a block's bound reads the table a payment
leads to (run length 0), the one every unit amount's child reads.

Most unit amounts need no score: each state's amounts go in blocks, and a block whose
exact upper bound cannot beat the state's best child so far is skipped
(:func:`_state_children`); the plans are the same (tests/test_free_rollout.py).

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
from solver.plans.free_bound import FreeBound, _clearable_after, run_rule
from solver.plans.search import grid_cents, holiday_months, interest_cents

_RATE_SCALE = 10**12


#: Unit amounts per block, and blocks per superblock, of the rollout's pruning
#: (:func:`_state_children`).
BLOCK = 16
SUPER = 16


@njit(cache=True)
def _interp(V: np.ndarray, w: float, lo: float, b: float) -> float:
    """The table row ``V`` at balance ``b`` as :func:`solver.plans.bounds.bound_at` reads
    it before its range test: node index and weight clipped (the same operations)."""
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
    return v0 + lam * (V[j + 1] - v0)


@njit(cache=True)
def _bound_at(V: np.ndarray, w: float, U: float, lo: float, b: float) -> float:
    """:func:`solver.plans.bounds.bound_at` of one balance ``b`` on one month's table row
    (the same operations, so the same bits; −inf outside the table)."""
    val = _interp(V, w, lo, b)
    if b >= 0.0 and b <= U and val > NEG_CUT:
        return val
    return -np.inf


@njit(cache=True)
def _block_max(V, w, U, lo, ow, p0, p1, d):
    """The largest ``d·p/100 + bound(balance ow − p)`` over payments ``p`` in ``[p0, p1]``
    cents (−inf if no balance of them is in the table): piecewise linear in ``p``, so the
    ends of the range in the table and the nodes between them."""
    c0 = (ow - p1) / 100.0
    c1 = (ow - p0) / 100.0
    if c0 < 0.0:
        c0 = 0.0
    if c1 > U:
        c1 = U
    if not c0 <= c1:
        return -np.inf
    best = max(
        d * (ow / 100.0 - c0) + _interp(V, w, lo, c0), d * (ow / 100.0 - c1) + _interp(V, w, lo, c1)
    )
    x0, x1 = (c0 - lo) / w, (c1 - lo) / w
    if np.isfinite(x0) and np.isfinite(x1):
        M = V.size - 1
        for j in range(max(int(np.ceil(x0)), 0), min(int(np.floor(x1)), M) + 1):
            y = d * (ow / 100.0 - (lo + j * w)) + V[j]
            if y > best:
                best = y
    return best if best > NEG_CUT else -np.inf


@njit(cache=True)
def _grow(v, s, p, h, rec, d, dl, later):
    """A child's score, value and survival after paying ``p`` cents with hazard ``h``
    (the study's arithmetic, in its order): value + survival × (the month's value +
    survival × ``later``)."""
    now = d * (1.0 - h) * p / 100.0 + dl * h * rec
    return v + s * (now + (1.0 - h) * later), v + s * now, s * (1.0 - h)


@njit(cache=True)
def _insert(top_sc, top_p, top_v, top_s, n_top, sc, p, v, s):
    """Put a child into a state's best ``top_sc.size`` (score descending; on equal scores
    the smaller payment first); returns the new count."""
    width = top_sc.size
    pos = n_top
    while pos > 0 and (top_sc[pos - 1] < sc or (top_sc[pos - 1] == sc and top_p[pos - 1] > p)):
        pos -= 1
    if pos >= width:
        return n_top
    for m in range(min(n_top, width - 1), pos, -1):
        top_sc[m], top_p[m], top_v[m], top_s[m] = (
            top_sc[m - 1],
            top_p[m - 1],
            top_v[m - 1],
            top_s[m - 1],
        )
    top_sc[pos], top_p[pos], top_v[pos], top_s[pos] = sc, p, v, s
    return min(n_top + 1, width)


@njit(cache=True)
def _bar(top_sc, n_top, floor):
    """What a child must beat: the account's best cleared plan, and the worst of the
    state's kept children once there are as many as kept."""
    if n_top == top_sc.size and top_sc[n_top - 1] > floor:
        return top_sc[n_top - 1]
    return floor


@njit(cache=True)
def _span_bound(me, amt, row, j0, j1, h0):
    """Upper bound on the score of the state's amounts ``j0 … j1 − 1`` (offsets among the
    affordable ones, clipped to them; ``h0``: their least hazard), with a margin for float
    rounding; −inf if none can be kept. A child's score is value + survival ×
    ((1 − h)(δ p + bound at the balance left) + δ_L h R): δ p + bound is piecewise
    linear in p (largest at the span's ends or a table node), and (1 − h) g + h·rr =
    g − h (g − rr) is at most (1 − h0) g + h0·rr where g ≥ rr, else rr."""
    v, s, r, d, dl, ow, reach_t, G0, lo_g, _, _, _ = me
    g0 = G0 + j0
    g1 = min(G0 + j1, lo_g) - 1
    if (ow - amt[g1]) / 100.0 > reach_t:
        return -np.inf
    most = _block_max(row[0], row[1], row[2], row[3], ow, amt[g0], amt[g1], d)
    rr = dl * r
    x = v + s * max((1.0 - h0) * most + h0 * rr, rr)
    return x + 1e-9 * (abs(x) + 1.0) if np.isfinite(x) else -np.inf


@njit(cache=True)
def _state_children(k, t, st, acct, tables, floor, top):
    """The best children of state ``k`` in month ``t`` into ``top`` (scores, payments,
    values, survivals); returns how many. Children not above ``floor`` (the account's
    best cleared plan) are not wanted.

    Every unit amount's exact score is what counts, but most amounts need not be scored:
    the amounts go in blocks of :data:`BLOCK` and superblocks of :data:`SUPER` blocks, and
    a (super)block whose upper bound (:func:`_span_bound`) cannot beat what a child must
    (:func:`_bar`) is skipped, the one of the best bound taken first.
    """
    s_acc, owed, s_val, s_surv, s_run, rec, _ = st
    amt, aoff, hz, hoff, mrow, hz0, capt, hold, reach, disc, dlag, bmin, boff, _, toff, ntab = acct
    V, w, U, lo = tables
    top_sc, top_p, top_v, top_s = top
    a = s_acc[k]
    H = V.shape[1]
    d, dl = disc[t], dlag[t]
    v, s, r, ow = s_val[k], s_surv[k], rec[k], owed[k]
    tn = t + 1 if t + 1 < H else t  # the next month's table (unused in the last month)
    ta = toff[a]  # a payment's next table: run length 0
    nV, nw, nU, nlo = V[ta, tn], w[ta, tn], U[ta, tn], lo[ta, tn]
    n_top = 0
    if s_run[k] < hold[a]:  # a month without payment: the run's next table
        tz = toff[a] + min(s_run[k] + 1, ntab[a] - 1)
        later = (
            _bound_at(V[tz, tn], w[tz, tn], U[tz, tn], lo[tz, tn], ow / 100.0)
            if t + 1 < H
            else -np.inf
        )
        sc, cv, cs = _grow(v, s, 0, hz0[a, t], r, d, dl, later)
        if np.isfinite(sc) and ow / 100.0 > 0.0 and ow / 100.0 <= reach[a, t]:
            n_top = _insert(top_sc, top_p, top_v, top_s, n_top, sc, 0, cv, cs)
    if t + 1 >= H:
        return n_top  # an amount that does not clear leaves a balance no table bounds
    G0, G1 = aoff[a], aoff[a + 1]
    lim = capt[a, t]
    lo_g, hi_g = G0, G1  # the amounts within the cap and below what is owed: a prefix
    while lo_g < hi_g:
        mid = (lo_g + hi_g) // 2
        if amt[mid] <= lim and amt[mid] < ow:
            lo_g = mid + 1
        else:
            hi_g = mid
    nb = (lo_g - G0 + BLOCK - 1) // BLOCK
    if nb == 0:
        return n_top
    row = hoff[a] + mrow[a, t] * (G1 - G0)
    brow = boff[a] + mrow[a, t] * ((G1 - G0 + BLOCK - 1) // BLOCK)
    me = (v, s, r, d, dl, ow, reach[a, t], G0, lo_g, row, brow, floor)
    # superblocks of SUPER blocks first: their bounds are looser but skip far amounts
    nq = (nb + SUPER - 1) // SUPER
    ubq = np.empty(nq)
    for q in range(nq):
        h0 = bmin[brow + q * SUPER]
        for b in range(q * SUPER + 1, min((q + 1) * SUPER, nb)):
            h0 = min(h0, bmin[brow + b])
        ubq[q] = _span_bound(
            me, amt, (nV, nw, nU, nlo), q * SUPER * BLOCK, (q + 1) * SUPER * BLOCK, h0
        )
    top_q = int(np.argmax(ubq))
    ub = np.empty(SUPER)
    for m in range(-1, nq):
        q = top_q if m < 0 else m
        if m == top_q or not ubq[q] >= _bar(top_sc, n_top, floor):
            continue
        b0, b1 = q * SUPER, min((q + 1) * SUPER, nb)
        for b in range(b0, b1):
            ub[b - b0] = _span_bound(
                me, amt, (nV, nw, nU, nlo), b * BLOCK, (b + 1) * BLOCK, bmin[brow + b]
            )
        # the block of the best bound first (a good first child raises the bar), then the
        # others in order, each only if its bound reaches the bar (no sort: a pass each)
        top_b = int(np.argmax(ub[: b1 - b0]))
        for mm in range(-1, b1 - b0):
            b = top_b if mm < 0 else mm
            if mm == top_b or not ub[b] >= _bar(top_sc, n_top, floor):
                continue
            for g in range(G0 + (b0 + b) * BLOCK, min(G0 + (b0 + b + 1) * BLOCK, lo_g)):
                p = amt[g]
                nxt = (ow - p) / 100.0
                later = _bound_at(nV, nw, nU, nlo, nxt)
                sc, cv, cs = _grow(v, s, p, hz[row + g - G0], r, d, dl, later)
                if np.isfinite(sc) and nxt > 0.0 and nxt <= reach[a, t]:
                    n_top = _insert(top_sc, top_p, top_v, top_s, n_top, sc, p, cv, cs)
    return n_top


@njit(cache=True)
def _expand(t, st, acct, tables, best, width):
    """Month ``t`` of every account's rollout: clearing updates ``best``; returns the kept
    children (parent index, payment, account, balance, value, survival, whether paid).

    ``st``: the states grouped by account (account, owed, value, survival, months
    without payment in a row (:func:`rollouts`), recovery, hazard of clearing or NaN);
    ``acct``: per account the unit amounts (flat cents, offsets), their hazards (flat,
    offsets, the month's row, the holiday's hazard), the month's cap × tolerance, the
    longest holiday run, clearable balances, discounts, the hazards' least per block
    (flat, offsets), the run after a payment, the first table and the number of tables;
    ``tables``: V, w, U, lo stacked per account (one row per run length tracked);
    ``best``: value, month, state, final payment per account (updated in place)."""
    s_acc, owed, s_val, s_surv, s_run, rec, h_clear = st
    disc, dlag = acct[9], acct[10]
    b_val, b_month, b_state, b_final = best
    F = s_acc.size
    # clearing first: an account's pruning compares with its best cleared plan of the month
    for k in range(F):
        if np.isnan(h_clear[k]):
            continue
        a = s_acc[k]
        sc = _grow(s_val[k], s_surv[k], owed[k], h_clear[k], rec[k], disc[t], dlag[t], 0.0)[0]
        if sc > b_val[a]:
            b_val[a], b_month[a], b_state[a], b_final[a] = sc, t, k, owed[k]
    o_par = np.empty(F * width, np.int64)
    o_pay = np.empty(F * width, np.int64)
    o_sc = np.empty(F * width)
    o_val = np.empty(F * width)
    o_surv = np.empty(F * width)
    top = (np.empty(width), np.empty(width, np.int64), np.empty(width), np.empty(width))
    out = 0
    k = 0
    while k < F:
        a = s_acc[k]
        first = out
        while k < F and s_acc[k] == a:
            n_top = _state_children(k, t, st, acct, tables, b_val[a], top)
            for m in range(n_top):
                o_sc[out], o_par[out], o_pay[out] = top[0][m], k, top[1][m]
                o_val[out], o_surv[out] = top[2][m], top[3][m]
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
    k_run = np.where(o_pay[:out] > 0, acct[13][k_acc], s_run[o_par[:out]] + 1)
    return o_par[:out], o_pay[:out], k_acc, k_bal, o_val[:out], o_surv[:out], k_run


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
    ctx: PlanContext,
    rows: np.ndarray,
    amt_c: list[np.ndarray],
    mrow: np.ndarray,
    capt: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's hazard of every unit amount in each distinct month row (NaN above the
    largest cap of the row's months: never paid), flat, and each account's offset into
    it (one kernel call for the batch)."""
    rr, cc, pp, at, offs = [], [], [], [], np.zeros(rows.size, np.int64)
    pos = 0
    for k, i in enumerate(rows.tolist()):
        D = int(mrow[k].max()) + 1 if mrow.shape[1] else 0
        G = amt_c[k].size
        offs[k] = pos
        for r in range(D):
            months = np.flatnonzero(mrow[k] == r)
            count = int(np.searchsorted(amt_c[k], capt[k, months].max(), side="right"))
            rr.append(np.full(count, i, np.int64))
            cc.append(np.full(count, months[0], np.int64))
            pp.append(amt_c[k][:count] / CENTS_PER_UNIT)
            at.append(pos + r * G + np.arange(count))
        pos += D * G
    hz = np.full(pos, np.nan)
    if rr:
        hz[np.concatenate(at)] = ctx.kernel.hazard(
            np.concatenate(rr), np.concatenate(pp), np.concatenate(cc)
        )
    return hz, offs


def _block_hazards(
    hz: np.ndarray, hoff: np.ndarray, sizes: list[int], mrow: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The least hazard of each :data:`BLOCK` of unit amounts, per account and month row
    (ignoring the NaN of amounts above the row's caps), flat, and each account's offset
    (the pruning's bound on a block)."""
    lows, offs = [], np.zeros(len(sizes), np.int64)
    pos = 0
    for k, G in enumerate(sizes):
        offs[k] = pos
        if G == 0:
            continue
        D = int(mrow[k].max()) + 1
        starts = np.arange(0, G, BLOCK)
        lows.append(
            np.fmin.reduceat(hz[hoff[k] : hoff[k] + D * G].reshape(D, G), starts, axis=1).ravel()
        )
        pos += D * starts.size
    return (np.concatenate(lows) if lows else np.zeros(0)), offs


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
    capt = sub.cap * (CENTS_PER_UNIT * (1 + 1e-9))
    hz, hoff = _unit_hazards(ctx, glob, amt_c, mrow, capt)
    bmin, boff = _block_hazards(hz, hoff, [a.size for a in amt_c], mrow)
    hz0 = ctx.kernel.hazard(glob[:, None], np.zeros((m, H)), np.arange(H)[None, :])
    hold, after_pay, ntab = run_rule(free, live_k, holiday_months(sub))
    skip = (ntab > 1).tolist()  # a holiday may fall anywhere: months without payment pass
    reach = np.stack([_clearable_after(sub.take(np.array([k])), skip[k]) for k in range(m)])
    toff = np.concatenate([[0], np.cumsum(ntab)[:-1]]).astype(np.int64)
    V = np.concatenate([free.tables[k][0] for k in live_k])
    w, U, lo = (np.concatenate([free.tables[k][j] for k in live_k]) for j in (1, 2, 3))
    amt = np.concatenate(amt_c) if aoff[-1] else np.zeros(0, np.int64)
    acct = (amt, aoff, hz, hoff, mrow, hz0, capt, hold, reach, np.asarray(sub.discount, float),
            np.asarray(sub.discount_lag, float), bmin, boff, after_pay, toff, ntab)  # fmt: skip
    tables = (V, w, U, lo)
    on = CENTS_PER_UNIT // grid_of(ctx)
    rate = np.round(sub.fields["annual_rate"].astype(float) * _RATE_SCALE).astype(np.int64)
    best = (np.full(m, -np.inf), np.full(m, -1, np.int64), np.full(m, -1, np.int64),
            np.zeros(m, np.int64))  # fmt: skip
    s_acc = np.arange(m, dtype=np.int64)
    s_bal = grid_cents(sub.balance, grid_of(ctx)).astype(np.int64)
    s_val, s_surv, s_run = np.zeros(m), np.ones(m), np.zeros(m, np.int64)
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
        st = (s_acc, owed, s_val, s_surv, s_run, np.asarray(rec, float), h_clear)
        par, pay, s_acc, s_bal, s_val, s_surv, s_run = _expand(t, st, acct, tables, best, width)
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
