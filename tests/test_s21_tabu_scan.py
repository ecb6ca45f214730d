"""The tabu search's scan (session 21): its best move and what it counts, against an
enumeration written here from the scan's documented rules (jobs in order, each one's shifts
by option then its swaps with every later job; a move replaces the best only when strictly
better beyond the relative tolerance; a tabu move only by aspiration).

The scan walks each option's allowed jobs from a compressed list instead of testing every
later job; these tests check that it is still the same search, and that the work it reports
counts the swap partners it looked at (the jobs after ``j1`` that ``j1``'s option allows).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from solver.allocation.gap import tabu, tabu_moves

EPS = 1e-9  # the scan's relative tolerance (tabu_moves module)


def _over(load: float, cap: float) -> float:
    return max(0.0, load - cap)


def _is_over(load: float, cap: float) -> int:
    return 1 if load > cap + 1e-9 * (1.0 + abs(cap)) else 0


def _penalty(load, cap, scale, mu, r, d):
    if r < 0 or d == 0.0:
        return 0.0
    return scale[r] * mu * (_over(load[r] + d, cap[r]) - _over(load[r], cap[r]))


def _aspires(cost_after, best_cost, load, cap, n_over, a, da, b, db):
    if cost_after >= best_cost - EPS * (1.0 + abs(best_cost)):
        return False
    over = n_over
    for r, d in ((a, da), (b, db)):
        if r >= 0:
            over += _is_over(load[r] + d, cap[r]) - _is_over(load[r], cap[r])
    return over == 0


def _oracle(c):
    """The best move by plain enumeration: (kind, j1, o2, j2, evaluated, partners)."""
    cost, allowed, w, row_of, cap, scale = (
        c["cost"], c["allowed"], c["weight"], c["row_of"], c["cap"], c["scale"]
    )  # fmt: skip
    s, load, tabu_until, mu, it = c["s"], c["load"], c["tabu"], c["mu"], c["it"]
    current, best_cost, n_over, job_tabu = c["current"], c["best_cost"], c["n_over"], c["job_tabu"]
    k, n = cost.shape
    best = (math.inf, 0, -1, -1, -1)
    evaluated = partners = 0
    for j1 in range(n):
        o1 = s[j1]
        a = row_of[o1]
        for o2 in range(k):
            if o2 == o1 or not allowed[o2, j1]:
                continue
            evaluated += 1
            b = row_of[o2]
            if b == a:
                dp = _penalty(load, cap, scale, mu, a, w[o2, j1] - w[o1, j1])
            else:
                dp = _penalty(load, cap, scale, mu, a, -w[o1, j1])
                dp += _penalty(load, cap, scale, mu, b, w[o2, j1])
            dc = cost[o2, j1] - cost[o1, j1]
            d = dc + dp
            if not d < best[0] - EPS * (1.0 + abs(d)):
                continue
            is_tabu = tabu_until[o2, j1] > it or (job_tabu and tabu_until[o1, j1] > it)
            if is_tabu and (
                b == a
                or not _aspires(
                    current + dc, best_cost, load, cap, n_over, a, -w[o1, j1], b, w[o2, j1]
                )
            ):
                continue
            best = (d, 1, j1, o2, -1)
        for j2 in range(j1 + 1, n):
            if not allowed[o1, j2]:
                continue
            partners += 1
            o2 = s[j2]
            b = row_of[o2]
            if b == a or o2 == o1 or not allowed[o2, j1]:
                continue
            evaluated += 1
            da = w[o1, j2] - w[o1, j1]
            db = w[o2, j1] - w[o2, j2]
            dc = cost[o2, j1] + cost[o1, j2] - cost[o1, j1] - cost[o2, j2]
            d = dc + _penalty(load, cap, scale, mu, a, da) + _penalty(load, cap, scale, mu, b, db)
            if not d < best[0] - EPS * (1.0 + abs(d)):
                continue
            is_tabu = tabu_until[o2, j1] > it or tabu_until[o1, j2] > it
            is_tabu = is_tabu or (job_tabu and (tabu_until[o1, j1] > it or tabu_until[o2, j2] > it))
            if is_tabu and not _aspires(current + dc, best_cost, load, cap, n_over, a, da, b, db):
                continue
            best = (d, 2, j1, o2, j2)
    _, kind, j1, o2, j2 = best
    return kind, j1, o2, j2, evaluated, partners


def _case(seed: int, density: float, job_tabu: bool) -> dict:
    """A random state of the scan: 6 options on 3 rows and one free option (row -1), 30
    jobs, integer costs and weights, some pairs not allowed, a random tabu list."""
    rng = np.random.default_rng(seed)
    k, n, rows = 7, 30, 3
    row_of = np.array([0, 0, 1, 1, 2, 2, -1], dtype=np.int64)
    allowed = rng.random((k, n)) < density
    allowed[rng.integers(0, k, n), np.arange(n)] = True
    s = np.array([rng.choice(np.flatnonzero(allowed[:, j])) for j in range(n)], dtype=np.int64)
    cost = np.where(allowed, rng.integers(1, 50, (k, n)), 0).astype(np.float64)
    weight = rng.integers(1, 9, (k, n)).astype(np.float64)
    load = np.zeros(rows)
    for j in range(n):
        if row_of[s[j]] >= 0:
            load[row_of[s[j]]] += weight[s[j], j]
    cap = np.floor(load * rng.uniform(0.8, 1.2, rows))
    it = 50
    return {
        "cost": cost, "allowed": allowed, "weight": weight, "row_of": row_of, "cap": cap,
        "scale": rng.uniform(0.5, 3.0, rows), "s": s, "load": load,
        "tabu": rng.integers(0, 2 * it, (k, n)).astype(np.int64), "mu": float(rng.uniform(0.2, 5.0)),
        "it": it, "current": float(cost[s, np.arange(n)].sum()),
        "best_cost": float(cost[s, np.arange(n)].sum() + rng.integers(-40, 40)),
        "n_over": sum(_is_over(load[r], cap[r]) for r in range(rows)), "job_tabu": job_tabu,
    }  # fmt: skip


@pytest.mark.parametrize("density", [0.3, 0.6, 1.0])
@pytest.mark.parametrize("job_tabu", [False, True])
def test_scan_is_the_enumeration(density: float, job_tabu: bool) -> None:
    """On 40 random states per setting, the compiled scan picks the enumeration's move and
    reports its evaluations and swap partners looked at."""
    for seed in range(40):
        c = _case(seed, density, job_tabu)
        ptr, cols = tabu._allowed_jobs(c["allowed"])
        n = c["cost"].shape[1]
        got = tabu_moves.best_move(
            c["cost"], c["allowed"], c["weight"], c["row_of"], c["cap"], c["scale"], c["s"],
            c["load"], c["tabu"], ptr, cols, c["current"], c["best_cost"], c["mu"], c["it"],
            c["n_over"], 0, job_tabu, True, n,
        )  # fmt: skip
        kind, j1, o2, j2, evaluated, partners = (int(x) for x in got)
        j2 = j2 if kind == 2 else -1  # a shift leaves the last swap's j2 (unused)
        assert (kind, j1, o2, j2, evaluated, partners) == _oracle(c), (seed, density, job_tabu)


def test_allowed_jobs_lists_each_option_in_order() -> None:
    """Option ``o``'s compressed list is exactly its allowed jobs, ascending."""
    allowed = np.random.default_rng(4).random((5, 17)) < 0.4
    ptr, cols = tabu._allowed_jobs(allowed)
    for o in range(5):
        assert cols[ptr[o] : ptr[o + 1]].tolist() == np.flatnonzero(allowed[o]).tolist()


