"""Pool admission, queueing and replacement, with a hand-written stand-in for the process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from sandbox_runner.isolate import Ending, Job, RawRun, SpawnError
from sandbox_runner.metrics import Metrics
from sandbox_runner.pool import Busy, Pool, PoolLimits, RunnerFailure

JOB = Job(code="return 1", language="javascript", sdk="", token="t", max_api_calls=1, timeout=5)
STEP = 5.0  # upper bound for any single await in these tests


class StandInProcess:
    """Runs a job by waiting for `gate`; records whether it was reaped."""

    def __init__(self, gate: asyncio.Event, alive: bool = True) -> None:
        self.gate = gate
        self._alive = alive
        self.reaped = False
        self.killed = False
        self.ran = False

    @property
    def alive(self) -> bool:
        return self._alive and not self.killed

    async def run(self, job: Job) -> RawRun:
        self.ran = True
        await self.gate.wait()
        return RawRun(Ending.RESULT, frame={"ok": True, "result": job.code})

    def kill(self) -> None:
        self.killed = True
        self.gate.set()

    async def reap(self) -> None:
        self.kill()
        self.reaped = True


class Spawner:
    def __init__(self, fail: bool = False, dead_first: int = 0) -> None:
        self.gate = asyncio.Event()
        self.spawned: list[StandInProcess] = []
        self.fail = fail
        self.dead_first = dead_first

    async def __call__(self) -> StandInProcess:
        if self.fail:
            raise SpawnError("no deno here")
        process = StandInProcess(self.gate, alive=len(self.spawned) >= self.dead_first)
        self.spawned.append(process)
        return process


def _pool(spawner: Spawner, size: int = 1, max_queue: int = 1, queue_timeout: float = STEP) -> Pool:
    limits = PoolLimits(
        size=size, max_queue=max_queue, queue_timeout=queue_timeout, spawn_timeout=1
    )
    return Pool(spawner, limits, Metrics())


async def _until(condition: Callable[[], object]) -> None:
    async with asyncio.timeout(STEP):
        while True:
            if condition():
                return
            await asyncio.sleep(0.001)


async def test_full_queue_answers_busy_at_once() -> None:
    spawner = Spawner()
    pool = _pool(spawner, size=1, max_queue=1)
    pool.start()
    running = asyncio.create_task(pool.execute(JOB))
    await _until(lambda: spawner.spawned and spawner.spawned[0].ran)
    queued = asyncio.create_task(pool.execute(JOB))
    await asyncio.sleep(0.01)
    async with asyncio.timeout(0.5):
        with pytest.raises(Busy, match="busy"):
            await pool.execute(JOB)
    spawner.gate.set()
    async with asyncio.timeout(STEP):
        assert (await running).ending is Ending.RESULT
        assert (await queued).ending is Ending.RESULT
    await pool.close()


async def test_queue_wait_is_bounded() -> None:
    spawner = Spawner()
    pool = _pool(spawner, size=1, max_queue=5, queue_timeout=0.05)
    pool.start()
    running = asyncio.create_task(pool.execute(JOB))
    await _until(lambda: spawner.spawned and spawner.spawned[0].ran)
    with pytest.raises(Busy, match="within"):
        await pool.execute(JOB)
    spawner.gate.set()
    await running
    await pool.close()


async def test_each_execution_uses_a_fresh_process_and_reaps_it() -> None:
    spawner = Spawner()
    spawner.gate.set()
    pool = _pool(spawner, size=2)
    pool.start()
    for _ in range(5):
        await pool.execute(JOB)
    await _until(lambda: len(spawner.spawned) == 2 + 5)
    assert sum(p.ran for p in spawner.spawned) == 5
    assert all(p.reaped for p in spawner.spawned if p.ran)
    await pool.close()
    assert all(p.reaped for p in spawner.spawned)


async def test_dead_warm_process_is_replaced() -> None:
    spawner = Spawner(dead_first=1)
    spawner.gate.set()
    pool = _pool(spawner)
    pool.start()
    run = await pool.execute(JOB)
    assert run.ending is Ending.RESULT
    assert spawner.spawned[0].reaped and not spawner.spawned[0].ran
    await pool.close()


async def test_spawn_failure_makes_pool_unhealthy_and_fails_as_runner_failure() -> None:
    pool = _pool(Spawner(fail=True))
    pool.start()
    await _until(lambda: not pool.healthy)
    with pytest.raises(RunnerFailure):
        await pool.execute(JOB)
    await pool.close()


async def test_closed_pool_refuses_work() -> None:
    pool = _pool(Spawner())
    await pool.close()
    with pytest.raises(Busy):
        await pool.execute(JOB)
    assert not pool.healthy


async def test_close_kills_running_executions() -> None:
    spawner = Spawner()
    pool = _pool(spawner)
    pool.start()
    running = asyncio.create_task(pool.execute(JOB))
    await _until(lambda: spawner.spawned and spawner.spawned[0].ran)
    await pool.close()
    assert spawner.spawned[0].killed
    async with asyncio.timeout(STEP):
        await running
