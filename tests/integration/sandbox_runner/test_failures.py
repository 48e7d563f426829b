"""A runner whose isolates cannot start: unhealthy, and executions fail as infra, quickly."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.integration.sandbox_runner.peers import ProxyStandIn, running_runner

pytestmark = pytest.mark.slow  # real runner processes, seconds per test


def test_broken_runtime_is_unhealthy_and_infra(proxy: ProxyStandIn) -> None:
    flags = ("--deno-path", "/bin/false", "--spawn-timeout", "1", "--pool-size", "1")
    with running_runner(proxy.url, *flags, expect=503) as runner:
        started = time.monotonic()
        response = httpx.post(f"{runner.url}/v1/executions", json={"code": "1"}, timeout=30)
        assert response.status_code == 200
        assert response.json()["error"] == {
            "kind": "infra",
            "name": "RunnerError",
            "message": "RunnerFailure: no isolate process could be started",
            "origin": "runner",
        }
        assert time.monotonic() - started < 10
        metrics = httpx.get(f"{runner.url}/metrics").text
        assert 'sandbox_executions_total{error_kind="infra",outcome="error"} 1.0' in metrics
        assert "sandbox_spawn_failures_total" in metrics


def test_unreachable_proxy_is_infra() -> None:
    with running_runner("http://127.0.0.1:9", "--pool-size", "1") as runner:
        body = {"code": "return await api.echo({});"}
        answer = httpx.post(f"{runner.url}/v1/executions", json=body, timeout=30).json()
        assert answer["error"]["kind"] == "infra"
        assert answer["error"]["name"] == "ProxyError"
