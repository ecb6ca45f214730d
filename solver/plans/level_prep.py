"""The per-plan closed-form figures of the level-family scoring, compiled (issue 13: speed).

:func:`solver.plans.scoring._score_lean` needs, for each of about a million level plans
per thousand accounts, per-plan figures: the last month's bearing balance and clearing
payment, the checks the prefilter leaves to the full path, the points where the level
payment needs a hazard. Done as numpy expressions, each figure is a pass over (and a
temporary of) a million rows; here they are compiled passes over the plans, reading the
candidate columns by row index (no gathered copies).

The arithmetic is the vectorised version's, operation for operation (the same float64
operations in the same order; fastmath off), so the figures are the same to the bit. The
transcendental functions stay numpy's: the growth factors ``g^t`` and ``g^-d`` are
tabulated per distinct rate by numpy (:func:`rate_tables`) and looked up here, which gives
the bits numpy gives for each plan (numpy's functions are elementwise).
"""

from __future__ import annotations

import numpy as np
from numba import njit

Plans = tuple[np.ndarray, ...]
"""A table of level plans as the compiled passes read it, one array each, by plan: the
account, the opening balance ``B``, the annual rate, the holiday months ``D``, the
deferral mode, the term ``T``, the balloon, the balance after the holiday ``B_D`` and
the level instalment ``P`` (:func:`solver.plans.scoring.plan_columns`)."""


