"""The multi-week problem of a book (``workout allocate --weeks W``): per week and option,
the value, the chance the account stays open and what follows a payment or a signed plan
(:class:`HorizonModel`, :func:`build_horizon`). :mod:`solver.allocation.horizon` prices it
and runs it on a rolling horizon.

Model (per account; a week is the catalogue's ``period_days``)
--------------------------------------------------------------
States are the roll-rate chain's (:data:`solver.risk.rollrates.STATES`): an open account in
its dpd bucket, and the absorbing ``paid`` and ``charged_off``; a signed plan is absorbing
too. An account still open in week ``w`` has ``dpd + period_days·(w − 1)`` days past due
(it is open only if it paid nothing so far), so its bucket in each week is known; only
whether it is still open is random. In week ``w`` treatment option ``o`` (treatment × team)

- collects ``r_o(w)``: the week's expected collected − cost (the one-week objective without
  the plan offer's part, the same code:
  :func:`~solver.allocation.portfolio.build_allocation_problem` on the book aged to week
  ``w``, so eligibility follows the bucket too);
- brings a payment with the catalogue's probability ``p_o(w)``
  (:func:`~solver.allocation.values.payment_probability`): the account is ``paid``;
- for ``senior_call`` on an account with a recommended plan, has it accept the plan with
  ``q = p_reach · p_accept``; the account then pays the plan: its NPV ``U`` (the
  ``plan-portfolio`` column ``npv``; ``npv_vs_status_quo`` when the table has no ``npv``)
  counts as a level weekly stream over the plan's term (an annuity at the cost of funds
  whose present value is ``U``), and only the weeks of it inside the horizon count
  (*amortised*, not added to one week: :func:`~solver.allocation.values.level_stream`). What the plan gains over the status quo then
  shows in the programme's comparison of accepting with not accepting, in one currency;
- otherwise the account defaults with the behaviour model's hazard
  (:meth:`solver.core.model.ModelKernel.hazard` of paying its due this month, turned
  weekly: ``1 − (1 − h)^(period_days/30.44)``) or stays open and ages.

Value is expected cash discounted to week 1 at the model's cost of funds, within the horizon
(one currency: collected cash and plan streams alike; what happens after the horizon is not
counted, for either policy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from solver.allocation.catalogue import Catalogue
from solver.allocation.plans_table import ensure_checked
from solver.allocation.portfolio import AllocationProblem, build_allocation_problem
from solver.allocation.teams import Teams
from solver.allocation.values import (
    DAYS_PER_MONTH,
    due_basis,
    level_stream,
    payment_probability,
    period_discount,
    plan_offers,
)
from solver.core.annuity import level_payment
from solver.core.model import AccountParams, BehaviourModel
from solver.core.tiering import dpd_bucket
from solver.errors import InputError

__all__ = ["MAX_WEEKS", "MIN_WEEKS", "HorizonModel", "build_horizon"]


#: Horizons ``--weeks`` accepts (2 for quick checks; the issue asks for 4–12).
MIN_WEEKS, MAX_WEEKS = 2, 12


@dataclass(frozen=True, eq=False)
class HorizonModel:
    """The multi-week problem of a book: per-week values, transition probabilities, caps.

    Arrays are ``W × K × n`` (week, option, account) unless noted; values in CNY of their
    own week (not discounted); ``-inf`` value where the option is not allowed that week.
    """

    weeks: int
    discount: float  # weekly discount factor
    value: np.ndarray  # r_o(w)
    stay: np.ndarray  # P(still open next week | open, option) = (1−q)(1−p)(1−h)
    exit: np.ndarray  # PV at week 1 of what follows a plan or a payment in week w (see build)
    one_week: np.ndarray | None  # the one-week objective's values (plan offer added) with plans
    stream: np.ndarray  # W × n: PV at week 1 of the plan's weekly stream after week w, in horizon
    minutes: np.ndarray  # K: team minutes of each option
    row_of: np.ndarray  # K: team index (−1: none)
    capacity: np.ndarray  # teams: minutes per week
    action_cost: np.ndarray  # K: cost per week of each option
    budget: float | None
    weeks_built: tuple[AllocationProblem, ...] = field(repr=False, default=())

    @property
    def n(self) -> int:
        """Number of accounts."""
        return int(self.value.shape[2])

    def week_factor(self, w: int) -> float:
        """Discount of week ``w`` (0-based) to week 1."""
        return float(self.discount**w)


def _aged(portfolio: Any, days: int) -> Any:
    """The book ``days`` later for accounts that paid nothing: dpd and bucket advanced."""
    out = portfolio.copy()
    dpd = portfolio["dpd"].to_numpy(dtype=np.float64) + days
    out["dpd"] = dpd
    out["dpd_bucket"] = dpd_bucket(dpd)
    return out


def _weekly_hazards(
    portfolio: Any, model: BehaviourModel, period_days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weekly default hazard of each account while delinquent (the model's monthly hazard of
    paying its due) and once cured (of paying its contractual instalment), and that
    instalment (SPEC §4: level payment of principal + interest − arrears over the term)."""
    params = AccountParams.from_frame(portfolio, model)
    kernel = model.kernel(params, 1)
    principal = portfolio["principal"].to_numpy(dtype=np.float64)
    interest = portfolio["interest_due"].to_numpy(dtype=np.float64)
    arrears = portfolio["arrears"].to_numpy(dtype=np.float64)
    term = np.maximum(portfolio["remaining_term"].to_numpy(dtype=np.float64), 1.0)
    due = due_basis(portfolio)
    rate = portfolio["annual_rate"].to_numpy(dtype=np.float64)
    instalment = np.asarray(
        level_payment(np.maximum(0.0, principal + interest - arrears), rate, term), dtype=float
    )
    rows = np.arange(len(portfolio))
    share = period_days / DAYS_PER_MONTH
    weekly = [
        np.asarray(1.0 - (1.0 - kernel.hazard(rows, pay[:, None])[:, 0]) ** share, dtype=float)
        for pay in (due, instalment)
    ]
    return weekly[0], weekly[1], instalment


