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
from solver.allocation import _EXPORTS as _ALLOCATION
from solver.core import _EXPORTS as _CORE
from solver.plans import _EXPORTS as _PLANS
from solver.risk import _EXPORTS as _RISK
from solver.scenarios import _EXPORTS as _SCENARIOS

#: Names solver.core exports that the top level does not (output plumbing, not API).
_CORE_ONLY = frozenset({"atomic_path", "atomic_open"})


def _pick(surface: dict[str, str], *names: str) -> dict[str, str]:
    """``names`` with their modules as ``surface`` (a package's ``_EXPORTS``) says them."""
    return {name: surface[name] for name in names}


# The top level re-exports each role's entry points by name; the module each name lives in
# is said once, in its package's surface.
_EXPORTS: dict[str, str] = {
    # errors
    "WorkoutError": "solver.errors",
    "InputError": "solver.errors",
    "InfeasibleError": "solver.errors",
    "TimeLimitError": "solver.errors",
    # money, accounts and I/O, behaviour model: solver.core's surface (safe-output helpers
    # stay there)
    **{name: module for name, module in _CORE.items() if name not in _CORE_ONLY},
    # plans
    **_pick(
        _PLANS,
        "plan_options",
        "PlanResult",
        "choose_for",
        "efficient_frontier",
        "SearchParams",
        "plan_portfolio",
        "plan_batch",
        "PortfolioPlans",
    ),
    # allocation
    "Status": "solver.domain",
    **_pick(
        _ALLOCATION,
        "solve_gap",
        "AssignmentResult",
        "AllocationResult",
        "allocate",
        "read_gap_file",
        "Catalogue",
        "Teams",
    ),
    # scenarios: solver.scenarios' surface
    **_SCENARIOS,
    # risk analytics
    **_pick(
        _RISK,
        "absorption",
        "absorbing_summary",
        "expected_loss",
        "roll_rates",
        "read_panel",
        "fit_early_warning",
        "fit_uci",
        "EarlyWarningModel",
        "score_accounts",
        "assign_tiers",
        "calibrate_hazards",
        "calibrate_outcomes",
        "write_behaviour_toml",
        "read_uci",
        "uci_panel",
        "uci_features",
    ),
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
