"""The allocation's per-minute team prices (``shadow_price_per_minute``) against the LP dual.

``workout allocate``'s ``value/min`` column reports, per team, the price of one minute of
its capacity from the allocation's dual. The oracle here is the allocation's LP relaxation
built by this file from the catalogue file and the team specs (SPEC §8: one option per
treatment, and per team of its type for a human treatment; values and eligibility from
``tests/oracles.py``, which never calls ``solver.allocation``), solved by
``scipy.optimize.linprog`` (HiGHS). The LP's duals are degenerate (many optimal dual
solutions), so the reported prices ``λ`` are not compared with HiGHS's entry by entry:

* the dual objective ``D(λ) = Σ_j max_o (v_oj − λ_r(o)·minutes_o) + Σ_r λ_r·capacity_r``
  (weak duality: ``D(λ) ≥`` the LP optimum for every ``λ ≥ 0``) is the LP optimum within
  :data:`DUAL_TOL` of it -- the prices are the Lagrangian ascent's, an ε-optimal dual
  (measured: within 1e-5 of the optimum on these books);
* complementary slackness in its ε-form, ``Σ_r λ_r·slack_r ≤ D(λ) − LP`` at the LP's
  optimum, so a price is positive only on a team the LP fills;
* per team, the price brackets what one more (or one less) call's worth of minutes is
  worth to the LP: ``(LP(cap + Δ) − LP − ε)/Δ ≤ λ_r ≤ (LP − LP(cap − Δ) + ε)/Δ`` with
  ``ε = D(λ) − LP`` (both follow from weak duality at the changed capacity);
* when no team is a bottleneck (the unconstrained best treatment of every account fits),
  the LP optimum is every account's best value and every price is 0: a team at 99.9 %
  use is no bottleneck when another team of its type can take its accounts at the same
  value (``make demo``'s book, where every price is 0).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from oracles import oracle_allowed, oracle_treatment_value, read_catalogue_file
from scipy import sparse
from scipy.optimize import linprog

from solver.allocation.catalogue import Catalogue
from solver.allocation.portfolio import allocate
from solver.allocation.teams import Teams
from solver.core.generate import generate_portfolio

#: Largest relative distance of the dual objective of the reported prices from the LP
#: optimum (the Lagrangian ascent stops near, not at, the optimal face).
DUAL_TOL = 1e-4
#: The table rounds prices to 4 decimals: each of them may be off by this much.
ROUNDING = 5e-5


@pytest.fixture(scope="module")
def book():
    return generate_portfolio(250, seed=3)


def _specs(book, minutes: dict[str, float], members: int = 1) -> list[dict]:
    """Teams of every type serving the whole book, and a second senior team serving three
    regions only (two teams of one type: the dual has ties to break)."""
    langs, regions = sorted(set(book["language"])), sorted(set(book["region"]))
    out = []
    for name, kind in [("agents", "agent"), ("seniors", "senior"), ("seniors-2", "senior"),
                       ("field", "field"), ("legal", "legal"), ("robot", "robot")]:  # fmt: skip
        out.append(
            {"name": name, "type": kind, "members": members, "minutes_per_period": minutes[name],
             "languages": langs, "regions": regions[:3] if name == "seniors-2" else regions}
        )  # fmt: skip
    return out


def _oracle_lp(book, specs):
    """The LP relaxation's pieces from the catalogue file and the specs (oracle values)."""
    raw = read_catalogue_file()
    rows = book.to_dict(orient="records")
    values, team_of, minutes = [], [], []
    for name, t in raw["treatments"].items():
        kind = t.get("team_type")
        teams = [(k, s) for k, s in enumerate(specs) if s["type"] == kind] if kind else [(-1, None)]
        for k, spec in teams:
            allowed = [oracle_allowed(raw, name, r, [spec] if spec else []) for r in rows]
            values.append(
                [oracle_treatment_value(raw, name, r) if ok else -math.inf
                 for r, ok in zip(rows, allowed, strict=True)]
            )  # fmt: skip
            team_of.append(k)
            minutes.append(float(t.get("handling_minutes", 0.0)) * int(t.get("actions", 0)))
    capacity = np.array([s["minutes_per_period"] for s in specs], dtype=float)
    return np.array(values), np.array(team_of), np.array(minutes), capacity


