"""Malformed and hostile HTTP: 4xx, never a crash; the proxy reaches spec operations only."""

from __future__ import annotations

import http.client
import time
from pathlib import Path

import httpx
import pytest

from devcluster.mcp_servers import mcp_session
from tests.integration.mcp_server.conftest import Stack, http_get, own_v2

pytestmark = pytest.mark.slow

IDLE_SECONDS = 7  # over uvicorn's default keep-alive (5 s), far under the test's 30 s
_MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


async def _post(url: str, content: bytes | str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(url, content=content, headers=headers)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"jsonrpc": "2.0"}', b'{"jsonrpc":"2.0","id":1,"method":7}', b""],
)
async def test_malformed_mcp_requests_get_4xx(stack: Stack, body: bytes) -> None:
    answer = await _post(f"{stack.v2.url}/mcp", body, _MCP_HEADERS)
    assert 400 <= answer.status_code < 500, answer.text
    assert (await http_get(f"{stack.v2.url}/healthz")).status_code == 200


async def test_foreign_host_header_is_refused(stack: Stack) -> None:
    headers = {**_MCP_HEADERS, "host": "evil.example.com"}
    answer = await _post(f"{stack.v2.url}/mcp", b"{}", headers)
    assert 400 <= answer.status_code < 500


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, b'{"operationId": "listRegions"}', 401),
        ({"authorization": "Bearer forged"}, b'{"operationId": "listRegions"}', 401),
        # The token is checked first: a stranger learns nothing about the body's rules.
        ({"authorization": "Bearer forged"}, b"{oops", 401),
        ({"authorization": "Bearer forged"}, b'{"params": {}}', 401),
    ],
)
async def test_proxy_refuses_bad_calls(
    stack: Stack, headers: dict[str, str], body: bytes, status: int
) -> None:
    answer = await _post(f"{stack.v2.proxy_url}/proxy/v1/call", body, headers)
    assert answer.status_code == status
    assert answer.json()["error"]["kind"] in ("user", "timeout")


async def test_path_parameters_cannot_escape_the_operation(stack: Stack) -> None:
    """A path parameter is one segment: no traversal to other routes (e.g. /admin)."""
    async with mcp_session(stack.v2.url) as session:
        result = await session.call_tool("getDeployment", {"deploymentId": "../admin/faults"})
    assert result.is_error
    assert result.structured_content["error"]["kind"] == "user"
    assert "not one path segment" in result.content[0].text


def test_idle_connections_are_kept_keep_alive_seconds(tmp_path: Path, stack: Stack) -> None:
    """`keepAliveSeconds` is what the server keeps an idle connection for (uvicorn's own 5 s
    would close it within the sleep below): one socket, two requests 7 s apart."""
    with own_v2(tmp_path, "keepalive", stack.backend.url, keepAliveSeconds=30) as (_, server):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", server.health_path)
        assert connection.getresponse().read() is not None
        assert connection.sock is not None
        opened = connection.sock.getsockname()
        time.sleep(IDLE_SECONDS)
        connection.request("GET", server.health_path)  # on the same socket: raises if closed
        assert connection.getresponse().status == 200
        assert connection.sock is not None and connection.sock.getsockname() == opened
        connection.close()
