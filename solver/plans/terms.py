"""The terms of a plan option: what the customer is offered, typed (issue 14).

A :class:`PlanTerms` says how long a plan runs, its holiday, rate, waivers and payment
levels. Each family fills the fields it has and leaves the others ``None``:

* the level families (``instalment``, ``deferral``, ``concession``, ``settlement``,
  ``waterfall``): term, holiday, rate, waivers, haircut, forbearance, the waterfall's step
  and the payment levels;
* ``custom`` and ``step``: term, holiday, rate, payment levels and their payment grid;
* the status quo: term, rate and payment levels.

:meth:`PlanTerms.to_dict` writes only the fields a family has, in one fixed order: the
``params`` object of ``workout plan --format json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: The plan terms a table shows one column each, in this order (``plan --out``, the
#: portfolio's plans file); ``levels`` follows them as text.
TABLE_TERMS: tuple[str, ...] = (
    "term",
    "deferral_months",
    "deferral_mode",
    "rate",
    "fee_waiver",
    "interest_waiver",
    "haircut",
)


@dataclass(frozen=True)
class PlanTerms:
    """Terms of one plan option; ``None`` where the family has no such term."""

    #: months of the plan, holiday included
    term: int | None = None
    #: months of payment holiday at the start (absent for the status quo) and what happens
    #: to the interest in them (``None`` without a holiday)
    deferral_months: int | None = None
    deferral_mode: str | None = None
    #: annual interest rate of the plan
    rate: float | None = None
    #: shares of the fees, of the accrued interest and of the principal forgiven
    fee_waiver: float | None = None
    interest_waiver: float | None = None
    haircut: float | None = None
    #: principal forborne: an interest-free balloon paid with the last instalment
    forbearance: float | None = None
    #: the step of the waterfall heuristic that produced the plan
    waterfall_step: str | None = None
    #: distinct payment phases (amounts), in order
    levels: tuple[float, ...] | None = None
    #: the payment grid ``custom`` and ``step`` searched: its step and its amounts
    grid_step: float | None = None
    grid: tuple[float, ...] | None = None

    @property
    def holiday(self) -> int:
        """Months of payment holiday (0 without one)."""
        return self.deferral_months or 0

    def to_dict(self) -> dict[str, Any]:
        """The terms the family has, in the order of the JSON ``params`` object."""
        out: dict[str, Any] = {}
        if self.term is not None:
            out["term"] = self.term
        if self.deferral_months is not None:
            out["deferral_months"] = self.deferral_months
            out["deferral_mode"] = self.deferral_mode
        for name in (
            "rate",
            "fee_waiver",
            "interest_waiver",
            "haircut",
            "forbearance",
            "waterfall_step",
        ):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.levels is not None:
            out["levels"] = list(self.levels)
        if self.grid_step is not None:
            out["grid_step"] = self.grid_step
        if self.grid is not None:
            out["grid"] = list(self.grid)
        return out
