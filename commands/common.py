"""Shared CLI plumbing: error-to-exit-code mapping, signals, the console (the shared
options are in :mod:`commands.options`, the sizes refused up front in :mod:`commands.sizes`).

Exit codes (SPEC §11, docs/reliability.md): 0 success, 1 unexpected internal error (a
bug), 2 bad input or usage, 3 infeasible, 4 time limit without a feasible solution,
130 interrupted by SIGINT (Ctrl-C), 143 terminated by SIGTERM. User errors and
interruptions print one clear line on stderr and never a Python traceback.

SIGINT and SIGTERM take the same clean path: the signal becomes an
:class:`Interrupted` exception (a ``KeyboardInterrupt``) in the main thread, so every
``with atomic_path(...)`` block being written removes its temporary file and no partial
output is left; local worker processes (``--jobs``) are stopped first, silently. A signal
that arrives after the run has ended, while the handlers are still installed, ends it as
interrupted too (:attr:`Received.late`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any

import click

from solver.core import interrupts
from solver.errors import WorkoutError

#: Environment variable that lets messages show personal values (set by ``--verbose``).
VERBOSE_ENV = "WORKOUT_VERBOSE"
#: Environment variable that re-raises internal errors with their traceback.
DEBUG_ENV = "WORKOUT_DEBUG"

#: How every error the CLI prints starts (SPEC §11). Decision (session 19 review): click
#: prints its own usage errors (a missing option, a bad --as-of) as ``Error: ...`` and
#: cannot be told otherwise without re-implementing its messages; ours said ``error:``,
#: so one run could print both. Every user error now takes click's ``Error:``
#: (:func:`echo_error`); warnings and notes stay ``warning:`` / ``note:``.
ERROR_PREFIX = "Error: "

_SIGNAL_NAMES: dict[int, str] = {int(signal.SIGINT): "SIGINT", int(signal.SIGTERM): "SIGTERM"}
#: Seconds between raising an interruption again while the run has not ended (it was lost).
RAISE_AGAIN_SECONDS = 0.25
#: Seconds after the signal when a run that still has not ended is stopped by force.
HARD_STOP_SECONDS = 1.5
#: Seconds between the watcher's looks: how soon an interruption that one of our hooks
#: caught is raised again (after the main thread has left the hook).
RETRY_SECONDS = 0.005


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal (SIGINT or SIGTERM); exit code ``128 + signum``."""

    def __init__(self, signum: int):
        self.signum = int(signum)
        super().__init__(_SIGNAL_NAMES.get(self.signum, f"signal {self.signum}"))

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def run_cli(group: click.Group, argv: Sequence[str] | None = None) -> int:
    """Run the click group; map errors to exit codes without tracebacks for user errors.

    Exit codes (SPEC §11): 0 success, 2 bad input/usage, 3 infeasible, 4 time limit with
    no feasible solution, 1 unexpected internal error, 130 SIGINT, 143 SIGTERM.

    A leading ``--verbose`` (``workout --verbose plan ...``) is accepted even when the
    group does not declare it: it lets error messages show the values of personal fields
    (income, expenses, other_debt, credit_score), which are withheld otherwise.
    """
    import warnings

    args = list(argv) if argv is not None else sys.argv[1:]
    verbose = False
    if args and args[0] == "--verbose" and not any(p.name == "verbose" for p in group.params):
        args = args[1:]
        verbose = True
    previous_showwarning = warnings.showwarning
    # Input warnings (e.g. extra columns dropped) read as one line, not Python's warning format.
    warnings.showwarning = _show_warning
    try:
        with _verbose(verbose), handle_signals() as received:
            code = _run(group, args, received)
    finally:
        warnings.showwarning = previous_showwarning
    return _counting_late_signal(received, code)


