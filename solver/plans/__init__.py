"""Restructuring plans (SPEC §6): the options for one account and the recommended plan
for a book.

The modules, each importing only those listed before it:

* :mod:`~solver.plans.terms` -- :class:`PlanTerms`, the terms of a plan option;
* :mod:`~solver.plans.context` -- :class:`PlanContext`: a batch of accounts under one
  policy, the model's value of a payment path and the policy's check of it;
* :mod:`~solver.plans.families` -- the level-instalment families and their grids;
* :mod:`~solver.plans.level_value` -- the compiled loops of:
* :mod:`~solver.plans.scoring` -- their float paths, scored in one pass;
* :mod:`~solver.plans.bound_dp`, :mod:`~solver.plans.beam_step`,
  :mod:`~solver.plans.beam_clearing` -- the compiled loops of:
* :mod:`~solver.plans.search_types` -- ``custom`` and ``step``: the search's parameters
  (:class:`SearchParams`) and its answer per account;
* :mod:`~solver.plans.payment_grid` -- their payment grids and cent-exact interest;
* :mod:`~solver.plans.bounds` -- ``custom`` and ``step``: the bound tables;
* :mod:`~solver.plans.search_tables`, :mod:`~solver.plans.search_seeds` -- the lookup
  tables and first incumbents of:
* :mod:`~solver.plans.search` -- ``custom`` and ``step``: the beam search;
* :mod:`~solver.plans.schedules` -- cent-exact schedules of the winners, checked again;
* :mod:`~solver.plans.choice` -- :class:`~solver.plans.choice.Choice`, a family's best
  plan for one account before its metrics;
* :mod:`~solver.plans.level_choices` -- the level families' and the waterfall's choices;
* :mod:`~solver.plans.refine` -- finer bound tables where ``custom``'s gap is wide;
* :mod:`~solver.plans.run_choices` -- ``custom`` and ``step``'s choices (the free family,
  :mod:`~solver.plans.free_custom`, where asked);
* :mod:`~solver.plans.choices` -- every family's best plan for a batch of accounts;
* :mod:`~solver.plans.metrics` -- the reported figures, from the model;
* :mod:`~solver.plans.explain` -- binding constraints, infeasibility, relaxations;
* :mod:`~solver.plans.plan_records` -- :class:`PlanOption`, :class:`PlanResult`: the answer's
  records (the frontier a result writes is imported from the next when asked for);
* :mod:`~solver.plans.customer_choice` -- the frontier, :func:`choose_for`;
* :mod:`~solver.plans.options` -- :func:`plan_options`: the search and the recommendation;
* :mod:`~solver.plans.portfolio_batch` -- :func:`plan_batch`: one batch's rows;
* :mod:`~solver.plans.portfolio` -- :func:`plan_portfolio`, the summary;
* :mod:`~solver.plans.workloads` -- per-partition plan work for the engines.
"""

from __future__ import annotations

from solver._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "plan_options": "solver.plans.options",
    "PlanResult": "solver.plans.plan_records",
    "PlanOption": "solver.plans.plan_records",
    "PlanTerms": "solver.plans.terms",
    "choose_for": "solver.plans.customer_choice",
    "efficient_frontier": "solver.plans.customer_choice",
    "plan_portfolio": "solver.plans.portfolio",
    "plan_batch": "solver.plans.portfolio_batch",
    "PortfolioPlans": "solver.plans.portfolio",
    "portfolio_summary": "solver.plans.portfolio",
    "SearchParams": "solver.plans.search_types",
    "binding_constraints": "solver.plans.explain",
    "minimal_relaxations": "solver.plans.explain",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
