"""Test data helpers: small partitioned Parquet datasets, and the shared reference data.

The shared reference data (``../shared/data`` or ``$WORKOUT_DATA_DIR``: GAP instances, the
UCI credit-card file) is never copied into the repository. Tests and benchmarks that need
it go through :func:`require_shared_data` / :func:`needs_shared_data`: on a developer's
machine a missing file skips the test, but in CI (``CI`` set to a true value, as CI
runners do) it **fails** it, so that acceptance tests cannot silently stop running.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pytest

#: Values of ``CI`` that mean "not in CI" (anything else, e.g. ``true`` or ``1``, means CI).
CI_OFF_VALUES = frozenset({"", "0", "false", "no", "off"})

TestFunction = TypeVar("TestFunction", bound=Callable[..., Any])


def write_dataset(root: Path, frame: pd.DataFrame, files: int = 2, row_group: int = 4) -> Path:
    """Write ``frame`` under ``root`` as ``files`` Parquet files with small row groups."""
    root.mkdir()
    cuts = np.linspace(0, len(frame), files + 1).astype(int)
    for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        frame.iloc[a:b].to_parquet(
            root / f"part{k:02d}.parquet", index=False, row_group_size=row_group
        )
    return root


def running_in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """True when the ``CI`` environment variable is set to anything but an off value."""
    value = (os.environ if environ is None else environ).get("CI", "")
    return value.strip().lower() not in CI_OFF_VALUES


def missing_data_message(path: str | os.PathLike[str], what: str) -> str:
    """One sentence naming the missing shared data and how to point the suite at it."""
    return (
        f"{what} not found at {path} (shared reference data: set WORKOUT_DATA_DIR or put "
        "the shared data directory at ../shared/data beside the repository)"
    )


def require_shared_data(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` if it exists; otherwise skip the calling test, or fail it in CI.

    Parameters
    ----------
    path
        The file or directory of shared data the test needs.
    what
        What it is, for the message ("the UCI credit-card file").
    """
    found = Path(path)
    if found.exists():
        return found
    message = missing_data_message(found, what)
    if running_in_ci():
        pytest.fail(
            f"{message}; CI is set, so missing shared data fails the run instead of skipping",
            pytrace=False,
        )
    pytest.skip(message)


def needs_shared_data(
    path: str | os.PathLike[str], what: str
) -> Callable[[TestFunction], TestFunction]:
    """Decorator for a test that needs shared data: skipped locally, failed in CI, when absent.

    The check runs when the test runs (not at collection), and the test keeps its
    signature, fixtures and marks; it is also marked ``data``.
    """

    def decorate(test: TestFunction) -> TestFunction:
        @functools.wraps(test)
        def run(*args: Any, **kwargs: Any) -> Any:
            require_shared_data(path, what)
            return test(*args, **kwargs)

        return pytest.mark.data(run)  # type: ignore[no-any-return]

    return decorate
