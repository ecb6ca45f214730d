"""Generalized Assignment Problem core with an optimality certificate.

Two entry points share one machinery:

* :func:`~solver.allocation.gap.solve.solve_gap` — the classic GAP: ``m`` agents with
  capacities, ``n`` jobs, every job to exactly one agent, cost (or profit) ``c[i, j]`` and
  resource use ``a[i, j]``;
* :func:`~solver.allocation.gap.solve.solve_assignment` — the general form used by the
  portfolio allocation (:mod:`solver.allocation.portfolio`): ``K`` *options* per job
  (treatment × team), each option uses capacity on at most one *own row* (its team's
  minutes) and on any number of *global rows* (the budget); options may be forbidden per job
  (``cost = +inf``) and may be uncapacitated (``row_of = -1``, e.g. treatment ``none``).

The modules, by role:

* :mod:`~solver.allocation.gap.problem` -- the problem's data and validation, the result;
* :mod:`~solver.allocation.gap.budget` -- the deterministic work budgets and their account;
* :mod:`~solver.allocation.gap.dual` -- the Lagrangian dual of the capacity rows: bound and
  prices;
* :mod:`~solver.allocation.gap.knapsack` -- the knapsack Lagrangian bound (the assignment
  constraints relaxed, each capacity row's knapsack solved exactly);
* :mod:`~solver.allocation.gap.primal` -- construction and repair;
* :mod:`~solver.allocation.gap.localsearch` -- shift and swap local search;
* :mod:`~solver.allocation.gap.compiled` -- the primitives the compiled searches share;
* :mod:`~solver.allocation.gap.ejection` -- the ejection-chain search with adaptive
  penalties (compiled); one sweep's moves in :mod:`~solver.allocation.gap.ejection_sweep`;
* :mod:`~solver.allocation.gap.tabu` -- the tabu search over shift and swap moves with
  strategic oscillation for tight problems (compiled); the scan and the move in
  :mod:`~solver.allocation.gap.tabu_moves`;
* :mod:`~solver.allocation.gap.relink` -- the elite search: the tabu search, then relinking
  of elite solutions;
* :mod:`~solver.allocation.gap.flow` -- transportation-shaped problems solved exactly by
  min-cost flow;
* :mod:`~solver.allocation.gap.coreflow` -- transportation-shaped problems too large for that
  flow (a million accounts): min-cost flow on a priced core with column generation, proven
  optimal by its exact dual;
* :mod:`~solver.allocation.gap.cpsat` -- the CP-SAT model and the plain CP-SAT baseline;
* :mod:`~solver.allocation.gap.lns` -- large-neighbourhood search;
* :mod:`~solver.allocation.gap.state` -- one call's state: clocks, incumbent, bound,
  certificate;
* :mod:`~solver.allocation.gap.improve` -- the improvement phases (warm start, the elite
  search of small problems CP-SAT did not close, knapsack bound with Lagrangian restarts,
  rounds of ejection chains and LNS);
* :mod:`~solver.allocation.gap.construct` -- presolve and the first feasible assignments
  (the greedy under the dual's prices, regret construction, swaps);
* :mod:`~solver.allocation.gap.cpsat_phases` -- the driver's CP-SAT phases (the exact run of
  small problems, the reduced model, reduced-cost fixing) and the finish on the wall clock
  left of runs that are not reproducible (``reproducible=False``);
* :mod:`~solver.allocation.gap.dual_phase` -- the driver's Lagrangian phase (warm-started on
  a random sample of the jobs when there are many);
* :mod:`~solver.allocation.gap.flow_phases` -- the driver's min-cost-flow phases (the exact
  flow, the flow on a priced core);
* :mod:`~solver.allocation.gap.mip` -- HiGHS in a child process beside the searches of small
  problems, with a deterministic budget of nodes;
* :mod:`~solver.allocation.gap.solve` -- the driver: the phases in order.

Import from the modules: :mod:`solver.allocation` exports the public names.

Method
------
1. **Bound.** Lagrangian relaxation of the capacity rows: for prices ``λ ≥ 0``,
   ``L(λ) = Σ_j min_o (c_oj + λ·w_oj) − λ·b`` is a lower bound on the minimum (weak duality);
   it is maximised by a deflected subgradient method with a Polyak step (vectorised numpy,
   one ``K × n`` pass per iteration). Its maximum equals the LP-relaxation bound. Then, on
   problems without global rows, the stronger knapsack bound: the assignment constraints
   relaxed with multipliers ``u`` (started from ``λ``), one 0-1 knapsack per row solved by
   dynamic programming. For integer costs the bound is rounded up.
2. **Exact special cases.** Small problems: CP-SAT on the full model (one Boolean per
   allowed job–option pair that reduced-cost fixing keeps, an exactly-one constraint per
   job, one linear constraint per capacity row), warm-started from a short ejection-chain
   search, seeded, with ``num_workers`` pinned, on a share of the time; when it does not
   prove the optimum (tight problems: Chu–Beasley type D and E), a tabu search over shift
   and swap moves that oscillates across the capacity boundary, with relinking of elite
   solutions, takes most of what is left, and the search below follows. Transportation-shaped problems (every row's
   options use it alike, no global rows: the allocation's teams) by min-cost flow, which
   proves the optimum; past ``FLOW_MAX_ARCS`` arcs, the flow on a priced core (the jobs
   whose best option under the Lagrangian prices is not clear-cut, the others fixed), with
   column generation until the exact dual prices — Bellman–Ford on the ``R + 1`` node
   prices — prove the core's optimum optimal for the whole problem.
3. **Search on the others.** Primal solution from the Lagrangian prices (each job takes its
   cheapest option under prices), a vectorised repair of overloaded rows and a shift/fill
   local search; if repair fails, a regret construction or CP-SAT on the reduced model that
   keeps for every job only the options with the smallest Lagrangian reduced costs. The
   knapsack bound's ascent restarts a short ejection-chain search from the relaxation's
   solutions (a Lagrangian heuristic). Then rounds of the ejection-chain search (shift and
   ejection moves through infeasible assignments, adaptive penalty weights) and of
   large-neighbourhood search (free the jobs of a few related rows and re-optimise them
   exactly with CP-SAT); parallel runs past the exact path's size also run the LP-guided
   search (relaxation-induced neighbourhoods re-optimised by CP-SAT). Parallel runs that
   give reproducibility up (``reproducible=False``) then give the wall time the budgets left
   to the LP-guided search (when the LP was solved) and, on problems with at most 40,000
   pairs, to CP-SAT on the full model from the incumbent; every other run is deterministic
   given its limit (:mod:`~solver.allocation.gap.budget`).

The certificate is always known: ``bound`` is a proven bound on the optimum of the full
problem (never of a reduced model) and ``gap`` is the relative gap

    ``gap = |objective − bound| / max(1, |objective|)``

(the CP-SAT / MathOpt convention): 0 when proven optimal, ``inf`` without a solution.
Every path respects the deadline ``time_limit`` (wall clock, seconds); the work budgets
(:mod:`~solver.allocation.gap.budget`) make the result independent of the clock unless the
clock stops a phase (``stats["wall_clock_stop"]``).
"""
