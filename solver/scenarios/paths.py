"""The Monte Carlo kernel: every account's paths, month by month (SPEC §9).

:func:`simulate_paths` walks the accounts of a
:class:`~solver.scenarios.path_inputs.PathInputs` over ``paths`` paths, in chunks of
accounts, and returns :class:`~solver.scenarios.path_outcomes.PathOutcomes`: per-path sums
by segment, monthly series, roll-rate counts, the customers' DTI and per-account means
(summed and merged by :mod:`solver.scenarios.path_outcomes`). How one month of a path
realises the behaviour model is in :mod:`solver.scenarios.path_inputs`; the random
numbers come from :mod:`solver.scenarios.random_streams`.

Delinquency on a path. The account starts in its dpd bucket (M0 … M4+). A month whose
income covered the due cures it to M0; a short month that did not end in default is a
missed due date and rolls it one bucket (capped at M4+); a default is a charge-off and
leaves the book. The NPL ratio is the M3+ share of the open book (by balance and by
count); roll rates are the month-to-month transition shares between buckets.

Random numbers. Every account has its own stream, keyed by a hash of (seed, account_id)
(BLAKE2b → the state of an SFC64 generator), laid out as one block of ``paths`` uniforms
for the unemployment draw followed by one block per month. An account's path outcomes
therefore do not depend on the other accounts, on how the portfolio is cut into chunks or
on the number of threads, and two scenarios run with the same seed share their random
numbers (common random numbers: the deltas between them are much less noisy than either).
Money is summed in integer cents, so portfolio totals are exact and independent of the
summation order.

Speed. The loop over months works on chunks of accounts × paths (uint32 uniforms compared
with per-account integer thresholds, uint8 delinquency states, float64 BLAS products with
integer-cent weights for the monthly series); per-account money is looked up after the
loop from each path's default month. It costs about 20–25 ns of CPU per
account-path-month: 100,000 accounts × 1,000 paths × 36 months in well under 120 s on two
cores (``benchmarks/bench_scenario.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from solver.scenarios.path_inputs import PathInputs, path_probabilities
from solver.scenarios.path_outcomes import (
    ROLL_PATHS,
    ChunkSums,
    PathOutcomes,
    by_default_month,
    dti_histograms,
    segment_groups,
    segment_sums,
)
from solver.scenarios.random_streams import account_streams, draw_buffer, thresholds

# PathOutcomes stays importable from here for solver/scenarios/kpis.py and the package's
# public names.
__all__ = [
    "PATH_FIELDS",
    "ROLL_OUTCOMES",
    "PathOutcomes",
    "default_chunk_accounts",
    "simulate_paths",
]

#: Outcomes of an open month, in the order of the roll-rate table.
ROLL_OUTCOMES: tuple[str, ...] = ("cure", "roll", "default")
#: Money quantities looked up per account-path from its default month (integer cents).
MONEY_FIELDS: tuple[str, ...] = (
    "payments_nominal",
    "payments_discounted",
    "recoveries_nominal",
    "recoveries_discounted",
    "credit_loss",
    "exposure_at_default",
)
#: Everything summed per path and segment (the money fields plus counts and end state).
PATH_FIELDS: tuple[str, ...] = (
    *MONEY_FIELDS,
    "defaults",
    "balance_at_horizon",
    "open_accounts_at_horizon",
    "npl_accounts_at_horizon",
    "npl_balance_at_horizon",
    "unemployed",
    "value_beyond_horizon",
)
#: Account-paths per chunk: the month loop's working arrays (about 20 bytes per
#: account-path) then stay in the CPU cache, which makes the loop several times faster
#: than with large chunks.
CHUNK_CELLS = 2**18


def _outcome_table(inputs: PathInputs, rows: np.ndarray) -> np.ndarray:
    """Per-account outcomes by "months survived" k = 0…H, shape (c, H+1, len(PATH_FIELDS)).

    k < H means a default in month k+1 (payments of months 1…k, recovery R_{k+1});
    k = H means no default within the horizon. Money is in whole cents (float64 holding
    integers); the end-of-horizon NPL and unemployment columns are filled per path.
    """
    horizon = inputs.horizon
    c = len(rows)
    pay = inputs.payments[rows]
    rec = inputs.recovery[rows]
    rec_cents = np.rint(rec * 100.0)
    ead_cents = np.rint(inputs.exposures[rows, :horizon] * 100.0)
    col = {name: i for i, name in enumerate(PATH_FIELDS)}
    table = np.zeros((c, horizon + 1, len(PATH_FIELDS)))
    table[:, 1:, col["payments_nominal"]] = np.cumsum(np.rint(pay * 100.0), axis=1)
    table[:, 1:, col["payments_discounted"]] = np.rint(
        np.cumsum(pay * inputs.discount * 100.0, axis=1)
    )
    table[:, :horizon, col["recoveries_nominal"]] = rec_cents
    table[:, :horizon, col["recoveries_discounted"]] = np.rint(rec * inputs.discount_lag * 100.0)
    table[:, :horizon, col["credit_loss"]] = ead_cents - rec_cents
    table[:, :horizon, col["exposure_at_default"]] = ead_cents
    table[:, :horizon, col["defaults"]] = 1.0
    balance_end = np.rint(inputs.exposures[rows, horizon] * 100.0)
    table[:, horizon, col["balance_at_horizon"]] = balance_end
    table[:, horizon, col["open_accounts_at_horizon"]] = balance_end > 0
    table[:, horizon, col["value_beyond_horizon"]] = np.rint(inputs.residual_value[rows] * 100.0)
    return table


def _simulate_chunk(inputs: PathInputs, rows: np.ndarray, paths: int, seed: int) -> dict[str, Any]:
    """Simulate accounts ``rows`` over all paths; return their per-path sums and means."""
    horizon = inputs.horizon
    c = len(rows)
    width = (horizon + 1) * paths
    flat_draws = draw_buffer(c * width).reshape(c, width)
    account_streams(seed, inputs.account_id[rows], width, out=flat_draws)
    draws = flat_draws.reshape(c, horizon + 1, paths)

    # unemployment: hit on a path with the account's probability (first block)
    q = inputs.unemployment_prob[rows]
    has_shock = inputs.hazard_unemployed is not None and bool(np.any(q > 0))
    hit = draws[:, 0, :] < thresholds(q)[:, None] if has_shock else None
    survived, npl, roll, series_alive, series_npl = _walk_months(inputs, rows, draws, hit)
    del draws

    outcome = _account_path_outcomes(inputs, rows, survived, npl, hit)
    groups = segment_groups(inputs, rows)
    totals = segment_sums(groups, outcome)
    means = outcome.mean(axis=1)
    default_counts, loss_by_month, rec_by_month = by_default_month(inputs, survived, outcome)
    del outcome

    money = {name: i for i, name in enumerate(PATH_FIELDS)}
    accounts = {
        "mc_collected_nominal": (means[:, money["payments_nominal"]] + means[:, 2]) / 100.0,
        "mc_collected_discounted": (means[:, 1] + means[:, 3]) / 100.0,
        "mc_credit_loss": means[:, money["credit_loss"]] / 100.0,
        "mc_default_prob": means[:, money["defaults"]],
        "mc_npl_prob_at_horizon": means[:, money["npl_accounts_at_horizon"]],
        "unemployment_share": means[:, money["unemployed"]],
    }
    return {
        "totals": totals,
        "counts": {key: int(c if mask is None else mask.sum()) for key, mask in groups},
        "monthly": {
            "payments": series_alive[:, :, 0].T,
            "open_balance": series_alive[:, :, 1].T,
            "open_accounts": series_alive[:, :, 2].T,
            "npl_balance": series_npl[:, :, 0].T,
            "npl_accounts": series_npl[:, :, 1].T,
            "defaults": default_counts.astype(float),
            "credit_loss": loss_by_month,
            "recoveries": rec_by_month,
        },
        "roll": roll,
        "dti": dti_histograms(inputs, rows, groups, hit, paths),
        "accounts": accounts,
    }


def _walk_months(
    inputs: PathInputs, rows: np.ndarray, draws: np.ndarray, hit: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Walk accounts ``rows`` through months 1…H on every path (the hot loop).

    ``draws`` (c, H+1, paths) are the accounts' uniforms (block 0 is the unemployment
    draw), ``hit`` (c, paths) where the unemployment shock hit (``None``: nowhere).

    Returns
    -------
    tuple
        Months survived per account-path (uint8, H = no default), whether the account-path
        is M3+ and open at the horizon, the roll-rate counts (roll paths, 5, 3), and the
        monthly sums over the chunk (H, paths, ·) of the open book (payments, balance,
        accounts) and of its M3+ part (balance, accounts), in integer cents.
    """
    horizon = inputs.horizon
    c, _, paths = draws.shape
    hazard_n, short_n = path_probabilities(inputs, rows, unemployed=False)
    t_default, t_short = thresholds(hazard_n), thresholds(short_n)
    if hit is not None:
        hazard_u, short_u = path_probabilities(inputs, rows, unemployed=True)
        u_default, u_short = thresholds(hazard_u), thresholds(short_u)
        shock_months = min(horizon, inputs.unemployment_months)
    else:
        shock_months = 0

    # -- weights of the monthly series (integer cents as float64: BLAS sums are exact) ------
    term = inputs.term[rows]
    pay_w = np.rint(inputs.payments[rows] * 100.0)
    bal_w = np.rint(inputs.exposures[rows, 1:] * 100.0)  # balance after month t
    open_after = (bal_w > 0).astype(float)  # still owing after month t
    weights = np.ascontiguousarray(np.stack([pay_w, bal_w, open_after], axis=2).transpose(1, 0, 2))

    # -- state ------------------------------------------------------------------------------
    alive = np.ones((c, paths), dtype=bool)
    bucket = np.repeat(inputs.initial_bucket[rows][:, None], paths, axis=1)
    survived = np.zeros((c, paths), dtype=np.uint8)
    survive_now = np.empty((c, paths), dtype=bool)
    short = np.empty((c, paths), dtype=bool)
    npl = np.empty((c, paths), dtype=bool)
    as_float = np.empty((c, paths), dtype=float)
    n_roll = min(paths, ROLL_PATHS)
    roll_offsets = (np.arange(n_roll, dtype=np.intp) * 16)[None, :]
    roll = np.zeros(n_roll * 16, dtype=np.int64)

    series_alive = np.zeros((horizon, paths, 3))
    series_npl = np.zeros((horizon, paths, 2))
    for t in range(horizon):
        v = draws[:, t + 1, :]
        if t < shock_months:
            assert hit is not None
            td = np.where(hit, u_default[:, t, None], t_default[:, t, None])
            ts = np.where(hit, u_short[:, t, None], t_short[:, t, None])
        else:
            td, ts = t_default[:, t, None], t_short[:, t, None]
        np.greater_equal(v, td, out=survive_now)
        np.less(v, ts, out=short)
        # roll-rate counts on the first paths: bucket before the month × outcome
        active = alive[:, :n_roll] & (t < term)[:, None]
        code = bucket[:, :n_roll] * np.uint8(3) + short[:, :n_roll]
        code += ~survive_now[:, :n_roll]
        code = np.where(active, code, np.uint8(15)).astype(np.intp)
        code += roll_offsets
        roll += np.bincount(code.ravel(), minlength=n_roll * 16)

        np.logical_and(alive, survive_now, out=alive)
        np.add(survived, alive.view(np.uint8), out=survived)
        np.add(bucket, 1, out=bucket)
        np.minimum(bucket, 4, out=bucket)
        np.multiply(bucket, short.view(np.uint8), out=bucket)
        np.greater_equal(bucket, 3, out=npl)
        np.logical_and(npl, alive, out=npl)

        as_float[...] = alive
        series_alive[t] = as_float.T @ weights[t]
        as_float[...] = npl
        series_npl[t] = as_float.T @ weights[t, :, 1:]
    roll_counts = roll.reshape(n_roll, 16)[:, :15].reshape(n_roll, 5, 3)
    return survived, npl, roll_counts, series_alive, series_npl


