"""Plan families with level instalments, searched exhaustively over their grids (SPEC §6).

Everything here is vectorised over accounts and candidate plans: a :class:`PlanContext`
holds the per-account, per-month inputs (expected income, affordability caps, collateral
proceeds) for a batch of accounts under one policy, and each family generator returns a
:class:`Candidates` table (one row per candidate plan: account, opening balance, rate,
holiday, term, …) whose float payment paths are built in closed form and scored in one
pass by :func:`score`. The winners are then rebuilt as cent-exact schedules by
:mod:`solver.plans.optimizer`, which takes every reported figure from the behaviour model.

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

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.core.model import AccountParams, BehaviourModelProtocol, ModelKernel
from solver.domain import DEFERRAL_MODES

if TYPE_CHECKING:
    import pandas as pd

    from solver.core.policy import Policy

MODE_CODES = {"capitalize": 0, "interest_only": 1, "waive": 2}
MODE_NAMES = DEFERRAL_MODES  # mode codes 0, 1, 2 index this
RATE_STEP = 0.00125  # 0.125 % a year: the HAMP rate-cut step (waterfall)
CONCESSION_STEP = 0.01  # 1 % a year: the concession family's rate ladder
CONCESSION_TERM_STEP = 6  # concession terms: 6, 12, 18, … months (the usual tenors)
WAIVER_SHARES = np.array([0.0, 0.5, 1.0])  # shares of fees / accrued interest a concession waives
SETTLEMENT_MONTHS = 6
SETTLEMENT_STEP = 0.01
CAP_TOL = 1e-9  # relative tolerance on affordability caps (float noise)
CHUNK_ROWS = 2048  # candidate rows scored at a time (arrays stay in cache)

ACCOUNT_FIELDS = (
    "principal",
    "interest_due",
    "fees_due",
    "arrears",
    "annual_rate",
    "remaining_term",
    "income",
    "income_normal",
    "recovery_months",
    "income_cv",
    "expenses",
    "other_debt",
    "vehicle_value",
)


@dataclass(frozen=True)
class PlanContext:
    """Per-account inputs of the plan search for n accounts under one policy.

    Every model figure comes from ``kernel`` (:class:`solver.core.model.ModelKernel`, the one
    implementation of SPEC §4); the properties below are its arrays under the names the
    search uses.

    Attributes
    ----------
    horizon
        Months considered, ``policy.max_term_months``.
    cap_dti, cap_residual, cap_afford
        Largest payment allowed by each affordability rule in each month (n, H).
    cap
        Their minimum: the largest affordable payment (n, H); ``-inf`` when none is.
    """

    policy: Policy
    model: BehaviourModelProtocol
    kernel: ModelKernel
    fields: dict[str, np.ndarray]
    tier: np.ndarray
    horizon: int
    cap_dti: np.ndarray
    cap_residual: np.ndarray
    cap_afford: np.ndarray
    cap: np.ndarray

    def __len__(self) -> int:
        return len(self.kernel)

    def take(self, idx: np.ndarray) -> PlanContext:
        """The context of a subset of its accounts."""
        return replace(
            self,
            kernel=self.kernel.take(idx),
            fields={k: a[idx] for k, a in self.fields.items()},
            tier=self.tier[idx],
            cap_dti=self.cap_dti[idx],
            cap_residual=self.cap_residual[idx],
            cap_afford=self.cap_afford[idx],
            cap=self.cap[idx],
        )

    @property
    def params(self) -> AccountParams:
        return self.kernel.params

    @property
    def income_path(self) -> np.ndarray:
        """Expected income ``Ī_t`` (n, H)."""
        return self.kernel.income

    @property
    def mu(self) -> np.ndarray:
        return self.kernel.mu

    @property
    def sigma(self) -> np.ndarray:
        return self.kernel.sigma

    @property
    def fixed_outgo(self) -> np.ndarray:
        return self.kernel.outgo

    @property
    def collateral(self) -> np.ndarray:
        """Net collateral proceeds ``C_t`` for a default in month t (n, H)."""
        return self.kernel.collateral

    @property
    def discount(self) -> np.ndarray:
        return self.kernel.discount

    @property
    def discount_lag(self) -> np.ndarray:
        return self.kernel.discount_lag

    @property
    def special(self) -> np.ndarray:
        return self.kernel.special

    @property
    def balance(self) -> np.ndarray:
        """Restructured balance: principal, accrued interest and fees capitalised."""
        f = self.fields
        return f["principal"] + f["interest_due"] + f["fees_due"]

    @property
    def monthly_rate(self) -> np.ndarray:
        return self.fields["annual_rate"] / 12.0


def build_context(
    fields: dict[str, np.ndarray],
    tier: np.ndarray,
    policy: Policy,
    model: BehaviourModelProtocol,
    horizon: int | None = None,
    params: AccountParams | None = None,
) -> PlanContext:
    """Precompute the per-month inputs of the plan search (vectorised over accounts).

    ``params`` are the model inputs when already built (they carry the income forecast);
    otherwise they are taken from ``fields``.
    """
    fields = {k: np.asarray(fields[k], dtype=float) for k in ACCOUNT_FIELDS}
    if params is None:
        params = AccountParams(
            income=fields["income"],
            income_normal=fields["income_normal"],
            recovery_months=fields["recovery_months"],
            income_cv=fields["income_cv"],
            expenses=fields["expenses"],
            other_debt=fields["other_debt"],
            vehicle_value=fields["vehicle_value"],
            base_hazard=model.hazard_of(np.asarray(tier, dtype=object)),
        )
    H = int(horizon or policy.max_term_months)
    kernel = model.kernel(params, H)
    income = kernel.income
    cap_dti = policy.max_dti * income - params.other_debt[:, None]
    cap_residual = income - kernel.outgo[:, None] - policy.min_residual_income
    cap_afford = kernel.afford_cap(policy.min_afford_prob)
    cap = np.minimum(np.minimum(cap_dti, cap_residual), cap_afford)
    cap = np.where(np.isnan(cap), -np.inf, cap)
    return PlanContext(
        policy=policy,
        model=model,
        kernel=kernel,
        fields=fields,
        tier=np.asarray(tier, dtype=object),
        horizon=H,
        cap_dti=cap_dti,
        cap_residual=cap_residual,
        cap_afford=cap_afford,
        cap=cap,
    )


def context_from_frame(
    frame: pd.DataFrame,
    policy: Policy,
    model: BehaviourModelProtocol,
    horizon: int | None = None,
) -> PlanContext:
    """A :class:`PlanContext` for the rows of a validated portfolio frame."""
    fields = {k: frame[k].to_numpy(float) for k in ACCOUNT_FIELDS}
    params = AccountParams.from_frame(frame, model)  # type: ignore[arg-type]
    return build_context(fields, frame["tier"].to_numpy(object), policy, model, horizon, params)


def context_from_account(
    account: Any, policy: Policy, model: BehaviourModelProtocol, horizon: int | None = None
) -> PlanContext:
    """A one-account :class:`PlanContext`."""
    fields = {
        k: np.array([float(getattr(account, k))]) for k in ACCOUNT_FIELDS if k != "income_normal"
    }
    normal = account.income_normal
    fields["income_normal"] = np.array([np.nan if normal is None else float(normal)])
    params = AccountParams.from_account(account, model)  # type: ignore[arg-type]
    return build_context(
        fields, np.array([account.tier], dtype=object), policy, model, horizon, params
    )


# --------------------------------------------------------------------------------------
# The behaviour model: thin calls into the kernel (solver.core.model.ModelKernel)
# --------------------------------------------------------------------------------------


def hazard(
    ctx: PlanContext, acc: np.ndarray, payments: np.ndarray, months: np.ndarray | None = None
) -> np.ndarray:
    """Monthly default hazard ``h_t`` of paying ``payments`` (C, m) in month indices ``months`` (m,)."""
    if months is None:
        return ctx.kernel.hazard(acc, payments)
    return ctx.kernel.hazard(np.asarray(acc)[:, None], payments, np.asarray(months)[None, :])


def recovery(ctx: PlanContext, acc: np.ndarray, exposures: np.ndarray) -> np.ndarray:
    """Recovery ``R_t`` on default given exposures (C, m) in months 1…m."""
    return ctx.kernel.recovery(acc, exposures)


def npv(
    ctx: PlanContext, acc: np.ndarray, payments: np.ndarray, exposures: np.ndarray, term: np.ndarray
) -> np.ndarray:
    """Expected-recovery NPV of candidate schedules (float search; SPEC §4 formula)."""
    m = payments.shape[1]
    active = np.arange(m)[None, :] < term[:, None]
    pay = np.where(active, payments, 0.0)
    h = np.where(active, hazard(ctx, acc, pay), 0.0)
    surv = np.cumprod(1.0 - h, axis=1)
    before = np.empty_like(surv)
    before[:, 0] = 1.0
    before[:, 1:] = surv[:, :-1]
    rec = recovery(ctx, acc, np.where(active, exposures, 0.0))
    # row-wise sums (not a matrix product) so a row's value does not depend on the batch it is in
    return (surv * pay * ctx.discount[:m]).sum(axis=1) + (
        before * h * rec * ctx.discount_lag[:m]
    ).sum(axis=1)


# --------------------------------------------------------------------------------------
# Candidate tables
# --------------------------------------------------------------------------------------


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

    def params(self, i: int) -> dict[str, Any]:
        """The plan parameters of row ``i`` (for reports)."""
        out: dict[str, Any] = {
            "term": int(self.term[i]),
            "deferral_months": int(self.deferral[i]),
            "deferral_mode": MODE_NAMES[int(self.mode[i])] if self.deferral[i] > 0 else None,
            "rate": round(float(self.rate[i]), 6),
            "fee_waiver": round(float(self.fee_waiver[i]), 6),
            "interest_waiver": round(float(self.interest_waiver[i]), 6),
            "haircut": round(float(self.haircut[i]), 6),
            "forbearance": round(float(self.balloon[i]), 2),
        }
        if self.waterfall_step is not None:
            out["waterfall_step"] = WATERFALL_STEPS[int(self.waterfall_step[i])]
        return out


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
        return np.broadcast_to(np.asarray(x, dtype=dtype), (n,)).copy()

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
    return _make(
        "settlement",
        acc[keep],
        (bal[acc] - forgive)[keep],
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
    from solver.core.annuity import level_payment

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


# --------------------------------------------------------------------------------------
# Float payment paths and scoring
# --------------------------------------------------------------------------------------


def paths(
    ctx: PlanContext, cand: Candidates, unit: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Float payments and exposures (C, H) of level candidates; instalments rounded up to ``unit``.

    Returns payments, exposures, ``valid`` (False when rounding would clear the balance
    before the last month) and the level instalment (C,).
    """
    from solver.core.annuity import level_payment

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


