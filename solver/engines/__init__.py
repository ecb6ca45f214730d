"""Execution engines (SPEC §10): the same per-partition work in process or on Dask.

* :mod:`~solver.engines.engine` -- partitions, :class:`LocalEngine`, :class:`DaskEngine`.
"""

from __future__ import annotations

from solver._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Engine": "solver.engines.engine",
    "LocalEngine": "solver.engines.engine",
    "DaskEngine": "solver.engines.engine",
    "open_engine": "solver.engines.engine",
    "partition_source": "solver.engines.engine",
    "Partition": "solver.engines.engine",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
