"""One month of the custom/step beam search, compiled (issue 13: speed).

:func:`solver.plans.search._solve_runs` walks the months; per month it asks the
behaviour-model kernel for the frontier's recovery and the hazard of its clearing
payments (those need the model). The rest is bookkeeping, compiled with numba: the
clearing payments and the walk back (:mod:`solver.plans.beam_clearing`), and here, over
(state, action), which moves the phase rules and the month's caps allow, each child's
value, survival and optimistic value (the bound tables), and the best ``beam`` children
per account (:func:`expand`). A vectorised version spent most of its time in dozens of
small array operations per month.

Selection rule (unchanged from the vectorised version): per account, the live children
with the largest optimistic value, at most ``beam`` of them (with ``last_width > 0``,
children in their last phase have a beam of their own of that width); ties keep the
earlier child (frontier order, then action order); the largest optimistic value left out
raises the account's ``cut_bound``.

How (issue 13, session 12): most live children are cut by the beam (on the 1,000-account
run, 12 M live children for 1.5 M kept), so a child is first only its optimistic value and
its place (frontier index × A + action), and the kept ones are made again at the end
(:func:`_kept`, the same arithmetic: the same bits). Each parent's best children give a
floor the beam's last value reaches (:func:`_floor_of_best`); the children below it are
left out in one pass, and the exact selection runs on the few left (:func:`_keep_best`).
Recorded month steps of that run took 0.63× the time of the version that stored every
child and selected among all of them (alternated runs); keeping the best children in a
heap as they came took 1.17× (replacing its top about one child in five).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from solver.plans.bound_dp import NEG_CUT


@njit(cache=True)
def _sift_down(heap: np.ndarray, size: int, i: int) -> None:
    """Restore the min-heap ``heap[:size]`` below position i."""
    v = heap[i]
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and heap[c + 1] < heap[c]:
            c += 1
        if heap[c] < v:
            heap[i] = heap[c]
            i = c
        else:
            break
    heap[i] = v


@njit(cache=True)
def _kth_largest(vals: np.ndarray, count: int, k: int, heap: np.ndarray) -> float:
    """The (k + 1)-th largest of ``vals[:count]`` (k < count), by a min-heap of the k + 1
    largest seen so far (``heap``: room for k + 1 values). The value is unique whatever
    the method, so the selection does not depend on it; the heap reads each value once
    and, values coming in no particular order, replaces its top about
    (k + 1)·ln(count / (k + 1)) times (measured: the month step 11 % faster than with a
    quickselect, median of 30 alternated runs over 400 recorded calls)."""
    m = k + 1
    for j in range(m):
        heap[j] = vals[j]
    for i in range(m // 2 - 1, -1, -1):
        _sift_down(heap, m, i)
    for j in range(m, count):
        v = vals[j]
        if v > heap[0]:
            heap[0] = v
            _sift_down(heap, m, 0)
    return heap[0]


@njit(cache=True)
def _floor_of_best(tops: np.ndarray, parents: int, width: int, heap: np.ndarray) -> float:
    """A value the ``width``-th largest child's reaches: ``tops[:parents]`` are the best
    values of each parent's children and ``tops[parents:2 · parents]`` the second best
    (−inf for a parent with fewer), values of that many distinct children. With at least
    ``width`` parents, the ``width``-th largest of the best (the smallest if exactly
    ``width``, which needs no heap); with fewer, of all the tops (−inf if fewer than
    ``width``). On the 1,000-account run 51 of 290 children per account reach the first
    (36 the ``width``-th largest of all the tops, which takes a heap over twice as many
    values: the month step was 5 % slower)."""
    if parents >= width:
        if parents == width:
            return tops[:parents].min()
        return _kth_largest(tops, parents, width - 1, heap)
    if 2 * parents < width:
        return -np.inf
    return _kth_largest(tops, 2 * parents, width - 1, heap)


@njit(cache=True)
def _keep_best(
    opt: np.ndarray,
    code: np.ndarray,
    count: int,
    width: int,
    floor: float,
    out: np.ndarray,
    n_out: int,
    heap: np.ndarray,
) -> tuple[int, float]:
    """Append to ``out[n_out:]``, in order, the codes of the best ``width`` of the children
    ``opt[:count]`` / ``code[:count]`` (in order): those of a stable sort by value, largest
    first, cut after ``width`` (ties keep the earlier child). ``floor``: a value the
    ``width``-th largest is known to reach (:func:`_floor_of_best`). Returns the new end
    of ``out`` and the largest value left out (−inf: none).

    Children below the floor are left out at once, the others moved to the front (read
    before written); among those, the ``width``-th largest value ``thr`` is found by
    :func:`_kth_largest` (``heap``: room for ``width`` values): every child above it is
    kept and, of those equal to it, the first ones to fill the width."""
    left = -np.inf
    if count <= width:
        out[n_out : n_out + count] = code[:count]
        return n_out + count, left
    n = 0
    for k in range(count):  # branch-free: most children are below the floor
        v = opt[k]
        c = code[k]
        opt[n] = v
        code[n] = c
        up = v >= floor
        n += up
        left = max(left, -np.inf if up else v)
    thr = _kth_largest(opt, n, width - 1, heap)
    room = width
    for k in range(n):
        room -= opt[k] > thr
    for k in range(n):
        v = opt[k]
        if v > thr or (v == thr and room > 0):
            room -= v == thr
            out[n_out] = code[k]
            n_out += 1
        elif v > left:
            left = v
    return n_out, left


@njit(cache=True)
def _grow(v: float, s: float, rec: float, vals: np.ndarray, ai: int) -> tuple[float, float]:
    """A child's value and survival: its parent's (``v``, ``s``, recovery ``rec``) after
    action ``ai`` (``vals``: the account's value per unit of survival, recovery weight,
    survival per action, of the month)."""
    return v + s * (vals[ai, 0] + vals[ai, 1] * rec), s * vals[ai, 2]


@njit(cache=True)
def _interp(row: np.ndarray, x: float, top: int) -> float:
    """The piecewise-linear ``row`` at node coordinate ``x`` (nodes 0 … ``top``; outside,
    the first or last segment extended)."""
    j = int(x)
    if j < 0:
        j = 0
    elif j > top - 1:
        j = top - 1
    v0 = row[j]
    return v0 + (x - j) * (row[j + 1] - v0)


@njit(cache=True)
def _push(
    opt: np.ndarray, code: np.ndarray, n: int, v: float, c: int, best: float, second: float
) -> tuple[int, float, float]:
    """Append a live child (value v, code c) to ``opt``/``code``[:n] and update its
    parent's best and second-best values; returns the new count, best and second best."""
    opt[n] = v
    code[n] = c
    if v > best:
        return n + 1, v, best
    return n + 1, best, max(second, v)


