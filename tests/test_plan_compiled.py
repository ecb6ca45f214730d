"""The compiled inner loops of the plan search (issue 13: speed).

``solver/plans/bound_dp.py``, ``solver/plans/beam_step.py`` (with
``solver/plans/beam_clearing.py``) and ``solver/plans/level_value.py`` replaced vectorised
numpy code; the oracle tests (``test_plan_oracles.py``) check the bounds
and values they produce against brute force. These tests pin what the oracles see only
indirectly: the "no plan" filling of a node row, and — bit for bit, on random inputs —
the level-plan values and the clearing requirements of the bound tables against the
vectorised numpy code they replaced (kept here as the reference), so that replacing it
changed no plan. The beam's selection is tested with the month step in
``test_beam_step.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from solver.core.generate import generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.beam_clearing import (
    backtrack,
    clearing_rows,
    offer_clearing,
    owed_and_clearing,
    owed_cents,
)
from solver.plans.bound_dp import NEG, _action_max, _fill_row
from solver.plans.bounds import (
    _action_values,
    _clearable,
    _clearing_requirements,
    _node_bands,
    _node_recovery,
    _recovery_kinks,
)
from solver.plans.context import context_from_frame
from solver.plans.level_value import pairwise_sum
from solver.plans.payment_grid import holiday_months, payment_grids


@pytest.fixture(params=["compiled", "python"])
def pick(request):
    """A kernel compiled, or its own code interpreted by Python."""
    if request.param == "compiled":
        return lambda fn: fn
    return lambda fn: fn.py_func


@pytest.mark.parametrize(
    ("row", "filled"),
    [
        ([NEG, 3.0, NEG, 5.0, NEG], [3.0, 3.0, 3.0, 5.0, 5.0]),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),
        ([NEG, NEG, 7.0], [7.0, 7.0, 7.0]),
    ],
)
def test_fill_row_takes_the_nearest_value_on_the_left(row, filled) -> None:
    out = np.empty(len(row))
    assert _fill_row(np.array(row), out)
    assert out.tolist() == filled


def test_fill_row_reports_a_row_without_plans() -> None:
    assert not _fill_row(np.full(4, NEG), np.empty(4))


# --------------------------------------------------------------------------------------
# Level-plan values (solver/plans/level_value.py) against the vectorised reference
# --------------------------------------------------------------------------------------


def test_pairwise_sum_is_numpys_row_sum(pick) -> None:
    fn = pick(pairwise_sum)
    rng = np.random.default_rng(3)
    for n in [*range(0, 40), 63, 64, 127, 128, 129, 200, 257, 600]:
        x = rng.standard_normal((3, n)) * 10.0 ** rng.integers(-6, 6, (3, n))
        for row, total in zip(x, x.sum(axis=1), strict=True):
            assert fn(np.ascontiguousarray(row), n) == total


# the level kernels against their vectorised reference: tests/test_level_value.py


def test_level_scoring_asks_a_kernel_with_its_own_recovery() -> None:
    """A kernel whose ``recovery`` is its own (here the default formula again, overridden)
    has no recovery table: the scoring takes the array path and asks it -- and gets the
    compiled pass's values to the bit."""
    from solver.core.model import ModelKernel
    from solver.plans.families import concat, deferral_candidates, instalment_candidates
    from solver.plans.scoring import score

    asked = []

    class OwnRecovery(ModelKernel):
        def recovery(self, rows, exposures, cols=None):
            asked.append(np.shape(exposures))
            return super().recovery(rows, exposures, cols)

    class OwnModel(BehaviourModel):
        def kernel(self, params, horizon):
            return OwnRecovery(self, params, horizon)

    frame = generate_portfolio(40, seed=5)
    part = frame[frame["product"] == "auto_loan"]
    policy = Policy().for_product("auto_loan")
    ctx = context_from_frame(part, policy, BehaviourModel())
    own = context_from_frame(part, policy, OwnModel())
    assert ctx.kernel.recovery_table() is not None and own.kernel.recovery_table() is None
    cand = concat([instalment_candidates(ctx), deferral_candidates(ctx)])
    ok, value = score(ctx, cand, 0.01)
    assert not asked
    ok_own, value_own = score(own, cand, 0.01)
    assert asked  # the array path asked the kernel
    assert ok.any() and np.array_equal(ok, ok_own)
    assert np.array_equal(value, value_own)


