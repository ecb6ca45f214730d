"""Benchmark of the restructuring plan optimizer (issue 3; protocol in benchmarks/README.md).

Three parts, all measured in the same run:

1. **Plan quality** on a seeded generated portfolio (20,000 accounts; 1,000 with
   ``--quick``): NPV of the recommended plan against the status quo and against the
   HAMP-style waterfall (mean and median uplift, share of accounts where the waterfall
   finds no policy-feasible plan but we do), the acceptance check "recommended NPV ≥
   waterfall NPV wherever the waterfall plan is policy-feasible", and the reconciliation
   check (every followed schedule's model NPV recomputed with ``evaluate_batch``).
2. **Optimality**: on 30 small accounts (terms ≤ 5 months, a 3-amount grid) an
   independent enumeration of every feasible payment path must find nothing better than
   ``custom`` and ``step``, which must report status OPTIMAL.
3. **Speed**: ``plan_portfolio`` accounts/s with all families (``--jobs``), single-account
   ``plan_options`` p50/p95 latency in-process, ``workout plan`` end to end (cold
   process), and the ratio of our per-account time to a straightforward per-account
   ``scipy.optimize.minimize(method="SLSQP")`` over monthly payments with the same
   constraints (caps as bounds, full repayment as an equality), on the same accounts.

Run ``python benchmarks/bench_plans.py [--quick] [--jobs 2] [--out results.json]``.

Thresholds (exit 1 on a MISS): recommended NPV ≥ waterfall wherever the waterfall is
policy-feasible, reconciliation ≤ 1e-6, the exhaustive check, no errors (issue 3); total
NPV uplift over the status quo ≥ 5 % of the status-quo NPV (measured 6.1 % full, 6.5 %
quick); custom/step certified gap p90 ≤ 0.1 % (issue 13's certificate); our CPU time per
account at least 1.5× faster than the per-account SLSQP baseline of the same run
(measured 2.8× to 7.1× on the quick run's 5 accounts, 4× on the full run's 20); and
``workout plan`` on the sample account exits 0. Issue 3's absolute speed targets
(≥ 200 accounts/s, p50 ≤ 50 ms, cold ``workout plan`` ≤ 1.5 s) are printed for
information, not gated: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from process_usage import cpu_seconds
from thresholds import Threshold, report

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the independent oracles (tests/oracles.py)

warnings.simplefilter("ignore", RuntimeWarning)


def _import_cpu() -> float:
    """CPU seconds of importing the plan modules (``main`` calls it first, before any
    other part of this benchmark imports the package)."""
    c0 = time.process_time()
    import solver.plans.options  # noqa: F401
    import solver.plans.portfolio  # noqa: F401

    return time.process_time() - c0


#: Total NPV uplift over the status quo, % of the status-quo NPV (measured 6.11 % on the
#: 20,000-account run, 6.51 % on the quick 1,000).
MIN_UPLIFT_TOTAL_PCT = 5.0
#: 90th percentile of the custom/step certified gap (issue 13: certified within 0.1 %).
MAX_CUSTOM_STEP_GAP_P90 = 0.001
#: SLSQP CPU seconds per account / ours, same accounts, same run (measured 4x on the full
#: run's 20 accounts; 2.8x to 7.1x on the quick 5, 3 Dec 2026).
MIN_SLSQP_CPU_RATIO = 1.5


# --------------------------------------------------------------------------------------
# 1. Quality
# --------------------------------------------------------------------------------------


def quality(n: int, seed: int, jobs: int) -> dict:
    import os

    from solver.core.account import Account
    from solver.core.evaluation import evaluate_batch
    from solver.core.generate import generate_portfolio
    from solver.core.model import AccountParams
    from solver.plans.options import plan_options
    from solver.plans.portfolio import plan_portfolio

    frame = generate_portfolio(n, seed=seed)
    # first call outside the timing: compiled kernels are built (or loaded from their
    # cache) here, so the figures below are the steady-state cost; its CPU beyond a
    # second call on the same account is the warm-up, reported on its own
    first = Account.from_frame(frame.head(1))[0]
    c0 = time.process_time()
    plan_options(first, relax=False)
    c1 = time.process_time()
    plan_options(first, relax=False)
    warm_up = (c1 - c0) - (time.process_time() - c1)
    # and the batch code's kernels (other shapes than one account's), in this process, so
    # that the forked workers of the timed run inherit them
    c0 = time.process_time()
    plan_portfolio(frame.head(64), jobs=1, batch_size=64)
    warm_up_batch = time.process_time() - c0

    # CPU seconds of this process and its finished workers: the machine is shared, so
    # wall-clock throughput also reflects other people's load
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    plans = plan_portfolio(frame, jobs=jobs, batch_size=64)
    elapsed = time.perf_counter() - t0
    cpu = cpu_seconds() - cpu0
    load = os.getloadavg()[0]
    tab = plans.table
    npv = tab["npv"].astype(float)
    sq = tab["status_quo_npv"].astype(float)
    wf = tab["waterfall_npv"].astype(float)
    wf_ok = tab["waterfall_feasible"].astype(bool)
    rec = tab["status"] == "RECOMMENDED"
    uplift_sq = (npv - sq)[tab["status"] != "ERROR"]
    uplift_wf = (npv - wf)[wf_ok]
    violations = int(((npv - wf) < -1e-6 * wf.abs().clip(lower=1.0))[wf_ok].sum())
    # reconciliation: followed schedules re-evaluated by the model
    ev = evaluate_batch(
        AccountParams.from_frame(frame), plans.payments, plans.exposures, plans.term
    )
    rel = np.abs(ev.npv - npv.to_numpy()) / np.maximum(1.0, np.abs(npv.to_numpy()))
    gaps = tab.loc[tab["family"].isin(["custom", "step"]), "gap"].astype(float)
    return {
        "accounts": n,
        "seed": seed,
        "jobs": jobs,
        "seconds": elapsed,
        "accounts_per_second": n / elapsed,
        "cpu_ms_per_account": cpu / n * 1000,
        "warm_up_cpu_s": warm_up,
        "warm_up_batch_cpu_s": warm_up_batch,
        "accounts_per_cpu_second": n / cpu,
        "load_average_1min_after": load,
        "status_counts": tab["status"].value_counts().to_dict(),
        "recommended_family_counts": tab.loc[rec, "family"].value_counts().to_dict(),
        "total_npv": float(npv.sum()),
        "total_status_quo_npv": float(sq.sum()),
        "uplift_vs_status_quo_mean": float(uplift_sq.mean()),
        "uplift_vs_status_quo_median": float(uplift_sq.median()),
        "uplift_vs_status_quo_total_pct": float((npv.sum() - sq.sum()) / sq.sum() * 100),
        "waterfall_policy_feasible_share": float(wf_ok.mean()),
        "uplift_vs_waterfall_mean": float(uplift_wf.mean()) if len(uplift_wf) else math.nan,
        "uplift_vs_waterfall_median": float(uplift_wf.median()) if len(uplift_wf) else math.nan,
        "share_waterfall_infeasible_we_feasible": float((~wf_ok & rec).mean()),
        "waterfall_violations": violations,
        "reconcile_max_rel_error": float(rel.max()),
        "custom_step_gap_median": float(gaps.median()) if len(gaps) else math.nan,
        "custom_step_gap_p90": float(gaps.quantile(0.9)) if len(gaps) else math.nan,
        "custom_step_optimal_share": float((gaps <= 1e-9).mean()) if len(gaps) else math.nan,
        "errors": int((tab["status"] == "ERROR").sum()),
    }


# --------------------------------------------------------------------------------------
# 2. Optimality (independent enumeration)
# --------------------------------------------------------------------------------------


def optimality(n_accounts: int = 30) -> dict:
    """The exhaustive check: the independent oracle of ``tests/oracles.py`` (SPEC formulas,
    caps, cent interest and values in its own code) enumerates every feasible path of the
    family on the optimizer's grid; nothing it finds may beat the optimizer or its bound."""
    from oracles import best_on_grid, small_account_rows

    from solver.core.account import Account
    from solver.core.model import BehaviourModel
    from solver.core.policy import Policy
    from solver.plans.context import context_from_account
    from solver.plans.options import plan_options
    from solver.plans.payment_grid import payment_grids
    from solver.plans.search_types import SearchParams

    policy = Policy(max_term_months=5, max_deferral_months=2, max_payment_levels=2, min_payment=50)
    search = SearchParams(grid_levels=3)
    model = BehaviourModel()
    rows = []
    for acc in map(Account.from_mapping, small_account_rows(n_accounts, 20240, "SMALL{:02d}")):
        pol = policy.for_product(acc.product)
        res = plan_options(acc, pol, model, search=search, relax=False)
        for family in ("custom", "step"):
            opt = res.option(family)
            if opt.feasible:
                grid = np.array(opt.terms.grid)
            else:
                am, _ = payment_grids(context_from_account(acc, pol, model), search.grid_levels)
                grid = am[0][np.isfinite(am[0])]
            best = best_on_grid(acc, pol, model, grid, family, method="enumerate")
            ours = opt.npv if opt.feasible else -math.inf
            ok = (best <= ours + 1e-9 * abs(ours)) if math.isfinite(best) else not opt.feasible
            # the free custom family may be cut by its beam: it must then still hold the
            # optimum, with a bound at or above it
            ok = ok and (not opt.feasible or opt.bound >= best - 1e-9 * abs(best))
            rows.append(
                {
                    "account": acc.account_id,
                    "family": family,
                    "ours": ours,
                    "enumerated": best,
                    "status": opt.status,
                    "ok": bool(ok),
                }
            )
    return {
        "cases": len(rows),
        "feasible": sum(math.isfinite(r["ours"]) for r in rows),
        "all_ok": all(r["ok"] for r in rows),
        "failures": [r for r in rows if not r["ok"]],
    }


