"""v1 classic mode: every operation is a tool, same backend, same metrics with version="v1"."""

from __future__ import annotations

import json

import pytest

from devcluster.mcp_servers import mcp_session
from devcluster.specs import SAMPLE_SPEC
from tests.integration.mcp_server.conftest import Stack, http_get, metric_value

pytestmark = pytest.mark.slow


async def test_tools_list_has_every_operation(stack: Stack) -> None:
    document = json.loads(SAMPLE_SPEC.read_text())
    operation_ids = {
        op["operationId"] for item in document["paths"].values() for op in item.values()
    }
    async with mcp_session(stack.v1.url) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == operation_ids
    schema = tools["createDeployment"].input_schema
    assert schema["required"] == ["body", "projectId"]
    assert schema["properties"]["body"]["required"] == ["gitUrl"]


async def test_classic_mode_calls_operations(stack: Stack) -> None:
    async with mcp_session(stack.v1.url) as session:
        created = await session.call_tool("createProject", {"body": {"name": "classic"}})
        assert not created.is_error, created.content
        project_id = created.structured_content["body"]["id"]
        fetched = await session.call_tool("getProject", {"projectId": project_id})
        missing = await session.call_tool("getProject", {"projectId": "prj_nope"})
        wrong = await session.call_tool("getProject", {"project": "x"})
    assert fetched.structured_content["body"]["name"] == "classic"
    assert missing.is_error and missing.structured_content["error"]["kind"] == "api"
    assert "404" in missing.content[0].text
    assert wrong.is_error and wrong.structured_content["error"]["kind"] == "user"
    metrics = (await http_get(f"{stack.v1.url}/metrics")).text
    assert metric_value(metrics, "mcp_tool_calls_total", version="v1", tool="getProject") >= 3
    assert metric_value(metrics, "mcp_tool_calls_total", version="v2") == 0
    assert (
        metric_value(
            metrics, "mcp_tool_calls_total", version="v1", tool="getProject", error_kind="api"
        )
        >= 1
    )
