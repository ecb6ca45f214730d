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

_EXPORTS: dict[str, str] = {
    # errors
    "WorkoutError": "solver.errors",
    "InputError": "solver.errors",
    "InfeasibleError": "solver.errors",
    "TimeLimitError": "solver.errors",
    # money
    "apr": "solver.core.actuarial",
    "level_payment": "solver.core.annuity",
    "Schedule": "solver.core.schedule",
    "schedule_from_payments": "solver.core.amortisation",
    "level_plan": "solver.core.amortisation",
    # accounts and I/O
    "Account": "solver.core.account",
    "read_portfolio": "solver.core.readers",
    "read_account": "solver.core.readers",
    "read_forecast": "solver.core.forecast",
    "effective_income_normal": "solver.core.account",
    "write_table": "solver.core.writers",
    "generate_portfolio": "solver.core.generate",
    # behaviour model
    "BehaviourModel": "solver.core.model",
    "BehaviourModelProtocol": "solver.core.model",
    "ModelKernel": "solver.core.model",
    "AccountParams": "solver.core.model",
    "Evaluation": "solver.core.evaluation",
    "evaluate": "solver.core.evaluation",
    "evaluate_batch": "solver.core.evaluation",
    "status_quo": "solver.core.contract",
    "status_quo_batch": "solver.core.contract",
    # plans
    "Policy": "solver.core.policy",
    "plan_options": "solver.plans.options",
    "PlanResult": "solver.plans.options",
    "choose_for": "solver.plans.options",
    "efficient_frontier": "solver.plans.options",
    "SearchParams": "solver.plans.search",
    "plan_portfolio": "solver.plans.portfolio",
    "plan_batch": "solver.plans.portfolio",
    "PortfolioPlans": "solver.plans.portfolio",
    # allocation
    "solve_gap": "solver.allocation.gap.solve",
    "AssignmentResult": "solver.allocation.gap.problem",
    "AllocationResult": "solver.allocation.portfolio",
    "allocate": "solver.allocation.portfolio",
    "Status": "solver.domain",
    "read_gap_file": "solver.allocation.orlib",
    "Catalogue": "solver.allocation.catalogue",
    "Teams": "solver.allocation.catalogue",
    # scenarios
    "load_scenario": "solver.scenarios.spec",
    "run_scenario": "solver.scenarios.run",
    "Scenario": "solver.scenarios.spec",
    "compare": "solver.scenarios.kpis",
    "run_sweep": "solver.scenarios.sweep",
    "simulate_paths": "solver.scenarios.paths",
    "split_portfolio": "solver.scenarios.experiment",
    "evaluate_outcomes": "solver.scenarios.experiment",
    "write_scenario_report": "solver.scenarios.report",
    # risk analytics
    "absorption": "solver.risk.absorption",
    "absorbing_summary": "solver.risk.absorption",
    "expected_loss": "solver.risk.absorption",
    "roll_rates": "solver.risk.rollrates",
    "read_panel": "solver.risk.rollrates",
    "fit_early_warning": "solver.risk.early_warning",
    "fit_uci": "solver.risk.early_warning",
    "EarlyWarningModel": "solver.risk.early_warning",
    "score_accounts": "solver.risk.early_warning",
    "assign_tiers": "solver.risk.early_warning",
    "calibrate_hazards": "solver.risk.calibration",
    "calibrate_outcomes": "solver.risk.calibration",
    "write_behaviour_toml": "solver.risk.calibration",
    "read_uci": "solver.risk.uci",
    "uci_panel": "solver.risk.uci",
    "uci_features": "solver.risk.uci",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
