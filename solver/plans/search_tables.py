"""The lookup tables one ``custom`` / ``step`` search reads (:mod:`solver.plans.search`).

:func:`phase_moves`: the phase rules as tables (built once per grid size and phase limit);
:func:`search_actions`: the actions in cents with their values per month;
:func:`last_phase_reach`: how much a state in its last phase can still clear;
:func:`table_views`: the bound tables as the compiled step reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from solver.core.schedule import CENTS_PER_UNIT
from solver.plans.context import CAP_TOL, PlanContext


@dataclass(frozen=True)
class Moves:
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


@lru_cache(maxsize=64)
def phase_moves(G: int, K: int) -> Moves:
    """:class:`Moves` for a grid of G amounts and at most K phases (built once per (G, K)
    in a process and shared by every search: nothing writes to its tables)."""
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
    return Moves(
        rule=np.ascontiguousarray(rule.reshape(2 * S, nA)),
        child=child.reshape(-1),
        last=((child_k >= K) & (col[None, None, :] < G)).reshape(-1),
        not_last=np.concatenate([np.ones(S, bool), sc_k < K]),
        amount=sc_g,
        codes=S,
    )


def search_actions(
    ctx: PlanContext, amt_c: np.ndarray, holiday: np.ndarray, hazards: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The actions in cents: payment ``pay_c`` (n, A; the holiday last, 0), the month's
    cap with its tolerance ``cap_c`` (n, H; −1 where nothing is affordable), whether an
    action is allowed ``act_ok`` (H, n, A), and per month and (account, action) the value
    per unit of survival, the recovery weight and the survival ``act_vals`` (H, n·A, 3).
    ``amt_c``: the grid amounts in cents (:func:`grid_cents`; −1 where missing).
    ``hazards``: :func:`solver.plans.bounds.action_hazards` of the amounts (the grid is on
    the money grid, so they are the hazards of the amounts in cents)."""
    n, H = len(ctx), ctx.horizon
    G = amt_c.shape[1]
    pay_c = np.concatenate([np.maximum(amt_c, 0), np.zeros((n, 1), np.int64)], axis=1)
    cap = ctx.cap
    cap_c = np.where(
        np.isfinite(cap),
        np.floor(cap * (1 + CAP_TOL) * CENTS_PER_UNIT + CAP_TOL * CENTS_PER_UNIT + 1e-6),
        -1,
    ).astype(np.int64)
    h_act = hazards.transpose(2, 0, 1)  # (H, n, A)
    # written in place (a stack of three arrays copied them once more)
    act_vals = np.empty((H, n, G + 1, 3))
    pv_act, rc_act, q_act = act_vals[..., 0], act_vals[..., 1], act_vals[..., 2]
    np.subtract(1.0, h_act, out=q_act)
    np.multiply(ctx.discount[:, None, None], q_act, out=pv_act)
    pv_act *= (pay_c / CENTS_PER_UNIT)[None]
    np.multiply(ctx.discount_lag[:, None, None], h_act, out=rc_act)
    act_ok = np.concatenate(
        [
            (amt_c[None, :, :] > 0) & (amt_c[None, :, :] <= cap_c.T[:, :, None]),
            (np.arange(H)[:, None] < holiday[None, :])[:, :, None],
        ],
        axis=2,
    )  # (H, n, A)
    return pay_c, cap_c, np.ascontiguousarray(act_ok), act_vals.reshape(H, n * (G + 1), 3)


def last_phase_reach(ctx: PlanContext, pay_c: np.ndarray, on: int) -> np.ndarray:
    """The most a state in its last phase can clear from month index t + 1 on, paying its
    amount every month (one month of slack), in cents, per month and (account, action)
    (H, n·A; the holiday is never a last phase: ∞), with a step of the money grid (``on``
    cents: a cent; a yen for JPY) a month for the interest rounding. A state that owes
    more is dropped: the bound, which relaxes the phase limit, cannot see this."""
    n, H = len(ctx), ctx.horizon
    r_m = ctx.monthly_rate
    left = (H - 1 - np.arange(H) + 1).astype(float)  # months t+1 … H-1, plus one of slack
    step_c = float(on)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        annuity = np.where(
            r_m[None, :] > 0,
            (1.0 - (1.0 + r_m[None, :]) ** -left[:, None]) / np.where(r_m > 0, r_m, 1.0)[None, :],
            left[:, None],
        )  # (H, n)
    last_max = (pay_c[None, :, :-1] * annuity[:, :, None]) * (1 + 1e-9) + (
        step_c * left[:, None, None] + step_c
    )  # cents (H, n, G)
    return np.concatenate([last_max, np.full((H, n, 1), np.inf)], axis=2).reshape(H, -1)


def table_views(tables: tuple[np.ndarray, ...], n: int) -> tuple[np.ndarray, ...]:
    """The bound tables as the compiled step reads them: ``V`` contiguous, the tail table
    (empty without one) and, per month t (H+1, n) in cents, U, month t's first node and
    1 / spacing, plus the tail table's 1 / spacing (n,)."""
    V, w, U, lo = tables[:4]
    T_tail = tables[4] if len(tables) == 6 else np.zeros((0, 1, 1, 2), np.float32)
    cents = float(CENTS_PER_UNIT)
    U100 = np.ascontiguousarray(U.T) * cents
    inv_w100 = np.ascontiguousarray(1.0 / (w.T * cents))
    lo100 = np.ascontiguousarray(lo.T * cents)
    inv_wt100 = np.zeros(n) if len(tables) != 6 else 1.0 / (tables[5] * cents)
    return np.ascontiguousarray(V), T_tail, U100, inv_w100, lo100, inv_wt100
