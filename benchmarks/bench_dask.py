"""Benchmark: the local engine vs Dask on this machine (protocol: benchmarks/README.md).

Target (issue 7): 1,000,000 generated accounts through ``plan-portfolio`` and ``allocate``,
local engine vs a Dask ``LocalCluster`` of 2 worker processes: times, peak memory of the
client and of the workers, the speed-up ratio, and a check that both engines give
identical results.

Every configuration runs in its own child process, so that the peak resident memory
(``VmHWM``) of the client belongs to that configuration alone; Dask workers report
theirs through ``client.run``. Inputs are generated once (``solver.core.generate``, fixed
seeds) and written both as one Parquet file (what the local path reads) and as a Parquet
dataset of files of 25,000-row row groups (what the Dask workers read, partition by
partition).

``plan-portfolio`` costs about 5 ms of CPU per account (the exact ``custom``/``step``
search), i.e. about 1.4 CPU-hours for 1,000,000 accounts: by default it is measured on
``--plan-accounts`` accounts (3,000) and the per-account time is extrapolated to
1,000,000 linearly (planning is per account, so time is linear in accounts); the table
says which figures are extrapolated; ``--plan-accounts 1000000`` measures it in full.
``allocate`` runs at full size. Its sizes (1,000,000, and 60,000 for ``--quick``) are
above 50,000 accounts, where the allocation's reduced model exceeds
``solver.allocation.gap.solve.CPSAT_MAX_PAIRS`` and no time-boxed LNS runs; with the generous time limit
both engines then stop on the solver's own criteria and must agree exactly.

Usage::

    .venv/bin/python benchmarks/bench_dask.py            # 1,000,000 accounts (allocate)
    .venv/bin/python benchmarks/bench_dask.py --quick    # CI size: 60,000 / 200 accounts
    .venv/bin/python benchmarks/bench_dask.py --skip alloc --plan-accounts 1000000 \
        --configs plan-local2,plan-dask                  # plans at full size (~1 h 45 min)

Thresholds (exit 1 on a MISS): both engines' outputs identical for every workload (the
correctness criterion); the allocation's proven gap ≤ 0.5 % (issue 4); and, as ratios of
times measured in the same run, the Dask engine at most ``MAX_DASK_RATIO`` times the local
engine's time per workload (2 workers on a shared 2-core machine give no speed-up here;
the ratios bound Dask's overhead, see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Children import the snapshot of the code taken when the run started (see main), so every
# configuration runs the same code even if the working tree changes meanwhile; Dask
# workers spawned by a child inherit this sys.path.
sys.path.insert(0, os.environ.get("WORKOUT_BENCH_CODE", str(ROOT)))

from thresholds import Threshold, report  # noqa: E402

FULL_ACCOUNTS = 1_000_000
#: Dask / local (jobs=1) seconds per workload: (dask config, local config, limit, measured).
MAX_DASK_RATIO = {
    "plan-portfolio": ("plan-dask", "plan-local", 3.0, "quick 1.37-1.91x, full 1.74x"),
    "allocate": ("alloc-dask", "alloc-local", 8.0, "quick 2.35-4.26x, full 1.61x"),
}
#: Proven relative gap of the allocation (issue 4 target).
MAX_ALLOCATION_GAP = 0.005
CONFIGS = ("plan-local", "plan-local2", "plan-dask", "alloc-local", "alloc-dask")
ROW_GROUP = 25_000


def _peak_rss_mb() -> float:
    """Peak RSS of this process (VmHWM: ``ru_maxrss`` would include the parent's peak,
    which survives ``exec`` on Linux)."""
    from solver.engines.dask import _peak_rss

    return _peak_rss() / 2**20


def _digest(frame: Any) -> str:
    """Hash of a table's contents (values and dtypes), independent of how it was written."""
    import pandas as pd

    h = hashlib.sha256()
    h.update(repr(list(frame.dtypes.astype(str))).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------------------------
# Children: one configuration each, JSON on stdout
# --------------------------------------------------------------------------------------------


def _child(
    config: str, data: Path, workers: int, time_limit: float, partitions: int | None
) -> dict:
    import pandas as pd

    out: dict[str, Any] = {"config": config}
    work = data / f"out-{config}"
    shutil.rmtree(work, ignore_errors=True)
    engine = None
    if config.endswith("dask"):
        from solver.engines.dask import DaskEngine

        start = time.perf_counter()
        engine = DaskEngine(n_workers=workers)
        out["startup_s"] = time.perf_counter() - start
    try:
        start = time.perf_counter()
        if config.startswith("plan"):
            from solver.plans.portfolio import plan_portfolio

            if engine is None:
                from solver.core.readers import read_portfolio
                from solver.core.writers import write_table

                jobs = 2 if config == "plan-local2" else 1
                frame = read_portfolio(data / "plans.parquet")
                table = plan_portfolio(frame, jobs=jobs).table
                write_table(table, work.with_suffix(".parquet"))
            else:
                from solver.engines.partitions import prepare_portfolio
                from solver.plans.workloads import plan_partition

                engine.map_partitions(
                    plan_partition,
                    data / "plans",
                    partitions=partitions,
                    prepare=prepare_portfolio,
                    unique="account_id",
                    out=work,
                )
            out["seconds"] = time.perf_counter() - start
            result = pd.read_parquet(work if engine is not None else work.with_suffix(".parquet"))
            out["rows"] = len(result)
            out["digest"] = _digest(result)
            out["restructured"] = int((result["status"] == "RECOMMENDED").sum())
        else:
            from solver.allocation.portfolio import allocate
            from solver.core.writers import write_table

            if engine is None:
                from solver.core.readers import read_portfolio

                frame = read_portfolio(data / "accounts.parquet")
                kwargs: dict[str, Any] = {}
            else:
                from solver.engines.entry import read_portfolio_on

                frame = read_portfolio_on(engine, data / "accounts", partitions=partitions)
                kwargs = {"engine": engine}
            out["read_s"] = time.perf_counter() - start
            result = allocate(frame, time_limit=time_limit, seed=0, **kwargs)
            write_table(result.assignments, work.with_suffix(".parquet"))
            out["seconds"] = time.perf_counter() - start
            out["rows"] = len(result.assignments)
            out["digest"] = _digest(result.assignments)
            out.update(
                objective=result.objective,
                bound=result.bound,
                gap=result.gap,
                status=result.status.name,
                method=result.method,
                dual_iterations=result.stats.get("lagrangian_iterations"),
            )
        if engine is not None:
            peaks = engine.worker_peak_rss()
            out["worker_peak_mb"] = sorted(v / 2**20 for v in peaks.values())
    finally:
        if engine is not None:
            engine.close()
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
        work.with_suffix(".parquet").unlink(missing_ok=True)
    out["client_peak_mb"] = _peak_rss_mb()
    # the machine is shared: the load says how much of its 2 cores the run really had
    out["load_1min"] = os.getloadavg()[0]
    return out


def _run_child(config: str, args: argparse.Namespace, data: Path) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        config,
        "--data",
        str(data),
        "--workers",
        str(args.workers),
        "--time-limit",
        str(args.time_limit),
    ]
    if args.partitions:
        cmd += ["--partitions", str(args.partitions)]
    print(f"running {config} …", flush=True)
    env = dict(os.environ, WORKOUT_BENCH_CODE=str(data / "code"))
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{config} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# Inputs and the report
# --------------------------------------------------------------------------------------------


