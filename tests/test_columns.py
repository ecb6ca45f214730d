"""solver.core.columns.parse_numeric: the one numeric parser of every table, whatever the
column's dtype -- a database's VARCHAR numbers (pandas' string dtype, one pyarrow cast),
text as a CSV or Excel gives it (object), numbers -- gives the same values and masks, and
masks its callers may add to (the forecast reader ORs its skipped cells into them)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from solver.core.columns import parse_numeric

CELLS = ["12.5", None, "1e3", "-4", "+.5", "inf"]  # clean: every cell missing or a number
MESSY = [" 7 ", "NaN", "x", "", None, "0x10", "3"]  # spaces, a NaN word, text, empty


@pytest.mark.parametrize("cells", [CELLS, MESSY], ids=["clean", "messy"])
def test_string_dtype_parses_as_object_text(cells):
    """A string-dtype column (the one-cast path when clean) gives the object column's values,
    bad-text and blank masks to the bit."""
    fast = parse_numeric(pd.Series(cells, dtype="string"))
    slow = parse_numeric(pd.Series(cells, dtype=object))
    np.testing.assert_array_equal(fast[0], slow[0])
    for got, want in zip(fast[1:], slow[1:], strict=True):
        assert got.tolist() == want.tolist()


def test_values_and_masks_by_hand():
    values, bad, blank = parse_numeric(pd.Series(MESSY, dtype="string"))
    assert bad.tolist() == [False, False, True, False, False, True, False]
    assert blank.tolist() == [False, True, False, True, True, False, False]
    assert values[0] == 7.0 and values[-1] == 3.0 and np.isnan(values[1:6]).all()


@pytest.mark.parametrize(
    "series",
    [
        pd.Series(CELLS, dtype="string"),
        pd.Series(MESSY, dtype="string"),
        pd.Series(MESSY, dtype=object),
        pd.Series([1.0, np.nan]),
        pd.Series([True, False]),
    ],
    ids=["string-clean", "string-messy", "object", "float", "bool"],
)
def test_masks_are_writable(series):
    """Every path returns arrays its caller may change in place."""
    assert all(array.flags.writeable for array in parse_numeric(series))
