"""The tests of a champion/challenger evaluation (:mod:`solver.scenarios.experiment_eval`).

Each test returns one uplift row (:func:`uplift_row`): the groups' values, the uplift
``challenger − champion`` with its 95 % interval, the statistic and p-value, the accounts
per group needed to detect an uplift of the observed size with 80 % power, and the minimum
detectable uplift ``mde`` of the groups as they are.

Every metric has one test: **Welch's t** (session 25; one exception for 0/1 outcomes
without variance in a group, :func:`binary_test`: Fisher's exact p-value), its interval and p-value from one
standard error and one t distribution with the Welch–Satterthwaite degrees of freedom
(:func:`_t_row`), its sample size and ``mde`` from that test's own power: the noncentral t
distribution with the Welch degrees of freedom at ``n`` accounts (:func:`welch_power`;
before session 24 the sizes used the normal approximation, so with 2 accounts per group a
note said "large enough for an uplift of the observed size" beside a p-value of 0.20).

* :func:`welch_test`: the mean of per-account values (recovery rate, net recovery rate,
  and the cure rate as the mean of 0/1 outcomes).
* :func:`ratio_test`: pooled ratios ``Σy/Σx``, delta-method (linearised) standard error,
  tested as Welch's test is.

Why Welch's t everywhere (session 25 review). Until then the cure rate had a pooled
two-proportion z-test beside a Wald (unpooled) interval, and the pooled ratio a z-test:
for small groups -- a segment's, or a pilot of a few dozen accounts -- the normal quantile
is anti-conservative (with 5 accounts a side, z's 1.96 against t's 2.3 or more: intervals
too narrow, p-values too small), and the cure rate's interval and test came from two
standard errors, so the interval could exclude 0 beside "not significant". A rule that
switched test at some group size would make the verdict jump at an arbitrary threshold; the
t distribution tends to the normal as groups grow (at 400 and 100 accounts the p-values move
in the third decimal), so the one test serves every size. For 0/1 outcomes Welch's test
on the indicators is the unpooled two-proportion test with ``n − 1`` variances and t
quantiles; the pooled score test and Fleiss' sample size were dropped with it (one
standard error for interval, test and size). What it cost: a cure rate with no variance
inside a group (0 % against 100 %, or every account of one group cured) left Welch's test
resting on one group or none; for 0/1 outcomes an exact test exists, so :func:`binary_test`
takes Fisher's exact p-value there (session 25, second change: a switch on the data, not on
the group size, and only where Welch's test has no variance to stand on).

A zero standard error (every account of each group has the same value: the same recovery
rate; for the cure rate only its interval, the p-value being Fisher's) makes a test **not
testable** (session 24): statistic, p-value,
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
    "binary_test",
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


def _t_row(m1: float, v1: float, n1: int, m2: float, v2: float, n2: int) -> dict[str, float]:
    """The uplift row of Welch's test from each group's mean ``m``, per-account variance
    ``v`` and size ``n``: interval and p-value from one standard error and one t
    distribution (Welch–Satterthwaite degrees of freedom), the sample size and ``mde`` from
    that test's own power (:func:`welch_power`). Every metric's test is this one (module
    docstring)."""
    from scipy.optimize import brentq
    from scipy.stats import t

    se = math.sqrt(v1 / n1 + v2 / n2)
    if se == 0:
        return _not_testable(m1, m2)
    diff = m2 - m1
    df = welch_df(v1, n1, v2, n2)
    statistic = diff / se
    p_value = float(2 * t.sf(abs(statistic), df))
    half_width = float(t.ppf(1 - ALPHA / 2, df)) * se
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
    return uplift_row(m1, m2, half_width, statistic, p_value, k, need1, mde)


def welch_test(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Champion sample a, challenger sample b: mean uplift with Welch's interval and t-test
    (scipy's ``ttest_ind(b, a, equal_var=False)``), sizes from its power (:func:`_t_row`).
    A 0/1 outcome (cured) is a sample like any other: its mean is the cure rate."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return _t_row(
        float(np.mean(a)),
        float(np.var(a, ddof=1)),
        len(a),
        float(np.mean(b)),
        float(np.var(b, ddof=1)),
        len(b),
    )


#: The ``test`` of a 0/1 metric: Welch's, or Fisher's when a group has no variance.
WELCH_BINARY = "Welch t-test (0/1 outcomes)"
FISHER_BINARY = "Fisher exact test (0/1 outcomes; a group without variance)"


def binary_test(a: np.ndarray, b: np.ndarray) -> tuple[dict[str, float], str]:
    """A 0/1 outcome (cured) of champion ``a`` and challenger ``b``: the uplift row and the
    name of its test.

    Welch's test (:func:`welch_test`) as every metric, except when a group has no variance
    (every account cured, or none): then Welch's degrees of freedom rest on one group, or
    on none (0 % against 100 % was "not testable"), while 0/1 outcomes have an exact test
    of their own -- the p-value is Fisher's exact test (``scipy.stats.fisher_exact``,
    two-sided) of the 2x2 table, and ``statistic`` is NaN (no t). The interval, sample
    sizes and ``mde`` stay Welch's (session 25 decision: one interval rule for every
    metric); with no variance in either group they are NaN, and near p = 0.05 the exact
    p-value and Welch's interval can disagree on whether 0 is excluded.
    """
    from scipy.stats import fisher_exact

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    row = welch_test(a, b)
    if np.ptp(a) > 0 and np.ptp(b) > 0:
        return row, WELCH_BINARY
    cured_a, cured_b = float(a.sum()), float(b.sum())
    table = [[cured_b, b.size - cured_b], [cured_a, a.size - cured_a]]
    p_value = float(fisher_exact(table, alternative="two-sided").pvalue)
    return {**row, "p_value": p_value, "statistic": math.nan}, FISHER_BINARY


def ratio_test(y1: np.ndarray, x1: np.ndarray, y2: np.ndarray, x2: np.ndarray) -> dict[str, float]:
    """Pooled ratios Σy/Σx per group: uplift with a delta-method standard error, tested as
    Welch's test is (:func:`_t_row`): each account's linearised value ``(y − r·x) / x̄``
    has the per-account variance ``var(y − r·x) / x̄²``, so the ratio's variance is that
    over ``n`` and the Welch–Satterthwaite degrees of freedom follow from the two."""

    def ratio(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
        r = float(y.sum() / x.sum())
        return r, float(np.var(y - r * x, ddof=1)) / float(np.mean(x)) ** 2

    r1, s1 = ratio(y1, x1)
    r2, s2 = ratio(y2, x2)
    return _t_row(r1, s1, len(x1), r2, s2, len(x2))


def is_testable(p_value: float) -> bool:
    """Whether a metric's test could run: a sample without variance has no p-value (NaN),
    interval or verdict (module docstring)."""
    return not math.isnan(p_value)


def sample_note(metric: str, row: dict[str, Any], n1: int, n2: int) -> str:
    """The note of one metric: "not testable" without variance (module docstring);
    "significant" when p < ALPHA (no sample-size verdict then); otherwise the minimum
    detectable uplift of these groups and the accounts an uplift of the observed size would
    need (never post-hoc power: see :mod:`solver.scenarios.experiment_eval`)."""
    p_value, uplift = row["p_value"], row["uplift"]
    if is_testable(p_value) and math.isnan(row["ci_low"]):  # Fisher's p, no variance
        verdict = "significant" if p_value < ALPHA else "not significant"
        return (
            f"{metric}: {verdict} (p = {p_value:.4f}, Fisher's exact test): uplift "
            f"{uplift:+.4f} (champion {row['champion']:.4f}, challenger "
            f"{row['challenger']:.4f}); every account of each group has the same value, "
            "so there is no interval and no sample size."
        )
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
    # the sizes come from the test's own distribution and standard error, so a
    # non-significant uplift needs more accounts than the groups hold; kept as a guard
    if n1 >= need1 and n2 >= need2:
        size = "the groups are large enough for an uplift of the observed size"
    else:
        size = "the experiment is too small for an uplift of the observed size"
    return (
        f"{head}{mde}; {size} ({uplift:+.4f}), which needs about {need1:,} champion and "
        f"{need2:,} challenger accounts."
    )
