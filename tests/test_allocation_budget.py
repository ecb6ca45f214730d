"""Hard budgets in integer cents (issue 17): the printed costs never sum above the budget.

Oracle (README "--budget is a hard limit": "each treatment's cost is computed in decimal and
rounded half up to the cent ..., the budget is rounded down to the cent"): each treatment's
cost in cents from the catalogue's *published* unit cost -- the TOML text read as
:class:`decimal.Decimal` -- times its actions, rounded half up with ``decimal``; the budget
rounded down to the cent with :class:`fractions.Fraction`. Both are computed here, never with
``Treatment.cost_cents`` or ``to_cents`` (the code under test). Budgets are adversarial: sums
of cost combinations, and those sums less 0.1, 0.5, 0.9 and 1 cent.
"""

from __future__ import annotations

import math
import tomllib
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.allocation.catalogue import Catalogue, default_catalogue_path
from solver.allocation.portfolio import allocate
from solver.allocation.teams import Teams
from solver.core.generate import generate_portfolio

#: Per-action costs whose products are at or near half a cent (binary floats just below).
AWKWARD = ("0.335", "0.005", "0.015", "0.125", "1.005", "2.675", "0.045", "10.345")
CHANGED = ("sms", "email", "app", "ai_voice", "agent_call")


def cents_half_up(unit: str | Decimal, actions: int) -> int:
    """Cost of ``actions`` actions at ``unit`` CNY each (decimal text), in cents, half up."""
    exact = Decimal(unit) * actions * 100
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def published() -> dict:
    """The shipped catalogue with its unit costs as written (Decimal, not binary floats)."""
    return tomllib.loads(default_catalogue_path().read_text(), parse_float=Decimal)


def published_cents() -> dict[str, int]:
    """Each shipped treatment's cost per account per period in cents (the oracle)."""
    return {
        name: cents_half_up(table["cost_per_action"], table["actions"])
        for name, table in published()["treatments"].items()
    }


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    """40 generated accounts, no protective flags (so every treatment is in play)."""
    frame = generate_portfolio(40, seed=11).copy()
    for flag in ("cease_contact", "dispute", "bankruptcy", "has_plan", "hardship"):
        frame[flag] = False
    return frame


@pytest.fixture(scope="module")
def base_catalogue() -> dict:
    return tomllib.loads(default_catalogue_path().read_text())


def awkward_catalogue(base: dict, prices: list[str], actions: list[int]) -> tuple[Catalogue, dict]:
    """The shipped catalogue with awkward costs; also each changed treatment's oracle cents."""
    data = {**base, "treatments": {k: dict(v) for k, v in base["treatments"].items()}}
    oracle = {}
    for name, price, count in zip(CHANGED, prices, actions, strict=True):
        data["treatments"][name]["cost_per_action"] = float(price)
        data["treatments"][name]["actions"] = count
        oracle[name] = cents_half_up(price, count)
    for name, cents in published_cents().items():
        oracle.setdefault(name, cents)
    return Catalogue.from_mapping(data, source="awkward"), oracle


awkward_case = st.tuples(
    st.lists(st.sampled_from(AWKWARD), min_size=5, max_size=5),
    st.lists(st.integers(1, 3), min_size=5, max_size=5),
    st.lists(st.integers(0, 12), min_size=5, max_size=5),
    st.sampled_from([Fraction(0), Fraction(1, 1000), Fraction(5, 1000), Fraction(9, 1000),
                     Fraction(1, 100)]),
)  # fmt: skip


def check_budget(result, oracle: dict, budget: Fraction) -> None:
    """Printed costs equal the oracle's cents and their sum is within the budget's cents."""
    table = result.assignments
    printed = [round(Fraction(f"{c:.2f}") * 100) for c in table["cost"]]
    expected = [oracle[t] for t in table["treatment"]]
    assert printed == expected
    assert sum(printed) <= math.floor(budget * 100)
    assert round(Fraction(f"{result.totals['cost']:.2f}") * 100) == sum(printed)


def run_case(case, book: pd.DataFrame, base: dict, **solver) -> None:
    """Allocate with the case's awkward costs and budget; check the printed cents."""
    prices, actions, counts, below = case
    catalogue, oracle = awkward_catalogue(base, prices, actions)
    budget = sum(Fraction(oracle[n], 100) * c for n, c in zip(CHANGED, counts, strict=True))
    budget = max(budget - below, Fraction(0))
    result = allocate(book, catalogue, Teams.default(), budget=float(budget), **solver)
    check_budget(result, oracle, Fraction(repr(float(budget))))


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(case=awkward_case)
def test_exact_path_budget_in_cents(case, book, base_catalogue):
    """CP-SAT path: budgets at and just below sums of awkward costs are never exceeded."""
    run_case(case, book, base_catalogue, time_limit=10)


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(case=awkward_case)
def test_decomposition_path_budget_in_cents(case, book, base_catalogue):
    """Lagrangian path (forced): the same adversarial budgets hold in printed cents."""
    run_case(case, book, base_catalogue, time_limit=2, exact_max_pairs=0)


def test_shipped_app_cost_rounds_like_the_csv():
    """The case of issue 17: app pushes at 0.005 × 3 cost 2 cents in the budget and the CSV;
    every printed cost is the published unit cost × actions, half up."""
    frame = generate_portfolio(300, seed=3)
    catalogue = Catalogue.default()
    result = allocate(frame, catalogue, Teams.default(), budget=30.0, time_limit=10)
    table = result.assignments
    cents = [round(Fraction(f"{c:.2f}") * 100) for c in table["cost"]]
    assert sum(cents) <= 3000
    oracle = published_cents()
    assert oracle["app"] == 2  # 0.015 CNY, half up
    assert cents == [oracle[t] for t in table["treatment"]]
    assert (table["treatment"] == "app").any()


def test_cents_check_repairs_an_overspending_assignment():
    """The integer-cents check after the solve: an assignment over the budget (as a float
    tolerance could leave on a huge budget) is brought within it, cheapest losses first,
    and is no longer called optimal."""
    from solver.allocation.gap.problem import AssignmentResult
    from solver.allocation.portfolio import _within_budget, build_allocation_problem
    from solver.domain import Status

    frame = generate_portfolio(200, seed=9)
    catalogue, teams = Catalogue.default(), Teams.default()
    built = build_allocation_problem(frame, catalogue, teams, budget=50.0)
    greedy = np.argmax(built.value, axis=0)  # each account's best option, budget ignored
    oracle = published_cents()
    cents = np.array([oracle[catalogue.names[t]] for t in built.option_treatment])
    assert cents[greedy].sum() > 5000
    raw = AssignmentResult(
        greedy, objective=0.0, bound=0.0, gap=0.0, status=Status.OPTIMAL, runtime=0.0, method="test"
    )
    fixed = _within_budget(built, catalogue, raw, 50.0)
    assert cents[fixed.assignment].sum() <= 5000
    assert fixed.status is Status.FEASIBLE
    changed = fixed.assignment != greedy
    none = catalogue.names.index("none")
    assert (built.option_treatment[fixed.assignment[changed]] == none).all()
