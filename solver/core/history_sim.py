"""A synthetic monthly payment history of a book, drawn from the behaviour model (issue 18).

``workout generate portfolio --history MONTHS`` writes it beside the book, in the long
format of :mod:`solver.risk.history` (docs/history.md). Month 0 is the book's snapshot
(its ``as_of`` month: ``dpd`` as in the book, ``amount_due`` the overdue amount
``arrears + fees_due``, nothing paid, ``balance = principal + interest_due``). In each
later month t = 1 … MONTHS, for every account still open (vectorised over accounts, one
``numpy`` generator, two uniforms per account and month, so the same book and seed give the
same history):

* **Random stream.** The history draws from its own stream, the first child of
  ``SeedSequence(seed)`` (:data:`HISTORY_STREAM`), not from ``default_rng(seed)``:
  ``generate portfolio`` draws the book from ``default_rng(seed)`` with the same seed, and
  reusing that stream made month 1's uniforms the very draws that chose each account's
  product and dpd bucket (auto loans charged off at twice the model's hazard in month 1,
  card instalments never). A spawned child is independent of its parent's stream by
  construction (numpy's ``SeedSequence`` design), and the book's own draws are untouched,
  so books and plans stay byte-identical.

* **Due.** The status-quo schedule's payment of month t (SPEC §4: month 1 is
  ``arrears + fees_due + instalment``, later months the instalment, the last one clears the
  balance; 0 after the term) plus whatever was left unpaid before.
* **Default.** With the model's hazard ``h_t = h0 + (1 − h0)·κ·(1 − a_t)``, where ``a_t``
  is the affordability (SPEC §4) of the month's *amount due* on the account's income path
  and ``h0`` its tier's base hazard, the account defaults: status ``charged_off``, nothing
  paid, dpd + 30. Its rows end there.
* **Otherwise** it pays the whole amount due with probability ``a_t`` (dpd back to 0), else
  misses: nothing paid and dpd + 30 — except that a borrower at 60-89 dpd who misses but
  does not default pays the month's *instalment* (the scheduled payment without the
  arrears and fees carried from before: in month 1 the book's ``arrears + fees_due``,
  later the unpaid dues) and stays at the same dpd. Decision: in this generator the only
  way into default (90+ dpd or charge-off) is the model's default event, so calibrating
  with either definition of default recovers the generating hazards (the round trip of
  ``workout risk calibrate``).
* **Cure.** dpd counts the days since the oldest amount still unpaid, so a month that
  leaves nothing overdue (everything due paid, by either rule above) sets dpd to 0. Before
  this rule month 1's "holds" paid the whole due (its scheduled payment already holds the
  arrears) and the account stayed 60-89 dpd with nothing owed.
* **Paid off.** An account whose term is over and whose arrears are cleared is ``paid``.
* ``balance`` grows at the contract rate and falls by what is paid (never below 0).

A calibration that uses the book (``workout risk calibrate HISTORY --book BOOK``) rebuilds
``a_t`` from the book and the recorded ``amount_due`` exactly as here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from solver.core.contract import status_quo_batch
from solver.core.model import AccountParams, BehaviourModel
from solver.core.schema import DPD_BUCKET_EDGES
from solver.domain import DEFAULT_DPD
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["HISTORY_STREAM", "history_path", "history_rng", "simulate_history"]

#: Spawn key of the history's random stream under ``SeedSequence(seed)`` (see the module
#: docstring: the book is drawn from ``default_rng(seed)`` itself).
HISTORY_STREAM = 0


def history_rng(seed: int) -> np.random.Generator:
    """The generator of the history for ``seed``: ``SeedSequence(seed).spawn(1)[0]``, a stream
    independent of ``default_rng(seed)`` that draws the book."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(HISTORY_STREAM,)))


def history_path(book_path: str) -> str:
    """Where the history of a book written to ``book_path`` goes: ``<stem>_history<ext>``
    (``.csv`` for a JSON book: the history is a table)."""
    path = Path(book_path)
    suffix = path.suffix if path.suffix.lower() in (".csv", ".parquet", ".xlsx") else ".csv"
    return str(path.with_name(f"{path.stem}_history{suffix}"))


