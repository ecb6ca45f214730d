"""Load test of `workout serve` on localhost: concurrent plan requests, latency, throughput.

Protocol: start `workout serve` (one uvicorn process, 127.0.0.1, a free port, a temporary
SQLite audit file), warm it up with a few requests, then send N ``POST /api/plan`` requests
(the sample account, each with its own income what-if, so every request is real work, and
the fixed ``as_of`` AS_OF, so the answers do not depend on the day) with at most C in
flight at once from one asyncio client (httpx). Every answer is compared with the bytes
`workout plan --as-of AS_OF --format json` would print for it, computed in-process. Bounded: N
and C are fixed, the whole load has a time limit, the server is stopped at the end, and
only 127.0.0.1 is ever addressed.

Baseline in the same run: the same N plans computed in-process one after another (the
plan work alone, no HTTP). Quick: N = 200, C = 100; full: N = 1,000, C = 200.

Thresholds (exit 1 on a MISS): no failed request; every answer byte-identical to the
CLI's JSON; at least C requests in flight at once (the concurrency was reached); service
throughput at least 0.5x the in-process baseline's (HTTP, JSON and the thread pool may cost
at most half; measured 3 Dec 2026 with one computing thread: 0.71-0.83x with 200
requests, 100 in flight, also with a CPU-bound process beside it; 0.35x with anyio's
default 40 threads, which failed CI). p50/p99 latency and requests/s are
reported as information (absolute times on a shared 2-core machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import tomllib
from datetime import date
from pathlib import Path

from thresholds import Threshold, report

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
MIN_THROUGHPUT_RATIO = 0.5
LOAD_TIME_LIMIT_S = 600.0
#: The requests' as-of date (`workout plan --as-of`): fixed, so that the expected bytes do
#: not depend on the day the benchmark runs (nor change if it runs across midnight).
AS_OF = "2026-05-04"


def _bodies(n: int) -> list[dict]:
    account = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
    return [
        {"account": account, "what_if": {"income": 6000 + 7 * k}, "as_of": AS_OF} for k in range(n)
    ]


def _expected(bodies: list[dict]) -> tuple[list[bytes], float]:
    """The CLI's JSON bytes of every body, and the in-process seconds per plan (baseline)."""
    sys.path.insert(0, str(ROOT))
    from solver.core import Account, BehaviourModel, Policy
    from solver.core.writers import json_text
    from solver.officer.documents import plan_document, plan_result

    policy, model = Policy(), BehaviourModel()

    def one(body: dict) -> bytes:
        account = Account.from_mapping(body["account"], source="account").override(
            body["what_if"], source="what_if"
        )
        as_of = date.fromisoformat(body["as_of"])
        document = plan_document(plan_result(account, policy, model), as_of=as_of)
        return json_text(document).encode("utf-8")

    for body in bodies[:3]:  # warm-up: compiled loops loaded, caches filled
        one(body)
    started = time.perf_counter()
    out = [one(body) for body in bodies]
    return out, (time.perf_counter() - started) / len(bodies)


async def _load(url: str, bodies: list[dict], concurrency: int) -> dict:
    import httpx

    gate = asyncio.Semaphore(concurrency)
    in_flight = peak = 0
    latencies: list[float] = [0.0] * len(bodies)
    answers: list[bytes | None] = [None] * len(bodies)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=LOAD_TIME_LIMIT_S) as client:
        for body in bodies[:3]:  # warm-up
            await client.post("api/plan", json=body)

        async def one(k: int) -> None:
            nonlocal in_flight, peak
            async with gate:
                in_flight += 1
                peak = max(peak, in_flight)
                started = time.perf_counter()
                try:
                    response = await client.post("api/plan", json=bodies[k])
                    answers[k] = response.content if response.status_code == 200 else None
                except httpx.HTTPError:
                    answers[k] = None
                latencies[k] = time.perf_counter() - started
                in_flight -= 1

        started = time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(one(k) for k in range(len(bodies)))), LOAD_TIME_LIMIT_S
        )
        wall = time.perf_counter() - started
    return {"latencies": latencies, "answers": answers, "peak": peak, "wall": wall}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 200, C = 100 (CI)")
    args = parser.parse_args()
    n, concurrency = (200, 100) if args.quick else (1000, 200)
    bodies = _bodies(n)
    expected, baseline_s = _expected(bodies)
    import tempfile

    sys.path.append(str(ROOT / "tests"))
    from serve_process import serving

    with tempfile.TemporaryDirectory() as tmp, serving(db=Path(tmp) / "audit.db") as (url, _):
        result = asyncio.run(_load(url, bodies, concurrency))
    answers, latencies = result["answers"], result["latencies"]
    failed = sum(a is None for a in answers)
    identical = sum(a == e for a, e in zip(answers, expected, strict=True))
    rate = n / result["wall"]
    baseline_rate = 1.0 / baseline_s
    p50, p90, p99 = (_percentile(latencies, q) for q in (0.5, 0.9, 0.99))
    print(f"{n} POST /api/plan requests, at most {concurrency} in flight (peak {result['peak']})")
    print(f"  wall {result['wall']:.2f} s, {rate:.1f} requests/s; failed {failed}")
    print(
        f"  latency p50 {p50:.3f} s, p90 {p90:.3f} s, p99 {p99:.3f} s, max {max(latencies):.3f} s"
    )
    print(
        f"  baseline (in-process, sequential): {baseline_rate:.1f} plans/s ({baseline_s * 1000:.1f} ms each)"
    )
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "service.json").write_text(
        json.dumps(
            {
                "requests": n,
                "concurrency": concurrency,
                "peak_in_flight": result["peak"],
                "wall_s": result["wall"],
                "requests_per_s": rate,
                "p50_s": p50,
                "p90_s": p90,
                "p99_s": p99,
                "failed": failed,
                "identical": identical,
                "baseline_plans_per_s": baseline_rate,
            },  # fmt: skip
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    ok = report(
        [
            Threshold(
                "failed requests", failed, "==", 0, ",d", source="every request answered 200"
            ),
            Threshold(
                "answers identical to workout plan --format json",
                identical,
                "==",
                n,
                ",d",
                source="CLI/service parity",
            ),
            Threshold(
                "requests in flight at once (peak)",
                result["peak"],
                ">=",
                concurrency,
                ",d",
                source="issue 16: >= 100 concurrent",
            ),
            Threshold(
                "service / in-process throughput",
                rate / baseline_rate,
                ">=",
                MIN_THROUGHPUT_RATIO,
                ".2f",
                "x",
                source="same-run baseline; measured 0.71-0.83x",
            ),
        ],
        info=[
            f"p50 {p50:.3f} s, p99 {p99:.3f} s, {rate:.1f} requests/s (one uvicorn process, 2-core machine)"
        ],
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
