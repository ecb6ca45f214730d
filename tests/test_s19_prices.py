"""The allocation's per-minute team prices on the core-first path of large books.

Books past the full min-cost flow (``FLOW_MAX_ARCS``) with many accounts (``SAMPLE_MIN_JOBS``)
start with a sample dual and a flow on a priced core
(:func:`solver.allocation.gap.solve.solve_assignment`), and the run may end there. Its
prices must be valid for the whole problem or blank (:mod:`solver.allocation.gap.prices`).
The path is forced on ``tests/test_s18_shadow_prices.py``'s 250-account book by lowering
those thresholds, and the prices are checked with that file's oracle (the LP relaxation
built from the catalogue file and the team specs, solved by HiGHS), never the solver's
numbers: the dual objective ``D(λ)``, complementary slackness and each team's marginal
value. The LP is the one over whole jobs (each team's minutes rounded down to a multiple of
its treatments' minutes, the integer problem's LP for these transportation-shaped teams),
where the prices are certified (the module's "Which LP"); the LP over the raw minutes is
checked too, within the leftover minutes' worth (less than one treatment per team).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from test_s18_shadow_prices import (
    DUAL_TOL,
    ROUNDING,
    TIGHT,
    _check_dual,
    _dual_objective,
    _lp,
    _oracle_lp,
    _solve,
    _specs,
)

from solver.allocation.gap import coreflow, dual_phase, flow_phases, prices
from solver.allocation.gap import solve as solve_module
from solver.core.generate import generate_portfolio


@pytest.fixture(scope="module")
def book():
    return generate_portfolio(250, seed=3)


def _core_first(monkeypatch, *, cut: bool) -> None:
    """Force the core-first path on a small book; with ``cut`` the core flow gets one round
    of a 10-job core from prices that price every row out (it proves nothing), and the run
    ends after it (the dual would not fit the clock)."""
    monkeypatch.setattr(solve_module, "FLOW_MAX_ARCS", 100)
    monkeypatch.setattr(dual_phase, "SAMPLE_MIN_JOBS", 100)
    monkeypatch.setattr(dual_phase, "SAMPLE_JOBS", 100)
    monkeypatch.setattr(flow_phases, "AFTER_CORE_PASSES", 10**12)  # never fits
    if cut:
        real = flow_phases.solve_core_flow

        def one_round(problem, allowed, slots, row_prices, **kwargs):
            poor = np.full_like(row_prices, 10.0)
            return real(problem, allowed, slots, poor, core_jobs=10, **kwargs, rounds=1)

        monkeypatch.setattr(flow_phases, "solve_core_flow", one_round)
        monkeypatch.setattr(coreflow, "ROW_CANDIDATES_MAX", 5)


def _whole_jobs(team_of, minutes, capacity):
    """Each team's capacity rounded down to whole treatments (the oracle's own minutes; the
    teams here are transportation-shaped: one treatment length per team)."""
    out = capacity.copy()
    for r in range(capacity.size):
        unit = np.unique(minutes[(team_of == r) & (minutes > 0)])
        assert unit.size == 1  # transportation-shaped: the path applies
        out[r] = math.floor(capacity[r] / unit[0] + 1e-9) * unit[0]
    return out


def test_core_first_prices_are_a_near_optimal_lp_dual(book, monkeypatch):
    """On the core-first path the printed prices (the core flow's) are certified and pass the oracle LP's checks; scaled by 1.1 they fail them."""
    _core_first(monkeypatch, cut=False)
    specs = _specs(book, TIGHT)
    value, team_of, minutes, capacity = _oracle_lp(book, specs)
    result, lam = _solve(book, specs, 0)
    stats = result.stats
    assert stats["core_first"] and "core-flow" in result.method
    assert stats["price_source"] == "core flow" and stats["price_gap"] <= 1e-4
    document = json.loads(json.dumps(result.to_dict()))
    assert document["price_source"] == "core flow"
    listed = [document["utilisation"][s["name"]]["shadow_price_per_minute"] for s in specs]
    assert listed == pytest.approx(lam.tolist(), abs=0)
    assert (_lp(value, team_of, minutes, capacity)[1] > 1.0).sum() >= 3  # teams bind
    whole = _whole_jobs(team_of, minutes, capacity)
    _check_dual(value, team_of, minutes, whole, lam)
    # against the LP over raw minutes: at most the leftover minutes' worth more
    _check_dual(value, team_of, minutes, capacity, lam, extra=float(lam @ (capacity - whole)))
    with pytest.raises(AssertionError):
        _check_dual(value, team_of, minutes, whole, 1.1 * lam)


def test_uncertified_core_first_prices_are_blank_and_the_certificate_is_sound(book, monkeypatch):
    """A core flow cut short ends the run with blank prices and a certified gap over the tolerance; shown anyway (tolerance lifted), their distance from the oracle LP is within that gap and past the tolerance."""
    _core_first(monkeypatch, cut=True)
    specs = _specs(book, TIGHT)
    value, team_of, minutes, capacity = _oracle_lp(book, specs)
    result, lam = _solve(book, specs, 0)
    stats = result.stats
    assert "dual after the core flow skipped" in stats["wall_clock_stop"]
    assert stats["core_rounds"] == 1 and "lagrangian_iterations" not in stats
    assert np.isnan(lam).all() and "prices" not in stats
    assert stats["price_source"].startswith("none (core flow gap")
    assert stats["price_gap"] > prices.PRICE_GAP_TOLERANCE
    document = json.loads(json.dumps(result.to_dict()))
    assert document["utilisation"]["agents"]["shadow_price_per_minute"] is None
    assert document["price_gap"] == pytest.approx(stats["price_gap"])
    monkeypatch.setattr(prices, "PRICE_GAP_TOLERANCE", math.inf)
    shown, lam = _solve(book, specs, 0)
    assert shown.stats["price_source"] == "core flow"
    assert shown.objective == result.objective  # the prices change nothing else
    whole = _whole_jobs(team_of, minutes, capacity)
    optimum = _lp(value, team_of, minutes, whole)[0]
    eps = _dual_objective(value, team_of, minutes, whole, lam) - optimum
    # the certificate bounds the true distance (prices rounded to 4 decimals in the table)
    rounding = ROUNDING * (whole.sum() + minutes.max() * value.shape[1])
    assert eps <= shown.stats["price_gap"] * abs(shown.objective) + rounding + 0.01
    assert eps > DUAL_TOL * optimum  # and blanking them was needed
