"""Execution engines: per-account work in-process or on a Dask cluster (SPEC §10).

The same pure functions run under both engines; an engine only decides *where* the
partitions of a portfolio are processed and how their results come back.

* :class:`LocalEngine` runs partitions in this process (``jobs=1``) or in a local process
  pool (``jobs > 1``).
* :class:`DaskEngine` runs them on a Dask cluster: an existing one (``address``), or a
  :class:`distributed.LocalCluster` sized to the machine (one single-threaded worker
  process per core). ``dask`` is imported only when a :class:`DaskEngine` is created.

Partitions
----------
A *source* is a validated DataFrame (sliced into contiguous row ranges) or a Parquet file
or dataset directory. Dataset partitions are contiguous ranges of rows, counting the files
in name order and the rows in file order; they are cut at row-group boundaries when there
are enough row groups. Each worker reads its own row groups (``pyarrow``), so the client
never holds the portfolio; a ``prepare`` step (e.g. :func:`prepare_portfolio`) validates a
partition with the row numbers of the whole dataset in its messages.

Results are either concatenated on the client in partition order, or written by the
workers as a partitioned Parquet dataset (``out`` directory, one ``part-NNNNN.parquet`` per
partition, each written atomically through :mod:`solver.core.atomic`). The parts go to a hidden
staging directory next to ``out`` that replaces ``out`` only when every partition has
succeeded, so a failed run leaves no partial output. With a multi-machine cluster ``out``
must be on a filesystem every worker can write to.

Determinism
-----------
Partition results are put back in partition order whatever order they finish in, and the
functions run on a partition are the same as the local code path's, with no state shared
between partitions (Monte Carlo streams are keyed by seed and account id, see
:func:`solver.scenarios.paths.account_streams`). Results are therefore identical for any
engine and any number of partitions. A task whose worker dies is rerun by Dask on another
worker (up to ``distributed.scheduler.allowed-failures`` times); tasks are idempotent (a
retried part overwrites the same file), so the output is complete and unchanged.

Allocation at scale
-------------------
The Lagrangian dual of the allocation asks the engine for a pricing oracle
(:meth:`Engine.pricing`): :mod:`solver.allocation.pricing` holds them, in process or on the workers.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import functools
import math
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.allocation.pricing import DaskPricing, LocalPricing, PricingOracle, _worker_count
from solver.core import interrupts
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DaskEngine",
    "Engine",
    "LocalEngine",
    "LocalPool",
    "MapResult",
    "Partition",
    "concat_partitions",
    "is_dataset",
    "open_engine",
    "partition_source",
    "prepare_portfolio",
    "read_portfolio_on",
]

#: Dask settings for the workers of a cluster this engine starts itself (a cluster given by
#: ``--address`` keeps its owner's settings; benchmarks/README.md recommends the same).
#: Both defaults cost a CPU-bound planning task about 30 % of its CPU time (measured: 5.4 s
#: against 4.1 s for the same 800 accounts, where the main process takes 4.1 s):
#:
#: * ``MALLOC_TRIM_THRESHOLD_`` (Dask sets 65536 so that workers hand freed memory back to
#:   the OS): setting it also switches off glibc's dynamic mmap threshold, so every array
#:   above 128 KiB of the vectorised plan search is mmap-ed, page-faulted and unmapped
#:   again. Our tasks allocate and free such buffers thousands of times per partition and
#:   hold no large state between tasks, so the trim buys nothing here. ``None`` unsets it.
#: * the worker's statistical profiler (samples every task thread's stack every 10 ms for
#:   the dashboard's profile page), which takes the GIL from a pure-Python-heavy task.
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
}

#: Default rows per partition when the caller gives no partition count.
DEFAULT_PARTITION_ROWS = 25_000
#: Seconds to wait for a Dask scheduler before giving up (exit 2); env WORKOUT_DASK_TIMEOUT.
CONNECT_TIMEOUT = 20.0


def dask_setup(worker: Any) -> None:
    """Dask preload hook of the local cluster's workers: ignore SIGINT (see DaskEngine)."""
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT in this process meanwhile (processes spawned inherit SIG_IGN)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


PARQUET_SUFFIXES = (".parquet", ".pq")