def simulate_history(
    book: pd.DataFrame,
    months: int,
    seed: int = 0,
    *,
    model: BehaviourModel | None = None,
    as_of: str | dt.date | None = None,
) -> pd.DataFrame:
    """The payment history of a validated book over ``months`` months after its snapshot.

    ``as_of`` (default ``book.attrs["as_of"]``, else 2025-06-30) names month 0. Returns the
    long format: ``account_id, month, amount_due, amount_paid, dpd, status, balance``.
    """
    import pandas as pd

    if isinstance(months, bool) or not isinstance(months, int | np.integer) or months < 1:
        raise InputError(f"history months must be a whole number >= 1, got {months!r}")
    model = model or BehaviourModel()
    start = pd.Period(str(as_of or book.attrs.get("as_of", "2025-06-30"))[:7], freq="M")
    n = len(book)
    params = AccountParams.from_frame(book, model)
    kernel = model.kernel(params, months)
    scheduled, _, _ = status_quo_batch(book)
    scheduled = np.pad(scheduled, ((0, 0), (0, max(0, months - scheduled.shape[1]))))
    rate = book["annual_rate"].to_numpy(float) / 12.0
    term = book["remaining_term"].to_numpy(np.int64)
    rng = history_rng(seed)

    dpd = book["dpd"].to_numpy(np.int64).copy()
    balance = book["principal"].to_numpy(float) + book["interest_due"].to_numpy(float)
    open_ = np.ones(n, dtype=bool)
    columns: dict[str, list[np.ndarray]] = {k: [] for k in ("row", "t", "due", "paid", "dpd")}
    columns["status"] = []
    columns["balance"] = []

    def record(rows: np.ndarray, t: int, due, paid, status) -> None:
        columns["row"].append(rows)
        columns["t"].append(np.full(rows.size, t))
        columns["due"].append(np.broadcast_to(due, rows.shape))
        columns["paid"].append(np.broadcast_to(paid, rows.shape))
        columns["dpd"].append(dpd[rows].copy())
        columns["status"].append(np.broadcast_to(np.asarray(status, dtype=object), rows.shape))
        columns["balance"].append(np.round(balance[rows], 2))

    everyone = np.arange(n)
    overdue_now = book["arrears"].to_numpy(float) + book["fees_due"].to_numpy(float)
    record(everyone, 0, np.round(overdue_now, 2), 0.0, "open")
    # Month 1's scheduled payment is arrears + fees_due + instalment (SPEC §4): split off what
    # was already overdue, so that a "hold" pays the instalment and leaves the arrears unpaid.
    scheduled[:, 0] = np.maximum(0.0, np.round(scheduled[:, 0] - overdue_now, 2))
    overdue = np.round(overdue_now, 2)
    for t in range(1, months + 1):
        u = rng.random((2, n))
        rows = np.flatnonzero(open_)
        if rows.size == 0:
            break
        this_month = scheduled[rows, t - 1]
        due = np.round(this_month + overdue[rows], 2)
        afford = kernel.afford(rows, due, np.full(rows.size, t - 1))
        hazard = kernel.hazard_of_afford(rows, afford)
        default = u[0, rows] < hazard
        pays = ~default & (u[1, rows] < afford)
        # 60-89 dpd: paying this month's instalment holds the account short of default
        late = (dpd[rows] >= DPD_BUCKET_EDGES[2]) & (dpd[rows] < DEFAULT_DPD)
        holds = ~default & ~pays & late
        paid = np.where(pays, due, np.where(holds, np.minimum(this_month, due), 0.0))
        overdue[rows] = np.round(due - paid, 2)
        cured = overdue[rows] <= 0  # nothing left unpaid: no days past due (module docstring)
        dpd[rows] = np.where(pays | cured, 0, np.where(holds, dpd[rows], dpd[rows] + 30))
        balance[rows] = np.maximum(0.0, balance[rows] * (1.0 + rate[rows]) - paid)
        term_over = t >= term[rows]
        status = np.where(
            default, "charged_off", np.where(term_over & (overdue[rows] <= 0), "paid", "open")
        )
        record(rows, t, due, np.round(paid, 2), status)
        open_[rows] = status == "open"

    def joined(key: str) -> np.ndarray:
        return np.concatenate(columns[key])

    row, month_no = joined("row"), joined("t")
    order = np.lexsort((month_no, row))
    months_text = np.array([str(start + k) for k in range(months + 1)], dtype=object)
    return pd.DataFrame(
        {
            "account_id": book["account_id"].to_numpy(object)[row[order]],
            "month": months_text[month_no[order]],
            "amount_due": joined("due")[order],
            "amount_paid": joined("paid")[order],
            "dpd": joined("dpd")[order],
            "status": joined("status")[order],
            "balance": joined("balance")[order],
        }
    )
