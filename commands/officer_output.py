"""How ``workout evaluate`` and ``workout offer`` show their results: the counter-offer's
comparison table and the offer's summary (what ``offer`` prints and its JSON).

Formatting only: the figures come from :mod:`solver.officer` (the comparison rows:
:func:`solver.officer.documents.counter_offer_rows`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from commands.output import VERDICT_COLOURS
from commands.tables import MIN_TEXT_WIDTH, Column, print_fitted


def _money(x: float | None, currency: str, *, value: bool = False) -> str:
    """An amount (a payment) or a model value (an NPV) in ``currency``'s decimals."""
    import math

    from solver.core.currency import format_amount, format_value

    if x is None or not math.isfinite(x):
        return "—"
    return format_value(x, currency) if value else format_amount(x, currency)


_COMPARE_COLUMNS: tuple[Column, ...] = (
    Column("option", "left", 0),
    Column("term", "right", 3),
    Column("first payment", "right", 4, short="first\npayment"),
    Column("NPV", "right", 1),
    Column("Δ vs status quo", "right", 2, short="Δ vs\nstatus quo"),
    Column("PD 12m", "right", 5, short="PD\n12m"),
    Column("APR", "right", 7),
    Column("max DTI", "right", 6, short="max\nDTI"),
    Column("verdict / role", "left", 0, wraps=True, min_width=MIN_TEXT_WIDTH),
)


def render_counter(offer: Any, currency: str) -> None:
    from commands.common import console
    from solver.core.currency import format_difference
    from solver.officer.documents import counter_offer_rows
    from solver.plans.plan_records import STATUS_QUO

    out = console(min_width=120)
    rows: list[tuple[list[str], str | None]] = []
    table = counter_offer_rows(offer)
    sq_npv = next(row["npv"] for row in table if row["option"] == STATUS_QUO)
    for row in table:
        rows.append(
            (
                [
                    row["option"],
                    str(row["term"]),
                    _money(row["first_payment"], currency),
                    _money(row["npv"], currency, value=True),
                    ""
                    if row["option"] == STATUS_QUO
                    else format_difference(row["npv"], sq_npv, currency, sign=True),
                    f"{row['pd_12m']:.1%}",
                    f"{row['apr']:.2%}",
                    f"{row['max_dti']:.2f}",
                    str(row["verdict"]),
                ],
                "bold" if row["option"] == "counter_offer" else "dim",
            )
        )
    print_fitted(out, f"Counter-offer for {offer.account_id} ({currency})", _COMPARE_COLUMNS, rows)
    colour = VERDICT_COLOURS[offer.verdict]
    out.print(f"[bold {colour}]{offer.verdict}[/]: {offer.explanation}", highlight=False)
    for note in offer.booked.notes:
        out.print(f"note: {note}", highlight=False)


def offer_summary(offer: Any, path: Path, sha256: str) -> dict[str, Any]:
    """What ``offer`` prints; ``sha256`` is the letter's HTML's (the audit trail's record,
    also for a PDF letter, which is a rendering of that HTML)."""
    return {
        "account_id": offer.account_id,
        "option": offer.label,
        "letter": str(path),
        "sha256": sha256,
        "as_of": offer.as_of.isoformat(),
        "valid_until": offer.valid_until.isoformat(),
        "term": offer.schedule.term,
        "first_due": offer.first_due.isoformat(),
        "apr": offer.apr,
        "amount_financed": offer.amount_financed,
        "finance_charge": offer.finance_charge,
        "total_of_payments": offer.total_of_payments,
        "npv": offer.figures.get("npv"),
        "npv_vs_status_quo": offer.figures.get("npv_vs_status_quo"),
    }


def render_offer(summary: dict[str, Any]) -> None:
    from commands.common import console
    from solver.core.currency import format_amount
    from solver.officer.pdf import HTML_SUFFIXES

    out = console()
    code = summary["currency"]
    # The term counts from the letter's date (as_of), as the letter's "Term" row does:
    # month t falls due t months after it, holiday months included, so the last payment is
    # `term` months after as_of. Counted from the first due date (as this line did), a plan
    # with a 3-month holiday seemed to end 4 months later than its letter says.
    out.print(
        f"offer {summary['option']} for {summary['account_id']}: {summary['term']} months from "
        f"{summary['as_of']} (first payment due {summary['first_due']}), APR "
        f"{summary['apr']:.2%}, total of payments "
        f"{format_amount(summary['total_of_payments'], code)} {code} (finance charge "
        f"{format_amount(summary['finance_charge'], code)}); open until {summary['valid_until']}",
        highlight=False,
    )
    hashed = "sha256" if summary["letter"].lower().endswith(HTML_SUFFIXES) else "HTML sha256"
    out.print(f"wrote {summary['letter']} ({hashed} {summary['sha256']})", highlight=False)
    if summary["audit_record"] is not None:
        out.print(
            f"recorded as audit record {summary['audit_record']} (row hash "
            f"{summary['audit_row_hash']})",
            highlight=False,
        )
