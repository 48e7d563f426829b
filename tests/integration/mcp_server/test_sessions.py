"""Pinned conversations and shared jobs on real servers, with the official MCP client.

Both eras of the protocol: session clients (2025-11-25: Mcp-Session-Id) and sessionless ones
(2026-07-28: the version cookie). Where a request goes is decided by the test (`Targets`): the
server semantics are tested here, the route that pins them through a real gateway in
tests/integration/gateway.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import httpx2
import pytest
from mcp.shared.exceptions import MCPError

from codemode_cli.conversation import VERSION_CHANGED, converse
from codemode_cli.traffic import ERAS, connect, http_client
from devcluster.mcp_servers import USER_TOKEN, Server
from devcluster.redis import Redis
from tests.integration.mcp_server.conftest import Stack, own_v2
from tests.jobs import job_code, poll_all

KEY = "test-session-key-v2"
pytestmark = pytest.mark.slow


class Targets(httpx2.AsyncBaseTransport):
    """Each request to the next of `ports` on loopback, in turn: the test says where calls go."""

    def __init__(self, *ports: int) -> None:
        self.ports = list(ports)
        self._turn = itertools.count()
        self._inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        request.url = request.url.copy_with(port=self.ports[next(self._turn) % len(self.ports)])
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture(scope="module")
def v2_pair(
    stack: Stack, redis_server: Redis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    """Two v2 replicas of one Deployment: the same key, one Redis, each its own runner."""
    config = {"jobStoreUrl": redis_server.url, "sessionKey": KEY, "softWaitSeconds": 0.2}
    with ExitStack() as replicas:
        pair = [
            replicas.enter_context(
                own_v2(tmp_path_factory.mktemp(f"v2-{name}"), name, stack.backend.url, **config)
            )[1]
            for name in ("a", "b")
        ]
        yield pair[0], pair[1]


@pytest.mark.parametrize("era", ERAS)
async def test_a_conversation_is_served_by_any_replica_of_its_version(
    v2_pair: tuple[Server, Server], era: str
) -> None:
    a, b = v2_pair
    talk = await converse(
        f"{a.url}/mcp",
        USER_TOKEN,
        era,  # type: ignore[arg-type]
        calls=20,
        job_seconds=0.4,
        http_options={"transport": Targets(a.port, b.port)},
    )
    assert (talk.versions, talk.failed, talk.broken, talk.mixed) == (["v2"], 0, "", 0), talk
    assert talk.restarts == 0
    assert talk.calls >= 20


async def test_a_session_id_names_its_version_and_another_version_answers_404(
    stack: Stack,
) -> None:
    ids: list[str] = []

    async def record(response: httpx2.Response) -> None:
        if found := response.headers.get("mcp-session-id"):
            ids.append(found)

    async with (
        http_client(USER_TOKEN, event_hooks={"response": [record]}) as http,
        connect(f"{stack.v2.url}/mcp", http, "session") as client,
    ):
        assert client.protocol_version == "2025-11-25"
        await client.call_tool("search", {"query": "projects"})
    assert len(ids) == 1 and ids[0].startswith("v2.") and len(ids[0].split(".")) == 3
    headers = {"mcp-session-id": ids[0], "content-type": "application/json"}
    headers["accept"] = "application/json, text/event-stream"
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    async with httpx.AsyncClient(timeout=10) as raw:
        for url, session_id in [(stack.v1.url, ids[0]), (stack.v2.url, "v2.forged.AAAA")]:
            answer = await raw.post(
                f"{url}/mcp", json=body, headers={**headers, "mcp-session-id": session_id}
            )
            assert answer.status_code == 404, answer.text
            assert answer.json()["error"]["message"].startswith("Session not found")
        assert (await raw.get(f"{stack.v2.url}/mcp", headers=headers)).status_code == 405


async def test_a_sessionless_conversation_moved_to_another_version_is_told_once(
    stack: Stack,
) -> None:
    route = Targets(stack.v2.port)
    async with (
        http_client(USER_TOKEN, transport=route) as http,
        connect(f"{stack.v2.url}/mcp", http, "sessionless") as client,
    ):
        assert client.protocol_version == "2026-07-28"
        assert "execute" in {t.name for t in (await client.list_tools()).tools}
        assert (http.cookies.get("codemode-version") or "").startswith("v2.")
        route.ports = [stack.v1.port]  # the route moved the conversation to v1: a rollback
        with pytest.raises(MCPError) as refused:
            await client.call_tool("execute", {"code": "return 1;"})
        assert refused.value.code == VERSION_CHANGED
        assert (http.cookies.get("codemode-version") or "").startswith("v1.")
        tools = {t.name for t in (await client.list_tools()).tools}
        assert "execute" not in tools and "listProjects" in tools
        assert not (await client.call_tool("listProjects", {})).is_error


async def test_a_session_conversation_moved_to_another_version_restarts_once(
    stack: Stack,
) -> None:
    # Two calls go to v2, then every request goes to v1: what a removed v2 pin does.
    class Moved(Targets):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            self.ports = self.ports[1:] if len(self.ports) > 1 and self.sent >= 4 else self.ports
            self.sent += 1
            return await super().handle_async_request(request)

    moved = Moved(stack.v2.port, stack.v1.port)
    moved.sent = 0  # type: ignore[attr-defined]
    talk = await converse(
        f"{stack.v2.url}/mcp", USER_TOKEN, "session", calls=6, http_options={"transport": moved}
    )
    assert talk.versions == ["v2", "v1"] and talk.restarts == 1, talk
    assert (talk.failed, talk.broken, talk.mixed) == (0, "", 0), talk


async def test_jobs_are_polled_from_any_replica_also_after_their_owner_is_killed(
    v2_pair: tuple[Server, Server],
) -> None:
    a, b = v2_pair

    async with (
        http_client(USER_TOKEN, transport=Targets(a.port, b.port)) as http,
        connect(f"{a.url}/mcp", http, "session") as client,
    ):
        jobs = {}
        for value in range(50):  # round-robin: half the jobs run on each replica
            started = await client.call_tool("execute", {"code": job_code(0.4, value)})
            assert started.structured_content["state"] == "running", started
            jobs[started.structured_content["jobId"]] = value
        assert await poll_all(client, jobs, 30) == []
    async with (
        http_client(USER_TOKEN, transport=Targets(a.port)) as http,
        connect(f"{a.url}/mcp", http, "session") as client,
    ):
        running = await client.call_tool("execute", {"code": job_code(60, -1)})
    long_job = running.structured_content["jobId"]
    assert a.process is not None
    a.process.kill()  # the replica that ran half of them, without a goodbye
    a.process.wait(timeout=10)
    async with (
        http_client(USER_TOKEN, transport=Targets(b.port)) as http,
        connect(f"{b.url}/mcp", http, "session") as client,
    ):
        assert await poll_all(client, jobs, 0) == []
        # The one running when its replica died: "lost" once its heartbeat is gone (<= 15 s).
        lost = await client.call_tool("pollJob", {"jobId": long_job, "waitSeconds": 30})
    assert lost.is_error and lost.structured_content["error"]["jobState"] == "lost", lost
