"""Bad input to every tool of both versions and to /mcp: a 4xx or a `user` error that says what
is wrong; never a 500, a crash, or an infra count (the real /metrics)."""

from __future__ import annotations

from typing import Any

import httpx
import mcp_types as types
import pytest

from devcluster.mcp_servers import Server, mcp_session
from tests.integration.mcp_server.conftest import Stack, http_get, metric_value

pytestmark = pytest.mark.slow

HUGE = "x" * 300_000
_MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def _bad_arguments(tool: types.Tool) -> list[dict[str, Any]]:
    """Malformed, wrong-typed, oversized and path-abusing arguments for `tool`."""
    properties: dict[str, Any] = tool.input_schema.get("properties", {})
    cases: list[dict[str, Any]] = [{"noSuchArgument": 1}]
    if properties:
        cases.append({name: [[{"nested": True}]] for name in properties})  # wrong types
        cases.append({name: HUGE for name in properties})  # oversized
        cases.append({name: ".." for name in properties})  # path abuse (and wrong types)
        cases.append({name: "a/../../admin" for name in properties})
    return cases


async def _infra(server: Server) -> float:
    text = (await http_get(f"{server.url}/metrics")).text
    return metric_value(text, "mcp_tool_calls_total", error_kind="infra")


def _kind(result: types.CallToolResult) -> str:
    structured = result.structured_content or {}
    error = structured.get("error") if isinstance(structured, dict) else None
    return error["kind"] if isinstance(error, dict) else "sdk-validation"


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_every_tool_refuses_bad_arguments_as_the_models_error(
    stack: Stack, version: str
) -> None:
    server = stack.v1 if version == "v1" else stack.v2
    before = await _infra(server)
    seen: list[tuple[str, str]] = []
    async with mcp_session(server.url) as session:
        tools = (await session.list_tools()).tools
        for tool in tools:
            for arguments in _bad_arguments(tool):
                result = await session.call_tool(tool.name, arguments)
                if not result.is_error:  # e.g. search's limit ignored? then it must be harmless
                    continue
                kind = _kind(result)
                assert kind in ("user", "api", "sdk-validation"), (tool.name, result.content)
                seen.append((tool.name, kind))
    assert await _infra(server) == before
    assert {name for name, _ in seen} == {tool.name for tool in tools}  # every tool refused some
    assert (await http_get(f"{server.url}/healthz")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"{" * 100_000,  # deep nesting
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": 7}}',
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": "x"}',
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "execute", '
        b'"arguments": {"code": "' + b"y" * 5_000_000 + b'"}}}',
        b"\xff\xfe\x00",
    ],
    ids=["deep", "name-not-string", "params-not-object", "five-megabytes", "not-utf8"],
)
async def test_malformed_mcp_bodies_get_4xx_or_a_user_error(stack: Stack, body: bytes) -> None:
    before = await _infra(stack.v2)
    async with httpx.AsyncClient(timeout=60) as client:
        answer = await client.post(f"{stack.v2.url}/mcp", content=body, headers=_MCP_HEADERS)
    assert answer.status_code < 500, answer.text[:500]
    if answer.status_code == 200:
        assert "error" in answer.json() or answer.json()["result"]["isError"]
    assert await _infra(stack.v2) == before
    assert (await http_get(f"{stack.v2.url}/healthz")).status_code == 200


async def test_a_lone_surrogate_in_code_is_no_500(stack: Stack) -> None:
    body = (
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "execute", '
        b'"arguments": {"code": "return \\"\\ud800\\";"}}}'
    )
    async with httpx.AsyncClient(timeout=60) as client:
        answer = await client.post(f"{stack.v2.url}/mcp", content=body, headers=_MCP_HEADERS)
    assert answer.status_code < 500, answer.text[:500]
