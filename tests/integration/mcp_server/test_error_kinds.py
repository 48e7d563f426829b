"""Error kinds per docs/contracts.md, the same in both versions: the model's mistakes are `user`,
a backend 4xx `api`; neither moves `mcp_tool_calls_total{error_kind="infra"}`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from devcluster.mcp_servers import mcp_session
from devcluster.specs import SAMPLE_SPEC
from mcp_server.backend import Backend
from mcp_server.metrics import Metrics
from mcp_server.openapi.loading import load_spec
from tests.integration.mcp_server.conftest import Stack, http_get, metric_value

pytestmark = pytest.mark.slow

# (operation, arguments, kind): each is a call a model could make.
CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("createProject", {"name": "x"}, "user"),  # not a parameter: the name belongs in body
    ("createProject", {"body": "a string"}, "user"),
    ("listProjects", {"limit": "ten"}, "user"),
    ("getProject", {}, "user"),
    ("getProject", {"projectId": "."}, "user"),
    ("getProject", {"projectId": ".."}, "user"),
    ("getProject", {"projectId": "prj_1/deployments"}, "user"),
    ("getProject", {"projectId": "x" * 70_000}, "user"),
    ("getProject", {"projectId": "prj_missing"}, "api"),
]


async def _infra(url: str) -> float:
    return metric_value(
        (await http_get(f"{url}/metrics")).text, "mcp_tool_calls_total", error_kind="infra"
    )


@pytest.mark.parametrize(("operation", "arguments", "kind"), CALLS)
async def test_v1_tool_error_kinds(
    stack: Stack, operation: str, arguments: dict[str, Any], kind: str
) -> None:
    before = await _infra(stack.v1.url)
    async with mcp_session(stack.v1.url) as session:
        result = await session.call_tool(operation, arguments)
    assert result.is_error and result.structured_content["error"]["kind"] == kind, result.content
    assert await _infra(stack.v1.url) == before


@pytest.mark.parametrize(("operation", "arguments", "kind"), CALLS)
async def test_v2_execute_error_kinds(
    stack: Stack, operation: str, arguments: dict[str, Any], kind: str
) -> None:
    before = await _infra(stack.v2.url)
    code = f"return await api.{operation}({json.dumps(arguments)});"
    async with mcp_session(stack.v2.url) as session:
        result = await session.call_tool("execute", {"code": code})
    assert result.is_error, result.content
    assert result.structured_content["error"]["kind"] == kind, result.content
    assert await _infra(stack.v2.url) == before


async def test_v2_names_the_wrong_parameter(stack: Stack) -> None:
    async with mcp_session(stack.v2.url) as session:
        result = await session.call_tool(
            "execute", {"code": "return await api.createProject({name: 'x'});"}
        )
    text = result.content[0].text
    assert text.startswith("[user] ApiCallError: createProject has no parameter name"), text


class _DropsFirstConnection:
    """A real HTTP/1.1 server that closes the first connection after reading its request (a
    kept-alive connection the server had just closed), then answers every request with 200."""

    def __init__(self) -> None:
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        first = self.connections == 1
        while await reader.readuntil(b"\r\n\r\n"):
            if first:
                writer.close()
                return
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
            writer.write(b"content-length: 2\r\n\r\n[]")
            await writer.drain()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._quietly, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _quietly(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@asynccontextmanager
async def _backend(url: str) -> AsyncIterator[Backend]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield Backend(load_spec(SAMPLE_SPEC, url), client, Metrics("v2"))


async def test_idempotent_calls_retry_once_on_a_stale_connection() -> None:
    async with _DropsFirstConnection() as url, _backend(url) as backend:
        answer = await backend.call(backend.operation("listRegions"), {}, {}, "tool")
    assert answer.status == 200


async def test_other_calls_are_not_retried() -> None:
    async with _DropsFirstConnection() as url, _backend(url) as backend:
        with pytest.raises(Exception, match="backend unreachable for createProject"):
            await backend.call(
                backend.operation("createProject"), {"body": {"name": "a"}}, {}, "tool"
            )
