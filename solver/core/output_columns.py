"""What each column of the command line's output tables means, and its unit: the one
definition of the ``columns`` sheet of every .xlsx output (:func:`columns_sheet`, written by
:func:`solver.core.writers.write_workbook`) and of the sheets' number formats
(:func:`number_format`), as :data:`solver.core.schema.SPECS` is of the input's columns.

The ``columns`` sheet lists the columns of the sheets actually written, one row each
(``column``, ``sheet``, ``meaning``, ``unit``); a portfolio (a sheet with every required
input column, as ``workout generate`` writes it) also gets each input column's ``default``
and ``required`` (SPEC §3), the template of a book to fill in, and its input columns are
described as inputs. ``column`` comes first so that the sheet reads
as a glossary.

Units (the ``unit`` column):

* ``money``: the policy's currency (CNY by default), shown ``#,##0.00``;
* ``share``, ``probability``, ``rate a year``: a fraction (0.069 = 6.9 %), shown as a
  percentage (``gap`` with three decimals: a certified gap is often below 0.01 %);
* ``ratio``: a plain number (a payment-to-income ratio of 0.35);
* ``months``, ``days``, ``minutes``, ``count``: numbers; ``date``, ``time``, ``text``,
  ``yes/no``, ``JSON``, ``SHA-256``: as written.

``levels`` and ``holiday_months`` are lists written as text (``806.00 / 1,262.00``,
``1–3, 8–13``); in a workbook a cell holding a single number is written as a number
(:data:`LIST_COLUMNS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from solver.core.schema import SPECS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "INPUT_UNITS",
    "LIST_COLUMNS",
    "OUTPUT_COLUMNS",
    "column_unit",
    "columns_sheet",
    "describe_column",
    "is_portfolio",
    "number_format",
]

MONEY, SHARE, PROB, RATE, RATIO = "money", "share", "probability", "rate a year", "ratio"

#: The output columns: ``column -> (unit, meaning)``. Money is in the policy's currency.
OUTPUT_COLUMNS: dict[str, tuple[str, str]] = {
    # -- plans (workout plan, plan-portfolio, evaluate) ---------------------------------------
    "account_id": ("text", "the account (as in the input)"),
    "product": ("text", "auto_loan or card_instalment"),
    "tier": ("text", "risk tier A-E (given, or derived from score and dpd)"),
    "status": ("text", "RECOMMENDED, NPV_TEST_FAILED, INFEASIBLE, CONTRACT_AFFORDABLE or ERROR"),
    "family": ("text", "plan family (status_quo in a schedule: the contract is followed)"),
    "label": ("text", "the option: family, and deferral mode for a deferral"),
    "option": ("text", "the option (plan) the row belongs to"),
    "feasible": ("yes/no", "whether the option satisfies the policy"),
    "recommended": ("yes/no", "the recommended option"),
    "term": ("months", "months of the plan followed"),
    "deferral_months": ("months", "months of payment holiday in all"),
    "holiday_months": (
        "months",
        "where the holidays fall: runs of months (1–3, 8–13), text; a single month a number",
    ),
    "deferral_mode": ("text", "holiday months capitalise, pay interest only, or waive interest"),
    "rate": (RATE, "annual interest rate of the plan"),
    "fee_waiver": (SHARE, "share of the fees forgiven"),
    "interest_waiver": (SHARE, "share of the accrued interest forgiven"),
    "haircut": (SHARE, "share of the principal forgiven"),
    "forbearance": (
        MONEY,
        "principal forborne: an interest-free balloon paid with the last payment",
    ),
    "levels": (
        MONEY,
        "the distinct payment amounts of the plan, in order, without their months: a list"
        " written as text ('806.00 / 1262.00'); a single amount is a number",
    ),
    "payments": (
        "text",
        "the payment path in phases: '3× 0' a 3-month holiday, '806 ×24' 806 paid 24 months,"
        " 'last 812.34' a final remainder",
    ),
    "first_payment": (MONEY, "payment of month 1"),
    "max_payment": (MONEY, "largest monthly payment"),
    "npv": (
        MONEY,
        "expected recovery NPV of the plan followed under the behaviour model (SPEC §4)",
    ),
    "npv_vs_status_quo": (
        MONEY,
        "NPV minus the contract's NPV, to the cent: the difference of the two NPVs rounded",
    ),
    "status_quo_npv": (MONEY, "NPV of the contract as it stands"),
    "waterfall_npv": (MONEY, "NPV of the HAMP-style waterfall reference plan"),
    "waterfall_feasible": ("yes/no", "whether the waterfall plan satisfies the policy"),
    "pd_12m": (PROB, "probability of default within 12 months"),
    "pd_life": (PROB, "probability of default over the plan's life"),
    "expected_loss": (MONEY, "expected loss on default"),
    "concession_cost": (MONEY, "contractual NPV minus plan NPV at the cost of funds"),
    "total_paid": (MONEY, "sum of the payments"),
    "customer_cost": (
        MONEY,
        "present value at the contract rate of what the customer pays beyond the principal"
        " (interest and fees)",
    ),
    "apr": (RATE, "annual percentage rate of the payments (actuarial method, SPEC §2)"),
    "max_dti": (RATIO, "largest payment-to-income ratio"),
    "min_afford_prob": (PROB, "lowest monthly probability that the payment is affordable"),
    "binding": ("text", "the policy constraints that bind"),
    "solver_status": (
        "text",
        "OPTIMAL, FEASIBLE (with gap) or REFERENCE: how far the plan is proved",
    ),
    "bound": (MONEY, "upper bound on the family's NPV"),
    "gap": (SHARE, "relative gap between the plan's NPV and the bound"),
    "bound_over": ("text", "what the bound is proved over: payment_grid or every_amount"),
    "explanation": ("text", "why this plan (or none) was recommended"),
    "reason": ("text", "why: an infeasible option's cause; an allocation's reason for its pick"),
    "error": ("text", "the error of an account that could not be planned"),
    "verdict": (
        "text",
        "the counter-offer's verdict (ACCEPTABLE, NPV_TEST_FAILED, BREAKS_POLICY,"
        " CONTRACT_AFFORDABLE), or the role of a plan beside it",
    ),
    # -- schedules ----------------------------------------------------------------------------
    "month": ("months", "month of the schedule, 1 = the first month"),
    "due_date": ("date", "date the month's payment falls due: t months after --as-of"),
    "payment": (MONEY, "what is paid in the month: interest + principal + fees"),
    "interest": (MONEY, "interest charged in the month"),
    "principal": (MONEY, "principal repaid (negative when interest is capitalised)"),
    "fees": (MONEY, "unpaid fees paid in the month"),
    "balance": (MONEY, "everything still owed after the month's payment (0 after the last)"),
    # -- allocation (workout allocate; --weeks) -----------------------------------------------
    "dpd_bucket": (
        "text",
        "delinquency bucket: M0 (0 dpd), M1 (1-30), M2 (31-60), M3 (61-90), M4+",
    ),
    "treatment": ("text", "the collection treatment chosen (none: no contact)"),
    "team": ("text", "the team that carries the treatment out (blank: no team)"),
    "expected_collected": (MONEY, "expected collections of the treatment this week"),
    "cost": (MONEY, "cost of the treatment (staff minutes and channel costs)"),
    "expected_value": (MONEY, "expected collected minus cost: what the treatment is worth"),
    "uplift_vs_none": (MONEY, "expected value gained over no treatment"),
    "next_best_treatment": ("text", "the best other allowed treatment (capacity ignored)"),
    "next_best_value": (MONEY, "expected value of the next best treatment"),
    "horizon_value": (
        MONEY,
        "expected value of the week-1 treatment over the whole --weeks horizon, discounted"
        " to week 1",
    ),
    "one_week_treatment": ("text", "the treatment the one-week allocation would choose"),
    # -- contact calendar (workout calendar) ---------------------------------------------------
    "day": ("days", "day of the calendar, 1 = --start"),
    "utc_time": ("date-time", "when the attempt is made, UTC (ISO 8601)"),
    "local_date": ("date", "the attempt's date in the customer's time zone"),
    "local_time": ("time", "the attempt's time in the customer's time zone (HH:MM)"),
    "timezone": ("text", "the customer's time zone (IANA name)"),
    "channel": ("text", "contact channel: phone, sms, email, app or visit"),
    "attempt": ("count", "the attempt's number for the account in the calendar"),
    "minutes": ("minutes", "staff minutes the attempt takes"),
    "party": ("text", "who is contacted: the debtor (no third party is planned)"),
    "stop_after_conversation_days": (
        "days",
        "after a conversation, cancel the account's later calls for this many days (0: none)",
    ),
    # -- audit trail (workout audit export) ----------------------------------------------------
    "seq": ("count", "the record's number in the audit trail"),
    "recorded_at": ("date-time", "when the record was written, UTC (ISO 8601)"),
    "officer_id": ("text", "the officer who made the decision"),
    "action": ("text", "what was recorded (offer, ...)"),
    "chosen_option": ("text", "the option offered"),
    "inputs": ("JSON", "the account and proposal the decision was taken on"),
    "policy_hash": ("SHA-256", "hash of the policy (the policy column)"),
    "policy": ("JSON", "the policy in force"),
    "model_hash": ("SHA-256", "hash of the behaviour model parameters (the model column)"),
    "model": ("JSON", "the behaviour model parameters"),
    "options": ("JSON", "the plan options compared, with their NPVs"),
    "letter_sha256": ("SHA-256", "hash of the offer letter issued (blank: none)"),
    "software_version": ("text", "version of Workout that made the record"),
    "prev_hash": ("SHA-256", "row_hash of the record before (the hash chain)"),
    "row_hash": ("SHA-256", "hash of this record and prev_hash (audit verify checks it)"),
}

#: Units of the input columns (SPEC §3) that their kind does not give.
INPUT_UNITS: dict[str, str] = {
    "annual_rate": RATE,
    "income_cv": RATIO,
    "credit_score": "points",
    "dpd": "days",
    "remaining_term": "months",
    "recovery_months": "months",
    "income_forecast": "money a month, a list (3800;3800;4200)",
    "inflows": "MONTH:money pairs, a list (3:20000;12:5000)",
}
_KIND_UNITS = {"money": MONEY, "bool": "yes/no", "int": "count", "float": "number"}

#: Columns that hold a list written as text; a cell of one number is written as a number.
LIST_COLUMNS = frozenset({"levels", "holiday_months"})

#: Number formats of the units shown as percentages; ``gap`` needs more decimals.
_PERCENT_UNITS = frozenset({SHARE, PROB, RATE})
_NUMBER_FORMATS = {"gap": "0.000%"}
#: Units of whole numbers (shown without decimals even in a float column with blanks).
_WHOLE_UNITS = frozenset({"months", "days", "count"})


def column_unit(column: str, *, portfolio: bool = False) -> str:
    """The unit of an output column, or of an input column (first, when ``portfolio``: a
    portfolio's ``principal`` is the outstanding principal, a schedule's the principal
    repaid); "" when the column is not described."""
    spec = SPECS.get(column)
    if column in OUTPUT_COLUMNS and not (portfolio and spec is not None):
        return OUTPUT_COLUMNS[column][0]
    if spec is None:
        return ""
    return INPUT_UNITS.get(column) or _KIND_UNITS.get(spec.kind, "text")


def describe_column(column: str, *, portfolio: bool = False) -> str:
    """The meaning of an output column, or of an input column (first, when ``portfolio``);
    "" when the column is not described."""
    spec = SPECS.get(column)
    if column in OUTPUT_COLUMNS and not (portfolio and spec is not None):
        return OUTPUT_COLUMNS[column][1]
    return "" if spec is None else spec.description


def number_format(column: str) -> str | None:
    """The Excel number format the column's unit asks for (``None``: the dtype decides)."""
    unit = column_unit(column)
    if unit == MONEY:
        return "#,##0.00"
    if unit in _PERCENT_UNITS:
        return _NUMBER_FORMATS.get(column, "0.00%")
    if unit == RATIO:
        return "0.00"
    if unit in _WHOLE_UNITS:
        return "0"
    return None


