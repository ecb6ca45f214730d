"""Thresholds of the benchmark suites, printed with their measured values and OK/MISS.

Every suite collects :class:`Threshold` objects and ends with :func:`report`; its exit
code is non-zero when one misses (``benchmarks/README.md``, "Protocol"). The rules:

* a threshold compares a measured figure with a limit taken from a SPEC or issue target,
  or from measured reference figures with a margin (its ``source`` says which);
* speed thresholds are ratios to a baseline measured in the same run, never absolute
  times (the machines are shared 2-core boxes). Absolute time targets of the issues are
  printed by :func:`report` as ``info`` lines: measured and shown, never OK/MISS;
* a figure that could not be measured (``None`` or NaN, e.g. a baseline that did not
  run) is a MISS, so a threshold cannot pass by not being evaluated.

Shared reference data (``../shared/data``) missing in CI fails a suite through
:func:`missing_shared_data`, as it fails the tests (``tests/dataset_helpers.py``).
"""

from __future__ import annotations

import math
import operator
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
}


@dataclass(frozen=True)
class Threshold:
    """One pass/fail criterion of a benchmark run.

    Attributes
    ----------
    name
        What is measured ("proven gap", "Dask / local time, allocate").
    measured
        The figure of this run; ``None`` or NaN when it could not be measured (a MISS).
    op
        ``"<="``, ``">="`` or ``"=="``: how ``measured`` must compare with ``limit``.
    limit
        The threshold.
    fmt
        Format spec of both numbers (``".4%"``, ``".2f"``, ``",d"``…), plus ``suffix``.
    source
        Where the limit comes from: a SPEC / issue target or a measured reference figure.
    """

    name: str
    measured: float | None
    op: str
    limit: float
    fmt: str = ".4g"
    suffix: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if self.op not in _COMPARE:
            raise ValueError(f"op must be one of {sorted(_COMPARE)}, got {self.op!r}")

    @property
    def ok(self) -> bool:
        """True when the figure was measured and meets the limit."""
        if self.measured is None or (
            isinstance(self.measured, float) and math.isnan(self.measured)
        ):
            return False
        return bool(_COMPARE[self.op](self.measured, self.limit))

    def line(self) -> str:
        """``OK   name   measured <= limit   (source)``."""
        measured = (
            "not measured"
            if self.measured is None
            or (isinstance(self.measured, float) and math.isnan(self.measured))
            else f"{self.measured:{self.fmt}}{self.suffix}"
        )
        limit = f"{self.limit:{self.fmt}}{self.suffix}"
        source = f"  ({self.source})" if self.source else ""
        return f"  {'OK  ' if self.ok else 'MISS'}  {self.name:<46} {measured:>14} {self.op} {limit:<12}{source}"


def report(thresholds: Sequence[Threshold], info: Sequence[str] = ()) -> bool:
    """Print every threshold (OK/MISS) and the ``info`` lines; True when none misses."""
    print("thresholds:")
    for threshold in thresholds:
        print(threshold.line())
    for line in info:
        print(f"  info  {line}")
    missed = [t.name for t in thresholds if not t.ok]
    if missed:
        print(f"MISS: {len(missed)} of {len(thresholds)} thresholds: {', '.join(missed)}")
    else:
        print(f"all {len(thresholds)} thresholds OK")
    return not missed


def missing_shared_data(path: str | Path, what: str) -> int:
    """Say that shared data is missing; the exit code: 1 in CI (a failure), 0 locally (a skip).

    The policy is the tests' (``tests/dataset_helpers.py``). It is imported here, not at
    the top, because that module loads pandas and pytest, and suites such as bench_dask
    measure the memory of child processes that import this module.
    """
    if str(TESTS) not in sys.path:
        sys.path.append(str(TESTS))
    from dataset_helpers import missing_data_message, running_in_ci

    message = missing_data_message(path, what)
    if running_in_ci():
        print(f"FAIL: {message}; CI is set, so missing shared data fails the benchmark")
        return 1
    print(f"SKIP: {message}")
    return 0
