"""The restructuring plan optimizer (SPEC §6): ``plan_options`` and ``plan_portfolio``.

For one account, :func:`plan_options` returns, for every plan family, the
policy-feasible plan with the highest expected-recovery NPV under the behaviour model,
with its cent-exact schedule, its metrics, the binding constraints in words, and the
recommended option (the best NPV that passes the NPV test against the status quo).

How a plan is found and reported
--------------------------------
1. Each family's grid is searched in float, vectorised over accounts and candidates
   (:mod:`solver.plans.families`; ``custom`` and ``step`` by the exact branch and bound
   of :mod:`solver.plans.search`).
2. The winner is rebuilt as a cent-exact :class:`~solver.core.money.Schedule` and checked
   against the policy again; if cent rounding made it infeasible, the next candidate
   is used.
3. Every metric is then computed from that schedule by the behaviour model
   (``solver.core.model.evaluate_batch`` over all reported schedules at once — the same
   computation as :func:`solver.core.model.evaluate`, which a test checks to 1e-6).

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
    The customer's burden beside the bank's value (issue 13): the present value at the
    contract rate of every scheduled payment, less the outstanding principal —
    ``Σ p_t/(1 + annual_rate/12)^t − principal``, i.e. the interest and fees the customer
    pays in today's money at their own contract rate. A plan at the contract rate costs
    about ``interest_due + fees_due`` whatever its term; rate cuts, waivers and
    forgiveness lower it (a haircut can make it negative).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.core.model import AccountParams, BehaviourModel, as_account, evaluate_batch
from solver.core.policy import Policy
from solver.domain import FAMILIES, OFFERED_FAMILIES, Status
from solver.errors import InfeasibleError, InputError
from solver.plans.families import (
    MODE_NAMES,
    WATERFALL_STEPS,
    Candidates,
    PlanContext,
    best_per_account,
    concat,
    concession_candidates,
    deferral_candidates,
    instalment_candidates,
    score,
    settlement_candidates,
    waterfall_candidates,
)
from solver.plans.search import (
    RunSolution,
    SearchParams,
    bound_at,
    bound_tables,
    payment_grids,
    solve_runs,
)

if TYPE_CHECKING:
    import pandas as pd

    from solver.core.money import Schedule

OFFERED = OFFERED_FAMILIES
METRICS = (
    "npv",
    "npv_vs_status_quo",
    "pd_12m",
    "pd_life",
    "expected_loss",
    "concession_cost",
    "total_paid",
    "customer_cost",
    "apr",
    "max_dti",
    "min_afford_prob",
)
TOP_K = 6  # float candidates tried per family when cent rounding breaks the winner
CERTIFIED_GAP = 1e-3  # a recommendation counts as certified within this proven gap (issue 13)
SMALL_BATCH = 2  # up to this many accounts, custom and step are searched in one pass


# --------------------------------------------------------------------------------------
# Result objects
# --------------------------------------------------------------------------------------


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
    params
        Plan parameters: term, deferral months and mode, rate, waivers, haircut,
        forbearance, payment levels.
    schedule
        The cent-exact schedule (``None`` if infeasible).
    binding
        Binding constraints in words.
    status, bound, gap
        Solver status of the family's search: ``OPTIMAL`` (proved best within its grid),
        ``FEASIBLE`` (best found; ``bound`` is a proven upper bound and ``gap`` the
        relative gap), ``INFEASIBLE``, or ``REFERENCE`` for the status quo and waterfall.
    """

    family: str
    label: str
    feasible: bool
    params: dict[str, Any] = field(default_factory=dict)
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
            "params": _jsonable(self.params),
        }
        for k in METRICS:
            out[k] = _num(getattr(self, k))
        out["binding"] = list(self.binding)
        out["status"] = self.status
        out["bound"] = _num(self.bound)
        out["gap"] = _num(self.gap)
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
        plans exist but none beats the status quo) or ``INFEASIBLE`` (no plan satisfies
        the policy; ``relaxation`` gives the smallest single change that makes one).
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

    @property
    def recommended_option(self) -> PlanOption | None:
        return None if self.recommended is None else self.option(self.recommended)

    @property
    def objective(self) -> float:
        opt = self.recommended_option
        return math.nan if opt is None else opt.npv

    def option(self, name: str) -> PlanOption:
        """The option with this label (``"deferral/waive"``) or the best of a family (``"deferral"``)."""
        if name == "status_quo":
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
                    f"  term {o.params.get('term', '')}  {o.status}"
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
        }


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


# --------------------------------------------------------------------------------------
# Cent-exact schedules of the winners
# --------------------------------------------------------------------------------------


def _level_schedule(cand: Candidates, i: int, unit: float) -> Schedule:
    from solver.core.money import Schedule, level_plan, schedule_from_payments

    bal, rate, term = float(cand.balance[i]), float(cand.rate[i]), int(cand.term[i])
    if cand.family == "settlement":
        exact = bal / term
        for level in (
            math.ceil(exact / unit - 1e-9) * unit,
            math.floor(exact / unit + 1e-9) * unit,
            round(exact, 2),
        ):
            try:
                return schedule_from_payments(bal, 0.0, [level] * term)
            except ValueError:
                continue
        raise ValueError("no settlement instalment clears the amount")
    D = int(cand.deferral[i])
    mode = MODE_NAMES[int(cand.mode[i])]
    base = level_plan(bal, rate, term, deferral_months=D, deferral_mode=mode, rounding=unit)  # type: ignore[arg-type]
    balloon = int(round(float(cand.balloon[i]) * 100))
    if balloon <= 0:
        return base
    # principal forbearance: an interest-free balloon owed on top, paid with the last instalment
    pay = base.payment.copy()
    prin = base.principal.copy()
    bal_c = base.balance.copy()
    pay[-1] += balloon
    prin[-1] += balloon
    bal_c[:-1] += balloon
    return Schedule(
        month=base.month,
        payment=pay,
        interest=base.interest,
        principal=prin,
        fees=base.fees,
        balance=bal_c,
        opening_balance=base.opening_balance + balloon,
        annual_rate=base.annual_rate,
    )


