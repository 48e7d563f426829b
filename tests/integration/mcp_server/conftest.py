"""Real processes on 127.0.0.1: sample backend, sandbox runner, MCP servers (v1 and v2).

Every server is a subprocess on a free port with its log in the test's temp folder; each wait is
bounded; everything is stopped at the end.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from mcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from codemode_cli.traffic import session
from devcluster.processes import free_port, wait_until

REPO = Path(__file__).resolve().parents[3]
SAMPLE_SPEC = REPO / "mcp_server" / "sample_backend" / "openapi.json"
REAL_SPECS = REPO / "tests" / "data" / "specs"
USER_TOKEN = "user-secret-7f3c9a"  # the end user's credential; must never reach the sandbox
NATIVES = ["getDeployment", "listProjects"]


def wait_until_up(url: str, process: subprocess.Popen[bytes] | None, seconds: float) -> None:
    def alive() -> None:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")

    wait_until(url, lambda: httpx.get(url, timeout=1.0).status_code < 500, seconds, 0.1, alive)


@dataclass
class Server:
    name: str
    port: int
    args: list[str]
    log: Path
    health_path: str = "/healthz"
    proxy_port: int | None = None  # an MCP server's api-proxy listener
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def proxy_url(self) -> str:
        assert self.proxy_port is not None, f"{self.name} has no api-proxy"
        return f"http://127.0.0.1:{self.proxy_port}"

    # Generous: at load 17 on 2 cores importing mcp_server.app alone took 18 s of wall time.
    def start(self, seconds: float = 90.0) -> Server:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, *self.args], cwd=REPO, stdout=out, stderr=subprocess.STDOUT
            )
        wait_until_up(self.url + self.health_path, self.process, seconds)
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


class Relay:
    """A pass-through HTTP relay in front of the sandbox runner recording what it is sent."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.port = free_port()
        app = Starlette(routes=[Route("/{path:path}", self._relay, methods=["GET", "POST"])])
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

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

    def start(self) -> Relay:
        self._thread.start()
        wait_until_up(self.url + "/health", None, 30)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def sample_backend(tmp: Path, name: str = "backend", *flags: str) -> Server:
    """The sample backend (not started yet), demanding the user's token; `flags` add to it."""
    port = free_port()
    args = ["-m", "mcp_server.sample_backend", "--port", str(port), "--token", USER_TOKEN, *flags]
    return Server(name, port, args, tmp / f"{name}.log", health_path="/admin/faults")


def write_config(folder: Path, spec: Path, **config: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(spec, folder / ("openapi" + spec.suffix))
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


def mcp_server_process(
    tmp: Path,
    name: str,
    mode: str,
    config_dir: Path,
    sandbox_url: str,
    proxy_port: int | None = None,
) -> Server:
    """`proxy_port`: the api-proxy's listener, where a runner started before sends its isolates."""
    port, proxy_port = free_port(), proxy_port or free_port()
    args = [
        "-m",
        "mcp_server",
        "--mode",
        mode,
        "--config-dir",
        str(config_dir),
        "--port",
        str(port),
        "--sandbox-url",
        sandbox_url,
        "--proxy-port",
        str(proxy_port),
    ]
    return Server(name, port, args, tmp / f"{name}.log", proxy_port=proxy_port)


def runner_process(tmp: Path, name: str, proxy_port: int) -> Server:
    port = free_port()
    args = [
        "-m",
        "sandbox_runner",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--proxy-url",
        f"http://127.0.0.1:{proxy_port}",
        "--pool-size",
        "2",
    ]
    return Server(name, port, args, tmp / f"{name}.log", health_path="/health")


@contextmanager
def own_v2(
    tmp: Path, name: str, backend_url: str, **config: Any
) -> Iterator[tuple[Server, Server]]:
    """A v2 server with a sandbox runner of its own, for a test that stops or starves it."""
    proxy_port = free_port()  # the server's api-proxy, where the runner's isolates call
    runner = runner_process(tmp, f"runner-{name}", proxy_port).start(seconds=60)
    try:
        config_dir = write_config(tmp / "cfg", SAMPLE_SPEC, backendUrl=backend_url, **config)
        server = mcp_server_process(tmp, f"mcp-{name}", "v2", config_dir, runner.url, proxy_port)
        try:
            yield runner, server.start()
        finally:
            server.stop()
    finally:
        runner.stop()


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
    started: list[Server | Relay] = []
    try:
        backend = sample_backend(tmp, "backend", "--build-seconds", "1.5").start()
        started.append(backend)
        v2_proxy_port = free_port()
        runner = runner_process(tmp, "runner", v2_proxy_port).start(seconds=60)
        started.append(runner)
        relay = Relay(runner.url).start()
        started.append(relay)
        common = {"backendUrl": backend.url, "natives": NATIVES, "softWaitSeconds": 2}
        v2 = mcp_server_process(
            tmp,
            "mcp-v2",
            "v2",
            write_config(tmp / "cfg-v2", SAMPLE_SPEC, **common),
            relay.url,
            v2_proxy_port,
        ).start()
        started.append(v2)
        v1 = mcp_server_process(
            tmp, "mcp-v1", "v1", write_config(tmp / "cfg-v1", SAMPLE_SPEC, **common), relay.url
        ).start()
        started.append(v1)
        coolify = mcp_server_process(
            tmp,
            "mcp-coolify",
            "v2",
            write_config(tmp / "cfg-coolify", REAL_SPECS / "coolify-openapi.yaml"),
            relay.url,
        ).start()
        started.append(coolify)
        yield Stack(backend, runner, relay, v2, v1, coolify)
    finally:
        for server in reversed(started):
            server.stop()


def mcp_session(base_url: str, token: str = USER_TOKEN) -> AbstractAsyncContextManager[Client]:
    """The official MCP client over Streamable HTTP, sending the user's credentials."""
    return session(f"{base_url}/mcp", token)


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
