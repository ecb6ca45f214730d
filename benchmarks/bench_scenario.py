"""Benchmark of the scenario Monte Carlo engine (protocol: benchmarks/README.md).

Target (issue 5): 100,000 accounts × 1,000 paths × 36 months in at most 120 s and 8 GiB on
the project machine (2 cores). The run

1. generates the portfolio (``solver.core.generate``, seed 2025) and its status-quo schedules,
2. builds the path inputs under the recession shocks of ``scenarios/recession.toml``
   (income ×0.85, unemployment on card C–E accounts: the heaviest path, with per-path
   unemployment draws),
3. times :func:`solver.scenarios.paths.simulate_paths` (the figure checked against the target),
4. checks the result against its reference value: the MC mean discounted collection must
   lie in the 99 % interval around the exact expectation
   (:func:`solver.scenarios.path_inputs.analytic_expectation`),
5. measures a baseline in the same run: numpy drawing the same number of uniforms
   (``Generator.random(dtype=float32)``, single thread) — the ratio says how much the whole
   simulation costs per account-path-month relative to merely drawing one random number.

Usage::

    .venv/bin/python benchmarks/bench_scenario.py            # full size
    .venv/bin/python benchmarks/bench_scenario.py --quick    # CI size (5,000 × 200 × 36)

Thresholds (exit 1 on a MISS), each printed with its value: time (full size: the issue's
120 s; smaller runs, e.g. ``--quick``: at most 25× the uniform baseline of the same run,
measured 3.7–10.6×), peak memory ≤ 8 GiB (issue 5), and the MC mean inside the 99 %
interval around the exact expectation (|z| ≤ 2.576).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from process_usage import cpu_seconds, peak_rss_bytes
from thresholds import Threshold, report

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the Monte Carlo checks (tests/mc_checks.py)

TIME_LIMIT_S = 120.0
MEMORY_LIMIT_GIB = 8.0
#: Smaller runs pass when the simulation costs at most this many times the bare uniforms.
MAX_RATIO = 25.0


def _uniform_baseline(cells: int, sample: int = 200_000_000) -> float:
    """Seconds numpy needs to draw ``cells`` float32 uniforms (measured on a sample)."""
    rng = np.random.default_rng(0)
    block = 10_000_000
    sample = min(sample, cells)
    start = time.perf_counter()
    done = 0
    while done < sample:
        size = min(block, sample - done)
        rng.random(size, dtype=np.float32)
        done += size
    return (time.perf_counter() - start) * cells / sample


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI size: 5,000 accounts x 200 paths")
    parser.add_argument("--accounts", type=int, default=None)
    parser.add_argument("--paths", type=int, default=None)
    parser.add_argument("--horizon", type=int, default=36)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    accounts = args.accounts or (5_000 if args.quick else 100_000)
    paths = args.paths or (200 if args.quick else 1_000)
    horizon = args.horizon

    # solver is imported only now, below the sys.path insert that puts this tree first
    from mc_checks import Z99, discounted_collection, half_width_99

    from solver.core.generate import generate_portfolio
    from solver.core.model import BehaviourModel
    from solver.scenarios.decisions import build_path_inputs, status_quo_schedules
    from solver.scenarios.path_inputs import analytic_expectation
    from solver.scenarios.paths import simulate_paths
    from solver.scenarios.shocks import account_shocks
    from solver.scenarios.spec import load_scenario

    t0 = time.perf_counter()
    frame = generate_portfolio(accounts, seed=args.seed)
    schedules = status_quo_schedules(frame)
    shocks = account_shocks(
        frame,
        load_scenario(
            ROOT / "scenarios" / "recession.toml", overrides={"collection.enabled": False}
        ).shocks,
    )
    inputs = build_path_inputs(frame, schedules, BehaviourModel(), shocks, horizon)
    setup = time.perf_counter() - t0
    cells = accounts * paths * horizon

    # Quick runs take about a second on a shared 2-core machine, where a neighbour's burst
    # once tripled one run (CI, 4 Dec 2026: 28x against 8-11x rerun minutes later): the
    # best of three timings (same seed, same outcomes) is the figure, as timeit does.
    elapsed = cpu = float("inf")
    for _ in range(3 if args.quick else 1):
        cpu_before = cpu_seconds(children=False)
        start = time.perf_counter()
        outcomes = simulate_paths(inputs, paths=paths, seed=args.seed, jobs=args.jobs)
        elapsed = min(elapsed, time.perf_counter() - start)
        cpu = min(cpu, cpu_seconds(children=False) - cpu_before)
    peak = peak_rss_bytes() / 2**30

    disc = discounted_collection(outcomes)
    exact = float(analytic_expectation(inputs)["collected_discounted"].sum())
    half99 = half_width_99(disc)
    z = (float(disc.mean()) - exact) / (half99 / Z99)
    consistent = abs(float(disc.mean()) - exact) <= half99

    baseline = min(_uniform_baseline(cells) for _ in range(3 if args.quick else 1))
    full_size = accounts * paths * horizon >= 100_000 * 1_000 * 36
    figures = {
        "accounts": accounts,
        "paths": paths,
        "horizon_months": horizon,
        "jobs": args.jobs,
        "setup_s": round(setup, 2),
        "simulate_s": round(elapsed, 2),
        "simulate_cpu_s": round(cpu, 2),  # all threads; wall time also depends on machine load
        "peak_rss_gib": round(peak, 3),
        "paths_per_s": round(paths / elapsed, 2),
        "account_paths_per_s": round(accounts * paths / elapsed),
        "ns_per_account_path_month": round(elapsed / cells * 1e9, 2),
        "cpu_ns_per_account_path_month": round(cpu / cells * 1e9, 2),
        "uniform_baseline_s": round(baseline, 2),
        "ratio_to_uniform_baseline": round(elapsed / baseline, 2),
        "mc_mean_discounted": round(float(disc.mean()), 2),
        "exact_expectation": round(exact, 2),
        "z_score": round(z, 3),
        "time_limit_s": TIME_LIMIT_S if full_size else None,
        "max_ratio_to_uniform_baseline": MAX_RATIO,
        # full size: the 120 s; smaller runs (CI): the machine-independent ratio
        "time_ok": elapsed <= TIME_LIMIT_S if full_size else elapsed / baseline <= MAX_RATIO,
        "memory_ok": peak <= MEMORY_LIMIT_GIB,
        "consistent_ok": consistent,
    }
    width = max(len(k) for k in figures)
    print(
        f"bench_scenario: {accounts:,} accounts x {paths:,} paths x {horizon} months, jobs {args.jobs}"
    )
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")
    checks = [
        Threshold(
            "MC mean vs exact expectation, |z|",
            abs(z),
            "<=",
            Z99,
            ".3f",
            source="99 % interval",
        ),
        Threshold(
            "peak memory", peak, "<=", MEMORY_LIMIT_GIB, ".2f", " GiB", source="issue 5 target"
        ),
    ]
    if full_size:
        checks.append(
            Threshold(
                "simulate_paths wall time",
                elapsed,
                "<=",
                TIME_LIMIT_S,
                ".1f",
                " s",
                source="issue 5 target",
            )
        )
    else:
        checks.append(
            Threshold(
                "simulate_paths time / uniform draws",
                elapsed / baseline,
                "<=",
                MAX_RATIO,
                ".2f",
                "x",
                source="same-run baseline; measured 3.7-10.6x quick",
            )
        )
    ok = report(checks)
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
