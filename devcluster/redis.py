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


def _pong(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


@dataclass
class Redis:
    port: int
    process: ManagedProcess

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.stop()


def start(workdir: Path, timeout: float = 30.0) -> Redis:
    """Loopback only, no persistence (a test's or the demo's store lives as long as they do)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [_binary(), "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    argv += ["--appendonly", "no", "--dir", str(workdir), "--protected-mode", "yes"]
    process = spawn("redis", argv, workdir)
    try:
        wait_until("redis PING", lambda: _pong(port), timeout, alive=process.ensure_running)
    except BaseException:
        process.stop()
        raise
    return Redis(port, process)
