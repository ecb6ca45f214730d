"""Each family's best plan for a batch of accounts, as cent-exact schedules (SPEC §6).

:func:`family_choices` runs the families in order: the level families scored in one
pass (:mod:`solver.plans.level_choices`), ``custom`` and ``step`` by the exact search on
the payment grid (:mod:`solver.plans.run_choices`: :mod:`solver.plans.search`, seeded
with the best level plans, and certified more tightly by :mod:`solver.plans.refine` where
the gap is wide), then the waterfall reference. Every winner is rebuilt in cents and
checked against the policy again (:mod:`solver.plans.schedules`); if cent rounding made it
infeasible, the next candidate is used. The result is one
:class:`~solver.plans.choice.Choice` per family and account, before the metrics.
"""

from __future__ import annotations

from solver.domain import OFFERED_FAMILIES
from solver.plans.choice import Choice
from solver.plans.context import PlanContext
from solver.plans.level_choices import level_choices, rebuild_pending, waterfall_choices
from solver.plans.run_choices import run_choices
from solver.plans.search_types import SearchParams


def family_choices(
    ctx: PlanContext, search: SearchParams, lazy: bool = False
) -> list[list[Choice]]:
    """Best plan of every family for every account of the context (exact schedules).

    In order: the level families (scored in one pass), custom and step (the exact search
    on the payment grid, seeded with the best level plans), then the waterfall reference.
    With ``lazy`` (portfolio runs, where only the recommendation is reported), a level
    family's winner is rebuilt in cents only if its float NPV is within 1e-6 of the
    account's best float NPV; the others are reported as not evaluated.
    """
    out: list[list[Choice]] = [[] for _ in range(len(ctx))]
    pending, seeds, extra_amounts = level_choices(ctx, lazy, out)
    run_choices(ctx, search, lazy, out, seeds, extra_amounts)
    if pending:
        rebuild_pending(ctx, out, pending)
    waterfall_choices(ctx, out)
    return out


def any_offered_feasible(ctx: PlanContext, search: SearchParams) -> list[bool]:
    """Per account, whether :func:`family_choices` finds a feasible offered plan -- the
    same answer, cheaper: the level families are solved first, and custom and step (the
    payment-grid search, the costly part) run only when some account has no feasible level
    plan (a level family's choice does not depend on the later ones)."""
    n = len(ctx)
    out: list[list[Choice]] = [[] for _ in range(n)]
    _, seeds, extra_amounts = level_choices(ctx, False, out)
    found = [_offered_feasible(chs) for chs in out]
    if all(found):
        return found
    run_choices(ctx, search, False, out, seeds, extra_amounts)
    return [_offered_feasible(chs) for chs in out]


def _offered_feasible(choices: list[Choice]) -> bool:
    """Whether any of an account's choices is a feasible plan of an offered family."""
    return any(c.feasible and c.family in OFFERED_FAMILIES for c in choices)