# --------------------------------------------------------------------------------------
# Clearing requirements of the bound tables (bound_loops.clearing_points / clearing_fill)
# --------------------------------------------------------------------------------------


def _reference_clearing(ctx, lo, w, capt, M, kinks):
    """The vectorised clearing requirements the compiled kernels replaced."""
    n, H = len(ctx), ctx.horizon
    g = 1.0 + ctx.monthly_rate
    disc, disc_lag = ctx.discount, ctx.discount_lag
    _, has_kink, iCc, wR = kinks
    inv_w = 1.0 / w
    slack = 0.005  # half a cent: the demo book is CNY
    Bc = (capt + slack) / g[:, None]
    clear_req = np.full((H, n, M + 1), NEG)
    with np.errstate(invalid="ignore"):
        count = np.floor((Bc - lo[:, :H]) * inv_w[:, :H]) + 2.0
    count = np.clip(np.nan_to_num(count, nan=0.0, neginf=0.0), 0, M).astype(np.int64).ravel()
    r_row = np.repeat(np.arange(n * H), count)
    r_m = np.arange(r_row.size) - np.repeat(np.cumsum(count) - count, count)
    r_acc, r_t = np.divmod(r_row, H)
    lo_c = lo[r_acc, r_t] + r_m * w[r_acc, r_t]
    keep = lo_c <= Bc[r_acc, r_t]
    r_acc, r_t, r_m, lo_c = r_acc[keep], r_t[keep], r_m[keep], lo_c[keep]
    if not r_acc.size:
        return clear_req
    hi_c = lo[r_acc, r_t] + (r_m + 1) * w[r_acc, r_t]
    g_r = g[r_acc]
    Bc_r = Bc[r_acc, r_t]
    c_lo = np.maximum(lo_c * g_r - slack, 0.0)
    c_hi = np.minimum(hi_c * g_r + slack, capt[r_acc, r_t])
    h_lo = ctx.kernel.hazard(r_acc, c_lo, r_t)
    h_hi = ctx.kernel.hazard(r_acc, np.maximum(c_hi, 0.0), r_t)
    k_pay = disc[r_t] * (1.0 - h_lo)
    k_rec = disc_lag[r_t] * h_hi
    B_end = np.minimum(hi_c, Bc_r)
    m_lo = k_pay * (lo_c * g_r + slack) + k_rec * ctx.kernel.recovery(r_acc, lo_c, r_t)
    m_hi = k_pay * (B_end * g_r + slack) + k_rec * ctx.kernel.recovery(r_acc, B_end, r_t)
    dev_c = np.where(
        Bc_r < hi_c, (k_pay * g_r + k_rec) * (Bc_r - lo_c) * (hi_c - Bc_r) * inv_w[r_acc, r_t], 0.0
    )
    in_c = has_kink[r_acc, r_t] & (r_m == iCc[r_acc, r_t])
    dev_c += np.where(in_c, k_rec * wR[r_acc, r_t], 0.0)
    clear_req[r_t, r_acc, r_m] = m_lo + dev_c
    clear_req[r_t, r_acc, r_m + 1] = np.maximum(clear_req[r_t, r_acc, r_m + 1], m_hi + dev_c)
    return clear_req


@pytest.mark.parametrize("product", ["auto_loan", "card_instalment"])
@pytest.mark.parametrize("buckets", [24, 192])
def test_clearing_requirements_equal_the_vectorised_reference_bit_for_bit(product, buckets) -> None:
    frame = generate_portfolio(120, seed=17)
    part = frame[frame["product"] == product]
    ctx = context_from_frame(part, Policy().for_product(product), BehaviourModel())
    amounts, _ = payment_grids(ctx, 12)
    holiday = holiday_months(ctx)
    H = ctx.horizon
    U, top = _clearable(ctx)
    lo, _, w = _node_bands(ctx, amounts, holiday, U, top, buckets)
    capt = _action_values(ctx, amounts, holiday)[-1]
    kinks = _recovery_kinks(ctx, w[:, :H], lo[:, :H], buckets)
    got = _clearing_requirements(
        ctx, lo, w, capt, buckets, kinks, _node_recovery(ctx, lo, w, buckets)
    )
    want = _reference_clearing(ctx, lo, w, capt, buckets, kinks)
    assert (want > NEG).any()
    assert np.array_equal(got, want)


