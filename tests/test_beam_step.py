"""The beam search's month step (``solver/plans/beam_step.py``: :func:`expand` and its selection).

The month step must keep, per account, the live children a stable sort by optimistic
value (largest first) keeps, and raise the cut bound by the largest value left out: the
plans, bounds and certificates of ``custom`` / ``step`` depend on it bit for bit. The
oracles here are plain Python written from that rule (and from the bound and phase rules
of ``solver/plans/search.py``'s docstring), run on random months with many ties.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.plans.beam_step import _floor_of_best, _keep_best, _kth_largest, expand
from solver.plans.bound_dp import NEG, NEG_CUT
from solver.plans.search_tables import phase_moves


@pytest.fixture(params=["compiled", "python"])
def pick(request):
    """A kernel compiled, or its own code interpreted by Python."""
    if request.param == "compiled":
        return lambda fn: fn
    return lambda fn: fn.py_func


def _reference_select(opt: list[float], width: int) -> tuple[list[int], float]:
    """Python's stable sort by value, largest first: the first ``width`` are kept (in
    their order), and the largest value left out (−inf: none)."""
    order = sorted(range(len(opt)), key=lambda k: -opt[k])
    left_out = opt[order[width]] if len(opt) > width else -np.inf
    return sorted(order[:width]), left_out


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([1.0, 2.0, 2.5, 3.0, -4.0]), min_size=0, max_size=80),
    st.integers(1, 40),
    st.integers(0, 3),
)
def test_keep_best_keeps_the_stable_sorts_best_width(vals, width, floor_rank) -> None:
    """The kept children are the first ``width`` of a stable sort by value, largest first,
    and the value left out is the largest of the rest, whatever floor at most the
    ``width``-th largest value is given."""
    opt = np.array(vals, float)
    code = 10 * np.arange(opt.size, dtype=np.int64) + 3
    ranked = np.sort(opt)[::-1]
    floor = -np.inf
    if floor_rank and opt.size > width:  # a valid floor: at most the width-th largest value
        floor = ranked[min(width - 1 + floor_rank - 1, opt.size - 1)]
    out = np.full(opt.size + 5, -7, np.int64)
    n_out, left = _keep_best(
        opt.copy(), code.copy(), opt.size, width, floor, out, 2, np.empty(width)
    )
    kept, left_out = _reference_select(vals, width)
    assert out[2:n_out].tolist() == [10 * k + 3 for k in kept]
    assert out[:2].tolist() == [-7, -7] and left == left_out


def test_kth_largest_is_the_sorted_value(pick) -> None:
    """The (k + 1)-th largest value of the first ``count`` values is numpy's sorted one."""
    fn = pick(_kth_largest)
    rng = np.random.default_rng(5)
    for _ in range(400):
        n = int(rng.integers(1, 300))
        k = int(rng.integers(0, n))
        ties = rng.random() < 0.5
        vals = rng.choice([1.0, 2.0, 2.5, 3.0, -4.0], n) if ties else rng.standard_normal(n)
        padded = np.concatenate([vals, rng.standard_normal(3)])  # values past count ignored
        assert fn(padded, n, k, np.empty(k + 1)) == np.sort(vals)[::-1][k]


def test_floor_of_best_is_at_most_the_width_th_largest_child() -> None:
    """The floor from each parent's best and second-best children never exceeds the
    ``width``-th largest child's value (so no child at or above it is left out by it); it
    is −inf when there are fewer children than ``width``, and the ``width``-th largest
    parent's best when there are at least ``width`` parents."""
    rng = np.random.default_rng(11)
    for _ in range(1_000):
        parents = int(rng.integers(1, 12))
        kids = [rng.choice([0.0, 1.0, 1.5, 4.0], int(m)) for m in rng.integers(0, 6, parents)]
        best, second = np.full(parents, -np.inf), np.full(parents, -np.inf)
        for i, v in enumerate(kids):
            ranked = np.sort(v)[::-1]
            best[i] = ranked[0] if ranked.size else -np.inf
            second[i] = ranked[1] if ranked.size > 1 else -np.inf
        tops = np.concatenate([best, second, rng.standard_normal(3)])  # the rest ignored
        width = int(rng.integers(1, 2 * parents + 3))
        floor = _floor_of_best(tops, parents, width, np.empty(width))
        every = np.sort(np.concatenate(kids))[::-1]
        if every.size >= width:
            assert floor <= every[width - 1]
        else:
            assert floor == -np.inf
        if parents >= width:
            assert floor == np.sort(best)[::-1][width - 1]


# --------------------------------------------------------------------------------------
# expand against a plain-Python month step
# --------------------------------------------------------------------------------------


def _interp(row: np.ndarray, x: float, top: int) -> float:
    """A piecewise-linear table row at node coordinate x, the end segments extended."""
    j = min(max(int(x), 0), top - 1)
    return row[j] + (x - j) * (row[j + 1] - row[j])


