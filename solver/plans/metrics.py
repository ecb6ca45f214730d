"""The reported figures of a plan (SPEC §6), computed from its cent-exact schedule.

Every metric of :data:`METRICS` comes from the behaviour model on the schedule that is
reported (``solver.core.model.evaluate_batch`` over all of a batch's schedules — the
same computation as :func:`solver.core.evaluation.evaluate`, which a test checks to 1e-6), not
from the search's own float figures; the money figures (``total_paid``, ``apr``,
``concession_cost``, ``customer_cost``: :func:`customer_costs`) from the schedule's own
cents. :mod:`solver.plans.plan_records` says what each means.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from solver.core.actuarial import apr_batch
from solver.core.currency import value_difference
from solver.core.evaluation import evaluate_batch
from solver.core.schedule import CENTS_PER_UNIT, Schedule, exposures_of
from solver.plans.context import PlanContext

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

#: What ``customer_cost`` is, in the words every report uses (the recommendation under the
#: customer's objective, the table's note, ``workout plan --help``).
CUSTOMER_COST_TEXT = "interest and fees charged, in present value at the contract rate"


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
        # the context's kernel (prepared for H months) serves the rows of width H: a
        # kernel's figures are row by row, so taking its rows is building one for them
        kernel = ctx.kernel.take(acc_idx[rows]) if T <= ctx.kernel.horizon else None
        ev = evaluate_batch(
            ctx.params.take(acc_idx[rows]),
            pay[rows, :T],
            exp[rows, :T],
            term[rows],
            ctx.model,
            kernel=kernel,
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


def customer_costs(
    opening: ArrayLike, interest: NDArray[np.int64], principal: ArrayLike, annual_rate: ArrayLike
) -> NDArray[np.float64]:
    """The customer's total cost of schedules: the interest and fees they are charged, in
    present value at the account's contract rate (issue 13 criterion 7; the one definition
    of ``customer_cost``, :func:`customer_cost` of one schedule).

    ``customer_cost = (opening − principal) + Σ_t interest_t / (1 + annual_rate/12)^t``

    * **Carried charges, at t = 0**: what the plan's opening balance holds beyond the
      account's outstanding principal -- the accrued interest and fees it carries from
      before the plan, less what a waiver forgives (and less forgiven principal: a
      settlement's haircut is a charge the customer no longer pays, so it lowers the cost,
      and can make it negative).
    * **Interest, when it is charged**: the schedule's ``interest`` column (SPEC §2), month
      ``t`` discounted ``t`` months. Interest capitalised in a holiday counts in the month
      it accrues, not again when it is repaid; a waived month charges none.
    * **The ``fees`` column is not added**: no plan books a new fee (the money engine
      charges none during a schedule); the column only repays the unpaid fees the opening
      balance carries (the status quo's ``fees_due`` in month 1), which are counted once, at
      t = 0, with the carried charges.
    * **Discounted at the contract rate** ``annual_rate`` of the account, also for a
      concession whose plan rate is cut: one yardstick for every plan of an account, so a
      rate cut shows as less interest charged, not as a different discount.

    So a level plan at the contract rate costs more the longer it runs (its balance, and
    the interest on it, stays higher every month; two adjacent terms cost the same only
    where the rounding unit gives both the same instalment and the longer one a last
    payment too small to bear a cent of interest), and a waiver or a rate cut costs less.

    Parameters
    ----------
    opening
        Opening balances in cents, (n,).
    interest
        Interest charged each month in cents, (n, T), 0 past a schedule's term.
    principal
        The accounts' outstanding principal in currency units, (n,).
    annual_rate
        The accounts' contract rates (decimals), (n,).

    Returns
    -------
    numpy.ndarray
        (n,) costs in currency units.

    Examples
    --------
    10,000 of principal with 50 of accrued interest, at 12 %: 100.50 then 50.75 of interest
    in months 1 and 2 cost 50 + 100.50/1.01 + 50.75/1.01² = 199.25.

    >>> round(float(customer_costs([1_005_000], np.array([[10_050, 5_075]]), [10_000], [0.12])[0]), 2)
    199.25
    """
    carried = np.asarray(opening, dtype=float) / CENTS_PER_UNIT - np.asarray(principal, dtype=float)
    return charges_value(carried, interest / CENTS_PER_UNIT, annual_rate)


def charges_value(
    carried: ArrayLike, interest: NDArray[np.float64], annual_rate: ArrayLike
) -> NDArray[np.float64]:
    """:func:`customer_costs`' sum in currency units: the ``carried`` charges (n,) at t = 0
    plus each month's ``interest`` (n, T) discounted at the contract rate ``annual_rate``
    (n,); also the frontier's float screen (:func:`solver.plans.frontier.float_costs`)."""
    rate = np.asarray(annual_rate, dtype=float) / 12.0
    months = np.arange(1, interest.shape[1] + 1, dtype=float)
    discount = (1.0 + rate)[:, None] ** -months[None, :]
    return np.asarray(carried, dtype=float) + (interest * discount).sum(axis=1)


def customer_cost(schedule: Schedule, principal: float, annual_rate: float) -> float:
    """:func:`customer_costs` of one schedule of an account with outstanding ``principal``
    and contract rate ``annual_rate`` (the counter-offer's figure; the plan options'
    ``customer_cost``).

    1,000 over 2 months at 12 %: 10.00 and 5.02 of interest, 10/1.01 + 5.02/1.01² = 14.82.

    >>> from solver.core.amortisation import level_plan
    >>> round(customer_cost(level_plan(1_000, 0.12, 2, rounding=0.01), 1_000, 0.12), 2)
    14.82
    """
    return float(
        customer_costs(
            [schedule.opening_balance], schedule.interest[None, :], [principal], [annual_rate]
        )[0]
    )


def plan_metrics(
    ctx: PlanContext,
    schedules: Sequence[Sequence[Schedule | None]],
    sq: Sequence[Schedule],
) -> list[list[dict[str, float]]]:
    """The :data:`METRICS` of every reported schedule: per account, one dict per entry of
    ``schedules[i]`` (empty where it is ``None``) and last the status quo's ``sq[i]``."""
    rows: list[tuple[int, int]] = []  # (account, choice index or -1 for the status quo)
    scheds: list[Schedule] = []
    for i, plans in enumerate(schedules):
        rows.append((i, -1))
        scheds.append(sq[i])
        for k, sched in enumerate(plans):
            if sched is not None:
                rows.append((i, k))
                scheds.append(sched)
    term = np.array([s.term for s in scheds], dtype=np.int64)
    T = int(term.max())
    # the payments and exposures in cents, then in currency units once: the same values
    # as each schedule's ``payments`` and ``exposures`` (rows filled in one go: the live
    # months of the rows, in row order, are the schedules' months one after another)
    live = np.arange(T)[None, :] < term[:, None]
    cents = np.zeros((len(scheds), T), dtype=np.int64)
    after = np.zeros((len(scheds), T), dtype=np.int64)
    cents[live] = np.concatenate([s.payment for s in scheds])
    after[live] = np.concatenate([s.balance for s in scheds])
    # each schedule's ``exposure_cents``, for all rows at once
    before = exposures_of(after, [s.opening_balance for s in scheds], live)
    pay = cents / CENTS_PER_UNIT
    exp = before / CENTS_PER_UNIT
    total_l = (cents.sum(axis=1) / CENTS_PER_UNIT).tolist()
    acc_idx = np.array([a for a, _ in rows])
    params = ctx.params.take(acc_idx)
    # one evaluate_batch call per account: a row's figures must not depend on which other
    # accounts share its batch (a matrix product's summation order depends on the shape)
    ev = _evaluate_per_account(ctx, acc_idx, pay, exp, term)
    disc = ctx.kernel.discount_factors(T)
    pv = pay @ disc
    paying = (pay > 0) & live
    with np.errstate(divide="ignore", invalid="ignore"):
        dti = (params.other_debt[:, None] + pay) / ev.expected_income
    dti = np.where(paying, dti, -np.inf)
    aff = np.where(paying, ev.afford_prob, np.inf)
    opening = before[:, 0] / 100.0
    aprs = apr_batch(opening, pay)
    interest = np.zeros((len(scheds), T), dtype=np.int64)
    interest[live] = np.concatenate([s.interest for s in scheds])
    cust_l = customer_costs(
        before[:, 0],
        interest,
        ctx.fields["principal"][acc_idx],
        ctx.fields["annual_rate"][acc_idx],
    ).tolist()
    out: list[list[dict[str, Any]]] = [
        [dict() for _ in range(len(plans) + 1)] for plans in schedules
    ]
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
            # to the cent: the difference of the two NPVs as every output rounds them
            "npv_vs_status_quo": value_difference(npv_l[r], sq_npv[i]),
            "pd_12m": pd12_l[r],
            "pd_life": pdl_l[r],
            "expected_loss": el_l[r],
            "concession_cost": sq_pv[i] - pv_l[r],
            "total_paid": total_l[r],
            "customer_cost": cust_l[r],
            "apr": apr_l[r],
            "max_dti": dti_l[r],
            "min_afford_prob": aff_l[r],
        }
        out[i][k] = m  # k == -1 -> the last slot
    return out
