"""Executions that outlive the soft wait become jobs, polled with `pollJob`.

Jobs live in this process (bounded in number; finished ones expire after a TTL); a client must
poll the replica that answered its execute, so with several replicas keep executes short or
pin clients.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from mcp_server.errors import ErrorKind, ToolError
from mcp_server.tools.base import CallContext, ToolDefinition, ToolReply, parse_arguments, schema_of


@dataclass
class Job:
    id: str
    task: asyncio.Task[ToolReply]
    finished_at: float | None = field(default=None)


class JobRegistry:
    def __init__(self, max_jobs: int, ttl_seconds: float) -> None:
        self._max_jobs = max_jobs
        self._ttl = ttl_seconds
        self._jobs: dict[str, Job] = {}

    def _expire(self) -> None:
        now = time.monotonic()
        for job in self._jobs.values():
            if job.finished_at is None and job.task.done():
                job.finished_at = now
        for job_id in [
            j.id for j in self._jobs.values() if j.finished_at and now - j.finished_at > self._ttl
        ]:
            del self._jobs[job_id]

    def ensure_room(self) -> None:
        """Refuse work up front rather than lose track of a running execution."""
        self._expire()
        if len(self._jobs) < self._max_jobs:
            return
        finished = [job for job in self._jobs.values() if job.finished_at is not None]
        if not finished:
            raise ToolError(ErrorKind.INFRA, "too many executions are running; retry shortly")
        oldest = min(finished, key=lambda job: job.finished_at or 0.0)
        del self._jobs[oldest.id]

    def adopt(self, task: asyncio.Task[ToolReply]) -> Job:
        self.ensure_room()
        job = Job(id=f"job_{secrets.token_urlsafe(12)}", task=task)
        self._jobs[job.id] = job
        return job

    def get(self, job_id: str) -> Job:
        self._expire()
        job = self._jobs.get(job_id)
        if job is None:
            raise ToolError(ErrorKind.USER, f"no job {job_id!r} (unknown, or expired)")
        return job

    def cancel_all(self) -> None:
        for job in self._jobs.values():
            job.task.cancel()


class PollArgs(BaseModel):
    jobId: str = Field(min_length=1, max_length=100)
    waitSeconds: float = Field(
        10.0, ge=0, le=60, description="Wait up to this long for the job to finish"
    )


async def wait_for(task: asyncio.Task[ToolReply], seconds: float) -> bool:
    """Wait without cancelling the task when time is up; True when it has finished."""
    done, _ = await asyncio.wait({task}, timeout=seconds)
    return bool(done)


def job_reply(job: Job) -> ToolReply:
    if not job.task.done():
        return ToolReply({"state": "running", "jobId": job.id, "logs": []})
    reply = job.task.result()
    return ToolReply({**reply.structured, "jobId": job.id}, reply.error)


class PollJob:
    def __init__(self, jobs: JobRegistry, output_schema: dict[str, Any]) -> None:
        self._jobs = jobs
        self._output_schema = output_schema

    async def handle(self, arguments: dict[str, Any], context: CallContext) -> ToolReply:
        args = parse_arguments(PollArgs, arguments)
        job = self._jobs.get(args.jobId)
        await wait_for(job.task, args.waitSeconds)
        return job_reply(job)

    def tool(self) -> ToolDefinition:
        return ToolDefinition(
            name="pollJob",
            description=(
                "Get the state of an execute that returned a jobId: running, or its result, "
                "logs and error once finished. Waits up to waitSeconds for it to finish."
            ),
            input_schema=schema_of(PollArgs),
            output_schema=self._output_schema,
            handler=self.handle,
        )
