"""The level families' best plans, and the waterfall reference, as cent-exact schedules.

The level families (``instalment``, ``deferral`` per deferral mode, ``concession``,
``settlement``) are scored in one pass on their grids (:mod:`solver.plans.scoring`); each
account's best float candidates are rebuilt in cents and checked against the policy
again (:mod:`solver.plans.schedules`) until one passes. The winners of ``instalment`` and
capitalised ``deferral`` seed the ``custom`` / ``step`` search
(:mod:`solver.plans.run_choices`).
"""

from __future__ import annotations

import numpy as np

from solver.domain import Status
from solver.plans.choice import Choice
from solver.plans.context import PlanContext, grid_of
from solver.plans.families import (
    MODE_NAMES,
    Candidates,
    WaterfallWalk,
    concat,
    concession_candidates,
    concession_terms,
    deferral_candidates,
    instalment_candidates,
    settlement_candidates,
    waterfall_candidates,
    waterfall_walk,
)
from solver.plans.schedules import level_schedule, schedule_levels, schedule_ok
from solver.plans.scoring import best_per_account, score
from solver.plans.terms import PlanTerms

TOP_K = 6  # float candidates tried per family when cent rounding breaks the winner


def level_choices(
    ctx: PlanContext, lazy: bool, out: list[list[Choice]]
) -> tuple[list[tuple], list[list[tuple[np.ndarray, np.ndarray]]], np.ndarray]:
    """Append each level family's best plan (per deferral mode for ``deferral``) to
    ``out``; return the winners left to rebuild (``lazy``), the seeds of the custom/step
    search (the instalment and capitalised-deferral schedules) and their first payments
    (extra amounts for the payment grid)."""
    pol = ctx.policy
    n = len(ctx)
    unit = pol.rounding
    groups: list[tuple[str, Candidates]] = [
        ("instalment", instalment_candidates(ctx)),
        ("deferral", deferral_candidates(ctx)),
        ("concession", concession_candidates(ctx)),
        ("settlement", settlement_candidates(ctx)),
    ]
    pending: list[tuple] = []
    seeds: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(n)]
    extra_amounts = np.full((n, 2), np.nan)
    # score every level family in one pass (rows are scored independently of each other)
    _, val_all = score(ctx, concat([c for _, c in groups]), unit)
    offsets = np.cumsum([0] + [len(c) for _, c in groups])
    for (family, cand), lo in zip(groups, offsets[:-1], strict=True):
        val = val_all[lo : lo + len(cand)]
        if family == "deferral":
            subsets = [
                (f"deferral/{m}", np.flatnonzero(cand.mode == code))
                for code, m in enumerate(MODE_NAMES)
                if m in pol.deferral_interest
            ]
        else:
            subsets = [(family, np.arange(len(cand)))]
        for label, rows in subsets:
            whole = rows.size == len(cand)  # all rows, in order
            local = best_per_account(
                cand.acc if whole else cand.acc[rows], val if whole else val[rows], n, TOP_K
            )
            tops = local if whole else [rows[k] for k in local]  # rows of `cand`
            seed_family = family == "instalment" or label == "deferral/capitalize"
            if lazy and not seed_family:
                later = Choice(label, family, False, reason="not evaluated")  # immutable: shared
                for i in range(n):
                    best_i = float(val[tops[i][0]]) if tops[i].size else -np.inf
                    pending.append((i, len(out[i]), label, family, cand, tops[i], val, best_i))
                    out[i].append(later)
                continue
            for i in range(n):
                ch = _first_exact(ctx, i, cand, tops[i], val, unit, family, label)
                out[i].append(ch)
                if ch.feasible and seed_family:
                    seeds[i].append((ch.schedule.payments, ch.schedule.exposures))  # type: ignore[union-attr]
                    col = 0 if family == "instalment" else 1
                    first = ch.terms.holiday
                    extra_amounts[i, col] = float(ch.schedule.payments[first])  # type: ignore[union-attr]
    if len(pol.deferral_interest) == 0 or pol.max_deferral_months == 0:
        for i in range(n):
            out[i].append(
                Choice(
                    "deferral",
                    "deferral",
                    False,
                    reason="policy allows no deferral (max_deferral_months = 0 or no deferral_interest mode)",
                )
            )
    return pending, seeds, extra_amounts


def rebuild_pending(ctx: PlanContext, out: list[list[Choice]], pending: list[tuple]) -> None:
    """Rebuild in cents only the level families that can still be the best plan."""
    best_known = np.full(len(ctx), -np.inf)
    for i, choices in enumerate(out):
        for ch in choices:
            if ch.feasible and np.isfinite(ch.search_npv):
                best_known[i] = max(best_known[i], ch.search_npv)
    for i, *_, b in pending:
        best_known[i] = max(best_known[i], b)
    unit = ctx.policy.rounding
    for i, slot, label, family, sub, top, vals, b in pending:
        if np.isfinite(b) and b >= best_known[i] - 1e-6 * abs(best_known[i]):
            out[i][slot] = _first_exact(ctx, i, sub, top, vals, unit, family, label)


