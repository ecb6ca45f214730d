"""Session 22, real processes: an interrupted dataset ``--out`` leaves no staging directory.

The engine stages a dataset's parts in a hidden directory next to ``--out``
(``.NAME.staging-XXXXXXXXXXXX``, :mod:`solver.engines.dataset`). Session 21 made it with
``tempfile.mkdtemp``, which :mod:`solver.core.interrupts` did not track: only
``map_partitions``' own ``finally`` removed it, so an interruption that skipped that
clean-up left it behind. Two such moments, each forced by a driver that wraps one function
(as ``test_s21_interrupts``: the signal is raised at a chosen point, so nothing depends on
timing):

* ``created``: the signal lands just after the directory is made, before the code that
  would remove it is armed;
* ``stuck``: the signal lands once a part is written, and the main thread then ignores
  every interruption (a long C call, or a library that swallows it), so the CLI's last
  resort, the hard stop, ends the process (``os._exit``: no ``finally`` runs).

Checks: exit 130 / 143 with the one ``interrupted by ...`` line last, no traceback, no
hidden entry and no dataset left in the output directory. Both moments fail on main.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_s20_interrupts import SIGNALS, _problems
from workout_process import run_workout_process, workout_env

ROOT = Path(__file__).resolve().parents[2]

#: Runs ``workout ARGS`` (argv[3:]) with signal argv[2] raised at point argv[1].
DRIVER = """
import signal, sys, time

import solver.engines.base as base

point, signum = sys.argv[1], int(sys.argv[2])
if point == "created":
    new_staging = base._new_staging

    def then_signal(out):
        staging = new_staging(out)
        signal.raise_signal(signum)
        return staging

    base._new_staging = then_signal
else:
    write_part = base._write_part

    def then_stuck(frame, staging, index):
        path = write_part(frame, staging, index)
        try:
            signal.raise_signal(signum)
        except BaseException:
            pass
        while True:  # every interruption swallowed: only the hard stop ends the run
            try:
                time.sleep(60)
            except BaseException:
                pass
        return path

    base._write_part = then_stuck
import cli

cli.main(sys.argv[3:])
"""


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30-account generated book."""
    path = tmp_path_factory.mktemp("s22_staging") / "book.csv"
    done = run_workout_process(
        "generate", "portfolio", "--n", 30, "--seed", 22, "--out", path, "--quiet"
    )
    assert done.returncode == 0, done.stderr
    return path


@pytest.mark.parametrize("point", ["created", "stuck"])
@pytest.mark.parametrize("kind", sorted(SIGNALS))
def test_interrupted_dataset_out_leaves_no_staging_directory(
    point: str, kind: str, book: Path, tmp_path: Path
) -> None:
    """A dataset ``--out`` interrupted with its staging directory made (just made, or
    holding a part when the hard stop ends the run): exit 130 / 143 with the one line, and
    neither the staging directory nor the dataset is left (main left the directory)."""
    out = tmp_path / "out"
    out.mkdir()
    args = ["plan-portfolio", str(book), "--out", str(out / "plans"), "--jobs", "1", "--quiet"]
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, point, str(int(SIGNALS[kind][0])), *args],
        env=workout_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    run = {"rc": done.returncode, "err": done.stderr, "kind": kind}
    assert done.returncode == SIGNALS[kind][2], done.stderr
    assert not _problems(run, out, [], out)
    assert list(out.iterdir()) == []
