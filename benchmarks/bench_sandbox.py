"""Sandbox runner latency: cold (a Deno process per execution) vs warm (the pool), on loopback.

Run: .venv/bin/python benchmarks/bench_sandbox.py [--runs 200] [--pool-size 4] [--burst 50]
Prints p50/p95 in milliseconds. Not a test: figures depend on the machine's load.
`--burst N` instead sends N trivial executions at once to a runner with its default settings and
prints how many failed (503 Busy or anything but a result) with the p50/p95 of all N.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from devcluster.mcp_servers import runner_process
from devcluster.processes import stopping
from sandbox_runner.isolate import Isolate, IsolateConfig, Job, bootstrap_path, default_deno_path

TRIVIAL = "return 1 + 1;"
PROXY = "http://127.0.0.1:9"  # never called by the trivial program
SHM = "/dev/shm"


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms"


async def _cold(runs: int, work_root: Path) -> list[float]:
    """Spawn + run + kill one process per execution: what every call costs without a pool."""
    config = IsolateConfig(
        deno_path=default_deno_path(),
        bootstrap=bootstrap_path(),
        proxy_url=PROXY,
        proxy_host_port="127.0.0.1:9",
        max_heap_mb=128,
        max_rss_bytes=512 << 20,
        max_output_bytes=1 << 16,
        spawn_timeout=30,
        work_root=work_root,
    )
    job = Job(TRIVIAL, "typescript", "", "t", 1, 10)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        isolate = await Isolate.spawn(config)
        await isolate.run(job)
        samples.append(time.perf_counter() - started)
        await isolate.reap()
    return samples


@contextmanager
def _runner(*flags: str) -> Iterator[str]:
    """A runner subprocess (its defaults but `flags`), yielded as its URL once its pool is up."""
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as logs:
        runner = runner_process(Path(logs), "runner", PROXY, *flags, healthy=200)
        with stopping(runner.start(seconds=60)):
            time.sleep(1)  # let the whole pool finish starting
            yield runner.url


async def _burst(url: str, n: int) -> tuple[int, list[float]]:
    """`n` executions sent at once; (failed, durations)."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:

        async def one() -> tuple[bool, float]:
            started = time.perf_counter()
            response = await client.post("/v1/executions", json={"code": TRIVIAL})
            ok = response.status_code == 200 and response.json().get("ok") is True
            return ok, time.perf_counter() - started

        answers = await asyncio.gather(*(one() for _ in range(n)))
    return sum(not ok for ok, _ in answers), [seconds for _, seconds in answers]


def _warm(runs: int, pool_size: int, interval: float) -> list[float]:
    """End-to-end HTTP executions against a running runner, one every `interval` seconds."""
    with (
        _runner("--pool-size", str(pool_size)) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        samples = []
        for i in range(runs + 10):
            started = time.perf_counter()
            answer = client.post("/v1/executions", json={"code": TRIVIAL}).json()
            elapsed = time.perf_counter() - started
            assert answer["ok"], answer
            if i >= 10:  # warm-up
                samples.append(elapsed)
            time.sleep(max(0.0, interval - elapsed))
        return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--cold-runs", type=int, default=40)
    parser.add_argument("--pool-size", type=int, default=4)
    parser.add_argument("--burst", type=int, default=0, help="N concurrent runs, default settings")
    args = parser.parse_args()
    if args.burst:
        with _runner() as url:
            failed, seconds = asyncio.run(_burst(url, args.burst))
        print(f"burst {args.burst} at once (defaults): failed {failed}  {_percentiles(seconds)}")
        return
    work_root = Path(tempfile.mkdtemp(dir=SHM if os.path.isdir(SHM) else None))
    cold = asyncio.run(_cold(args.cold_runs, work_root))
    shutil.rmtree(work_root, ignore_errors=True)
    print(f"cold  spawn+run+kill   n={args.cold_runs:<4} {_percentiles(cold)}")
    for interval, label in ((0.1, "10/s"), (0.0, "back-to-back")):
        warm = _warm(args.runs, args.pool_size, interval)
        print(
            f"warm  HTTP {label:12} n={args.runs:<4} {_percentiles(warm)}  (pool {args.pool_size})"
        )


if __name__ == "__main__":
    main()
