"""Restructuring plans (SPEC §6): the options for one account and the recommended plan
for a book.

* :mod:`~solver.plans.optimizer` -- :func:`plan_options`, :func:`plan_portfolio`;
* :mod:`~solver.plans.families` -- the level-instalment families, scored on their grids;
* :mod:`~solver.plans.search` -- ``custom`` and ``step``: bound tables and the beam search;
* :mod:`~solver.plans.bound_dp`, :mod:`~solver.plans.beam_step` -- their compiled loops;
* :mod:`~solver.plans.explain` -- binding constraints, infeasibility, relaxations;
* :mod:`~solver.plans.workloads` -- per-partition plan work for the engines.
"""

from __future__ import annotations

from solver._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "plan_options": "solver.plans.optimizer",
    "plan_portfolio": "solver.plans.optimizer",
    "plan_batch": "solver.plans.optimizer",
    "PlanResult": "solver.plans.optimizer",
    "PortfolioPlans": "solver.plans.optimizer",
    "choose_for": "solver.plans.optimizer",
    "efficient_frontier": "solver.plans.optimizer",
    "SearchParams": "solver.plans.search",
    "binding_constraints": "solver.plans.explain",
    "minimal_relaxations": "solver.plans.explain",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
