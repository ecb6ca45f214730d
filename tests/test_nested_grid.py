"""The nested payment ladder (solver.plans.nested_grid): rungs on the unit, within policy, nested under relaxation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from solver.core.generate import generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.context import context_from_frame
from solver.plans.nested_grid import ladder, nested_grids

RELAX = [
    ({"max_dti": 0.4}, {"max_dti": 0.5}),
    ({"min_afford_prob": 0.7}, {"min_afford_prob": 0.5}),
    ({"min_payment": 300.0}, {"min_payment": 100.0}),
    ({"min_residual_income": 500.0}, {"min_residual_income": 0.0}),
]


def _grids(frame, over: dict) -> list[set[float]]:
    """Per account, the ladder's amounts under the default policy with ``over`` (no extras)."""
    ctx = context_from_frame(frame, replace(Policy(), **over), BehaviourModel())
    amounts, _ = nested_grids(ctx, 12, None)
    return [set(np.round(row[np.isfinite(row)], 2).tolist()) for row in amounts]


@pytest.fixture(scope="module")
def frame():
    """Forty generated accounts of one product."""
    book = generate_portfolio(80, seed=5)
    return book[book["product"] == "card_instalment"].head(40)


@pytest.mark.parametrize(("tight", "loose"), RELAX)
def test_ladder_nests_under_relaxation(frame, tight, loose):
    """A looser policy's ladder contains every amount of the tighter policy's ladder."""
    small, large = _grids(frame, tight), _grids(frame, loose)
    assert sum(len(s) for s in small) > 0
    assert all(s <= b for s, b in zip(small, large, strict=True))


def test_ladder_rungs_are_unit_multiples_in_range():
    """Rungs are distinct multiples of the unit within [low, high], each about the ratio above the last."""
    rungs = ladder(10.0, 100.0, 5000.0, 1.35)
    assert rungs[0] >= 100.0 and rungs[-1] <= 5000.0
    np.testing.assert_allclose(rungs % 10.0, 0.0, atol=1e-9)
    assert np.all(np.diff(rungs) > 0)
    ratios = rungs[1:] / rungs[:-1]
    assert np.all((ratios > 1.2) & (ratios < 1.5))
    assert ladder(1.0, 500.0, 400.0).size == 0
