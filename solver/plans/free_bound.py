"""A bound over the *free* ``custom`` family, and a polish of found plans toward it (study, session 12).

The ``custom`` search (:mod:`solver.plans.search`) and its bound tables
(:mod:`solver.plans.bounds`) work on an account's payment grid of 12–16 amounts, so
its certificates ("OPTIMAL", "gap 0.04 %") hold on that grid only. The family issue 13
asks for is free: after a leading capitalised holiday of at most
``max_deferral_months``, any payment on the rounding unit from ``min_payment`` up to the
month's affordability cap, the last payment clearing the balance (within the cap, any
size), by ``max_term_months``.

That family is itself a grid: every multiple of the rounding unit from ``min_payment``
to the largest cap (:func:`unit_grid`). The bound tables are an admissible bound for any
action set (they relax only the phase limit, which custom does not have), so
:func:`free_bounds` — the same backward programme on the unit grid — bounds every
policy-feasible custom schedule, with the error of the grid bound (second order in the
balance-node spacing) and no discretisation of the payment at all. Its backward pass
skips the unit amounts that provably cannot be a node's best (exact pruning,
:mod:`solver.plans.free_dp`: the same tables bit for bit); it still costs tens of CPU ms
per account at 384 buckets (``benchmarks/bench_free_bound.py``), so it is a certificate
to run once per account, not inside the search.

Decision (the study's): actions every rounding unit rather than payment *intervals*
between grid amounts bounded optimistically (payment at the top, hazard at the
bottom). The interval bound is also valid but first-order loose: within an interval
the relaxation may pay the top amount with the bottom's hazard, and may also keep the
balance of the bottom amount, which is worth about the interval's width every month;
over 60 months at a width of even 10 units that is far above a 0.1 % target.

:func:`rollout` builds a plan forward on the same tables (each month the action with the
best value plus survival × the bound on what follows); :func:`polish` improves a plan by
coordinate ascent on the rounding unit (cent-exact schedules, the search's own policy
checks; the family with a leading holiday only). Findings and figures:
``docs/free_family.md`` (session 12).

Holidays mid-plan (session 14): SPEC §5 allows a month without payment anywhere, each
run of them at most ``max_deferral_months``. :func:`holiday_bounds` bounds that family
with one table per run length (:mod:`solver.plans.holiday_tables`, which says why a zero
allowed in every month is too loose a relaxation), and :func:`rollout` (like
:func:`solver.plans.free_rollout.rollouts`) follows a state's run on such tables
(:func:`run_rule`). :func:`free_bounds` stays the bound of the family without them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.core.schedule import CENTS_PER_UNIT
from solver.plans.bounds import _clearable, _no_plan_tables, bound_at, bound_tables
from solver.plans.context import PlanContext, feasible_paths, grid_of, npv
from solver.plans.free_prep import free_tables
from solver.plans.holiday_tables import holiday_tables
from solver.plans.search import grid_cents, holiday_months, interest_cents

_RATE_SCALE = 10**12


def unit_grid(ctx: PlanContext) -> np.ndarray:
    """Every payment the free family can make in a non-final month, per account (n, G):
    the multiples of the rounding unit from ``min_payment`` (rounded up to the unit) to
    the largest affordability cap of any month (rounded down), NaN-padded; no column
    for an account with no affordable payment."""
    pol = ctx.policy
    unit = pol.rounding
    cap = np.where(np.isfinite(ctx.cap), ctx.cap, -np.inf)
    top = np.floor(np.max(cap, axis=1) / unit + 1e-9)  # in units
    low = np.ceil(max(pol.min_payment, unit) / unit - 1e-9)
    count = np.where(top >= low, top - low + 1, 0).astype(np.int64)
    G = int(max(count.max(initial=0), 1))
    k = np.arange(G)[None, :]
    amounts = np.where(k < count[:, None], (low + k) * unit, np.nan)
    return np.round(amounts, 2)


@dataclass(frozen=True)
class FreeBound:
    """Upper bounds on the best policy-feasible free ``custom`` plan, per account.

    Attributes
    ----------
    bound
        The bound on the NPV (−inf: no free plan can clear the balance) (n,).
    amounts
        Unit-grid size per account (actions of the programme) (n,).
    tables
        Per account ``(V, w, U, lo)``: one row of each per run length tracked (one row
        without ``runs``).
    grids
        Per account its unit amounts.
    runs
        ``None``: the family of :func:`free_bounds` (a leading holiday only). Otherwise
        (n,) the longest run of months without payment, anywhere in a plan
        (:func:`holiday_bounds`); the tables' row r bounds what follows r such months.
    """

    bound: np.ndarray
    amounts: np.ndarray
    tables: list[tuple[np.ndarray, ...]]
    grids: list[np.ndarray]
    runs: np.ndarray | None = None


def holiday_bounds(
    ctx: PlanContext,
    buckets: int = 192,
    *,
    tolerance: float | None = 0.0,
    frontier: bool = True,
) -> FreeBound:
    """The free bound of the family with holidays mid-plan: every amount on the rounding
    unit, and any month without payment as long as no run of them exceeds
    ``max_deferral_months`` (:mod:`solver.plans.holiday_tables`: one table per run
    length). Read at the opening balance, run length 0, as :func:`free_bounds` is;
    accounts one at a time, each on its own unit grid.

    ``tolerance``: the paying actions by the pruned pass of :mod:`solver.plans.free_dp`
    to that relative tolerance per node; 0 (the default) prunes exactly and gives the
    reference tables bit for bit, ``None`` is the reference itself (every unit amount at
    every node). Decision (session 14): the default stays exact, so the family's
    results do not move; ``free_dp.TOLERANCE`` is the cheaper, slightly looser choice.
    ``frontier``: the treatment of the partly live last intervals at the clearable
    limit (:func:`solver.plans.bound_dp.frontier_value`); decision (session 16): on,
    a tighter bound (``docs/free_family.md``, "Session 16"); off gives the tables of
    session 15."""
    runs = holiday_months(ctx)
    B0 = grid_cents(ctx.balance, grid_of(ctx)) / CENTS_PER_UNIT
    ones = [ctx.take(np.array([i])) for i in range(len(ctx))]
    units = [unit_grid(one) for one in ones]
    tables = [
        _run_tables(one, g, buckets, runs[i : i + 1], tolerance, frontier)
        for i, (one, g) in enumerate(zip(ones, units, strict=True))
    ]
    root = np.zeros(1, np.int64)
    bound = np.array(
        [float(bound_at(tb, root, 0, B0[i : i + 1])[0]) for i, tb in enumerate(tables)]
    )
    sizes = np.array([int(np.isfinite(g).sum()) for g in units], np.int64)
    grids = [g[0, :k] for g, k in zip(units, sizes.tolist(), strict=True)]
    return FreeBound(bound, sizes, tables, grids, runs)


def _run_tables(
    one: PlanContext,
    amounts: np.ndarray,
    buckets: int,
    runs: np.ndarray,
    tolerance: float | None,
    frontier: bool,
) -> tuple[np.ndarray, ...]:
    """The run-length tables of one account (the reference pass when it has no unit
    amount: nothing to prune), or its "no plan" table when payments within the caps
    cannot clear its opening balance (no programme needed)."""
    U, top = _clearable(one)
    if one.balance[0] <= U[0, 0]:
        if amounts.shape[1] == 0 or not np.isfinite(amounts).all():
            tolerance = None
        tables = holiday_tables(one, amounts, buckets, runs, tolerance=tolerance, frontier=frontier)
        return tables[0]
    return _no_plan_tables(one, amounts, buckets, runs, False, (U, top), np.zeros(1, int))


def run_rule(
    free: FreeBound, rows: list[int], hold: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How a forward pass on ``free``'s tables may skip payments, for its accounts
    ``rows`` (``hold``: their :func:`~solver.plans.search.holiday_months`): per account
    the longest run of months without payment, the run a payment leaves (0: a holiday
    may follow later; the longest run: none may, the family of :func:`free_bounds`),
    and the number of tables (a month without payment after r of them reads table
    ``min(r + 1, count − 1)``, a payment table 0).

    A state's run counts its months without payment in a row; with a leading holiday
    only, a state that has not paid has skipped every month so far, so "month index
    t < hold, nothing paid yet" is "run < hold" with a payment setting the run to hold."""
    if free.runs is None:
        h = np.asarray(hold, np.int64)
        return h, h.copy(), np.ones(len(rows), np.int64)
    r = np.asarray(free.runs, np.int64)[rows]
    return r, np.zeros(len(rows), np.int64), r + 1