def feasible_paths(
    ctx: PlanContext, acc: np.ndarray, payments: np.ndarray, term: np.ndarray
) -> np.ndarray:
    """Policy check of float payment paths (C, m): caps, min_payment, term (SPEC §5).

    Phases (``max_payment_levels``) and holiday lengths are fixed by each family's grid
    and checked there.
    """
    pol = ctx.policy
    m = payments.shape[1]
    t = np.arange(m)[None, :]
    live = t < term[:, None]
    paying = live & (payments > 0)
    cap = ctx.cap[acc, :m]
    over = paying & (payments > cap + CAP_TOL * np.maximum(1.0, np.abs(cap)))
    final = t == (term[:, None] - 1)
    small = paying & ~final & (payments < pol.min_payment - 1e-9)
    ok = ~(over | small).any(axis=1)
    return ok & (term <= ctx.horizon) & (term >= 1)


def phases(payments: np.ndarray, term: np.ndarray) -> np.ndarray:
    """Payment phases per row: runs of equal non-zero payments (SPEC §5 ``max_payment_levels``).

    A final payment that does not exceed the one before it is the last phase's remainder
    and does not count; zero months do not count.
    """
    payments = np.round(np.asarray(payments, dtype=float), 2)
    m = payments.shape[1]
    t = np.arange(m)[None, :]
    live = t < term[:, None]
    p = np.where(live, payments, 0.0)
    prev = np.concatenate([np.zeros((p.shape[0], 1)), p[:, :-1]], axis=1)
    starts = (p > 0) & (p != prev)
    final = t == (term[:, None] - 1)
    remainder = final & (prev > 0) & (p <= prev)
    return (starts & ~remainder).sum(axis=1)


