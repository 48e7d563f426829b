"""Real HTTP peers for the runner's integration tests: the runner itself and an api-proxy."""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devcluster.mcp_servers import Server, runner_process
from devcluster.processes import free_port, serving_in_thread, stopping

STARTUP_SECONDS = 60.0
HOLD_SECONDS = 60.0


@dataclass(frozen=True)
class ProxyCall:
    at: float  # time.monotonic() of arrival (system-wide clock, comparable with the runner's)
    operation_id: str
    params: Any
    token: str


@dataclass
class ProxyStandIn:
    """The api-proxy of contracts.md section 3, with canned operations:

    `echo` answers its params, `missing` is a backend 404, `broken` a backend 5xx, `hold` waits
    until `release` is set (at most HOLD_SECONDS); the token `expired` is refused with 401.
    """

    port: int = 0
    calls: list[ProxyCall] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def snapshot(self) -> list[ProxyCall]:
        with self.lock:
            return list(self.calls)

    async def call(self, request: Request) -> Response:
        payload = json.loads(await request.body())
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        call = ProxyCall(time.monotonic(), payload["operationId"], payload.get("params"), token)
        with self.lock:
            self.calls.append(call)
        if token == "expired":
            return JSONResponse({"error": "unknown token"}, 401)
        match call.operation_id:
            case "missing":
                error = {"kind": "api", "message": "project not found"}
                return JSONResponse({"status": 404, "body": {"detail": "nope"}, "error": error})
            case "broken":
                return JSONResponse({"error": {"kind": "infra", "message": "backend answered 503"}})
            case "hold":
                await self._held()
                return JSONResponse({"status": 200, "body": call.params})
            case _:
                return JSONResponse({"status": 200, "body": call.params})

    async def _held(self) -> None:
        deadline = time.monotonic() + HOLD_SECONDS
        while True:
            if self.release.is_set() or time.monotonic() > deadline:
                return
            await asyncio.sleep(0.01)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/proxy/v1/call", self.call, methods=["POST"])])


@contextmanager
def running_proxy() -> Iterator[ProxyStandIn]:
    proxy = ProxyStandIn(port=free_port())
    with serving_in_thread(proxy.app(), proxy.port, STARTUP_SECONDS):
        yield proxy


@dataclass(frozen=True)
class RunnerProcess:
    server: Server

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.server.process

    def children(self) -> set[int]:
        """Pids whose parent is the runner (its Deno processes)."""
        found = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    found.add(int(entry.name))
        return found


@contextmanager
def running_runner(proxy_url: str, *flags: str, expect: int = 200) -> Iterator[RunnerProcess]:
    """A runner subprocess, yielded once its /health answers `expect`; on the way out SIGTERM
    to the runner alone (its own shutdown must stop its isolates), bounded."""
    with tempfile.TemporaryDirectory(prefix="runner-") as logs:
        runner = runner_process(Path(logs), "runner", proxy_url, *flags, healthy=expect)
        try:
            with stopping(runner.start(STARTUP_SECONDS)):
                yield RunnerProcess(runner)
        finally:
            print(runner.log_text()[-20_000:])  # pytest shows it when the test failed


def pid_exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def execute(client: httpx.Client, code: str, **fields: Any) -> dict[str, Any]:
    """POST one execution and return its 200 answer."""
    response = client.post("/v1/executions", json={"code": code, "token": "tok", **fields})
    assert response.status_code == 200, response.text
    return response.json()
