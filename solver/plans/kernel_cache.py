"""Whether the plan engine's numba kernels are cached on disk (a first run compiles them).

The plan engine's kernels (:mod:`solver.plans` and the model kernel in :mod:`solver.core`)
are compiled by numba on their first call and cached beside their modules (``cache=True``:
``__pycache__``, or ``NUMBA_CACHE_DIR``). :func:`kernels_cold` tells a caller that this run
will compile them, so that a command can say so rather than hang silently for a minute
(``workout plan`` and ``plan-portfolio`` word the note: :mod:`commands.plan_output`).
"""

from __future__ import annotations

import sys
from typing import Any

#: Module prefixes whose numba kernels a plan compiles (:func:`kernels_cold`).
PLAN_ENGINE_MODULES = ("solver.plans.", "solver.core.")


def kernels_cold() -> bool:
    """Whether most of the plan engine's numba kernels have no valid on-disk cache entry,
    so that this run compiles them (about 25 s of CPU for a first ``plan``, 50 s for a
    first ``--thorough``; later runs load them in about a second).

    Imports the plan search (which the run needs anyway) and asks each cached kernel of
    the loaded plan-engine modules (:data:`PLAN_ENGINE_MODULES`: the plans and the model
    kernel, not the allocation's or the risk's, which a process may also have loaded and
    a plan never compiles) whether its index file exists where numba keeps it
    (``__pycache__`` beside the module, or ``NUMBA_CACHE_DIR``) and matches the source:
    about 10 ms. Decision (session 24): "cold" is more than half of them missing, not any
    missing -- some kernels compile only for some accounts or options (holidays mid-plan,
    the free family), so a warm cache always lacks a few, and a note on every run would be
    noise; a fresh copy lacks them all. The check reads numba's cache objects (not a
    public API): if they change, it answers ``False`` and the run is only silent again.
    """
    import solver.plans.options  # noqa: F401  (loads the kernel modules)

    try:
        from numba.core.registry import CPUDispatcher

        kernels: list[Any] = [
            value
            for name, module in list(sys.modules.items())
            if name.startswith(PLAN_ENGINE_MODULES) and module is not None
            for value in list(vars(module).values())
            if isinstance(value, CPUDispatcher)
            and value.__module__ == name  # each kernel once, where it is defined
            and getattr(getattr(value, "_cache", None), "_enabled", False)
            and value.targetoptions.get("inline") != "always"  # inlined: never cached alone
        ]
        # _load_index() is empty for a missing index or one stale against the source
        missing = sum(not k._cache._cache_file._load_index() for k in kernels)
    except Exception:  # numba's internals changed: stay silent rather than fail the run
        return False
    return 2 * missing > len(kernels)
