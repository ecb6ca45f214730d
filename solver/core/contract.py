"""The contract as it stands (SPEC §4): the status quo every plan is compared with.

:func:`status_quo` is the cent-exact schedule of one account, :func:`status_quo_batch`
the same cash flows for a whole portfolio (vectorised floats), and
:func:`contract_exposures` rolls a payment path forward at the contract rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from solver.core.account import as_account
from solver.core.amortisation import schedule_from_payments, to_units
from solver.core.annuity import level_payment
from solver.core.schedule import CENTS_PER_UNIT, Schedule

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "contract_exposures",
    "contractual_instalment",
    "status_quo",
    "status_quo_batch",
    "status_quos",
]

#: The account fields the status quo depends on (:func:`status_quos`).
STATUS_QUO_FIELDS = (
    "principal",
    "interest_due",
    "fees_due",
    "arrears",
    "annual_rate",
    "remaining_term",
)


def contract_exposures(account: Any, payments: np.ndarray) -> np.ndarray:
    """Balance before each payment when ``payments`` are paid under the account's contract.

    The balance starts at ``principal + interest_due + fees_due``; interest accrues at
    ``annual_rate/12`` on the interest-bearing part (fees bear none); each payment goes
    to fees first, then interest, then principal. Not rounded to cents: this is a model
    input, not a schedule shown to anyone.
    """
    acc = as_account(account)
    payments = np.asarray(payments, dtype=float)
    rate = acc.annual_rate / 12.0
    bearing = acc.principal + acc.interest_due
    fees = acc.fees_due
    out = np.empty(payments.shape[0])
    for t, pay in enumerate(payments):
        out[t] = bearing + fees
        to_fees = min(fees, pay)
        fees -= to_fees
        bearing = max(0.0, bearing * (1.0 + rate) - (pay - to_fees))
    return out


def contractual_instalment(account: Any) -> float:
    """Level instalment amortising ``principal + interest_due − arrears`` over the remaining term."""
    acc = as_account(account)
    return float(
        _instalments(
            acc.principal, acc.interest_due, acc.arrears, acc.annual_rate, acc.remaining_term
        )
    )


def _instalments(
    principal: ArrayLike,
    interest_due: ArrayLike,
    arrears: ArrayLike,
    annual_rate: ArrayLike,
    remaining_term: ArrayLike,
) -> Any:
    """The contractual instalments (unrounded; a float for scalars, else an array: the
    same floats, element by element)."""
    performing = np.maximum(0.0, np.add(principal, interest_due) - arrears)
    return level_payment(performing, annual_rate, remaining_term)


def status_quo(account: Any, *, start: Any = None, grid: int = CENTS_PER_UNIT) -> Schedule:
    """The contract as it stands, as a cent-exact schedule (SPEC §4) on the money ``grid``
    (:func:`solver.core.currency.money_grid`: whole yen for JPY).

    Month 1 is due ``arrears + fees_due + instalment``; later months the instalment
    (rounded to the grid); the last payment clears the balance (it absorbs the month-1
    interest on the arrears and the rounding). The one-account case of :func:`status_quos`.
    """
    acc = as_account(account)
    fields = {k: [getattr(acc, k)] for k in STATUS_QUO_FIELDS}
    return status_quos(fields, start=start, grid=grid)[0]


def status_quos(
    fields: Mapping[str, ArrayLike], *, start: Any = None, grid: int = CENTS_PER_UNIT
) -> list[Schedule]:
    """:func:`status_quo` of many accounts: ``fields`` maps :data:`STATUS_QUO_FIELDS` to
    one value per account (a portfolio frame's columns, a plan context's ``fields``).

    The contractual instalments are computed and rounded for all accounts at once (the
    vectorised :func:`~solver.core.annuity.level_payment` and the rounding of
    :func:`~solver.core.amortisation.to_cents`: the same floats, element by element, as one
    account's); each schedule is then the waterfall of its own payments.
    """
    arrays = [np.asarray(fields[k], dtype=float) for k in STATUS_QUO_FIELDS]
    principal, interest_due, fees, arrears, rate, _ = (a.tolist() for a in arrays)
    term = arrays[-1].astype(np.int64).tolist()
    # the one money rounding (half away from zero), as every other amount of the engine;
    # one path for one account or many (the same floats, element by element)
    p, i, _, a, r, n = arrays
    instalment = (to_units(_instalments(p, i, a, r, n), "instalment", grid) / grid).tolist()
    out = []
    for p, i, f, a, r, n, inst in zip(
        principal, interest_due, fees, arrears, rate, term, instalment, strict=True
    ):
        payments = np.full(n, inst)
        payments[0] += a + f
        out.append(
            schedule_from_payments(
                p + i,
                r,
                payments,
                fees=f,
                start=start,
                # A fully overdue account (instalment 0) clears in month 1: it ends there.
                overpay="truncate",
                grid=grid,
            )
        )
    return out


def status_quo_batch(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Status-quo payments, exposures and terms for a whole portfolio (float CNY, vectorised).

    The same cash flows as :func:`status_quo` up to cent rounding (this is a model input
    for portfolio-scale work, not a schedule shown to anyone): month 1 pays
    ``arrears + fees_due + instalment``, later months the instalment, the last month
    clears the balance.

    Returns
    -------
    payments, exposures
        Arrays (n, T_max) with zeros past each account's term.
    term
        ``remaining_term`` per account (n,).
    """
    principal = frame["principal"].to_numpy(float)
    interest_due = frame["interest_due"].to_numpy(float)
    fees = frame["fees_due"].to_numpy(float).copy()
    arrears = frame["arrears"].to_numpy(float)
    rate = frame["annual_rate"].to_numpy(float) / 12.0
    term = frame["remaining_term"].to_numpy(int)
    n, horizon = len(frame), int(term.max()) if len(frame) else 0
    instalment = np.round(
        np.asarray(
            level_payment(np.maximum(0.0, principal + interest_due - arrears), rate * 12.0, term),
            float,
        ),
        2,
    )
    payments = np.zeros((n, horizon))
    exposures = np.zeros((n, horizon))
    bearing = principal + interest_due
    for t in range(horizon):
        live = t < term
        exposures[:, t] = np.where(live, bearing + fees, 0.0)
        due = instalment + (arrears + fees if t == 0 else 0.0)
        grown = bearing * (1.0 + rate)
        last = t == term - 1
        pay = np.where(last, grown + fees, np.minimum(due, grown + fees))
        pay = np.where(live, pay, 0.0)
        to_fees = np.minimum(fees, pay)
        fees = fees - to_fees
        bearing = np.where(live, np.maximum(0.0, grown - (pay - to_fees)), 0.0)
        payments[:, t] = pay
    return payments, exposures, term