# --------------------------------------------------------------------------------------
# Partitions of a source
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """Rows ``[skip, skip + take)`` of the concatenated row groups ``row_groups`` of a file."""

    path: str
    row_groups: tuple[int, ...]
    skip: int
    take: int


@dataclass(frozen=True, eq=False)
class Partition:
    """A contiguous range of rows ``[start, stop)`` of a source.

    Attributes
    ----------
    index
        Position of the partition (results are put back in this order).
    start, stop
        Global row range (0-based; row ``r`` is reported to users as row ``r + 1``).
    source
        Name of the file or dataset, for messages.
    pieces
        Where the rows are in a Parquet dataset (empty for an in-memory frame).
    frame
        The rows themselves for an in-memory source (``None`` for a dataset).
    """

    index: int
    start: int
    stop: int
    source: str
    pieces: tuple[Piece, ...] = ()
    frame: Any = None

    @property
    def rows(self) -> int:
        """Number of rows."""
        return self.stop - self.start

    def read(self) -> pd.DataFrame:
        """The partition's rows as a DataFrame (a worker reads only its own row groups)."""
        if self.frame is not None:
            return self.frame
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = []
        for piece in self.pieces:
            try:
                table = pq.ParquetFile(piece.path).read_row_groups(list(piece.row_groups))
            except (pa.ArrowException, OSError) as exc:
                raise InputError(f"{piece.path}: not a readable Parquet file ({exc})") from None
            tables.append(table.slice(piece.skip, piece.take))
        frames = [t.to_pandas() for t in tables]
        if len(frames) == 1:
            return frames[0].reset_index(drop=True)
        return pd.concat(frames, ignore_index=True)


def is_dataset(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a Parquet file or a directory (read as a Parquet dataset)."""
    p = Path(path)
    return p.is_dir() or p.suffix.lower() in PARQUET_SUFFIXES


def _dataset_files(path: Path) -> list[str]:
    import pyarrow as pa
    import pyarrow.dataset as pds

    if not path.exists():
        raise InputError(f"{path}: file or directory not found")
    if path.is_file():
        return [str(path)]
    try:
        # pyarrow skips hidden and "_"-prefixed files (staging directories, _SUCCESS, ...).
        files = pds.dataset(str(path), format="parquet").files
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet dataset ({exc})") from None
    if not files:
        raise InputError(f"{path}: no Parquet files in the directory")
    return sorted(files)


def _bounds(total: int, parts: int) -> list[int]:
    """``parts + 1`` nearly equal cut points of ``range(total)``."""
    parts = max(1, min(parts, total)) if total else 1
    return [total * k // parts for k in range(parts + 1)]


def default_partitions(rows: int, workers: int = 1) -> int:
    """Partitions for ``rows`` rows: about :data:`DEFAULT_PARTITION_ROWS` each, at least
    two per worker (so a lost worker's share is spread over the others)."""
    return max(1, min(rows, max(2 * workers, math.ceil(rows / DEFAULT_PARTITION_ROWS))))


def partition_source(
    source: Any, partitions: int | None = None, workers: int = 1
) -> list[Partition]:
    """Cut a DataFrame or a Parquet file / dataset directory into contiguous partitions.

    Parameters
    ----------
    source
        A pandas DataFrame, or the path of a Parquet file or dataset directory.
    partitions
        Number of partitions (default :func:`default_partitions`); never more than the rows.
    workers
        Workers of the engine (for the default).
    """
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        n = len(source)
        cuts = _bounds(n, partitions or default_partitions(n, workers))
        return [
            Partition(k, a, b, "<frame>", frame=source.iloc[a:b])
            for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True))
        ]
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(source)
    files = _dataset_files(path)
    units: list[tuple[str, int, int]] = []  # (file, row group, rows) in global order
    for name in files:
        try:
            meta = pq.ParquetFile(name).metadata
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"{name}: not a readable Parquet file ({exc})") from None
        units.extend((name, g, meta.row_group(g).num_rows) for g in range(meta.num_row_groups))
    sizes = np.array([u[2] for u in units], dtype=np.int64)
    offsets = np.r_[0, np.cumsum(sizes)]
    n = int(offsets[-1])
    if n == 0:
        raise InputError(f"{path}: header only, no data rows (the dataset has 0 rows)")
    count = max(1, min(partitions or default_partitions(n, workers), n))
    targets = _bounds(n, count)
    if len(units) >= count:
        # Cut at the row-group boundary nearest each target (every part reads whole groups).
        cuts = [0]
        for t in targets[1:-1]:
            k = int(np.argmin(np.abs(offsets - t)))
            cuts.append(max(int(offsets[k]), cuts[-1]))
        cuts.append(n)
        cuts = sorted(set(cuts))
    else:
        cuts = targets
    out = []
    for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        pieces: list[Piece] = []
        first = int(np.searchsorted(offsets, a, side="right")) - 1
        last = int(np.searchsorted(offsets, b, side="left")) - 1
        u = first
        while u <= last:
            name = units[u][0]
            group = [u]
            while u + 1 <= last and units[u + 1][0] == name:
                u += 1
                group.append(u)
            g_start = int(offsets[group[0]])
            g_stop = int(offsets[group[-1] + 1])
            skip = max(a, g_start) - g_start
            take = min(b, g_stop) - max(a, g_start)
            pieces.append(Piece(name, tuple(units[x][1] for x in group), skip, take))
            u += 1
        out.append(Partition(k, a, b, str(path), pieces=tuple(pieces)))
    return out


