"""Work the custom/step search skips, and its one conversion into cents (issue 13: speed).

* An account whose opening balance is above ``U`` (the most that payments within the
  caps can clear) gets a "no plan" table without the dynamic programme
  (:func:`solver.plans.bounds.bound_tables`): the other accounts' tables must be bit for
  bit those of the dynamic programme, the skipped ones must say what it says at the root
  (no plan), and the searches must find the same plans with either.
* :func:`solver.plans.payment_grid.grid_cents` puts amounts on the policy currency's money
  grid (whole yen for JPY), rounded half-up: checked against decimal arithmetic.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from solver.core.generate import generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.bounds import _bound_tables, _clearable, action_hazards, bound_at, bound_tables
from solver.plans.context import context_from_frame, grid_of
from solver.plans.payment_grid import grid_cents, holiday_months, payment_grids
from solver.plans.schedules import path_schedule
from solver.plans.search import solve_runs
from solver.plans.search_seeds import seed_values
from solver.plans.search_types import SearchParams


def _context(product: str, n: int = 160, seed: int = 11):
    frame = generate_portfolio(n, seed=seed)
    part = frame[frame["product"] == product]
    return context_from_frame(part, Policy().for_product(product), BehaviourModel())


@pytest.mark.parametrize("tail", [False, True])
@pytest.mark.parametrize("product", ["auto_loan", "card_instalment"])
def test_accounts_above_u_get_the_tables_the_dynamic_programme_implies(product, tail) -> None:
    ctx = _context(product)
    amounts, step = payment_grids(ctx, 12)
    holiday = holiday_months(ctx)
    hz = action_hazards(ctx, amounts)
    U, _ = _clearable(ctx)
    dead = ctx.balance > U[:, 0]
    assert dead.any() and not dead.all()  # the book has both kinds
    buckets = 48
    with np.errstate(invalid="ignore", over="ignore"):  # as solve_runs builds them
        got = bound_tables(ctx, amounts, buckets, holiday, tail=tail, hazards=hz)
        full = _bound_tables(ctx, amounts, buckets, holiday, tail, hz)  # every row by the DP
    live = ~dead
    for mine, theirs in zip(got, full, strict=True):
        assert np.array_equal(mine[live], theirs[live])  # the others bit for bit
    acc = np.arange(len(ctx))
    root_full = bound_at(full, acc, 0, ctx.balance)
    root_got = bound_at(got, acc, 0, ctx.balance)
    assert np.all(root_full[dead] == -np.inf)  # the DP finds no plan at their root either
    assert np.all(root_got[dead] == -np.inf)
    assert np.array_equal(root_got[live], root_full[live])
    search = SearchParams(buckets=buckets, tail_bound=tail)
    for increasing in (False, True):
        a = solve_runs(
            ctx, amounts, step, increasing=increasing, search=search, tables=got, hazards=hz
        )
        b = solve_runs(
            ctx, amounts, step, increasing=increasing, search=search, tables=full, hazards=hz
        )
        for x, y in zip(a, b, strict=True):
            figures = (x.status, x.objective, x.bound, x.gap)
            assert figures == (y.status, y.objective, y.bound, y.gap)
            assert (x.payments is None) == (y.payments is None)
            if x.payments is not None:
                assert np.array_equal(x.payments, y.payments)
        assert all(a[i].payments is None for i in np.flatnonzero(dead))


def _half_up_cents(amount: float, grid: int) -> int:
    """The amount (as written: its shortest repr) rounded half-up to 1/grid, in cents."""
    units = (Decimal(repr(amount)) * grid).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(units) * (100 // grid)


@pytest.mark.parametrize("grid", [100, 1])
def test_grid_cents_rounds_half_up_on_the_money_grid(grid) -> None:
    rng = np.random.default_rng(5)
    written = np.round(rng.uniform(0, 50_000, 400), 3)  # sub-cent and half steps included
    halves = np.array([0.5, 2.5, 1234.5, 0.005, 12.345, 99.995, 0.0])
    amounts = np.concatenate([written, halves])
    got = grid_cents(amounts, grid)
    want = np.array([_half_up_cents(float(a), grid) for a in amounts])
    assert np.array_equal(got, want)
    assert grid_cents(np.array([np.nan]), grid)[0] == -1
    if grid == 1:  # whole yen: every amount is a multiple of 100 cents
        assert np.all(got % 100 == 0)


def test_step_seeds_do_not_matter_above_custom_plans() -> None:
    """A portfolio run searches step only above custom's plan (``floor``) and without
    seeds (solver.plans.run_choices._custom_and_step): every seed that qualifies for step
    qualifies for custom with the same value, so it is worth no more than the floor and
    could not be an incumbent. The step search with the seeds finds the same."""
    ctx = _context("card_instalment", n=120, seed=3)
    level = np.array([ctx.balance / 12, ctx.balance / 24]).T  # extra grid amounts
    amounts, step = payment_grids(ctx, 12, np.round(level, 0))
    search = SearchParams()
    # seeds: level paths on the grid (the largest grid amounts until cleared), as schedules
    seeds = []
    for i in range(len(ctx)):
        mine = []
        for g in np.flatnonzero(np.isfinite(amounts[i]))[-3:]:
            pay = np.full(ctx.horizon, amounts[i, g])
            bal, rate = float(ctx.balance[i]), float(ctx.fields["annual_rate"][i])
            try:  # cent rounding may clear it a month early: then not a seed
                sched = path_schedule(
                    bal, rate, pay[: _term(bal, rate, amounts[i, g])], grid_of(ctx)
                )
            except ValueError:
                continue
            mine.append((sched.payments, sched.exposures))
        seeds.append(mine)
    amt_c = grid_cents(amounts, grid_of(ctx))
    qualify = seed_values(ctx, seeds, amt_c, holiday_months(ctx), True)
    assert sum(np.isfinite(v).sum() for v in qualify) >= 10  # seeds that step could use
    custom = solve_runs(ctx, amounts, step, increasing=False, search=search, seeds=seeds)
    floor = np.array([c.objective for c in custom])
    with_seeds = solve_runs(
        ctx, amounts, step, increasing=True, search=search, seeds=seeds, floor=floor
    )
    without = solve_runs(ctx, amounts, step, increasing=True, search=search, floor=floor)
    for x, y in zip(with_seeds, without, strict=True):
        assert (x.status, x.objective, x.bound, x.gap) == (y.status, y.objective, y.bound, y.gap)
        assert (x.payments is None) == (y.payments is None)
        if x.payments is not None:
            assert np.array_equal(x.payments, y.payments)


def _term(balance: float, rate: float, payment: float) -> int:
    """Months a level ``payment`` takes to clear ``balance`` (the last one partial), by
    plain month-by-month arithmetic."""
    months = 0
    while balance > 1e-9 and months < 1000:
        balance = balance * (1 + rate / 12) - payment
        months += 1
    return months