def free_bounds(
    ctx: PlanContext,
    buckets: int = 192,
    *,
    exact_reference: bool = False,
    tolerance: float = 0.0,
    zero_payment: bool = False,
    frontier: bool = True,
    work: np.ndarray | None = None,
) -> FreeBound:
    """:func:`solver.plans.bounds.bound_tables` on the unit grid (:func:`unit_grid`),
    read at the opening balance as the search reads it: a bound on every free custom
    schedule (and every step schedule, a subset). Accounts are done one at a time, each
    on its own grid (their sizes differ by orders of magnitude).

    The tables come from :func:`solver.plans.free_prep.free_tables` (the same programme
    with exact action pruning: equal tables, bit for bit); ``exact_reference`` computes
    them with ``bound_tables`` itself (every action at every node: the reference the
    tests and ``benchmarks/bench_free_bound.py`` compare with).

    ``tolerance`` > 0 (not with ``exact_reference``): the pruned pass stops each node
    within that relative tolerance of its exact value, storing a bound at least the
    exact one (:mod:`solver.plans.free_dp`): still an upper bound on every free plan,
    a little looser, cheaper (session 14: ``free_dp.TOLERANCE``, measured in
    ``benchmarks/bench_free_bound.py`` and docs/plans.md). ``zero_payment``: a month without payment
    (interest capitalised) is allowed in every month, not only as the leading holiday:
    the bound then covers plans with holidays anywhere: ``holiday_months = H`` (the
    holiday's action, the payment 0 with the model's hazard of paying nothing, and its
    node bands in every month), which is ``bound_tables`` with an amount 0 added to the
    unit grid when every month's cap is at least 0 (an amount must be within the cap, a
    holiday need not). ``frontier``: as :func:`holiday_bounds`' (on: session 16).
    ``work`` (2,), if given, adds up the pruned passes' exact action values and block
    bounds (``free_prep.free_tables``; ``benchmarks/free_family.py screen`` reads it)."""
    n = len(ctx)
    out = np.full(n, -np.inf)
    sizes = np.zeros(n, np.int64)
    B0 = grid_cents(ctx.balance, grid_of(ctx)) / CENTS_PER_UNIT
    all_tables: list[tuple[np.ndarray, ...]] = []
    grids: list[np.ndarray] = []
    for i in range(n):
        one = ctx.take(np.array([i]))
        amounts = unit_grid(one)
        sizes[i] = int(np.isfinite(amounts).sum())
        hold = np.full(1, one.horizon) if zero_payment else holiday_months(one)
        if exact_reference or sizes[i] == 0:  # no unit amount: nothing to prune
            tables = bound_tables(one, amounts, buckets, hold, frontier=frontier)
        else:
            tables = free_tables(
                one, amounts, buckets, hold, work, tolerance=tolerance, frontier=frontier
            )
        out[i] = float(bound_at(tables, np.zeros(1, np.int64), 0, B0[i : i + 1])[0])
        all_tables.append(tables)
        grids.append(amounts[0, : sizes[i]])
    return FreeBound(out, sizes, all_tables, grids)


