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
* ``waterfall``: the HAMP-style reference heuristic (one plan per account). SPEC §6
  defines it as first-fit, so unlike the families above its NPV is not monotone in the
  policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from solver.core.annuity import level_payment
from solver.core.waterfall import to_units
from solver.domain import DEFERRAL_MODES
from solver.plans.context import PlanContext, grid_of
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


def waterfall_candidates(ctx: PlanContext) -> Candidates:
    """The HAMP-style waterfall, one plan per account (SPEC §6).

    Capitalise arrears, interest and fees over the remaining term; cut the rate in
    0.125 % steps down to max(2 %, rate_floor); extend the term up to max_term_months;
    forbear principal (an interest-free balloon ≤ max_haircut × principal). Stop at the
    first plan whose instalment meets max_dti on *current* income
    (``other_debt + p ≤ max_dti × income``). Accounts where no step reaches the target
    get ``waterfall_step = "none"`` (their row carries the last plan tried).
    """
    pol, f = ctx.policy, ctx.fields
    n = len(ctx)
    bal = ctx.balance
    rate = f["annual_rate"]
    target = pol.max_dti * f["income"] - f["other_debt"]
    term0 = np.clip(f["remaining_term"].astype(np.int64), 1, ctx.horizon)
    floor_rate = max(0.02, pol.rate_floor)

    def pay(b, r, t):
        return np.asarray(level_payment(b, r, t), dtype=float)

    out_rate = rate.copy()
    out_term = term0.copy()
    out_balloon = np.zeros(n)
    step = np.full(n, 4, dtype=np.int64)
    # 1. capitalise over the remaining term
    ok = pay(bal, rate, term0) <= target
    step[ok] = 0
    # 2. rate cut in 0.125 % steps
    n_cuts = np.ceil(np.maximum(0.0, rate - floor_rate) / RATE_STEP - 1e-9).astype(np.int64)
    kmax = int(n_cuts.max(initial=0))
    if kmax > 0:
        ks = np.arange(1, kmax + 1)
        rates = np.maximum(rate[:, None] - ks[None, :] * RATE_STEP, floor_rate)
        pays = pay(bal[:, None], rates, term0[:, None])
        meets = (pays <= target[:, None]) & (ks[None, :] <= n_cuts[:, None])
        first = np.argmax(meets, axis=1)
        hit = meets.any(axis=1) & (step == 4)
        out_rate[hit] = rates[hit, first[hit]]
        step[hit] = 1
    rest = step == 4
    low = np.where(rate > floor_rate, floor_rate, rate)  # the rate after all cuts
    out_rate[rest] = low[rest]
    # 3. term extension at the lowest rate
    terms = np.arange(1, ctx.horizon + 1)
    pays = pay(bal[:, None], low[:, None], terms[None, :])
    meets = (pays <= target[:, None]) & (terms[None, :] > term0[:, None])
    first = np.argmax(meets, axis=1)
    hit = meets.any(axis=1) & rest
    out_term[hit] = terms[first[hit]]
    step[hit] = 2
    rest = step == 4
    out_term[rest] = np.maximum(term0[rest], ctx.horizon)
    # 4. principal forbearance: the target instalment amortises what it can, the rest is a balloon
    with np.errstate(divide="ignore", invalid="ignore"):
        r_m = low / 12.0
        n_t = out_term.astype(float)
        annuity = np.where(r_m > 0, (1 - (1 + r_m) ** -n_t) / np.where(r_m > 0, r_m, 1.0), n_t)
    carried = np.maximum(0.0, target) * annuity
    forborne = bal - carried
    hit = (
        rest & (target > 0) & (forborne <= pol.max_haircut * f["principal"] + 1e-9) & (forborne > 0)
    )
    out_balloon[hit] = forborne[hit]
    step[hit] = 3
    return _make(
        "waterfall",
        np.arange(n),
        bal - out_balloon,
        out_rate,
        term=out_term,
        balloon=out_balloon,
        waterfall_step=step,
    )


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