def _path_schedule(balance: float, rate: float, payments: np.ndarray) -> Schedule:
    from solver.core.money import schedule_from_payments

    return schedule_from_payments(balance, rate, payments, clear_last=True)


def _schedule_ok(
    ctx: PlanContext, i: int, sched: Schedule, max_zero: int, limit_levels: bool = True
) -> tuple[bool, str]:
    """Policy check of a cent-exact schedule (SPEC §5), with the reason when it fails.

    ``limit_levels=False`` for ``custom``, the free month-by-month schedule: issue 13
    decided that ``max_payment_levels`` limits graduated (``step``) and level plans,
    not the customised schedule fitted to the customer's cash flow.

    The one-row case of :func:`~solver.plans.families.feasible_paths` and
    :func:`~solver.plans.families.phases` (the same comparisons on 1-D arrays).
    """
    from solver.plans.families import CAP_TOL

    pol = ctx.policy
    pay = sched.payments
    T = pay.shape[0]
    if T > ctx.horizon:
        return False, f"term {T} exceeds max_term_months {ctx.horizon}"
    paying = pay > 0
    cap = ctx.cap[i, :T]
    over = paying & (pay > cap + CAP_TOL * np.maximum(1.0, np.abs(cap)))
    small = paying[:-1] & (pay[:-1] < pol.min_payment - 1e-9)  # the final payment is exempt
    if over.any() or small.any():
        return False, "a payment exceeds the affordable amount or is below min_payment"
    if limit_levels and _phase_count(pay) > pol.max_payment_levels:
        return False, f"more than max_payment_levels = {pol.max_payment_levels} payment levels"
    zeros = int(np.count_nonzero(pay[:-1] == 0))
    if zeros > max_zero:
        return (
            False,
            f"{zeros} months without payment exceed max_deferral_months {pol.max_deferral_months}",
        )
    return True, ""


def _phase_count(payments: np.ndarray) -> int:
    """:func:`~solver.plans.families.phases` of one whole payment path."""
    p = np.round(payments, 2)
    prev = np.empty_like(p)
    prev[0] = 0.0
    prev[1:] = p[:-1]
    starts = (p > 0) & (p != prev)
    count = int(np.count_nonzero(starts))
    if starts[-1] and prev[-1] > 0 and p[-1] <= prev[-1]:  # the last phase's remainder
        count -= 1
    return count


# --------------------------------------------------------------------------------------
# The solver for a batch of accounts under one policy
# --------------------------------------------------------------------------------------


@dataclass
class _Choice:
    label: str
    family: str
    feasible: bool
    schedule: Schedule | None = None
    params: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    status: Status = Status.INFEASIBLE
    bound: float = math.nan
    gap: float = math.nan
    search_npv: float = math.nan


def _family_choices(
    ctx: PlanContext, search: SearchParams, lazy: bool = False
) -> list[list[_Choice]]:
    """Best plan of every family for every account of the context (exact schedules).

    In order: the level families (scored in one pass), custom and step (the exact search
    on the payment grid, seeded with the best level plans), then the waterfall reference.
    With ``lazy`` (portfolio runs, where only the recommendation is reported), a level
    family's winner is rebuilt in cents only if its float NPV is within 1e-6 of the
    account's best float NPV; the others are reported as not evaluated.
    """
    out: list[list[_Choice]] = [[] for _ in range(len(ctx))]
    pending, seeds, extra_amounts = _level_choices(ctx, lazy, out)
    _run_choices(ctx, search, lazy, out, seeds, extra_amounts)
    if pending:
        _rebuild_pending(ctx, out, pending)
    _waterfall_choices(ctx, out)
    return out


