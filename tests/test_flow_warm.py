"""The assignment core's warm-up (solver.allocation.gap.warmup.warm): at first use, never at
import -- the flows (coreflow), the ejection chains, the tabu search and the knapsack bound."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PROBE = r"""
import json
from solver.allocation.gap import coreflow, ejection, knapsack, tabu
from solver.allocation import portfolio  # the allocation imports the solver too
MODULES = {"coreflow": coreflow, "ejection": ejection, "knapsack": knapsack, "tabu": tabu}
imported = {name: m._warmed for name, m in MODULES.items()}
from solver.allocation.catalogue import Catalogue, Teams
from solver.core.generate import generate_portfolio
portfolio.allocate(generate_portfolio(50, seed=1), Catalogue.default(), Teams.default(),
                   time_limit=5, workers=1)
after = {name: m._warmed for name, m in MODULES.items()}
print(json.dumps({"at_import": imported, "after_allocate": after}))
"""

_SOLVE_PROBE = r"""
import json
import numpy as np
from solver.allocation.gap import ejection, knapsack, tabu
from solver.allocation.gap.problem import AssignmentProblem
from solver.allocation.gap.solve import solve_assignment
problem = AssignmentProblem(cost=np.array([[1.0, 3.0], [2.0, 1.0]]), weight=np.ones((2, 2)),
                            row_of=np.array([0, 1]), capacity=np.ones(2))
before = [m._warmed for m in (ejection, knapsack, tabu)]
solve_assignment(problem, time_limit=2, workers=1)
print(json.dumps({"before": before, "after": [m._warmed for m in (ejection, knapsack, tabu)]}))
"""


def _probe(code: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_solver_runs_no_warm_up_and_allocate_does():
    """In a fresh process, importing the gap kernels and the allocation leaves every kernel
    cold (no compilation or solve as an import side effect); the first allocate warms them
    all (before its clock starts, solver.allocation.portfolio._solve)."""
    got = _probe(_PROBE)
    names = ("coreflow", "ejection", "knapsack", "tabu")
    assert got == {
        "at_import": dict.fromkeys(names, False),
        "after_allocate": dict.fromkeys(names, True),
    }


def test_solve_assignment_warms_the_kernels_itself():
    """A direct solve_assignment (the gap tests, ``bench gap``) warms the kernels before its
    own clock, as the allocation does."""
    assert _probe(_SOLVE_PROBE) == {"before": [False] * 3, "after": [True] * 3}
