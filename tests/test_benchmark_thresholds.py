"""benchmarks/thresholds.py: a threshold passes only when measured and within its limit."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "thresholds.py"
_SPEC = importlib.util.spec_from_file_location("bench_thresholds", _PATH)
thresholds = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = thresholds  # dataclasses look their module up
_SPEC.loader.exec_module(thresholds)
Threshold = thresholds.Threshold


@pytest.mark.parametrize(
    ("measured", "op", "limit", "ok"),
    [
        (0.0017, "<=", 0.005, True),
        (0.005, "<=", 0.005, True),
        (0.0051, "<=", 0.005, False),
        (6.51, ">=", 5.0, True),
        (4.99, ">=", 5.0, False),
        (0, "==", 0, True),
        (1, "==", 0, False),
        (-math.inf, "<=", 0.005, True),
        (math.inf, "<=", 1.0, False),
        (None, "<=", 1.0, False),
        (math.nan, ">=", 0.0, False),
    ],
)
def test_threshold_compares_and_unmeasured_is_a_miss(measured, op, limit, ok):
    """The comparison decides OK; a figure that was not measured (None, NaN) is a MISS."""
    assert Threshold("figure", measured, op, limit).ok is ok


def test_unknown_operator_is_rejected():
    """Only <=, >= and == are thresholds."""
    with pytest.raises(ValueError, match="op must be one of"):
        Threshold("figure", 1.0, "<", 2.0)


def test_line_shows_value_limit_verdict_and_source():
    """The printed line names the figure, its value, the limit, OK/MISS and the source."""
    line = Threshold("proven gap", 0.001687, "<=", 0.005, ".4%", source="issue 4").line()
    assert line.split()[0] == "OK" and "proven gap" in line
    assert "0.1687%" in line and "<= 0.5000%" in line and "(issue 4)" in line
    missed = Threshold("ratio", None, "<=", 2.0, ".2f", "x").line()
    assert missed.split()[0] == "MISS" and "not measured" in missed


def test_report_fails_on_any_miss(capsys):
    """report() is True only when every threshold is OK, and prints each with info lines."""
    good = Threshold("a", 1.0, "<=", 2.0)
    bad = Threshold("b", 3.0, "<=", 2.0)
    assert thresholds.report([good], ["absolute time 1 s, not gated"]) is True
    assert thresholds.report([good, bad]) is False
    out = capsys.readouterr().out
    assert "info  absolute time 1 s, not gated" in out
    assert "all 1 thresholds OK" in out and "MISS: 1 of 2 thresholds: b" in out


def test_missing_shared_data_fails_only_in_ci(tmp_path, monkeypatch, capsys):
    """Missing shared data: exit code 0 (skip) locally, 1 (failure) with CI set."""
    missing = tmp_path / "gap"
    monkeypatch.delenv("CI", raising=False)
    assert thresholds.missing_shared_data(missing, "the GAP instances") == 0
    assert capsys.readouterr().out.startswith("SKIP: the GAP instances not found")
    monkeypatch.setenv("CI", "true")
    assert thresholds.missing_shared_data(missing, "the GAP instances") == 1
    assert "CI is set" in capsys.readouterr().out