def prepare_portfolio(raw: pd.DataFrame, partition: Partition) -> pd.DataFrame:
    """Validate a raw partition of a portfolio (rows numbered as in the whole dataset)."""
    from solver.core.validation import validate_portfolio

    if partition.frame is not None:
        return raw  # in-memory sources are validated frames already
    rows = np.arange(partition.start + 1, partition.stop + 1)
    return validate_portfolio(
        raw,
        partition.source,
        row_numbers=rows,
        unknown_columns="warn",
        row_note="row N = the Nth row of the dataset, files in name order",
    )


# --------------------------------------------------------------------------------------
# Tasks run on a partition, and putting results back together
# --------------------------------------------------------------------------------------


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
        out["empty"] = _all_missing(result)
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
                import pandas as pd

                # 8 bytes per account reach the client, not the ids themselves
                out["ids"] = pd.util.hash_array(ids)
        return out


def _part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def _write_part(frame: pd.DataFrame, staging: str, index: int) -> str:
    from solver.core.atomic import atomic_path

    path = Path(staging) / _part_name(index)
    clean = frame.copy(deep=False)
    clean.attrs = {}
    with atomic_path(path) as tmp:
        clean.to_parquet(tmp, index=False, engine="pyarrow")
    return str(path)


def _recast_part(path: str, dtypes: dict[str, str]) -> str:
    """Rewrite a part whose columns were all missing with the dataset's common dtypes."""
    import pandas as pd

    from solver.core.atomic import atomic_path

    frame = pd.read_parquet(path)
    frame = _cast_columns(frame, dtypes)
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False, engine="pyarrow")
    return path


