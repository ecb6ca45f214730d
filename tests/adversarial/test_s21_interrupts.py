"""Session 21, real processes: ``generate portfolio --history`` interrupted between the book
and its history, and a signal that arrives after a run has settled (SPEC §11).

Each run is the real program (``cli.main``) started by a small driver that first wraps one
function so that the signal is raised at a chosen point (``signal.raise_signal``: the
handler runs before the wrapper returns), not after a delay: the tests cannot flake on a
loaded machine. The checks are test_s20_interrupts' (exit 128 + N, the one line last, no
traceback, no temporary entry left), plus the exact content of both outputs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_s20_interrupts import PREVIOUS, SIGNALS, _problems
from workout_process import run_workout_process, workout_env

ROOT = Path(__file__).resolve().parents[2]

#: Runs ``workout ARGS`` (argv[3:]) with signal argv[2] raised at point argv[1]: ``history``
#: (as the history is about to be written, the book written) or ``settled`` (just after the
#: run has settled, before the handlers are restored).
DRIVER = """
import signal, sys
from pathlib import Path

import commands.common as common
import solver.core.writers as writers

point, signum = sys.argv[1], int(sys.argv[2])
if point == "history":
    write_table = writers.write_table

    def before_history(frame, path, **kwargs):
        if "_history" in Path(path).name:
            signal.raise_signal(signum)
        return write_table(frame, path, **kwargs)

    writers.write_table = before_history
else:
    settle = common._settle

    def then_signal(received):
        settle(received)
        signal.raise_signal(signum)

    common._settle = then_signal
import cli

cli.main(sys.argv[3:])
"""

GENERATE = ["generate", "portfolio", "--n", "200", "--seed", "5", "--history", "2", "--quiet"]


def _driven(point: str, kind: str, out: Path) -> dict[str, object]:
    """Run ``generate`` on ``out`` through the driver, ``kind`` raised at ``point``."""
    signum = int(SIGNALS[kind][0])
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, point, str(signum), *GENERATE, "--out", str(out)],
        env=workout_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return {"rc": done.returncode, "err": done.stderr, "kind": kind}


def _interrupted(point: str, kind: str, out: Path, reference: Path) -> list[str]:
    """Both outputs in ``out`` holding :data:`PREVIOUS`, ``generate`` run on them with
    ``kind`` raised at ``point``: checked to exit 130 / 143 with the checks of
    ``test_s20_interrupts`` passed; the outputs' names returned."""
    outputs = ["gen.csv", "gen_history.csv"]
    for name in outputs:
        (out / name).write_bytes(PREVIOUS)
    run = _driven(point, kind, out / "gen.csv")
    assert run["rc"] == SIGNALS[kind][2], run["err"]
    assert not _problems(run, out, outputs, reference)
    return outputs


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory of an uninterrupted run: gen.csv and gen_history.csv."""
    out = tmp_path_factory.mktemp("s21_reference")
    done = run_workout_process(*GENERATE, "--out", out / "gen.csv")
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.parametrize("kind", sorted(SIGNALS))
def test_generate_interrupted_before_its_history_changes_neither_file(
    kind: str, tmp_path: Path, reference: Path
) -> None:
    """A signal once the book is written, before its history: exit 130 / 143 with the one
    line, and the book and history both keep their previous content (main left the new
    book beside the old history)."""
    outputs = _interrupted("history", kind, tmp_path, reference)
    assert [(tmp_path / name).read_bytes() for name in outputs] == [PREVIOUS, PREVIOUS]


@pytest.mark.parametrize("kind", sorted(SIGNALS))
def test_signal_after_the_run_settled_is_reported(
    kind: str, tmp_path: Path, reference: Path
) -> None:
    """A signal just after a clean run settled (its outputs committed): exit 130 / 143 with
    the one line (main dropped it and exited 0), and both outputs the complete new files."""
    outputs = _interrupted("settled", kind, tmp_path, reference)
    for name in outputs:
        assert (tmp_path / name).read_bytes() == (reference / name).read_bytes()