@njit(cache=True)
def _account_children(t, a, s, e, front, moves, tables, thr_a, split, b_opt, b_code, tops):
    """The live children of an account's states ``s:e`` of the frontier, in order, with
    their optimistic values (``b_opt``; ``b_code``: frontier index × A + action), those in
    their last phase in row 1 of both if ``split``, the others in row 0; and per row the
    two best values of each parent's children (``tops``). Arguments as :func:`expand`'s,
    in tuples: ``front`` (``f_fam_sc``, ``f_v``, ``f_s``, ``owed``, ``rec``), ``moves``
    (``rule_rows``, ``act_ok``, ``pay_c``, ``act_vals``, ``child_sc``, ``child_last``,
    ``sc_g``) and ``tables`` (``lo100``, ``inv_w100``, ``U100``, ``V``, ``last_cap``,
    ``T_tail``, ``inv_wt100``). Returns the children and tops per row, and whether any
    move was allowed at all."""
    f_fam_sc, f_v, f_s, owed, rec = front
    rule_rows, act_ok, pay_c, act_vals, child_sc, child_last, sc_g = moves
    lo100, inv_w100, U100, V, last_cap, T_tail, inv_wt100 = tables
    nA = pay_c.shape[1]
    M = V.shape[2] - 1
    use_tail = T_tail.shape[0] > 0
    Mt = T_tail.shape[3] - 1
    # the account's bound row and constants of month t + 1, read once
    V_a = V[a, t + 1]
    lo_a = lo100[t + 1, a]
    iw_a = inv_w100[t + 1, a]
    U_a = U100[t + 1, a]
    ok_a = act_ok[t, a]
    pay_a = pay_c[a]
    vals_a = act_vals[t, a * nA : (a + 1) * nA]
    cap_a = last_cap[t, a * nA : (a + 1) * nA]
    n0 = n1 = 0
    any_move = False
    for si in range(s, e):
        fam_sc = f_fam_sc[si]
        ow = owed[si]
        v_si = f_v[si]  # read once: the stores below could alias them
        s_si = f_s[si]
        rec_si = rec[si]
        rule_s = rule_rows[fam_sc]
        last_s = child_last[fam_sc * nA : (fam_sc + 1) * nA]
        best0 = next0 = best1 = next1 = -np.inf  # the parent's two best per row
        for ai in range(nA):
            if not rule_s[ai] or not ok_a[ai]:
                continue
            p = pay_a[ai]
            if p >= ow:
                continue
            any_move = True
            n_B = ow - p
            last = last_s[ai]
            # optimistic value: value so far + survival × the bound at the next balance
            bnd = _interp(V_a, (n_B - lo_a) * iw_a, M)
            if not (n_B <= U_a and bnd > NEG_CUT):
                continue  # no plan from its balance (cut by nothing: dropped)
            if last and n_B > cap_a[ai]:
                continue
            if use_tail and last:
                # in its last phase the path is forced: the bound of that path
                g_l = sc_g[child_sc[fam_sc * nA + ai]]
                tail = _interp(T_tail[a, t + 1, g_l], n_B * inv_wt100[a], Mt)
                if not tail > NEG_CUT:
                    continue
                if tail < bnd:
                    bnd = tail
            n_v, n_s = _grow(v_si, s_si, rec_si, vals_a, ai)
            opt = n_v + n_s * bnd
            if not opt > thr_a:
                continue
            if split and last:
                n1, best1, next1 = _push(b_opt[1], b_code[1], n1, opt, si * nA + ai, best1, next1)
            else:
                n0, best0, next0 = _push(b_opt[0], b_code[0], n0, opt, si * nA + ai, best0, next0)
        k = si - s  # the best at k, the second best at e - s + k
        tops[0, k], tops[0, e - s + k], tops[1, k], tops[1, e - s + k] = best0, next0, best1, next1
    return n0, n1, any_move


