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
most ``grid_levels`` amounts; plus the payment affordable in every month (the smallest
cap) and the level instalments of the best ``instalment`` and capitalised ``deferral``
plans (so those plans are custom schedules and custom can only match or beat them).

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
the node spacing; :func:`solver.plans.choices._refine` certifies accounts whose gap exceeds
``SearchParams.target_gap`` (0.1 %) with finer tables. Because ``step`` ⊆ ``custom``,
custom's bound also bounds step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np

from solver.core.amortisation import to_units
from solver.core.schedule import CENTS_PER_UNIT
from solver.domain import Status
from solver.plans.beam_step import (
    backtrack,
    clearing_rows,
    expand,
    offer_clearing,
    owed_and_clearing,
)
from solver.plans.bounds import action_hazards, bound_at, bound_tables, grid_slack
from solver.plans.context import CAP_TOL, PlanContext, feasible_paths, grid_of, npv, phases

_RATE_SCALE = 10**12
_MONTHLY_DEN = 12 * _RATE_SCALE


@dataclass(frozen=True)
class SearchParams:
    """Solver parameters of the plan search (not policy: they trade time for proof).

    Parameters
    ----------
    grid_levels
        Most amounts on an account's payment grid for ``custom`` / ``step``.
    beam_width
        Most search states kept per account and month; larger proves optimality more
        often and costs time.
    buckets
        Balance intervals of the bounding dynamic programme per month (``buckets + 1``
        nodes); the bound's error shrinks with the square of the spacing.
    tail_bound
        Also bound states in their last phase (whose path is forced: one amount until
        cleared) by a table of that path (:func:`solver.plans.bounds._tail_tables`), which respects the phase
        limit; tighter pruning and ranking for about a third more time.
    last_phase_width
        If positive, states in their last phase (which do not branch) are kept in their
        own beam of this width instead of competing with the others for ``beam_width``.
    target_gap
        Certified relative gap aimed at: ``custom`` plans proved no closer are searched
        again with finer bound tables.
    refine_buckets
        The finer ``buckets`` to choose from for those plans (see ``solver.plans.choices._refine``).
    includes_default
        Run the default search first and make its grid and its custom and step plans
        part of this one, so this search never finds less (``thorough`` does).
    free_family
        ``custom`` as the free month-by-month family (issue 13): the better of the grid
        plan and a rollout on the free bound's tables, certified against the free bound
        (a bound over every policy-feasible amount, not the grid;
        :mod:`solver.plans.free_custom`). Costs the free bound per account.
    free_buckets
        Balance intervals of the free bound's tables (the rollout reads the same tables).
    free_refine_buckets
        Finer free tables, in order, for accounts whose free gap stays above ``target_gap``.
    """

    grid_levels: int = 12
    beam_width: int = 32
    buckets: int = 192
    tail_bound: bool = False
    last_phase_width: int = 0
    target_gap: float = 1e-3
    refine_buckets: tuple[int, ...] = (384, 768, 1536, 3072)
    includes_default: bool = False
    free_family: bool = False
    free_buckets: int = 384
    free_refine_buckets: tuple[int, ...] = (768, 1536)

    @classmethod
    def thorough(cls) -> SearchParams:
        """Finer grid, wider beam, finer and phase-aware bound, and ``custom`` as the free
        family (:attr:`free_family`): better plans, smaller gaps, slower."""
        return cls(
            grid_levels=16,
            beam_width=96,
            buckets=256,
            tail_bound=True,
            last_phase_width=96,
            target_gap=1e-4,
            refine_buckets=(512, 1024, 2048, 4096),
            includes_default=True,
            free_family=True,
        )

    def __post_init__(self) -> None:
        for name in ("grid_levels", "beam_width", "buckets", "free_buckets"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if int(self.last_phase_width) < 0:
            raise ValueError(f"last_phase_width must be at least 0, got {self.last_phase_width}")


@dataclass(frozen=True)
class RunSolution:
    """Best ``custom`` or ``step`` plan of one account.

    Attributes
    ----------
    payments
        Payment per month in CNY (the last one clears the balance), or ``None`` if
        no plan on the grid satisfies the policy.
    status
        ``OPTIMAL`` (proved), ``FEASIBLE`` (best found, with a bound) or ``INFEASIBLE``.
    objective, bound, gap
        Model NPV of the plan (float search), a proven upper bound on the best NPV
        within the family's grid, and ``(bound − objective) / |bound|``.
    states
        Search states expanded.
    """

    payments: np.ndarray | None
    status: Status
    objective: float
    bound: float
    gap: float
    states: int
    grid_step: float
    grid: np.ndarray


# --------------------------------------------------------------------------------------
# Cent-exact interest (same rule as solver.core.amortisation: half-up on rate taken to 12 decimals)
# --------------------------------------------------------------------------------------


def interest_cents(balance: np.ndarray, rate_units: np.ndarray) -> np.ndarray:
    """Monthly interest in cents on ``balance`` cents, rounded half-up (vectorised, exact)."""
    balance = np.asarray(balance, dtype=np.int64)
    x = balance.astype(float) * (rate_units.astype(float) / _MONTHLY_DEN)
    out = np.floor(x + 0.5).astype(np.int64)
    frac = x - np.floor(x)
    near = np.abs(frac - 0.5) < 1e-5
    if near.any():
        idx = np.flatnonzero(near)
        for i in idx:
            b, ru = int(balance.flat[i]), int(rate_units.flat[i])
            out.flat[i] = (2 * b * ru + _MONTHLY_DEN) // (2 * _MONTHLY_DEN)
    return out


def grid_cents(amounts: np.ndarray, grid: int) -> np.ndarray:
    """Non-negative amounts (currency units) in integer cents on the money grid of ``grid``
    units per currency unit (:func:`solver.core.currency.money_grid`: 100 hundredths, 1
    whole yen), rounded half-up to the grid as the schedules round them (the money
    engine's own rounding, :func:`solver.core.amortisation.to_cents` vectorised); −1 where
    an amount is missing (NaN).

    The search's one conversion into cents: the opening balances, the payment grid (on
    the rounding unit, so on the grid already) and the seeds' payments."""
    amounts = np.asarray(amounts, dtype=float)
    known = np.isfinite(amounts)
    units = to_units(np.where(known, amounts, 0.0), grid=grid)
    return np.where(known, units * (CENTS_PER_UNIT // grid), -1)


# --------------------------------------------------------------------------------------
# Payment grids
# --------------------------------------------------------------------------------------


def payment_grids(
    ctx: PlanContext, grid_levels: int, extra: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Payment grid per account: amounts (n, G) in CNY (NaN-padded) and the step Δ (n,).

    The grid hangs from the top: the largest affordable payment of any month (rounded
    down to the rounding unit), then steps of Δ down to ``min_payment``; plus the
    largest payment affordable in every month (the flat cap) and the ``extra`` amounts
    (n, k) (e.g. the best level instalments). Tight accounts need payments at the caps,
    so the caps are on the grid.
    """
    pol = ctx.policy
    unit = pol.rounding
    cap = np.where(np.isfinite(ctx.cap), ctx.cap, -np.inf)
    top = np.floor(np.max(cap, axis=1) / unit + 1e-9) * unit
    low = np.ceil(max(pol.min_payment, unit) / unit - 1e-9) * unit
    span = np.maximum(top - low, 0.0)
    step = np.maximum(unit, np.ceil(span / max(grid_levels - 1, 1) / unit - 1e-9) * unit)
    count = np.where(top >= low, np.floor(span / step + 1e-9).astype(np.int64) + 1, 0)
    count = np.minimum(count, grid_levels)
    G = int(max(count.max(initial=0), 1))
    k = np.arange(G)[None, :]
    amounts = np.where(k < count[:, None], top[:, None] - k * step[:, None], np.nan)
    flat = np.floor(np.min(cap, axis=1) / unit + 1e-9) * unit
    cols = [amounts, np.where(flat >= low, flat, np.nan)[:, None]]
    if extra is not None and extra.size:
        cols.append(extra)
    amounts = np.concatenate(cols, axis=1)
    amounts = np.where(
        (amounts >= pol.min_payment - 1e-9) & (amounts <= top[:, None] + 1e-9), amounts, np.nan
    )
    amounts = np.sort(np.round(amounts, 2), axis=1)  # NaNs last
    dup = np.zeros_like(amounts, dtype=bool)
    dup[:, 1:] = amounts[:, 1:] == amounts[:, :-1]
    amounts = np.sort(np.where(dup, np.nan, amounts), axis=1)
    width = int(max(np.isfinite(amounts).sum(axis=1).max(initial=0), 1))
    return amounts[:, :width], step


def holiday_months(ctx: PlanContext) -> np.ndarray:
    """Months a plan may start with a capitalised holiday, per account: up to
    ``max_deferral_months`` (and before the last month) if ``capitalize`` is allowed."""
    pol = ctx.policy
    can_hold = "capitalize" in pol.deferral_interest
    return np.full(
        len(ctx), min(pol.max_deferral_months, ctx.horizon - 1) if can_hold else 0, dtype=np.int64
    )


# --------------------------------------------------------------------------------------
# Branch and bound over exact states
# --------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class _Moves:
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
def _phase_moves(G: int, K: int) -> _Moves:
    """:class:`_Moves` for a grid of G amounts and at most K phases (built once per (G, K)
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
    return _Moves(
        rule=np.ascontiguousarray(rule.reshape(2 * S, nA)),
        child=child.reshape(-1),
        last=((child_k >= K) & (col[None, None, :] < G)).reshape(-1),
        not_last=np.concatenate([np.ones(S, bool), sc_k < K]),
        amount=sc_g,
        codes=S,
    )


def _search_actions(
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


def _last_phase_reach(ctx: PlanContext, pay_c: np.ndarray, on: int) -> np.ndarray:
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
    V, T_tail, U100, inv_w100, lo100, inv_wt100 = _table_views(tables, n)
    moves = _phase_moves(amounts.shape[1], pol.max_payment_levels)
    # the one conversion into cents on the policy currency's money grid (whole yen for
    # JPY: balances and interest on it, as solver.core.amortisation builds the schedules)
    grid = grid_of(ctx)
    on = CENTS_PER_UNIT // grid  # cents per grid step
    amt_c = grid_cents(amounts, grid)
    pay_c, cap_c, act_ok, act_vals = _search_actions(ctx, amt_c, holiday, hazards)
    last_cap = _last_phase_reach(ctx, pay_c, on)
    rate_units = np.round(ctx.fields["annual_rate"] * _RATE_SCALE).astype(np.int64)
    rate_f = rate_units.astype(float) / _MONTHLY_DEN
    disc, disc_lag = ctx.discount, ctx.discount_lag
    acc_all = np.arange(n)
    B0c = grid_cents(ctx.balance, grid)
    root_bound = bound_at(tables, acc_all, 0, B0c / CENTS_PER_UNIT)

    start, inc_path = _seed_incumbents(ctx, seeds, amt_c, holiday, increasing)
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

    # frontier (sorted by account): holiday state (k = 0, g = -1) with the opening balance
    f_acc: Any = acc_all.copy()
    f_fam_sc: Any = inc_S.copy()  # (family, sc)
    f_B: Any = B0c.copy()
    f_v: Any = np.zeros(n)
    f_s: Any = np.ones(n)
    layers: list[tuple[np.ndarray, np.ndarray]] = []  # per month: (parent index, payment cents)
    expanded = 0
    for t in range(H):
        if f_acc.size == 0:
            break
        expanded += f_acc.size
        rec = ctx.kernel.recovery(f_acc, f_B / CENTS_PER_UNIT, t)
        # ---- what each state owes; clearing payments (end the plan this month) ----
        rule = (f_fam_sc, cap_cT[t], moves.not_last, moves.amount, pay_c, moves.codes)
        owed, near, ci = owed_and_clearing(f_B, f_acc, rate_f, on, rule)
        if near.size:  # within float noise of half a unit: exact integers, then again
            _exact_owed(owed, near, f_B, f_acc, rate_units, on)
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
        parent, p, f_acc, f_fam_sc, f_B, f_v, f_s, any_move = expand(
            t, f_acc, f_fam_sc, f_v, f_s, owed, rec, moves.rule, act_ok, pay_c, act_vals,
            moves.child, moves.last, lo100, inv_w100, U100, V, last_cap, T_tail, inv_wt100,
            moves.amount, inc.threshold, cut_bound, search.beam_width, search.last_phase_width,
        )  # fmt: skip
        if not any_move or f_acc.size == 0:
            break
        layers.append((parent, p))

    found = np.flatnonzero(inc.month >= 0)
    paths = _backtrack_all(layers, inc.state[found], inc.final[found], inc.month[found])
    for a, path in zip(found.tolist(), paths, strict=True):
        inc_path[a] = path
    return _solutions(amounts, grid_step, inc_path, inc.value, cut_bound, root_bound, expanded)


def _table_views(tables: tuple[np.ndarray, ...], n: int) -> tuple[np.ndarray, ...]:
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


def _seed_incumbents(
    ctx: PlanContext,
    seeds: list[list[tuple[np.ndarray, np.ndarray]]] | None,
    amt_c: np.ndarray,
    holiday: np.ndarray,
    increasing: bool | np.ndarray,
) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Value and payment path of each account's best qualifying seed (:func:`seed_values`;
    −inf and ``None`` where none qualifies): the search's first incumbents. ``amt_c``:
    the grid in cents (:func:`grid_cents`)."""
    n = len(ctx)
    start = np.full(n, -np.inf)
    inc_path: list[np.ndarray | None] = [None] * n
    if seeds is not None:
        values = seed_values(ctx, seeds, amt_c, holiday, increasing)
        for i, lst in enumerate(seeds):
            for (pay, _), val in zip(lst, values[i], strict=True):
                if val > start[i]:
                    start[i], inc_path[i] = val, np.asarray(pay, float)
    return start, inc_path


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
        gap = (bound - obj) / abs(bound) if bound != 0 else 0.0
        if gap <= 1e-9:
            status, bound, gap = Status.OPTIMAL, obj, 0.0
        out.append(RunSolution(path, status, obj, bound, gap, expanded, float(grid_step[i]), grid))
    return out


def _exact_owed(
    owed: np.ndarray,
    near: np.ndarray,
    balance: np.ndarray,
    acc: np.ndarray,
    rate_units: np.ndarray,
    on: int,
) -> None:
    """Redo in place, at the rows ``near`` (interest within float noise of half a grid
    unit), what :func:`solver.plans.beam_step.owed_cents` computed in float: balance plus
    the month's interest in cents, by the exact integer rule of :func:`interest_cents`
    (rate ``rate_units`` / 10¹² a year; ``on`` cents per grid unit, 100 for whole yen)."""
    for k in near.tolist():
        b, ru = int(balance[k]) // on, int(rate_units[acc[k]])
        owed[k] = (b + (2 * b * ru + _MONTHLY_DEN) // (2 * _MONTHLY_DEN)) * on


def _backtrack_all(
    layers: list[tuple[np.ndarray, np.ndarray]],
    state_id: np.ndarray,
    final_cents: np.ndarray,
    t: np.ndarray,
) -> list[np.ndarray]:
    """Payments (CNY) of the paths ending in ``state_id`` of months ``t``, plus their clearing payments.

    One compiled walk back through the months (:func:`solver.plans.beam_step.backtrack`).
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
    return [cny[r, : int(k) + 1].copy() for r, k in enumerate(t.tolist())]


def seed_values(
    ctx: PlanContext,
    seeds: list[list[tuple[np.ndarray, np.ndarray]]],
    amt_c: np.ndarray,
    holiday: np.ndarray,
    increasing: bool | np.ndarray,
) -> list[list[float]]:
    """Model value of each seed schedule that is a feasible path of the family, else −inf.

    A seed is ``(payments, exposures)`` of a cent-exact schedule at the contract rate on
    the account's full balance. It qualifies when its non-final payments are grid
    amounts (``amt_c``, the grid in cents: :func:`grid_cents`), its zero months form a leading holiday of at most ``holiday``
    months, (for ``step``) its phases never go down, and it passes the policy caps.
    """
    out: list[list[float]] = [[-np.inf] * len(lst) for lst in seeds]
    rows = [(i, k) for i, lst in enumerate(seeds) for k in range(len(lst))]
    if not rows:
        return out
    H = ctx.horizon
    R = len(rows)
    P = np.zeros((R, H))
    E = np.zeros((R, H))
    term = np.zeros(R, np.int64)
    for r, (i, k) in enumerate(rows):
        pay, exp = seeds[i][k]
        T = min(np.size(pay), H)
        term[r] = np.size(pay)
        P[r, :T] = np.asarray(pay, float)[:T]
        E[r, :T] = np.asarray(exp, float)[:T]
    acc = np.array([i for i, _ in rows])
    cents = grid_cents(P, grid_of(ctx))
    # the seed opens on the balance rounded to the money grid: within half a grid step
    # (half a cent; half a yen for JPY, whose balances may come in with sen)
    half, _ = grid_slack(ctx)
    ok = (term >= 1) & (term <= H) & (np.abs(E[:, 0] - ctx.balance[acc]) <= half)
    j = np.arange(H)[None, :]
    body = j < (term - 1)[:, None]
    zero = body & (cents == 0)
    n_zero = zero.sum(axis=1)
    ok &= (zero == (j < n_zero[:, None])).all(axis=1)  # zeros only as a leading holiday
    ok &= n_zero <= holiday[acc]
    paid = body & (cents > 0)
    grid_c = amt_c[acc]
    on_grid = (cents[:, :, None] == grid_c[:, None, :]).any(axis=2)
    ok &= ~(paid & ~on_grid).any(axis=1)
    rising = np.broadcast_to(np.asarray(increasing, dtype=bool), (len(seeds),))[acc]
    if rising.any():
        down = paid[:, 1:] & paid[:, :-1] & (cents[:, 1:] < cents[:, :-1])
        ok &= ~(down.any(axis=1) & rising)
    ok &= feasible_paths(ctx, acc, P, term)
    ok &= ~rising | (phases(P, term) <= ctx.policy.max_payment_levels)  # custom has no limit
    good = np.flatnonzero(ok)
    if good.size:
        val = npv(ctx, acc[good], P[good], E[good], term[good])
        for r, v in zip(good.tolist(), val.tolist(), strict=True):
            a, k = rows[r]
            out[a][k] = float(v)
    return out
