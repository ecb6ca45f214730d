"""Deterministic work budgets of the assignment core: the rates and the work clock.

Every phase of :func:`~solver.allocation.gap.solve.solve_assignment` that could run until
the time limit gets a budget of deterministic *work* — iterations of the Lagrangian ascent,
CP-SAT's deterministic time, move evaluations of the ejection-chain search, LNS work —
computed from ``time_limit`` and from the work the earlier phases did, never from the
clock. The same inputs and seed then give the same result whatever the machine's load,
as long as the wall clock (the hard stop) stops nothing; a result it did stop says so
(``stats["wall_clock_stop"]``).

:class:`WorkClock` converts work to the seconds it stands for on the project machine
(2 shared cores; the rates below, measured there) and keeps the account: a phase's budget
is a share of the seconds not yet spent, so the time a phase leaves unused (a dual that
converged early, a CP-SAT run that proved optimality) goes to the phases after it.
``stats["work"]`` reports the account: the seconds the work stood for against the budget
and the limit, per phase with the wall time each took; ``stats["wall_clock_stop"]`` names
the phases the clock stopped first ("" when it stopped nothing).

How much of the limit the budgets take (the decision, 3 Dec 2026, issue 19 follow-up)
----------------------------------------------------------------------------------
The rates below are wall-clock rates at the machine's load when they were measured (3-5 on
its 2 cores). At the usual load of this session's machine (5-10) a single-threaded phase
runs 1.4-5.5 times slower than they say (d10400 and d801600 at 10 s with one worker, load
about 5: the ejection chains 1.4x and 5.5x, the knapsack bound 5.1x, the dual 3.0x, the tabu
search 2.2x), so budgets that add up to ``WORK_SAFETY`` = 80 % of the limit are cut by the
clock there, and two runs of the same instance differ. Two kinds of run, two sizes:

* **Reproducible runs** (one CP-SAT worker: ``allocate``, ``bench gap --workers 1``): the
  budgets add up to ``WORK_SAFETY × REPRODUCIBLE_PACE`` = 20 % of the limit, so that at load
  5-10 the clock stops nothing and a rerun returns the same assignment; such a run returns
  before its limit (at load 6-7: d10400 after 4.4 s of 10, d801600 after 25.5 s of 60; on
  the idle machine, 4 Dec 2026, d10400 and d801600 at 10 s: 1.8-2.1 s and 1.5 s, twice the
  same assignments). Measured then too, in a tree with other paces: 1.0 (budgets of 80 % of
  the limit at the rates' load) used 4.1-5.3 s of 10 s when idle, the same assignments
  twice; with two extra busy processes (load about 3) the clock cut d10400's CP-SAT run and
  two runs differed. So on this shared machine no pace gives both halves of issue 19's
  wish ("most of the limit" and byte-identical) once the load reaches 3. A user who wants more search raises
  ``--time-limit`` (the result stays reproducible) -- the limit is a promise about the
  wall clock, the budget one about the result.
* **Parallel runs** (``workers > 1``: ``bench gap``'s default, ``solve_gap``'s): not
  reproducible anyway (CP-SAT's threads share solutions as timing allows), so their
  budgets stay at ``WORK_SAFETY`` of the limit (issue 19: use the time given), and the
  clock may stop phases under load.

The exact flows (which end the run with a proven optimum) are gated by the unpaced account
(:attr:`WorkClock.room`): a one-worker allocation's fast first answer (20,000 accounts
within 1 s) keeps its flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CPSAT_DET_PER_SECOND",
    "DUAL_CELLS_PER_SECOND",
    "EJECTION_WORK_PER_SECOND",
    "FLOW_ARCS_PER_SECOND",
    "GREEDY_CELLS_PER_SECOND",
    "KNAPSACK_CELLS_PER_SECOND",
    "LNS_WORK_PER_SECOND",
    "LP_PAIRS_PER_SECOND",
    "lp_work",
    "REPRODUCIBLE_PACE",
    "TABU_WORK_PER_SECOND",
    "WORK_SAFETY",
    "WorkClock",
]

#: Share of the time limit the work budgets add up to on the project machine at the rates'
#: load (parallel runs; see the module).
WORK_SAFETY = 0.8
#: Share of that the budgets of a reproducible (one-worker) run take, so that at load 5-10
#: the wall clock stops nothing (see the module).
REPRODUCIBLE_PACE = 0.25
#: CP-SAT deterministic seconds per wall-clock second (a run's ``max_deterministic_time``
#: binds each worker: with two workers the reported time is about twice the limit, so the
#: work charged is the reported time over the workers). Measured 0.45–0.68 on one idle
#: worker, 0.3–1.0 per worker with two, on the project machine at its usual load (load
#: average 3–5 on its 2 cores, 3 Dec 2026): the rates here are for that load.
CPSAT_DET_PER_SECOND = 0.35
#: Cells of the K × n option matrix priced per second by the Lagrangian ascent (dense
#: pass; measured 1.2e8 at 200,000 accounts, 2.0e8 at 20,000).
DUAL_CELLS_PER_SECOND = 1.2e8
#: LNS work (:func:`~solver.allocation.gap.lns.lns_work`, deterministic seconds) per second
#: (measured 0.73–0.89 on 8,000–20,000-account allocations, 0.25–0.45 on GAPs under load).
LNS_WORK_PER_SECOND = 0.25
#: Move evaluations of the ejection-chain search per second (measured 50–70 million of CPU
#: time, about 48 million of wall time under the usual load, on GAPs of 10–80 agents ×
#: 400–1,600 jobs).
EJECTION_WORK_PER_SECOND = 4.0e7
#: Move evaluations of the tabu search per second (measured 3.4–8 × 10⁷ of wall time on
#: Chu–Beasley type D, load 1.6–6, 3 Dec 2026).
TABU_WORK_PER_SECOND = 5.0e7
#: Cells of the option matrix per second of the greedy construction, repair and shift
#: moves (their time is charged, not budgeted: they stop on their own criteria).
GREEDY_CELLS_PER_SECOND = 5.0e7
#: Dynamic-programme cells of the knapsack bound per second (measured 3.9e8 on d10400, 8e8
#: on d801600).
KNAPSACK_CELLS_PER_SECOND = 4.0e8
#: Allowed pairs (columns) of the LP relaxation solved by HiGHS per second (measured 4.6e4
#: (e801600) to 1.6e5 (d201600) of CPU time on Yagiura's 20-80 × 1,600 GAPs, 4 Dec 2026).
LP_PAIRS_PER_SECOND = 4.0e4


def lp_work(pairs: int) -> float:
    """Seconds of work the LP relaxation of a problem with ``pairs`` allowed pairs stands
    for (``LP_PAIRS_PER_SECOND``): the one estimate its callers budget and charge."""
    return pairs / LP_PAIRS_PER_SECOND


#: Arcs of the min-cost flow network solved per second (measured 1.3 million on a
#: 20,000-account allocation, 281,000 arcs).
FLOW_ARCS_PER_SECOND = 1.0e6


@dataclass
class WorkClock:
    """The account of a run's deterministic work, in the seconds it stands for.

    Attributes
    ----------
    limit
        The time limit (seconds).
    pace
        Share of ``WORK_SAFETY`` of the limit the budgets take (``REPRODUCIBLE_PACE`` for a
        one-worker run, 1 for a parallel one).
    spent
        Seconds the work done so far stands for.
    phases
        Per phase: ``[seconds spent, seconds budgeted, wall-clock seconds taken]`` (the
        last for information: it is the only figure that depends on the machine).
    """

    limit: float
    pace: float = 1.0
    spent: float = 0.0
    phases: dict[str, list[float]] = field(default_factory=dict)

    @property
    def total(self) -> float:
        """Seconds the whole run's work may stand for (``WORK_SAFETY × pace`` of the limit)."""
        return WORK_SAFETY * self.pace * self.limit

    @property
    def left(self) -> float:
        """Seconds not yet spent."""
        return max(0.0, self.total - self.spent)

    def window(self, seconds: float) -> float:
        """Wall-clock seconds a phase may take for ``seconds`` of work: its budget's share
        of the limit (``seconds / (WORK_SAFETY × pace)``), so that a one-worker run's
        smaller budgets do not make its phases' windows smaller than the clock allows."""
        return seconds / (WORK_SAFETY * self.pace)

    @property
    def room(self) -> float:
        """Seconds of ``WORK_SAFETY`` of the limit not yet spent, whatever the pace: the
        gate of the exact flows, which end the run rather than search in a budget."""
        return max(0.0, WORK_SAFETY * self.limit - self.spent)

    def charge(
        self, phase: str, seconds: float, budget: float | None = None, wall: float = 0.0
    ) -> None:
        """Book ``seconds`` of work to ``phase`` (and its budget, when it had one, and the
        wall-clock seconds it took)."""
        entry = self.phases.setdefault(phase, [0.0, 0.0, 0.0])
        entry[0] += max(0.0, seconds)
        if budget is not None:
            entry[1] += max(0.0, budget)
        entry[2] += max(0.0, wall)
        self.spent += max(0.0, seconds)

    def report(self) -> dict[str, Any]:
        """The account for ``stats["work"]``: the seconds the work stands for, in all and
        per phase (``[spent, budget, wall]``), and the share of the time limit and of the
        budget they make (the wall clock's stops are ``stats["wall_clock_stop"]``)."""
        return {
            "limit_s": self.limit,
            "pace": self.pace,
            "budget_s": self.total,
            "spent_s": self.spent,
            "share_of_limit": self.spent / self.limit if self.limit > 0 else 0.0,
            "share_of_budget": self.spent / self.total if self.total > 0 else 0.0,
            "phases": {k: [round(x, 6) for x in v] for k, v in self.phases.items()},
        }
