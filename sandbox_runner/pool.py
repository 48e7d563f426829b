"""Warm pool of isolate processes, bounded concurrency and a bounded queue.

Every execution consumes one pre-started process and the pool starts its replacement after the
process is killed, so processes never outnumber `size` and a trivial job never pays Deno's
start-up cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from sandbox_runner.isolate import Ending, Job, RawRun, SpawnError
from sandbox_runner.metrics import Metrics

_RESPAWN_BACKOFF_SECONDS = 1.0


class Busy(Exception):
    """All slots are taken and the queue is full (or the wait for a slot ran out)."""


class RunnerFailure(Exception):
    """The runner could not provide a process for a job."""


class Process(Protocol):
    """What the pool needs of an isolate process (sandbox_runner.isolate.Isolate)."""

    @property
    def alive(self) -> bool: ...

    async def run(self, job: Job) -> RawRun: ...

    def kill(self) -> None: ...

    async def reap(self) -> None: ...


@dataclass(frozen=True)
class PoolLimits:
    size: int  # concurrent executions, and pre-started processes
    max_queue: int  # requests that may wait for a slot
    queue_timeout: float  # longest wait for a slot
    spawn_timeout: float  # longest wait for a process once a slot is held


class Pool:
    def __init__(
        self, spawn: Callable[[], Awaitable[Process]], limits: PoolLimits, metrics: Metrics
    ):
        self._spawn = spawn
        self._limits = limits
        self._metrics = metrics
        self._slots = asyncio.Semaphore(limits.size)
        self._ready: asyncio.Queue[Process] = asyncio.Queue()
        self._busy: set[Process] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._waiting = 0
        self._running = 0
        self._last_spawn_failed = False
        self._closed = False
        metrics.pool_size.set(limits.size)

    @property
    def healthy(self) -> bool:
        return not self._closed and (self._ready.qsize() > 0 or not self._last_spawn_failed)

    def start(self) -> None:
        for _ in range(self._limits.size):
            self._replenish()

    async def close(self) -> None:
        """Kill running executions too: nothing the pool started may outlive the runner."""
        self._closed = True
        for process in self._busy:
            process.kill()
        await asyncio.gather(*self._background, return_exceptions=True)
        while not self._ready.empty():
            await self._ready.get_nowait().reap()

    async def execute(self, job: Job) -> RawRun:
        await self._acquire_slot()
        self._running += 1
        self._metrics.running.set(self._running)
        try:
            isolate = await self._take()
            self._busy.add(isolate)
            try:
                run = await isolate.run(job)
            finally:
                self._busy.discard(isolate)
                self._track(isolate.reap())
                self._replenish()
        finally:
            self._running -= 1
            self._metrics.running.set(self._running)
            self._slots.release()
        if run.ending is Ending.TIMEOUT and run.kill_latency is not None:
            self._metrics.timeout_kills.inc()
            self._metrics.kill_latency.observe(run.kill_latency)
        return run

    async def _acquire_slot(self) -> None:
        if self._closed:
            raise Busy("the runner is shutting down")
        if not self._slots.locked():
            await self._slots.acquire()  # a free slot is taken without suspending
            return
        limits = self._limits
        if self._waiting >= limits.max_queue:
            raise Busy(f"all {limits.size} slots are busy and {self._waiting} requests are queued")
        self._waiting += 1
        self._metrics.queue_depth.set(self._waiting)
        try:
            await asyncio.wait_for(self._slots.acquire(), limits.queue_timeout)
        except TimeoutError:
            raise Busy(f"no slot became free within {limits.queue_timeout:g} s") from None
        finally:
            self._waiting -= 1
            self._metrics.queue_depth.set(self._waiting)

    async def _take(self) -> Process:
        """The next live warm process; a slot guarantees one is ready or being started."""
        while True:
            try:
                isolate = await asyncio.wait_for(self._ready.get(), self._limits.spawn_timeout)
            except TimeoutError:
                raise RunnerFailure("no isolate process could be started") from None
            self._metrics.pool_ready.set(self._ready.qsize())
            if isolate.alive:
                return isolate
            await isolate.reap()
            self._replenish()

    def _replenish(self) -> None:
        if not self._closed:
            self._track(self._spawn_until_ready())

    def _track(self, work: Coroutine[Any, Any, None]) -> None:
        """Run in the background but keep a reference, so close() can wait for it."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _spawn_until_ready(self) -> None:
        while not self._closed:
            try:
                isolate = await self._spawn()
            except SpawnError:
                self._last_spawn_failed = True
                self._metrics.spawn_failures.inc()
                await asyncio.sleep(_RESPAWN_BACKOFF_SECONDS)
                continue
            self._last_spawn_failed = False
            if self._closed:
                await isolate.reap()
                return
            self._ready.put_nowait(isolate)
            self._metrics.pool_ready.set(self._ready.qsize())
            return
