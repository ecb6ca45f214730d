"""Free-family study (session 12): the rollout + polish plans through the public evaluator and policy check.

For every account of ``generate_portfolio(N, SEED)`` with a finite free bound: the
bound-guided rollout, polished (:mod:`solver.plans.free_bound`), booked as a customer
proposal (``proposal_schedule``), checked by ``policy_violations`` and valued by
``solver.evaluate``. Prints the counts of violations, the largest difference between the
search's value and the evaluator's, and how many plans the evaluator puts above the bound.

Usage: ``python benchmarks/free_family_verify.py N SEED [BUCKETS]``
"""

from __future__ import annotations

import sys

import numpy as np

from solver import evaluate, generate_portfolio
from solver.core.account import Account
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.officer.policy_check import policy_violations
from solver.officer.proposal import Proposal, proposal_schedule
from solver.plans.context import context_from_frame
from solver.plans.free_bound import free_bounds, polish, rollout


def main(n: int, seed: int, buckets: int = 384) -> None:
    """Check every rolled-out and polished plan of the book; print the summary."""
    frame = generate_portfolio(n, seed=seed)
    model = BehaviourModel()
    checked = broken = above = 0
    worst = 0.0
    for product, part in frame.groupby("product", sort=True):
        pol = Policy().for_product(str(product))
        ctx = context_from_frame(part, pol, model)
        free = free_bounds(ctx, buckets)
        accounts = Account.from_frame(part)
        for i, acc in enumerate(accounts):
            if not np.isfinite(free.bound[i]):
                continue
            start = rollout(ctx, i, free)
            if start is None:
                continue
            pay, value = polish(ctx, i, start)
            booked = proposal_schedule(acc, Proposal(payments=tuple(pay.tolist())), pol.rounding)
            bad = policy_violations(acc, booked, pol, model)
            npv = evaluate(acc, booked.schedule, model=model).npv
            checked += 1
            broken += bool(bad)
            above += npv > free.bound[i] + 1e-6
            worst = max(worst, abs(npv - value) / max(1.0, abs(npv)))
            if bad:
                print(acc.account_id, [v.rule for v in bad])
    print(f"seed {seed}: {checked} plans checked, {broken} break policy, {above} above the free "
          f"bound, largest relative NPV difference search vs evaluate {worst:.2e}")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), *(int(a) for a in sys.argv[3:4]))
