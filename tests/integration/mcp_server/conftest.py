"""Real processes on 127.0.0.1: sample backend, sandbox runner, MCP servers (v1 and v2).

Every server is a subprocess on a free port with its log in the test's temp folder; each wait is
bounded; everything is stopped at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from devcluster.mcp_servers import (
    NATIVES,
    TWO_ISOLATES,
    Server,
    mcp_server_process,
    runner_and_v2,
    runner_process,
    sample_backend,
    write_config,
)
from devcluster.processes import free_port, serving_in_thread, stopping
from devcluster.specs import REAL_SPECS, SAMPLE_SPEC


class Relay:
    """A pass-through HTTP relay in front of the sandbox runner recording what it is sent."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.port = free_port()
        self.app = Starlette(routes=[Route("/{path:path}", self._relay, methods=["GET", "POST"])])

    async def _relay(self, request: Request) -> Response:
        body = await request.body()
        self.bodies.append(body)
        self.headers.append(dict(request.headers))
        async with httpx.AsyncClient(timeout=700) as client:
            answer = await client.request(
                request.method,
                f"{self.target}/{request.path_params['path']}",
                content=body,
                headers={"content-type": request.headers.get("content-type", "application/json")},
            )
        return Response(answer.content, answer.status_code, media_type="application/json")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def own_v2(
    tmp: Path, name: str, backend_url: str, **config: Any
) -> Iterator[tuple[Server, Server]]:
    """A v2 server with a sandbox runner of its own, for a test that stops or starves it."""
    config_dir = write_config(tmp / "cfg", SAMPLE_SPEC, backendUrl=backend_url, **config)
    with ExitStack() as stack:
        yield runner_and_v2(stack, tmp, f"mcp-{name}", config_dir)


@dataclass
class Stack:
    backend: Server
    runner: Server
    relay: Relay
    v2: Server
    v1: Server
    coolify: Server


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("mcp_stack")
    with ExitStack() as started:

        def up(server: Server) -> Server:
            return started.enter_context(stopping(server.start()))

        backend = up(sample_backend(tmp, "backend", "--build-seconds", "1.5"))
        v2_proxy_port = free_port()
        runner = runner_process(tmp, "runner", f"http://127.0.0.1:{v2_proxy_port}", *TWO_ISOLATES)
        started.enter_context(stopping(runner.start(seconds=60)))
        relay = Relay(runner.url)
        started.enter_context(serving_in_thread(relay.app, relay.port, timeout=30))
        common = {"backendUrl": backend.url, "natives": NATIVES, "softWaitSeconds": 2}
        v2_config = write_config(tmp / "cfg-v2", SAMPLE_SPEC, **common)
        v2 = up(mcp_server_process(tmp, "mcp-v2", "v2", v2_config, relay.url, v2_proxy_port))
        v1_config = write_config(tmp / "cfg-v1", SAMPLE_SPEC, **common)
        v1 = up(mcp_server_process(tmp, "mcp-v1", "v1", v1_config, relay.url))
        coolify_config = write_config(tmp / "cfg-coolify", REAL_SPECS / "coolify-openapi.yaml")
        coolify = up(mcp_server_process(tmp, "mcp-coolify", "v2", coolify_config, relay.url))
        yield Stack(backend, runner, relay, v2, v1, coolify)


def metric_value(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels` (Prometheus text format)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        label_text, _, value = line[len(name) + 1 :].rpartition("} ")
        found = dict(
            (key, json.loads(raw))
            for key, _, raw in (part.partition("=") for part in label_text.split(",") if part)
        )
        if all(found.get(key) == wanted for key, wanted in labels.items()):
            total += float(value)
    return total


async def http_get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(url)


async def set_faults(backend: Server, **faults: Any) -> None:
    """Switch the sample backend's fault injection (no arguments: back to healthy)."""
    async with httpx.AsyncClient(timeout=10) as client:
        (await client.put(f"{backend.url}/admin/faults", json=faults)).raise_for_status()