def _account_path_outcomes(
    inputs: PathInputs,
    rows: np.ndarray,
    survived: np.ndarray,
    npl: np.ndarray,
    hit: np.ndarray | None,
) -> np.ndarray:
    """:data:`PATH_FIELDS` of every account-path, shape (c, paths, F), looked up from the
    months it survived; the end-of-horizon NPL and unemployment columns are set per path."""
    horizon = inputs.horizon
    c = len(rows)
    table = _outcome_table(inputs, rows)
    flat = (np.arange(c, dtype=np.intp) * (horizon + 1))[:, None] + survived
    width = len(PATH_FIELDS)
    outcome = np.take(table.reshape(c * (horizon + 1), width), flat, axis=0)  # (c, paths, F)
    balance_end = table[:, horizon, PATH_FIELDS.index("balance_at_horizon")]
    npl_end = npl & (balance_end > 0)[:, None]
    outcome[:, :, PATH_FIELDS.index("npl_accounts_at_horizon")] = npl_end
    outcome[:, :, PATH_FIELDS.index("npl_balance_at_horizon")] = npl_end * balance_end[:, None]
    outcome[:, :, PATH_FIELDS.index("unemployed")] = 0.0 if hit is None else hit
    return outcome


def default_chunk_accounts(paths: int, horizon: int) -> int:
    """Accounts per chunk: about :data:`CHUNK_CELLS` account-paths (at least 16 accounts)."""
    return max(16, CHUNK_CELLS // max(1, paths))


def simulate_paths(
    inputs: PathInputs,
    *,
    paths: int,
    seed: int,
    jobs: int = 1,
    chunk_accounts: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    engine: Any = None,
) -> PathOutcomes:
    """Simulate every account over ``paths`` Monte Carlo paths (see the module docstring).

    Parameters
    ----------
    inputs
        Per-account schedules, probabilities and segments.
    paths
        Number of Monte Carlo paths (≥ 2 for intervals).
    seed
        Seed of the random streams (with each account_id).
    jobs
        Threads working on chunks at once (numpy releases the GIL in the loop). The result
        does not depend on it.
    chunk_accounts
        Accounts per chunk (memory ≈ 4·(H+1)·paths bytes per account); the result does not
        depend on it either.
    progress
        Called as ``progress(accounts_done, accounts_total)`` after each chunk.
    engine
        An execution engine (:mod:`solver.engines`, e.g. Dask) that runs the chunks on its
        workers (``map_ordered``); ``None`` runs them here on ``jobs`` threads. The result
        does not depend on it.
    """
    if paths < 1:
        raise ValueError(f"paths must be >= 1, got {paths}")
    if inputs.horizon > 255:
        raise ValueError(f"horizon must be at most 255 months, got {inputs.horizon}")
    n, horizon = len(inputs), inputs.horizon
    size = chunk_accounts or default_chunk_accounts(paths, horizon)
    # accounts that can be hit by the unemployment shock first, so that the other chunks
    # skip its per-month threshold switch (per-account results do not depend on chunks)
    order = np.argsort(~(inputs.unemployment_prob > 0), kind="stable")
    chunks = [order[i : i + size] for i in range(0, n, size)]
    jobs = max(1, min(int(jobs), len(chunks) or 1, os.cpu_count() or 1))
    sums = ChunkSums(n, paths)
    done = 0

    def merge(part: dict[str, Any], rows: np.ndarray) -> None:
        nonlocal done
        sums.add(part, rows)
        done += len(rows)
        if progress is not None:
            progress(done, n)

    if n == 0:
        pass
    elif engine is not None:
        # chunks run on the engine's workers, results come back in chunk order
        results = engine.map_ordered(_simulate_chunk, chunks, paths, seed, shared=inputs)
        for rows, part in zip(chunks, results, strict=True):
            merge(part, rows)
    elif jobs == 1:
        for rows in chunks:
            merge(_simulate_chunk(inputs, rows, paths, seed), rows)
    else:
        # Chunks are merged in their order (map keeps it), so the sums never depend on
        # which thread finished first; at most `jobs` chunks are in flight.
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            pending = []
            for rows in chunks:
                pending.append((pool.submit(_simulate_chunk, inputs, rows, paths, seed), rows))
                if len(pending) > jobs:
                    future, done_rows = pending.pop(0)
                    merge(future.result(), done_rows)
            for future, done_rows in pending:
                merge(future.result(), done_rows)
    return sums.outcomes(horizon, seed)
