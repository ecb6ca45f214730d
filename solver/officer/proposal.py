"""A customer's own repayment proposal (a counter-offer) and its cent-exact schedule.

A restructuring officer hears the customer say "I can pay 1,500 a month after three
months off" or read out a list of amounts. :class:`Proposal` holds either form:

* explicit monthly payments (``--payments "0*3,1500*24,1200"``), or
* a term, a payment holiday and an amount (``--term 36 --holiday 3 --amount 1500``).

:func:`proposal_schedule` turns it into the schedule the bank would book: the balance
restructured as the ``instalment`` family does it (principal, accrued interest and fees
capitalised, at the contract rate), the holiday treated as the policy names it
(``capitalize``, ``interest_only``, ``waive``), and the last payment replaced by what
clears the balance (the schedule says so in its notes when that differs from the
proposal).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

from solver.core import Schedule, level_plan, schedule_from_payments
from solver.core.currency import format_amount, money_grid
from solver.core.schema import MAX_FORECAST_MONTHS
from solver.domain import DEFAULT_CURRENCY, DEFERRAL_MODES
from solver.errors import InputError
from solver.plans.terms import holiday_runs, longest_run, run_months

#: Longest proposal in months (the ``remaining_term`` bound of the account schema).
MAX_PROPOSAL_MONTHS = MAX_FORECAST_MONTHS
#: Characters of a ``--payments`` text (about 600 amounts with repeats).
MAX_PAYMENTS_TEXT = 8_000

_ITEM = re.compile(
    r"^(?P<amount>[0-9][0-9_]*(?:\.[0-9]*)?|\.[0-9]+)(?:\s*[*x×]\s*(?P<count>[0-9]+))?$"
)


@dataclass(frozen=True)
class Proposal:
    """What the customer proposes: explicit ``payments``, or ``term``/``holiday``/``amount``.

    Parameters
    ----------
    payments
        Monthly amounts from month 1 (CNY, >= 0); the last one is replaced by what
        clears the balance.
    term
        Total months, holiday included. Without ``amount``: level instalments over the
        months after the holiday (rounded up to the policy's unit, as the ``deferral``
        family builds them).
    holiday
        Months without instalments at the start (their interest treated per
        ``holiday_mode``).
    holiday_mode
        ``capitalize`` (pay 0, interest added to the balance), ``interest_only`` (pay
        the month's interest) or ``waive`` (pay 0, no interest).
    amount
        The monthly instalment after the holiday. Without ``term``: paid until the
        balance is cleared; with it: over ``term - holiday`` months, the last payment
        clearing whatever is left.
    """

    payments: tuple[float, ...] | None = None
    term: int | None = None
    holiday: int = 0
    holiday_mode: str = "capitalize"
    amount: float | None = None

    def __post_init__(self) -> None:
        if self.payments is not None:
            pay = tuple(float(p) for p in self.payments)
            object.__setattr__(self, "payments", pay)
            if self.term is not None or self.amount is not None or self.holiday:
                raise InputError(
                    "payments: give either the monthly payments or term/holiday/amount, not both"
                )
            if not pay:
                raise InputError("payments: at least one month is needed")
            if len(pay) > MAX_PROPOSAL_MONTHS:
                raise InputError(
                    f"payments: {len(pay)} months, at most {MAX_PROPOSAL_MONTHS} are allowed"
                )
            for month, p in enumerate(pay, start=1):
                if not math.isfinite(p) or p < 0:
                    raise InputError(f"payments: month {month}: must be an amount >= 0, got {p}")
            if not any(p > 0 for p in pay):
                raise InputError("payments: every payment is 0; nothing would be repaid")
            return
        if self.term is None and self.amount is None:
            raise InputError("proposal: give the payments, or a term and/or an amount")
        if self.holiday_mode not in DEFERRAL_MODES:
            raise InputError(
                f"holiday_mode: must be one of {', '.join(DEFERRAL_MODES)}, got {self.holiday_mode!r}"
            )
        if isinstance(self.holiday, bool) or int(self.holiday) != self.holiday or self.holiday < 0:
            raise InputError(f"holiday: must be a whole number of months >= 0, got {self.holiday}")
        object.__setattr__(self, "holiday", int(self.holiday))
        if self.term is not None:
            if isinstance(self.term, bool) or int(self.term) != self.term:
                raise InputError(f"term: must be a whole number of months, got {self.term}")
            object.__setattr__(self, "term", int(self.term))
            if not 1 <= self.term <= MAX_PROPOSAL_MONTHS:
                raise InputError(f"term: must be in [1, {MAX_PROPOSAL_MONTHS}], got {self.term}")
            if self.holiday >= self.term:
                raise InputError(
                    f"holiday: {self.holiday} months leave no instalment in a {self.term}-month term"
                )
        elif self.holiday >= MAX_PROPOSAL_MONTHS:
            raise InputError(f"holiday: must be below {MAX_PROPOSAL_MONTHS} months")
        if self.amount is not None:
            amount = float(self.amount)
            if not math.isfinite(amount) or amount <= 0:
                raise InputError(f"amount: must be a positive amount, got {self.amount}")
            object.__setattr__(self, "amount", amount)

    @property
    def explicit(self) -> bool:
        """Whether the proposal lists its payments month by month."""
        return self.payments is not None

    def describe(self, currency: str = DEFAULT_CURRENCY) -> str:
        """The proposal in a few words (for tables and the audit trail), the instalment in
        ``currency``'s decimals (:func:`~solver.core.currency.format_amount`: whole yen for
        JPY). Explicit payments are written as :func:`payments_text` (the form
        ``--payments`` reads, no thousands separators)."""
        if self.payments is not None:
            return "payments " + payments_text(self.payments)
        parts = []
        if self.holiday:
            parts.append(f"{self.holiday} months holiday ({self.holiday_mode})")
        if self.amount is not None:
            parts.append(f"{format_amount(self.amount, currency)} a month")
        if self.term is not None:
            parts.append(f"over {self.term} months")
        else:
            parts.append("until repaid")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The proposal as plain JSON-ready values (only the fields of its form)."""
        if self.payments is not None:
            return {"payments": list(self.payments)}
        return {
            "term": self.term,
            "holiday": self.holiday,
            "holiday_mode": self.holiday_mode,
            "amount": self.amount,
        }