@pytest.mark.parametrize("on", [1, 100])
def test_owed_cents_is_balance_plus_interest_cents(on) -> None:
    """The compiled month step's interest equals the exact half-up rule, half cents
    included, on the money grid (``on`` = 100: whole yen, balances in whole units)."""
    from solver.plans.payment_grid import MONTHLY_DEN, exact_owed, interest_cents

    rng = np.random.default_rng(11)
    rate_units = np.array([0, 12 * 10**10, 18 * 10**10, 239_999_999_999, 6 * 10**11])
    rate_f = rate_units.astype(float) / MONTHLY_DEN
    acc = rng.integers(0, rate_units.size, 20_000)
    units = rng.integers(0, 10**9 // on, acc.size)
    # balances whose interest is exactly half a unit at 12 % (1 % a month): 50 + 100·k units
    units[:500] = 50 + 100 * rng.integers(0, 10**6 // on, 500)
    acc[:500] = 1
    balance = units * on
    owed, near = owed_cents(balance, acc, rate_f, on)
    assert near.size >= 500  # the half units are redone
    exact_owed(owed, near, balance, acc, rate_units, on)
    assert np.array_equal(owed, (units + interest_cents(units, rate_units[acc])) * on)


def test_owed_and_clearing_is_owed_then_clearing_rows() -> None:
    rng = np.random.default_rng(3)
    n_acc, nA, S = 6, 5, 4
    rate_f = rng.choice([0.0, 0.01, 0.015], n_acc)
    for _ in range(50):
        F, f_acc, f_fam_sc, _ = _random_frontier(rng, n_acc, nA, S)
        f_B = rng.integers(0, 5_000, F)
        cap_t = rng.integers(-1, 6_000, n_acc)
        not_last = rng.random(2 * S) < 0.5
        sc_g = rng.integers(-1, nA - 1, S)
        pay_c = rng.integers(0, 5_000, (n_acc, nA))
        rule = (f_fam_sc, cap_t, not_last, sc_g, pay_c, S)
        owed, near, ci = owed_and_clearing(f_B, f_acc, rate_f, 1, rule)
        want, want_near = owed_cents(f_B, f_acc, rate_f, 1)
        assert np.array_equal(owed, want) and np.array_equal(near, want_near)
        rows = clearing_rows(want, f_acc, rule)
        assert np.array_equal(ci, rows)


def _reference_best(acc, value, n_acc, k):
    """The lexsort the compiled top-k replaced: by account, value descending, stable."""
    order = np.lexsort((-value, acc))
    finite = order[np.isfinite(value[order])]
    bounds = np.searchsorted(acc[finite], np.arange(n_acc + 1))
    return [finite[bounds[i] : min(bounds[i + 1], bounds[i] + k)] for i in range(n_acc)]


def test_best_per_account_is_the_stable_sort_by_value() -> None:
    from solver.plans.scoring import best_per_account

    rng = np.random.default_rng(2)
    for _ in range(500):
        n, m, k = int(rng.integers(1, 8)), int(rng.integers(0, 80)), int(rng.integers(1, 8))
        acc = rng.integers(0, n, m)
        if rng.random() < 0.5:
            value = rng.choice([1.0, 2.0, -np.inf, 3.0, np.nan, 2.5], m)
        else:
            value = rng.standard_normal(m)
        got = best_per_account(acc, value, n, k)
        want = _reference_best(acc, value, n, k)
        assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))


