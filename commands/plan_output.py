"""How ``workout plan`` shows one account's options: the table, its notes and the frames
written to ``--out`` (the frontier: :mod:`commands.plan_frontier`; the payments text and
money: :mod:`commands.plan_text`).

Formatting only: the figures come from :mod:`solver.plans.options` and
:mod:`solver.plans.plan_records` (through
:func:`solver.officer.documents.plan_result`). The solver is imported inside the
functions, as in every command module, so that ``workout --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

from commands.output import STATUS_COLOURS
from commands.plan_text import money_text, option_payments_text
from commands.tables import MIN_TEXT_WIDTH, Column, print_fitted
from solver.domain import DEFAULT_CURRENCY, Status

#: Columns of the options table in display order. On a terminal too narrow for all of them
#: the columns are kept by priority (0 first) and the rest dropped whole: a number is never
#: cut (:mod:`commands.tables`). Text columns (``wraps``) wrap into the width left.
TABLE_COLUMNS: tuple[Column, ...] = (
    Column("option", "left", 0),
    Column("payments", "left", 8, wraps=True, min_width=MIN_TEXT_WIDTH),
    Column("term", "right", 6),
    Column("NPV", "right", 1),
    Column("Δ vs status quo", "right", 3, short="Δ vs\nstatus quo"),
    # issue 13: the customer's cost beside the bank's value (PV at the contract rate)
    Column("customer cost", "right", 5, short="customer\ncost"),
    Column("PD 12m", "right", 4, short="PD\n12m"),
    Column("APR", "right", 8),
    Column("max DTI", "right", 7, short="max\nDTI"),
    Column("status", "left", 2),
    Column("binding / reason", "left", 10, wraps=True, min_width=MIN_TEXT_WIDTH),
)

#: Where the customer cost column is in :data:`TABLE_COLUMNS`, and the note under the table
#: that says what it is (:data:`solver.plans.metrics.CUSTOMER_COST_TEXT`, spelled out here
#: so that this module loads without the solver; a test checks that the two agree).
COST_COLUMN = [c.header for c in TABLE_COLUMNS].index("customer cost")
COST_NOTE = (
    "customer cost: interest and fees charged, in present value at the contract rate"
    " (the accrued interest and fees the plan carries over, less waivers and any haircut,"
    " at once; each month's interest when it is charged)."
)

#: Marks an option whose "optimal" / "gap" is proved over a payment grid (custom and step
#: certified on their grid: ``bound_over`` "payment_grid", the grid in ``terms.grid``), not
#: over every amount -- the table says so under it (review of issue 13, 4 Dec 2026: a finer
#: grid can find more, and a bank must not read "optimal" as "over every schedule"). A plan
#: certified against the free bound (``bound_over`` "every_amount") has no mark.
GRID_MARK = "†"


def option_rows(result: Any, currency: str) -> list[tuple[list[str], str | None]]:
    """The cells of every row of the options table (all columns) and the row style."""
    from solver.core.currency import format_difference
    from solver.plans.choice import OVER_GRID

    sq = result.status_quo
    rows: list[tuple[list[str], str | None]] = [
        (
            [
                "status quo",
                option_payments_text(sq, currency),
                str(sq.schedule.term),
                money_text(sq.npv, currency),
                "",
                money_text(sq.customer_cost, currency),
                f"{sq.pd_12m:.1%}",
                f"{sq.apr:.2%}",
                f"{sq.max_dti:.2f}",
                "contract",
                "",
            ],
            "dim",
        )
    ]
    for o in result.options:
        if not o.feasible:
            npv = money_text(o.npv, currency) if o.schedule is not None else ""
            cells = [o.label, "", "", npv, "", "", "", "", "", o.status.lower(), o.reason]
            rows.append((cells, "dim"))
            continue
        rec = o.label == result.recommended
        status = o.status.lower() if o.status != Status.FEASIBLE else f"gap {o.gap:.2%}"
        if o.bound_over == OVER_GRID:
            status += GRID_MARK
        cells = [
            ("★ " if rec else "") + o.label,
            option_payments_text(o, currency),
            str(o.schedule.term),
            money_text(o.npv, currency),
            # the difference of the two NPVs printed (solver.core.currency)
            format_difference(o.npv, sq.npv, currency, sign=True),
            money_text(o.customer_cost, currency),
            f"{o.pd_12m:.1%}",
            f"{o.apr:.2%}",
            f"{o.max_dti:.2f}",
            status,
            "; ".join(o.binding),
        ]
        rows.append((cells, "bold green" if rec else None))
    return rows


def grid_note(result: Any, currency: str) -> str:
    """What the custom and step certificates are proved over: each grid-certified plan's
    grid (the † rows), and the plans certified over every amount (the free bound)."""
    from solver.core.currency import format_amount
    from solver.plans.choice import OVER_EVERY_AMOUNT, OVER_GRID

    grids: dict[str, list[str]] = {}  # grid text -> the options searched on it
    free: list[str] = []
    for o in result.options:
        if not o.feasible:
            continue
        if o.bound_over == OVER_EVERY_AMOUNT:
            free.append(o.label)
        grid = o.terms.grid if o.bound_over == OVER_GRID else None
        if grid and o.terms.grid_step is not None:
            text = (
                f"{len(grid)} amounts from {format_amount(min(grid), currency)}"
                f" to {format_amount(max(grid), currency)}"
                f" (step {format_amount(o.terms.grid_step, currency)})"
            )
            grids.setdefault(text, []).append(o.label)
    notes = []
    if grids:
        parts = [f"{' and '.join(labels)}: {text}" for text, labels in grids.items()]
        notes.append(
            f"{GRID_MARK} proved over the plan's payment grid, not over every amount: "
            + "; ".join(parts)
            + ("." if free else ". --thorough searches a finer grid and every amount for custom.")
        )
    if free:
        notes.append(
            f"{' and '.join(free)}: status and gap proved over every schedule of the family"
            " (any amount on the rounding unit within each month's cap; months without"
            " payment capitalised, at most max_deferral_months in a row: at the start, or"
            " anywhere where the policy sets holidays_mid_plan)."
        )
    return "\n".join(notes)


def render_table(result: Any, schedule: Any, currency: str, start: Any = None) -> None:
    """The options table, its notes and the verdict; with ``schedule`` (the option
    ``--schedule`` names, resolved before any output: :func:`solver.officer.offers.plan_option`),
    that option's schedule, month t due t months after ``start`` (``--as-of``)."""
    from dataclasses import replace

    from rich.table import Table

    from commands.common import console
    from solver.core.currency import amount_digits, format_amount

    out = console(min_width=180)
    rows = option_rows(result, currency)
    title = f"Restructuring options for {result.account_id} ({currency})"
    dropped = print_fitted(out, title, TABLE_COLUMNS, rows)
    note = grid_note(result, currency)
    if note:
        out.print(note, highlight=False)
    if COST_COLUMN not in dropped:
        out.print(COST_NOTE, highlight=False)
    if dropped:
        reason_column = len(TABLE_COLUMNS) - 1
        if reason_column in dropped:  # an infeasible option must still say why
            for o in result.options:
                if not o.feasible and o.reason:
                    out.print(f"{o.label}: {o.status.lower()}: {o.reason}", highlight=False)
    colour = STATUS_COLOURS[result.status]
    out.print(f"[bold {colour}]{result.status}[/]: {result.explanation}", highlight=False)
    if schedule is not None:
        opt = schedule
        if opt.schedule is None:
            out.print(f"{opt.label}: no schedule ({opt.reason})", highlight=False)
            return
        st = Table(title=f"Schedule: {opt.label}", title_justify="left")
        for col in ("month", "due_date", "payment", "interest", "principal", "fees", "balance"):
            st.add_column(col, justify="right", no_wrap=True)
        money = ("payment", "interest", "principal", "fees", "balance")
        records = replace(opt.schedule, start=start).to_records()
        # one number of decimals for the whole schedule (solver.core.currency)
        digits = amount_digits(currency, (row[k] for row in records for k in money))
        for row in records:
            st.add_row(
                str(row["month"]),
                str(row["due_date"] or ""),
                *(format_amount(row[k], currency, digits=digits) for k in money),
            )
        out.print(st)


