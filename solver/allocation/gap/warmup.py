"""The assignment core's warm-up: its compiled kernels and OR-Tools ready before a timed solve.

The kernels are numba functions (``cache=True``): the first call in a process compiles them
or loads them from numba's on-disk cache (a cold cache takes several seconds, a warm one a
fraction of a second), and OR-Tools' CP-SAT module takes about 0.4 s to import on an idle
machine (1.5–2 s at load 8: the 3-s solve measured at 4.6 s of wall time in session 9 paid
it inside its limit). :func:`warm` does all of it once per process (``functools.cache``) by
a tiny call of each -- the ejection chains, the tabu search, the knapsack bound, both flows
(through the core flow, with OR-Tools' min-cost flow) and a CP-SAT model -- on a 2 × 2
problem with the dtypes of the real ones, so the real calls reuse the compiled code.

It runs at first use, never at import, so that importing the solver (the CLI's start-up,
``workout --help``) does no work. Its callers are
:func:`~solver.allocation.gap.solve.solve_assignment`, before its clock starts
(``solve_gap`` goes through it), and :func:`~solver.allocation.portfolio.allocate`, before
the whole call's clock starts (its limit covers building the problem too), so no time limit
pays for a compilation or an import: on a cold numba cache (a fresh install) the warm-up
took about 28 s of a 1,000,000-account allocation's 30-s limit (4 Dec 2026, load 3), which
then ended on the Lagrangian hint with a 250 % gap.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from solver.allocation.gap.coreflow import solve_core_flow, warm_pricing
from solver.allocation.gap.cpsat import solve_cpsat
from solver.allocation.gap.ejection import ejection_search
from solver.allocation.gap.knapsack import knapsack_bound
from solver.allocation.gap.problem import AssignmentProblem
from solver.allocation.gap.tabu import SearchBudget, TabuInstance, tabu_search

__all__ = ["warm"]


def _tiny(*, free_option: bool = False) -> AssignmentProblem:
    """The warm-up's problem: two jobs, two rows of capacity 1 (costs 1 and 2 crosswise), with
    the dtypes of the real problems; with ``free_option`` a third option of cost 0 on no row
    (transportation-shaped, as the flows need) and one weight per option, as an allocation
    has, instead of a GAP's weight per option and job."""
    cost = [[1.0, 2.0], [2.0, 1.0]]
    row_of = [0, 1]
    weight = np.ones((2, 2))
    if free_option:
        cost.append([0.0, 0.0])
        row_of.append(-1)
        weight = np.array([[1.0], [1.0], [0.0]])
    return AssignmentProblem(
        cost=np.array(cost), weight=weight, row_of=np.array(row_of), capacity=np.ones(2)
    )


@functools.cache
def warm() -> None:
    """Compile (or load) every kernel of the assignment core and import CP-SAT, once per
    process (later calls return at once)."""
    tiny = _tiny()
    allowed = tiny.allowed()
    start = np.array([1, 0])
    ejection_search(
        tiny, start, allowed, tiny.cost, np.zeros(2), work_budget=1, deadline=math.inf,
        seed=0, stats={},
    )  # fmt: skip
    tabu_search(TabuInstance(tiny, allowed, np.zeros(2)), start, SearchBudget(1, math.inf, 0), {})
    knapsack_bound(tiny, allowed, np.zeros(2), upper_bound=3.0, max_cells=1, deadline=math.inf)
    solve_cpsat(tiny, allowed, time_limit=10.0, seed=0, workers=1, hint=start)
    flow = _tiny(free_option=True)
    solve_core_flow(flow, flow.allowed(), np.array([1, 1]), np.zeros(2), core_jobs=1, rounds=1)
    warm_pricing()  # the tiny core flow is optimal in its first round and prices no columns
