"""How the tests start ``workout`` as a real process (signals, exit codes, children).

Shared by ``tests/test_atomic.py`` and ``tests/adversarial/test_adv_interrupts.py``.
"""

from __future__ import annotations

import os
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
