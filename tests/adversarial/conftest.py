"""Fixtures of the adversarial suite (helpers live in adv_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from adv_helpers import Outcome


@pytest.fixture
def workout(capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """Run ``workout ARGS`` in-process via run_cli (the entry point's exit-code mapping)."""
    import cli
    from commands.common import run_cli

    def run(*args: object) -> Outcome:
        capsys.readouterr()
        code = run_cli(cli.workout, [str(a) for a in args])
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run
