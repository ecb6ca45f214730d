"""The terms of a plan option: what the customer is offered, typed (issue 14).

A :class:`PlanTerms` says how long a plan runs, its holidays, rate, waivers and payment
levels. Each family fills the fields it has and leaves the others ``None``:

* the level families (``instalment``, ``deferral``, ``concession``, ``settlement``,
  ``waterfall``): term, holiday, rate, waivers, haircut, forbearance, the waterfall's step
  and the payment levels;
* ``custom`` and ``step``: term, holidays, rate, payment levels and their payment grid;
* the status quo: term, rate and payment levels.

Holidays (issue 13, session 15): a level family's holiday is its first
``deferral_months`` months; a ``custom`` plan of the free family (``--thorough``) may
also pause mid-plan (capitalised months with payment 0, each run at most
``max_deferral_months``: :func:`~solver.plans.schedules.schedule_ok`). Every report of
a plan's holidays -- ``deferral_months`` (their total), ``holiday_months`` (where they
are, ``"1–3, 8–13"``), the binding constraint "max_deferral_months binds in months
8–13" and the payments column of ``workout plan`` and of ``plan-portfolio``'s plans
(with :attr:`PlanTerms.holiday_pays`) -- reads :attr:`PlanTerms.holidays`,
which ``custom`` and ``step`` take from their payments by :func:`holiday_runs`.

:meth:`PlanTerms.to_dict` writes only the fields a family has, in one fixed order: the
``params`` object of ``workout plan --format json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: The plan terms a table shows one column each, in this order (``plan --out``, the
#: portfolio's plans file); ``levels`` follows them as text. ``holiday_months`` is
#: :func:`holiday_text` of the holidays (the JSON ``params`` give them as [first, last]
#: pairs, as they give ``levels`` as a list).
TABLE_TERMS: tuple[str, ...] = (
    "term",
    "deferral_months",
    "holiday_months",
    "deferral_mode",
    "rate",
    "fee_waiver",
    "interest_waiver",
    "haircut",
)


@dataclass(frozen=True)
class PlanTerms:
    """Terms of one plan option; ``None`` where the family has no such term."""

    #: months of the plan, holidays included
    term: int | None = None
    #: months of payment holiday in all (absent for the status quo) and what happens to
    #: the interest in them (``None`` without a holiday)
    deferral_months: int | None = None
    deferral_mode: str | None = None
    #: where the holidays are, as runs (first month, last month), when they are not just
    #: the first ``deferral_months`` months (``custom`` and ``step``: :func:`holiday_runs`
    #: of their payments); ``None``: the first ``deferral_months`` months (level families)
    holiday_months: tuple[tuple[int, int], ...] | None = None
    #: annual interest rate of the plan
    rate: float | None = None
    #: shares of the fees, of the accrued interest and of the principal forgiven
    fee_waiver: float | None = None
    interest_waiver: float | None = None
    haircut: float | None = None
    #: principal forborne: an interest-free balloon paid with the last instalment
    forbearance: float | None = None
    #: the step of the waterfall heuristic that produced the plan
    waterfall_step: str | None = None
    #: distinct payment phases (amounts), in order
    levels: tuple[float, ...] | None = None
    #: the payment grid ``custom`` and ``step`` searched: its step and its amounts
    grid_step: float | None = None
    grid: tuple[float, ...] | None = None

    @property
    def holiday(self) -> int:
        """Months of payment holiday in all (0 without one)."""
        return self.deferral_months or 0

    @property
    def holidays(self) -> tuple[tuple[int, int], ...]:
        """The holidays as runs of months (first, last), in order; ``()`` without one."""
        if self.holiday_months is not None:
            return self.holiday_months
        return ((1, self.deferral_months),) if self.deferral_months else ()

    @property
    def holiday_pays(self) -> str:
        """What a holiday month pays, as a payments text writes it: ``"interest"`` when
        the holidays are interest-only, else ``"0"`` (capitalised or waived months pay
        nothing). With :attr:`holidays`, the one reading of a plan's holidays that the
        ``payments`` text of ``workout plan`` and of ``plan-portfolio``'s plans use."""
        return "interest" if self.deferral_mode == "interest_only" else "0"

    @property
    def longest_holiday(self) -> int:
        """Months of the longest holiday (the run ``max_deferral_months`` limits)."""
        return longest_run(self.holidays)

    def to_dict(self) -> dict[str, Any]:
        """The terms the family has, in the order of the JSON ``params`` object."""
        out: dict[str, Any] = {}
        if self.term is not None:
            out["term"] = self.term
        if self.deferral_months is not None:
            out["deferral_months"] = self.deferral_months
            out["holiday_months"] = [list(run) for run in self.holidays]
            out["deferral_mode"] = self.deferral_mode
        for name in (
            "rate",
            "fee_waiver",
            "interest_waiver",
            "haircut",
            "forbearance",
            "waterfall_step",
        ):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.levels is not None:
            out["levels"] = list(self.levels)
        if self.grid_step is not None:
            out["grid_step"] = self.grid_step
        if self.grid is not None:
            out["grid"] = list(self.grid)
        return out


