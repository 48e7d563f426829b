"""A real Redis server (Debian's `redis-server`): the job store the MCP v2 replicas share."""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from devcluster.processes import ManagedProcess, free_port, spawn, wait_until


def _binary() -> str:
    found = shutil.which("redis-server") or shutil.which("/usr/bin/redis-server")
    if not found:
        raise FileNotFoundError("redis-server not found: run `make deps` (Debian's redis-server)")
    return found


def _pong(host: str, port: int) -> bool:
    with socket.create_connection((host, port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


@dataclass
class Redis:
    host: str
    port: int
    process: ManagedProcess

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def stop(self) -> None:
        self.process.stop()


def start(workdir: Path, host: str = "127.0.0.1", timeout: float = 30.0) -> Redis:
    """On `host` (loopback, or a pod network's bridge address so its pods reach it), with no
    persistence: a test's store lives as long as it does."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [_binary(), "--bind", host, "--port", str(port), "--save", ""]
    # Protected mode refuses other hosts than loopback: the pods are others, on their network.
    protected = "yes" if host.startswith("127.") else "no"
    argv += ["--appendonly", "no", "--dir", str(workdir), "--protected-mode", protected]
    process = spawn("redis", argv, workdir)
    try:
        wait_until("redis PING", lambda: _pong(host, port), timeout, alive=process.ensure_running)
    except BaseException:
        process.stop()
        raise
    return Redis(host, port, process)
