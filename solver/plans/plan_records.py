"""The records of a plan search's answer (SPEC §6): :class:`PlanOption`, one plan family's
best plan with its metrics, and :class:`PlanResult`, all of an account's options and the
recommendation; :func:`choice_option` builds an option from a family's
:class:`~solver.plans.choice.Choice` and the model's metrics of its schedule.

The search and the recommendation that fill them: :mod:`solver.plans.options`; the
frontier a result serialises and the customer's pick: :mod:`solver.plans.customer_choice`.

Metrics
-------
``npv``, ``pd_12m``, ``pd_life``, ``expected_loss``
    From the model for the reported schedule.
``npv_vs_status_quo``
    ``npv`` minus the status quo's model NPV.
``concession_cost``
    What the plan's terms give up, ignoring default: the **contractual NPV** — the
    status-quo cash flows (``status_quo(account)``: arrears, fees and the contractual
    instalment in month 1, the instalment afterwards, the last payment clearing the
    balance) discounted at the cost of funds with no default — minus the plan's
    scheduled payments discounted the same way. It can be negative (a longer plan at a
    rate above the cost of funds is worth more than the contract if it is paid).
``total_paid``, ``apr``
    Sum of scheduled payments; APR of the payments against the plan's opening balance
    (SPEC §2).
``max_dti``, ``min_afford_prob``
    Over the months with a payment: ``max (other_debt + p_t) / Ī_t`` and ``min a_t``.
``customer_cost``
    The customer's total cost beside the bank's value (issue 13 criterion 7): the interest
    and fees the customer is charged, each discounted to today at the account's contract
    rate -- the accrued interest and fees the opening balance carries from before the plan
    (net of waivers; a principal haircut counts against them) at t = 0, plus the
    schedule's ``interest`` column, month ``t`` at ``1/(1 + annual_rate/12)^t``
    (capitalised interest when it accrues, not again when repaid). The status quo is
    costed the same way from its own schedule. It grows with the term of a plan at the
    contract rate and falls with a waiver or a rate cut; the contract rate discounts a
    concession's plan too. The one definition, and why: :func:`solver.plans.metrics.customer_costs`.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

import numpy as np

from solver.core.schedule import Schedule
from solver.domain import Status
from solver.plans.choice import Choice
from solver.plans.context import PlanContext
from solver.plans.explain import binding_constraints
from solver.plans.frontier import TradeOffs
from solver.plans.metrics import METRICS
from solver.plans.terms import PlanTerms

#: The label (and family) of the status quo, the contract as it stands, among the options.
STATUS_QUO = "status_quo"


@dataclass(frozen=True)
class PlanOption:
    """One plan family's best plan (or why it has none).

    Attributes
    ----------
    family, label
        Family name (SPEC §6) and a label that tells deferral modes apart
        (``"deferral/capitalize"``).
    feasible
        Whether the policy admits a plan of this family; ``reason`` says why not.
    terms
        Plan terms (:class:`~solver.plans.terms.PlanTerms`): term, deferral months and
        mode, rate, waivers, haircut, forbearance, payment levels (the JSON ``params``).
    schedule
        The cent-exact schedule (``None`` if infeasible).
    binding
        Binding constraints in words.
    status, bound, gap
        Solver status of the family's search: ``OPTIMAL`` (proved best over what
        ``bound_over`` names for custom and step: its grid, or every amount),
        ``FEASIBLE`` (best found; ``bound`` is a proven upper bound and ``gap`` the
        relative gap), ``INFEASIBLE``, or ``REFERENCE`` for the status quo and waterfall.
    bound_over
        What ``custom``'s and ``step``'s certificate is proved over: ``"payment_grid"``
        (the account's grid of amounts) or ``"every_amount"`` (the free bound: every
        policy-feasible schedule of the family); ``""`` for the other families.
    """

    family: str
    label: str
    feasible: bool
    terms: PlanTerms = PlanTerms()
    schedule: Schedule | None = None
    npv: float = math.nan
    npv_vs_status_quo: float = math.nan
    pd_12m: float = math.nan
    pd_life: float = math.nan
    expected_loss: float = math.nan
    concession_cost: float = math.nan
    total_paid: float = math.nan
    customer_cost: float = math.nan
    apr: float = math.nan
    max_dti: float = math.nan
    min_afford_prob: float = math.nan
    binding: tuple[str, ...] = ()
    reason: str = ""
    status: Status = Status.INFEASIBLE
    bound: float = math.nan
    gap: float = math.nan
    bound_over: str = ""

    def metrics(self) -> dict[str, float]:
        """The SPEC §6 metrics as a dict."""
        return {k: getattr(self, k) for k in METRICS}

    @property
    def payments(self) -> np.ndarray:
        return np.zeros(0) if self.schedule is None else self.schedule.payments

    def to_dict(self, schedule: bool = True) -> dict[str, Any]:
        """JSON-ready mapping (metrics rounded for display only where noted)."""
        out: dict[str, Any] = {
            "family": self.family,
            "label": self.label,
            "feasible": self.feasible,
            "params": _jsonable(self.terms.to_dict()),
        }
        for k in METRICS:
            out[k] = _num(getattr(self, k))
        out["binding"] = list(self.binding)
        out["status"] = self.status
        out["bound"] = _num(self.bound)
        out["gap"] = _num(self.gap)
        if self.bound_over:
            out["bound_over"] = self.bound_over
        if self.reason:
            out["reason"] = self.reason
        if schedule:
            out["schedule"] = (
                []
                if self.schedule is None
                else [
                    {
                        k: row[k]
                        for k in ("month", "payment", "interest", "principal", "fees", "balance")
                    }
                    for row in self.schedule.to_records()
                ]
            )
        return out


@dataclass(frozen=True)
class PlanResult:
    """All plan options for one account and the recommendation (SPEC §6).

    Attributes
    ----------
    status
        ``RECOMMENDED`` (a plan passes the NPV test), ``NPV_TEST_FAILED`` (feasible
        plans exist but none beats the status quo), ``INFEASIBLE`` (no plan satisfies
        the policy; ``relaxation`` gives the smallest single change that makes one) or,
        with the policy's ``need_test``, ``CONTRACT_AFFORDABLE`` (the contract meets the
        affordability rules in every month: no plan is recommended).
    recommended
        Label of the recommended option, or ``None``.
    explanation
        Why, in words.
    """

    account_id: str
    status: Status
    recommended: str | None
    npv_test_passed: bool
    explanation: str
    status_quo: PlanOption
    options: tuple[PlanOption, ...]
    relaxations: tuple[dict[str, Any], ...] = ()
    runtime: float = 0.0
    #: Whether the contract meets the affordability rules in every month
    #: (:func:`~solver.plans.schedules.contract_affordable`, the need test), decided once
    #: here whatever the policy's ``need_test``: with it the status is
    #: ``CONTRACT_AFFORDABLE``, without it a recommendation says the plan is optional.
    #: The counter-offer reads it from here (not in the JSON document).
    contract_affordable: bool = False
    #: One account's plans at every term, priced only when the frontier is asked for
    #: (:func:`~solver.plans.customer_choice.efficient_frontier`); ``None`` for a portfolio
    #: run's results.
    trade_offs: TradeOffs | None = field(default=None, repr=False, compare=False)

    @property
    def recommended_option(self) -> PlanOption | None:
        return None if self.recommended is None else self.option(self.recommended)

    @property
    def objective(self) -> float:
        opt = self.recommended_option
        return math.nan if opt is None else opt.npv

    def option(self, name: str) -> PlanOption:
        """The option with this label (``"deferral/waive"``) or the best of a family (``"deferral"``)."""
        if name == STATUS_QUO:
            return self.status_quo
        exact = [o for o in self.options if o.label == name]
        if exact:
            return exact[0]
        fam = [o for o in self.options if o.family == name]
        if not fam:
            raise KeyError(f"no option {name!r}; options are {[o.label for o in self.options]}")
        feasible = [o for o in fam if o.feasible]
        return max(feasible, key=lambda o: o.npv) if feasible else fam[0]

    def summary(self) -> str:
        """A few lines for a terminal."""
        lines = [f"account {self.account_id}: {self.status}", f"  {self.explanation}"]
        sq = self.status_quo
        lines.append(f"  status quo NPV {sq.npv:,.2f}  PD 12m {sq.pd_12m:.1%}")
        for o in self.options:
            if o.feasible:
                mark = "*" if o.label == self.recommended else " "
                lines.append(
                    f" {mark}{o.label:<24} NPV {o.npv:>12,.2f}  Δ {o.npv_vs_status_quo:>+11,.2f}"
                    f"  term {'' if o.terms.term is None else o.terms.term}  {o.status}"
                )
            else:
                lines.append(f"  {o.label:<24} infeasible: {o.reason}")
        return "\n".join(lines)

    def to_dict(self, schedules: bool = True) -> dict[str, Any]:
        """The ``workout plan --format json`` object."""
        sq = self.status_quo.to_dict(schedule=schedules)
        return {
            "account_id": self.account_id,
            "status": self.status,
            "recommended": None
            if self.recommended is None
            else self.option(self.recommended).family,
            "recommended_label": self.recommended,
            "npv_test_passed": self.npv_test_passed,
            "explanation": self.explanation,
            "status_quo": sq,
            "options": [o.to_dict(schedule=schedules) for o in self.options],
            "relaxations": _jsonable(list(self.relaxations)),
            **self._frontier_dict(),
        }

    def _frontier_dict(self) -> dict[str, Any]:
        """The frontier's plans in full, without schedules (``frontier_options``), for a
        result of :func:`~solver.plans.options.plan_options`; nothing for a portfolio run's
        result."""
        if self.trade_offs is None or self.status_quo.schedule is None:
            return {}
        # imported here: solver.plans.customer_choice builds on these records
        from solver.plans.customer_choice import efficient_frontier

        return {"frontier_options": [o.to_dict(schedule=False) for o in efficient_frontier(self)]}


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return _num(float(value))
    return value


def choice_option(
    ctx: PlanContext, i: int, ch: Choice, metrics: dict[str, float], lazy: bool
) -> PlanOption:
    """The reported option of a family's choice for account ``i``, with its ``metrics``."""
    if ch.schedule is None:
        return _plan_option(
            family=ch.family,
            label=ch.label,
            feasible=False,
            terms=ch.terms,
            schedule=None,
            reason=ch.reason,
            status=ch.status,
            bound=ch.bound,
            gap=ch.gap,
            bound_over=ch.bound_over,
        )
    # portfolio runs (lazy) report no binding constraints: skip the words
    binding = (
        binding_constraints(ctx, i, ch.family, ch.schedule, ch.terms, metrics)
        if ch.feasible and not lazy
        else ()
    )
    return _plan_option(
        family=ch.family,
        label=ch.label,
        feasible=ch.feasible,
        terms=ch.terms,
        schedule=ch.schedule,
        **metrics,
        binding=tuple(binding),
        reason=ch.reason,
        status=ch.status,
        # proved optimal: the bound is the plan's own NPV (as evaluate() gives it)
        bound=metrics["npv"]
        if ch.status == Status.OPTIMAL and math.isfinite(ch.bound)
        else ch.bound,
        gap=ch.gap,
        bound_over=ch.bound_over,
    )


#: The defaults of :class:`PlanOption`'s fields (all but family, label and feasible).
_OPTION_DEFAULTS = {f.name: f.default for f in fields(PlanOption) if f.default is not MISSING}


def _plan_option(**values: Any) -> PlanOption:
    """``PlanOption(**values)``: the same object, built without the frozen dataclass's
    ``object.__setattr__`` per field (nine options an account in a portfolio run);
    ``values`` must name ``family``, ``label`` and ``feasible``."""
    option = object.__new__(PlanOption)
    option.__dict__.update(_OPTION_DEFAULTS, **values)
    return option
