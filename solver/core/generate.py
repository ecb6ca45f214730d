"""Synthetic portfolios of a Chinese bank's delinquent auto-loan and card-instalment book.

:func:`generate_portfolio` draws every column with numpy (``np.random.default_rng(seed)``,
no Python loop over accounts), so the same ``n`` and ``seed`` give the same frame and the
same file bytes. The result passes :func:`solver.core.validation.validate_portfolio` (it is built
through it).

The loan is simulated from origination, so balances, arrears, interest and terms fit
together: an account borrowed ``L`` at rate ``r`` over ``N`` months, paid ``k`` level
instalments ``P`` and then missed ``m = ceil(dpd / 30)``. Then ``principal`` is the
amortised balance after ``k`` payments (overdue principal included), ``arrears = m·P``,
``interest_due`` is the interest part of the missed instalments, and
``remaining_term = N − k − m`` — so the SPEC §4 status quo (level payment on
``principal + interest_due − arrears`` over ``remaining_term``) is again ``P``.

Distributions (CNY; "LN(median, σ)" is lognormal with that median and log-sd)
--------------------------------------------------------------------------------
==================  ==========================================  =============================
column              auto_loan                                   card_instalment
==================  ==========================================  =============================
share               45 %                                        55 % (``product_mix``)
original amount     LN(150k, 0.45), 20k-800k                    LN(35k, 0.6), 3k-300k
original term       12/24/36/48/60 m: 8/22/40/15/15 %           3/6/12/18/24/36 m:
                                                                5/12/33/18/20/12 %
annual_rate         3 % + 6 %·Beta(2, 2.5)  (3-9 %)             10 % + 8 %·Beta(2.5, 2)
                                                                (10-18 %)
dpd bucket          M0 4 %, M1 52 %, M2 20 %, M3 11 %, M4+ 13 % (both products); days
                    uniform in the bucket, M4+ 91 + Geometric(mean 90), at most 720
fees_due            penalty interest 1.5·r on arrears for dpd   late fee 5 % of arrears
                    days (罚息 at contract rate + 50 %)            (违约金)
credit_score        Normal(mean 690/655/615/585/555 for M0..M4+, sd 65), 300-850, whole
                    numbers; 8 % missing (thin file). ``tier`` derived (SPEC §5 rules)
income_normal       LN(9,500, 0.5), 2.5k-200k                   LN(7,500, 0.55), 2.5k-200k
income shock        25/30/40/45/50 % of M0..M4+ accounts: income = income_normal ·
                    U(0.3, 0.85) (one in ten of them 0: job loss), recovery_months U{1..12};
                    otherwise income = income_normal, recovery_months 0
income_cv           70 % salaried U(0.08, 0.20); 30 % self-employed / gig U(0.30, 0.60)
expenses            max(1,800, income_normal · U(0.28, 0.50))
other_debt          45 % have some: income_normal · U(0.05, 0.30); else 0
vehicle_value       price = amount / LTV, LTV U(0.5, 0.8);       0
                    value = price · 0.9 · 0.85^(age/12) · LN(1, 0.1)
region              province, by 2020 census population share
language            zh, plus yue (Guangdong 35 %, Guangxi 15 %), zh-min-nan (Fujian
                    15 %, Hainan 10 %), wuu (Shanghai 10 %, Zhejiang 5 %), ug (Xinjiang 20 %),
                    bo (Tibet 40 %), en (0.5 % everywhere)
preferred_channel   sms 30, phone 30, app 20, email 5, visit 2,  sms 25, app 40, phone 20,
                    none 13 %                                   email 5, none 10 %
flags               consent_sms 95 %, consent_email 80 %, hardship 5 %, cease_contact 1 %,
                    dispute 2 %, bankruptcy 0.2 %, has_plan 4 %
==================  ==========================================  =============================

Reasons and sources
-------------------
* Auto loans: China's Auto Loan Management Measures (PBoC/CBIRC 2017) capped loan-to-value
  at 80 % for new private cars and 70 % for used cars, hence LTV 0.5-0.8; typical car
  prices of 100-250k CNY give loans of roughly 50-200k; terms of 3-5 years dominate.
  Outstanding delinquent balances land mostly in 30k-300k.
* Card instalments (信用卡分期): instalment fees of about 0.6-0.75 % a month equal a
  nominal APR of roughly 13-17 %; terms of 3-36 months; balances mostly 5k-80k. Rates
  never exceed 0.36 (the judicial protection ceiling and the SPEC bound).
* Incomes: NBS 2023 urban per-capita disposable income was 51,821 CNY/year (about 4,300 a
  month per person, children and retirees included); the average wage in urban
  non-private units was 120,698 CNY/year. Borrowers are working adults, so monthly net
  income medians of 7,500-9,500 sit between the two. Delinquency often follows an income
  shock, so the shock share rises with dpd.
* Expenses: NBS 2023 urban per-capita consumption expenditure was 32,994 CNY/year (about
  2,750 a month), hence the 1,800 floor and 28-50 % of income.
* dpd mix: most delinquent accounts cure or roll within the first month, so M1 dominates
  and each later bucket is smaller (roll rates of 20-50 % per bucket are typical); M4+
  accumulates, so it is larger than M3. M0 holds pre-delinquent accounts flagged by early
  warning or asking for help before missing a payment.
* Scores: a FICO-like 300-850 scale falling with delinquency; tiers use the SPEC §5 rules
  (:class:`solver.core.tiering.TieringRules`).
* Flags: hardship about 5 % (illness, disaster, bereavement); China's personal
  bankruptcy exists only in the Shenzhen pilot (2021), hence 0.2 %. These rates and the
  channel shares are assumptions for realistic testing, not measured figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.core.schema import DPD_BUCKETS, PRODUCTS
from solver.core.tiering import TieringRules, derive_tier
from solver.core.validation import validate_portfolio
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_PRODUCT_MIX", "PROVINCES", "generate_portfolio"]

DEFAULT_PRODUCT_MIX: dict[str, float] = {"auto_loan": 0.45, "card_instalment": 0.55}

#: Province (pinyin) -> population in millions, 7th national census (2020), mainland.
PROVINCES: dict[str, float] = {
    "Guangdong": 126.0,
    "Shandong": 101.5,
    "Henan": 99.4,
    "Jiangsu": 84.7,
    "Sichuan": 83.7,
    "Hebei": 74.6,
    "Hunan": 66.4,
    "Zhejiang": 64.6,
    "Anhui": 61.0,
    "Hubei": 57.8,
    "Guangxi": 50.1,
    "Yunnan": 47.2,
    "Jiangxi": 45.2,
    "Liaoning": 42.6,
    "Fujian": 41.5,
    "Shaanxi": 39.5,
    "Guizhou": 38.6,
    "Shanxi": 34.9,
    "Chongqing": 32.1,
    "Heilongjiang": 31.9,
    "Xinjiang": 25.9,
    "Gansu": 25.0,
    "Shanghai": 24.9,
    "Jilin": 24.1,
    "Inner Mongolia": 24.0,
    "Beijing": 21.9,
    "Tianjin": 13.9,
    "Hainan": 10.1,
    "Ningxia": 7.2,
    "Qinghai": 5.9,
    "Tibet": 3.6,
}

#: Non-Mandarin language -> {province: share}; ``en`` applies everywhere.
_LANGUAGE_SHARES: dict[str, dict[str, float]] = {
    "yue": {"Guangdong": 0.35, "Guangxi": 0.15},
    "zh-min-nan": {"Fujian": 0.15, "Hainan": 0.10},
    "wuu": {"Shanghai": 0.10, "Zhejiang": 0.05},
    "ug": {"Xinjiang": 0.20},
    "bo": {"Tibet": 0.40},
}
_ENGLISH_SHARE = 0.005

_BUCKET_SHARES = np.array([0.04, 0.52, 0.20, 0.11, 0.13])  # M0, M1, M2, M3, M4+
_SCORE_MEAN = np.array([690.0, 655.0, 615.0, 585.0, 555.0])
_SHOCK_SHARE = np.array([0.25, 0.30, 0.40, 0.45, 0.50])

_TERMS = {
    "auto_loan": (np.array([12, 24, 36, 48, 60]), np.array([0.08, 0.22, 0.40, 0.15, 0.15])),
    "card_instalment": (
        np.array([3, 6, 12, 18, 24, 36]),
        np.array([0.05, 0.12, 0.33, 0.18, 0.20, 0.12]),
    ),
}
_CHANNELS = np.array(["sms", "phone", "app", "email", "visit", ""], dtype=object)
_CHANNEL_SHARES = {
    "auto_loan": np.array([0.30, 0.30, 0.20, 0.05, 0.02, 0.13]),
    "card_instalment": np.array([0.25, 0.20, 0.40, 0.05, 0.00, 0.10]),
}


def _product_mix(product_mix: Mapping[str, float] | None) -> float:
    """Share of auto loans from a product mix (validated)."""
    mix = dict(DEFAULT_PRODUCT_MIX if product_mix is None else product_mix)
    unknown = [p for p in mix if p not in PRODUCTS]
    if unknown:
        raise InputError(
            f"product_mix: unknown product {unknown[0]!r} (known: {', '.join(PRODUCTS)})"
        )
    weights = np.array([float(mix.get(p, 0.0)) for p in PRODUCTS])
    if np.any(~np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise InputError(f"product_mix: shares must be >= 0 and not all 0, got {mix}")
    return float(weights[0] / weights.sum())


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(n))


def _choice_by_row(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One category index per row from row-wise probabilities (n × k), vectorised."""
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative[:, -1] = 1.0
    u = np.asarray(rng.random(probabilities.shape[0]))
    return (u[:, None] >= cumulative).sum(axis=1)


