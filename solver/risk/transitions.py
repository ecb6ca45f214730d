"""Calibration from a payment history's transitions, with the right event (issue 18).

A month of an account is *at risk* when the account's previous month was open and not in
default (:class:`~solver.risk.history.DefaultDefinition`: charge-off or 90+ dpd by
default). Each month at risk ends in one of: **default** (the month is in default), a
**delinquency transition** (a worse dpd bucket, not default), a **cure** (a better bucket)
or no move. Only defaults feed the behaviour model's hazards: a roll from M1 to M2 is not
a default, and a model calibrated on it (as UCI's "late next month" would be) predicts far
too many defaults.

Tiers come from the book (``tier`` of each account) or from a ``tier`` column of the
history. With the book, each month at risk also gets the affordability ``a_t`` of its
``amount_due`` on the account's income path (SPEC §4; month t = months since the account's
first row, which is the book's snapshot), and :func:`solver.risk.calibration.calibrate_hazards`
fits the tier hazards ``h0`` and ``κ`` jointly by maximum likelihood with profile-likelihood intervals;
without it, only the constant hazard per tier (exact binomial intervals, κ kept from the
base model).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from solver.core.model import AccountParams, BehaviourModel
from solver.core.readers import read_portfolio
from solver.core.tiering import bucket_index
from solver.domain import BUCKETS
from solver.errors import InputError
from solver.risk._tables import TableSource, read_table, source_label
from solver.risk.calibration import calibrate_hazards, calibrate_outcome_frame
from solver.risk.calibration_result import HazardCalibration
from solver.risk.history import DefaultDefinition, is_history_table, validate_history
from solver.risk.layouts import closest_layout
from solver.risk.rollrate_intervals import wilson_interval

__all__ = [
    "BookError",
    "HistoryCalibration",
    "calibrate_history",
    "calibrate_table",
    "transition_rows",
    "transition_summary",
]

_MOVES = ("default", "delinquency", "cure", "stay", "paid")


class BookError(InputError):
    """The book and the table do not go together: a book given with an outcome table
    (``needed`` False), or a history without tiers given without one (``needed`` True).

    ``source`` names the table. The message names no command-line option (it says "the
    book"); :meth:`naming` words it with what gives the book on the caller's side, so that
    ``workout risk calibrate`` adds its ``--book`` and words nothing again (exit 2 either way).
    """

    def __init__(self, source: str, *, needed: bool):
        self.source = source
        self.needed = needed
        super().__init__(self.naming("the book"))

    def naming(self, book: str) -> str:
        """The message with ``book`` for the book, e.g. ``"the book (--book)"``."""
        if self.needed:
            return (
                f"{self.source}: the history has no tier column: give {book} for each "
                "account's tier (and its income, for kappa)"
            )
        return f"{self.source}: {book} goes only with a payment history, not an outcome table"


@dataclass(frozen=True)
class HistoryCalibration:
    """Hazards calibrated on default events, with the transitions kept apart.

    Attributes
    ----------
    hazards
        The tier hazards (and κ) with intervals.
    transitions
        :func:`transition_summary` of the months at risk.
    definition
        What counted as default.
    n_accounts
        Accounts with at least one month at risk.
    """

    hazards: HazardCalibration
    transitions: pd.DataFrame
    definition: DefaultDefinition
    n_accounts: int

    def to_dict(self, fallback: Mapping[str, float] | None = None) -> dict[str, Any]:
        """JSON-ready summary (``fallback``: :meth:`HazardCalibration.to_dict`)."""
        return {
            **self.hazards.to_dict(fallback),
            "event": f"default ({self.definition.describe()})",
            "n_accounts": self.n_accounts,
            "transitions": self.transitions.to_dict(orient="records"),
        }


def transition_rows(
    history: pd.DataFrame,
    definition: DefaultDefinition | None = None,
    book: pd.DataFrame | None = None,
    model: BehaviourModel | None = None,
    source: str = "<history>",
) -> pd.DataFrame:
    """The months at risk of a validated history: ``account_id, month, tier, from_bucket,
    move`` (one of ``default, delinquency, cure, stay, paid``), ``defaults`` (0/1) and,
    with ``book``, ``afford_prob``. ``source`` names the history in messages."""
    definition = definition or DefaultDefinition()
    ids = history["account_id"].to_numpy()
    dpd = history["dpd"].to_numpy()
    status = history["status"].to_numpy()
    in_default = definition.in_default(dpd, status)
    same = np.r_[False, ids[1:] == ids[:-1]]
    prev_ok = np.r_[False, ~in_default[:-1] & (status[:-1] == "open")]
    at_risk = np.flatnonzero(same & prev_ok)
    bucket = bucket_index(dpd)
    move = np.where(
        in_default[at_risk],
        "default",
        np.where(
            status[at_risk] == "paid",
            "paid",
            np.where(
                bucket[at_risk] > bucket[at_risk - 1],
                "delinquency",
                np.where(bucket[at_risk] < bucket[at_risk - 1], "cure", "stay"),
            ),
        ),
    )
    rows = pd.DataFrame(
        {
            "account_id": ids[at_risk],
            "month": history["month"].to_numpy()[at_risk],
            "from_bucket": np.array(BUCKETS, dtype=object)[bucket[at_risk - 1]],
            "move": move,
            "defaults": in_default[at_risk].astype(np.int64),
        }
    )
    if book is not None:
        position = _book_positions(book, ids[at_risk], source)
        rows["tier"] = book["tier"].to_numpy(object)[position]
        first = history.groupby("account_id", sort=False)["month_index"].transform("min")
        month_no = (history["month_index"] - first).to_numpy()[at_risk]
        params = AccountParams.from_frame(book, model or BehaviourModel())
        kernel = (model or BehaviourModel()).kernel(params, int(month_no.max()))
        rows["afford_prob"] = kernel.afford(
            position, history["amount_due"].to_numpy(float)[at_risk], month_no - 1
        )
    elif "tier" in history.columns:
        rows["tier"] = history["tier"].to_numpy(object)[at_risk - 1]
    else:
        raise BookError(source, needed=True)
    return rows


def _book_positions(book: pd.DataFrame, account_id: np.ndarray, source: str) -> np.ndarray:
    """Row of each ``account_id`` in ``book``; InputError naming accounts it lacks."""
    index = pd.Index(book["account_id"].astype(str))
    position = index.get_indexer(account_id)
    if np.any(position < 0):
        missing = pd.unique(account_id[position < 0])
        raise InputError(
            f"{source}: {len(missing):,} "
            + ("account of the history is" if len(missing) == 1 else "accounts of the history are")
            + " not in the book: "
            + ", ".join(map(str, missing[:5]))
            + (" ..." if len(missing) > 5 else "")
        )
    return position


def transition_summary(rows: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Months at risk by starting bucket: counts of each move, the delinquency-transition and
    default rates with Wilson intervals."""
    counts = pd.crosstab(rows["from_bucket"], rows["move"]).reindex(columns=list(_MOVES))
    counts = counts.fillna(0).astype(np.int64)
    at_risk = counts.sum(axis=1).to_numpy()
    table = counts.reset_index().rename(columns={"from_bucket": "from_bucket"})
    table.insert(1, "months_at_risk", at_risk)
    for move in ("delinquency", "default"):
        k = counts[move].to_numpy()
        lower, upper = wilson_interval(k, at_risk, confidence)
        table[f"{move}_rate"] = k / at_risk
        table[f"{move}_lower"] = lower
        table[f"{move}_upper"] = upper
    return table


def calibrate_history(
    history: pd.DataFrame,
    *,
    book: pd.DataFrame | None = None,
    definition: DefaultDefinition | None = None,
    estimate_kappa: bool | None = None,
    kappa: float | None = None,
    confidence: float = 0.95,
    model: BehaviourModel | None = None,
    source: str = "<history>",
) -> HistoryCalibration:
    """Tier hazards (and κ with a book) from the default events of a history (``source``
    names it in messages)."""
    definition = definition or DefaultDefinition()
    rows = transition_rows(history, definition, book, model, source)
    if rows.empty:
        raise InputError(
            f"{source}: the history has no month at risk (every account has a single month or is "
            "already in default)"
        )
    options: dict[str, Any] = {"estimate_kappa": estimate_kappa, "confidence": confidence}
    if kappa is not None:
        options["kappa"] = kappa
    hazards = calibrate_hazards(
        rows["tier"].to_numpy(),
        rows["defaults"].to_numpy(),
        afford_prob=rows["afford_prob"].to_numpy() if "afford_prob" in rows.columns else None,
        **options,
    )
    return HistoryCalibration(
        hazards=hazards,
        transitions=transition_summary(rows, confidence),
        definition=definition,
        n_accounts=int(rows["account_id"].nunique()),
    )


def calibrate_table(
    path: TableSource,
    base: dict[str, Any] | None = None,
    *,
    book: str | os.PathLike[str] | None = None,
    definition: DefaultDefinition | None = None,
    estimate_kappa: bool | None = None,
    confidence: float = 0.95,
    interval: str = "binomial",
) -> tuple[HazardCalibration, HistoryCalibration | None]:
    """``workout risk calibrate``: the hazards of an OUTCOMES table, read once, and the
    history calibration when it is a payment history (``None`` for an outcome table).

    A history (docs/history.md) is calibrated on its default events (:func:`calibrate_history`,
    ``book`` the portfolio file giving tiers and incomes); an outcome table by
    :func:`~solver.risk.calibration.calibrate_outcome_frame` with ``interval``. ``base``
    (a behaviour TOML's parameters) gives the kappa held when kappa is not estimated.
    Raises :class:`BookError` for a book with an outcome table or a history without tiers
    and book.
    """
    frame = read_table(path)
    source = source_label(path)
    if (
        not is_history_table(frame.columns)
        and closest_layout(frame.columns, ("outcomes", "history")) == "history"
    ):
        validate_history(frame, source=source)  # a history lacking a column: names it
    if not is_history_table(frame.columns):
        if book:
            raise BookError(source, needed=False)
        hazards = calibrate_outcome_frame(
            frame,
            source,
            base,
            estimate_kappa=estimate_kappa,
            confidence=confidence,
            interval=interval,
        )
        return hazards, None
    history = calibrate_history(
        validate_history(frame, source=source),
        book=read_portfolio(book) if book else None,
        definition=definition,
        estimate_kappa=estimate_kappa,
        kappa=(base or {}).get("kappa"),
        confidence=confidence,
        source=source,
    )
    return history.hazards, history
