"""The MCP side as real processes on 127.0.0.1: sample backend, sandbox runner, MCP servers.

Every server is a subprocess on a free port with its log file; each wait is bounded and says
what it waited for. For the MCP, CLI and runner integration tests and bench_mcp / bench_sre.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from contextlib import AbstractAsyncContextManager, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from mcp import Client

from codemode_cli.traffic import session
from devcluster.processes import ManagedProcess, free_port, spawn, stopping, wait_until
from devcluster.specs import REPO

USER_TOKEN = "user-secret-7f3c9a"  # the end user's credential; must never reach the sandbox
NATIVES = ["getDeployment", "listProjects"]
# Generous: at load 17 on 2 cores importing mcp_server.app alone took 18 s of wall time.
START_TIMEOUT = 90.0
TWO_ISOLATES = ("--pool-size", "2")  # the MCP tests' runners: a small pool on 2 shared cores


@dataclass
class Server:
    name: str
    port: int
    args: list[str]
    log_dir: Path
    health_path: str = "/healthz"
    proxy_port: int | None = None  # an MCP server's api-proxy listener
    healthy: int | None = None  # the /health status to wait for; None: any below 500
    managed: ManagedProcess | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def proxy_url(self) -> str:
        assert self.proxy_port is not None, f"{self.name} has no api-proxy"
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def process(self) -> subprocess.Popen[bytes]:
        """What a test kills or signals."""
        assert self.managed is not None, f"{self.name} was not started"
        return self.managed.popen

    def start(self, seconds: float = START_TIMEOUT) -> Server:
        self.managed = spawn(self.name, [sys.executable, *self.args], self.log_dir, cwd=REPO)
        health = self.url + self.health_path

        def up() -> bool:
            status = httpx.get(health, timeout=1.0).status_code
            return status == self.healthy if self.healthy is not None else status < 500

        try:
            answering = f"{self.name} answering {health}"
            wait_until(answering, up, seconds, interval=0.05, alive=self.managed.ensure_running)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        # The process alone: a runner's own shutdown must stop its isolates (tests check it).
        if self.managed is not None:
            self.managed.stop(whole_group=False)

    def log_text(self) -> str:
        return self.managed.log_text() if self.managed is not None else ""


def sample_backend(tmp: Path, name: str = "backend", *flags: str) -> Server:
    """The sample backend (not started yet), demanding the user's token; `flags` add to it."""
    port = free_port()
    args = ["-m", "mcp_server.sample_backend", "--port", str(port), "--token", USER_TOKEN, *flags]
    return Server(name, port, args, tmp, health_path="/admin/faults")


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
    return Server(name, port, args, tmp, proxy_port=proxy_port)


def runner_process(
    tmp: Path, name: str, proxy_url: str, *flags: str, healthy: int | None = None
) -> Server:
    """A sandbox runner (not started yet) whose isolates call `proxy_url`."""
    port = free_port()
    args = [
        "-m",
        "sandbox_runner",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--proxy-url",
        proxy_url,
        *flags,
    ]
    return Server(name, port, args, tmp, health_path="/health", healthy=healthy)


def runner_and_v2(
    stack: ExitStack, tmp: Path, name: str, config_dir: Path
) -> tuple[Server, Server]:
    """A sandbox runner and a v2 server whose api-proxy the runner's isolates call, both up
    and both stopped with `stack`."""
    proxy_port = free_port()
    proxy = f"http://127.0.0.1:{proxy_port}"
    runner = runner_process(tmp, f"runner-{name}", proxy, *TWO_ISOLATES)
    stack.enter_context(stopping(runner.start(seconds=60)))
    server = mcp_server_process(tmp, name, "v2", config_dir, runner.url, proxy_port)
    stack.enter_context(stopping(server.start()))
    return runner, server


def mcp_session(base_url: str, token: str = USER_TOKEN) -> AbstractAsyncContextManager[Client]:
    """The official MCP client over Streamable HTTP, sending the user's credentials."""
    return session(f"{base_url}/mcp", token)
