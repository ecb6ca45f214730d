"""The bank-vs-customer trade-off set of one account (issue 13 criterion 7).

Each plan family reports its best-NPV plan, so a frontier of the family bests alone has
a handful of points: an officer who can give up 2 % of the bank's NPV for a cheaper plan
never sees, say, the 36-month instalment plan. :class:`TradeOffs` adds the level
families' plans at every term the policy allows -- ``instalment`` at each term,
``deferral`` in each allowed mode at each holiday and term, ``concession`` at each rate,
waiver and term of its grid (:mod:`solver.plans.families`' own grids) -- and keeps those
that no other plan beats on both the bank's NPV and the customer's cost:

1. **Float screen, vectorised** over the candidates: feasibility and NPV by the families'
   scorer (:func:`solver.plans.scoring.score`), the customer's cost from the same float
   paths (:func:`solver.plans.scoring.paths`: interest charged in month ``t`` is the
   payment less the fall of the balance, discounted at the contract rate as
   :func:`solver.plans.metrics.customer_costs` does); only candidates beating the status
   quo are kept, then those no candidate beats on both by more than the slack that cent
   rounding can move (:data:`NPV_SLACK`, :data:`COST_SLACK`).
2. **Cent schedules for the survivors only**, built as the families build theirs
   (:func:`solver.plans.schedules.level_schedule`) and policy-checked
   (:func:`solver.plans.schedules.schedule_ok`); every figure is then the reported one:
   :func:`solver.plans.metrics.plan_metrics` (the behaviour model's ``evaluate_batch`` and
   ``customer_costs``) on the cent schedules.

The exact Pareto filter over these and the family bests is
:func:`solver.plans.customer_choice.efficient_frontier`; the pick under the customer's
objective :func:`solver.plans.customer_choice.choose_for`. Portfolio runs never build this
set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from solver.core.schedule import Schedule, interest_of_paths
from solver.domain import Status
from solver.plans.choice import Choice
from solver.plans.context import PlanContext, grid_of
from solver.plans.families import (
    MODE_NAMES,
    Candidates,
    concat,
    concession_candidates,
    deferral_candidates,
    instalment_candidates,
)
from solver.plans.metrics import charges_value, plan_metrics
from solver.plans.schedules import level_schedule, schedule_levels, schedule_ok
from solver.plans.scoring import paths, score

#: The families priced at every term (the level families whose grid has a term axis).
TERM_FAMILIES = ("instalment", "deferral", "concession")
#: Float-screen slack: a candidate is dropped only if another beats it by more than this
#: share of the best NPV *and* by more than :data:`COST_SLACK` in cost, so that a plan
#: that cent rounding could move onto the exact frontier is built in cents and decided there.
NPV_SLACK = 1e-4
COST_SLACK = 1.0

T = TypeVar("T")


def undominated(
    items: Sequence[T], npv: Callable[[T], float], cost: Callable[[T], float]
) -> list[T]:
    """The ``items`` that no other item beats on both NPV (higher) and cost (lower), by NPV
    descending; of items equal on both, the first in ``items`` is kept.

    >>> undominated([(5, 3), (4, 2), (4, 3), (3, 2), (2, 1)], lambda p: p[0], lambda p: p[1])
    [(5, 3), (4, 2), (2, 1)]
    """
    order = sorted(range(len(items)), key=lambda k: (-npv(items[k]), cost(items[k]), k))
    out: list[T] = []
    for k in order:
        if not out or cost(items[k]) < cost(out[-1]) - 1e-9:
            out.append(items[k])
    return out


def term_candidates(ctx: PlanContext) -> tuple[Candidates, list[str]]:
    """The level families' plans over every term of their grids (one account's context),
    with each row's option label stem (``instalment``, ``deferral/waive``, ``concession``)."""
    parts = [instalment_candidates(ctx), deferral_candidates(ctx), concession_candidates(ctx)]
    stems: list[str] = []
    for part in parts:
        if part.family == "deferral":
            stems += [f"deferral/{MODE_NAMES[int(m)]}" for m in part.mode]
        else:
            stems += [part.family] * len(part)
    return concat(parts), stems