# --------------------------------------------------------------------------------------
# 3. Speed
# --------------------------------------------------------------------------------------


def latency(n: int, seed: int) -> dict:
    from solver.core.account import Account
    from solver.core.generate import generate_portfolio
    from solver.plans.options import plan_options

    accounts = Account.from_frame(generate_portfolio(n + 3, seed=seed + 1))
    for a in accounts[:3]:
        plan_options(a, relax=False)  # warm up imports and caches
    times, cpu = [], []
    for a in accounts[3:]:
        t0, c0 = time.perf_counter(), time.process_time()
        plan_options(a, relax=False)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    times_ms = np.array(times) * 1000
    cpu_ms = np.array(cpu) * 1000
    return {
        "accounts": n,
        "p50_ms": float(np.percentile(times_ms, 50)),
        "p95_ms": float(np.percentile(times_ms, 95)),
        "mean_ms": float(times_ms.mean()),
        # CPU time of this process: what the machine's other load does not inflate
        "cpu_p50_ms": float(np.percentile(cpu_ms, 50)),
        "cpu_p95_ms": float(np.percentile(cpu_ms, 95)),
    }


def cli_cold(repeats: int = 3) -> dict:
    exe = ROOT / ".venv" / "bin" / "workout"
    cmd = [
        str(exe) if exe.exists() else "workout",
        "plan",
        str(ROOT / "scenarios" / "sample_account.toml"),
    ]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            return {"error": proc.stderr[-500:]}
    return {"runs_s": times, "median_s": statistics.median(times), "min_s": min(times)}


