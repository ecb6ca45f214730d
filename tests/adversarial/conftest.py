"""Fixtures of the adversarial suite (helpers live in adv_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from adv_helpers import Case, Outcome, assert_case_rejected


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


@pytest.fixture
def rejects(
    workout: Callable[..., Outcome], tmp_path: Path
) -> Callable[[Case, Callable[[Path, Path], Sequence[object]]], None]:
    """``rejects(case, command)``: :func:`adv_helpers.assert_case_rejected` in this test's
    ``tmp_path`` with its ``workout``: exit 2, file and fragments named, nothing written."""

    def check(case: Case, command: Callable[[Path, Path], Sequence[object]]) -> None:
        assert_case_rejected(workout, case, tmp_path, command)

    return check