def _lp(value, team_of, minutes, capacity):
    """The LP optimum, HiGHS's capacity duals (per minute, ≥ 0) and the rows' slack."""
    o, j = np.nonzero(np.isfinite(value))
    cols = np.arange(o.size)
    one_each = sparse.csr_matrix((np.ones(o.size), (j, cols)), shape=(value.shape[1], o.size))
    human = team_of[o] >= 0
    use = sparse.csr_matrix(
        (minutes[o][human], (team_of[o][human], cols[human])), shape=(capacity.size, o.size)
    )
    res = linprog(-value[o, j], A_ub=use, b_ub=capacity, A_eq=one_each,
                  b_eq=np.ones(value.shape[1]), bounds=(0, 1), method="highs")  # fmt: skip
    assert res.status == 0, res.message
    return -res.fun, -res.ineqlin.marginals, res.ineqlin.residual


def _dual_objective(value, team_of, minutes, capacity, prices) -> float:
    """``D(λ)``: every account's best value net of its option's priced minutes, plus ``λ·cap``."""
    charge = np.where(team_of >= 0, prices[np.maximum(team_of, 0)] * minutes, 0.0)
    return float(np.max(value - charge[:, None], axis=0).sum() + prices @ capacity)


def _solve(book, specs, exact_max_pairs):
    catalogue = Catalogue.default()
    teams = Teams.from_mapping({"teams": specs}, compliance=catalogue.compliance)
    result = allocate(
        book, catalogue, teams, time_limit=10, workers=1, exact_max_pairs=exact_max_pairs
    )
    return result, result.utilisation["shadow_price_per_minute"].to_numpy(dtype=float)


TIGHT = {"agents": 600, "seniors": 400, "seniors-2": 300, "field": 900, "legal": 400,
         "robot": 4000}  # fmt: skip


def _check_dual(value, team_of, minutes, capacity, lam, *, extra: float = 0.0) -> float:
    """Assert that ``lam`` is an ε-optimal dual of the oracle LP with ``capacity`` (the s18
    checks: dual objective within ``DUAL_TOL`` (+ ``extra``) of the optimum, complementary
    slackness, each team's marginal value); returns ``ε``."""
    optimum, _, slack = _lp(value, team_of, minutes, capacity)
    dual = _dual_objective(value, team_of, minutes, capacity, lam)
    rounding = ROUNDING * (capacity.sum() + minutes.max() * value.shape[1])
    eps = dual - optimum
    assert -rounding - 1e-6 <= eps <= DUAL_TOL * optimum + extra
    assert lam @ slack <= eps + rounding + 1e-6  # positive prices only where the LP fills
    for r in range(capacity.size):
        step = minutes[team_of == r].max()
        more, less = capacity.copy(), capacity.copy()
        more[r] += step
        less[r] -= step
        gain = (optimum - _lp(value, team_of, minutes, less)[0]) / step
        loss_less = (_lp(value, team_of, minutes, more)[0] - optimum) / step
        slack_r = (max(eps, 0.0) + rounding) / step + 1e-9
        assert loss_less - slack_r <= lam[r] <= gain + slack_r, r
    return eps


@pytest.mark.parametrize("exact_max_pairs", [20_000, 0])  # CP-SAT path; flow/decomposition path
def test_team_prices_are_a_near_optimal_lp_dual(book, exact_max_pairs):
    """Where teams bind, the reported per-minute prices are an ε-optimal dual of the oracle's LP: dual objective, complementary slackness and each team's marginal value."""
    specs = _specs(book, TIGHT)
    value, team_of, minutes, capacity = _oracle_lp(book, specs)
    optimum, highs, slack = _lp(value, team_of, minutes, capacity)
    assert (highs > 1.0).sum() >= 3  # several teams clearly bind (the test can see a price)
    result, prices = _solve(book, specs, exact_max_pairs)
    assert result.objective <= optimum + 0.01  # the LP bounds the allocation
    assert np.all(prices >= 0)
    # the JSON summary (allocate --format json) carries the same prices, team by team
    document = json.loads(json.dumps(result.to_dict()))
    listed = [document["utilisation"][s["name"]]["shadow_price_per_minute"] for s in specs]
    assert listed == pytest.approx(prices.tolist(), abs=0)
    _check_dual(value, team_of, minutes, capacity, prices)


def test_team_prices_are_zero_when_no_team_is_a_bottleneck(book):
    """With capacity for every account's best treatment the LP optimum is the sum of the bests and every reported price is 0."""
    specs = _specs(book, {k: 80_000 for k in TIGHT}, members=20)  # 20 people, 4,000 min each
    value, team_of, minutes, capacity = _oracle_lp(book, specs)
    optimum, highs, _ = _lp(value, team_of, minutes, capacity)
    assert optimum == pytest.approx(np.max(value, axis=0).sum(), abs=1e-6)
    assert np.all(highs == 0)
    for exact_max_pairs in (20_000, 0):
        result, prices = _solve(book, specs, exact_max_pairs)
        assert result.objective == pytest.approx(optimum, abs=0.01)
        assert np.all(prices == 0)
