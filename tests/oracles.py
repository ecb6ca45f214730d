"""Independent oracles for the plan optimizer, recomputed from the SPEC with their own code.

Everything here is written from the formulas of SPEC §2 (money), §4 (behaviour model),
§5 (policy) and §6 (plan families) and from the rules the engine *documents* (the
docstrings of ``solver.core.amortisation``, ``solver.core.policy``, ``solver.plans.families`` and
``solver.plans.search``), in plain Python: integers for cents, ``math`` and
``statistics.NormalDist`` for the model. Nothing calls the engine's maths
(``solver.core.amortisation``, ``solver.core.model`` kernels, ``solver.plans.families``,
``solver.plans.search``); an :class:`~solver.core.account.Account`, a
:class:`~solver.core.policy.Policy` and a :class:`~solver.core.model.BehaviourModel` are only read
(their fields, and ``Policy.for_product`` to pick the policy that applies). The family
names come from :class:`solver.domain.Family`: they are the SPEC §6 vocabulary that the
tests and the engine name families by, not code under test, and one definition of them
means an oracle cannot be asked for a family under a name the engine does not use (a
misspelt ``"step"`` solved as ``custom``, whose optimum is at least step's, would let a
too-low step plan pass); a family the oracle does not solve is an error.

Conventions (the same as the engine's, each written here from its documentation)
----------------------------------------------------------------------------------
* Money is integer cents. CNY inputs are rounded to the cent once, half away from zero,
  as written in decimal (``to_cents`` in ``solver.core.amortisation``).
* Monthly interest on ``B`` cents at annual rate ``r`` is ``B·r/12`` rounded half-up to
  the cent, with ``r`` taken to 12 decimal places (``rate units`` = ``round(r·10¹²)``).
* A payment goes to unpaid fees, then to the month's interest, then to principal;
  interest it leaves unpaid is capitalised. Every plan family capitalises fees (SPEC §6
  ``instalment``), so plan schedules carry no unpaid fees; :func:`amortise` supports
  them anyway (the status quo has them).
* Level instalments follow the rule stated in ``solver.core.amortisation.level_plan``:
  the smallest multiple of the rounding unit at or above the exact annuity payment that
  does not clear the balance early and leaves a last payment at most the level; else the
  largest multiple that does not clear it early; else the same on the money grid; else 0
  (:func:`level_schedule`, which finds them by bisection, not by the engine's walk).
* The exposure of month t is the balance before its payment.

Plan-family grids (issue 13; :func:`level_candidates`)
-----------------------------------------------------
* ``instalment``: principal + interest_due + fees_due at the contract rate, terms 1…H
  (H = ``max_term_months``);
* ``deferral``: a holiday of 1…``max_deferral_months`` months in each allowed mode, then
  level instalments, total term ≤ H;
* ``concession``: rates ``r − k·0.25 %`` (k = 0, 1, … while ≥ ``rate_floor``; no extra
  endpoint) × forgiveness ``j/10·(fees_due + interest_due)``, j = 0…10, fees first, kept
  when within ``max_fee_waiver`` / ``max_interest_waiver`` × terms 1…H, level
  instalments on what is left; the point with no cut and nothing forgiven is the
  instalment family and is left out;
* ``settlement``: forgiveness of j % of the balance (fees, then interest, then principal,
  each within its maximum; principal ≤ ``max_haircut``), paid interest-free at once or
  over 2…6 months (only at once when nothing is forgiven);
* ``custom`` / ``step``: paths on a payment grid (:func:`best_path_plan`).

The plan oracles are slow (pure Python) and exact; use them on small accounts and short
horizons.

Assignment (SPEC §8; :func:`assignment_milp`, :func:`gap_milp`, :func:`allocation_milp`)
---------------------------------------------------------------------------------------
The textbook integer programme — one binary per allowed (option, job) pair, exactly one
option per job, one knapsack row per capacity row (and per global row such as a budget) —
solved by ``scipy.optimize.milp`` (HiGHS), never by the engine's CP-SAT, Lagrangian or LNS
code. It is the reference optimum of the tests and the same-run baseline of
``benchmarks/bench_allocate.py``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from statistics import NormalDist
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

# the SPEC's vocabulary, not the engine's maths (see the module docstring)
from solver.domain import Family

RATE_SCALE = 10**12  # rates are taken to 12 decimal places
MONTHLY_DENOMINATOR = 12 * RATE_SCALE
CAP_TOL = 1e-9  # relative tolerance on the affordability caps (float noise only)
CONCESSION_STEP_UNITS = 10_000_000_000  # 1 % a year, in rate units
CONCESSION_TERM_STEP = 6  # concession terms: 6, 12, 18, … months
SETTLEMENT_MAX_MONTHS = 6
_SQRT2 = math.sqrt(2.0)


# --------------------------------------------------------------------------------------
# Cents and rates
# --------------------------------------------------------------------------------------


def to_cents(amount: float) -> int:
    """CNY to whole cents, half away from zero, as the amount is written in decimal."""
    scaled = Decimal(repr(float(amount))) * 100
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rate_units(annual_rate: float) -> int:
    """The annual rate in units of 10⁻¹² (the 12 decimal places interest is computed with)."""
    scaled = Decimal(repr(float(annual_rate))) * RATE_SCALE
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def monthly_interest(balance: int, units: int) -> int:
    """Interest of one month on ``balance`` cents at ``units``/10¹² a year, rounded half-up."""
    whole, rest = divmod(balance * units, MONTHLY_DENOMINATOR)
    return whole + (1 if 2 * rest >= MONTHLY_DENOMINATOR else 0)


def share(value: float) -> Fraction:
    """A policy share (0.3) as the exact decimal it is written as (3/10)."""
    return Fraction(repr(float(value)))


# --------------------------------------------------------------------------------------
# Schedules in cents
# --------------------------------------------------------------------------------------


@dataclass
class CentSchedule:
    """A repayment schedule in integer cents (SPEC §2 row layout)."""

    payment: list[int]
    interest: list[int]
    principal: list[int]
    fees: list[int]
    balance: list[int]
    opening: int
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def term(self) -> int:
        return len(self.payment)

    @property
    def exposures(self) -> list[int]:
        """Balance before each month's payment (cents)."""
        return [self.opening, *self.balance[:-1]]

    def check(self) -> None:
        """Raise ``AssertionError`` unless the SPEC §2 identities hold exactly."""
        assert_reconciles(
            self.payment, self.interest, self.principal, self.fees, self.balance, self.opening
        )


def assert_reconciles(
    payment: Sequence[int],
    interest: Sequence[int],
    principal: Sequence[int],
    fees: Sequence[int],
    balance: Sequence[int],
    opening: int,
) -> None:
    """SPEC §2 in cents: payment = interest + principal + fees every row, the balance rolls
    forward by interest − payment, the last balance is 0 and Σ principal + Σ fees = opening."""
    before = opening
    for t, (p, i, pr, f, b) in enumerate(
        zip(payment, interest, principal, fees, balance, strict=True)
    ):
        assert p == i + pr + f, f"month {t + 1}: payment {p} != {i} + {pr} + {f}"
        assert b == before + i - p, f"month {t + 1}: balance {b} != {before} + {i} - {p}"
        assert min(p, i, f, b) >= 0, f"month {t + 1}: a negative amount"
        before = b
    assert balance[-1] == 0, f"{balance[-1]} cents left after the last month"
    assert sum(principal) + sum(fees) == opening, "principal and fees do not add up"