def _prefilter(ctx: PlanContext, cand: Candidates, unit: float) -> np.ndarray:
    """Cheap necessary conditions (closed form): level and interest-only payments within caps.

    Rows failing them cannot be feasible, so paths are built only for the others.
    """
    return _prefilter_parts(ctx, cand, unit)[0]


def _level_terms(cand: Candidates, unit: float) -> tuple[np.ndarray, np.ndarray]:
    """Balance after the holiday ``B_D`` and the level instalment rounded up to ``unit``."""
    from solver.core.annuity import level_payment

    r = cand.rate / 12.0
    g = 1.0 + r
    D = cand.deferral
    # B·g^D where the holiday capitalises (g^0 = 1 exactly: B itself elsewhere)
    B_D = cand.balance.copy()
    grow = np.flatnonzero((cand.mode == 0) & (D != 0))
    B_D[grow] = cand.balance[grow] * g[grow] ** D[grow]
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
    H = ctx.horizon
    r = cand.rate / 12.0
    D = cand.deferral
    B_D, P = _level_terms(cand, unit)
    dmax = int(D.max(initial=0))
    # running minimum of the caps from month D (0-based) onwards, for each D used
    cap = ctx.cap
    ok = cand.term <= H
    tol = CAP_TOL * np.maximum(1.0, np.abs(P))
    last_level = cand.term - 2  # last non-final month (0-based)
    for d in range(dmax + 1):
        rows = np.flatnonzero(D == d)
        if rows.size == 0:
            continue
        run = np.minimum.accumulate(cap[:, d:], axis=1)  # (n, H - d)
        has = last_level[rows] >= d
        col = np.clip(last_level[rows] - d, 0, H - d - 1)
        m = np.where(has, run[cand.acc[rows], col], np.inf)
        ok[rows] &= (P[rows] <= m + tol[rows]) & (~has | (P[rows] >= pol.min_payment - 1e-9))
        if d > 0:
            io = rows[cand.mode[rows] == 1]
            if io.size:
                first = np.minimum.accumulate(cap, axis=1)[cand.acc[io], d - 1]
                pay = cand.balance[io] * r[io]
                # a zero interest-only payment (0 % rate) is no payment: min_payment exempt
                ok[io] &= (pay <= first + CAP_TOL * np.maximum(1.0, pay)) & (
                    (pay >= pol.min_payment - 1e-9) | (pay <= 0.0)
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
    special = ctx.special[cand.acc[pre]]
    if special.any():
        _score_general(ctx, cand, pre[special], unit, ok, value)
    lean = pre[~special]
    if lean.size:
        _score_lean(ctx, cand, lean, unit, ok, value, level_terms=(B_D, P))
    return ok, value


def _term_blocks(terms: np.ndarray, rows: np.ndarray, horizon: int) -> list[tuple[int, np.ndarray]]:
    """Rows grouped by term into fixed-width blocks (width, rows): arrays only as wide as needed.

    The widths depend on the terms only (not on which other rows share the batch), so a
    row's float value does not depend on its batch.
    """
    out = []
    lo = 0
    for hi in sorted({min(horizon, e) for e in range(6, horizon + 6, 6)}):
        block = rows[(terms > lo) & (terms <= hi)]
        lo = hi
        out += [(hi, block[k : k + CHUNK_ROWS]) for k in range(0, block.size, CHUNK_ROWS)]
    return [(w, b) for w, b in out if b.size]


def _final_checks(
    ctx: PlanContext,
    acc: np.ndarray,
    balance: np.ndarray,
    rate: np.ndarray,
    deferral: np.ndarray,
    mode: np.ndarray,
    term: np.ndarray,
    final: np.ndarray,
    valid: np.ndarray,
    level: np.ndarray,
) -> np.ndarray:
    """Checks the prefilter leaves to the full path: the final payment within its cap,
    the phase count in closed form (holiday payments, level, a larger last payment)."""
    last = term - 1
    cap_last = ctx.cap[acc, last]
    with np.errstate(invalid="ignore"):  # cap -inf (nothing affordable): -inf + inf is NaN, not ok
        tolerance = CAP_TOL * np.maximum(1.0, np.abs(cap_last))
        good = valid & (final > 0) & (final <= cap_last + tolerance)
    io = (deferral > 0) & (mode == 1)
    level_months = term - deferral - 1  # level payments before the last one
    before = np.where(level_months >= 1, level, np.where(io, balance * rate / 12.0, 0.0))
    n_phases = (
        io.astype(np.int64)
        + (level_months >= 1)
        + (np.round(final, 2) > np.round(before, 2) + 1e-9)
    )
    good &= n_phases <= ctx.policy.max_payment_levels
    good &= deferral <= ctx.policy.max_deferral_months
    return good


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
        good = _final_checks(
            ctx,
            sub.acc,
            sub.balance,
            sub.rate,
            sub.deferral,
            sub.mode,
            sub.term,
            final,
            valid,
            level,
        )
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


def _growth(lg: np.ndarray, j: np.ndarray) -> np.ndarray:
    """``exp(lg·j)`` (C, W) elementwise, computed once per distinct ``lg`` (rows share rates)."""
    uniq, inv = np.unique(lg, return_inverse=True)
    if 2 * uniq.size >= lg.size:
        return np.exp(lg[:, None] * j[None, :])
    return np.exp(uniq[:, None] * j[None, :])[inv.ravel()]


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
    hazards from per-account tables. ``level_terms`` are ``B_D`` and the rounded level
    instalment of every candidate row (:func:`_level_terms`), when already computed.
    """
    B_D_all, P_all = _level_terms(cand, unit) if level_terms is None else level_terms
    kernel = ctx.kernel
    steady = _steady_month(ctx)
    cum_disc = np.concatenate([[0.0], np.cumsum(ctx.discount)])  # Σ_{s < t} δ^s
    dmax = int(cand.deferral[rows].max(initial=0))
    if dmax > 0:
        io_pay_acc = ctx.balance * ctx.monthly_rate  # interest-only holiday payment
        all_acc = np.arange(len(ctx))[:, None]
        hol_cols = np.arange(dmax)[None, :]
        hz_hol = np.stack(
            [
                kernel.hazard(all_acc, np.zeros((1, dmax)), hol_cols),
                kernel.hazard(all_acc, io_pay_acc[:, None], hol_cols),
            ]
        )  # (2, n, dmax): payment 0 / interest-only
    for W, block in _term_blocks(cand.term[rows], rows, ctx.horizon):
        acc = cand.acc[block]
        B = cand.balance[block]
        rate = cand.rate[block]
        D = cand.deferral[block]
        mode = cand.mode[block]
        T = cand.term[block]
        balloon = cand.balloon[block]
        r = rate / 12.0
        g = 1.0 + r
        B_D = B_D_all[block]
        P = P_all[block]
        pos = r > 0
        inv_r = np.where(pos, 1.0 / np.where(pos, r, 1.0), 0.0)
        lg = np.log1p(r)
        k_last = (T - 1 - D).astype(float)
        g_last = np.exp(k_last * lg)
        bearing_last = B_D * g_last - P * np.where(pos, (g_last - 1.0) * inv_r, k_last)
        final = bearing_last * g + balloon
        valid = (T - D == 1) | (bearing_last * g > 1e-6)
        good = _final_checks(ctx, acc, B, rate, D, mode, T, final, valid, P)
        ok[block] = good
        keep = np.flatnonzero(good)
        if keep.size == 0:
            continue
        if keep.size < block.size:
            acc, B, B_D, D, mode, T, balloon, r, P, final, pos, inv_r, lg = (
                x[keep] for x in (acc, B, B_D, D, mode, T, balloon, r, P, final, pos, inv_r, lg)
            )
        C = acc.size
        rows_c = np.arange(C)
        last = T - 1
        j = np.arange(W, dtype=float)
        # exposures in closed form: level balance B_D·g^k − P·(g^k − 1)/r with k = t − D,
        # i.e. α·g^t + β with α = (B_D − P/r)·g^−D and β = P/r (B_D − P·k at a zero rate)
        gj = _growth(lg, j)  # g^t
        dm = min(int(D.max(initial=0)), W)
        beta = P * inv_r
        alpha = (B_D - beta) * np.exp(-D * lg)
        gj_hol = gj[:, :dm].copy() if dm > 0 else gj
        exposure = gj  # reused buffer
        exposure *= alpha[:, None]
        exposure += beta[:, None]
        if not pos.all():
            zero = np.flatnonzero(~pos)
            exposure[zero] = B_D[zero, None] - P[zero, None] * (j[None, :] - D[zero, None])
        if dm > 0:  # holiday months: B·g^t capitalised, else B
            hol = j[None, :dm] < D[:, None]
            hol_exp = np.where((mode == 0)[:, None], B[:, None] * gj_hol[:, :dm], B[:, None])
            exposure[:, :dm] = np.where(hol, hol_exp, exposure[:, :dm])
        if balloon.any():
            exposure += balloon[:, None]
        # survival factor 1 − h of the level payment, once per distinct income month,
        # spread over the months; 1 past the term
        st = np.minimum(steady[acc], W - 1)
        wc = int(st.max(initial=0)) + 1
        need = np.arange(wc)[None, :] <= st[:, None]
        q_c = np.ones((C, wc))
        n_need = int(np.count_nonzero(need))
        if 2 * n_need >= need.size:  # dense: the same elementwise values where needed
            with np.errstate(all="ignore"):
                q_c = 1.0 - kernel.hazard(acc[:, None], P[:, None], np.arange(wc)[None, :])
        else:
            ri, ci = np.nonzero(need)
            q_c[ri, ci] = 1.0 - kernel.hazard(acc[ri], P[ri], ci)
        # month t < T takes q_c[min(t, st)], months past the term 1; every row of the block
        # has T >= t_min, so only the columns from t_min on need the term mask
        t_min = min(int(T.min()), W)
        q = np.empty((C, W))
        q_st = q_c[rows_c, st][:, None]
        q[:, :t_min] = q_st
        if t_min < W:
            q[:, t_min:] = np.where(j[None, t_min:] < T[:, None], q_st, 1.0)
        if wc > t_min:
            need = need & (j[None, :wc] < T[:, None])
        q[:, :wc] = np.where(need, q_c[:, :wc], q[:, :wc])
        if dm > 0:
            which = (mode == 1).astype(np.int64)
            qh = 1.0 - hz_hol[which[:, None], acc[:, None], np.arange(dm)[None, :]]
            q[:, :dm] = np.where(hol, qh, q[:, :dm])
        q[rows_c, last] = 1.0 - kernel.hazard(acc, final, last)
        surv = np.cumprod(q, axis=1)
        default = q  # reused buffer: S_{t-1} − S_t, P(default in month t); 0 past the term
        default[:, 0] = 1.0 - surv[:, 0]
        np.subtract(surv[:, :-1], surv[:, 1:], out=default[:, 1:])
        rec = kernel.recovery(acc, exposure)
        rec *= default
        rec *= ctx.discount_lag[:W]
        pv_rec = rec.sum(axis=1)
        s_last = surv[rows_c, last]
        paid = surv  # reused buffer: δ^t S_t per unit paid
        paid *= ctx.discount[:W]
        # payments: P in the level months before the last, `final` in the last month, the
        # interest-only amount in the holiday; past the term S is flat, so the level sum
        # is the row sum less S_{T-1}·Σ_{T-1 ≤ t < W} δ^t
        total = paid.sum(axis=1)
        level_sum = total - s_last * (cum_disc[W] - cum_disc[last])
        pv_pay = P * level_sum + final * paid[rows_c, last]
        if dm > 0:
            io_amt = np.where(mode == 1, B * r, 0.0)
            hol_sum = np.where(hol, paid[:, :dm], 0.0).sum(axis=1)
            pv_pay += (io_amt - P) * hol_sum
        value[block[keep]] = pv_pay + pv_rec


def best_per_account(
    acc: np.ndarray, value: np.ndarray, n_acc: int, k: int = 4
) -> list[np.ndarray]:
    """Indices of the ``k`` best finite-valued rows for each account, best first."""
    order = np.lexsort((-value, acc))
    out: list[np.ndarray] = [np.zeros(0, np.int64) for _ in range(n_acc)]
    if order.size == 0:
        return out
    finite = order[np.isfinite(value[order])]  # finite rows, by account, best first
    bounds = np.searchsorted(acc[finite], np.arange(n_acc + 1)).tolist()
    for i in range(n_acc):
        lo, hi = bounds[i], bounds[i + 1]
        out[i] = finite[lo : min(hi, lo + k)]
    return out
