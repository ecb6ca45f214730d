"""Tests of the OR-Library GAP reader, the known values and the benchmark protocol."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dataset_helpers import needs_shared_data

from solver.allocation.gap.solve import solve_gap
from solver.allocation.gap_benchmark import (
    check_solution,
    gap_to_best,
    run_gap_benchmark,
    summarise_gap_benchmark,
)
from solver.allocation.orlib import instance_family, parse_gap_text, read_gap_file
from solver.allocation.orlib_registry import (
    data_dir,
    default_instance_paths,
    known_values,
    load_instances,
)

HERE = Path(__file__).parent / "data" / "allocation"
GAP_DATA = data_dir() / "gap"
needs_data = needs_shared_data(GAP_DATA / "orlib", "the shared GAP instances (gap/orlib)")


def test_multi_problem_file_layout():
    """A leading problem count is recognised and every matrix lands agent-by-row."""
    instances = read_gap_file(HERE / "gap_two_problems.txt", sense="min")
    assert [i.name for i in instances] == ["gap_two_problems-1", "gap_two_problems-2"]
    first = instances[0]
    assert (first.m, first.n) == (2, 3)
    assert first.cost.tolist() == [[1, 5, 4], [4, 2, 3]]
    assert first.resource.tolist() == [[3, 3, 3], [3, 3, 3]]
    assert first.capacity.tolist() == [6, 6]
    assert not first.cost.flags.writeable


def test_single_problem_file_layout():
    """A file without a count (fontanf layout) is one problem, named after the file."""
    (inst,) = read_gap_file(HERE / "gap_single")
    assert inst.name == "gap_single" and inst.sense == "min"
    assert inst.cost.tolist() == [[1, 5, 4], [4, 2, 3]]


def test_hand_checked_optima():
    """The two hand-made problems solve to their hand-derived minima (6 and 2, see README)."""
    first, second = read_gap_file(HERE / "gap_two_problems.txt", sense="min")
    assert solve_gap(first.cost, first.resource, first.capacity, workers=1).objective == 6
    assert solve_gap(second.cost, second.resource, second.capacity, workers=1).objective == 2


def test_truncated_file_rejected():
    """A file whose token count fits neither layout raises ValueError naming the file."""
    with pytest.raises(ValueError, match="gap_truncated"):
        read_gap_file(HERE / "gap_truncated.txt")
    with pytest.raises(ValueError, match="non-numeric"):
        parse_gap_text("1 2 x", source="bad")


def test_families_and_senses_from_names():
    """gap1–gap12 are maximisation families; gapa–d and fontanf files minimisation."""
    assert instance_family("x/orlib/gap7.txt") == "orlib-gap7"
    assert instance_family("x/orlib/gapd.txt") == "chu-D"
    assert instance_family("x/fontanf/yagiura2004/e801600") == "yagiura-E"
    assert instance_family("x/fontanf/chu1997/a05100") == "chu-A"


def test_gap_to_best_sign_convention():
    """Positive gap means worse than the best known in either sense; missing counts 100 %."""
    assert gap_to_best(101.0, 100.0, "min") == pytest.approx(0.01)
    assert gap_to_best(99.0, 100.0, "max") == pytest.approx(0.01)
    assert gap_to_best(float("nan"), 100.0, "min") == 1.0


def test_check_solution_detects_violations():
    """The independent checker flags capacity overruns and a wrong objective."""
    (inst,) = read_gap_file(HERE / "gap_single")
    assert check_solution(inst, np.array([0, 1, 1]), 6.0) == ""
    assert "capacity" in check_solution(inst, np.array([0, 0, 0]), 10.0)
    assert "objective" in check_solution(inst, np.array([0, 1, 1]), 7.0)


@needs_data
def test_orlib_names_and_known_values():
    """gap1.txt holds c515-1…5 (max optimum 336 for c515-1, OR-Library readme)."""
    instances = load_instances(GAP_DATA / "orlib" / "gap1.txt")
    assert [i.name for i in instances] == [f"c515-{k}" for k in range(1, 6)]
    assert all(i.sense == "max" and (i.m, i.n) == (5, 15) for i in instances)
    known = known_values()
    assert known["c515-1"]["max"].best_known == 336
    assert known["d801600"]["min"].best_known == 97034
    assert known["d20200"]["min"].bound == 12235 and not known["d20200"]["min"].proven_optimal


@needs_data
def test_default_set_covers_all_families():
    """The default benchmark set has 60 OR-Library, 24 Chu–Beasley and 33 Yagiura instances."""
    instances = load_instances(default_instance_paths())
    families = {i.family for i in instances}
    assert len(instances) == 117
    assert {"orlib-gap1", "orlib-gap12", "chu-A", "chu-D", "yagiura-C", "yagiura-E"} <= families
    big = next(i for i in instances if i.name == "e801600")
    assert (big.m, big.n) == (80, 1600)


@needs_data
def test_quick_benchmark_rows_and_summary():
    """The benchmark runs solver and baseline, checks solutions and summarises by family."""
    instances = [i for i in load_instances(GAP_DATA / "orlib" / "gap1.txt")][:2]
    results = run_gap_benchmark(instances, time_limit=2.0, workers=1)
    assert list(results["instance"]) == ["c515-1", "c515-2"]
    assert (results["check"] == "ok").all() and results["ok"].all()
    assert (results["objective"] == results["best_known"]).all()
    assert {"baseline_objective", "baseline_gap_to_best"} <= set(results.columns)
    summary, verdicts = summarise_gap_benchmark(results)
    assert summary.loc[0, "family"] == "orlib-gap1" and summary.loc[0, "at_best"] == 2
    assert any("MET" in v for v in verdicts)
