"""Deterministic work budgets of the assignment core: the rates and the work clock.

Every phase of :func:`~solver.allocation.gap.solve.solve_assignment` that could run until
the time limit gets a budget of deterministic *work* — iterations of the Lagrangian ascent,
CP-SAT's deterministic time, move evaluations of the ejection-chain search, LNS work —
computed from ``time_limit`` and from the work the earlier phases did, never from the
clock. The same inputs and seed then give the same result whatever the machine's load,
as long as the wall clock (the hard stop) stops nothing; a result it did stop says so
(``stats["wall_clock_stop"]``).

:class:`WorkClock` keeps the account in seconds of the idle project machine (2 shared
cores): a phase turns its budget into its own units of work at its :func:`idle_rate` (its
rate below, measured as a wall-clock rate at load 3-5, times its pace in ``PACE``) and books
the units it did back into seconds; a phase's budget is a share of the seconds not yet
spent, so the time a phase leaves unused (a dual that converged early, a CP-SAT run that
proved optimality) goes to the phases after it. ``stats["work"]`` reports the account: the
seconds the work stood for against the budget and the limit, per phase with the wall and
CPU time each took; ``stats["wall_clock_stop"]`` names the phases the clock stopped first
("" when it stopped nothing).

How much of the limit the budgets take (the decision: issue 19's criterion)
--------------------------------------------------------------------------
What one second of work at the rates takes depends on the machine's load, which a
reproducible run must not read. So the budgets come from paces measured in CPU time (which
the load changes little): ``PACE``, per kind of work, the seconds of work at its rate that
one second of one idle core does. A run's budgets add up to ``TARGET_SHARE`` = 80 % of the
limit in those seconds, whatever its number of CP-SAT workers, and every phase is
deterministic given its budget: CP-SAT stops on its deterministic time (with more than one
worker in its interleaved mode, :func:`~solver.allocation.gap.cpsat.solve_cpsat`), the
searches on their move counts. Such a run -- the default, for ``allocate`` and
``solve_gap`` -- returns the same result at the same limit whenever the clock stops nothing,
and on the idle machine it uses 57-99 % of the limit (median 0.75 at 10 s and 0.76 at 60 s on
Yagiura's C/D/E, benchmarks/README.md "Issue 19, session 21"; runs that CP-SAT proves optimal
end earlier; the small problems' exact path ended after 49-83 % until session 21, when the
tabu search's work began to count what its scan costs: ``tabu.STEP_WORK``);
``stats["work"]["share_of_limit"]`` reports it; until 5 Dec 2026 one pace, ``IDLE_PACE`` = 2.5,
priced every phase, and a run took 48-86 % of its limit; later that day per-phase paces that
still under-priced the work by a fifth made most 10-s and 60-s runs run into the clock).

The wall clock stays the hard stop (a call returns within its limit + 0.25 s). On a loaded
machine a phase's work takes longer than its share of the limit; the clock then stops it,
``stats["wall_clock_stop"]`` names it and ``stats["reproducible"]`` is ``False``: the result
is valid, its certificate holds, but a rerun may differ (a longer limit does not help: the
budgets grow with it; a quieter machine does). A run may also give up reproducibility on purpose
(``reproducible=False``, ``bench gap --anytime``): CP-SAT's threads then share solutions as
timing allows, and the wall time the budgets leave goes to the fill phases on the clock
(:func:`~solver.allocation.gap.cpsat_phases.finish_on_the_clock`).

The exact flows (which end the run with a proven optimum) are gated by their work at the
rates, not at a pace (:attr:`WorkClock.room`): a one-worker allocation's fast first answer
(20,000 accounts within 1 s) keeps its flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from time import process_time  # by name: tests replace the modules' `time` clocks
from typing import Any

__all__ = [
    "CPSAT_DET_PER_SECOND",
    "DUAL_CELLS_PER_SECOND",
    "EJECTION_WORK_PER_SECOND",
    "FLOW_ARCS_PER_SECOND",
    "GREEDY_CELLS_PER_SECOND",
    "KNAPSACK_CELLS_PER_SECOND",
    "LNS_WORK_PER_SECOND",
    "LOADED_CPU",
    "LP_PAIRS_PER_SECOND",
    "lp_work",
    "PACE",
    "TABU_WORK_PER_SECOND",
    "TARGET_SHARE",
    "WINDOW_SLACK",
    "WORK_SAFETY",
    "WorkClock",
    "idle_rate",
]

#: Share of the time limit the work budgets add up to on the idle project machine (the rest
#: is the wall clock's margin for what the budgets do not price: set-up, the greedy's passes,
#: the result's table; see the module). 0.75 until 5 Dec 2026, with paces that under-priced
#: the work (``LOADED_CPU``); with the paces re-measured, 0.8 makes 10-s runs take 7-9 s.
TARGET_SHARE = 0.8
#: CPU seconds at load 4-7 per second of one core at load 2 (about idle: one process per
#: core), the factor from the paces measured in CPU time to the paces (``PACE``). 1.5 until
#: 5 Dec 2026 (from wall-clock runs at load 2 against CPU seconds at load 6); re-measured that
#: day at load 0-1.3 with the benchmark at raised priority, the phases booked only 0.6-0.85 of
#: the CPU seconds they took at that factor (median 0.79; ``benchmarks/README.md``, "Paces
#: re-measured on the idle machine"), so every 10-s run of c15900, e10400, c801600, e801600,
#: d40400 and c10400 ran into the clock: 1.1 is the factor that CPU time says.
LOADED_CPU = 1.1
#: The phases' paces: seconds of work at the rates below (wall-clock rates at load 3-5) that
#: one second of one idle core of the project machine does, per kind of work -- one number
#: per phase, so that every mix of phases takes about ``TARGET_SHARE`` of the limit (one
#: pace for all, 2.5 until 5 Dec 2026, made a run take 48-86 % of it at load 2: the phases'
#: own paces differ by a factor of 3). First measured on 5 Dec 2026 (benchmarks/README.md,
#: "Per-phase paces"): ``solve_gap(..., time_limit=10)`` on a clock slowed 5x so that the
#: deadline stopped nothing, one and two workers, on d10400, e10400, c10400, d201600,
#: e201600, c801600, d801600, e801600; a phase's pace there is the work it booked over the
#: process CPU seconds it took (``stats["work"]["phases"][phase][3]``; per thread for CP-SAT
#: with two workers), at load 4-7: each pace is ``LOADED_CPU`` times the median measured
#: (the ranges in the comments). Re-measured the same way on the idle machine (session 20,
#: ``/proc/PID/autogroup`` priority, 10 s and 60 s on c15900, e10400, c801600, e801600,
#: d40400, c10400): the factors marked "(s20)" are the lower quartile of those CPU paces over
#: ``LOADED_CPU``, so that the slow instances' phases, not only the median's, end in their
#: budget's time.
PACE: dict[str, float] = {
    # the ascent converges before its budget on every GAP (1.4-1.5 on 20 x 1,600, 2.7-3.1 on
    # 80 x 1,600, 0.2-0.5 on 10 x 400: per-iteration overhead); budget-bound only in large
    # allocations, where it keeps the one pace of before (not re-measured)
    "lagrangian": 2.5,
    # not budgeted, booked from its size: 0.9-1.5 (the regret construction is not priced)
    "greedy": LOADED_CPU * 1.0,
    # CP-SAT, one worker: 1.5-2.0 (d10400, e10400, c10400)
    "cp-sat": LOADED_CPU * 1.8,
    # CP-SAT, two workers in its interleaved search, per worker: 2.2-2.5 (d10400, e10400);
    # (s20) 2.3-2.8 on the idle machine (c10400, e10400)
    "parallel cp-sat": LOADED_CPU * 2.1,
    # 2.1-2.4 on 10 x 400, 1.9-2.0 on 20 x 1,600, 1.5-1.8 on 80 x 1,600; (s20) 1.9-2.4
    "ejection chains": LOADED_CPU * 1.9,
    # (s21) the unit re-based (TABU_WORK_PER_SECOND): 2.0 at the CPU rate of the fit, 1.75 at
    # its slowest instance's (e10400: 1.14 times the fit's time); before, in the old unit,
    # 2.1-4.4 on 10 x 400 and (s20) 1.4-3.1 across the small problems
    "tabu search": LOADED_CPU * 1.6,
    # every DP cell, the restarts' too: 3.1-3.7 on 20-80 x 1,600 D and E (1.4 on c801600,
    # whose ascent is short); (s20) 1.4-3.1: its budget rarely binds (the ascent converges),
    # so the pace mostly prices what it did, and the low end keeps c801600's 10-s runs in time
    "knapsack bound": LOADED_CPU * 1.5,
    # 1.5-3.3; (s20) 2.0-3.2
    "lns": LOADED_CPU * 2.0,
    # HiGHS: 1.5-1.6 on d201600 and e201600
    "lp relaxation": LOADED_CPU * 1.55,
    # 2.8-3.0 on d201600 and e201600; (s20) 3.2-3.7
    "lp search": LOADED_CPU * 2.9,
    # the flows end the run (their gate is their work at the rates, WorkClock.room): the one
    # pace of before, not re-measured
    "min-cost flow": 2.5,
    "core flow": 2.5,
}
#: A phase's wall-clock window, in multiples of its budget's share of the limit (its idle
#: seconds over ``TARGET_SHARE``): the margin for the load (a process gets half a core and
#: less at load 3-5 on the 2 cores) and for the paces' spread across instances. The run's
#: deadline still bounds every window.
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
#: Work of the tabu search per second, in units of a move evaluation
#: (:mod:`~solver.allocation.gap.tabu`: the moves evaluated, the swap partners looked at and
#: a per-iteration part). Re-based on 5 Dec 2026 (session 21), when the unit began to count
#: what the scan costs: 2.4 × 10⁸ units per CPU second on the idle machine (the fit in
#: ``tabu.STEP_WORK``), about half of that at load 3-5. Before, the moves evaluated alone:
#: 3.4-8 × 10⁷ per second of wall time on Chu–Beasley type D, load 1.6-6 (3 Dec 2026); 3e7
#: until 5 Dec 2026.
TABU_WORK_PER_SECOND = 1.2e8
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
    """Seconds the LP relaxation of a problem with ``pairs`` allowed pairs takes at the
    rate at load (``LP_PAIRS_PER_SECOND``): the wall-clock estimate of the LP on the clock
    (:func:`~solver.allocation.gap.cpsat_phases.lp_on_the_clock`; budgets use its pace)."""
    return pairs / LP_PAIRS_PER_SECOND


#: Arcs of the min-cost flow network solved per second (measured 1.3 million on a
#: 20,000-account allocation, 281,000 arcs).
FLOW_ARCS_PER_SECOND = 1.0e6

#: The rate each pace applies to, by kind of work (units per second at load 3-5): the
#: core flow's work is its own estimate in seconds at load
#: (:func:`~solver.allocation.gap.coreflow.core_flow_seconds`).
_RATES: dict[str, float] = {
    "lagrangian": DUAL_CELLS_PER_SECOND,
    "greedy": GREEDY_CELLS_PER_SECOND,
    "cp-sat": CPSAT_DET_PER_SECOND,
    "parallel cp-sat": CPSAT_DET_PER_SECOND,
    "ejection chains": EJECTION_WORK_PER_SECOND,
    "tabu search": TABU_WORK_PER_SECOND,
    "knapsack bound": KNAPSACK_CELLS_PER_SECOND,
    "lns": LNS_WORK_PER_SECOND,
    "lp relaxation": LP_PAIRS_PER_SECOND,
    "lp search": LNS_WORK_PER_SECOND,
    "min-cost flow": FLOW_ARCS_PER_SECOND,
    "core flow": 1.0,
}


def idle_rate(kind: str) -> float:
    """Units of ``kind``'s work (cells, moves, CP-SAT deterministic seconds per worker, ...)
    that one second of one idle core does: its rate at load times its pace (``PACE``). Every
    budget is seconds of the idle machine; a phase turns them into its units with this, and
    books the units it did over this."""
    return _RATES[kind] * PACE[kind]


@dataclass
class WorkClock:
    """The account of a run's deterministic work, in seconds of the idle project machine.

    Attributes
    ----------
    limit
        The time limit (seconds).
    spent
        Seconds of the idle machine the work done so far stands for (each phase's units over
        its :func:`idle_rate`).
    phases
        Per phase: ``[seconds spent, seconds budgeted, wall-clock seconds taken, process CPU
        seconds]`` (the last two for information: they depend on the machine; the CPU
        seconds measure the phases' paces, ``PACE``).
    cpu_mark
        ``process_time()`` at the last booking (or the clock's start).
    """

    limit: float
    spent: float = 0.0
    phases: dict[str, list[float]] = field(default_factory=dict)
    cpu_mark: float = field(default_factory=process_time)

    @property
    def total(self) -> float:
        """Seconds of work the whole run may do: ``TARGET_SHARE`` of the limit."""
        return TARGET_SHARE * self.limit

    @property
    def left(self) -> float:
        """Seconds not yet spent."""
        return max(0.0, self.total - self.spent)

    def window(self, seconds: float) -> float:
        """Wall-clock seconds a phase may take for ``seconds`` of work: ``WINDOW_SLACK``
        times its budget's share of the limit (``seconds / TARGET_SHARE``)."""
        return WINDOW_SLACK * seconds / TARGET_SHARE

    @property
    def room(self) -> float:
        """Seconds of ``WORK_SAFETY`` of the limit not yet spent: the gate of the exact flows,
        which end the run rather than search in a budget, so that ``allocate``'s fast first
        answer keeps its flow (their estimates are at the rates, not at the paces: the flows
        cannot be interrupted)."""
        return max(0.0, WORK_SAFETY * self.limit - self.spent)

    def charge(
        self,
        phase: str,
        seconds: float,
        budget: float | None = None,
        wall: float = 0.0,
        cpu: float | None = None,
    ) -> None:
        """Book ``seconds`` of work to ``phase`` (and its budget, when it had one, the
        wall-clock seconds it took and the process CPU seconds: ``cpu``, else those since the
        previous booking)."""
        now = process_time()
        used = now - self.cpu_mark if cpu is None else cpu
        self.cpu_mark = now
        entry = self.phases.setdefault(phase, [0.0, 0.0, 0.0, 0.0])
        entry[0] += max(0.0, seconds)
        if budget is not None:
            entry[1] += max(0.0, budget)
        entry[2] += max(0.0, wall)
        entry[3] += max(0.0, used)
        self.spent += max(0.0, seconds)

    def report(self) -> dict[str, Any]:
        """The account for ``stats["work"]``: the seconds the work stands for, in all and
        per phase (``[spent, budget, wall, cpu]``), and the share of the time limit and of
        the budget they make (the wall clock's stops are ``stats["wall_clock_stop"]``)."""
        return {
            "limit_s": self.limit,
            "budget_s": self.total,
            "spent_s": self.spent,
            "share_of_limit": self.spent / self.limit if self.limit > 0 else 0.0,
            "share_of_budget": self.spent / self.total if self.total > 0 else 0.0,
            "cpu_s": sum(v[3] for v in self.phases.values()),
            "phases": {k: [round(x, 6) for x in v] for k, v in self.phases.items()},
        }