def _level_choices(
    ctx: PlanContext, lazy: bool, out: list[list[_Choice]]
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
            whole = rows.size == len(cand)  # all rows, in order: no copy needed
            sub = cand if whole else cand.take(rows)
            sub_val = val if whole else val[rows]
            tops = best_per_account(sub.acc, sub_val, n, TOP_K)
            seed_family = family == "instalment" or label == "deferral/capitalize"
            if lazy and not seed_family:
                for i in range(n):
                    best_i = float(sub_val[tops[i][0]]) if tops[i].size else -np.inf
                    pending.append((i, len(out[i]), label, family, sub, tops[i], sub_val, best_i))
                    out[i].append(_Choice(label, family, False, reason="not evaluated"))
                continue
            for i in range(n):
                ch = _first_exact(ctx, i, sub, tops[i], sub_val, unit, family, label)
                out[i].append(ch)
                if ch.feasible and seed_family:
                    seeds[i].append((ch.schedule.payments, ch.schedule.exposures))  # type: ignore[union-attr]
                    col = 0 if family == "instalment" else 1
                    first = int(ch.params.get("deferral_months", 0))
                    extra_amounts[i, col] = float(ch.schedule.payments[first])  # type: ignore[union-attr]
    if len(pol.deferral_interest) == 0 or pol.max_deferral_months == 0:
        for i in range(n):
            out[i].append(
                _Choice(
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
    out: list[list[_Choice]],
    seeds: list[list[tuple[np.ndarray, np.ndarray]]],
    extra_amounts: np.ndarray,
) -> None:
    """Append the best ``step`` and ``custom`` plans (exact search on the payment grid)."""
    pol = ctx.policy
    n = len(ctx)
    K = pol.max_payment_levels
    can_hold = "capitalize" in pol.deferral_interest
    holiday = np.full(
        n, min(pol.max_deferral_months, ctx.horizon - 1) if can_hold else 0, dtype=np.int64
    )
    if search.includes_default:
        # the default search first: its grid joins this one and its custom and step plans
        # seed this search, so a thorough run never finds less than a default run
        base = SearchParams()
        base_amounts, base_step = payment_grids(ctx, base.grid_levels, extra_amounts)
        base_tables = bound_tables(ctx, base_amounts, base.buckets, holiday)
        base_custom, base_steps = _custom_and_step(
            ctx, base_amounts, base_step, holiday, base, seeds, base_tables, K, lazy=False
        )
        for i in range(n):
            for sol in (base_custom[i], base_steps[i]):
                if sol.payments is not None:
                    bal, rate = float(ctx.balance[i]), float(ctx.fields["annual_rate"][i])
                    sched = _path_schedule(bal, rate, sol.payments)
                    seeds[i].append((sched.payments, sched.exposures))
        extra_amounts = np.concatenate([extra_amounts, base_amounts], axis=1)
    amounts, step = payment_grids(ctx, search.grid_levels, extra_amounts)
    tables = bound_tables(ctx, amounts, search.buckets, holiday, tail=search.tail_bound)
    custom, steps = _custom_and_step(ctx, amounts, step, holiday, search, seeds, tables, K, lazy)
    for i in range(n):
        st, cu = steps[i], custom[i]
        assert st is not None
        if st.status == Status.NOT_EVALUATED:
            out[i].append(_Choice("step", "step", False, reason="not evaluated"))
            out[i].append(_run_choice(ctx, i, cu, "custom", int(holiday[i])))
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
        step_choice = _run_choice(ctx, i, st, "step", int(holiday[i]))
        out[i].append(step_choice)
        cu_pay = custom[i].payments
        same = (
            st.payments is not None and cu_pay is not None and np.array_equal(st.payments, cu_pay)
        )
        # the same payment path: one schedule, checked once
        out[i].append(
            _run_choice(
                ctx, i, custom[i], "custom", int(holiday[i]), built=step_choice if same else None
            )
        )


def _rebuild_pending(ctx: PlanContext, out: list[list[_Choice]], pending: list[tuple]) -> None:
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


def _waterfall_choices(ctx: PlanContext, out: list[list[_Choice]]) -> None:
    """Append the HAMP-style waterfall reference plan (evaluated, not optimised)."""
    waterfall = waterfall_candidates(ctx)
    unit = ctx.policy.rounding
    for i in range(len(ctx)):
        s = int(waterfall.waterfall_step[i])
        params = waterfall.params(i)
        if s == 4:
            out[i].append(
                _Choice(
                    "waterfall",
                    "waterfall",
                    False,
                    params=params,
                    reason="no waterfall step brings the payment within max_dti of current income",
                    status=Status.REFERENCE,
                )
            )
            continue
        try:
            sched = _level_schedule(waterfall, i, unit)
        except ValueError as exc:
            out[i].append(
                _Choice(
                    "waterfall",
                    "waterfall",
                    False,
                    params=params,
                    reason=str(exc),
                    status=Status.REFERENCE,
                )
            )
            continue
        ok_i, why = _schedule_ok(ctx, i, sched, 0)
        params["levels"] = _levels(sched.payments)
        out[i].append(
            _Choice(
                "waterfall",
                "waterfall",
                ok_i,
                sched,
                params,
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
    tables: tuple[np.ndarray, ...],
    K: int,
    lazy: bool,
) -> tuple[list[RunSolution], list[RunSolution]]:
    """Best ``custom`` (certified by :func:`_refine`) and ``step`` plans of every account.

    ``step`` ⊆ ``custom``: a custom plan that is optimal and a step plan is the best step
    plan, so step is searched only for the other accounts (and, in portfolio runs, where
    only the recommendation is reported, not where custom is optimal: step can then at
    best tie it). Where step is searched and custom's plan is also a step plan, the
    better of the two is step's plan.
    """
    n = len(ctx)
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
        )
        custom, searched = found[:n], found[n:]
        custom = _refine(ctx, custom, amounts, grid_step, holiday, search)
        todo = np.arange(n)
    else:
        custom = solve_runs(
            ctx, amounts, grid_step, increasing=False, search=search, seeds=seeds, tables=tables
        )
        custom = _refine(ctx, custom, amounts, grid_step, holiday, search)
        skip = [
            sol.status == Status.OPTIMAL and (lazy or _is_step(sol.payments, K)) for sol in custom
        ]
        todo = np.array([i for i in range(n) if not skip[i]], dtype=np.int64)
        searched = []
        if todo.size:
            searched = solve_runs(
                ctx.take(todo),
                amounts[todo],
                grid_step[todo],
                increasing=True,
                search=search,
                seeds=[seeds[i] for i in todo],
                tables=tuple(x[todo] for x in tables),
            )
    steps: list[RunSolution] = []
    by_row = dict(zip(todo.tolist(), searched, strict=True))
    for i, cu in enumerate(custom):
        st = by_row.get(i)
        if _is_step(cu.payments, K) and (st is None or cu.objective >= st.objective):
            st = cu  # custom's plan is a step plan and at least as good
        if st is None:  # portfolio run, custom optimal and not a step plan
            st = replace(cu, payments=None, status=Status.NOT_EVALUATED)
        steps.append(st)
    return custom, steps


def _is_step(payments: np.ndarray | None, max_levels: int) -> bool:
    """Whether a payment path is also a ``step`` plan: rising phases, at most ``max_levels``."""
    if payments is None:
        return False
    lv = _levels(payments)
    rising = all(b >= a for a, b in zip(lv, lv[1:], strict=False))
    return rising and _phase_count(payments) <= max_levels


def _refine(
    ctx: PlanContext,
    sols: list[RunSolution],
    amounts: np.ndarray,
    grid_step: np.ndarray,
    holiday: np.ndarray,
    search: SearchParams,
) -> list[RunSolution]:
    """Certify ``custom`` more tightly where the gap is wider than ``search.target_gap``.

    The bound's error shrinks with the square of the node spacing, so an account whose
    gap is ``g`` at ``buckets`` nodes needs about ``buckets·√(g / target)`` of them: it
    gets the smallest of ``search.refine_buckets`` at least that large (1.5× margin).
    The finer tables' root value is itself a valid bound; only where that does not
    certify the plan is the family searched again (seeded with the plan found, keeping
    the best plan and the smaller bound). Two rounds at most.
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
            tables = bound_tables(sub, amounts[todo], buckets, holiday[todo])  # no tail table
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
                sched = _path_schedule(
                    float(ctx.balance[i]), float(ctx.fields["annual_rate"][i]), pay
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


def _regap(sol: RunSolution) -> RunSolution:
    from dataclasses import replace

    gap = (sol.bound - sol.objective) / abs(sol.bound) if sol.bound else 0.0
    status = Status.OPTIMAL if gap <= 1e-9 else Status.FEASIBLE
    return replace(
        sol,
        gap=max(gap, 0.0),
        status=status,
        bound=sol.objective if status == Status.OPTIMAL else sol.bound,
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
) -> _Choice:
    """Rebuild the best float candidates in cents until one passes the policy check."""
    last_reason = ""
    for r in rows:
        try:
            sched = _level_schedule(cand, int(r), unit)
        except ValueError as exc:
            last_reason = str(exc)
            continue
        max_zero = int(cand.deferral[r]) if family == "deferral" else 0
        ok, why = _schedule_ok(ctx, i, sched, max_zero)
        if ok:
            params = cand.params(int(r))
            params["levels"] = _levels(sched.payments)
            return _Choice(
                label, family, True, sched, params, status=Status.OPTIMAL, search_npv=float(val[r])
            )
        last_reason = why
    if rows.size == 0:
        reason = _family_infeasible_reason(ctx, i, family, label)
    else:
        reason = f"cent rounding breaks every candidate ({last_reason})"
    return _Choice(label, family, False, reason=reason)


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
        from solver.plans.families import concession_terms

        longest = int(concession_terms(ctx.horizon).max(initial=0))
        return (
            "even at the lowest rate of the ladder with the largest waivers the instalment"
            f" over {longest} months (the longest concession term) is not affordable"
        )
    return f"no level instalment within {ctx.horizon} months is affordable (largest affordable payment {max(cap1, 0):,.0f}/month in month 1)"


def _levels(payments: np.ndarray) -> list[float]:
    """Distinct payment phases (amounts), in order."""
    out: list[float] = []
    pay = np.round(np.asarray(payments, float), 2).tolist()  # Python floats: the same values
    last = len(pay) - 1
    for k, p in enumerate(pay):
        if p <= 0:
            continue
        if k == last and out and p <= out[-1]:
            break
        if not out or p != out[-1]:
            out.append(p)
    return out


def _run_choice(
    ctx: PlanContext,
    i: int,
    sol: RunSolution,
    family: str,
    holiday: int,
    built: _Choice | None = None,
) -> _Choice:
    if built is not None and built.schedule is not None:
        return _Choice(
            family,
            family,
            True,
            built.schedule,
            dict(built.params),
            status=sol.status,
            bound=sol.bound,
            gap=sol.gap,
            search_npv=sol.objective,
        )
    if sol.payments is None:
        if sol.status == Status.INFEASIBLE:
            reason = "no payment path on the grid repays the balance within max_term_months under the affordability caps"
        else:
            reason = "search limit reached before a feasible path was found"
        return _Choice(
            family, family, False, reason=reason, status=sol.status, bound=sol.bound, gap=sol.gap
        )
    sched = _path_schedule(float(ctx.balance[i]), float(ctx.fields["annual_rate"][i]), sol.payments)
    ok, why = _schedule_ok(ctx, i, sched, holiday, limit_levels=family != "custom")
    if not ok:  # the search tracks cents exactly, so this would be a bug
        raise RuntimeError(f"{family} search returned a policy-infeasible schedule: {why}")
    pay = sched.payments
    lead = int(np.argmax(pay > 0)) if np.any(pay > 0) else 0
    params = {
        "term": sched.term,
        "deferral_months": lead,
        "deferral_mode": "capitalize" if lead else None,
        "rate": float(ctx.fields["annual_rate"][i]),
        "levels": _levels(pay),
        "grid_step": sol.grid_step,
        "grid": [float(x) for x in sol.grid],
    }
    return _Choice(
        family,
        family,
        True,
        sched,
        params,
        status=sol.status,
        bound=sol.bound,
        gap=sol.gap,
        search_npv=sol.objective,
    )


# --------------------------------------------------------------------------------------
# Metrics of the reported schedules
# --------------------------------------------------------------------------------------


def _evaluate_per_account(
    ctx: PlanContext, acc_idx: np.ndarray, pay: np.ndarray, exp: np.ndarray, term: np.ndarray
) -> Any:
    """``evaluate_batch`` figures of every row, independent of the batch.

    A row's figures must not depend on which other accounts share its batch: the model
    sums row-wise, so rows evaluated at the same width give the same figures whatever
    else is in the call. Rows with at most ``horizon`` months are evaluated in one call
    at width ``horizon``; longer ones (a status quo longer than the policy's horizon)
    one account at a time at the account's own width.
    """
    from types import SimpleNamespace

    names = ("npv", "pd_12m", "pd_life", "expected_loss", "afford_prob", "expected_income")
    n_rows, width = pay.shape
    H = ctx.horizon
    out: dict[str, np.ndarray] = {
        k: (
            np.full((n_rows, width), np.nan if k == "afford_prob" else 1.0)
            if k in names[4:]
            else np.zeros(n_rows)
        )
        for k in names
    }

    def put(rows: np.ndarray, T: int) -> None:
        ev = evaluate_batch(
            ctx.params.take(acc_idx[rows]), pay[rows, :T], exp[rows, :T], term[rows], ctx.model
        )
        for k in names:
            v = getattr(ev, k)
            if v.ndim == 2:
                out[k][rows, :T] = v[:, : min(T, width)]
            else:
                out[k][rows] = v

    short = np.flatnonzero(term <= H)
    if short.size:
        if width < H:
            pad = H - width
            pay = np.pad(pay, ((0, 0), (0, pad)))
            exp = np.pad(exp, ((0, 0), (0, pad)))
        put(short, H)
    long_rows = np.flatnonzero(term > H)
    for i in np.unique(acc_idx[long_rows]):
        rows = long_rows[acc_idx[long_rows] == i]
        put(rows, int(term[acc_idx == i].max()))
    return SimpleNamespace(**out)


def _metrics(
    ctx: PlanContext, accounts: Sequence[Any], choices: list[list[_Choice]], sq: list[Schedule]
) -> list[list[dict[str, float]]]:
    """Model metrics of every reported schedule, in one ``evaluate_batch`` call."""
    rows: list[tuple[int, int]] = []  # (account, choice index or -1 for the status quo)
    scheds: list[Schedule] = []
    for i, chs in enumerate(choices):
        rows.append((i, -1))
        scheds.append(sq[i])
        for k, ch in enumerate(chs):
            if ch.schedule is not None:
                rows.append((i, k))
                scheds.append(ch.schedule)
    T = max(s.term for s in scheds)
    pay = np.zeros((len(scheds), T))
    exp = np.zeros((len(scheds), T))
    term = np.zeros(len(scheds), dtype=np.int64)
    for r, s in enumerate(scheds):
        pay[r, : s.term] = s.payments
        exp[r, : s.term] = s.exposures
        term[r] = s.term
    acc_idx = np.array([a for a, _ in rows])
    params = ctx.params.take(acc_idx)
    # one evaluate_batch call per account: a row's figures must not depend on which other
    # accounts share its batch (a matrix product's summation order depends on the shape)
    ev = _evaluate_per_account(ctx, acc_idx, pay, exp, term)
    disc = ctx.kernel.discount_factors(T)
    pv = pay @ disc
    paying = (pay > 0) & (np.arange(T)[None, :] < term[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        dti = (params.other_debt[:, None] + pay) / ev.expected_income
    dti = np.where(paying, dti, -np.inf)
    aff = np.where(paying, ev.afford_prob, np.inf)
    from solver.core.money import apr_batch

    opening = np.array([s.opening_balance / 100.0 for s in scheds])
    aprs = apr_batch(opening, pay)
    # customer cost: payments discounted at each account's contract rate, less principal
    rate = ctx.fields["annual_rate"][acc_idx] / 12.0
    v_t = (1.0 + rate)[:, None] ** -np.arange(1, T + 1, dtype=float)[None, :]
    customer = (pay * v_t).sum(axis=1) - ctx.fields["principal"][acc_idx]
    cust_l = customer.tolist()
    out: list[list[dict[str, Any]]] = [[dict() for _ in range(len(chs) + 1)] for chs in choices]
    # per-row figures as Python floats (the same values as float() of each element)
    any_paying = paying.any(axis=1)
    npv_l = ev.npv.tolist()
    pv_l = pv.tolist()
    pd12_l = ev.pd_12m.tolist()
    pdl_l = ev.pd_life.tolist()
    el_l = ev.expected_loss.tolist()
    apr_l = aprs.tolist()
    dti_l = np.where(any_paying, dti.max(axis=1), 0.0).tolist()
    aff_l = np.where(any_paying, aff.min(axis=1), 1.0).tolist()
    sq_pv = {}
    sq_npv = {}
    for r, (i, k) in enumerate(rows):
        if k == -1:
            sq_pv[i] = pv_l[r]
            sq_npv[i] = npv_l[r]
    for r, (i, k) in enumerate(rows):
        m = {
            "npv": npv_l[r],
            "npv_vs_status_quo": npv_l[r] - sq_npv[i],
            "pd_12m": pd12_l[r],
            "pd_life": pdl_l[r],
            "expected_loss": el_l[r],
            "concession_cost": sq_pv[i] - pv_l[r],
            "total_paid": float(scheds[r].total_paid),
            "customer_cost": cust_l[r],
            "apr": apr_l[r],
            "max_dti": dti_l[r],
            "min_afford_prob": aff_l[r],
        }
        out[i][k] = m  # k == -1 -> the last slot
    return out


# --------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------


def _results(
    ctx: PlanContext,
    accounts: Sequence[Any],
    search: SearchParams,
    relax: bool,
    lazy: bool = False,
) -> list[PlanResult]:
    """Plan results of the context's accounts.

    With ``lazy`` (portfolio runs: only the recommendation is reported) level families
    that cannot be the best are not rebuilt in cents (see :func:`_family_choices`) and
    no binding constraints are worded.
    """
    from solver.core.model import status_quo
    from solver.plans.explain import binding_constraints, explain_infeasible, minimal_relaxations

    t0 = time.perf_counter()
    choices = _family_choices(ctx, search, lazy)
    sq = [status_quo(a) for a in accounts]
    mets = _metrics(ctx, accounts, choices, sq)
    results: list[PlanResult] = []
    for i, acc in enumerate(accounts):
        sq_m: dict[str, Any] = mets[i][-1]
        sq_opt = PlanOption(
            "status_quo",
            "status_quo",
            True,
            {"term": sq[i].term, "rate": float(acc.annual_rate), "levels": _levels(sq[i].payments)},
            sq[i],
            **sq_m,
            status=Status.REFERENCE,
        )
        options: list[PlanOption] = []
        for k, ch in enumerate(choices[i]):
            if ch.schedule is None:
                options.append(
                    PlanOption(
                        ch.family,
                        ch.label,
                        False,
                        ch.params,
                        None,
                        reason=ch.reason,
                        status=ch.status,
                        bound=ch.bound,
                        gap=ch.gap,
                    )
                )
                continue
            m = mets[i][k]
            # portfolio runs (lazy) report no binding constraints: skip the words
            binding = (
                binding_constraints(ctx, i, ch.family, ch.schedule, ch.params, m)
                if ch.feasible and not lazy
                else ()
            )
            options.append(
                PlanOption(
                    ch.family,
                    ch.label,
                    ch.feasible,
                    ch.params,
                    ch.schedule,
                    **m,
                    binding=tuple(binding),
                    reason=ch.reason,
                    status=ch.status,
                    # proved optimal: the bound is the plan's own NPV (as evaluate() gives it)
                    bound=m["npv"]
                    if ch.status == Status.OPTIMAL and math.isfinite(ch.bound)
                    else ch.bound,
                    gap=ch.gap,
                )
            )
        offered = [o for o in options if o.feasible and o.family in OFFERED]
        relaxations: tuple[dict[str, Any], ...] = ()
        if not offered:
            status, rec, passed = Status.INFEASIBLE, None, False
            explanation = explain_infeasible(ctx, i)
            if relax:
                relaxations = tuple(minimal_relaxations(acc, ctx.policy, ctx.model, search))
                if relaxations:
                    explanation += (
                        " Smallest single relaxations that make a plan feasible: "
                        + "; ".join(r["text"] for r in relaxations)
                        + "."
                    )
        else:
            best = max(offered, key=lambda o: o.npv)
            if best.npv > sq_opt.npv:
                status, rec, passed = Status.RECOMMENDED, best.label, True
                explanation = (
                    f"{best.label} recovers {best.npv:,.2f} in expected NPV, {best.npv_vs_status_quo:,.2f} more than the"
                    f" status quo ({sq_opt.npv:,.2f}); PD 12m {best.pd_12m:.1%} vs {sq_opt.pd_12m:.1%}."
                )
            else:
                status, rec, passed = Status.NPV_TEST_FAILED, None, False
                explanation = (
                    f"no plan passes the NPV test: the best, {best.label}, recovers {best.npv:,.2f} against"
                    f" {sq_opt.npv:,.2f} for the status quo ({best.npv - sq_opt.npv:,.2f}); keep the contract"
                    + (" — the customer can afford it" if sq_opt.pd_12m < 0.2 else "")
                    + "."
                )
        results.append(
            PlanResult(
                account_id=str(acc.account_id),
                status=status,
                recommended=rec,
                npv_test_passed=passed,
                explanation=explanation,
                status_quo=sq_opt,
                options=tuple(options),
                relaxations=relaxations,
                runtime=(time.perf_counter() - t0) / max(len(accounts), 1),
            )
        )
    return results


def plan_options(
    account: Any,
    policy: Policy | None = None,
    model: BehaviourModel | None = None,
    *,
    search: SearchParams | None = None,
    relax: bool = True,
) -> PlanResult:
    """Restructuring options for one account, ranked by NPV (SPEC §6).

    Parameters
    ----------
    account
        An :class:`~solver.core.account.Account` or a mapping of SPEC §3 fields.
    policy
        Restructuring policy (defaults when omitted); per-product overrides apply.
    model
        Behaviour-model parameters (defaults when omitted).
    search
        Solver parameters of the ``custom`` / ``step`` search.
    relax
        When no plan is feasible, compute the smallest single policy relaxations that
        make one feasible (re-running the optimizer).

    Returns
    -------
    PlanResult
        Check ``status``; ``INFEASIBLE`` results carry the explanation and relaxations
        (the CLI turns them into exit code 3).
    """
    acc = as_account(account)
    policy = (policy or Policy()).for_product(acc.product)
    model = model or BehaviourModel()
    search = search or SearchParams()
    from solver.plans.families import context_from_account

    t0 = time.perf_counter()
    ctx = context_from_account(acc, policy, model)
    res = _results(ctx, [acc], search, relax)[0]
    return _with_runtime(res, time.perf_counter() - t0)


OBJECTIVES = ("bank", "customer")


def efficient_frontier(result: PlanResult) -> list[PlanOption]:
    """Offered plans passing the NPV test that no other plan beats on both bank NPV and
    customer cost, by NPV descending (the bank-vs-customer trade-off of one account)."""
    cands = [
        o
        for o in result.options
        if o.feasible and o.family in OFFERED and o.npv > result.status_quo.npv
    ]
    cands.sort(key=lambda o: (-o.npv, o.customer_cost))
    frontier: list[PlanOption] = []
    for o in cands:
        if not frontier or o.customer_cost < frontier[-1].customer_cost - 1e-9:
            frontier.append(o)
    return frontier


def choose_for(result: PlanResult, objective: str = "bank", within: float = 0.01) -> PlanResult:
    """The result with the recommendation made under ``objective``.

    ``bank`` (the default of :func:`plan_options`): the plan with the highest NPV that
    passes the NPV test. ``customer``: among the plans passing the NPV test whose NPV is
    within ``within`` (a share, 0.01 = 1 %) of the bank's best, the one that costs the
    customer least (:data:`METRICS` ``customer_cost``); ties go to the higher NPV.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if not (0.0 <= within <= 1.0) or math.isnan(within):
        raise ValueError(f"within must be a share in [0, 1], got {within}")
    if objective == "bank" or result.status != Status.RECOMMENDED:
        return result
    frontier = efficient_frontier(result)
    best_npv = frontier[0].npv
    floor = best_npv - within * abs(best_npv)
    pick = min((o for o in frontier if o.npv >= floor), key=lambda o: (o.customer_cost, -o.npv))
    if pick.label == result.recommended:
        return result
    from dataclasses import replace

    sq = result.status_quo
    explanation = (
        f"{pick.label} costs the customer {pick.customer_cost:,.2f} (present value of interest"
        f" and fees at the contract rate) against {frontier[0].customer_cost:,.2f} for the"
        f" bank's best ({frontier[0].label}), and recovers {pick.npv:,.2f} in expected NPV,"
        f" within {within:.1%} of the best ({best_npv:,.2f}) and {pick.npv - sq.npv:,.2f}"
        f" more than the status quo; PD 12m {pick.pd_12m:.1%} vs {sq.pd_12m:.1%}."
    )
    return replace(result, recommended=pick.label, explanation=explanation)


def _with_runtime(res: PlanResult, runtime: float) -> PlanResult:
    from dataclasses import replace

    return replace(res, runtime=runtime)


def require_feasible(result: PlanResult) -> PlanResult:
    """Raise :class:`InfeasibleError` (exit 3) with the explanation if no plan is feasible."""
    if result.status == Status.INFEASIBLE:
        raise InfeasibleError(
            f"account {result.account_id}: no feasible plan. {result.explanation}"
        )
    return result


# --------------------------------------------------------------------------------------
# Portfolios
# --------------------------------------------------------------------------------------

PORTFOLIO_COLUMNS = (
    "account_id",
    "product",
    "tier",
    "status",
    "family",
    "label",
    "term",
    "deferral_months",
    "deferral_mode",
    "rate",
    "fee_waiver",
    "interest_waiver",
    "haircut",
    "levels",
    "first_payment",
    "max_payment",
    "npv",
    "npv_vs_status_quo",
    "status_quo_npv",
    "waterfall_npv",
    "waterfall_feasible",
    "pd_12m",
    "apr",
    "customer_cost",
    "solver_status",
    "bound",
    "gap",
    "explanation",
    "error",
)


@dataclass(frozen=True)
class PortfolioPlans:
    """Recommended plans of a portfolio.

    Attributes
    ----------
    table
        One row per account (``PORTFOLIO_COLUMNS``).
    payments, exposures
        (n, T_max) float arrays of the plan each account follows: the recommended plan,
        or the status quo when no plan is recommended (zeros past ``term``).
    term
        Months of that plan (n,); 0 for accounts that failed with an error.
    """

    table: pd.DataFrame
    payments: np.ndarray
    exposures: np.ndarray
    term: np.ndarray

    def summary(self) -> pd.DataFrame:
        """Counts and NPV totals by tier and product (plus an ``all`` row)."""
        return portfolio_summary(self.table)


def _row(res: PlanResult, acc: Any) -> dict[str, Any]:
    opt = res.recommended_option
    wf = res.option("waterfall")
    follow = opt or res.status_quo
    pay = follow.payments
    row: dict[str, Any] = {
        "account_id": str(acc.account_id),
        "product": acc.product,
        "tier": acc.tier,
        "status": res.status,
        "family": None if opt is None else opt.family,
        "label": res.recommended,
        "term": int(follow.schedule.term) if follow.schedule is not None else 0,
        "deferral_months": None if opt is None else opt.params.get("deferral_months"),
        "deferral_mode": None if opt is None else opt.params.get("deferral_mode"),
        "rate": None if opt is None else opt.params.get("rate"),
        "fee_waiver": None if opt is None else opt.params.get("fee_waiver", 0.0),
        "interest_waiver": None if opt is None else opt.params.get("interest_waiver", 0.0),
        "haircut": None if opt is None else opt.params.get("haircut", 0.0),
        "levels": None
        if opt is None
        else " / ".join(f"{x:.2f}" for x in opt.params.get("levels", [])),
        "first_payment": float(pay[0]) if pay.size else None,
        "max_payment": float(pay.max()) if pay.size else None,
        "npv": follow.npv,
        "npv_vs_status_quo": follow.npv_vs_status_quo,
        "status_quo_npv": res.status_quo.npv,
        "waterfall_npv": wf.npv if wf.schedule is not None else None,
        "waterfall_feasible": bool(wf.feasible),
        "pd_12m": follow.pd_12m,
        "apr": follow.apr,
        "customer_cost": follow.customer_cost,
        "solver_status": None if opt is None else opt.status,
        "bound": None if opt is None else opt.bound,
        "gap": None if opt is None else opt.gap,
        "explanation": res.explanation,
        "error": None,
    }
    return row


def _accounts_of(frame: pd.DataFrame) -> list[Any]:
    from solver.core.account import Account

    return Account.from_frame(frame)


def plan_batch(
    frame: pd.DataFrame,
    policy: Policy | None = None,
    model: BehaviourModel | None = None,
    search: SearchParams | None = None,
) -> pd.DataFrame:
    """Recommended plan of every account of a validated portfolio frame (pure function).

    One row per account (``PORTFOLIO_COLUMNS``) in the frame's order. An account whose
    planning raises gets ``status = "ERROR"`` and the message in ``error``; the others
    are unaffected. Same input, same output: no randomness, no global state — the
    function the local process pool and the Dask engine call per partition.
    """
    rows, _, _, _ = _plan_rows(frame, policy, model, search)
    import pandas as pd

    return pd.DataFrame(rows, columns=list(PORTFOLIO_COLUMNS))


def _plan_rows(
    frame: pd.DataFrame,
    policy: Policy | None,
    model: BehaviourModel | None,
    search: SearchParams | None,
):
    policy = policy or Policy()
    model = model or BehaviourModel()
    search = search or SearchParams()
    accounts = _accounts_of(frame)
    n = len(accounts)
    rows: list[dict[str, Any] | None] = [None] * n
    follow: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(0), np.zeros(0))] * n
    products = frame["product"].to_numpy(object)
    for product in sorted(set(products.tolist())):
        idx = np.flatnonzero(products == product)
        pol = policy.for_product(product)
        results: list[Any]
        try:
            results = _solve_group(frame, idx, accounts, pol, model, search)
        except Exception:  # one bad account must not stop the others: retry one by one
            results = []
            for i in idx:
                try:
                    results.extend(_solve_group(frame, np.array([i]), accounts, pol, model, search))
                except Exception as exc:  # noqa: BLE001 - reported in the row
                    results.append(exc)
        for i, res in zip(idx, results, strict=True):
            acc = accounts[i]
            if isinstance(res, Exception):
                rows[i] = _error_row(acc, res)
                continue
            rows[i] = _row(res, acc)
            f = res.recommended_option or res.status_quo
            if f.schedule is not None:
                follow[i] = (f.schedule.payments, f.schedule.exposures)
    return rows, follow, accounts, n


def _error_row(acc: Any, exc: Exception) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in PORTFOLIO_COLUMNS}
    row.update(
        account_id=str(acc.account_id),
        product=acc.product,
        tier=acc.tier,
        status=Status.ERROR,
        error=f"{type(exc).__name__}: {exc}",
    )
    return row


