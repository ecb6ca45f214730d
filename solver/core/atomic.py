"""Atomic file output: every writer goes through :func:`atomic_path` (SPEC §11).

A failed or interrupted run leaves no partial file: data is written to a temporary file
in the destination directory (``.NAME.XXXXXXXXXXXX.tmp.SUFFIX``), fsync'ed, then renamed over
the destination with :func:`os.replace` (atomic on POSIX and Windows within one file
system), and the directory entry is fsync'ed. On any exception — including
``KeyboardInterrupt`` and the :class:`commands.common.Interrupted` raised for SIGINT or
SIGTERM — the temporary file is removed, the destination keeps its previous content (or
stays absent), and directories created for it are removed again if still empty.

Outputs that belong together (a book and its payment history) are written in one
:func:`atomic_paths` block: all replaced, or none.

Tested in ``tests/test_atomic.py`` (unit tests, a static check that every writer in the
code base goes through this module, and signal tests on real processes) and
``tests/test_s21_atomic.py`` (names tracked before creation, :func:`atomic_paths`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from solver.core import interrupts
from solver.errors import InputError

__all__ = [
    "atomic_open",
    "atomic_path",
    "atomic_paths",
    "check_writable",
    "remove_staging",
    "staging_directory",
]


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


def _new_file(path: Path) -> None:
    """Create ``path`` as a new empty file (:exc:`FileExistsError` if the name is taken)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _new_directory(path: Path) -> None:
    """Create ``path`` as a new directory only this user can enter (exclusive like a file)."""
    os.mkdir(path, 0o700)


def _create_exclusive(
    directory: Path, pattern: str, create: Callable[[Path], None] = _new_file, *, tree: bool = False
) -> Path:
    """Create a new file (or directory) under a fresh random name in ``directory``.

    ``pattern`` is the name with ``{}`` where the random part goes; ``create`` makes the
    entry and raises :exc:`FileExistsError` when the name is taken (another run's file:
    not ours to track or remove, so another name is drawn). The one loop behind the
    temporary files of :func:`atomic_path`, the staging directories of
    :func:`atomic_paths` and :func:`staging_directory` and the probe of
    :func:`check_writable`. ``tree``: tracked as a directory removed whole
    (:func:`solver.core.interrupts.track`).

    The name is tracked (:func:`solver.core.interrupts.track`) *before* the entry exists:
    with :func:`tempfile.mkstemp` an interruption between the creation and the tracking
    (the handler runs between any two bytecodes) left the file behind, untracked and with
    no name for the caller to remove. On any other exception, an interruption just after
    the creation included, the entry is removed and untracked. The caller owns the
    returned path, still tracked: it untracks it once renamed or removed (:func:`_discard`).
    """
    while True:
        path = directory / pattern.format(secrets.token_hex(_NAME_BYTES))
        interrupts.track(path, tree=tree)
        try:
            create(path)
        except FileExistsError:
            interrupts.untrack(path)
            continue
        except BaseException:
            _discard(path)
            raise
        return path


