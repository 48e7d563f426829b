"""The hostile corpus through the full path: official MCP client -> v2 -> runner -> Deno.

For every program: contained (the expected error kind or result), the runner and the server
healthy after, and `mcp_tool_calls_total{error_kind="infra"}` on the real /metrics unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devcluster.mcp_servers import USER_TOKEN, Server, mcp_session
from tests.hostile import Program, programs
from tests.integration.mcp_server.conftest import Stack, http_get, metric_value, own_v2

pytestmark = pytest.mark.slow

PROGRAMS = programs()


@pytest.fixture(scope="module")
def hostile_v2(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    """A v2 server and runner of their own: a 4 s wall-timeout keeps the busy loops short."""
    config = {"executionTimeoutSeconds": 4, "softWaitSeconds": 30}
    with own_v2(tmp_path_factory.mktemp("hostile"), "hostile", stack.backend.url, **config) as pair:
        yield pair


async def _infra(server: Server) -> float:
    text = (await http_get(f"{server.url}/metrics")).text
    return metric_value(text, "mcp_tool_calls_total", error_kind="infra")


@pytest.mark.parametrize("hostile", PROGRAMS, ids=[p.name for p in PROGRAMS])
async def test_hostile_program_is_contained(
    stack: Stack, hostile_v2: tuple[Server, Server], hostile: Program
) -> None:
    runner, server = hostile_v2
    assert server.proxy_port is not None
    code = hostile.with_ports(mcp=server.port, proxy=server.proxy_port, backend=stack.backend.port)
    before = await _infra(server)
    async with mcp_session(server.url) as session:
        result = await session.call_tool("execute", {"code": code})
        sane = await session.call_tool("execute", {"code": "return 'still fine';"})
    structured = result.structured_content
    assert USER_TOKEN not in result.content[0].text
    if hostile.kind == "ok":
        assert not result.is_error, result.content
        assert structured["result"] == hostile.result
    else:
        assert result.is_error, result.content
        assert structured["error"]["kind"] == hostile.kind, result.content
    assert await _infra(server) == before, result.content
    assert sane.structured_content["result"] == "still fine"
    assert (await http_get(f"{server.url}/readyz")).status_code == 200
    assert (await http_get(f"{runner.url}/health")).status_code == 200


def test_the_corpus_is_large_enough() -> None:
    assert len(PROGRAMS) >= 30
