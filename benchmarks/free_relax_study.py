"""F2 with the free family (session 12): rollout + polish plans and free bounds under policy relaxations.

For the default policy and each tighter one of ``nested_grid_study.TIGHT``: per account
the free bound and the polished bound-guided rollout (:mod:`solver.plans.free_bound`).
Counts how often the looser (default) policy's plan is worse than the tighter one's, by
how much, and whether that stays within the looser plan's certified gap.

Usage: ``python benchmarks/free_relax_study.py N SEED [BUCKETS]``
"""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np

# the same relaxations as the grid study (run from this directory: it is on sys.path)
from nested_grid_study import TIGHT

from solver import generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.context import context_from_frame
from solver.plans.free_bound import free_bounds, polish, rollout


def plans(frame: object, policy: Policy, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Free bound and polished rollout value per account (−inf: none), frame order."""
    n = len(frame)  # type: ignore[arg-type]
    bound, value = np.full(n, -np.inf), np.full(n, -np.inf)
    for product, idx in frame.groupby("product", sort=True).indices.items():  # type: ignore[attr-defined]
        ctx = context_from_frame(
            frame.iloc[idx], policy.for_product(str(product)), BehaviourModel()
        )  # type: ignore[attr-defined]
        free = free_bounds(ctx, buckets)
        for i, k in enumerate(idx):
            bound[k] = free.bound[i]
            start = rollout(ctx, i, free) if np.isfinite(free.bound[i]) else None
            if start is not None:
                value[k] = polish(ctx, i, start)[1]
    return bound, value


def main(n: int, seed: int, buckets: int = 192) -> None:
    """Print, per relaxation, the drops of the plan and of the bound."""
    frame = generate_portfolio(n, seed=seed).reset_index(drop=True)
    b0, v0 = plans(frame, Policy(), buckets)
    gap0 = (b0 - v0) / np.abs(b0)
    for key, val in TIGHT.items():
        b1, v1 = plans(frame, replace(Policy(), **{key: val}), buckets)
        both = np.isfinite(v1)
        rel = np.where(both, (v1 - v0) / np.abs(np.where(both, v1, 1.0)), -np.inf)
        drop = rel > 1e-9
        beyond = drop & (v1 > b0 + 1e-6)
        print(f"seed {seed} {key:20s}: plan drops {int(drop.sum()):3d} (> 0.1 %: {int((rel > 1e-3).sum())},"
              f" max {100 * rel.max(initial=0):.3f} %), tighter plan above the looser bound {int(beyond.sum())},"
              f" bound drops {int((b1 > b0 + 1e-6).sum())}, looser gap where it dropped: max "
              f"{100 * np.nan_to_num(gap0[drop]).max(initial=0):.3f} %", flush=True)  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), *(int(a) for a in sys.argv[3:4]))
