"""The simulation's results: per-path sums by segment, merged chunk by chunk.

What :func:`~solver.scenarios.paths.simulate_paths` returns (:class:`PathOutcomes`) and
how a chunk's account-path outcomes become it: sums by segment (one product with the
segment indicators, exact in integer cents), defaults, losses and recoveries by month, the
customers' DTI as histograms (with a sparse per-path change where unemployment hit), and
the merge of the chunks in their order (:class:`ChunkSums`), so no sum depends on how the
book was cut or which thread finished first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from solver.scenarios.path_inputs import SEGMENT_TYPES, PathInputs

__all__ = [
    "DTI_BIN",
    "DTI_BINS",
    "DTI_EDGES",
    "DTI_LOG_BINS",
    "DTI_MAX",
    "DTI_NBINS",
    "ROLL_PATHS",
    "ChunkSums",
    "PathOutcomes",
    "by_default_month",
    "dti_bins",
    "dti_histograms",
    "dti_quantile",
    "segment_groups",
    "segment_sums",
]

#: DTI histogram: :data:`DTI_BINS` bins of this width from 0 (to 5.0), then
#: :data:`DTI_LOG_BINS` bins of equal ratio from 5.0 to :data:`DTI_MAX`, then one overflow
#: bin (:func:`dti_bins`). Until session 25 everything above 5.0 fell in one bin whose
#: quantile was interpolated to at most 5.01, so a book with many DTIs above 5 had a p90
#: below its mean; the ratio bins keep the quantile within 2.7 % up to DTI_MAX, and a
#: quantile in the overflow bin is NaN (not known), never a made-up number.
DTI_BIN = 0.01
DTI_BINS = 500
DTI_LOG_BINS = 200
DTI_MAX = 1000.0
#: Every bin's lower edge, the overflow bin's (``DTI_MAX``) last.
DTI_EDGES = np.concatenate(
    [
        np.arange(DTI_BINS) * DTI_BIN,
        DTI_BINS
        * DTI_BIN
        * (DTI_MAX / (DTI_BINS * DTI_BIN)) ** (np.arange(DTI_LOG_BINS + 1) / DTI_LOG_BINS),
    ]
)
#: Number of bins of a DTI histogram (the overflow bin included).
DTI_NBINS = DTI_BINS + DTI_LOG_BINS + 1
#: Roll rates are counted on at most this many paths (paths are exchangeable, so the
#: first ones are a random sample; counting every path would double the loop's cost).
ROLL_PATHS = 100


# --------------------------------------------------------------------------------------
# The simulation's results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathOutcomes:
    """Raw results of the simulation (the scenario summary is built from these).

    Attributes
    ----------
    paths, horizon, seed
        Settings of the run.
    totals
        Segment key (``("total", "all")``, ``("tier", "A")``, …) → array (paths, F) of
        per-path sums of :data:`PATH_FIELDS` (money in integer cents).
    segment_accounts
        Segment key → number of accounts.
    monthly
        Name → array (paths, months): ``payments`` (cents, months 1…H), ``open_balance``,
        ``npl_balance`` (cents, end of months 1…H), ``open_accounts``, ``npl_accounts``,
        ``defaults``, ``credit_loss`` (by default month 1…H) and ``recoveries`` (cents, by
        month received 1…H+L).
    roll_counts
        Array (roll paths, 5, 3): open accounts in each bucket and what their month
        ended in (cure, roll, default), pooled over the horizon.
    dti_mean, dti_p90
        Segment key → array (paths,): mean and 90th percentile of the accounts' DTI (the
        percentile from a histogram with bins of :data:`DTI_BIN`).
    accounts
        Per-account means over paths: name → array (n,).
    """

    paths: int
    horizon: int
    seed: int
    totals: dict[tuple[str, str], np.ndarray]
    segment_accounts: dict[tuple[str, str], int]
    monthly: dict[str, np.ndarray]
    roll_counts: np.ndarray
    dti_mean: dict[tuple[str, str], np.ndarray]
    dti_p90: dict[tuple[str, str], np.ndarray]
    accounts: dict[str, np.ndarray]


def segment_groups(inputs: PathInputs, rows: np.ndarray) -> list[tuple[tuple[str, str], Any]]:
    """(segment key, row mask within the chunk or ``None`` for all) for a chunk."""
    groups: list[tuple[tuple[str, str], Any]] = [(("total", "all"), None)]
    for name in SEGMENT_TYPES:
        labels = inputs.segments.get(name)
        if labels is None:
            continue
        chunk_labels = labels[rows]
        for label in np.unique(chunk_labels):
            groups.append(((name, str(label)), chunk_labels == label))
    return groups


def segment_sums(
    groups: list[tuple[tuple[str, str], Any]], outcome: np.ndarray
) -> dict[tuple[str, str], np.ndarray]:
    """Per-path sums of ``outcome`` (c, paths, F) by segment: one product with the segment
    indicators (the values are whole cents or counts far below 2^53, so float64 sums are
    exact in any order)."""
    c, paths, width = outcome.shape
    indicator = np.zeros((len(groups), c))
    for g, (_, mask) in enumerate(groups):
        indicator[g] = 1.0 if mask is None else mask
    sums = (indicator @ outcome.reshape(c, paths * width)).reshape(len(groups), paths, width)
    return {key: sums[g] for g, (key, _) in enumerate(groups)}


def by_default_month(
    inputs: PathInputs, survived: np.ndarray, outcome: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Defaults and credit loss by default month (paths, H), recoveries by the month they
    are received (paths, H+L)."""
    horizon = inputs.horizon
    paths = survived.shape[1]
    lag = inputs.recovery_lag
    defaulted = survived < horizon
    account_idx, path_idx = np.nonzero(defaulted)
    month_idx = survived[account_idx, path_idx].astype(np.intp)  # default in month k+1
    by_month = path_idx * horizon + month_idx
    size = paths * horizon
    default_counts = np.bincount(by_month, minlength=size).reshape(paths, horizon)
    loss_by_month = np.bincount(
        by_month, weights=outcome[account_idx, path_idx, 4], minlength=size
    ).reshape(paths, horizon)
    received = horizon + lag
    rec_by_month = np.bincount(
        path_idx * received + month_idx + lag,
        weights=outcome[account_idx, path_idx, 2],
        minlength=paths * received,
    ).reshape(paths, received)
    return default_counts, loss_by_month, rec_by_month