def is_portfolio(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` is a portfolio (a book of accounts, SPEC §3): it has every
    required input column."""
    return all(name in frame.columns for name, spec in SPECS.items() if spec.required)


def columns_sheet(sheets: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    """The ``columns`` sheet of a workbook of ``sheets`` (name -> frame): one row per column
    written (``column``, ``sheet``, ``meaning``, ``unit``), with each input column's
    ``default`` and ``required`` when a sheet is a portfolio (:func:`is_portfolio`);
    ``None`` when no column written is described (a table of another kind)."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    books = False
    for name, frame in sheets.items():
        if name == "columns":
            continue
        book = is_portfolio(frame)
        books |= book
        for column in map(str, frame.columns):
            row: dict[str, Any] = {
                "column": column,
                "sheet": str(name),
                "meaning": describe_column(column, portfolio=book),
                "unit": column_unit(column, portfolio=book),
            }
            spec = SPECS.get(column) if book else None
            if spec is not None:
                # numbers and booleans as such, not as text; a blank default is a blank cell
                default = f"= {spec.default_from}" if spec.default_from else spec.default
                row["default"] = None if default in ("", None) else default
                row["required"] = "yes" if spec.required else ""
            rows.append(row)
    if not any(row["meaning"] for row in rows):
        return None
    columns = ["column", "sheet", "meaning", "unit"]
    return pd.DataFrame(rows, columns=[*columns, "default", "required"] if books else columns)