def options_frame(result: Any, currency: str = DEFAULT_CURRENCY) -> Any:
    import pandas as pd

    from solver.plans.terms import TABLE_TERMS, holiday_text

    rows = []
    for o in (result.status_quo, *result.options):
        d = o.to_dict(schedule=False)
        params = d.pop("params")
        d["recommended"] = o.label == result.recommended
        d["binding"] = "; ".join(d["binding"])
        for k in (*TABLE_TERMS, "forbearance"):
            d[k] = params.get(k)
        # as the portfolio's plans file writes them: "1–3, 8–13" (the JSON: [first, last])
        d["holiday_months"] = holiday_text(o.terms.holidays) or None
        d["levels"] = " / ".join(f"{x:.2f}" for x in params.get("levels", []) or [])
        d["payments"] = option_payments_text(o, currency)  # the levels with their months
        rows.append(d)
    return pd.DataFrame(rows)


def schedules_frame(result: Any, start: Any) -> Any:
    """Every option's schedule as one long table, month t due t months after ``start``."""
    from dataclasses import replace

    import pandas as pd

    frames = []
    for o in (result.status_quo, *result.options):
        if o.schedule is None:
            continue
        f = replace(o.schedule, start=start).to_frame()
        f.insert(0, "option", o.label)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def plan_sheets(result: Any, options: Any, start: Any) -> dict[str, Any]:
    """The sheets of ``workout plan``'s .xlsx: options and dated schedules (the workbook
    writer adds the ``columns`` sheet: :func:`solver.core.writers.write_workbook`)."""
    return {"options": options, "schedules": schedules_frame(result, start)}


#: What ``plan`` and ``plan-portfolio`` say on stderr before planning with a cold kernel cache.
KERNELS_NOTE = "preparing the plan engine's compiled kernels (first run only, about a minute)…"


def announce_kernels(quiet: bool = False) -> None:
    """Print :data:`KERNELS_NOTE` on stderr when the plan engine's kernels are not cached
    (:func:`solver.plans.kernel_cache.kernels_cold`; not with ``quiet``)."""
    from solver.plans.kernel_cache import kernels_cold

    if not quiet and kernels_cold():
        import click

        click.echo(KERNELS_NOTE, err=True)
