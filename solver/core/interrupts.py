"""What stopping a run at any moment needs to know (issue 15, ``docs/reliability.md``).

A signal becomes an exception in the main thread (``commands.common.handle_signals``).
Python can lose that exception: a C extension's import or a library's ``except`` may
clear it, and the run then goes on to its end. The CLI therefore raises it again until
the run has ended, and as a last resort stops the process itself. Two facts decide
what that may do, and both live here so that the library code that owns them (atomic
writers, engines) does not depend on the CLI:

* :func:`shield` marks clean-up that must not be interrupted again (closing a Dask
  cluster, stopping local workers): no new raise and no hard stop while it runs;
* :func:`track` / :func:`untrack` keep the temporary files (and staging directories) being
  written, so that a hard stop (or an interruption that skipped a writer's own clean-up)
  removes them and no partial output is left. A staging directory that other processes
  write into (an engine's dataset parts, :mod:`solver.engines.dataset`) is tracked as a
  ``tree``: removed with everything in it, since what the workers put there (their parts
  and their own temporary files) is tracked in their processes, not in this one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator

__all__ = ["remove_temporary", "shield", "shielded", "track", "untrack"]

_lock = threading.Lock()
_depth = 0
_temporary: set[str] = set()
#: Tracked directories removed whole (:func:`track` with ``tree``).
_trees: set[str] = set()


@contextlib.contextmanager
def shield() -> Iterator[None]:
    """A clean-up block that a repeated interruption must let finish."""
    global _depth
    with _lock:
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1


def shielded() -> bool:
    """Whether a :func:`shield` block is running."""
    return _depth > 0


def track(path: str | os.PathLike[str], *, tree: bool = False) -> None:
    """Record a temporary file that must not outlive an interrupted run.

    With ``tree``, ``path`` is a directory made for this run alone (a fresh random name,
    :func:`solver.core.atomic.staging_directory`): removed with everything in it. Without,
    a directory is removed only when empty (what is in it is tracked one by one).
    """
    with _lock:
        (_trees if tree else _temporary).add(os.fspath(path))


def untrack(path: str | os.PathLike[str]) -> None:
    """The temporary file (or tree) was renamed into place or removed."""
    with _lock:
        _temporary.discard(os.fspath(path))
        _trees.discard(os.fspath(path))


def remove_temporary() -> None:
    """Remove every tracked temporary file and (emptied) staging directory, and every
    tracked tree with what it holds (after an interruption)."""
    with _lock:
        paths = list(_temporary)
        trees = list(_trees)
        _temporary.clear()
        _trees.clear()
    for path in sorted(paths, key=len, reverse=True):  # a directory's files before it
        with contextlib.suppress(OSError):
            if os.path.isdir(path) and not os.path.islink(path):
                os.rmdir(path)  # solver.core.atomic.atomic_paths stages outputs in one
            else:
                os.unlink(path)
    for path in trees:
        if os.path.islink(path):  # not ours (ours are directories): its target is left alone
            continue
        shutil.rmtree(path, ignore_errors=True)
