"""How ``workout plan`` shows one account's options: the table, its notes, the frontier and
the frames written to ``--out``.

Formatting only: the figures come from :mod:`solver.plans.options` (through
:func:`solver.officer.documents.plan_result`). The solver is imported inside the
functions, as in every command module, so that ``workout --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

from commands.output import STATUS_COLOURS
from commands.tables import MIN_TEXT_WIDTH, Column, print_fitted
from solver.domain import DEFAULT_CURRENCY, Status


def _money(x: float | None, currency: str) -> str:
    """A model value (NPV, cost) in the currency's decimals (solver.core.currency)."""
    import math

    from solver.core.currency import format_value

    return "—" if x is None or not math.isfinite(x) else format_value(x, currency)


def _payments_text(option: Any, currency: str) -> str:
    """The payment path of an option in phases (:func:`phases_text`), its holidays as its
    terms state them (:attr:`~solver.plans.terms.PlanTerms.holidays`, ``holiday_pays``)."""
    if option.schedule is None:
        return ""
    terms = option.terms
    return phases_text(
        option.schedule.payment.tolist(), terms.holidays, terms.holiday_pays, currency
    )


def phases_text(
    cents: list[int], holidays: tuple[tuple[int, int], ...], word: str, currency: str
) -> str:
    """A payment path in phases: each holiday where it falls (``3× 0``, ``4× interest``;
    a free custom plan may pause mid-plan), each amount with the months it is paid
    (``2,615 ×24``; no count for one month; an amount off whole units to the cent), and the
    last payment whenever it differs from the phase before it (``last 2,594.79``, also
    above it): a person can rebuild the path from it to the cent.

    ``cents`` are the payments in cents, ``holidays`` the (first, last) month runs and
    ``word`` what a holiday month pays (``0`` or ``interest``). The ``payments`` column of
    ``workout plan`` and of ``plan-portfolio``'s plans.
    """
    from solver.core.currency import format_amount
    from solver.core.schedule import CENTS_PER_UNIT as CENTS

    ends = dict(holidays)  # first month -> last month of each holiday
    parts: list[str] = []
    phase: list[int] = []  # the phase being paid: [cents, months]; a holiday ends it
    T = len(cents)
    t = 0

    def amount(c: int) -> str:
        # whole amounts as the plan states them (2,615); others to the cent (rounding 0.5)
        return f"{c / CENTS:,.0f}" if c % CENTS == 0 else format_amount(c / CENTS, currency)

    def close() -> None:
        if phase:
            count = f" ×{phase[1]}" if phase[1] > 1 else ""
            parts.append(f"{amount(phase[0])}{count}")
            phase.clear()

    while t < T:
        if t + 1 in ends:
            close()
            parts.append(f"{ends[t + 1] - t}× {word}")
            t = ends[t + 1]
            continue
        c = cents[t]
        if t == T - 1 and (not phase or c != phase[0]):  # the last payment, to the cent
            close()
            exact = format_amount(c / CENTS, currency)
            parts.append(f"last {exact}" if parts else exact)  # a lump sum is not a "last"
            break
        if phase and c == phase[0]:
            phase[1] += 1
        else:
            close()
            phase.extend((c, 1))
        t += 1
    close()
    return " → ".join(parts)


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
                _payments_text(sq, currency),
                str(sq.schedule.term),
                _money(sq.npv, currency),
                "",
                _money(sq.customer_cost, currency),
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
            npv = _money(o.npv, currency) if o.schedule is not None else ""
            cells = [o.label, "", "", npv, "", "", "", "", "", o.status.lower(), o.reason]
            rows.append((cells, "dim"))
            continue
        rec = o.label == result.recommended
        status = o.status.lower() if o.status != Status.FEASIBLE else f"gap {o.gap:.2%}"
        if o.bound_over == OVER_GRID:
            status += GRID_MARK
        cells = [
            ("★ " if rec else "") + o.label,
            _payments_text(o, currency),
            str(o.schedule.term),
            _money(o.npv, currency),
            # the difference of the two NPVs printed (solver.core.currency)
            format_difference(o.npv, sq.npv, currency, sign=True),
            _money(o.customer_cost, currency),
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
    ``--schedule`` names, resolved before any output: :func:`commands.plan._schedule_option`),
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


def render_frontier(result: Any, frontier: list[Any], currency: str) -> None:
    """The bank-vs-customer efficient frontier: plans no other plan beats on both (the
    family bests and the level families' plans at every term, labelled with their terms:
    :func:`solver.plans.options.efficient_frontier`)."""
    from rich.table import Table

    from commands.common import console
    from solver.plans.explain import npv_shortfall

    # the title on a line of its own: as the table's title it wraps to the table's width
    table = Table()
    for col in ("option", "term", "NPV", "customer cost", "NPV vs best", "PD 12m"):
        # a number is never cut; a long label wraps (on a terminal narrower than the table)
        left = col == "option"
        table.add_column(col, justify="left" if left else "right", no_wrap=not left)
    if not frontier:
        console().print("No plan passes the NPV test: no bank-vs-customer trade-off to show.")
        return
    console().print(
        "Bank vs customer: plans no other plan beats on both (NPV test passed)", highlight=False
    )
    best = frontier[0].npv
    shown = frontier_rows(frontier, result.recommended)
    for k, o in enumerate(frontier):
        if k not in shown:
            continue
        table.add_row(
            ("★ " if o.label == result.recommended else "") + o.label,
            str(o.schedule.term),
            _money(o.npv, currency),
            _money(o.customer_cost, currency),
            f"{-npv_shortfall(best, o.npv):+.2%}",
            f"{o.pd_12m:.1%}",
        )
    # piped or captured output as wide as the widest label needs (a terminal: its width)
    console(min_width=120).print(table)
    if len(shown) < len(frontier):
        console(min_width=120).print(
            f"{len(shown)} of the {len(frontier)} frontier plans shown, evenly spaced; "
            "--format json lists them all (frontier_options).",
            highlight=False,
        )