class Received(list):
    """The :class:`Interrupted` raised by :func:`handle_signals`; ``settled`` once the run
    has ended (an interruption is then reported, never raised again). ``lock`` orders
    settling against the last-resort stop, so the line is printed once.

    ``late`` is the first signal that arrived after a run that was not interrupted had
    settled, while the handlers were still installed. Decision (session 21): it ends the
    run as interrupted too (128 + N and the one line, printed after the run's own report),
    as a signal a few bytecodes earlier does (:func:`_invoke`) and as one just after the
    handlers are restored does in the program (``cli._interrupted_at_start``); before,
    it was dropped and the run exited 0. The run's outputs are then complete (every
    ``atomic_path`` block had ended), so "no partial output written" holds; the exit code
    says the signal was received. It is not raised (the main thread is only reporting)
    and it starts no watcher: there is nothing left to stop.
    """

    settled = False
    late: Interrupted | None = None

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()


def _counting_late_signal(received: Received, code: int) -> int:
    """``code``, or 128 + N with the one line when a signal came after the run settled
    (:attr:`Received.late`)."""
    late = received.late
    if late is None or received:
        return code
    click.echo(f"interrupted by {late} (no partial output written)", err=True)
    return late.exit_code


def _invoke(group: click.Group, args: list[str], received: Sequence[Interrupted]) -> Any:
    """``group.main``; a run that received a signal ends as interrupted whatever happened next.

    The handler raises :class:`Interrupted` only inside :func:`_call_command`, and Python
    drops an exception raised inside an at-fork hook, a ``__del__`` or a weakref callback
    ("Exception ignored in ...", issue 15: the run then went on, its workers already
    stopped, and ended in an internal error or an exit without the line). The signal is
    recorded before the raise, so the run still ends with the one line and 128 + N.
    """
    try:
        rv = _call_command(group, args, received)
    except BaseException:
        _settle(received)
        if received:
            raise received[0] from None
        raise
    _settle(received)
    if received:
        raise received[0]
    return rv


def _call_command(group: click.Group, args: list[str], received: Sequence[Interrupted]) -> Any:
    """Run the command: the one frame inside which the signal handler raises.

    Outside it (the CLI's own code before the command starts and after it has ended,
    including the lines that report the interruption) a signal is only recorded, and
    :func:`_invoke` reports it: a raise there would escape the reporting and end the
    program in a bare traceback. A signal recorded before the command started stops it here.
    """
    if received:
        raise received[0]
    return group.main(args=args, prog_name="workout", standalone_mode=False)


def _settle(received: Sequence[Interrupted]) -> None:
    if isinstance(received, Received):
        with received.lock:
            received.settled = True
    if received:  # a writer's own clean-up may have been skipped by a repeated raise
        interrupts.remove_temporary()


def _run(group: click.Group, args: list[str], received: Sequence[Interrupted] = ()) -> int:
    try:
        # Commands may return an int exit code (e.g. `validate` returns 2 on bad input).
        rv = _invoke(group, args, received)
    except WorkoutError as exc:
        echo_error(str(exc))
        if "<withheld>" in str(exc):
            click.echo(
                "note: values of personal fields are withheld; run `workout --verbose ...` "
                "to show them",
                err=True,
            )
        return exc.exit_code
    except Interrupted as exc:
        click.echo(f"interrupted by {exc} (no partial output written)", err=True)
        return exc.exit_code
    except click.exceptions.Abort as exc:
        # click turns a KeyboardInterrupt inside a command into Abort (cause kept)
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, Interrupted):
            click.echo(f"interrupted by {cause} (no partial output written)", err=True)
            return cause.exit_code
        click.echo("interrupted by SIGINT (no partial output written)", err=True)
        return 130
    except click.ClickException as exc:  # usage errors, bad options, missing files
        exc.show()
        return 2
    except click.exceptions.Exit as exc:  # --help, --version
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted by SIGINT (no partial output written)", err=True)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except MemoryError:
        echo_error(
            "out of memory; the input is too large for this machine "
            "(see docs/reliability.md, limits)"
        )
        return 1
    except Exception:  # an internal error: show the traceback only on request
        if os.environ.get(DEBUG_ENV):
            raise
        import traceback

        click.echo(f"internal error (this is a bug; set {DEBUG_ENV}=1 for details):", err=True)
        click.echo(traceback.format_exc().strip().splitlines()[-1], err=True)
        return 1
    return rv if isinstance(rv, int) else 0