def amortise(
    bearing: int,
    units: int,
    payments: Sequence[int],
    *,
    unpaid_fees: int = 0,
    waive: Sequence[bool] | None = None,
) -> CentSchedule | None:
    """Run the payment waterfall; the last payment is replaced by what clears the balance.

    Returns ``None`` when a payment before the last is at least what is owed (the path
    would clear the balance early).
    """
    opening = bearing + unpaid_fees
    cols: tuple[list[int], ...] = ([], [], [], [], [])
    last = len(payments) - 1
    for t, asked in enumerate(payments):
        charged = 0 if (waive is not None and waive[t]) else monthly_interest(bearing, units)
        owed = bearing + unpaid_fees + charged
        if t == last:
            paid = owed
        elif asked >= owed:
            return None
        else:
            paid = asked
        to_fees = min(paid, unpaid_fees)
        unpaid_fees -= to_fees
        principal = paid - to_fees - charged
        bearing -= principal
        for col, value in zip(
            cols, (paid, charged, principal, to_fees, bearing + unpaid_fees), strict=True
        ):
            col.append(value)
    return CentSchedule(*cols, opening=opening)


def annuity(balance: int, units: int, months: int) -> Fraction:
    """Exact level payment (cents) amortising ``balance`` in ``months`` at the monthly rate."""
    if units == 0:
        return Fraction(balance, months)
    i = Fraction(units, MONTHLY_DENOMINATOR)
    growth = (1 + i) ** months
    return balance * i * growth / (growth - 1)


def _ceil_to(amount: Fraction, unit: int) -> int:
    return math.ceil(amount / unit) * unit


def _floor_to(amount: Fraction, unit: int) -> int:
    return math.floor(amount / unit) * unit


def level_schedule(
    balance: int,
    units: int,
    term: int,
    unit: int,
    deferral: int = 0,
    mode: str = "capitalize",
) -> CentSchedule | None:
    """A holiday of ``deferral`` months, then level instalments until month ``term``.

    Holiday months pay 0 with interest capitalised (``capitalize``), pay exactly the
    month's interest (``interest_only``) or pay 0 with no interest (``waive``). The level
    is the rule of ``level_plan``'s docstring, read as sets of levels: *admissible*
    levels (the months before the last do not clear the balance) are ``0 … top`` on a
    grid, since a higher level never clears later; the levels whose last payment is at
    most the level are those from some point up, since the last payment never rises with
    the level. Both bounds are found by bisection:

    1. on multiples of ``unit``: the smallest admissible one at or above the exact
       annuity whose last payment is at most it; else the largest admissible one;
    2. when no positive multiple is admissible, the same on whole cents;
    3. else level 0.

    Never ``None`` (kept in the signature for the callers' checks).
    """
    bearing = balance
    holiday: list[int] = []
    for _ in range(deferral):
        charged = monthly_interest(bearing, units)
        if mode == "interest_only":
            holiday.append(charged)
        elif mode == "waive":
            holiday.append(0)
        else:
            holiday.append(0)
            bearing += charged
    months = term - deferral
    waive = [mode == "waive" and t < deferral for t in range(term)]

    def build(level: int) -> CentSchedule | None:
        return amortise(balance, units, holiday + [level] * months, waive=waive)

    if months == 1:
        return build(0)  # the one level month is the last: it pays what is owed
    exact = annuity(bearing, units, months)
    for step in sorted({unit, 1}, reverse=True):
        # admissible multiples k·step are k = 0 … top: a level above the whole debt of the
        # first level month clears it at once
        lo, hi = 0, (bearing + monthly_interest(bearing, units)) // step + 1
        while hi - lo > 1:  # invariant: lo admissible, hi not
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if build(mid * step) is not None else (lo, mid)
        top = lo
        if top == 0:
            continue
        first = max(math.ceil(exact / step), 1)
        if first > top or not _last_within(build(top * step), top * step):
            return build(top * step)  # no admissible multiple leaves the last within it
        lo, hi = first - 1, top  # smallest k in [first, top] whose last is within k·step
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if _last_within(build(mid * step), mid * step) else (mid, hi)
        return build(hi * step)
    return build(0)


def _last_within(built: CentSchedule | None, level: int) -> bool:
    assert built is not None
    return built.payment[-1] <= level


def settlement_schedule(amount: int, months: int, unit: int) -> CentSchedule | None:
    """``amount`` cents paid interest-free in ``months`` equal instalments (rounded up to
    ``unit``, else down, else to the cent), the last one clearing the rest."""
    exact = Fraction(amount, months)
    for level in (_ceil_to(exact, unit), _floor_to(exact, unit), round(exact)):
        built = amortise(amount, 0, [level] * months)
        if built is not None:
            return built
    return None


# --------------------------------------------------------------------------------------
# The behaviour model (SPEC §4)
# --------------------------------------------------------------------------------------