def build_horizon(
    portfolio: Any,
    catalogue: Catalogue,
    teams: Teams,
    *,
    weeks: int,
    plans: Any | None = None,
    budget: float | None = None,
    model: BehaviourModel | None = None,
) -> HorizonModel:
    """The :class:`HorizonModel` of a book over ``weeks`` periods (budget: per period)."""
    if not MIN_WEEKS <= weeks <= MAX_WEEKS:
        raise InputError(f"--weeks must be {MIN_WEEKS} to {MAX_WEEKS}, got {weeks}")
    model = model or BehaviourModel()
    n = len(portfolio)
    days = catalogue.period_days
    discount = period_discount(catalogue, model)
    hazard, cured_hazard, instalment = _weekly_hazards(portfolio, model, days)
    offer = catalogue.plan_offer_index
    if plans is not None and offer is not None:
        # checked once for every week's build and the stream below, not once per week (the
        # aged books keep this book's ids and balances: CheckedPlans.checked_with); no plan
        # offer in the catalogue, no use of the table, no check (as before)
        plans = ensure_checked(plans, portfolio)
    built_weeks = []
    values, stays, pays, one_week = [], [], [], []
    for w in range(weeks):
        aged = _aged(portfolio, days * w)
        # one build per week: the one-week objective (the plan offer valued over what is
        # left of the horizon, in this week's money) and, without the plan offer's part,
        # the week's cash r_o(w); the signed plan's cash is the amortised stream below
        built = build_allocation_problem(
            aged, catalogue, teams, plans=plans, budget=budget, valuation_weeks=weeks - w,
            model=model,
        )  # fmt: skip
        built_weeks.append(built)
        pay = payment_probability(aged, catalogue)[built.option_treatment]
        if plans is None:
            values.append(built.value)
        else:
            values.append(np.round(built.value - built.plan_value, 2))
            one_week.append(built.value)
        pays.append(pay)
        stays.append((1.0 - pay) * (1.0 - hazard)[None, :])
    o_t = built_weeks[0].option_treatment
    accept = np.zeros((o_t.size, n))
    stream = np.zeros((weeks, n))
    if plans is not None and offer is not None:
        offers = plan_offers(portfolio, plans, catalogue)
        # once signed, the plan is the account's cash: its own NPV (the uplift alone when the
        # table has no npv column) paid as a level stream over its term, inside the horizon
        accept[o_t == offer] = np.where(offers.offered, offers.accept, 0.0)[None, :]
        stream = level_stream(offers.npv, offers.periods, discount, weeks)
    stay = np.stack(stays) * (1.0 - accept)[None, :, :]
    # a payment cures the account: it pays its instalment (a weekly share of it) while it
    # survives the cured hazard, to the end of the horizon
    weekly_cash = instalment * days / DAYS_PER_MONTH
    cured = np.zeros((weeks, n))
    for w in range(weeks):
        s = np.arange(w + 1, weeks)[:, None]
        cured[w] = (discount**s * (1.0 - cured_hazard)[None, :] ** (s - w)).sum(
            axis=0
        ) * weekly_cash
    exit_value = (
        accept[None] * stream[:, None, :]
        + (1.0 - accept)[None] * np.stack(pays) * cured[:, None, :]
    )
    first = built_weeks[0]
    minutes = np.asarray(first.problem.weight[:, 0], dtype=np.float64)
    action_cost = np.array([catalogue.treatments[t].cost for t in o_t], dtype=np.float64)
    return HorizonModel(
        weeks=weeks,
        discount=discount,
        value=np.stack(values),
        stay=stay,
        exit=exit_value,
        one_week=np.stack(one_week) if one_week else None,
        stream=stream,
        minutes=minutes,
        row_of=first.option_team,
        capacity=teams.capacity(),
        action_cost=action_cost,
        budget=budget,
        weeks_built=tuple(built_weeks),
    )