def _solve_group(
    frame: pd.DataFrame,
    idx: np.ndarray,
    accounts: list[Any],
    policy: Policy,
    model: BehaviourModel,
    search: SearchParams,
) -> list[PlanResult]:
    from solver.plans.families import context_from_frame

    sub = frame.iloc[idx]
    ctx = context_from_frame(sub, policy, model)
    return _results(ctx, [accounts[i] for i in idx], search, relax=False, lazy=True)


def _batch_worker(args: tuple) -> tuple:
    frame, policy, model, search = args
    rows, follow, _, _ = _plan_rows(frame, policy, model, search)
    return rows, follow


def plan_batch_schedules(
    frame: pd.DataFrame,
    policy: Policy | None = None,
    model: BehaviourModel | None = None,
    search: SearchParams | None = None,
) -> PortfolioPlans:
    """Like :func:`plan_batch`, with the followed schedules as arrays (pure, per batch).

    What a distributed engine calls per partition when the scenario engine needs the
    payment paths; concatenate the results with :func:`concat_plans`.
    """
    rows, follow = _batch_worker((frame, policy, model, search))
    return _assemble(rows, follow)


def _assemble(
    rows: list[dict[str, Any]], follow: list[tuple[np.ndarray, np.ndarray]]
) -> PortfolioPlans:
    import pandas as pd

    table = pd.DataFrame(rows, columns=list(PORTFOLIO_COLUMNS))
    n = len(rows)
    T = max([p.size for p, _ in follow] + [1])
    payments = np.zeros((n, T))
    exposures = np.zeros((n, T))
    term = np.zeros(n, dtype=np.int64)
    for r, (p, e) in enumerate(follow):
        payments[r, : p.size] = p
        exposures[r, : e.size] = e
        term[r] = p.size
    return PortfolioPlans(table=table, payments=payments, exposures=exposures, term=term)


