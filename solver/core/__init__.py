"""The foundations every role builds on (SPEC §3-§5, §11).

* :mod:`~solver.core.money` -- level payments, cent-exact schedules, the APR;
* :mod:`~solver.core.account` -- the account schema, tiering, :class:`Account`;
* :mod:`~solver.core.io` -- reading, validating and writing portfolios;
* :mod:`~solver.core.policy` -- the restructuring policy;
* :mod:`~solver.core.model` -- the behaviour-model kernel (SPEC §4), the one
  implementation every optimizer and the simulation call;
* :mod:`~solver.core.generate` -- synthetic books;
* :mod:`~solver.core.atomic`, :mod:`~solver.core.interrupts`, :mod:`~solver.core.limits`
  -- safe output, interruption, size limits.
"""

from __future__ import annotations

from solver._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "apr": "solver.core.money",
    "level_payment": "solver.core.money",
    "Schedule": "solver.core.money",
    "schedule_from_payments": "solver.core.money",
    "level_plan": "solver.core.money",
    "Account": "solver.core.account",
    "effective_income_normal": "solver.core.account",
    "read_portfolio": "solver.core.io",
    "read_account": "solver.core.io",
    "read_forecast": "solver.core.io",
    "write_table": "solver.core.io",
    "Policy": "solver.core.policy",
    "BehaviourModel": "solver.core.model",
    "BehaviourModelProtocol": "solver.core.model",
    "ModelKernel": "solver.core.model",
    "AccountParams": "solver.core.model",
    "Evaluation": "solver.core.model",
    "evaluate": "solver.core.model",
    "evaluate_batch": "solver.core.model",
    "status_quo": "solver.core.model",
    "status_quo_batch": "solver.core.model",
    "generate_portfolio": "solver.core.generate",
    "atomic_path": "solver.core.atomic",
    "atomic_open": "solver.core.atomic",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
