"""Run every benchmark suite in this folder (``bench_*.py``), full or ``--quick``.

Each suite is its own script with a ``--quick`` mode sized for CI; it prints its table,
then its thresholds with the measured values and OK/MISS, and exits non-zero when one
misses (quality targets, and speed as ratios to a baseline of the same run; see README.md
here). Results are written under ``benchmarks/results/``. The pytest-benchmark
micro-benchmarks (``test_micro.py``) are the other tier: ``make bench-micro``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    suites = sorted(HERE.glob("bench_*.py"))
    failed: list[str] = []
    for suite in suites:
        args = [sys.executable, str(suite)] + (["--quick"] if quick else [])
        print(f"\n=== {suite.name} {'(quick)' if quick else ''} ===", flush=True)
        start = time.perf_counter()
        rc = subprocess.call(args, cwd=HERE.parent)
        print(f"--- {suite.name}: exit {rc} in {time.perf_counter() - start:.1f} s", flush=True)
        if rc != 0:
            failed.append(suite.name)
    if failed:
        print(f"benchmark suites failed: {', '.join(failed)}")
        return 1
    print(f"all {len(suites)} benchmark suites passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
