"""Atomic file output: every writer goes through :func:`atomic_path` (SPEC §11).

A failed or interrupted run leaves no partial file: data is written to a temporary file
in the destination directory (``.NAME.XXXXXXXXXXXX.tmp.SUFFIX``), fsync'ed, then renamed over
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
import secrets
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from solver.core import interrupts
from solver.errors import InputError

__all__ = ["atomic_open", "atomic_path", "check_writable"]


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


#: Random bytes in a temporary file's name (as :func:`tempfile.mkstemp`, about 2**48 names).
_NAME_BYTES = 6


def _create_temporary(dest: Path) -> Path:
    """Create the empty temporary file for ``dest`` (``.NAME.XXXXXXXXXXXX.tmp.SUFFIX``).

    The name is tracked (:func:`solver.core.interrupts.track`) *before* the file exists:
    with :func:`tempfile.mkstemp` an interruption between the creation and the tracking
    (the handler runs between any two bytecodes) left the file behind, untracked and with
    no name for the caller to remove.
    """
    while True:
        tmp = dest.parent / f".{dest.name}.{secrets.token_hex(_NAME_BYTES)}.tmp{dest.suffix}"
        interrupts.track(tmp)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:  # another run's file: not ours to track or remove
            interrupts.untrack(tmp)
            continue
        except BaseException:  # also an interruption just after the creation
            with contextlib.suppress(OSError):
                tmp.unlink()
            interrupts.untrack(tmp)
            raise
        return tmp


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
        tmp = _create_temporary(dest)
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # the temporary file is created 0600; give the output the ordinary permissions (umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, dest)
        interrupts.untrack(tmp)
        tmp = None
        _fsync_directory(dest.parent)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            interrupts.untrack(tmp)
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


PathLike = str | os.PathLike[str]


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (symlinks and hard links included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return a.resolve() == b.resolve()


def _nearest_existing(path: Path) -> Path:
    current = path
    while not current.exists() and current.parent != current:
        current = current.parent
    return current


def _can_create_in(directory: Path) -> str | None:
    """Why no file can be created in ``directory`` (``None``: it can)."""
    if not os.access(directory, os.W_OK | os.X_OK):
        return "permission denied"
    # The real test: os.access says yes for root on a read-only file system. The name is
    # chosen before the file is created, so an interruption just after the creation still
    # removes it (the ``finally``); a name taken by another file is not ours to remove.
    while True:
        name = directory / f".workout-probe.{secrets.token_hex(_NAME_BYTES)}"
        ours = True
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            return None
        except FileExistsError:
            ours = False
        except OSError as exc:
            return exc.strerror or str(exc)
        finally:
            if ours:
                with contextlib.suppress(OSError):
                    os.unlink(name)


def check_writable(
    path: PathLike,
    *,
    option: str = "--out",
    inputs: Mapping[str, PathLike | None] | Iterable[PathLike | None] = (),
    outputs: Mapping[str, PathLike | None] | None = None,
    directory: bool = False,
) -> Path:
    """Refuse, before any work, an output that could not be written (exit 2).

    Commands call this right after parsing, so that a run which cannot save its result
    fails at once with a message naming the path, instead of after all the work with an
    internal error (issue 15). It checks that the output

    * is not one of the command's ``inputs`` (``plan-portfolio book.csv --out book.csv``
      would replace the book by the plans), symlinks and hard links included;
    * is a file where a file is expected and a directory where ``directory`` is set;
    * has a parent that is a directory (or can be created: no part of it is a file) in
      which this process can create files (a probe file is created and removed).

    Parameters
    ----------
    path
        The output file (or directory with ``directory=True``).
    option
        How the user gave it, for messages (``--out``, ``--out-dir``, ``--png``).
    inputs
        The files the command reads: a mapping label -> path (``{"PORTFOLIO": path}``)
        or plain paths; ``None`` entries are skipped.
    outputs
        The command's other outputs checked already (label -> path): two outputs may
        not be one file either (``--out m.toml --behaviour-out m.toml``).
    directory
        The output is a directory (``--out-dir``, a partitioned Parquet dataset).

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    InputError
        Naming the option, the path and what is wrong.
    """
    dest = Path(path)
    where = f"{option} {dest}"
    if not str(path).strip():
        raise InputError(f"{option}: empty path")
    labelled = (
        list(inputs.items())
        if isinstance(inputs, Mapping)
        else [(str(p), p) for p in inputs if p is not None]
    )
    for label, source in labelled:
        if source is None:
            continue
        source = Path(source)
        if source.exists() and _same_file(dest, source):
            shown = label if label == str(source) else f"{label} ({source})"
            raise InputError(
                f"{where}: this is also the input {shown}; write the output to another "
                f"{'directory' if directory else 'file'} (nothing was written)"
            )
    for label, other in (outputs or {}).items():
        if other is not None and _same_file(dest, Path(other)):
            raise InputError(f"{where}: the same file as {label} {other}; give two names")
    if dest.exists():
        if directory and not dest.is_dir():
            raise InputError(f"{where}: exists and is a file, not a directory")
        if not directory and dest.is_dir():
            raise InputError(f"{where}: is a directory; give a file name")
    start = dest if directory else dest.parent
    existing = _nearest_existing(start if str(start) else Path("."))
    if not existing.is_dir():
        raise InputError(f"{where}: cannot create {start}: {existing} is a file, not a directory")
    problem = _can_create_in(existing)
    if problem is not None:
        raise InputError(f"{where}: cannot write in directory {existing} ({problem})")
    return dest
