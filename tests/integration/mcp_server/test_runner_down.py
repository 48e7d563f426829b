"""The sandbox runner going away: execute fails as infra, the server stays up, /readyz says 503."""

from __future__ import annotations

from pathlib import Path

import pytest

from devcluster.mcp_servers import mcp_session
from tests.integration.mcp_server.conftest import Stack, http_get, metric_value, own_v2

pytestmark = pytest.mark.slow


async def test_stopped_runner_is_infra_and_not_ready(stack: Stack, tmp_path: Path) -> None:
    with own_v2(tmp_path, "doomed", stack.backend.url) as (runner, server):
        async with mcp_session(server.url) as session:
            before = await session.call_tool("execute", {"code": "return 1 + 1;"})
            assert before.structured_content["result"] == 2
            assert (await http_get(f"{server.url}/readyz")).status_code == 200
            runner.stop()
            after = await session.call_tool("execute", {"code": "return 1 + 1;"})
            searched = await session.call_tool("search", {"query": "list projects"})
        assert after.is_error
        assert after.structured_content["error"]["kind"] == "infra"
        assert "sandbox runner" in after.content[0].text
        assert not searched.is_error  # the server stays up and useful
        assert (await http_get(f"{server.url}/healthz")).status_code == 200
        assert (await http_get(f"{server.url}/readyz")).status_code == 503
        metrics = (await http_get(f"{server.url}/metrics")).text
        assert (
            metric_value(
                metrics, "mcp_tool_calls_total", tool="execute", outcome="error", error_kind="infra"
            )
            == 1
        )
