"""MCP server benchmark (not a test): search and execute latency over MCP, p50/p95.

    .venv/bin/python -m benchmarks.bench_mcp [--rounds 200]   (from the repo root)

(search in process, over 1000 operations, and its relevance: benchmarks/bench_search.py)
- type check: what `typeCheck: true` adds to an execute (tsc on the code against the generated
  declarations), for the sample spec and the largest real one (dokploy, 383 operations).
- search over MCP: the `search` tool through the official client over real HTTP (sample spec).
- execute over MCP: `return 1` through MCP server → sandbox runner, against the same code posted
  to the runner directly; the difference is what the MCP layer and api-proxy plumbing add.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import httpx

from devcluster.mcp_servers import mcp_session, runner_and_v2, write_config
from devcluster.specs import REAL_SPECS, SAMPLE_SPEC
from mcp_server.openapi.loading import load_spec
from mcp_server.openapi.typescript import declarations
from mcp_server.typecheck import TypeChecker, default_tsc

QUERIES = [
    "create an application from a git repository",
    "list environment variables",
    "restart the database",
    "remove a custom domain",
    "get deployment logs",
]


def summary(name: str, seconds: list[float]) -> str:
    cuts = statistics.quantiles(seconds, n=20)
    return (
        f"{name:<34} n={len(seconds):<5} p50={statistics.median(seconds) * 1000:8.3f} ms"
        f"  p95={cuts[18] * 1000:8.3f} ms"
    )


def _check(checker: TypeChecker, code: str, _round: int) -> Awaitable[object]:
    return checker.check(code)


async def timed(rounds: int, action: Callable[[int], Awaitable[object]]) -> list[float]:
    timings = []
    for round_number in range(rounds):
        started = time.perf_counter()
        await action(round_number)
        timings.append(time.perf_counter() - started)
    return timings


async def bench_type_check(rounds: int) -> list[str]:
    tsc = default_tsc()
    if tsc is None:
        return ["type check: no tsc (npm ci) - skipped"]
    cases = (
        ("sample", SAMPLE_SPEC, "const regions = await api.listRegions();\nreturn regions.length;"),
        ("dokploy", REAL_SPECS / "dokploy-openapi.json", "return await api.projectAll();"),
    )
    lines = []
    for name, path, code in cases:
        checker = TypeChecker(declarations(load_spec(path)), tsc)
        try:
            await checker.check(code)  # warm-up: the file cache
            times = await timed(rounds, partial(_check, checker, code))
        finally:
            checker.close()
        lines.append(summary(f"type check ({name} spec)", times))
    return lines


async def bench_servers(rounds: int, workdir: Path) -> list[str]:
    with ExitStack() as started:
        config = write_config(workdir / "cfg", SAMPLE_SPEC, backendUrl="http://127.0.0.1:9")
        runner, server = runner_and_v2(started, workdir, "mcp", config)
        async with mcp_session(server.url) as session, httpx.AsyncClient(timeout=60) as http:

            async def search(n: int) -> object:
                return await session.call_tool("search", {"query": QUERIES[n % len(QUERIES)]})

            async def execute(n: int) -> object:
                return await session.call_tool("execute", {"code": "return 1;"})

            async def direct(n: int) -> object:
                body = {"code": "return 1;", "language": "typescript", "sdk": ""}
                return await http.post(f"{runner.url}/v1/executions", json=body)

            await timed(5, execute)  # warm-up: isolate pool, connections
            search_times = await timed(rounds, search)
            execute_times = await timed(rounds, execute)
            direct_times = await timed(rounds, direct)
        overhead = [a - b for a, b in zip(sorted(execute_times), sorted(direct_times), strict=True)]
        return [
            summary("search tool over MCP (46 ops)", search_times),
            summary("execute `return 1` over MCP", execute_times),
            summary("same code straight to the runner", direct_times),
            summary("execute overhead (quantile diff)", overhead),
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--type-check-rounds", type=int, default=20)
    args = parser.parse_args()
    for line in asyncio.run(bench_type_check(args.type_check_rounds)):
        print(line)
    with tempfile.TemporaryDirectory() as workdir:
        for line in asyncio.run(bench_servers(args.rounds, Path(workdir))):
            print(line)


if __name__ == "__main__":
    main()
