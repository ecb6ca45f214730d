"""A strategy people can read: a shallow decision tree that imitates the optimal allocation.

``workout allocate --explain-tree DEPTH`` (issue 17, item 6). The optimiser's assignment is
the best one under the model, but a collection manager signs off rules ("tier D–E above
90 dpd: field visit"), not 2,000 rows. :func:`explain_allocation` fits a scikit-learn
``DecisionTreeClassifier`` of at most ``DEPTH`` levels to the optimal treatment of every
account, from features of the book (tier, dpd bucket, dpd, balance, arrears, income, term,
collateral, product, channel, region, language, consent and protection flags, and the plan
uplift when ``--plans`` is given: :mod:`solver.allocation.strategy_features`), and says how
good an imitation it is:

- **agreement**: the share of accounts whose tree treatment is the optimal one;
- **value**: the tree's treatments applied to the book and evaluated by the allocation's own
  objective (:func:`solver.allocation.portfolio.assignment_objective`), against the
  optimum. A tree's treatment that the rules forbid for an account (a protected flag, no
  consent, a tier the treatment is not for, …) is replaced by ``none`` — what a compliance
  filter in front of the rules does — and counted. Human treatments go to a team of the
  right type that may serve the account (the optimum's team when it chose the same
  treatment, else the team with the most minutes left). The tree knows nothing of
  capacity: team minutes and budget used by its treatments are reported against the
  capacities, with every overrun named, not hidden.

The rules are exported as text, JSON and an SQL ``CASE`` expression. Thresholds are the
roundest numbers that route the book's accounts exactly as the fitted tree does (a split
between balances 23,677.95 and 24,105.10 reads ``balance <= 24000``), so all three exports,
and the fidelity figures, describe the same rules; :func:`tree_predict` applies them.
Only scikit-learn's public API is used (``tree_`` arrays of the fitted estimator).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from solver.allocation.catalogue import Catalogue
from solver.allocation.portfolio import (
    AllocationProblem,
    AllocationResult,
    assignment_objective,
)
from solver.allocation.strategy_features import PLAN_FEATURE, Feature, book_features
from solver.allocation.teams import Teams
from solver.core.atomic import atomic_open
from solver.errors import InputError

__all__ = [
    "Split",
    "TreeExplanation",
    "explain_allocation",
    "explain_result",
    "tree_predict",
    "write_exports",
]

#: Depths accepted by ``--explain-tree`` (deeper trees stop being readable).
MAX_DEPTH = 8


@dataclass(frozen=True)
class Split:
    """A node of the readable tree: a split (``feature`` ≥ 0) or a leaf (``feature == -1``)."""

    feature: int
    threshold: float
    left: int
    right: int
    treatment: str
    accounts: int
    matched: int


@dataclass(frozen=True, eq=False)
class TreeExplanation:
    """The fitted rules, their exports and their fidelity to the optimal allocation.

    Attributes
    ----------
    nodes, features
        The tree (node 0 is the root) and the features its splits use.
    predicted
        The tree's treatment per account (book order).
    assignment
        The option (treatment × team) per account that evaluates it.
    agreement
        Share of accounts whose tree treatment is the optimal one.
    optimum_value, tree_value
        Objective of the optimal allocation and of the tree's (forbidden treatments turned
        into ``none``), by the same objective code.
    forbidden
        Accounts whose tree treatment the rules forbid (given ``none`` instead), by treatment.
    overruns
        Team minutes and budget beyond capacity of the tree's assignment: ``{name: amount}``
        (empty: the tree's assignment respects every capacity).
    usage
        Per team: minutes used by the tree's assignment and the capacity.
    """

    nodes: tuple[Split, ...]
    features: tuple[Feature, ...]
    predicted: np.ndarray
    assignment: np.ndarray
    depth: int
    agreement: float
    optimum_value: float
    tree_value: float
    forbidden: dict[str, int]
    overruns: dict[str, float]
    usage: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def value_lost(self) -> float:
        """Optimum minus the tree's value (CNY)."""
        return round(self.optimum_value - self.tree_value, 2)

    @property
    def value_share(self) -> float:
        """The tree's value as a share of the optimum's."""
        return self.tree_value / self.optimum_value if self.optimum_value else math.nan

    @property
    def respects_capacity(self) -> bool:
        """Whether the tree's assignment stays within every team capacity and the budget."""
        return not self.overruns

    def fidelity(self) -> dict[str, Any]:
        """JSON-ready fidelity figures."""
        return {
            "depth": self.depth,
            "leaves": sum(1 for n in self.nodes if n.feature < 0),
            "accounts": int(self.predicted.size),
            "agreement": self.agreement,
            "optimum_value": self.optimum_value,
            "tree_value": self.tree_value,
            "value_lost": self.value_lost,
            "value_share": self.value_share,
            "forbidden_replaced_by_none": dict(self.forbidden),
            "respects_capacity": self.respects_capacity,
            "overruns": dict(self.overruns),
            "team_minutes": {k: {"used": u, "capacity": c} for k, (u, c) in self.usage.items()},
        }

    # -- exports -------------------------------------------------------------------------

    def _condition(
        self, node: Split, left: bool, within: dict[int, tuple[str, ...]]
    ) -> tuple[str, str]:
        return self.features[node.feature].condition(node.threshold, left, within.get(node.feature))

    def _narrowed(
        self, node: Split, left: bool, within: dict[int, tuple[str, ...]]
    ) -> dict[int, tuple[str, ...]]:
        """``within`` below one side of ``node`` (ordinal labels still possible)."""
        feat = self.features[node.feature]
        if feat.kind != "ordinal":
            return within
        return {**within, node.feature: feat.side(node.threshold, left, within.get(node.feature))}

    def to_text(self) -> str:
        """The rules as indented if/else lines, each leaf with its accounts and agreement."""
        lines: list[str] = []

        def walk(i: int, indent: str, within: dict[int, tuple[str, ...]]) -> None:
            node = self.nodes[i]
            if node.feature < 0:
                share = node.matched / node.accounts if node.accounts else 0.0
                lines.append(
                    f"{indent}→ {node.treatment}   ({node.accounts:,} accounts, "
                    f"{share:.1%} as the optimum)"
                )
                return
            for child, left in ((node.left, True), (node.right, False)):
                lines.append(f"{indent}if {self._condition(node, left, within)[0]}:")
                walk(child, indent + "    ", self._narrowed(node, left, within))

        walk(0, "", {})
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        """The rules as nested ``{"if": …, "then": …, "else": …}`` / leaf objects."""

        def walk(i: int, within: dict[int, tuple[str, ...]]) -> dict[str, Any]:
            node = self.nodes[i]
            if node.feature < 0:
                return {
                    "treatment": node.treatment,
                    "accounts": node.accounts,
                    "as_optimum": node.matched,
                }
            feat = self.features[node.feature]
            text, sql = self._condition(node, True, within)
            return {
                "if": {
                    "feature": feat.name,
                    "column": feat.column,
                    "kind": feat.kind,
                    "le": node.threshold,
                    "text": text,
                    "sql": sql,
                },
                "then": walk(node.left, self._narrowed(node, True, within)),
                "else": walk(node.right, self._narrowed(node, False, within)),
            }

        return {"fidelity": self.fidelity(), "tree": walk(0, {})}

    def to_sql_case(self) -> str:
        """The rules as one SQL ``CASE`` expression (nested, one ``WHEN`` per split)."""

        def walk(i: int, indent: str, within: dict[int, tuple[str, ...]]) -> str:
            node = self.nodes[i]
            if node.feature < 0:
                return f"'{node.treatment}'"
            inner = indent + "  "
            then = walk(node.left, inner + "  ", self._narrowed(node, True, within))
            other = walk(node.right, inner + "  ", self._narrowed(node, False, within))
            return (
                f"CASE WHEN {self._condition(node, True, within)[1]}\n"
                f"{inner}THEN {then}\n"
                f"{inner}ELSE {other}\n"
                f"{indent}END"
            )

        return walk(0, "", {})

    def to_sql(self, table: str = "book") -> str:
        """A ``SELECT account_id, <CASE> AS treatment FROM table`` statement with a header."""
        uses_plan = any(
            n.feature >= 0 and self.features[n.feature].name == PLAN_FEATURE for n in self.nodes
        )
        notes = [
            "-- Treatment rules fitted to the optimal allocation (workout allocate --explain-tree).",
            f"-- Depth {self.depth}; agreement with the optimum {self.agreement:.1%}; "
            f"value {self.tree_value:,.2f} vs optimum {self.optimum_value:,.2f}.",
            f"-- `{table}`: the book's columns (SPEC §3 names); flags stored as 0/1.",
        ]
        if uses_plan:
            notes.append(
                f"-- `{PLAN_FEATURE}`: npv_vs_status_quo of the account's RECOMMENDED plan "
                "(plan-portfolio output), 0 when it has none."
            )
        body = self.to_sql_case().replace("\n", "\n       ")
        return (
            "\n".join(notes) + f"\nSELECT account_id,\n       {body} AS treatment\nFROM {table};\n"
        )


def _round_threshold(lo: float, hi: float) -> float:
    """The roundest number ``t`` with ``lo <= t < hi`` (``lo < hi``)."""
    span = hi - lo
    exponent = math.floor(math.log10(span)) if span > 0 else -2
    for k in range(exponent, -7, -1):
        step = 10.0**k
        t = math.ceil(lo / step) * step
        t = round(t, max(0, -k))
        if lo <= t < hi:
            return t
    return lo


def _readable_nodes(
    estimator: Any, x: np.ndarray, classes: Sequence[str], optimal: np.ndarray
) -> list[Split]:
    """The fitted tree as :class:`Split` nodes with round thresholds (same routing on ``x``)."""
    tree = estimator.tree_
    left, right = tree.children_left, tree.children_right
    nodes: list[Split | None] = [None] * tree.node_count
    stack = [(0, np.arange(x.shape[0]))]
    while stack:
        i, rows = stack.pop()
        counts = tree.value[i].ravel()
        label = str(classes[int(np.argmax(counts))])
        if left[i] < 0:
            nodes[i] = Split(
                -1, math.nan, -1, -1, label, int(rows.size), int((optimal[rows] == label).sum())
            )
            continue
        f = int(tree.feature[i])
        values = x[rows, f]
        # the fitted tree routes with float32 features; route the book in float64 with a round
        # threshold between the largest value that goes left and the smallest that goes right
        go_left = values.astype(np.float32) <= tree.threshold[i]
        lo = values[go_left].max() if go_left.any() else -math.inf
        hi = values[~go_left].min() if (~go_left).any() else math.inf
        if math.isfinite(lo) and math.isfinite(hi) and lo < hi:
            threshold = _round_threshold(float(lo), float(hi))
        else:
            threshold = float(tree.threshold[i])
        go_left = values <= threshold
        nodes[i] = Split(f, threshold, int(left[i]), int(right[i]), label, int(rows.size), 0)
        stack.append((int(left[i]), rows[go_left]))
        stack.append((int(right[i]), rows[~go_left]))
    return [n for n in nodes if n is not None]


def tree_predict(nodes: Sequence[Split], x: np.ndarray) -> np.ndarray:
    """The treatment the rules give each row of ``x`` (float64 features)."""
    out = np.empty(x.shape[0], dtype=object)
    stack = [(0, np.arange(x.shape[0]))]
    while stack:
        i, rows = stack.pop()
        node = nodes[i]
        if node.feature < 0:
            out[rows] = node.treatment
            continue
        go_left = x[rows, node.feature] <= node.threshold
        stack.append((node.left, rows[go_left]))
        stack.append((node.right, rows[~go_left]))
    return out


def explain_allocation(
    portfolio: Any,
    catalogue: Catalogue,
    teams: Teams,
    built: AllocationProblem,
    assignment: np.ndarray,
    depth: int,
    *,
    plans: Any | None = None,
    seed: int = 0,
) -> TreeExplanation:
    """Fit a tree of at most ``depth`` levels to the optimal ``assignment`` and measure it.

    ``built`` is the allocation problem the assignment solves
    (:func:`solver.allocation.portfolio.build_allocation_problem` with the same plans and
    budget), ``assignment`` its option per account (``AllocationResult.core.assignment``).
    """
    from sklearn.tree import DecisionTreeClassifier  # ≈ 0.5 s: only when asked (cli start-up)

    if not 1 <= depth <= MAX_DEPTH:
        raise InputError(f"--explain-tree: depth must be 1 to {MAX_DEPTH}, got {depth}")
    if len(portfolio) == 0:
        raise InputError("--explain-tree: the portfolio has no account")
    names = np.array(catalogue.names, dtype=object)
    optimal = names[built.option_treatment[assignment]]
    x, features = book_features(portfolio, plans, catalogue)
    estimator = DecisionTreeClassifier(max_depth=depth, random_state=seed)
    estimator.fit(x, optimal)
    nodes = _readable_nodes(estimator, x, [str(c) for c in estimator.classes_], optimal)
    predicted = tree_predict(nodes, x)
    tree_assignment, forbidden = _tree_assignment(built, catalogue, teams, predicted, assignment)
    overruns, usage = _overruns(built, teams, tree_assignment)
    return TreeExplanation(
        nodes=tuple(nodes),
        features=tuple(features),
        predicted=predicted,
        assignment=tree_assignment,
        depth=depth,
        agreement=float((predicted == optimal).mean()),
        optimum_value=assignment_objective(built, catalogue, assignment),
        tree_value=assignment_objective(built, catalogue, tree_assignment),
        forbidden=forbidden,
        overruns=overruns,
        usage=usage,
    )


def _tree_assignment(
    built: AllocationProblem,
    catalogue: Catalogue,
    teams: Teams,
    predicted: np.ndarray,
    optimal: np.ndarray,
) -> tuple[np.ndarray, dict[str, int]]:
    """An option per account for the tree's treatments, and the forbidden ones by treatment.

    Forbidden treatments become ``none``; a human treatment keeps the optimum's team when
    the optimum chose the same treatment, else goes to the allowed team of its type with
    the most minutes left (accounts in descending value), which may overrun it.
    """
    n = predicted.size
    cols = np.arange(n)
    t_index = {name: i for i, name in enumerate(catalogue.names)}
    want = np.array([t_index[str(p)] for p in predicted], dtype=np.int64)
    opt_t, opt_k = built.option_treatment, built.option_team
    none_option = built.none_option
    out = np.full(n, none_option, dtype=np.int64)
    same = opt_t[optimal] == want
    out[same] = optimal[same]
    allowed = np.isfinite(built.value)
    remaining = teams.capacity() - built.problem.row_usage(np.where(same, optimal, none_option))
    forbidden: dict[str, int] = {}
    minutes = built.problem.weight[:, 0] if built.problem.weight.shape[1] == 1 else None
    todo = np.flatnonzero(~same)
    todo = todo[np.argsort(-built.treatment_value[want[todo], todo], kind="stable")]
    for j in todo.tolist():
        options = np.flatnonzero((opt_t == want[j]) & allowed[:, j])
        if options.size == 0:
            name = str(predicted[j])
            forbidden[name] = forbidden.get(name, 0) + 1
            continue
        teams_of = opt_k[options]
        if teams_of[0] < 0:  # an automated treatment: one option, no team
            out[j] = options[0]
            continue
        pick = options[int(np.argmax(remaining[teams_of]))]
        out[j] = pick
        use = minutes[pick] if minutes is not None else built.problem.weight[pick, j]
        remaining[opt_k[pick]] -= use
    assert np.isfinite(built.value[out, cols]).all()
    return out, forbidden


def _overruns(
    built: AllocationProblem, teams: Teams, assignment: np.ndarray
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Team minutes and budget beyond capacity (``{name: excess}``) and team usage."""
    problem = built.problem
    used = problem.row_usage(assignment)
    capacity = problem.capacity
    overruns: dict[str, float] = {}
    usage: dict[str, tuple[float, float]] = {}
    for k, name in enumerate(teams.names):
        usage[name] = (round(float(used[k]), 1), round(float(capacity[k]), 1))
        if used[k] > capacity[k] + 1e-6:
            overruns[f"team {name} (minutes)"] = round(float(used[k] - capacity[k]), 1)
    if problem.global_capacity.size:
        spent = problem.global_usage(assignment)
        for g in range(problem.global_capacity.size):
            if spent[g] > problem.global_capacity[g] + 1e-6:
                overruns["budget"] = round(float(spent[g] - problem.global_capacity[g]), 2)
    return overruns, usage


#: The files ``--explain-tree-out PREFIX`` writes: PREFIX plus each of these.
EXPORT_SUFFIXES = (".txt", ".json", ".sql")


def export_paths(prefix: str) -> list[str]:
    """The files :func:`write_exports` writes for ``prefix``."""
    return [f"{prefix}{suffix}" for suffix in EXPORT_SUFFIXES]


def write_exports(explanation: TreeExplanation, prefix: str) -> list[str]:
    """Write ``prefix``.txt, .json and .sql atomically; returns the paths written."""
    paths = []
    texts = (
        explanation.to_text(),
        json.dumps(explanation.to_json(), indent=2, ensure_ascii=False) + "\n",
        explanation.to_sql(),
    )
    for path, text in zip(export_paths(prefix), texts, strict=True):
        with atomic_open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        paths.append(path)
    return paths


def explain_result(
    portfolio: Any,
    catalogue: Catalogue,
    teams: Teams,
    result: AllocationResult,
    depth: int,
    *,
    plans: Any | None = None,
) -> TreeExplanation:
    """:func:`explain_allocation` of an :func:`~solver.allocation.portfolio.allocate` result
    solved with ``keep_problem=True`` (its own problem, not a rebuilt one); ``plans``: the
    plans it was solved with (the ``plan_uplift`` feature)."""
    if result.core is None or result.problem is None:
        raise ValueError("explain_result needs a result of allocate(..., keep_problem=True)")
    return explain_allocation(
        portfolio, catalogue, teams, result.problem, result.core.assignment, depth, plans=plans
    )
