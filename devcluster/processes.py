"""Start and stop the stack's processes: own process group, log file each, bounded waits.

The one test kit for process lifecycles: the demo, the tests and the benchmarks start, wait
for and stop everything through these (every wait bounded and naming what it waited for)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypedDict, TypeVar, Unpack

import httpx
import uvicorn
from starlette.types import ASGIApp

T = TypeVar("T")


def free_port() -> int:
    """A loopback port that was free a moment ago (the OS picks it, so parallel runs don't clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    what: str,
    probe: Callable[[], T],
    timeout: float,
    interval: float = 0.25,
    show: Callable[[], object] | None = None,
    alive: Callable[[], None] | None = None,
) -> T:
    """Poll `probe` until it returns something truthy, and return that; bounded in time.

    Fails early if `alive` raises (the process waited on died); on a timeout the error names
    `what` and the last thing seen (`show()`, or the probe's last answer)."""
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None:
            alive()
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    context = show() if show is not None else last
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}; last: {context!r}")


class Polling(TypedDict, total=False):
    interval: float
    alive: Callable[[], None] | None


def wait_until(
    what: str, check: Callable[[], bool], timeout: float, **options: Unpack[Polling]
) -> None:
    """`wait_for` a service coming up: an exception of `check` (connection refused, 503, a
    half-written file...) means "not yet", and the last one is what a timeout shows.
    `options`: `wait_for`'s `interval` (here 0.2 s unless given) and `alive`."""

    def quietly() -> bool | Exception:
        try:
            return check()
        except Exception as error:  # not up yet
            return _NotYet(error)

    interval, alive = options.get("interval", 0.2), options.get("alive")
    wait_for(what, quietly, timeout, interval, alive=alive)


class _NotYet(Exception):
    """A probe's exception kept as its (falsy) answer, so a timeout can show it."""

    def __bool__(self) -> bool:
        return False


class Stoppable(Protocol):
    def stop(self) -> None: ...


S = TypeVar("S", bound=Stoppable)


@contextmanager
def stopping(started: S) -> Iterator[S]:
    """`started`, stopped on the way out whatever happens (a fixture's start/yield/stop)."""
    try:
        yield started
    finally:
        started.stop()


@contextmanager
def serving_in_thread(app: ASGIApp, port: int, timeout: float = 60) -> Iterator[None]:
    """An ASGI app on 127.0.0.1:`port` in a thread of this process (a test's stand-in peer),
    yielded once uvicorn listens and stopped on the way out."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    listening = f"the in-process server on port {port} listening"

    def alive() -> None:
        if not thread.is_alive() and not server.started:  # e.g. the port was taken
            raise RuntimeError(f"{listening}: uvicorn stopped before it listened")

    try:
        wait_for(listening, lambda: server.started, timeout, 0.01, alive=alive)
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


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

    def stop(self, grace: float = 10.0, whole_group: bool = True) -> None:
        """SIGTERM, then SIGKILL after `grace`: to the whole group, so anything the process
        started goes too; or (`whole_group=False`) to the process alone, whose own shutdown
        must then stop what it started (what the sandbox runner's tests check)."""
        if self.popen.poll() is not None:
            return

        def send(sig: signal.Signals) -> None:
            if whole_group:
                os.killpg(self.popen.pid, sig)
            else:
                self.popen.send_signal(sig)

        send(signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            send(signal.SIGKILL)
            self.popen.wait(timeout=grace)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

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
