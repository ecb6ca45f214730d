"""benchmarks/bench_gap.py's thresholds: the quick run gates on the quick set's mean gap to
best known, and a full run on the issue-19 targets — each can fail (issue 19)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_gap  # noqa: E402  (a script beside its thresholds module, not a package)


def rows(gaps: dict[str, tuple[str, float, float]], overrun: float = 0.0) -> pd.DataFrame:
    """A results frame: per instance its family, our gap to best known and the baseline's,
    and its call's overrun past the limit."""
    return pd.DataFrame(
        [
            {
                "instance": name,
                "family": family,
                "gap_to_best": ours,
                "baseline_gap_to_best": base,
                "check": "ok",
                "overrun_s": overrun,
            }
            for name, (family, ours, base) in gaps.items()
        ]
    )


def verdicts(results: pd.DataFrame, quick: bool, limit: float) -> dict[str, bool]:
    checks, _ = bench_gap.gap_thresholds(results, quick, limit)
    return {c.name: c.ok for c in checks}


@pytest.mark.parametrize(("gap", "ok"), [(0.001, True), (0.003, True), (0.0031, False)])
def test_quick_run_gates_on_the_mean_gap_to_best_known(gap, ok):
    results = rows(
        {
            "d05100": ("chu-D", 2 * gap, 0.0),
            "e10400": ("yagiura-E", 0.0, 0.5),  # the baseline is not gated in --quick
        }
    )
    got = verdicts(results, quick=True, limit=2.0)
    assert got["quick set mean gap to best known"] is ok
    assert all(v for k, v in got.items() if k != "quick set mean gap to best known")


def test_full_run_gates_on_chu_beasley_and_the_baseline():
    results = rows(
        {
            "a05100": ("chu-A", 0.0, 0.0),
            "d20100": ("chu-D", 0.005, 0.0),  # mean 0.25 % > 0.1 %
            "c10400": ("yagiura-C", 0.0011, 0.0009),  # worse than plain CP-SAT
            "e05200": ("yagiura-E", 0.0003, 0.0005),
        }
    )
    got = verdicts(results, quick=False, limit=10.0)
    assert got["Chu-Beasley A-D mean gap to best known"] is False
    assert got["Yagiura C/D/E instances worse than plain CP-SAT"] is False
    results.loc[results["instance"] == "c10400", "gap_to_best"] = 0.0009  # a tie passes
    results.loc[results["instance"] == "d20100", "gap_to_best"] = 0.001
    got = verdicts(results, quick=False, limit=60.0)
    assert got["Chu-Beasley A-D mean gap to best known"] is True
    assert got["Yagiura C/D/E instances worse than plain CP-SAT"] is True
    assert got["Yagiura C/D/E mean gap to best known"] is True  # gated at 60 s only


@pytest.mark.parametrize("quick", [True, False])
@pytest.mark.parametrize(
    ("overrun", "ok"), [(-3.0, True), (bench_gap.MAX_OVERRUN_S, True), (0.26, False), (1.6, False)]
)
def test_every_run_gates_on_the_deadline(quick, overrun, ok):
    """A call whose wall time passes its limit by more than the stated tolerance fails the
    run, quick or full (session 9: 4.6 s for a 3-s limit, an overrun of 1.6 s)."""
    results = rows({"a05100": ("chu-A", 0.0, 0.0), "d05100": ("chu-D", 0.0, 0.0)})
    results.loc[results["instance"] == "d05100", "overrun_s"] = overrun
    got = verdicts(results, quick=quick, limit=3.0)
    assert got["largest overrun of a call past its limit"] is ok
