"""The allocation's result: its per-account table, team utilisation, totals and certificate.

:func:`allocation_result` turns the assignment the core returned
(:func:`solver.allocation.portfolio.allocate`) into an :class:`AllocationResult`: one row per
account (:data:`ASSIGNMENT_COLUMNS`, with the next best treatment and the ``reason`` of
:mod:`solver.allocation.reasons`), the teams' utilisation with shadow prices, the totals by
treatment and tier, and the objective, bound and gap in whole cents.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

from solver.allocation.build import AllocationProblem
from solver.allocation.bulk import text_labels, text_of
from solver.allocation.catalogue import Catalogue
from solver.allocation.gap.problem import AssignmentResult
from solver.allocation.reasons import reason_column
from solver.allocation.teams import Teams
from solver.core.result import Certificate, certified_gap
from solver.domain import TIERS

__all__ = ["ASSIGNMENT_COLUMNS", "AllocationResult", "allocation_result", "assignment_objective"]

#: Output columns of the per-account table.
ASSIGNMENT_COLUMNS = (
    "account_id",
    "tier",
    "dpd_bucket",
    "treatment",
    "team",
    "expected_collected",
    "cost",
    "expected_value",
    "uplift_vs_none",
    "next_best_treatment",
    "next_best_value",
    "reason",
)


@dataclass(frozen=True, eq=False)
class AllocationResult(Certificate):
    """Result of :func:`~solver.allocation.portfolio.allocate`: the table, utilisation, totals
    and the certificate (:class:`~solver.core.result.Certificate`, given by keyword:
    maximisation, ``bound ≥ objective``; ``stats`` the core's diagnostics).

    Attributes
    ----------
    assignments
        One row per account (:data:`ASSIGNMENT_COLUMNS`).
    utilisation
        One row per team: capacity, used minutes, share, accounts, shadow price per minute.
    by_treatment
        Per treatment: accounts, expected collected, cost, net, and counts by tier.
    totals
        Expected collected, cost, net, budget and budget used.
    core
        The assignment core's own result (minimisation, in its units).
    problem
        The allocation problem solved (kept on request: it is large).
    """

    assignments: Any
    utilisation: Any
    by_treatment: Any
    totals: Mapping[str, float | None]
    core: AssignmentResult | None = None
    problem: AllocationProblem | None = field(default=None, repr=False)

    def summary(self) -> str:
        """Short text: totals and certificate."""
        t = self.totals
        return (
            f"expected collected {t['expected_collected']:,.2f}, cost {t['cost']:,.2f}, "
            f"net {t['net']:,.2f} | objective {self.objective:,.2f}, bound {self.bound:,.2f}, "
            f"gap {self.gap:.4%}, status {self.status.name}, {self.runtime:.2f}s ({self.method})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (keys objective, bound, gap, status, runtime_s, by_treatment,
        utilisation with each team's ``shadow_price_per_minute``)."""
        by_t = {}
        for row in self.by_treatment.to_dict(orient="records"):
            name = row.pop("treatment")
            by_t[name] = {
                k: (
                    int(v)
                    if isinstance(v, np.integer | int) and not isinstance(v, bool)
                    else float(v)
                )
                for k, v in row.items()
            }
        util = {}
        for row in self.utilisation.to_dict(orient="records"):
            util[row["team"]] = {
                "type": row["type"],
                "capacity_minutes": float(row["capacity_minutes"]),
                "used_minutes": float(row["used_minutes"]),
                "utilisation": float(row["utilisation"]),
                "accounts": int(row["accounts"]),
                # value of one more minute (the dual price); null where no price was
                # computed (the text table's blank)
                "shadow_price_per_minute": _price_or_none(row["shadow_price_per_minute"]),
            }
        return {
            **self.certificate(),
            # phases the wall clock stopped before their work budget ("" = reproducible run)
            "wall_clock_stop": str(self.stats.get("wall_clock_stop", "")),
            # a rerun at the same limit returns this allocation (solver.allocation.gap.budget)
            "reproducible": bool(self.stats.get("reproducible", False)),
            "work_share": float(self.stats.get("work", {}).get("share_of_limit", 0.0)),
            # how the utilisation's shadow prices were obtained, and their certified relative
            # distance from the LP optimum (null: not certified; gap/prices.py)
            "price_source": str(self.stats.get("price_source", "none computed")),
            "price_gap": _price_or_none(self.stats.get("price_gap", math.nan)),
            "totals": {k: float(v) if v is not None else None for k, v in self.totals.items()},
            "by_treatment": by_t,
            "utilisation": util,
        }


def _price_or_none(price: float) -> float | None:
    """A team's per-minute price (or the prices' gap) for JSON: ``None`` (null) for NaN or
    infinity, which JSON cannot hold."""
    return float(price) if math.isfinite(price) else None


def allocation_result(
    portfolio: Any,
    catalogue: Catalogue,
    teams: Teams,
    built: AllocationProblem,
    result: AssignmentResult,
    *,
    budget: float | None,
    keep_problem: bool,
) -> AllocationResult:
    """The :class:`AllocationResult` of the core's ``result`` on ``built`` (the objective a
    sum of cents; the bound the core's, at least the objective)."""
    chosen = _Chosen.of(built, catalogue, result.assignment)
    table = _assignment_table(portfolio, catalogue, teams, built, result, chosen)
    objective = int(chosen.value_cents.sum()) / 100.0
    bound = -result.bound if math.isfinite(result.bound) else math.inf
    bound = max(bound, objective)
    gap = certified_gap(objective, bound, result.status)
    return AllocationResult(
        assignments=table,
        utilisation=_utilisation(teams, built, result, chosen),
        by_treatment=_by_treatment(table, catalogue),
        totals=_totals(chosen, objective, budget),
        objective=objective,
        bound=round(bound, 2),
        gap=gap,
        status=result.status,
        runtime=result.runtime,
        method=result.method,
        core=result,
        stats=dict(result.stats),
        problem=built if keep_problem else None,
    )


@dataclass(frozen=True, eq=False)
class _Chosen:
    """The chosen option of every account: its treatment and team (``-1``: none), expected
    collected amount, cost, value in cents and uplift over no action."""

    treatment: np.ndarray
    team: np.ndarray
    collected: np.ndarray
    cost: np.ndarray
    value_cents: np.ndarray
    uplift: np.ndarray

    @classmethod
    def of(cls, built: AllocationProblem, catalogue: Catalogue, assignment: np.ndarray) -> _Chosen:
        """The chosen options of ``assignment`` (an option per account)."""
        cols = np.arange(assignment.size)
        none_t = catalogue.none_index
        return cls(
            treatment=built.option_treatment[assignment],
            team=built.option_team[assignment],
            collected=built.collected[assignment, cols],
            cost=built.cost[assignment, cols],
            value_cents=np.round(built.value[assignment, cols] * 100).astype(np.int64),
            uplift=np.round(built.value[assignment, cols] - built.unconstrained_value[none_t], 2),
        )


def assignment_objective(
    built: AllocationProblem, catalogue: Catalogue, assignment: np.ndarray
) -> float:
    """The objective of any option-per-account ``assignment`` of ``built`` (CNY), computed
    as :func:`~solver.allocation.portfolio.allocate` computes its own (a sum of cents);
    capacities are not checked."""
    return int(_Chosen.of(built, catalogue, assignment).value_cents.sum()) / 100.0


def _assignment_table(
    portfolio: Any,
    catalogue: Catalogue,
    teams: Teams,
    built: AllocationProblem,
    result: AssignmentResult,
    chosen: _Chosen,
) -> pd.DataFrame:
    """One row per account (:data:`ASSIGNMENT_COLUMNS`)."""
    import pandas as pd

    t_of = chosen.treatment
    cols = np.arange(t_of.size)
    names = np.array(catalogue.names, dtype=object)
    team_names = np.array([*teams.names, ""], dtype=object)
    # Next best: the best allowed treatment other than the assigned one (capacity ignored).
    alt = built.treatment_value.copy()
    alt[t_of, cols] = -np.inf
    nb = alt.argmax(axis=0)
    nb_value = alt[nb, cols]
    has_nb = np.isfinite(nb_value)
    reasons = reason_column(portfolio, catalogue, built, t_of)
    return pd.DataFrame(
        {
            "account_id": text_of(portfolio["account_id"]),
            "tier": text_of(portfolio["tier"]),
            "dpd_bucket": text_of(portfolio["dpd_bucket"]),
            "treatment": text_labels(names, t_of),
            "team": text_labels(team_names, chosen.team),
            "expected_collected": np.round(chosen.collected, 2),
            "cost": np.round(chosen.cost, 2),
            "expected_value": chosen.value_cents / 100.0,
            "uplift_vs_none": chosen.uplift,
            "next_best_treatment": text_labels(
                np.append(names, ""), np.where(has_nb, nb, names.size)
            ),
            "next_best_value": np.where(has_nb, nb_value, np.nan),
            "reason": reasons,
        }
    )


def _utilisation(
    teams: Teams, built: AllocationProblem, result: AssignmentResult, chosen: _Chosen
) -> pd.DataFrame:
    """Team utilisation with shadow prices (value of one more minute, from the dual).

    The price of a team is its capacity row's price in the assignment core's Lagrangian dual
    (``stats["prices"]``, CNY per minute; on the full-flow and core-flow paths the flow's
    node prices per minute, when certified; ``stats["price_source"]`` says which): an ε-optimal dual of the allocation's LP
    relaxation, so one more minute of the team is worth about that much to the LP;
    ``stats["price_gap"]`` is the certified bound on ε relative to the objective
    (:mod:`solver.allocation.gap.prices`). It is 0 when the team is not a bottleneck --
    when the best treatment of every account fits (``make demo``'s book: a team at 99.9 %
    use whose accounts another team of its type can take at the same value), and on any
    team the LP leaves slack. ``tests/test_s18_shadow_prices.py`` checks the prices against
    the LP solved by HiGHS (dual objective, complementary slackness, marginal values). A
    path that returns without a dual phase leaves the column empty (NaN), never 0, and so
    does the core-first path of large books when its prices' certificate fails
    (``tests/test_s19_prices.py``).
    """
    import pandas as pd

    k_of = chosen.team
    minutes = built.problem.weight[result.assignment, 0]
    used = np.bincount(
        np.where(k_of >= 0, k_of, len(teams.teams)), weights=minutes, minlength=len(teams.teams) + 1
    )[:-1]
    count = np.bincount(
        np.where(k_of >= 0, k_of, len(teams.teams)), minlength=len(teams.teams) + 1
    )[:-1]
    capacity = teams.capacity()
    prices = result.stats.get("prices")
    return pd.DataFrame(
        {
            "team": list(teams.names),
            "type": [t.type for t in teams.teams],
            "capacity_minutes": np.round(capacity, 1),
            "used_minutes": np.round(used, 1),
            "utilisation": np.where(capacity > 0, used / np.maximum(capacity, 1e-12), 0.0),
            "accounts": count,
            "shadow_price_per_minute": np.round(prices, 4) if prices is not None else np.nan,
        }
    )


def _totals(chosen: _Chosen, objective: float, budget: float | None) -> dict[str, float | None]:
    """Expected collected, cost, net, uplift, budget and budget used (CNY, cents)."""
    total_cost = round(float(np.round(chosen.cost, 2).sum()), 2)
    return {
        "accounts": float(chosen.treatment.size),
        "expected_collected": round(float(np.round(chosen.collected, 2).sum()), 2),
        "cost": round(total_cost, 2),
        "net": objective,
        "uplift_vs_none": round(float(chosen.uplift.sum()), 2),
        "budget": float(budget) if budget is not None else None,
        "budget_used": total_cost,
    }


def _by_treatment(table: Any, catalogue: Catalogue) -> Any:
    import pandas as pd

    grouped = table.groupby("treatment", sort=False).agg(
        accounts=("account_id", "size"),
        expected_collected=("expected_collected", "sum"),
        cost=("cost", "sum"),
        net=("expected_value", "sum"),
    )
    tiers = pd.crosstab(table["treatment"], table["tier"]).reindex(
        columns=list(TIERS), fill_value=0
    )
    out = grouped.join(tiers, how="left").reindex(list(catalogue.names)).fillna(0)
    out["accounts"] = out["accounts"].astype(np.int64)
    for t in TIERS:
        out[t] = out[t].astype(np.int64)
    for c in ("expected_collected", "cost", "net"):
        out[c] = out[c].round(2)
    return out.reset_index().rename(columns={"index": "treatment"})