#: Rows of the frontier table at most (about a screen): a frontier over every term can hold
#: hundreds of plans (concession rates × waivers × terms), which an officer cannot read.
FRONTIER_ROWS = 50


def frontier_rows(frontier: list[Any], recommended: str | None) -> set[int]:
    """Positions of the frontier plans the table shows: all of up to :data:`FRONTIER_ROWS`,
    else evenly spaced ones from the bank's best to the cheapest, and the recommended plan
    with its neighbours (the trade-off next to the pick)."""
    n = len(frontier)
    if n <= FRONTIER_ROWS:
        return set(range(n))
    step = (n - 1) / (FRONTIER_ROWS - 4)  # 3 rows kept for the pick and its neighbours
    rows = {round(j * step) for j in range(FRONTIER_ROWS - 3)}
    pick = next((k for k, o in enumerate(frontier) if o.label == recommended), None)
    if pick is not None:
        rows |= {k for k in (pick - 1, pick, pick + 1) if 0 <= k < n}
    return rows


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
        d["payments"] = _payments_text(o, currency)  # the levels with their months
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


def plans_table(plans: Any, currency: str) -> Any:
    """plan-portfolio's plans as written: the table with the ``payments`` text
    (:func:`portfolio_payments_text`) after ``levels``."""
    table = plans.table.copy(deep=False)
    at = table.columns.get_loc("levels") + 1
    table.insert(at, "payments", portfolio_payments_text(plans, currency))
    return table


def plan_partition_table(
    frame: Any, policy: Any = None, model: Any = None, search: Any = None
) -> Any:
    """:func:`solver.plans.workloads.plan_partition` with the ``payments`` column: what an
    engine's workers run, so that an engine writes the bytes of an in-process run."""
    from solver.plans import portfolio

    kwargs = {} if search is None else {"search": search}
    plans = portfolio.plan_portfolio(frame, policy, model, jobs=1, **kwargs)
    return plans_table(plans, str(getattr(policy, "currency", DEFAULT_CURRENCY)))


def portfolio_payments_text(plans: Any, currency: str) -> list[str | None]:
    """The ``payments`` column of plan-portfolio's plans: each account's followed plan in
    phases (:func:`phases_text`, as ``workout plan`` shows it); ``None`` for an error row.

    The holidays are the followed plan's own (``plans.holidays``: its
    :attr:`~solver.plans.terms.PlanTerms.holidays` and ``holiday_pays``, as the plan
    search stated them), the payments its schedule's cents.
    """
    import numpy as np

    from solver.core.schedule import CENTS_PER_UNIT

    cents = np.rint(plans.payments * CENTS_PER_UNIT).astype(np.int64)
    out: list[str | None] = []
    for i, months in enumerate(plans.term.tolist()):
        if months == 0:
            out.append(None)
            continue
        runs, pays = plans.holidays[i]
        out.append(phases_text(cents[i, :months].tolist(), runs, pays, currency))
    return out


#: What ``plan`` and ``plan-portfolio`` say on stderr before planning with a cold kernel cache.
KERNELS_NOTE = "preparing the plan engine's compiled kernels (first run only, about a minute)…"


#: Module prefixes whose numba kernels a plan compiles (:func:`kernels_cold`).
PLAN_ENGINE_MODULES = ("solver.plans.", "solver.core.")


def kernels_cold() -> bool:
    """Whether most of the plan engine's numba kernels have no valid on-disk cache entry,
    so that this run compiles them (about 25 s of CPU for a first ``plan``, 50 s for a
    first ``--thorough``; later runs load them in about a second).

    Imports the plan search (which the run needs anyway) and asks each cached kernel of
    the loaded plan-engine modules (:data:`PLAN_ENGINE_MODULES`: the plans and the model
    kernel, not the allocation's or the risk's, which a process may also have loaded and
    a plan never compiles) whether its index file exists where numba keeps it
    (``__pycache__`` beside the module, or ``NUMBA_CACHE_DIR``) and matches the source:
    about 10 ms. Decision (session 24): "cold" is more than half of them missing, not any
    missing -- some kernels compile only for some accounts or options (holidays mid-plan,
    the free family), so a warm cache always lacks a few, and a note on every run would be
    noise; a fresh copy lacks them all. The check reads numba's cache objects (not a
    public API): if they change, it answers ``False`` and the run is only silent again.
    """
    import sys

    import solver.plans.options  # noqa: F401  (loads the kernel modules)

    try:
        from numba.core.registry import CPUDispatcher

        kernels: list[Any] = [
            value
            for name, module in list(sys.modules.items())
            if name.startswith(PLAN_ENGINE_MODULES) and module is not None
            for value in list(vars(module).values())
            if isinstance(value, CPUDispatcher)
            and value.__module__ == name  # each kernel once, where it is defined
            and getattr(getattr(value, "_cache", None), "_enabled", False)
            and value.targetoptions.get("inline") != "always"  # inlined: never cached alone
        ]
        # _load_index() is empty for a missing index or one stale against the source
        missing = sum(not k._cache._cache_file._load_index() for k in kernels)
    except Exception:  # numba's internals changed: stay silent rather than fail the run
        return False
    return 2 * missing > len(kernels)


def announce_kernels(quiet: bool = False) -> None:
    """Print :data:`KERNELS_NOTE` on stderr when :func:`kernels_cold` (not with ``quiet``)."""
    if not quiet and kernels_cold():
        import click

        click.echo(KERNELS_NOTE, err=True)
