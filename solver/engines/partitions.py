"""Partitions of a portfolio source, and putting partition results back together (SPEC §10).

A *source* is a validated DataFrame (sliced into contiguous row ranges) or a Parquet file
or dataset directory. Dataset partitions are contiguous ranges of rows, counting the files
in name order and the rows in file order; they are cut at row-group boundaries when there
are enough row groups. Each worker reads its own row groups (``pyarrow``), so the client
never holds the portfolio; a ``prepare`` step (e.g. :func:`prepare_portfolio`) validates a
partition with the row numbers of the whole dataset in its messages.

:func:`concat_partitions` joins partition results in partition order with the dtypes one
call on all the rows would give (:func:`common_dtypes`, also used for the parts of a
written dataset by :mod:`solver.engines.dataset`).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pds
import pyarrow.parquet as pq

from solver.core.sources import BookSource
from solver.core.validation import validate_portfolio
from solver.errors import InputError

__all__ = [
    "DEFAULT_PARTITION_ROWS",
    "Partition",
    "Piece",
    "all_missing",
    "cast_columns",
    "common_dtypes",
    "concat_partitions",
    "default_partitions",
    "is_dataset",
    "partition_source",
    "prepare_portfolio",
    "runs_on_engine",
]

#: Default rows per partition when the caller gives no partition count.
DEFAULT_PARTITION_ROWS = 25_000

PARQUET_SUFFIXES = (".parquet", ".pq")


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


def runs_on_engine(source: Any, *, distributed: bool, dataset_out: bool = False) -> bool:
    """Whether a book's per-account work runs partition by partition on an engine
    (``map_partitions``) rather than in this process on the whole book.

    The one rule of ``workout plan-portfolio``, ``workout allocate``, ``workout risk score``
    (:func:`solver.risk.scoring.scoring_route`) and
    :func:`solver.engines.entry.read_portfolio_on` (session 23 review: each wrote it in its
    own words). Any one reason sends the work to the engine:

    * ``distributed``: the user asked for an engine (``--engine dask`` or
      ``--partitions``), to spread the work over workers;
    * ``dataset_out``: the output is a Parquet dataset directory, which the workers write in
      parts, so the results never come back to this process whole;
    * ``source`` is a directory (a path, or a :class:`~solver.core.sources.BookSource`'s
      file): a Parquet dataset, which the workers read row group by row group, so this
      process never holds the book.

    Otherwise (a file or a database table, no engine asked for, a file output) one process
    reads the book and does the work: no cluster to start, no partitions to ship.

    Parameters
    ----------
    source
        The book: a path, or a :class:`~solver.core.sources.BookSource` (a database table
        has no path, so is never a directory).
    distributed
        Whether ``--engine dask`` or ``--partitions`` was given.
    dataset_out
        Whether the output is a Parquet dataset directory (commands with no dataset output
        leave it ``False``).
    """
    path = source.path if isinstance(source, BookSource) else source
    directory = path is not None and Path(path).is_dir()
    return distributed or dataset_out or directory


def _dataset_files(path: Path) -> list[str]:
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
    if isinstance(source, pd.DataFrame):
        n = len(source)
        cuts = _bounds(n, partitions or default_partitions(n, workers))
        return [
            Partition(k, a, b, "<frame>", frame=source.iloc[a:b])
            for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True))
        ]
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
# Partition results put back together
# --------------------------------------------------------------------------------------


def cast_columns(frame: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """``frame`` with each column of ``dtypes`` cast to its dtype where the cast succeeds."""
    for column, dtype in dtypes.items():
        if column in frame.columns and str(frame[column].dtype) != dtype:
            with contextlib.suppress(TypeError, ValueError):
                frame[column] = frame[column].astype(dtype)
    return frame


def common_dtypes(parts: Sequence[dict[str, str]], empty: Sequence[set[str]]) -> dict[str, str]:
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


def all_missing(frame: pd.DataFrame) -> set[str]:
    """Columns of ``frame`` that are ``object`` only because every value is missing."""
    return {str(c) for c in frame.columns if frame[c].dtype == object and frame[c].isna().all()}


def concat_partitions(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate partition results in order, with the dtypes the whole result would have.

    ``pd.concat`` turns a column into ``object`` when it is entirely missing in one
    partition; such columns get the dtype the other partitions agree on, so the result
    equals what one call on all rows returns.
    """
    frames = [f for f in frames if f is not None]
    if not frames:
        return pd.DataFrame()
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    parts = [{str(c): str(t) for c, t in f.dtypes.items()} for f in frames]
    empty = [all_missing(f) for f in frames]
    common = common_dtypes(parts, empty)
    cast = []
    for f, dt, e in zip(frames, parts, empty, strict=True):
        fix = {c: common[c] for c in e if c in common and dt.get(c) != common[c]}
        cast.append(cast_columns(f.copy(deep=False), fix) if fix else f)
    return pd.concat(cast, ignore_index=True)