def test_backward_pass_compiled_equals_its_python(monkeypatch) -> None:
    """The compiled backward pass of the bound tables gives, bit for bit, what its own code
    gives interpreted by Python (real inputs of a few accounts, coarse nodes; the
    per-action loop interpreted too)."""
    from solver.plans import bound_dp, bounds

    frame = generate_portfolio(40, seed=23)
    part = frame[frame["product"] == "auto_loan"].head(3)
    ctx = context_from_frame(part, Policy().for_product("auto_loan"), BehaviourModel())
    amounts, _ = payment_grids(ctx, 12)
    seen = []
    compiled = bounds.backward_pass

    def keep(*args):
        seen.append(args)
        compiled(*args)

    monkeypatch.setattr(bounds, "backward_pass", keep)
    bounds.bound_tables(ctx, amounts, 12, holiday_months(ctx))
    (args,) = seen
    V = args[0]
    again = np.empty_like(V)
    monkeypatch.setattr(bound_dp, "_action_max", bound_dp._action_max.py_func)
    with np.errstate(over="ignore"):  # unsigned index offsets wrap, as compiled
        compiled.py_func(again, *args[1:])
    assert (V > NEG).any()
    assert np.array_equal(V, again)


def _reference_action_max(pay_req, Vf, D1, D2, Rt, p_start, p_end, terms, pad_kink, ik):
    """The node-by-node loop that ``_action_max`` replaced: each node's value, the padding
    of the interval to its left and of the interval to its right, one at a time."""
    c, rho, inv_rho, top, q, pay, rec = terms
    out = pay_req.copy()
    prev_dev = 0.0
    for p in range(p_start, p_end + 2):
        xs = c + rho * p
        j0 = int(min(xs if xs >= 1.0 else 0.0, top))
        lam = min(xs - j0, 1.0)
        f = (Vf[j0] + lam * (Vf[j0 + 1] - Vf[j0])) * q + pay + rec * Rt[p]
        if p > p_start:
            out[p] = max(out[p], f + prev_dev)
        if p <= p_end:
            u = (1.0 - lam) * inv_rho
            u2 = u + inv_rho
            dev = D1[j0] * max(u * (1.0 - u), 0.0) + D2[j0] * max(u2 * (1.0 - u2), 0.0)
            if p == ik:
                dev += pad_kink
            out[p] = max(out[p], f + dev)
            prev_dev = dev
    return out


def test_action_max_equals_the_node_by_node_loop(pick) -> None:
    """``_action_max`` (in runs of contiguous loads, the two paddings of a node merged)
    gives, bit for bit, the node-by-node loop: ρ near 1 (long runs), far from it, tiny
    (every node in one interval), nodes below the first and past the last next-month
    node, kinks with and without padding, live ranges inside the row."""
    fn = pick(_action_max)
    rng = np.random.default_rng(31)
    for trial in range(300):
        M = int(rng.integers(2, 40))
        Vf = np.cumsum(rng.standard_normal(M + 1)) * 100.0
        Vf[rng.random(M + 1) < 0.1] = 0.0
        dV = Vf[1:] - Vf[:-1]
        D1 = np.where(rng.random(M + 1) < 0.5, 0.0, rng.random(M + 1) * 10.0)
        D1[M] = 0.0
        D2 = np.append(D1[1:], 0.0)
        Rt = rng.random(M + 1) * 500.0
        rho = float(rng.choice([1e-4, 0.3, 0.9, 1.0, 1.0 + 1e-7, 1.013, 1.4, 1.999]))
        c = float(rng.uniform(-0.5 * M, 0.5 * M))
        p_start = int(rng.integers(0, M))
        p_end = int(rng.integers(p_start, M))
        terms = (c, rho, 1.0 / rho, float(M - 1), rng.random(), rng.random() * 900, rng.random())
        pad_kink = float(rng.choice([0.0, rng.random() * 5.0]))
        ik = int(rng.integers(0, M))
        pay_req = np.where(rng.random(M + 1) < 0.3, NEG, rng.standard_normal(M + 1) * 3e3)
        want = _reference_action_max(pay_req, Vf, D1, D2, Rt, p_start, p_end, terms, pad_kink, ik)
        got = pay_req.copy()
        work = (np.empty(M + 1), np.empty(M + 1), np.empty(M + 1), np.empty(M + 1, np.uint64))
        with np.errstate(over="ignore"):
            fn(
                got,
                (Vf, dV, D1, Rt, *work),
                np.uint64(p_start),
                np.uint64(p_end),
                terms,
                pad_kink,
                np.uint64(ik),
            )
        assert np.array_equal(got, want), trial


# --------------------------------------------------------------------------------------
# The search's month step (beam_clearing: clearing_rows, offer_clearing, backtrack)
# --------------------------------------------------------------------------------------


