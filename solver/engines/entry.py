"""What the commands call: an engine by name (:func:`open_engine`), and a whole portfolio
read through one (:func:`read_portfolio_on`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from solver.core.readers import read_portfolio
from solver.engines.base import Engine, ProgressFn
from solver.engines.dask import DaskEngine
from solver.engines.local import LocalEngine
from solver.engines.partitions import is_dataset, prepare_portfolio, runs_on_engine
from solver.errors import InputError

__all__ = ["open_engine", "read_portfolio_on"]


@contextlib.contextmanager
def open_engine(
    name: str = "local",
    *,
    address: str | None = None,
    jobs: int = 1,
    n_workers: int | None = None,
    partitions: int | None = None,
) -> Iterator[Engine]:
    """Open the engine a command asked for (``"local"`` or ``"dask"``) and close it after."""
    if name == "local":
        if address:
            raise InputError("--address needs --engine dask")
        engine: Any = LocalEngine(jobs, partitions=partitions)
    elif name == "dask":
        engine = DaskEngine(address, n_workers=n_workers, partitions=partitions)
    else:
        raise InputError(f"--engine {name}: unknown engine (use local or dask)")
    try:
        yield engine
    finally:
        engine.close()


def _same(frame: Any) -> Any:
    return frame


def read_portfolio_on(
    engine: Engine,
    source: str | os.PathLike[str],
    *,
    partitions: int | None = None,
    progress: ProgressFn | None = None,
) -> Any:
    """A whole validated portfolio on the client, for global work such as the allocation.

    A Parquet file or dataset is read and validated by the workers, partition by partition
    (row numbers of the whole dataset in messages, ids unique across partitions), and the
    partitions are concatenated in order; other files go through
    :func:`solver.core.readers.read_portfolio`.
    """
    asked = engine.name == "dask" or partitions is not None
    if not (is_dataset(source) and runs_on_engine(source, distributed=asked)):
        return read_portfolio(source)
    result = engine.map_partitions(
        _same,
        source,
        partitions=partitions,
        prepare=prepare_portfolio,
        unique="account_id",
        progress=progress,
    )
    return result.frame
