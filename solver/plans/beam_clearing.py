"""The clearing payments of the custom/step beam search's months and the walk back,
compiled (issue 13: speed).

Per month, :func:`solver.plans.search._solve_runs` asks what each state of the frontier
owes (:func:`owed_cents`, with :func:`clearing_rows` in one call:
:func:`owed_and_clearing`), which states can clear (:func:`clearing_rows`) and whether
clearing beats the account's incumbent (:func:`offer_clearing`); at the end it walks the
best paths back through the months' kept children (:func:`backtrack`). The children
themselves are made and selected by :func:`solver.plans.beam_step.expand`.

Kept apart from :mod:`solver.plans.beam_step` along the search's own seam (ending a path
vs growing the frontier): no kernel here calls one there or the reverse, so each
module's ``cache=True`` kernels depend on their own source file only, which is what
numba's on-disk cache checks (a kernel calling another module's kernel is not recompiled
when that module changes).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def owed_cents(
    f_B: np.ndarray, f_acc: np.ndarray, rate_f: np.ndarray, on: int
) -> tuple[np.ndarray, np.ndarray]:
    """What each state owes this month in cents: its balance plus the month's interest,
    rounded half-up (``solver.plans.payment_grid.interest_cents`` in float) on the money grid of
    ``on`` cents (100 for whole yen: the same rule on ``balance // on`` units), and the
    states whose interest is within 1e-5 of half a unit: the caller redoes those in exact
    integers."""
    F = f_B.size
    owed = np.empty(F, np.int64)
    near = np.empty(F, np.int64)
    n_near = 0
    for k in range(F):
        units = f_B[k] // on
        x = units * rate_f[f_acc[k]]
        fl = math.floor(x)
        owed[k] = (units + np.int64(math.floor(x + 0.5))) * on
        if abs((x - fl) - 0.5) < 1e-5:
            near[n_near] = k
            n_near += 1
    return owed, near[:n_near]


@njit(cache=True)
def owed_and_clearing(
    f_B: np.ndarray, f_acc: np.ndarray, rate_f: np.ndarray, on: int, rule: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`owed_cents` and then :func:`clearing_rows` of what the states owe, in one
    call (a call fewer per month); the caller redoes both where a state's interest is
    within float noise of half a unit (``near``, rare)."""
    owed, near = owed_cents(f_B, f_acc, rate_f, on)
    return owed, near, clearing_rows(owed, f_acc, rule)


@njit(cache=True)
def clearing_rows(owed: np.ndarray, f_acc: np.ndarray, rule: tuple) -> np.ndarray:
    """The states that can clear this month: what they owe is within the month's cap and,
    in their last phase, at most their amount. ``rule``: ``(f_fam_sc, cap_t, not_last,
    sc_g, pay_c, codes)`` -- the states' family × S + code, the month's cap per account
    (cents), whether a row may still change amount, a code's amount, the amounts per
    account (cents) and S."""
    f_fam_sc, cap_t, not_last, sc_g, pay_c, codes = rule
    F = owed.size
    out = np.empty(F, np.int64)
    n = 0
    for k in range(F):
        a = f_acc[k]
        ow = owed[k]
        if ow > cap_t[a]:
            continue
        fam_sc = f_fam_sc[k]
        if not not_last[fam_sc]:
            g = sc_g[fam_sc % codes]
            cur = pay_c[a, g] if g >= 0 else 0  # g = -1: nothing paid yet
            if ow > cur:
                continue
        out[n] = k
        n += 1
    return out[:n]


@njit(cache=True)
def offer_clearing(
    ci: np.ndarray,
    f_acc: np.ndarray,
    f_v: np.ndarray,
    f_s: np.ndarray,
    owed: np.ndarray,
    hazard: np.ndarray,
    rec: np.ndarray,
    disc: float,
    disc_lag: float,
    t: int,
    value: np.ndarray,
    threshold: np.ndarray,
    month: np.ndarray,
    state: np.ndarray,
    final: np.ndarray,
) -> None:
    """Clearing payments of month t (states ``ci``, grouped by account; ``hazard`` of
    paying what they owe): each account's first best value replaces a worse incumbent
    (``value``, its pruning ``threshold``, the ``month``, ``state`` and ``final``
    payment of its clearing)."""
    k = 0
    N = ci.size
    while k < N:
        a = f_acc[ci[k]]
        best = -np.inf
        pos = -1
        while k < N and f_acc[ci[k]] == a:
            r = ci[k]
            h = hazard[k]
            c = owed[r] / 100.0
            v = f_v[r] + f_s[r] * (disc * (1.0 - h) * c + disc_lag * h * rec[r])
            if pos < 0 or v > best:
                best = v
                pos = r
            k += 1
        if best > value[a]:
            value[a] = best
            threshold[a] = best + 1e-12 * abs(best)
            month[a] = t
            state[a] = pos
            final[a] = owed[pos]


@njit(cache=True)
def backtrack(
    parent: np.ndarray,
    paid: np.ndarray,
    start: np.ndarray,
    state: np.ndarray,
    final: np.ndarray,
    month: np.ndarray,
) -> np.ndarray:
    """Payments (cents) of the paths whose clearing payment ``final`` was made by frontier
    state ``state`` of ``month``, one row each (zeros after it): walked back through the
    months' kept children, month m's at ``parent``/``paid[start[m]:start[m + 1]]``. A
    parent −1 is a holiday-cycle walk's state (:mod:`solver.plans.holiday_cycles`): the
    walk stops there and the months before it are marked −1 (the caller fills in the
    walk's payments)."""
    P = state.size
    T = 0
    for r in range(P):
        T = max(T, month[r])
    pays = np.zeros((P, T + 1), np.int64)
    for r in range(P):
        m = month[r]
        pays[r, m] = final[r]
        sid = state[r]
        for k in range(m - 1, -1, -1):
            at = start[k] + sid
            pays[r, k] = paid[at]
            sid = parent[at]
            if sid < 0:
                pays[r, :k] = -1
                break
    return pays
