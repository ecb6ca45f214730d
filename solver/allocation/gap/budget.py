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

How much of the limit the budgets take (the decision, 4 Dec 2026, issue 19's criterion)
-------------------------------------------------------------------------------------
The rates below were measured as wall-clock rates at load 3-5; what one second of the work
they price takes depends on the machine's load, which a reproducible run must not read. So
the budgets come from one constant measured once, at low load, in CPU time (which the load
changes little): ``IDLE_PACE``, the seconds of work at these rates that one CPU second does
on the project machine (2 cores). A run's budgets add up to ``TARGET_SHARE`` = 75 % of the
limit at that pace, whatever its number of CP-SAT workers, and every phase is deterministic
given its budget: CP-SAT stops on its deterministic time (with more than one worker in its
interleaved mode, :func:`~solver.allocation.gap.cpsat.solve_cpsat`), the searches on their
move counts. Such a run -- the default, for ``allocate`` and ``solve_gap`` -- returns the
same result at the same limit whenever the clock stops nothing, and on the idle machine it
uses about three quarters of the limit (``stats["work"]["share_of_limit"]``).

The wall clock stays the hard stop (a call returns within its limit + 0.25 s). On a loaded
machine a phase's work takes longer than its share of the limit; the clock then stops it,
``stats["wall_clock_stop"]`` names it and ``stats["reproducible"]`` is ``False``: the result
is valid, its certificate holds, but a rerun may differ (a longer limit does not help: the
budgets grow with it; a quieter machine does). A run may also give up reproducibility on purpose
(``reproducible=False``, ``bench gap --anytime``): CP-SAT's threads then share solutions as
timing allows, and the wall time the budgets leave goes to the fill phases on the clock
(:func:`~solver.allocation.gap.cpsat_phases.finish_on_the_clock`).

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
    "IDLE_PACE",
    "TABU_WORK_PER_SECOND",
    "TARGET_SHARE",
    "WINDOW_SLACK",
    "WORK_SAFETY",
    "WorkClock",
]

#: Share of the time limit the work budgets add up to on the idle project machine (the rest
#: is the wall clock's margin for what the budgets do not price: set-up, the greedy's passes,
#: the result's table; see the module).
TARGET_SHARE = 0.75
#: Seconds of work at the rates below that one CPU second does on the project machine: the
#: pace of every run's budgets (see the module). Measured on 4 Dec 2026 (load 3-5; work booked
#: over the call's ``time.process_time()``, one worker, 10 s): d10400 3.04, d801600
#: 3.13-3.61, d201600 3.58, e801600 2.94, c801600 2.26-2.44, e10400 2.15-2.36. Below the
#: median, so that the slowest mixes (tabu-heavy e10400, knapsack- and LNS-heavy c801600)
#: end within about 85 % of the limit at a full core (benchmarks/README.md, GAP section).
IDLE_PACE = 2.5
#: A phase's wall-clock window, in multiples of its budget's share of the limit: the phases'
#: own paces differ from ``IDLE_PACE`` (CP-SAT's deterministic time ran at 2.3 seconds of
#: work per CPU second on d10400, the knapsack bound at 0.6-1.2 on the 80 × 1,600 GAPs, the
#: ejection chains at 2-3, 4 Dec 2026, load 3-4), and a window at the share itself cut the
#: slower ones on a machine where the whole run's work fitted the limit. The run's deadline
#: still bounds every window.
WINDOW_SLACK = 2.0
#: Share of the limit the exact flows may take at the rates (:attr:`WorkClock.room`), and the
#: margin of the wall-clock estimate of the pieces the clock cannot interrupt (the flows).
WORK_SAFETY = 0.8
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
#: Chu–Beasley type D, load 1.6–6, 3 Dec 2026; 5e7 until 4 Dec 2026, when e10400's tabu search
#: did 7.4e7 per CPU second, a pace of 1.5 against IDLE_PACE, and the clock cut its one-worker
#: 10-s runs at load 2; at 3e7 they end after 6.4-6.7 s and repeat).
TABU_WORK_PER_SECOND = 3.0e7
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
        Seconds of work at the rates per second of the limit (``IDLE_PACE``).
    spent
        Seconds the work done so far stands for.
    phases
        Per phase: ``[seconds spent, seconds budgeted, wall-clock seconds taken]`` (the
        last for information: it is the only figure that depends on the machine).
    """

    limit: float
    pace: float = IDLE_PACE
    spent: float = 0.0
    phases: dict[str, list[float]] = field(default_factory=dict)

    @property
    def total(self) -> float:
        """Seconds of work the whole run may do: ``TARGET_SHARE`` of the limit at the pace."""
        return TARGET_SHARE * self.pace * self.limit

    @property
    def left(self) -> float:
        """Seconds not yet spent."""
        return max(0.0, self.total - self.spent)

    def window(self, seconds: float) -> float:
        """Wall-clock seconds a phase may take for ``seconds`` of work: ``WINDOW_SLACK``
        times its budget's share of the limit (``seconds / (TARGET_SHARE × pace)``)."""
        return WINDOW_SLACK * seconds / (TARGET_SHARE * self.pace)

    @property
    def room(self) -> float:
        """Seconds of ``WORK_SAFETY`` of the limit not yet spent at the rates, whatever the
        pace: the gate of the exact flows, which end the run rather than search in a budget
        (their gate is as before the pace, so that ``allocate``'s fast first answer keeps
        its flow)."""
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
        per phase (``[spent, budget, wall]``), and the share of the time limit (at the pace)
        and of the budget they make (the wall clock's stops are ``stats["wall_clock_stop"]``)."""
        return {
            "limit_s": self.limit,
            "pace": self.pace,
            "budget_s": self.total,
            "spent_s": self.spent,
            "share_of_limit": self.spent / (self.pace * self.limit) if self.limit > 0 else 0.0,
            "share_of_budget": self.spent / self.total if self.total > 0 else 0.0,
            "phases": {k: [round(x, 6) for x in v] for k, v in self.phases.items()},
        }
