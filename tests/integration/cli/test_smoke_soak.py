"""codemode-smoke and codemode-soak against real MCP servers, healthy and with injected faults."""

from __future__ import annotations

import pytest

from devcluster.mcp_servers import USER_TOKEN
from devcluster.processes import free_port
from tests.integration.mcp_server.conftest import Stack

from .conftest import run_tool, summary, with_faults

pytestmark = pytest.mark.slow


def _target(server_url: str) -> list[str]:
    return ["--url", f"{server_url}/mcp", "--token", USER_TOKEN, "--json"]


def test_smoke_passes_against_v2(stack: Stack) -> None:
    done = run_tool("codemode-smoke", *_target(stack.v2.url))
    assert done.returncode == 0, done.stderr
    result = summary(done)
    assert (result["ok"], result["total"], result["passed"]) == (50, 50, True)
    # The seed's mix: search, execute (with SDK calls through the api-proxy) and a native.
    assert set(result["calls_by_tool"]) == {"search", "execute", "listProjects"}
    assert 0 < result["p50_ms"] <= result["p95_ms"]


def test_smoke_prints_the_seed_line_against_v1(stack: Stack) -> None:
    done = run_tool("codemode-smoke", "--url", f"{stack.v1.url}/mcp", "--token", USER_TOKEN)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok=50/50 p50=")
    assert "search" not in done.stdout


def test_smoke_fails_on_injected_latency(stack: Stack) -> None:
    with with_faults(stack.backend, latency_ms=600):
        done = run_tool("codemode-smoke", *_target(stack.v2.url), "--calls", "9")
    assert done.returncode == 1
    assert summary(done)["ok"] == 9  # slow, not failing
    assert "smoke failed: p50" in done.stderr and "is not under 500ms" in done.stderr


def test_smoke_fails_on_injected_errors(stack: Stack) -> None:
    with with_faults(stack.backend, error_status=500):
        done = run_tool("codemode-smoke", *_target(stack.v2.url), "--calls", "6")
    assert done.returncode == 1
    assert summary(done)["failed"] == 4  # execute and the native reach the backend; search does not
    assert "4 of 6 calls failed" in done.stderr and "[infra]" in done.stderr


def test_soak_passes_with_concurrency(stack: Stack) -> None:
    done = run_tool(
        "codemode-soak", *_target(stack.v2.url), "--requests", "200", "--concurrency", "4"
    )
    assert done.returncode == 0, done.stderr
    result = summary(done)
    assert (result["total"], result["failed"]) == (200, 0)


def test_soak_fails_when_some_requests_fail(stack: Stack) -> None:
    with with_faults(stack.backend, error_status=503, error_rate=0.5):
        done = run_tool("codemode-soak", *_target(stack.v2.url), "--requests", "30")
    assert done.returncode == 1
    assert summary(done)["failed"] > 0
    assert "soak failed:" in done.stderr and "requests failed" in done.stderr


def test_unreachable_server_is_a_clear_error() -> None:
    done = run_tool("codemode-smoke", "--url", f"http://127.0.0.1:{free_port()}/mcp")
    assert done.returncode == 2
    assert "cannot reach" in done.stderr
