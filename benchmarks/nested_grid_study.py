"""F2 study (session 12): today's cap-hung grid against the nested ladder under policy relaxations.

For each single relaxation (tight → default policy) and each grid, the custom and step
plans of every account (``family_choices``, default search) under both policies: how
often the looser policy's plan is worse (a drop), and how the two grids compare at the
default policy. Usage: ``python benchmarks/nested_grid_study.py N SEED``.
"""

from __future__ import annotations

import resource
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np

import solver.plans.choices as choices
import solver.plans.run_choices as run_choices
from solver import SearchParams, generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.context import context_from_frame
from solver.plans.nested_grid import nested_grids
from solver.plans.payment_grid import payment_grids

TIGHT = {
    "max_dti": 0.4,
    "min_afford_prob": 0.6,
    "min_payment": 200.0,
    "max_deferral_months": 3,
    "min_residual_income": 300.0,
}


def cpu() -> float:
    """CPU seconds of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@contextmanager
def grid(kind: str) -> Iterator[None]:
    """Run the plan search on today's grid (``cap``) or the nested ladder (``ladder``)."""
    run_choices.payment_grids = nested_grids if kind == "ladder" else payment_grids  # type: ignore[assignment]
    try:
        yield
    finally:
        run_choices.payment_grids = payment_grids  # type: ignore[assignment]


def best(frame: Any, policy: Policy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Custom and step NPV (−inf: none) and grid size per account, accounts in frame order."""
    model = BehaviourModel()
    out = {fam: np.full(len(frame), -np.inf) for fam in ("custom", "step")}
    size = np.zeros(len(frame))
    for product, idx in frame.groupby("product", sort=True).indices.items():
        part = frame.iloc[idx]
        ctx = context_from_frame(part, policy.for_product(str(product)), model)
        got = choices.family_choices(ctx, SearchParams())
        amounts, _ = run_choices.payment_grids(ctx, 12, None)
        size[idx] = np.isfinite(amounts).sum(axis=1)
        for k, chs in zip(idx, got, strict=True):
            for c in chs:
                if c.family in out and c.feasible:
                    out[c.family][k] = c.search_npv
    return out["custom"], out["step"], size


def main(n: int, seed: int) -> None:
    """Print drops per relaxation and grid, and the default-policy comparison."""
    frame = generate_portfolio(n, seed=seed).reset_index(drop=True)
    base = Policy()
    results: dict[tuple[str, str], Any] = {}
    for kind in ("cap", "ladder"):
        with grid(kind):
            t0 = cpu()
            results[(kind, "default")] = best(frame, base)
            print(f"{kind}: default policy {cpu() - t0:.1f} CPU s, grid size mean "
                  f"{results[(kind, 'default')][2].mean():.1f}")  # fmt: skip
            for key, value in TIGHT.items():
                results[(kind, key)] = best(frame, replace(base, **{key: value}))
    for kind in ("cap", "ladder"):
        loose = results[(kind, "default")]
        for key in TIGHT:
            tight = results[(kind, key)]
            for f, name in ((0, "custom"), (1, "step")):
                drop = tight[f] > loose[f] + 1e-6 * np.maximum(1.0, np.abs(tight[f]))
                rel = (tight[f][drop] - loose[f][drop]) / np.abs(tight[f][drop])
                print(f"{kind:6s} {key:20s} {name:6s} drops {int(drop.sum()):3d}"
                      f" max {100 * rel.max(initial=0):.2f} %")  # fmt: skip
    for f, name in ((0, "custom"), (1, "step")):
        a, b = results[("cap", "default")][f], results[("ladder", "default")][f]
        both = np.isfinite(a) & np.isfinite(b)
        d = (b[both] - a[both]) / np.abs(a[both])
        print(f"default policy {name}: ladder − cap over {both.sum()} accounts: "
              f"better >0.1% {int((d > 1e-3).sum())}, worse >0.1% {int((d < -1e-3).sum())}, "
              f"mean {100 * d.mean():+.3f} %, p10 {100 * np.quantile(d, .1):+.3f} %, "
              f"p90 {100 * np.quantile(d, .9):+.3f} %; feasible only on cap "
              f"{int((np.isfinite(a) & ~np.isfinite(b)).sum())}, only on ladder "
              f"{int((~np.isfinite(a) & np.isfinite(b)).sum())}")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
