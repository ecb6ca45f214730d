"""Bulk arrays of the allocation at scale (issue 19: 1,000,000 accounts within 30 s).

:func:`small_pages` runs a call with numpy's transparent-huge-page advice off, which on the
project machine makes every fresh large table ten times dearer to touch; :func:`text_of`
and :func:`text_labels` make the output table's text columns without a million Python
strings. :func:`solver.allocation.portfolio.allocate` uses them; the figures are in
benchmarks/README.md, "Collection allocation".
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["small_pages", "text_labels", "text_of"]


@contextlib.contextmanager
def small_pages() -> Iterator[None]:
    """numpy's transparent huge pages off for the call (restored after).

    numpy asks the kernel for huge pages for every large array (``madvise``); on the
    project machine (``defrag`` = ``madvise``: the kernel compacts memory on the first
    touch) a fresh 240 MB array -- one ``K × n`` table of 1,000,000 accounts -- then costs
    1.2 s of system time instead of 0.12 s with small pages (3 Dec 2026, load 5). The
    1,000,000-account allocation touches about 2.5 GB: its system time fell from 15.3 s to
    4.6 s, its wall time at load 5 from 39.7 s to 32.6 s (benchmarks/README.md).
    """
    switch = None
    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):  # numpy 2, numpy 1
        with contextlib.suppress(ImportError):
            switch = getattr(importlib.import_module(name), "_set_madvise_hugepage", None)
            break
    if switch is None:  # not this numpy's API: leave its setting alone
        yield
        return
    before = switch(False)
    try:
        yield
    finally:
        switch(before)


def text_of(column: Any) -> Any:
    """A portfolio column as the table's text column: its text (``astype(str)``), without
    the round trip through a million Python strings (an empty column stays object, as the
    object array's)."""
    text = column.astype(str)
    return text.array if len(text) else text.to_numpy()


def text_labels(labels: np.ndarray, codes: np.ndarray) -> Any:
    """``labels[codes]`` (negative codes count from the end, as numpy's) as a text column.

    Where pandas infers its Arrow-backed ``str`` from an object array (pandas 3), it is
    built as Arrow's dictionary array cast to ``large_string``: the same column, 16 times
    faster at 1,000,000 rows (no million Python strings); otherwise the object array."""
    import pandas as pd
    import pyarrow as pa

    dtype = _inferred_text_dtype()
    if not codes.size or not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return labels[codes]  # (an empty object column stays object)
    text = pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(codes, dtype=np.int64) % labels.size, type=pa.int32()),
        pa.array(labels.astype(str), type=pa.large_string()),
    ).cast(pa.large_string())
    return pd.array(text, dtype=dtype)


@functools.cache
def _inferred_text_dtype() -> Any:
    """The dtype pandas gives a column made from an object array of text."""
    import pandas as pd

    return pd.DataFrame({"text": np.array(["x"], dtype=object)}).dtypes.iloc[0]