def _read(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


@dataclass(frozen=True)
class ModelNumbers:
    """The SPEC §4 parameters, read from a ``BehaviourModel`` (or a mapping)."""

    base_hazard: dict[str, float]
    kappa: float
    lag: int
    depreciation: float
    auction_discount: float
    repo_cost: float
    rho: float
    cost_of_funds: float

    @classmethod
    def read(cls, model_params: Any) -> ModelNumbers:
        if isinstance(model_params, ModelNumbers):
            return model_params
        return cls(
            base_hazard={k: float(v) for k, v in dict(_read(model_params, "base_hazard")).items()},
            kappa=float(_read(model_params, "kappa")),
            lag=int(_read(model_params, "recovery_lag_months")),
            depreciation=float(_read(model_params, "vehicle_depreciation")),
            auction_discount=float(_read(model_params, "auction_discount")),
            repo_cost=float(_read(model_params, "repo_cost")),
            rho=float(_read(model_params, "unsecured_recovery")),
            cost_of_funds=float(_read(model_params, "cost_of_funds")),
        )

    @property
    def delta(self) -> float:
        """Monthly discount factor ``1/(1 + cof/12)``."""
        return 1.0 / (1.0 + self.cost_of_funds / 12.0)


def expected_income(account: Any, months: int) -> list[float]:
    """``Ī_t`` for months 1…``months`` (SPEC §4).

    ``Ī_t = income + (income_normal − income)·min(1, t/recovery_months)``, and
    ``Ī_t = income`` when ``recovery_months = 0``; a missing ``income_normal`` is
    ``income``. Where the account carries an ``income_forecast`` (expected income of
    months 1…K; a missing entry keeps the path) it replaces the path, and ``inflows``
    (``(month, amount)`` pairs) are added in their month.
    """
    income = float(account.income)
    normal = _read(account, "income_normal")
    normal = (
        income
        if normal is None or (isinstance(normal, float) and math.isnan(normal))
        else float(normal)
    )
    recovery = float(_read(account, "recovery_months", 0) or 0)
    forecast = _read(account, "income_forecast")
    inflows = _read(account, "inflows")
    out = []
    for t in range(1, months + 1):
        if recovery > 0:
            value = income + (normal - income) * min(1.0, t / recovery)
        else:
            value = income
        if forecast is not None and t <= len(forecast):
            f = forecast[t - 1]
            if f is not None and not (isinstance(f, float) and math.isnan(f)):
                value = float(f)
        if inflows is not None:
            value += sum(float(a) for m, a in inflows if int(m) == t)
        out.append(value)
    return out


class AccountModel:
    """SPEC §4 for one account: affordability, hazard, recovery and the NPV of a schedule.

    Month numbers ``t`` are 1-based. The income path is extended on demand, so schedules
    longer than the policy horizon (the status quo) can be evaluated too.
    """

    def __init__(self, account: Any, model_params: Any) -> None:
        self.account = account
        self.m = ModelNumbers.read(model_params)
        cv = float(_read(account, "income_cv", 0.25))
        self.s2 = math.log(1.0 + cv * cv)
        self.s = math.sqrt(self.s2)
        self.outgo = float(account.expenses) + float(_read(account, "other_debt", 0.0) or 0.0)
        self.h0 = self.m.base_hazard.get(str(account.tier), math.nan)
        self.vehicle = float(_read(account, "vehicle_value", 0.0) or 0.0)
        self._income: list[float] = []
        self._hazard: dict[tuple[int, int], float] = {}

    def income(self, t: int) -> float:
        """Expected income ``Ī_t``."""
        if t > len(self._income):
            self._income = expected_income(self.account, max(t, 2 * len(self._income), 12))
        return self._income[t - 1]

    def afford(self, t: int, payment: float) -> float:
        """``a_t``: probability that month t's income covers ``payment + expenses + other_debt``."""
        threshold = payment + self.outgo
        mean = self.income(t)
        if threshold <= 0:
            return 1.0
        if mean <= 0:
            return 0.0
        if self.s == 0:
            return 1.0 if mean >= threshold else 0.0
        mu = math.log(mean) - self.s2 / 2.0
        z = (math.log(threshold) - mu) / self.s
        return 0.5 * math.erfc(z / _SQRT2)  # 1 − Φ(z)

    def hazard(self, t: int, payment: float) -> float:
        """``h_t = h0 + (1 − h0)·κ·(1 − a_t)`` for a payment of ``payment`` CNY."""
        key = (t, payment)
        h = self._hazard.get(key)
        if h is None:
            a = self.afford(t, payment)
            h = self.h0 + (1.0 - self.h0) * self.m.kappa * (1.0 - a)
            self._hazard[key] = h
        return h

    def collateral(self, t: int) -> float:
        """Net collateral proceeds ``C_t`` of a default in month t."""
        if self.vehicle <= 0:
            return 0.0
        m = self.m
        value = self.vehicle * (1.0 - m.depreciation) ** ((t + m.lag) / 12.0)
        return max(0.0, value * (1.0 - m.auction_discount) - m.repo_cost)

    def recovery(self, t: int, exposure: float) -> float:
        """``R_t = min(EAD, C_t) + ρ·max(0, EAD − C_t)``."""
        c = self.collateral(t)
        return min(exposure, c) + self.m.rho * max(0.0, exposure - c)

    def evaluate(self, payments: Sequence[float], exposures: Sequence[float]) -> dict[str, Any]:
        """SPEC §4 month by month for payments and exposures in CNY.

        ``NPV = Σ δ^t S_t p_t + Σ δ^(t+L) S_{t−1} h_t R_t``; also the survival curve, the
        hazards, PD within 12 months (``1 − S_min(12,T)``) and over life (``1 − S_T``) and
        the expected loss ``Σ S_{t−1} h_t (EAD_t − R_t)``.
        """
        delta, lag = self.m.delta, self.m.lag
        survival = 1.0
        paid = recovered = loss = 0.0
        curve, hazards = [], []
        for t, (p, ead) in enumerate(zip(payments, exposures, strict=True), start=1):
            h = self.hazard(t, p)
            r = self.recovery(t, ead)
            default = survival * h
            recovered += delta ** (t + lag) * default * r
            loss += default * (ead - r)
            survival *= 1.0 - h
            paid += delta**t * survival * p
            curve.append(survival)
            hazards.append(h)
        T = len(curve)
        return {
            "npv": paid + recovered,
            "expected_paid": paid,
            "expected_recovery": recovered,
            "expected_loss": loss,
            "survival": curve,
            "hazard": hazards,
            "pd_12m": 1.0 - curve[min(12, T) - 1],
            "pd_life": 1.0 - curve[-1],
        }

    def evaluate_cents(self, payments: Sequence[int], exposures: Sequence[int]) -> dict[str, Any]:
        """:meth:`evaluate` of a schedule in cents."""
        return self.evaluate([p / 100 for p in payments], [e / 100 for e in exposures])

    def caps(self, policy: Any, months: int) -> list[float]:
        """Largest affordable payment of months 1…``months`` (SPEC §5), see :func:`caps`."""
        q = float(policy.min_afford_prob)
        out = []
        for t in range(1, months + 1):
            mean = self.income(t)
            other = float(_read(self.account, "other_debt", 0.0) or 0.0)
            dti = float(policy.max_dti) * mean - other
            residual = mean - self.outgo - float(policy.min_residual_income)
            out.append(min(dti, residual, self._afford_cap(mean, q)))
        return out

    def _afford_cap(self, mean: float, q: float) -> float:
        """Largest p with ``a_t(p) ≥ q``: ``exp(μ_t + s·Φ⁻¹(1 − q)) − outgo``."""
        if q <= 0:
            return math.inf
        if mean <= 0:
            return -math.inf
        if self.s == 0:
            return mean - self.outgo
        if q >= 1:
            return -math.inf
        mu = math.log(mean) - self.s2 / 2.0
        return math.exp(mu + self.s * NormalDist().inv_cdf(1.0 - q)) - self.outgo


def npv_of_schedule(
    account: Any, payments: Sequence[float], exposures: Sequence[float], model_params: Any
) -> dict[str, Any]:
    """SPEC §4 evaluated month by month: ``npv``, ``survival``, ``pd_12m``, ``pd_life``.

    ``payments`` and ``exposures`` (the balance before each payment) are in CNY.
    """
    model = AccountModel(account, model_params)
    return model.evaluate([float(p) for p in payments], [float(e) for e in exposures])


def caps(account: Any, policy: Any, months: int) -> list[float]:
    """Per-month payment caps (SPEC §5) for months 1…``months``:

    ``cap_t = min(max_dti·Ī_t − other_debt, Ī_t − expenses − other_debt −
    min_residual_income, largest p with a_t(p) ≥ min_afford_prob)``.
    """
    return AccountModel(account, _INCOME_ONLY).caps(policy, months)


# model numbers for the caps alone (they use only the income side of SPEC §4)
_INCOME_ONLY = ModelNumbers({}, 0.0, 0, 0.0, 0.0, 0.0, 0.0, 0.0)


# --------------------------------------------------------------------------------------
# Policy feasibility (SPEC §5)
# --------------------------------------------------------------------------------------


def phase_count(payments: Sequence[int]) -> int:
    """Payment phases: runs of equal consecutive non-zero payments; a final payment not
    above the one before it is that phase's remainder and does not count (``Policy``)."""
    count = 0
    prev = 0
    last = len(payments) - 1
    for t, p in enumerate(payments):
        if p > 0 and p != prev:
            if not (t == last and prev > 0 and p <= prev):
                count += 1
        prev = p
    return count


def _within(payment_cents: int, cap: float) -> bool:
    return payment_cents / 100 <= cap + CAP_TOL * max(1.0, abs(cap))


def policy_feasible(
    payments: Sequence[int],
    cap: Sequence[float],
    policy: Any,
    max_zero: int = 0,
    limit_levels: bool = True,
) -> bool:
    """SPEC §5 on a payment path in cents: term ≤ max_term_months, every payment within its
    month's cap, every non-final payment 0 or ≥ min_payment, at most ``max_zero`` months
    without payment and (with ``limit_levels``) at most max_payment_levels phases.

    ``limit_levels=False`` for ``custom``: issue 13 decided that max_payment_levels limits
    level and graduated plans, not the month-by-month schedule.
    """
    T = len(payments)
    if T > policy.max_term_months or T < 1:
        return False
    floor = float(policy.min_payment) * 100 - 1e-7
    zeros = 0
    for t, p in enumerate(payments):
        if p == 0:
            zeros += t < T - 1
            continue
        if not _within(p, cap[t]):
            return False
        if t < T - 1 and p < floor:
            return False
    if zeros > max_zero:
        return False
    return not limit_levels or phase_count(payments) <= policy.max_payment_levels


# --------------------------------------------------------------------------------------
# The level families: brute force over their stated grids
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Balances:
    principal: int
    interest: int
    fees: int
    units: int

    @classmethod
    def of(cls, account: Any) -> _Balances:
        return cls(
            to_cents(account.principal),
            to_cents(account.interest_due),
            to_cents(account.fees_due),
            rate_units(account.annual_rate),
        )

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.fees


def level_candidates(account: Any, policy: Any, family: str) -> Iterator[CentSchedule]:
    """Every cent-exact schedule on a level family's grid (feasible or not).

    ``family`` is ``instalment``, ``deferral`` (every allowed mode), ``deferral/<mode>``,
    ``concession`` or ``settlement``; each schedule's ``params`` name its grid point.
    """
    bal = _Balances.of(account)
    H = int(policy.max_term_months)
    unit = to_cents(policy.rounding)
    name, _, only_mode = family.partition("/")
    if name == Family.INSTALMENT:
        for n in range(1, H + 1):
            s = level_schedule(bal.total, bal.units, n, unit)
            if s is not None:
                s.params = {"term": n}
                yield s
    elif name == Family.DEFERRAL:
        modes = [m for m in policy.deferral_interest if not only_mode or m == only_mode]
        for mode in modes:
            for d in range(1, min(policy.max_deferral_months, H - 1) + 1):
                for n in range(d + 1, H + 1):
                    s = level_schedule(bal.total, bal.units, n, unit, d, mode)
                    if s is not None:
                        s.params = {"term": n, "deferral_months": d, "deferral_mode": mode}
                        yield s
    elif name == Family.CONCESSION:
        yield from _concession_candidates(bal, policy, H, unit)
    elif name == Family.SETTLEMENT:
        yield from _settlement_candidates(bal, policy, H, unit)
    else:
        raise ValueError(f"unknown level family {family!r}")


def _concession_candidates(
    bal: _Balances, policy: Any, H: int, unit: int
) -> Iterator[CentSchedule]:
    """Rates ``r − k·1 %`` while ≥ rate_floor × waivers of {0, ½, 1} of the fees and of the
    accrued interest (each within its policy maximum) × terms 1…5 and 6, 12, 18, … ≤ H: level
    instalments on what is left (the grid stated in ``solver.plans.families``).

    The point with no rate cut and nothing waived is the ``instalment`` family and is
    left out (SPEC §6: a concession cuts the rate and/or waives); a waiver of an amount
    that is zero is no waiver.
    """
    floor_units = rate_units(policy.rate_floor)
    shares = (Fraction(0), Fraction(1, 2), Fraction(1))
    waivers: list[tuple[Fraction, Fraction]] = []
    for fee_share in shares:
        if fee_share > share(policy.max_fee_waiver) or (fee_share and not bal.fees):
            continue
        for interest_share in shares:
            if interest_share > share(policy.max_interest_waiver):
                continue
            if interest_share and not bal.interest:
                continue
            waivers.append((fee_share * bal.fees, interest_share * bal.interest))
    k = 0
    while bal.units - k * CONCESSION_STEP_UNITS >= floor_units:
        units = bal.units - k * CONCESSION_STEP_UNITS
        for fee_part, interest_part in waivers:
            forgiven = fee_part + interest_part
            if k == 0 and forgiven == 0:
                continue  # no cut, nothing waived: the instalment family, not a concession
            opening = round_half_up(bal.total - forgiven)
            terms = [*range(1, min(CONCESSION_TERM_STEP, H + 1))]
            terms += range(CONCESSION_TERM_STEP, H + 1, CONCESSION_TERM_STEP)
            for n in terms:
                s = level_schedule(opening, units, n, unit)
                if s is not None:
                    s.params = {
                        "term": n,
                        "rate_units": units,
                        "rate_cut_steps": k,
                        "forgiven_cents": float(forgiven),
                        "fees_waived_cents": float(fee_part),
                        "interest_waived_cents": float(interest_part),
                    }
                    yield s
        k += 1


def round_half_up(amount: Fraction) -> int:
    return math.floor(amount + Fraction(1, 2))


def _settlement_candidates(
    bal: _Balances, policy: Any, H: int, unit: int
) -> Iterator[CentSchedule]:
    """Forgiveness in steps of 1 % of the balance (fees, then interest, then principal,
    each within its policy maximum) paid interest-free at once or over 2…6 months."""
    rooms = (
        share(policy.max_fee_waiver) * bal.fees,
        share(policy.max_interest_waiver) * bal.interest,
        share(policy.max_haircut) * bal.principal,
    )
    j = 0
    while Fraction(j, 100) * bal.total <= sum(rooms):
        forgiven = Fraction(j, 100) * bal.total
        parts, rest = [], forgiven
        for room in rooms:
            parts.append(min(rest, room))
            rest -= parts[-1]
        amount = bal.total - round_half_up(forgiven)
        if amount <= 0:
            break
        # nothing forgiven: a settlement then pays off at once (an interest-free payoff
        # over months is a concession); the rule the engine states in settlement_candidates
        longest = min(SETTLEMENT_MAX_MONTHS, H) if j > 0 else 1
        for months in range(1, longest + 1):
            s = settlement_schedule(amount, months, unit)
            if s is not None:
                s.params = {
                    "term": months,
                    "forgiven_percent": j,
                    "fees_waived_cents": float(parts[0]),
                    "interest_waived_cents": float(parts[1]),
                    "principal_waived_cents": float(parts[2]),
                }
                yield s
        j += 1


def best_level_family(
    account: Any, policy: Any, model_params: Any, family: str
) -> dict[str, Any] | None:
    """Best policy-feasible plan of a level family by brute force over its grid.

    Returns ``{"npv", "params", "schedule"}`` of the highest-NPV feasible schedule (the
    first of equal ones), or ``None`` when no grid point is feasible.
    """
    policy = policy.for_product(account.product)
    model = AccountModel(account, model_params)
    cap = model.caps(policy, int(policy.max_term_months))
    best: dict[str, Any] | None = None
    for s in level_candidates(account, policy, family):
        max_zero = s.params.get("deferral_months", 0)
        if not policy_feasible(s.payment, cap, policy, max_zero):
            continue
        value = model.evaluate_cents(s.payment, s.exposures)["npv"]
        if best is None or value > best["npv"]:
            best = {"npv": value, "params": s.params, "schedule": s}
    return best


# --------------------------------------------------------------------------------------
# The waterfall reference: first fit in SPEC §6 order
# --------------------------------------------------------------------------------------

WATERFALL_CUT_UNITS = 1_250_000_000  # 0.125 % a year, in rate units
WATERFALL_MIN_RATE_UNITS = 20_000_000_000  # 2 % a year: the lowest rate HAMP cuts to


def waterfall_steps(account: Any, policy: Any) -> Iterator[dict[str, Any]]:
    """The steps of the HAMP-style waterfall in SPEC §6 order, with the grids stated in
    ``solver.plans.families`` (``WaterfallWalk``): capitalise everything over the
    remaining term (at most H = ``max_term_months``) at the contract rate; cut the rate by
    0.125 % a step down to max(2 %, ``rate_floor``) (the last cut stops at that floor);
    extend the term month by month up to H at the lowest rate; forbear 1 %, 2 %, … of the
    principal (up to ``max_haircut``) over H months at the lowest rate, as an
    interest-free balloon paid with the last instalment.

    Each step: ``step`` name, ``units`` (rate), ``term``, ``balloon`` (cents) and
    ``bearing`` (the interest-bearing balance in cents).
    """
    bal = _Balances.of(account)
    H = int(policy.max_term_months)
    term0 = min(max(int(account.remaining_term), 1), H)
    floor_units = max(WATERFALL_MIN_RATE_UNITS, rate_units(policy.rate_floor))
    units = bal.units
    yield {"step": "capitalize", "units": units, "term": term0, "balloon": 0, "bearing": bal.total}
    while units > floor_units:
        units = max(units - WATERFALL_CUT_UNITS, floor_units)
        yield {
            "step": "rate_cut",
            "units": units,
            "term": term0,
            "balloon": 0,
            "bearing": bal.total,
        }
    for term in range(term0 + 1, H + 1):
        yield {
            "step": "term_extension",
            "units": units,
            "term": term,
            "balloon": 0,
            "bearing": bal.total,
        }
    k = 1
    while Fraction(k, 100) <= share(policy.max_haircut) and bal.principal > 0:
        balloon = round_half_up(Fraction(k, 100) * bal.principal)
        yield {
            "step": "forbearance",
            "units": units,
            "term": H,
            "balloon": balloon,
            "bearing": bal.total - balloon,
        }
        k += 1


def waterfall_plan(account: Any, policy: Any) -> dict[str, Any] | None:
    """The waterfall's plan: its first step (:func:`waterfall_steps`) whose exact level
    instalment meets ``max_dti`` on current income (``other_debt + p ≤ max_dti ×
    income``) and whose cent schedule passes SPEC §5 (:func:`policy_feasible` on the
    :func:`caps`); ``None`` when no step does. The step (:func:`waterfall_steps`) with its
    ``payments`` in cents (the balloon in the last one).
    """
    policy = policy.for_product(account.product)
    target = float(policy.max_dti) * float(account.income) - float(account.other_debt)
    cap: list[float] | None = None
    unit = to_cents(policy.rounding)
    for step in waterfall_steps(account, policy):
        level = annuity(step["bearing"], step["units"], step["term"]) / 100
        if float(level) > target:
            continue
        built = level_schedule(step["bearing"], step["units"], step["term"], unit)
        assert built is not None
        payments = [*built.payment[:-1], built.payment[-1] + step["balloon"]]
        cap = cap or caps(account, policy, int(policy.max_term_months))
        if policy_feasible(payments, cap, policy):
            return {**step, "payments": payments}
    return None


# --------------------------------------------------------------------------------------
# custom and step: exact search on a payment grid
# --------------------------------------------------------------------------------------


def custom_grid(
    account: Any, policy: Any, grid_levels: int, extra: Sequence[float] = ()
) -> list[float]:
    """The payment grid of ``custom`` / ``step`` by the rule ``solver.plans.search`` documents.

    ``top`` = the largest monthly cap rounded down to the rounding unit, then ``top − Δ``,
    ``top − 2Δ``, … down to ``min_payment`` with Δ the smallest multiple of the unit
    giving at most ``grid_levels`` amounts; plus ``min_payment`` itself (rounded up to the
    unit; session 16), the payment affordable in every month
    (the smallest cap, rounded down) and the ``extra`` amounts (the level instalments of
    the best ``instalment`` and capitalised ``deferral`` plans); only amounts between
    ``min_payment`` and ``top``.
    """
    policy = policy.for_product(account.product)
    unit = to_cents(policy.rounding)
    cap = caps(account, policy, int(policy.max_term_months))
    finite = [c for c in cap if math.isfinite(c)]
    if not finite:
        return []

    def floor_unit(x: float) -> int:
        return math.floor(x * 100 / unit + 1e-9) * unit

    top = floor_unit(max(finite))
    low = math.ceil(max(float(policy.min_payment) * 100, unit) / unit - 1e-9) * unit
    amounts: set[int] = set()
    if top >= low:
        span = top - low
        step = max(unit, math.ceil(span / max(grid_levels - 1, 1) / unit - 1e-9) * unit)
        count = min(span // step + 1, grid_levels)
        amounts.update(top - k * step for k in range(count))
        amounts.add(low)
    amounts.add(floor_unit(min(cap)) if math.isfinite(min(cap)) else -1)
    amounts.update(to_cents(x) for x in extra if x is not None and math.isfinite(x))
    floor = float(policy.min_payment) * 100 - 1e-7
    return [a / 100 for a in sorted(a for a in amounts if floor <= a <= top)]


@dataclass
class _RunProblem:
    """One account's ``custom`` / ``step`` problem on a grid (cents)."""

    model: AccountModel
    cap: list[float]
    grid: list[int]
    horizon: int
    max_holiday: int
    units: int
    opening: int
    increasing: bool
    max_phases: int | None
    min_payment: float

    @classmethod
    def build(
        cls,
        account: Any,
        policy: Any,
        model_params: Any,
        grid: Sequence[float],
        max_holiday: int,
        increasing: bool,
        max_phases: int | None,
    ) -> _RunProblem:
        policy = policy.for_product(account.product)
        model = AccountModel(account, model_params)
        H = int(policy.max_term_months)
        bal = _Balances.of(account)
        floor = float(policy.min_payment) * 100 - 1e-7
        return cls(
            model=model,
            cap=model.caps(policy, H),
            grid=sorted({to_cents(a) for a in grid if to_cents(a) >= floor}),
            horizon=H,
            max_holiday=max(0, min(int(max_holiday), H - 1)),
            units=bal.units,
            opening=bal.total,
            increasing=increasing,
            max_phases=max_phases,
            min_payment=floor,
        )

    def path_ok(self, payments: Sequence[int]) -> bool:
        """The family's rules on a whole path (used by the plain enumeration)."""
        T = len(payments)
        if T > self.horizon:
            return False
        zeros = 0
        while zeros < T - 1 and payments[zeros] == 0:
            zeros += 1
        if zeros > self.max_holiday:
            return False
        body = payments[zeros : T - 1]
        if any(p not in self.grid for p in body):  # no zero after the first payment either
            return False
        if not all(_within(p, self.cap[t]) for t, p in enumerate(payments) if p > 0):
            return False
        if payments[-1] <= 0:
            return False
        if self.increasing and any(b < a for a, b in zip(body, body[1:], strict=False)):
            return False
        return self.max_phases is None or phase_count(payments) <= self.max_phases


def _enumerate_paths(problem: _RunProblem) -> Iterator[CentSchedule]:
    """Every payment path of grid amounts (after an optional zero holiday) and a clearing
    payment, built as a cent schedule; family rules are checked by the caller."""
    H = problem.horizon

    def extend(prefix: list[int], balance: int) -> Iterator[CentSchedule]:
        s = amortise(problem.opening, problem.units, [*prefix, 0])
        if s is not None:
            yield s
        if len(prefix) + 1 >= H:
            return
        owed = balance + monthly_interest(balance, problem.units)
        choices = list(problem.grid)
        if all(p == 0 for p in prefix) and len(prefix) < problem.max_holiday:
            choices.append(0)
        for a in choices:
            if a < owed:
                yield from extend([*prefix, a], owed - a)

    yield from extend([], problem.opening)


def _best_by_enumeration(problem: _RunProblem) -> dict[str, Any]:
    best: dict[str, Any] = {"npv": -math.inf, "payments": None}
    for s in _enumerate_paths(problem):
        if not problem.path_ok(s.payment):
            continue
        value = problem.model.evaluate_cents(s.payment, s.exposures)["npv"]
        if value > best["npv"]:
            best = {"npv": value, "payments": [p / 100 for p in s.payment], "schedule": s}
    return best


def _best_by_dp(problem: _RunProblem) -> dict[str, Any]:
    """Dynamic programme over exact states (month, balance in cents, holiday flag, last
    amount, phases used): the value still collectable per unit of survival, discounted
    to time 0, is the best over the month's actions (clear, pay a grid amount, hold) of
    ``δ^t(1 − h)p + δ^(t+L)·h·R_t(B) + (1 − h)·V(next state)`` (SPEC §4 NPV is additive
    in this form because ``h_t`` depends only on the month and the payment)."""
    model, cap, H = problem.model, problem.cap, problem.horizon
    delta, lag = model.m.delta, model.m.lag
    K = problem.max_phases
    memo: dict[tuple, tuple[float, tuple[int, ...] | None]] = {}

    def value(t: int, balance: int, holiday: bool, last: int, phases: int):
        # t: 0-based month index; last: the previous non-zero payment (0 if none)
        key = (t, balance, holiday, last, phases) if K is not None else (t, balance, holiday)
        if key in memo:
            return memo[key]
        month = t + 1
        owed = balance + monthly_interest(balance, problem.units)
        recovery = model.recovery(month, balance / 100)
        d_pay, d_rec = delta**month, delta ** (month + lag)
        best: tuple[float, tuple[int, ...] | None] = (-math.inf, None)
        # clear the balance this month
        if _within(owed, cap[t]):
            new_phase = not (last > 0 and owed <= last)
            if K is None or phases + new_phase <= K:
                h = model.hazard(month, owed / 100)
                v = d_pay * (1 - h) * owed / 100 + d_rec * h * recovery
                best = (v, (owed,))
        if month < H:
            moves = [a for a in problem.grid if a < owed and _within(a, cap[t])]
            if problem.increasing and last > 0:
                moves = [a for a in moves if a >= last]
            for a in moves:
                k = phases + (a != last)
                if K is not None and k > K:
                    continue
                rest, path = value(t + 1, owed - a, False, a, k)
                if path is None:
                    continue
                h = model.hazard(month, a / 100)
                v = d_pay * (1 - h) * a / 100 + d_rec * h * recovery + (1 - h) * rest
                if v > best[0]:
                    best = (v, (a, *path))
            if holiday and t < problem.max_holiday:
                rest, path = value(t + 1, owed, True, 0, 0)
                if path is not None:
                    h = model.hazard(month, 0.0)
                    v = d_rec * h * recovery + (1 - h) * rest
                    if v > best[0]:
                        best = (v, (0, *path))
        memo[key] = best
        return best

    npv, path = value(0, problem.opening, True, 0, 0)
    if path is None:
        return {"npv": -math.inf, "payments": None, "states": len(memo)}
    return {"npv": npv, "payments": [p / 100 for p in path], "states": len(memo)}


def best_path_plan(
    family: str,
    account: Any,
    policy: Any,
    model_params: Any,
    grid: Sequence[float],
    max_holiday: int,
    method: str = "dp",
) -> dict[str, Any]:
    """Best ``custom`` or ``step`` plan on ``grid`` (exact): ``{"npv", "payments"}``, npv
    −inf if none.

    ``custom`` paths: a leading holiday of 0…``max_holiday`` months (interest capitalised),
    then grid amounts (any number of distinct ones, each below what is owed and within its
    month's cap), then one payment that clears the balance exactly and is within its cap
    (it may be below min_payment); term ≤ max_term_months. ``step`` paths: the same, with
    at most max_payment_levels phases that never go down. ``method`` is ``"dp"`` (exact
    states) or ``"enumerate"`` (every path; tiny instances only).
    """
    if family not in (Family.CUSTOM, Family.STEP):
        raise ValueError(f"best_path_plan solves custom or step, got {family!r}")
    step = family == Family.STEP
    levels = int(policy.for_product(account.product).max_payment_levels) if step else None
    problem = _RunProblem.build(account, policy, model_params, grid, max_holiday, step, levels)
    return _solve(problem, method)


def _solve(problem: _RunProblem, method: str) -> dict[str, Any]:
    if method == "dp":
        return _best_by_dp(problem)
    if method == "enumerate":
        return _best_by_enumeration(problem)
    raise ValueError(f"method must be 'dp' or 'enumerate', got {method!r}")


def schedule_of_path(account: Any, payments: Sequence[float]) -> CentSchedule | None:
    """Cent schedule of a payment path at the contract rate on the full balance (the last
    payment clears it)."""
    bal = _Balances.of(account)
    return amortise(bal.total, bal.units, [to_cents(p) for p in payments])


# --------------------------------------------------------------------------------------
# custom / step on a grid, as the optimizer's exhaustive check runs them
# --------------------------------------------------------------------------------------


def small_account_rows(n: int, seed: int, id_format: str) -> list[dict[str, Any]]:
    """``n`` seeded small accounts (terms 3…11 months, a few thousand CNY) as
    ``Account.from_mapping`` rows: the accounts of the exhaustive check (tests/test_plans.py,
    benchmarks/bench_plans.py); ``account_id`` is ``id_format`` formatted with the index."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        income = float(rng.choice([2500, 4000, 6000]))
        out.append(
            {
                "account_id": id_format.format(k),
                "product": "auto_loan" if k % 2 else "card_instalment",
                "principal": float(rng.choice([2000, 3500, 6000, 9000])),
                "interest_due": float(rng.choice([0, 150])),
                "fees_due": float(rng.choice([0, 80])),
                "annual_rate": float(rng.choice([0.0, 0.06, 0.12, 0.24])),
                "remaining_term": int(rng.integers(3, 12)),
                "income": income * float(rng.choice([0.5, 1.0])),
                "income_normal": income,
                "recovery_months": int(rng.choice([0, 3])),
                "income_cv": float(rng.choice([0.1, 0.3])),
                "expenses": income * 0.35,
                "other_debt": float(rng.choice([0, 300])),
                "vehicle_value": float(rng.choice([0, 8000])),
                "tier": str(rng.choice(list("ABCDE"))),
            }
        )
    for row in out:  # a vehicle is an auto loan's: on a card it is bad input (session 17)
        if row["vehicle_value"]:
            row["product"] = "auto_loan"
    return out


def family_holiday(policy: Any) -> int:
    """Longest leading holiday a ``custom`` / ``step`` path may open with.

    Holiday months capitalise their interest, so there is none unless ``capitalize`` is
    an allowed deferral mode; the holiday leaves at least one payment month in
    ``max_term_months``.
    """
    if "capitalize" not in policy.deferral_interest:
        return 0
    return int(min(policy.max_deferral_months, policy.max_term_months - 1))


def best_on_grid(
    account: Any,
    policy: Any,
    model_params: Any,
    grid: Sequence[float],
    family: str,
    method: str = "enumerate",
) -> float:
    """Best model NPV of ``family`` (``custom`` or ``step``) over every feasible path on ``grid``.

    ``-inf`` when no path is feasible. ``method="enumerate"`` lists every path (the
    exhaustive check); ``"dp"`` gives the same optimum on larger grids.
    """
    holiday = family_holiday(policy)
    return float(
        best_path_plan(family, account, policy, model_params, list(grid), holiday, method)["npv"]
    )


def customer_cost(account: Any, opening: int, interest: Sequence[int]) -> float:
    """The customer's cost of a cent schedule (issue 13 criterion 7), in CNY.

    What the plan charges the customer in present value at the contract rate: the charges
    the opening balance carries beyond the outstanding principal at t = 0 (accrued interest
    and fees, less waivers and haircut: ``opening − principal``, negative after a haircut)
    plus each month's interest charged, month t discounted by ``(1 + r/12)^−t``. Exact
    fractions; ``r`` is the contract rate as written in decimal.
    """
    monthly = 1 + share(account.annual_rate) / 12
    carried = Fraction(opening - to_cents(account.principal), 100)
    charged = sum(
        (Fraction(c, 100) / monthly ** (t + 1) for t, c in enumerate(interest)), Fraction(0)
    )
    return float(carried + charged)


def free_custom_optimum(account: Any, policy: Any, model_params: Any) -> dict[str, Any]:
    """The exact best ``custom`` plan of the free family (``SearchParams.free_family``) on
    an account whose policy allows no holiday: every amount on the rounding unit from
    ``min_payment`` (rounded up to the unit) to the largest cap, within each month's cap,
    any number of distinct amounts, then a clearing payment within its cap; term ≤
    ``max_term_months`` (:func:`best_path_plan`'s exact DP on that grid). Small accounts
    only: the DP's states are (month, balance in cents).
    """
    policy = policy.for_product(account.product)
    if family_holiday(policy) != 0:
        raise ValueError("free_custom_optimum covers the family without holidays only")
    unit = to_cents(policy.rounding)
    cap = caps(account, policy, int(policy.max_term_months))
    finite = [c for c in cap if math.isfinite(c)]
    if not finite:
        return {"npv": -math.inf, "payments": None}
    low = math.ceil(max(float(policy.min_payment) * 100, unit) / unit - 1e-9) * unit
    top = math.floor(max(finite) * 100 / unit + 1e-9) * unit
    grid = [a / 100 for a in range(low, top + 1, unit)]
    return best_path_plan(Family.CUSTOM, account, policy, model_params, grid, 0, "dp")


# --------------------------------------------------------------------------------------
# Assignment: the textbook MILP (scipy.optimize.milp / HiGHS)
# --------------------------------------------------------------------------------------


def assignment_milp(
    value: np.ndarray,
    weight: np.ndarray,
    row_of: np.ndarray,
    capacity: np.ndarray,
    *,
    global_weight: np.ndarray | None = None,
    global_capacity: np.ndarray | None = None,
    sense: str = "max",
    time_limit: float = 60.0,
) -> dict[str, Any]:
    """Solve an assignment with capacity rows as one MILP.

    Parameters
    ----------
    value
        ``K × n`` objective of giving job ``j`` option ``o``; a non-finite entry forbids
        the pair.
    weight
        ``K × n`` (or ``K × 1``, broadcast) use of the option's capacity row.
    row_of
        ``K`` capacity row of each option, ``-1`` for an uncapacitated option.
    capacity
        ``R`` row capacities.
    global_weight, global_capacity
        ``G × K × n`` (or ``G × K × 1``) use of rows every option draws on (a budget), and
        their ``G`` capacities.
    sense
        ``"max"`` or ``"min"``.
    time_limit
        HiGHS time limit in seconds.

    Returns
    -------
    dict
        ``status`` (HiGHS's message), ``optimal`` (proven), ``objective`` and ``bound`` in
        the problem's sense (NaN without a solution / bound), ``gap`` (relative, inf when
        unknown), ``assignment`` (option per job, or None), ``runtime_s``, ``variables``.
    """
    if sense not in ("max", "min"):
        raise ValueError(f"sense must be 'max' or 'min', got {sense!r}")
    value = np.asarray(value, dtype=float)
    k, n = value.shape
    o_idx, j_idx = np.nonzero(np.isfinite(value))
    pairs = o_idx.size
    sign = -1.0 if sense == "max" else 1.0  # milp minimises
    columns = np.arange(pairs)
    # every job takes exactly one allowed option
    constraints = [
        LinearConstraint(
            sparse.csr_matrix((np.ones(pairs), (j_idx, columns)), shape=(n, pairs)), 1, 1
        )
    ]
    # an option's use of its own capacity row stays within the row's capacity
    rows = np.asarray(row_of)[o_idx]
    has_row = rows >= 0
    use = np.broadcast_to(np.asarray(weight, dtype=float), (k, n))[o_idx, j_idx]
    capacity = np.asarray(capacity, dtype=float)
    constraints.append(
        LinearConstraint(
            sparse.csr_matrix(
                (use[has_row], (rows[has_row], columns[has_row])), shape=(capacity.size, pairs)
            ),
            -np.inf,
            capacity,
        )
    )
    # global rows (a budget) count every option's use
    if global_capacity is not None and np.size(global_capacity):
        g_use = np.broadcast_to(
            np.asarray(global_weight, dtype=float), (len(global_capacity), k, n)
        )[:, o_idx, j_idx]
        constraints.append(LinearConstraint(g_use, -np.inf, np.asarray(global_capacity)))
    started = time.perf_counter()
    res = milp(
        sign * value[o_idx, j_idx],
        constraints=constraints,
        integrality=np.ones(pairs),
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit, "disp": False},
    )
    runtime = time.perf_counter() - started
    objective = sign * float(res.fun) if res.x is not None else math.nan
    dual = getattr(res, "mip_dual_bound", None)
    bound = sign * float(dual) if dual is not None and np.isfinite(dual) else math.nan
    gap = (
        abs(bound - objective) / max(1.0, abs(objective))
        if math.isfinite(objective) and math.isfinite(bound)
        else math.inf
    )
    assignment = None
    if res.x is not None:
        chosen = res.x > 0.5
        assignment = np.full(n, -1, dtype=np.int64)
        assignment[j_idx[chosen]] = o_idx[chosen]
    return {
        "status": res.message.split(".")[0] if res.message else str(res.status),
        "optimal": res.status == 0,
        "objective": objective,
        "bound": bound,
        "gap": gap,
        "assignment": assignment,
        "runtime_s": runtime,
        "variables": int(pairs),
    }


def gap_milp(
    cost: np.ndarray,
    resource: np.ndarray,
    capacity: np.ndarray,
    sense: str = "min",
    time_limit: float = 60.0,
) -> dict[str, Any]:
    """A Generalized Assignment Problem (agents × jobs) as :func:`assignment_milp`."""
    agents = np.asarray(cost).shape[0]
    return assignment_milp(
        cost, resource, np.arange(agents), capacity, sense=sense, time_limit=time_limit
    )


def allocation_milp(built: Any, time_limit: float = 60.0) -> dict[str, Any]:
    """The collection allocation built by ``build_allocation_problem`` as :func:`assignment_milp`.

    Reads the built option values (``built.value``, ``K × n``, non-finite = not allowed)
    and the capacity rows of ``built.problem``; maximises the expected net collection.
    """
    problem = built.problem
    return assignment_milp(
        built.value,
        problem.weight,
        problem.row_of,
        problem.capacity,
        global_weight=problem.global_weight,
        global_capacity=problem.global_capacity,
        sense="max",
        time_limit=time_limit,
    )


# --------------------------------------------------------------------------------------
# Collection treatments: values and eligibility (SPEC §5, §8), from the catalogue file
# --------------------------------------------------------------------------------------
# Written from SPEC §5 (who may get which treatment) and §8 (expected collected − cost), with
# the response formula and the defaults stated in the header and the comments of
# ``scenarios/treatments.toml``; the catalogue is read here with ``tomllib``, never through
# ``solver.allocation`` (its Catalogue, values or compliance code).

#: Days in an average month (365.25 / 12), to turn monthly rates and terms into weeks.
ORACLE_DAYS_PER_MONTH = 365.25 / 12
ORACLE_TIERS = ("A", "B", "C", "D", "E")
ORACLE_BUCKETS = ("M0", "M1", "M2", "M3", "M4+")
#: SPEC §5: cease/dispute/bankruptcy/has_plan accounts get no collection contact.
ORACLE_PROTECTED = ("cease_contact", "dispute", "bankruptcy", "has_plan")


def read_catalogue_file(path: Any = None) -> dict[str, Any]:
    """The catalogue TOML as plain data (default: the bundled scenarios/treatments.toml)."""
    import tomllib
    from pathlib import Path

    path = (
        Path(path)
        if path
        else Path(__file__).resolve().parents[1] / "scenarios" / "treatments.toml"
    )
    return tomllib.loads(path.read_text(encoding="utf-8"))


def oracle_pay_probability(raw: dict[str, Any], name: str, row: dict[str, Any]) -> float:
    """P(payment this period) of treatment ``name`` for one account: ``base + (1 − base) ·
    reach · convert[bucket] · tier_factor[tier]`` (or the treatment's explicit table), times
    ``1 + preferred_channel_uplift`` on the account's preferred channel, capped at
    ``max_pay_prob`` (the catalogue header)."""
    t = raw["treatments"][name]
    tier, bucket = ORACLE_TIERS.index(row["tier"]), ORACLE_BUCKETS.index(row["dpd_bucket"])
    if "pay_prob" in t:
        p = float(t["pay_prob"][row["tier"]][bucket])
    else:
        base = float(raw["base_pay_prob"][row["tier"]][bucket])
        effect = float(t.get("reach", 0.0)) * float(t.get("convert", [0.0] * 5)[bucket])
        effect = min(1.0, max(0.0, effect * float(raw["tier_factor"][ORACLE_TIERS[tier]])))
        p = base + (1.0 - base) * effect
    channel = t.get("channel", "")
    preferred = row.get("preferred_channel")
    if channel and isinstance(preferred, str) and preferred == channel:
        p = min(p * (1.0 + float(raw.get("preferred_channel_uplift", 0.15))),
                float(raw.get("max_pay_prob", 0.95)))  # fmt: skip
    return p


def oracle_treatment_value(raw: dict[str, Any], name: str, row: dict[str, Any]) -> float:
    """This period's expected collected − cost of treatment ``name`` for one account, in
    cents as the catalogue header states: collected = pay_prob · paid_share[bucket] · basis
    (``due``: arrears + fees_due, or (principal + interest_due) / remaining_term when nothing
    is overdue; ``balance``: principal + interest_due + fees_due), rounded to the cent; cost
    = cost_per_action · actions rounded half up to the cent."""
    t = raw["treatments"][name]
    bucket = ORACLE_BUCKETS.index(row["dpd_bucket"])
    overdue = float(row["arrears"]) + float(row["fees_due"])
    if t.get("basis", "due") == "balance":
        basis = float(row["principal"]) + float(row["interest_due"]) + float(row["fees_due"])
    elif overdue > 0:
        basis = overdue
    else:
        basis = (float(row["principal"]) + float(row["interest_due"])) / max(
            float(row["remaining_term"]), 1.0
        )
    share = float(t.get("paid_share", [1.0] * 5)[bucket])
    collected = float(np.round(oracle_pay_probability(raw, name, row) * share * basis, 2))
    cost = Decimal(repr(float(t.get("cost_per_action", 0.0)))) * int(t.get("actions", 0))
    cost_cents = int(cost.scaleb(2).to_integral_value(rounding=ROUND_HALF_UP))
    return float(np.round(collected - cost_cents / 100, 2))


def oracle_allowed(
    raw: dict[str, Any], name: str, row: dict[str, Any], teams: Sequence[dict[str, Any]]
) -> bool:
    """Whether treatment ``name`` may be given to one account (SPEC §5 and the catalogue's
    eligibility keys): ``none`` always; otherwise no protected or no-contact flag, not a
    hardship-forbidden treatment for a hardship account, the treatment's tiers, dpd buckets
    and balance range, only gentle treatments for gentle tiers in gentle buckets, the
    consent column true, and for a human treatment a team (``{"type", "regions",
    "languages"}``) of its type serving the account's region and, unless legal, speaking its
    language (an empty list serves everyone)."""
    if name == "none":
        return True
    t, comp = raw["treatments"][name], raw.get("compliance", {})
    flags = set(ORACLE_PROTECTED) | set(comp.get("no_contact_flags", ()))
    if t.get("contact", True) and any(bool(row.get(f, False)) for f in flags):
        return False
    if row.get("hardship", False) and name in comp.get("hardship_forbidden", ()):
        return False
    if row["tier"] not in t.get("tiers", ORACLE_TIERS):
        return False
    if row["dpd_bucket"] not in t.get("dpd_buckets", ORACLE_BUCKETS):
        return False
    gentle_account = row["tier"] in comp.get("gentle_tiers", ()) and row["dpd_bucket"] in comp.get(
        "gentle_buckets", ()
    )
    if gentle_account and not t.get("gentle", False):
        return False
    balance = float(row["principal"]) + float(row["interest_due"]) + float(row["fees_due"])
    if not float(t.get("min_balance", 0.0)) <= balance <= float(t.get("max_balance", math.inf)):
        return False
    if t.get("consent") and not bool(row.get(t["consent"], True)):
        return False
    if not t.get("team_type"):
        return True
    for team in teams:
        if team["type"] != t["team_type"]:
            continue
        if team.get("regions") and row.get("region") not in team["regions"]:
            continue
        if (
            comp.get("language_match", True)
            and team.get("languages")
            and team["type"] != "legal"
            and row.get("language") not in team["languages"]
        ):
            continue
        return True
    return False


def oracle_week_values(
    raw: dict[str, Any], rows: Sequence[dict[str, Any]], teams: Sequence[dict[str, Any]]
) -> tuple[list[str], np.ndarray]:
    """Treatment names (file order) and ``T × n`` values of :func:`oracle_treatment_value`,
    ``-inf`` where :func:`oracle_allowed` says no."""
    names = list(raw["treatments"])
    out = np.full((len(names), len(rows)), -np.inf)
    for j, row in enumerate(rows):
        for k, name in enumerate(names):
            if oracle_allowed(raw, name, row, teams):
                out[k, j] = oracle_treatment_value(raw, name, row)
    return names, out


def oracle_plan_offer_value(
    uplift: float, term_months: float, weeks: int, accept: float, period_days: int = 7
) -> float:
    """What offering a plan adds to an account's expected discounted cash within ``weeks``
    periods (issue 17 item 4): with probability ``accept`` the plan is signed and pays its
    NPV uplift as equal payments, one per period for ``N = max(1, round(term · 365.25/12 /
    period_days))`` periods starting one period after signing, whose present value at the
    cost of funds is the uplift; only payments before period ``weeks`` count. Summed term by
    term (no annuity formula)."""
    cost_of_funds = 0.03  # SPEC §4's default
    delta = (1.0 / (1.0 + cost_of_funds / 12.0)) ** (period_days / ORACLE_DAYS_PER_MONTH)
    n = max(1, round(term_months * ORACLE_DAYS_PER_MONTH / period_days))
    payment = uplift / sum(delta**u for u in range(1, n + 1))
    return accept * sum(payment * delta**u for u in range(1, min(n, weeks - 1) + 1))


def kappa_h0_mle(events: np.ndarray, unaffordable: np.ndarray, kappa: float) -> float:
    """The base hazard h0 maximising the rows' Bernoulli log-likelihood under SPEC §4's
    hazard ``h = h0 + (1 − h0)·κ·(1 − a)`` at a given κ (bounded scalar search); the
    oracle of the κ fit's per-tier and pooled estimates.
    """
    from scipy import optimize

    def nll(h: float) -> float:
        p = h + (1 - h) * kappa * unaffordable
        return -float(np.sum(events * np.log(p) + (1 - events) * np.log1p(-p)))

    fit = optimize.minimize_scalar(
        nll, bounds=(1e-9, 0.5), method="bounded", options={"xatol": 1e-13}
    )
    return float(fit.x)
