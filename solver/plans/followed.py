"""The schedules a portfolio's accounts follow, as the plan search built them.

``plan-portfolio --schedules`` writes the cent rows of the very
:class:`~solver.core.schedule.Schedule` each account's plan search built -- the schedule
``workout plan ACCOUNT --schedule FAMILY`` shows -- carried out of the workers of
:func:`solver.plans.portfolio.plan_portfolio` only when asked for (``schedules=True``).
This module holds their compact form (:class:`FollowedSchedules`), how batches of them
are stacked back into the book's order, and the long table (:func:`schedules_table`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from solver.core.schedule import CENTS_PER_UNIT, due_dates_from, long_rows

if TYPE_CHECKING:
    from solver.plans.portfolio import PortfolioPlans

#: The columns of the long table of followed schedules (:func:`schedules_table`).
SCHEDULE_COLUMNS = (
    "account_id",
    "family",
    "month",
    "due_date",
    "payment",
    "interest",
    "principal",
    "fees",
    "balance",
)


@dataclass(frozen=True)
class FollowedSchedules:
    """The cent rows of the schedule each account of a portfolio follows.

    Attributes
    ----------
    family
        (n,) the followed plan's family (:attr:`PlanOption.family`: ``"status_quo"`` for
        the contract); ``None`` for an account that failed.
    columns
        (5, R) int64 cents: the payment, interest, principal, fee and balance rows of the
        accounts' schedules one after another (:func:`~solver.core.schedule.stacked_columns`),
        account ``i`` taking :attr:`~solver.plans.portfolio.PortfolioPlans.term` ``[i]`` of them.
    """

    family: np.ndarray
    columns: np.ndarray


def stack_followed(
    parts: Sequence[FollowedSchedules], terms: Sequence[np.ndarray], back: np.ndarray | None = None
) -> FollowedSchedules:
    """The parts' followed schedules one after another -- account ``j`` of the result being
    account ``back[j]`` of that sequence when ``back`` is given."""
    family = np.concatenate([p.family for p in parts])
    columns = np.concatenate([p.columns for p in parts], axis=1)
    if back is None:
        return FollowedSchedules(family, columns)
    term = np.concatenate(terms)
    first = np.cumsum(term) - term  # where each account's rows begin in the sequence
    length = term[back]
    # account j's rows, from first[back[j]], one account after another
    shift = np.repeat(first[back] - (np.cumsum(length) - length), length)
    return FollowedSchedules(family[back], columns[:, shift + np.arange(shift.shape[0])])


def schedules_table(plans: PortfolioPlans, start: date) -> pd.DataFrame:
    """The schedule each account follows as one long table (:data:`SCHEDULE_COLUMNS`):
    ``account_id, family, month, due_date, payment, interest, principal, fees, balance``,
    money in the currency to the cent (SPEC §2).

    The rows are the followed :class:`~solver.core.schedule.Schedule` s as the plan search
    built them (the recommended plan, else the contract: ``family`` ``status_quo``), the
    schedules ``workout plan`` shows; no rows for an account that failed. Month t is due t
    months after ``start`` (:func:`~solver.core.schedule.due_dates_from`). ``plans`` must
    come from a run with ``schedules=True``.
    """
    import pyarrow as pa

    if plans.schedules is None:
        raise ValueError("plans carry no schedules: plan the portfolio with schedules=True")
    rows = long_rows(plans.schedules.columns, plans.term)
    which = rows.pop("row")
    month = rows.pop("month")
    # dates, not date-times: CSV "2027-01-01", Parquet date32, Excel a date cell
    dues = pa.array(due_dates_from(start, int(plans.term.max(initial=0))), type=pa.date32())
    data: dict[str, Any] = {
        "account_id": plans.table["account_id"].to_numpy(object)[which],
        "family": plans.schedules.family[which],
        "month": month,
        "due_date": pd.array(dues.take(month - 1), dtype=pd.ArrowDtype(pa.date32())),
    }
    for name, cents in rows.items():
        data[name] = cents / CENTS_PER_UNIT
    return pd.DataFrame(data, columns=list(SCHEDULE_COLUMNS))
