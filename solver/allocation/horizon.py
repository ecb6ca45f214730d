"""Treatments over several weeks: a constrained MDP with a Lagrangian bound, run on a
rolling horizon (issue 17, item 3; ``workout allocate --weeks W``).

The one-week allocation (:mod:`solver.allocation.portfolio`) picks the treatment with the
best expected net collection *this* week. Over several weeks, what a treatment does to the
account's state matters too: an account that pays leaves the collection queue; one that
does not ages a bucket every 30 days (its payment chances fall and gentler treatments stop
being allowed) or defaults. With team minutes capped every week, a good plan spends them
where they change most over the horizon.

The model (states, transitions, values per week) is built by
:mod:`solver.allocation.horizon_model` (its docstring states it).

Optimisation
------------
Team minutes (and the budget) are capped every week. Relaxing the caps to hold *in
expectation* and pricing them (λ per team and week) splits the problem into one small
dynamic programme per account (backward over weeks). The dual value
``Σ_accounts V_1(λ) + Σ λ · capacity`` is an upper bound on the expected value of *every*
policy that respects the weekly caps (such a policy also respects them in expectation):
the stated bound. λ is improved by projected subgradient steps.

The plan is used on a rolling horizon: each week, the accounts still open are assigned by
the one-week assignment core (:func:`~solver.allocation.gap.solve.solve_assignment`, hard
capacities) with each option valued at its week's value plus the discounted continuation
``q·stream + P(open next week)·V_{w+1}`` from the priced programme. The *one-week policy*
is the same loop with the one-week objective (today's allocation, re-solved every week on
the book as it is), in the same unit: with plans, the plan offer adds ``q`` times the
plan's NPV uplift paid as the same level stream, counted over what is left of the horizon
(:func:`~solver.allocation.values.plan_offer_value`, as ``allocate`` does with its own
valuation horizon). Both are run by one simulation (:func:`simulate`) with common random
numbers, so their difference has a small standard error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from solver.allocation.catalogue import Catalogue
from solver.allocation.gap.problem import AssignmentProblem
from solver.allocation.gap.solve import solve_assignment
from solver.allocation.horizon_model import HorizonModel, build_horizon
from solver.allocation.teams import Teams
from solver.errors import InputError, TimeLimitError

__all__ = [
    "HorizonResult",
    "plan_horizon",
    "price_horizon",
    "simulate",
]


def _option_prices(hm: HorizonModel, lam: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """``W × K`` price of each option each week: team minutes and budget at the duals."""
    team_price = np.where(hm.row_of[None, :] >= 0, lam[:, np.maximum(hm.row_of, 0)], 0.0)
    return team_price * hm.minutes[None, :] + mu[:, None] * hm.action_cost[None, :]


def _backward(hm: HorizonModel, prices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The priced programme of every account: ``V`` ((W+1) × n, PV at week 1) and the
    chosen option per week (W × n)."""
    n, weeks = hm.n, hm.weeks
    v = np.zeros((weeks + 1, n))
    choice = np.zeros((weeks, n), dtype=np.int64)
    for w in range(weeks - 1, -1, -1):
        q = (
            hm.week_factor(w) * hm.value[w]
            - prices[w][:, None]
            + hm.exit[w]
            + hm.stay[w] * v[w + 1][None, :]
        )
        best = np.argmax(q, axis=0)
        choice[w] = best
        v[w] = q[best, np.arange(n)]
    return v, choice


