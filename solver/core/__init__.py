"""The foundations every role builds on (SPEC §2-§5, §11).

Money (SPEC §2):

* :mod:`~solver.core.annuity` -- level payments and balances in floats, vectorised;
* :mod:`~solver.core.schedule` -- the cent-exact :class:`Schedule`;
* :mod:`~solver.core.amortisation` -- building schedules (level, step, given payments);
* :mod:`~solver.core.actuarial` -- the APR by the actuarial method;
* :mod:`~solver.core.currency` -- the policy currency's minor unit (decimals printed,
  instalment units allowed).

Accounts and their files (SPEC §3, §5, §11):

* :mod:`~solver.core.schema` -- the column table; :mod:`~solver.core.tiering` -- dpd
  buckets and tiers; :mod:`~solver.core.cleaning` -- one account's values;
  :mod:`~solver.core.account` -- :class:`Account` (:mod:`~solver.core.account_checks`:
  the ``--set`` and cross-field checks);
* :mod:`~solver.core.validation` (with :mod:`~solver.core.columns`,
  :mod:`~solver.core.problems`, :mod:`~solver.core.messages`) -- a whole table, vectorised;
* :mod:`~solver.core.files`, :mod:`~solver.core.formats`, :mod:`~solver.core.excel_table`,
  :mod:`~solver.core.readers`, :mod:`~solver.core.streaming`, :mod:`~solver.core.table_header`,
  :mod:`~solver.core.forecast` (:mod:`~solver.core.forecast_checks`) -- reading;
  :mod:`~solver.core.book_check` -- ``validate``'s chunked check of a book;
  :mod:`~solver.core.writers` -- writing; :mod:`~solver.core.summaries` -- summary tables;
* :mod:`~solver.core.generate` -- synthetic books (:mod:`~solver.core.sample_book`: a book
  and its history written as one set).

The behaviour model (SPEC §4) and the policy (SPEC §5):

* :mod:`~solver.core.model` -- the parameters and the kernel, the one implementation every
  optimizer and the simulation call; :mod:`~solver.core.evaluation` -- evaluating
  schedules; :mod:`~solver.core.contract` -- the status quo;
* :mod:`~solver.core.policy` -- the restructuring policy (:mod:`~solver.core.policy_types`:
  the value types of its own keys); :mod:`~solver.core.settings_words` -- a ``--set``
  value's and an unknown key's words.

:mod:`~solver.core.atomic`, :mod:`~solver.core.interrupts`, :mod:`~solver.core.limits`
-- safe output, interruption, size limits.
"""

from __future__ import annotations

from solver._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "apr": "solver.core.actuarial",
    "level_payment": "solver.core.annuity",
    "Schedule": "solver.core.schedule",
    "schedule_from_payments": "solver.core.amortisation",
    "level_plan": "solver.core.amortisation",
    "Account": "solver.core.account",
    "effective_income_normal": "solver.core.account",
    "read_portfolio": "solver.core.readers",
    "read_account": "solver.core.readers",
    "read_forecast": "solver.core.forecast",
    "write_table": "solver.core.writers",
    "Policy": "solver.core.policy",
    "BehaviourModel": "solver.core.model",
    "BehaviourModelProtocol": "solver.core.model",
    "ModelKernel": "solver.core.model",
    "AccountParams": "solver.core.model",
    "Evaluation": "solver.core.evaluation",
    "evaluate": "solver.core.evaluation",
    "evaluate_batch": "solver.core.evaluation",
    "status_quo": "solver.core.contract",
    "status_quo_batch": "solver.core.contract",
    "generate_portfolio": "solver.core.generate",
    "atomic_path": "solver.core.atomic",
    "atomic_open": "solver.core.atomic",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