def test_work_counts_what_the_scan_costs() -> None:
    """A search's work is its iterations' evaluations, ``STEP_WORK`` per partner looked at
    and ``ITERATION_WORK`` each: on a state where nothing improves the search keeps
    scanning, and one iteration's work is what the enumeration says."""
    c = _case(3, 0.5, False)
    _, _, _, _, evaluated, partners = _oracle(c)
    expected = evaluated + int(tabu.STEP_WORK * partners) + tabu.ITERATION_WORK
    ints = np.zeros(10, dtype=np.int64)
    scalars = np.array([c["current"], c["mu"]])
    ptr, cols = tabu._allowed_jobs(c["allowed"])
    k, n = c["cost"].shape
    ints[1] = c["it"]
    ints[5] = c["n_over"]
    tabu._iterate(
        c["cost"], c["allowed"], c["weight"], c["row_of"], c["cap"], c["scale"], c["s"].copy(),
        c["load"].copy(), c["tabu"].copy(), ptr, cols, np.tile(c["s"], (tabu.ELITE, 1)),
        np.full(tabu.ELITE, np.inf), scalars, ints, np.array([np.uint64(7)]), 1,
        np.array([tabu.OSCILLATION, tabu.TENURE_MIN, tabu.TENURE_SPAN, tabu.STALL,
                  tabu.RESTART_SHIFTS, 0.0]),
    )  # fmt: skip
    assert ints[1] == c["it"] + 1  # one iteration (its work passes the target of 1)
    assert ints[0] == expected
    assert ints[9] == partners
