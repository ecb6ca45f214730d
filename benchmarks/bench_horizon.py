"""Multi-week plan vs the one-week allocation repeated: solver.allocation.horizon (issue 17).

Protocol (benchmarks/README.md, section "Multi-week plan"):

1. Generate ``--n`` accounts (``solver.core.generate.generate_portfolio``, seed 0); bundled
   catalogue and teams, team minutes scaled to the book (``n / 2000``: the demo book's
   load, where the senior teams are full) times the scenario's factor: ``demo`` 1,
   ``tight`` 0.3, ``scarce`` 0.1, ``ample`` 100 (no weekly cap binds).
2. Price the constrained MDP (``price_horizon``: the bound) and simulate both policies on
   ``--paths`` common futures over ``--weeks`` weeks (``simulate``): the multi-week plan on
   a rolling horizon and the one-week allocation re-solved every week. Same evaluation code,
   same draws: the paired difference has its own standard error.

Thresholds (exit 1 on a MISS), per scenario:

- the multi-week plan is not worse than the one-week policy repeated: difference ≥
  −2 standard errors (the repeated one-week policy is feasible for the multi-week problem);
- the bound holds: bound ≥ multi-week value − 3 standard errors;
- ``ample``: with no binding cap the rolling plan is the priced programme itself, so its
  simulated value equals the bound within 4 standard errors (a check of the simulation).

Times (pricing, simulation) are printed as information.

Usage::

    python benchmarks/bench_horizon.py            # 5,000 accounts, 8 weeks, 20 paths
    python benchmarks/bench_horizon.py --quick    # 800 accounts, 5 weeks, 6 paths (CI)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from thresholds import Threshold, report

from solver.allocation.catalogue import Catalogue
from solver.allocation.horizon import price_horizon, simulate
from solver.allocation.horizon_model import build_horizon
from solver.allocation.teams import Teams
from solver.core.atomic import atomic_open
from solver.core.generate import generate_portfolio

#: Team capacity factor of each scenario, on top of the book-size scaling.
SCENARIOS = {"demo": 1.0, "tight": 0.3, "scarce": 0.1, "ample": 100.0}
#: Accounts the bundled teams are sized for (the demo book).
DEMO_ACCOUNTS = 2000


def run_scenario(book, catalogue, teams, *, weeks: int, paths: int, seed: int) -> dict:
    """Price and simulate one scenario; its figures."""
    started = time.perf_counter()
    hm = build_horizon(book, catalogue, teams, weeks=weeks)
    prices = price_horizon(hm)
    priced = time.perf_counter() - started
    started = time.perf_counter()
    sim = simulate(hm, prices, catalogue, paths=paths, seed=seed)
    simulated = time.perf_counter() - started
    figures = sim.summary()
    figures.update(bound=prices.bound, price_s=priced, simulate_s=simulated)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when a threshold is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--paths", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="800 accounts, 5 weeks, 6 paths")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "horizon.json"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.weeks, args.paths = 800, 5, 6

    catalogue = Catalogue.default()
    teams = Teams.default()
    book = generate_portfolio(args.n, seed=args.seed)
    record: dict = {"n": args.n, "weeks": args.weeks, "paths": args.paths, "scenarios": {}}
    checks: list[Threshold] = []
    info: list[str] = []
    print(
        f"{'scenario':<8} {'multi-week':>16} {'one-week':>16} {'difference ± se':>24} "
        f"{'bound':>16} {'price s':>8} {'sim s':>8}"
    )
    for name, factor in SCENARIOS.items():
        scaled = teams.scaled(factor * args.n / DEMO_ACCOUNTS)
        f = run_scenario(
            book, catalogue, scaled, weeks=args.weeks, paths=args.paths, seed=args.seed
        )
        record["scenarios"][name] = f
        print(
            f"{name:<8} {f['multi_week']:>16,.2f} {f['one_week']:>16,.2f} "
            f"{f['difference']:>12,.2f} ± {f['difference_se']:>9,.2f} {f['bound']:>16,.2f} "
            f"{f['price_s']:>8.1f} {f['simulate_s']:>8.1f}",
            flush=True,
        )
        checks.append(
            Threshold(
                f"{name}: (multi − one-week) / se",
                f["difference"] / f["difference_se"] if f["difference_se"] > 0 else math.inf,
                ">=",
                -2.0,
                ".2f",
                source="one-week policy is feasible for the multi-week problem",
            )
        )
        checks.append(
            Threshold(
                f"{name}: (bound − multi-week) / se",
                (f["bound"] - f["multi_week"]) / f["multi_week_se"],
                ">=",
                -3.0,
                ".2f",
                source="Lagrangian bound on every capacity-feasible policy",
            )
        )
        info.append(
            f"{name}: multi-week {f['relative']:+.3%} vs one-week; "
            f"{(f['bound'] - f['multi_week']) / f['bound']:.2%} below the bound"
        )
    ample = record["scenarios"]["ample"]
    checks.append(
        Threshold(
            "ample: |multi-week − bound| / se",
            abs(ample["multi_week"] - ample["bound"]) / ample["multi_week_se"],
            "<=",
            4.0,
            ".2f",
            source="no cap binds: the plan is the priced programme",
        )
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(args.out, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2)
    return 0 if report(checks, info) else 1


if __name__ == "__main__":
    sys.exit(main())
