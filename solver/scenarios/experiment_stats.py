"""The tests of a champion/challenger evaluation (:mod:`solver.scenarios.experiment`).

Each test returns one uplift row (:func:`uplift_row`): the groups' values, the uplift
``challenger − champion`` with its 95 % interval, the statistic and p-value, the accounts
per group needed to detect an uplift of the observed size with 80 % power, and the minimum
detectable uplift ``mde`` of the groups as they are.

* :func:`proportion_test`: two-proportion z-test (pooled variance under H0), Wald interval,
  Fleiss' sample size with unequal groups.
* :func:`welch_test`: Welch's t-test and interval (Welch–Satterthwaite degrees of
  freedom). Its sample size and ``mde`` use the *same* distribution as the test: the power
  of Welch's test at ``n`` accounts is computed from the noncentral t distribution with the
  Welch degrees of freedom at ``n`` (:func:`welch_power`). Before session 24 they used the
  normal approximation, so with 2 accounts per group a note said "large enough for an
  uplift of the observed size" beside a p-value of 0.20 (a t with 2 degrees of freedom
  needs about 1.5 times the z's ratio to reach 5 %).
* :func:`ratio_test`: pooled ratios ``Σy/Σx``, delta-method interval and z-test; its
  sample size is the normal one, as its test is.

A zero standard error (every account of each group has the same value: all cured or none,
the same recovery rate) makes a test **not testable** (session 24): statistic, p-value,
interval, sample size and ``mde`` are NaN, ``significant`` is false, and the note says so
(:func:`sample_note`). Why not p = 0 when the means differ (scipy's ``ttest_ind`` gives
t = inf, p = 0 with a "precision loss" warning): a sample without variance gives no
estimate of the uncertainty of its uplift, and three accounts each at 0 and at 0.5 say
nothing of how precisely 0.5 is known; before, such a row read "p = 1.0000, not
significant" beside a zero-width interval that excluded 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "ALPHA",
    "POWER",
    "proportion_test",
    "ratio_test",
    "sample_note",
    "uplift_row",
    "welch_df",
    "welch_power",
    "welch_test",
]

ALPHA = 0.05
POWER = 0.80


def _z(q: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(q))


def _z_mde(se: float) -> float:
    """Minimum detectable uplift of a z-test with standard error ``se``."""
    return (_z(1 - ALPHA / 2) + _z(POWER)) * se


def uplift_row(
    champion: float,
    challenger: float,
    half_width: float,
    statistic: float,
    p_value: float,
    k: float,
    need1: float,
    mde: float,
) -> dict[str, float]:
    """One uplift row: ``challenger − champion`` ± ``half_width``, the test, the sample
    sizes (``need1`` champion accounts, ``k`` challengers per champion) and ``mde``."""
    diff = challenger - champion
    return {
        "champion": champion,
        "challenger": challenger,
        "uplift": diff,
        "ci_low": diff - half_width,
        "ci_high": diff + half_width,
        "statistic": statistic,
        "p_value": p_value,
        "need_champion": need1,
        "need_challenger": math.ceil(k * need1) if math.isfinite(need1) else need1,
        "mde": mde,
    }


def _not_testable(champion: float, challenger: float) -> dict[str, float]:
    """The row of a test whose standard error is zero (module docstring)."""
    nan = math.nan
    return uplift_row(champion, challenger, nan, nan, nan, 1.0, nan, nan)


def proportion_test(x1: int, n1: int, x2: int, n2: int) -> dict[str, float]:
    """Champion x1/n1, challenger x2/n2: uplift p2 − p1, Wald CI, pooled z-test, sample size."""
    from scipy.stats import norm

    p1, p2 = x1 / n1, x2 / n2
    diff = p2 - p1
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    pooled = (x1 + x2) / (n1 + n2)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se0 == 0:  # all cured, or none, in both groups
        return _not_testable(p1, p2)
    z = diff / se0
    p_value = float(2 * norm.sf(abs(z)))
    za, zb = _z(1 - ALPHA / 2), _z(POWER)
    k = n2 / n1
    if diff != 0:
        pbar = (p1 + k * p2) / (1 + k)
        root = za * math.sqrt(pbar * (1 - pbar) * (1 + 1 / k)) + zb * math.sqrt(
            p1 * (1 - p1) + p2 * (1 - p2) / k
        )
        need1: float = math.ceil((root / diff) ** 2)
    else:
        need1 = math.inf
    return uplift_row(p1, p2, za * se, z, p_value, k, need1, _z_mde(se) if se > 0 else math.nan)


def welch_df(v1: float, n1: int, v2: float, n2: int) -> float:
    """Welch–Satterthwaite degrees of freedom of two samples' variances and sizes."""
    a, b = v1 / n1, v2 / n2
    return (a + b) ** 2 / (a**2 / max(n1 - 1, 1) + b**2 / max(n2 - 1, 1))


