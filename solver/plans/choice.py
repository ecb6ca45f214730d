"""One family's best plan for one account, before its metrics: :class:`Choice`.

Built by :mod:`solver.plans.level_choices` (the level families and the waterfall) and
:mod:`solver.plans.run_choices` (``custom`` and ``step``), gathered by
:func:`solver.plans.choices.family_choices`, turned into options by
:func:`solver.plans.plan_records.choice_option`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from solver.core.schedule import Schedule
from solver.domain import Status
from solver.plans.terms import PlanTerms

#: What a ``custom`` / ``step`` certificate is proved over (``Choice.bound_over``, the
#: JSON's ``bound_over``): the account's payment grid, or every policy-feasible amount
#: (the free bound, :mod:`solver.plans.free_custom`).
OVER_GRID = "payment_grid"
OVER_EVERY_AMOUNT = "every_amount"


@dataclass(frozen=True)
class Choice:
    """A family's best plan for one account, before its metrics (or why it has none).

    ``search_npv`` is the value the family's search gave it (float or grid search);
    :class:`~solver.plans.plan_records.PlanOption` reports the model's figures instead.
    ``bound_over`` says what ``custom``'s and ``step``'s certificate (status, bound, gap)
    is proved over: :data:`OVER_GRID` or :data:`OVER_EVERY_AMOUNT` ("" for the others).
    """

    label: str
    family: str
    feasible: bool
    schedule: Schedule | None = None
    terms: PlanTerms = PlanTerms()
    reason: str = ""
    status: Status = Status.INFEASIBLE
    bound: float = math.nan
    gap: float = math.nan
    search_npv: float = math.nan
    bound_over: str = ""
