"""Tests of the coded columns behind the eligibility rules (solver.allocation.compliance).

The rules themselves are checked against a row-by-row oracle in ``tests/test_allocation.py``;
here the oracle is Python's own membership test, account by account.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from solver.allocation.compliance import in_values, label_codes, text_codes, text_column
from solver.domain import TIERS


def _frame(seed: int, n: int = 2_000) -> pd.DataFrame:
    """Regions and tiers with missing values, near-miss spellings and unknown labels."""
    rng = np.random.default_rng(seed)
    regions = np.array(["Beijing", "Hebei", "beijing", "Hebei ", "", "Guangdong"], dtype=object)
    region = regions[rng.integers(0, regions.size, n)]
    region[rng.random(n) < 0.1] = None
    tiers = np.array([*TIERS, "F", "a", None], dtype=object)
    return pd.DataFrame({"region": region, "tier": tiers[rng.integers(0, tiers.size, n)]})


def test_coded_text_membership_matches_python() -> None:
    """``in_values`` on a coded text column says, per account, whether its text (``""`` when
    missing) is one of the wanted values, as Python's ``in`` does."""
    for seed in range(4):
        frame = _frame(seed)
        for wanted in [("Beijing", "Hebei"), ("",), ("Guangdong", "Tianjin"), ()]:
            texts = [v if isinstance(v, str) else "" for v in frame["region"].tolist()]
            expected = [v in wanted for v in texts]
            got = in_values(text_codes(frame, "region"), wanted)
            assert got.tolist() == expected


def test_text_codes_rebuild_the_text_column() -> None:
    """The codes index the values back to the text column, also for a column the book lacks
    (every account ``""``)."""
    frame = _frame(7)
    for name in ("region", "language"):
        codes, values = text_codes(frame, name)
        assert values[codes].tolist() == text_column(frame, name).tolist()
    assert text_column(frame, "language").tolist() == [""] * len(frame)


def test_label_codes_membership_skips_unknown_labels() -> None:
    """Coded labels (``-1`` for a value that is no label, or missing) are members exactly
    when the account's value is a wanted label."""
    frame = _frame(3)
    coded = label_codes(frame["tier"], TIERS), TIERS
    for wanted in [("A", "B"), ("E",), TIERS, ()]:
        expected = [v in wanted for v in frame["tier"].tolist()]
        assert in_values(coded, wanted).tolist() == expected


def test_label_codes_are_positions_in_the_labels() -> None:
    """Each value's code is its position in the labels, ``-1`` for a value that is no label
    or missing (Series, object arrays and lists alike; an empty column gives no codes)."""
    frame = _frame(11)
    expected = [TIERS.index(v) if v in TIERS else -1 for v in frame["tier"].tolist()]
    for values in (frame["tier"], frame["tier"].to_numpy(dtype=object), frame["tier"].tolist()):
        assert label_codes(values, TIERS).tolist() == expected
    assert label_codes([], TIERS).tolist() == []