def holiday_runs(payments: np.ndarray) -> tuple[tuple[int, int], ...]:
    """The runs of months without payment before the last month of a payment path, as
    (first, last) month numbers (1-based, inclusive): the holidays of a ``custom`` or
    ``step`` plan (capitalised; SPEC §5's ``max_deferral_months`` limits each run, as
    :func:`~solver.plans.schedules.longest_holiday` counts them for the policy check).

    ``payments`` in currency units or cents (only zero is tested). The last month clears
    the balance and is never a holiday.

    >>> holiday_runs(np.array([0, 0, 500, 500, 0, 0, 0, 500, 120]))
    ((1, 2), (5, 7))
    """
    before_last = np.asarray(payments)[:-1]
    if before_last.all():  # no holiday: the common case, one pass
        return ()
    # the zero months (0-based) grouped where they stop being consecutive: a walk over
    # the few zero months, about 5× cheaper than the edge arrays of np.diff (session 19:
    # every deferral plan's policy check asks this)
    zero = np.flatnonzero(before_last == 0).tolist()
    runs = []
    first = prev = zero[0]
    for m in zero[1:]:
        if m != prev + 1:
            runs.append((first + 1, prev + 1))
            first = m
        prev = m
    runs.append((first + 1, prev + 1))
    return tuple(runs)


def holiday_text(runs: tuple[tuple[int, int], ...]) -> str:
    """Holiday runs as an officer reads them: ``((1, 3), (8, 13))`` -> ``"1–3, 8–13"``,
    ``((5, 5),)`` -> ``"5"``; ``""`` without a holiday. (An en dash: a spreadsheet opening
    the CSV would read "1-3" as a date.)"""
    return ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in runs)


def month_runs(months: Any) -> tuple[tuple[int, int], ...]:
    """Month numbers as runs (first, last), in order: ``[1, 2, 3, 7]`` -> ``((1, 3), (7, 7))``."""
    runs: list[list[int]] = []
    for m in sorted(int(x) for x in months):
        if runs and m == runs[-1][1] + 1:
            runs[-1][1] = m
        else:
            runs.append([m, m])
    return tuple((a, b) for a, b in runs)


def months_text(months: Any) -> str:
    """Month numbers in words, as runs: ``[1, 2, 3, 7]`` -> ``"months 1–3, 7"``, ``[5]`` ->
    ``"month 5"`` (the binding constraints' and the policy violations' wording)."""
    runs = month_runs(months)
    single = len(runs) == 1 and runs[0][0] == runs[0][1]
    return ("month " if single else "months ") + holiday_text(runs)


def run_months(runs: tuple[tuple[int, int], ...]) -> int:
    """Months in all of runs (first, last)."""
    return sum(last - first + 1 for first, last in runs)


def mid_plan_months(runs: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    """The months of the holiday runs that start after month 1 (a holiday after a
    payment; the policy's ``holidays_mid_plan`` allows them), in order.

    >>> mid_plan_months(((1, 2), (5, 7)))
    (5, 6, 7)
    """
    return tuple(m for first, last in runs if first > 1 for m in range(first, last + 1))


def longest_run(runs: tuple[tuple[int, int], ...]) -> int:
    """Months of the longest of runs (first, last); 0 without one."""
    return max((last - first + 1 for first, last in runs), default=0)
