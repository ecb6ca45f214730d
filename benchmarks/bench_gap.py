"""GAP benchmark: solver.allocation.gap.solve.solve_gap against best known values and a plain CP-SAT baseline.

Runs the same protocol as ``workout bench gap`` (:func:`solver.allocation.gap_benchmark.run_gap_benchmark`) and
writes one CSV row per instance. See benchmarks/README.md (section "Generalized Assignment
Problem") for the protocol and targets.

Thresholds (exit 1 on a MISS or an invalid solution), over the families that ran (issue 19):

* OR-Library gap1–gap12 instances at their proven optimum;
* Chu–Beasley A–D mean gap to best known ≤ 0.1 %;
* Yagiura C/D/E: no instance worse than the plain CP-SAT baseline of the same run, and, with
  a limit of at least 60 s per instance, mean gap to best known ≤ 0.2 % (at shorter limits
  the mean is printed, not gated);
* every run: no call's wall time past its limit by more than ``MAX_OVERRUN_S`` (the
  deadline; measured around ``solve_gap`` after the warm-up);
* ``--quick`` (7 instances, 2 s): the mean gap to best known of the quick set ≤
  ``MAX_QUICK_MEAN_GAP`` (measured 0.128–0.144 % at load 1–11 on 3 Dec 2026, 0.054–0.089 %
  at load 3.5–7 with the reproducible budgets of 4 Dec 2026: under load the clock stops phases and
  makes it vary, hence the 2× margin); the Yagiura
  comparison with the baseline is printed, not gated (two instances at 2 s against a
  load-dependent baseline).

Usage::

    python benchmarks/bench_gap.py                    # all 117 instances, 10 s each (+ baseline)
    python benchmarks/bench_gap.py --time-limit 60 --family yagiura-C --family yagiura-D \
        --family yagiura-E                            # the 60-s target
    python benchmarks/bench_gap.py --time-limit 60 --only c801600 --only d401600 ...
                                                      # named instances only
    python benchmarks/bench_gap.py --quick            # 7 instances, 2 s each (CI, < 1 minute)
    python benchmarks/bench_gap.py --anytime ...      # not reproducible: the clock's time too

A run is reproducible by default (the same limit gives the same assignments unless the
clock stopped a phase: the row's ``reproducible`` column; ``budget.py`` has the decision).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from thresholds import Threshold, missing_shared_data, report

from solver.allocation.gap_benchmark import (
    CHU_FAMILIES,
    CHU_MEAN_TARGET,
    EXACT_FAMILIES,
    QUICK_INSTANCES,
    YAGIURA_FAMILIES,
    YAGIURA_MEAN_LIMIT,
    YAGIURA_MEAN_TARGET,
    run_gap_benchmark,
    summarise_gap_benchmark,
    worse_than_baseline,
)
from solver.allocation.orlib_registry import data_dir, default_instance_paths, load_instances
from solver.core.atomic import atomic_path

#: Mean gap to best known of the quick set at 2 s (measured 0.128 %, 0.144 %, 0.133 % on
#: 3 Dec 2026 at load 1-11: see benchmarks/README.md).
MAX_QUICK_MEAN_GAP = 0.003
#: Largest overrun of a call's wall time past its limit (seconds): the phases stop
#: ``solve.STOP_GUARD`` of the limit early, and the last piece of work the clock cannot
#: interrupt ends within this (measured at most +0.16 s on 3-s Yagiura calls at a CPU share
#: of 0.16, i.e. load 10-12 on 2 cores, 3 Dec 2026; before the fix a first call paid CP-SAT's
#: import inside its limit: 4.6 s for a 3-s limit in session 9).
MAX_OVERRUN_S = 0.25


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 on an invalid solution or a missed threshold."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=Path, default=None, help="GAP file or directory")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per instance")
    parser.add_argument("--quick", action="store_true", help="a few instances, 2 s each")
    parser.add_argument("--family", action="append", default=[], help="only these families")
    parser.add_argument("--only", action="append", default=[], help="only these instances (names)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--anytime",
        action="store_true",
        help="not reproducible: CP-SAT's parallel search and the wall clock left to the search",
    )
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
    every = instances
    time_limit = args.time_limit
    if args.quick:
        instances = [i for i in instances if i.name in QUICK_INSTANCES]
        time_limit = min(time_limit, 2.0)
    if args.family:
        instances = [i for i in instances if i.family in args.family]
    if args.only:
        instances = [i for i in instances if i.name in args.only]
    if not instances:  # a mistyped --family or --only: say so, not a KeyError from an empty table
        families = ", ".join(sorted({i.family for i in every}))
        print(f"Error: no instance matches --family/--only; families: {families}", file=sys.stderr)
        return 2

    def show(row: dict) -> None:
        base = ""
        if "baseline_gap_to_best" in row:
            base = f" | cp-sat {row['baseline_gap_to_best']:+.3%} {row['baseline_status']}"
        print(
            f"{row['instance']:<10} {row['family']:<11} obj {row['objective']:>9.0f} "
            f"bound {row['bound']:>10.1f} best {row['best_known']:>8.0f} "
            f"gap {row['gap_to_best']:+.3%} {row['wall_s']:5.1f}s ({row['overrun_s']:+.2f})"
            f" cpu {row['cpu_s']:5.1f}s"
            f" work {row['work_share']:4.0%}"
            f"{' (clock stopped: ' + row['wall_clock_stop'] + ')' if row['wall_clock_stop'] else ''}"
            f"{'' if row['reproducible'] else ' (not reproducible)'} "
            f"{'OK' if row['ok'] else 'NOT OK'} [{row['assignment_sha1'][:10]}]{base}",
            flush=True,
        )

    results = run_gap_benchmark(
        instances,
        time_limit=time_limit,
        seed=args.seed,
        workers=args.workers,
        baseline=not args.no_baseline,
        on_result=show,
        reproducible=not args.anytime,
    )
    with atomic_path(args.out) as tmp:
        results.to_csv(tmp, index=False)
    summary, verdicts = summarise_gap_benchmark(results)
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.quick:
        print("issue 19 targets (set for 10 s and 60 s per instance; information with --quick):")
    for line in verdicts:
        print(line)
    print(f"results written to {args.out}")
    invalid = results[~results["check"].isin(["ok", "no solution"])]
    if len(invalid):
        print(f"{len(invalid)} invalid solution(s): {', '.join(invalid['instance'])}")
    return 0 if report(*gap_thresholds(results, args.quick, time_limit)) else 1


def gap_thresholds(results, quick: bool, time_limit: float) -> tuple[list[Threshold], list[str]]:
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
        ),
        Threshold(
            "largest overrun of a call past its limit",
            float(results["overrun_s"].max()),
            "<=",
            MAX_OVERRUN_S,
            ".2f",
            " s",
            source=f"the deadline, stated tolerance; {len(results)} calls at {time_limit:g} s",
        ),
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
                source=f"issue 19 target, {len(exact)} instances",
            )
        )
    if quick:
        checks.append(
            _mean_gap(
                "quick set",
                float(results["gap_to_best"].mean()),
                MAX_QUICK_MEAN_GAP,
                f"reference with margin, {len(results)} instances at {time_limit:g} s",
            )
        )
    chu = results[results["family"].isin(CHU_FAMILIES)]
    if len(chu):
        mean = float(chu["gap_to_best"].mean())
        if quick:
            info.append(
                f"Chu-Beasley mean gap {mean:.3%} on {len(chu)} instances (target <= {CHU_MEAN_TARGET:.1%} on A-D)"
            )
        else:
            checks.append(
                _mean_gap(
                    "Chu-Beasley A-D",
                    mean,
                    CHU_MEAN_TARGET,
                    f"issue 19 target, {len(chu)} instances",
                )
            )
    yag = results[results["family"].isin(YAGIURA_FAMILIES)]
    if len(yag):
        mean = float(yag["gap_to_best"].mean())
        worse = worse_than_baseline(results)
        has_base = "baseline_gap_to_best" in yag.columns
        if quick or not has_base:
            info.append(
                f"Yagiura instances worse than plain CP-SAT: {worse}/{len(yag)}"
                + ("" if has_base else " (no baseline: --no-baseline)")
            )
        else:
            checks.append(
                Threshold(
                    "Yagiura C/D/E instances worse than plain CP-SAT",
                    worse,
                    "==",
                    0,
                    "d",
                    source=f"issue 19 target, same-run baseline, {len(yag)} instances",
                )
            )
        if time_limit >= YAGIURA_MEAN_LIMIT and not quick:
            checks.append(
                _mean_gap(
                    "Yagiura C/D/E",
                    mean,
                    YAGIURA_MEAN_TARGET,
                    f"issue 19 target at {YAGIURA_MEAN_LIMIT:g} s, {len(yag)} instances",
                )
            )
        else:
            info.append(
                f"Yagiura C/D/E mean gap {mean:.3%} at {time_limit:g} s (issue 19 target"
                f" <= {YAGIURA_MEAN_TARGET:.1%} is set for {YAGIURA_MEAN_LIMIT:g} s)"
            )
    return checks, info


def _mean_gap(what: str, mean: float, limit: float, source: str) -> Threshold:
    """The threshold "``what`` mean gap to best known ≤ ``limit``"."""
    return Threshold(f"{what} mean gap to best known", mean, "<=", limit, ".3%", source=source)


if __name__ == "__main__":
    sys.exit(main())