def concat_plans(parts: Sequence[PortfolioPlans]) -> PortfolioPlans:
    """Stack per-batch :class:`PortfolioPlans` (in order)."""
    import pandas as pd

    T = max([p.payments.shape[1] for p in parts] + [1])

    def pad(a: np.ndarray) -> np.ndarray:
        return np.pad(a, ((0, 0), (0, T - a.shape[1])))

    return PortfolioPlans(
        table=pd.concat([p.table for p in parts], ignore_index=True),
        payments=np.concatenate([pad(p.payments) for p in parts]) if parts else np.zeros((0, T)),
        exposures=np.concatenate([pad(p.exposures) for p in parts]) if parts else np.zeros((0, T)),
        term=np.concatenate([p.term for p in parts]) if parts else np.zeros(0, np.int64),
    )


def plan_portfolio(
    frame: pd.DataFrame,
    policy: Policy | None = None,
    model: BehaviourModel | None = None,
    *,
    jobs: int = 1,
    batch_size: int = 64,
    search: SearchParams | None = None,
    progress: Callable[[int], None] | None = None,
) -> PortfolioPlans:
    """Recommended plan for every account of a portfolio (SPEC §6, at scale).

    Parameters
    ----------
    frame
        Validated portfolio (``solver.core.io.read_portfolio`` or ``generate_portfolio``).
    jobs
        Local worker processes; batches of ``batch_size`` accounts are planned by
        :func:`plan_batch` logic in each.
    progress
        Called with the number of accounts finished after each batch.

    Returns
    -------
    PortfolioPlans
        The table and the followed schedules as arrays for the scenario engine.
    """

    n = len(frame)
    batches = [frame.iloc[s : s + batch_size] for s in range(0, n, batch_size)]
    all_rows: list[dict[str, Any]] = []
    all_follow: list[tuple[np.ndarray, np.ndarray]] = []
    if jobs <= 1 or len(batches) <= 1:
        for b in batches:
            rows, follow = _batch_worker((b, policy, model, search))
            all_rows.extend(rows)
            all_follow.extend(follow)
            if progress:
                progress(len(b))
    else:
        # solver.engines.local.LocalPool, not ProcessPoolExecutor: an interruption (SIGINT/SIGTERM
        # becomes an exception here, see commands.common.handle_signals) kills the workers
        # at once and can never leave the parent waiting on a dead worker (issue 15)
        from solver.engines.local import LocalPool

        done: list[tuple[Any, Any] | None] = [None] * len(batches)
        with LocalPool(_batch_worker, min(jobs, len(batches))) as pool:
            for k, ok, value in pool.run([(b, policy, model, search) for b in batches]):
                if not ok:
                    raise value
                done[k] = value
                if progress:
                    progress(len(batches[k]))
        for part in done:
            assert part is not None
            all_rows.extend(part[0])
            all_follow.extend(part[1])
    return _assemble(all_rows, all_follow)


