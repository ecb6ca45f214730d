"""CPU per account of the free-family bound: the reference pass, the exact pruned one, and the one to a tolerance.

On ``generate_portfolio(N, SEED)``, per product under ``Policy().for_product``, in the
same run: CPU ms/account of :func:`solver.plans.free_bound.free_bounds` with
``exact_reference=True`` (``bounds.bound_tables`` on the unit grid: every action at every
node; the baseline), of the default pruned pass (:mod:`solver.plans.free_dp`, exact) and
of the pass to the tolerance ``free_dp.TOLERANCE`` (session 14: each node stops within
that relative tolerance, storing a bound at least its exact value); how many accounts'
pruned tables are equal to the reference bit for bit; how many accounts' tolerance tables
keep the induction step of their validity at 48 random balances ("valid",
tests/test_free_fast.py's check); the tolerance pass's root bound
over the reference's (relative excess p50 / p90 / max, and how many roots lie below it:
allowed, validity is checked month by month in tests/test_free_fast.py, but it is
reported); and the share of accounts whose default ``custom`` plan is within 0.1 % of
the tolerance pass's bound.

Usage: ``python benchmarks/bench_free_bound.py [N] [SEED] [BUCKETS ...]`` (defaults 300,
11, 384 and 192), or ``--quick`` (CI: 40 accounts at 192 buckets). Thresholds (exit 1 on
a MISS): the pruned tables equal the reference on every account; the tolerance tables
keep the induction step on every account; the pruned pass's CPU
at most the reference's (measured 1.4-1.5x faster at 300 accounts, 4 Dec 2026); the
tolerance pass's CPU at most 0.8x the pruned pass's (measured 0.59-0.64x, session 14);
its largest root excess at most ``TOLERANCE × 60`` months (the worst case of the
argument in ``free_dp``'s docstring; measured 2.4e-4 against 6e-4).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
from thresholds import Threshold, report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the induction-step check
from test_free_fast import _assert_months_above_actions  # noqa: E402

from solver import SearchParams, generate_portfolio
from solver.core.account import Account
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.choices import family_choices
from solver.plans.context import PlanContext, context_from_frame
from solver.plans.free_bound import FreeBound, free_bounds
from solver.plans.free_dp import TOLERANCE
from solver.plans.search import holiday_months


def _custom_npv(choices: list) -> float:
    """The default search's custom NPV of one account (NaN without a feasible plan)."""
    ch = next((c for c in choices if c.family == "custom" and c.feasible), None)
    return np.nan if ch is None else float(ch.search_npv)


def _equal_tables(ref: FreeBound, new: FreeBound) -> int:
    """How many accounts have tables equal bit for bit."""
    return sum(
        all(np.array_equal(a, b) for a, b in zip(x, y, strict=True))
        for x, y in zip(ref.tables, new.tables, strict=True)
    )


def _invalid(accounts: list[Account], ctx: PlanContext, bound: FreeBound) -> int:
    """How many accounts' tables break the induction step at 48 random balances
    (tests/test_free_fast.py: each month's interpolant at least every action's value on
    the tables' own next month, the actions valued with the test's own SPEC hazards)."""
    bad = 0
    for k, account in enumerate(accounts):
        one = ctx.take(np.array([k]))
        hold = int(holiday_months(one)[0])
        try:
            _assert_months_above_actions(account, one, bound.tables[k], hold, k)
        except AssertionError:
            bad += 1
    return bad