def welch_power(uplift: float, v1: float, n1: int, v2: float, n2: int) -> float:
    """Power of the two-sided Welch test at level ALPHA to detect ``uplift`` between groups
    of ``n1`` and ``n2`` accounts with variances ``v1``, ``v2``: the noncentral t
    distribution with the Welch degrees of freedom and noncentrality ``uplift / se``."""
    from scipy.stats import nct, t

    se = math.sqrt(v1 / n1 + v2 / n2)
    df = welch_df(v1, n1, v2, n2)
    critical = float(t.ppf(1 - ALPHA / 2, df))
    ncp = abs(uplift) / se
    # the wrong-side tail, at most P(T' < 0) = Φ(−ncp); scipy returns NaN for it far out
    # (measured on a grid of df 1..1e7 and ncp 0..60: only where Φ(−ncp) < 2e-14)
    wrong_side = float(nct.cdf(-critical, df, ncp))
    return float(nct.sf(critical, df, ncp)) + (wrong_side if math.isfinite(wrong_side) else 0.0)


def _smallest(holds: Callable[[int], bool], start: int) -> int:
    """The smallest integer ``n >= start`` for which ``holds(n)`` (monotone in ``n``)."""
    if holds(start):
        return start
    low, high = start, start + 1
    while not holds(high):  # gallop: the need may be millions of accounts
        low, high = high, high + 2 * (high - start)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if holds(middle) else (middle, high)
    return high


