"""Pricing oracles of the allocation's Lagrangian dual, in process or on Dask workers.

The dual (:func:`solver.allocation.gap.dual.lagrangian_dual`) needs, for given prices, every
account's cheapest option, the sum of those reduced costs and the use of every capacity row. A
:class:`PricingOracle` answers that: :class:`LocalPricing` on the in-process matrix,
:class:`DaskPricing` on column blocks of the matrix held by the workers (per iteration
only the prices go out and a few hundred numbers come back). Both compute the sums block
by block over fixed blocks of :data:`PRICING_BLOCK` accounts and add the block sums with
:func:`math.fsum`, so they return bit-identical values whatever the partitioning. The
engines hand them out (``Engine.pricing``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from solver.errors import InputError

__all__ = [
    "PRICING_BLOCK",
    "DaskPricing",
    "LocalPricing",
    "Pricing",
    "PricingOracle",
    "price_columns",
]

#: Accounts per block of the pricing oracle's sums (fixed, so sums never depend on partitions).
PRICING_BLOCK = 1024


def _worker_count(client: Any) -> int:
    """Workers of a Dask cluster (at least 1)."""
    info = client.scheduler_info()
    return max(1, len(info.get("workers", {})))


@dataclass(frozen=True)
class Pricing:
    """Each job's cheapest option under given prices, summarised.

    Attributes
    ----------
    block_sums
        Sum of the jobs' smallest reduced costs per block of :data:`PRICING_BLOCK` jobs
        (``inf`` in a block where a job has no allowed option).
    row_usage, global_usage
        Use of every own row and global row by the cheapest options, per block
        (``blocks × R`` and ``blocks × G``).
    """

    block_sums: np.ndarray
    row_usage: np.ndarray
    global_usage: np.ndarray

    @property
    def value(self) -> float:
        """Σ over jobs of the smallest reduced cost (exactly rounded, order-free)."""
        if not np.all(np.isfinite(self.block_sums)):
            return math.inf if np.any(self.block_sums == np.inf) else math.nan
        return math.fsum(self.block_sums.tolist())

    def usage(self) -> tuple[np.ndarray, np.ndarray]:
        """Total use of the own rows and the global rows (exactly rounded sums)."""
        rows = np.array([math.fsum(c) for c in self.row_usage.T.tolist()], dtype=np.float64)
        glob = np.array([math.fsum(c) for c in self.global_usage.T.tolist()], dtype=np.float64)
        return rows, glob

    @staticmethod
    def join(parts: Sequence[Pricing]) -> Pricing:
        """Blocks of consecutive column ranges, in order."""
        return Pricing(
            np.concatenate([p.block_sums for p in parts]),
            np.concatenate([p.row_usage for p in parts]),
            np.concatenate([p.global_usage for p in parts]),
        )


def price_columns(
    cost: np.ndarray,
    weight: np.ndarray,
    row_of: np.ndarray,
    global_weight: np.ndarray,
    n_rows: int,
    prices: np.ndarray,
    global_prices: np.ndarray,
    *,
    want_choice: bool = False,
    block: int = PRICING_BLOCK,
    out: np.ndarray | None = None,
) -> tuple[Pricing, np.ndarray | None]:
    """The per-account step of the dual on a block-aligned range of columns (pure function).

    Reduced costs ``c_oj + λ_row(o)·w_oj + Σ_g μ_g·w^g_oj``, the cheapest option per job
    (lowest index on ties, as ``argmin``) and the per-block sums. The same function runs on
    the whole matrix (:class:`LocalPricing`) and on each worker's columns
    (:class:`DaskPricing`).
    """
    k, n = cost.shape
    own = np.r_[np.asarray(prices, dtype=np.float64), 0.0][np.where(row_of >= 0, row_of, n_rows)]
    # (reuse ``out`` for the K × n reduced costs: a fresh array per iteration page-faults)
    rc = out if out is not None and out.shape == cost.shape else np.empty(cost.shape)
    np.multiply(weight, own[:, None], out=rc)
    rc += cost
    for g in range(global_prices.size):
        if global_prices[g] != 0.0:
            rc += global_prices[g] * global_weight[g]
    choice = rc.argmin(axis=0)
    jobs = np.arange(n)
    best = rc[choice, jobs]
    starts = np.arange(0, n, block)
    blocks = starts.size
    sums = np.array([best[s : s + block].sum() for s in starts]) if n else np.zeros(0)
    rows = row_of[choice]
    w = weight[choice, jobs] if weight.shape[1] == n else weight[choice, 0]
    block_of = jobs // block
    capacitated = rows >= 0
    flat = block_of[capacitated] * n_rows + rows[capacitated]
    row_usage = np.bincount(flat, weights=w[capacitated], minlength=blocks * n_rows).reshape(
        blocks, n_rows
    )
    g_count = global_weight.shape[0]
    global_usage = np.zeros((blocks, g_count))
    for g in range(g_count):
        gw = global_weight[g]
        vals = gw[choice, jobs] if gw.shape[1] == n else gw[choice, 0]
        global_usage[:, g] = np.bincount(block_of, weights=vals, minlength=blocks)
    return Pricing(sums, row_usage, global_usage), (choice if want_choice else None)


class PricingOracle(Protocol):
    """Answers the Lagrangian subproblem for given prices (see :func:`price_columns`)."""

    def price(self, prices: np.ndarray, global_prices: np.ndarray) -> Pricing:
        """Block sums of the smallest reduced costs and the row usage of the cheapest options."""
        ...

    def choice(self, prices: np.ndarray, global_prices: np.ndarray) -> np.ndarray:
        """Cheapest option of every job under the prices."""
        ...

    def close(self) -> None:
        """Release resources (scattered data)."""
        ...


def _problem_arrays(problem: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    return (
        problem.cost,
        problem.weight,
        problem.row_of,
        problem.global_weight,
        int(problem.capacity.size),
    )


class LocalPricing:
    """Pricing oracle on the in-process matrix of an
    :class:`solver.allocation.gap.problem.AssignmentProblem`."""

    def __init__(self, problem: Any):
        self.problem = problem
        self._buffer: np.ndarray | None = None

    def price(self, prices: np.ndarray, global_prices: np.ndarray) -> Pricing:
        cost, weight, row_of, gw, r = _problem_arrays(self.problem)
        if self._buffer is None:
            self._buffer = np.empty(cost.shape)
        return price_columns(cost, weight, row_of, gw, r, prices, global_prices, out=self._buffer)[
            0
        ]

    def choice(self, prices: np.ndarray, global_prices: np.ndarray) -> np.ndarray:
        cost, weight, row_of, gw, r = _problem_arrays(self.problem)
        out = price_columns(cost, weight, row_of, gw, r, prices, global_prices, want_choice=True)[1]
        assert out is not None
        return out

    def close(self) -> None:
        self._buffer = None


def _column_slice(
    problem: Any, a: int, b: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    n = problem.cost.shape[1]
    weight = problem.weight[:, a:b] if problem.weight.shape[1] == n else problem.weight
    gw = problem.global_weight
    gw = gw[:, :, a:b] if gw.shape[0] and gw.shape[2] == n else gw
    return (
        np.ascontiguousarray(problem.cost[:, a:b]),
        np.ascontiguousarray(weight),
        problem.row_of,
        np.ascontiguousarray(gw),
        int(problem.capacity.size),
    )


#: Reduced-cost buffers of this (worker) process by shape, reused across iterations.
_BUFFERS: dict[tuple[int, ...], np.ndarray] = {}


def _price_remote(
    ranges: list[tuple], prices: np.ndarray, global_prices: np.ndarray, want_choice: bool
) -> list[Any]:
    """Price a worker's column ranges (in order): one task per worker and iteration."""
    out = []
    for cost, weight, row_of, gw, r in ranges:
        buffer = _BUFFERS.get(cost.shape)
        if buffer is None:
            if len(_BUFFERS) > 8:
                _BUFFERS.clear()
            buffer = _BUFFERS[cost.shape] = np.empty(cost.shape)
        pricing, choice = price_columns(
            cost, weight, row_of, gw, r, prices, global_prices, want_choice=want_choice, out=buffer
        )
        out.append(choice if want_choice else pricing)
    return out