def _balance_after(amount, monthly_rate, payment, months):
    """Balance of a level-payment loan after ``months`` payments (vectorised)."""
    growth = (1.0 + monthly_rate) ** months
    with np.errstate(divide="ignore", invalid="ignore"):
        annuity = np.where(monthly_rate > 0, (growth - 1.0) / monthly_rate, months)
    return amount * growth - payment * annuity


def generate_portfolio(
    n: int,
    seed: int = 0,
    *,
    product_mix: Mapping[str, float] | None = None,
    as_of: str | dt.date = "2025-06-30",
    tiering: TieringRules | None = None,
) -> pd.DataFrame:
    """A synthetic delinquent portfolio with the SPEC §3 schema.

    Parameters
    ----------
    n
        Number of accounts (>= 1).
    seed
        Seed of ``numpy.random.default_rng``; the same ``n`` and seed give the same frame
        (and the same CSV/Parquet bytes through :func:`solver.core.writers.write_table`).
    product_mix
        Product -> share (normalised), default :data:`DEFAULT_PRODUCT_MIX`.
    as_of
        Snapshot date, recorded in ``frame.attrs["as_of"]`` (the schema has no dates).
    tiering
        Tiering rules for the derived tiers (default SPEC §5 rules).

    Returns
    -------
    pandas.DataFrame
        A validated portfolio (SPEC §3 columns + ``dpd_bucket``); the module docstring
        documents every distribution.
    """
    import pandas as pd

    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InputError(f"n must be a whole number >= 1, got {n!r}")
    n = int(n)
    auto_share = _product_mix(product_mix)
    as_of_date = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    rng = np.random.default_rng(seed)

    # every step draws from the one generator, in this order (same seed, same book)
    auto = rng.random(n) < auto_share
    loans = _loans(rng, auto)
    score = np.clip(np.round(_SCORE_MEAN[loans.bucket] + 65 * rng.standard_normal(n)), 300, 850)
    score = np.where(rng.random(n) < 0.08, np.nan, score)
    tier = derive_tier(score, loans.dpd, tiering)
    finances = _finances(rng, auto, loans.bucket)
    vehicle_value = _vehicle_value(rng, auto, loans)
    contact = _contact(rng, auto)
    flags = rng.random((7, n))
    prefix = np.where(auto, "AL", "CI")
    account_id = np.strings.add(prefix, np.strings.zfill(np.arange(1, n + 1).astype(np.str_), 8))

    raw = pd.DataFrame(
        {
            "account_id": account_id.astype(object),
            "product": np.where(auto, "auto_loan", "card_instalment").astype(object),
            "principal": loans.principal,
            "interest_due": loans.interest_due,
            "fees_due": loans.fees_due,
            "arrears": loans.arrears,
            "annual_rate": loans.annual_rate,
            "remaining_term": loans.remaining_term,
            "dpd": loans.dpd,
            "credit_score": score,
            "tier": tier.astype(object),
            **finances,
            "vehicle_value": vehicle_value,
            **contact,
            "consent_email": flags[0] < 0.80,
            "consent_sms": flags[1] < 0.95,
            "hardship": flags[2] < 0.05,
            "cease_contact": flags[3] < 0.01,
            "dispute": flags[4] < 0.02,
            "bankruptcy": flags[5] < 0.002,
            "has_plan": flags[6] < 0.04,
        }
    )
    portfolio = validate_portfolio(raw, source=f"<generated n={n} seed={seed}>", tiering=tiering)
    portfolio.attrs = {"as_of": as_of_date.isoformat(), "seed": int(seed)}
    return portfolio