def slsqp_plan(acc, policy, model) -> tuple[float, float, bool]:
    """A straightforward per-account SLSQP: monthly payments p_1..p_T, caps as bounds,
    full repayment (PV at the contract rate = balance) as an equality, maximise model NPV.

    Returns (seconds, CPU seconds, npv, success).
    """
    from scipy.optimize import minimize

    from solver.core.evaluation import evaluate_batch
    from solver.core.model import AccountParams
    from solver.plans.context import context_from_account

    ctx = context_from_account(acc, policy, model)
    T = policy.max_term_months
    r = acc.annual_rate / 12.0
    B0 = acc.principal + acc.interest_due + acc.fees_due
    cap = np.maximum(np.where(np.isfinite(ctx.cap[0]), ctx.cap[0], 0.0), 0.0)
    v = (1.0 + r) ** -np.arange(1, T + 1)
    params = AccountParams.from_account(acc, model)

    def balances(p: np.ndarray) -> np.ndarray:
        out = np.empty(T)
        b = B0
        for t in range(T):
            out[t] = b
            b = max(0.0, b * (1 + r) - p[t])
        return out

    def objective(p: np.ndarray) -> float:
        ev = evaluate_batch(params, p[None, :], balances(p)[None, :], None, model)
        return -float(ev.npv[0]) / B0

    x0 = np.minimum(cap, B0 / max(1, T))
    t0, c0 = time.perf_counter(), time.process_time()
    res = minimize(
        objective,
        x0,
        method="SLSQP",
        bounds=list(zip(np.zeros(T), cap, strict=True)),
        constraints=[{"type": "eq", "fun": lambda p: (p @ v - B0) / B0}],
        options={"maxiter": 200, "ftol": 1e-9},
    )
    elapsed = time.perf_counter() - t0
    return elapsed, time.process_time() - c0, -res.fun * B0, bool(res.success)


