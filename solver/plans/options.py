"""The plan options of one account and the recommendation (SPEC §6): ``plan_options``.

For one account, :func:`plan_options` returns, for every plan family, the
policy-feasible plan with the highest expected-recovery NPV under the behaviour model,
with its cent-exact schedule, its metrics, the binding constraints in words, and the
recommended option (the best NPV that passes the NPV test against the status quo).

How a plan is found and reported
--------------------------------
1. Each family's grid is searched in float, vectorised over accounts and candidates
   (:mod:`solver.plans.families`, :mod:`solver.plans.scoring`; ``custom`` and ``step``
   by the exact branch and bound of :mod:`solver.plans.search`).
2. The winner is rebuilt as a cent-exact :class:`~solver.core.schedule.Schedule` and checked
   against the policy again; if cent rounding made it infeasible, the next candidate
   is used (:mod:`solver.plans.choices`).
3. Every metric is then computed from that schedule by the behaviour model
   (:mod:`solver.plans.metrics`: ``solver.core.model.evaluate_batch`` over all reported
   schedules at once — the same computation as :func:`solver.core.evaluation.evaluate`,
   which a test checks to 1e-6).

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

:func:`choose_for` makes the recommendation under the customer's objective instead,
from the :func:`efficient_frontier` of the bank's NPV against the customer's cost.
"""

from __future__ import annotations

import math
import time
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

import numpy as np

from solver.core.account import as_account
from solver.core.contract import status_quos
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.core.schedule import Schedule
from solver.domain import DEFAULT_CURRENCY, OFFERED_FAMILIES, Status
from solver.errors import InfeasibleError
from solver.plans.choice import Choice
from solver.plans.choices import family_choices
from solver.plans.context import PlanContext, context_from_account, grid_of
from solver.plans.explain import (
    affordable_text,
    binding_constraints,
    customer_choice_text,
    explain_infeasible,
    minimal_relaxations,
    npv_test_text,
    optional_text,
    recommendation_text,
)
from solver.plans.frontier import TradeOffs, undominated
from solver.plans.metrics import METRICS, plan_metrics
from solver.plans.objectives import DEFAULT_OBJECTIVE, DEFAULT_WITHIN_PCT, OBJECTIVES
from solver.plans.schedules import contract_affordable, schedule_levels
from solver.plans.search_types import SearchParams
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
    #: (:func:`efficient_frontier`); ``None`` for a portfolio run's results.
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
        result of :func:`plan_options`; nothing for a portfolio run's result."""
        if self.trade_offs is None or self.status_quo.schedule is None:
            return {}
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


def plan_results(
    ctx: PlanContext,
    accounts: list[Any],
    search: SearchParams,
    relax: bool,
    lazy: bool = False,
) -> list[PlanResult]:
    """Plan results of the context's accounts.

    With ``lazy`` (portfolio runs: only the recommendation is reported) level families
    that cannot be the best are not rebuilt in cents (see
    :func:`~solver.plans.choices.family_choices`) and no binding constraints are worded.
    """
    t0 = time.perf_counter()
    choices = family_choices(ctx, search, lazy)
    sq = status_quos(ctx.fields, grid=grid_of(ctx))
    mets = plan_metrics(ctx, [[ch.schedule for ch in chs] for chs in choices], sq)
    results: list[PlanResult] = []
    for i, acc in enumerate(accounts):
        sq_m: dict[str, Any] = mets[i][-1]
        sq_opt = PlanOption(
            STATUS_QUO,
            STATUS_QUO,
            True,
            PlanTerms(
                term=sq[i].term,
                rate=float(acc.annual_rate),
                levels=schedule_levels(sq[i]),
            ),
            sq[i],
            **sq_m,
            status=Status.REFERENCE,
        )
        options = [_option(ctx, i, ch, mets[i][k], lazy) for k, ch in enumerate(choices[i])]
        affordable = contract_affordable(ctx, i, sq_opt)
        status, rec, explanation, relaxations = _recommend(
            ctx, i, acc, sq_opt, options, search, relax, affordable
        )
        results.append(
            PlanResult(
                account_id=str(acc.account_id),
                status=status,
                recommended=rec,
                npv_test_passed=status == Status.RECOMMENDED,
                explanation=explanation,
                status_quo=sq_opt,
                options=tuple(options),
                relaxations=relaxations,
                runtime=(time.perf_counter() - t0) / max(len(accounts), 1),
                contract_affordable=affordable,
            )
        )
    return results