def rate_tables(
    rate: np.ndarray, rows: np.ndarray, H: int, dmax: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct monthly rate ``r = rate/12`` of ``rate[rows]``: ``g^t`` (t < H) and
    ``g^-d`` (d ≤ dmax), ``g = 1 + r``, by numpy as ``exp(t·log1p(r))``; and each row's
    index into them.

    Rows come in runs of one rate (by account and rate rung), so only the runs' rates
    are sorted.
    """
    run, run_rate = rate_runs(rate, rows)
    uniq, inv_run = np.unique(run_rate, return_inverse=True)
    index = np.repeat(inv_run.ravel(), np.diff(np.append(run, rows.size)))
    lg = np.log1p(uniq / 12.0)
    growth = np.exp(lg[:, None] * np.arange(H, dtype=float)[None, :])
    shrink = np.exp(-np.arange(dmax + 1)[None, :] * lg[:, None])  # as exp(-D·lg)
    return growth, shrink, index


@njit(cache=True)
def rate_runs(rate: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the runs of equal ``rate[rows]`` start (positions in ``rows``), and their rates."""
    start = np.empty(rows.size, np.int64)
    n = 0
    for j in range(rows.size):
        if j == 0 or rate[rows[j]] != rate[rows[j - 1]]:
            start[n] = j
            n += 1
    run_rate = np.empty(n)
    for k in range(n):
        run_rate[k] = rate[rows[start[k]]]
    return start[:n], run_rate


@njit(cache=True)
def _round_cents(x: float) -> float:
    """``np.round(x, 2)``: numpy's operations (``rint(x·100)/100``)."""
    return np.rint(x * 100.0) / 100.0


@njit(cache=True)
def _final_ok(
    cap_last: float,
    balance: float,
    rate: float,
    D: int,
    mode: int,
    T: int,
    final: float,
    valid: bool,
    level: float,
    max_levels: int,
    max_deferral: int,
    cap_tol: float,
) -> bool:
    """The checks the prefilter leaves to the full path (one plan): the final payment
    ``final`` within its cap ``cap_last`` (month T − 1) and positive, and the number of
    payment phases in closed form (holiday payments, the level ``level``, a larger last
    payment) and the holiday within the policy."""
    # cap -inf (nothing affordable): -inf + inf is NaN, and no payment is within it
    size = abs(cap_last)
    tolerance = cap_tol * (size if size > 1.0 else 1.0)
    if not (valid and final > 0 and final <= cap_last + tolerance):
        return False
    io = D > 0 and mode == 1
    level_months = T - D - 1  # level payments before the last one
    if level_months >= 1:
        before = level
    elif io:
        before = balance * rate / 12.0
    else:
        before = 0.0
    larger_last = _round_cents(final) > _round_cents(before) + 1e-9
    n_phases = int(io) + int(level_months >= 1) + int(larger_last)
    return n_phases <= max_levels and D <= max_deferral


@njit(cache=True)
def final_checks(
    cap: np.ndarray,
    plans: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    final: np.ndarray,
    valid: np.ndarray,
    level: np.ndarray,
    max_levels: int,
    max_deferral: int,
    cap_tol: float,
) -> np.ndarray:
    """:func:`_final_ok` of every plan: ``plans`` (account, B, annual rate, D, mode, T)
    and the other arrays by plan, ``cap`` (n, H) by account."""
    acc, balance, rate, deferral, mode, term = plans
    good = np.empty(acc.size, np.bool_)
    for c in range(acc.size):
        good[c] = _final_ok(
            cap[acc[c], term[c] - 1], balance[c], rate[c], deferral[c], mode[c], term[c],
            final[c], valid[c], level[c], max_levels, max_deferral, cap_tol,
        )  # fmt: skip
    return good


@njit(cache=True)
def _bearing_last(B_D: float, P: float, r: float, g_last: float, k_last: int) -> float:
    """The bearing balance of the last month: ``B_D·g^k − P·(g^k − 1)/r`` with k = T − 1 − D
    (``B_D − P·k`` at a zero rate); ``g_last`` is ``g^k``."""
    if r > 0:
        return B_D * g_last - P * ((g_last - 1.0) * (1.0 / r))
    return B_D * g_last - P * float(k_last)


@njit(cache=True)
def lean_checks(
    rows: np.ndarray,
    plans: Plans,
    growth: np.ndarray,
    rate_index: np.ndarray,
    cap: np.ndarray,
    max_levels: int,
    max_deferral: int,
    cap_tol: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The clearing payment of candidate plans ``rows`` (of ``plans``) and whether
    they pass :func:`_final_ok`: ``good`` and ``final`` by position in ``rows``.

    The clearing payment is the last month's bearing balance (closed form) grown a month,
    plus the balloon; a plan whose rounded-up level instalment clears the balance before
    the last month is invalid. ``growth[rate_index[j]]`` is row j's ``g^t``.
    """
    acc, balance, rate, deferral, mode, term, balloon, B_D, P = plans
    good = np.empty(rows.size, np.bool_)
    final = np.empty(rows.size)
    for j in range(rows.size):
        c = rows[j]
        D, T = deferral[c], term[c]
        r = rate[c] / 12.0
        g = 1.0 + r
        g_last = growth[rate_index[j], T - 1 - D]
        bearing = _bearing_last(B_D[c], P[c], r, g_last, T - 1 - D)
        final[j] = bearing * g + balloon[c]
        valid = T - D == 1 or bearing * g > 1e-6
        good[j] = _final_ok(
            cap[acc[c], T - 1], balance[c], rate[c], D, mode[c], T, final[j], valid, P[c],
            max_levels, max_deferral, cap_tol,
        )  # fmt: skip
    return good, final


@njit(cache=True)
def survival_points(
    rows: np.ndarray, plans: Plans, steady: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The (account, payment, month) points where the level payments of plans ``rows``
    (of ``plans``; ``steady`` by account) need a hazard: months 0…st of each,
    its distinct income months (``st`` the account's steady month, at most the plan's last).

    Returns each plan's ``st`` and start in the flat points, and the points' accounts,
    payments and months.
    """
    acc, term, P = plans[0], plans[5], plans[8]
    st = np.empty(rows.size, np.int64)
    start = np.empty(rows.size, np.int64)
    total = 0
    for j in range(rows.size):
        c = rows[j]
        st[j] = min(steady[acc[c]], term[c] - 1)
        start[j] = total
        total += st[j] + 1
    acc_at = np.empty(total, np.int64)
    pay_at = np.empty(total)
    month = np.empty(total, np.int64)
    for j in range(rows.size):
        c = rows[j]
        for t in range(st[j] + 1):
            acc_at[start[j] + t] = acc[c]
            pay_at[start[j] + t] = P[c]
            month[start[j] + t] = t
    return st, start, acc_at, pay_at, month


@njit(cache=True)
def block_order(
    terms: np.ndarray, rows: np.ndarray, keep: np.ndarray, horizon: int, chunk_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """The plans ``rows`` with ``keep`` grouped into blocks of terms: (0, 6], (6, 12], …,
    the last up to ``horizon`` (each block's width its largest term), stably, and cut into
    chunks of at most ``chunk_rows``.

    Returns the positions in ``rows`` in that order and the chunks (n, 3): (width, lo, hi)
    of those positions. A plan's width depends on its term only, not on its batch.
    """
    count = np.zeros(horizon + 1, np.int64)
    for j in range(rows.size):
        if keep[j]:
            count[min(horizon, (terms[rows[j]] + 5) // 6 * 6)] += 1
    start = np.empty(horizon + 1, np.int64)
    n_chunks = 0
    total = 0
    for w in range(horizon + 1):
        start[w] = total
        total += count[w]
        n_chunks += (count[w] + chunk_rows - 1) // chunk_rows
    chunks = np.empty((n_chunks, 3), np.int64)
    k = 0
    for w in range(horizon + 1):
        for lo in range(start[w], start[w] + count[w], chunk_rows):
            chunks[k, 0], chunks[k, 1] = w, lo
            chunks[k, 2] = min(lo + chunk_rows, start[w] + count[w])
            k += 1
    positions = np.empty(total, np.int64)
    for j in range(rows.size):
        if keep[j]:
            w = min(horizon, (terms[rows[j]] + 5) // 6 * 6)
            positions[start[w]] = j
            start[w] += 1
    return positions, chunks