def echo_error(message: str) -> None:
    """Print an error on stderr as every error of the CLI reads: ``Error: message``."""
    click.echo(f"{ERROR_PREFIX}{message}", err=True)


@contextlib.contextmanager
def _verbose(enabled: bool) -> Iterator[None]:
    """Set ``WORKOUT_VERBOSE=1`` for the run (inherited by worker processes)."""
    if not enabled:
        yield
        return
    previous = os.environ.get(VERBOSE_ENV)
    os.environ[VERBOSE_ENV] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(VERBOSE_ENV, None)
        else:
            os.environ[VERBOSE_ENV] = previous


def verbose() -> bool:
    """Whether personal values may appear in messages (``--verbose`` / ``WORKOUT_VERBOSE``)."""
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


class _Pending:
    """What the signal handler and the watcher tell each other, as plain attributes: the
    handler runs between any two bytecodes of the main thread, so it must not wait for a
    lock the main thread may hold (a ``threading.Event``'s, say)."""

    again = False  # the watcher asked for this raise (not a signal from outside)
    soon = False  # a hook of ours caught the interruption: raise it again at once


def _where(frame: FrameType | None, hooks: frozenset[Any]) -> str:
    """Where the main thread is: ``"hook"`` (in one of ``hooks``, the code objects of our
    exception hooks), ``"command"`` (inside :func:`_call_command`) or ``"outside"``."""
    while frame is not None:
        if frame.f_code in hooks:
            return "hook"
        if frame.f_code is _call_command.__code__:
            return "command"
        frame = frame.f_back
    return "outside"


