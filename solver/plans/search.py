"""``custom`` and ``step`` plans: exact search over payment paths on a discrete grid.

The families (SPEC §6)
----------------------
A plan starts with an optional payment holiday of at most ``max_deferral_months``
months (interest capitalised; only if ``capitalize`` is an allowed deferral mode), then
pays an amount from the account's **payment grid** every month, and the last payment
clears the balance exactly (it may be below ``min_payment``). Every payment, the clearing
one included, is within the month's affordability cap (``max_dti``,
``min_residual_income``, ``min_afford_prob``, on the account's income forecast where it
gives one); the plan ends by ``max_term_months``. ``custom`` is a free month-by-month
schedule: any grid amount in any month (issue 13 decided that ``max_payment_levels``
does not limit it). ``step`` is graduated: at most ``max_payment_levels`` *phases* (runs
of consecutive equal payments; a clearing payment not above the phase it ends is not a
phase of its own) that never go down.

The payment grid of an account hangs from its largest affordable payment ``top`` (the
largest monthly cap rounded down to the rounding unit): ``top, top − Δ, top − 2Δ, …``
down to ``min_payment``, with ``Δ`` the smallest multiple of the rounding unit giving at
most ``grid_levels`` amounts; plus ``min_payment`` itself (the hanging steps' lowest
amount may be up to Δ above it, and the best plan often pays the least allowed for
years: :func:`solver.plans.payment_grid.payment_grids`), the payment affordable in every
month (the smallest cap) and the level instalments of the best ``instalment`` and
capitalised ``deferral`` plans (so those plans are custom schedules and custom can only
match or beat them).

The search (exact within the grid)
-----------------------------------
Balances are tracked **exactly** in cents with the schedule's own interest rounding
(half-up, on the policy currency's money grid: whole yen for JPY), so every path's value is the model NPV of a real schedule. The search is a
branch and bound month by month over states ``(phases used, current amount,
balance)``, all accounts of a batch at once:

* an admissible bound (:mod:`solver.plans.bounds`): a backward dynamic programme that
  relaxes the phase limit and bounds the value still collectable from any balance by a
  continuous piecewise-linear function on ``buckets + 1`` balance nodes per month;
* a state is dropped when its value so far plus survival × bound cannot beat the
  best complete plan found (the incumbent, first the ``instalment`` and capitalised
  ``deferral`` winners), or when it is in its last phase and its amount can no longer
  clear the balance by ``max_term_months``;
* at most ``beam_width`` states per account and month are kept (best optimistic value
  first); states cut by the width are remembered by their optimistic value.

If no state was ever cut by the width, the search is exhaustive: status ``OPTIMAL``
(bound = objective). Otherwise status ``FEASIBLE`` with ``bound`` = the largest
optimistic value of a cut state (never above the root bound) and the relative gap —
the result always says how far it can be trusted. The bound's error is second order in
the node spacing; :func:`solver.plans.refine.refine` certifies accounts whose gap exceeds
``SearchParams.target_gap`` (0.1 %) with finer tables. Because ``step`` ⊆ ``custom``,
custom's bound also bounds step.

Beside the grid paths, the ``custom`` search continues the holiday-cycle walks of
:mod:`solver.plans.holiday_cycles` (holidays mid-plan between payments of
``min_payment``, the shape the free optimum often takes; ``SearchParams.holiday_cycles``,
where the policy sets ``holidays_mid_plan``: off by default, since that shape is a re-age):
their states join the frontier month by month with parent −1, and a path found from one
is the walk's payments and then the beam's. They are not part of the certified family:
``bound`` and the status stay a statement over the grid paths with a leading holiday (a
walk's plan above the grid bound is ``OPTIMAL`` in that sense: no such path is better).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from solver.core.result import gap_to_bound
from solver.core.schedule import CENTS_PER_UNIT
from solver.domain import Status
from solver.plans.beam_clearing import (
    backtrack,
    clearing_rows,
    offer_clearing,
    owed_and_clearing,
)
from solver.plans.beam_step import expand
from solver.plans.bounds import action_hazards, bound_at, bound_tables
from solver.plans.context import PlanContext, grid_of
from solver.plans.holiday_cycles import holiday_cycles, with_cycles
from solver.plans.payment_grid import (
    MONTHLY_DEN,
    RATE_SCALE,
    exact_owed,
    grid_cents,
    holiday_months,
    interest_cents,
)
from solver.plans.search_seeds import seed_incumbents
from solver.plans.search_tables import last_phase_reach, phase_moves, search_actions, table_views
from solver.plans.search_types import RunSolution, SearchParams

# the free family's modules (solver.plans.free_*) and older callers import these from here
__all__ = [
    "RunSolution",
    "SearchParams",
    "grid_cents",
    "holiday_months",
    "interest_cents",
    "solve_runs",
]


def solve_runs(
    ctx: PlanContext,
    amounts: np.ndarray,
    grid_step: np.ndarray,
    *,
    increasing: bool | np.ndarray,
    search: SearchParams,
    seeds: list[list[tuple[np.ndarray, np.ndarray]]] | None = None,
    tables: tuple[np.ndarray, ...] | None = None,
    floor: np.ndarray | None = None,
    hazards: np.ndarray | None = None,
) -> list[RunSolution]:
    """Best custom (``increasing=False``) or step (``True``) plan for every account.

    Parameters
    ----------
    amounts, grid_step
        Payment grids from :func:`payment_grids`.
    increasing
        ``True`` for step (phases never go down); a boolean array gives it per row, so
        one search can solve both families (rows are searched independently).
    seeds
        Known feasible payment paths per account (CNY) used as first incumbents.
    tables
        Precomputed :func:`bound_tables` output (shared by custom and step).
    hazards
        Precomputed :func:`solver.plans.bounds.action_hazards` of ``amounts`` (shared
        with the bound tables and between the searches of a grid).
    floor
        Per account, only plans worth more than this are sought (−inf: any): states that
        cannot beat it are pruned from the start. An account where none does gets no
        plan (``payments`` None, status ``FEASIBLE``).
    """
    with np.errstate(invalid="ignore", over="ignore"):
        if hazards is None:
            hazards = action_hazards(ctx, amounts)
        if tables is None:
            tables = bound_tables(
                ctx,
                amounts,
                search.buckets,
                holiday_months(ctx),
                tail=search.tail_bound,
                hazards=hazards,
            )
        out = _solve_runs(
            ctx,
            amounts,
            grid_step,
            increasing=increasing,
            search=search,
            seeds=seeds,
            tables=tables,
            floor=floor,
            hazards=hazards,
        )
        # a search cut by the beam before any plan was found proves nothing: retry those
        # accounts once with a beam eight times wider (not where a floor was the reason)
        retry = np.array(
            [
                i
                for i, sol in enumerate(out)
                if sol.payments is None
                and sol.status == Status.FEASIBLE
                and (floor is None or not np.isfinite(floor[i]))
            ],
            dtype=np.int64,
        )
        if retry.size:
            wide = replace(search, beam_width=search.beam_width * 8)
            again = _solve_runs(
                ctx.take(retry),
                amounts[retry],
                grid_step[retry],
                increasing=np.broadcast_to(np.asarray(increasing, dtype=bool), (len(ctx),))[retry],
                search=wide,
                seeds=None if seeds is None else [seeds[i] for i in retry],
                tables=tuple(x[retry] for x in tables),
                hazards=hazards[retry],
            )
            for i, sol in zip(retry, again, strict=True):
                out[i] = sol
        return out


@dataclass
class _Incumbents:
    """Best plan found per account so far: value, pruning threshold, and where its
    clearing payment was made (month, frontier index, amount in cents; month −1: none)."""

    value: np.ndarray
    threshold: np.ndarray
    month: np.ndarray
    state: np.ndarray
    final: np.ndarray

    @classmethod
    def start(cls, value: np.ndarray) -> _Incumbents:
        n = value.size
        thr = np.where(np.isfinite(value), value + 1e-12 * np.abs(value), -np.inf)
        zeros = np.zeros(n, np.int64)
        return cls(value, thr, np.full(n, -1, np.int64), zeros, zeros.copy())


def _solve_runs(
    ctx: PlanContext,
    amounts: np.ndarray,
    grid_step: np.ndarray,
    *,
    increasing: bool | np.ndarray,
    search: SearchParams,
    seeds: list[list[tuple[np.ndarray, np.ndarray]]] | None,
    tables: tuple[np.ndarray, ...] | None,
    floor: np.ndarray | None = None,
    hazards: np.ndarray | None = None,
) -> list[RunSolution]:
    """The beam search of :func:`solve_runs`, month by month: clearing payments update
    the incumbents; the compiled :func:`solver.plans.beam_step.expand` makes the children."""
    pol = ctx.policy
    n, H = len(ctx), ctx.horizon
    holiday = holiday_months(ctx)
    if hazards is None:
        hazards = action_hazards(ctx, amounts)
    if tables is None:
        tables = bound_tables(
            ctx, amounts, search.buckets, holiday, tail=search.tail_bound, hazards=hazards
        )
    V, T_tail, U100, inv_w100, lo100, inv_wt100 = table_views(tables, n)
    moves = phase_moves(amounts.shape[1], pol.max_payment_levels)
    # the one conversion into cents on the policy currency's money grid (whole yen for
    # JPY: balances and interest on it, as solver.core.amortisation builds the schedules)
    grid = grid_of(ctx)
    on = CENTS_PER_UNIT // grid  # cents per grid step
    amt_c = grid_cents(amounts, grid)
    pay_c, cap_c, act_ok, act_vals = search_actions(ctx, amt_c, holiday, hazards)
    last_cap = last_phase_reach(ctx, pay_c, on)
    rate_units = np.round(ctx.fields["annual_rate"] * RATE_SCALE).astype(np.int64)
    rate_f = rate_units.astype(float) / MONTHLY_DEN
    disc, disc_lag = ctx.discount, ctx.discount_lag
    acc_all = np.arange(n)
    B0c = grid_cents(ctx.balance, grid)
    root_bound = bound_at(tables, acc_all, 0, B0c / CENTS_PER_UNIT)

    start, inc_path = seed_incumbents(ctx, seeds, amt_c, holiday, increasing)
    if floor is not None:  # only plans above the floor: a seed below it is no incumbent
        below = np.flatnonzero(floor >= start)
        start[below] = floor[below]
        for i in below.tolist():
            inc_path[i] = None
    inc = _Incumbents.start(start)
    cut_bound = np.full(n, -np.inf)  # best optimistic value among states cut by the width
    inc_S = np.broadcast_to(np.asarray(increasing, dtype=bool), (n,)).astype(np.int64)
    inc_S *= moves.codes
    cap_cT = np.ascontiguousarray(cap_c.T)  # (H, n)

    # the holiday-cycle walks' states, offered month by month (custom rows only)
    custom_rows = ~np.broadcast_to(np.asarray(increasing, dtype=bool), (n,))
    # (only where the policy allows holidays mid-plan: Policy.holidays_mid_plan)
    walk = search.holiday_cycles and bool(ctx.policy.holidays_mid_plan)
    cyc = holiday_cycles(
        ctx, amt_c, holiday, custom_rows & walk, act_ok, act_vals,
        (rate_f, rate_units), on,
    )  # fmt: skip
    # frontier (sorted by account): holiday state (k = 0, g = -1) with the opening balance
    f_acc: Any = acc_all.copy()
    f_fam_sc: Any = inc_S.copy()  # (family, sc)
    f_B: Any = B0c.copy()
    f_v: Any = np.zeros(n)
    f_s: Any = np.ones(n)
    layers: list[tuple[np.ndarray, np.ndarray]] = []  # per month: (parent index, payment cents)
    expanded = 0
    none = np.zeros(0, np.int64)
    for t in range(H):
        if f_acc.size == 0 and t > cyc.last:
            break
        expanded += f_acc.size
        if f_acc.size:
            rec = ctx.kernel.recovery(f_acc, f_B / CENTS_PER_UNIT, t)
            # ---- what each state owes; clearing payments (end the plan this month) ----
            rule = (f_fam_sc, cap_cT[t], moves.not_last, moves.amount, pay_c, moves.codes)
            owed, near, ci = owed_and_clearing(f_B, f_acc, rate_f, on, rule)
            if near.size:  # within float noise of half a unit: exact integers, then again
                exact_owed(owed, near, f_B, f_acc, rate_units, on)
                ci = clearing_rows(owed, f_acc, rule)
            if ci.size:
                hc = ctx.kernel.hazard(f_acc.take(ci), owed.take(ci) / CENTS_PER_UNIT, t)
                offer_clearing(
                    ci, f_acc, f_v, f_s, owed, hc, rec, disc[t], disc_lag[t], t,
                    inc.value, inc.threshold, inc.month, inc.state, inc.final,
                )  # fmt: skip
        if t == H - 1:
            break
        # ---- continuing payments: a grid amount (same phase or a new one) or a holiday;
        # the best `beam_width` live children per account by optimistic value ----
        parent, p = none, none
        if f_acc.size:
            parent, p, f_acc, f_fam_sc, f_B, f_v, f_s, _ = expand(
                t, f_acc, f_fam_sc, f_v, f_s, owed, rec, moves.rule, act_ok, pay_c, act_vals,
                moves.child, moves.last, lo100, inv_w100, U100, V, last_cap, T_tail, inv_wt100,
                moves.amount, inc.threshold, cut_bound, search.beam_width, search.last_phase_width,
            )  # fmt: skip
        front, (parent, p) = with_cycles(cyc, t + 1, (f_acc, f_fam_sc, f_B, f_v, f_s), (parent, p))
        f_acc, f_fam_sc, f_B, f_v, f_s = front
        if f_acc.size == 0 and t + 1 > cyc.last:
            break
        layers.append((parent, p))

    found = np.flatnonzero(inc.month >= 0)
    paths = _backtrack_all(layers, inc.state[found], inc.final[found], inc.month[found])
    for a, path in zip(found.tolist(), paths, strict=True):
        walked = np.isnan(path)  # months before a walk's state: the walk's payments
        path[walked] = cyc.paid[a, : path.size][walked] / CENTS_PER_UNIT
    for a, path in zip(found.tolist(), paths, strict=True):
        inc_path[a] = path
    return _solutions(amounts, grid_step, inc_path, inc.value, cut_bound, root_bound, expanded)


def _solutions(
    amounts: np.ndarray,
    grid_step: np.ndarray,
    paths: list[np.ndarray | None],
    incumbent: np.ndarray,
    cut_bound: np.ndarray,
    root_bound: np.ndarray,
    expanded: int,
) -> list[RunSolution]:
    """One :class:`RunSolution` per account: the incumbent with its status and bound (the
    best value cut by the beam, capped by the root bound; none cut: optimal)."""
    out: list[RunSolution] = []
    for i, path in enumerate(paths):
        grid = amounts[i][np.isfinite(amounts[i])]
        if path is None:
            status = Status.INFEASIBLE if not np.isfinite(cut_bound[i]) else Status.FEASIBLE
            bound_i = float(max(cut_bound[i], -np.inf))
            out.append(
                RunSolution(
                    None, status, -np.inf, bound_i, np.inf, expanded, float(grid_step[i]), grid
                )
            )
            continue
        obj = float(incumbent[i])
        if np.isfinite(cut_bound[i]) and cut_bound[i] > obj:
            bound = float(min(cut_bound[i], max(root_bound[i], obj)))
            status = Status.FEASIBLE
        else:
            bound = obj
            status = Status.OPTIMAL
        gap = gap_to_bound(obj, bound)
        if gap <= 1e-9:
            status, bound, gap = Status.OPTIMAL, obj, 0.0
        out.append(RunSolution(path, status, obj, bound, gap, expanded, float(grid_step[i]), grid))
    return out


def _backtrack_all(
    layers: list[tuple[np.ndarray, np.ndarray]],
    state_id: np.ndarray,
    final_cents: np.ndarray,
    t: np.ndarray,
) -> list[np.ndarray]:
    """Payments (CNY) of the paths ending in ``state_id`` of months ``t``, plus their clearing payments.

    One compiled walk back through the months (:func:`solver.plans.beam_clearing.backtrack`).
    """
    if t.size == 0:
        return []
    used = layers[: int(t.max())]
    start = np.cumsum([0] + [p.size for p, _ in used])
    if used:
        parent = np.concatenate([p for p, _ in used])
        paid = np.concatenate([c for _, c in used])
    else:
        parent = paid = np.zeros(0, np.int64)
    pays = backtrack(parent, paid, start, state_id, final_cents, t)
    cny = pays.astype(float) / CENTS_PER_UNIT
    cny[pays < 0] = np.nan  # before a holiday-cycle walk's state (backtrack's mark)
    return [cny[r, : int(k) + 1].copy() for r, k in enumerate(t.tolist())]