@njit(cache=True)
def expand(
    t: int,
    f_acc: np.ndarray,
    f_fam_sc: np.ndarray,
    f_v: np.ndarray,
    f_s: np.ndarray,
    owed: np.ndarray,
    rec: np.ndarray,
    rule_rows: np.ndarray,
    act_ok: np.ndarray,
    pay_c: np.ndarray,
    act_vals: np.ndarray,
    child_sc: np.ndarray,
    child_last: np.ndarray,
    lo100: np.ndarray,
    inv_w100: np.ndarray,
    U100: np.ndarray,
    V: np.ndarray,
    last_cap: np.ndarray,
    T_tail: np.ndarray,
    inv_wt100: np.ndarray,
    sc_g: np.ndarray,
    thr: np.ndarray,
    cut_bound: np.ndarray,
    beam: int,
    last_width: int,
):
    """The children of the frontier kept for month t + 1.

    Frontier arrays (F,) are grouped by account: ``f_acc``, ``f_fam_sc`` (family × S +
    state code), value ``f_v`` and survival ``f_s`` so far, ``owed`` this month (cents),
    ``rec`` the recovery at the opening balance. Per account and action: ``act_ok[t]``,
    ``pay_c`` (cents), ``act_vals[t]`` (value per unit of survival, recovery weight,
    survival). ``rule_rows`` [family × S + code, action], ``child_sc`` / ``child_last``
    [(family × S + code) × A + action]. Bound lookups: ``V`` (n, H + 1, M + 1) with the
    nodes ``lo100``, ``inv_w100``, ``U100`` [t, account] (cents); with a non-empty
    ``T_tail`` (n, H + 1, G, Mt + 1), children in their last phase take the smaller of
    the two bounds. A child is live if its optimistic value beats the incumbent's
    threshold ``thr``. ``cut_bound`` is raised in place.

    Returns the kept children, in frontier order: parent index, payment (cents), account,
    family × S + state code, balance (cents), value, survival; and whether any move was
    allowed at all.
    """
    F = f_acc.size
    nA = pay_c.shape[1]
    front = (f_fam_sc, f_v, f_s, owed, rec)
    moves = (rule_rows, act_ok, pay_c, act_vals, child_sc, child_last, sc_g)
    tables = (lo100, inv_w100, U100, V, last_cap, T_tail, inv_wt100)
    split = last_width > 0
    b_opt = np.empty((2, F * nA))  # an account's live children: value, index × A + action
    b_code = np.empty((2, F * nA), np.int64)
    tops = np.empty((2, 2 * F))
    kept = np.empty(F * nA, np.int64)
    heap = np.empty(max(beam, last_width, 1))
    n_kept = 0
    any_move = False
    s = 0
    while s < F:
        a = f_acc[s]
        e = s
        while e < F and f_acc[e] == a:
            e += 1
        n0, n1, moved = _account_children(
            t, a, s, e, front, moves, tables, thr[a], split, b_opt, b_code, tops
        )
        any_move |= moved
        n_end, left = _keep_best(
            b_opt[0], b_code[0], n0, beam, _floor_of_best(tops[0], e - s, beam, heap),
            kept, n_kept, heap,
        )  # fmt: skip
        if split:
            floor1 = _floor_of_best(tops[1], e - s, last_width, heap)
            n_end, left1 = _keep_best(
                b_opt[1], b_code[1], n1, last_width, floor1, kept, n_end, heap
            )
            kept[n_kept:n_end].sort()  # back in frontier order
            left = max(left, left1)
        if left > cut_bound[a]:
            cut_bound[a] = left
        n_kept = n_end
        s = e
    out = _kept(kept[:n_kept], t, f_acc, f_fam_sc, f_v, f_s, owed, rec, pay_c, act_vals, child_sc)
    return (*out, any_move)


