"""Each family's best plan for a batch of accounts, as cent-exact schedules (SPEC §6).

:func:`family_choices` runs the families in order: the level families scored in one
pass (:mod:`solver.plans.scoring`), ``custom`` and ``step`` by the exact search on the
payment grid (:mod:`solver.plans.search`, seeded with the best level plans, and
certified more tightly by :func:`_refine` where the gap is wide), then the waterfall
reference. Every winner is rebuilt in cents and checked against the policy again
(:mod:`solver.plans.schedules`); if cent rounding made it infeasible, the next candidate
is used. The result is one :class:`Choice` per family and account, before the metrics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from solver.core.schedule import Schedule
from solver.domain import OFFERED_FAMILIES, Status
from solver.plans.bounds import action_hazards, bound_at, bound_tables
from solver.plans.context import PlanContext, grid_of
from solver.plans.families import (
    MODE_NAMES,
    Candidates,
    concat,
    concession_candidates,
    concession_terms,
    deferral_candidates,
    instalment_candidates,
    settlement_candidates,
    waterfall_candidates,
)
from solver.plans.free_custom import free_family_step
from solver.plans.free_custom import regap as _regap
from solver.plans.schedules import (
    level_schedule,
    path_schedule,
    payment_levels,
    phase_count,
    schedule_levels,
    schedule_ok,
)
from solver.plans.scoring import best_per_account, score
from solver.plans.search import (
    RunSolution,
    SearchParams,
    holiday_months,
    payment_grids,
    solve_runs,
)
from solver.plans.terms import PlanTerms

#: What a ``custom`` / ``step`` certificate is proved over (``Choice.bound_over``, the
#: JSON's ``bound_over``): the account's payment grid, or every policy-feasible amount
#: (the free bound, :mod:`solver.plans.free_custom`).
OVER_GRID = "payment_grid"
OVER_EVERY_AMOUNT = "every_amount"
TOP_K = 6  # float candidates tried per family when cent rounding breaks the winner
SMALL_BATCH = 2  # up to this many accounts, custom and step are searched in one pass


@dataclass(frozen=True)
class Choice:
    """A family's best plan for one account, before its metrics (or why it has none).

    ``search_npv`` is the value the family's search gave it (float or grid search);
    :class:`~solver.plans.options.PlanOption` reports the model's figures instead.
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
    pending, seeds, extra_amounts = _level_choices(ctx, lazy, out)
    _run_choices(ctx, search, lazy, out, seeds, extra_amounts)
    if pending:
        _rebuild_pending(ctx, out, pending)
    _waterfall_choices(ctx, out)
    return out


def any_offered_feasible(ctx: PlanContext, search: SearchParams) -> list[bool]:
    """Per account, whether :func:`family_choices` finds a feasible offered plan -- the
    same answer, cheaper: the level families are solved first, and custom and step (the
    payment-grid search, the costly part) run only when some account has no feasible level
    plan (a level family's choice does not depend on the later ones)."""
    n = len(ctx)
    out: list[list[Choice]] = [[] for _ in range(n)]
    _, seeds, extra_amounts = _level_choices(ctx, False, out)
    found = [_offered_feasible(chs) for chs in out]
    if all(found):
        return found
    _run_choices(ctx, search, False, out, seeds, extra_amounts)
    return [_offered_feasible(chs) for chs in out]


def _offered_feasible(choices: list[Choice]) -> bool:
    """Whether any of an account's choices is a feasible plan of an offered family."""
    return any(c.feasible and c.family in OFFERED_FAMILIES for c in choices)


