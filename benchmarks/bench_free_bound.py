"""CPU per account of the free-family bound: the reference pass against the pruned one.

On ``generate_portfolio(N, SEED)``, per product under ``Policy().for_product``, in the
same run: CPU ms/account of :func:`solver.plans.free_bound.free_bounds` with
``exact_reference=True`` (``bounds.bound_tables`` on the unit grid: every action at every
node; the baseline) and of the default pruned pass (:mod:`solver.plans.free_dp`), their
ratio, the largest difference of the root bounds, how many accounts' tables are equal
bit for bit, and the share of accounts whose default ``custom`` plan is within 0.1 % of
the bound. "OK" = tables equal on every account (the pruning is exact).

Usage: ``python benchmarks/bench_free_bound.py [N] [SEED] [BUCKETS ...]`` (defaults 300,
11, 384 and 192), or ``--quick`` (CI: 40 accounts at 192 buckets). Thresholds (exit 1 on
a MISS): the tables equal on every account; the pruned pass's CPU at most the
reference's (measured 1.4-1.5x faster at 300 accounts, 4 Dec 2026).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from thresholds import Threshold, report

from solver import SearchParams, generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.choices import family_choices
from solver.plans.context import context_from_frame
from solver.plans.free_bound import free_bounds


def _custom_npv(choices: list) -> float:
    """The default search's custom NPV of one account (NaN without a feasible plan)."""
    ch = next((c for c in choices if c.family == "custom" and c.feasible), None)
    return np.nan if ch is None else float(ch.search_npv)


def run(n: int, seed: int, buckets: int, *, quiet: bool = False) -> dict[str, float]:
    """One row per product and a total: CPU ms/account of both passes and the checks
    (printed unless ``quiet``)."""

    def say(text: str) -> None:
        if not quiet:
            print(text)

    frame = generate_portfolio(n, seed=seed)
    model = BehaviourModel()
    total = dict.fromkeys(("n", "ref", "new", "diff", "equal", "custom", "certified"), 0.0)
    say(f"\nbuckets {buckets}, N {n}, seed {seed}, load {os.getloadavg()[0]:.1f}")
    say(f"{'product':<18}{'n':>5}{'ref ms':>9}{'new ms':>9}{'ratio':>7}{'max|d|':>9}"
          f"{'equal':>7}{'cert':>7}")  # fmt: skip
    for product, part in frame.groupby("product", sort=True):
        ctx = context_from_frame(part, Policy().for_product(str(product)), model)
        t0 = time.process_time()
        ref = free_bounds(ctx, buckets, exact_reference=True)
        t1 = time.process_time()
        new = free_bounds(ctx, buckets)
        t2 = time.process_time()
        same = sum(
            all(np.array_equal(a, b) for a, b in zip(x, y, strict=True))
            for x, y in zip(ref.tables, new.tables, strict=True)
        )
        both = np.isfinite(ref.bound) & np.isfinite(new.bound)
        diff = float(np.max(np.abs(ref.bound[both] - new.bound[both]), initial=0.0))
        diff = diff if np.array_equal(np.isfinite(ref.bound), np.isfinite(new.bound)) else np.inf
        plans = np.array([_custom_npv(c) for c in family_choices(ctx, SearchParams())])
        has = np.isfinite(plans) & np.isfinite(new.bound)
        cert = int(np.sum(plans[has] >= new.bound[has] - 1e-3 * np.abs(new.bound[has])))
        k = len(part)
        say(f"{product!s:<18}{k:>5}{(t1 - t0) / k * 1e3:>9.2f}{(t2 - t1) / k * 1e3:>9.2f}"
              f"{(t1 - t0) / max(t2 - t1, 1e-12):>7.2f}{diff:>9.2g}{same:>7}"
              f"{cert / max(int(has.sum()), 1):>7.1%}")  # fmt: skip
        for key, val in zip(
            total, (k, t1 - t0, t2 - t1, max(total["diff"], diff), same, has.sum(), cert),
            strict=True,
        ):  # fmt: skip
            total[key] = val if key == "diff" else total[key] + val
    k = total["n"]
    say(f"{'all':<18}{int(k):>5}{total['ref'] / k * 1e3:>9.2f}{total['new'] / k * 1e3:>9.2f}"
          f"{total['ref'] / total['new']:>7.2f}{total['diff']:>9.2g}{int(total['equal']):>7}"
          f"{total['certified'] / max(total['custom'], 1):>7.1%}")  # fmt: skip
    ok = total["equal"] == k
    say(f"OK: {ok} (tables equal on {int(total['equal'])} of {int(k)} accounts)")
    return total


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
    accounts = sum(t["n"] for t in totals)
    checks = [
        Threshold(
            "accounts whose pruned tables differ from the reference",
            accounts - sum(t["equal"] for t in totals),
            "==",
            0,
            ".0f",
            source="exact pruning: the same node values bit for bit",
        ),
        Threshold(
            "pruned / reference CPU per account",
            sum(t["new"] for t in totals) / max(sum(t["ref"] for t in totals), 1e-12),
            "<=",
            1.0,
            ".2f",
            "x",
            source="same-run baseline; measured 0.69-0.70x at 300 accounts",
        ),
    ]
    return 0 if report(checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