def _reference_expand(t, f_acc, f_fam_sc, f_v, f_s, owed, rec, rule, ok, pay, vals, child,
                      last, lo, iw, U, V, last_cap, T, iwt, sc_g, thr, cut, beam, lw):  # fmt: skip
    """The month step from its rules: every allowed move that pays less than the state
    owes gives a child, dropped without a plan from its balance (above U or a bound at
    NEG), in its last phase beyond its reach, or not beating the incumbent; per account
    (and, with ``lw``, per last-phase pool) a stable sort by optimistic value keeps the
    best; the largest value left out raises ``cut``."""
    nA, S, M = pay.shape[1], rule.shape[0] // 2, V.shape[2] - 1
    rows: list[tuple] = []
    any_move = False
    for a in np.unique(f_acc):
        pools: dict[bool, list[tuple]] = {False: [], True: []}
        for si in np.flatnonzero(f_acc == a):
            fsc = f_fam_sc[si]
            for ai in range(nA):
                p = pay[a, ai]
                if not (rule[fsc, ai] and ok[t, a, ai] and p < owed[si]):
                    continue
                any_move = True
                nB, fi, mv = owed[si] - p, a * nA + ai, fsc * nA + ai
                bnd = _interp(V[a, t + 1], (nB - lo[t + 1, a]) * iw[t + 1, a], M)
                if nB > U[t + 1, a] or bnd <= NEG_CUT or (last[mv] and nB > last_cap[t, fi]):
                    continue
                if T.shape[0] and last[mv]:
                    tail = _interp(T[a, t + 1, sc_g[child[mv]]], nB * iwt[a], T.shape[3] - 1)
                    if tail <= NEG_CUT:
                        continue
                    bnd = min(bnd, tail)
                v = f_v[si] + f_s[si] * (vals[t, fi, 0] + vals[t, fi, 1] * rec[si])
                s = f_s[si] * vals[t, fi, 2]
                if v + s * bnd > thr[a]:
                    row = (si, p, a, fsc // S * S + child[mv], nB, v, s)
                    pools[bool(lw > 0 and last[mv])].append((v + s * bnd, (si, ai), row))
        kept = []
        for is_last, kids in pools.items():
            keep, left_out = _reference_select([o for o, _, _ in kids], lw if is_last else beam)
            kept += [kids[k][1:] for k in keep]
            cut[a] = max(cut[a], left_out)
        rows += [row for _, row in sorted(kept)]  # frontier order: parent, then action
    cols = list(zip(*rows, strict=True)) if rows else [[]] * 7
    return [np.array(c, dtype=float if k >= 5 else np.int64) for k, c in enumerate(cols)], any_move


def _random_month(rng, tail: bool):
    """A random month of the search: frontier, rules, actions, tables (with dead nodes),
    with many equal children (repeated states, few distinct numbers)."""
    n, G, K, H, M = 4, 4, 2, 3, 6
    nA = G + 1
    moves = phase_moves(G, K)
    t = int(rng.integers(0, H))
    F = int(rng.integers(0, 25))
    f_acc = np.sort(rng.integers(0, n, F))
    f_fam_sc = rng.integers(0, 2 * moves.codes, F)
    f_fam_sc = np.where(rng.random(F) < 0.3, np.roll(f_fam_sc, 1), f_fam_sc)
    owed = rng.choice([900, 1_500, 2_300, 4_000], F)
    f_v = rng.choice([0.0, 5.0, 7.5], F)
    f_s = rng.choice([1.0, 0.5, 0.75], F)
    rec = rng.choice([0.0, 10.0], F)
    pay = np.sort(rng.choice([100, 300, 500, 800, 1_000], (n, nA)), axis=1)
    pay[:, -1] = 0  # the holiday
    ok = rng.random((H, n, nA)) < 0.85
    vals = rng.choice([0.25, 0.5, 1.0], (H, n * nA, 3))
    lo = rng.choice([0.0, 500.0], (H + 1, n))
    iw = np.full((H + 1, n), M / 4_000.0)
    U = rng.choice([3_000.0, 10_000.0], (H + 1, n))
    V = rng.choice([0.0, 2.0, 4.0, NEG], (n, H + 1, M + 1), p=[0.3, 0.3, 0.3, 0.1])
    last_cap = rng.choice([1_000.0, 5_000.0], (H, n * nA))
    if tail:
        T = rng.choice([1.0, 3.0, NEG], (n, H + 1, G, M + 1), p=[0.45, 0.45, 0.1])
        iwt = np.full(n, M / 4_000.0)
    else:
        T, iwt = np.zeros((0, 1, 1, 2), np.float32), np.zeros(n)
    thr = rng.choice([-np.inf, 3.0, 6.0], n)
    cut = rng.choice([-np.inf, 5.0], n)
    rules = (moves.rule, ok, pay, vals, moves.child, moves.last, lo, iw, U, V, last_cap)
    return (t, f_acc, f_fam_sc, f_v, f_s, owed, rec, *rules, T, iwt, moves.amount, thr, cut)


@pytest.mark.parametrize(("tail", "last_width"), [(False, 0), (True, 0), (True, 2), (False, 3)])
def test_expand_keeps_what_the_stable_sort_keeps(tail, last_width) -> None:
    """Every kept child (parent, payment, account, code, balance, value, survival, in
    frontier order), the raised cut bounds and whether any move was allowed equal those of
    the plain-Python month step, bit for bit, on random months full of ties."""
    rng = np.random.default_rng(21 + last_width + 7 * tail)
    for _ in range(300):
        args = _random_month(rng, tail)
        beam = int(rng.integers(1, 5))
        cut_ref = args[-1].copy()
        want, moved = _reference_expand(*args[:-1], cut_ref, beam, last_width)
        cut = args[-1].copy()
        got = expand(*args[:-1], cut, beam, last_width)
        assert got[-1] == moved
        for g, w in zip(got[:-1], want, strict=True):
            assert g.dtype == w.dtype and np.array_equal(g, w)
        assert np.array_equal(cut, cut_ref)
