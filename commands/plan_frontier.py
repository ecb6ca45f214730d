"""How ``workout plan --frontier`` (and ``--objective customer``) shows the bank-vs-customer
efficient frontier: the table, at most about a screen of its plans.

Formatting only: the frontier is :func:`solver.plans.customer_choice.efficient_frontier`'s.
"""

from __future__ import annotations

from typing import Any

from commands.plan_text import money_text


def render_frontier(result: Any, frontier: list[Any], currency: str) -> None:
    """The bank-vs-customer efficient frontier: plans no other plan beats on both (the
    family bests and the level families' plans at every term, labelled with their terms:
    :func:`solver.plans.customer_choice.efficient_frontier`)."""
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
            money_text(o.npv, currency),
            money_text(o.customer_cost, currency),
            f"{-npv_shortfall(best, o.npv) + 0.0:+.2%}",  # + 0.0 turns -0.0 into 0.0: no "-0.00%"
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