def _cast_columns(frame: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    for column, dtype in dtypes.items():
        if column in frame.columns and str(frame[column].dtype) != dtype:
            with contextlib.suppress(TypeError, ValueError):
                frame[column] = frame[column].astype(dtype)
    return frame


def _common_dtypes(parts: Sequence[dict[str, str]], empty: Sequence[set[str]]) -> dict[str, str]:
    """Per column, the dtype the parts agree on once all-missing columns are set aside.

    A column that is entirely missing in a partition comes out as ``object`` there (e.g. no
    account of the partition got a deferral); the whole result would have the dtype of the
    partitions that have values, so that is the dtype every part is given.
    """
    out: dict[str, str] = {}
    columns = {c for p in parts for c in p}
    for column in columns:
        seen = {
            p[column] for p, e in zip(parts, empty, strict=True) if column in p and column not in e
        }
        if len(seen) == 1:
            out[column] = seen.pop()
        elif seen and seen <= {"int64", "float64"}:
            out[column] = "float64"
    return out


def _all_missing(frame: pd.DataFrame) -> set[str]:
    return {str(c) for c in frame.columns if frame[c].dtype == object and frame[c].isna().all()}


def concat_partitions(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate partition results in order, with the dtypes the whole result would have.

    ``pd.concat`` turns a column into ``object`` when it is entirely missing in one
    partition; such columns get the dtype the other partitions agree on, so the result
    equals what one call on all rows returns.
    """
    import pandas as pd

    frames = [f for f in frames if f is not None]
    if not frames:
        return pd.DataFrame()
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    parts = [{str(c): str(t) for c, t in f.dtypes.items()} for f in frames]
    empty = [_all_missing(f) for f in frames]
    common = _common_dtypes(parts, empty)
    cast = []
    for f, dt, e in zip(frames, parts, empty, strict=True):
        fix = {c: common[c] for c in e if c in common and dt.get(c) != common[c]}
        cast.append(_cast_columns(f.copy(deep=False), fix) if fix else f)
    return pd.concat(cast, ignore_index=True)


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


def _new_staging(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))


def _publish(staging: Path, out: Path, expected: set[str]) -> None:
    """Replace ``out`` with the finished staging directory (stray temp files removed)."""
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
    old = None
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise InputError(
                f"{out}: exists and is not a directory (the output is a Parquet dataset)"
            )
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, old)
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


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
    import pandas as pd

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


# --------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------


ProgressFn = Callable[[int, int], None]


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
    ) -> Iterator[Any]:
        """Yield ``func(shared, item, *args)`` for every item, in item order (here: in-process)."""
        for k, item in enumerate(items):
            value = func(shared, item, *args)
            if progress is not None:
                progress(k + 1)
            yield value

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
            if out_path.exists() and not out_path.is_dir():
                raise InputError(
                    f"{out_path}: exists and is not a directory (the output is a Parquet dataset)"
                )
            staging = _new_staging(out_path)
        task = _Task(
            func, args, dict(kwargs), prepare, summary, None if staging is None else str(staging)
        )
        try:
            results = self._gather(task, parts, progress, total)
            if staging is not None and out_path is not None:
                dtypes = [r["dtypes"] for r in results]
                empty = [r["empty"] for r in results]
                common = _common_dtypes(dtypes, empty)
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
                shutil.rmtree(staging, ignore_errors=True)
        summaries = [r["summary"] for r in results]
        if out_path is not None:
            return MapResult(None, out_path, summaries, len(parts), total)
        values = [r["result"] for r in results]
        if concat:
            return MapResult(concat_partitions(values), None, summaries, len(parts), total)
        return MapResult(None, None, summaries, len(parts), total, results=values)

    def _duplicates(
        self,
        parts: list[Partition],
        checked: list[dict[str, Any]],
        prepare: Callable[[Any, Partition], Any],
        column: str,
    ) -> InputError | None:
        """Ids repeated across partitions, from their hashes; the ids themselves are fetched
        only for rows whose hash repeats (and compared, so a hash collision is no error)."""
        import pandas as pd

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


# -- local worker processes (``jobs > 1``) --------------------------------------------------

#: Seconds :class:`LocalPool` gives its idle workers to exit after the last task before it
#: kills them (busy workers, after an error or an interruption, are killed at once).
POOL_STOP_SECONDS = 1.0


class WorkerDied(RuntimeError):
    """A local worker process ended without returning its task's result (a bug or the OOM killer)."""


class _RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker (the ``__cause__`` of the re-raised one)."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


def _die_with_parent(parent_pid: int) -> None:
    """Linux: be killed when the parent process dies (``PR_SET_PDEATHSIG``), whatever it dies of."""
    import ctypes

    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent_pid:  # the parent died before prctl
        os._exit(0)


def _pool_worker(fn: Callable[[Any], Any], conn: Any, inherited: list[Any], parent: int) -> None:
    """Main loop of a :class:`LocalPool` worker process: ``(k, item)`` in, ``(k, ok, value)`` out.

    The worker ignores SIGINT (Ctrl-C reaches the whole process group; the parent reports
    the interruption once and stops the workers) and dies of SIGTERM without running any
    Python code. It has its own pipe to the parent, so no lock or queue is shared between
    workers and a worker killed at any moment cannot block the parent or the other workers.
    """
    import traceback

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    _die_with_parent(parent)
    for other in inherited:  # the parent's ends of the earlier workers' pipes (EOF on exit)
        other.close()
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if task is None:
            return
        k, item = task
        try:
            reply: tuple[int, bool, Any] = (k, True, fn(item))
        except BaseException as exc:  # noqa: BLE001 - sent back and raised by the parent
            reply = (k, False, (exc, traceback.format_exc()))
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception as exc:  # noqa: BLE001 - the value or exception does not pickle
            text = f"{type(exc).__name__}: {exc}"
            error = RuntimeError(f"a worker's result could not be sent back ({text})")
            try:
                conn.send((k, False, (error, traceback.format_exc())))
            except Exception:  # noqa: BLE001
                return


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Block SIGINT and SIGTERM in this thread meanwhile (a forked child inherits the mask).

    A worker forked now starts with both signals blocked and unblocks them after setting its
    own dispositions, so it never runs the parent's Python handler; a signal for the parent
    stays pending and is handled when the block ends.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class LocalPool:
    """``jobs`` forked worker processes running ``fn`` on items; the local engine's pool.

    Use it as a context manager and iterate :meth:`run`::

        with LocalPool(fn, jobs) as pool:
            for k, ok, value in pool.run(items):   # as tasks finish; value: result or exception
                ...

    Unlike :class:`concurrent.futures.ProcessPoolExecutor` it has no helper thread and no
    queue or lock shared by the workers: each worker has its own pipe and gets one task at
    a time, and the parent waits in :func:`multiprocessing.connection.wait`, which a signal
    interrupts. Leaving the block stops every worker: idle ones are told to exit; on an
    exception (an interruption included) or with tasks in flight they are killed at once,
    so an interrupted run never waits for queued work (issue 15: a ``ProcessPoolExecutor``
    whose worker was killed while sending a result could block its management thread, and
    with it the interpreter's exit, forever). A worker that dies of anything but an
    interruption raises :class:`WorkerDied`.
    """

    def __init__(self, fn: Callable[[Any], Any], jobs: int):
        self.fn = fn
        self.jobs = max(1, int(jobs))
        self._workers: list[Any] = []  # (process, connection)
        self._pending: collections.deque[tuple[int, Any]] = collections.deque()
        self._busy: dict[int, int] = {}  # worker number -> task number

    def __enter__(self) -> LocalPool:
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        try:
            for _ in range(self.jobs):
                with _signals_blocked():
                    ours, theirs = ctx.Pipe(duplex=True)
                    inherited = [c for _, c in self._workers]
                    proc = ctx.Process(
                        target=_pool_worker,
                        args=(self.fn, theirs, inherited, os.getpid()),
                        name=f"WorkoutPoolProcess-{len(self._workers) + 1}",
                        daemon=True,
                    )
                    try:
                        proc.start()
                    finally:  # also when a signal's exception ends start() after the fork
                        theirs.close()
                        if proc.pid is not None:
                            self._workers.append((proc, ours))
        except BaseException:
            self.close(kill=True)
            raise
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        self.close(kill=exc_type is not None or bool(self._busy))

    def cancel(self) -> None:
        """Send no further tasks; :meth:`run` still yields the ones already running."""
        self._pending.clear()

    def _dispatch(self, w: int) -> None:
        if not self._pending:
            return
        k, item = self._pending.popleft()
        proc, conn = self._workers[w]
        self._busy[w] = k
        try:
            conn.send((k, item))
        except (EOFError, OSError):
            raise self._died(w) from None

    def _died(self, w: int) -> WorkerDied:
        proc, _ = self._workers[w]
        proc.join(POOL_STOP_SECONDS)
        code = proc.exitcode
        how = (
            "is still running"
            if code is None
            else (f"was killed by signal {-code}" if code < 0 else f"exited with code {code}")
        )
        return WorkerDied(f"local worker process {proc.pid} {how} before returning its result")

    def run(self, items: Sequence[Any]) -> Iterator[tuple[int, bool, Any]]:
        """Yield ``(k, ok, value)`` for the ``items[k]`` as they finish (any order).

        ``ok`` is false when ``fn`` raised: ``value`` is then the exception (its
        ``__cause__`` holds the worker's traceback), for the caller to raise or report.
        """
        from multiprocessing.connection import wait

        self._pending.extend(enumerate(items))
        for w in range(len(self._workers)):
            if w not in self._busy:
                self._dispatch(w)
        while self._busy:
            by_conn = {self._workers[w][1]: w for w in self._busy}
            by_sentinel = {self._workers[w][0].sentinel: w for w in self._busy}
            ready = wait(list(by_conn) + list(by_sentinel))
            readable = [by_conn[c] for c in ready if c in by_conn]
            dead = [by_sentinel[s] for s in ready if s in by_sentinel]
            for w in dead:
                if w not in readable and not self._workers[w][1].poll(0):
                    raise self._died(w)
            for w in readable:
                conn = self._workers[w][1]
                try:
                    k, ok, value = conn.recv()
                except (EOFError, OSError):
                    raise self._died(w) from None
                del self._busy[w]
                self._dispatch(w)
                if not ok:
                    exc, text = value
                    exc.__cause__ = _RemoteTraceback(text)
                    value = exc
                yield k, ok, value

    def close(self, kill: bool = False) -> None:
        """Stop the workers: tell idle ones to exit, kill the others (all at once if ``kill``)."""
        with interrupts.shield():
            self._close(kill)

    def _close(self, kill: bool) -> None:
        workers, self._workers = self._workers, []
        self._pending.clear()
        for w, (proc, conn) in enumerate(workers):
            if kill or w in self._busy:
                with contextlib.suppress(OSError):
                    if proc.pid is not None and proc.exitcode is None:
                        os.kill(proc.pid, signal.SIGKILL)
            else:
                with contextlib.suppress(OSError, ValueError):
                    conn.send(None)
        self._busy.clear()
        deadline = time.monotonic() + POOL_STOP_SECONDS
        for proc, conn in workers:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.exitcode is None:
                with contextlib.suppress(OSError):
                    proc.kill()
                proc.join()
            conn.close()


class LocalEngine(Engine):
    """Partitions processed in this process (``jobs=1``) or a local process pool.

    Parameters
    ----------
    jobs
        Worker processes (1: in-process, no pool).
    partitions
        Default number of partitions of a source.
    """

    name = "local"

    def __init__(self, jobs: int = 1, partitions: int | None = None):
        self.jobs = max(1, int(jobs))
        self.partitions = partitions

    @property
    def workers(self) -> int:
        return self.jobs

    def _run(
        self, fn: Callable[[Partition], Any], parts: list[Partition]
    ) -> Iterator[tuple[int, Any]]:
        if self.jobs <= 1 or len(parts) <= 1:
            for p in parts:
                try:
                    yield p.index, fn(p)
                except InputError as exc:
                    yield p.index, exc
                    return
            return
        with LocalPool(fn, min(self.jobs, len(parts))) as pool:
            for k, ok, value in pool.run(parts):
                if ok:
                    yield parts[k].index, value
                elif isinstance(value, InputError):
                    pool.cancel()  # the partitions already running still report
                    yield parts[k].index, value
                else:
                    raise value

    def pricing(self, problem: Any) -> PricingOracle:
        return LocalPricing(problem)


class DaskEngine(Engine):
    """Partitions processed on a Dask cluster.

    Parameters
    ----------
    address
        Scheduler address (``tcp://host:8786``) of an existing cluster; ``None`` starts a
        :class:`distributed.LocalCluster` of ``n_workers`` single-threaded processes.
    n_workers
        Workers of the local cluster (default: the machine's cores).
    timeout
        Seconds to wait for the scheduler (and, for a local cluster, its workers).
    client
        An existing :class:`distributed.Client` to use (not closed by :meth:`close`).
    partitions
        Default number of partitions of a source.

    Raises
    ------
    InputError
        When the scheduler at ``address`` cannot be reached within ``timeout`` (exit 2).
    """

    name = "dask"

    def __init__(
        self,
        address: str | None = None,
        n_workers: int | None = None,
        *,
        timeout: float | None = None,
        client: Any = None,
        memory_limit: str | int = "auto",
        partitions: int | None = None,
    ):
        import logging

        import dask
        from distributed import Client, LocalCluster

        if timeout is None:
            timeout = float(os.environ.get("WORKOUT_DASK_TIMEOUT", CONNECT_TIMEOUT))
        self.address = address
        self.partitions = partitions
        self._cluster = None
        self._own_client = client is None
        if client is not None:
            self.client = client
            return
        if address:
            try:
                self.client = Client(address, timeout=f"{timeout}s", set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise InputError(
                    f"--address {address}: cannot reach the Dask scheduler within {timeout:g} s"
                    f" ({type(exc).__name__}: {exc}); check the address and that the scheduler"
                    " is running"
                ) from None
            return
        workers = int(n_workers or os.cpu_count() or 1)
        # Ctrl-C reaches the whole process group: the client stops the run cleanly and
        # closes the cluster, so the worker processes ignore SIGINT (they would otherwise
        # print KeyboardInterrupt tracebacks). SIG_IGN is inherited by the processes
        # spawned now; workers a nanny restarts later set it in the ``dask_setup`` preload.
        # ``:0``: the scheduler's HTTP server takes a free port (no "8787 in use" warning
        # when two runs share a machine).
        with _sigint_ignored(), dask.config.set(LOCAL_CLUSTER_CONFIG):
            # A deep copy for the nannies: they keep it for the workers they restart (their
            # own merge with the global config is shallow, so leaving this block would
            # otherwise give restarted workers Dask's defaults back).
            worker_config = copy.deepcopy(dask.config.config)
            self._cluster = LocalCluster(
                config=worker_config,
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                # CRITICAL, not ERROR: a worker still alive when an interrupted run's
                # scheduler is gone logs "Failed to communicate with scheduler during
                # heartbeat" with a traceback on the run's stderr (CI, session 5). A task's
                # own error still reaches the client as the task's exception.
                silence_logs=logging.CRITICAL,
                memory_limit=memory_limit,
                preload=[__name__],
            )
        self.client = Client(self._cluster, set_as_default=False, timeout=f"{timeout}s")
        self.client.wait_for_workers(workers, timeout=timeout)

    @property
    def workers(self) -> int:
        return _worker_count(self.client)

    def close(self) -> None:
        with interrupts.shield():  # an interrupted run still stops its cluster (issue 15)
            if self._own_client:
                with contextlib.suppress(Exception):
                    self.client.close()
            if self._cluster is not None:
                with contextlib.suppress(Exception):
                    self._cluster.close()
                self._cluster = None

    def _run(
        self, fn: Callable[[Partition], Any], parts: list[Partition]
    ) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        # pure=False: a retried or repeated run must really run (tasks write files).
        futures = self.client.map(
            fn, parts, pure=False, key=[f"partition-{uuid.uuid4().hex}-{p.index}" for p in parts]
        )
        index = {f.key: p.index for f, p in zip(futures, parts, strict=True)}
        try:
            for fut in as_completed(futures, loop=self.client.loop):
                try:
                    value = fut.result()
                except InputError as exc:
                    self.client.cancel(futures)
                    yield index[fut.key], exc
                    return
                yield index[fut.key], value
                fut.release()
        finally:
            self.client.cancel(futures)

    def _run_plain(self, fn: Callable[..., Any], items: list[Any]) -> list[Any]:
        return self.client.gather(self.client.map(fn, items, pure=False))

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

        ``shared`` is sent to every worker once; at most ``window`` tasks (default four per
        worker) are in flight, so results wait on the client only briefly.
        """
        shared_future = (
            self.client.scatter(shared, broadcast=True, hash=False) if shared is not None else None
        )
        window = window or 4 * self.workers
        pending: list[Any] = []
        done = 0
        try:
            for item in items:
                pending.append(self.client.submit(func, shared_future, item, *args, pure=False))
                if len(pending) >= window:
                    value = pending.pop(0).result()
                    done += 1
                    if progress is not None:
                        progress(done)
                    yield value
            while pending:
                value = pending.pop(0).result()
                done += 1
                if progress is not None:
                    progress(done)
                yield value
        finally:
            if pending:
                self.client.cancel(pending)
            if shared_future is not None:
                self.client.cancel([shared_future])

    def pricing(self, problem: Any) -> PricingOracle:
        return DaskPricing(problem, self.client, partitions=self.partitions)

    def worker_peak_rss(self) -> dict[str, int]:
        """Peak resident memory (bytes) of each worker process so far."""
        return self.client.run(_peak_rss)


def _peak_rss() -> int:
    """Peak resident memory of this process in bytes.

    ``VmHWM`` from ``/proc/self/status`` where there is one: unlike ``ru_maxrss`` it is not
    inherited across ``exec`` from the parent that spawned the process.
    """
    import resource
    import sys

    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


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
    distributed = Path(source).is_dir() or engine.name == "dask" or partitions is not None
    if not (is_dataset(source) and distributed):
        from solver.core.readers import read_portfolio

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


# silence "imported but unused" for names kept for type checkers
_ = (Iterable, time)
