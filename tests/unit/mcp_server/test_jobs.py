from __future__ import annotations

import asyncio
import time

import pytest

from mcp_server.errors import ErrorKind, ToolError
from mcp_server.jobstore import MemoryJobStore
from mcp_server.signing import Signer
from mcp_server.tools.base import ToolReply
from mcp_server.tools.jobs import JobRegistry

SIGNER = Signer("unit-test-key")


async def _finish_after(seconds: float) -> ToolReply:
    await asyncio.sleep(seconds)
    return ToolReply({"state": "succeeded", "result": 1, "logs": []})


def _registry(store: MemoryJobStore | None = None, max_jobs: int = 2) -> JobRegistry:
    store = store or MemoryJobStore(reply_seconds=60)
    return JobRegistry(store, SIGNER, max_jobs=max_jobs, ttl_seconds=store.reply_seconds)


async def _state(jobs: JobRegistry, job_id: str, wait: float = 0) -> ToolError:
    with pytest.raises(ToolError) as failure:
        await jobs.poll(job_id, wait)
    return failure.value


async def test_running_jobs_are_bounded_per_replica() -> None:
    jobs = _registry(max_jobs=2)
    for _ in range(2):
        await jobs.adopt(asyncio.create_task(_finish_after(10)))
    with pytest.raises(ToolError) as full:
        jobs.ensure_room()
    assert full.value.kind is ErrorKind.INFRA
    await jobs.close()  # cancels both: the room is back
    jobs.ensure_room()


async def test_a_job_polled_running_then_finished() -> None:
    jobs = _registry()
    job_id = await jobs.adopt(asyncio.create_task(_finish_after(0.3)))
    assert (await jobs.poll(job_id, 0)).structured == {
        "state": "running",
        "jobId": job_id,
        "logs": [],
    }
    reply = await jobs.poll(job_id, 5)
    assert reply.structured["result"] == 1 and reply.structured["jobId"] == job_id
    await asyncio.sleep(0.05)  # the supervisor has recorded it: answered from the store
    assert (await jobs.poll(job_id, 0)).structured["result"] == 1
    await jobs.close()


async def test_another_replica_answers_from_the_shared_store() -> None:
    store = MemoryJobStore(reply_seconds=60)
    owner, other = _registry(store), _registry(store)
    job_id = await owner.adopt(asyncio.create_task(_finish_after(0.3)))
    assert (await other.poll(job_id, 0)).structured["state"] == "running"
    assert (await other.poll(job_id, 5)).structured["result"] == 1
    await owner.close()


async def test_unknown_expired_and_lost_are_different_answers() -> None:
    store = MemoryJobStore(reply_seconds=0.05)
    jobs = _registry(store)
    unknown = await _state(jobs, "job.18c.made-up.AAAAAAAAAAAAAAAAAAAAAA")
    assert unknown.kind is ErrorKind.USER and unknown.details["jobState"] == "unknown"
    forged = await _state(jobs, Signer("another-key").sign("job", "job.1.x"))
    assert forged.details["jobState"] == "unknown"

    finished = await jobs.adopt(asyncio.create_task(_finish_after(0)))
    await asyncio.sleep(0.2)  # ended and its reply expired
    expired = await _state(jobs, finished)
    assert expired.details["jobState"] == "expired" and "Do not run it again" in expired.message

    running = await jobs.adopt(asyncio.create_task(_finish_after(10)))
    await jobs.close()  # the replica stops while the job runs
    gone = await _state(_registry(store), running)
    assert gone.kind is ErrorKind.INFRA and gone.details["jobState"] == "lost"
    assert "read the platform's state" in gone.message


async def test_a_record_the_store_never_had_is_lost_until_it_would_have_expired() -> None:
    store = MemoryJobStore(reply_seconds=60, record_seconds=3600)
    started = time.time()
    recent = SIGNER.sign("job", f"job.{int(started * 1000):x}.abc")
    assert (await _state(_registry(store), recent)).details["jobState"] == "lost"
    old = SIGNER.sign("job", f"job.{int((started - 7200) * 1000):x}.abc")
    assert (await _state(_registry(store), old)).details["jobState"] == "expired"