def _level_choices(
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


def _run_choices(
    ctx: PlanContext,
    search: SearchParams,
    lazy: bool,
    out: list[list[Choice]],
    seeds: list[list[tuple[np.ndarray, np.ndarray]]],
    extra_amounts: np.ndarray,
) -> None:
    """Append the best ``step`` and ``custom`` plans (exact search on the payment grid)."""
    pol = ctx.policy
    n = len(ctx)
    K = pol.max_payment_levels
    holiday = holiday_months(ctx)
    if search.includes_default:
        # the default search first: its grid joins this one and its custom and step plans
        # seed this search, so a thorough run never finds less than a default run
        base = SearchParams()
        base_amounts, base_step = payment_grids(ctx, base.grid_levels, extra_amounts)
        base_hz = action_hazards(ctx, base_amounts)
        base_tables = bound_tables(ctx, base_amounts, base.buckets, holiday, hazards=base_hz)
        base_custom, base_steps = _custom_and_step(
            ctx,
            base_amounts,
            base_step,
            holiday,
            base,
            seeds,
            (base_tables, base_hz),
            K,
            lazy=False,
        )
        for i in range(n):
            for sol in (base_custom[i], base_steps[i]):
                if sol.payments is not None:
                    bal, rate = float(ctx.balance[i]), float(ctx.fields["annual_rate"][i])
                    sched = path_schedule(bal, rate, sol.payments, grid_of(ctx))
                    seeds[i].append((sched.payments, sched.exposures))
        extra_amounts = np.concatenate([extra_amounts, base_amounts], axis=1)
    amounts, step = payment_grids(ctx, search.grid_levels, extra_amounts)
    # the actions' hazards once per grid: the bound tables and every search of it share them
    hz = action_hazards(ctx, amounts)
    tables = bound_tables(ctx, amounts, search.buckets, holiday, tail=search.tail_bound, hazards=hz)
    custom, steps = _custom_and_step(
        ctx, amounts, step, holiday, search, seeds, (tables, hz), K, lazy
    )
    for i in range(n):
        st, cu = steps[i], custom[i]
        if st.status == Status.NOT_EVALUATED:
            continue
        if np.isfinite(cu.bound) and cu.bound < st.bound:
            # step ⊆ custom: custom's bound bounds step too
            steps[i] = st = _regap(replace(st, bound=max(cu.bound, st.objective)))
        if st.payments is not None and st.objective > cu.objective:  # a step plan is a custom plan
            custom[i] = cu = RunSolution(
                st.payments,
                cu.status if cu.status != Status.OPTIMAL else Status.OPTIMAL,
                st.objective,
                max(cu.bound, st.objective),
                0.0,
                cu.states,
                cu.grid_step,
                cu.grid,
            )
            custom[i] = _regap(cu)
    free_cu = free_st = np.zeros(n, bool)
    if search.free_family:
        custom, steps, free_cu, free_st = free_family_step(ctx, custom, steps, search)
    for i in range(n):
        st = steps[i]
        hol = int(holiday[i])
        if st.status == Status.NOT_EVALUATED:
            out[i].append(Choice("step", "step", False, reason="not evaluated"))
            out[i].append(_run_choice(ctx, i, custom[i], "custom", hol, free=free_cu[i]))
            continue
        step_choice = _run_choice(ctx, i, st, "step", hol, free=free_st[i])
        out[i].append(step_choice)
        cu_pay = custom[i].payments
        same = (
            st.payments is not None
            and cu_pay is not None
            and np.array_equal(st.payments, cu_pay)
            and free_st[i] == free_cu[i]
        )
        # the same payment path (and certificate family): one schedule, checked once
        out[i].append(
            _run_choice(
                ctx,
                i,
                custom[i],
                "custom",
                hol,
                built=step_choice if same else None,
                free=free_cu[i],
            )
        )


def _rebuild_pending(ctx: PlanContext, out: list[list[Choice]], pending: list[tuple]) -> None:
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


def _waterfall_choices(ctx: PlanContext, out: list[list[Choice]]) -> None:
    """Append the HAMP-style waterfall reference plan (evaluated, not optimised)."""
    waterfall = waterfall_candidates(ctx)
    unit = ctx.policy.rounding
    for i in range(len(ctx)):
        sched = None
        if int(waterfall.waterfall_step[i]) == 4:
            reason = "no waterfall step brings the payment within max_dti of current income"
        else:
            try:
                sched = level_schedule(waterfall, i, unit, grid_of(ctx))
            except ValueError as exc:
                reason = str(exc)
        if sched is None:
            out[i].append(
                Choice(
                    "waterfall",
                    "waterfall",
                    False,
                    terms=waterfall.terms(i),
                    reason=reason,
                    status=Status.REFERENCE,
                )
            )
            continue
        ok_i, why = schedule_ok(ctx, i, sched, 0)
        out[i].append(
            Choice(
                "waterfall",
                "waterfall",
                ok_i,
                sched,
                waterfall.terms(i, levels=schedule_levels(sched)),  # the terms built once
                reason="" if ok_i else f"not policy-feasible: {why}",
                status=Status.REFERENCE if ok_i else Status.POLICY_INFEASIBLE,
            )
        )


def _custom_and_step(
    ctx: PlanContext,
    amounts: np.ndarray,
    grid_step: np.ndarray,
    holiday: np.ndarray,
    search: SearchParams,
    seeds: list[list[tuple[np.ndarray, np.ndarray]]],
    prepared: tuple[tuple[np.ndarray, ...], np.ndarray],
    K: int,
    lazy: bool,
) -> tuple[list[RunSolution], list[RunSolution]]:
    """Best ``custom`` (certified by :func:`_refine`) and ``step`` plans of every account.

    ``step`` ⊆ ``custom``: a custom plan that is optimal and a step plan is the best step
    plan, so step is searched only for the other accounts (and, in portfolio runs, where
    only the recommendation is reported, not where custom is optimal: step can then at
    best tie it). Where step is searched and custom's plan is also a step plan, the
    better of the two is step's plan. ``prepared``: the grid's bound tables and its
    actions' hazards (:func:`solver.plans.bounds.action_hazards`), shared by every search.
    """
    tables, hz = prepared
    n = len(ctx)
    searched: list[RunSolution | None]
    if n <= SMALL_BATCH and not lazy:
        # few accounts: per-call overhead dominates, so search both families in one pass
        # (rows are independent: the same result as two searches)
        both = np.concatenate([np.arange(n), np.arange(n)])
        found = solve_runs(
            ctx.take(both),
            amounts[both],
            grid_step[both],
            increasing=np.repeat([False, True], n),
            search=search,
            seeds=seeds + seeds,
            tables=tuple(x[both] for x in tables),
            hazards=hz[both],
        )
        custom, searched = found[:n], list(found[n:])
        custom = _refine(ctx, custom, amounts, grid_step, holiday, search, hz)
        todo = np.arange(n)
    else:
        custom = solve_runs(
            ctx,
            amounts,
            grid_step,
            increasing=False,
            search=search,
            seeds=seeds,
            tables=tables,
            hazards=hz,
        )
        custom = _refine(ctx, custom, amounts, grid_step, holiday, search, hz)
        skip = [
            sol.status == Status.OPTIMAL and (lazy or _is_step(sol.payments, K)) for sol in custom
        ]
        todo = np.array([i for i in range(n) if not skip[i]], dtype=np.int64)
        searched = []
        if todo.size:
            # only the recommendation is reported: a step plan matters only if it beats
            # custom's, so only those are sought
            floor = np.array([custom[i].objective for i in todo]) if lazy else None
            # with the floor, no seed: a seed that qualifies for step qualifies for custom
            # (step's tests are custom's and more) with the same value, so it is worth at
            # most custom's plan, the floor, and would be dropped as an incumbent
            searched = list(
                solve_runs(
                    ctx.take(todo),
                    amounts[todo],
                    grid_step[todo],
                    increasing=True,
                    search=search,
                    seeds=None if lazy else [seeds[i] for i in todo],
                    tables=tuple(x[todo] for x in tables),
                    floor=floor,
                    hazards=hz[todo],
                )
            )
            if floor is not None:  # no step plan beats custom's: as if not searched
                searched = [
                    None if sol is not None and sol.payments is None and np.isfinite(f) else sol
                    for sol, f in zip(searched, floor, strict=True)
                ]
    steps: list[RunSolution] = []
    by_row = dict(zip(todo.tolist(), searched, strict=True))
    for i, cu in enumerate(custom):
        st = by_row.get(i)
        if (st is None or cu.objective >= st.objective) and _is_step(cu.payments, K):
            st = cu  # custom's plan is a step plan and at least as good
        if st is None:  # portfolio run: custom optimal and not a step plan, or none beats it
            st = replace(cu, payments=None, status=Status.NOT_EVALUATED)
        steps.append(st)
    return custom, steps


def _is_step(payments: np.ndarray | None, max_levels: int) -> bool:
    """Whether a payment path is also a ``step`` plan: rising phases, at most ``max_levels``."""
    if payments is None:
        return False
    lv = payment_levels(payments)
    rising = all(b >= a for a, b in zip(lv, lv[1:], strict=False))
    return rising and phase_count(payments) <= max_levels


def _refine(
    ctx: PlanContext,
    sols: list[RunSolution],
    amounts: np.ndarray,
    grid_step: np.ndarray,
    holiday: np.ndarray,
    search: SearchParams,
    hazards: np.ndarray,
) -> list[RunSolution]:
    """Certify ``custom`` more tightly where the gap is wider than ``search.target_gap``.

    The bound's error shrinks with the square of the node spacing, so an account whose
    gap is ``g`` at ``buckets`` nodes needs about ``buckets·√(g / target)`` of them: it
    gets the smallest of ``search.refine_buckets`` at least that large (1.5× margin).
    The finer tables' root value is itself a valid bound; only where that does not
    certify the plan is the family searched again (seeded with the plan found, keeping
    the best plan and the smaller bound). Two rounds at most. ``hazards``: the grid's
    actions' hazards (:func:`solver.plans.bounds.action_hazards`), for every table and search.
    """
    out = list(sols)
    levels = sorted(search.refine_buckets)
    if not levels:
        return out
    current = np.full(len(out), search.buckets, dtype=np.int64)
    for _ in range(2):
        wide = [
            i
            for i, s in enumerate(out)
            if s.status == Status.FEASIBLE and s.gap > search.target_gap
        ]
        want: dict[int, list[int]] = {}
        for i in wide:
            need = current[i] * 1.5 * math.sqrt(out[i].gap / search.target_gap)
            bigger = [m for m in levels if m > current[i]]
            if bigger:
                want.setdefault(next((m for m in bigger if m >= need), bigger[-1]), []).append(i)
        if not want:
            break
        for buckets, rows in sorted(want.items()):
            todo = np.array(rows, dtype=np.int64)
            current[todo] = buckets
            sub = ctx.take(todo)
            tables = bound_tables(  # no tail table
                sub, amounts[todo], buckets, holiday[todo], hazards=hazards[todo]
            )
            root = bound_at(tables, np.arange(todo.size), 0, ctx.balance[todo])
            again: list[int] = []
            for k, i in enumerate(rows):
                old = out[i]
                if np.isfinite(root[k]) and root[k] < old.bound:
                    out[i] = old = _regap(replace(old, bound=max(float(root[k]), old.objective)))
                if old.gap > search.target_gap:
                    again.append(k)
            if not again:
                continue
            ka = np.array(again, dtype=np.int64)
            seeds: list[list[tuple[np.ndarray, np.ndarray]]] = []
            for i in todo[ka].tolist():
                pay = out[i].payments
                if pay is None:
                    seeds.append([])
                    continue
                sched = path_schedule(
                    float(ctx.balance[i]), float(ctx.fields["annual_rate"][i]), pay, grid_of(ctx)
                )
                seeds.append([(sched.payments, sched.exposures)])
            found = solve_runs(
                sub.take(ka),
                amounts[todo[ka]],
                grid_step[todo[ka]],
                increasing=False,
                search=replace(search, buckets=buckets),
                seeds=seeds,
                tables=tuple(x[ka] for x in tables),
                hazards=hazards[todo[ka]],
            )
            for i, new in zip(todo[ka].tolist(), found, strict=True):
                old = out[i]
                best = new if new.payments is not None and new.objective > old.objective else old
                bound = min(old.bound, new.bound) if np.isfinite(new.bound) else old.bound
                out[i] = _regap(
                    replace(
                        best,
                        bound=max(bound, best.objective),
                        states=old.states + new.states,
                    )
                )
    return out


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


def _run_choice(
    ctx: PlanContext,
    i: int,
    sol: RunSolution,
    family: str,
    holiday: int,
    built: Choice | None = None,
    free: bool = False,
) -> Choice:
    """The choice of a ``custom`` / ``step`` solution; ``free``: its certificate is over
    every amount (then its terms carry no payment grid, which would mark it "on its
    grid"); ``built``: the same path already built and checked (its schedule and terms)."""
    over = OVER_EVERY_AMOUNT if free else OVER_GRID
    cert: dict[str, Any] = {
        "status": sol.status,
        "bound": sol.bound,
        "gap": sol.gap,
        "bound_over": over,
    }
    if built is not None and built.schedule is not None:
        return Choice(
            family, family, True, built.schedule, built.terms, search_npv=sol.objective, **cert
        )
    if sol.payments is None:
        if sol.status == Status.INFEASIBLE:
            reason = "no payment path on the grid repays the balance within max_term_months under the affordability caps"
        else:
            reason = "search limit reached before a feasible path was found"
        return Choice(family, family, False, reason=reason, **cert)
    sched = path_schedule(
        float(ctx.balance[i]), float(ctx.fields["annual_rate"][i]), sol.payments, grid_of(ctx)
    )
    ok, why = schedule_ok(ctx, i, sched, holiday, limit_levels=family != "custom")
    if not ok:  # the search tracks the money grid exactly, so this would be a bug
        raise RuntimeError(f"{family} search returned a policy-infeasible schedule: {why}")
    pay = sched.payments
    lead = int(np.argmax(pay > 0)) if np.any(pay > 0) else 0
    terms = PlanTerms(
        term=sched.term,
        deferral_months=lead,
        deferral_mode="capitalize" if lead else None,
        rate=float(ctx.fields["annual_rate"][i]),
        levels=schedule_levels(sched),
        grid_step=None if free else sol.grid_step,
        grid=None if free else tuple(float(x) for x in sol.grid),
    )
    return Choice(family, family, True, sched, terms, search_npv=sol.objective, **cert)