def dti_histograms(
    inputs: PathInputs,
    rows: np.ndarray,
    groups: list[tuple[tuple[str, str], Any]],
    hit: np.ndarray | None,
    paths: int,
) -> dict[tuple[str, str], tuple[np.ndarray, Any, np.ndarray]]:
    """Customer burden by segment: the DTI histogram of the normal income path, its sparse
    per-path change where unemployment hit, and the per-path DTI sum."""
    c = len(rows)
    dti_n = inputs.dti[rows]
    dti_u = inputs.dti_unemployed[rows]
    nbins = DTI_NBINS
    bins_n = dti_bins(dti_n)
    bins_u = dti_bins(dti_u)
    dti: dict[tuple[str, str], tuple[np.ndarray, Any, np.ndarray]] = {}
    empty = np.zeros(0, dtype=np.intp)
    hit_acc, hit_path = np.nonzero(hit) if hit is not None else (empty, empty)
    for key, mask in groups:
        m = np.ones(c, dtype=bool) if mask is None else mask
        base = np.bincount(bins_n[m], minlength=nbins).astype(np.int64)
        total = np.full(paths, float(np.sum(dti_n[m])))
        delta = None
        if hit_acc.size:
            inside = m[hit_acc]
            acc_i, path_i = hit_acc[inside], hit_path[inside]
            if acc_i.size:
                # sparse: each hit moves one account from its normal to its unemployed bin
                cells = path_i * nbins
                index = np.concatenate([cells + bins_u[acc_i], cells + bins_n[acc_i]])
                sign = np.concatenate([np.ones(acc_i.size), -np.ones(acc_i.size)])
                unique, inverse = np.unique(index, return_inverse=True)
                delta = (unique, np.rint(np.bincount(inverse, weights=sign)).astype(np.int64))
                total += np.bincount(path_i, weights=dti_u[acc_i] - dti_n[acc_i], minlength=paths)
        dti[key] = (base, delta, total)
    return dti