def parse_payments(text: str, option: str = "--payments") -> tuple[float, ...]:
    """Monthly amounts from text: ``"0*3, 1500*24, 1200"`` (``AMOUNT*COUNT`` repeats an amount).

    Items are separated by commas, semicolons or spaces; ``x`` or ``×`` may stand for ``*``.

    Examples
    --------
    >>> parse_payments("0*2; 1500 x 3, 1200")
    (0.0, 0.0, 1500.0, 1500.0, 1500.0, 1200.0)
    """
    if len(text) > MAX_PAYMENTS_TEXT:
        raise InputError(f"{option}: at most {MAX_PAYMENTS_TEXT:,} characters")
    # "1500 x 3" and "1500*3" are one item: close up the repeat sign first
    compact = re.sub(r"\s*([*x×])\s*", r"\1", text.strip())
    items = [item for item in re.split(r"[,;\s]+", compact) if item]
    if not items:
        raise InputError(f"{option}: no payments given (e.g. {option} '0*3,1500*24')")
    out: list[float] = []
    for k, item in enumerate(items, start=1):
        match = _ITEM.match(item)
        if match is None:
            raise InputError(
                f"{option}: item {k} {item!r}: expected AMOUNT or AMOUNT*MONTHS (e.g. 1500*24)"
            )
        count = int(match["count"]) if match["count"] else 1
        if count < 1 or len(out) + count > MAX_PROPOSAL_MONTHS:
            raise InputError(
                f"{option}: item {k} {item!r}: at most {MAX_PROPOSAL_MONTHS} months in all"
            )
        out.extend([float(match["amount"].replace("_", ""))] * count)
    return tuple(out)


def payments_text(payments: Any) -> str:
    """The inverse of :func:`parse_payments`: runs written as ``AMOUNT*COUNT``.

    Examples
    --------
    >>> payments_text([0, 0, 1500, 1500, 1200.5])
    '0*2, 1500*2, 1200.50'
    """
    runs: list[list[float]] = []
    for p in (round(float(x), 2) for x in payments):
        if runs and runs[-1][0] == p:
            runs[-1][1] += 1
        else:
            runs.append([p, 1])
    return ", ".join(
        (f"{a:.0f}" if a == int(a) else f"{a:.2f}") + (f"*{int(n)}" if n > 1 else "")
        for a, n in runs
    )


def restructured_balance(account: Any) -> float:
    """What the proposal restructures: principal, accrued interest and fees (CNY)."""
    return float(account.principal + account.interest_due + account.fees_due)


@dataclass(frozen=True)
class ProposalSchedule:
    """The schedule a proposal books, and what had to change to book it.

    Attributes
    ----------
    schedule
        Cent-exact schedule (``start`` not set: the letter dates it).
    deferral_months, deferral_mode
        Months of payment holiday in all and what happens to their interest: the
        structured proposal's holiday, or the months without payment of an explicit one
        (interest capitalised). The same count as a plan's ``deferral_months``
        (:attr:`solver.plans.terms.PlanTerms.deferral_months`, session 15).
    holidays
        Where the holidays are, as runs of months (first, last): the structured
        proposal's first months, or the runs of zero payments of an explicit one
        (:func:`solver.plans.terms.holiday_runs`). SPEC §5's ``max_deferral_months``
        limits each run (:attr:`longest_holiday`).
    notes
        Differences from what was proposed (the clearing last payment, an early end).
    proposed
        The proposed payments over the booked term.
    """

    schedule: Schedule
    deferral_months: int
    deferral_mode: str
    notes: tuple[str, ...] = ()
    proposed: tuple[float, ...] = ()
    holidays: tuple[tuple[int, int], ...] = ()

    @property
    def longest_holiday(self) -> int:
        """Months of the longest holiday (the run ``max_deferral_months`` limits)."""
        return longest_run(self.holidays)

    @property
    def proposed_payments(self) -> tuple[float, ...]:
        """The payments as proposed, month by month over the booked term (before the last
        payment was set to clear the balance): what "nearest" compares with."""
        return self.proposed or tuple(float(p) for p in self.schedule.payments)