def float_costs(ctx: PlanContext, cand: Candidates, unit: float) -> np.ndarray:
    """The customer's cost of each candidate from its float path: the charges the opening
    balance carries beyond the principal, plus each month's interest (the payment less the
    fall of the balance) discounted at the contract rate."""
    pay, exposure, _, _ = paths(ctx, cand, unit)
    carried = cand.balance - ctx.fields["principal"][cand.acc]
    return charges_value(
        carried, interest_of_paths(pay, exposure), ctx.fields["annual_rate"][cand.acc]
    )


def screen(npv: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Rows that no row beats on both by more than the slack (:data:`NPV_SLACK` of the
    best NPV, :data:`COST_SLACK`), vectorised: rows sorted by NPV, the least cost of the
    rows clearly above each."""
    if npv.size == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(-npv, kind="stable")
    v, c = npv[order], cost[order]
    least = np.minimum.accumulate(c)
    margin = NPV_SLACK * abs(float(v[0]))
    above = np.searchsorted(-v, -(v + margin), side="right")  # rows with NPV ≥ v + margin
    beaten = (above > 0) & (least[np.maximum(above - 1, 0)] <= c - COST_SLACK)
    return np.sort(order[~beaten])


def _label(stem: str, cand: Candidates, r: int) -> str:
    """A frontier plan's label: the family (and mode), the term (holiday + level months for
    a deferral) and a concession's rate and waivers."""
    term, hol = int(cand.term[r]), int(cand.deferral[r])
    if stem.startswith("deferral"):
        return f"{stem} {hol}+{term - hol}m"
    if stem != "concession":
        return f"{stem} {term}m"
    waived = [
        f"{name} −{share:.0%}"
        for name, share in (("fees", cand.fee_waiver[r]), ("interest", cand.interest_waiver[r]))
        if share > 0
    ]
    return f"concession {term}m at {float(cand.rate[r]):.2%}" + "".join(f", {w}" for w in waived)


class TradeOffs:
    """One account's plans at every term, priced lazily (the context ``plan_options``
    built; :func:`solver.plans.customer_choice.efficient_frontier` asks for them).

    Parameters
    ----------
    ctx
        The planning context of one account.
    """

    def __init__(self, ctx: PlanContext) -> None:
        self.ctx = ctx
        self._points: list[tuple[Choice, dict[str, float]]] | None = None
        self.options: dict[str, object] = {}  # label -> its PlanOption, once built

    def points(self, status_quo: Schedule, sq_npv: float) -> list[tuple[Choice, dict[str, float]]]:
        """The cent-exact, policy-feasible term plans that pass the NPV test against the
        status quo (``status_quo``, model NPV ``sq_npv``) and survive the float screen,
        each with its :data:`~solver.plans.metrics.METRICS` (computed once)."""
        if self._points is None:
            self._points = self._price(status_quo, sq_npv)
        return self._points

    def _price(self, status_quo: Schedule, sq_npv: float) -> list[tuple[Choice, dict[str, float]]]:
        ctx = self.ctx
        unit = ctx.policy.rounding
        cand, stems = term_candidates(ctx)
        ok, value = score(ctx, cand, unit)
        rows = np.flatnonzero(ok & (value > sq_npv))
        if rows.size == 0:
            return []
        sub = cand.take(rows)
        keep = rows[screen(value[rows], float_costs(ctx, sub, unit))]
        choices: list[Choice] = []
        for r in keep.tolist():
            try:
                sched = level_schedule(cand, r, unit, grid_of(ctx))
            except ValueError:  # no cent schedule with these terms: not a plan to offer
                continue
            stem = stems[r]
            max_zero = int(cand.deferral[r]) if stem.startswith("deferral") else 0
            if not schedule_ok(ctx, 0, sched, max_zero)[0]:
                continue
            terms = cand.terms(r, levels=schedule_levels(sched))
            family = stem.split("/")[0]
            label = _label(stem, cand, r)
            # evaluated at its terms, not optimised over the family (Status.REFERENCE)
            choices.append(Choice(label, family, True, sched, terms, status=Status.REFERENCE))
        if not choices:
            return []
        mets = plan_metrics(ctx, [[ch.schedule for ch in choices]], [status_quo])[0]
        return [(ch, m) for ch, m in zip(choices, mets[:-1], strict=True) if m["npv"] > sq_npv]
