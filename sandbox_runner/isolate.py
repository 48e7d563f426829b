"""The isolate runtime: one Deno OS process per execution, killed as a process group.

A process is the unit of termination because an in-process `Worker.terminate()` cannot stop a
busy loop; SIGKILL to the group always can, and releases the CPU and memory at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import os
import secrets
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import deno

from sandbox_runner.frames import FrameError, LogFrame, ResultFrame, WaitFrame, parse_frame
from sandbox_runner.limits import (
    apply_cpu_backstop,
    apply_process_limits,
    cpu_ticks,
    is_stopped,
    rss_bytes,
)

_READY = b"@@READY"
_STDERR_TAIL = 8192
_WATCH_POLL_SECONDS = 0.05
_EXIT_GRACE_SECONDS = 2.0
_HEAP_MARKERS = ("heap limit", "heap out of memory", "out of memory")
_STALL_MARKER = "promise never resolved"  # Deno's exit when nothing is left to run


class SpawnError(RuntimeError):
    """A Deno process could not be started or never became ready."""


class Ending(enum.Enum):
    RESULT = "result"  # the shim reported a result frame
    TIMEOUT = "timeout"  # killed at the wall deadline
    OUTPUT_FLOOD = "output_flood"  # wrote more to stdout than any honest run can
    MEMORY = "memory"  # resident memory over the cap (e.g. large ArrayBuffers)
    HEAP = "heap"  # V8 aborted at --max-old-space-size
    STALLED = "stalled"  # awaited a promise that nothing can settle any more
    BROKEN_FRAME = "broken_frame"  # wrote a frame the shim never writes: the code broke it
    STOPPED = "stopped"  # stopped itself (SIGSTOP): it would hold its pool slot doing nothing
    IDLE = "idle"  # used no CPU for idle_timeout without a declared wait
    EXITED = "exited"  # the process ended without a result


@dataclass(frozen=True)
class IsolateConfig:
    deno_path: str
    bootstrap: Path
    proxy_url: str
    proxy_host_port: str
    max_heap_mb: int
    max_rss_bytes: int
    max_output_bytes: int
    spawn_timeout: float
    work_root: Path
    idle_timeout: float = 120.0
    launcher: tuple[str, ...] = ()  # prefix of the command line, see parent_death_launcher()


@dataclass(frozen=True)
class Job:
    code: str
    language: str
    sdk: str
    token: str
    max_api_calls: int
    timeout: float


@dataclass
class RawRun:
    ending: Ending
    frame: ResultFrame | None = None
    logs: list[str] = field(default_factory=list)
    broken: str = ""  # what was wrong with the frame, for BROKEN_FRAME
    returncode: int | None = None
    stderr: str = ""
    duration: float = 0.0
    kill_latency: float | None = None  # deadline -> process reaped, for timeouts


def bootstrap_path() -> Path:
    return Path(__file__).with_name("bootstrap.ts")  # shipped as package data


def default_deno_path() -> str:
    return deno.find_deno_bin()


def parent_death_launcher() -> tuple[str, ...]:
    """`setpriv --pdeathsig KILL` when available: the kernel kills the isolate if the runner dies
    (even by SIGKILL), where the CPU rlimit would only stop it much later."""
    setpriv = shutil.which("setpriv")
    return (setpriv, "--pdeathsig", "KILL") if setpriv else ()


def _command(config: IsolateConfig) -> list[str]:
    return [
        *config.launcher,
        config.deno_path,
        "run",
        "--quiet",
        "--no-config",
        "--no-lock",
        "--no-prompt",
        "--no-remote",  # remote imports are module loads, not fetches: --allow-net misses them
        "--no-npm",
        "--no-code-cache",  # every process runs its code once: a cache never pays off
        f"--allow-net={config.proxy_host_port}",
        "--deny-read",
        "--deny-write",
        "--deny-env",
        "--deny-run",
        "--deny-ffi",
        "--deny-sys",
        f"--v8-flags=--max-old-space-size={config.max_heap_mb}",
        str(config.bootstrap),
        config.proxy_url,
    ]


def _environment(workdir: Path) -> dict[str, str]:
    """Only what Deno itself needs; the runner's own environment never reaches the code."""
    return {
        "DENO_DIR": str(workdir / "deno"),
        "HOME": str(workdir),
        "NO_COLOR": "1",
        "DENO_NO_UPDATE_CHECK": "1",
        "PATH": "/usr/bin:/bin",
    }


def _exit_cause(stderr: str) -> Ending:
    """Why a process ended without a result, from what Deno printed."""
    text = stderr.lower()
    if any(marker in text for marker in _HEAP_MARKERS):
        return Ending.HEAP
    return Ending.STALLED if _STALL_MARKER in text else Ending.EXITED


