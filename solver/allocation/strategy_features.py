"""The features of a book that the strategy tree's rules are written in
(:mod:`solver.allocation.strategy`, ``workout allocate --explain-tree``): the feature
matrix (:func:`book_features`) and, for each column, how a split on it reads as text and
as SQL (:class:`Feature`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from solver.allocation.catalogue import Catalogue
from solver.allocation.compliance import flag_column, label_codes, text_column
from solver.allocation.plans_table import recommended_plans
from solver.core.account import OWED_COLUMNS, balance_owed
from solver.domain import BUCKETS, TIERS

__all__ = [
    "CATEGORY_COLUMNS",
    "FLAG_COLUMNS",
    "NUMBER_COLUMNS",
    "PLAN_FEATURE",
    "Feature",
    "book_features",
]

#: Numeric book columns used as features when present with no missing value.
NUMBER_COLUMNS = ("dpd", "arrears", "income", "remaining_term", "vehicle_value", "credit_score")
#: True/false book columns (protection flags and consent).
FLAG_COLUMNS = (
    "hardship",
    "cease_contact",
    "dispute",
    "bankruptcy",
    "has_plan",
    "consent_sms",
    "consent_email",
)
#: Text book columns, one true/false feature per value present.
CATEGORY_COLUMNS = ("product", "preferred_channel", "region", "language")
#: Name of the plan feature (``npv_vs_status_quo`` of a recommended plan, else 0).
PLAN_FEATURE = "plan_uplift"


@dataclass(frozen=True)
class Feature:
    """One column of the tree's feature matrix and how to write a split on it.

    ``kind`` is ``"ordinal"`` (codes of ``labels``: tier, dpd bucket), ``"number"`` (``sql``
    is the SQL expression of the value), ``"flag"`` (a true/false column, 0/1 in SQL) or
    ``"category"`` (1 when ``column`` equals ``value``).
    """

    name: str
    kind: str
    column: str
    sql: str
    labels: tuple[str, ...] = ()
    value: str = ""

    def side(
        self, threshold: float, left: bool, within: tuple[str, ...] | None = None
    ) -> tuple[str, ...]:
        """The labels of an ordinal feature on one side of a split (among ``within``)."""
        cut = int(math.floor(threshold)) + 1
        chosen = self.labels[:cut] if left else self.labels[cut:]
        return tuple(x for x in chosen if within is None or x in within)

    def condition(
        self, threshold: float, left: bool, within: tuple[str, ...] | None = None
    ) -> tuple[str, str]:
        """(text, SQL) of ``feature <= threshold`` (``left``) or of its negation; an ordinal
        split names only the labels still possible below its ancestors (``within``)."""
        if self.kind == "ordinal":
            chosen = self.side(threshold, left, within)
            names = ", ".join(chosen)
            quoted = ", ".join(f"'{x}'" for x in chosen)
            return f"{self.column} in ({names})", f"{self.column} IN ({quoted})"
        if self.kind == "flag":
            on = not left
            return (
                f"{self.column}" if on else f"not {self.column}",
                f"COALESCE({self.column}, 0) = {1 if on else 0}",
            )
        if self.kind == "category":
            op_text, op_sql = ("!=", "<>") if left else ("=", "=")
            value = self.value.replace("'", "''")
            return (
                f"{self.column} {op_text} {self.value!r}",
                f"COALESCE({self.column}, '') {op_sql} '{value}'",
            )
        number = _number_text(threshold)
        return (
            f"{self.name} {'<=' if left else '>'} {number}",
            f"{self.sql} {'<=' if left else '>'} {number}",
        )


def _number_text(value: float) -> str:
    """A threshold as written in the rules: an integer without ``.0``, else its repr."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def book_features(
    portfolio: Any, plans: Any | None = None, catalogue: Catalogue | None = None
) -> tuple[np.ndarray, list[Feature]]:
    """The feature matrix (n × F, float64) of a book and the meaning of each column.

    With ``plans`` (and the ``catalogue`` whose plan statuses are eligible), the uplift of
    each account's recommended plan is a feature (``plan_uplift``, to the cent).

    Numeric columns with a missing value are left out (a tree split on a missing value would
    not translate into the same SQL); text columns give one true/false feature per value.
    """
    cols: list[np.ndarray] = []
    feats: list[Feature] = []
    n = len(portfolio)
    for column, labels in (("tier", TIERS), ("dpd_bucket", BUCKETS)):
        codes = label_codes(portfolio[column], labels)
        cols.append(codes.astype(np.float64))
        feats.append(Feature(column, "ordinal", column, column, labels=tuple(labels)))
    cols.append(balance_owed(portfolio))
    feats.append(Feature("balance", "number", "balance", f"({' + '.join(OWED_COLUMNS)})"))
    for column in NUMBER_COLUMNS:
        if column not in portfolio.columns:
            continue
        values = portfolio[column].to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isnan(values).any():
            continue
        cols.append(values)
        feats.append(Feature(column, "number", column, column))
    for column in FLAG_COLUMNS:
        if column in portfolio.columns:
            cols.append(flag_column(portfolio, column).astype(np.float64))
            feats.append(Feature(column, "flag", column, column))
    for column in CATEGORY_COLUMNS:
        text = text_column(portfolio, column)
        for value in sorted(set(text.tolist()) - {""}):
            cols.append((text == value).astype(np.float64))
            feats.append(Feature(f"{column}={value}", "category", column, column, value=value))
    if plans is not None:
        uplift, _, _ = recommended_plans(portfolio, plans, catalogue or Catalogue.default())
        cols.append(np.round(uplift, 2))
        feats.append(Feature(PLAN_FEATURE, "number", PLAN_FEATURE, PLAN_FEATURE))
    matrix = np.column_stack(cols) if cols else np.zeros((n, 0))
    return matrix, feats