def slsqp_ratio(n: int, seed: int) -> dict:
    from solver.core.account import Account
    from solver.core.generate import generate_portfolio
    from solver.core.model import BehaviourModel
    from solver.core.policy import Policy
    from solver.plans.options import plan_options

    accounts = Account.from_frame(generate_portfolio(n, seed=seed + 2))
    model = BehaviourModel()
    ours, theirs, ours_cpu, theirs_cpu, wins, ok = [], [], [], [], 0, 0
    for a in accounts:
        pol = Policy().for_product(a.product)
        t0, c0 = time.perf_counter(), time.process_time()
        res = plan_options(a, pol, model, relax=False)
        ours.append(time.perf_counter() - t0)
        ours_cpu.append(time.process_time() - c0)
        sec, cpu, npv, success = slsqp_plan(a, pol, model)
        theirs.append(sec)
        theirs_cpu.append(cpu)
        ok += success
        best = max(
            (o.npv for o in res.options if o.feasible and o.family != "waterfall"),
            default=-math.inf,
        )
        wins += best >= npv - 1e-6 * abs(npv) if success else 1
    return {
        "accounts": n,
        "ours_mean_s": float(np.mean(ours)),
        "slsqp_mean_s": float(np.mean(theirs)),
        "speed_ratio": float(np.mean(theirs) / np.mean(ours)),
        "ours_mean_cpu_s": float(np.mean(ours_cpu)),
        "slsqp_mean_cpu_s": float(np.mean(theirs_cpu)),
        "speed_ratio_cpu": float(np.mean(theirs_cpu) / np.mean(ours_cpu)),
        "slsqp_success": ok,
        "ours_at_least_slsqp_npv": wins,
        "note": "SLSQP optimises continuous payments without phase/min-payment/rounding rules (a relaxation); its NPV is shown for context",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick",
        action="store_true",
        help="CI size: 1,000 accounts, fewer latency and SLSQP samples",
    )
    ap.add_argument("--accounts", type=int, default=None)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = ap.parse_args(argv)
    n = args.accounts or (1000 if args.quick else 20000)
    results: dict = {"start_up": {"import_cpu_s": _import_cpu()}}
    print(
        f"plan quality on {n:,} generated accounts (seed {args.seed}, jobs {args.jobs}) ...",
        flush=True,
    )
    results["quality"] = q = quality(n, args.seed, args.jobs)
    for k, v in q.items():
        print(f"  {k}: {v}")
    print("optimality: exhaustive enumeration on 30 small accounts ...", flush=True)
    results["optimality"] = o = optimality(30)
    print(f"  cases {o['cases']} (feasible {o['feasible']}), all ok: {o['all_ok']}")
    print("speed ...", flush=True)
    results["latency"] = lat = latency(40 if args.quick else 200, args.seed)
    print(
        f"  single account in-process: p50 {lat['p50_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms"
        f" (CPU p50 {lat['cpu_p50_ms']:.1f} ms, p95 {lat['cpu_p95_ms']:.1f} ms)"
    )
    results["cli_cold"] = cc = cli_cold()
    print(f"  workout plan cold: {cc}")
    results["slsqp"] = sl = slsqp_ratio(5 if args.quick else 20, args.seed)
    print(
        f"  SLSQP per account {sl['slsqp_mean_s']:.2f} s vs ours {sl['ours_mean_s'] * 1000:.0f} ms:"
        f" {sl['speed_ratio']:.0f}x (CPU: {sl['slsqp_mean_cpu_s']:.2f} s vs"
        f" {sl['ours_mean_cpu_s'] * 1000:.0f} ms, {sl['speed_ratio_cpu']:.0f}x)"
    )
    print(
        f"  plan-portfolio throughput: {q['accounts_per_second']:.0f} accounts/s (jobs {args.jobs});"
        f" {q['cpu_ms_per_account']:.1f} CPU-ms per account, i.e."
        f" {2000 / q['cpu_ms_per_account']:.0f} accounts/s on 2 idle cores;"
        f" load average {q['load_average_1min_after']:.1f}"
    )
    print(
        f"  warm-up (not in the figures above): imports {results['start_up']['import_cpu_s']:.2f}"
        f" CPU s, compiled kernels and first-call caches {q['warm_up_cpu_s']:.2f} CPU s,"
        f" a 64-account portfolio first {q['warm_up_batch_cpu_s']:.2f} CPU s"
    )
    checks = [
        Threshold(
            "recommended NPV below a feasible waterfall",
            q["waterfall_violations"],
            "==",
            0,
            "d",
            source="issue 3 acceptance",
        ),
        Threshold(
            "reconciliation, max relative error",
            q["reconcile_max_rel_error"],
            "<=",
            1e-6,
            ".1e",
            source="issue 3 acceptance",
        ),
        Threshold(
            f"exhaustive check failures ({o['cases']} cases)",
            len(o["failures"]),
            "==",
            0,
            "d",
            source="issue 3 acceptance",
        ),
        Threshold("accounts with an error", q["errors"], "==", 0, "d", source="SPEC §6"),
        Threshold(
            "workout plan sample account failed runs",
            int("error" in cc),
            "==",
            0,
            "d",
            source="exit code 0",
        ),
        Threshold(
            "NPV uplift over the status quo, total",
            q["uplift_vs_status_quo_total_pct"],
            ">=",
            MIN_UPLIFT_TOTAL_PCT,
            ".2f",
            " %",
            source="reference 6.11-6.51 % with margin",
        ),
        Threshold(
            "custom/step certified gap p90",
            q["custom_step_gap_p90"],
            "<=",
            MAX_CUSTOM_STEP_GAP_P90,
            ".4%",
            source="issue 13 certificate",
        ),
        Threshold(
            f"SLSQP / our CPU per account ({sl['accounts']} accounts)",
            sl["speed_ratio_cpu"],
            ">=",
            MIN_SLSQP_CPU_RATIO,
            ".1f",
            "x",
            source="same-run baseline; measured 2.8-7.1x",
        ),
    ]
    # issue 3's absolute speed targets: a shared machine's load decides them, so they are
    # shown, not gated
    cpu_rate = 2000 / q["cpu_ms_per_account"]
    info = [
        f"plan-portfolio {q['cpu_ms_per_account']:.2f} CPU-ms per account = {cpu_rate:.0f}"
        f" accounts/s on 2 idle cores (issue 13 target >= 1,000;"
        f" {'met' if cpu_rate >= 1000 else 'not met'}; absolute, not gated)",
        f"single account p50 {lat['p50_ms']:.1f} ms, CPU {lat['cpu_p50_ms']:.1f} ms (issue 13"
        f" target <= 10 ms; {'met' if lat['p50_ms'] <= 10 else 'not met'}; absolute, not gated)",
        f"plan-portfolio {q['accounts_per_second']:.0f} accounts/s (issue 3 target >= 200;"
        f" {'met' if q['accounts_per_second'] >= 200 else 'not met'}; absolute, not gated)",
        f"single account p50 {lat['p50_ms']:.1f} ms (issue 3 target <= 50 ms;"
        f" {'met' if lat['p50_ms'] <= 50 else 'not met'}; absolute, not gated)",
        f"workout plan cold {cc.get('median_s', math.inf):.2f} s (issue 3 target <= 1.5 s;"
        f" {'met' if cc.get('median_s', math.inf) <= 1.5 else 'not met'}; absolute, not gated)",
    ]
    passed = report(checks, info)
    results["thresholds"] = {
        t.name: {"measured": t.measured, "limit": t.limit, "ok": t.ok} for t in checks
    }
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, default=float))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