class Isolate:
    """One pre-started Deno process waiting for exactly one job on stdin."""

    def __init__(self, process: asyncio.subprocess.Process, workdir: Path, config: IsolateConfig):
        self._process = process
        self._workdir = workdir
        self._config = config
        self._stderr = bytearray()
        self._stderr_task = asyncio.create_task(self._drain_stderr())
        self._killed = False
        self._waiting_until = 0.0  # monotonic end of the longest sleep() the shim announced

    @classmethod
    async def spawn(cls, config: IsolateConfig) -> Isolate:
        workdir = Path(tempfile.mkdtemp(prefix="isolate-", dir=config.work_root))
        try:
            process = await asyncio.create_subprocess_exec(
                *_command(config),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=workdir,
                env=_environment(workdir),
                start_new_session=True,  # own process group: one killpg ends it and its children
            )
        except OSError as error:
            shutil.rmtree(workdir, ignore_errors=True)
            raise SpawnError(f"cannot start deno: {error}") from error
        isolate = cls(process, workdir, config)
        try:
            apply_process_limits(process.pid, config.max_rss_bytes)
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), config.spawn_timeout)
            if line.rstrip() != _READY:
                raise SpawnError("deno exited before it was ready")
        except (SpawnError, TimeoutError, ProcessLookupError, OSError) as error:
            await isolate.reap()
            detail = f"{error} {isolate.stderr_tail()}"
            raise SpawnError(f"deno did not become ready: {detail}") from error
        return isolate

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return not self._killed and self._process.returncode is None

    def stderr_tail(self) -> str:
        return self._stderr[-_STDERR_TAIL:].decode("utf-8", "replace")

    async def run(self, job: Job) -> RawRun:
        """Hand the job over and wait for its result, a limit, or the deadline; then kill.

        After a result the caller reaps the process off the answer's critical path.
        """
        started = time.monotonic()
        nonce = secrets.token_hex(16)
        run = RawRun(ending=Ending.EXITED)
        apply_cpu_backstop(self.pid, job.timeout)
        payload = {
            "code": job.code,
            "language": job.language,
            "sdk": job.sdk,
            "token": job.token,
            "maxApiCalls": job.max_api_calls,
            "maxOutputBytes": self._config.max_output_bytes,
            "nonce": nonce,
        }
        deadline = started + job.timeout
        try:
            await self._deliver(json.dumps(payload).encode())
            run.ending = await self._await_ending(nonce, run, deadline)
        finally:
            self.kill()
        if run.ending is not Ending.RESULT:
            # Timeouts are measured to the process being gone; other endings need its stderr.
            await self.reap()
            run.returncode = self._process.returncode
            run.stderr = self.stderr_tail()
        gone = time.monotonic()
        if run.ending is Ending.TIMEOUT:
            run.kill_latency = max(0.0, gone - deadline)
        if run.ending is Ending.EXITED:
            run.ending = _exit_cause(run.stderr)
        run.duration = gone - started
        return run

    def kill(self) -> None:
        """SIGKILL the whole process group at once (idempotent)."""
        if not self._killed:
            self._killed = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)

    async def reap(self) -> None:
        """Wait for the killed process and remove its directory (idempotent)."""
        self.kill()
        # A flood can leave the stdout pipe paused; wait() only returns once it is drained.
        stdout = self._process.stdout
        assert stdout is not None
        while await stdout.read(1 << 16):
            pass
        await self._process.wait()
        await self._stderr_task
        await asyncio.to_thread(shutil.rmtree, self._workdir, ignore_errors=True)

    async def _deliver(self, payload: bytes) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        stdin.write(payload)
        await stdin.drain()
        stdin.close()

    async def _await_ending(self, nonce: str, run: RawRun, deadline: float) -> Ending:
        reader = asyncio.create_task(self._read_frames(nonce, run))
        watchdog = asyncio.create_task(self._watch())
        try:
            done, _ = await asyncio.wait(
                {reader, watchdog},
                timeout=max(0.0, deadline - time.monotonic()),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            reader.cancel()
            watchdog.cancel()
            await asyncio.gather(reader, watchdog, return_exceptions=True)
        if reader in done:
            ending = reader.result()
            if ending is Ending.EXITED:
                await self._wait_exit()
            return ending
        return watchdog.result() if watchdog in done else Ending.TIMEOUT

    async def _read_frames(self, nonce: str, run: RawRun) -> Ending:
        stdout = self._process.stdout
        assert stdout is not None
        prefix = nonce.encode() + b" "
        # Frames are JSON-escaped logs capped by the shim; anything far beyond that is a flood
        # written past the shim (e.g. Deno.stdout directly).
        budget = 8 * self._config.max_output_bytes + (1 << 20)
        consumed = 0
        pending = b""
        while chunk := await stdout.read(1 << 16):
            consumed += len(chunk)
            if consumed > budget:
                return Ending.OUTPUT_FLOOD
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                if not line.startswith(prefix):
                    continue
                try:
                    frame = parse_frame(line[len(prefix) :])
                except FrameError as error:
                    run.broken = str(error)
                    return Ending.BROKEN_FRAME
                if isinstance(frame, LogFrame):
                    run.logs.append(frame.line)
                elif isinstance(frame, WaitFrame):
                    until = time.monotonic() + frame.ms / 1000
                    self._waiting_until = max(self._waiting_until, until)
                else:
                    run.frame = frame
                    return Ending.RESULT
        return Ending.EXITED

    async def _watch(self) -> Ending:
        """Returns once resident memory passes the cap (the heap flag misses ArrayBuffers), the
        process is stopped, or it is idle: a stopped or idle process would keep its pool slot
        until its deadline, doing nothing."""
        ticks, active = cpu_ticks(self.pid), time.monotonic()
        while True:
            if rss_bytes(self.pid) > self._config.max_rss_bytes:
                return Ending.MEMORY
            if is_stopped(self.pid):
                return Ending.STOPPED
            now, used = time.monotonic(), cpu_ticks(self.pid)
            if used != ticks or now < self._waiting_until:
                ticks, active = used, now
            elif now - active > self._config.idle_timeout:
                return Ending.IDLE
            await asyncio.sleep(_WATCH_POLL_SECONDS)

    async def _wait_exit(self) -> None:
        """Stdout closed: give the process a moment to report how it ended (e.g. heap abort)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._process.wait(), _EXIT_GRACE_SECONDS)

    async def _drain_stderr(self) -> None:
        stderr = self._process.stderr
        assert stderr is not None
        while chunk := await stderr.read(1 << 16):
            self._stderr += chunk
            del self._stderr[:-_STDERR_TAIL]
