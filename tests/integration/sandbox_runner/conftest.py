"""Fixtures: one api-proxy stand-in and one small runner shared by the module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.sandbox_runner.peers import (
    ProxyStandIn,
    RunnerProcess,
    running_proxy,
    running_runner,
)

SMALL_RUNNER_FLAGS = (
    "--pool-size", "2",
    "--max-queue", "8",
    "--max-heap-mb", "64",
    "--max-rss-mb", "320",
    "--max-output-bytes", "65536",
    "--max-api-calls", "5",
)  # fmt: skip


@pytest.fixture(scope="module")
def proxy() -> Iterator[ProxyStandIn]:
    with running_proxy() as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def runner(proxy: ProxyStandIn) -> Iterator[RunnerProcess]:
    with running_runner(proxy.url, *SMALL_RUNNER_FLAGS) as process:
        yield process


@pytest.fixture(scope="module")
def client(runner: RunnerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=runner.url, timeout=60) as http:
        yield http
