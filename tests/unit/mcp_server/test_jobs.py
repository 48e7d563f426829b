from __future__ import annotations

import asyncio

import pytest

from mcp_server.errors import ErrorKind, ToolError
from mcp_server.tools.base import ToolReply
from mcp_server.tools.jobs import JobRegistry, job_reply


async def _finish_after(seconds: float) -> ToolReply:
    await asyncio.sleep(seconds)
    return ToolReply({"state": "succeeded", "result": 1, "logs": []})


async def test_jobs_are_bounded_in_number_and_lifetime() -> None:
    jobs = JobRegistry(max_jobs=2, ttl_seconds=0.05)
    slow = [jobs.adopt(asyncio.create_task(_finish_after(10))) for _ in range(2)]
    with pytest.raises(ToolError) as full:
        jobs.ensure_room()
    assert full.value.kind is ErrorKind.INFRA
    jobs.cancel_all()
    await asyncio.gather(*(job.task for job in slow), return_exceptions=True)
    jobs.ensure_room()  # both finished (cancelled): room is made
    quick = jobs.adopt(asyncio.create_task(_finish_after(0)))
    await quick.task
    # The first look after it finished starts its TTL.
    assert job_reply(jobs.get(quick.id)).structured["result"] == 1
    await asyncio.sleep(0.06)
    with pytest.raises(ToolError, match="unknown, or expired"):
        jobs.get(quick.id)


async def test_running_job_reply() -> None:
    jobs = JobRegistry(max_jobs=1, ttl_seconds=1)
    job = jobs.adopt(asyncio.create_task(_finish_after(10)))
    assert job_reply(job).structured == {"state": "running", "jobId": job.id, "logs": []}
    jobs.cancel_all()
