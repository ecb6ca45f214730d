"""The engine base: one map over the partitions of a source, wherever the partitions run.

:class:`Engine` holds what both engines share (SPEC §10): :meth:`Engine.map_partitions`
validates every partition first (``prepare``, ids unique across partitions, checked from
their hashes), then runs the task on each partition and puts the results back in
partition order; subclasses (:mod:`solver.engines.local`, :mod:`solver.engines.dask`)
only say where the tasks run (``_run``).

Results are either concatenated on the client in partition order, or written by the
workers as a partitioned Parquet dataset in ``out``: its parts, their staging directory
and the replacement of ``out`` are in :mod:`solver.engines.dataset`.

Determinism: partition results are put back in partition order whatever order they
finish in, and the functions run on a partition are the same as the local code path's,
with no state shared between partitions (Monte Carlo streams are keyed by seed and account
id, see :func:`solver.scenarios.random_streams.account_streams`). Results are therefore
identical for any engine and any number of partitions.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from solver.allocation.pricing import PricingOracle
from solver.core.atomic import remove_staging
from solver.engines.dataset import (
    CheckedDatasetOut,
    _new_staging,
    _part_name,
    _publish,
    _recast_part,
    _write_part,
    check_dataset_out,
)
from solver.engines.partitions import (
    Partition,
    all_missing,
    common_dtypes,
    concat_partitions,
    partition_source,
)
from solver.errors import InputError

__all__ = [
    "Engine",
    "MapResult",
    "OrderedCall",
    "ProgressFn",
]

#: ``progress(rows_done, rows_total)``, called on the client as partitions finish.
ProgressFn = Callable[[int, int], None]
#: ``(func, args, shared)`` of :meth:`Engine.map_ordered`: each item's call is
#: ``func(shared, item, *args)``.
OrderedCall = tuple[Callable[..., Any], tuple[Any, ...], Any]


@dataclass(frozen=True, eq=False)
class _Task:
    func: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    prepare: Callable[[Any, Partition], Any] | None
    summary: Callable[[Any], Any] | None
    staging: str | None

    def __call__(self, partition: Partition) -> dict[str, Any]:
        raw = partition.read()
        frame = self.prepare(raw, partition) if self.prepare is not None else raw
        result = self.func(frame, *self.args, **self.kwargs)
        out: dict[str, Any] = {"index": partition.index, "rows": partition.rows}
        out["summary"] = self.summary(result) if self.summary is not None else None
        if self.staging is None:
            out["result"] = result
            return out
        out["path"] = _write_part(result, self.staging, partition.index)
        out["dtypes"] = {str(c): str(t) for c, t in result.dtypes.items()}
        out["empty"] = all_missing(result)
        return out


@dataclass(frozen=True, eq=False)
class _Check:
    """Validation pre-pass: prepare a partition; return 64-bit hashes of its ids (or its
    InputError). With ``rows`` given, return the ids of those rows instead."""

    prepare: Callable[[Any, Partition], Any]
    column: str
    rows: dict[int, np.ndarray] | None = None

    def __call__(self, partition: Partition) -> dict[str, Any]:
        out: dict[str, Any] = {"index": partition.index, "rows": partition.rows, "ids": None}
        try:
            frame = self.prepare(partition.read(), partition)
        except InputError as exc:
            out["error"] = exc
            return out
        if self.column and self.column in frame.columns:
            ids = frame[self.column].astype(str).to_numpy(dtype=object)
            if self.rows is not None:
                out["ids"] = ids[self.rows.get(partition.index, np.zeros(0, dtype=np.int64))]
            else:
                # 8 bytes per account reach the client, not the ids themselves
                out["ids"] = pd.util.hash_array(ids)
        return out


def _unchanged(frame: Any) -> Any:
    return frame


@dataclass(frozen=True, eq=False)
class MapResult:
    """What :meth:`Engine.map_partitions` returns.

    Attributes
    ----------
    frame
        The concatenated results in partition order (``None`` when written to ``out``).
    out
        The Parquet dataset directory written (``None`` when concatenated).
    summaries
        The ``summary`` of each partition's result, in partition order.
    partitions, rows
        Partitions processed and rows in total.
    """

    frame: Any
    out: Path | None
    summaries: list[Any]
    partitions: int
    rows: int
    results: list[Any] = field(default_factory=list)


def _merge_input_errors(errors: list[InputError]) -> InputError:
    if len(errors) == 1:
        return errors[0]
    problems: list[str] = []
    for e in errors:
        problems.extend(e.problems or [str(e)])
    shown = problems[:50]
    if len(problems) > 50:
        shown.append(f"... and {len(problems) - 50} more")
    head = str(errors[0]).splitlines()[0].split(":")[0]
    return InputError(f"{head}: problems in {len(errors)} partitions", shown)


def _duplicate_error(
    source: str, ids: np.ndarray, column: str, rows: np.ndarray
) -> InputError | None:
    """InputError for ids seen before (``rows``: 0-based dataset rows of ``ids``)."""
    dup = pd.Index(ids).duplicated(keep="first")
    if not dup.any():
        return None
    where = rows[dup]
    problems = [
        f"{source}: row {r + 1} (account_id {i}): {column}: duplicate account id"
        for r, i in zip(where[:50].tolist(), ids[dup][:50], strict=True)
    ]
    if where.size > 50:
        problems.append(f"... and {where.size - 50} more")
    return InputError(f"{source}: {where.size} duplicate account id(s)", problems)


class Engine:
    """Where per-partition work runs: the base of :class:`LocalEngine` and :class:`DaskEngine`."""

    name = "base"
    #: Partitions used when a call gives none (``None``: :func:`default_partitions`).
    partitions: int | None = None

    @property
    def workers(self) -> int:
        """Worker processes (for default partition counts)."""
        return 1

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Release the engine's resources."""
        return None

    def map_ordered(
        self,
        func: Callable[..., Any],
        items: Sequence[Any],
        *args: Any,
        shared: Any = None,
        progress: Callable[[int], None] | None = None,
        window: int | None = None,
    ) -> Iterator[Any]:
        """Yield ``func(shared, item, *args)`` for every item, in item order.

        ``progress(items_done)`` is called before each result is yielded; ``window`` bounds
        the tasks in flight on a cluster (see :meth:`_ordered`).
        """
        ordered = self._ordered((func, args, shared), items, window)
        try:
            for done, value in enumerate(ordered, start=1):
                if progress is not None:
                    progress(done)
                yield value
        finally:
            ordered.close()

    # subclasses: where map_ordered's calls run (here: in-process, one after the other)
    def _ordered(
        self, call: OrderedCall, items: Sequence[Any], window: int | None
    ) -> Generator[Any, None, None]:
        func, args, shared = call
        for item in items:
            yield func(shared, item, *args)

    def pricing(self, problem: Any) -> PricingOracle:
        """A pricing oracle for the Lagrangian dual of ``problem``."""
        raise NotImplementedError

    # subclasses: run tasks over partitions, yielding (index, value) as they finish
    def _run(
        self, fn: Callable[[Partition], Any], parts: list[Partition]
    ) -> Iterator[tuple[int, Any]]:
        raise NotImplementedError

    def _run_plain(self, fn: Callable[..., Any], items: list[Any]) -> list[Any]:
        return [fn(x) for x in items]

    def map_partitions(
        self,
        func: Callable[..., Any],
        source: Any,
        *args: Any,
        out: str | os.PathLike[str] | None = None,
        partitions: int | None = None,
        prepare: Callable[[Any, Partition], Any] | None = None,
        summary: Callable[[Any], Any] | None = None,
        unique: str | None = None,
        progress: ProgressFn | None = None,
        concat: bool = True,
        **kwargs: Any,
    ) -> MapResult:
        """Apply ``func(partition_frame, *args, **kwargs)`` to every partition of ``source``.

        Parameters
        ----------
        func
            A pure function of a partition's rows returning a DataFrame (e.g.
            :func:`solver.plans.portfolio_batch.plan_batch`); it must be importable by the workers.
        source
            A DataFrame or the path of a Parquet file / dataset directory.
        out
            Directory of the Parquet dataset the workers write (one part per partition);
            ``None`` to bring the results back to the client.
        partitions
            Number of partitions (default :func:`default_partitions`).
        prepare
            ``prepare(raw, partition)`` turns a partition's raw rows into ``func``'s input
            (validation, with dataset-wide row numbers in messages).
        summary
            ``summary(result)`` computed by the worker and returned in partition order
            (e.g. counts for a terminal table when the rows stay on the workers).
        unique
            Column whose values must be unique across partitions (e.g. ``account_id``):
            checked before any work starts, from that column only.
        progress
            ``progress(rows_done, rows_total)`` called on the client as partitions finish.
        concat
            With ``out=None``: concatenate DataFrame results (:func:`concat_partitions`)
            or, when ``False``, return them as a list in ``MapResult.results``.
        """
        if out is not None:
            # before any work: the folder may be replaced and the source is not in it (not
            # again for a folder the command checked with this source among its inputs)
            source_path = None if isinstance(source, pd.DataFrame) else source
            if not (isinstance(out, CheckedDatasetOut) and out.checked_with(source_path)):
                check_dataset_out(out, option=None, inputs={"source": source_path})
        parts = partition_source(source, partitions or self.partitions, self.workers)
        total = sum(p.rows for p in parts)
        is_frame = not parts or parts[0].frame is not None
        if prepare is not None and not is_frame:
            # Validate every partition (and the ids across them) before any work starts:
            # bad input fails fast and nothing is written.
            checked = self._gather(_Check(prepare, unique or ""), parts, None, None)
            errors = [c["error"] for c in checked if "error" in c]
            if errors:
                raise _merge_input_errors(errors)
            if unique:
                err = self._duplicates(parts, checked, prepare, unique)
                if err is not None:
                    raise err
        staging = None
        out_path = Path(out) if out is not None else None
        if out_path is not None:
            staging = _new_staging(out_path)
        task = _Task(
            func, args, dict(kwargs), prepare, summary, None if staging is None else str(staging)
        )
        try:
            results = self._gather(task, parts, progress, total)
            if staging is not None and out_path is not None:
                dtypes = [r["dtypes"] for r in results]
                empty = [r["empty"] for r in results]
                common = common_dtypes(dtypes, empty)
                redo = [
                    r["path"]
                    for r, dt, e in zip(results, dtypes, empty, strict=True)
                    if any(c in common and dt.get(c) != common[c] for c in e)
                ]
                if redo:
                    self._run_plain(functools.partial(_recast_part, dtypes=common), redo)
                _publish(staging, out_path, {_part_name(p.index) for p in parts})
                staging = None
        finally:
            if staging is not None:
                remove_staging(staging)
        summaries = [r["summary"] for r in results]
        if out_path is not None:
            return MapResult(None, out_path, summaries, len(parts), total)
        values = [r["result"] for r in results]
        if concat:
            return MapResult(concat_partitions(values), None, summaries, len(parts), total)
        return MapResult(None, None, summaries, len(parts), total, results=values)

    def write_dataset(
        self,
        frame: pd.DataFrame,
        out: str | os.PathLike[str],
        *,
        partitions: int | None = None,
        summary: Callable[[Any], Any] | None = None,
    ) -> MapResult:
        """Write a table computed on the client as the Parquet dataset ``out``.

        The same parts, staging and replacement rules (:func:`check_dataset_out`) as a
        :meth:`map_partitions` ``out``: for results that cannot be computed partition by
        partition (a payment history's scores need all of an account's months).
        """
        return self.map_partitions(
            _unchanged, frame, out=out, partitions=partitions, summary=summary
        )

    def _duplicates(
        self,
        parts: list[Partition],
        checked: list[dict[str, Any]],
        prepare: Callable[[Any, Partition], Any],
        column: str,
    ) -> InputError | None:
        """Ids repeated across partitions, from their hashes; the ids themselves are fetched
        only for rows whose hash repeats (and compared, so a hash collision is no error)."""
        hashes = [c["ids"] for c in checked if c["ids"] is not None]
        if not hashes:
            return None
        every = np.concatenate(hashes)
        suspect = np.flatnonzero(pd.Index(every).duplicated(keep=False))
        if suspect.size == 0:
            return None
        starts = np.array([p.start for p in parts])
        owner = np.searchsorted(starts, suspect, side="right") - 1
        rows = {int(k): suspect[owner == k] - parts[k].start for k in np.unique(owner).tolist()}
        involved = [parts[k] for k in rows]
        fetched = self._gather(_Check(prepare, column, rows), involved, None, None)
        ids = np.full(len(every), "", dtype=object)
        for got in fetched:
            if got is not None and got["ids"] is not None:
                k = got["index"]
                ids[rows[k] + parts[k].start] = got["ids"]
        return _duplicate_error(parts[0].source, ids[suspect], column, suspect)

    def _gather(
        self,
        fn: Callable[[Partition], Any],
        parts: list[Partition],
        progress: ProgressFn | None,
        total: int | None,
    ) -> list[Any]:
        """Run ``fn`` on every partition; results in partition order; InputErrors merged."""
        results: list[Any] = [None] * len(parts)
        position = {p.index: k for k, p in enumerate(parts)}
        done = 0
        errors: list[InputError] = []
        finished = self._run(fn, parts)
        try:
            for index, value in finished:
                if isinstance(value, InputError):
                    errors.append(value)
                    continue
                results[position[index]] = value
                done += parts[position[index]].rows
                if progress is not None and total is not None:
                    progress(done, total)
        finally:
            # an exception here (an interruption in ``progress``) stops the workers now, not
            # when the suspended generator is collected
            close = getattr(finished, "close", None)
            if close is not None:
                close()
        if errors:
            raise _merge_input_errors(errors)
        return results
