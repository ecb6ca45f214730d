"""The engine base: one map over the partitions of a source, wherever the partitions run.

:class:`Engine` holds what both engines share (SPEC §10): :meth:`Engine.map_partitions`
validates every partition first (``prepare``, ids unique across partitions, checked from
their hashes), then runs the task on each partition and puts the results back in
partition order; subclasses (:mod:`solver.engines.local`, :mod:`solver.engines.dask`)
only say where the tasks run (``_run``).

Results are either concatenated on the client in partition order, or written by the
workers as a partitioned Parquet dataset (``out`` directory, one ``part-NNNNN.parquet`` per
partition, each written atomically through :mod:`solver.core.atomic`). The parts go to a
hidden staging directory next to ``out`` that replaces ``out`` only when every partition
has succeeded, so a failed run leaves no partial output. With a multi-machine cluster
``out`` must be on a filesystem every worker can write to.

Determinism: partition results are put back in partition order whatever order they
finish in, and the functions run on a partition are the same as the local code path's,
with no state shared between partitions (Monte Carlo streams are keyed by seed and account
id, see :func:`solver.scenarios.random_streams.account_streams`). Results are therefore
identical for any engine and any number of partitions.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from solver.allocation.pricing import PricingOracle
from solver.core import interrupts
from solver.core.atomic import atomic_path, remove_staging, staging_directory
from solver.engines.partitions import (
    Partition,
    all_missing,
    cast_columns,
    common_dtypes,
    concat_partitions,
    partition_source,
)
from solver.errors import InputError

__all__ = [
    "CheckedDatasetOut",
    "Engine",
    "MapResult",
    "OrderedCall",
    "ProgressFn",
    "check_dataset_out",
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


def _part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def _write_part(frame: pd.DataFrame, staging: str, index: int) -> str:
    path = Path(staging) / _part_name(index)
    clean = frame.copy(deep=False)
    clean.attrs = {}
    with atomic_path(path) as tmp:
        clean.to_parquet(tmp, index=False, engine="pyarrow")
    return str(path)


def _recast_part(path: str, dtypes: dict[str, str]) -> str:
    """Rewrite a part whose columns were all missing with the dataset's common dtypes."""
    frame = pd.read_parquet(path)
    frame = cast_columns(frame, dtypes)
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False, engine="pyarrow")
    return path


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


#: The files a dataset ``out`` folder may hold for a run to replace it: this tool's parts
#: (:func:`_part_name`). Decision (session 21): a dataset ``--out`` replaces a folder only
#: when it is empty or holds nothing but such parts (an earlier run's output), so that a
#: user's folder (a book, notes, another tool's files) is never deleted. No marker file is
#: written: it would be one more file every reader of the dataset (pyarrow, dask, Spark)
#: has to skip, and the five-digit part names are specific enough to recognise a dataset.
_PART_FILE = re.compile(r"part-\d{5}\.parquet")


@dataclass(frozen=True, eq=False)
class CheckedDatasetOut:
    """A dataset output folder that passed :func:`check_dataset_out`: made by it only (its
    return value), a path (``os.fspath``) wherever one is taken.

    A command checks its dataset ``--out`` before any work (with its option name and all
    its inputs) and hands this on: :meth:`Engine.map_partitions` does not check it again
    when the check covered its source (:meth:`checked_with`), where a plain path -- what
    library callers pass -- is always checked. Decision (session 22, as
    :class:`~solver.allocation.values.CheckedPlans`): a type, not a ``checked=True``
    argument, so that only a folder that went through the check skips it. The check just
    before the dataset replaces the folder (:func:`_publish`) always runs: it is about
    files put there during the run, which no earlier check can see.

    ``path``: the folder; ``inputs``: the resolved paths of the inputs checked not to be
    in it.
    """

    path: Path
    inputs: frozenset[Path]

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def checked_with(self, source: str | os.PathLike[str] | None) -> bool:
        """Whether the check covered ``source`` (a map's input): none (a table in memory),
        or one of the inputs it checked."""
        return source is None or Path(source).resolve() in self.inputs