def waterfall_choices(ctx: PlanContext, out: list[list[Choice]]) -> None:
    """Append the HAMP-style waterfall reference plan (evaluated, not optimised; SPEC §6).

    The waterfall walks its steps in the SPEC's order (capitalise, rate cuts, term
    extensions, forbearance amounts: :class:`~solver.plans.families.WaterfallWalk`) and
    stops at the first plan that meets ``max_dti`` on current income *and* passes the
    whole policy check on its cent schedule (:func:`~solver.plans.schedules.schedule_ok`):
    HAMP's waterfall with every policy limit as its stop test (lead's decision, issue 13
    item 4; before, it stopped at the first plan meeting the current-income target and
    reported it policy-infeasible when another limit failed). So relaxing a policy limit
    does not turn a feasible waterfall infeasible (the step it stopped at stays feasible,
    and the walk stops there or earlier; ``max_term_months`` and ``rate_floor`` with the
    conditions in :mod:`solver.plans.families`), but its NPV can move either way: the
    stop is first-fit, not best-of (``tests/test_s17_waterfall.py``).

    Most accounts stop at the first step that passes the float screen (one cent schedule
    each, as before); the next screened steps are built in cents only where that one
    fails. No step passing: the family has no plan (``INFEASIBLE``, no schedule, so no
    NPV is reported), with the reason.
    """
    walk = waterfall_walk(ctx)
    first = waterfall_candidates(ctx, walk)
    for i in range(len(ctx)):
        out[i].append(_waterfall_choice(ctx, i, walk, first))


def _waterfall_choice(ctx: PlanContext, i: int, walk: WaterfallWalk, first: Candidates) -> Choice:
    """Account ``i``'s waterfall plan: its first screened step whose cent schedule passes
    the policy (``first`` holds each account's first screened step)."""
    unit, grid = ctx.policy.rounding, grid_of(ctx)
    why = ""
    for k, col in enumerate(np.flatnonzero(walk.screened[i])):
        cand, row = (first, i) if k == 0 else (walk.plans(np.array([i]), np.array([col])), 0)
        try:
            sched = level_schedule(cand, row, unit, grid)
        except ValueError as exc:
            why = str(exc)
            continue
        ok, why = schedule_ok(ctx, i, sched, 0)
        if ok:
            terms = cand.terms(row, levels=schedule_levels(sched))
            return Choice("waterfall", "waterfall", True, sched, terms, status=Status.REFERENCE)
    if not walk.meets[i].any():
        reason = "no waterfall step brings the payment within max_dti of current income"
    else:
        reason = (
            "every waterfall step that brings the payment within max_dti of current income"
            " breaks the policy: "
            + (
                why
                or "a payment exceeds the affordable amount (a forborne balloon in the last month included) or is below min_payment"
            )
        )
    return Choice(
        "waterfall",
        "waterfall",
        False,
        terms=PlanTerms(waterfall_step="none"),
        reason=reason,
        status=Status.INFEASIBLE,
    )


def _first_exact(
    ctx: PlanContext,
    i: int,
    cand: Candidates,
    rows: np.ndarray,
    val: np.ndarray,
    unit: float,
    family: str,
    label: str,
) -> Choice:
    """Rebuild the best float candidates in cents until one passes the policy check."""
    last_reason = ""
    for r in rows:
        try:
            sched = level_schedule(cand, int(r), unit, grid_of(ctx))
        except ValueError as exc:
            last_reason = str(exc)
            continue
        max_zero = int(cand.deferral[r]) if family == "deferral" else 0
        ok, why = schedule_ok(ctx, i, sched, max_zero)
        if ok:
            terms = cand.terms(int(r), levels=schedule_levels(sched))
            return Choice(
                label, family, True, sched, terms, status=Status.OPTIMAL, search_npv=float(val[r])
            )
        last_reason = why
    if rows.size == 0:
        reason = _family_infeasible_reason(ctx, i, family, label)
    else:
        reason = f"cent rounding breaks every candidate ({last_reason})"
    return Choice(label, family, False, reason=reason)


def _family_infeasible_reason(ctx: PlanContext, i: int, family: str, label: str) -> str:
    pol = ctx.policy
    cap1 = ctx.cap[i, 0]
    if family == "deferral":
        mode = label.split("/")[1]
        if pol.max_deferral_months == 0:
            return "policy allows no deferral"
        if mode == "interest_only":
            return "the interest-only payment or the instalments after the holiday are not affordable within max_term_months"
        return f"no holiday of up to {pol.max_deferral_months} months leaves affordable instalments within max_term_months"
    if family == "settlement":
        return f"even with the largest forgiveness the settlement instalments over {min(6, ctx.horizon)} months exceed the affordable payment ({max(cap1, 0):,.0f}/month)"
    if family == "concession":
        longest = int(concession_terms(ctx.horizon).max(initial=0))
        return (
            "even at the lowest rate of the ladder with the largest waivers the instalment"
            f" over {longest} months (the longest concession term) is not affordable"
        )
    return f"no level instalment within {ctx.horizon} months is affordable (largest affordable payment {max(cap1, 0):,.0f}/month in month 1)"
