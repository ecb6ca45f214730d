"""The compiled free rollout (solver.plans.free_rollout) and custom as the free family
(solver.plans.free_custom, ``SearchParams(free_family=True)``).

References: the study's Python rollout (:func:`solver.plans.free_bound.rollout`, its own
loop), the public evaluator and policy check (``solver.evaluate``,
``policy_violations``), and the brute-force optimum of tiny accounts of
tests/test_free_bound.py (own SPEC §4/§5 code).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from test_free_bound import CASES, _account, _brute_force, _policy

from solver import evaluate
from solver.core.account import Account
from solver.core.generate import generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.officer.policy_check import policy_violations
from solver.officer.proposal import Proposal, proposal_schedule
from solver.plans.context import context_from_account, context_from_frame
from solver.plans.free_bound import clear_paths, free_bounds, rollout
from solver.plans.free_rollout import rollouts
from solver.plans.options import plan_options
from solver.plans.search import SearchParams

#: small tables keep the free bound cheap; the rollout's semantics do not depend on them
FAST = SearchParams(free_family=True, free_buckets=96, free_refine_buckets=(192,))


def _oracle_npv(ctx, i: int, pay: np.ndarray) -> float:
    """SPEC §4 NPV of a payment path of account ``i`` by solver.evaluate of its cent schedule."""
    full, exp = clear_paths(ctx, i, np.round(pay[:-1] * 100).astype(np.int64)[None, :])
    from solver.plans.context import npv

    return float(npv(ctx, np.array([i]), full, exp, np.array([full.shape[1]]))[0])


@pytest.fixture(scope="module")
def book():
    """Two products' contexts of a small generated book with their free bounds (96 buckets)."""
    frame = generate_portfolio(40, seed=5)
    out = []
    for product, part in frame.groupby("product", sort=True):
        ctx = context_from_frame(part, Policy().for_product(str(product)), BehaviourModel())
        out.append((part, ctx, free_bounds(ctx, 96)))
    return out


def test_compiled_rollout_finds_the_study_rollouts_plans(book):
    """rollouts() gives the Python rollout's plan (or, on a tie, one of equal NPV) on every account, widths 1 and 3."""
    compared = 0
    for _, ctx, free in book:
        rows = np.arange(len(ctx))
        for width in (1, 3):
            new = rollouts(ctx, rows, free, width=width)
            for i in rows.tolist():
                old = rollout(ctx, i, free, width=width) if np.isfinite(free.bound[i]) else None
                assert (old is None) == (new[i] is None), i
                if old is None:
                    continue
                compared += 1
                if old.shape == new[i].shape and np.array_equal(old, new[i]):
                    continue
                a, b = _oracle_npv(ctx, i, old), _oracle_npv(ctx, i, new[i])
                assert b == pytest.approx(a, rel=1e-9), (i, old, new[i])
    assert compared >= 50


def test_compiled_rollout_plans_pass_policy_and_evaluate(book):
    """Every rollout plan, booked as a proposal, breaks no policy rule and lies below the free bound."""
    checked = 0
    for part, ctx, free in book:
        plans = rollouts(ctx, np.arange(len(ctx)), free)
        pol = ctx.policy
        for i, acc in enumerate(Account.from_frame(part)):
            if plans[i] is None:
                continue
            booked = proposal_schedule(
                acc, Proposal(payments=tuple(plans[i].tolist())), pol.rounding
            )
            assert not policy_violations(acc, booked, pol, BehaviourModel()), acc.account_id
            value = evaluate(acc, booked.schedule).npv
            assert value <= free.bound[i] + 1e-6
            assert value == pytest.approx(_oracle_npv(ctx, i, plans[i]), rel=1e-12)
            checked += 1
    assert checked >= 25


def test_free_custom_options_reconcile_and_are_certified_over_every_amount():
    """With free_family, custom is at least the grid plan and step, equals evaluate(), passes policy, and its bound holds."""
    checked = 0
    for acc in Account.from_frame(generate_portfolio(10, seed=23)):
        pol = Policy().for_product(acc.product)
        grid = plan_options(acc, pol, relax=False)
        free = plan_options(acc, pol, search=FAST, relax=False)
        cu, cu_grid, st = free.option("custom"), grid.option("custom"), free.option("step")
        assert cu.feasible == cu_grid.feasible
        if not cu.feasible:
            continue
        checked += 1
        assert cu.bound_over == "every_amount" and cu.terms.grid is None
        assert cu.npv >= cu_grid.npv - 1e-9 * abs(cu_grid.npv)
        assert cu.npv == pytest.approx(evaluate(acc, cu.schedule).npv, rel=1e-12)
        booked = proposal_schedule(
            acc, Proposal(payments=tuple(cu.payments.tolist())), pol.rounding
        )
        assert np.array_equal(booked.schedule.payments, cu.payments)  # reconciles to the cent
        assert not policy_violations(acc, booked, pol, BehaviourModel())
        # the bound's validity is checked against brute force (tests/test_free_bound.py);
        # here: the reported gap is the one the bound and the NPV give
        assert math.isclose(cu.gap, max(0.0, (cu.bound - cu.npv) / abs(cu.bound)), abs_tol=1e-9)
        if st.feasible:
            assert cu.npv >= st.npv - 1e-9 * abs(st.npv)
            if st.bound_over == "every_amount":
                assert st.terms.grid is None
        rec = free.recommended_option
        if rec is not None and rec.family in ("custom", "step"):
            assert rec.bound_over == "every_amount"
        assert (
            free.to_dict()["options"][[o.label for o in free.options].index("custom")]["bound_over"]
            == "every_amount"
        )
    assert checked >= 5


