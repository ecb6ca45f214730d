"""GAP benchmark: solver.allocation.gap.solve.solve_gap against best known values and a plain CP-SAT baseline.

Runs the same protocol as ``workout bench gap`` (:func:`solver.allocation.orlib.run_gap_benchmark`) and
writes one CSV row per instance. See benchmarks/README.md (section "Generalized Assignment
Problem") for the protocol and targets.

Thresholds (exit 1 on a MISS or an invalid solution), over the families that ran:

* OR-Library gap1–gap12 instances at their proven optimum (issue 4);
* Chu–Beasley A–C mean gap to best known ≤ 0.5 % (issue 4);
* chu-D + Yagiura C/D/E mean gap to best known ≤ 1 % (measured 0.457 % and 0.518 % in
  full runs at 10 s, 0.331 % in two ``--quick`` runs at 2 s: work budgets, not the clock,
  stop the search, so the result repeats up to a ~2× slower machine);
* full runs: that mean at most half the plain CP-SAT baseline's of the same run (issue 4).
  With ``--quick`` the ratio is printed, not gated: 3 instances at 2 s, where the
  baseline's result depends on the machine's load (0.471 % and 0.714 % in two runs).

Usage::

    python benchmarks/bench_gap.py                    # all 117 instances, 10 s each (+ baseline)
    python benchmarks/bench_gap.py --quick            # 7 instances, 2 s each (CI, < 1 minute)
    python benchmarks/bench_gap.py --family yagiura-D --family chu-D --out d.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from thresholds import Threshold, missing_shared_data, report

from solver.allocation.orlib import (
    EXACT_FAMILIES,
    HARD_FAMILIES,
    NEAR_FAMILIES,
    QUICK_INSTANCES,
    data_dir,
    default_instance_paths,
    load_instances,
    run_gap_benchmark,
    summarise_gap_benchmark,
)
from solver.core.atomic import atomic_path

#: Mean gap to best known of chu-D + Yagiura C/D/E (measured 0.457-0.518 % in full runs,
#: 0.331 % with --quick).
MAX_HARD_MEAN_GAP = 0.01
#: Our mean gap on chu-D + Yagiura / the plain CP-SAT baseline's (issue 4, at 10 s).
MAX_HARD_RATIO = 0.5


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 on an invalid solution or a missed threshold."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=Path, default=None, help="GAP file or directory")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per instance")
    parser.add_argument("--quick", action="store_true", help="a few instances, 2 s each")
    parser.add_argument("--family", action="append", default=[], help="only these families")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "gap.csv"
    )
    args = parser.parse_args(argv)

    if args.instances is not None:
        if not args.instances.exists():
            print(f"no GAP instances at {args.instances}", file=sys.stderr)
            return 2
        instances = load_instances(args.instances)
    else:
        paths = default_instance_paths()
        if not paths:
            return missing_shared_data(data_dir() / "gap", "the shared GAP instances")
        instances = load_instances(paths)
    time_limit = args.time_limit
    if args.quick:
        instances = [i for i in instances if i.name in QUICK_INSTANCES]
        time_limit = min(time_limit, 2.0)
    if args.family:
        instances = [i for i in instances if i.family in args.family]

    def show(row: dict) -> None:
        base = ""
        if "baseline_gap_to_best" in row:
            base = f" | cp-sat {row['baseline_gap_to_best']:+.3%} {row['baseline_status']}"
        print(
            f"{row['instance']:<10} {row['family']:<11} obj {row['objective']:>9.0f} "
            f"bound {row['bound']:>10.1f} best {row['best_known']:>8.0f} "
            f"gap {row['gap_to_best']:+.3%} {row['time_s']:5.1f}s "
            f"{'OK' if row['ok'] else 'NOT OK'}{base}",
            flush=True,
        )

    results = run_gap_benchmark(
        instances,
        time_limit=time_limit,
        seed=args.seed,
        workers=args.workers,
        baseline=not args.no_baseline,
        on_result=show,
    )
    with atomic_path(args.out) as tmp:
        results.to_csv(tmp, index=False)
    summary, verdicts = summarise_gap_benchmark(results)
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.quick:
        print("issue 4 targets (set for 10 s per instance; for information with --quick):")
    for line in verdicts:
        print(line)
    print(f"results written to {args.out}")
    invalid = results[~results["check"].isin(["ok", "no solution"])]
    if len(invalid):
        print(f"{len(invalid)} invalid solution(s): {', '.join(invalid['instance'])}")
    return 0 if report(*gap_thresholds(results, args.quick)) else 1


def gap_thresholds(results, quick: bool) -> tuple[list[Threshold], list[str]]:
    """The thresholds of the families present in ``results`` (one row per instance), and
    information lines."""
    info: list[str] = []
    checks = [
        Threshold(
            "solutions failing the independent check",
            int((~results["check"].isin(["ok", "no solution"])).sum()),
            "==",
            0,
            "d",
            source="feasibility and objective recomputed",
        )
    ]
    exact = results[results["family"].isin(EXACT_FAMILIES)]
    if len(exact):
        checks.append(
            Threshold(
                "OR-Library gap1-gap12 instances off the optimum",
                int((exact["gap_to_best"] > 1e-9).sum()),
                "==",
                0,
                "d",
                source=f"issue 4 target, {len(exact)} instances",
            )
        )
    near = results[results["family"].isin(NEAR_FAMILIES)]
    if len(near):
        checks.append(
            Threshold(
                "Chu-Beasley A-C mean gap to best known",
                float(near["gap_to_best"].mean()),
                "<=",
                0.005,
                ".3%",
                source=f"issue 4 target, {len(near)} instances",
            )
        )
    hard = results[results["family"].isin(HARD_FAMILIES)]
    if len(hard):
        mean = float(hard["gap_to_best"].mean())
        checks.append(
            Threshold(
                "chu-D + Yagiura C/D/E mean gap to best known",
                mean,
                "<=",
                MAX_HARD_MEAN_GAP,
                ".3%",
                source="reference 0.331-0.518 % with margin",
            )
        )
        if "baseline_gap_to_best" in hard.columns:
            base = float(hard["baseline_gap_to_best"].mean())
            ratio = mean / base if base > 0 else (0.0 if mean == 0 else float("inf"))
            if quick:
                info.append(
                    f"chu-D + Yagiura mean gap / plain CP-SAT's {ratio:.2f}x ({mean:.3%} vs"
                    f" {base:.3%}; issue 4 target <= {MAX_HARD_RATIO}x at 10 s; 3 instances at"
                    " 2 s against a load-dependent baseline: not gated with --quick)"
                )
            else:
                checks.append(
                    Threshold(
                        "chu-D + Yagiura mean gap / plain CP-SAT's",
                        ratio,
                        "<=",
                        MAX_HARD_RATIO,
                        ".2f",
                        "x",
                        source="same-run baseline; issue 4 target",
                    )
                )
        else:
            info.append("no plain CP-SAT baseline (--no-baseline): the ratio is not evaluated")
    return checks, info


if __name__ == "__main__":
    sys.exit(main())
