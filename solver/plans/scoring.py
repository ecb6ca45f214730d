"""Float scoring of the level-instalment families (SPEC §6): paths, feasibility, NPV.

Each family of :mod:`solver.plans.families` gives a table of candidate plans; here their
float payment paths are built in closed form and every row is checked against the policy
and valued under the behaviour model in one vectorised pass (:func:`score`), and the best
rows of each account are picked (:func:`best_per_account`). The winners are then rebuilt
as cent-exact schedules by :mod:`solver.plans.choices`.
"""

from __future__ import annotations

import numpy as np

from solver.core.annuity import level_payment
from solver.plans.context import CAP_TOL, PlanContext, npv
from solver.plans.families import Candidates
from solver.plans.level_prep import (
    Plans,
    block_order,
    final_checks,
    lean_checks,
    rate_tables,
    survival_points,
)
from solver.plans.level_value import (
    best_rows,
    level_exposures,
    level_prefilter,
    level_values_inline,
)

CHUNK_ROWS = 2048  # candidate rows scored at a time (arrays stay in cache)


def paths(
    ctx: PlanContext, cand: Candidates, unit: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Float payments and exposures (C, H) of level candidates; instalments rounded up to ``unit``.

    Returns payments, exposures, ``valid`` (False when rounding would clear the balance
    before the last month) and the level instalment (C,).
    """
    H = int(cand.term.max(initial=1))
    t = np.arange(1, H + 1)[None, :]
    r = cand.rate[:, None] / 12.0
    g = 1.0 + r
    D = cand.deferral[:, None]
    mode = cand.mode[:, None]
    n = cand.term[:, None]
    B = cand.balance[:, None]
    grow = mode == 0
    B_D = np.where(grow, B * g**D, B)
    P_exact = np.asarray(level_payment(B_D[:, 0], cand.rate, (cand.term - cand.deferral)), float)
    P = np.ceil(P_exact / unit - 1e-9) * unit
    P = P[:, None]
    k = t - D  # months into the level phase (>= 1)
    # powers g^(t-1) by a running product (cheaper than float power)
    gpow = np.cumprod(np.broadcast_to(g, (g.shape[0], H)), axis=1) / g  # g^(t-1)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        gk = np.where(
            k >= 1, gpow / np.take_along_axis(gpow, np.clip(D, 0, H - 1), axis=1), 1.0
        )  # g^(k-1)
        annuity = np.where(r > 0, (gk - 1.0) / np.where(r > 0, r, 1.0), np.maximum(k - 1, 0))
        level_bal = B_D * gk - P * annuity
        hol_bal = np.where(grow, B * gpow, B)
    in_hol = t <= D
    bearing = np.where(in_hol, hol_bal, level_bal)
    exposures = bearing + cand.balloon[:, None]
    payments = np.where(in_hol, np.where(mode == 1, B * r, 0.0), P)
    last = t == n
    payments = np.where(last, bearing * g + cand.balloon[:, None], payments)
    live = t <= n
    payments = np.where(live, payments, 0.0)
    exposures = np.where(live, exposures, 0.0)
    # rounding up must not clear the bearing balance before the last month
    before_last = np.take_along_axis(level_bal, np.clip(n - 1, 0, H - 1), axis=1)[:, 0]
    valid = (cand.term - cand.deferral == 1) | (before_last * (1 + cand.rate / 12) > 1e-6)
    return payments, exposures, valid, P[:, 0]


def _prefilter(ctx: PlanContext, cand: Candidates, unit: float) -> np.ndarray:
    """Cheap necessary conditions (closed form): level and interest-only payments within caps.

    Rows failing them cannot be feasible, so paths are built only for the others.
    """
    return _prefilter_parts(ctx, cand, unit)[0]


def _level_terms(cand: Candidates, unit: float) -> tuple[np.ndarray, np.ndarray]:
    """Balance after the holiday ``B_D`` and the level instalment rounded up to ``unit``."""
    D = cand.deferral
    # B·g^D where the holiday capitalises (g^0 = 1 exactly: B itself elsewhere)
    B_D = cand.balance.copy()
    grow = np.flatnonzero((cand.mode == 0) & (D != 0))
    B_D[grow] = cand.balance[grow] * (1.0 + cand.rate[grow] / 12.0) ** D[grow]
    P = np.asarray(level_payment(B_D, cand.rate, np.maximum(cand.term - D, 1)), float)
    P = np.ceil(P / unit - 1e-9) * unit
    return B_D, P


def _prefilter_parts(
    ctx: PlanContext, cand: Candidates, unit: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_prefilter` with the ``B_D`` and level instalment of every row (reused by the scoring)."""
    pol = ctx.policy
    if len(cand) == 0:
        return np.zeros(0, bool), np.zeros(0), np.zeros(0)
    B_D, P = _level_terms(cand, unit)
    ok = level_prefilter(
        cand.acc,
        cand.deferral,
        cand.mode,
        cand.term,
        P,
        cand.balance,
        cand.rate,
        ctx.cap,
        float(pol.min_payment),
        CAP_TOL,
    )
    return ok, B_D, P


def score(ctx: PlanContext, cand: Candidates, unit: float) -> tuple[np.ndarray, np.ndarray]:
    """Feasibility and float NPV of every candidate (NPV is -inf where infeasible).

    Candidates that pass the closed-form :func:`_prefilter` are scored by
    :func:`_score_lean` (closed-form balances, hazards evaluated once per distinct
    income month); accounts with degenerate income inputs (``PlanContext.special``: no
    income volatility, a month without income, no fixed outgo) take the general path
    of :func:`paths` and :func:`npv`. Both compute the SPEC §4 formula.
    """
    ok = np.zeros(len(cand), bool)
    value = np.full(len(cand), -np.inf)
    if len(cand) == 0:
        return ok, value
    passed, B_D, P = _prefilter_parts(ctx, cand, unit)
    pre = np.flatnonzero(passed)
    if pre.size == 0:
        return ok, value
    lean = pre
    if ctx.special.any():  # else every row is lean (no per-row test of a million rows)
        special = ctx.special[cand.acc[pre]]
        if special.any():
            _score_general(ctx, cand, pre[special], unit, ok, value)
        lean = pre[~special]
    if lean.size:
        _score_lean(ctx, cand, lean, unit, ok, value, level_terms=(B_D, P))
    return ok, value


def _term_chunks(terms: np.ndarray, horizon: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Rows grouped by term into fixed-width blocks: the order of the rows and the chunks
    ``(width, lo, hi)`` of that order (:func:`solver.plans.level_prep.block_order`), so
    arrays are only as wide as needed."""
    rows = np.arange(terms.size)
    order, chunks = block_order(terms, rows, np.ones(terms.size, bool), horizon, CHUNK_ROWS)
    return order, [(int(W), int(lo), int(hi)) for W, lo, hi in chunks]


def _term_blocks(terms: np.ndarray, rows: np.ndarray, horizon: int) -> list[tuple[int, np.ndarray]]:
    """:func:`_term_chunks` as (width, rows) blocks of ``rows``."""
    order, chunks = _term_chunks(terms, horizon)
    ordered = rows[order]
    return [(W, ordered[lo:hi]) for W, lo, hi in chunks]


def _final_checks(
    ctx: PlanContext, sub: Candidates, final: np.ndarray, valid: np.ndarray, level: np.ndarray
) -> np.ndarray:
    """Checks the prefilter leaves to the full path: the final payment within its cap,
    the phase count in closed form (holiday payments, level, a larger last payment)
    (:func:`solver.plans.level_prep.final_checks`), of all the plans of ``sub``."""
    pol = ctx.policy
    plans = (sub.acc, sub.balance, sub.rate, sub.deferral, sub.mode, sub.term)
    return final_checks(
        ctx.cap, plans, final, valid, level,
        pol.max_payment_levels, pol.max_deferral_months, CAP_TOL,
    )  # fmt: skip


def plan_columns(cand: Candidates, B_D: np.ndarray, P: np.ndarray) -> Plans:
    """The candidates as the compiled passes read them (:data:`~solver.plans.level_prep.Plans`),
    with their balances after the holiday ``B_D`` and level instalments ``P``."""
    columns = (cand.acc, cand.balance, cand.rate, cand.deferral, cand.mode, cand.term)
    return (*columns, cand.balloon, B_D, P)


def _score_general(
    ctx: PlanContext,
    cand: Candidates,
    rows: np.ndarray,
    unit: float,
    ok: np.ndarray,
    value: np.ndarray,
) -> None:
    """Score ``rows`` from their full float paths (:func:`paths`, :func:`npv`)."""
    for _, block in _term_blocks(cand.term[rows], rows, ctx.horizon):
        sub = cand.take(block)
        pay, exp, valid, level = paths(ctx, sub, unit)
        final = pay[np.arange(len(sub)), sub.term - 1]
        good = _final_checks(ctx, sub, final, valid, level)
        ok[block] = good
        idx = np.flatnonzero(good)
        if idx.size:
            value[block[idx]] = npv(ctx, sub.acc[idx], pay[idx], exp[idx], sub.term[idx])


def _steady_month(ctx: PlanContext) -> np.ndarray:
    """Per account, the first month index from which ``mu`` (the income path) is constant."""
    same = ctx.mu == ctx.mu[:, -1:]
    trailing = np.argmin(same[:, ::-1], axis=1)
    trailing = np.where(same.all(axis=1), ctx.horizon, trailing)
    return ctx.horizon - trailing


def _score_lean(
    ctx: PlanContext,
    cand: Candidates,
    rows: np.ndarray,
    unit: float,
    ok: np.ndarray,
    value: np.ndarray,
    level_terms: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Score level candidates of accounts with regular income inputs (no ``special``).

    The same model as :func:`npv` on the same float paths as :func:`paths`, computed
    lean: balances in closed form (``B_D·g^k − P·(g^k − 1)/r``), the affordability of
    the level payment evaluated once per distinct expected-income month (the income
    path is flat after ``recovery_months``) and spread over the months, holiday
    hazards from per-account tables. The model is asked for hazards and recoveries
    (vectorised); the per-plan figures (:mod:`solver.plans.level_prep`) and the
    month-by-month arithmetic (:mod:`solver.plans.level_value`) are compiled.
    ``level_terms`` are ``B_D`` and the rounded level instalment of every candidate row
    (:func:`_level_terms`), when already computed.
    """
    B_D, P = _level_terms(cand, unit) if level_terms is None else level_terms
    pol = ctx.policy
    dmax = int(cand.deferral[rows].max(initial=0))
    growth, shrink, rate_index = rate_tables(cand.rate, rows, ctx.horizon, dmax)
    # the last month's clearing payment and the checks the prefilter left to the full path
    plans = plan_columns(cand, B_D, P)
    good, final = lean_checks(
        rows, plans, growth, rate_index, ctx.cap,
        pol.max_payment_levels, pol.max_deferral_months, CAP_TOL,
    )  # fmt: skip
    ok[rows] = good
    # the kept rows grouped by term block (each chunk a slice), in the blocks' order
    keep, chunks = block_order(cand.term, rows, good, ctx.horizon, CHUNK_ROWS)
    if keep.size == 0:
        return
    rows, final, rate_index = rows[keep], final[keep], rate_index[keep]
    acc, T = cand.acc[rows], cand.term[rows]
    hz_hol = _holiday_hazards(ctx, int(cand.deferral[rows].max(initial=0)))
    q_hol = np.ones((2, 1, 1)) if hz_hol is None else 1.0 - hz_hol
    q_level, q_start, st = _lean_level_survival(ctx, plans, rows)
    with np.errstate(all="ignore"):
        q_last = 1.0 - ctx.kernel.hazard(acc, final, T - 1)
    per_plan = (rate_index, q_start, st, final, q_last)
    tables = (growth, shrink, q_level, q_hol)
    out = np.empty(rows.size)
    # the model's recovery as data for the compiled pass, unless it has its own
    recovery_table = ctx.kernel.recovery_table()
    if recovery_table is not None:
        collateral, rho = recovery_table
        _lean_values(ctx, plans, rows, chunks, per_plan, tables, collateral, rho, None, out)
    else:  # chunk by chunk: (C, W) exposures, and their recoveries asked of the model
        for W, lo, hi in chunks.tolist():
            exposure = level_exposures(rows, lo, hi, W, plans, rate_index, growth, shrink)
            rec = np.ascontiguousarray(ctx.kernel.recovery(acc[lo:hi], exposure), dtype=float)
            table = np.array([[W, lo, hi]], dtype=np.int64)
            _lean_values(ctx, plans, rows, table, per_plan, tables, None, 0.0, rec, out)
    value[rows] = out


def _lean_values(
    ctx: PlanContext,
    plans: Plans,
    rows: np.ndarray,
    chunks: np.ndarray,
    per_plan: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    tables: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    collateral: np.ndarray | None,
    rho: float,
    rec: np.ndarray | None,
    out: np.ndarray,
) -> None:
    """:func:`solver.plans.level_value.level_values_inline` of ``rows`` in ``chunks``:
    the recovery from ``collateral`` and ``rho``, or the given recoveries ``rec`` of one
    chunk. ``per_plan`` (rate index, q start, steady month, clearing payment, its
    survival factor) by position in ``rows``; ``tables`` (growth, shrink, q_level, q_hol)."""
    rate_index, q_start, st, final, q_last = per_plan
    growth, shrink, q_level, q_hol = tables
    none = np.empty((0, 0))
    cum_disc = np.concatenate([[0.0], np.cumsum(ctx.discount)])  # Σ_{s < t} δ^s
    level_values_inline(
        rows, chunks, plans, rate_index, q_start, st, final, q_last, growth, shrink,
        q_level, q_hol, none if collateral is None else collateral, rho,
        none if rec is None else rec, ctx.discount, ctx.discount_lag, cum_disc, out,
    )  # fmt: skip


def _holiday_hazards(ctx: PlanContext, dmax: int) -> np.ndarray | None:
    """Hazards of the holiday months (2, n, dmax): paying 0 and paying the interest only."""
    if dmax <= 0:
        return None
    io_pay_acc = ctx.balance * ctx.monthly_rate  # interest-only holiday payment
    all_acc = np.arange(len(ctx))[:, None]
    hol_cols = np.arange(dmax)[None, :]
    return np.stack(
        [
            ctx.kernel.hazard(all_acc, np.zeros((1, dmax)), hol_cols),
            ctx.kernel.hazard(all_acc, io_pay_acc[:, None], hol_cols),
        ]
    )  # (2, n, dmax): payment 0 / interest-only


def _lean_level_survival(
    ctx: PlanContext, plans: Plans, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Survival factors ``1 − h`` of the level payment ``P`` of plans ``rows`` (of
    ``plans``) in each distinct income month.

    Month t of a plan pays ``P`` in income month ``min(t, st)`` (the income path is flat
    from the account's steady month on; ``st`` is that month, or the last month of the
    plan if earlier), so only months 0…st are evaluated: returns them flat, each plan's
    start in that array, and its ``st``.
    """
    steady = _steady_month(ctx)
    st, start, acc_at, pay_at, month = survival_points(rows, plans, steady)
    with np.errstate(all="ignore"):
        q = 1.0 - ctx.kernel.hazard(acc_at, pay_at, month)
    return q, start, st


def best_per_account(
    acc: np.ndarray, value: np.ndarray, n_acc: int, k: int = 4
) -> list[np.ndarray]:
    """Indices of the ``k`` best finite-valued rows for each account, best first (ties:
    the earlier row)."""
    top, count = best_rows(acc, value, n_acc, k)
    return [top[i, : count[i]] for i in range(n_acc)]
