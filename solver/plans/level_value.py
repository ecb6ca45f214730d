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
vectorised code (``tests/test_plan_compiled.py`` checks it against a numpy reference on
random inputs), and a plan's value does not depend on the other plans of its batch.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from solver.core.model import recovery_at


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


_recovery_at = njit(cache=True)(recovery_at)  # the model's own formula, compiled


@njit(cache=True)
def _exposure_row(
    g: np.ndarray, ints: np.ndarray, floats: np.ndarray, c: int, dm: int, add_balloon: bool, out
) -> None:
    """Plan ``c``'s exposures (W,) into ``out`` (:func:`level_exposures`); ``g`` its growth row."""
    W = out.shape[0]
    D, mode, pos = ints[1, c], ints[2, c], ints[3, c]
    alpha, beta, b0 = floats[0, c], floats[1, c], floats[2, c]
    b_d, p, balloon = floats[3, c], floats[4, c], floats[5, c]
    if pos:
        for t in range(W):
            out[t] = g[t] * alpha + beta
    else:
        for t in range(W):
            out[t] = b_d - p * (float(t) - float(D))
    for t in range(min(dm, D)):
        out[t] = b0 * g[t] if mode == 0 else b0
    if add_balloon:
        for t in range(W):
            out[t] += balloon


@njit(cache=True)
def level_exposures(
    growth: np.ndarray,
    ints: np.ndarray,
    floats: np.ndarray,
    dm: int,
    add_balloon: bool,
    out: np.ndarray,
) -> None:
    """Exposures (C, W) of level plans into ``out``.

    Per plan c, ``ints[:, c]`` = (row of ``growth``, holiday months D, deferral mode,
    rate above zero) and ``floats[:, c]`` = (α, β, B, B_D, P, balloon). Level months
    ``α·g^t + β`` (``growth[row, t]`` is ``g^t``), at a zero rate ``B_D − P·(t − D)``; the
    first ``min(D, dm)`` months are the holiday (``B·g^t`` capitalised, mode 0, else
    ``B``); the balloon on top when ``add_balloon``.
    """
    for c in range(out.shape[0]):
        _exposure_row(growth[ints[0, c]], ints, floats, c, dm, add_balloon, out[c])


@njit(cache=True)
def _plan_value(
    q_level: np.ndarray,
    q_holiday: np.ndarray,
    ints: np.ndarray,
    floats: np.ndarray,
    c: int,
    rec: np.ndarray,
    disc: np.ndarray,
    disc_lag: np.ndarray,
    cum_disc: np.ndarray,
    dm: int,
    work: np.ndarray,
) -> float:
    """Plan ``c``'s value (:func:`level_values`) from its recoveries ``rec`` (W,); ``work``
    (3, max(W, dm, 1)) scratch rows."""
    W = rec.shape[0]
    paid, buf, hol_buf = work[0], work[1], work[2]
    base, st, T = ints[0, c], ints[1, c], ints[2, c]
    D, mode, acc = ints[3, c], ints[4, c], ints[5, c]
    P, final, io_amt = floats[0, c], floats[1, c], floats[2, c]
    which = 1 if mode == 1 else 0
    holiday = min(dm, D)
    last = T - 1
    # one pass over the months: the survival factor q (the level payment's in its income
    # month, a holiday month's, the last month's own, 1 past the term), the survival S_t
    # (a running product), the expected recovery δ^(t+L)·R_t·(S_{t-1} − S_t) (S_{-1} = 1)
    # and the paid weight S_t·δ^t -- each the same operations as month-by-month passes
    s = 1.0
    s_last = 1.0
    for t in range(W):
        if t == last:
            q = floats[3, c]
        elif t < holiday:
            q = q_holiday[which, acc, t]
        elif t < T:
            q = q_level[base + (t if t <= st else st)]
        else:
            q = 1.0
        s_prev = s
        s = q if t == 0 else s * q
        buf[t] = (rec[t] * (s_prev - s)) * disc_lag[t]
        paid[t] = s * disc[t]
        if t == last:
            s_last = s
    pv_rec = 0.0 + pairwise_sum(buf, W)
    total = 0.0 + pairwise_sum(paid, W)
    # past the term S is flat: the level sum is the row sum less S_{T-1}·Σ_{T-1 ≤ t < W} δ^t
    level_sum = total - s_last * (cum_disc[W] - cum_disc[last])
    pv_pay = P * level_sum + final * paid[last]
    if dm > 0:
        for t in range(dm):
            hol_buf[t] = paid[t] if t < D else 0.0
        pv_pay += (io_amt - P) * (0.0 + pairwise_sum(hol_buf, dm))
    return pv_pay + pv_rec


