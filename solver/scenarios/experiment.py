"""Champion/challenger experiments (SPEC §9): the stratified random split.

Split
-----
:func:`split_portfolio` assigns a share of the accounts to the *challenger* strategy and
the rest to the *champion* (the current strategy), stratified by columns such as ``tier``
and ``dpd_bucket`` so that both groups have the same mix. Within each stratum accounts are
ordered by a keyed hash of ``(seed, account_id)`` and the first ``k`` become challengers;
the per-stratum counts ``k`` follow the largest-remainder rule so that the total is
``round(share·n)`` and every stratum is within one account of its exact share. The split of
an account depends only on the seed, its id and its stratum's composition — not on the row
order of the file.

A share that leaves either whole group empty (``round(share·n)`` of 0 or ``n``: 0.001 of 500
accounts) is refused, naming the share that gives that group one account: there would be
nothing to compare. A *stratum* without a challenger is not refused (session 24): with a
10 % share every stratum of fewer than 5 accounts has none by the largest-remainder rule,
which is the split's promise (each stratum within one account of its exact share), and the
split's summary shows each stratum's count.

The outcomes file of the evaluation is read by :mod:`solver.scenarios.experiment_outcomes`,
evaluated by :mod:`solver.scenarios.experiment_eval` with the tests of
:mod:`solver.scenarios.experiment_stats`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ExperimentSplit", "split_portfolio"]


# --------------------------------------------------------------------------------------
# Split
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperimentSplit:
    """A champion/challenger split.

    Attributes
    ----------
    table
        ``account_id``, ``group`` and the stratum columns, in the portfolio's row order.
    summary
        One row per stratum: accounts, challengers, challenger share.
    share, seed, strata
        Settings used.
    """

    table: Any
    summary: Any
    share: float
    seed: int
    strata: tuple[str, ...]


def _hash_order(seed: int, ids: Sequence[str]) -> np.ndarray:
    keys = np.empty(len(ids), dtype=np.uint64)
    for i, account_id in enumerate(ids):
        digest = hashlib.blake2b(
            f"{int(seed)}\x1f{account_id}".encode(), digest_size=8, person=b"workout-split"
        ).digest()
        keys[i] = int.from_bytes(digest, "little")
    return keys


def _challenger_total(share: float, n: int, source: str) -> int:
    """Challengers of a split of ``n`` accounts, ``round(share·n)``; InputError when either
    whole-book group would be empty (nothing to compare), naming ``--share`` and the share
    that gives the empty group one account. A stratum may have no challenger: see the module
    docstring."""
    if n < 2:
        raise InputError(f"{source}: {n} account(s): a champion/challenger split needs at least 2")
    total = int(round(share * n))
    if 0 < total < n:
        return total
    group, fix, want = (
        ("challenger", "or more", 1) if total == 0 else ("champion", "or less", n - 1)
    )
    # the shortest printed share that gives ``want`` challengers (1/n, n = 3,000: 0.000333)
    shown = next(
        text
        for digits in range(1, 18)
        if int(round(float(text := f"{want / n:.{digits}g}") * n)) == want
    )
    raise InputError(
        f"--share {share:g} leaves the {group} group empty ({share:g} × {n:,} accounts ="
        f" {share * n:g}, which rounds to {total:,} challengers); --share {shown} {fix}"
        f" gives it one account"
    )


def split_portfolio(
    frame: pd.DataFrame,
    share: float,
    seed: int = 0,
    strata: Sequence[str] = ("tier", "dpd_bucket"),
    source: str = "<portfolio>",
) -> ExperimentSplit:
    """Stratified random champion/challenger split (see the module docstring).

    Parameters
    ----------
    frame
        The portfolio (needs ``account_id`` and the strata columns).
    share
        Share of accounts in the challenger group, 0 < share < 1.
    seed
        Seed of the keyed hash that orders accounts within a stratum.
    strata
        Columns to stratify by (may be empty).
    source
        File name for messages.
    """
    import difflib

    import pandas as pd

    if not (0.0 < share < 1.0):
        raise InputError(f"--share must be strictly between 0 and 1, got {share}")
    strata = tuple(strata)
    missing = [c for c in strata if c not in frame.columns]
    if missing:
        problems = []
        for column in missing:
            close = difflib.get_close_matches(column, [str(c) for c in frame.columns], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{source}: no column {column!r} to stratify by{hint}")
        raise InputError(f"{source}: unknown strata column(s)", problems)
    ids = frame["account_id"].astype(str).to_numpy()
    if len(set(ids)) != len(ids):
        raise InputError(f"{source}: account_id values must be unique to split")
    n = len(ids)
    total = _challenger_total(share, n, source)
    keys = _hash_order(seed, ids)
    if strata:
        labels = frame[list(strata)].astype(str).agg(" | ".join, axis=1).to_numpy()
    else:
        labels = np.full(n, "all", dtype=object)
    names, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = share * counts
    k = np.floor(quota).astype(np.int64)
    remaining = total - int(k.sum())
    if remaining > 0:
        # largest remainder first; ties broken by a keyed hash of the stratum name
        ties = _hash_order(seed, [f"stratum:{s}" for s in names])
        order = np.lexsort((ties, -(quota - k)))
        k[order[:remaining]] += 1
    challenger = np.zeros(n, dtype=bool)
    for s in range(len(names)):
        members = np.nonzero(inverse == s)[0]
        ranked = members[np.lexsort((ids[members], keys[members]))]
        challenger[ranked[: k[s]]] = True
    table = pd.DataFrame(
        {"account_id": ids, "group": np.where(challenger, "challenger", "champion")}
    )
    for column in strata:
        table[column] = frame[column].astype(str).to_numpy()
    summary = pd.DataFrame(
        {
            "stratum": names.astype(str),
            "accounts": counts.astype(np.int64),
            "challenger": k,
            "challenger_share": np.round(k / counts, 6),
        }
    )
    return ExperimentSplit(table=table, summary=summary, share=share, seed=int(seed), strata=strata)
