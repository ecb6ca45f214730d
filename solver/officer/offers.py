"""What the bank offers one customer: a plan option or the customer's own counter-offer,
dated, with the disclosures of its schedule.

:func:`choose_offer` resolves the officer's choice (a plan option's label, a family, a
frontier plan's label, or ``counter_offer``) against the account's plan options, refuses
what may not be offered (the status quo, the waterfall reference, an infeasible option, a
counter-offer that breaks the policy) and returns the :class:`Offer` the letter and the
audit trail are made from. The labels are those ``workout plan`` prints
(:func:`plan_option`): an officer offers the plan shown, under the label shown.

An offer the policy's tests advise against is written with a note, not refused: one that
fails the NPV test, and (decision, session 17) one the ``need_test`` finds not needed
(``workout plan``'s ``CONTRACT_AFFORDABLE``, the counter-offer's verdict of that name):
both are the officer's call against the bank's advice, recorded in the audit trail with
the note, whereas a broken policy rule is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from solver.core import Schedule, status_quo
from solver.core.account import balance_owed
from solver.core.currency import format_value
from solver.domain import (
    DEFAULT_CURRENCY,
    DEFERRAL_MODES,
    FAMILIES,
    OFFERED_FAMILIES,
    Family,
    Status,
)
from solver.errors import InfeasibleError, InputError
from solver.officer.counter_offer import CounterOffer, Verdict, evaluate_counter_offer
from solver.officer.dating import as_of_or_today
from solver.officer.documents import COUNTER_OFFER
from solver.officer.proposal import Proposal
from solver.plans import PlanOption, PlanResult, efficient_frontier
from solver.plans.plan_records import STATUS_QUO


@dataclass(frozen=True)
class Offer:
    """A plan offered to one customer, dated, with the disclosures of its schedule.

    Attributes
    ----------
    label, family
        The plan option's label and family (``counter_offer`` for the customer's own
        proposal).
    schedule
        Cent-exact schedule dated from ``as_of`` (month t due t months later).
    rate
        Nominal annual rate of the plan.
    deferral_months, deferral_mode
        Months of payment holiday in all, if any, and what happens to their interest.
    holidays
        Where the holidays are, as runs of months (first, last); the letter names them
        (``()``: none).
    owed
        ``principal``, ``interest_due``, ``fees_due``, ``arrears`` today.
    current_total
        Total of payments under the current contract (the status quo).
    figures
        The bank's figures of the plan (NPV and the rest, as the plan options report
        them); not printed in the letter, recorded in the audit trail.
    """

    account_id: str
    label: str
    family: str
    schedule: Schedule
    rate: float
    deferral_months: int
    deferral_mode: str | None
    holidays: tuple[tuple[int, int], ...]
    owed: dict[str, float]
    current_total: float
    as_of: date
    valid_until: date
    figures: dict[str, float]

    @property
    def apr(self) -> float:
        return self.schedule.apr()

    @property
    def amount_financed(self) -> float:
        return self.schedule.opening_balance / 100

    @property
    def total_of_payments(self) -> float:
        return self.schedule.total_paid

    @property
    def finance_charge(self) -> float:
        return self.schedule.total_interest

    @property
    def relief(self) -> float:
        """What the plan waives or forgives up front (owed today less the amount financed)."""
        owed = float(balance_owed(self.owed))
        return max(0.0, round(owed - self.amount_financed, 2))

    @property
    def payment_count(self) -> int:
        return int((self.schedule.payment > 0).sum())

    @property
    def first_due(self) -> date:
        first = int((self.schedule.payment > 0).argmax())
        return self.schedule.due_dates[first]


def make_offer(
    account: Any,
    *,
    label: str,
    family: str,
    schedule: Schedule,
    figures: Mapping[str, float],
    rate: float | None = None,
    deferral_months: int = 0,
    deferral_mode: str | None = None,
    holidays: tuple[tuple[int, int], ...] | None = None,
    as_of: date | None = None,
    valid_days: int = 14,
) -> Offer:
    """An :class:`Offer` of ``schedule`` to ``account``'s customer, dated ``as_of`` (today);
    ``holidays`` ``None``: the first ``deferral_months`` months."""
    as_of = as_of_or_today(as_of)
    if holidays is None:
        holidays = ((1, int(deferral_months)),) if deferral_months else ()
    return Offer(
        account_id=str(account.account_id),
        label=label,
        family=family,
        schedule=replace(schedule, start=as_of),
        rate=float(account.annual_rate if rate is None else rate),
        deferral_months=int(deferral_months or 0),
        deferral_mode=deferral_mode if deferral_months else None,
        holidays=tuple(holidays),
        owed={
            k: float(getattr(account, k))
            for k in ("principal", "interest_due", "fees_due", "arrears")
        },
        current_total=status_quo(account, grid=schedule.grid).total_paid,
        as_of=as_of,
        valid_until=as_of + timedelta(days=valid_days),
        figures=dict(figures),
    )


def offer_of_option(account: Any, option: Any, **dating: Any) -> Offer:
    """The offer of a plan option (:class:`~solver.plans.PlanResult` ``.option(name)``)."""
    terms = option.terms
    return make_offer(
        account,
        label=option.label,
        family=option.family,
        schedule=option.schedule,
        figures=option.metrics(),
        rate=terms.rate,
        deferral_months=terms.deferral_months or 0,
        deferral_mode=terms.deferral_mode,
        holidays=terms.holidays,
        **dating,
    )


def offer_of_counter(account: Any, counter: Any, **dating: Any) -> Offer:
    """The offer of an evaluated counter-offer (:class:`~solver.officer.CounterOffer`)."""
    booked = counter.booked
    return make_offer(
        account,
        label="counter_offer",
        family="counter_offer",
        schedule=booked.schedule,
        figures=counter.figures,
        deferral_months=booked.deferral_months,
        deferral_mode=booked.deferral_mode,
        holidays=booked.holidays,
        **dating,
    )


@dataclass(frozen=True)
class OfferChoice:
    """The offer an officer chose, the plan options it was chosen from, and notes (an
    offer that fails the NPV test says so)."""

    offer: Offer
    plans: PlanResult
    counter: CounterOffer | None = None
    notes: tuple[str, ...] = field(default=())


def offer_name(option: str) -> str:
    """``option`` as :func:`choose_offer` reads it: stripped, ``counter-offer`` spelt
    :data:`COUNTER_OFFER`."""
    name = option.strip()
    return COUNTER_OFFER if name == "counter-offer" else name


def proposal_misfit(option: str, has_proposal: bool) -> str | None:
    """How ``option`` and a proposal do not go together: ``"missing"`` (the counter-offer
    without a proposal), ``"extra"`` (a plan option with one), else ``None``.

    The one rule :func:`choose_offer` enforces; each interface says it in its own names
    (the command line's ``--payments``, the service's ``proposal`` field).
    """
    counter = offer_name(option) == COUNTER_OFFER
    if counter and not has_proposal:
        return "missing"
    if has_proposal and not counter:
        return "extra"
    return None


def choose_offer(
    account: Any,
    option: str,
    plans: PlanResult,
    *,
    policy: Any = None,
    model: Any = None,
    proposal: Proposal | None = None,
    as_of: date | None = None,
    valid_days: int = 14,
) -> OfferChoice:
    """The offer of ``option`` (a label such as ``deferral/capitalize``, a family, a
    frontier plan's label such as ``deferral/interest_only 4+29m`` (:func:`plan_option`), or
    ``counter_offer`` with ``proposal``) from the account's ``plans`` (searched and chosen
    as ``workout plan`` does for the officer's objective:
    :func:`~solver.officer.documents.plan_result`). The choice's ``plans`` list a frontier
    plan chosen among their options.

    Raises
    ------
    InputError
        An unknown option, the status quo or the waterfall reference, or a proposal
        without ``counter_offer`` (and the reverse).
    InfeasibleError
        The option has no policy-feasible plan, or the counter-offer breaks the policy
        (the message names the nearest feasible plan), also when the need test finds it
        not needed.
    """
    name = offer_name(option)
    dating = {"as_of": as_of, "valid_days": valid_days}
    misfit = proposal_misfit(name, proposal is not None)
    if misfit == "missing":
        raise InputError(
            "--option counter_offer: give the proposal (--payments, or --term/--holiday/--amount)"
        )
    if misfit == "extra":
        raise InputError(
            f"--option {name}: the proposal options (--payments, --term, --holiday, --amount) "
            "belong to --option counter_offer"
        )
    if name == COUNTER_OFFER:
        assert proposal is not None  # proposal_misfit: counter_offer comes with one
        counter = evaluate_counter_offer(account, proposal, policy, model, plans=plans)
        if counter.violations:  # a broken rule is refused whatever the verdict
            raise InfeasibleError(f"the counter-offer cannot be offered: it {_refusal(counter)}")
        notes: tuple[str, ...] = ()
        if counter.verdict == Verdict.NPV_TEST_FAILED:
            notes = (f"the counter-offer fails the NPV test: it {counter.explanation}",)
        elif counter.verdict == Verdict.CONTRACT_AFFORDABLE:
            notes = (f"need test: {counter.explanation}",)
        return OfferChoice(offer_of_counter(account, counter, **dating), plans, counter, notes)
    chosen = plan_option(plans, name)
    if all(o is not chosen for o in (plans.status_quo, *plans.options)):
        # a frontier plan: the audit trail lists it among the options shown, as
        # choose_for lists the frontier plan it recommends
        plans = replace(plans, options=(*plans.options, chosen))
    if chosen.family not in OFFERED_FAMILIES:
        raise InputError(f"--option {name}: the {chosen.family} plan is a reference, not an offer")
    if not chosen.feasible or chosen.schedule is None:
        raise InfeasibleError(
            f"--option {name}: no plan of this kind satisfies the policy: {chosen.reason}"
        )
    notes = ()
    if plans.status == Status.CONTRACT_AFFORDABLE:
        notes = (f"need test: {plans.explanation}",)
    if not chosen.npv > plans.status_quo.npv:
        currency = str(getattr(policy, "currency", DEFAULT_CURRENCY))
        notes += (
            f"{chosen.label} fails the NPV test: it recovers "
            f"{format_value(chosen.npv, currency)} against "
            f"{format_value(plans.status_quo.npv, currency)} for the status quo",
        )
    return OfferChoice(offer_of_option(account, chosen, **dating), plans, None, notes)


def plan_option(
    plans: PlanResult, name: str, *, option: str = "--option", shown: bool = False
) -> PlanOption:
    """The plan option ``name`` names: any label ``workout plan`` prints for these
    ``plans`` -- an option's (:meth:`~solver.plans.PlanResult.option`, which also takes a
    family for its best plan) or a frontier plan's (:func:`~solver.plans.efficient_frontier`,
    the table ``plan --frontier`` and ``--objective customer`` print, labelled with their
    terms: ``deferral/interest_only 4+29m``).

    The labels are the plan search's own (:attr:`~solver.plans.PlanOption.label`), the ones
    plan's table, JSON (``label``, ``frontier``) and .xlsx show: there is no second spelling.
    ``workout offer --option`` and ``workout plan --schedule`` both resolve them here.

    Parameters
    ----------
    option
        The option the label was given with, for the message (``--option``, ``--schedule``).
    shown
        The message lists every plan ``workout plan`` shows (the status quo and the
        waterfall reference too: ``--schedule``), not only what may be offered (``--option``,
        which also takes the counter-offer).

    Raises
    ------
    InputError
        No option or frontier plan has this label; the message lists the options.
    """
    try:
        return plans.option(name)
    except KeyError:
        pass
    # the frontier is priced only on a miss: most offers name a family or an option
    for plan in efficient_frontier(plans) if plans.trade_offs is not None else ():
        if plan.label == name:
            return plan
    if shown:
        names = [STATUS_QUO, *(o.label for o in plans.options), "a family name for its best plan"]
    else:
        names = [o.label for o in plans.options if o.family in OFFERED_FAMILIES]
    if plans.trade_offs is not None:
        names.append("a frontier plan's label (`workout plan --frontier` lists them)")
    if not shown:
        names.append(COUNTER_OFFER)
    listed = f"{', '.join(names[:-1])} or {names[-1]}"
    raise InputError(f"{option} {name}: no such option; options are {listed}")


def check_plan_label(name: str, option: str) -> None:
    """Refuse, before the plan search, a label no run can print (``plan --schedule custm``).

    A plan's label is ``status_quo`` or starts with its family (:data:`~solver.domain.FAMILIES`),
    a deferral's with ``deferral/`` and its interest mode (:data:`~solver.domain.DEFERRAL_MODES`),
    then, for a frontier plan, its terms after a space (``deferral/interest_only 4+29m``).
    Only that stem is checked here: which options and frontier plans exist depends on the
    run, so a well-formed label can still be refused by :func:`plan_option` after the search.

    Raises
    ------
    InputError
        The stem is not a family or a deferral mode; the message lists them (exit 2).
    """
    from solver.core.settings_schema import did_you_mean

    if name == STATUS_QUO:
        return
    stem = name.split(" ", 1)[0]
    family, slash, mode = stem.partition("/")
    if family not in FAMILIES:
        close = did_you_mean(family, [*FAMILIES, STATUS_QUO])
        hint = f" (did you mean {close}?)" if close else ""
        raise InputError(
            f"{option} {name}: no such plan family {family!r}{hint}; a label starts with a"
            f" family ({', '.join(FAMILIES)}) or is {STATUS_QUO}"
        )
    if slash and (family != Family.DEFERRAL or mode not in DEFERRAL_MODES):
        modes = ", ".join(f"{Family.DEFERRAL}/{m}" for m in DEFERRAL_MODES)
        raise InputError(
            f"{option} {name}: no such option {stem!r}; the options with a mode are the"
            f" deferral's ({modes})"
        )


def _refusal(counter: CounterOffer) -> str:
    """Why a counter-offer that breaks a policy rule is refused, after "it": the rules
    broken and what to do instead -- the nearest feasible plan (``BREAKS_POLICY``: its
    explanation), or keep the contract (``CONTRACT_AFFORDABLE``: the need test came
    first, so there is no nearest plan)."""
    if counter.verdict == Verdict.BREAKS_POLICY:
        return counter.explanation  # "breaks the policy: ... Nearest feasible plan: ..."
    rules = "; ".join(v.text for v in counter.violations)
    return (
        f"breaks the policy: {rules}; and the need test finds it not needed (the contract is "
        "affordable: keep the contract)"
    )
