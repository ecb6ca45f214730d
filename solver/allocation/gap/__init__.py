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
* :mod:`~solver.allocation.gap.dual` -- the Lagrangian dual: bound and prices;
* :mod:`~solver.allocation.gap.primal` -- construction, repair and local search;
* :mod:`~solver.allocation.gap.cpsat` -- the CP-SAT model and the plain CP-SAT baseline;
* :mod:`~solver.allocation.gap.lns` -- large-neighbourhood search;
* :mod:`~solver.allocation.gap.solve` -- the phases in order, their shares and work budgets.

Import from the modules: :mod:`solver.allocation` exports the public names.

Method
------
1. **Bound.** Lagrangian relaxation of the capacity rows: for prices ``λ ≥ 0``,
   ``L(λ) = Σ_j min_o (c_oj + λ·w_oj) − λ·b`` is a lower bound on the minimum (weak duality);
   it is maximised by a deflected subgradient method with a Polyak step (vectorised numpy,
   one ``K × n`` pass per iteration). Its maximum equals the LP-relaxation bound. For
   integer costs the bound is rounded up.
2. **Exact search on small instances.** CP-SAT on the full model (one Boolean per allowed
   job–option pair, an exactly-one constraint per job, one linear constraint per capacity
   row), warm-started with ``add_hint`` from the Lagrangian/greedy solution, seeded, with
   ``num_workers`` pinned. Its proven bound is combined with the Lagrangian one.
3. **Decomposition on large instances.** Primal solution from the Lagrangian prices (each job
   takes its cheapest option under prices), a vectorised repair of overloaded rows and a
   shift/fill local search; if repair fails, CP-SAT on the reduced model that keeps for every
   job only the options with the smallest Lagrangian reduced costs. Then large-neighbourhood
   search: free the jobs of a few related rows and re-optimise them exactly with CP-SAT
   (agent-subset neighbourhoods, sizes adapted to how fast the sub-solves close).

The certificate is always known: ``bound`` is a proven bound on the optimum of the full
problem (never of a reduced model) and ``gap`` is the relative gap

    ``gap = |objective − bound| / max(1, |objective|)``

(the CP-SAT / MathOpt convention): 0 when proven optimal, ``inf`` without a solution.
Every path respects the deadline ``time_limit`` (wall clock, seconds).
"""
