"""What code inside `execute` can reach: the api-proxy's routes, and nothing else of the server.

The isolate's only permitted address is the api-proxy's own listener; the MCP listener (/mcp,
/metrics, /readyz) is refused by Deno, and on the proxy's listener those paths do not exist.
"""

from __future__ import annotations

import json

import pytest

from devcluster.mcp_servers import mcp_session
from tests.integration.mcp_server.conftest import Stack, http_get

pytestmark = pytest.mark.slow

_PROBE = """
const seen = {};
for (const url of %s) {
  try {
    const answer = await fetch(url, {method: url.endsWith('/mcp') ? 'POST' : 'GET',
      headers: {host: '127.0.0.1:%d', 'content-type': 'application/json',
                accept: 'application/json, text/event-stream'},
      body: url.endsWith('/mcp') ? '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' : undefined});
    seen[url] = answer.status;
  } catch (error) {
    seen[url] = error.name;
  }
}
return seen;
"""


async def test_isolate_code_reaches_no_server_route_but_the_proxy(stack: Stack) -> None:
    public = [f"{stack.v2.url}{path}" for path in ("/mcp", "/metrics", "/readyz", "/healthz")]
    on_proxy = [f"{stack.v2.proxy_url}{path}" for path in ("/mcp", "/metrics", "/readyz")]
    code = _PROBE % (json.dumps(public + on_proxy), stack.v2.port)
    async with mcp_session(stack.v2.url) as session:
        result = await session.call_tool("execute", {"code": code})
    assert not result.is_error, result.content
    seen = result.structured_content["result"]
    assert all(seen[url] == "NotCapable" for url in public), seen  # Deno's permission refusal
    assert all(seen[url] == 404 for url in on_proxy), seen


async def test_the_proxy_listener_serves_only_the_proxy(stack: Stack) -> None:
    for path in ("/mcp", "/metrics", "/readyz", "/healthz"):
        assert (await http_get(f"{stack.v2.proxy_url}{path}")).status_code == 404, path
    assert (await http_get(f"{stack.v2.url}/proxy/v1/call")).status_code == 404
