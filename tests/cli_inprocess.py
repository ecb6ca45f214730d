"""Running ``workout`` in process with its output captured (shared by the test files that
check exit codes and messages without starting a process).

``commands.common.run_cli`` is the function the ``workout`` entry point calls, so the exit
codes and messages are the command line's own.
"""

from __future__ import annotations

import contextlib
import io

import cli
from commands.common import run_cli


def run_workout(*args: object) -> tuple[int, str, str]:
    """``workout ARGS...`` (each argument as text): exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_cli(cli.workout, [str(a) for a in args])
    return code, out.getvalue(), err.getvalue()
