"""Shared CLI plumbing: error-to-exit-code mapping, console, output helpers."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from solver.errors import WorkoutError


def run_cli(group: click.Group, argv: Sequence[str] | None = None) -> int:
    """Run the click group; map errors to exit codes without tracebacks for user errors.

    Exit codes (SPEC §11): 0 success, 2 bad input/usage, 3 infeasible, 4 time limit with
    no feasible solution, 1 unexpected internal error.
    """
    import warnings

    # Input warnings (e.g. extra columns dropped) read as one line, not Python's warning format.
    warnings.showwarning = _show_warning
    try:
        # Commands may return an int exit code (e.g. `validate` returns 2 on bad input).
        rv = group.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except WorkoutError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted (no output written)", err=True)
        return 130
    except click.ClickException as exc:  # usage errors, bad options, missing files
        exc.show()
        return 2
    except KeyboardInterrupt:
        click.echo("interrupted (no output written)", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except Exception:  # an internal error: show the traceback only on request
        if os.environ.get("WORKOUT_DEBUG"):
            raise
        import traceback

        click.echo("internal error (this is a bug; set WORKOUT_DEBUG=1 for details):", err=True)
        click.echo(traceback.format_exc().strip().splitlines()[-1], err=True)
        return 1
    return rv if isinstance(rv, int) else 0


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def console(stderr: bool = False):
    """A rich console (imported lazily)."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich exits 1 on a closed pipe (`workout validate … | head`); a closed reader is not
            # an error: silence further output and let run_cli exit 0.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise BrokenPipeError

    return _Console(stderr=stderr, soft_wrap=False)


def eprint(message: str) -> None:
    """Print a message to stderr."""
    print(message, file=sys.stderr)
