"""The allocation's per-minute team prices on the full min-cost-flow path.

Transportation-shaped books past the exact CP-SAT path whose flow network fits
(``FLOW_MAX_ARCS``) are solved by the full min-cost flow; its node prices are the shown
prices when their dual value is the larger, and any prices shown on that path must be
certified (:mod:`solver.allocation.gap.prices`). ``tests/test_s18_shadow_prices.py``'s
250-account book takes the path with ``exact_max_pairs=0``. The oracle is that file's LP
relaxation (built from the catalogue file and the team specs, solved by HiGHS), never the
solver's numbers, over whole jobs (each team's minutes rounded down to whole treatments:
the integer problem's LP, where the prices are certified) and over the raw minutes (within
the leftover minutes' worth):

* ``_check_dual``: dual objective, complementary slackness, each team's marginal value;
* the flow's prices are the least optimal duals: each team's is what one more treatment's
  minutes are worth to the whole-jobs LP, ``(LP(whole + unit_r) − LP(whole)) / unit_r``
  (the LP's optimum is piecewise linear between whole treatments, so the one-sided
  difference is the least dual price).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from test_s18_shadow_prices import TIGHT, _check_dual, _lp, _oracle_lp, _specs
from test_s19_prices import _whole_jobs

from solver.allocation.catalogue import Catalogue
from solver.allocation.gap import dual_phase, flow_phases, prices
from solver.allocation.portfolio import allocate
from solver.allocation.teams import Teams
from solver.core.generate import generate_portfolio


@pytest.fixture(scope="module")
def book():
    return generate_portfolio(250, seed=3)


@pytest.fixture(scope="module")
def lp(book):
    """The oracle LP's pieces for the tight teams of the s18 tests."""
    specs = _specs(book, TIGHT)
    return specs, *_oracle_lp(book, specs)


def _allocate(book, specs, time_limit: float = 10.0):
    """``allocate`` on the full-flow path (past the exact path: ``exact_max_pairs=0``)."""
    catalogue = Catalogue.default()
    teams = Teams.from_mapping({"teams": specs}, compliance=catalogue.compliance)
    return allocate(book, catalogue, teams, time_limit=time_limit, workers=1, exact_max_pairs=0)


@pytest.fixture(scope="module")
def flow_result(book, lp):
    return _allocate(book, lp[0])


def test_full_flow_prices_are_certified_and_pass_the_lp_dual_oracle(flow_result, lp):
    """On the full-flow path the shown prices are the flow's, certified exact, and pass the oracle LP's checks (whole jobs; raw minutes within the leftover minutes); ×1.1 they fail."""
    specs, value, team_of, minutes, capacity = lp
    stats = flow_result.stats
    assert "min-cost-flow" in flow_result.method and "flow_arcs" in stats
    assert stats["price_source"] == "min-cost flow" and stats["price_certificate_required"]
    assert stats["price_gap"] <= prices.PRICE_GAP_TOLERANCE
    lam = flow_result.utilisation["shadow_price_per_minute"].to_numpy(dtype=float)
    document = json.loads(json.dumps(flow_result.to_dict()))
    assert document["price_source"] == "min-cost flow"
    listed = [document["utilisation"][s["name"]]["shadow_price_per_minute"] for s in specs]
    assert listed == pytest.approx(lam.tolist(), abs=0)
    assert (_lp(value, team_of, minutes, capacity)[1] > 1.0).sum() >= 3  # teams bind
    whole = _whole_jobs(team_of, minutes, capacity)
    _check_dual(value, team_of, minutes, whole, lam)
    _check_dual(value, team_of, minutes, capacity, lam, extra=float(lam @ (capacity - whole)))
    with pytest.raises(AssertionError):
        _check_dual(value, team_of, minutes, whole, 1.1 * lam)


def test_full_flow_prices_are_the_value_of_one_more_treatment(flow_result, lp):
    """Each team's flow price is the least optimal dual: what one more treatment's minutes add to the oracle's whole-jobs LP, per minute (the same at any time limit)."""
    _, value, team_of, minutes, capacity = lp
    lam = np.asarray(flow_result.stats["prices"], dtype=float)
    whole = _whole_jobs(team_of, minutes, capacity)
    optimum = _lp(value, team_of, minutes, whole)[0]
    for r in range(capacity.size):
        unit = minutes[team_of == r].max()
        more = whole.copy()
        more[r] += unit
        gain = (_lp(value, team_of, minutes, more)[0] - optimum) / unit
        assert lam[r] == pytest.approx(gain, abs=1e-6 + 1e-6 * abs(gain)), r


def test_uncertified_prices_on_the_full_flow_path_are_blank(book, lp, monkeypatch):
    """When the flow does not run (its work does not fit) and the dual is cut short, the full-flow path shows no prices: blank in the table, null in JSON, ``price_source`` says why."""
    specs = lp[0]
    monkeypatch.setattr(flow_phases, "FLOW_ARCS_PER_SECOND", 1e-3)  # the flow never fits
    real = dual_phase.lagrangian_dual

    def short_dual(*args, **kwargs):
        return real(*args, **{**kwargs, "max_iterations": 1})

    monkeypatch.setattr(dual_phase, "lagrangian_dual", short_dual)
    result = _allocate(book, specs, time_limit=2.0)
    stats = result.stats
    assert "flow_arcs" not in stats and stats["lagrangian_iterations"] == 1
    assert stats["price_certificate_required"] and "prices" not in stats
    assert stats["price_gap"] > prices.PRICE_GAP_TOLERANCE
    assert stats["price_source"].startswith("none (lagrangian gap")
    assert np.isnan(result.utilisation["shadow_price_per_minute"].to_numpy(dtype=float)).all()
    document = json.loads(json.dumps(result.to_dict()))
    assert all(u["shadow_price_per_minute"] is None for u in document["utilisation"].values())
    assert math.isfinite(document["price_gap"])
