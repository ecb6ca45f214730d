"""Lazy package surfaces (PEP 562), so importing a package costs nothing until a name is used.

Every package of :mod:`solver` re-exports its public entry points this way: ``import
solver.core.limits`` (the command line's first import) must not pull in pandas, numba
or OR-Tools through ``solver/core/__init__.py``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, namespace: dict[str, Any], exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` exporting ``name -> module``.

    A name is imported from its module on first use and cached in ``namespace``.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