def _random_frontier(rng, n_acc=6, nA=5, S=4):
    F = int(rng.integers(1, 60))
    f_acc = np.sort(rng.integers(0, n_acc, F))
    f_fam_sc = rng.integers(0, 2 * S, F)
    owed = rng.integers(0, 5_000, F)
    return F, f_acc, f_fam_sc, owed


def test_clearing_rows_and_offers_equal_the_vectorised_reference(pick) -> None:
    rows_fn = pick(clearing_rows)
    offer_fn = pick(offer_clearing)
    rng = np.random.default_rng(9)
    n_acc, nA, S = 6, 5, 4
    for _ in range(200):
        F, f_acc, f_fam_sc, owed = _random_frontier(rng, n_acc, nA, S)
        cap_t = rng.integers(-1, 6_000, n_acc)
        not_last = rng.random(2 * S) < 0.5
        sc_g = rng.integers(-1, nA - 1, S)
        pay_c = rng.integers(0, 5_000, (n_acc, nA))
        pay_c[:, -1] = 0  # the holiday
        # the vectorised rule: within the cap and, in a last phase, at most the amount
        cur = pay_c.ravel()[f_acc * nA + sc_g[f_fam_sc % S]]  # g = -1: the holiday, 0
        want = np.flatnonzero((owed <= cap_t[f_acc]) & (not_last[f_fam_sc] | (owed <= cur)))
        ci = rows_fn(owed, f_acc, (f_fam_sc, cap_t, not_last, sc_g, pay_c, S))
        assert np.array_equal(ci, want)
        if not ci.size:
            continue
        f_v, f_s, rec = rng.random(F) * 100, rng.random(F), rng.random(F) * 50
        hz = rng.choice([0.01, 0.02, 0.05], ci.size)
        value = np.where(rng.random(n_acc) < 0.5, -np.inf, rng.random(n_acc) * 100)
        thr, month = value.copy(), np.full(n_acc, -1)
        state, final = np.zeros(n_acc, np.int64), np.zeros(n_acc, np.int64)
        got = [value.copy(), thr, month, state, final]
        offer_fn(ci, f_acc, f_v, f_s, owed, hz, rec, 0.99, 0.97, 3, *got)
        # reference: each account's first best clearing value replaces a worse incumbent
        c = owed[ci] / 100.0
        vc = f_v[ci] + f_s[ci] * (0.99 * (1.0 - hz) * c + 0.97 * hz * rec[ci])
        for a in np.unique(f_acc[ci]):
            mine = np.flatnonzero(f_acc[ci] == a)
            k = mine[np.argmax(vc[mine])]
            if vc[k] > value[a]:
                assert got[0][a] == vc[k] and got[2][a] == 3 and got[3][a] == ci[k]
                assert got[4][a] == owed[ci[k]] and got[1][a] == vc[k] + 1e-12 * abs(vc[k])
            else:
                assert got[0][a] == value[a] and got[2][a] == -1


def test_backtrack_walks_the_kept_children_back(pick) -> None:
    fn = pick(backtrack)
    rng = np.random.default_rng(4)
    for _ in range(100):
        T = int(rng.integers(1, 12))
        sizes = rng.integers(1, 8, T)
        layers = []
        prev = 1
        for m in range(T):
            layers.append((rng.integers(0, prev, sizes[m]), rng.integers(0, 10_000, sizes[m])))
            prev = sizes[m]
        P = int(rng.integers(1, 6))
        month = rng.integers(0, T + 1, P)
        state = np.array([rng.integers(0, sizes[m - 1]) if m > 0 else 0 for m in month])
        final = rng.integers(0, 10_000, P)
        start = np.cumsum([0] + [p.size for p, _ in layers])
        parent = np.concatenate([p for p, _ in layers])
        paid = np.concatenate([c for _, c in layers])
        got = fn(parent, paid, start, state, final, month)
        for r in range(P):
            want = np.zeros(got.shape[1], np.int64)
            want[month[r]] = final[r]
            sid = state[r]
            for m in range(month[r] - 1, -1, -1):
                want[m] = layers[m][1][sid]
                sid = layers[m][0][sid]
            assert np.array_equal(got[r], want)


