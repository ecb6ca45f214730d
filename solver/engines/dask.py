"""The Dask engine: partitions processed on a Dask cluster, an existing one or one of its own.

:class:`DaskEngine` runs the tasks of :meth:`solver.engines.base.Engine.map_partitions` on
a cluster: an existing one (``address``), or a :class:`distributed.LocalCluster` sized to
the machine (one single-threaded worker process per core) started with
:data:`LOCAL_CLUSTER_CONFIG`; the workers of that cluster load this module as their Dask
preload (:func:`dask_setup`).

A task whose worker dies is rerun by Dask on another worker (up to
``distributed.scheduler.allowed-failures`` times); tasks are idempotent (a retried part
overwrites the same file), so the output is complete and unchanged. Nothing here retries
by hand, and ``retries=`` is not used: it reruns a task that *raised*, and the tasks'
exceptions (an :class:`~solver.errors.InputError`, a bug) would only raise again.

The Lagrangian dual of the allocation asks the engine for a pricing oracle
(:meth:`DaskEngine.pricing`): :class:`solver.allocation.pricing.DaskPricing`.

``dask`` and ``distributed`` are imported only when a :class:`DaskEngine` is created: a run
on the local engine does not pay for them (about a third of a second).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import multiprocessing
import multiprocessing.spawn
import os
import resource
import shlex
import signal
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

from solver.allocation.pricing import DaskPricing, PricingOracle, _worker_count
from solver.core import interrupts
from solver.core.atomic import atomic_open
from solver.engines.base import Engine, OrderedCall
from solver.engines.partitions import Partition
from solver.errors import InputError

__all__ = [
    "ADDRESS_SCHEMES",
    "CONNECT_TIMEOUT",
    "LOCAL_CLUSTER_CONFIG",
    "DaskEngine",
    "check_address",
    "dask_setup",
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

#: Seconds to wait for a Dask scheduler before giving up (exit 2); env WORKOUT_DASK_TIMEOUT.
CONNECT_TIMEOUT = 20.0


#: Schemes of a scheduler address: Dask's network transports. ``tcp`` is the one we document
#: (``--address tcp://HOST:PORT``); ``tls``/``ws``/``wss`` are passed on to Dask as they
#: are (their security settings come from the Dask configuration). Not among them:
#: ``inproc`` names a scheduler inside this very process, which a command has none of, and
#: Dask's built-in ``ucx`` is a stub since UCX moved to a plugin (it fails with a TypeError).
ADDRESS_SCHEMES = ("tcp", "tls", "ws", "wss")
#: Dask's default ports: the scheduler's, and the dashboard's (an http:// address).
SCHEDULER_PORT, DASHBOARD_PORT = 8786, 8787
_ADDRESS_FORM = f"tcp://HOST:PORT, e.g. tcp://127.0.0.1:{SCHEDULER_PORT}"


def check_address(address: str) -> str:
    """The scheduler ``address`` as Dask takes it, or :class:`InputError` naming ``--address``.

    Checked before a :class:`distributed.Client` is made, because Dask reports a malformed
    address as a ``ValueError`` from inside the client's start (session 24 review: exit 1
    with a traceback, and the half-made client then waited 40 s to close). The form is
    ``SCHEME://HOST:PORT`` with a scheme of :data:`ADDRESS_SCHEMES`, or ``HOST:PORT``
    (Dask's default scheme, ``tcp``); an IPv6 host is bracketed (``tcp://[::1]:8786``). An
    ``http(s)://`` address is the dashboard's: the message names the scheduler's port.
    """
    text = address.strip()
    scheme, sep, location = text.partition("://")
    scheme = scheme.lower() if sep else "tcp"
    location = location if sep else text
    head = f"--address {address}"
    if scheme in ("http", "https"):
        host = location.split("/", 1)[0].rpartition(":")[0] or location.split("/", 1)[0]
        raise InputError(
            f"{head}: that looks like the dashboard ({scheme}://, port {DASHBOARD_PORT} by "
            f"default); the scheduler listens on tcp://{host or 'HOST'}:{SCHEDULER_PORT}"
        )
    if scheme not in ADDRESS_SCHEMES:
        raise InputError(
            f"{head}: unknown scheme {scheme!r}: the scheduler's address is {_ADDRESS_FORM}"
            f" (Dask also takes {', '.join(s + '://' for s in ADDRESS_SCHEMES[1:])})"
        )
    host, colon, port = location.rpartition(":")
    if not colon:
        raise InputError(f"{head}: no port: the scheduler's address is {_ADDRESS_FORM}")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not bare or "/" in bare or (":" in bare and bare == host):
        shown = "no host" if not bare else f"host {host!r} is not a host name or address"
        ipv6 = (
            f" (an IPv6 host goes in brackets: tcp://[::1]:{SCHEDULER_PORT})" if ":" in bare else ""
        )
        raise InputError(f"{head}: {shown}{ipv6}: the scheduler's address is {_ADDRESS_FORM}")
    if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise InputError(
            f"{head}: port {port!r} is not a port number (1-65535): the scheduler's address"
            f" is {_ADDRESS_FORM}"
        )
    return text


def _connect(address: str, timeout: float) -> Any:
    """A :class:`distributed.Client` of the scheduler at ``address``, or InputError (exit 2).

    The client is made in two steps (``__new__``, then ``__init__``) so that one whose start
    raised can be closed here, at once: Dask closes it itself only after an ``OSError``, and
    a client left to the garbage collector blocks its ``__del__`` for twice the timeout and
    prints a traceback (session 24 review).
    """
    from distributed import Client

    client = Client.__new__(Client)
    try:
        Client.__init__(client, address, timeout=f"{timeout}s", set_as_default=False)
    except BaseException as exc:
        with interrupts.shield(), contextlib.suppress(Exception):
            client.close(timeout=timeout)
        if isinstance(exc, OSError | TimeoutError):
            raise InputError(
                f"--address {address}: cannot reach the Dask scheduler within {timeout:g} s"
                f" ({type(exc).__name__}: {exc}); check the address and that the scheduler"
                " is running"
            ) from None
        # a form Dask refuses (ValueError), or a transport it cannot set up: TLS without a
        # certificate in the Dask configuration is a TypeError ("TLS expects a ssl_context")
        if isinstance(exc, ValueError | TypeError | ImportError):
            raise InputError(
                f"--address {address}: Dask cannot use this address ({type(exc).__name__}:"
                f" {exc}); the scheduler's address is {_ADDRESS_FORM}"
            ) from None
        raise
    return client


def dask_setup(worker: Any) -> None:
    """Dask preload hook of the local cluster's workers: ignore SIGINT (see DaskEngine)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold back a SIGINT that arrives while the local cluster starts; deliver it after.

    Ctrl-C reaches the whole process group, so the processes started now (the nannies'
    workers, multiprocessing's resource tracker) must ignore SIGINT from their first
    instruction, or they print KeyboardInterrupt tracebacks. They are spawned through a
    small ``sh`` wrapper that sets SIGINT to "ignore" and execs this Python (an ignored
    signal stays ignored across ``exec``, and Python then installs no handler of its
    own). This process meanwhile records a SIGINT instead of acting on it inside the
    cluster's start (where an exception would leave half-started processes), and raises
    it again through the previous handler once the start has returned, so a Ctrl-C in
    these seconds stops the run instead of being lost (session 7's known weakness, when
    this process itself ignored SIGINT during the start). Workers a nanny restarts later
    set SIG_IGN in the ``dask_setup`` preload.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    # blocked too in this thread, so the threads the start creates (the cluster's event
    # loop, which forks the workers) and the processes they fork start with SIGINT blocked:
    # a Ctrl-C between the fork and the wrapper's ``trap`` stays pending, and the trap's
    # "ignore" then discards it (CI, session 8: an unblocked ``sh`` died of it, "Nanny
    # failed to start")
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    executable = multiprocessing.spawn.get_executable()
    with tempfile.TemporaryDirectory(prefix="workout-spawn-") as tmp:
        wrapper = Path(tmp) / "python"
        script = f"#!/bin/sh\ntrap '' INT\nexec {shlex.quote(os.fsdecode(executable))} \"$@\"\n"
        with atomic_open(wrapper, "w") as handle:  # the project's one way to write a file
            handle.write(script)
        wrapper.chmod(0o700)
        multiprocessing.set_executable(str(wrapper))
        failure: Exception | None = None
        try:
            yield
        except Exception as exc:
            # a start that failed after a Ctrl-C failed because of it: a process the start
            # was creating, forked by a thread that existed before this block (SIGINT not
            # blocked there), died of the signal, and the nanny reports "Nanny failed to
            # start" (CI, session 9). The user's interrupt is what happened: it is raised
            # below (exit 130) instead of the start's error (an internal error, exit 1).
            if not pending:
                raise
            failure = exc
        finally:
            multiprocessing.set_executable(os.fsdecode(executable))
            signal.signal(signal.SIGINT, previous)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a pending one arrives here
    if pending:
        signal.raise_signal(signal.SIGINT)
    if failure is not None:  # the previous handler did not raise: the start's error stands
        raise failure


def _quiet_resource_tracker() -> None:
    """An interrupted run ends at once (``cli.main``), before the semaphores of a starting
    cluster are released; multiprocessing's resource tracker releases them and would warn
    about "leaked semaphore objects" on the run's stderr. Its process takes the warning
    filters from ``sys.warnoptions`` when it starts (with the cluster's first worker)."""
    option = "ignore::UserWarning:multiprocessing.resource_tracker"
    if option not in sys.warnoptions:
        sys.warnoptions.append(option)


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
        When ``address`` is malformed (:func:`check_address`) or its scheduler cannot be
        reached within ``timeout`` (exit 2).
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
        if timeout is None:
            timeout = float(os.environ.get("WORKOUT_DASK_TIMEOUT", CONNECT_TIMEOUT))
        self.address = address
        self.partitions = partitions
        self._cluster: Any = None
        self._own_client = client is None
        if client is not None:
            self.client = client
            return
        if address:
            self.client = _connect(check_address(address), timeout)
            return
        workers = int(n_workers or os.cpu_count() or 1)
        try:
            self._start_local_cluster(workers, memory_limit, timeout)
        except BaseException:
            # interrupted (or failed) while the cluster starts: stop what has started
            self.close()
            with interrupts.shield():
                for child in multiprocessing.active_children():
                    child.kill()
            raise

    def _start_local_cluster(self, workers: int, memory_limit: str | int, timeout: float) -> None:
        # start-up time: Dask is imported only for a Dask run (see the module docstring)
        import dask
        from distributed import Client, LocalCluster

        _quiet_resource_tracker()
        # Ctrl-C reaches the whole process group: the client stops the run cleanly and
        # closes the cluster, so the worker processes ignore SIGINT (they would otherwise
        # print KeyboardInterrupt tracebacks): see ``_sigint_deferred``.
        # ``:0``: the scheduler's HTTP server takes a free port (no "8787 in use" warning
        # when two runs share a machine).
        with _sigint_deferred(), dask.config.set(LOCAL_CLUSTER_CONFIG):
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
        from distributed import as_completed  # imported with the engine (module docstring)

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

    def _ordered(
        self, call: OrderedCall, items: Sequence[Any], window: int | None
    ) -> Generator[Any, None, None]:
        """``shared`` is sent to every worker once; at most ``window`` tasks (default four
        per worker) are in flight, so results wait on the client only briefly."""
        func, args, shared = call
        shared_future = (
            self.client.scatter(shared, broadcast=True, hash=False) if shared is not None else None
        )
        window = window or 4 * self.workers
        pending: list[Any] = []
        try:
            for item in items:
                pending.append(self.client.submit(func, shared_future, item, *args, pure=False))
                if len(pending) >= window:
                    yield pending.pop(0).result()
            while pending:
                yield pending.pop(0).result()
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
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)
