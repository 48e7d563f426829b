"""Concurrency: a full queue answers 503 busy at once instead of hanging."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.sandbox_runner.peers import (
    HOLD_SECONDS,
    ProxyStandIn,
    RunnerProcess,
    running_runner,
)

pytestmark = pytest.mark.slow  # real runner processes, seconds per test

POOL = 4
QUEUE = 50
Answer = tuple[int, float, dict[str, object]]  # status, seconds to answer, body


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


async def _concurrent(url: str, count: int) -> list[Answer]:
    async with _client(url, count) as client:
        return await asyncio.gather(*(_send(client, f"return {i} * 2;") for i in range(count)))


async def _burst_while_held(
    url: str, proxy: ProxyStandIn, count: int, admitted: int
) -> tuple[list[Answer], Answer]:
    """Every admitted execution waits in the proxy until all the others were refused; then one
    more request, alone on its connection, times a busy answer without the burst's client load.
    """
    proxy.release.clear()
    code = "return await api.hold({});"
    async with _client(url, count) as client:
        tasks = [asyncio.create_task(_send(client, code)) for _ in range(count)]
        try:
            async with asyncio.timeout(HOLD_SECONDS):
                while True:
                    if sum(t.done() for t in tasks) >= count - admitted:
                        break
                    await asyncio.sleep(0.01)
            async with httpx.AsyncClient(base_url=url, timeout=30) as alone:
                single = await _send(alone, code)
        finally:
            proxy.release.set()
        return await asyncio.gather(*tasks), single


def test_fifty_concurrent_executions_succeed(runner: RunnerProcess) -> None:
    answers = asyncio.run(_concurrent(runner.url, 50))
    assert [status for status, _, _ in answers] == [200] * 50
    assert sorted(body["result"] for _, _, body in answers) == [i * 2 for i in range(50)]
    slowest = max(seconds for _, seconds, _ in answers)
    print(f"50 concurrent: slowest answer {slowest:.2f} s")


def test_two_hundred_at_once_excess_is_busy_quickly(
    runner: RunnerProcess, proxy: ProxyStandIn
) -> None:
    answers, single = asyncio.run(_burst_while_held(runner.url, proxy, 200, POOL + QUEUE))
    ok = [a for a in answers if a[0] == 200]
    busy = [a for a in answers if a[0] == 503]
    assert (len(ok), len(busy)) == (POOL + QUEUE, 200 - POOL - QUEUE)
    assert all(body["ok"] for _, _, body in ok)
    for _, _, body in busy:
        assert body["error"]["kind"] == "infra" and body["error"]["name"] == "Busy"
    busy_seconds = sorted(seconds for _, seconds, _ in busy)
    median_busy, slowest_busy = busy_seconds[len(busy_seconds) // 2], busy_seconds[-1]
    print(
        f"200 at once: {len(busy)} busy, answered in median {median_busy:.2f} s, slowest "
        f"{slowest_busy:.2f} s (client included); one more while full: {single[1] * 1000:.0f} ms"
    )
    # By construction every busy answer came while all admitted executions were still held.
    assert single[0] == 503
    assert single[1] < 1.0
    assert slowest_busy < HOLD_SECONDS / 2
    assert httpx.get(f"{runner.url}/health").status_code == 200
