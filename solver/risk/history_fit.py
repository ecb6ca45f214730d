"""Early warning on any book's payment history (issue 18): fit and score ``history-v1``.

:func:`fit_history` fits :func:`solver.risk.early_warning.fit_early_warning` on
:func:`solver.risk.history_features.history_sample` (default within ``horizon`` months of
an observation month), with a logistic regression on the same features as the baseline
in the same run. :func:`fit_uci_history` does the same for the UCI file through its
history adapter (:func:`solver.risk.uci.uci_history`), whose outcome is UCI's flag; that
event is a delinquency transition ("late next month"), recorded as such in the model so
that no behaviour model is calibrated from it. :func:`score_history` scores the accounts
open at a history's last month.

Tier hazards in the model are monthly: an observed ``horizon``-month default rate ``r``
of a tier is converted to ``1 - (1 - r)^(1/horizon)`` (constant hazard over the horizon).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Generator
from pathlib import Path
from typing import Any, cast

import pandas as pd

from solver.core.sources import BookSource
from solver.core.table_header import read_header
from solver.errors import InputError
from solver.risk._tables import TableSource, read_table, source_label
from solver.risk.early_warning import (
    EarlyWarningModel,
    fit_early_warning,
    fit_uci_table,
    outcome_problem,
    score_accounts,
)
from solver.risk.early_warning_fit import EarlyWarningFit, EarlyWarningParams
from solver.risk.history import (
    DefaultDefinition,
    is_history_table,
    validate_history,
)
from solver.risk.history_features import (
    DEFAULT_HORIZON,
    DEFAULT_WINDOW,
    FEATURE_SET,
    history_features,
    history_sample,
)
from solver.risk.layouts import closest_layout
from solver.risk.uci import TARGET, is_uci_table, normalise_uci, read_uci, uci_history

__all__ = [
    "EVENT_DEFAULT",
    "EVENT_DELINQUENCY",
    "fit_history",
    "fit_table",
    "fit_uci_history",
    "layout_of",
    "read_history_or_uci",
    "read_layout",
    "score_history",
    "table_layout",
]

EVENT_DEFAULT = "default"
EVENT_DELINQUENCY = "delinquency"


def _with_history_info(
    fit: EarlyWarningFit, window: int, horizon: int, event: str, definition: str
) -> EarlyWarningFit:
    """The fit with the history protocol recorded and monthly tier hazards."""
    info = {
        **fit.model.fit_info,
        "window": window,
        "horizon": horizon,
        "event": event,
        "default_definition": definition,
    }
    hazard = {t: 1.0 - (1.0 - r) ** (1.0 / horizon) for t, r in fit.model.tier_hazard.items()}
    model = dataclasses.replace(fit.model, fit_info=info, tier_hazard=hazard)
    return dataclasses.replace(fit, model=model)


def fit_history(
    history: pd.DataFrame,
    params: EarlyWarningParams | None = None,
    *,
    window: int = DEFAULT_WINDOW,
    horizon: int = DEFAULT_HORIZON,
    definition: DefaultDefinition | None = None,
    source: str = "<history>",
) -> EarlyWarningFit:
    """Fit the early-warning score on a validated history (logistic baseline, same run)."""
    definition = definition or DefaultDefinition()
    params = params or EarlyWarningParams()
    sample = history_sample(history, window=window, horizon=horizon, definition=definition)
    assert sample.outcome is not None
    problem = outcome_problem(sample.outcome, params.test_size)
    if problem is not None:
        raise InputError(
            f"{source}: default ({definition.describe()}) within {horizon} months of "
            f"{len(sample.outcome):,} accounts at risk: {problem}"
        )
    fit = fit_early_warning(
        sample.features,
        sample.outcome,
        params,
        baseline_features=sample.features,
        feature_set=FEATURE_SET,
        target=f"default within {horizon} months ({definition.describe()})",
        baseline_kind="logistic",
    )
    return _with_history_info(fit, window, horizon, EVENT_DEFAULT, definition.describe())


def fit_uci_history(path: TableSource, params: EarlyWarningParams | None = None) -> EarlyWarningFit:
    """Fit ``history-v1`` on the UCI file through its history adapter (outcome: UCI's flag)."""
    return _fit_uci_history_table(read_uci(path), source_label(path), params)


def _fit_uci_history_table(
    uci: pd.DataFrame, source: str, params: EarlyWarningParams | None
) -> EarlyWarningFit:
    """:func:`fit_uci_history` on a UCI table already read and normalised."""
    if TARGET not in uci.columns:
        raise InputError(f"{source}: no default flag column (Y) to fit on")
    history = validate_history(uci_history(uci), source=source)
    window = int(history["month_index"].nunique())  # all six months
    ids, features = history_features(history, window=window)
    outcome = uci.set_index("account_id").loc[ids, TARGET].to_numpy()
    fit = fit_early_warning(
        features,
        outcome,
        params,
        baseline_features=features,
        feature_set=FEATURE_SET,
        target="late next month (UCI Y: a delinquency transition, not default)",
        baseline_kind="logistic",
    )
    return _with_history_info(fit, window, 1, EVENT_DELINQUENCY, "UCI: late next month")


def fit_table(
    path: TableSource,
    params: EarlyWarningParams | None = None,
    *,
    layout: str = "auto",
    window: int = DEFAULT_WINDOW,
    horizon: int = DEFAULT_HORIZON,
    definition: DefaultDefinition | None = None,
) -> EarlyWarningFit:
    """The early-warning fit of a table in its layout (``workout risk fit --layout``), read
    once (:func:`read_layout`).

    ``auto``: a payment history is fitted on ``history-v1`` (:func:`fit_history`), a UCI
    file on its own features (:func:`~solver.risk.early_warning.fit_uci`); ``history``: a
    UCI file through its history adapter (:func:`fit_uci_history`); ``uci``: the table as
    a UCI file. A table of neither layout gets the UCI file's missing-columns error.
    """
    frame, kind = read_layout(path)
    source = source_label(path)
    if kind == "unknown" and closest_layout(frame.columns, ("uci", "history")) == "history":
        validate_history(frame, source=source)  # names the history's missing columns
    if kind == "history" and layout != "uci":
        return fit_history(
            validate_history(frame, source=source),
            params,
            window=window,
            horizon=horizon,
            definition=definition,
            source=source,
        )
    uci = normalise_uci(frame, source)  # the UCI error when it is not one
    if layout == "history":
        return _fit_uci_history_table(uci, source, params)
    return fit_uci_table(uci, source, params)


def score_history(model: EarlyWarningModel, history: pd.DataFrame) -> pd.DataFrame:
    """Scores (``account_id``, the PD named by the horizon, ``tier, base_hazard``) of the accounts open at the
    history's last month, from their last ``window`` months (the model's)."""
    if model.feature_set != FEATURE_SET:
        raise InputError(
            f"model feature set {model.feature_set!r} cannot score a payment history (fit "
            "one on a history: workout risk fit HISTORY)"
        )
    window = int(model.fit_info.get("window", DEFAULT_WINDOW))
    last = history[history["month_index"] == history["month_index"].max()]
    open_ids = set(last.loc[last["status"] == "open", "account_id"])
    ids, features = history_features(history, window=window)
    keep = pd.Index(ids).isin(list(open_ids))
    return score_accounts(model, features[keep].reset_index(drop=True), ids[keep])


def read_layout(path: TableSource) -> tuple[pd.DataFrame, str]:
    """The table as read and its layout (:func:`layout_of`). The one reader of the
    commands that take either layout (fit, score)."""
    frame = read_table(path)
    return frame, layout_of(frame.columns)


def layout_of(columns: Any) -> str:
    """The layout of a table with these column names: ``"uci"``
    (:func:`~solver.risk.uci.is_uci_table`, checked first), ``"history"``
    (docs/history.md) or ``"unknown"``."""
    if is_uci_table(columns):
        return "uci"
    return "history" if is_history_table(columns) else "unknown"


def table_layout(path: TableSource) -> str:
    """:func:`layout_of` a table from its column names alone (the ``--behaviour-out``
    refusal needs no more): a CSV or Excel file's header, a Parquet file's schema, a
    database table's first row. When that read fails, :func:`read_table` reads the whole
    table and reports the problem (a missing file, an unknown format, a file that does not
    parse, an empty database table)."""
    if isinstance(path, BookSource) and path.url is not None:
        from solver.core.sql import sql_chunks  # only database input needs SQLAlchemy

        chunks = cast(Generator[pd.DataFrame], sql_chunks(path.url, path.table, path.query, 1))
        with contextlib.closing(chunks):  # one row fetched; the connection closed
            first = next(chunks, None)
        if first is not None:
            return layout_of(first.columns)
    else:
        file = path.path if isinstance(path, BookSource) else Path(path)
        if file is not None and file.is_file():
            try:  # the header only (solver.core.table_header; other formats raise)
                return layout_of(read_header(file))
            except Exception:  # noqa: BLE001 -- read_table below names the problem
                pass
    return layout_of(read_table(path).columns)


def read_history_or_uci(path: TableSource) -> pd.DataFrame:
    """A validated history from a history file or a UCI file (adapted), read once; a table
    of neither layout gets the history's missing-columns error."""
    frame, kind = read_layout(path)
    source = source_label(path)
    if kind == "unknown" and closest_layout(frame.columns, ("history", "uci")) == "uci":
        kind = "uci"  # a UCI file lacking a column: normalise_uci names it
    if kind == "uci":
        return validate_history(uci_history(normalise_uci(frame, source)), source)
    return validate_history(frame, source=source)


def describe(fit: EarlyWarningFit) -> dict[str, Any]:
    """The history protocol of a fit (for the command's output)."""
    info = fit.model.fit_info
    return {k: info.get(k) for k in ("window", "horizon", "event", "default_definition")}
