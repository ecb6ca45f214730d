"""Absorbing Markov chains for receivables (Cyert, Davidson & Thompson 1962).

Order the states as transient delinquency buckets first and absorbing outcomes (paid,
charged off) last; the one-month transition matrix is then ``[[Q, R], [0, I]]``. With
``N = (I - Q)^-1`` (the fundamental matrix):

* ``N[i, j]`` is the expected number of months an account now in bucket ``i`` spends in
  bucket ``j`` before it is absorbed (the current month counts);
* ``N @ 1`` is the expected number of months until absorption;
* ``B = N @ R`` gives ``B[i, a]``, the probability that an account now in ``i`` ends in
  absorbing state ``a`` (each row of ``B`` sums to 1);
* the allowance for doubtful accounts of a portfolio aged by bucket is
  ``balances @ B[:, charged_off] * LGD``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.errors import InputError

ROW_SUM_TOLERANCE = 1e-9


def _label(names: tuple[str, ...] | None, i: int) -> str:
    return f"row {i + 1}" + (f" ({names[i]})" if names is not None and i < len(names) else "")


def check_chain(
    q: np.ndarray,
    r: np.ndarray,
    transient: tuple[str, ...] | None = None,
    tolerance: float = ROW_SUM_TOLERANCE,
    source: str | None = None,
) -> None:
    """Check that ``(Q, R)`` is an absorbing chain; raise :class:`InputError` listing all problems.

    Checks: ``Q`` is square, ``R`` has as many rows as ``Q``, entries are finite and
    non-negative, each row of ``[Q R]`` sums to 1 (within ``tolerance``; a row of zeros is
    a state that is never left), there is at least one absorbing state, and an absorbing
    state is reachable from every transient state (which is exactly when ``I - Q`` is
    invertible). Messages start with ``source`` (the input file) when given and name each
    state by its row and name.
    """
    head = f"{source}: absorbing chain" if source else "absorbing chain"
    problems: list[str] = []
    if q.ndim != 2 or q.shape[0] != q.shape[1]:
        problems.append(f"Q must be a square matrix, got shape {q.shape}")
    if r.ndim != 2:
        problems.append(f"R must be a matrix (transient x absorbing), got shape {r.shape}")
    elif q.ndim == 2 and r.shape[0] != q.shape[0]:
        problems.append(f"R must have one row per transient state ({q.shape[0]}), got {r.shape[0]}")
    elif r.shape[1] == 0:
        problems.append("R has no columns: at least one absorbing state is needed")
    if problems:
        raise InputError(f"{head}: " + "; ".join(problems))
    if q.shape[0] == 0:
        raise InputError(f"{head}: Q has no transient states")
    p = np.hstack([q, r])
    for i in range(p.shape[0]):
        row = p[i]
        if not np.all(np.isfinite(row)):
            problems.append(f"{_label(transient, i)}: probabilities must be finite numbers")
            continue
        if np.any(row < 0):
            problems.append(
                f"{_label(transient, i)}: probabilities must be >= 0, got min {row.min():.6g}"
            )
        if not np.any(row):
            problems.append(
                f"{_label(transient, i)}: the state is never left (its row of [Q R] is all "
                "zero: no transition out of it), so the chain cannot say where its accounts end"
            )
        elif abs(row.sum() - 1.0) > tolerance:
            problems.append(
                f"{_label(transient, i)}: [Q R] row sums to {row.sum():.12g}, expected 1"
            )
    if not problems:
        for trapped in np.flatnonzero(trapped_states(q, r)).tolist():
            problems.append(
                f"{_label(transient, trapped)}: no absorbing state is reachable (the account could stay "
                "delinquent forever, so I - Q is singular)"
            )
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        where = f"{source}: " if source else ""
        raise InputError(f"{head}: {len(problems)} {noun}", [where + p for p in problems])


def trapped_states(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """True for each transient state from which no absorbing state is reachable (then
    ``I - Q`` is singular and the chain has no fundamental matrix).

    Absorption is reachable from the states with a direct exit (``R`` row > 0), then from
    their predecessors, and so on.
    """
    reaches = np.asarray(r).sum(axis=1) > 0
    step = (np.asarray(q) > 0).astype(np.int64)
    while True:
        grown = reaches | (step @ reaches.astype(np.int64) > 0)
        if np.array_equal(grown, reaches):
            return ~reaches
        reaches = grown


def absorption(
    q: np.ndarray, r: np.ndarray, tolerance: float = ROW_SUM_TOLERANCE
) -> tuple[np.ndarray, np.ndarray]:
    """Fundamental matrix and absorption probabilities of an absorbing chain.

    Parameters
    ----------
    q
        Transient-to-transient one-step probabilities (t x t).
    r
        Transient-to-absorbing one-step probabilities (t x a).
    tolerance
        Allowed deviation of each row sum of ``[Q R]`` from 1.

    Returns
    -------
    (N, B)
        ``N = (I - Q)^-1`` (expected months in each bucket) and ``B = N R``
        (probability of ending in each absorbing state).

    Raises
    ------
    InputError
        (a ``ValueError``) when the input is not an absorbing chain; see :func:`check_chain`.

    Examples
    --------
    >>> q = np.array([[0.5, 0.2], [0.3, 0.4]]); r = np.array([[0.3, 0.0], [0.1, 0.2]])
    >>> n, b = absorption(q, r)
    >>> np.round(b, 4).tolist()
    [[0.8333, 0.1667], [0.5833, 0.4167]]
    """
    q = np.asarray(q, dtype=float)
    r = np.asarray(r, dtype=float)
    check_chain(q, r, tolerance=tolerance)
    identity = np.eye(q.shape[0])
    fundamental = np.linalg.solve(identity - q, identity)
    absorbed = np.linalg.solve(identity - q, r)
    return fundamental, absorbed


@dataclass(frozen=True)
class AbsorptionResult:
    """Absorbing-chain summary for named buckets.

    Attributes
    ----------
    transient, absorbing
        State names (rows of ``N`` and ``B``; columns of ``B``).
    fundamental
        ``N = (I - Q)^-1``.
    absorption_probabilities
        ``B = N R``.
    expected_months
        ``N @ 1``: expected months until absorption from each bucket.
    months_std
        Standard deviation of the months until absorption, ``sqrt((2N - I) t - t²)``.
    """

    transient: tuple[str, ...]
    absorbing: tuple[str, ...]
    fundamental: np.ndarray
    absorption_probabilities: np.ndarray
    expected_months: np.ndarray
    months_std: np.ndarray

    def probability_of(self, state: str) -> np.ndarray:
        """Probability of ending in absorbing ``state`` from each transient bucket."""
        if state not in self.absorbing:
            raise InputError(
                f"{state!r} is not an absorbing state (have {', '.join(self.absorbing)})"
            )
        return self.absorption_probabilities[:, self.absorbing.index(state)]


def absorbing_summary(
    q: np.ndarray,
    r: np.ndarray,
    transient: tuple[str, ...],
    absorbing: tuple[str, ...],
    source: str | None = None,
) -> AbsorptionResult:
    """:func:`absorption` plus expected time to absorption and its spread, with state names.

    ``source`` (the input file) starts every message.
    """
    q = np.asarray(q, dtype=float)
    r = np.asarray(r, dtype=float)
    if len(transient) != q.shape[0] or len(absorbing) != r.shape[1]:
        head = f"{source}: absorbing chain" if source else "absorbing chain"
        raise InputError(
            f"{head}: {len(transient)} transient / {len(absorbing)} absorbing names for "
            f"Q {q.shape} and R {r.shape}"
        )
    check_chain(q, r, transient, source=source)
    fundamental, absorbed = absorption(q, r)
    months = fundamental.sum(axis=1)
    variance = (2 * fundamental - np.eye(len(months))) @ months - months**2
    for array in (fundamental, absorbed, months):
        array.flags.writeable = False
    std = np.sqrt(np.clip(variance, 0.0, None))
    std.flags.writeable = False
    return AbsorptionResult(transient, absorbing, fundamental, absorbed, months, std)


@dataclass(frozen=True)
class ExpectedLoss:
    """Expected loss (allowance for doubtful accounts) of a portfolio aged by bucket.

    Attributes
    ----------
    balances
        Balance outstanding in each transient bucket.
    charge_off_probability
        Probability that a unit of balance in each bucket ends charged off.
    lgd
        Loss given default applied to charged-off balances (per bucket).
    by_bucket
        ``balances * charge_off_probability * lgd``, rounded to cents.
    total
        Sum of ``by_bucket`` (reconciles exactly with the rows shown).
    """

    balances: np.ndarray
    charge_off_probability: np.ndarray
    lgd: np.ndarray
    by_bucket: np.ndarray
    total: float


def lgd_problem(lgd: float | np.ndarray) -> str | None:
    """What is wrong with a loss given default (a scalar or one value per bucket), or ``None``.

    It must be a finite number in [0, 1]; NaN is named (it fails every comparison, so a
    range test alone passed it on, and ``risk rollrates --lgd nan`` printed a null expected
    loss, review s24).
    """
    rate = np.asarray(lgd, dtype=float)
    if np.all(np.isfinite(rate)) and np.all((rate >= 0) & (rate <= 1)):
        return None
    return f"lgd must be a number in [0, 1], got {rate.tolist()}"


def expected_loss(
    balances: np.ndarray,
    absorbed: np.ndarray,
    lgd: float | np.ndarray = 1.0,
    charge_off: int = -1,
) -> ExpectedLoss:
    """Expected loss of balances aged by bucket: ``balances * B[:, charge_off] * LGD``.

    Parameters
    ----------
    balances
        Balance in each transient bucket (same order as the rows of ``absorbed``).
    absorbed
        Absorption probabilities ``B`` from :func:`absorption`.
    lgd
        Loss given default, a scalar or one value per bucket, in [0, 1].
    charge_off
        Column of ``B`` that is the charge-off state (default: the last).

    Returns
    -------
    ExpectedLoss
        Per-bucket amounts rounded to cents and their exact total.
    """
    b = np.asarray(absorbed, dtype=float)
    bal = np.asarray(balances, dtype=float)
    loss_rate = np.broadcast_to(np.asarray(lgd, dtype=float), bal.shape).copy()
    problems = []
    if bal.shape != (b.shape[0],):
        problems.append(
            f"balances must have one value per transient bucket ({b.shape[0]}), got shape {bal.shape}"
        )
    elif np.any(~np.isfinite(bal)) or np.any(bal < 0):
        problems.append("balances must be finite and >= 0")
    lgd_wrong = lgd_problem(lgd)
    if lgd_wrong is not None:
        problems.append(lgd_wrong)
    if problems:
        raise InputError("expected loss: " + "; ".join(problems))
    probability = b[:, charge_off]
    cents = np.round(bal * probability * loss_rate * 100.0)
    by_bucket = cents / 100.0
    return ExpectedLoss(bal, probability, loss_rate, by_bucket, float(cents.sum()) / 100.0)