def _expected_use(hm: HorizonModel, choice: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected team minutes (W × teams) and spend (W) of the programme's choices."""
    n, cols = hm.n, np.arange(hm.n)
    alive = np.ones(n)
    minutes = np.zeros((hm.weeks, hm.capacity.size))
    spend = np.zeros(hm.weeks)
    for w in range(hm.weeks):
        o = choice[w]
        rows = hm.row_of[o]
        has = rows >= 0
        minutes[w] = np.bincount(
            rows[has], weights=(alive * hm.minutes[o])[has], minlength=hm.capacity.size
        )
        spend[w] = float((alive * hm.action_cost[o]).sum())
        alive = alive * hm.stay[w][o, cols]
    return minutes, spend


@dataclass(frozen=True)
class Prices:
    """The priced programme: duals, the bound they prove and the continuation values."""

    team: np.ndarray  # W × teams, per minute, in PV at week 1
    budget: np.ndarray  # W
    bound: float
    v: np.ndarray  # (W+1) × n continuation values at these prices
    iterations: int


def price_horizon(hm: HorizonModel, *, iterations: int = 300) -> Prices:
    """Minimise the dual bound over the weekly prices; the best (lowest) bound found.

    Any prices give a valid bound. The steps are the one-week dual's
    (:func:`solver.allocation.gap.dual.lagrangian_dual`): deflected projected subgradient
    with a Polyak step towards a target 5 % below the best bound, halved after 15 steps
    without improvement.
    """
    weeks, n_teams = hm.weeks, hm.capacity.size
    cap = np.broadcast_to(hm.capacity, (weeks, n_teams))
    budget = hm.budget
    lam, mu = np.zeros((weeks, n_teams)), np.zeros(weeks)
    dir_lam, dir_mu = np.zeros_like(lam), np.zeros_like(mu)
    best: tuple[float, np.ndarray, np.ndarray, np.ndarray] | None = None
    alpha, stall, done = 1.0, 0, 0
    for step_number in range(1, iterations + 1):
        done = step_number
        v, choice = _backward(hm, _option_prices(hm, lam, mu))
        value = float(
            v[0].sum() + (lam * cap).sum() + (float(mu.sum()) * budget if budget else 0.0)
        )
        if best is None or value < best[0] - 1e-12 * max(1.0, abs(best[0])):
            best, stall = (value, lam.copy(), mu.copy(), v), 0
        else:
            stall += 1
            if stall >= 15:
                alpha, stall = alpha * 0.5, 0
        used, spend = _expected_use(hm, choice)
        sub_lam = np.where((lam <= 0) & (used < cap), 0.0, used - cap)
        sub_mu = (
            np.where((mu <= 0) & (spend < budget), 0.0, spend - budget)
            if budget is not None
            else np.zeros(weeks)
        )
        dir_lam, dir_mu = sub_lam + 0.3 * dir_lam, sub_mu + 0.3 * dir_mu
        norm = float((dir_lam * dir_lam).sum() + (dir_mu * dir_mu).sum())
        if norm <= 0.0 or alpha < 1e-4:
            break  # complementary slackness holds, or the steps vanished
        step = alpha * max(value - (best[0] - 0.05 * abs(best[0])), 1e-9) / norm
        lam = np.maximum(0.0, lam + step * dir_lam)
        mu = np.maximum(0.0, mu + step * dir_mu)
    assert best is not None
    bound, lam, mu, v = best
    return Prices(team=lam, budget=mu, bound=bound, v=v, iterations=done)


def _week_problem(
    hm: HorizonModel, w: int, open_: np.ndarray, v_next: np.ndarray | None
) -> tuple[AssignmentProblem, np.ndarray]:
    """Week ``w``'s assignment problem over the open accounts (minimisation) and the value
    (week-``w`` CNY) of each option: the week's value plus the discounted continuation
    when ``v_next`` (the priced programme's ``V_{w+1}``) is given; else the one-week
    objective (with a plan's whole uplift when plans are given)."""
    built = hm.weeks_built[w]
    if v_next is not None:
        cont = hm.exit[w][:, open_] + hm.stay[w][:, open_] * v_next[open_][None, :]
        value = hm.value[w][:, open_] + cont / hm.week_factor(w)
    else:
        value = (hm.value if hm.one_week is None else hm.one_week)[w][:, open_]
    problem = AssignmentProblem(
        cost=np.where(np.isfinite(value), -value, np.inf),
        weight=built.problem.weight,
        row_of=built.problem.row_of,
        capacity=built.problem.capacity,
        global_weight=built.problem.global_weight,
        global_capacity=built.problem.global_capacity,
    )
    return problem, value


def _assign(problem: AssignmentProblem, none_option: int, time_limit: float) -> np.ndarray:
    """The week's assignment (hard capacities) by the one-week core's decomposition path."""
    hint = np.full(problem.n_jobs, none_option, dtype=np.int64)
    result = solve_assignment(
        problem,
        hint=hint,
        time_limit=time_limit,
        workers=1,
        exact_max_pairs=0,
        lns=False,
        gap_tolerance=1e-4,
    )
    if not result.has_solution:
        raise TimeLimitError(f"a week's assignment found no solution in {time_limit:g}s")
    return result.assignment


@dataclass(frozen=True)
class Simulation:
    """Values of the two policies on each simulated path (PV at week 1, CNY) and the mean
    number of accounts per option and week under each."""

    multi_week: np.ndarray
    one_week: np.ndarray
    counts_multi: np.ndarray  # W × K
    counts_one: np.ndarray  # W × K
    first_multi: np.ndarray  # week-1 option per account (multi-week policy)
    first_one: np.ndarray

    def summary(self) -> dict[str, float]:
        """Means, standard errors and the paired difference."""
        diff = self.multi_week - self.one_week
        paths = diff.size

        def se(x: np.ndarray) -> float:
            return float(x.std(ddof=1) / math.sqrt(paths)) if paths > 1 else math.nan

        return {
            "paths": float(paths),
            "multi_week": round(float(self.multi_week.mean()), 2),
            "multi_week_se": round(se(self.multi_week), 2),
            "one_week": round(float(self.one_week.mean()), 2),
            "one_week_se": round(se(self.one_week), 2),
            "difference": round(float(diff.mean()), 2),
            "difference_se": round(se(diff), 2),
            "relative": float(diff.mean() / self.one_week.mean()) if self.one_week.mean() else 0.0,
        }


def simulate(
    hm: HorizonModel,
    prices: Prices,
    catalogue: Catalogue,
    *,
    paths: int,
    seed: int = 0,
    time_limit: float = 5.0,
) -> Simulation:
    """Run both policies over ``paths`` random futures with the same draws (see module)."""
    n, weeks = hm.n, hm.weeks
    options = hm.row_of.size
    none_option = hm.weeks_built[0].none_option
    results = {}
    # week 1 is the same on every path (every account is open): solve it once per policy
    all_open = np.ones(n, dtype=bool)
    first = {
        policy: _assign(
            _week_problem(hm, 0, all_open, prices.v[1] if policy == "multi" else None)[0],
            none_option,
            time_limit,
        )
        for policy in ("multi", "one")
    }
    for policy in ("multi", "one"):
        totals = np.zeros(paths)
        counts = np.zeros((weeks, options))
        for path in range(paths):
            rng = np.random.default_rng([seed, path])
            draws = rng.random((weeks, n))  # the same futures for both policies
            open_ = np.ones(n, dtype=bool)
            total = 0.0
            for w in range(weeks):
                idx = np.flatnonzero(open_)
                if idx.size == 0:
                    break
                if w == 0:
                    chosen = first[policy]
                else:
                    v_next = prices.v[w + 1] if policy == "multi" else None
                    problem, _ = _week_problem(hm, w, open_, v_next)
                    chosen = _assign(problem, none_option, time_limit)
                counts[w] += np.bincount(chosen, minlength=options)
                value = hm.value[w][chosen, idx]
                total += hm.week_factor(w) * float(value.sum())
                total += float(hm.exit[w][chosen, idx].sum())
                stays = hm.stay[w][chosen, idx]
                open_[idx] = draws[w, idx] < stays
            totals[path] = total
        results[policy] = (totals, counts / max(paths, 1))
    return Simulation(
        multi_week=results["multi"][0],
        one_week=results["one"][0],
        counts_multi=results["multi"][1],
        counts_one=results["one"][1],
        first_multi=first["multi"],
        first_one=first["one"],
    )


@dataclass(frozen=True, eq=False)
class HorizonResult:
    """Result of :func:`plan_horizon`: this week's assignment under the multi-week plan, the
    comparison with the one-week policy, the bound and the treatments expected each week."""

    assignments: Any
    comparison: dict[str, float]
    bound: float
    by_week: Any
    weeks: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "weeks": self.weeks,
            "comparison": dict(self.comparison),
            "bound": self.bound,
            "by_week": {
                str(k): {t: float(v) for t, v in row.items()}
                for k, row in self.by_week.set_index("week").to_dict(orient="index").items()
            },
        }