def welch_test(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Champion sample a, challenger sample b: mean uplift with Welch CI and t-test; the
    sample size and ``mde`` from the test's own power (:func:`welch_power`)."""
    from scipy.optimize import brentq
    from scipy.stats import t, ttest_ind

    n1, n2 = len(a), len(b)
    m1, m2 = float(np.mean(a)), float(np.mean(b))
    v1, v2 = float(np.var(a, ddof=1)), float(np.var(b, ddof=1))
    se = math.sqrt(v1 / n1 + v2 / n2)
    if se == 0:
        return _not_testable(m1, m2)
    diff = m2 - m1
    test = ttest_ind(b, a, equal_var=False)
    half_width = float(t.ppf(1 - ALPHA / 2, welch_df(v1, n1, v2, n2))) * se
    k = n2 / n1

    def enough(n: int) -> bool:
        return welch_power(diff, v1, n, v2, max(math.ceil(k * n), 2)) >= POWER

    # the normal approximation's need is a lower bound: a t test needs more accounts
    za, zb = _z(1 - ALPHA / 2), _z(POWER)
    start = max(2, math.ceil((za + zb) ** 2 * (v1 + v2 / k) / diff**2)) if diff != 0 else 2
    need1 = float(_smallest(enough, start)) if diff != 0 else math.inf
    high = _z_mde(se)
    while welch_power(high, v1, n1, v2, n2) < POWER:
        high *= 2
    mde = float(brentq(lambda d: welch_power(d, v1, n1, v2, n2) - POWER, 0.0, high, xtol=1e-12))
    return uplift_row(m1, m2, half_width, float(test.statistic), float(test.pvalue), k, need1, mde)


def ratio_test(y1: np.ndarray, x1: np.ndarray, y2: np.ndarray, x2: np.ndarray) -> dict[str, float]:
    """Pooled ratios Σy/Σx per group: uplift with delta-method CI and z-test."""
    from scipy.stats import norm

    def ratio(y: np.ndarray, x: np.ndarray) -> tuple[float, float, float]:
        r = float(y.sum() / x.sum())
        resid = y - r * x
        var = float(np.var(resid, ddof=1)) / (len(x) * float(np.mean(x)) ** 2)
        return r, var, float(np.var(resid, ddof=1)) / float(np.mean(x)) ** 2

    r1, v1, s1 = ratio(y1, x1)
    r2, v2, s2 = ratio(y2, x2)
    se = math.sqrt(v1 + v2)
    if se == 0:  # every account at its group's pooled rate
        return _not_testable(r1, r2)
    diff = r2 - r1
    z = diff / se
    za, zb = _z(1 - ALPHA / 2), _z(POWER)
    k = len(x2) / len(x1)
    need1 = math.ceil((za + zb) ** 2 * (s1 + s2 / k) / diff**2) if diff != 0 else math.inf
    p_value = float(2 * norm.sf(abs(z)))
    return uplift_row(r1, r2, za * se, z, p_value, k, need1, _z_mde(se))


def is_testable(p_value: float) -> bool:
    """Whether a metric's test could run: a sample without variance has no p-value (NaN),
    interval or verdict (module docstring)."""
    return not math.isnan(p_value)


def sample_note(metric: str, row: dict[str, Any], n1: int, n2: int) -> str:
    """The note of one metric: "not testable" without variance (module docstring);
    "significant" when p < ALPHA (no sample-size verdict then); otherwise the minimum
    detectable uplift of these groups and the accounts an uplift of the observed size would
    need (never post-hoc power: see :mod:`solver.scenarios.experiment`)."""
    p_value, uplift = row["p_value"], row["uplift"]
    if not is_testable(p_value):
        return (
            f"{metric}: not testable: every account of each group has the same value "
            f"(champion {row['champion']:.4f}, challenger {row['challenger']:.4f}), so the "
            f"sample gives no estimate of the uncertainty of the uplift ({uplift:+.4f}): "
            "no interval, no p-value."
        )
    if p_value < ALPHA:
        return (
            f"{metric}: significant (p = {p_value:.4f} < {ALPHA:g}): uplift {uplift:+.4f}, "
            f"95% interval {row['ci_low']:+.4f} .. {row['ci_high']:+.4f}."
        )
    head = f"{metric}: not significant (p = {p_value:.4f} >= {ALPHA:g})"
    mde = (
        f"; the smallest uplift these groups ({n1:,} champion, {n2:,} challenger accounts) "
        f"detect with {POWER:.0%} power in a two-sided {ALPHA:.0%} test is "
        f"±{row['mde']:.4f}"
        if math.isfinite(row["mde"])
        else ""
    )
    if not math.isfinite(row["need_champion"]):
        return f"{head}{mde}; no difference was observed."
    need1, need2 = int(row["need_champion"]), int(row["need_challenger"])
    # the sizes come from the test's own distribution, but the cure rate's interval and
    # sample size use the unpooled variance and its test the pooled one: both can be met
    if n1 >= need1 and n2 >= need2:
        size = "the groups are large enough for an uplift of the observed size"
    else:
        size = "the experiment is too small for an uplift of the observed size"
    return (
        f"{head}{mde}; {size} ({uplift:+.4f}), which needs about {need1:,} champion and "
        f"{need2:,} challenger accounts."
    )
