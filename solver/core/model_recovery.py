"""Recovery on default (SPEC §4): the formula's one definition and its one compiled form.

``R_t = min(EAD_t, C_t) + ρ·max(0, EAD_t − C_t)``. :func:`recovery_at` is the formula in
plain float arithmetic; :func:`recovery_at_jit` is that function compiled by numba, made
on the first request and then shared by every compiled loop that values a recovery
(:func:`recovery_grid` here, the plan bounds' dynamic programme in
:mod:`solver.plans.bound_dp`, the level-plan valuation in :mod:`solver.plans.level_value`),
so a process compiles it (or loads it from numba's cache) once. numba is imported on
that first request, not when this module is: ``import solver.core.model`` stays light.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["recovery_at", "recovery_at_jit", "recovery_grid"]

#: :func:`recovery_at` and :func:`_recovery_loop` compiled (on first use).
_RECOVERY_AT: Any = None
_RECOVERY_GRID: Any = None


def recovery_at(exposure: float, collateral: float, rho: float) -> float:
    """One month's recovery on default, ``min(EAD, C) + ρ·max(0, EAD − C)`` (SPEC §4).

    The formula's one definition, in plain float arithmetic for numba to compile:
    :meth:`ModelKernel.recovery` applies it to arrays (:func:`recovery_grid`), compiled
    loops with :meth:`ModelKernel.recovery_table`'s ``(C_t, ρ)``. Each term as SPEC §4
    writes it, so an exposure of ``-inf`` (the plan bounds' "no balance") recovers
    ``-inf``, not the NaN (and numpy's invalid-value warning) of ``−inf − (−inf)``.
    """
    covered = exposure if exposure <= collateral else collateral  # min(EAD, C)
    excess = exposure - collateral
    if excess < 0.0:  # max(0, EAD − C)
        excess = 0.0
    return excess * rho + covered


def recovery_at_jit() -> Any:
    """:func:`recovery_at` compiled by numba (``njit(cache=True)``): one dispatcher per process.

    A compiled loop that calls it takes the dispatcher as a module global, e.g.
    ``_recovery_at = recovery_at_jit()``, before the loop is first called.
    """
    global _RECOVERY_AT
    if _RECOVERY_AT is None:
        from numba import njit

        _RECOVERY_AT = njit(cache=True)(recovery_at)
    return _RECOVERY_AT


def _recovery_loop(
    exposure: np.ndarray, collateral: np.ndarray, rho: float, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``out[i, j, k] = recovery_at(exposure, collateral at i, j, k)``; the inputs are 3-D,
    each axis of ``out``'s length or 1 (numpy broadcasting, without broadcast views)."""
    n0, n1, n2 = out.shape
    e0, e1, e2 = exposure.shape[0] > 1, exposure.shape[1] > 1, exposure.shape[2] > 1
    c0, c1, c2 = collateral.shape[0] > 1, collateral.shape[1] > 1, collateral.shape[2] > 1
    for i in range(n0):
        ei, ci = (i if e0 else 0), (i if c0 else 0)
        for j in range(n1):
            ej, cj = (j if e1 else 0), (j if c1 else 0)
            for k in range(n2):
                out[i, j, k] = _RECOVERY_AT(
                    exposure[ei, ej, k if e2 else 0], collateral[ci, cj, k if c2 else 0], rho
                )


def recovery_grid(
    exposure: np.ndarray, collateral: np.ndarray, rho: float, shape: tuple[int, ...]
) -> np.ndarray:
    """:func:`recovery_at` of ``exposure`` and ``collateral`` broadcast to ``shape``, compiled:
    a new array, in one pass (numpy's form of the formula makes two temporaries)."""
    global _RECOVERY_GRID
    if _RECOVERY_GRID is None:
        from numba import njit

        recovery_at_jit()  # the loop calls it: set before the loop compiles
        _RECOVERY_GRID = njit(cache=True)(_recovery_loop)
    out = np.empty(shape)
    if len(shape) > 3:  # no caller's: merged into 3 axes (copies of the inputs)
        lead = (-1, *shape[-2:])
        _RECOVERY_GRID(
            np.broadcast_to(exposure, shape).reshape(lead),
            np.broadcast_to(collateral, shape).reshape(lead),
            rho,
            out.reshape(lead),
        )
        return out
    _RECOVERY_GRID(_three_axes(exposure), _three_axes(collateral), rho, _three_axes(out))
    return out


def _three_axes(values: np.ndarray) -> np.ndarray:
    """``values`` (at most 3-D) as a 3-D view, with leading axes of length 1."""
    return values if values.ndim == 3 else values.reshape((1,) * (3 - values.ndim) + values.shape)