@dataclass(frozen=True)
class _Loans:
    """The simulated loans: delinquency, contract and balances (arrays over accounts)."""

    bucket: np.ndarray
    dpd: np.ndarray
    paid: np.ndarray
    missed: np.ndarray
    remaining_term: np.ndarray
    amount: np.ndarray
    annual_rate: np.ndarray
    principal: np.ndarray
    interest_due: np.ndarray
    arrears: np.ndarray
    fees_due: np.ndarray


def _loans(rng: np.random.Generator, auto: np.ndarray) -> _Loans:
    """Product, delinquency and contract: each loan simulated from origination (module
    docstring)."""
    n = auto.size
    bucket = rng.choice(len(DPD_BUCKETS), size=n, p=_BUCKET_SHARES)
    low = np.array([0, 1, 31, 61, 91])[bucket]
    high = np.array([0, 30, 60, 90, 91])[bucket]
    dpd = low + np.floor(rng.random(n) * (high - low + 1)).astype(np.int64)
    tail = np.minimum(rng.geometric(1 / 90, size=n) - 1, 720 - 91)
    dpd = np.where(bucket == 4, 91 + tail, dpd)
    missed = np.ceil(dpd / 30).astype(np.int64)

    terms = np.empty(n, dtype=np.int64)
    for product, is_product in (("auto_loan", auto), ("card_instalment", ~auto)):
        choices, shares = _TERMS[product]
        terms[is_product] = rng.choice(choices, size=int(is_product.sum()), p=shares)
    terms = np.maximum(terms, missed + 1)  # the loan was still running when payments stopped
    # instalments paid before the first miss, 0 .. N-m-1; skewed early (U^1.5) because
    # delinquency is most frequent in the first years of a loan
    paid = np.floor(rng.random(n) ** 1.5 * (terms - missed)).astype(np.int64)
    remaining_term = terms - paid - missed

    amount = np.where(
        auto,
        np.clip(_lognormal(rng, 150_000.0, 0.45, n), 20_000, 800_000),
        np.clip(_lognormal(rng, 35_000.0, 0.6, n), 3_000, 300_000),
    )
    amount = np.round(amount, -2)
    annual_rate = np.where(
        auto, 0.03 + 0.06 * rng.beta(2.0, 2.5, n), 0.10 + 0.08 * rng.beta(2.5, 2.0, n)
    )
    annual_rate = np.round(np.minimum(annual_rate, 0.36), 4)
    i = annual_rate / 12
    with np.errstate(divide="ignore", invalid="ignore"):
        instalment = np.where(i > 0, amount * i / (1 - (1 + i) ** -terms), amount / terms)
    balance_paid = _balance_after(amount, i, instalment, paid)
    balance_cured = _balance_after(amount, i, instalment, paid + missed)
    principal = np.round(balance_paid, 2)
    interest_due = np.round(np.maximum(missed * instalment - (balance_paid - balance_cured), 0), 2)
    arrears = np.minimum(np.round(missed * instalment, 2), principal + interest_due)
    fees_due = np.round(np.where(auto, arrears * 1.5 * annual_rate * dpd / 365, 0.05 * arrears), 2)
    return _Loans(
        bucket=bucket,
        dpd=dpd,
        paid=paid,
        missed=missed,
        remaining_term=remaining_term,
        amount=amount,
        annual_rate=annual_rate,
        principal=principal,
        interest_due=interest_due,
        arrears=arrears,
        fees_due=fees_due,
    )