def _option(
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


def _recommend(
    ctx: PlanContext,
    i: int,
    acc: Any,
    sq_opt: PlanOption,
    options: list[PlanOption],
    search: SearchParams,
    relax: bool,
    affordable: bool,
) -> tuple[Status, str | None, str, tuple[dict[str, Any], ...]]:
    """Status, recommended label, explanation and (if none is feasible and ``relax``) the
    smallest single relaxations of account ``i``: the offered plan with the best NPV if
    it beats the status quo (the NPV test). ``affordable``: whether the contract passes
    the need test (:func:`~solver.plans.schedules.contract_affordable`)."""
    offered = [o for o in options if o.feasible and o.family in OFFERED_FAMILIES]
    best = max(offered, key=lambda o: o.npv) if offered else None
    if affordable and ctx.policy.need_test:  # before the rest: the contract needs no plan
        return Status.CONTRACT_AFFORDABLE, None, affordable_text(best, sq_opt, ctx.policy), ()
    if best is None:
        explanation = explain_infeasible(ctx, i)
        relaxations: tuple[dict[str, Any], ...] = ()
        if relax:
            relaxations = tuple(minimal_relaxations(acc, ctx.policy, ctx.model, search))
            if relaxations:
                explanation += (
                    " Smallest single relaxations that make a plan feasible: "
                    + "; ".join(r["text"] for r in relaxations)
                    + "."
                )
        return Status.INFEASIBLE, None, explanation, relaxations
    if best.npv > sq_opt.npv:
        explanation = recommendation_text(best, sq_opt, ctx.policy.currency)
        if affordable:
            explanation += " " + optional_text(sq_opt, ctx.policy)
        return Status.RECOMMENDED, best.label, explanation, ()
    return Status.NPV_TEST_FAILED, None, npv_test_text(best, sq_opt, ctx.policy.currency), ()


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
    t0 = time.perf_counter()
    ctx = context_from_account(acc, policy, model)
    res = plan_results(ctx, [acc], search, relax)[0]
    return replace(res, runtime=time.perf_counter() - t0, trade_offs=TradeOffs(ctx))


def efficient_frontier(result: PlanResult) -> list[PlanOption]:
    """The bank-vs-customer efficient frontier of one account, by NPV descending: the
    offered plans passing the NPV test that no other such plan beats on both bank NPV and
    customer cost.

    The candidates are every family's best plan and, for a result of
    :func:`plan_options`, the level families' plans at every term
    (:class:`solver.plans.frontier.TradeOffs`), each a full option (cent schedule, the
    model's metrics, binding constraints) labelled with its terms (``instalment 36m``,
    ``deferral/waive 3+33m``). A term plan with a family best's schedule is that option.
    """
    sq = result.status_quo
    offered = [
        o for o in result.options if o.feasible and o.family in OFFERED_FAMILIES and o.npv > sq.npv
    ]
    known = {o.label for o in offered} | {_plan_key(o.family, o.schedule) for o in offered}
    points: list[tuple[float, float, Any]] = [(o.npv, o.customer_cost, o) for o in offered]
    trade = result.trade_offs
    if trade is not None and sq.schedule is not None:
        for ch, m in trade.points(sq.schedule, sq.npv):
            if ch.label not in known and _plan_key(ch.family, ch.schedule) not in known:
                points.append((m["npv"], m["customer_cost"], (ch, m)))
    front = undominated(points, lambda p: p[0], lambda p: p[1])
    return [p[2] if isinstance(p[2], PlanOption) else _term_option(trade, *p[2]) for p in front]


def _plan_key(family: str, schedule: Schedule | None) -> tuple[str, bytes, int]:
    """What makes two plans the same plan: family, payments and opening balance."""
    if schedule is None:
        return (family, b"", 0)
    return (family, schedule.payment.tobytes(), int(schedule.opening_balance))


def _term_option(trade: Any, ch: Choice, metrics: dict[str, float]) -> PlanOption:
    """The full option of a frontier term plan (its binding constraints worded once)."""
    option = trade.options.get(ch.label)
    if option is None:
        option = trade.options[ch.label] = _option(trade.ctx, 0, ch, metrics, False)
    return option


def choose_for(
    result: PlanResult,
    objective: str = DEFAULT_OBJECTIVE,
    within: float = DEFAULT_WITHIN_PCT / 100,
    *,
    currency: str = DEFAULT_CURRENCY,
) -> PlanResult:
    """The result with the recommendation made under ``objective`` (the explanation's
    amounts in ``currency``'s decimals).

    ``bank`` (the default of :func:`plan_options`): the plan with the highest NPV that
    passes the NPV test. ``customer``: among the :func:`efficient_frontier` plans whose NPV
    is within ``within`` (a share, 0.01 = 1 %; by default
    :data:`~solver.plans.objectives.DEFAULT_WITHIN_PCT` / 100) of the best, the one that
    costs the customer least (:data:`METRICS` ``customer_cost``); ties go to the higher NPV. A
    frontier plan at a term that is not a family's best (``instalment 36m``) is appended to
    the options, so it is reported in full like every option.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if not (0.0 <= within <= 1.0) or math.isnan(within):
        raise ValueError(f"within must be a share in [0, 1], got {within}")
    if objective == DEFAULT_OBJECTIVE or result.status != Status.RECOMMENDED:
        return result  # plan_options recommended the bank's best: nothing to trade
    frontier = efficient_frontier(result)
    best_npv = frontier[0].npv
    floor = best_npv - within * abs(best_npv)
    pick = min((o for o in frontier if o.npv >= floor), key=lambda o: (o.customer_cost, -o.npv))
    if pick.label == result.recommended:
        return result
    options = result.options
    if all(o.label != pick.label for o in options):
        options = (*options, pick)
    explanation = customer_choice_text(pick, frontier[0], result.status_quo, within, currency)
    return replace(result, options=options, recommended=pick.label, explanation=explanation)


def require_feasible(result: PlanResult) -> PlanResult:
    """Raise :class:`InfeasibleError` (exit 3) with the explanation if no plan is feasible."""
    if result.status == Status.INFEASIBLE:
        raise InfeasibleError(
            f"account {result.account_id}: no feasible plan. {result.explanation}"
        )
    return result
