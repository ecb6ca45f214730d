"""solver.core.columns.parse_numeric: the one numeric parser of every table, whatever the
column's dtype -- a database's VARCHAR numbers (pandas' string dtypes, one pyarrow cast),
text as a CSV or Excel gives it (object), numbers -- gives the values and masks written
here by hand, and masks its callers may add to (the forecast reader ORs its skipped cells
into them).

Oracle: the tables below, each cell's value as Python's ``float`` reads its text (correctly
rounded, so "to the bit"), blank for missing, empty and NaN words, bad for any other text
that is not a number -- written by hand, not computed by the parser's code."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from solver.core.columns import parse_numeric

NAN = math.nan
# (cell, value, bad, blank): clean -- every cell missing or a number without spaces
CLEAN = [
    ("12.5", 12.5, False, False),
    (None, NAN, False, True),
    ("1e3", 1000.0, False, False),
    ("-4", -4.0, False, False),
    ("+.5", 0.5, False, False),
    ("inf", math.inf, False, False),
    ("0.1", 0.1, False, False),
    ("123456789.123456789", 123456789.123456789, False, False),
    ("-1.5E-3", -0.0015, False, False),
]
# spaces, a NaN word, text, empty, missing, hexadecimal (not a number here)
MESSY = [
    (" 7 ", 7.0, False, False),
    ("NaN", NAN, False, True),
    ("x", NAN, True, False),
    ("", NAN, False, True),
    (None, NAN, False, True),
    ("0x10", NAN, True, False),
    ("3", 3.0, False, False),
]


@pytest.mark.parametrize("dtype", ["string", "str", object], ids=["string", "str", "object"])
@pytest.mark.parametrize("table", [CLEAN, MESSY], ids=["clean", "messy"])
def test_values_and_masks_by_hand(table, dtype):
    """Each dtype of text column gives the hand-written values (to the bit), bad-text and
    blank masks: the string dtypes' one-cast path (clean) and the full parse (messy) alike."""
    cells, values, bad, blank = zip(*table, strict=True)
    got_values, got_bad, got_blank = parse_numeric(pd.Series(list(cells), dtype=dtype))
    np.testing.assert_array_equal(got_values, np.array(values))  # NaN where NaN; else ==
    assert got_bad.tolist() == list(bad)
    assert got_blank.tolist() == list(blank)


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([c for c, *_ in CLEAN], dtype="string"),
        pd.Series([c for c, *_ in MESSY], dtype="string"),
        pd.Series([c for c, *_ in MESSY], dtype=object),
        pd.Series([1.0, np.nan]),
        pd.Series([True, False]),
    ],
    ids=["string-clean", "string-messy", "object", "float", "bool"],
)
def test_masks_are_writable(series):
    """Every path returns arrays its caller may change in place."""
    assert all(array.flags.writeable for array in parse_numeric(series))
