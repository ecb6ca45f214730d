"""The Parquet dataset an engine writes: its parts, their staging and the replaced ``out``.

With ``out``, :meth:`~solver.engines.base.Engine.map_partitions` has the workers write a
partitioned Parquet dataset (one ``part-NNNNN.parquet`` per partition, each written
atomically through :mod:`solver.core.atomic`). The parts go to a hidden staging directory
next to ``out`` (:func:`_new_staging`) that replaces ``out`` only when every partition has
succeeded (:func:`_publish`), so a failed run leaves no partial output. With a
multi-machine cluster ``out`` must be on a filesystem every worker can write to.

A run may replace only a folder that is absent, empty or an earlier dataset of this tool
(:func:`check_dataset_out`, :class:`CheckedDatasetOut`), checked before any work and again
just before the replacement.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from solver.core import interrupts
from solver.core.atomic import atomic_path, staging_directory
from solver.engines.partitions import cast_columns
from solver.errors import InputError

__all__ = ["CheckedDatasetOut", "check_dataset_out"]


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
    :class:`~solver.allocation.plans_table.CheckedPlans`): a type, not a ``checked=True``
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
