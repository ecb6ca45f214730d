"""The flows' warm-up (solver.allocation.gap.coreflow.warm): at first use, never at import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PROBE = r"""
import json
from solver.allocation.gap import coreflow
from solver.allocation import portfolio  # the allocation imports the solver too
imported = coreflow._warmed
from solver.allocation.catalogue import Catalogue, Teams
from solver.core.generate import generate_portfolio
portfolio.allocate(generate_portfolio(50, seed=1), Catalogue.default(), Teams.default(),
                   time_limit=5, workers=1)
print(json.dumps({"at_import": imported, "after_allocate": coreflow._warmed}))
"""


def test_importing_the_solver_runs_no_warm_up_and_allocate_does():
    """In a fresh process, importing coreflow and the allocation leaves the kernels cold
    (no solve as an import side effect); the first allocate warms them."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, env=env
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"at_import": False, "after_allocate": True}
