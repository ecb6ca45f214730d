"""Shared CLI options for the execution engine: ``--engine``, ``--address``, ``--partitions``.

Decorate a click command with :func:`engine_options`; the command then receives one
``engine`` argument, an :class:`EngineChoice`, and opens the engine with
``with choice.open(jobs=...) as engine``. Nothing heavy is imported here (Dask is imported
only when a Dask engine is opened).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from commands.common import console
from commands.options import SHARED_HELP, choice_option

if TYPE_CHECKING:  # the solver loads when a command runs, not with `--help`
    from solver.engines.dataset import CheckedDatasetOut


@dataclass(frozen=True)
class EngineChoice:
    """What the user asked for on the command line.

    Attributes
    ----------
    name
        ``"local"`` (in-process, the default) or ``"dask"``.
    address
        Scheduler of an existing Dask cluster (``tcp://host:8786``); ``None`` starts a local
        cluster sized to the machine.
    partitions
        Partitions of the portfolio (``None``: about 25,000 accounts each, at least two per
        worker).
    workers
        Workers of a local Dask cluster (``None``: one per core).
    """

    name: str = "local"
    address: str | None = None
    partitions: int | None = None
    workers: int | None = None

    @property
    def distributed(self) -> bool:
        """Whether the work is partitioned through an engine (Dask, or ``--partitions``)."""
        return self.name == "dask" or self.partitions is not None

    @contextlib.contextmanager
    def open(self, jobs: int = 1) -> Iterator[Any]:
        """The engine (closed on exit); ``jobs`` sizes the local engine's process pool."""
        # start-up time: the engines import pandas and pyarrow; the options do not need them
        from solver.engines.entry import open_engine

        with open_engine(
            self.name,
            address=self.address,
            jobs=jobs,
            n_workers=self.workers,
            partitions=self.partitions,
        ) as engine:
            yield engine


def engine_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--engine local|dask``, ``--address`` and ``--partitions`` to a click command.

    The wrapped function gets ``engine=EngineChoice(...)`` instead of the three options.
    """

    @choice_option(
        "--engine",
        ["local", "dask"],
        "Where per-account work runs: in this process, or on a Dask cluster "
        "(a local cluster with one worker per core unless --address is given).",
        dest="engine_name",
    )
    @click.option(
        "--address",
        default=None,
        metavar="tcp://HOST:PORT",
        help="Scheduler of an existing Dask cluster (with --engine dask).",
    )
    @click.option(
        "--partitions",
        type=click.IntRange(min=1),
        default=None,
        help="Partitions of the portfolio (default: about 25,000 accounts each, at least "
        "two per worker). Results do not depend on it.",
    )
    @click.option(
        "--workers",
        "dask_workers",
        type=click.IntRange(min=1),
        default=None,
        help=SHARED_HELP["--workers"],
    )
    @functools.wraps(func)
    def wrapper(
        *args: Any,
        engine_name: str,
        address: str | None,
        partitions: int | None,
        dask_workers: int | None,
        **kwargs: Any,
    ) -> Any:
        if address and engine_name != "dask":
            raise click.UsageError("--address needs --engine dask")
        if dask_workers and engine_name != "dask":
            raise click.UsageError("--workers needs --engine dask (use --jobs for local processes)")
        if address and dask_workers:
            raise click.UsageError(
                "--workers sizes a local cluster; it cannot be used with --address"
            )
        choice = EngineChoice(engine_name, address, partitions, dask_workers)
        return func(*args, engine=choice, **kwargs)

    return wrapper


@contextlib.contextmanager
def progress_bar(label: str, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr, fed by ``progress(done, total)`` calls.

    Engines call it as partitions (Dask futures) complete.
    """
    if not enabled:
        yield lambda done, total: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


#: The ``--out`` help of the commands whose workers can write a dataset.
DATASET_OUT_HELP = (
    "A path without extension (or ending in /) is a partitioned Parquet dataset "
    "(part-NNNNN.parquet files) written by the workers; an existing folder is replaced "
    "only when it is empty or holds an earlier such dataset."
)


def is_dataset_output(path: str | Any) -> bool:
    """Whether ``--out`` names a partitioned Parquet dataset (a directory) rather than a file.

    A dataset is a path ending with ``/`` or a path without a file extension. Decided by the
    name alone, not by what exists: an existing folder named ``scores.csv`` is a file
    ``--out`` and is refused as every command refuses it ("is a directory",
    :func:`solver.core.atomic.check_writable`) rather than filled with Parquet parts.
    """
    text = str(path)
    return text.endswith(os.sep) or Path(text).suffix == ""


class DatasetOrFile(click.Path):
    """The ``--out`` type of a command that can write a dataset: a dataset folder when
    :func:`is_dataset_output` says so, else a file, checked as every file ``--out``
    (``click.Path(dir_okay=False)``: an existing folder ``scores.csv`` is click's
    "is a directory", exit 2). A ``click.Path`` itself, so that what reads the options
    (shell completion, the help examples' test) sees a path."""

    def __init__(self, path_type: type | None = None) -> None:
        super().__init__(path_type=path_type)
        self.dataset = click.Path(path_type=path_type)
        self.file = click.Path(dir_okay=False, path_type=path_type)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The path, as ``click.Path`` converts it for a dataset or for a file."""
        kind = self.dataset if is_dataset_output(value) else self.file
        return kind.convert(value, param, ctx)


def check_dataset_output(
    path: str | Any, *, option: str = "--out", inputs: Mapping[str, Any] | None = None
) -> CheckedDatasetOut:
    """Refuse, before any work, a dataset ``--out`` that cannot be written or may not be
    replaced (exit 2): :func:`solver.core.atomic.check_writable` for a directory, then
    :func:`solver.engines.dataset.check_dataset_out` (an existing folder is replaced only
    when empty or an earlier dataset, and no input is in it). Returns the folder checked,
    for the engine's ``out`` (:class:`~solver.engines.dataset.CheckedDatasetOut`: not checked
    again there)."""
    from solver.core.atomic import check_writable
    from solver.engines.dataset import check_dataset_out

    check_writable(path, option=option, inputs=inputs or {}, directory=True)
    return check_dataset_out(path, option=option, inputs=inputs)