def check_dataset_out(
    out: str | os.PathLike[str],
    *,
    option: str | None = "--out",
    inputs: Mapping[str, Any] | None = None,
) -> CheckedDatasetOut:
    """Refuse (exit 2) a dataset output folder that a run may not replace.

    The dataset replaces ``out`` when the run has succeeded; that is allowed only when
    ``out`` does not exist, is an empty folder, or holds only ``part-NNNNN.parquet`` files
    (an earlier dataset of this tool) and none of them is one of ``inputs``.

    Parameters
    ----------
    out
        The dataset folder.
    option
        How the user gave it (``--out``), for messages; ``None``: the path alone.
    inputs
        The files the command reads (label -> path; ``None`` entries skipped): an input
        inside ``out`` would be deleted with it.

    Returns
    -------
    CheckedDatasetOut
        ``out`` checked, to hand on to :meth:`Engine.map_partitions`.

    Raises
    ------
    InputError
        Naming the folder, why it may not be replaced and what to do instead.
    """
    folder = Path(out)
    where = f"{option} {folder}" if option else str(folder)
    sources = [Path(p) for p in (inputs or {}).values() if p is not None]
    checked = CheckedDatasetOut(folder, frozenset(p.resolve() for p in sources))
    if not folder.exists():
        return checked
    if not folder.is_dir():
        raise InputError(
            f"{where}: exists and is not a directory (the output is a Parquet dataset)"
        )
    root = folder.resolve()
    for label, source in (inputs or {}).items():
        if source is None:
            continue
        path = Path(source).resolve()
        if path == root or root in path.parents:
            raise InputError(
                f"{where}: the input {label} ({source}) is in this folder, which the dataset "
                "replaces; write the dataset to another folder (nothing was written)"
            )
    foreign = sorted(e.name for e in folder.iterdir() if not _is_part(e))
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise InputError(
            f"{where}: the folder holds files that are not a Parquet dataset written by "
            f"workout ({shown}); the dataset would replace the folder and delete them. Choose "
            "another folder, or remove this one first (nothing was written)"
        )
    return checked


def _is_part(entry: Path) -> bool:
    """Whether ``entry`` is a part file of a dataset written here (a regular file named as
    :data:`_PART_FILE`, not a link)."""
    return bool(_PART_FILE.fullmatch(entry.name)) and entry.is_file() and not entry.is_symlink()


def _new_staging(out: Path) -> Path:
    """The hidden staging directory of ``out`` (``.NAME.staging-XXXXXXXXXXXX``), tracked by
    :mod:`solver.core.interrupts` before it exists: an interruption that skips
    :meth:`Engine.map_partitions`' own clean-up (a hard stop, or a signal landing before
    it is armed) still removes it with the parts in it (session 21 left it untracked)."""
    return staging_directory(out.parent, f".{out.name}.staging-{{}}")


def _publish(staging: Path, out: Path, expected: set[str]) -> None:
    """Replace ``out`` with the finished staging directory (stray temp files removed).

    ``out`` is checked again here (:func:`check_dataset_out`): files put in it during the
    run make the run fail rather than be deleted.
    """
    for entry in staging.iterdir():
        if entry.name not in expected:
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    for entry in staging.iterdir():
        with open(entry, "rb") as fh:
            os.fsync(fh.fileno())
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    check_dataset_out(out, option=None)
    old = None
    try:  # an interruption between the two renames puts the old dataset back
        with interrupts.shield():  # no repeated raise or hard stop between them
            if out.exists() or out.is_symlink():
                old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
                os.replace(out, old)
            os.replace(staging, out)
    except BaseException:
        if old is not None and os.path.lexists(old) and not os.path.lexists(out):
            os.replace(old, out)
        raise
    interrupts.untrack(staging)  # it is ``out`` now, no longer a temporary
    if old is not None:
        _remove_old(old)


def _remove_old(old: Path) -> None:
    """Delete a replaced dataset: its parts only (a symlink: the link, not its target)."""
    if old.is_symlink():
        old.unlink(missing_ok=True)
        return
    for entry in old.iterdir():
        if _is_part(entry):
            entry.unlink(missing_ok=True)
    try:
        old.rmdir()
    except OSError:  # a file appeared after the check: keep it (hidden folder) rather than lose it
        pass


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
            :func:`solver.plans.portfolio.plan_batch`); it must be importable by the workers.
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
