"""Running the command line in-process, as the ``workout`` entry point does."""

from __future__ import annotations

import contextlib
import io

import cli
from commands.common import run_cli


def invoke(*args: object) -> tuple[int, str, str]:
    """``workout ARGS...`` in-process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_cli(cli.workout, [str(a) for a in args])
    return code, out.getvalue(), err.getvalue()