@pytest.mark.parametrize("k", range(len(CASES)))
def test_free_custom_is_within_the_brute_force_optimum(k):
    """On tiny accounts, free custom's plan is at most the brute-force optimum, within 0.1 % of it, and its bound is above it."""
    fields, over = CASES[k]
    acc = _account(fields)
    pol = _policy(over).for_product(acc.product)
    best = _brute_force(fields, over)
    cu = plan_options(acc, pol, search=FAST, relax=False).option("custom")
    assert cu.feasible
    assert cu.npv <= best + 1e-6
    assert cu.npv >= best * (1 - 1e-3)
    assert cu.bound >= best - 1e-6


def test_flag_off_keeps_the_grid_certificate():
    """Without free_family the custom and step certificates stay on the grid (marked so, grid recorded)."""
    acc = Account.from_frame(generate_portfolio(3, seed=23))[0]
    res = plan_options(acc, relax=False, search=replace(FAST, free_family=False))
    for label in ("custom", "step"):
        opt = res.option(label)
        if opt.feasible:
            assert opt.bound_over == "payment_grid" and opt.terms.grid


def test_free_rollout_reads_a_plugged_in_hazard():
    """The rollout's hazards come from the kernel: a kernel with a higher hazard changes the plan's value as evaluate() does."""
    from solver.core.model import ModelKernel

    class Riskier(ModelKernel):
        def hazard_of_afford(self, rows, afford):  # noqa: D102 - a test kernel
            return np.minimum(1.0, 1.5 * super().hazard_of_afford(rows, afford))

    fields, over = CASES[1]
    acc = _account(fields)
    pol = _policy(over).for_product(acc.product)
    ctx = context_from_account(acc, pol, BehaviourModel())
    ctx_r = replace(ctx, kernel=Riskier.__new__(Riskier))
    ctx_r.kernel.__dict__.update(ctx.kernel.__dict__)
    for c in (ctx, ctx_r):
        free = free_bounds(c, 96)
        pay = rollouts(c, np.array([0]), free)[0]
        assert pay is not None
        py = rollout(c, 0, free)
        assert _oracle_npv(c, 0, pay) == pytest.approx(_oracle_npv(c, 0, py), rel=1e-9)


def test_a_plan_above_the_free_bound_is_never_certified_from_it(monkeypatch):
    """If the free bound came out below a plan (an invalid bound), custom keeps the grid plan and its grid certificate."""
    import solver.plans.free_custom as fc

    real = fc.free_bounds

    def too_low(ctx, buckets, **kwargs):
        fb = real(ctx, buckets, **kwargs)
        return replace(fb, bound=fb.bound - 1e4)

    monkeypatch.setattr(fc, "free_bounds", too_low)
    fields, over = CASES[2]
    acc = _account(fields)
    pol = _policy(over).for_product(acc.product)
    grid = plan_options(acc, pol, relax=False).option("custom")
    cu = plan_options(acc, pol, search=FAST, relax=False).option("custom")
    assert cu.bound_over == "payment_grid" and cu.terms.grid
    assert cu.npv == grid.npv and cu.bound == grid.bound


def test_plan_table_marks_only_grid_certificates():
    """The plan table's † follows bound_over: none on a custom certified over every amount, and the note says so."""
    from pathlib import Path

    from commands.plan_output import GRID_MARK, grid_note, option_rows
    from solver.core.readers import read_account

    acc = read_account(Path(__file__).parents[1] / "scenarios" / "sample_account.toml")
    res = plan_options(acc, search=FAST)
    rows = {cells[0].removeprefix("★ "): cells for cells, _ in option_rows(res, "CNY")}
    note = grid_note(res, "CNY")
    for opt in res.options:
        if opt.feasible and opt.family in ("custom", "step"):
            marked = rows[opt.label][9].endswith(GRID_MARK)
            assert marked == (opt.bound_over == "payment_grid"), opt.label
            if opt.bound_over == "every_amount":
                assert opt.label in note.splitlines()[-1]
    assert res.option("custom").bound_over == "every_amount"
    assert "proved over every schedule of the family" in note
    assert "months without payment capitalised, at most max_deferral_months in a row" in note