class DaskPricing:
    """Pricing oracle whose column blocks live on the Dask workers.

    The matrix is cut into ranges of whole :data:`PRICING_BLOCK`-job blocks, one per worker
    (or ``partitions``), and scattered once, round robin over the workers. Each
    :meth:`price` sends one task per worker with the prices (``R + G`` numbers) and
    receives, per block, one sum, ``R`` row uses and ``G`` global uses. If a worker holding
    a range is lost, the ranges are scattered again and the call repeated (the answer does
    not depend on where a range lives).
    """

    def __init__(self, problem: Any, client: Any, partitions: int | None = None):
        self.client = client
        self.problem = problem
        n = problem.cost.shape[1]
        blocks = max(1, math.ceil(n / PRICING_BLOCK))
        count = max(1, min(blocks, partitions or _worker_count(client)))
        cuts = [min(n, (blocks * k // count) * PRICING_BLOCK) for k in range(count + 1)]
        cuts[-1] = n
        self.ranges = [(a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]
        self._parts: list[Any] = []
        self._scatter()

    def _scatter(self) -> None:
        self.close()
        names = sorted(self.client.scheduler_info()["workers"])
        # ranges k, k + W, k + 2W, ... live on worker k; one task per worker prices them all
        self._groups: list[tuple[list[int], Any]] = []
        for w, name in enumerate(names or [None]):
            mine = list(range(w, len(self.ranges), max(1, len(names))))
            if not mine:
                continue
            data = [_column_slice(self.problem, *self.ranges[k]) for k in mine]
            target = [name] if name is not None else None
            self._groups.append((mine, self.client.scatter(data, workers=target, hash=False)))
        self._parts = [future for _, future in self._groups]

    def _map(self, prices: np.ndarray, global_prices: np.ndarray, want_choice: bool) -> list[Any]:
        # Retried by hand, not with Dask's ``retries=``: that reruns a task that raised, but a
        # lost worker takes its scattered ranges with it (scattered data cannot be recomputed)
        # and the tasks that need them are cancelled ("lost dependencies"), never retried. The
        # ranges must be scattered again before the tasks are submitted again.
        for attempt in range(3):
            futures = [
                self.client.submit(
                    _price_remote, future, prices, global_prices, want_choice, pure=False
                )
                for _, future in self._groups
            ]
            try:
                answers = self.client.gather(futures)
            except InputError:
                raise
            except Exception:  # a worker holding ranges was lost: scatter again and retry
                if attempt == 2:
                    raise
                self.client.cancel(futures)
                self._scatter()
                continue
            ordered: list[Any] = [None] * len(self.ranges)
            for (mine, _), answer in zip(self._groups, answers, strict=True):
                for k, value in zip(mine, answer, strict=True):
                    ordered[k] = value
            return ordered
        raise AssertionError("unreachable")

    def price(self, prices: np.ndarray, global_prices: np.ndarray) -> Pricing:
        return Pricing.join(self._map(prices, global_prices, False))

    def choice(self, prices: np.ndarray, global_prices: np.ndarray) -> np.ndarray:
        return np.concatenate(self._map(prices, global_prices, True))

    def close(self) -> None:
        if self._parts:
            with contextlib.suppress(Exception):
                self.client.cancel(self._parts)
            self._parts = []
