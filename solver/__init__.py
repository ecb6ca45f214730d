"""Workout: repayment-restructuring optimizer for delinquent consumer loans.

The public API is re-exported here lazily (PEP 562), so ``import solver`` is cheap and
the command line starts fast; each name is imported from its module on first use.

One entry point per problem:

* :func:`plan_options` — restructuring options for one account (SPEC §6);
* :func:`plan_portfolio` — the recommended plan for every account of a book;
* :func:`allocate` — collection treatments and teams with a proven gap (SPEC §8);
* :func:`solve_gap` — the Generalized Assignment core behind it;
* :func:`run_scenario` — what-if Monte Carlo scenarios (SPEC §9);
* :func:`evaluate` — the behaviour-model evaluator every reported figure comes from.
"""

from __future__ import annotations

from solver._lazy import lazy_exports
from solver.core import _EXPORTS as _CORE
from solver.scenarios import _EXPORTS as _SCENARIOS

#: Names solver.core exports that the top level does not (output plumbing, not API).
_CORE_ONLY = frozenset({"atomic_path", "atomic_open"})

_EXPORTS: dict[str, str] = {
    # errors
    "WorkoutError": "solver.errors",
    "InputError": "solver.errors",
    "InfeasibleError": "solver.errors",
    "TimeLimitError": "solver.errors",
    # money, accounts and I/O, behaviour model: solver.core's surface, where the module of
    # each name is said (its safe-output helpers stay there)
    **{name: module for name, module in _CORE.items() if name not in _CORE_ONLY},
    # plans
    "plan_options": "solver.plans.options",
    "PlanResult": "solver.plans.plan_records",
    "choose_for": "solver.plans.customer_choice",
    "efficient_frontier": "solver.plans.customer_choice",
    "SearchParams": "solver.plans.search_types",
    "plan_portfolio": "solver.plans.portfolio",
    "plan_batch": "solver.plans.portfolio_batch",
    "PortfolioPlans": "solver.plans.portfolio",
    # allocation
    "solve_gap": "solver.allocation.gap.solve",
    "AssignmentResult": "solver.allocation.gap.problem",
    "AllocationResult": "solver.allocation.portfolio",
    "allocate": "solver.allocation.portfolio",
    "Status": "solver.domain",
    "read_gap_file": "solver.allocation.orlib",
    "Catalogue": "solver.allocation.catalogue",
    "Teams": "solver.allocation.teams",
    # scenarios: solver.scenarios' surface
    **_SCENARIOS,
    # risk analytics
    "absorption": "solver.risk.absorption",
    "absorbing_summary": "solver.risk.absorption",
    "expected_loss": "solver.risk.absorption",
    "roll_rates": "solver.risk.rollrates",
    "read_panel": "solver.risk.panel",
    "fit_early_warning": "solver.risk.early_warning",
    "fit_uci": "solver.risk.early_warning",
    "EarlyWarningModel": "solver.risk.early_warning",
    "score_accounts": "solver.risk.early_warning",
    "assign_tiers": "solver.risk.early_warning",
    "calibrate_hazards": "solver.risk.calibration",
    "calibrate_outcomes": "solver.risk.calibration",
    "write_behaviour_toml": "solver.risk.behaviour_toml",
    "read_uci": "solver.risk.uci",
    "uci_panel": "solver.risk.uci",
    "uci_features": "solver.risk.uci",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