def _warm_compiled_kernels() -> None:
    """Plan a few accounts in a separate process before the code snapshot is taken.

    The plan search's numba kernels are compiled on first use and cached next to their
    source (``solver/__pycache__``); the snapshot copies that cache, so no configuration
    (nor a Dask worker) pays the compilation inside its timing — a fresh clone would
    otherwise charge it to whichever configuration runs first and skew the ratios.
    """
    warm = (
        "from solver.core.generate import generate_portfolio\n"
        "from solver.plans.portfolio import plan_portfolio\n"
        "plan_portfolio(generate_portfolio(20, seed=7), jobs=1)\n"
    )
    subprocess.run([sys.executable, "-c", warm], cwd=ROOT, check=True, capture_output=True)


def _write_inputs(data: Path, name: str, n: int, seed: int) -> None:
    """One Parquet file and one dataset (files of 4 row groups of ``ROW_GROUP`` rows)."""
    from solver.core.generate import generate_portfolio

    frame = generate_portfolio(n, seed=seed).drop(columns=["dpd_bucket"])
    frame.to_parquet(data / f"{name}.parquet", index=False, row_group_size=ROW_GROUP)
    root = data / name
    root.mkdir()
    per_file = 4 * ROW_GROUP
    for k, start in enumerate(range(0, n, per_file)):
        frame.iloc[start : start + per_file].to_parquet(
            root / f"part-{k:04d}.parquet", index=False, row_group_size=ROW_GROUP
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI size (60,000 / 200 accounts)")
    parser.add_argument("--accounts", type=int, default=None, help="allocate size")
    parser.add_argument("--plan-accounts", type=int, default=None, help="plan-portfolio size")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=None)
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--skip", default="", help="comma list: plan,alloc")
    parser.add_argument(
        "--configs",
        default=",".join(CONFIGS),
        help="comma list of configurations to run (default: all); the first one of a "
        "workload that runs is the baseline of its speed-ups",
    )
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/bench_dask.json")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(
            json.dumps(
                _child(args.child, args.data, args.workers, args.time_limit, args.partitions)
            )
        )
        return 0

    accounts = args.accounts or (60_000 if args.quick else FULL_ACCOUNTS)
    plan_accounts = args.plan_accounts or (200 if args.quick else 3_000)
    # generous: both engines must stop on the solver's own criteria, not on the clock
    args.time_limit = args.time_limit or (900.0 if args.quick else 7200.0)
    skip = set(filter(None, args.skip.split(",")))
    data = Path(tempfile.mkdtemp(prefix="bench_dask-"))
    rows: list[dict] = []
    try:
        start = time.perf_counter()
        if "plan" not in skip:
            _warm_compiled_kernels()
        for package in ("solver", "commands", "scenarios"):
            shutil.copytree(ROOT / package, data / "code" / package)
        if "plan" not in skip:
            _write_inputs(data, "plans", plan_accounts, seed=7)
        if "alloc" not in skip:
            _write_inputs(data, "accounts", accounts, seed=2025)
        print(f"inputs written in {time.perf_counter() - start:.1f} s ({data})", flush=True)
        configs = [c for c in args.configs.split(",") if c]
        unknown = sorted(set(configs) - set(CONFIGS))
        if unknown:
            raise SystemExit(f"unknown --configs {unknown}; choose from {', '.join(CONFIGS)}")
        for config in CONFIGS:
            if config in configs and config.split("-")[0] not in skip:
                rows.append(_run_child(config, args, data))
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return _report(rows, accounts, plan_accounts, args)


