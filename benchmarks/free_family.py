"""Free-family study (session 12): default and thorough custom/step plans against the free bound.

For every account of a generated book: the default and ``--thorough`` custom and step
plans (``family_choices``, as ``plan_portfolio`` runs them), the free-family bound
(:func:`solver.plans.free_bound.free_bounds`), a bound-guided rollout and the polish of
the default custom plan and of the rollout. One CSV row per account; CPU seconds per stage.

Usage: ``python benchmarks/free_family.py N SEED OUT.csv [BUCKETS]``

``python benchmarks/free_family.py screen N [START] [BUCKETS:TOL,…]`` (session 22): is
there a cheap screening bound? Accounts ``START … START + N − 1`` of the benchmark book
``generate_portfolio(20000, seed=11)``; for each table size and tolerance, the free bound
alone (:func:`~solver.plans.free_bound.free_bounds`, one account at a time, after a
warm-up): CPU-ms per account, exact values and block bounds per node of the pruned pass,
the bound's gap to the ``SearchParams(free_family=True)`` custom plan (p50 / p90), and the
share of accounts on which it would certify that plan, and the default custom plan, within
0.1 %. The configurations alternate account by account, so their CPU figures share the
machine's load.
"""

from __future__ import annotations

import resource
import sys
import time

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


#: ``screen``'s default configurations (table size, tolerance): today's first tier, coarser
#: tables, a looser tolerance, and the top blocks alone (a tolerance nothing can meet)
SCREEN = "256:1e-5,128:1e-5,64:1e-5,32:1e-5,256:1e-3,256:1e9"


def _plan_values(chs: list) -> float:
    """The feasible ``custom`` choice's search NPV (NaN if none)."""
    ch = next((c for c in chs if c.family == "custom" and c.feasible), None)
    return np.nan if ch is None else float(ch.search_npv)


def screen(n: int, start: int = 0, spec: str = SCREEN) -> pd.DataFrame:
    """Cost and certifying power of the free bound at each ``spec`` configuration
    (``BUCKETS:TOL`` comma-separated) on ``n`` accounts from ``start`` of the benchmark
    book; prints one line per configuration and returns the per-account figures."""
    confs = [(int(b), float(t)) for b, t in (c.split(":") for c in spec.split(","))]
    frame = generate_portfolio(20000, seed=11).iloc[start : start + n]
    model = BehaviourModel()
    rows: list[dict[str, float]] = []
    warm = False
    for product, part in frame.groupby("product", sort=True):
        ctx = context_from_frame(part, Policy().for_product(str(product)), model)
        dflt = family_choices(ctx, SearchParams())
        free = family_choices(ctx, SearchParams(free_family=True))
        for i in range(len(part)):
            one = ctx.take(np.array([i]))
            if not warm:  # compiled code loaded outside the timings
                free_bounds(one, 32, tolerance=1e-5)
                warm = True
            row = {"default": _plan_values(dflt[i]), "free": _plan_values(free[i])}
            for b, tol in confs:
                work = np.zeros(2, np.int64)
                c0 = time.process_time()
                bound = float(free_bounds(one, b, tolerance=tol, work=work).bound[0])
                row[f"cpu {b}:{tol:g}"] = time.process_time() - c0
                row[f"bound {b}:{tol:g}"] = bound
                nodes = one.horizon * (b + 1)
                row[f"exact {b}:{tol:g}"], row[f"blocks {b}:{tol:g}"] = work / nodes
            rows.append(row)
    out = pd.DataFrame(rows)
    ok = out[np.isfinite(out["free"])]
    print(f"{len(ok)} of {len(out)} accounts with a free-family custom plan")
    for b, tol in confs:
        key = f"{b}:{tol:g}"
        bound = ok[f"bound {key}"]
        gap = (bound - ok["free"]) / bound.abs()
        gap_d = (bound - ok["default"]) / bound.abs()
        print(
            f"{key:>10}  {1000 * out[f'cpu {key}'].mean():6.2f} CPU-ms/account  "
            f"exact/blocks per node {ok[f'exact {key}'].mean():6.1f} / "
            f"{ok[f'blocks {key}'].mean():5.1f}  gap p50 / p90 {100 * gap.median():.3f} / "
            f"{100 * gap.quantile(0.9):.3f} %  certifies (≤ 0.1 %) free plan "
            f"{100 * (gap <= 1e-3).mean():5.1f} %, default custom {100 * (gap_d <= 1e-3).mean():5.1f} %"
        )
    return out


if __name__ == "__main__":
    if sys.argv[1] == "screen":
        args = sys.argv[2:]
        screen(int(args[0]), int(args[1]) if len(args) > 1 else 0, *args[2:3])
        sys.exit(0)
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], *(int(a) for a in sys.argv[4:5]))