def _discard(path: Path) -> None:
    """Remove a temporary entry of ours (file, or directory with what is in it), untrack it."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()
    interrupts.untrack(path)


def staging_directory(directory: Path, pattern: str) -> Path:
    """Create a new hidden directory in ``directory`` (``pattern``: its name with ``{}``
    where the random part goes) for outputs that other processes write too.

    An engine's dataset parts are staged in one (:mod:`solver.engines.dataset`): the workers'
    files there are tracked in their own processes, so the directory is tracked as a tree
    before it exists and an interruption (a hard stop included) removes it with all it
    holds. The caller owns it: :func:`remove_staging` when the run fails, or
    :func:`solver.core.interrupts.untrack` once it is renamed into place.
    """
    directory.mkdir(parents=True, exist_ok=True)
    return _create_exclusive(directory, pattern, _new_directory, tree=True)


def remove_staging(path: Path) -> None:
    """Remove a directory made by :func:`staging_directory`, with its content; untrack it."""
    _discard(path)


def _create_temporary(dest: Path) -> Path:
    """Create the empty temporary file for ``dest`` (``.NAME.XXXXXXXXXXXX.tmp.SUFFIX``)."""
    return _create_exclusive(dest.parent, f".{dest.name}.{{}}.tmp{dest.suffix}")


def _remove_created(created: Iterable[Path]) -> None:
    """Remove the directories made for outputs again if nothing else was put there."""
    for directory in sorted(created, key=lambda d: len(d.parts), reverse=True):  # deepest first
        with contextlib.suppress(OSError):
            directory.rmdir()


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
            _discard(tmp)
        _remove_created(created)
        raise


@contextlib.contextmanager
def atomic_paths(*paths: str | os.PathLike[str]) -> Iterator[list[Path]]:
    """Write several outputs that belong together: all of them replaced, or none.

    Yields, for each of ``paths``, a path with the output's own name inside a new hidden
    directory next to it (``.NAME.XXXXXXXXXXXX.tmp/NAME``: a writer that records the file
    name, such as an .xlsx title, sees the real one). The caller writes every one of them
    with :func:`atomic_path` / :func:`atomic_open` or a writer built on them (e.g.
    :func:`solver.core.writers.write_table`; ``tests/test_atomic.py`` holds every writer
    to that), which fsyncs it. When the block completes they are moved over
    their destinations; on an exception in the block (an interruption included) none of
    the destinations changes and the staging directories are removed.

    Decision (session 21): the end of the block is the commit point. An interruption that
    lands while the files are moved into place does not stop the moves (it would leave one
    output new and the other old, e.g. a book without its history): they are finished, then
    the interruption is raised, so the run is reported interrupted with every output whole
    and new. Only a failing rename (the file system failing under the run; each one stays
    in one directory) can leave the outputs moved before it new and the rest old.

    Raises
    ------
    FileNotFoundError
        The block did not write one of the outputs (nothing is replaced).
    ValueError
        One output given twice (its staged files would replace each other).
    """
    dests = [Path(p) for p in paths]
    if len({os.path.abspath(d) for d in dests}) != len(dests):
        raise ValueError(f"atomic_paths: an output given twice in {[str(d) for d in dests]}")
    created: list[Path] = []
    stages: list[Path] = []
    staged: list[Path] = []
    try:
        for dest in dests:
            created += _make_parents(dest.parent)
            stage = _create_exclusive(dest.parent, f".{dest.name}.{{}}.tmp", _new_directory)
            stages.append(stage)
            interrupts.track(stage / dest.name)  # the caller creates it: a hard stop removes it
            staged.append(stage / dest.name)
        yield list(staged)
        for path, dest in zip(staged, dests, strict=True):  # fsync'ed by their atomic_path
            if not path.is_file():
                raise FileNotFoundError(f"{dest}: not written in its atomic_paths block")
        _move_all(list(zip(staged, dests, strict=True)))
    except BaseException:
        for stage in stages:
            _discard(stage)
        _remove_created(created)
        raise
    finally:
        for path in staged:
            interrupts.untrack(path)
    for stage in stages:
        _discard(stage)  # empty now


def _move_all(moves: list[tuple[Path, Path]]) -> None:
    """Rename every staged file over its destination; an interruption waits for the last."""
    with interrupts.shield():  # the CLI raises no repeated interruption in here
        try:
            for source, dest in moves:
                os.replace(source, dest)
        except KeyboardInterrupt:
            # it landed before or after one of the renames: the staged files still there
            # are the ones not moved yet
            for source, dest in moves:
                if os.path.lexists(source):
                    os.replace(source, dest)
            raise
        finally:
            for directory in dict.fromkeys(dest.parent for _, dest in moves):
                _fsync_directory(directory)


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
    # The real test: os.access says yes for root on a read-only file system. The probe is
    # tracked before it exists, so even a hard stop right after its creation removes it.
    probe: Path | None = None
    try:
        probe = _create_exclusive(directory, ".workout-probe.{}")
    except OSError as exc:
        return exc.strerror or str(exc)
    finally:
        if probe is not None:
            _discard(probe)
    return None


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
