"""The assignment core's warm-up (solver.allocation.gap.warmup.warm): at first use, never at
import -- the flows, the ejection chains, the tabu search, the knapsack bound and CP-SAT.

Observed from outside, in a fresh process: which numba kernels have compiled code (a
dispatcher's ``signatures``) and whether OR-Tools' CP-SAT module is loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_STATE = r"""
import json, sys
from numba.core.registry import CPUDispatcher
from solver.allocation.gap import coreflow, ejection, flow, knapsack, tabu
MODULES = {"coreflow": coreflow, "ejection": ejection, "flow": flow, "knapsack": knapsack,
           "tabu": tabu}
# the kernels each search's Python driver calls (the others compile inside them)
DRIVEN = {"coreflow": "_ranked", "ejection": "_search", "flow": "node_table",
          "knapsack": "_evaluate", "tabu": "_iterate"}

def state():
    compiled = {
        name: sorted(k for k, f in vars(m).items()
                     if isinstance(f, CPUDispatcher) and f.__module__ == m.__name__
                     and f.signatures)
        for name, m in MODULES.items()
    }
    return {"compiled": compiled,
            "driven": {name: DRIVEN[name] in compiled[name] for name in MODULES},
            "cp_sat": "ortools.sat.python.cp_model" in sys.modules}
"""

_ALLOCATE = r"""
from solver.allocation import portfolio  # the allocation imports the solver too
at_import = state()
from solver.allocation.catalogue import Catalogue
from solver.allocation.teams import Teams
from solver.core.generate import generate_portfolio
portfolio.allocate(generate_portfolio(50, seed=1), Catalogue.default(), Teams.default(),
                   time_limit=5, workers=1)
print(json.dumps({"at_import": at_import, "after_allocate": state()}))
"""

_SOLVE = r"""
import numpy as np
from solver.allocation.gap.problem import AssignmentProblem
from solver.allocation.gap.solve import solve_assignment
problem = AssignmentProblem(cost=np.array([[1.0, 3.0], [2.0, 1.0]]), weight=np.ones((2, 2)),
                            row_of=np.array([0, 1]), capacity=np.ones(2))
before = state()
result = solve_assignment(problem, time_limit=2, workers=1)
print(json.dumps({"before": before, "after": state(), "method": result.method}))
"""

_REAL_DTYPES = r"""
import math
import numpy as np
from solver.allocation.gap.ejection import ejection_search
from solver.allocation.gap.problem import AssignmentProblem
from solver.allocation.gap.tabu import SearchBudget, TabuInstance, tabu_search
from solver.allocation.gap.warmup import warm

def versions():
    return {f"{name}.{k}": len(f.signatures) for name, m in MODULES.items()
            for k, f in vars(m).items()
            if isinstance(f, CPUDispatcher) and f.__module__ == m.__name__}

warm()
before = versions()
# integer weights and capacities, as the GAP files give them (the warm-up's are floats)
problem = AssignmentProblem(cost=np.array([[1.0, 3.0, 2.0], [2.0, 1.0, 3.0]]),
                            weight=np.array([[2, 1, 1], [1, 2, 1]]), row_of=np.array([0, 1]),
                            capacity=np.array([3, 3]))
allowed, start = problem.allowed(), np.array([0, 0, 0])
ejection_search(problem, start, allowed, problem.cost, np.zeros(2), work_budget=1000,
                deadline=math.inf, seed=0, stats={})
tabu_search(TabuInstance(problem, allowed, np.zeros(2)), start, SearchBudget(1000, math.inf, 0),
            {})
after = versions()
print(json.dumps({k: (before[k], v) for k, v in after.items() if before[k] != v}))
"""

_WARM = r"""
from solver.allocation.gap.warmup import warm
warm()
print(json.dumps(state()))
"""


def _probe(code: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _STATE + code], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


NAMES = ("coreflow", "ejection", "flow", "knapsack", "tabu")


def test_importing_the_solver_runs_no_warm_up_and_allocate_does():
    """In a fresh process, importing the gap kernels and the allocation compiles no kernel
    and loads no CP-SAT (no work as an import side effect); the first allocate compiles
    every search's kernels and loads CP-SAT (the warm-up, before the solver's clock)."""
    got = _probe(_ALLOCATE)
    assert got["at_import"]["compiled"] == {name: [] for name in NAMES}
    assert got["at_import"]["cp_sat"] is False
    assert got["after_allocate"]["driven"] == dict.fromkeys(NAMES, True)
    assert got["after_allocate"]["cp_sat"] is True


def test_solve_assignment_warms_every_kernel_whatever_its_path():
    """A direct solve_assignment (the gap tests, ``bench gap``) warms all the kernels before
    its own clock, as the allocation does -- even those its path does not use (a 2 × 2
    problem takes neither the knapsack bound nor the flows), and CP-SAT, whose import
    (about 0.4 s idle, 1.5-2 s at load 8) once fell inside the first solve's time limit."""
    got = _probe(_SOLVE)
    assert got["before"]["compiled"] == {name: [] for name in NAMES}
    assert got["before"]["cp_sat"] is False
    assert got["after"]["driven"] == dict.fromkeys(NAMES, True)
    assert got["after"]["cp_sat"] is True
    assert "cp-sat" in got["method"]


def test_the_searches_compile_nothing_after_the_warm_up():
    """After the warm-up, the ejection chains and the tabu search on a problem with integer
    weights (a GAP file's) compile no new version of any kernel: the kernels get fresh
    writable copies, whatever the problem's dtypes (a read-only float weight passed through
    used to give a second version, compiled inside the first timed call)."""
    assert _probe(_REAL_DTYPES) == {}


def test_the_warm_up_loads_cp_sat():
    """The warm-up alone compiles the kernels and loads CP-SAT: a solve's first CP-SAT model
    then starts at once (its import used to be paid inside the first solve's limit)."""
    got = _probe(_WARM)
    assert got["driven"] == dict.fromkeys(NAMES, True)
    assert got["cp_sat"] is True
