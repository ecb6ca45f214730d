"""What the command line imports at start-up (SPEC §1: heavy imports are lazy, so
``workout --help`` starts fast; issue 2's 0.5 s, issue 3's cold ``workout plan``).

Each check runs in a fresh interpreter (a module imported by an earlier test would hide a
regression) and reads ``sys.modules`` after the command: the CLI's own dispatch
(``commands.common.run_cli``), stdout captured, the module list printed as JSON.

Measured 4 Dec 2026 (``python -X importtime``, this machine): numpy ≈ 0.06-0.1 s,
scipy.special ≈ 0.2 s, pandas with pyarrow ≈ 0.23 s and pandera another 0.18 s, numba
≈ 0.14 s, pydantic ≈ 0.05 s; ``workout --help`` itself imports click and ≈ 10 project modules.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

import cli

ROOT = Path(__file__).resolve().parents[1]

#: Libraries of other commands (allocation, scenarios and charts, the service, databases,
#: Excel, letters, reading and validating books): planning one account from a TOML file
#: needs none of them.
OTHER_COMMANDS = (
    "pandas",
    "pyarrow",
    "pandera",
    "ortools",
    "dask",
    "distributed",
    "matplotlib",
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "duckdb",
    "jinja2",
    "openpyxl",
    "xlsxwriter",
)

#: SPEC §1's heavy libraries (ortools, dask, matplotlib), the other commands' and those
#: every command loads only inside it: none of them may load for ``--help``.
HEAVY = (
    *OTHER_COMMANDS,
    "numpy",
    "scipy",
    "numba",
    "llvmlite",
    "pydantic",
    "rich",
)

_RUN = """
import contextlib, io, json, sys
import cli
from commands.common import run_cli
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = run_cli(cli.workout, sys.argv[1:])
print(json.dumps({"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}))
"""

#: ``import cli`` alone, answered in the same form.
_IMPORT = "import json, sys, cli; print(json.dumps({'code': 0, 'out': '', 'modules': sorted(sys.modules)}))"


class Run(NamedTuple):
    """What a fresh interpreter answered: the exit code, stdout, the modules it loaded."""

    code: int
    out: str
    modules: list[str]

    def heavy(self, names: tuple[str, ...]) -> list[str]:
        """The packages of ``names`` that were loaded."""
        return sorted({m.partition(".")[0] for m in self.modules} & set(names))


def _fresh(code: str, *args: str) -> Run:
    """Run ``code`` with ``args`` in a fresh interpreter from the repository root."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return Run(**json.loads(proc.stdout.splitlines()[-1]))


def test_import_cli_loads_no_heavy_library() -> None:
    """`import cli` loads none of the heavy libraries (nor numpy)."""
    assert _fresh(_IMPORT).heavy(HEAVY) == []


def test_help_loads_no_heavy_library() -> None:
    """`workout --help` lists every command and loads none of the heavy libraries."""
    run = _fresh(_RUN, "--help")
    assert run.code == 0
    assert all(name in run.out for name in cli.COMMANDS), run.out
    assert run.heavy(HEAVY) == []


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_command_help_loads_no_heavy_library(command: str) -> None:
    """`workout COMMAND --help` imports the command's module but none of the heavy libraries."""
    run = _fresh(_RUN, command, "--help")
    assert run.code == 0
    assert "Usage: workout" in run.out
    assert cli.COMMANDS[command].partition(":")[0] in run.modules  # its own imports ran
    assert run.heavy(HEAVY) == []


def test_plan_loads_no_library_of_other_commands() -> None:
    """A cold `workout plan` of one TOML account plans it without loading OR-Tools, Dask,
    matplotlib, the service, databases, Excel or letter templates."""
    run = _fresh(_RUN, "plan", "scenarios/sample_account.toml", "--format", "json")
    assert run.code == 0
    assert json.loads(run.out)["account_id"] == "AUTO-000123"
    assert run.heavy(OTHER_COMMANDS) == []
    table = _fresh(_RUN, "plan", "scenarios/sample_account.toml")
    assert table.code == 0 and "AUTO-000123" in table.out
    assert table.heavy(OTHER_COMMANDS) == []
