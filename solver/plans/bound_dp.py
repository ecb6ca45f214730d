"""The backward pass of the custom/step bound tables, compiled (issue 13: speed).

:func:`solver.plans.bounds._bound_tables` prepares, with the behaviour-model kernel, every
per-month quantity of the bounding dynamic programme (each action's value per unit of
survival, its survival and recovery weights, the recovery at each node, the geometry of
each month's nodes, the clearing requirements); what is left is plain arithmetic over
(month, account, action, node): the best action at every node, with the padding that
keeps the interpolant an upper bound. That loop is here, compiled with numba, so that
it runs in cache without the temporary (action, account, node) arrays of a vectorised
version: about 5× less CPU for the whole table build. Its per-action loop
(:func:`_action_max`) runs on unsigned indices in contiguous passes, which the compiler
vectorises (session 11: the kernel's CPU fell by about 40 %, bit for bit the same
values). The other loops of the table build (the node-band recurrences, the clearable
frontier, the recoveries at the nodes and the clearing requirements) are
:mod:`solver.plans.bound_loops`' (split from this module by role, session 17).

The arithmetic is the one documented in ``_bound_tables`` (read that docstring first),
done in float64. Nothing here knows the behaviour model: a plugged-in model changes the
inputs, not this code.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: "no plan from here" (finite, so interpolation stays finite); values below the cut mean no plan
NEG = -1e18
NEG_CUT = -1e17
MAX_FALL = 16.0  #: the frontier's chord falls at most this × g per unit of balance


@njit(cache=True)
def _fill_row(values: np.ndarray, out: np.ndarray) -> bool:
    """``values`` with every "no plan" node replaced by the nearest finite value to its
    left (the first finite value before any); False when the row has no plan at all."""
    m1 = values.size
    first = -1
    for j in range(m1):
        if values[j] > NEG_CUT:
            first = j
            break
    if first < 0:
        return False
    last = values[first]
    for j in range(m1):
        v = values[j]
        if v > NEG_CUT:
            last = v
            out[j] = v
        elif j < first:
            out[j] = values[first]
        else:
            out[j] = last
    return True


@njit(cache=True, inline="always")
def next_month_rows(
    Vf: np.ndarray, inv_next: float, gw: float, seg: np.ndarray, dV: np.ndarray, D1: np.ndarray
) -> float:
    """Next month's filled values ``Vf`` (M + 1) read for this month's pass: differences
    ``dV`` and slopes ``seg = dV·1/w`` per node interval (M), and the kink weights ``D1``:
    the fall in slope at node j + 1 times g·w_t (past the last node the value is held
    constant, a fall to slope 0; ``D1[M]`` is left alone). Returns the largest |slope|,
    the scale of the interest-rounding margin (:func:`add_margins`)."""
    M = seg.size
    seg_max = 0.0
    for j in range(M):
        dV[j] = Vf[j + 1] - Vf[j]
        s = dV[j] * inv_next
        seg[j] = s
        if abs(s) > seg_max:
            seg_max = abs(s)
    for j in range(M):
        d = seg[j] - seg[j + 1] if j + 1 < M else seg[j]
        D1[j] = d * gw if d > 0.0 else 0.0
    return seg_max


@njit(cache=True, inline="always")
def live_span(lo_live: float, hi_live: float, M: int) -> tuple[int, int]:
    """The node intervals ``p_start … p_end`` an action's live range (``i_first < p ≤
    i_last``, in node units) covers; ``p_start > p_end`` when none."""
    p_start = 0 if lo_live < 0.0 else int(math.floor(lo_live)) + 1
    p_end = M - 1 if hi_live >= M - 1 else int(math.floor(hi_live))
    return p_start, p_end


@njit(cache=True, inline="always")
def add_margins(req: np.ndarray, pay_req: np.ndarray, slack: float, seg_max: float) -> None:
    """Raise ``req`` to the actions' node values ``pay_req`` plus the margins: interest
    rounding (half a grid step × the largest slope) and a float margin."""
    base_margin = slack * seg_max + 1e-3
    for p in range(req.size):
        v = pay_req[p]
        v = v + base_margin + 1e-6 * abs(v)
        if v > req[p]:
            req[p] = v


@njit(cache=True, inline="always")
def store_row(req: np.ndarray, K: int, out: np.ndarray) -> None:
    """Write a month's node values ``req`` to ``out``: past the first node beyond U (``K``)
    only interpolation towards that node matters, so it is held there; "no plan" is
    ``NEG``."""
    M = req.size - 1
    if K < M:
        held = req[K]
        for p in range(K + 1, M + 1):
            req[p] = held
    for p in range(M + 1):
        out[p] = req[p] if req[p] > NEG_CUT else NEG


@njit(cache=True, error_model="numpy")
def _action_max(
    pay_req: np.ndarray,
    rows: tuple[np.ndarray, ...],
    p_start: np.uint64,
    p_end: np.uint64,
    terms: tuple[float, ...],
    pad_kink: float,
    ik: np.uint64,
) -> None:
    """Raise ``pay_req`` at the nodes ``p_start … p_end + 1`` to one action's value there
    plus the padding of the intervals ``p_start … p_end`` each node ends (see
    :func:`backward_pass`).

    ``rows``: next month's filled values ``Vf``, their differences ``dV``, the kink
    weights ``D1`` (at node j + 1 of interval j's image; ``D1[j + 1]`` at node j + 2),
    this month's recoveries at the nodes, and the work rows ``f``,
    ``dev``, ``frac``, ``at``; ``terms``: the action's ``c``, ``ρ``, ``1/ρ``, the last
    interval's index, survival ``q``, pay value and recovery weight; ``pad_kink`` the
    recovery kink's padding on interval ``ik``. Indices are unsigned, so that the
    compiler drops numba's negative-index wraparound: the loops are then plain
    contiguous loops (vectorised) instead of scatters.

    Three passes: where each node lands in next month's nodes (the interval ``at``
    holding ``xs``, clamped: below the first node the first segment is extended, past
    the last node held; the position ``frac`` in it); the value and padding at each
    node, in runs of nodes whose interval is the node's index plus a constant (ρ is
    close to 1: the gathers are then contiguous loads); the largest of the two paddings
    of each node's intervals. ``max(x, f + a, f + b) == max(x, f + max(a, b))`` bit for
    bit (rounding is monotone; a signed zero is lost in the margin added afterwards), so
    the result is the one of a node-by-node loop. When ρ ≤ 1 (``1/ρ ≥ 1``, about half
    the months) the second kink's term is dropped: ``u ≥ 0``, so ``u + 1/ρ ≥ 1`` and its
    weight ``max(u₂(1 − u₂), 0)`` is +0, the term ``D1·(+0) = +0`` and ``x + 0 = x`` for
    the padding ``x ≥ +0``: the same bits with a third less work per node.
    """
    Vf, dV, D1, Rt, f, dev, frac, at = rows
    c, rho, inv_rho, top, q, pay, rec = terms
    one = np.uint64(1)
    stop = p_end + np.uint64(2)
    for p in range(p_start, stop):
        xs = c + rho * p
        xc = xs if xs >= 1.0 else 0.0
        xc = xc if xc < top else top
        j0 = np.uint64(xc)
        at[p] = j0
        lam = xs - j0
        frac[p] = lam if lam < 1.0 else 1.0
    narrow = inv_rho >= 1.0
    b = p_start
    while b < stop:
        k = at[b] - b  # modulo 2**64: j = r + k below wraps back to at[r]
        e = b + one
        while e < stop and at[e] == e + k:
            e += one
        if narrow:  # ρ ≤ 1: u + 1/ρ ≥ 1, the second kink's term is +0 (dropped)
            for r in range(b, e):
                j = r + k
                lam = frac[r]
                f[r] = (Vf[j] + lam * dV[j]) * q + pay + rec * Rt[r]
                u = (1.0 - lam) * inv_rho
                dev[r] = D1[j] * max(u * (1.0 - u), 0.0)
            b = e
            continue
        for r in range(b, e):
            j = r + k
            lam = frac[r]
            f[r] = (Vf[j] + lam * dV[j]) * q + pay + rec * Rt[r]
            # concave kinks of next month's interpolant inside the image of interval r,
            # at fractions u and u + 1/ρ
            u = (1.0 - lam) * inv_rho
            u2 = u + inv_rho
            dev[r] = D1[j] * max(u * (1.0 - u), 0.0) + D1[j + one] * max(u2 * (1.0 - u2), 0.0)
        b = e
    if p_start <= ik <= p_end:
        dev[ik] += pad_kink
    # node p ends intervals p − 1 (its right end) and p (its left end)
    pay_req[p_start] = max(pay_req[p_start], f[p_start] + dev[p_start])
    for p in range(p_start + one, p_end + one):
        pay_req[p] = max(pay_req[p], f[p] + max(dev[p - one], dev[p]))
    pay_req[p_end + one] = max(pay_req[p_end + one], f[p_end + one] + dev[p_end])


@njit(cache=True, inline="always")
def action_end(
    pay_req: np.ndarray,
    rows: tuple[np.ndarray, ...],
    span: tuple[int, int],
    terms: tuple[float, ...],
    pad_kink: float,
    ik: int,
    end: tuple[float, float],
) -> tuple[float, float]:
    """:func:`_action_max`; for an action live on its last interval only up to ``p_end +
    lam_end`` (``end``: ``lam_end`` < 1, ``top_end``) node ``p_end + 1`` left as it was and
    its value there and at that point (:func:`end_value`), each plus the interval's
    padding, returned for :func:`frontier_value` (else ``(NEG, NEG)``)."""
    p_start, p_end = span
    keep = pay_req[p_end + 1]
    _action_max(pay_req, rows, np.uint64(p_start), np.uint64(p_end), terms, pad_kink, np.uint64(ik))
    if end[0] >= 1.0:
        return NEG, NEG
    pay_req[p_end + 1] = keep
    Vf, dV, _, Rt, f, dev = rows[:6]
    at_end = end_value(Vf, dV, Rt, terms, p_end, end[0], end[1])
    return f[p_end + 1] + dev[p_end], at_end + dev[p_end]


@njit(cache=True, inline="always")
def end_value(
    Vf: np.ndarray,
    dV: np.ndarray,
    Rt: np.ndarray,
    terms: tuple[float, ...],
    pe: int,
    lam_end: float,
    top_end: float,
) -> float:
    """One action's value at ``pe + lam_end`` node units (``terms`` as
    :func:`_action_max`'s): next month's interpolant read as there, but its interval
    ``top_end`` (ending past next month's ``U``) extended rather than held where the
    point falls on it (within the rounding margin: docs/free_family.md, "Session 16");
    the recovery by the chord of nodes ``pe``, ``pe + 1`` (the padding holds its kink)."""
    c, rho, _, top, q, pay, rec = terms
    xs = c + rho * (pe + lam_end)
    xc = xs if xs >= 1.0 else 0.0
    k = np.uint64(top_end)
    if dV[k] <= 0.0:
        j = int(xc if xc < top_end else top_end)
        lam = xs - j
    else:
        xc = xc if xc < top else top
        j = int(xc)
        lam = xs - j
        lam = lam if lam < 1.0 else 1.0
    r = Rt[pe] + lam_end * (Rt[pe + 1] - Rt[pe])
    return (Vf[j] + lam * dV[j]) * q + pay + rec * r


@njit(cache=True, inline="always")
def frontier_value(left: float, at_end: float, at_node: float, lam_end: float, gw: float) -> float:
    """What an action live on its last interval only up to ``lam_end`` (0 < ``lam_end``
    < 1) asks of the interval's right node, given the left node's value so far ``left``
    (before margins; any value at most the final one serves): the least value whose
    chord from ``left`` reaches ``at_end`` (its value plus padding at its last live point)
    at ``lam_end``, at most ``at_node`` (its value plus padding at the node, read on next
    month's values held past ``U``: the treatment without the frontier) and falling at
    most :data:`MAX_FALL` × ``gw`` (g·w_t) from ``left``, so that slopes stay bounded
    where no other action holds the node up (docs/free_family.md, "Session 16")."""
    if not lam_end > 0.0:
        return at_node
    v = left + (at_end - left) / lam_end
    floor = left - MAX_FALL * gw
    v = v if v > floor else floor
    return v if v < at_node else at_node


@njit(cache=True)
def apply_frontier(
    pay_req: np.ndarray, node: np.ndarray, ends: np.ndarray, k: int, gw: float
) -> None:
    """Raise ``pay_req`` at ``k`` nodes ``node`` to :func:`frontier_value` (``ends``
    (3, k): ``at_node``, ``at_end``, ``lam_end``) in node order (left nodes final)."""
    order = np.argsort(node[:k], kind="mergesort")
    for r in order:
        p = node[r]
        v = frontier_value(pay_req[p - 1], ends[1, r], ends[0, r], ends[2, r], gw)
        if v > pay_req[p]:
            pay_req[p] = v


@njit(cache=True, error_model="numpy")
def backward_pass(
    V: np.ndarray,
    clear_req: np.ndarray,
    to_bound: np.ndarray,
    hmax: int,
    G: int,
    c_all: np.ndarray,
    rho_all: np.ndarray,
    inv_next_all: np.ndarray,
    gw_all: np.ndarray,
    q_act: np.ndarray,
    pay_or_neg: np.ndarray,
    rec_act: np.ndarray,
    R: np.ndarray,
    has_kink: np.ndarray,
    iCc: np.ndarray,
    wR: np.ndarray,
    i_first_all: np.ndarray,
    i_last_all: np.ndarray,
    K_all: np.ndarray,
    slack: float,
    frontier: bool = False,
) -> None:
    """Fill the node values ``V`` (n, H + 1, M + 1) backwards from month index H − 1.

    Per month t (arrays indexed [t, action, account] unless said): ``c_all``, ``rho_all``
    [t, account] — the next balance from node i paying action a, in next month's node
    units, is ``c + ρ·i``; ``inv_next_all`` [t, account] next month's 1/w; ``gw_all``
    [t, account] the kink padding's scale g·w_t; ``q_act``, ``pay_or_neg`` (``NEG`` where
    the action is not allowed), ``rec_act`` survival, pay value and recovery weight of an
    action; ``R`` [t, account, node] the recovery at the nodes; ``has_kink``, ``iCc``,
    ``wR`` [account, t] the recovery kink's interval and padding; ``i_first_all``,
    ``i_last_all`` the live intervals (``i_first < i ≤ i_last``); ``K_all`` [account, t]
    the first node past U; ``clear_req`` [t, account, node] the clearing requirements.
    Actions are the G grid amounts then the holiday (only while t < ``hmax``).
    ``frontier``: an action's partly live last interval asks its right node only for
    :func:`frontier_value` (the free family's tables; the search's keep the old value).
    """
    n = V.shape[0]
    H = V.shape[1] - 1
    M = V.shape[2] - 1
    for i in range(n):
        for p in range(M + 1):
            V[i, H, p] = NEG
    Vf = np.empty(M + 1)
    seg = np.empty(M)
    D1 = np.zeros(M + 1)
    req = np.empty(M + 1)
    pay_req = np.empty(M + 1)
    dV = np.empty(M)  # next month's slopes (per node interval)
    at = np.empty(M + 1, np.uint64)
    frac = np.empty(M + 1)
    f = np.empty(M + 1)  # an action's value at the nodes
    dev = np.empty(M + 1)  # its padding on the intervals
    ends_node, ends = np.empty(G + 1, np.int64), np.empty((3, G + 1))  # the frontier's
    for t in range(H - 1, -1, -1):
        na = G + 1 if t < hmax else G
        for i in range(n):
            for p in range(M + 1):
                req[p] = clear_req[t, i, p]
            if t < H - 1 and to_bound[i, t] and _fill_row(V[i, t + 1], Vf):
                seg_max = next_month_rows(Vf, inv_next_all[t, i], gw_all[t, i], seg, dV, D1)
                rho = rho_all[t, i]
                inv_rho = 1.0 / rho
                for p in range(M + 1):
                    pay_req[p] = NEG
                top = float(M - 1)
                Rt = R[t, i]
                pad_kink = wR[i, t] if has_kink[i, t] else 0.0
                top_end = float(max(K_all[i, t + 1] - 1, 0))
                count = 0
                for a in range(na):
                    pay = pay_or_neg[t, a, i]
                    if pay <= NEG_CUT:  # not allowed this month
                        continue
                    # the live intervals p (i_first < p ≤ i_last): the others hold no
                    # possible balance and add nothing
                    p_start, p_end = live_span(i_first_all[t, a, i], i_last_all[t, a, i], M)
                    if p_start > p_end:
                        continue
                    rec = rec_act[t, a, i]
                    lam_end = i_last_all[t, a, i] - p_end if frontier else 1.0
                    rows = (Vf, dV, D1, Rt, f, dev, frac, at)
                    terms = (c_all[t, a, i], rho, inv_rho, top, q_act[t, a, i], pay, rec)
                    if lam_end >= 1.0:
                        _action_max(
                            pay_req,
                            rows,
                            np.uint64(p_start),
                            np.uint64(p_end),
                            terms,
                            rec * pad_kink,
                            np.uint64(iCc[i, t]),
                        )
                    else:
                        at_node, at_end = action_end(
                            pay_req, rows, (p_start, p_end), terms, rec * pad_kink, iCc[i, t],
                            (lam_end, top_end),
                        )  # fmt: skip
                        ends_node[count] = p_end + 1
                        ends[0, count], ends[1, count], ends[2, count] = at_node, at_end, lam_end
                        count += 1
                if count:  # (the search's tables: never)
                    apply_frontier(pay_req, ends_node, ends, count, gw_all[t, i])
                add_margins(req, pay_req, slack, seg_max)
            store_row(req, K_all[i, t], V[i, t])
