"""The free bound's work counter (session 22: ``benchmarks/free_family.py screen`` reads it).

``free_bounds(…, work=…)`` must add up the pruned passes' exact values and block bounds
without changing the bound: the screen's per-node figures come from it.
"""

from __future__ import annotations

import numpy as np

from solver.core.account import Account
from solver.core.generate import generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.context import PlanContext, context_from_account
from solver.plans.free_bound import free_bounds, unit_grid


def _contexts(n: int, seed: int) -> list[PlanContext]:
    """One context per generated account with unit amounts, under its product's policy."""
    out = []
    for acc in Account.from_frame(generate_portfolio(n, seed=seed)):
        ctx = context_from_account(acc, Policy().for_product(acc.product), BehaviourModel())
        if np.isfinite(unit_grid(ctx)).any():
            out.append(ctx)
    return out


def test_work_counter_counts_without_changing_the_bound() -> None:
    """With a work array the bound is the same bit for bit and the counters add up per call."""
    ctxs = _contexts(6, seed=22)
    assert ctxs
    for ctx in ctxs:
        plain = free_bounds(ctx, 48, tolerance=1e-5).bound
        work = np.zeros(2, np.int64)
        counted = free_bounds(ctx, 48, tolerance=1e-5, work=work).bound
        assert np.array_equal(plain, counted)
        once = work.copy()
        free_bounds(ctx, 48, tolerance=1e-5, work=work)
        assert np.array_equal(work, 2 * once)
        if np.isfinite(plain).all():  # the pass ran: it evaluated and bounded something
            assert once[0] > 0 and once[1] > 0