def run(n: int, seed: int, buckets: int, *, quiet: bool = False) -> dict[str, object]:
    """One row per product and a total: CPU of the three passes and the checks (printed
    unless ``quiet``). Returns the sums and the tolerance pass's relative root excesses."""

    def say(text: str) -> None:
        if not quiet:
            print(text)

    frame = generate_portfolio(n, seed=seed)
    model = BehaviourModel()
    total = dict.fromkeys(
        ("n", "ref", "new", "tol", "equal", "invalid", "custom", "certified"), 0.0
    )
    excess: list[np.ndarray] = []
    say(f"\nbuckets {buckets}, N {n}, seed {seed}, load {os.getloadavg()[0]:.1f}, "
        f"tolerance {TOLERANCE:g}")  # fmt: skip
    say(f"{'product':<18}{'n':>5}{'ref ms':>9}{'new ms':>9}{'tol ms':>9}{'equal':>7}"
        f"{'valid':>7}{'ex p50':>9}{'ex max':>9}{'below':>6}{'cert':>7}")  # fmt: skip
    for product, part in frame.groupby("product", sort=True):
        ctx = context_from_frame(part, Policy().for_product(str(product)), model)
        t0 = time.process_time()
        ref = free_bounds(ctx, buckets, exact_reference=True)
        t1 = time.process_time()
        new = free_bounds(ctx, buckets)
        t2 = time.process_time()
        tol = free_bounds(ctx, buckets, tolerance=TOLERANCE)
        t3 = time.process_time()
        same = _equal_tables(ref, new)
        invalid = _invalid(Account.from_frame(part), ctx, tol)
        both = np.isfinite(ref.bound) & np.isfinite(tol.bound)
        ex = (tol.bound[both] - ref.bound[both]) / np.abs(ref.bound[both])
        if not np.array_equal(np.isfinite(ref.bound), np.isfinite(tol.bound)):
            ex = np.append(ex, np.inf)  # a root finite in one pass only: a MISS below
        excess.append(ex)
        plans = np.array([_custom_npv(c) for c in family_choices(ctx, SearchParams())])
        has = np.isfinite(plans) & np.isfinite(tol.bound)
        cert = int(np.sum(plans[has] >= tol.bound[has] - 1e-3 * np.abs(tol.bound[has])))
        k = len(part)
        say(f"{product!s:<18}{k:>5}{(t1 - t0) / k * 1e3:>9.2f}{(t2 - t1) / k * 1e3:>9.2f}"
            f"{(t3 - t2) / k * 1e3:>9.2f}{same:>7}{k - invalid:>7}"
            f"{np.median(ex) if ex.size else 0:>9.1e}"
            f"{ex.max(initial=0):>9.1e}{int(np.sum(ex < 0)):>6}"
            f"{cert / max(int(has.sum()), 1):>7.1%}")  # fmt: skip
        for key, val in zip(total, (k, t1 - t0, t2 - t1, t3 - t2, same, invalid, has.sum(),
                                    cert), strict=True):  # fmt: skip
            total[key] += val
    k = total["n"]
    ex = np.concatenate(excess)
    p50, p90 = (np.percentile(ex, q) if ex.size else 0.0 for q in (50, 90))
    say(f"{'all':<18}{int(k):>5}{total['ref'] / k * 1e3:>9.2f}{total['new'] / k * 1e3:>9.2f}"
        f"{total['tol'] / k * 1e3:>9.2f}{int(total['equal']):>7}"
        f"{int(k - total['invalid']):>7}{p50:>9.1e}"
        f"{ex.max(initial=0):>9.1e}{int(np.sum(ex < 0)):>6}"
        f"{total['certified'] / max(total['custom'], 1):>7.1%}")  # fmt: skip
    say(f"tolerance pass: root excess over the reference p50 {p50:.1e}, p90 {p90:.1e}, "
        f"max {ex.max(initial=0):.1e}, min {ex.min(initial=0):.1e}; "
        f"CPU {total['ref'] / max(total['tol'], 1e-12):.2f}x faster than the reference, "
        f"{total['new'] / max(total['tol'], 1e-12):.2f}x than the pruned pass")  # fmt: skip
    return {**total, "excess": ex}


def main(argv: list[str]) -> int:
    """Warm the compiled kernels on a few accounts, run every bucket count, then the
    thresholds over all runs; the exit code."""
    quick = "--quick" in argv
    argv = [a for a in argv if a != "--quick"]
    n = int(argv[0]) if argv else (40 if quick else 300)
    seed = int(argv[1]) if len(argv) > 1 else 11
    buckets = [int(b) for b in argv[2:]] or ([192] if quick else [384, 192])
    run(4, seed, 48, quiet=True)  # compile (a new tree's cache is cold); not timed
    totals = [run(n, seed, b) for b in buckets]
    accounts = sum(float(t["n"]) for t in totals)  # type: ignore[arg-type]

    def cpu(key: str) -> float:
        return sum(float(t[key]) for t in totals)  # type: ignore[arg-type]

    worst = max(float(np.max(t["excess"], initial=0.0)) for t in totals)  # type: ignore[call-overload]
    checks = [
        Threshold(
            "accounts whose pruned tables differ from the reference",
            accounts - cpu("equal"),
            "==",
            0,
            ".0f",
            source="exact pruning: the same node values bit for bit",
        ),
        *(
            Threshold(
                f"{new} / {old} CPU per account",
                cpu(a) / max(cpu(b), 1e-12),
                "<=",
                limit,
                ".2f",
                "x",
                source=f"same-run baseline; measured {seen}",
            )
            for new, old, a, b, limit, seen in (
                ("pruned", "reference", "new", "ref", 1.0, "0.69-0.70x at 300 accounts"),
                (
                    "tolerance",
                    "pruned",
                    "tol",
                    "new",
                    0.8,
                    "0.59-0.64x at 40-300 accounts, tolerance 1e-5 (session 14)",
                ),
            )
        ),
        Threshold(
            "accounts whose tolerance tables break the induction step",
            cpu("invalid"),
            "==",
            0,
            ".0f",
            source="validity: each month above every action on its own next month",
        ),
        Threshold(
            "largest relative root excess of the tolerance pass over the reference",
            worst,
            "<=",
            TOLERANCE * 60,
            ".1e",
            source="the argument's worst case, tolerance x 60 months; measured 2.4e-4",
        ),
    ]
    return 0 if report(checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