def _finances(rng: np.random.Generator, auto: np.ndarray, bucket: np.ndarray) -> dict[str, Any]:
    """Income (with shocks and their recovery), its volatility, expenses and other debt,
    as the schema's columns in their order."""
    n = auto.size
    income_normal = np.where(
        auto,
        _lognormal(rng, 9_500.0, 0.5, n),
        _lognormal(rng, 7_500.0, 0.55, n),
    )
    income_normal = np.round(np.clip(income_normal, 2_500, 200_000), -1)
    shocked = rng.random(n) < _SHOCK_SHARE[bucket]
    job_loss = shocked & (rng.random(n) < 0.10)
    shock_factor = np.where(job_loss, 0.0, rng.uniform(0.3, 0.85, n))
    income = np.where(shocked, np.round(income_normal * shock_factor, -1), income_normal)
    recovery_months = np.where(shocked, rng.integers(1, 13, n), 0).astype(np.int64)
    income_cv = np.round(
        np.where(rng.random(n) < 0.70, rng.uniform(0.08, 0.20, n), rng.uniform(0.30, 0.60, n)), 2
    )
    expenses = np.round(np.maximum(1_800, income_normal * rng.uniform(0.28, 0.50, n)), -1)
    other_debt = np.where(
        rng.random(n) < 0.45, np.round(income_normal * rng.uniform(0.05, 0.30, n), -1), 0.0
    )
    return {
        "income": income,
        "income_normal": income_normal,
        "recovery_months": recovery_months,
        "income_cv": income_cv,
        "expenses": expenses,
        "other_debt": other_debt,
    }


