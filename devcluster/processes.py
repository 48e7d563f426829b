"""Start and stop the stack's processes: own process group, log file each, bounded waits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    """A loopback port that was free a moment ago (the OS picks it, so parallel runs don't clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    what: str,
    check: Callable[[], bool],
    timeout: float,
    interval: float = 0.2,
    alive: Callable[[], None] | None = None,
) -> None:
    """Poll `check` until it is true; bounded in time, and fails early if `alive` raises."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None:
            alive()
        try:
            if check():
                return
        except Exception:  # not up yet: connection refused, 503, half-written file...
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what} was not ready within {timeout:.0f}s")


@dataclass
class ManagedProcess:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def ensure_running(self) -> None:
        if self.popen.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(
                f"{self.name} exited with {self.popen.returncode}; log tail:\n{tail}"
            )

    def stop(self, grace: float = 10.0) -> None:
        if self.popen.poll() is not None:
            return
        # The whole group, so anything the process started goes too.
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=grace)

    def kill(self) -> None:
        """SIGKILL, no grace: what a crashed node or an OOM kill looks like."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)


def serving(process: ManagedProcess, what: str, url: str, timeout: float = 60) -> None:
    """Wait until `url` answers 200; stop the process if it never does."""
    try:
        wait_until(
            what,
            lambda: httpx.get(url, timeout=2).status_code == 200,
            timeout,
            alive=process.ensure_running,
        )
    except BaseException:
        process.stop()
        raise


def spawn(
    name: str,
    argv: list[str],
    log_dir: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> ManagedProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    with log.open("ab") as out:
        popen = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    return ManagedProcess(name, popen, log)
