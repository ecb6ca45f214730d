"""The compiled inner loops of the plan search (issue 13: speed).

``solver/plans/bound_dp.py`` and ``solver/plans/beam_step.py`` replaced vectorised numpy code; the
oracle tests (``test_plan_oracles.py``) check the bounds they produce against brute force.
These tests pin the rules that the oracles see only indirectly: the beam's selection
(best ``width`` by optimistic value, ties to the earlier child, the largest value left out
raises the cut bound) and the "no plan" filling of a node row.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.plans.beam_step import _select
from solver.plans.bound_dp import NEG, _fill_row


def _reference_select(opt: list[float], width: int) -> tuple[set[int], float]:
    """Python's stable sort by value, largest first: the first ``width`` are kept."""
    order = sorted(range(len(opt)), key=lambda k: -opt[k])
    kept = set(order[:width])
    left_out = opt[order[width]] if len(opt) > width else -np.inf
    return kept, left_out


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([1.0, 2.0, 2.5, 3.0, -4.0]), min_size=0, max_size=12),
    st.integers(1, 6),
)
def test_select_keeps_best_width_with_ties_to_the_earlier_child(vals, width) -> None:
    opt = np.array(vals, float)
    idx = np.arange(opt.size, dtype=np.int64)
    keep = np.zeros(opt.size, np.bool_)
    cut = np.full(1, -np.inf)
    _select(idx, opt, opt.size, width, keep, 0, cut)
    kept, left_out = _reference_select(vals, width)
    assert set(np.flatnonzero(keep).tolist()) == kept
    assert cut[0] == left_out


def test_select_only_raises_the_cut_bound() -> None:
    opt = np.array([5.0, 4.0, 3.0])
    keep = np.zeros(3, np.bool_)
    cut = np.array([10.0])
    _select(np.arange(3, dtype=np.int64), opt, 3, 1, keep, 0, cut)
    assert keep.tolist() == [True, False, False] and cut[0] == 10.0


@pytest.mark.parametrize(
    ("row", "filled"),
    [
        ([NEG, 3.0, NEG, 5.0, NEG], [3.0, 3.0, 3.0, 5.0, 5.0]),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),
        ([NEG, NEG, 7.0], [7.0, 7.0, 7.0]),
    ],
)
def test_fill_row_takes_the_nearest_value_on_the_left(row, filled) -> None:
    out = np.empty(len(row))
    assert _fill_row(np.array(row), out)
    assert out.tolist() == filled


def test_fill_row_reports_a_row_without_plans() -> None:
    assert not _fill_row(np.full(4, NEG), np.empty(4))
