"""solver.core.result: the certificate every allocation and assignment result shares, and
the two relative gaps (values derived by hand from the formulas in the module docstring)."""

from __future__ import annotations

import dataclasses
import doctest
import math

import numpy as np
import pytest

import solver.core.result
from solver.allocation.gap.problem import AssignmentResult
from solver.allocation.tables import AllocationResult
from solver.core.result import Certificate, certified_gap, gap_to_bound, relative_gap
from solver.domain import Status

CERTIFICATE_FIELDS = ("objective", "bound", "gap", "status", "runtime", "method", "stats")


def test_module_doctests() -> None:
    """The docstring examples of solver.core.result run and give the shown results."""
    result = doctest.testmod(solver.core.result)
    assert result.attempted >= 5 and result.failed == 0


@pytest.mark.parametrize(
    ("objective", "bound", "expected"),
    [
        (200.0, 190.0, 10.0 / 200.0),  # relative to |objective|
        (0.5, 0.0, 0.5),  # |objective| below 1: divided by 1
        (-300.0, -330.0, 30.0 / 300.0),  # either sense: the absolute difference
        (math.nan, 1.0, math.inf),  # no solution: infinite
        (1.0, math.inf, math.inf),  # no bound: infinite
    ],
)
def test_relative_gap_by_hand(objective: float, bound: float, expected: float) -> None:
    """relative_gap is |objective − bound| / max(1, |objective|), inf when a value is missing."""
    assert relative_gap(objective, bound) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("objective", "bound", "expected"),
    [
        (90.0, 100.0, 0.1),  # relative to the bound, not the objective
        (1.0, 2.0, 0.5),  # relative_gap would give 1.0 here: a different quantity
        (-5.0, -4.0, 0.25),  # |bound| in the denominator
        (0.0, 0.0, 0.0),  # a zero bound: no gap
    ],
)
def test_gap_to_bound_by_hand(objective: float, bound: float, expected: float) -> None:
    """gap_to_bound is (bound − objective) / |bound|, 0 when the bound is 0."""
    assert gap_to_bound(objective, bound) == pytest.approx(expected)


def test_certified_gap_is_zero_only_when_proved() -> None:
    """An OPTIMAL status reports gap 0 whatever the values; any other status the relative gap."""
    assert certified_gap(105.0, 100.0, Status.OPTIMAL) == 0.0
    for status in (Status.FEASIBLE, Status.TIME_LIMIT):
        assert certified_gap(105.0, 100.0, status) == pytest.approx(5.0 / 105.0)


def test_both_results_share_one_certificate() -> None:
    """The allocation and the assignment results take their certificate fields from one class."""
    for cls in (AssignmentResult, AllocationResult):
        assert issubclass(cls, Certificate)
        own = {f.name: f for f in dataclasses.fields(cls)}
        for name in CERTIFICATE_FIELDS:
            # keyword-only: a positional call cannot put a value in the wrong field
            assert own[name].kw_only, (cls.__name__, name)
    assert {f.name for f in dataclasses.fields(Certificate)} == set(CERTIFICATE_FIELDS)


def test_certificate_json_keys_and_values() -> None:
    """certificate() writes objective, bound, gap, status by name, runtime_s and method, in order."""
    res = AssignmentResult(
        np.zeros(3, dtype=np.int64),
        objective=12.0,
        bound=10.0,
        gap=relative_gap(12.0, 10.0),
        status=Status.FEASIBLE,
        runtime=0.25,
        method="test",
    )
    assert res.certificate() == {
        "objective": 12.0,
        "bound": 10.0,
        "gap": 2.0 / 12.0,
        "status": "FEASIBLE",
        "runtime_s": 0.25,
        "method": "test",
    }
    assert list(res.certificate()) == ["objective", "bound", "gap", "status", "runtime_s", "method"]
    assert res.has_solution and res.sense == "min" and dict(res.stats) == {}
