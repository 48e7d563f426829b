"""An execution past its wall-timeout ends as error_kind timeout and is counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.mcp_server.conftest import (
    SAMPLE_SPEC,
    Stack,
    free_port,
    http_get,
    mcp_server_process,
    mcp_session,
    metric_value,
    runner_process,
    write_config,
)

pytestmark = pytest.mark.slow


async def test_wall_timeout_is_reported_and_counted(stack: Stack, tmp_path: Path) -> None:
    port = free_port()
    runner = runner_process(tmp_path, "runner-timeout", port).start(seconds=60)
    config = write_config(
        tmp_path / "cfg", SAMPLE_SPEC, backendUrl=stack.backend.url, executionTimeoutSeconds=2
    )
    server = mcp_server_process(tmp_path, "mcp-timeout", "v2", config, runner.url, port).start()
    try:
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
    finally:
        server.stop()
        runner.stop()
