"""CLI start-up benchmark: `workout --help` must answer in under 0.5 s (issue 2).

Protocol: run each command 7 times as a fresh process (cold interpreter), report the
median wall time. Baseline measured in the same run: a bare interpreter importing click
(`python -c "import click"`), the floor any click CLI pays. OK when the median of
`workout --help` is under 0.5 s. `workout validate` on the tiny fixture portfolio is
reported for information (it imports pandas).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _median_time(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(
            cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (CI)")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    workout = str(BIN / "workout")
    rows = [
        (
            "python -c 'import click' (baseline)",
            _median_time([sys.executable, "-c", "import click"], repeats),
            None,
        ),
        ("workout --help", _median_time([workout, "--help"], repeats), 0.5),
        (
            "workout validate tests/data/portfolio/tiny.csv",
            _median_time([workout, "validate", "tests/data/portfolio/tiny.csv"], repeats),
            None,
        ),
    ]
    ok_all = True
    print(f"{'command':55s} {'median s':>9s} {'target':>7s}  OK")
    base = rows[0][1]
    for name, seconds, target in rows:
        ok = target is None or seconds <= target
        ok_all &= ok
        tgt = f"{target:.2f}" if target else "-"
        print(
            f"{name:55s} {seconds:9.3f} {tgt:>7s}  {'OK' if ok else 'FAIL'}  ({seconds / base:.1f}x baseline)"
        )
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
