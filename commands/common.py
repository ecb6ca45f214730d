"""Shared CLI plumbing: error-to-exit-code mapping, signals, console, output helpers.

Exit codes (SPEC §11, docs/reliability.md): 0 success, 1 unexpected internal error (a
bug), 2 bad input or usage, 3 infeasible, 4 time limit without a feasible solution,
130 interrupted by SIGINT (Ctrl-C), 143 terminated by SIGTERM. User errors and
interruptions print one clear line on stderr and never a Python traceback.

SIGINT and SIGTERM take the same clean path: the signal becomes an
:class:`Interrupted` exception (a ``KeyboardInterrupt``) in the main thread, so every
``with atomic_path(...)`` block being written removes its temporary file and no partial
output is left; local worker processes (``--jobs``) are stopped first, silently.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any

import click

from solver.errors import WorkoutError

#: Environment variable that lets messages show personal values (set by ``--verbose``).
VERBOSE_ENV = "WORKOUT_VERBOSE"
#: Environment variable that re-raises internal errors with their traceback.
DEBUG_ENV = "WORKOUT_DEBUG"

_SIGNAL_NAMES: dict[int, str] = {int(signal.SIGINT): "SIGINT", int(signal.SIGTERM): "SIGTERM"}


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
        with _verbose(verbose), handle_signals():
            return _run(group, args)
    finally:
        warnings.showwarning = previous_showwarning


def _run(group: click.Group, args: list[str]) -> int:
    try:
        # Commands may return an int exit code (e.g. `validate` returns 2 on bad input).
        rv = group.main(args=args, prog_name="workout", standalone_mode=False)
    except WorkoutError as exc:
        click.echo(f"error: {exc}", err=True)
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
        click.echo(
            "error: out of memory; the input is too large for this machine "
            "(see docs/reliability.md, limits)",
            err=True,
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


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into :class:`Interrupted` in the main thread for the block.

    Forked worker processes inherit the handler; in them it stops the worker silently
    with the default action (the parent reports the interruption once). In the parent it
    first stops those workers, so a pool's shutdown does not wait for queued work. The
    previous handlers are restored afterwards (the CLI also runs in-process in tests).
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    main_pid = os.getpid()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != main_pid:  # a forked worker: die quietly, the parent reports
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        # a second signal during clean-up ends the process at once
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _stop_workers()
        raise Interrupted(signum)

    previous: dict[int, Any] = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _stop_workers() -> None:
    """SIGTERM the local pool workers (multiprocessing children) of this process."""
    import multiprocessing

    for child in multiprocessing.active_children():
        # pool workers have the default names; a Dask cluster names (and stops) its own
        if child.pid is not None and child.name.split("-")[0].endswith("Process"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)


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