def _reference_prefilter(ctx, cand, P):
    """The vectorised closed-form checks the compiled prefilter replaced."""
    from solver.plans.context import CAP_TOL

    pol, H, D, cap = ctx.policy, ctx.horizon, cand.deferral, ctx.cap
    ok = cand.term <= H
    tol = CAP_TOL * np.maximum(1.0, np.abs(P))
    last_level = cand.term - 2
    for d in range(int(D.max(initial=0)) + 1):
        rows = np.flatnonzero(D == d)
        run = np.minimum.accumulate(cap[:, d:], axis=1)
        has = last_level[rows] >= d
        col = np.clip(last_level[rows] - d, 0, H - d - 1)
        m = np.where(has, run[cand.acc[rows], col], np.inf)
        ok[rows] &= (P[rows] <= m + tol[rows]) & (~has | (P[rows] >= pol.min_payment - 1e-9))
        io = rows[cand.mode[rows] == 1] if d > 0 else rows[:0]
        first = np.minimum.accumulate(cap, axis=1)[cand.acc[io], d - 1]
        pay = cand.balance[io] * (cand.rate[io] / 12.0)
        ok[io] &= (pay <= first + CAP_TOL * np.maximum(1.0, pay)) & (
            (pay >= pol.min_payment - 1e-9) | (pay <= 0.0)
        )
    return ok


@pytest.mark.parametrize("product", ["auto_loan", "card_instalment"])
def test_level_prefilter_equals_the_vectorised_reference(product) -> None:
    from solver.plans.families import (
        concession_candidates,
        deferral_candidates,
        instalment_candidates,
        settlement_candidates,
        waterfall_candidates,
    )
    from solver.plans.scoring import _prefilter_parts

    frame = generate_portfolio(120, seed=29)
    part = frame[frame["product"] == product]
    ctx = context_from_frame(part, Policy().for_product(product), BehaviourModel())
    for make in (
        instalment_candidates,
        deferral_candidates,
        concession_candidates,
        settlement_candidates,
        waterfall_candidates,
    ):
        cand = make(ctx)
        ok, _, P = _prefilter_parts(ctx, cand, ctx.policy.rounding)
        want = _reference_prefilter(ctx, cand, P)
        assert want.any() and not want.all()
        assert np.array_equal(ok, want), make.__name__


@pytest.mark.parametrize("product", ["auto_loan", "card_instalment"])
def test_shared_action_hazards_are_the_searchs_own(product) -> None:
    """The bound tables and every search of a grid share one ``action_hazards`` array.

    The search pays the grid amounts in cents, so sharing is exact only if the grid is on
    the cent; then the shared hazards equal, bit for bit, the model's hazards of the
    amounts in cents (what the search computed for itself before), and a search given
    them finds the same plans as one that computes them."""
    from solver.plans.bounds import action_hazards
    from solver.plans.search import SearchParams, solve_runs

    frame = generate_portfolio(60, seed=23)
    part = frame[frame["product"] == product]
    ctx = context_from_frame(part, Policy().for_product(product), BehaviourModel())
    amounts, step = payment_grids(ctx, 12)
    finite = np.isfinite(amounts)
    cents = np.round(amounts[finite] * 100)
    assert np.array_equal(cents / 100, amounts[finite])  # on the cent
    shared = action_hazards(ctx, amounts)
    n, H = len(ctx), ctx.horizon
    in_cents = np.where(finite, np.round(np.where(finite, amounts, 0.0) * 100) / 100, 0.0)
    for g in range(amounts.shape[1]):  # the kernel's own hazard, one amount at a time
        pay = np.broadcast_to(in_cents[:, g : g + 1], (n, H))
        assert np.array_equal(shared[:, g], ctx.kernel.hazard(np.arange(n), pay))
    assert np.array_equal(shared[:, -1], ctx.kernel.hazard(np.arange(n), np.zeros((n, H))))
    search = SearchParams()
    a = solve_runs(ctx, amounts, step, increasing=False, search=search, hazards=shared)
    b = solve_runs(ctx, amounts, step, increasing=False, search=search)
    assert [(s.objective, s.bound, s.status) for s in a] == [
        (s.objective, s.bound, s.status) for s in b
    ]
    assert all(
        (x.payments is None and y.payments is None) or np.array_equal(x.payments, y.payments)
        for x, y in zip(a, b, strict=True)
    )