def _report(rows: list[dict], accounts: int, plan_accounts: int, args: argparse.Namespace) -> int:
    by = {r["config"]: r for r in rows}
    checks: list[Threshold] = []
    print()
    header = (
        f"{'workload':<14}{'accounts':>10}{'engine':>14}{'seconds':>10}{'acc/s':>10}"
        f"{'speed-up':>10}{'client MB':>11}{'workers MB':>16}{'identical':>11}{'load':>7}"
    )
    print(header)
    print("-" * len(header))
    for work, configs, n in (
        ("plan-portfolio", ("plan-local", "plan-local2", "plan-dask"), plan_accounts),
        ("allocate", ("alloc-local", "alloc-dask"), accounts),
    ):
        ran = [c for c in configs if c in by]
        if not ran:
            continue
        base = by[ran[0]]
        for config in ran:
            r = by[config]
            same = r["digest"] == base["digest"]
            if work == "allocate":
                same = same and r["objective"] == base["objective"] and r["bound"] == base["bound"]
            if config != ran[0]:
                checks.append(
                    Threshold(
                        f"{config} output identical to {ran[0]}",
                        int(same),
                        "==",
                        1,
                        "d",
                        source="issue 7: identical results",
                    )
                )
            r["identical"] = same
            r["speedup"] = base["seconds"] / r["seconds"]
            workers = r.get("worker_peak_mb")
            engine = {"plan-local": "local jobs=1", "plan-local2": "local jobs=2"}.get(
                config, "local" if config.endswith("local") else f"dask {args.workers}w"
            )
            print(
                f"{work:<14}{n:>10,}{engine:>14}{r['seconds']:>10.1f}{n / r['seconds']:>10,.0f}"
                f"{r['speedup']:>9.2f}x{r['client_peak_mb']:>11,.0f}"
                f"{(' / '.join(f'{w:,.0f}' for w in workers) if workers else '—'):>16}"
                f"{'OK' if same else 'DIFF':>11}{r.get('load_1min', float('nan')):>7.1f}"
            )
    for config in ("plan-dask", "alloc-dask"):
        if config in by and "startup_s" in by[config]:
            print(
                f"{config}: LocalCluster start-up {by[config]['startup_s']:.1f} s (not in seconds)"
            )
    if "alloc-local" in by:
        a, d = by["alloc-local"], by.get("alloc-dask", {})
        print(
            f"allocate certificate: objective {a['objective']:,.2f}, bound {a['bound']:,.2f}, "
            f"gap {a['gap']:.4%}, {a['status']} ({a['method']}, {a['dual_iterations']} dual "
            f"iterations); dask: objective {d.get('objective', float('nan')):,.2f}, "
            f"bound {d.get('bound', float('nan')):,.2f}"
        )
    for work, (dask, local, limit, measured) in MAX_DASK_RATIO.items():
        if dask in by and local in by:
            checks.append(
                Threshold(
                    f"{work}: Dask / local seconds",
                    by[dask]["seconds"] / by[local]["seconds"],
                    "<=",
                    limit,
                    ".2f",
                    "x",
                    source=f"same-run baseline; measured {measured}",
                )
            )
    if "alloc-local" in by:
        checks.append(
            Threshold(
                "allocate: proven gap",
                by["alloc-local"]["gap"],
                "<=",
                MAX_ALLOCATION_GAP,
                ".4%",
                source="issue 4 target",
            )
        )
    if any(c.startswith("plan") for c in by) and plan_accounts < FULL_ACCOUNTS:
        print(f"\nplan-portfolio extrapolated to {FULL_ACCOUNTS:,} accounts (linear in accounts):")
        for config in ("plan-local", "plan-local2", "plan-dask"):
            if config in by:
                secs = by[config]["seconds"] * FULL_ACCOUNTS / plan_accounts
                print(f"  {config:<12} {secs:>10,.0f} s = {secs / 3600:5.1f} h (EXTRAPOLATED)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "accounts": accounts,
                "plan_accounts": plan_accounts,
                "workers": args.workers,
                "cpu_count": os.cpu_count(),
                "rows": rows,
            },
            indent=2,
        )
    )
    print()
    ok = report(checks)
    print(f"results written to {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
