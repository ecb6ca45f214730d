"""Execution engines (SPEC §10): the same per-partition work in process or on Dask.

* :mod:`~solver.engines.partitions` -- partitions of a DataFrame or Parquet dataset, results
  put back together.
* :mod:`~solver.engines.base` -- :class:`Engine`: the map over partitions (checks, results).
* :mod:`~solver.engines.dataset` -- the Parquet dataset ``out``: parts, staging, replacement.
* :mod:`~solver.engines.local` -- :class:`LocalEngine` and its process pool :class:`LocalPool`.
* :mod:`~solver.engines.dask` -- :class:`DaskEngine` and its local cluster.
* :mod:`~solver.engines.entry` -- :func:`open_engine`, :func:`read_portfolio_on`.
"""

from __future__ import annotations

from solver._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Engine": "solver.engines.base",
    "MapResult": "solver.engines.base",
    "LocalEngine": "solver.engines.local",
    "LocalPool": "solver.engines.local",
    "DaskEngine": "solver.engines.dask",
    "open_engine": "solver.engines.entry",
    "read_portfolio_on": "solver.engines.entry",
    "partition_source": "solver.engines.partitions",
    "Partition": "solver.engines.partitions",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
