"""The month-by-month arithmetic of the level-family scoring, compiled (issue 13: speed).

:func:`solver.plans.scoring._score_lean` values thousands of level plans per account. What
needs the behaviour model (the hazards of the level payment in each distinct income month,
of the holiday months and of the clearing payment; the recovery at each exposure) is asked
of the model kernel, vectorised, in :mod:`solver.plans.scoring`; the transcendental
functions (the growth factors ``g^t``) are numpy's too. What is left is plain arithmetic over
(plan, month) — the exposures in closed form, the survival factors spread over the months,
their running product, the expected payments and recoveries — done here in one pass per
plan instead of a dozen (C, W) temporaries.

The arithmetic is the vectorised version's, operation for operation: the same float64
operations in the same order, and row sums by :func:`pairwise_sum`, numpy's summation
order for a row of a contiguous array. The values are therefore bit for bit those of the
vectorised code (``tests/test_level_value.py`` checks it against a numpy reference on
random inputs). A plan's value depends on the other plans of its batch only through its
chunk's holiday span ``dm`` (:func:`chunk_holiday`), the length of the holiday sum: its
zeros past the plan's own holiday change the summation order only from 8 months on
(below that :func:`pairwise_sum` adds in order), beyond the default policy's 6; kept so
that the values stay those of the vectorised code.

Helpers called once per plan take scalars, not the plan table: passing an array to a
compiled function costs its reference counting on every call (about half the kernel's
time when the nine columns were passed to the exposure helper).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from solver.core.model import recovery_at_jit
from solver.plans.level_prep import Plans


@njit(cache=True)
def pairwise_sum(a: np.ndarray, n: int) -> float:
    """``a[:n].sum()`` in numpy's order (pairwise, eight accumulators per block of 128)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    if n <= 128:
        r0, r1, r2, r3 = a[0], a[1], a[2], a[3]
        r4, r5, r6, r7 = a[4], a[5], a[6], a[7]
        i = 8
        stop = n - (n % 8)
        while i < stop:
            r0 += a[i]
            r1 += a[i + 1]
            r2 += a[i + 2]
            r3 += a[i + 3]
            r4 += a[i + 4]
            r5 += a[i + 5]
            r6 += a[i + 6]
            r7 += a[i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return pairwise_sum(a[:n2], n2) + pairwise_sum(a[n2:], n - n2)


_recovery_at = recovery_at_jit()  # the model's one compiled recovery


@njit(cache=True)
def chunk_holiday(
    rows: np.ndarray, lo: int, hi: int, deferral: np.ndarray, balloon: np.ndarray, W: int
) -> tuple[int, bool]:
    """Of the plans ``rows[lo:hi]`` (columns by candidate): the holiday months the chunk
    spans, ``dm`` (its longest holiday, at most ``W``), and whether any has a balloon."""
    dm = 0
    add_balloon = False
    for j in range(lo, hi):
        c = rows[j]
        dm = max(dm, deferral[c])
        add_balloon = add_balloon or balloon[c] != 0.0
    return min(dm, W), add_balloon


@njit(cache=True)
def _exposures(
    growth: np.ndarray,
    u: int,
    shrink_d: float,
    D: int,
    r: float,
    b_d: float,
    p: float,
    b0: float,
    mode: int,
    holiday: int,
    add_balloon: bool,
    balloon: float,
    out: np.ndarray,
    W: int,
) -> None:
    """One plan's exposures (months 0…W−1) into ``out`` (:func:`level_exposures`):
    ``growth[u]`` is its rate's ``g^t`` and ``shrink_d`` its ``g^-D``; monthly rate ``r``,
    B_D, P, B, mode; ``holiday`` months of holiday exposures, ``balloon`` added when
    ``add_balloon``."""
    if r > 0:
        # the level balance B_D·g^k − P·(g^k − 1)/r (k = t − D) as α·g^t + β
        beta = p * (1.0 / r)
        alpha = (b_d - beta) * shrink_d
        for t in range(W):
            out[t] = growth[u, t] * alpha + beta
    else:
        for t in range(W):
            out[t] = b_d - p * (float(t) - float(D))
    for t in range(holiday):
        out[t] = b0 * growth[u, t] if mode == 0 else b0
    if add_balloon:
        for t in range(W):
            out[t] += balloon


@njit(cache=True)
def level_exposures(
    rows: np.ndarray,
    lo: int,
    hi: int,
    W: int,
    plans: Plans,
    rate_index: np.ndarray,
    growth: np.ndarray,
    shrink: np.ndarray,
) -> np.ndarray:
    """Exposures (hi − lo, W) of the level plans ``rows[lo:hi]`` (one chunk).

    ``rows`` index ``plans`` (:data:`~solver.plans.level_prep.Plans`); ``rate_index``
    by position in ``rows``: the row of ``growth`` (``g^t``,
    t < H) and ``shrink`` (``g^-d``) of the plan's rate. Level months
    ``B_D·g^k − P·(g^k − 1)/r`` (k = t − D) as ``α·g^t + β`` (``α = (B_D − β)·g^−D``,
    ``β = P/r``), at a zero rate ``B_D − P·(t − D)``; the first ``min(D, dm)`` months
    are the holiday (``B·g^t`` capitalised, mode 0, else ``B``); the balloon on top when
    any plan of the chunk has one (:func:`chunk_holiday`).
    """
    _, balance, rate, deferral, mode, _, balloon, B_D, P = plans
    dm, add_balloon = chunk_holiday(rows, lo, hi, deferral, balloon, W)
    out = np.empty((hi - lo, W))
    for j in range(lo, hi):
        c, u = rows[j], rate_index[j]
        D = deferral[c]
        _exposures(
            growth, u, shrink[u, D], D, rate[c] / 12.0, B_D[c], P[c], balance[c], mode[c],
            min(dm, D), add_balloon, balloon[c], out[j - lo], W,
        )  # fmt: skip
    return out


@njit(cache=True)
def level_values_inline(
    rows: np.ndarray,
    chunks: np.ndarray,
    plans: Plans,
    rate_index: np.ndarray,
    q_start: np.ndarray,
    st: np.ndarray,
    final: np.ndarray,
    q_last: np.ndarray,
    growth: np.ndarray,
    shrink: np.ndarray,
    q_level: np.ndarray,
    q_holiday: np.ndarray,
    collateral: np.ndarray,
    rho: float,
    rec_given: np.ndarray,
    disc: np.ndarray,
    disc_lag: np.ndarray,
    cum_disc: np.ndarray,
    out: np.ndarray,
) -> None:
    """Expected-recovery NPV of level plans into ``out``: the exposures
    (:func:`level_exposures`), the model's recovery and the value in one pass per plan,
    without (C, W) arrays.

    The plans are ``rows`` of ``plans`` (as :func:`level_exposures`), in chunks
    ``chunks[k] = (W, lo, hi)`` valued over months 0…W−1 (a chunk's ``dm`` and balloon
    flag from :func:`chunk_holiday`). By position in ``rows``: ``rate_index``, the start
    of the plan's factors in ``q_level`` and its steady month ``st``, the clearing
    payment ``final`` and its survival factor ``q_last``. Survival factor of month t < T:
    ``q_level[q_start + min(t, st)]`` (the level payment in each distinct income month),
    in the first ``min(D, dm)`` months ``q_holiday[mode == 1, account, t]``, in the last
    month ``q_last``; 1 past the term. The recovery is
    :func:`solver.core.model.recovery_at` of the exposure with ``collateral`` (n, H) ``C_t``
    by account and ``rho`` (``ModelKernel.recovery_table``) -- or, for a kernel with its
    own recovery, ``rec_given`` (hi − lo, W) (one chunk; empty otherwise). The value is
    the discounted payments while alive (P in the level months, the interest-only payment
    ``B·r`` in the holiday, the clearing payment last) plus the discounted recoveries on
    default.
    """
    acc, balance, rate, deferral, mode, term, balloon, B_D, P = plans
    width = 1
    for k in range(chunks.shape[0]):
        width = max(width, chunks[k, 0])
    rec = np.empty(width)
    q = np.empty(width)
    paid = np.empty(width)
    buf = np.empty(width)
    hol_buf = np.empty(width)
    for k in range(chunks.shape[0]):
        W, lo, hi = chunks[k, 0], chunks[k, 1], chunks[k, 2]
        dm, add_balloon = chunk_holiday(rows, lo, hi, deferral, balloon, W)
        for j in range(lo, hi):
            c = rows[j]
            if rec_given.shape[0] > 0:
                for t in range(W):
                    rec[t] = rec_given[j - lo, t]
            else:
                u, D = rate_index[j], deferral[c]
                _exposures(
                    growth, u, shrink[u, D], D, rate[c] / 12.0, B_D[c], P[c], balance[c],
                    mode[c], min(dm, D), add_balloon, balloon[c], rec, W,
                )  # fmt: skip
                a = acc[c]
                for t in range(W):
                    rec[t] = _recovery_at(rec[t], collateral[a, t], rho)
            T, D = term[c], deferral[c]
            # the survival factor q of each month: the holiday's (paying 0 or the interest),
            # the level payment's in its income month (flat from the steady one on), the
            # last month's own, 1 past the term
            which = 1 if mode[c] == 1 else 0
            holiday = min(dm, D)
            last = T - 1
            for t in range(holiday):
                q[t] = q_holiday[which, acc[c], t]
            base = q_start[j]
            spread = min(st[j] + 1, last)  # the distinct income months
            for t in range(holiday, spread):
                q[t] = q_level[base + t]
            steady = q_level[base + st[j]]
            for t in range(max(holiday, spread), last):
                q[t] = steady
            q[last] = q_last[j]
            for t in range(last + 1, W):
                q[t] = 1.0
            # the survival S_t (a running product; S_{-1} = 1, and q = 1 past the term, so
            # S ends at S_{T-1}), the expected recovery δ^(t+L)·R_t·(S_{t-1} − S_t) and the
            # paid weight S_t·δ^t -- each the same operations as month-by-month passes
            s = 1.0
            for t in range(W):
                s_prev = s
                s = s_prev * q[t]
                buf[t] = (rec[t] * (s_prev - s)) * disc_lag[t]
                paid[t] = s * disc[t]
            pv_rec = 0.0 + pairwise_sum(buf, W)
            total = 0.0 + pairwise_sum(paid, W)
            # past the term S is flat: the level sum is the row sum less S_{T-1}·Σ_{T-1 ≤ t < W} δ^t
            level_sum = total - s * (cum_disc[W] - cum_disc[last])
            pv_pay = P[c] * level_sum + final[j] * paid[last]
            if dm > 0:
                for t in range(dm):
                    hol_buf[t] = paid[t] if t < D else 0.0
                io_amt = balance[c] * (rate[c] / 12.0) if mode[c] == 1 else 0.0
                pv_pay += (io_amt - P[c]) * (0.0 + pairwise_sum(hol_buf, dm))
            out[j] = pv_pay + pv_rec


@njit(cache=True)
def best_rows(acc: np.ndarray, value: np.ndarray, n_acc: int, k: int) -> tuple[np.ndarray, ...]:
    """The ``k`` best finite-valued rows of each account, best first (ties: the earlier
    row): ``top`` (n_acc, k) row indices and ``count`` (n_acc,) of them per account."""
    top = np.empty((n_acc, k), np.int64)
    count = np.zeros(n_acc, np.int64)
    for r in range(acc.size):
        v = value[r]
        if not np.isfinite(v):
            continue
        a = acc[r]
        c = count[a]
        if c == k and not v > value[top[a, k - 1]]:
            continue
        # insert after every row at least as good (earlier rows win ties)
        pos = c if c < k else k - 1
        while pos > 0 and v > value[top[a, pos - 1]]:
            top[a, pos] = top[a, pos - 1]
            pos -= 1
        top[a, pos] = r
        if c < k:
            count[a] = c + 1
    return top, count


@njit(cache=True)
def level_prefilter(
    acc: np.ndarray,
    D: np.ndarray,
    mode: np.ndarray,
    term: np.ndarray,
    P: np.ndarray,
    balance: np.ndarray,
    rate: np.ndarray,
    cap: np.ndarray,
    min_payment: float,
    cap_tol: float,
) -> np.ndarray:
    """The closed-form necessary conditions of level plans (``solver.plans.scoring._prefilter``):
    the term within the horizon, the level instalment ``P`` within every cap from the end
    of the holiday ``D`` to the month before the last and at least ``min_payment``, and an
    interest-only holiday payment (mode 1) within the caps of the holiday and at least
    ``min_payment`` (a zero one is no payment)."""
    n_acc, H = cap.shape
    dmax = 0
    for r in range(D.size):
        dmax = max(dmax, D[r])
    # run[a, d, k]: min of cap[a, d : d + k + 1] (by account first: an account's rows are
    # consecutive, so its part of the table stays in cache)
    run = np.empty((n_acc, dmax + 1, H))
    for a in range(n_acc):
        for d in range(dmax + 1):
            m = np.inf
            for c in range(d, H):
                v = cap[a, c]
                m = v if v < m else m
                run[a, d, c - d] = m
    ok = np.empty(D.size, np.bool_)
    for r in range(D.size):
        d, a, p = D[r], acc[r], P[r]
        size = abs(p)
        tol = cap_tol * (size if size > 1.0 else 1.0)
        last_level = term[r] - 2  # the last month before the clearing one (0-based)
        has = last_level >= d
        col = min(max(last_level - d, 0), H - d - 1)
        m = run[a, d, col] if has else np.inf
        good = term[r] <= H and p <= m + tol and (not has or p >= min_payment - 1e-9)
        if good and d > 0 and mode[r] == 1:
            pay = balance[r] * (rate[r] / 12.0)
            first = run[a, 0, d - 1]
            good = pay <= first + cap_tol * (pay if pay > 1.0 else 1.0) and (
                pay >= min_payment - 1e-9 or pay <= 0.0
            )
        ok[r] = good
    return ok
