"""Atomic file output: every writer goes through :func:`atomic_path` (SPEC §11).

A failed or interrupted run leaves no partial file: data is written to a temporary file
in the destination directory (``.NAME.XXXXXXXX.tmp.SUFFIX``), fsync'ed, then renamed over
the destination with :func:`os.replace` (atomic on POSIX and Windows within one file
system), and the directory entry is fsync'ed. On any exception — including
``KeyboardInterrupt`` and the :class:`commands.common.Interrupted` raised for SIGINT or
SIGTERM — the temporary file is removed, the destination keeps its previous content (or
stays absent), and directories created for it are removed again if still empty.

Tested in ``tests/test_atomic.py`` (unit tests, a static check that every writer in the
code base goes through this module, and signal tests on real processes).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_open", "atomic_path"]


def _make_parents(directory: Path) -> list[Path]:
    """Create ``directory`` (and missing parents); return the ones created, deepest first."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    directory.mkdir(parents=True, exist_ok=True)
    return missing


def _fsync_directory(directory: Path) -> None:
    """Persist a rename (POSIX); a no-op where directories cannot be opened."""
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it to ``path``.

    The caller writes the whole file to the yielded path (any library that takes a
    path works: pandas, openpyxl, matplotlib). On an exception the temporary file is
    removed, ``path`` is left untouched, and directories created for it are removed if
    they are still empty.
    """
    dest = Path(path)
    created = _make_parents(dest.parent)
    tmp: Path | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{dest.name}.", suffix=".tmp" + dest.suffix, dir=dest.parent
        )
        os.close(fd)
        tmp = Path(tmp_name)
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp creates 0600 files; give the output the ordinary permissions (umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, dest)
        tmp = None
        _fsync_directory(dest.parent)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        for directory in created:  # deepest first; only if nothing else was put there
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kwargs) -> Iterator:
    """Open a file for writing atomically (text or binary ``mode``)."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh
        fh.flush()