@contextlib.contextmanager
def handle_signals() -> Iterator[Received]:
    """Turn SIGINT and SIGTERM into :class:`Interrupted` in the main thread for the block.

    Yields the list of the :class:`Interrupted` raised (recorded before the raise, so the
    caller sees the signal whatever happened next, see :func:`_invoke`). The handler raises
    only while the command runs (:func:`_call_command`); outside it the CLI reports the
    recorded signal itself. Where Python drops the exception (an at-fork hook, a
    ``__del__``, a weakref callback: "Exception ignored in ...") or C code prints it and
    goes on (``PyErr_Print``: a bare ``Traceback`` of the handler alone, the session 19 CI
    flake) the exception reaches our ``sys.unraisablehook`` / ``sys.excepthook``, which
    print nothing and have it raised again at once, so the run still stops (issue 15: a
    dropped interruption let a run go on for minutes, or end in an internal error). A
    signal that lands inside those hooks is not raised there (Python would print "Exception
    ignored in sys.unraisablehook" and the traceback) but a few milliseconds later.

    Forked processes that still run the handler (a pool's own workers ignore SIGINT,
    :class:`solver.engines.local.LocalPool`) stop silently with the default action: the
    parent reports the interruption once. In the parent it first stops the local workers,
    so nothing waits for queued work; a second signal during the clean-up ends the process
    at once. The previous handlers and hooks are restored afterwards (the CLI also runs
    in-process in tests).
    """
    import _thread

    received = Received()
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    main_pid = os.getpid()
    pending = _Pending()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != main_pid:  # a forked process: die quietly, the parent reports
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if received.settled:  # the run has ended and is being reported
            if not received and received.late is None:  # see Received.late
                received.late = Interrupted(signum)
            return
        if received:
            if not pending.again:
                # a second signal during clean-up ends the process at once
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
                return
            pending.again = False  # from raise_again below, not from outside
        else:
            received.append(Interrupted(signum))
            threading.Thread(target=watch, name="workout-interrupt", daemon=True).start()
            _stop_workers()
        where = _where(frame, hooks)
        if where == "command":
            raise received[0]
        if where == "hook":
            pending.soon = True

    def raise_again() -> None:
        if not received.settled:
            pending.again = True
            _thread.interrupt_main(received[0].signum)  # runs on_signal in the main thread

    def watch() -> None:
        """Until the run ends: raise the interruption again (it was lost: a C extension's
        import or a library's ``except`` cleared it, and the run went on for seconds; at
        once when one of our hooks caught it), and after :data:`HARD_STOP_SECONDS` stop the
        process (the main thread is stuck in a long C call). Never during a shielded
        clean-up (:mod:`solver.core.interrupts`)."""
        started = time.monotonic()
        due = started + RAISE_AGAIN_SECONDS
        while True:
            time.sleep(RETRY_SECONDS)
            now = time.monotonic()
            if not pending.soon and now < due:
                continue
            with received.lock:
                if received.settled:
                    return
                if interrupts.shielded():
                    continue
                if now - started >= HARD_STOP_SECONDS:
                    _hard_stop(received[0])
            pending.soon = False
            due = now + RAISE_AGAIN_SECONDS
            raise_again()

    def ours(exc: BaseException | None) -> bool:
        return isinstance(exc, Interrupted) and any(exc is r for r in received)

    def unraisable(info: Any) -> None:
        if ours(info.exc_value):  # dropped where it was raised: raise it again
            pending.soon = True
            return
        previous_unraisable(info)

    def excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        if ours(value):  # printed by C code that then went on: raise it again, print nothing
            pending.soon = True
            return
        previous_excepthook(kind, value, tb)

    hooks = frozenset((unraisable.__code__, excepthook.__code__, ours.__code__))
    previous_unraisable, previous_excepthook = sys.unraisablehook, sys.excepthook
    previous: dict[int, Any] = {}
    sys.unraisablehook, sys.excepthook = unraisable, excepthook
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
        yield received
    finally:
        with received.lock:
            received.settled = True
        for number, handler in previous.items():
            signal.signal(number, handler)
        sys.unraisablehook, sys.excepthook = previous_unraisable, previous_excepthook


def _hard_stop(interrupted: Interrupted) -> None:
    """The last resort: stop the workers, remove temporary files, print the line, exit."""
    _signal_children(signal.SIGKILL, pool_only=False)
    interrupts.remove_temporary()
    with contextlib.suppress(OSError):
        os.write(2, f"interrupted by {interrupted} (no partial output written)\n".encode())
    os._exit(interrupted.exit_code)


def _stop_workers() -> None:
    """SIGTERM the local pool workers (multiprocessing children) of this process."""
    _signal_children(signal.SIGTERM, pool_only=True)


def _signal_children(sig: int, *, pool_only: bool) -> None:
    """Send ``sig`` to this process's multiprocessing children (``pool_only``: the pool
    workers, which have the default names; a Dask cluster names and stops its own)."""
    import multiprocessing

    for child in multiprocessing.active_children():
        if child.pid is None or (pool_only and not child.name.split("-")[0].endswith("Process")):
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child.pid, sig)


def _silence_stdout() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def console(stderr: bool = False, min_width: int | None = None):
    """A rich console (imported lazily).

    With ``min_width``, a console that is not a terminal (piped or captured output) is at
    least that wide, so tables are not squeezed.
    """
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich exits 1 on a closed pipe (`workout validate … | head`); a closed reader is not
            # an error: silence further output and let run_cli exit 0.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise BrokenPipeError

    out = _Console(stderr=stderr, soft_wrap=False)
    if min_width is not None and not out.is_terminal:
        out.width = max(out.width, min_width)
    return out


def eprint(message: str) -> None:
    """Print a message to stderr."""
    print(message, file=sys.stderr)