def _vehicle_value(rng: np.random.Generator, auto: np.ndarray, loans: _Loans) -> np.ndarray:
    """Collateral value of the auto loans (0 for card instalments)."""
    ltv = rng.uniform(0.5, 0.8, auto.size)
    age_years = (loans.paid + loans.missed) / 12
    value = (
        loans.amount / ltv * 0.9 * 0.85**age_years * np.exp(0.1 * rng.standard_normal(auto.size))
    )
    return np.where(auto, np.round(value, -2), 0.0)


def _contact(rng: np.random.Generator, auto: np.ndarray) -> dict[str, Any]:
    """Region, language and preferred channel, as the schema's columns in their order."""
    n = auto.size
    provinces = np.array(list(PROVINCES), dtype=object)
    population = np.array(list(PROVINCES.values()))
    region_index = rng.choice(len(provinces), size=n, p=population / population.sum())
    languages = ["zh", *_LANGUAGE_SHARES, "en"]
    share = np.zeros((len(provinces), len(languages)))
    for j, lang in enumerate(languages[1:-1], start=1):
        for province, p in _LANGUAGE_SHARES[lang].items():
            share[list(PROVINCES).index(province), j] = p
    share[:, -1] = _ENGLISH_SHARE
    share[:, 0] = 1.0 - share[:, 1:].sum(axis=1)
    language = np.asarray(languages, dtype=object)[_choice_by_row(rng, share[region_index])]
    channel_p = np.where(
        auto[:, None], _CHANNEL_SHARES["auto_loan"], _CHANNEL_SHARES["card_instalment"]
    )
    preferred_channel = _CHANNELS[_choice_by_row(rng, channel_p)]
    return {
        "region": provinces[region_index],
        "language": language,
        "preferred_channel": preferred_channel,
    }
