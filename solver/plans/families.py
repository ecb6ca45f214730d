"""Plan families with level instalments and their exhaustive grids (SPEC §6).

Each family generator returns a :class:`Candidates` table for the accounts of a
:class:`~solver.plans.context.PlanContext`: one row per candidate plan (account, opening
balance, rate, holiday, term, …), vectorised over accounts and candidates. The rows are
scored by :mod:`solver.plans.scoring` and the winners rebuilt as cent-exact schedules by
:mod:`solver.plans.choices`.

Search grids (all exhaustive). Each grid is fixed and only *cut* by the policy, so
relaxing a policy limit only adds candidate plans and a family's best NPV never falls
(tests/test_plan_monotone.py):

* ``instalment``: balance = principal + interest_due + fees_due at the contract rate,
  term 1…``max_term_months``;
* ``deferral``: holiday of 1…``max_deferral_months`` months in each allowed interest mode,
  then level instalments; total term (holiday included) up to ``max_term_months``;
* ``concession``: rates on a ladder of 1 % a year below the contract rate, down to
  ``rate_floor`` (:data:`CONCESSION_STEP`), × waivers of 0, ½ or all of the fees and of
  the accrued interest (each up to its policy maximum) × terms of 1…5 months and then
  6, 12, 18, … months (the usual tenors) up to ``max_term_months``; at least a cut or a
  waiver;
* ``settlement``: forgiveness in steps of 1 % of the balance up to the policy room, applied
  to fees first, then interest, then principal (each up to its policy maximum), paid
  interest-free as a lump sum or over 2…6 months;
* ``waterfall``: the HAMP-style reference heuristic (one plan per account,
  :class:`WaterfallWalk`): the first step, in SPEC §6 order, whose instalment meets
  ``max_dti`` on current income and whose cent schedule passes the whole policy check
  (every policy limit is part of the stop test; session 17, lead's decision). It is
  first-fit, not best-of, so unlike the families above its NPV can move either way when
  the policy is relaxed; its *feasibility* cannot be lost (the step it stopped at stays
  feasible and stays in the walk) when ``max_dti``, ``min_afford_prob``,
  ``min_residual_income``, ``max_haircut`` or a limit it does not use (deferral,
  waivers) is relaxed. ``max_term_months`` and ``rate_floor`` move steps, not only add
  them (a contract longer than the cap is capitalised over the cap, and forbearance runs
  over the cap; the extensions and forbearance run at the lowest rate): the moved step's
  instalment is lower and can fall below ``min_payment``, so for these two the guarantee
  is not unconditional (tests/test_plan_monotone.py checks ``max_term_months`` where
  the remaining term fits the old cap and the stop is before forbearance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from solver.core.annuity import level_payment
from solver.core.waterfall import to_units
from solver.domain import DEFERRAL_MODES
from solver.plans.context import PlanContext, grid_of, over_cap
from solver.plans.terms import PlanTerms

MODE_CODES = {"capitalize": 0, "interest_only": 1, "waive": 2}
MODE_NAMES = DEFERRAL_MODES  # mode codes 0, 1, 2 index this
RATE_STEP = 0.00125  # 0.125 % a year: the HAMP rate-cut step (waterfall)
CONCESSION_STEP = 0.01  # 1 % a year: the concession family's rate ladder
CONCESSION_TERM_STEP = 6  # concession terms: 6, 12, 18, … months (the usual tenors)
WAIVER_SHARES = np.array([0.0, 0.5, 1.0])  # shares of fees / accrued interest a concession waives
SETTLEMENT_MONTHS = 6
SETTLEMENT_STEP = 0.01


@dataclass
class Candidates:
    """Level-instalment candidate plans (one row each).

    ``balance`` is the interest-bearing opening balance; ``balloon`` an interest-free part
    owed on top and paid with the last instalment (principal forbearance).
    """

    family: str
    acc: np.ndarray
    balance: np.ndarray
    rate: np.ndarray
    deferral: np.ndarray
    mode: np.ndarray
    term: np.ndarray
    balloon: np.ndarray
    fee_waiver: np.ndarray
    interest_waiver: np.ndarray
    haircut: np.ndarray
    waterfall_step: Any = None

    def __len__(self) -> int:
        return int(self.acc.shape[0])

    def take(self, idx: np.ndarray) -> Candidates:
        kw = {k: (v[idx] if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}
        return Candidates(**kw)

    def terms(self, i: int, levels: tuple[float, ...] | None = None) -> PlanTerms:
        """The plan terms of row ``i`` (for reports), with its payment ``levels`` if known."""
        return PlanTerms(
            term=int(self.term[i]),
            deferral_months=int(self.deferral[i]),
            deferral_mode=MODE_NAMES[int(self.mode[i])] if self.deferral[i] > 0 else None,
            rate=round(float(self.rate[i]), 6),
            fee_waiver=round(float(self.fee_waiver[i]), 6),
            interest_waiver=round(float(self.interest_waiver[i]), 6),
            haircut=round(float(self.haircut[i]), 6),
            forbearance=round(float(self.balloon[i]), 2),
            waterfall_step=None
            if self.waterfall_step is None
            else WATERFALL_STEPS[int(self.waterfall_step[i])],
            levels=levels,
        )


def _make(
    family: str,
    acc,
    balance,
    rate,
    deferral=0,
    mode=0,
    term=1,
    balloon=0.0,
    fee_waiver=0.0,
    interest_waiver=0.0,
    haircut=0.0,
    waterfall_step=None,
) -> Candidates:
    acc = np.asarray(acc, dtype=np.int64)
    n = acc.shape[0]

    def arr(x, dtype=float):
        x = np.asarray(x, dtype=dtype)
        if x.ndim == 0:
            return np.full(n, x, dtype=dtype)
        return x.copy() if x.shape == (n,) else np.broadcast_to(x, (n,)).copy()

    return Candidates(
        family=family,
        acc=acc,
        balance=arr(balance),
        rate=arr(rate),
        deferral=arr(deferral, np.int64),
        mode=arr(mode, np.int64),
        term=arr(term, np.int64),
        balloon=arr(balloon),
        fee_waiver=arr(fee_waiver),
        interest_waiver=arr(interest_waiver),
        haircut=arr(haircut),
        waterfall_step=None if waterfall_step is None else arr(waterfall_step, np.int64),
    )


def _grid(n_acc: int, *axes: np.ndarray) -> list[np.ndarray]:
    """Cartesian product of account indices with parameter axes, flattened."""
    mesh = np.meshgrid(np.arange(n_acc), *axes, indexing="ij")
    return [m.ravel() for m in mesh]


def instalment_candidates(ctx: PlanContext) -> Candidates:
    """Capitalise everything; level instalments at the contract rate over 1…H months."""
    acc, term = _grid(len(ctx), np.arange(1, ctx.horizon + 1))
    return _make("instalment", acc, ctx.balance[acc], ctx.fields["annual_rate"][acc], term=term)


def deferral_candidates(ctx: PlanContext) -> Candidates:
    """Holiday of 1…max_deferral months in each allowed mode, then level instalments."""
    pol = ctx.policy
    dmax = min(pol.max_deferral_months, ctx.horizon - 1)
    modes = np.array([MODE_CODES[m] for m in pol.deferral_interest], dtype=np.int64)
    if dmax < 1 or modes.size == 0:
        return _make("deferral", np.zeros(0, np.int64), 0.0, 0.0)
    acc, d, mode, term = _grid(
        len(ctx), np.arange(1, dmax + 1), modes, np.arange(2, ctx.horizon + 1)
    )
    keep = term > d
    acc, d, mode, term = acc[keep], d[keep], mode[keep], term[keep]
    return _make(
        "deferral",
        acc,
        ctx.balance[acc],
        ctx.fields["annual_rate"][acc],
        deferral=d,
        mode=mode,
        term=term,
    )


def concession_terms(horizon: int) -> np.ndarray:
    """Concession terms up to ``horizon``: 1…5 months, then 6, 12, 18, … (a fixed set cut
    by ``max_term_months``, so a higher cap only adds terms)."""
    short = np.arange(1, min(CONCESSION_TERM_STEP, horizon + 1))
    tenors = np.arange(CONCESSION_TERM_STEP, horizon + 1, CONCESSION_TERM_STEP)
    return np.concatenate([short, tenors])


def concession_candidates(ctx: PlanContext) -> Candidates:
    """Rate cuts × fee and interest waivers × terms, level instalments (SPEC §6 ``concession``).

    The grid is fixed and only cut by the policy, so relaxing a policy limit only adds
    plans (the best NPV can only rise): rates on a ladder of :data:`CONCESSION_STEP`
    below the contract rate down to ``rate_floor``, waivers of :data:`WAIVER_SHARES` of
    the fees and of the accrued interest up to their policy maxima, and terms that are
    multiples of :data:`CONCESSION_TERM_STEP` up to ``max_term_months``. A concession
    cuts the rate or waives something (the rest is the ``instalment`` family).
    """
    pol, f = ctx.policy, ctx.fields
    rate = f["annual_rate"]
    rungs = int(
        np.floor(max(0.0, float(rate.max(initial=0.0)) - pol.rate_floor) / CONCESSION_STEP + 1e-9)
    )
    steps = np.arange(0, rungs + 1)
    fee_w = WAIVER_SHARES[WAIVER_SHARES <= pol.max_fee_waiver + 1e-12]
    int_w = WAIVER_SHARES[WAIVER_SHARES <= pol.max_interest_waiver + 1e-12]
    terms = concession_terms(ctx.horizon)
    acc, k, fw, iw, term = _grid(len(ctx), steps, fee_w, int_w, terms)
    r = rate[acc] - k * CONCESSION_STEP
    valid = (r >= pol.rate_floor - 1e-12) & ((k > 0) | (fw > 0) | (iw > 0))
    # a waiver of nothing is no waiver: keep one row
    valid &= ((fw == 0) | (f["fees_due"][acc] > 0)) & ((iw == 0) | (f["interest_due"][acc] > 0))
    acc, r, fw, iw, term = acc[valid], np.maximum(r[valid], 0.0), fw[valid], iw[valid], term[valid]
    bal = f["principal"][acc] + f["interest_due"][acc] * (1 - iw) + f["fees_due"][acc] * (1 - fw)
    return _make("concession", acc, bal, r, term=term, fee_waiver=fw, interest_waiver=iw)


def settlement_candidates(ctx: PlanContext) -> Candidates:
    """Forgiveness (fees, then interest, then principal) paid interest-free in 1…6 months."""
    pol, f = ctx.policy, ctx.fields
    bal = ctx.balance
    fee_room = pol.max_fee_waiver * f["fees_due"]
    int_room = pol.max_interest_waiver * f["interest_due"]
    prin_room = pol.max_haircut * f["principal"]
    room = fee_room + int_room + prin_room
    n_steps = int(np.floor(float((room / bal).max(initial=0.0)) / SETTLEMENT_STEP + 1e-9))
    # a fixed grid cut by the policy room (no endpoint at the room itself): relaxing a
    # waiver or haircut limit only adds plans
    shares = np.arange(0, n_steps + 1) * SETTLEMENT_STEP
    months = np.arange(1, min(SETTLEMENT_MONTHS, ctx.horizon) + 1)
    acc, share, m = _grid(len(ctx), shares, months)
    forgive = share * bal[acc]
    keep = forgive <= room[acc] * (1 + 1e-12) + 1e-9
    acc, forgive, m = acc[keep], np.minimum(forgive[keep], room[acc[keep]]), m[keep]
    fee_part = np.minimum(forgive, fee_room[acc])
    int_part = np.minimum(forgive - fee_part, int_room[acc])
    prin_part = np.maximum(0.0, forgive - fee_part - int_part)
    with np.errstate(divide="ignore", invalid="ignore"):
        fw = np.where(f["fees_due"][acc] > 0, fee_part / f["fees_due"][acc], 0.0)
        iw = np.where(f["interest_due"][acc] > 0, int_part / f["interest_due"][acc], 0.0)
        hc = np.where(f["principal"][acc] > 0, prin_part / f["principal"][acc], 0.0)
    # a settlement forgives something or pays off at once
    keep = (forgive > 0) | (m == 1)
    # the amount paid on the money grid: the schedule's own balance
    # (schedules.settlement_schedule rounds it so and derives the instalment from that),
    # so the search scores the instalments it reports (23.280379 over 3 months is 7.76
    # three times, not 7.77, 7.77, 7.74)
    owed = to_units((bal[acc] - forgive)[keep], "settlement", grid_of(ctx)) / grid_of(ctx)
    return _make(
        "settlement",
        acc[keep],
        owed,
        0.0,
        term=m[keep],
        fee_waiver=fw[keep],
        interest_waiver=iw[keep],
        haircut=hc[keep],
    )


WATERFALL_STEPS = ("capitalize", "rate_cut", "term_extension", "forbearance", "none")
FORBEARANCE_STEP = 0.01  # waterfall forbearance amounts: multiples of 1 % of the principal


@dataclass(frozen=True)
class WaterfallWalk:
    """Every step of each account's HAMP-style waterfall, in SPEC §6 order (columns).

    Columns: capitalise (the contract rate over the remaining term); rate cuts of
    :data:`RATE_STEP` down to max(2 %, ``rate_floor``); terms 1…``max_term_months`` at the
    lowest rate (a step where longer than the remaining term: the term extensions); then
    forbearance of 1, 2, … × :data:`FORBEARANCE_STEP` of the principal (an interest-free
    balloon, up to ``max_haircut``) over ``max_term_months`` at the lowest rate. Columns an
    account does not have (fewer cuts, terms not longer than its remaining term) are not
    ``valid``.

    Attributes
    ----------
    step
        The :data:`WATERFALL_STEPS` code of each column (S,).
    balance, rate, term, balloon
        Each step's interest-bearing balance (the restructured balance less the
        balloon), annual rate, term and balloon (n, S).
    meets
        A valid step whose level instalment meets ``max_dti`` on *current* income,
        ``other_debt + p ≤ max_dti × income`` (the HAMP target; the float annuity).
    screened
        ``meets`` and a float screen of the rest of the policy (:func:`_policy_screen`)
        that never rejects a step whose cent schedule passes it.
    """

    step: np.ndarray
    balance: np.ndarray
    rate: np.ndarray
    term: np.ndarray
    balloon: np.ndarray
    meets: np.ndarray
    screened: np.ndarray

    def plans(self, acc: np.ndarray, col: np.ndarray) -> Candidates:
        """The steps ``col`` of accounts ``acc`` as level-plan candidates."""
        return _make(
            "waterfall",
            acc,
            self.balance[acc, col],
            self.rate[acc, col],
            term=self.term[acc, col],
            balloon=self.balloon[acc, col],
            waterfall_step=self.step[col],
        )


def waterfall_walk(ctx: PlanContext) -> WaterfallWalk:
    """The steps of every account's waterfall (:class:`WaterfallWalk`), vectorised.

    Each block's grid is fixed and grows with the policy at its end (more rate cuts for
    a lower ``rate_floor``, more terms for a longer ``max_term_months``, more forbearance
    amounts for a larger ``max_haircut``; the two limits that also move steps: the
    module docstring); ``meets`` and ``screened`` only loosen as ``max_dti``,
    ``min_residual_income`` or ``min_afford_prob`` are relaxed.
    """
    pol, f = ctx.policy, ctx.fields
    n, H = len(ctx), ctx.horizon
    rate = f["annual_rate"]
    term0 = np.clip(f["remaining_term"].astype(np.int64), 1, H)
    floor_rate = max(0.02, pol.rate_floor)
    low = np.where(rate > floor_rate, floor_rate, rate)  # the rate after all cuts
    n_cuts = np.ceil(np.maximum(0.0, rate - floor_rate) / RATE_STEP - 1e-9).astype(np.int64)
    cuts = np.arange(0, int(n_cuts.max(initial=0)) + 1)  # cut 0: capitalise
    terms = np.arange(1, H + 1)
    n_shares = int(np.floor(pol.max_haircut / FORBEARANCE_STEP + 1e-9))
    shares = np.arange(1, n_shares + 1) * FORBEARANCE_STEP
    widths = (cuts.size, terms.size, shares.size)

    def blocks(*parts: Any) -> np.ndarray:
        """The three blocks (capitalise and cuts, terms, forbearance) side by side (n, S)."""
        return np.concatenate(
            [np.broadcast_to(p, (n, w)) for p, w in zip(parts, widths, strict=True)], axis=1
        )

    cut_rates = np.maximum(rate[:, None] - cuts * RATE_STEP, floor_rate)
    cut_rates[:, 0] = rate  # capitalise at the contract rate, even one below the floor
    rates = blocks(cut_rates, low[:, None], low[:, None])
    term = blocks(term0[:, None], terms, H)
    balloon = blocks(0.0, 0.0, f["principal"][:, None] * shares)
    valid = blocks(
        cuts <= n_cuts[:, None], terms > term0[:, None], balloon[:, cuts.size + terms.size :] > 0
    )
    step = np.concatenate([np.minimum(cuts, 1), np.full(terms.size, 2), np.full(n_shares, 3)])
    balance = ctx.balance[:, None] - balloon
    pay = np.asarray(level_payment(balance, rates, term), dtype=float)
    target = pol.max_dti * f["income"] - f["other_debt"]
    meets = valid & (pay <= target[:, None])
    screened = meets & _policy_screen(ctx, pay, term, balloon)
    return WaterfallWalk(step, balance, rates, term, balloon, meets, screened)


def _policy_screen(
    ctx: PlanContext, pay: np.ndarray, term: np.ndarray, balloon: np.ndarray
) -> np.ndarray:
    """A float screen of the policy check (:func:`~solver.plans.schedules.schedule_ok`)
    for level plans of instalment ``pay`` (the annuity), ``term`` and ``balloon`` (n, S):
    ``False`` only where the cent schedule must fail it.

    The cent schedule's level instalment lies within :func:`_level_slack` of the annuity
    (``amortisation.level_plan``'s rule: rounded up to ``rounding`` -- one more unit when
    the interest's cent rounding would leave a last payment above it --, else the largest
    multiple below it, on the balance rounded to the money grid). So the screen tests the
    affordability caps (``ctx.cap``: ``max_dti`` on expected income,
    ``min_residual_income``, ``min_afford_prob``) of the months before the last on
    ``pay − slack`` and ``min_payment`` on ``pay + slack``; the last month pays the
    balloon plus a positive rest (the whole instalment in a one-month plan).
    """
    slack = _level_slack(ctx)
    before_last = np.minimum.accumulate(ctx.cap, axis=1)  # the lowest cap up to each month
    acc = np.arange(pay.shape[0])[:, None]
    single = term == 1
    prior = before_last[acc, np.maximum(term - 2, 0)]
    ok_before = single | (
        ~over_cap(pay - slack, prior) & (pay + slack >= ctx.policy.min_payment - 1e-9)
    )
    last = balloon + np.where(single, pay - slack, 0.0)
    return ok_before & ~over_cap(last, ctx.cap[acc, term - 1])


def _level_slack(ctx: PlanContext) -> float:
    """How far a cent schedule's level instalment can lie from the float annuity: two
    rounding units (rounded up, plus the one more unit of ``level_plan``'s rule 1) and
    three money-grid units (the balance rounded to the grid, the interest's rounding)."""
    grid = grid_of(ctx)
    return 2 * max(ctx.policy.rounding, 1 / grid) + 3 / grid


def waterfall_candidates(ctx: PlanContext, walk: WaterfallWalk | None = None) -> Candidates:
    """The first step of each account's waterfall that meets ``max_dti`` on current
    income and passes the float screen of the policy (:class:`WaterfallWalk`), one row
    per account: the plan the cent check tries first (SPEC §6; most accounts stop here).

    Accounts with no such step get ``waterfall_step = "none"`` and the row of their first
    step meeting the target (the capitalised plan when none does).
    """
    walk = waterfall_walk(ctx) if walk is None else walk
    has = walk.screened.any(axis=1)
    col = np.where(has, np.argmax(walk.screened, axis=1), np.argmax(walk.meets, axis=1))
    cand = walk.plans(np.arange(len(ctx)), col)
    cand.waterfall_step[~has] = WATERFALL_STEPS.index("none")
    return cand


def concat(parts: list[Candidates]) -> Candidates:
    """Stack candidate tables (family of the first)."""
    parts = [p for p in parts if len(p)] or parts[:1]
    kw: dict[str, Any] = {"family": parts[0].family}
    for name in (
        "acc",
        "balance",
        "rate",
        "deferral",
        "mode",
        "term",
        "balloon",
        "fee_waiver",
        "interest_waiver",
        "haircut",
    ):
        kw[name] = np.concatenate([getattr(p, name) for p in parts])
    kw["waterfall_step"] = None
    return Candidates(**kw)
