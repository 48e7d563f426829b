"""Concurrency: a full queue answers 503 busy at once instead of hanging."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.sandbox_runner.peers import ProxyStandIn, RunnerProcess, running_runner

POOL = 4
QUEUE = 50


@pytest.fixture(scope="module")
def runner(proxy: ProxyStandIn) -> Iterator[RunnerProcess]:
    flags = ("--pool-size", str(POOL), "--max-queue", str(QUEUE), "--queue-timeout", "60")
    with running_runner(proxy.url, *flags) as process:
        yield process


async def _send(client: httpx.AsyncClient, code: str) -> tuple[int, float, dict[str, object]]:
    started = time.monotonic()
    response = await client.post("/v1/executions", json={"code": code, "token": "t"})
    return response.status_code, time.monotonic() - started, response.json()


def _client(url: str, count: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=count + 10)
    return httpx.AsyncClient(base_url=url, timeout=120, limits=limits)


async def _concurrent(url: str, count: int) -> list[tuple[int, float, dict[str, object]]]:
    async with _client(url, count) as client:
        return await asyncio.gather(*(_send(client, f"return {i} * 2;") for i in range(count)))


async def _burst_while_held(
    url: str, proxy: ProxyStandIn, count: int, admitted: int
) -> list[tuple[int, float, dict[str, object]]]:
    """Every admitted execution waits in the proxy until all the others were refused."""
    proxy.release.clear()
    async with _client(url, count) as client:
        tasks = [
            asyncio.create_task(_send(client, "return await api.hold({});")) for _ in range(count)
        ]
        try:
            async with asyncio.timeout(60):
                while True:
                    if sum(t.done() for t in tasks) >= count - admitted:
                        break
                    await asyncio.sleep(0.01)
        finally:
            proxy.release.set()
        return await asyncio.gather(*tasks)


def test_fifty_concurrent_executions_succeed(runner: RunnerProcess) -> None:
    answers = asyncio.run(_concurrent(runner.url, 50))
    assert [status for status, _, _ in answers] == [200] * 50
    assert sorted(body["result"] for _, _, body in answers) == [i * 2 for i in range(50)]
    slowest = max(seconds for _, seconds, _ in answers)
    print(f"50 concurrent: slowest answer {slowest:.2f} s")


def test_two_hundred_at_once_excess_is_busy_quickly(
    runner: RunnerProcess, proxy: ProxyStandIn
) -> None:
    answers = asyncio.run(_burst_while_held(runner.url, proxy, 200, POOL + QUEUE))
    ok = [a for a in answers if a[0] == 200]
    busy = [a for a in answers if a[0] == 503]
    assert (len(ok), len(busy)) == (POOL + QUEUE, 200 - POOL - QUEUE)
    assert all(body["ok"] for _, _, body in ok)
    for _, _, body in busy:
        assert body["error"]["kind"] == "infra" and body["error"]["name"] == "Busy"
    busy_seconds = sorted(seconds for _, seconds, _ in busy)
    median_busy, slowest_busy = busy_seconds[len(busy_seconds) // 2], busy_seconds[-1]
    print(
        f"200 at once: {len(busy)} busy, answered in median {median_busy:.2f} s, "
        f"slowest {slowest_busy:.2f} s (while every admitted execution was still running)"
    )
    assert slowest_busy < 5.0
    assert httpx.get(f"{runner.url}/health").status_code == 200
