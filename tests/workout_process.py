"""How the tests start ``workout`` as a real process (signals, exit codes, children).

Shared by ``tests/test_atomic.py``, ``tests/adversarial/test_adv_interrupts.py`` and the
command-line tests that need a real process (:func:`run_workout_process`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def workout_command() -> list[str]:
    """The installed ``workout`` script, or the CLI through this interpreter."""
    script = Path(sys.executable).parent / "workout"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import cli; cli.main()"]


def workout_env() -> dict[str, str]:
    """This environment with the project importable and no debug tracebacks."""
    env = dict(os.environ)
    env.pop("WORKOUT_DEBUG", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_workout_process(
    *args: object, timeout: float = 300.0, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``workout ARGS...`` (each argument as text) as a real process, run to its end: exit
    code, stdout and stderr (text). For what in-process runs cannot show (the entry point's
    own output, signals); tests/cli_inprocess.py is quicker where exit codes and messages
    are enough."""
    return subprocess.run(
        [*workout_command(), *(str(a) for a in args)],
        env=workout_env(),
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