@njit(cache=True)
def _kept(kept, t, f_acc, f_fam_sc, f_v, f_s, owed, rec, pay_c, act_vals, child_sc):
    """The kept children of :func:`expand` (``kept``: frontier index × A + action, in
    order), made again (their optimistic values chose them): parent, payment, account,
    family × S + state code, balance, value, survival."""
    m = kept.size
    nA = pay_c.shape[1]
    S = child_sc.size // nA // 2  # state codes per family
    ints = np.empty((4, m), np.int64)  # parent, payment, code, balance (rows, contiguous)
    reals = np.empty((2, m))  # value, survival
    o_acc = np.empty(m, f_acc.dtype)
    for r in range(m):
        si = kept[r] // nA
        ai = kept[r] - si * nA
        a = f_acc[si]
        fam_sc = f_fam_sc[si]
        p = pay_c[a, ai]
        ints[0, r] = si
        ints[1, r] = p
        ints[2, r] = (fam_sc // S) * S + child_sc[fam_sc * nA + ai]
        ints[3, r] = owed[si] - p
        o_acc[r] = a
        vals_a = act_vals[t, a * nA : (a + 1) * nA]
        reals[0, r], reals[1, r] = _grow(f_v[si], f_s[si], rec[si], vals_a, ai)
    return ints[0], ints[1], o_acc, ints[2], ints[3], reals[0], reals[1]