def proposal_schedule(
    account: Any, proposal: Proposal, rounding: float = 1.0, *, currency: str = DEFAULT_CURRENCY
) -> ProposalSchedule:
    """Book ``proposal`` for ``account`` as a cent-exact schedule on ``currency``'s money
    grid (:func:`~solver.core.currency.money_grid`: whole yen for JPY), its amounts in the
    notes and errors printed in the currency's decimals.

    Parameters
    ----------
    account
        An :class:`~solver.core.Account`.
    proposal
        The customer's proposal.
    rounding
        The policy's rounding unit, for a level instalment the bank computes (term
        without amount).

    Raises
    ------
    InputError
        When the proposal cannot repay the balance (an amount below the monthly interest
        with no term), naming the field.
    """
    balance = restructured_balance(account)
    rate = float(account.annual_rate)
    grid = money_grid(currency)

    def money(x: float) -> str:
        return format_amount(x, currency)

    if proposal.payments is not None:
        return _booked(balance, rate, proposal.payments, None, None, "capitalize", currency)
    holiday, mode = proposal.holiday, proposal.holiday_mode
    if proposal.amount is None:
        assert proposal.term is not None
        schedule = level_plan(
            balance,
            rate,
            proposal.term,
            deferral_months=holiday,
            deferral_mode=mode,  # type: ignore[arg-type]
            rounding=rounding,
            grid=grid,
        )
        return ProposalSchedule(schedule, holiday, mode, holidays=_leading(holiday))
    # The holiday's payments as the deferral family books them (interest-only: the interest).
    holiday_pay: list[float] = []
    if holiday:
        deferral = level_plan(
            balance,
            rate,
            holiday + 1,
            deferral_months=holiday,
            deferral_mode=mode,  # type: ignore[arg-type]
            grid=grid,
        )
        holiday_pay = deferral.payments[:holiday].tolist()
    months = (proposal.term if proposal.term is not None else MAX_PROPOSAL_MONTHS) - holiday
    payments = holiday_pay + [proposal.amount] * months
    waive = [mode == "waive"] * holiday + [False] * months
    booked = _booked(balance, rate, payments, waive, holiday, mode, currency)
    if proposal.term is not None:
        return booked
    T = booked.schedule.term
    if T == MAX_PROPOSAL_MONTHS:
        raise InputError(
            f"amount: {money(proposal.amount)} a month does not repay the balance of "
            f"{money(balance)} within {MAX_PROPOSAL_MONTHS} months; give a larger amount or a term"
        )
    last = float(booked.schedule.payments[-1])
    note = f"at {money(proposal.amount)} a month the balance is repaid in month {T} (last payment {money(last)})"
    return replace(booked, notes=(note,))


def _booked(
    balance: float,
    rate: float,
    payments: Any,
    waive: list[bool] | None,
    deferral_months: int | None,
    mode: str,
    currency: str = DEFAULT_CURRENCY,
) -> ProposalSchedule:
    """The schedule of a payment path (the last payment clears; an early clear ends it) on
    ``currency``'s money grid.

    ``deferral_months=None``: the holidays are the runs of months without payment before
    the last one (:func:`solver.plans.terms.holiday_runs`; SPEC §5's
    ``max_deferral_months`` limits each one, wherever it falls), ``deferral_months``
    their total; otherwise the first ``deferral_months`` months.
    """
    proposed = [round(float(p), 2) for p in payments]
    schedule = schedule_from_payments(
        balance,
        rate,
        proposed,
        waive_interest=waive,
        clear_last=True,
        overpay="truncate",
        grid=money_grid(currency),
    )
    notes: list[str] = []
    T = schedule.term
    last = float(schedule.payments[-1])
    if T < len(proposed):
        notes.append(
            f"the balance is repaid in month {T}: the last payment is {format_amount(last, currency)} and the "
            f"{len(proposed) - T} later proposed payments are not needed"
        )
    elif abs(last - proposed[-1]) > 0.005:
        notes.append(
            f"the last payment (month {T}) is {format_amount(last, currency)}, what clears the balance "
            f"(proposed {format_amount(proposed[-1], currency)})"
        )
    if deferral_months is None:
        holidays = holiday_runs(schedule.payment)
    else:
        holidays = _leading(min(deferral_months, T - 1))
    return ProposalSchedule(
        schedule, run_months(holidays), mode, tuple(notes), tuple(proposed[:T]), holidays
    )


def _leading(months: int) -> tuple[tuple[int, int], ...]:
    """A holiday of the first ``months`` months, as runs."""
    return ((1, months),) if months > 0 else ()
