"""The shared-data helper: tests that need ../shared/data skip locally but fail in CI."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from dataset_helpers import (
    needs_shared_data,
    require_shared_data,
    running_in_ci,
)

TESTS = Path(__file__).resolve().parent


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("", False),
        ("false", False),
        ("FALSE", False),
        ("0", False),
        ("no", False),
        ("off", False),
        ("true", True),
        ("True", True),
        ("1", True),
        ("yes", True),
    ],
)
def test_running_in_ci_reads_the_ci_variable(value, expected):
    """CI=true/1/yes means CI; unset, empty, false, 0, no and off do not."""
    environ = {} if value is None else {"CI": value}
    assert running_in_ci(environ) is expected


def test_present_data_is_returned(tmp_path, monkeypatch):
    """An existing file or directory is returned as a Path, in CI or not."""
    data = tmp_path / "credit.csv"
    data.write_text("ID\n1\n")
    for ci in ("true", "false"):
        monkeypatch.setenv("CI", ci)
        assert require_shared_data(str(data), "the test file") == data
        assert require_shared_data(tmp_path, "the test directory") == tmp_path


def test_missing_data_skips_outside_ci(tmp_path, monkeypatch):
    """Without CI a missing path skips the test, naming the path and WORKOUT_DATA_DIR."""
    monkeypatch.delenv("CI", raising=False)
    missing = tmp_path / "gap" / "orlib"
    with pytest.raises(pytest.skip.Exception) as info:
        require_shared_data(missing, "the shared GAP instances")
    message = str(info.value)
    assert str(missing) in message and "WORKOUT_DATA_DIR" in message


def test_missing_data_fails_in_ci(tmp_path, monkeypatch):
    """With CI=true a missing path fails the test (no skip), saying why."""
    monkeypatch.setenv("CI", "true")
    missing = tmp_path / "credit" / "UCI_Credit_Card.csv"
    with pytest.raises(pytest.fail.Exception) as info:
        require_shared_data(missing, "the UCI credit-card file")
    message = str(info.value)
    assert "the UCI credit-card file" in message and str(missing) in message
    assert "CI is set" in message


def test_decorator_keeps_signature_and_checks_when_run(tmp_path, monkeypatch):
    """needs_shared_data keeps the test's fixtures and marks, and checks at call time."""
    missing = tmp_path / "absent.csv"
    calls: list[int] = []

    @needs_shared_data(missing, "the absent file")
    @pytest.mark.slow
    def test_body(capsys, seed=3):
        calls.append(seed)
        return seed

    assert list(inspect.signature(test_body).parameters) == ["capsys", "seed"]
    assert {m.name for m in test_body.pytestmark} == {"slow", "data"}
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception):
        test_body(None)
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        test_body(None)
    assert calls == []
    missing.write_text("x")
    assert test_body(None, seed=5) == 5 and calls == [5]


def _run_pytest_on(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    """Run pytest in a child process on one decorated test whose data is absent."""
    test_file = tmp_path / "test_needs_data.py"
    test_file.write_text(
        textwrap.dedent(
            f"""
            from dataset_helpers import needs_shared_data

            @needs_shared_data({str(tmp_path / "no_such_dir")!r}, "the shared data")
            def test_uses_data():
                assert False, "must not run without its data"
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-rfs"]
        + [str(test_file)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_pytest_run_skips_locally_and_fails_in_ci(tmp_path):
    """End to end: the same test file is reported skipped without CI and failed with CI=true."""
    local = _run_pytest_on(tmp_path, None)
    assert local.returncode == 0, local.stdout + local.stderr
    assert "1 skipped" in local.stdout and "not found at" in local.stdout
    ci = _run_pytest_on(tmp_path, "true")
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "1 failed" in ci.stdout and "CI is set" in ci.stdout
    assert "must not run" not in ci.stdout