class ChunkSums:
    """The chunks' results of :func:`simulate_paths`, merged in chunk order."""

    def __init__(self, n: int, paths: int) -> None:
        self.n, self.paths = n, paths
        self.totals: dict[tuple[str, str], np.ndarray] = {}
        self.counts: dict[tuple[str, str], int] = {}
        self.monthly: dict[str, np.ndarray] = {}
        self.dti_base: dict[tuple[str, str], np.ndarray] = {}
        self.dti_delta: dict[tuple[str, str], np.ndarray] = {}
        self.dti_sum: dict[tuple[str, str], np.ndarray] = {}
        self.roll = np.zeros((min(paths, ROLL_PATHS), 5, 3), dtype=np.int64)
        self.accounts: dict[str, np.ndarray] = {}

    def add(self, part: dict[str, Any], rows: np.ndarray) -> None:
        """Add one chunk's result (of accounts ``rows``)."""
        totals, counts, monthly = self.totals, self.counts, self.monthly
        dti_base, dti_delta, dti_sum = self.dti_base, self.dti_delta, self.dti_sum
        for key, value in part["totals"].items():
            totals[key] = totals[key] + value if key in totals else value
            counts[key] = counts.get(key, 0) + part["counts"][key]
        for key, value in part["monthly"].items():
            monthly[key] = monthly[key] + value if key in monthly else value
        for key, (base, delta, total) in part["dti"].items():
            dti_base[key] = dti_base[key] + base if key in dti_base else base
            dti_sum[key] = dti_sum[key] + total if key in dti_sum else total
            if delta is not None:
                if key not in dti_delta:
                    dti_delta[key] = np.zeros(self.paths * DTI_NBINS, dtype=np.int64)
                np.add.at(dti_delta[key], delta[0], delta[1])
        self.roll = self.roll + part["roll"]
        for key, value in part["accounts"].items():
            if key not in self.accounts:
                self.accounts[key] = np.zeros(self.n)
            self.accounts[key][rows] = value

    def outcomes(self, horizon: int, seed: int) -> PathOutcomes:
        """The merged sums as :class:`PathOutcomes` (segments in report order)."""
        paths, counts = self.paths, self.counts
        keys = sorted(self.totals, key=_segment_order)
        return PathOutcomes(
            paths=paths,
            horizon=horizon,
            seed=int(seed),
            totals={k: self.totals[k] for k in keys},
            segment_accounts={k: counts[k] for k in keys},
            monthly=self.monthly,
            roll_counts=self.roll,
            dti_mean={k: self.dti_sum[k] / max(1, counts[k]) for k in keys},
            dti_p90={
                k: (
                    dti_quantile(
                        self.dti_base[k] + self.dti_delta[k].reshape(paths, DTI_NBINS), 0.9
                    )
                    if k in self.dti_delta
                    else np.full(paths, dti_quantile(self.dti_base[k], 0.9)[0])
                )
                for k in keys
            },
            accounts=self.accounts,
        )


def _segment_order(key: tuple[str, str]) -> tuple[int, str]:
    kind, label = key
    order = {"total": 0, **{name: i + 1 for i, name in enumerate(SEGMENT_TYPES)}}
    return order.get(kind, 99), label


def dti_bins(dti: np.ndarray) -> np.ndarray:
    """The histogram bin of each DTI (:data:`DTI_EDGES`): ``DTI/DTI_BIN`` below 5.0, a
    ratio bin up to :data:`DTI_MAX`, the overflow bin above it (and for NaN)."""
    x = np.asarray(dti, dtype=float)
    linear = np.floor(x / DTI_BIN)
    top = DTI_BINS * DTI_BIN
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = DTI_BINS + np.floor(
            np.log(np.maximum(x, top) / top) / np.log(DTI_MAX / top) * DTI_LOG_BINS
        )
    bins = np.where(linear < DTI_BINS, linear, np.minimum(ratio, DTI_NBINS - 1))
    return np.where(np.isnan(bins), DTI_NBINS - 1, bins).astype(np.intp)


def dti_quantile(hist: np.ndarray, q: float) -> np.ndarray:
    """Quantile ``q`` of DTI per path from its histogram (:func:`dti_bins`; linear within
    a bin); NaN where it falls in the overflow bin (above :data:`DTI_MAX`: not known)."""
    hist = np.atleast_2d(hist).astype(float)
    total = hist.sum(axis=1, keepdims=True)
    cum = np.cumsum(hist, axis=1)
    target = q * total
    idx = np.argmax(cum >= target, axis=1)
    rows = np.arange(hist.shape[0])
    below = np.where(idx > 0, cum[rows, np.maximum(idx - 1, 0)], 0.0)
    inside = hist[rows, idx]
    frac = np.where(inside > 0, (target[:, 0] - below) / np.where(inside > 0, inside, 1.0), 0.0)
    frac = np.clip(frac, 0.0, 1.0)
    edge = np.minimum(idx, DTI_NBINS - 2)  # the overflow bin's value is NaN (below)
    ratio_value = DTI_EDGES[edge] + frac * (DTI_EDGES[edge + 1] - DTI_EDGES[edge])
    # the linear bins' formula as before session 25 (the same figures to the last bit)
    value = np.where(idx < DTI_BINS, (idx + frac) * DTI_BIN, ratio_value)
    known = (total[:, 0] > 0) & (idx < DTI_NBINS - 1)
    return np.where(known, value, math.nan)
