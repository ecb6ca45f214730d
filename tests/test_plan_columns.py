"""Tests for planning from a frame's columns read once (solver.plans.context,
solver.plans.portfolio_batch): a batch planned from slices of the columns is the batch planned
from its own frame rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from solver.core.account import frame_columns
from solver.core.generate import generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.context import context_from_columns, context_from_frame
from solver.plans.portfolio import plan_portfolio
from solver.plans.portfolio_batch import plan_batch


def test_context_from_column_slices_equals_context_from_frame_rows():
    """context_from_columns on row slices of the whole frame's columns gives the arrays
    context_from_frame gives for those rows (fields, tiers, caps, the model's inputs)."""
    frame = generate_portfolio(30, seed=5)
    frame["income_forecast"] = [[900.0 + i, 1100.0] if i % 4 == 0 else None for i in range(30)]
    frame["inflows"] = [[(3, 250.0)] if i % 5 == 0 else None for i in range(30)]
    policy, model = Policy(), BehaviourModel()
    columns = frame_columns(frame)
    got = context_from_columns({k: v[7:19] for k, v in columns.items()}, policy, model)
    want = context_from_frame(frame.iloc[7:19], policy, model)
    assert got.fields.keys() == want.fields.keys()
    for name in want.fields:
        np.testing.assert_array_equal(got.fields[name], want.fields[name])
    assert got.tier.tolist() == want.tier.tolist()
    np.testing.assert_array_equal(got.cap, want.cap)
    np.testing.assert_array_equal(got.params.income_forecast, want.params.income_forecast)
    np.testing.assert_array_equal(got.params.inflows, want.params.inflows)
    # the forecast of the frame's row 8 (the slice's row 1) is its own
    assert got.params.income_forecast[1, :2].tolist() == [908.0, 1100.0]


def test_plan_portfolio_rows_equal_plan_batch_of_each_account():
    """Every row of plan_portfolio (batches cut from the columns read once, products
    interleaved) equals plan_batch of that account's own one-row frame."""
    frame = generate_portfolio(12, seed=9)
    table = plan_portfolio(frame, batch_size=5).table
    for k in (0, 5, 11):
        alone = plan_batch(frame.iloc[[k]])
        # one row alone infers an integer column where the table's has missing values
        row = table.iloc[[k]].reset_index(drop=True)
        # and a row without a recommendation has None alone where the table has NaN
        row, alone = (f.astype(object).where(f.notna(), None) for f in (row, alone))
        pd.testing.assert_frame_equal(row, alone, check_dtype=False)
