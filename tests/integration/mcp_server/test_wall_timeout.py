"""An execution past its wall-timeout ends as error_kind timeout and is counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from devcluster.mcp_servers import mcp_session
from tests.integration.mcp_server.conftest import Stack, http_get, metric_value, own_v2

pytestmark = pytest.mark.slow


async def test_wall_timeout_is_reported_and_counted(stack: Stack, tmp_path: Path) -> None:
    config = {"executionTimeoutSeconds": 2}
    with own_v2(tmp_path, "timeout", stack.backend.url, **config) as (_, server):
        async with mcp_session(server.url) as session:
            result = await session.call_tool(
                "execute",
                {"code": "await new Promise((r) => setTimeout(r, 20000)); return 1;"},
            )
        assert result.is_error
        assert result.structured_content["error"]["kind"] == "timeout"
        metrics = (await http_get(f"{server.url}/metrics")).text
        assert metric_value(metrics, "mcp_execution_wall_timeouts_total") == 1
        assert metric_value(metrics, "mcp_tool_calls_total", error_kind="timeout") == 1
