"""`kubectl codemode usage` against a real Prometheus scraping real MCP servers with known traffic."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from devcluster.mcp_servers import (
    Server,
    mcp_server_process,
    mcp_session,
    runner_and_v2,
    sample_backend,
    write_config,
)
from devcluster.processes import free_port, stopping, wait_for
from devcluster.prometheus import Prometheus, static_job
from devcluster.specs import SAMPLE_SPEC
from tests.integration.cli.conftest import run_tool

pytestmark = pytest.mark.slow
NAMESPACE = "mcp-usage"
# The known traffic: what each version is sent, and so what the report must say.
V2_EXECUTES = {
    "await api.listRegions(); await api.listRegions(); return 1;": 2,  # 4 calls of listRegions
    'return await api.getProject({ projectId: "prj_missing" });': 2,  # ApiError (404) twice
    "return (await api.listProjects({})).length;": 1,  # a native, called through execute
    "while (true) {}": 1,  # the wall-timeout (3 s here)
}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    tmp = tmp_path_factory.mktemp("usage")
    with ExitStack() as started:
        backend = started.enter_context(stopping(sample_backend(tmp).start()))
        common = {"backendUrl": backend.url, "natives": ["listProjects"]}
        v2_config = write_config(
            tmp / "v2", SAMPLE_SPEC, softWaitSeconds=20, executionTimeoutSeconds=3, **common
        )
        runner, v2 = runner_and_v2(started, tmp, "v2", v2_config)
        v1_config = write_config(tmp / "v1", SAMPLE_SPEC, **common)
        v1 = mcp_server_process(tmp, "v1", "v1", v1_config, runner.url)
        yield v2, started.enter_context(stopping(v1.start()))


async def _traffic(v2: Server, v1: Server) -> int:
    calls = 0
    async with mcp_session(v2.url) as session:
        for query in ("list projects", "deploy from git", "regions"):
            await session.call_tool("search", {"query": query})
            calls += 1
        for code, times in V2_EXECUTES.items():
            for _ in range(times):
                await session.call_tool("execute", {"code": code})
                calls += 1
        for _ in range(2):
            await session.call_tool("listProjects", {})
            calls += 1
    async with mcp_session(v1.url) as session:
        for _ in range(3):
            await session.call_tool("listRegions", {})
            calls += 1
        await session.call_tool("getProject", {"projectId": "prj_missing"})
        calls += 1
    return calls


def _scraped(prometheus: Prometheus, expected: int) -> None:
    """Wait (bounded) until Prometheus holds every call of the traffic."""
    query = f'sum(mcp_tool_calls_total{{namespace="{NAMESPACE}"}})'

    def seen() -> float:
        result = prometheus.query(query)
        return float(result[0]["value"][1]) if result else -1.0

    wait_for(
        f"Prometheus holding all {expected} tool calls",
        lambda: seen() == expected,
        60,
        0.5,
        show=seen,
    )


def test_usage_reports_the_known_traffic(
    prometheus_server: Prometheus, servers: tuple[Server, Server]
) -> None:
    v2, v1 = servers
    targets = [f"127.0.0.1:{v2.port}", f"127.0.0.1:{v1.port}"]
    prometheus_server.configure(
        [
            static_job("mcp", targets, {"namespace": NAMESPACE}),
            # The same servers seen from another namespace must not count twice.
            static_job("elsewhere", targets, {"namespace": "other"}),
        ]
    )
    expected = asyncio.run(_traffic(v2, v1))
    _scraped(prometheus_server, expected)
    common = ("kubectl-codemode", "usage", "-n", NAMESPACE, "--prometheus", prometheus_server.url)
    done = run_tool(*common, "--since", "30m", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    versions = {version["version"]: version for version in report["versions"]}
    assert versions["v2"]["calls"] == 11
    assert versions["v2"]["by_kind"] == {"search": 3, "execute": 6, "pollJob": 0, "natives": 2}
    assert versions["v2"]["api_errors"] == 2 and versions["v2"]["wall_timeouts"] == 1
    assert versions["v1"]["calls"] == 4 and versions["v1"]["by_kind"]["natives"] == 4
    assert versions["v1"]["api_error_rate"] == 0.25 and versions["v1"]["wall_timeouts"] == 0
    # listProjects was called through execute too, but it is a native already.
    assert report["candidates"] == [
        {"operation": "listRegions", "calls": 4, "client_errors": 0},
        {"operation": "getProject", "calls": 2, "client_errors": 2},
    ]
    table = run_tool(*common, "--since", "30m")
    assert table.returncode == 0, table.stderr
    for text in ("Usage in namespace", "APIERROR-RATE", "18.2%", "6 55%", "listRegions"):
        assert text in table.stdout, table.stdout


def test_usage_without_prometheus_says_why(tmp_path: Path) -> None:
    done = run_tool(
        "kubectl-codemode",
        "usage",
        "-n",
        NAMESPACE,
        "--prometheus",
        f"http://127.0.0.1:{free_port()}",
    )
    assert done.returncode == 1
    assert "cannot reach Prometheus" in done.stderr
