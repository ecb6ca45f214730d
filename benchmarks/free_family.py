"""Free-family study (session 12): default and thorough custom/step plans against the free bound.

For every account of a generated book: the default and ``--thorough`` custom and step
plans (``family_choices``, as ``plan_portfolio`` runs them), the free-family bound
(:func:`solver.plans.free_bound.free_bounds`), a bound-guided rollout and the polish of
the default custom plan and of the rollout. One CSV row per account; CPU seconds per stage.

Usage: ``python benchmarks/free_family.py N SEED OUT.csv [BUCKETS]``
"""

from __future__ import annotations

import resource
import sys

import numpy as np
import pandas as pd

from solver import SearchParams, generate_portfolio
from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.plans.choices import family_choices
from solver.plans.context import context_from_frame
from solver.plans.free_bound import free_bounds, polish, rollout


def cpu() -> float:
    """CPU seconds of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _runs(choices: list, name: str) -> dict[str, object]:
    """NPV, status, grid bound and payments of the ``custom`` and ``step`` choices."""
    out: dict[str, object] = {}
    for fam in ("custom", "step"):
        ch = next((c for c in choices if c.family == fam and c.feasible), None)
        out[f"{fam}_{name}"] = np.nan if ch is None else ch.search_npv
        out[f"{fam}_{name}_status"] = None if ch is None else str(ch.status.value)
        out[f"{fam}_{name}_bound"] = np.nan if ch is None else ch.bound
        out[f"{fam}_{name}_pay"] = None if ch is None else np.asarray(ch.schedule.payments, float)
    return out


def main(n: int, seed: int, path: str, buckets: int = 384) -> None:
    """Run the study on ``generate_portfolio(n, seed)`` and write ``path``."""
    frame = generate_portfolio(n, seed=seed)
    model = BehaviourModel()
    rows: list[dict[str, object]] = []
    clock = dict.fromkeys(("default", "thorough", "free", "rollout", "polish"), 0.0)
    for product, part in frame.groupby("product", sort=True):
        pol = Policy().for_product(str(product))
        ctx = context_from_frame(part, pol, model)
        c0 = cpu()
        dflt = family_choices(ctx, SearchParams())
        c1 = cpu()
        thor = family_choices(ctx, SearchParams.thorough())
        c2 = cpu()
        free = free_bounds(ctx, buckets)
        c3 = cpu()
        clock["default"] += c1 - c0
        clock["thorough"] += c2 - c1
        clock["free"] += c3 - c2
        for i, acc_id in enumerate(part["account_id"].tolist()):
            row: dict[str, object] = {"account_id": acc_id, "units": int(free.amounts[i])}
            row.update(_runs(dflt[i], "d"))
            row.update(_runs(thor[i], "t"))
            row["free_bound"] = free.bound[i]
            t0 = cpu()
            r = rollout(ctx, i, free) if np.isfinite(free.bound[i]) else None
            t1 = cpu()
            row["rollout"] = np.nan
            row["rollout_polished"] = np.nan
            if r is not None:
                _, row["rollout_polished"] = polish(ctx, i, r)
                row["rollout"] = polish(ctx, i, r, rounds=0)[1]
            t2 = cpu()
            pay = row["custom_d_pay"]
            row["custom_d_polished"] = np.nan
            if isinstance(pay, np.ndarray):
                row["custom_d_polished"] = polish(ctx, i, pay)[1]
            t3 = cpu()
            clock["rollout"] += t1 - t0
            clock["polish"] += (t2 - t1) + (t3 - t2)
            for k in ("custom_d_pay", "step_d_pay", "custom_t_pay", "step_t_pay"):
                v = row[k]
                row[k] = None if v is None else " ".join(f"{x:.2f}" for x in v)  # type: ignore[union-attr]
            rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)
    print("cpu seconds:", {k: round(v, 1) for k, v in clock.items()}, "accounts", n)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], *(int(a) for a in sys.argv[4:5]))
