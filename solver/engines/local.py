"""The local engine: partitions in this process, or in a pool of forked worker processes.

:class:`LocalEngine` runs the tasks of :meth:`solver.engines.base.Engine.map_partitions`
in this process (``jobs=1``) or in a :class:`LocalPool` of ``jobs`` worker processes.
:class:`LocalPool` is the project's process pool (also used by
:func:`solver.plans.portfolio.plan_portfolio`): every worker has its own pipe, ignores
SIGINT, dies with its parent, and is killed at once when the run is interrupted or fails;
a worker that dies of anything else raises :class:`WorkerDied` (issue 15).
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import wait
from typing import Any

from solver.allocation.pricing import LocalPricing, PricingOracle
from solver.core import interrupts
from solver.engines.base import Engine
from solver.engines.heap import keep_heap
from solver.engines.partitions import Partition
from solver.errors import InputError

__all__ = ["POOL_STOP_SECONDS", "LocalEngine", "LocalPool", "WorkerDied"]

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
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    _die_with_parent(parent)
    keep_heap()  # freed arrays reused, not returned to the system and faulted in again
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
