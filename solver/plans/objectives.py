"""Which plan is recommended: the objectives and the customer objective's default margin.

Defined once, here, for every place that names them:
:func:`solver.plans.customer_choice.choose_for` (which applies them), the service's request
(``objective``, ``within_pct``) and the command line's ``--objective`` and ``--within``
(:func:`commands.output.objective_options`).

Decision (session 22, from a review that found the command line's own copies): this module
imports nothing, so that ``workout plan --help`` reads the choices and the default from
the one definition without loading the planner (``solver.plans.options`` loads numpy and
the compiled search; tests/test_cli_startup.py checks what ``--help`` imports).
"""

from __future__ import annotations

__all__ = ["CUSTOMER_OBJECTIVE", "DEFAULT_OBJECTIVE", "DEFAULT_WITHIN_PCT", "OBJECTIVES"]

#: The default objective, ``bank``: recommend the plan with the highest NPV that passes the
#: NPV test (what :func:`solver.plans.plan_options` recommends; ``choose_for`` keeps it).
DEFAULT_OBJECTIVE = "bank"

#: The ``customer`` objective: the plan cheapest for the customer among those within a
#: margin of the bank's best (:func:`solver.plans.customer_choice.choose_for`).
CUSTOMER_OBJECTIVE = "customer"

#: What a recommendation may maximise. The default is first: ``--objective`` defaults to
#: the first choice (:func:`commands.options.choice_option`).
OBJECTIVES: tuple[str, str] = (DEFAULT_OBJECTIVE, CUSTOMER_OBJECTIVE)

#: The ``customer`` objective's default margin: how far below the best NPV a plan may be,
#: in percent (``--within``, the service's ``within_pct``; ``choose_for`` takes it as a
#: share, this over 100).
DEFAULT_WITHIN_PCT = 1.0
