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

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # errors
    "WorkoutError": "solver.errors",
    "InputError": "solver.errors",
    "InfeasibleError": "solver.errors",
    "TimeLimitError": "solver.errors",
    # money
    "apr": "solver.money",
    "level_payment": "solver.money",
    "Schedule": "solver.money",
    "schedule_from_payments": "solver.money",
    "level_plan": "solver.money",
    # accounts and I/O
    "Account": "solver.account",
    "read_portfolio": "solver.io",
    "read_account": "solver.io",
    "read_forecast": "solver.io",
    "effective_income_normal": "solver.account",
    "write_table": "solver.io",
    "generate_portfolio": "solver.generate",
    # behaviour model
    "BehaviourModel": "solver.model",
    "BehaviourModelProtocol": "solver.model",
    "ModelKernel": "solver.model",
    "AccountParams": "solver.model",
    "Evaluation": "solver.model",
    "evaluate": "solver.model",
    "evaluate_batch": "solver.model",
    "status_quo": "solver.model",
    "status_quo_batch": "solver.model",
    # plans
    "Policy": "solver.policy",
    "plan_options": "solver.plans",
    "PlanResult": "solver.plans",
    "choose_for": "solver.plans",
    "efficient_frontier": "solver.plans",
    "SearchParams": "solver.plan_custom",
    "plan_portfolio": "solver.plans",
    "plan_batch": "solver.plans",
    "PortfolioPlans": "solver.plans",
    # allocation
    "solve_gap": "solver.gap",
    "AssignmentResult": "solver.gap",
    "AllocationResult": "solver.allocation",
    "allocate": "solver.allocation",
    "Status": "solver.domain",
    "read_gap_file": "solver.orlib",
    "Catalogue": "solver.allocation_catalogue",
    "Teams": "solver.allocation_catalogue",
    # scenarios
    "load_scenario": "solver.scenario",
    "run_scenario": "solver.simulation",
    "Scenario": "solver.scenario",
    "compare": "solver.simulation",
    "run_sweep": "solver.simulation",
    "simulate_paths": "solver.simulation",
    "split_portfolio": "solver.experiment",
    "evaluate_outcomes": "solver.experiment",
    "write_scenario_report": "solver.report",
    # risk analytics
    "absorption": "solver.risk",
    "absorbing_summary": "solver.risk",
    "expected_loss": "solver.risk",
    "roll_rates": "solver.risk",
    "read_panel": "solver.risk",
    "fit_early_warning": "solver.risk",
    "fit_uci": "solver.risk",
    "EarlyWarningModel": "solver.risk",
    "score_accounts": "solver.risk",
    "assign_tiers": "solver.risk",
    "calibrate_hazards": "solver.risk",
    "calibrate_outcomes": "solver.risk",
    "write_behaviour_toml": "solver.risk",
    "read_uci": "solver.risk",
    "uci_panel": "solver.risk",
    "uci_features": "solver.risk",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'solver' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