def portfolio_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Accounts restructured / not feasible / failing the NPV test and NPV uplifts, by tier and product.

    ``certified_0_1pct`` counts the recommendations proved within 0.1 % of their family's
    optimum (status ``OPTIMAL``, or a gap ≤ :data:`CERTIFIED_GAP` from a valid bound).
    """
    import pandas as pd

    t = table.copy()
    t["restructured"] = t["status"] == Status.RECOMMENDED
    t["infeasible"] = t["status"] == Status.INFEASIBLE
    t["npv_test_failed"] = t["status"] == Status.NPV_TEST_FAILED
    t["errors"] = t["status"] == Status.ERROR
    t["uplift_vs_status_quo"] = pd.to_numeric(t["npv_vs_status_quo"], errors="coerce").fillna(0.0)
    wf = pd.to_numeric(t["waterfall_npv"], errors="coerce")
    wf_use = wf.where(
        t["waterfall_feasible"].fillna(False).astype(bool),
        pd.to_numeric(t["status_quo_npv"], errors="coerce"),
    )
    t["uplift_vs_waterfall"] = (pd.to_numeric(t["npv"], errors="coerce") - wf_use).fillna(0.0)
    gap = pd.to_numeric(t["gap"], errors="coerce") if "gap" in t else pd.Series(0.0, t.index)
    t["certified_0_1pct"] = t["restructured"] & (gap.fillna(0.0) <= CERTIFIED_GAP)
    aggs = {
        "accounts": ("account_id", "size"),
        "restructured": ("restructured", "sum"),
        "infeasible": ("infeasible", "sum"),
        "npv_test_failed": ("npv_test_failed", "sum"),
        "errors": ("errors", "sum"),
        "certified_0_1pct": ("certified_0_1pct", "sum"),
        "npv": ("npv", "sum"),
        "uplift_vs_status_quo": ("uplift_vs_status_quo", "sum"),
        "uplift_vs_waterfall": ("uplift_vs_waterfall", "sum"),
    }
    parts = []
    for key in ("tier", "product"):
        g = t.groupby(key, dropna=False).agg(**aggs).reset_index().rename(columns={key: "segment"})
        g.insert(0, "by", key)
        parts.append(g)
    t["_all"] = "all"
    g = t.groupby("_all").agg(**aggs).reset_index().rename(columns={"_all": "segment"})
    g.insert(0, "by", "all")
    parts.append(g)
    return pd.concat(parts, ignore_index=True)


__all__ = [
    "FAMILIES",
    "PlanOption",
    "PlanResult",
    "PortfolioPlans",
    "SearchParams",
    "plan_batch",
    "plan_batch_schedules",
    "concat_plans",
    "plan_options",
    "plan_portfolio",
    "portfolio_summary",
    "require_feasible",
]

# silence "imported but unused" for names re-exported for callers
_ = (InputError, AccountParams, concat, WATERFALL_STEPS)