def plan_horizon(
    portfolio: Any,
    catalogue: Catalogue,
    teams: Teams,
    *,
    paths: int = 10,
    seed: int = 0,
    iterations: int = 300,
    time_limit: float = 5.0,
    **problem: Any,
) -> HorizonResult:
    """Plan treatments over ``problem["weeks"]`` weeks and compare with repeating the
    one-week policy; ``problem`` holds :func:`build_horizon`'s keywords (``weeks``,
    ``plans``, ``budget``, ``model``)."""
    import pandas as pd

    if paths < 2:
        raise InputError(f"--paths must be at least 2 (a standard error needs two), got {paths}")
    hm = build_horizon(portfolio, catalogue, teams, **problem)
    weeks = hm.weeks
    prices = price_horizon(hm, iterations=iterations)
    sim = simulate(hm, prices, catalogue, paths=paths, seed=seed, time_limit=time_limit)
    comparison = sim.summary()
    comparison["bound"] = round(prices.bound, 2)
    names = np.array(catalogue.names, dtype=object)
    team_names = np.array([*teams.names, ""], dtype=object)
    t_of = hm.weeks_built[0].option_treatment
    k_of = hm.row_of
    cols = np.arange(hm.n)
    _, value0 = _week_problem(hm, 0, np.ones(hm.n, dtype=bool), prices.v[1])
    first = sim.first_multi
    table = pd.DataFrame(
        {
            "account_id": portfolio["account_id"].astype(str).to_numpy(),
            "tier": portfolio["tier"].astype(str).to_numpy(),
            "dpd_bucket": portfolio["dpd_bucket"].astype(str).to_numpy(),
            "treatment": names[t_of[first]],
            "team": team_names[k_of[first]],
            "expected_value": np.round(hm.value[0][first, cols], 2),
            "horizon_value": np.round(value0[first, cols], 2),
            "one_week_treatment": names[t_of[sim.first_one]],
        }
    )
    by_t_multi = np.zeros((weeks, len(names)))
    for o in range(t_of.size):
        by_t_multi[:, t_of[o]] += sim.counts_multi[:, o]
    by_week = pd.DataFrame(np.round(by_t_multi, 1), columns=list(names))
    by_week.insert(0, "week", np.arange(1, weeks + 1))
    return HorizonResult(
        assignments=table,
        comparison=comparison,
        bound=round(prices.bound, 2),
        by_week=by_week,
        weeks=weeks,
    )