def rollout(ctx: PlanContext, i: int, free: FreeBound, width: int = 1) -> np.ndarray | None:
    """A feasible free plan of account ``i`` built forward against the free bound's tables.

    Each month every live state may skip the payment (while its run of months without
    payment may grow: :func:`run_rule`), pay any unit amount within the cap, or clear (if
    what is owed is within the cap); a
    child's score is its value so far plus survival × (the month's value + survival ×
    the table's bound on what follows). The ``width`` best children go on (``width = 1``:
    greedy); cleared plans are kept and the best one is returned. Cent-exact balances;
    ``None`` if no plan clears by the horizon.
    """
    one = ctx.take(np.array([i]))
    tables, amounts = free.tables[i], free.grids[i]
    on = CENTS_PER_UNIT // grid_of(ctx)
    rate = np.array([round(float(ctx.fields["annual_rate"][i]) * _RATE_SCALE)], np.int64)
    hold_a, after_a, ntab_a = run_rule(free, [i], holiday_months(one))
    hold, after, last_tab = int(hold_a[0]), int(after_a[0]), int(ntab_a[0]) - 1
    amt_c = np.round(amounts * CENTS_PER_UNIT).astype(np.int64)
    tol = CENTS_PER_UNIT * (1 + 1e-9)
    reach = _clearable_after(one, free.runs is not None and hold > 0)
    # live states: balance (cents), value so far, survival, payments so far, run
    live: list[tuple[int, float, float, list[int], int]] = [
        (int(grid_cents(ctx.balance[i : i + 1], grid_of(ctx))[0]), 0.0, 1.0, [], 0)
    ]
    best_value, best_path = -np.inf, None
    for t in range(ctx.horizon):
        kids: list[tuple[float, int, float, float, list[int], int]] = []
        cap = float(one.cap[0, t])
        for bal, value, surv, paid, run in live:
            owed = bal + int(interest_cents(np.array([bal // on]), rate)[0]) * on
            rec = float(
                one.kernel.recovery(np.zeros(1, np.int64), np.array([bal / CENTS_PER_UNIT]), t)[0]
            )
            acts = amt_c[(amt_c <= cap * tol) & (amt_c < owed)]
            if run < hold:
                acts = np.concatenate([np.zeros(1, np.int64), acts])
            if owed <= cap * tol:
                acts = np.concatenate([acts, np.array([owed], np.int64)])
            if acts.size == 0:
                continue
            h = one.kernel.hazard(np.zeros_like(acts), acts / CENTS_PER_UNIT, t)
            now = one.discount[t] * (1 - h) * acts / CENTS_PER_UNIT + one.discount_lag[t] * h * rec
            nxt = (owed - acts) / CENTS_PER_UNIT
            runs = np.where(acts == 0, run + 1, after)
            if t + 1 < ctx.horizon:
                later = bound_at(tables, np.minimum(runs, last_tab), t + 1, nxt)
            else:
                later = np.full(acts.size, -np.inf)
            later = np.where(nxt <= 0, 0.0, later)
            score = value + surv * (now + (1 - h) * later)
            if nxt[-1] <= 0 and score[-1] > best_value:  # clearing: a complete plan
                best_value, best_path = float(score[-1]), [*paid, int(acts[-1])]
            keep = np.flatnonzero(np.isfinite(score) & (nxt > 0) & (nxt <= reach[t]))
            for k in keep[np.argsort(-score[keep])[:width]].tolist():
                kids.append(
                    (float(score[k]), int(owed - acts[k]), value + surv * float(now[k]),
                     surv * float(1 - h[k]), [*paid, int(acts[k])], int(runs[k]))
                )  # fmt: skip
        kids.sort(key=lambda kid: -kid[0])
        live = [(b, v, s, p, r) for sc, b, v, s, p, r in kids[:width] if sc > best_value]
        if not live:
            break
    return None if best_path is None else np.array(best_path, float) / CENTS_PER_UNIT


def _clearable_after(one: PlanContext, skip: bool = False) -> np.ndarray:
    """Per month index t (H,), the largest balance left after month t's payment that unit
    payments within the caps (the clearing one within the cap) can still clear by the
    horizon, less a cent a month for interest rounding: the bound tables' ``U`` is looser
    (a grid step of slack a month and continuous payments), and a rollout that trusts it
    can run into a dead end by a few cents. ``skip``: a month may go without payment (a
    month with no affordable payment is then passed, not a dead end)."""
    H = one.horizon
    unit = one.policy.rounding
    g = 1.0 + float(one.monthly_rate[0])
    cap = np.where(np.isfinite(one.cap[0]), one.cap[0], -np.inf)
    capu = np.floor(cap / unit + 1e-9) * unit
    if skip:
        capu = np.maximum(capu, 0.0)
    out = np.full(H, -np.inf)
    out[H - 1] = 0.0
    for t in range(H - 2, -1, -1):
        out[t] = max(cap[t + 1], capu[t + 1] + out[t + 1]) / g - 0.01 * (H - t)
    return out


# --------------------------------------------------------------------------------------
# Polish: coordinate ascent on the rounding unit
# --------------------------------------------------------------------------------------


def clear_paths(ctx: PlanContext, i: int, body: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cent-exact schedules of account ``i`` from their non-final payments ``body``
    (C, T − 1) in cents: interest half-up each month on the money grid, month T pays
    what is owed. Returns payments and exposures in currency units (C, T); a row whose
    balance goes negative gets NaN payments (not a schedule)."""
    body = np.atleast_2d(np.asarray(body, dtype=np.int64))
    C, T1 = body.shape
    on = CENTS_PER_UNIT // grid_of(ctx)
    rate = np.full(C, round(float(ctx.fields["annual_rate"][i]) * _RATE_SCALE), np.int64)
    bal = np.full(C, int(grid_cents(ctx.balance[i : i + 1], grid_of(ctx))[0]), np.int64)
    pay = np.zeros((C, T1 + 1), np.int64)
    exp = np.zeros((C, T1 + 1), np.int64)
    bad = np.zeros(C, bool)
    for t in range(T1 + 1):
        exp[:, t] = bal
        owed = bal + interest_cents(bal // on, rate) * on
        pay[:, t] = owed if t == T1 else body[:, t]
        bal = owed - pay[:, t]
        bad |= bal < 0
    pay_f = pay / CENTS_PER_UNIT
    pay_f[bad] = np.nan
    return pay_f, exp / CENTS_PER_UNIT


def _score(ctx: PlanContext, i: int, body: np.ndarray) -> np.ndarray:
    """Model NPV of each candidate body (C, T − 1) in cents, −inf where the schedule is not
    a policy-feasible free custom plan (caps, ``min_payment``, leading holiday)."""
    pay, exp = clear_paths(ctx, i, body)
    C, T = pay.shape
    acc = np.full(C, i, np.int64)
    term = np.full(C, T, np.int64)
    ok = np.isfinite(pay).all(axis=1) & (pay[:, -1] > 0)
    zero = pay[:, :-1] <= 0
    lead = np.cumprod(zero, axis=1).sum(axis=1)
    ok &= zero.sum(axis=1) == lead  # zero months only as a leading holiday
    ok &= lead <= holiday_months(ctx.take(np.array([i])))[0]
    safe = np.where(np.isfinite(pay), pay, 0.0)
    ok &= feasible_paths(ctx, acc, safe, term)
    val = np.full(C, -np.inf)
    if ok.any():
        val[ok] = npv(ctx, acc[ok], safe[ok], exp[ok], term[ok])
    return val


_STEPS = (1, 2, 5, 10, 20, 50, 100, 200, 500)


def polish(
    ctx: PlanContext, i: int, payments: np.ndarray, rounds: int = 40
) -> tuple[np.ndarray, float]:
    """Coordinate ascent from a feasible plan of account ``i`` toward the free optimum.

    Each round tries, for every non-final month, moving its payment up or down by
    1, 2, 5, … 500 rounding units (a paying month may also drop to 0 if it stays a
    leading holiday), the last payment clearing what is then owed; and ending the plan
    one month earlier or later (the month added pays the old last level). The best
    improving candidate is taken; it stops when none improves or after ``rounds``.
    Returns the payments (currency units) and their model NPV.
    """
    unit_c = int(round(ctx.policy.rounding * CENTS_PER_UNIT))
    body = np.round(np.asarray(payments[:-1], float) * CENTS_PER_UNIT).astype(np.int64)
    best = float(_score(ctx, i, body[None, :])[0])
    H = ctx.horizon
    for _ in range(rounds):
        cands = _neighbours(body, unit_c, H)
        improved = False
        for c in cands:
            if c.size == 0:
                continue
            vals = _score(ctx, i, c)
            k = int(np.argmax(vals))
            if vals[k] > best + 1e-9:
                best, body, improved = float(vals[k]), c[k], True
        if not improved:
            break
    pay, _ = clear_paths(ctx, i, body[None, :])
    return pay[0], best


def _neighbours(body: np.ndarray, unit_c: int, horizon: int) -> list[np.ndarray]:
    """Candidate bodies around ``body`` (cents): per-month moves (same length), and the
    plan one month shorter or longer (other lengths)."""
    T1 = body.size
    out: list[np.ndarray] = []
    if T1:
        steps = np.array(_STEPS, np.int64) * unit_c
        delta = np.concatenate([steps, -steps])
        moves = np.repeat(body[None, :], T1 * delta.size, axis=0)
        rows = np.arange(moves.shape[0])
        month = rows // delta.size
        moves[rows, month] += np.tile(delta, T1)
        zero_at = np.repeat(body[None, :], T1, axis=0)
        zero_at[np.arange(T1), np.arange(T1)] = 0
        same = np.concatenate([moves, zero_at])
        out.append(same[(same >= 0).all(axis=1)])
        out.append(body[None, :-1])  # one month shorter
    if T1 + 1 < horizon:
        last = body[-1:] if T1 else np.zeros(1, np.int64)
        out.append(np.concatenate([body, last])[None, :])
    return out