@njit(cache=True)
def level_values(
    q_level: np.ndarray,
    q_holiday: np.ndarray,
    ints: np.ndarray,
    floats: np.ndarray,
    rec: np.ndarray,
    disc: np.ndarray,
    disc_lag: np.ndarray,
    cum_disc: np.ndarray,
    dm: int,
    out: np.ndarray,
) -> None:
    """Expected-recovery NPV of level plans into ``out`` (C,).

    Per plan c, ``ints[:, c]`` = (start of its factors in ``q_level``, steady month st,
    term T, holiday months D, deferral mode, account) and ``floats[:, c]`` = (level
    payment P, clearing payment, interest-only payment, survival factor of the last
    month). Survival factor of month t < T: ``q_level[start + min(t, st)]`` (the level
    payment in each distinct income month), in the first ``min(D, dm)`` months
    ``q_holiday[mode == 1, account, t]``, in the last month its own; 1 past the term.
    ``rec`` (C, W) the recovery at each month's exposure. The value is the discounted
    payments while alive (P in the level months, the interest-only payment in the
    holiday, the clearing payment last) plus the discounted recoveries on default.
    """
    C, W = rec.shape
    work = np.empty((3, max(W, dm, 1)))
    for c in range(C):
        out[c] = _plan_value(
            q_level, q_holiday, ints, floats, c, rec[c], disc, disc_lag, cum_disc, dm, work
        )


@njit(cache=True)
def level_values_inline(
    growth: np.ndarray,
    exposure_int: np.ndarray,
    exposure_float: np.ndarray,
    add_balloon: bool,
    collateral: np.ndarray,
    rho: float,
    q_level: np.ndarray,
    q_holiday: np.ndarray,
    ints: np.ndarray,
    floats: np.ndarray,
    disc: np.ndarray,
    disc_lag: np.ndarray,
    cum_disc: np.ndarray,
    dm: int,
    out: np.ndarray,
    W: int,
) -> None:
    """:func:`level_exposures`, the model's recovery and :func:`level_values` in one pass
    per plan (the same values to the bit), without the (C, W) exposures and recoveries.

    For a kernel whose recovery is SPEC §4's (``ModelKernel.recovery_table`` gives
    ``collateral`` (n, H) ``C_t`` by account and ``rho``): each plan's recovery is
    :func:`solver.core.model.recovery_at` of its exposure and its account's ``C_t``
    (``ints[5, c]`` is the account). The other arguments are those of the two kernels.
    """
    rec = np.empty(W)
    work = np.empty((3, max(W, dm, 1)))
    for c in range(out.shape[0]):
        _exposure_row(
            growth[exposure_int[0, c]], exposure_int, exposure_float, c, dm, add_balloon, rec
        )
        coll = collateral[ints[5, c]]
        for t in range(W):
            rec[t] = _recovery_at(rec[t], coll[t], rho)
        out[c] = _plan_value(
            q_level, q_holiday, ints, floats, c, rec, disc, disc_lag, cum_disc, dm, work
        )


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
    run = np.empty((dmax + 1, n_acc, H))  # run[d, a, k]: min of cap[a, d : d + k + 1]
    for d in range(dmax + 1):
        for a in range(n_acc):
            m = np.inf
            for c in range(d, H):
                v = cap[a, c]
                m = v if v < m else m
                run[d, a, c - d] = m
    ok = np.empty(D.size, np.bool_)
    for r in range(D.size):
        d, a, p = D[r], acc[r], P[r]
        size = abs(p)
        tol = cap_tol * (size if size > 1.0 else 1.0)
        last_level = term[r] - 2  # the last month before the clearing one (0-based)
        has = last_level >= d
        col = min(max(last_level - d, 0), H - d - 1)
        m = run[d, a, col] if has else np.inf
        good = term[r] <= H and p <= m + tol and (not has or p >= min_payment - 1e-9)
        if good and d > 0 and mode[r] == 1:
            pay = balance[r] * (rate[r] / 12.0)
            first = run[0, a, d - 1]
            good = pay <= first + cap_tol * (pay if pay > 1.0 else 1.0) and (
                pay >= min_payment - 1e-9 or pay <= 0.0
            )
        ok[r] = good
    return ok
